/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The unit of exclusivity: the functions of one group that share an IOMMU
 * group go whole to one holder, and no two holders ever share an IOMMU
 * group, whatever their groups. On the GPU server (each A6000 with its
 * HDMI audio function is one IOMMU group), with the real polkitd (root)
 * and a fake kernel with vfio-pci loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define GROUP "org.devpass1.Group"
#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define CLIENTS CALLS_CLIENTS
#define ROUNDS 50

typedef CallsClients Fixture;

static const char *const gpu_pair[] = { GPU, GPU_AUDIO, NULL };
/* Every function of the node that an IOMMU group of a unit can hold. */
static const char *const unit_functions[] = {
        GPU, GPU_AUDIO, "0000:b1:00.0", "0000:b1:00.1", "0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", NULL,
};

static GVariant *claim(Fixture *f, const char *machine, GError **error) {
        return harness_call(f->h, "/org/devpass1", MANAGER, "Claim",
                            g_variant_new("(s@a{sv})", machine, calls_parse("a{sv}", "{}")), error);
}

static void release(Fixture *f, const char *machine) {
        g_autoptr(GVariant) r = calls_ok(f->h, "/org/devpass1", MANAGER, "Release", g_variant_new("(s)", machine));
}

/* No IOMMU group has functions of two holders (machines or tenants). */
static void assert_no_shared_iommu_group(Fixture *f, const char *when) {
        g_autoptr(GHashTable) holders = g_hash_table_new_full(NULL, NULL, NULL, g_free);

        for (const char *const *a = unit_functions; *a; a++) {
                g_autofree char *holder = calls_device_string(f->h, *a, "Holder");
                if (!*holder)
                        continue;
                g_autofree char *path = calls_path_of(*a);
                g_autoptr(GVariant) iommu = calls_prop(f->h, path, DEVICE, "IommuGroup");
                gpointer key = GINT_TO_POINTER(g_variant_get_int32(iommu));
                const char *other = g_hash_table_lookup(holders, key);
                if (other && !g_str_equal(other, holder))
                        fail_msg("%s: IOMMU group %d is held by '%s' and by '%s'", when, GPOINTER_TO_INT(key), other,
                                 holder);
                g_hash_table_insert(holders, key, g_steal_pointer(&holder));
        }
}

/* ---- one unit, two machines (the first reproduction) ---- */

static void test_unit_one_holder(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        g_autofree char *gpus = calls_passthrough_group(f->h, gpu_pair, "PCI GPUs", "pci", "gpu");
        assert_int_equal(calls_prop_uint(f->h, gpus, GROUP, "Total"), 1);
        g_free(calls_attach(f->h, "vm1", gpus, 1));
        g_free(calls_attach(f->h, "vm2", gpus, 1));

        g_autoptr(GVariant) r = claim(f, "vm1", &error);
        g_assert_no_error(error);
        g_autofree char *got = calls_claimed(r, NULL);
        assert_string_equal(got, GPU " " GPU_AUDIO);
        g_autoptr(GVariant) refused = claim(f, "vm2", &error);
        assert_null(refused);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "wants 1 device", "0 are free", NULL);
        calls_assert_device_state(f->h, GPU_AUDIO, "claimed vm1");
        assert_no_shared_iommu_group(f, "after vm2's claim");

        /* A tenant takes the whole unit too, or nothing. */
        release(f, "vm1");
        g_autofree char *settings = g_strdup_printf("{'Group': <objectpath '%s'>, 'Count': <uint32 1>}", gpus);
        g_autofree char *acme = calls_ok_path(f->h, "/org/devpass1", MANAGER, "PassToTenant",
                                              g_variant_new("(ss@a{sv})", "acme", "acme-node1",
                                                            calls_parse("a{sv}", settings)));
        calls_assert_device_state(f->h, GPU, "tenant acme");
        calls_assert_device_state(f->h, GPU_AUDIO, "tenant acme");
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP, "Total"), 1);
        assert_int_equal(calls_prop_uint(f->h, gpus, GROUP, "Free"), 0);
        g_autoptr(GVariant) none = claim(f, "vm2", &error);
        assert_null(none);
        g_clear_error(&error);
}

