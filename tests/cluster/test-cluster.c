/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cluster of three devpassd through D-Bus (issue 13's tests): each on
 * its own umockdev GPU server, private bus and real polkitd (root may do
 * everything), all on one 3-member etcd started here. A group and rules
 * made on one node, node-scoped rules, one machine claimed on two nodes
 * at once, etcd losing one member and then its quorum, a node's
 * devpassd killed (its claims go with its lease), every devpassd
 * restarted, and TLS with client certificates. A cmocka filter picks a
 * test (meson runs each alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"
#include "etcd-cluster.h"

#define NODES 3
#define MANAGER "org.devpass1.Manager"
#define GROUP "org.devpass1.Group"
#define RULE "org.devpass1.Rule"
#define DEVICE "org.devpass1.Device"
#define NODE "org.devpass1.Node"
#define UNAVAILABLE "org.devpass1.Error.ClusterUnavailable"
/* How long a change may take to reach every node, or the cluster to
 * answer again: generous, for the sanitizers on a loaded machine. */
#define WAIT_MS 20000
#define CLAIM_ROUNDS_DEFAULT 100

static const char *const gpu[] = { "0000:17:00.0", "0000:17:00.1", NULL };

typedef struct {
        EtcdCluster *etcd;
        Harness *h[NODES];
        FakeKernel *fk[NODES];     /* NULL: no passthrough in this test */
        EtcdClient *client;        /* the test's own, to read etcd's keys */
        char *group;               /* "gpus", made on node 1 */
} Fixture;

/* ---- the nodes ---- */

static void node_start(Fixture *f, int i, bool kernel) {
        Harness *h = harness_prepare("gpu-server.umockdev");

        g_free(h->node);
        h->node = g_strdup_printf("node%d", i + 1);
        g_autofree char *conf = etcd_cluster_config(f->etcd, h->node);
        harness_config_add(h, conf);
        harness_daemon_start(h, NULL);
        harness_polkit_start(h, NULL);
        if (kernel) {
                f->fk[i] = fakekernel_new(h->testbed);
                fakekernel_load_vfio(f->fk[i], true);
        }
        h->connection = harness_connect(h);
        f->h[i] = h;
}

static void wait_all_up(Fixture *f);

static Fixture *fixture_new(bool tls, bool kernel) {
        Fixture *f = g_new0(Fixture, 1);

        f->etcd = etcd_cluster_new(3, tls);
        f->client = etcd_client_new(etcd_cluster_endpoints(f->etcd), etcd_cluster_tls(f->etcd), NULL, NULL);
        g_assert_nonnull(f->client);
        for (int i = 0; i < NODES; i++)
                node_start(f, i, kernel);
        wait_all_up(f);
        return f;
}

static int setup(void **state) {
        *state = fixture_new(false, true);
        return 0;
}

/* etcd's members are started again in this one: no fake kernel's thread
 * may hold umockdev's lock while GLib forks them. */
static int setup_no_kernel(void **state) {
        *state = fixture_new(false, false);
        return 0;
}

static int setup_tls(void **state) {
        *state = fixture_new(true, false);
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        for (int i = NODES - 1; i >= 0; i--) {
                /* For a failure's diagnosis: DEVPASS_CLUSTER_LOGS=1. */
                if (getenv("DEVPASS_CLUSTER_LOGS")) {
                        g_autofree char *log = harness_daemon_log(f->h[i]);
                        fprintf(stderr, "---- %s's log ----\n%s", f->h[i]->node, log);
                }
                if (f->h[i]->daemon_pid > 0)
                        harness_daemon_stop(f->h[i]);
                fakekernel_free(f->fk[i]);
                harness_free(f->h[i]);
        }
        etcd_client_unref(f->client);
        etcd_cluster_free(f->etcd);
        g_free(f->group);
        g_free(f);
        return 0;
}

/* ---- calls ---- */

static GVariant *manager(Harness *h, const char *method, GVariant *args, GError **error) {
        return harness_call(h, "/org/devpass1", MANAGER, method, args, error);
}

static GVariant *claim_args_of(const char *machine) {
        return g_variant_new("(s@a{sv})", machine, calls_dict(NULL));
}

static GVariant *claim(Harness *h, const char *machine, GError **error) {
        return manager(h, "Claim", claim_args_of(machine), error);
}

static GVariant *group_settings(const char *name) {
        return g_variant_new("(@a{sv})", calls_dict("Name", g_variant_new_string(name), NULL));
}

static char *group_make(Harness *h, const char *name) {
        return calls_ok_path(h, "/org/devpass1", MANAGER, "CreateGroup", group_settings(name));
}

static char *rule_create(Harness *h, const char *group, const char *node, const char *address_glob) {
        GVariant *conditions = g_variant_new_parsed("[('address', 'eq', %s)]", address_glob);

        return calls_ok_path(h, "/org/devpass1", MANAGER, "CreateRule",
                             g_variant_new("(o@a{sv})", group,
                                           calls_dict("Conditions", conditions, "Node", g_variant_new_string(node),
                                                NULL)));
}

/* A property as g_variant_print() shows it; NULL when the object or
 * the property is not there (yet). */
static char *prop_text(Harness *h, const char *path, const char *iface, const char *name) {
        g_autoptr(GVariant) r = harness_call(h, path, "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new("(ss)", iface, name), NULL);
        g_autoptr(GVariant) v = NULL;

        if (!r)
                return NULL;
        g_variant_get(r, "(v)", &v);
        bool text = g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ||
                    g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH);
        return text ? g_variant_dup_string(v, NULL) : g_variant_print(v, FALSE);
}

typedef struct {
        const char *path, *iface, *name, *want;
} PropWait;

static bool prop_shows(Harness *h, void *data) {
        PropWait *w = data;
        g_autofree char *got = prop_text(h, w->path, w->iface, w->name);
        return g_strcmp0(got, w->want) == 0;
}

static bool prop_has(Harness *h, void *data) {
        PropWait *w = data;
        g_autofree char *got = prop_text(h, w->path, w->iface, w->name);
        return got && strstr(got, w->want);
}

/* "'node': (total, free)" as h shows it in group's Nodes. */
static char *node_units(Harness *h, const char *group, const char *node) {
        g_autoptr(GVariant) v = calls_prop(h, group, GROUP, "Nodes");
        guint32 total, free;

        if (!g_variant_lookup(v, node, "(uu)", &total, &free))
                fail_msg("%s: group %s has no units of %s", h->node, group, node);
        return g_strdup_printf("'%s': (%u, %u)", node, total, free);
}

static void wait_prop(Harness *h, const char *path, const char *iface, const char *name, const char *want) {
        PropWait w = { path, iface, name, want };

        if (!harness_wait(h, prop_shows, &w, WAIT_MS)) {
                g_autofree char *got = prop_text(h, path, iface, name);
                fail_msg("%s: %s %s is %s, want %s", h->node, path, name, got ?: "(none)", want);
        }
}

/* Every node shows each node in state ("up", "down"), and its own
 * ClusterState: "up" once it has read etcd and takes changes. */
static void wait_nodes(Fixture *f, const char *node, const char *state) {
        g_autofree char *path = g_strdup_printf("/org/devpass1/nodes/%s", node);

        for (int i = 0; i < NODES; i++)
                if (f->h[i]->daemon_pid > 0 && !g_str_equal(f->h[i]->node, node))
                        wait_prop(f->h[i], path, NODE, "State", state);
}

static void wait_cluster_state(Fixture *f, const char *state) {
        for (int i = 0; i < NODES; i++)
                if (f->h[i]->daemon_pid > 0)
                        wait_prop(f->h[i], "/org/devpass1", MANAGER, "ClusterState", state);
}

static void wait_all_up(Fixture *f) {
        wait_cluster_state(f, "up");
        for (int i = 0; i < NODES; i++)
                wait_nodes(f, f->h[i]->node, "up");
}

/* "[objectpath '/org/devpass1/devices/...', ...]" for addresses. */
static char *paths_text(const char *const *addresses) {
        g_autoptr(GVariant) v = g_variant_ref_sink(calls_paths_variant(addresses));
        return g_variant_print(v, FALSE);
}

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
        g_autofree char *device = calls_path_of(gpu[0]);
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
        g_autofree char *gpus = paths_text(gpu);

        for (int i = 1; i < NODES; i++)
                harness_clear_signals(f->h[i]);
        f->group = group_make(f->h[0], "gpus");
        g_autofree char *rule = rule_create(f->h[0], f->group, "", "0000:17:00.*");
        for (int i = 0; i < NODES; i++) {
                wait_prop(f->h[i], f->group, GROUP, "Devices", gpus);
                wait_prop(f->h[i], rule, RULE, "Devices", gpus);
                g_autofree char *device = calls_path_of(gpu[1]);
                wait_prop(f->h[i], device, DEVICE, "Group", f->group);
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
        g_autofree char *gpus = paths_text(gpu);
        g_autofree char *none = paths_text((const char *const[]) { NULL });

        f->group = group_make(f->h[0], "node2 gpus");
        g_autofree char *rule = rule_create(f->h[0], f->group, "node2", "0000:17:00.*");
        wait_prop(f->h[1], f->group, GROUP, "Devices", gpus);
        /* Nodes 1 and 3 have the rule, and no device of theirs in the group. */
        for (int i = 0; i < NODES; i += 2) {
                wait_prop(f->h[i], rule, RULE, "Node", "node2");
                g_autofree char *devices = prop_text(f->h[i], f->group, GROUP, "Devices");
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
                calls_send_call(c[i], "/org/devpass1", MANAGER, "CreateGroup", group_settings(name), &p[i]);
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

/* The GPU passed through on node i into the group (made by the first). */
static void passthrough(Fixture *f, int i) {
        Harness *h = f->h[i];
        GVariant *options = f->group ? calls_dict("Group", g_variant_new_object_path(f->group), NULL)
                                     : calls_dict("Name", g_variant_new_string("gpus"), NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = manager(h, "MakePassthrough",
                                        g_variant_new("(@ao@a{sv})", calls_paths_variant(gpu), options), &error);

        if (!r)
                fail_msg("MakePassthrough on %s: %s", h->node, error->message);
        if (!f->group)
                g_variant_get(r, "(ob)", &f->group, NULL);
        for (size_t d = 0; gpu[d]; d++)
                calls_wait_driver(h, gpu[d], "vfio-pci");
}

/* Nodes 1 to n pass the GPU through into "gpus", and vm1 has an
 * attachment of one unit of it that every node shows. */
static char *claims_setup(Fixture *f, int n) {
        g_free(group_make(f->h[0], "first"));
        for (int i = 0; i < n; i++)
                passthrough(f, i);
        g_autofree char *a = calls_attach(f->h[0], "vm1", f->group, 1);
        for (int i = 0; i < NODES; i++)
                wait_prop(f->h[i], a, "org.devpass1.Attachment", "Machine", "vm1");
        return g_steal_pointer(&a);
}

/* The 200 with DEVPASS_CLUSTER_CLAIM_ROUNDS=200: a round takes
 * about 0.7 s (the refused claim waits until its node's watch has what
 * refused it, then is checked again and refused Busy). */
static unsigned claim_rounds(void) {
        const char *env = getenv("DEVPASS_CLUSTER_CLAIM_ROUNDS");
        return env ? (unsigned) atoi(env) : CLAIM_ROUNDS_DEFAULT;
}

static void test_claim_race(void **state) {
        Fixture *f = *state;
        unsigned rounds = claim_rounds(), wins[2] = { 0 };
        g_autofree char *a = claims_setup(f, 2);

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
        wait_prop(h, pf, DEVICE, "SriovNumVfs", count);
        for (guint v = 0; v < VFS; v++) {
                char *address = vf(v);
                g_autofree char *path = calls_path_of(address);
                g_ptr_array_add(addresses, address);
                wait_prop(h, path, DEVICE, "Address", address);
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
        return claim_args_of(machine);
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
                g_autofree char *mine = prop_text(f->h[m % NODES], a, "org.devpass1.Attachment", "Macs");
                if (!g_hash_table_add(macs, g_strdup(mine)))
                        fail_msg("vm%02u's attachment %s has the MAC %s of another", m, a, mine);
                for (int i = 0; i < NODES; i++)
                        wait_prop(f->h[i], a, "org.devpass1.Attachment", "Macs", mine);
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

        /* A tenant node that is not a member: refused, naming it. */
        calls_refused(f->h[1], "PassToTenant for node9", "/org/devpass1", MANAGER, "PassToTenant",
                      g_variant_new("(ss@a{sv})", "acme", "node9",
                                    calls_dict("Group", g_variant_new_object_path(f->group), NULL)),
                      "org.devpass1.Error.InvalidArgument", "Tenant node node9 is not a member of the cluster: "
                      "'devpassctl nodes' lists them");
        /* Node 2 has a VF left (node 1 claimed all of its own). */
        g_autofree char *acme = calls_ok_path(f->h[1], "/org/devpass1", MANAGER, "PassToTenant",
                                              g_variant_new("(ss@a{sv})", "acme", "node2",
                                                            calls_dict("Group", g_variant_new_object_path(f->group),
                                                                       "Mac", g_variant_new_string(TENANT_MAC),
                                                                       NULL)));
        wait_prop(f->h[2], acme, GROUP, "Tenant", "acme");
        /* The tenant's group holds the VF passed on node 2, there for the
         * tenant's machines to attach (shared/reference, "Passthrough a
         * PCI Device to a Tenant"): one unit of node 2, free, on every
         * node (node 2's figures reach the others at most a second later). */
        g_autofree char *held = prop_text(f->h[1], acme, GROUP, "Nodes");
        assert_string_equal(held, "{'node2': (1, 1)}");
        for (int i = 0; i < NODES; i += 2)
                if (!harness_wait(f->h[i], prop_has, &(PropWait) { acme, GROUP, "Nodes", "'node2': (1, 1)" }, WAIT_MS))
                        fail_msg("node%d: tenant acme's group does not show node2's unit", i + 1);
        /* Node 2's units after the pass reach node 3 at most a second
         * later: first, so that the refusal is all node 3 could show. */
        g_autofree char *units = node_units(f->h[1], f->group, "node2");
        if (!harness_wait(f->h[2], prop_has, &(PropWait) { f->group, GROUP, "Nodes", units }, WAIT_MS))
                fail_msg("node3: node2's units %s did not arrive", units);
        calls_refused(f->h[2], "CreateAttachment with a tenant's MAC", "/org/devpass1", MANAGER, "CreateAttachment",
                      g_variant_new("(s@a{sv})", "mac thief",
                                    calls_dict("Group", g_variant_new_object_path(f->group), "Mac",
                                               g_variant_new_string(TENANT_MAC), NULL)),
                      "org.devpass1.Error.Busy", "MAC " TENANT_MAC " is taken by a device of tenant acme");
}

/* A key as etcd has it now; NULL when it is not there. */
static EtcdKv *key_get(Fixture *f, const char *key) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;

        etcd_kv_range_async(f->client, key, NULL, 0, 1, NULL, etcd_cluster_got, &res);
        g_autoptr(EtcdRangeResult) r = etcd_kv_range_finish(f->client, etcd_cluster_await(&res, WAIT_MS), &error);
        g_assert_no_error(error);
        return r->kvs->len ? g_ptr_array_steal_index(r->kvs, 0) : NULL;
}

/* The lease of a key in etcd; 0 when the key is not there. */
static gint64 key_lease(Fixture *f, const char *key) {
        g_autoptr(EtcdKv) kv = key_get(f, key);
        return kv ? kv->lease : 0;
}

/* ---- 4. etcd loses one member, then its quorum ---- */

static void test_quorum(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        g_free(group_make(f->h[0], "before"));
        etcd_cluster_kill(f->etcd, 0);
        /* One member down: still a quorum, once the two left have a
         * leader (a change sent while they elect one, after the leader
         * was killed, is dropped by etcd and refused ClusterUnavailable
         * after the client's deadline). */
        assert_true(etcd_cluster_wait_healthy(f->etcd, 1, WAIT_MS));
        assert_true(etcd_cluster_wait_healthy(f->etcd, 2, WAIT_MS));
        g_autofree char *one = calls_ok_path(f->h[1], "/org/devpass1", MANAGER, "CreateGroup",
                                             group_settings("one down"));
        for (int i = 0; i < NODES; i++)
                wait_prop(f->h[i], one, GROUP, "Name", "one down");

        /* Two down: changes refused, reads answered, nothing half-written. */
        etcd_cluster_kill(f->etcd, 1);
        g_auto(GStrv) snapshots = g_new0(char *, NODES + 1);
        for (int i = 0; i < NODES; i++)
                snapshots[i] = calls_snapshot_settings(f->h[i]);
        for (int i = 0; i < NODES; i++) {
                g_autofree char *name = g_strdup_printf("no quorum %d", i);
                g_autoptr(GVariant) r = manager(f->h[i], "CreateGroup", group_settings(name), &error);
                assert_null(r);
                calls_assert_remote_error(error, UNAVAILABLE, NULL);
                g_clear_error(&error);
                g_autofree char *still = prop_text(f->h[i], one, GROUP, "Name");
                assert_string_equal(still, "one down");
        }
        /* Each node says so, and still answers from what it knew. */
        wait_cluster_state(f, "stale");
        for (int i = 0; i < NODES; i++) {
                g_autofree char *now = calls_snapshot_settings(f->h[i]);
                calls_assert_unchanged(snapshots[i], now, f->h[i]->node);
        }

        /* Back: changes taken again, without a restart of devpassd. */
        etcd_cluster_start(f->etcd, 0);
        etcd_cluster_start(f->etcd, 1);
        assert_true(etcd_cluster_wait_healthy(f->etcd, 0, WAIT_MS));
        wait_all_up(f);
        g_autoptr(EtcdKv) made = key_get(f, "/devpass/v1/shared/group-names/one down");
        assert_non_null(made);
        /* A change refused for want of a quorum may still land when etcd
         * has one again (a leader left alone keeps what it was sent): then
         * whole, on every node. */
        for (int i = 0; i < NODES; i++) {
                g_autofree char *key = g_strdup_printf("/devpass/v1/shared/group-names/no quorum %d", i);
                g_autofree char *name = g_strdup_printf("no quorum %d", i);
                g_autoptr(EtcdKv) kv = key_get(f, key);
                if (!kv)
                        continue;
                printf("# %s, refused without a quorum, was made once etcd had one\n", name);
                g_autofree char *path = g_strdup_printf("/org/devpass1/groups/%s", kv->value);
                for (int j = 0; j < NODES; j++)
                        wait_prop(f->h[j], path, GROUP, "Name", name);
        }
        for (int i = 0; i < NODES; i++) {
                g_autofree char *name = g_strdup_printf("back %d", i);
                g_autofree char *path = group_make(f->h[i], name);
                for (int j = 0; j < NODES; j++)
                        wait_prop(f->h[j], path, GROUP, "Name", name);
        }
}

/* ---- 5. a node's devpassd killed: its claims go with its lease ---- */

static void test_node_lost(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        g_autofree char *a = claims_setup(f, 3);

        g_autoptr(GVariant) r = calls_ok(f->h[1], "/org/devpass1", MANAGER, "Claim", claim_args_of("vm1"));
        calls_assert_device_state(f->h[1], gpu[0], "claimed vm1");
        g_autoptr(GVariant) busy = claim(f->h[2], "vm1", &error);
        assert_null(busy);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "node2", NULL);

        /* Its lease expires (LeaseSeconds=2): down on the others' buses,
         * and with it vm1's claim, in the same revision. */
        harness_daemon_kill(f->h[1]);
        wait_nodes(f, "node2", "down");
        g_autoptr(GVariant) moved = calls_ok(f->h[2], "/org/devpass1", MANAGER, "Claim", claim_args_of("vm1"));
        calls_assert_device_state(f->h[2], gpu[0], "claimed vm1");
        g_clear_error(&error);
        g_autoptr(GVariant) busy1 = claim(f->h[0], "vm1", &error);
        assert_null(busy1);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "node3", NULL);

        /* Node 2 back: its claim is gone there too. */
        harness_daemon_start(f->h[1], NULL);
        wait_all_up(f);
        g_autofree char *device = calls_path_of(gpu[0]);
        wait_prop(f->h[1], device, DEVICE, "State", "passthrough");
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
        g_autofree char *a = claims_setup(f, 2);
        g_autofree char *rule = rule_create(f->h[0], f->group, "node3", "0000:b1:00.*");
        g_autofree char *b1 = paths_text((const char *const[]) { "0000:b1:00.0", "0000:b1:00.1", NULL });
        g_auto(GStrv) snapshots = g_new0(char *, NODES + 1);
        LeaseWait old = { f, 0 };

        if (running) {
                g_autoptr(GVariant) r = calls_ok(f->h[1], "/org/devpass1", MANAGER, "Claim", claim_args_of("vm1"));
                calls_assert_device_state(f->h[1], gpu[0], "claimed vm1");
                old.lease = key_lease(f, MACHINE_KEY);
                assert_true(old.lease != 0);
        }
        wait_prop(f->h[2], rule, RULE, "Devices", b1);
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
                g_autofree char *after = group_make(f->h[0], "after");
                wait_prop(f->h[1], after, GROUP, "Name", "after");
                g_autoptr(GVariant) gone = calls_ok(f->h[0], after, GROUP, "Delete",
                                                    g_variant_new("(@a{sv})", calls_dict(NULL)));
                PropWait w = { after, GROUP, "Name", NULL };
                if (!harness_wait(f->h[1], prop_shows, &w, WAIT_MS))
                        fail_msg("node2 still shows %s, deleted on node1", after);
                bool kept = key_lease(f, MACHINE_KEY) != 0;
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) taken = claim(f->h[0], "vm1", &error);
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

/* ---- 7. TLS with client certificates ---- */

static void test_tls(void **state) {
        Fixture *f = *state;
        g_autofree char *gpus = paths_text(gpu);

        f->group = group_make(f->h[2], "tls gpus");
        g_autofree char *rule = rule_create(f->h[2], f->group, "", "0000:17:00.*");
        for (int i = 0; i < NODES; i++)
                wait_prop(f->h[i], f->group, GROUP, "Devices", gpus);
        g_autofree char *other = group_make(f->h[0], "from node1");
        wait_prop(f->h[2], other, GROUP, "Name", "from node1");
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rule_all_nodes, setup_no_kernel, teardown),
                cmocka_unit_test_setup_teardown(test_rule_one_node, setup_no_kernel, teardown),
                cmocka_unit_test_setup_teardown(test_in_line, setup_no_kernel, teardown),
                cmocka_unit_test_setup_teardown(test_claim_race, setup, teardown),
                cmocka_unit_test_setup_teardown(test_macs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_quorum, setup_no_kernel, teardown),
                cmocka_unit_test_setup_teardown(test_node_lost, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_claimed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tls, setup_tls, teardown),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
