/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Machines and their devices on the GPU server: attachments, Claim and
 * Release (the reference's VM flow), all or nothing, NUMA, MACs, hotplug
 * of a claimed VF, and a claim across a restart. Real polkitd (root may do
 * everything), a fake kernel with vfio-pci loaded. The concurrent and the
 * crash cases are in test-claims-stress.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakekernel.h"
#include "harness.h"

#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define GROUP "org.devpass1.Group"
#define ATTACHMENT "org.devpass1.Attachment"
#define PF1 "0000:3b:00.1"

typedef struct {
        Harness *h;
        FakeKernel *fk;
        GDBusConnection *c;        /* one connection for every call */
        char *gpus;                /* "PCI GPUs": 0000:17:00.0+.1, 0000:b1:00.0+.1 */
        char *vfs;                 /* "VFs": the VFs of PF1 */
} Fixture;

static const char *const gpu_functions[] = { "0000:17:00.0", "0000:17:00.1", "0000:b1:00.0", "0000:b1:00.1", NULL };

/* ---- calls and properties ---- */

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autoptr(GError) error = NULL;

        f->h = harness_new("gpu-server.umockdev", NULL);
        harness_polkit_start(f->h, NULL);
        f->fk = fakekernel_new(f->h->testbed);
        fakekernel_load_vfio(f->fk, true);
        f->c = g_dbus_connection_new_for_address_sync(f->h->bus_address,
                                                      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                      NULL, NULL, &error);
        g_assert_no_error(error);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        g_dbus_connection_close_sync(f->c, NULL, NULL);
        g_object_unref(f->c);
        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f->gpus);
        g_free(f->vfs);
        g_free(f);
        return 0;
}

static GVariant *call(Fixture *f, const char *path, const char *interface, const char *method, GVariant *args,
                      GError **error) {
        return g_dbus_connection_call_sync(f->c, "org.devpass1", path, interface, method, args, NULL,
                                           G_DBUS_CALL_FLAGS_NO_AUTO_START, 30000, NULL, error);
}

static GVariant *manager(Fixture *f, const char *method, GVariant *args, GError **error) {
        return call(f, "/org/devpass1", MANAGER, method, args, error);
}

/* A call that must succeed. */
static GVariant *call_ok(Fixture *f, const char *path, const char *interface, const char *method, GVariant *args) {
        g_autoptr(GError) error = NULL;
        GVariant *r = call(f, path, interface, method, args, &error);
        if (!r)
                fail_msg("%s.%s on %s: %s", interface, method, path, error->message);
        return r;
}

static GVariant *prop(Fixture *f, const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) r = call_ok(f, path, "org.freedesktop.DBus.Properties", "Get",
                                        g_variant_new("(ss)", interface, name));
        GVariant *v;
        g_variant_get(r, "(v)", &v);
        return v;
}

static char *prop_str(Fixture *f, const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) v = prop(f, path, interface, name);
        return g_variant_dup_string(v, NULL);
}

static guint32 prop_u32(Fixture *f, const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) v = prop(f, path, interface, name);
        return g_variant_get_uint32(v);
}