/* ---- a unit split across two groups ---- */

static void test_split_across_groups(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        /* The GPU in one group, its audio in another: each needs Force. */
        g_autoptr(GVariant) a = calls_make_passthrough_new(f->h, (const char *const[]) { GPU, NULL }, "Display",
                                                           "pci", "gpu", true, &error);
        g_assert_no_error(error);
        g_autofree char *display = NULL;
        g_variant_get(a, "(ob)", &display, NULL);
        calls_wait_driver(f->h, GPU, "vfio-pci");
        /* Not viable while its audio function is on the host's driver. */
        assert_int_equal(calls_prop_uint(f->h, display, GROUP, "Free"), 0);
        g_autofree char *path = calls_path_of(GPU);
        g_autoptr(GVariant) blockers = calls_prop(f->h, path, DEVICE, "Blockers");
        g_autofree char *text = g_variant_print(blockers, FALSE);
        if (!strstr(text, "IOMMU group 8 is not viable") || !strstr(text, GPU_AUDIO " (snd_hda_intel)"))
                fail_msg("blockers of %s: %s", GPU, text);

        g_autoptr(GVariant) b = calls_make_passthrough_new(f->h, (const char *const[]) { GPU_AUDIO, NULL }, "Sound",
                                                           "pci", "other", true, &error);
        g_assert_no_error(error);
        g_autofree char *sound = NULL;
        g_variant_get(b, "(ob)", &sound, NULL);
        calls_wait_prop(f->h, display, GROUP, "Free", "1");
        calls_wait_prop(f->h, sound, GROUP, "Free", "1");
        g_autoptr(GVariant) clear = calls_prop(f->h, path, DEVICE, "Blockers");
        assert_int_equal(g_variant_n_children(clear), 0);

        /* vm1 gets the GPU; the audio function cannot go to vm2 then. */
        g_free(calls_attach(f->h, "vm1", display, 1));
        g_free(calls_attach(f->h, "vm2", sound, 1));
        g_autoptr(GVariant) r = claim(f, "vm1", &error);
        g_assert_no_error(error);
        calls_wait_prop(f->h, sound, GROUP, "Free", "0");
        g_autoptr(GVariant) refused = claim(f, "vm2", &error);
        assert_null(refused);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "group Sound", "0 are free", NULL);
        g_clear_error(&error);
        assert_no_shared_iommu_group(f, "split group");
        release(f, "vm1");
        calls_wait_prop(f->h, sound, GROUP, "Free", "1");
        g_autoptr(GVariant) now = claim(f, "vm2", &error);
        g_assert_no_error(error);
        g_autofree char *got = calls_claimed(now, NULL);
        assert_string_equal(got, GPU_AUDIO);
        calls_wait_prop(f->h, display, GROUP, "Free", "0");
}

/* ---- a machine must not start short ---- */

static void test_degraded_reclaim(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        const char *vfs[] = { "0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", NULL };

        g_autofree char *group = calls_passthrough_group(f->h, vfs, "VFs", "sriov-nic", "nic");
        g_autofree char *a = calls_attach(f->h, "vm1", group, 2);
        g_autoptr(GVariant) r = claim(f, "vm1", &error);
        g_assert_no_error(error);
        g_autofree char *got = calls_claimed(r, NULL);
        assert_string_equal(got, "0000:3b:02.0 0000:3b:02.1");

        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, "0000:3b:02.0");
        fakekernel_unlock(f->fk);
        calls_wait_prop(f->h, a, "org.devpass1.Attachment", "State", "degraded");
        /* Claimed again (a VM manager's retry): refused, and it keeps what it holds. */
        g_autoptr(GVariant) again = claim(f, "vm1", &error);
        assert_null(again);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", "attachment VFs 1 of machine vm1 is degraded",
                                  "release the machine", NULL);
        calls_assert_device_state(f->h, "0000:3b:02.1", "claimed vm1");
        g_clear_error(&error);

        /* Released and claimed anew, it gets what is there. */
        release(f, "vm1");
        g_autoptr(GVariant) fresh = claim(f, "vm1", &error);
        g_assert_no_error(error);
        g_autofree char *now = calls_claimed(fresh, NULL);
        assert_string_equal(now, "0000:3b:02.1 0000:3b:02.2");
}

