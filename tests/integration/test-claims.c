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

#include "calls.h"

#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define GROUP "org.devpass1.Group"
#define ATTACHMENT "org.devpass1.Attachment"
#define PF1 "0000:3b:00.1"

typedef struct {
        Harness *h;                /* one connection for every call (h->connection) */
        FakeKernel *fk;
        char *gpus;                /* "PCI GPUs": 0000:17:00.0+.1, 0000:b1:00.0+.1 */
        char *vfs;                 /* "VFs": the VFs of PF1 */
} Fixture;

static const char *const gpu_functions[] = { "0000:17:00.0", "0000:17:00.1", "0000:b1:00.0", "0000:b1:00.1", NULL };

/* ---- calls and properties ---- */

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(NULL, &f->fk);
        f->h->connection = harness_connect(f->h);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f->gpus);
        g_free(f->vfs);
        g_free(f);
        return 0;
}

static GVariant *manager(Fixture *f, const char *method, GVariant *args, GError **error) {
        return harness_call(f->h, "/org/devpass1", MANAGER, method, args, error);
}

/* An array property as "a b c" (objects shortened to their last part). */
static char *prop_list(Fixture *f, const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) v = calls_prop(f->h, path, interface, name);
        g_autoptr(GString) s = g_string_new(NULL);
        for (gsize i = 0; i < g_variant_n_children(v); i++) {
                g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
                const char *text = g_variant_get_string(child, NULL);
                g_string_append_printf(s, "%s%s", i ? " " : "", strrchr(text, '/') ? strrchr(text, '/') + 1 : text);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* CreateAttachment(machine, settings): the new attachment's path. */
static char *attach(Fixture *f, const char *machine, GVariant *settings) {
        return calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateAttachment",
                             g_variant_new("(s@a{sv})", machine, settings));
}

static GVariant *claim(Fixture *f, const char *machine, GVariant *options, GError **error) {
        return manager(f, "Claim", g_variant_new("(s@a{sv})", machine, options ?: calls_dict(NULL)), error);
}

static GVariant *claim_ok(Fixture *f, const char *machine, GVariant *options) {
        g_autoptr(GError) error = NULL;
        GVariant *r = claim(f, machine, options, &error);
        if (!r)
                fail_msg("Claim %s: %s", machine, error->message);
        return r;
}

static void release(Fixture *f, const char *machine) {
        g_autoptr(GVariant) r = calls_ok(f->h, "/org/devpass1", MANAGER, "Release", g_variant_new("(s)", machine));
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

static void setup_gpus(Fixture *f) {
        f->gpus = calls_passthrough_group(f->h, gpu_functions, "PCI GPUs", "pci", "gpu");
}

/* The address of PF1's VF i: routing ID devfn 1 + offset 79 + i. */
static char *vf(guint i) {
        guint rid = 1 + 79 + i;
        return g_strdup_printf("0000:3b:%02x.%x", rid >> 3, rid & 7);
}

/* n VFs on PF1 (0000:3b:0a.0 on), passed through into "VFs". */
static void setup_vfs(Fixture *f, guint n) {
        g_autofree char *pf = calls_path_of(PF1);
        g_autofree char *want = g_strdup_printf("%u", n);

        g_autoptr(GVariant) r = calls_ok(f->h, pf, DEVICE, "SetVirtualFunctions", g_variant_new("(u)", n));
        calls_wait_prop(f->h, pf, DEVICE, "SriovNumVfs", want);
        /* Every VF an object of its own before it is passed through. */
        g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < n; i++) {
                char *address = vf(i);
                g_autoptr(GVariant) found = NULL;
                g_ptr_array_add(addresses, address);
                for (int tries = 0; !found && tries < 500; tries++) {
                        if (!(found = manager(f, "GetDevice", g_variant_new("(s)", address), NULL)))
                                g_usleep(10000);
                }
                if (!found)
                        fail_msg("VF %s did not appear", address);
        }
        g_ptr_array_add(addresses, NULL);
        f->vfs = calls_passthrough_group(f->h, (const char *const *) addresses->pdata, "VFs", "sriov-nic", "nic");
}

