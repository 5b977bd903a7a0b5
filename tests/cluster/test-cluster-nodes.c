/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two nodes of a cluster in one process, without a bus: each its own
 * generated node, store, model and cluster room, on one real etcd. A
 * change made on one node's model goes to etcd as the mutation runner
 * sends it (the model taken back, the transaction committed), and shows
 * on both; two nodes racing for one name: exactly one wins; a tenant's
 * group's MACs given out on one node are known on the other; its tenant
 * node must be a member, and still one when etcd takes it; a machine
 * claimed again on the node's lease keeps its devices; a transaction
 * above etcd's limits is refused saying so; etcd lost and back, a node
 * says it is stale, then up; a deletion older than the replica's key is
 * left out; a name taken by an object the node cannot read is refused;
 * a change etcd took and the node's store did not is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cluster-node.h"
#include "cluster-private.h"
#include "harness.h"

typedef NodePair Fixture;

typedef struct {
        Model *model;
        const char *name;
} Wanted;

static bool group_shows(gpointer data) {
        Wanted *w = data;
        return model_group_by_name(w->model, w->name) != NULL;
}

/* A group made on node a is on both nodes, at one path. */
static void test_group_everywhere(void **state) {
        Fixture *f = *state;
        ModelGroup *g = node_group_made(&f->nodes[0], "nics");
        Wanted w = { f->nodes[1].model, "nics" };

        assert_non_null(g);
        assert_true(etcd_cluster_loop_until(group_shows, &w, 10000));
        assert_string_equal(model_group_by_name(f->nodes[1].model, "nics")->path, g->path);
}

/* Each node knows both members, and that both are up. */
static bool both_members(gpointer data) {
        Cluster *c = data;
        g_autoptr(GPtrArray) members = cluster_members(c, NULL);
        return members && members->len == 2 && ((ClusterMember *) members->pdata[0])->up &&
               ((ClusterMember *) members->pdata[1])->up;
}

static void test_members(void **state) {
        Fixture *f = *state;

        assert_true(etcd_cluster_loop_until(both_members, f->nodes[0].cluster, 10000));
        assert_true(etcd_cluster_loop_until(both_members, f->nodes[1].cluster, 10000));
        g_autoptr(GPtrArray) members = cluster_members(f->nodes[1].cluster, NULL);
        assert_string_equal(((ClusterMember *) members->pdata[0])->name, "node-a");
        assert_string_equal(((ClusterMember *) members->pdata[1])->name, "node-b");
}

/* A rule on every node, made on node a, puts node b's devices into the
 * group too; one scoped to node a only node a's. */
static bool group_has_devices(gpointer data) {
        Wanted *w = data;
        ModelGroup *g = model_group_by_name(w->model, w->name);
        return g && g->devices->len > 0;
}

static void test_rule_all_nodes(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        ModelGroup *g = node_group_made(&f->nodes[0], "intel");
        StoreRule *s = store_rule_new();
        Outcome o = { 0 };

        s->name = g_strdup("intel");
        s->node = g_strdup("");
        s->enabled = true;
        g_ptr_array_add(s->conditions, store_condition_new("vendor", "eq", "8086"));
        GPtrArray *conditions = model_conditions_compile(s->conditions, &error);
        assert_non_null(model_rule_create(f->nodes[0].model, g, s, conditions, &error));
        node_commit_start(&f->nodes[0], &o);
        node_commit_wait(&o);
        assert_null(o.error);
        Wanted w = { f->nodes[1].model, "intel" };
        assert_true(etcd_cluster_loop_until(group_has_devices, &w, 10000));
        assert_true(model_group_by_name(f->nodes[0].model, "intel")->devices->len > 0);
}

/* The same name made on both nodes at once: one wins, the other's
 * transaction is refused, and checked again it is refused by name. */
static void test_name_race(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        Outcome o[2] = { 0 };

        for (int i = 0; i < 2; i++) {
                assert_non_null(model_group_create(f->nodes[i].model, node_group_settings("raced"), &error));
                node_commit_start(&f->nodes[i], &o[i]);
        }
        node_commit_wait(&o[0]);
        node_commit_wait(&o[1]);
        int won = !o[0].error + !o[1].error;
        assert_int_equal(won, 1);
        GError *lost = o[0].error ?: o[1].error;
        assert_true(g_error_matches(lost, CLUSTER_ERROR, CLUSTER_ERROR_CONFLICT));
        /* Checked again (as the runner does), the loser's model refuses. */
        Node *loser = &f->nodes[o[0].error ? 0 : 1];
        assert_false(model_group_name_check(loser->model, "raced", &error));
        assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_EXISTS));
        g_clear_error(&o[0].error);
        g_clear_error(&o[1].error);
}

