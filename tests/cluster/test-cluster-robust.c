/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two nodes of a cluster in one process (as test-cluster-nodes.c), and
 * what etcd may hold or do that no devpassd asked for: more keys than one
 * answer carries (the full read in pages); keys no devpassd could have
 * written (left out, the rest applied); etcd restored from a backup,
 * below the revision the nodes reached, while they run and while they
 * are stopped (read again whole). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cluster-node.h"
#include "cluster-private.h"

typedef struct {
        Node *nodes[2];
} Same;

/* Both replicas have the same shared keys, at the same revisions, with
 * the same values, and both watches reached the same revision. */
static bool replicas_same(gpointer data) {
        Same *s = data;
        GPtrArray *keys[2];

        for (int i = 0; i < 2; i++)
                if (!g_str_equal(cluster_state(s->nodes[i]->cluster), "up"))
                        return false;
        if (etcd_watch_revision(s->nodes[0]->cluster->watches[0]) !=
            etcd_watch_revision(s->nodes[1]->cluster->watches[0]))
                return false;
        for (int i = 0; i < 2; i++)
                keys[i] = store_replica_keys(s->nodes[i]->store, s->nodes[i]->cluster->shared, NULL);
        bool same = keys[0] && keys[1] && keys[0]->len == keys[1]->len;
        for (guint k = 0; same && k < keys[0]->len; k++) {
                const StoreReplicaKey *x = keys[0]->pdata[k], *y = keys[1]->pdata[k];
                same = g_str_equal(x->key, y->key) && x->mod_revision == y->mod_revision &&
                       g_strcmp0(x->value, y->value) == 0;
        }
        for (int i = 0; i < 2; i++)
                g_clear_pointer(&keys[i], g_ptr_array_unref);
        return same;
}

/* More shared keys than one answer of node c's client carries (4 KiB
 * here, 16 MiB by default): c reads them in pages, and has the replica
 * node a has, which took them one change at a time. */
static void test_paged_read(void **state) {
        NodePair *f = *state;
        Node *a = &f->nodes[0], *c = &f->third;

        for (int i = 0; i < 24; i++) {
                g_autofree char *name = g_strdup_printf("group%02d", i);
                assert_non_null(node_group_made(a, name));
        }
        node_open(c, f->dir, "node-c");
        c->max_response = 4096;
        node_cluster(c, f->etcd);
        Same s = { { a, c } };
        assert_true(etcd_cluster_loop_until(replicas_same, &s, 20000));
        assert_non_null(model_group_by_name(c->model, "group23"));
}

typedef struct {
        Model *model;
        const char *name;
        bool there;
} Wanted;

static bool group_as_wanted(gpointer data) {
        Wanted *w = data;
        return (model_group_by_name(w->model, w->name) != NULL) == w->there;
}

static void group_wait(Node *n, const char *name, bool there) {
        Wanted w = { n->model, name, there };
        assert_true(etcd_cluster_loop_until(group_as_wanted, &w, 20000));
}

/* Keys under the shared prefix that no devpassd could have written: a
 * value that does not decode, and a group that does, with a name another
 * group has (the store refuses it). Each is left out, logged; a change
 * after them still reaches every node, a node that starts then too. */
static void test_bad_keys(void **state) {
        NodePair *f = *state;
        Node *a = &f->nodes[0], *b = &f->nodes[1], *c = &f->third;
        g_autofree char *garbage = g_strconcat(a->cluster->shared, "groups/\x1b[31mjunk", NULL);
        g_autofree char *twin = cluster_key_of(a->cluster, CLUSTER_KEY_GROUP, 999999, NULL, NULL);
        g_autoptr(StoreGroup) settings = node_group_settings("nics");
        ClusterRow row = { .key.kind = CLUSTER_KEY_GROUP, .group = settings };
        g_autofree char *value = cluster_row_encode(&row);

        assert_non_null(node_group_made(a, "nics"));
        /* Node b's change below guards the ids node a's moved: b knows it. */
        group_wait(b, "nics", true);
        node_etcd_put(f->etcd, garbage, "{not json", 0);
        node_etcd_put(f->etcd, twin, value, 0);
        assert_non_null(node_group_made(b, "after"));
        group_wait(a, "after", true);
        node_start(c, f->etcd, f->dir, "node-c");
        Same s = { { a, c } };
        assert_true(etcd_cluster_loop_until(replicas_same, &s, 20000));
        assert_non_null(model_group_by_name(c->model, "after"));
        int64_t mod = -1;
        assert_true(store_replica_key(c->store, twin, &mod, NULL, NULL));
        assert_int_equal(mod, 0);
}

