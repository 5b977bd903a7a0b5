/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cluster-node.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "coalesce.h"
#include "harness.h"
#include "nodegen.h"

static const ModelPaths paths = { "/g", "/r", "/a" };

static void on_replica_changed(void *data) {
        Node *n = data;
        g_autoptr(GError) error = NULL;

        assert_true(model_resync(n->model, &error));
        model_changes_free(model_take_changes(n->model));
        n->changed++;
}

static void on_state_changed(void *data) {
        ((Node *) data)->states++;
}

static const ClusterFuncs funcs = { .replica_changed = on_replica_changed, .state_changed = on_state_changed };

void node_open(Node *n, const char *dir, const char *name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(Coalescer) queue = coalescer_new();

        n->name = g_strdup(name);
        n->dir = g_build_filename(dir, name, NULL);
        g_autofree char *sys = g_build_filename(n->dir, "sys", NULL);
        /* Opened again: a restart, on the same kernel. */
        if (!g_file_test(sys, G_FILE_TEST_IS_DIR))
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
}

void node_cluster(Node *n, EtcdCluster *etcd) {
        g_autoptr(GError) error = NULL;
        ConfigCluster config = {
                .endpoints = (char **) etcd_cluster_endpoints(etcd),
                .node = n->name,
                .lease_seconds = 5,
                .max_response = n->max_response,
        };

        n->cluster = cluster_new(&config, n->name, n->store, &funcs, n, &error);
        assert_non_null(n->cluster);
}

void node_start(Node *n, EtcdCluster *etcd, const char *dir, const char *name) {
        node_open(n, dir, name);
        node_cluster(n, etcd);
}

void node_stop(Node *n) {
        cluster_free(n->cluster);
        model_free(n->model);
        store_close(n->store);
        inventory_free(n->inventory);
        names_free(n->names);
        g_free(n->dir);
        g_free(n->name);
}

static void on_done(const GError *error, void *data) {
        Outcome *o = data;
        o->done = true;
        o->error = error ? g_error_copy(error) : NULL;
}

static bool outcome_done(gpointer data) {
        return ((Outcome *) data)->done;
}

void node_commit_start(Node *n, Outcome *o) {
        g_autoptr(GError) error = NULL;

        assert_true(cluster_deferred(n->cluster));
        assert_true(model_resync(n->model, &error));
        model_changes_free(model_take_changes(n->model));
        cluster_commit(n->cluster, on_done, o);
}

void node_commit_wait(Outcome *o) {
        assert_true(etcd_cluster_loop_until(outcome_done, o, 10000));
}

StoreGroup *node_group_settings(const char *name) {
        StoreGroup *s = g_new0(StoreGroup, 1);
        s->name = g_strdup(name);
        s->type = g_strdup("pci");
        s->description = g_strdup("");
        s->class_name = g_strdup("nic");
        s->tenant = g_strdup("");
        s->tenant_node = g_strdup("");
        return s;
}

ModelGroup *node_group_made(Node *n, const char *name) {
        g_autoptr(GError) error = NULL;
        Outcome o = { 0 };

        assert_non_null(model_group_create(n->model, node_group_settings(name), &error));
        node_commit_start(n, &o);
        assert_null(model_group_by_name(n->model, name));
        node_commit_wait(&o);
        if (o.error)
                fail_msg("%s: group %s: %s", n->name, name, o.error->message);
        return model_group_by_name(n->model, name);
}

void node_store_refuse(const char *dir, const char *on) {
        g_autofree char *path = g_build_filename(dir, "devpass.db", NULL);
        g_autofree char *sql = on ? g_strdup_printf("CREATE TRIGGER refuse %s BEGIN SELECT RAISE(ABORT, 'refused "
                                                    "here'); END", on) : g_strdup("DROP TRIGGER refuse");
        sqlite3 *db;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

static bool pair_up(gpointer data) {
        NodePair *f = data;
        return g_str_equal(cluster_state(f->nodes[0].cluster), "up") &&
               g_str_equal(cluster_state(f->nodes[1].cluster), "up");
}

int node_pair_setup(void **state) {
        NodePair *f = g_new0(NodePair, 1);
        g_autoptr(GError) error = NULL;

        f->etcd = etcd_cluster_new(1, false);
        f->dir = g_dir_make_tmp("cluster-nodes-XXXXXX", &error);
        node_start(&f->nodes[0], f->etcd, f->dir, "node-a");
        node_start(&f->nodes[1], f->etcd, f->dir, "node-b");
        assert_true(etcd_cluster_loop_until(pair_up, f, 10000));
        *state = f;
        return 0;
}

int node_pair_teardown(void **state) {
        NodePair *f = *state;

        for (int i = 0; i < 2; i++)
                node_stop(&f->nodes[i]);
        if (f->third.name)
                node_stop(&f->third);
        etcd_cluster_free(f->etcd);
        harness_remove_tree(f->dir);
        g_free(f->dir);
        g_free(f);
        return 0;
}

void node_etcd_put(EtcdCluster *etcd, const char *key, const char *value, gint64 lease) {
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdClient) client = etcd_client_new(etcd_cluster_endpoints(etcd), NULL, NULL, &error);
        g_autoptr(GAsyncResult) res = NULL;

        etcd_kv_put_async(client, key, value, strlen(value), lease, NULL, etcd_cluster_got, &res);
        assert_true(etcd_kv_put_finish(client, etcd_cluster_await(&res, 10000), &error) > 0);
}
