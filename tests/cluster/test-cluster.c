/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cluster of three devpassd through D-Bus (issue 13's tests;
 * cluster-bus.h starts them): a group and rules made on one node,
 * node-scoped rules, changes of one node in line, one machine claimed on
 * two nodes at once, MACs of 16 machines racing, and TLS with client
 * certificates. test-cluster-loss.c has the losses. A cmocka filter picks
 * a test (meson runs each alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster-bus.h"

/* The 200 rounds. */
#define CLAIM_ROUNDS_DEFAULT 200

static bool has_property_signal(Harness *h, const char *path, const char *property) {
        for (guint i = 0; i < h->signals->len; i++) {
                HarnessSignal *s = h->signals->pdata[i];
                if (g_str_equal(s->kind, "~") && g_str_equal(s->path, path) &&
                    g_ptr_array_find_with_equal_func(s->properties, property, g_str_equal, NULL))
                        return true;
        }
        return false;
}

static void assert_signals(Harness *h, const char *group, const char *rule) {
        g_autofree char *device = calls_path_of(cbus_gpu[0]);
        while (sd_bus_process(h->bus, NULL) > 0)
                ;
        if (harness_count_signals(h, "+", group) != 1 || harness_count_signals(h, "+", rule) != 1 ||
            !has_property_signal(h, device, "Group"))
                fail_msg("%s: InterfacesAdded of %s: %u, of %s: %u; PropertiesChanged Group of %s: %d", h->node,
                         group, harness_count_signals(h, "+", group), rule, harness_count_signals(h, "+", rule),
                         device, has_property_signal(h, device, "Group"));
}

/* ---- 1. a group and a rule on every node, made on node 1 ---- */

static void test_rule_all_nodes(void **state) {
        Fixture *f = *state;
        g_autofree char *gpus = cbus_paths_text(cbus_gpu);

        for (int i = 1; i < NODES; i++)
                harness_clear_signals(f->h[i]);
        f->group = cbus_group_make(f->h[0], "gpus");
        g_autofree char *rule = cbus_rule_create(f->h[0], f->group, "", "0000:17:00.*");
        for (int i = 0; i < NODES; i++) {
                cbus_wait_prop(f->h[i], f->group, GROUP, "Devices", gpus);
                cbus_wait_prop(f->h[i], rule, RULE, "Devices", gpus);
                g_autofree char *device = calls_path_of(cbus_gpu[1]);
                cbus_wait_prop(f->h[i], device, DEVICE, "Group", f->group);
        }
        for (int i = 1; i < NODES; i++)
                assert_signals(f->h[i], f->group, rule);

        /* devpassctl on node 3 shows what node 1 made. */
        g_autofree char *out = NULL, *err = NULL;
        int status = harness_ctl(f->h[2], &out, &err, (const char *const[]) { "--json", "groups", NULL });
        if (status != 0 || !strstr(out, "\"gpus\"") || !strstr(out, "0000:17:00.1"))
                fail_msg("devpassctl groups on node3 (exit %d): %s%s", status, out, err);
}

/* ---- 2. a rule for one node ---- */

static void test_rule_one_node(void **state) {
        Fixture *f = *state;
        g_autofree char *gpus = cbus_paths_text(cbus_gpu);
        g_autofree char *none = cbus_paths_text((const char *const[]) { NULL });

        f->group = cbus_group_make(f->h[0], "node2 gpus");
        g_autofree char *rule = cbus_rule_create(f->h[0], f->group, "node2", "0000:17:00.*");
        cbus_wait_prop(f->h[1], f->group, GROUP, "Devices", gpus);
        /* Nodes 1 and 3 have the rule, and no device of theirs in the group. */
        for (int i = 0; i < NODES; i += 2) {
                cbus_wait_prop(f->h[i], rule, RULE, "Node", "node2");
                g_autofree char *devices = cbus_prop_text(f->h[i], f->group, GROUP, "Devices");
                assert_string_equal(devices, none);
        }
        /* A node that is not a member: refused, nothing changed on any node. */
        g_autofree char *before = calls_snapshot_settings(f->h[2]);
        calls_refused(f->h[0], "a rule for node9", "/org/devpass1", MANAGER, "CreateRule",
                      g_variant_new("(o@a{sv})", f->group,
                                    calls_dict("Conditions", calls_parse("a(sss)", "[('vendor', 'eq', '10de')]"), "Node",
                                         g_variant_new_string("node9"), NULL)),
                      "org.devpass1.Error.InvalidArgument", "node9");
        g_autofree char *after = calls_snapshot_settings(f->h[2]);
        calls_assert_unchanged(before, after, "node3");
}

/* ---- changes of one node wait in line ---- */

#define IN_LINE 8

/* IN_LINE changes sent at once to one node, each on a connection of its
 * own: each waits for the one before to reach etcd (doc/cluster.md, "How
 * a change travels"), and all are made. */
/* IN_LINE CreateGroup calls sent at once to node 1, each on a connection
 * of its own; stop: devpassd is stopped meanwhile. */
static void send_in_line(Fixture *f, const char *prefix, bool stop) {
        GDBusConnection *c[IN_LINE];
        CallsPending p[IN_LINE] = { 0 };
        guint pending = 0;

        for (int i = 0; i < IN_LINE; i++) {
                g_autofree char *name = g_strdup_printf("%s %d", prefix, i);
                c[i] = harness_connect(f->h[0]);
                p[i].pending = &pending;
                calls_send_call(c[i], "/org/devpass1", MANAGER, "CreateGroup", cbus_group_settings(name), &p[i]);
        }
        if (stop)
                harness_daemon_stop(f->h[0]);
        calls_wait_pending(&pending);
        for (int i = 0; i < IN_LINE; i++) {
                if (!stop && !p[i].reply)
                        fail_msg("CreateGroup '%s %d' of %d sent at once: %s", prefix, i, IN_LINE,
                                 p[i].error->message);
                calls_pending_clear(&p[i]);
                g_dbus_connection_close_sync(c[i], NULL, NULL);
                g_object_unref(c[i]);
        }
}

/* Changes sent at once to one node wait in line for etcd, one at a time
 * (doc/cluster.md, "How a change travels"), and all are made; devpassd
 * stopped while some wait exits cleanly. */
static void test_in_line(void **state) {
        Fixture *f = *state;

        send_in_line(f, "in line", false);
        send_in_line(f, "stopped", true);
}

/* ---- 3. one machine claimed on two nodes at once ---- */

/* DEVPASS_CLUSTER_CLAIM_ROUNDS=N for more: a round takes about 15 ms (the
 * refused claim is checked again once its node's watch has what refused
 * it, at once when the watch had it first, and refused Busy). */
static unsigned claim_rounds(void) {
        const char *env = getenv("DEVPASS_CLUSTER_CLAIM_ROUNDS");
        return env ? (unsigned) atoi(env) : CLAIM_ROUNDS_DEFAULT;
}

static void test_claim_race(void **state) {
        Fixture *f = *state;
        unsigned rounds = claim_rounds(), wins[2] = { 0 };
        g_autofree char *a = cbus_claims_setup(f, 2);

        for (unsigned round = 0; round < rounds; round++) {
                CallsPending p[2] = { 0 };
                guint pending = 0;
                for (int i = 0; i < 2; i++) {
                        p[i].pending = &pending;
                        calls_send_async(f->h[i]->connection, "Claim", "vm1", &p[i]);
                }
                calls_wait_pending(&pending);
                if (!p[0].reply == !p[1].reply)
                        fail_msg("round %u: node1 %s, node2 %s: want exactly one claim", round,
                                 p[0].reply ? "claimed" : p[0].error->message,
                                 p[1].reply ? "claimed" : p[1].error->message);
                int won = p[0].reply ? 0 : 1;
                wins[won]++;
                calls_assert_remote_error(p[!won].error, "org.devpass1.Error.Busy", f->h[won]->node, NULL);
                g_autoptr(GVariant) r = calls_ok(f->h[won], "/org/devpass1", MANAGER, "Release",
                                                 g_variant_new("(s)", "vm1"));
                calls_pending_clear(&p[0]);
                calls_pending_clear(&p[1]);
        }
        printf("# %u rounds: node1 won %u, node2 %u\n", rounds, wins[0], wins[1]);
}

/* ---- 16 machines with SR-IOV attachments racing across three nodes ---- */

#define MACHINES 16
#define VFS 6                      /* per node: node 1 claims for 6 machines */
#define PF1 "0000:3b:00.1"
#define TENANT_MAC "02:00:00:00:00:02"

/* The address of PF1's VF i: routing ID devfn 1 + offset 79 + i. */
static char *vf(guint i) {
        guint rid = 1 + 79 + i;
        return g_strdup_printf("0000:3b:%02x.%x", rid >> 3, rid & 7);
}

/* PF1's VFS VFs on node i, passed through into the "VFs" group (made by
 * node 1): its path. */
static char *vfs_passthrough(Fixture *f, int i, const char *group) {
        Harness *h = f->h[i];
        g_autofree char *pf = calls_path_of(PF1);
        g_autofree char *count = g_strdup_printf("%u", VFS);
        g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func(g_free);

        g_autoptr(GVariant) set = calls_ok(h, pf, DEVICE, "SetVirtualFunctions", g_variant_new("(u)", VFS));
        cbus_wait_prop(h, pf, DEVICE, "SriovNumVfs", count);
        for (guint v = 0; v < VFS; v++) {
                char *address = vf(v);
                g_autofree char *path = calls_path_of(address);
                g_ptr_array_add(addresses, address);
                cbus_wait_prop(h, path, DEVICE, "Address", address);
        }
        g_ptr_array_add(addresses, NULL);
        GVariant *options = group ? calls_dict("Group", g_variant_new_object_path(group), NULL)
                                  : calls_dict("Name", g_variant_new_string("VFs"), "Type",
                                               g_variant_new_string("sriov-nic"), "Class", g_variant_new_string("nic"),
                                               NULL);
        g_autoptr(GVariant) r = calls_ok(h, "/org/devpass1", MANAGER, "MakePassthrough",
                                         g_variant_new("(@ao@a{sv})",
                                                       calls_paths_variant((const char *const *) addresses->pdata),
                                                       options));
        for (guint v = 0; v < VFS; v++)
                calls_wait_driver(h, addresses->pdata[v], "vfio-pci");
        char *made;
        g_variant_get(r, "(ob)", &made, NULL);
        return made;
}

/* calls for machines 0..MACHINES-1, machine m's on node m % NODES, all
 * sent at once (each on a connection of its own); fails naming the first
 * refused. */
typedef GVariant *(*MachineArgs)(Fixture *f, guint m);

static void machines_at_once(Fixture *f, const char *method, MachineArgs args, GVariant **replies) {
        GDBusConnection *c[MACHINES];
        CallsPending p[MACHINES] = { 0 };
        guint pending = 0;

        for (guint m = 0; m < MACHINES; m++) {
                c[m] = harness_connect(f->h[m % NODES]);
                p[m].pending = &pending;
                calls_send_call(c[m], "/org/devpass1", MANAGER, method, args(f, m), &p[m]);
        }
        calls_wait_pending(&pending);
        for (guint m = 0; m < MACHINES; m++) {
                if (!p[m].reply)
                        fail_msg("%s of vm%02u on node%u, %d machines at once: %s", method, m, m % NODES + 1,
                                 MACHINES, p[m].error->message);
                replies[m] = g_steal_pointer(&p[m].reply);
                g_dbus_connection_close_sync(c[m], NULL, NULL);
                g_object_unref(c[m]);
        }
}

static GVariant *attach_args(Fixture *f, guint m) {
        g_autofree char *machine = g_strdup_printf("vm%02u", m);
        return g_variant_new("(s@a{sv})", machine, calls_dict("Group", g_variant_new_object_path(f->group), NULL));
}

static GVariant *claim_args(Fixture *f, guint m) {
        g_autofree char *machine = g_strdup_printf("vm%02u", m);
        return cbus_claim_args_of(machine);
}

/* Attachments of 16 machines made at once on three nodes, then claimed
 * at once, each on its node: every MAC is one attachment's, on every
 * node; two nodes giving one MAC at once: one wins; a tenant's MAC given
 * on node 2 is refused on node 3, which knows whose it is. */
static void test_macs(void **state) {
        Fixture *f = *state;
        GVariant *attached[MACHINES], *claimed[MACHINES];
        g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        f->group = vfs_passthrough(f, 0, NULL);
        for (int i = 1; i < NODES; i++)
                g_free(vfs_passthrough(f, i, f->group));
        machines_at_once(f, "CreateAttachment", attach_args, attached);
        for (guint m = 0; m < MACHINES; m++) {
                const char *a;
                g_variant_get(attached[m], "(&o)", &a);
                g_autofree char *mine = cbus_prop_text(f->h[m % NODES], a, "org.devpass1.Attachment", "Macs");
                if (!g_hash_table_add(macs, g_strdup(mine)))
                        fail_msg("vm%02u's attachment %s has the MAC %s of another", m, a, mine);
                for (int i = 0; i < NODES; i++)
                        cbus_wait_prop(f->h[i], a, "org.devpass1.Attachment", "Macs", mine);
        }
        machines_at_once(f, "Claim", claim_args, claimed);
        for (guint m = 0; m < MACHINES; m++) {
                g_autofree char *reply = g_variant_print(claimed[m], FALSE);
                if (!strstr(reply, "0000:3b:"))
                        fail_msg("vm%02u claimed %s", m, reply);
                g_variant_unref(attached[m]);
                g_variant_unref(claimed[m]);
        }

        /* One MAC given on nodes 1 and 2 at once. */
        CallsPending p[2] = { 0 };
        guint pending = 0;
        for (int i = 0; i < 2; i++) {
                g_autofree char *machine = g_strdup_printf("mac race %d", i);
                p[i].pending = &pending;
                calls_send_call(f->h[i]->connection, "/org/devpass1", MANAGER, "CreateAttachment",
                                g_variant_new("(s@a{sv})", machine,
                                              calls_dict("Group", g_variant_new_object_path(f->group), "Mac",
                                                   g_variant_new_string("02:00:00:00:00:01"), NULL)),
                                &p[i]);
        }
        calls_wait_pending(&pending);
        if (!p[0].reply == !p[1].reply)
                fail_msg("one MAC on two nodes at once: node1 %s, node2 %s",
                         p[0].reply ? "made it" : p[0].error->message, p[1].reply ? "made it" : p[1].error->message);
        calls_assert_remote_error(p[0].error ?: p[1].error, "org.devpass1.Error.Busy", "02:00:00:00:00:01", NULL);
        calls_pending_clear(&p[0]);
        calls_pending_clear(&p[1]);

        /* Node 2 has a VF left (node 1 claimed all of its own). */
        g_autofree char *acme = calls_ok_path(f->h[1], "/org/devpass1", MANAGER, "PassToTenant",
                                              g_variant_new("(ss@a{sv})", "acme", "node2",
                                                            calls_dict("Group", g_variant_new_object_path(f->group),
                                                                       "Mac", g_variant_new_string(TENANT_MAC),
                                                                       NULL)));
        cbus_wait_prop(f->h[2], acme, GROUP, "Tenant", "acme");
        /* The tenant's group holds the VF passed on node 2, there for the
         * tenant's machines to attach (shared/reference, "Passthrough a
         * PCI Device to a Tenant"): one unit of node 2, free, on every
         * node (node 2's figures reach the others at most a second later). */
        g_autofree char *held = cbus_prop_text(f->h[1], acme, GROUP, "Nodes");
        assert_string_equal(held, "{'node2': (1, 1)}");
        for (int i = 0; i < NODES; i += 2)
                if (!harness_wait(f->h[i], cbus_prop_has, &(PropWait) { acme, GROUP, "Nodes", "'node2': (1, 1)" }, WAIT_MS))
                        fail_msg("node%d: tenant acme's group does not show node2's unit", i + 1);
        /* Node 2's units after the pass reach node 3 at most a second
         * later: first, so that the refusal is all node 3 could show. */
        g_autofree char *units = cbus_node_units(f->h[1], f->group, "node2");
        if (!harness_wait(f->h[2], cbus_prop_has, &(PropWait) { f->group, GROUP, "Nodes", units }, WAIT_MS))
                fail_msg("node3: node2's units %s did not arrive", units);
        calls_refused(f->h[2], "CreateAttachment with a tenant's MAC", "/org/devpass1", MANAGER, "CreateAttachment",
                      g_variant_new("(s@a{sv})", "mac thief",
                                    calls_dict("Group", g_variant_new_object_path(f->group), "Mac",
                                               g_variant_new_string(TENANT_MAC), NULL)),
                      "org.devpass1.Error.Busy", "MAC " TENANT_MAC " is taken by a device of tenant acme");
}

/* ---- 7. TLS with client certificates ---- */

static void test_tls(void **state) {
        Fixture *f = *state;
        g_autofree char *gpus = cbus_paths_text(cbus_gpu);

        f->group = cbus_group_make(f->h[2], "tls gpus");
        g_autofree char *rule = cbus_rule_create(f->h[2], f->group, "", "0000:17:00.*");
        for (int i = 0; i < NODES; i++)
                cbus_wait_prop(f->h[i], f->group, GROUP, "Devices", gpus);
        g_autofree char *other = cbus_group_make(f->h[0], "from node1");
        cbus_wait_prop(f->h[2], other, GROUP, "Name", "from node1");
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rule_all_nodes, cbus_setup_no_kernel, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_rule_one_node, cbus_setup_no_kernel, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_in_line, cbus_setup_no_kernel, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_claim_race, cbus_setup, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_macs, cbus_setup, cbus_teardown),
                cmocka_unit_test_setup_teardown(test_tls, cbus_setup_tls, cbus_teardown),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
