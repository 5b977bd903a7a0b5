/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cluster of three devpassd through D-Bus losing parts of itself
 * (issue 13's tests; cluster-bus.h starts them): etcd losing one member
 * and then its quorum, a node's devpassd killed (its claims go with its
 * lease), every devpassd restarted. A cmocka filter picks a test (meson
 * runs each alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster-bus.h"

/* ---- 4. etcd loses one member, then its quorum ---- */

static void test_quorum(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        g_free(cbus_group_make(f->h[0], "before"));
        etcd_cluster_kill(f->etcd, 0);
        /* One member down: still a quorum, once the two left have a
         * leader (a change sent while they elect one, after the leader
         * was killed, is dropped by etcd and refused ClusterUnavailable
         * after the client's deadline). */
        assert_true(etcd_cluster_wait_healthy(f->etcd, 1, WAIT_MS));
        assert_true(etcd_cluster_wait_healthy(f->etcd, 2, WAIT_MS));
        g_autofree char *one = calls_ok_path(f->h[1], "/org/devpass1", MANAGER, "CreateGroup",
                                             cbus_group_settings("one down"));
        for (int i = 0; i < NODES; i++)
                cbus_wait_prop(f->h[i], one, GROUP, "Name", "one down");

        /* Two down: changes refused, reads answered, nothing half-written. */
        etcd_cluster_kill(f->etcd, 1);
        g_auto(GStrv) snapshots = g_new0(char *, NODES + 1);
        for (int i = 0; i < NODES; i++)
                snapshots[i] = calls_snapshot_settings(f->h[i]);
        for (int i = 0; i < NODES; i++) {
                g_autofree char *name = g_strdup_printf("no quorum %d", i);
                g_autoptr(GVariant) r = cbus_manager(f->h[i], "CreateGroup", cbus_group_settings(name), &error);
                assert_null(r);
                calls_assert_remote_error(error, UNAVAILABLE, NULL);
                g_clear_error(&error);
                g_autofree char *still = cbus_prop_text(f->h[i], one, GROUP, "Name");
                assert_string_equal(still, "one down");
        }
        /* Each node says so, and still answers from what it knew. */
        cbus_wait_cluster_state(f, "stale");
        for (int i = 0; i < NODES; i++) {
                g_autofree char *now = calls_snapshot_settings(f->h[i]);
                calls_assert_unchanged(snapshots[i], now, f->h[i]->node);
        }

        /* Back: changes taken again, without a restart of devpassd. */
        etcd_cluster_start(f->etcd, 0);
        etcd_cluster_start(f->etcd, 1);
        assert_true(etcd_cluster_wait_healthy(f->etcd, 0, WAIT_MS));
        cbus_wait_all_up(f);
        g_autoptr(EtcdKv) made = cbus_key_get(f, "/devpass/v1/shared/group-names/one down");
        assert_non_null(made);
        /* A change refused for want of a quorum may still land when etcd
         * has one again (a leader left alone keeps what it was sent): then
         * whole, on every node. */
        for (int i = 0; i < NODES; i++) {
                g_autofree char *key = g_strdup_printf("/devpass/v1/shared/group-names/no quorum %d", i);
                g_autofree char *name = g_strdup_printf("no quorum %d", i);
                g_autoptr(EtcdKv) kv = cbus_key_get(f, key);
                if (!kv)
                        continue;
                printf("# %s, refused without a quorum, was made once etcd had one\n", name);
                g_autofree char *path = g_strdup_printf("/org/devpass1/groups/%s", kv->value);
                for (int j = 0; j < NODES; j++)
                        cbus_wait_prop(f->h[j], path, GROUP, "Name", name);
        }
        for (int i = 0; i < NODES; i++) {
                g_autofree char *name = g_strdup_printf("back %d", i);
                g_autofree char *path = cbus_group_make(f->h[i], name);
                for (int j = 0; j < NODES; j++)
                        cbus_wait_prop(f->h[j], path, GROUP, "Name", name);
        }
}

/* ---- 5. a node's devpassd killed: its claims go with its lease ---- */

static void test_node_lost(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        g_autofree char *a = cbus_claims_setup(f, 3);

        g_autoptr(GVariant) r = calls_ok(f->h[1], "/org/devpass1", MANAGER, "Claim", cbus_claim_args_of("vm1"));
        calls_assert_device_state(f->h[1], cbus_gpu[0], "claimed vm1");
        g_autoptr(GVariant) busy = cbus_claim(f->h[2], "vm1", &error);
        assert_null(busy);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "node2", NULL);

        /* Its lease expires (LeaseSeconds=2): down on the others' buses,
         * and with it vm1's cbus_claim, in the same revision. */
        harness_daemon_kill(f->h[1]);
        cbus_wait_nodes(f, "node2", "down");
        g_autoptr(GVariant) moved = calls_ok(f->h[2], "/org/devpass1", MANAGER, "Claim", cbus_claim_args_of("vm1"));
        calls_assert_device_state(f->h[2], cbus_gpu[0], "claimed vm1");
        g_clear_error(&error);
        g_autoptr(GVariant) busy1 = cbus_claim(f->h[0], "vm1", &error);
        assert_null(busy1);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "node3", NULL);

        /* Node 2 back: its claim is gone there too. */
        harness_daemon_start(f->h[1], NULL);
        cbus_wait_all_up(f);
        g_autofree char *device = calls_path_of(cbus_gpu[0]);
        cbus_wait_prop(f->h[1], device, DEVICE, "State", "passthrough");
}

