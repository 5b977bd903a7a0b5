/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A single node becoming a member of a cluster (doc/cluster.md,
 * "Joining"), without a bus, on a real etcd: node a is a member with a
 * group and a rule; node b has run alone with groups, rules, an
 * attachment and a passthrough intent of its own. Started in the
 * cluster, b is unjoined: it shows its rows and refuses changes. Its
 * join is refused while names collide or its rows name a node that is
 * no member, naming each, with nothing changed; once they are free, its rows move into the cluster with new
 * ids, and its store's references follow them. A join etcd took while b
 * stopped before its store took the new ids is finished at b's next
 * start, or at its next join. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cluster-node.h"
#include "harness.h"
#include "rows.h"

typedef struct {
        EtcdCluster *etcd;
        char *dir;
        Node a, b;
} Fixture;

static bool is_up(gpointer data) {
        return g_str_equal(cluster_state(((Node *) data)->cluster), "up");
}

static bool has_lease(gpointer data) {
        return ((Node *) data)->states > 0;
}

static void rule_made(Node *n, ModelGroup *g, const char *name, bool alone) {
        g_autoptr(GError) error = NULL;
        StoreRule *s = store_rule_new();

        s->name = g_strdup(name);
        s->node = g_strdup("");
        s->enabled = true;
        g_ptr_array_add(s->conditions, store_condition_new("vendor", "eq", "10de"));
        GPtrArray *conditions = model_conditions_compile(s->conditions, &error);
        assert_non_null(model_rule_create(n->model, g, s, conditions, &error));
        if (alone)
                return;
        Outcome o = { 0 };
        node_commit_start(n, &o);
        node_commit_wait(&o);
        assert_null(o.error);
}

/* Node b alone: "gpus" with the rule "intel", "spare", and "passed"
 * with a function passed through and an attachment of vm1. */
static void node_b_rows(Node *b) {
        g_autoptr(GError) error = NULL;

        ModelGroup *gpus = model_group_create(b->model, node_group_settings("gpus"), &error);
        assert_non_null(gpus);
        rule_made(b, gpus, "intel", true);
        ModelGroup *spare = model_group_create(b->model, node_group_settings("spare"), &error);
        assert_non_null(spare);
        GPtrArray *all = inventory_sorted(b->inventory);
        g_autoptr(GPtrArray) devices = g_ptr_array_new();
        for (guint i = 0; i < all->len && !devices->len; i++) {
                g_ptr_array_add(devices, all->pdata[i]);
                if (!model_passthrough_check(b->model, NULL, "pci", devices, NULL))
                        g_ptr_array_set_size(devices, 0);
        }
        assert_int_equal(devices->len, 1);
        ModelGroup *passed = model_passthrough_add(b->model, NULL, node_group_settings("passed"), devices, &error);
        assert_non_null(passed);
        ModelAttachmentChange change = { .machine = "vm1", .group = passed->path, .name = "disk" };
        g_autoptr(GPtrArray) settings = model_attachments_settle(b->model, &change, 1, &error);
        assert_non_null(settings);
        g_autoptr(GPtrArray) made = model_attachments_create(b->model, settings, &error);
        assert_non_null(made);
}

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autoptr(GError) error = NULL;

        f->etcd = etcd_cluster_new(1, false);
        f->dir = g_dir_make_tmp("cluster-join-XXXXXX", &error);
        node_start(&f->a, f->etcd, f->dir, "node-a");
        assert_true(etcd_cluster_loop_until(is_up, &f->a, 10000));
        rule_made(&f->a, node_group_made(&f->a, "gpus"), "intel", false);
        node_open(&f->b, f->dir, "node-b");
        node_b_rows(&f->b);
        node_cluster(&f->b, f->etcd);
        assert_true(etcd_cluster_loop_until(has_lease, &f->b, 10000));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        node_stop(&f->a);
        node_stop(&f->b);
        etcd_cluster_free(f->etcd);
        harness_remove_tree(f->dir);
        g_free(f->dir);
        g_free(f);
        return 0;
}

/* The object paths of a model, sorted, as one string. */
static char *paths_of(Model *m) {
        g_auto(GStrv) groups = model_group_paths(m);
        g_auto(GStrv) rules = model_rule_paths(m);
        g_auto(GStrv) attachments = model_attachment_paths(m);
        g_autofree char *g = g_strjoinv(" ", groups);
        g_autofree char *r = g_strjoinv(" ", rules);
        g_autofree char *a = g_strjoinv(" ", attachments);
        return g_strjoin(" | ", g, r, a, NULL);
}

/* Unjoined: b reads nothing of the cluster, shows its own rows, and
 * refuses a change, saying how to join. */
static void test_unjoined(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        assert_string_equal(cluster_state(f->b.cluster), "unjoined");
        assert_non_null(model_group_by_name(f->b.model, "spare"));
        assert_null(model_rule_by_name(f->a.model, "spare"));
        assert_null(model_group_create(f->b.model, node_group_settings("more"), &error));
        assert_true(g_error_matches(error, CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE));
        if (!strstr(error->message, "devpassctl cluster join"))
                fail_msg("%s", error->message);
        assert_false(cluster_deferred(f->b.cluster));
        assert_null(model_group_by_name(f->b.model, "more"));
}