/* An array property as "a b c" (objects shortened to their last part). */
static char *prop_list(Fixture *f, const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) v = prop(f, path, interface, name);
        g_autoptr(GString) s = g_string_new(NULL);
        for (gsize i = 0; i < g_variant_n_children(v); i++) {
                g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
                const char *text = g_variant_get_string(child, NULL);
                g_string_append_printf(s, "%s%s", i ? " " : "", strrchr(text, '/') ? strrchr(text, '/') + 1 : text);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static char *dev_path(const char *address) {
        g_autofree char *p = g_strdup_printf("/org/devpass1/devices/%s", address);
        g_strdelimit(p + strlen("/org/devpass1/devices/"), ":.", '_');
        return g_steal_pointer(&p);
}

static char *dev_str(Fixture *f, const char *address, const char *name) {
        g_autofree char *path = dev_path(address);
        return prop_str(f, path, DEVICE, name);
}

/* "claimed vm1", "passthrough " ...: a device's State and Holder at once. */
static char *dev_state(Fixture *f, const char *address) {
        g_autofree char *state = dev_str(f, address, "State");
        g_autofree char *holder = dev_str(f, address, "Holder");
        return g_strdup_printf("%s %s", state, holder);
}

static void assert_state(Fixture *f, const char *address, const char *want) {
        g_autofree char *got = dev_state(f, address);
        if (!g_str_equal(got, want))
                fail_msg("%s: '%s', want '%s'", address, got, want);
}

static void assert_remote_error(const GError *error, const char *name, const char *const *in_message) {
        if (!error)
                fail_msg("the call succeeded, want %s", name);
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        if (!remote || !g_str_equal(remote, name))
                fail_msg("got %s (%s), want %s", remote ?: "no remote error", error->message, name);
        for (size_t i = 0; in_message && in_message[i]; i++)
                if (!strstr(error->message, in_message[i]))
                        fail_msg("message '%s' does not mention '%s'", error->message, in_message[i]);
}

/* a{sv} from "Key", GVariant*, ..., NULL (floating values are taken). */
static GVariant *dict(const char *key, ...) {
        GVariantBuilder b;
        va_list ap;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        va_start(ap, key);
        for (; key; key = va_arg(ap, const char *))
                g_variant_builder_add(&b, "{sv}", key, va_arg(ap, GVariant *));
        va_end(ap);
        return g_variant_builder_end(&b);
}

/* CreateAttachment(machine, settings): the new attachment's path. */
static char *attach(Fixture *f, const char *machine, GVariant *settings) {
        g_autoptr(GVariant) r = call_ok(f, "/org/devpass1", MANAGER, "CreateAttachment",
                                        g_variant_new("(s@a{sv})", machine, settings));
        char *path;
        g_variant_get(r, "(o)", &path);
        return path;
}

static GVariant *claim(Fixture *f, const char *machine, GVariant *options, GError **error) {
        return manager(f, "Claim", g_variant_new("(s@a{sv})", machine, options ?: dict(NULL)), error);
}

static GVariant *claim_ok(Fixture *f, const char *machine, GVariant *options) {
        g_autoptr(GError) error = NULL;
        GVariant *r = claim(f, machine, options, &error);
        if (!r)
                fail_msg("Claim %s: %s", machine, error->message);
        return r;
}

static void release(Fixture *f, const char *machine) {
        g_autoptr(GVariant) r = call_ok(f, "/org/devpass1", MANAGER, "Release", g_variant_new("(s)", machine));
}

/* The addresses of a Claim reply, "a b c", in reply order. */
static char *claimed(GVariant *reply) {
        g_autoptr(GVariantIter) entries = NULL;
        g_autoptr(GString) s = g_string_new(NULL);
        GVariantIter *devices;
        const char *address;

        g_variant_get(reply, "(a(osa(siss)))", &entries);
        while (g_variant_iter_next(entries, "(&o&sa(siss))", NULL, NULL, &devices)) {
                while (g_variant_iter_next(devices, "(&sis&s)", &address, NULL, NULL, NULL))
                        g_string_append_printf(s, "%s%s", s->len ? " " : "", address);
                g_variant_iter_free(devices);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

typedef struct {
        Fixture *f;
        const char *path;
        const char *interface;
        const char *name;
        const char *want;
} PropWait;

static bool prop_is(Harness *h, void *data) {
        PropWait *w = data;
        g_autoptr(GVariant) v = prop(w->f, w->path, w->interface, w->name);
        g_autofree char *text = g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32) ?
                                g_strdup_printf("%u", g_variant_get_uint32(v)) : g_variant_dup_string(v, NULL);
        return g_str_equal(text, w->want);
}

static void wait_prop(Fixture *f, const char *path, const char *interface, const char *name, const char *want) {
        PropWait w = { f, path, interface, name, want };
        if (!harness_wait(f->h, prop_is, &w, 10000)) {
                g_autoptr(GVariant) v = prop(f, path, interface, name);
                g_autofree char *now = g_variant_print(v, FALSE);
                fail_msg("%s %s: %s, want %s", path, name, now, want);
        }
}

static bool has_signal(Harness *h, const char *path, const char *property) {
        for (guint i = 0; i < h->signals->len; i++) {
                HarnessSignal *s = h->signals->pdata[i];
                if (g_str_equal(s->kind, "~") && g_str_equal(s->path, path) &&
                    g_ptr_array_find_with_equal_func(s->properties, property, g_str_equal, NULL))
                        return true;
        }
        return false;
}

typedef struct {
        const char *path;
        const char *property;
} SignalWait;

static bool signal_seen(Harness *h, void *data) {
        SignalWait *w = data;
        return has_signal(h, w->path, w->property);
}

static void assert_signal(Fixture *f, const char *path, const char *property) {
        SignalWait w = { path, property };
        if (!harness_wait(f->h, signal_seen, &w, 5000))
                fail_msg("no PropertiesChanged of %s on %s", property, path);
}

/* ---- set-up: groups with free devices ---- */

static GVariant *paths_of(const char *const *addresses) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("ao"));
        for (size_t i = 0; addresses[i]; i++) {
                g_autofree char *p = dev_path(addresses[i]);
                g_variant_builder_add(&b, "o", p);
        }
        return g_variant_builder_end(&b);
}