/* ---- the reference's VM flow ---- */

static void test_flow(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        setup_gpus(f);
        g_autofree char *a = attach(f, "vm1", calls_dict("Group", g_variant_new_object_path(f->gpus),
                                                   "Count", g_variant_new_uint32(1), NULL));
        g_autofree char *name = calls_prop_string(f->h, a, ATTACHMENT, "Name");
        assert_string_equal(name, "PCI GPUs 1");
        g_autofree char *st0 = calls_prop_string(f->h, a, ATTACHMENT, "State");
        assert_string_equal(st0, "restart-required");
        g_autofree char *none = prop_list(f, a, ATTACHMENT, "Devices");
        assert_string_equal(none, "");

        /* Claim: one unit, the two functions of one IOMMU group, with their VFIO node. */
        harness_clear_signals(f->h);
        g_autoptr(GVariant) r = claim_ok(f, "vm1", NULL);
        g_autofree char *reply = g_variant_print(r, FALSE);
        g_autofree char *want = g_strdup_printf("([('%s', 'PCI GPUs 1', [('0000:17:00.0', 8, "
                                                "'/dev/vfio/8', ''), ('0000:17:00.1', 8, '/dev/vfio/8', '')])],)", a);
        assert_string_equal(reply, want);
        calls_assert_device_state(f->h, "0000:17:00.0", "claimed vm1");
        calls_assert_device_state(f->h, "0000:17:00.1", "claimed vm1");
        calls_assert_device_state(f->h, "0000:b1:00.0", "passthrough ");
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 1);
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Total"), 2);
        g_autofree char *st1 = calls_prop_string(f->h, a, ATTACHMENT, "State");
        assert_string_equal(st1, "attached");
        g_autofree char *held = prop_list(f, a, ATTACHMENT, "Devices");
        assert_string_equal(held, "0000_17_00_0 0000_17_00_1");
        g_autofree char *gpu0 = calls_path_of("0000:17:00.0");
        assert_signal(f, gpu0, "State");
        assert_signal(f, gpu0, "Holder");
        assert_signal(f, f->gpus, "Free");
        assert_signal(f, a, "State");
        assert_signal(f, a, "Devices");

        /* Again: the same devices, nothing more taken. */
        g_autoptr(GVariant) again = claim_ok(f, "vm1", NULL);
        g_autofree char *reply2 = g_variant_print(again, FALSE);
        assert_string_equal(reply2, reply);
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 1);

        /* Release: free again; releasing nothing is fine too. */
        harness_clear_signals(f->h);
        release(f, "vm1");
        for (size_t i = 0; gpu_functions[i]; i++)
                calls_assert_device_state(f->h, gpu_functions[i], "passthrough ");
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 2);
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
        g_autoptr(GVariant) u = calls_ok(f->h, a, ATTACHMENT, "Update", g_variant_new("(@a{sv})",
                                        calls_dict("Count", g_variant_new_uint32(2), NULL)));
        g_autofree char *st2 = calls_prop_string(f->h, a, ATTACHMENT, "State");
        assert_string_equal(st2, "restart-required");
        calls_assert_device_state(f->h, "0000:17:00.1", "claimed vm1");
        g_autoptr(GVariant) busy = claim(f, "vm1", NULL, &error);
        assert_null(busy);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "PCI GPUs 1", "release", NULL);
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 1);
        release(f, "vm1");
        g_autoptr(GVariant) two = claim_ok(f, "vm1", NULL);
        g_autofree char *got = calls_claimed(two, NULL);
        assert_string_equal(got, "0000:17:00.0 0000:17:00.1 0000:b1:00.0 0000:b1:00.1");
        g_autofree char *st3 = calls_prop_string(f->h, a, ATTACHMENT, "State");
        assert_string_equal(st3, "attached");
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 0);
}