/* ---- 6. every devpassd restarted ---- */

#define MACHINE_KEY "/devpass/v1/shared/machines/vm1"

typedef struct {
        Fixture *f;
        gint64 lease;
} LeaseWait;

static gboolean wake(gpointer data) {
        return G_SOURCE_REMOVE;
}

/* The old lease is gone (expired): a key put on it is refused. Asked
 * again 50 ms later (the loop woken for it). */
static bool lease_expired(gpointer data) {
        LeaseWait *w = data;
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;

        etcd_kv_put_async(w->f->client, "/devpass-test/probe", "x", 1, w->lease, NULL, etcd_cluster_got, &res);
        if (!etcd_kv_put_finish(w->f->client, etcd_cluster_await(&res, WAIT_MS), &error)) {
                if (g_error_matches(error, ETCD_ERROR, ETCD_ERROR_LEASE_NOT_FOUND))
                        return true;
                fail_msg("a put on node2's old lease: %s", error->message);
        }
        g_timeout_add(50, wake, NULL);
        return false;
}

typedef struct {
        Fixture *f;
        const char *group;
} UnitsWait;

/* h shows the group's units of every node as that node shows its own:
 * each node puts its state at most once a second, so the names alone can
 * arrive before the last counts do. */
static bool units_everywhere(Harness *h, void *data) {
        UnitsWait *w = data;
        g_autoptr(GVariant) seen = calls_prop(h, w->group, GROUP, "Nodes");

        for (int i = 0; i < NODES; i++) {
                Harness *own = w->f->h[i];
                g_autoptr(GVariant) theirs = calls_prop(own, w->group, GROUP, "Nodes");
                guint32 total, free, seen_total, seen_free;
                if (!g_variant_lookup(theirs, own->node, "(uu)", &total, &free) ||
                    !g_variant_lookup(seen, own->node, "(uu)", &seen_total, &seen_free) || total != seen_total ||
                    free != seen_free)
                        return false;
        }
        return true;
}

typedef struct {
        const char *before;
        char *now;
} SnapshotWait;

static bool snapshot_same(Harness *h, void *data) {
        SnapshotWait *w = data;

        g_free(w->now);
        w->now = calls_snapshot_settings(h);
        return g_str_equal(w->now, w->before);
}