/* MakePassthrough into a new group; waits until all are free (on vfio-pci). */
static char *passthrough(Fixture *f, GVariant *devices, const char *name, const char *type, const char *class_name,
                         guint count) {
        g_autoptr(GVariant) r = call_ok(f, "/org/devpass1", MANAGER, "MakePassthrough",
                                        g_variant_new("(@ao@a{sv})", devices,
                                                      dict("Name", g_variant_new_string(name),
                                                           "Type", g_variant_new_string(type),
                                                           "Class", g_variant_new_string(class_name), NULL)));
        char *group;
        gboolean reboot;
        g_variant_get(r, "(ob)", &group, &reboot);
        assert_false(reboot);
        g_autofree char *want = g_strdup_printf("%u", count);
        wait_prop(f, group, GROUP, "Free", want);
        return group;
}

static void setup_gpus(Fixture *f) {
        f->gpus = passthrough(f, paths_of(gpu_functions), "PCI GPUs", "pci", "gpu", 4);
}

/* The address of PF1's VF i: routing ID devfn 1 + offset 79 + i. */
static char *vf(guint i) {
        guint rid = 1 + 79 + i;
        return g_strdup_printf("0000:3b:%02x.%x", rid >> 3, rid & 7);
}

/* n VFs on PF1 (0000:3b:0a.0 on), passed through into "VFs". */
static void setup_vfs(Fixture *f, guint n) {
        g_autofree char *pf = dev_path(PF1);
        g_autofree char *want = g_strdup_printf("%u", n);

        g_autoptr(GVariant) r = call_ok(f, pf, DEVICE, "SetVirtualFunctions", g_variant_new("(u)", n));
        wait_prop(f, pf, DEVICE, "SriovNumVfs", want);
        /* Every VF an object of its own before it is passed through. */
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("ao"));
        for (guint i = 0; i < n; i++) {
                g_autofree char *address = vf(i);
                g_autoptr(GVariant) found = NULL;
                for (int tries = 0; !found && tries < 500; tries++) {
                        if (!(found = manager(f, "GetDevice", g_variant_new("(s)", address), NULL)))
                                g_usleep(10000);
                }
                if (!found)
                        fail_msg("VF %s did not appear", address);
                g_variant_builder_add_value(&b, g_variant_get_child_value(found, 0));
        }
        f->vfs = passthrough(f, g_variant_builder_end(&b), "VFs", "sriov-nic", "nic", n);
}

