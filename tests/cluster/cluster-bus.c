/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Three devpassd through D-Bus on one 3-member etcd (cluster-bus.h): the
 * nodes started and stopped, and the calls and waits their tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster-bus.h"

const char *const cbus_gpu[] = { "0000:17:00.0", "0000:17:00.1", NULL };

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

static Fixture *fixture_new(bool tls, bool kernel) {
        Fixture *f = g_new0(Fixture, 1);

        f->etcd = etcd_cluster_new(3, tls);
        f->client = etcd_client_new(etcd_cluster_endpoints(f->etcd), etcd_cluster_tls(f->etcd), NULL, NULL);
        g_assert_nonnull(f->client);
        for (int i = 0; i < NODES; i++)
                node_start(f, i, kernel);
        cbus_wait_all_up(f);
        return f;
}

int cbus_setup(void **state) {
        *state = fixture_new(false, true);
        return 0;
}

/* etcd's members are started again in this one: no fake kernel's thread
 * may hold umockdev's lock while GLib forks them. */
int cbus_setup_no_kernel(void **state) {
        *state = fixture_new(false, false);
        return 0;
}

int cbus_setup_tls(void **state) {
        *state = fixture_new(true, false);
        return 0;
}

int cbus_teardown(void **state) {
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

GVariant *cbus_manager(Harness *h, const char *method, GVariant *args, GError **error) {
        return harness_call(h, "/org/devpass1", MANAGER, method, args, error);
}

GVariant *cbus_claim_args_of(const char *machine) {
        return g_variant_new("(s@a{sv})", machine, calls_dict(NULL));
}

GVariant *cbus_claim(Harness *h, const char *machine, GError **error) {
        return cbus_manager(h, "Claim", cbus_claim_args_of(machine), error);
}

GVariant *cbus_group_settings(const char *name) {
        return g_variant_new("(@a{sv})", calls_dict("Name", g_variant_new_string(name), NULL));
}

char *cbus_group_make(Harness *h, const char *name) {
        return calls_ok_path(h, "/org/devpass1", MANAGER, "CreateGroup", cbus_group_settings(name));
}

char *cbus_rule_create(Harness *h, const char *group, const char *node, const char *address_glob) {
        GVariant *conditions = g_variant_new_parsed("[('address', 'eq', %s)]", address_glob);

        return calls_ok_path(h, "/org/devpass1", MANAGER, "CreateRule",
                             g_variant_new("(o@a{sv})", group,
                                           calls_dict("Conditions", conditions, "Node", g_variant_new_string(node),
                                                NULL)));
}

/* A property as g_variant_print() shows it; NULL when the object or
 * the property is not there (yet). */
char *cbus_prop_text(Harness *h, const char *path, const char *iface, const char *name) {
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

bool cbus_prop_shows(Harness *h, void *data) {
        PropWait *w = data;
        g_autofree char *got = cbus_prop_text(h, w->path, w->iface, w->name);
        return g_strcmp0(got, w->want) == 0;
}

bool cbus_prop_has(Harness *h, void *data) {
        PropWait *w = data;
        g_autofree char *got = cbus_prop_text(h, w->path, w->iface, w->name);
        return got && strstr(got, w->want);
}

/* "'node': (total, free)" as h shows it in group's Nodes. */
char *cbus_node_units(Harness *h, const char *group, const char *node) {
        g_autoptr(GVariant) v = calls_prop(h, group, GROUP, "Nodes");
        guint32 total, free;

        if (!g_variant_lookup(v, node, "(uu)", &total, &free))
                fail_msg("%s: group %s has no units of %s", h->node, group, node);
        return g_strdup_printf("'%s': (%u, %u)", node, total, free);
}

void cbus_wait_prop(Harness *h, const char *path, const char *iface, const char *name, const char *want) {
        PropWait w = { path, iface, name, want };

        if (!harness_wait(h, cbus_prop_shows, &w, WAIT_MS)) {
                g_autofree char *got = cbus_prop_text(h, path, iface, name);
                fail_msg("%s: %s %s is %s, want %s", h->node, path, name, got ?: "(none)", want);
        }
}

/* Every node shows each node in state ("up", "down"), and its own
 * ClusterState: "up" once it has read etcd and takes changes. */
void cbus_wait_nodes(Fixture *f, const char *node, const char *state) {
        g_autofree char *path = g_strdup_printf("/org/devpass1/nodes/%s", node);

        for (int i = 0; i < NODES; i++)
                if (f->h[i]->daemon_pid > 0 && !g_str_equal(f->h[i]->node, node))
                        cbus_wait_prop(f->h[i], path, NODE, "State", state);
}

void cbus_wait_cluster_state(Fixture *f, const char *state) {
        for (int i = 0; i < NODES; i++)
                if (f->h[i]->daemon_pid > 0)
                        cbus_wait_prop(f->h[i], "/org/devpass1", MANAGER, "ClusterState", state);
}

void cbus_wait_all_up(Fixture *f) {
        cbus_wait_cluster_state(f, "up");
        for (int i = 0; i < NODES; i++)
                cbus_wait_nodes(f, f->h[i]->node, "up");
}

/* "[objectpath '/org/devpass1/devices/...', ...]" for addresses. */
char *cbus_paths_text(const char *const *addresses) {
        g_autoptr(GVariant) v = g_variant_ref_sink(calls_paths_variant(addresses));
        return g_variant_print(v, FALSE);
}

/* The GPU passed through on node i into the group (made by the first). */
void cbus_passthrough(Fixture *f, int i) {
        Harness *h = f->h[i];
        GVariant *options = f->group ? calls_dict("Group", g_variant_new_object_path(f->group), NULL)
                                     : calls_dict("Name", g_variant_new_string("gpus"), NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = cbus_manager(h, "MakePassthrough",
                                        g_variant_new("(@ao@a{sv})", calls_paths_variant(cbus_gpu), options), &error);

        if (!r)
                fail_msg("MakePassthrough on %s: %s", h->node, error->message);
        if (!f->group)
                g_variant_get(r, "(ob)", &f->group, NULL);
        for (size_t d = 0; cbus_gpu[d]; d++)
                calls_wait_driver(h, cbus_gpu[d], "vfio-pci");
}

/* Nodes 1 to n pass the GPU through into "gpus", and vm1 has an
 * attachment of one unit of it that every node shows. */
char *cbus_claims_setup(Fixture *f, int n) {
        g_free(cbus_group_make(f->h[0], "first"));
        for (int i = 0; i < n; i++)
                cbus_passthrough(f, i);
        g_autofree char *a = calls_attach(f->h[0], "vm1", f->group, 1);
        for (int i = 0; i < NODES; i++)
                cbus_wait_prop(f->h[i], a, "org.devpass1.Attachment", "Machine", "vm1");
        return g_steal_pointer(&a);
}

/* A key as etcd has it now; NULL when it is not there. */
EtcdKv *cbus_key_get(Fixture *f, const char *key) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;

        etcd_kv_range_async(f->client, key, NULL, 0, 1, NULL, etcd_cluster_got, &res);
        g_autoptr(EtcdRangeResult) r = etcd_kv_range_finish(f->client, etcd_cluster_await(&res, WAIT_MS), &error);
        g_assert_no_error(error);
        return r->kvs->len ? g_ptr_array_steal_index(r->kvs, 0) : NULL;
}

/* The lease of a key in etcd; 0 when the key is not there. */
gint64 cbus_key_lease(Fixture *f, const char *key) {
        g_autoptr(EtcdKv) kv = cbus_key_get(f, key);
        return kv ? kv->lease : 0;
}