typedef struct {
        Node *node;
        gint64 revision;
} WatchWait;

static bool watch_reached(gpointer data) {
        WatchWait *w = data;
        return etcd_watch_revision(w->node->cluster->watches[0]) >= w->revision;
}

/* A refusal whose cause the shared keys' watch brought before etcd's
 * answer came (they travel on connections of their own) is answered at
 * once, not when the catch-up timer fires: the timer is made longer than
 * the wait here. */
static void test_refused_known(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0], *b = &f->nodes[1];
        g_autoptr(GError) error = NULL;
        /* Answered at the teardown at the latest, when this test failed. */
        static Outcome o;

        b->cluster->catch_up_ms = 60000;
        /* Node b's creation reads the id counter as its replica has it... */
        assert_non_null(model_group_create(b->model, node_group_settings("late"), &error));
        /* ...node a's creation moves it, and node b's watch brings that... */
        node_group_made(a, "first");
        g_autofree char *ids = cluster_key_of(a->cluster, CLUSTER_KEY_IDS, 0, "group", NULL);
        WatchWait w = { b, 0 };
        assert_true(store_replica_key(a->store, ids, &w.revision, NULL, &error));
        assert_true(etcd_cluster_loop_until(watch_reached, &w, 10000));
        /* ...before etcd refuses node b's transaction. */
        node_commit_start(b, &o);
        node_commit_wait(&o);
        assert_true(g_error_matches(o.error, CLUSTER_ERROR, CLUSTER_ERROR_CONFLICT));
        g_clear_error(&o.error);
}

/* A change of node n's store, through the cluster. */
static void node_store_commit(Node *n) {
        g_autoptr(GError) error = NULL;
        Outcome o = { 0 };

        assert_true(store_commit(n->store, &error));
        node_commit_start(n, &o);
        node_commit_wait(&o);
        assert_null(o.error);
}

#define TENANT_MAC "02:00:00:00:00:0a"

static bool mac_known(gpointer data) {
        return model_mac_owner(data, TENANT_MAC) != NULL;
}

static bool mac_free(gpointer data) {
        return !mac_known(data);
}

/* A tenant's group's MACs, given out on node a (as PassToTenant writes
 * them), are node b's to avoid too: its model knows their owner (the
 * checks of a MAC asked for, and model_mac_generate(), read it) and its
 * store refuses them, before etcd is asked; they go with the group. */
static void test_tenant_macs(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0], *b = &f->nodes[1];
        g_autoptr(GError) error = NULL;
        StoreGroup *s = node_group_settings("acme nics");
        char *macs[] = { (char *) TENANT_MAC, NULL };

        g_free(s->tenant);
        s->tenant = g_strdup("acme");
        assert_non_null(model_group_create(a->model, s, &error));
        Outcome o = { 0 };
        node_commit_start(a, &o);
        node_commit_wait(&o);
        assert_null(o.error);
        ModelGroup *g = model_group_by_name(a->model, "acme nics");
        assert_true(store_begin(a->store, &error));
        assert_true(store_group_macs_set(a->store, g->id, macs, &error));
        node_store_commit(a);

        assert_true(etcd_cluster_loop_until(mac_known, b->model, 10000));
        assert_string_equal(model_mac_owner(b->model, TENANT_MAC), "a device of tenant acme");
        ModelGroup *other = node_group_made(b, "nics");
        assert_true(store_begin(b->store, &error));
        assert_false(store_group_macs_set(b->store, other->id, macs, &error));
        assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONSTRAINT));
        g_clear_error(&error);
        store_rollback(b->store);
        assert_false(cluster_deferred(b->cluster));

        assert_true(model_group_delete(a->model, model_group_by_name(a->model, "acme nics"), false, &error));
        o = (Outcome) { 0 };
        node_commit_start(a, &o);
        node_commit_wait(&o);
        assert_null(o.error);
        assert_true(etcd_cluster_loop_until(mac_free, b->model, 10000));
}

/* A tenant's group names the tenant's own node (where the tenant's
 * machines run, shared/reference "Passthrough a PCI Device to a
 * Tenant"), not a member of the cluster: taken, whatever its name. */