/* ---- the reference's VM flow ---- */

static void test_flow(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        setup_gpus(f);
        g_autofree char *a = attach(f, "vm1", dict("Group", g_variant_new_object_path(f->gpus),
                                                   "Count", g_variant_new_uint32(2), NULL));
        g_autofree char *name = prop_str(f, a, ATTACHMENT, "Name");
        assert_string_equal(name, "PCI GPUs 1");
        g_autofree char *st0 = prop_str(f, a, ATTACHMENT, "State");
        assert_string_equal(st0, "restart-required");
        g_autofree char *none = prop_list(f, a, ATTACHMENT, "Devices");
        assert_string_equal(none, "");

        /* Claim: two devices of one IOMMU group, with their VFIO node. */
        harness_clear_signals(f->h);
        g_autoptr(GVariant) r = claim_ok(f, "vm1", NULL);
        g_autofree char *reply = g_variant_print(r, FALSE);
        g_autofree char *want = g_strdup_printf("([('%s', 'PCI GPUs 1', [('0000:17:00.0', 8, "
                                                "'/dev/vfio/8', ''), ('0000:17:00.1', 8, '/dev/vfio/8', '')])],)", a);
        assert_string_equal(reply, want);
        assert_state(f, "0000:17:00.0", "claimed vm1");
        assert_state(f, "0000:17:00.1", "claimed vm1");
        assert_state(f, "0000:b1:00.0", "passthrough ");
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 2);
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Total"), 4);
        g_autofree char *st1 = prop_str(f, a, ATTACHMENT, "State");
        assert_string_equal(st1, "attached");
        g_autofree char *held = prop_list(f, a, ATTACHMENT, "Devices");
        assert_string_equal(held, "0000_17_00_0 0000_17_00_1");
        g_autofree char *gpu0 = dev_path("0000:17:00.0");
        assert_signal(f, gpu0, "State");
        assert_signal(f, gpu0, "Holder");
        assert_signal(f, f->gpus, "Free");
        assert_signal(f, a, "State");
        assert_signal(f, a, "Devices");

        /* Again: the same devices, nothing more taken. */
        g_autoptr(GVariant) again = claim_ok(f, "vm1", NULL);
        g_autofree char *reply2 = g_variant_print(again, FALSE);
        assert_string_equal(reply2, reply);
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 2);

        /* Release: free again; releasing nothing is fine too. */
        harness_clear_signals(f->h);
        release(f, "vm1");
        for (size_t i = 0; gpu_functions[i]; i++)
                assert_state(f, gpu_functions[i], "passthrough ");
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 4);
        g_autofree char *emptied = prop_list(f, a, ATTACHMENT, "Devices");
        assert_string_equal(emptied, "");
        assert_signal(f, gpu0, "State");
        assert_signal(f, f->gpus, "Free");
        assert_signal(f, a, "Devices");
        release(f, "vm1");
        g_autoptr(GVariant) third = claim_ok(f, "vm1", NULL);
        g_autofree char *reply3 = g_variant_print(third, FALSE);
        assert_string_equal(reply3, reply);

        /* A change while it runs waits for a restart; until then Busy. */
        g_autoptr(GVariant) u = call_ok(f, a, ATTACHMENT, "Update", g_variant_new("(@a{sv})",
                                        dict("Count", g_variant_new_uint32(1), NULL)));
        g_autofree char *st2 = prop_str(f, a, ATTACHMENT, "State");
        assert_string_equal(st2, "restart-required");
        assert_state(f, "0000:17:00.1", "claimed vm1");
        g_autoptr(GVariant) busy = claim(f, "vm1", NULL, &error);
        assert_null(busy);
        assert_remote_error(error, "org.devpass1.Error.Busy", (const char *[]) { "PCI GPUs 1", "release", NULL });
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 2);
        release(f, "vm1");
        g_autoptr(GVariant) one = claim_ok(f, "vm1", NULL);
        g_autofree char *got = claimed(one);
        assert_string_equal(got, "0000:17:00.0");
        g_autofree char *st3 = prop_str(f, a, ATTACHMENT, "State");
        assert_string_equal(st3, "attached");
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 3);
}