typedef struct {
        Node *node;
        const char *description;
} Described;

static bool described(gpointer data) {
        Described *d = data;
        ModelGroup *g = model_group_by_name(d->node->model, "before");
        return g && g_str_equal(g->settings->description, d->description);
}

static void describe(Node *n, const char *description) {
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) s = node_group_settings("before");
        Outcome o = { 0 };

        g_free(s->description);
        s->description = g_strdup(description);
        assert_true(model_group_update(n->model, model_group_by_name(n->model, "before"), s, &error));
        node_commit_start(n, &o);
        node_commit_wait(&o);
        assert_null(o.error);
}

/* etcd restored from a backup older than what the nodes read: its
 * revision is below their watches'. They read it again whole and take it
 * as it is: a group made after the backup goes, one changed after it is
 * as it was; and changes flow again. */
static void test_restored(void **state) {
        NodePair *f = *state;
        Node *a = &f->nodes[0], *b = &f->nodes[1];
        g_autofree char *backup = g_build_filename(f->dir, "etcd.backup", NULL);

        assert_non_null(node_group_made(a, "before"));
        group_wait(b, "before", true);
        etcd_cluster_snapshot(f->etcd, backup);
        assert_non_null(node_group_made(a, "lost"));
        /* Twenty changes past the backup: the few keys the nodes write
         * again after the restore (their member keys) cannot bring etcd
         * back up to what they saw before their watches connect again.
         * (Writes outside devpass's prefix would not do: node b's watch
         * never sees them, and node a knows of its own changes from
         * etcd's answers, whatever its watch delivered yet.) */
        for (int i = 0; i < 20; i++) {
                g_autofree char *text = g_strdup_printf("change %d after the backup", i);
                describe(a, text);
        }
        describe(a, "changed after the backup");
        group_wait(b, "lost", true);
        Described d = { b, "changed after the backup" };
        assert_true(etcd_cluster_loop_until(described, &d, 20000));
        etcd_cluster_restore(f->etcd, backup);
        for (int i = 0; i < 2; i++) {
                group_wait(&f->nodes[i], "lost", false);
                d = (Described) { &f->nodes[i], "" };
                assert_true(etcd_cluster_loop_until(described, &d, 20000));
        }
        assert_non_null(node_group_made(b, "after"));
        group_wait(a, "after", true);
}

/* The same with both nodes stopped across the restore (doc/cluster.md's
 * procedure), and etcd past their revision again before they start: they cannot see the restore in
 * the revisions, but their replicas have a key at a revision etcd's
 * history at the read cannot have, and take etcd's. */
static void test_restored_stopped(void **state) {
        NodePair *f = *state;
        Node *a = &f->nodes[0], *b = &f->nodes[1];
        g_autofree char *backup = g_build_filename(f->dir, "etcd.backup", NULL);
        const char *names[] = { "node-a", "node-b" };

        assert_non_null(node_group_made(a, "before"));
        etcd_cluster_snapshot(f->etcd, backup);
        describe(a, "changed after the backup");
        Described d = { b, "changed after the backup" };
        assert_true(etcd_cluster_loop_until(described, &d, 20000));
        for (int i = 0; i < 2; i++)
                node_stop(&f->nodes[i]);
        etcd_cluster_restore(f->etcd, backup);
        for (int i = 0; i < 20; i++)
                node_etcd_put(f->etcd, "/elsewhere", "x", 0);
        for (int i = 0; i < 2; i++)
                node_start(&f->nodes[i], f->etcd, f->dir, names[i]);
        for (int i = 0; i < 2; i++) {
                d = (Described) { &f->nodes[i], "" };
                assert_true(etcd_cluster_loop_until(described, &d, 20000));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_paged_read, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_bad_keys, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_restored, node_pair_setup, node_pair_teardown),
                cmocka_unit_test_setup_teardown(test_restored_stopped, node_pair_setup, node_pair_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