/* ---- MakePassthrough never puts a device in neither group ---- */

static void test_passthrough_conflict(void **state) {
        Fixture *f = *state;
        const char *vf[] = { "0000:3b:02.0", NULL };

        g_autofree char *ethernet = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateGroup",
                                                  g_variant_new("(@a{sv})", calls_parse("a{sv}", "{'Name': "
                                                                                       "<'Ethernet'>}")));
        g_autofree char *rule_args = g_strdup_printf("(objectpath '%s', {'Name': <'ethernet'>, 'Conditions': "
                                                     "<[('class', 'eq', '0x0200')]>})", ethernet);
        g_autofree char *rule = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateRule",
                                              calls_parse("(oa{sv})", rule_args));
        g_autofree char *vf_path = calls_path_of(vf[0]);
        g_autofree char *args = g_strdup_printf("([objectpath '%s'], {'Name': <'VFs'>, 'Type': <'sriov-nic'>})",
                                                vf_path);
        calls_refused(f->h, "MakePassthrough into a new group", "/org/devpass1", MANAGER, "MakePassthrough",
                      calls_parse("(aoa{sv})", args), "org.devpass1.Error.Busy", "rule ethernet of group Ethernet");

        /* Into the group whose rule matches it, it goes. */
        g_autofree char *into = g_strdup_printf("([objectpath '%s'], {'Group': <objectpath '%s'>})", vf_path,
                                                ethernet);
        g_autofree char *made = calls_ok_path(f->h, "/org/devpass1", MANAGER, "MakePassthrough",
                                              calls_parse("(aoa{sv})", into));
        assert_string_equal(made, ethernet);
        calls_wait_driver(f->h, vf[0], "vfio-pci");
        g_autofree char *in = calls_device_string(f->h, vf[0], "Group");
        assert_string_equal(in, ethernet);
}

/* ---- races ---- */

/* Every machine sends its call at once, from its own connection. */
static void race(Fixture *f, const char *method, char **machines, CallsPending *calls) {
        guint pending = 0;

        for (int i = 0; i < CLIENTS; i++) {
                calls_pending_clear(&calls[i]);
                calls[i].pending = &pending;
                calls_send_async(f->c[i], method, machines[i], &calls[i]);
        }
        calls_wait_pending(&pending);
}

/* The IOMMU groups of a claim's devices, each counted once. */
static guint claimed_units(Fixture *f, GVariant *reply) {
        g_autofree char *addresses = calls_claimed(reply, NULL);
        g_auto(GStrv) list = g_strsplit(addresses, " ", -1);
        g_autoptr(GHashTable) groups = g_hash_table_new(NULL, NULL);

        for (char **a = list; *a && **a; a++) {
                g_autofree char *path = calls_path_of(*a);
                g_autoptr(GVariant) iommu = calls_prop(f->h, path, DEVICE, "IommuGroup");
                g_hash_table_add(groups, GINT_TO_POINTER(g_variant_get_int32(iommu)));
        }
        return g_hash_table_size(groups);
}