/* ---- all or nothing ---- */

static void test_all_or_nothing(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        setup_gpus(f);
        g_autofree char *a1 = attach(f, "vm2", dict("Group", g_variant_new_object_path(f->gpus), "Name",
                                                    g_variant_new_string("first"), "Count", g_variant_new_uint32(2),
                                                    NULL));
        g_autofree char *a2 = attach(f, "vm2", dict("Group", g_variant_new_object_path(f->gpus), "Name",
                                                    g_variant_new_string("second"), "Count", g_variant_new_uint32(3),
                                                    NULL));

        /* The first would fit; the second then cannot: nothing is taken. */
        g_autoptr(GVariant) r = claim(f, "vm2", NULL, &error);
        assert_null(r);
        assert_remote_error(error, "org.devpass1.Error.Busy",
                            (const char *[]) { "attachment second", "group PCI GPUs", "wants 3 devices",
                                               "2 are free", NULL });
        for (size_t i = 0; gpu_functions[i]; i++)
                assert_state(f, gpu_functions[i], "passthrough ");
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 4);
        for (const char *const *p = (const char *[]) { a1, a2, NULL }; *p; p++) {
                g_autofree char *st = prop_str(f, *p, ATTACHMENT, "State");
                assert_string_equal(st, "restart-required");
                g_autofree char *devices = prop_list(f, *p, ATTACHMENT, "Devices");
                assert_string_equal(devices, "");
        }

        /* Optional: the machine starts with the first only. */
        g_autoptr(GVariant) u = call_ok(f, a2, ATTACHMENT, "Update", g_variant_new("(@a{sv})",
                                        dict("Optional", g_variant_new_boolean(TRUE), NULL)));
        g_autoptr(GVariant) ok = claim_ok(f, "vm2", NULL);
        g_autofree char *got = claimed(ok);
        assert_string_equal(got, "0000:17:00.0 0000:17:00.1");
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 2);
        g_autofree char *st1 = prop_str(f, a1, ATTACHMENT, "State");
        assert_string_equal(st1, "attached");
        g_autofree char *st2 = prop_str(f, a2, ATTACHMENT, "State");
        assert_string_equal(st2, "error");
        g_autofree char *why = prop_str(f, a2, ATTACHMENT, "StateReason");
        assert_non_null(strstr(why, "wants 3 devices"));
        assert_non_null(strstr(why, "2 are free"));
        g_autofree char *devices = prop_list(f, a2, ATTACHMENT, "Devices");
        assert_string_equal(devices, "");
        assert_state(f, "0000:b1:00.0", "passthrough ");

        /* A repeated claim answers as the first did. */
        g_autoptr(GVariant) again = claim_ok(f, "vm2", NULL);
        g_autofree char *first_text = g_variant_print(ok, FALSE);
        g_autofree char *again_text = g_variant_print(again, FALSE);
        assert_string_equal(again_text, first_text);
}

/* ---- NUMA ---- */

static void test_numa(void **state) {
        Fixture *f = *state;
        static const struct {
                const char *machine;
                int numa;           /* -1: no NumaNode */
                const char *want;
        } steps[] = {
                { "n1", 1, "0000:b1:00.0" },
                { "n1b", 1, "0000:b1:00.1" },
                { "n1c", 1, "0000:17:00.0" },  /* node 1 is taken: a preference, not a must */
                { "any", -1, "0000:17:00.1" },
        };

        setup_gpus(f);
        for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
                g_autofree char *a = attach(f, steps[i].machine, dict("Group", g_variant_new_object_path(f->gpus),
                                                                     NULL));
                GVariant *options = steps[i].numa >= 0 ? dict("NumaNode", g_variant_new_int32(steps[i].numa), NULL)
                                                       : NULL;
                g_autoptr(GVariant) r = claim_ok(f, steps[i].machine, options);
                g_autofree char *got = claimed(r);
                assert_string_equal(got, steps[i].want);
        }
        g_autofree char *b1 = dev_path("0000:b1:00.0");
        g_autoptr(GVariant) numa = prop(f, b1, DEVICE, "NumaNode");
        assert_int_equal(g_variant_get_int32(numa), 1);
}