/* ---- all or nothing ---- */

static void test_all_or_nothing(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        setup_gpus(f);
        g_autofree char *a1 = attach(f, "vm2", calls_dict("Group", g_variant_new_object_path(f->gpus), "Name",
                                                    g_variant_new_string("first"), "Count", g_variant_new_uint32(1),
                                                    NULL));
        g_autofree char *a2 = attach(f, "vm2", calls_dict("Group", g_variant_new_object_path(f->gpus), "Name",
                                                    g_variant_new_string("second"), "Count", g_variant_new_uint32(2),
                                                    NULL));

        /* The first would fit; the second then cannot: nothing is taken. */
        g_autoptr(GVariant) r = claim(f, "vm2", NULL, &error);
        assert_null(r);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "attachment second", "group PCI GPUs",
                                  "wants 2 devices", "1 is free", NULL);
        for (size_t i = 0; gpu_functions[i]; i++)
                calls_assert_device_state(f->h, gpu_functions[i], "passthrough ");
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 2);
        for (const char *const *p = (const char *[]) { a1, a2, NULL }; *p; p++) {
                g_autofree char *st = calls_prop_string(f->h, *p, ATTACHMENT, "State");
                assert_string_equal(st, "restart-required");
                g_autofree char *devices = prop_list(f, *p, ATTACHMENT, "Devices");
                assert_string_equal(devices, "");
        }

        /* Optional: the machine starts with the first only. */
        g_autoptr(GVariant) u = calls_ok(f->h, a2, ATTACHMENT, "Update", g_variant_new("(@a{sv})",
                                        calls_dict("Optional", g_variant_new_boolean(TRUE), NULL)));
        g_autoptr(GVariant) ok = claim_ok(f, "vm2", NULL);
        g_autofree char *got = calls_claimed(ok, NULL);
        assert_string_equal(got, "0000:17:00.0 0000:17:00.1");
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 1);
        g_autofree char *st1 = calls_prop_string(f->h, a1, ATTACHMENT, "State");
        assert_string_equal(st1, "attached");
        g_autofree char *st2 = calls_prop_string(f->h, a2, ATTACHMENT, "State");
        assert_string_equal(st2, "error");
        g_autofree char *why = calls_prop_string(f->h, a2, ATTACHMENT, "StateReason");
        assert_non_null(strstr(why, "wants 2 devices"));
        assert_non_null(strstr(why, "1 is free"));
        g_autofree char *devices = prop_list(f, a2, ATTACHMENT, "Devices");
        assert_string_equal(devices, "");
        calls_assert_device_state(f->h, "0000:b1:00.0", "passthrough ");

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
                { "n1", 1, "0000:b1:00.0 0000:b1:00.1" },
                { "n1b", 1, "0000:17:00.0 0000:17:00.1" },  /* node 1 is taken: a preference, not a must */
        };

        setup_gpus(f);
        for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
                g_autofree char *a = attach(f, steps[i].machine, calls_dict("Group", g_variant_new_object_path(f->gpus),
                                                                     NULL));
                GVariant *options = steps[i].numa >= 0 ? calls_dict("NumaNode", g_variant_new_int32(steps[i].numa), NULL)
                                                       : NULL;
                g_autoptr(GVariant) r = claim_ok(f, steps[i].machine, options);
                g_autofree char *got = calls_claimed(r, NULL);
                assert_string_equal(got, steps[i].want);
        }
        g_autofree char *b1 = calls_path_of("0000:b1:00.0");
        g_autoptr(GVariant) numa = calls_prop(f->h, b1, DEVICE, "NumaNode");
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
                g_variant_builder_add(&b, "(s@a{sv})", machine, calls_dict("Group", g_variant_new_object_path(f->vfs),
                                                                     "Count", g_variant_new_uint32(64), NULL));
        }
        g_autoptr(GVariant) r = calls_ok(f->h, "/org/devpass1", MANAGER, "CreateAttachments",
                                        g_variant_new("(@a(sa{sv}))", g_variant_builder_end(&b)));
        g_autoptr(GVariant) paths = g_variant_get_child_value(r, 0);
        assert_int_equal(g_variant_n_children(paths), 16);
        g_autofree const char **made = g_variant_get_objv(paths, NULL);
        for (int i = 0; i < 16; i++) {
                g_autofree char *type = calls_prop_string(f->h, made[i], ATTACHMENT, "Type");
                assert_string_equal(type, "sriov-nic");
                g_autoptr(GVariant) macs = calls_prop(f->h, made[i], ATTACHMENT, "Macs");
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
        g_autoptr(GVariant) taken_macs = calls_prop(f->h, made[3], ATTACHMENT, "Macs");
        const char *taken;
        g_variant_get_child(taken_macs, 5, "&s", &taken);
        g_autofree char *upper = g_ascii_strup(taken, -1);
        for (const char *const *mac = (const char *[]) { taken, upper, NULL }; *mac; mac++) {
                g_autoptr(GVariant) dup = manager(f, "CreateAttachment", g_variant_new("(s@a{sv})", "dup",
                                                  calls_dict("Group", g_variant_new_object_path(f->vfs), "Mac",
                                                       g_variant_new_string(*mac), NULL)), &error);
                assert_null(dup);
                calls_assert_remote_error(error, "org.devpass1.Error.Busy", taken, "attachment VFs 1 of machine nic03",
                                          NULL);
                g_clear_error(&error);
        }

        /* A MAC given for Count 1 is kept, and the claim hands it to the VF. */
        g_autofree char *fixed = attach(f, "fixed", calls_dict("Group", g_variant_new_object_path(f->vfs), "Mac",
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
        g_autoptr(GVariant) macs = calls_prop(f->h, made[0], ATTACHMENT, "Macs");
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
        g_autoptr(GVariant) held = calls_prop(f->h, made[0], ATTACHMENT, "Devices");
        g_autoptr(GVariant) held_macs = calls_prop(f->h, made[0], ATTACHMENT, "DeviceMacs");
        assert_int_equal(g_variant_n_children(held), 64);
        assert_int_equal(g_variant_n_children(held_macs), 64);
        for (gsize j = 0; j < 64; j++) {
                const char *path, *mac, *address, *claimed_mac;
                g_variant_get_child(held, j, "&o", &path);
                g_variant_get_child(held_macs, j, "&s", &mac);
                bool found = false;
                for (gsize k = 0; k < 64 && !found; k++) {
                        g_variant_get_child(devices, k, "(&si&s&s)", &address, NULL, NULL, &claimed_mac);
                        g_autofree char *p = calls_path_of(address);
                        found = g_str_equal(p, path);
                        if (found)
                                assert_string_equal(mac, claimed_mac);
                }
                assert_true(found);
        }
        assert_int_equal(calls_prop_uint(f->h, f->vfs, GROUP, "Free"), 0);
}

/* ---- hotplug ---- */

static void test_hotplug(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        g_autofree char *vf0 = vf(0), *vf1 = vf(1);
        g_autofree char *vf0_path = calls_path_of(vf0);

        setup_vfs(f, 8);
        g_autofree char *a = attach(f, "h1", calls_dict("Group", g_variant_new_object_path(f->vfs),
                                                  "Count", g_variant_new_uint32(2), NULL));
        g_autoptr(GVariant) r = claim_ok(f, "h1", NULL);
        g_autofree char *got = calls_claimed(r, NULL);
        g_autofree char *want = g_strdup_printf("%s %s", vf0, vf1);
        assert_string_equal(got, want);

        /* A claimed VF goes: degraded, and the machine keeps the rest. */
        harness_clear_signals(f->h);
        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, vf0);
        fakekernel_unlock(f->fk);
        calls_wait_prop(f->h, a, ATTACHMENT, "State", "degraded");
        assert_signal(f, a, "State");
        assert_signal(f, a, "StateReason");
        g_autofree char *why = calls_prop_string(f->h, a, ATTACHMENT, "StateReason");
        assert_non_null(strstr(why, "gone"));
        g_autofree char *left = prop_list(f, a, ATTACHMENT, "Devices");
        g_autofree char *vf1_path = calls_path_of(vf1);
        assert_string_equal(left, strrchr(vf1_path, '/') + 1);
        calls_assert_device_state(f->h, vf1, "claimed h1");
        g_autofree char *missing = calls_prop_string(f->h, vf0_path, DEVICE, "State");
        assert_string_equal(missing, "missing");

        /* The VFs come back (on vfio-pci): vf0 is still h1's. */
        fakekernel_lock(f->fk);
        testbed_sriov_set_driver(f->h->testbed, PF1, 0, NULL);
        testbed_sriov_set_driver(f->h->testbed, PF1, 8, "vfio-pci");
        fakekernel_unlock(f->fk);
        calls_wait_prop(f->h, vf0_path, DEVICE, "State", "claimed");
        calls_wait_prop(f->h, f->vfs, GROUP, "Free", "6");
        calls_wait_prop(f->h, a, ATTACHMENT, "State", "attached");
        calls_assert_device_state(f->h, vf0, "claimed h1");
        g_autofree char *a2 = attach(f, "h2", calls_dict("Group", g_variant_new_object_path(f->vfs),
                                                   "Count", g_variant_new_uint32(8), NULL));
        g_autoptr(GVariant) busy = claim(f, "h2", NULL, &error);
        assert_null(busy);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "wants 8 devices", "6 are free", NULL);
        calls_assert_device_state(f->h, vf0, "claimed h1");

        /* Released, it is anyone's. */
        release(f, "h1");
        g_autoptr(GVariant) all = claim_ok(f, "h2", NULL);
        g_autofree char *all_text = calls_claimed(all, NULL);
        assert_non_null(strstr(all_text, vf0));
        calls_assert_device_state(f->h, vf0, "claimed h2");
}