static void test_races(void **state) {
        Fixture *f = *state;
        char *machines[CLIENTS];
        guint counts[CLIENTS];
        CallsPending calls[CLIENTS] = {};

        /* A mixed group: two GPU units of two functions, three VF units of one. */
        g_autofree char *mixed = calls_passthrough_group(f->h, unit_functions, "Mixed", "pci", NULL);
        assert_int_equal(calls_prop_uint(f->h, mixed, GROUP, "Total"), 5);
        for (int i = 0; i < CLIENTS; i++) {
                machines[i] = g_strdup_printf("m%02d", i);
                counts[i] = 1 + (guint) i % 2;
                g_free(calls_attach(f->h, machines[i], mixed, counts[i]));
        }
        for (int round = 0; round < ROUNDS; round++) {
                g_autofree char *when = g_strdup_printf("round %d", round);
                race(f, "Claim", machines, calls);
                guint units = 0;
                for (int i = 0; i < CLIENTS; i++) {
                        if (!calls[i].reply) {
                                g_autofree char *remote = g_dbus_error_get_remote_error(calls[i].error);
                                if (!remote || !g_str_equal(remote, "org.devpass1.Error.Busy"))
                                        fail_msg("%s, %s: %s", when, machines[i], calls[i].error->message);
                                continue;
                        }
                        guint got = claimed_units(f, calls[i].reply);
                        if (got != counts[i])
                                fail_msg("%s: %s got %u units, wants %u", when, machines[i], got, counts[i]);
                        units += got;
                }
                /* Greedy in any order leaves at most one unit that nobody
                 * left could take whole. */
                if (units < 4 || units > 5)
                        fail_msg("%s: %u of 5 units handed out", when, units);
                assert_no_shared_iommu_group(f, when);
                assert_int_equal(calls_prop_uint(f->h, mixed, GROUP, "Free"), 5 - units);
                race(f, "Release", machines, calls);
                for (int i = 0; i < CLIENTS; i++)
                        g_assert_no_error(calls[i].error);
        }
        for (int i = 0; i < CLIENTS; i++) {
                calls_pending_clear(&calls[i]);
                g_free(machines[i]);
        }
}

/* Two machines race for one GPU unit: exactly one wins it whole. */
static void test_race_one_unit(void **state) {
        Fixture *f = *state;
        char *machines[CLIENTS];
        CallsPending calls[CLIENTS] = {};

        g_autofree char *gpus = calls_passthrough_group(f->h, gpu_pair, "PCI GPUs", "pci", "gpu");
        for (int i = 0; i < CLIENTS; i++) {
                machines[i] = g_strdup_printf("vm%d", i % 2);
                if (i < 2)
                        g_free(calls_attach(f->h, machines[i], gpus, 1));
        }
        for (int round = 0; round < ROUNDS; round++) {
                g_autofree char *when = g_strdup_printf("round %d", round);
                race(f, "Claim", machines, calls);
                g_autofree char *winner = calls_device_string(f->h, GPU, "Holder");
                g_autofree char *audio = calls_device_string(f->h, GPU_AUDIO, "Holder");
                assert_string_equal(audio, winner);
                for (int i = 0; i < CLIENTS; i++)
                        if (g_str_equal(machines[i], winner) != (calls[i].reply != NULL))
                                fail_msg("%s: %s answered %s, holder %s", when, machines[i],
                                         calls[i].reply ? "with devices" : calls[i].error->message, winner);
                assert_no_shared_iommu_group(f, when);
                race(f, "Release", machines, calls);
        }
        for (int i = 0; i < CLIENTS; i++) {
                calls_pending_clear(&calls[i]);
                g_free(machines[i]);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unit_one_holder, calls_clients_setup, calls_clients_teardown),
                cmocka_unit_test_setup_teardown(test_split_across_groups, calls_clients_setup, calls_clients_teardown),
                cmocka_unit_test_setup_teardown(test_degraded_reclaim, calls_clients_setup, calls_clients_teardown),
                cmocka_unit_test_setup_teardown(test_passthrough_conflict, calls_clients_setup, calls_clients_teardown),
                cmocka_unit_test_setup_teardown(test_races, calls_clients_setup, calls_clients_teardown),
                cmocka_unit_test_setup_teardown(test_race_one_unit, calls_clients_setup, calls_clients_teardown),
        };
        return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