/* ---- MACs ---- */

static bool mac_valid(const char *mac) {
        unsigned b[6];
        int end = 0;

        return strlen(mac) == 17 && !strpbrk(mac, "ABCDEF") &&
               sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) == 6 &&
               end == 17 && (b[0] & 1) == 0 && (b[0] & 2) == 2;
}

static void test_macs(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        GVariantBuilder b;

        setup_vfs(f, 64);
        /* 16 machines x 64 VFs, in one call: 1,024 MACs. */
        g_variant_builder_init(&b, G_VARIANT_TYPE("a(sa{sv})"));
        for (int i = 0; i < 16; i++) {
                g_autofree char *machine = g_strdup_printf("nic%02d", i);
                g_variant_builder_add(&b, "(s@a{sv})", machine, dict("Group", g_variant_new_object_path(f->vfs),
                                                                     "Count", g_variant_new_uint32(64), NULL));
        }
        g_autoptr(GVariant) r = call_ok(f, "/org/devpass1", MANAGER, "CreateAttachments",
                                        g_variant_new("(@a(sa{sv}))", g_variant_builder_end(&b)));
        g_autoptr(GVariant) paths = g_variant_get_child_value(r, 0);
        assert_int_equal(g_variant_n_children(paths), 16);
        g_autofree const char **made = g_variant_get_objv(paths, NULL);
        for (int i = 0; i < 16; i++) {
                g_autofree char *type = prop_str(f, made[i], ATTACHMENT, "Type");
                assert_string_equal(type, "sriov-nic");
                g_autoptr(GVariant) macs = prop(f, made[i], ATTACHMENT, "Macs");
                assert_int_equal(g_variant_n_children(macs), 64);
                for (gsize j = 0; j < 64; j++) {
                        const char *mac;
                        g_variant_get_child(macs, j, "&s", &mac);
                        if (!mac_valid(mac))
                                fail_msg("%s: not a locally administered unicast MAC", mac);
                        if (!g_hash_table_add(seen, g_strdup(mac)))
                                fail_msg("%s given out twice", mac);
                }
        }
        assert_int_equal(g_hash_table_size(seen), 1024);

        /* A MAC given out already: Busy, naming who has it (in any case). */
        g_autoptr(GVariant) taken_macs = prop(f, made[3], ATTACHMENT, "Macs");
        const char *taken;
        g_variant_get_child(taken_macs, 5, "&s", &taken);
        g_autofree char *upper = g_ascii_strup(taken, -1);
        for (const char *const *mac = (const char *[]) { taken, upper, NULL }; *mac; mac++) {
                g_autoptr(GVariant) dup = manager(f, "CreateAttachment", g_variant_new("(s@a{sv})", "dup",
                                                  dict("Group", g_variant_new_object_path(f->vfs), "Mac",
                                                       g_variant_new_string(*mac), NULL)), &error);
                assert_null(dup);
                assert_remote_error(error, "org.devpass1.Error.Busy",
                                    (const char *[]) { taken, "attachment VFs 1 of machine nic03", NULL });
                g_clear_error(&error);
        }

        /* A MAC given for Count 1 is kept, and the claim hands it to the VF. */
        g_autofree char *fixed = attach(f, "fixed", dict("Group", g_variant_new_object_path(f->vfs), "Mac",
                                                         g_variant_new_string("02:00:5E:10:00:01"), NULL));
        g_autofree char *kept = prop_list(f, fixed, ATTACHMENT, "Macs");
        assert_string_equal(kept, "02:00:5e:10:00:01");
        g_autoptr(GVariant) one = claim_ok(f, "fixed", NULL);
        g_autofree char *one_text = g_variant_print(one, FALSE);
        g_autofree char *want = g_strdup_printf("([('%s', 'VFs 1', [('0000:3b:0a.0', 19, "
                                                "'/dev/vfio/19', '02:00:5e:10:00:01')])],)", fixed);
        assert_string_equal(one_text, want);
        release(f, "fixed");

        /* 64 VFs, each with its attachment's MAC, in order. */
        g_autoptr(GVariant) all = claim_ok(f, "nic00", NULL);
        g_autoptr(GVariant) macs = prop(f, made[0], ATTACHMENT, "Macs");
        g_autoptr(GVariant) entries = g_variant_get_child_value(all, 0);
        assert_int_equal(g_variant_n_children(entries), 1);
        g_autoptr(GVariant) entry = g_variant_get_child_value(entries, 0);
        g_autoptr(GVariant) devices = g_variant_get_child_value(entry, 2);
        assert_int_equal(g_variant_n_children(devices), 64);
        g_autoptr(GHashTable) addresses = g_hash_table_new(g_str_hash, g_str_equal);
        for (gsize j = 0; j < 64; j++) {
                const char *address, *mac, *given;
                g_variant_get_child(devices, j, "(&si&s&s)", &address, NULL, NULL, &mac);
                g_variant_get_child(macs, j, "&s", &given);
                assert_string_equal(mac, given);
                assert_true(g_hash_table_add(addresses, (gpointer) address));
        }
        /* The attachment pairs each device with the MAC the claim gave it,
         * whatever order its Devices are in. */
        g_autoptr(GVariant) held = prop(f, made[0], ATTACHMENT, "Devices");
        g_autoptr(GVariant) held_macs = prop(f, made[0], ATTACHMENT, "DeviceMacs");
        assert_int_equal(g_variant_n_children(held), 64);
        assert_int_equal(g_variant_n_children(held_macs), 64);
        for (gsize j = 0; j < 64; j++) {
                const char *path, *mac, *address, *claimed_mac;
                g_variant_get_child(held, j, "&o", &path);
                g_variant_get_child(held_macs, j, "&s", &mac);
                bool found = false;
                for (gsize k = 0; k < 64 && !found; k++) {
                        g_variant_get_child(devices, k, "(&si&s&s)", &address, NULL, NULL, &claimed_mac);
                        g_autofree char *p = g_strdup_printf("/org/devpass1/devices/%s", address);
                        g_strdelimit(p + strlen("/org/devpass1/devices/"), ":.", '_');
                        found = g_str_equal(p, path);
                        if (found)
                                assert_string_equal(mac, claimed_mac);
                }
                assert_true(found);
        }
        assert_int_equal(prop_u32(f, f->vfs, GROUP, "Free"), 0);
}