static void test_tenant_node(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0], *b = &f->nodes[1];
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) s = node_group_settings("acme nodes");
        Outcome o = { 0 };

        g_free(s->tenant);
        s->tenant = g_strdup("acme");
        g_free(s->tenant_node);
        s->tenant_node = g_strdup("acme-node1");
        assert_non_null(model_group_create(a->model, g_steal_pointer(&s), &error));
        g_assert_no_error(error);
        node_commit_start(a, &o);
        node_commit_wait(&o);
        g_assert_no_error(o.error);
        Wanted w = { b->model, "acme nodes" };
        assert_true(etcd_cluster_loop_until(group_shows, &w, 10000));
        assert_string_equal(model_group_by_name(b->model, "acme nodes")->settings->tenant_node, "acme-node1");
}

typedef struct {
        Node *node;
        const char *key;
        guint changed;            /* replica_changed calls before */
} Reasserted;

/* The replica has the machine's key, and the shared keys' watch has
 * brought it (nothing of it is still on its way). */
static bool owner_known(gpointer data) {
        Reasserted *r = data;
        Cluster *c = r->node->cluster;
        int64_t mod = 0;

        return store_replica_key(r->node->store, r->key, &mod, NULL, NULL) && mod > 0 &&
               etcd_watch_revision(c->watches[0]) >= mod;
}

static bool replica_moved(gpointer data) {
        Reasserted *r = data;
        return r->node->changed > r->changed;
}

/* A machine that runs on node a is claimed again on its lease (after a
 * start, a lease lost, a full read) while the replica knows an older
 * revision of its key than etcd has (another claim again of node a's
 * came first): etcd's answer shows the key node a's, on its lease, and
 * the machine keeps its devices; only another node's claim takes them. */
static void test_claims_reasserted(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0];
        g_autoptr(GError) error = NULL;
        StoreClaim claim = { .address = (char *) "0000:99:00.0", .holder = (char *) "vm1", .mac = (char *) "",
                             .uuid = (char *) "" };
        g_autofree char *owner_key = cluster_key_of(a->cluster, CLUSTER_KEY_MACHINE, 0, "vm1", NULL);
        Reasserted r = { a, owner_key, 0 };
        int64_t mod = 0, now = 0;

        assert_true(store_begin_deferred(a->store, &error));
        assert_true(store_claim_insert(a->store, &claim, &error));
        assert_true(store_commit_here(a->store, &error));
        g_autoptr(GPtrArray) devices = store_holder_claims(a->store, "vm1", false, &error);
        g_autofree char *owner = cluster_owner_value(a->cluster, devices);
        node_etcd_put(f->etcd, owner_key, owner, a->cluster->lease);
        assert_true(etcd_cluster_loop_until(owner_known, &r, 10000));
        assert_true(store_replica_key(a->store, owner_key, &mod, NULL, &error));

        assert_true(store_begin_deferred(a->store, &error));
        assert_true(store_replica_set_key(a->store, owner_key, mod - 1, owner, &error));
        assert_true(store_commit_here(a->store, &error));
        r.changed = a->changed;
        cluster_claims_reassert(a->cluster);
        assert_true(etcd_cluster_loop_until(replica_moved, &r, 10000));
        g_autoptr(GPtrArray) held = store_holder_claims(a->store, "vm1", false, &error);
        assert_non_null(held);
        assert_int_equal(held->len, 1);
        assert_true(store_replica_key(a->store, owner_key, &now, NULL, &error));
        assert_int_equal(now, mod);
}

/* A transaction above etcd's --max-txn-ops (128 by default): refused for
 * etcd's limits (LimitsExceeded on the bus), saying which, nothing made. */
static void test_txn_limit(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0];
        g_autoptr(GError) error = NULL;
        Outcome o = { 0 };

        assert_true(store_begin(a->store, &error));
        for (int i = 0; i < 70; i++) {
                g_autofree char *name = g_strdup_printf("bulk%d", i);
                g_autoptr(StoreGroup) g = node_group_settings(name);
                assert_true(store_group_insert(a->store, g, &error));
        }
        assert_true(store_commit(a->store, &error));
        node_commit_start(a, &o);
        node_commit_wait(&o);
        assert_true(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_NO_SPACE));
        if (!strstr(o.error->message, "--max-txn-ops"))
                fail_msg("%s", o.error->message);
        g_clear_error(&o.error);
        assert_null(model_group_by_name(a->model, "bulk0"));
        assert_false(cluster_deferred(a->cluster));
}