/* ---- a restart ---- */

static void test_persistence(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        setup_gpus(f);
        g_autofree char *a = attach(f, "vm1", calls_dict("Group", g_variant_new_object_path(f->gpus),
                                                   "Count", g_variant_new_uint32(1), NULL));
        g_autoptr(GVariant) r = claim_ok(f, "vm1", NULL);
        g_autofree char *before = g_variant_print(r, FALSE);

        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        calls_assert_device_state(f->h, "0000:17:00.0", "claimed vm1");
        calls_assert_device_state(f->h, "0000:17:00.1", "claimed vm1");
        calls_assert_device_state(f->h, "0000:b1:00.0", "passthrough ");
        assert_int_equal(calls_prop_uint(f->h, f->gpus, GROUP, "Free"), 1);
        g_autofree char *st = calls_prop_string(f->h, a, ATTACHMENT, "State");
        assert_string_equal(st, "attached");
        g_autofree char *held = prop_list(f, a, ATTACHMENT, "Devices");
        assert_string_equal(held, "0000_17_00_0 0000_17_00_1");
        g_autoptr(GVariant) again = claim_ok(f, "vm1", NULL);
        g_autofree char *after = g_variant_print(again, FALSE);
        assert_string_equal(after, before);
        /* Held for real: another machine gets only what is left. */
        g_autofree char *other = attach(f, "vm3", calls_dict("Group", g_variant_new_object_path(f->gpus),
                                                       "Count", g_variant_new_uint32(2), NULL));
        g_autoptr(GVariant) busy = claim(f, "vm3", NULL, &error);
        assert_null(busy);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "1 is free", NULL);
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