/* ---- hotplug ---- */

static void test_hotplug(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        g_autofree char *vf0 = vf(0), *vf1 = vf(1);
        g_autofree char *vf0_path = dev_path(vf0);

        setup_vfs(f, 8);
        g_autofree char *a = attach(f, "h1", dict("Group", g_variant_new_object_path(f->vfs),
                                                  "Count", g_variant_new_uint32(2), NULL));
        g_autoptr(GVariant) r = claim_ok(f, "h1", NULL);
        g_autofree char *got = claimed(r);
        g_autofree char *want = g_strdup_printf("%s %s", vf0, vf1);
        assert_string_equal(got, want);

        /* A claimed VF goes: degraded, and the machine keeps the rest. */
        harness_clear_signals(f->h);
        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, vf0);
        fakekernel_unlock(f->fk);
        wait_prop(f, a, ATTACHMENT, "State", "degraded");
        assert_signal(f, a, "State");
        assert_signal(f, a, "StateReason");
        g_autofree char *why = prop_str(f, a, ATTACHMENT, "StateReason");
        assert_non_null(strstr(why, "gone"));
        g_autofree char *left = prop_list(f, a, ATTACHMENT, "Devices");
        g_autofree char *vf1_path = dev_path(vf1);
        assert_string_equal(left, strrchr(vf1_path, '/') + 1);
        assert_state(f, vf1, "claimed h1");
        g_autofree char *missing = prop_str(f, vf0_path, DEVICE, "State");
        assert_string_equal(missing, "missing");

        /* The VFs come back (on vfio-pci): vf0 is still h1's. */
        fakekernel_lock(f->fk);
        testbed_sriov_set_driver(f->h->testbed, PF1, 0, NULL);
        testbed_sriov_set_driver(f->h->testbed, PF1, 8, "vfio-pci");
        fakekernel_unlock(f->fk);
        wait_prop(f, vf0_path, DEVICE, "State", "claimed");
        wait_prop(f, f->vfs, GROUP, "Free", "6");
        wait_prop(f, a, ATTACHMENT, "State", "attached");
        assert_state(f, vf0, "claimed h1");
        g_autofree char *a2 = attach(f, "h2", dict("Group", g_variant_new_object_path(f->vfs),
                                                   "Count", g_variant_new_uint32(8), NULL));
        g_autoptr(GVariant) busy = claim(f, "h2", NULL, &error);
        assert_null(busy);
        assert_remote_error(error, "org.devpass1.Error.Busy", (const char *[]) { "wants 8 devices", "6 are free",
                                                                                NULL });
        assert_state(f, vf0, "claimed h1");

        /* Released, it is anyone's. */
        release(f, "h1");
        g_autoptr(GVariant) all = claim_ok(f, "h2", NULL);
        g_autofree char *all_text = claimed(all);
        assert_non_null(strstr(all_text, vf0));
        assert_state(f, vf0, "claimed h2");
}

