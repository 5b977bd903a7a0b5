/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two nodes of a cluster in one process (as test-cluster-nodes.c), and
 * what etcd may hold that no devpassd asked for: more keys than one
 * answer carries (the full read in pages). */
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_paged_read, node_pair_setup, node_pair_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