static void join(Node *n, Outcome *o) {
        g_autoptr(GError) error = NULL;

        assert_true(cluster_join(n->cluster, &error));
        node_commit_start(n, o);
        node_commit_wait(o);
}

/* A key put into etcd as another node would have put it. */
static void etcd_put(Fixture *f, const ClusterRow *row) {
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdClient) client = etcd_client_new(etcd_cluster_endpoints(f->etcd), NULL, NULL, &error);
        g_autoptr(GAsyncResult) res = NULL;
        g_autofree char *key = cluster_key_build("/devpass/v1/", &row->key);
        g_autofree char *value = cluster_row_encode(row);

        etcd_kv_put_async(client, key, value, strlen(value), 0, NULL, etcd_cluster_got, &res);
        assert_true(etcd_kv_put_finish(client, etcd_cluster_await(&res, 10000), &error) > 0);
}

/* Rows of node b's own, written as its replica writes (no hook). */
static void b_claims_and_macs(Node *b) {
        g_autoptr(GError) error = NULL;
        ModelAttachment *a = model_attachment_by_name(b->model, "vm1", "disk");
        StoreClaim claim = { .address = (char *) "0000:99:00.0", .holder = (char *) "vm1",
                             .attachment_id = a->settings->id, .mac = (char *) "", .uuid = (char *) "" };
        char *macs[] = { (char *) "52:54:00:00:00:01", NULL };

        assert_true(store_begin_deferred(b->store, &error));
        assert_true(store_claim_insert(b->store, &claim, &error));
        assert_true(store_group_macs_set(b->store, model_group_by_name(b->model, "spare")->id, macs, &error));
        assert_true(store_commit_here(b->store, &error));
}

/* A tenant's group of b's for the tenant's own node (no member of the
 * cluster, nor needs to be). */
static void b_tenant_group(Node *b) {
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) g = node_group_settings("acme z");

        g_free(g->tenant);
        g->tenant = g_strdup("acme");
        g_free(g->tenant_node);
        g->tenant_node = g_strdup("node-z");
        assert_true(store_begin_deferred(b->store, &error));
        assert_true(store_group_insert(b->store, g, &error));
        assert_true(store_commit_here(b->store, &error));
        assert_true(model_resync(b->model, &error));
        model_changes_free(model_take_changes(b->model));
}

/* Names taken in the cluster, a MAC in use there, a machine claimed on
 * another node: refused, naming each, nothing changed; a tenant's node is
 * no conflict. */
static void test_join_conflicts(void **state) {
        Fixture *f = *state;
        Outcome o = { 0 };

        b_tenant_group(&f->b);
        g_autofree char *before = paths_of(f->b.model);
        g_autofree char *cluster_before = paths_of(f->a.model);
        b_claims_and_macs(&f->b);
        etcd_put(f, &(ClusterRow) { .key = { .kind = CLUSTER_KEY_MAC, .name = (char *) "52:54:00:00:00:01" },
                                    .mac = { .attachment_id = 99 } });
        etcd_put(f, &(ClusterRow) { .key = { .kind = CLUSTER_KEY_MACHINE, .name = (char *) "vm1" },
                                    .machine = { .node = (char *) "node-a", .uuid = (char *) "" } });
        join(&f->b, &o);
        assert_true(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_EXISTS));
        assert_non_null(strstr(o.error->message, "group 'gpus'"));
        assert_non_null(strstr(o.error->message, "rule 'intel'"));
        assert_non_null(strstr(o.error->message, "MAC 52:54:00:00:00:01 is in use"));
        assert_non_null(strstr(o.error->message, "machine 'vm1' is claimed on node node-a"));
        assert_null(strstr(o.error->message, "acme z"));
        assert_null(strstr(o.error->message, "spare"));
        g_clear_error(&o.error);
        assert_string_equal(cluster_state(f->b.cluster), "unjoined");
        g_autofree char *after = paths_of(f->b.model);
        g_autofree char *cluster_after = paths_of(f->a.model);
        assert_string_equal(after, before);
        assert_string_equal(cluster_after, cluster_before);
        /* etcd holds nothing of b: not even its membership. */
        g_autoptr(GPtrArray) members = cluster_members(f->a.cluster, NULL);
        assert_int_equal(members->len, 1);
}

typedef struct {
        Model *model;
        const char *names[3];
} Wanted;

static bool groups_show(gpointer data) {
        Wanted *w = data;
        for (size_t i = 0; i < G_N_ELEMENTS(w->names); i++)
                if (!model_group_by_name(w->model, w->names[i]))
                        return false;
        return true;
}

/* A group of node a's deleted through the cluster. */
static void group_deleted(Node *a, const char *name) {
        g_autoptr(GError) error = NULL;
        Outcome o = { 0 };

        assert_true(model_group_delete(a->model, model_group_by_name(a->model, name), false, &error));
        node_commit_start(a, &o);
        node_commit_wait(&o);
        assert_null(o.error);
}