/* ---- a restart ---- */

static void test_persistence(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        setup_gpus(f);
        g_autofree char *a = attach(f, "vm1", dict("Group", g_variant_new_object_path(f->gpus),
                                                   "Count", g_variant_new_uint32(2), NULL));
        g_autoptr(GVariant) r = claim_ok(f, "vm1", NULL);
        g_autofree char *before = g_variant_print(r, FALSE);

        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        assert_state(f, "0000:17:00.0", "claimed vm1");
        assert_state(f, "0000:17:00.1", "claimed vm1");
        assert_state(f, "0000:b1:00.0", "passthrough ");
        assert_int_equal(prop_u32(f, f->gpus, GROUP, "Free"), 2);
        g_autofree char *st = prop_str(f, a, ATTACHMENT, "State");
        assert_string_equal(st, "attached");
        g_autofree char *held = prop_list(f, a, ATTACHMENT, "Devices");
        assert_string_equal(held, "0000_17_00_0 0000_17_00_1");
        g_autoptr(GVariant) again = claim_ok(f, "vm1", NULL);
        g_autofree char *after = g_variant_print(again, FALSE);
        assert_string_equal(after, before);
        /* Held for real: another machine gets only what is left. */
        g_autofree char *other = attach(f, "vm3", dict("Group", g_variant_new_object_path(f->gpus),
                                                       "Count", g_variant_new_uint32(3), NULL));
        g_autoptr(GVariant) busy = claim(f, "vm3", NULL, &error);
        assert_null(busy);
        assert_remote_error(error, "org.devpass1.Error.Busy", (const char *[]) { "2 are free", NULL });
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_flow, setup, teardown),
                cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_numa, setup, teardown),
                cmocka_unit_test_setup_teardown(test_macs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hotplug, setup, teardown),
                cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        };
        return cmocka_run_group_tests_name("claims", tests, NULL, NULL);
}