typedef struct {
        Node *node;
        const char *state;
        guint states;             /* state_changed calls before */
} StateWait;

static bool state_said(gpointer data) {
        StateWait *w = data;
        return g_str_equal(cluster_state(w->node->cluster), w->state) && w->node->states > w->states;
}

/* etcd gone, and back within the node's lease: the node turns stale and
 * up again by itself, and says so each time (state_changed, which the
 * Manager's ClusterState signal follows), not only when its lease goes. */
static void test_stale_said(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0];
        StateWait w = { a, "stale", a->states };

        etcd_cluster_kill(f->etcd, 0);
        /* Well within the lease's 5 s: the watches saw etcd go. */
        assert_true(etcd_cluster_loop_until(state_said, &w, 2000));
        w = (StateWait) { a, "up", a->states };
        etcd_cluster_start(f->etcd, 0);
        assert_true(etcd_cluster_loop_until(state_said, &w, 10000));
}

/* A deletion the watch brings after this node took a later write of the
 * same key (its own, when etcd answered) leaves the key as it is; a full
 * read's deletion (no revision) takes it. */
static void test_old_deletion(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0];
        g_autoptr(GError) error = NULL;
        g_autofree char *key = cluster_key_of(a->cluster, CLUSTER_KEY_GROUP_NAME, 0, "late", NULL);
        const ClusterKeyValue put = { key, strlen(key), "7", 1, 1000 };
        const ClusterKeyValue deleted = { key, strlen(key), NULL, 0, 999 };
        const ClusterKeyValue gone = { key, strlen(key), NULL, 0, 0 };
        int64_t mod = 0;

        assert_true(cluster_replica_apply(a->cluster, &put, 1, NULL, 0, NULL, &error));
        assert_true(cluster_replica_apply(a->cluster, &deleted, 1, NULL, 0, NULL, &error));
        assert_true(store_replica_key(a->store, key, &mod, NULL, &error));
        assert_int_equal(mod, 1000);
        assert_true(cluster_replica_apply(a->cluster, &gone, 1, NULL, 0, NULL, &error));
        assert_true(store_replica_key(a->store, key, &mod, NULL, &error));
        assert_int_equal(mod, 0);
}

static bool key_known(gpointer data) {
        Reasserted *r = data;
        int64_t mod = 0;

        return store_replica_key(r->node->store, r->key, &mod, NULL, NULL) && mod > 0;
}

/* A name the cluster has for an object this node could not read (a newer
 * devpassd's row is left out of the replica, its name key is not): a new
 * group of that name is refused, Exists, not written over it. */
static void test_name_unread(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0];
        g_autoptr(GError) error = NULL;
        g_autofree char *key = cluster_key_of(a->cluster, CLUSTER_KEY_GROUP_NAME, 0, "ghost", NULL);
        Reasserted r = { a, key, 0 };

        node_etcd_put(f->etcd, key, "999", 0);
        assert_true(etcd_cluster_loop_until(key_known, &r, 10000));
        assert_null(model_group_by_name(a->model, "ghost"));
        assert_null(model_group_create(a->model, node_group_settings("ghost"), &error));
        assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_EXISTS));
        assert_false(cluster_deferred(a->cluster));
}

/* etcd takes a change, the node's store does not: the caller hears it
 * (this node's own rows would be lost), and once the store takes writes
 * again the full read brings the change. */
static void test_store_refuses(void **state) {
        Fixture *f = *state;
        Node *a = &f->nodes[0];
        g_autoptr(GError) error = NULL;
        Outcome o = { 0 };
        Wanted w = { a->model, "refused" };

        node_store_refuse(a->dir, "BEFORE INSERT ON replica_keys");  /* as a full disk would */
        assert_non_null(model_group_create(a->model, node_group_settings("refused"), &error));
        node_commit_start(a, &o);
        node_commit_wait(&o);
        assert_true(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_FAILED));
        if (!strstr(o.error->message, "etcd took the change"))
                fail_msg("%s", o.error->message);
        g_clear_error(&o.error);
        node_store_refuse(a->dir, NULL);
        assert_true(etcd_cluster_loop_until(group_shows, &w, 10000));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_group_everywhere, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_members, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_rule_all_nodes, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_name_race, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_refused_known, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_tenant_macs, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_tenant_node, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_claims_reasserted, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_txn_limit, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_stale_said, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_old_deletion, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_name_unread, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_store_refuses, node_pair_setup, node_pair_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
