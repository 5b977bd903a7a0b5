/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two nodes of a cluster in one process, without a bus: each its own
 * generated node, store, model and cluster room, on one real etcd. A
 * change made on one node's model goes to etcd as the mutation runner
 * sends it (the model taken back, the transaction committed), and shows
 * on both; two nodes racing for one name: exactly one wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cluster.h"
#include "coalesce.h"
#include "etcd-cluster.h"
#include "harness.h"
#include "model.h"
#include "nodegen.h"

static const ModelPaths paths = { "/g", "/r", "/a" };

typedef struct {
        char *dir;
        Names *names;
        Inventory *inventory;
        Store *store;
        Model *model;
        Cluster *cluster;
        guint changed;            /* replica_changed calls */
} Node;

typedef struct {
        EtcdCluster *etcd;
        char *dir;
        Node nodes[2];
} Fixture;

static void on_replica_changed(void *data) {
        Node *n = data;
        g_autoptr(GError) error = NULL;

        assert_true(model_resync(n->model, &error));
        model_changes_free(model_take_changes(n->model));
        n->changed++;
}

static const ClusterFuncs funcs = { .replica_changed = on_replica_changed };

static void node_start(Fixture *f, Node *n, const char *name) {
        g_autoptr(GError) error = NULL;
        g_autofree char *sys = NULL;
        g_autoptr(Coalescer) queue = coalescer_new();
        ConfigCluster config = {
                .endpoints = (char **) etcd_cluster_endpoints(f->etcd),
                .node = (char *) name,
                .lease_seconds = 5,
        };

        n->dir = g_build_filename(f->dir, name, NULL);
        sys = g_build_filename(n->dir, "sys", NULL);
        nodegen_write(sys, 64);
        n->names = names_new(harness_path("DEVPASS_PCI_IDS"));
        n->inventory = inventory_new(sys, n->names);
        inventory_queue_all(n->inventory, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        inventory_changes_free(inventory_apply(n->inventory, entries));
        n->store = store_open(n->dir, &error);
        assert_non_null(n->store);
        n->model = model_new(n->store, n->inventory, name, &paths, &error);
        assert_non_null(n->model);
        n->cluster = cluster_new(&config, name, n->store, &funcs, n, &error);
        assert_non_null(n->cluster);
}

static void node_stop(Node *n) {
        cluster_free(n->cluster);
        model_free(n->model);
        store_close(n->store);
        inventory_free(n->inventory);
        names_free(n->names);
        g_free(n->dir);
}

static bool both_up(gpointer data) {
        Fixture *f = data;
        return g_str_equal(cluster_state(f->nodes[0].cluster), "up") &&
               g_str_equal(cluster_state(f->nodes[1].cluster), "up");
}

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autoptr(GError) error = NULL;

        f->etcd = etcd_cluster_new(1, false);
        f->dir = g_dir_make_tmp("cluster-nodes-XXXXXX", &error);
        node_start(f, &f->nodes[0], "node-a");
        node_start(f, &f->nodes[1], "node-b");
        assert_true(etcd_cluster_loop_until(both_up, f, 10000));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        for (int i = 0; i < 2; i++)
                node_stop(&f->nodes[i]);
        etcd_cluster_free(f->etcd);
        harness_remove_tree(f->dir);
        g_free(f->dir);
        g_free(f);
        return 0;
}

/* ---- the runner's way, without a bus ---- */

typedef struct {
        bool done;
        GError *error;
} Outcome;

static void on_done(const GError *error, void *data) {
        Outcome *o = data;
        o->done = true;
        o->error = error ? g_error_copy(error) : NULL;
}

static bool outcome_done(gpointer data) {
        return ((Outcome *) data)->done;
}

/* After the model's change: back to the replica, and etcd decides. */
static void commit_start(Node *n, Outcome *o) {
        assert_true(cluster_deferred(n->cluster));
        g_autoptr(GError) error = NULL;
        assert_true(model_resync(n->model, &error));
        model_changes_free(model_take_changes(n->model));
        cluster_commit(n->cluster, on_done, o);
}

static void commit_wait(Outcome *o) {
        assert_true(etcd_cluster_loop_until(outcome_done, o, 10000));
}

static StoreGroup *group_settings(const char *name) {
        StoreGroup *s = g_new0(StoreGroup, 1);
        s->name = g_strdup(name);
        s->type = g_strdup("pci");
        s->description = g_strdup("");
        s->class_name = g_strdup("nic");
        s->tenant = g_strdup("");
        s->tenant_node = g_strdup("");
        return s;
}

typedef struct {
        Model *model;
        const char *name;
} Wanted;

static bool group_shows(gpointer data) {
        Wanted *w = data;
        return model_group_by_name(w->model, w->name) != NULL;
}

static ModelGroup *group_made(Fixture *f, int on, const char *name) {
        g_autoptr(GError) error = NULL;
        Outcome o = { 0 };

        assert_non_null(model_group_create(f->nodes[on].model, group_settings(name), &error));
        commit_start(&f->nodes[on], &o);
        assert_null(model_group_by_name(f->nodes[on].model, name));
        commit_wait(&o);
        assert_null(o.error);
        return model_group_by_name(f->nodes[on].model, name);
}

/* A group made on node a is on both nodes, at one path. */
static void test_group_everywhere(void **state) {
        Fixture *f = *state;
        ModelGroup *g = group_made(f, 0, "nics");
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
        ModelGroup *g = group_made(f, 0, "intel");
        StoreRule *s = store_rule_new();
        Outcome o = { 0 };

        s->name = g_strdup("intel");
        s->node = g_strdup("");
        s->enabled = true;
        g_ptr_array_add(s->conditions, store_condition_new("vendor", "eq", "8086"));
        GPtrArray *conditions = model_conditions_compile(s->conditions, &error);
        assert_non_null(model_rule_create(f->nodes[0].model, g, s, conditions, &error));
        commit_start(&f->nodes[0], &o);
        commit_wait(&o);
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
                assert_non_null(model_group_create(f->nodes[i].model, group_settings("raced"), &error));
                commit_start(&f->nodes[i], &o[i]);
        }
        commit_wait(&o[0]);
        commit_wait(&o[1]);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_group_everywhere, setup, teardown),
                cmocka_unit_test_setup_teardown(test_members, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rule_all_nodes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_name_race, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