/* Nodes 1 and 2 pass the GPU through, vm1 has an attachment of it, a
 * rule is node 3's, and vm1 runs on node 2 when claim; then every
 * devpassd stops and starts again, and each node shows what it showed
 * before (vm1's claim checked after node 2's old lease is gone). */
static void restart_all(Fixture *f, bool running) {
        g_autofree char *a = cbus_claims_setup(f, 2);
        g_autofree char *rule = cbus_rule_create(f->h[0], f->group, "node3", "0000:b1:00.*");
        g_autofree char *b1 = cbus_paths_text((const char *const[]) { "0000:b1:00.0", "0000:b1:00.1", NULL });
        g_auto(GStrv) snapshots = g_new0(char *, NODES + 1);
        LeaseWait old = { f, 0 };

        if (running) {
                g_autoptr(GVariant) r = calls_ok(f->h[1], "/org/devpass1", MANAGER, "Claim", cbus_claim_args_of("vm1"));
                calls_assert_device_state(f->h[1], cbus_gpu[0], "claimed vm1");
                old.lease = cbus_key_lease(f, MACHINE_KEY);
                assert_true(old.lease != 0);
        }
        cbus_wait_prop(f->h[2], rule, RULE, "Devices", b1);
        UnitsWait units = { f, f->group };
        for (int i = 0; i < NODES; i++) {
                if (!harness_wait(f->h[i], units_everywhere, &units, WAIT_MS))
                        fail_msg("%s: the group's units of every node did not arrive", f->h[i]->node);
                snapshots[i] = calls_snapshot_settings(f->h[i]);
        }
        for (int i = 0; i < NODES; i++)
                harness_daemon_stop(f->h[i]);
        for (int i = 0; i < NODES; i++)
                harness_daemon_start(f->h[i], NULL);
        if (running) {
                /* Past node 2's old lease (LeaseSeconds=2): vm1 still runs
                 * there, its claim is still node 2's, node 1 is refused it. A
                 * group made and deleted after, once gone on node 2, says node
                 * 2 has seen whatever the lease's end deleted. */
                assert_true(etcd_cluster_loop_until(lease_expired, &old, WAIT_MS));
                g_autofree char *after = cbus_group_make(f->h[0], "after");
                cbus_wait_prop(f->h[1], after, GROUP, "Name", "after");
                g_autoptr(GVariant) gone = calls_ok(f->h[0], after, GROUP, "Delete",
                                                    g_variant_new("(@a{sv})", calls_dict(NULL)));
                PropWait w = { after, GROUP, "Name", NULL };
                if (!harness_wait(f->h[1], cbus_prop_shows, &w, WAIT_MS))
                        fail_msg("node2 still shows %s, deleted on node1", after);
                bool kept = cbus_key_lease(f, MACHINE_KEY) != 0;
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) taken = cbus_claim(f->h[0], "vm1", &error);
                if (taken)
                        fail_msg("node1 claimed vm1, which ran on node2 before devpassd restarted (vm1's key in "
                                 "etcd: %s)", kept ? "on node2's new lease" : "gone with node2's old lease");
                calls_assert_remote_error(error, "org.devpass1.Error.Busy", "node2", NULL);
        }
        for (int i = 0; i < NODES; i++) {
                SnapshotWait w = { snapshots[i], NULL };
                if (!harness_wait(f->h[i], snapshot_same, &w, WAIT_MS))
                        calls_assert_unchanged(snapshots[i], w.now, f->h[i]->node);
                g_free(w.now);
        }
}

static void test_restart(void **state) {
        restart_all(*state, false);
}

static void test_restart_claimed(void **state) {
        restart_all(*state, true);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_quorum, cbus_setup_no_kernel, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_node_lost, cbus_setup, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_restart, cbus_setup, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_restart_claimed, cbus_setup, cbus_teardown),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