/* b shows the cluster as a does. */
static void same_paths(Fixture *f) {
        g_autofree char *on_a = paths_of(f->a.model);
        g_autofree char *on_b = paths_of(f->b.model);

        assert_string_equal(on_a, on_b);
}

/* b's references follow its rows' new ids: the rule's group, the
 * attachment's, the intent's. */
static void references_moved(Node *b) {
        g_autoptr(GError) error = NULL;
        ModelRule *rule = model_rule_by_name(b->model, "intel");
        assert_int_equal(rule->settings->group_id, model_group_by_name(b->model, "gpus")->id);
        ModelAttachment *a = model_attachment_by_name(b->model, "vm1", "disk");
        assert_non_null(a);
        assert_int_equal(a->settings->group_id, model_group_by_name(b->model, "passed")->id);
        g_autoptr(GHashTable) intents = store_passthrough_load(b->store, &error);
        assert_int_equal(g_hash_table_size(intents), 1);
        GHashTableIter it;
        gpointer intent;
        g_hash_table_iter_init(&it, intents);
        assert_true(g_hash_table_iter_next(&it, NULL, &intent));
        assert_int_equal(((StorePassthrough *) intent)->group_id, model_group_by_name(b->model, "passed")->id);
}

/* Once the names are free, b's rows move with new ids: a sees them at
 * the paths b shows them, and b's references follow. */
static void test_join(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        int64_t a_gpus = model_group_by_name(f->a.model, "gpus")->id;
        int64_t b_spare = model_group_by_name(f->b.model, "spare")->id;
        Outcome o = { 0 };

        group_deleted(&f->a, "gpus");
        join(&f->b, &o);
        assert_null(o.error);
        assert_true(etcd_cluster_loop_until(is_up, &f->b, 10000));
        Wanted w = { f->a.model, { "gpus", "spare", "passed" } };
        assert_true(etcd_cluster_loop_until(groups_show, &w, 10000));

        /* New ids, past the cluster's: b's paths changed once. */
        ModelGroup *spare = model_group_by_name(f->b.model, "spare");
        assert_true(spare->id > a_gpus);
        assert_int_not_equal(spare->id, b_spare);
        assert_string_equal(model_group_by_name(f->a.model, "spare")->path, spare->path);
        same_paths(f);
        references_moved(&f->b);

        /* A member now: its changes go to the cluster, and a second join does nothing. */
        assert_non_null(node_group_made(&f->b, "more"));
        assert_true(cluster_join(f->b.cluster, &error));
        assert_false(cluster_deferred(f->b.cluster));
        g_autoptr(GPtrArray) members = cluster_members(f->a.cluster, NULL);
        assert_int_equal(members->len, 2);
}

/* etcd takes b's join; b's store does not follow: b stays unjoined,
 * its rows at their old paths, and the cluster has them. */
static void join_half(Fixture *f) {
        Outcome o = { 0 };
        g_autofree char *before = paths_of(f->b.model);

        group_deleted(&f->a, "gpus");
        /* Stops b where a node would stop between etcd's yes to its join
         * and its own commit: the rewrite of its ids. */
        node_store_refuse(f->b.dir, "BEFORE UPDATE OF id ON groups");
        join(&f->b, &o);
        assert_true(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_FAILED));
        if (!strstr(o.error->message, "at its next start"))
                fail_msg("%s", o.error->message);
        g_clear_error(&o.error);
        assert_string_equal(cluster_state(f->b.cluster), "unjoined");
        g_autofree char *after = paths_of(f->b.model);
        assert_string_equal(after, before);
        Wanted w = { f->a.model, { "gpus", "spare", "passed" } };
        assert_true(etcd_cluster_loop_until(groups_show, &w, 10000));
}

/* Started again, b finds its join in etcd and takes the ids, and what
 * the cluster did with its rows meanwhile holds: a deleted "spare". */
static void test_join_resumed(void **state) {
        Fixture *f = *state;
        g_autofree char *dir = g_build_filename(f->dir, "node-b", NULL);

        join_half(f);
        group_deleted(&f->a, "spare");
        node_stop(&f->b);
        node_store_refuse(dir, NULL);
        node_start(&f->b, f->etcd, f->dir, "node-b");
        assert_string_equal(cluster_state(f->b.cluster), "unjoined");
        assert_true(etcd_cluster_loop_until(is_up, &f->b, 10000));
        assert_null(model_group_by_name(f->b.model, "spare"));
        same_paths(f);
        references_moved(&f->b);
        g_autoptr(GPtrArray) members = cluster_members(f->a.cluster, NULL);
        assert_int_equal(members->len, 2);
}

/* Without a restart, b's next join finds the one etcd took, and takes
 * its ids instead of being refused by its own names. */
static void test_join_again(void **state) {
        Fixture *f = *state;
        Outcome o = { 0 };

        join_half(f);
        node_store_refuse(f->b.dir, NULL);
        join(&f->b, &o);
        assert_null(o.error);
        assert_true(etcd_cluster_loop_until(is_up, &f->b, 10000));
        same_paths(f);
        references_moved(&f->b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unjoined, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join_conflicts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join_resumed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join_again, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
