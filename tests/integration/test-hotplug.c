/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hotplug as a client sees it: the test plays the kernel (testbed), the
 * daemon's signals are what is asserted. And the resync after lost
 * events: through devpassd with a read of the uevent socket made to fail
 * (tests/preload/enobufs.c), and through the inventory's API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "inventory.h"

#define DEV(a) "/org/devpass1/devices/" a
#define WAIT_MS 20000

/* The property names of every "~" signal for path, merged. */
static GPtrArray *changed_props(Harness *h, const char *path, guint *n_signals) {
        GPtrArray *names = g_ptr_array_new();

        *n_signals = 0;
        for (guint i = 0; i < h->signals->len; i++) {
                HarnessSignal *s = h->signals->pdata[i];
                if (!g_str_equal(s->kind, "~") || !g_str_equal(s->path, path))
                        continue;
                (*n_signals)++;
                for (guint j = 0; j < s->properties->len; j++)
                        if (!g_ptr_array_find_with_equal_func(names, s->properties->pdata[j], g_str_equal, NULL))
                                g_ptr_array_add(names, s->properties->pdata[j]);
        }
        return names;
}

static void assert_changed_exactly(Harness *h, const char *path, const char *const *want) {
        guint n;
        g_autoptr(GPtrArray) got = changed_props(h, path, &n);

        assert_true(n >= 1);
        for (size_t i = 0; want[i]; i++)
                if (!g_ptr_array_find_with_equal_func(got, want[i], g_str_equal, NULL))
                        fail_msg("%s: no PropertiesChanged for %s", path, want[i]);
        assert_int_equal(got->len, g_strv_length((char **) want));
}

typedef struct {
        const char *path;
        const char *kind;
} PathSignal;

static bool has_signal(Harness *h, void *data) {
        PathSignal *p = data;
        return harness_count_signals(h, p->kind, p->path) > 0;
}

static void wait_signal(Harness *h, const char *kind, const char *path) {
        PathSignal p = { path, kind };
        if (!harness_wait(h, has_signal, &p, WAIT_MS))
                fail_msg("no '%s' signal for %s", kind, path);
}

static const char *prop_str(Harness *h, const char *address, const char *name) {
        static char buf[256];
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, address);
        const char *s;

        assert_non_null(props);
        assert_true(g_variant_lookup(props, name, "&s", &s));
        g_strlcpy(buf, s, sizeof(buf));
        return buf;
}

static void sriov_set_and_wait(Harness *h, const char *pf, unsigned numvfs, const char *kind, guint count) {
        harness_clear_signals(h);
        testbed_sriov_set(h->testbed, pf, numvfs);
        if (!harness_wait_signals(h, kind, count, WAIT_MS))
                fail_msg("got %u of %u '%s' signals", harness_count_signals(h, kind, NULL), count, kind);
}

static gsize vf_count(Harness *h, const char *pf) {
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, pf);
        g_autoptr(GVariant) vfs = g_variant_lookup_value(props, "VirtualFunctions", G_VARIANT_TYPE("ao"));
        return g_variant_n_children(vfs);
}

static void test_vf_burst(void **state) {
        Harness *h = *state;

        sriov_set_and_wait(h, "0000:3b:00.1", 64, "+", 64);

        /* Each VF arrives whole, with every property. */
        HarnessSignal *first = NULL;
        for (guint i = 0; i < h->signals->len && !first; i++)
                if (g_str_equal(((HarnessSignal *) h->signals->pdata[i])->kind, "+"))
                        first = h->signals->pdata[i];
        assert_int_equal(first->properties->len, 27);

        /* The PF is told once or a few times, never once per VF, and only
         * what changed. */
        wait_signal(h, "~", DEV("0000_3b_00_1"));
        guint n;
        g_autoptr(GPtrArray) pf_changes = changed_props(h, DEV("0000_3b_00_1"), &n);
        assert_true(n <= 8);
        assert_changed_exactly(h, DEV("0000_3b_00_1"),
                               (const char *const[]) { "VirtualFunctions", "SriovNumVfs", NULL });

        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) pf = harness_device_props(objects, "0000:3b:00.1");
        g_autoptr(GVariant) vfs = g_variant_lookup_value(pf, "VirtualFunctions", G_VARIANT_TYPE("ao"));
        assert_int_equal(g_variant_n_children(vfs), 64);
        guint32 numvfs;
        assert_true(g_variant_lookup(pf, "SriovNumVfs", "u", &numvfs));
        assert_int_equal(numvfs, 64);
        for (gsize i = 0; i < 64; i++) {
                const char *vf_path;
                g_variant_get_child(vfs, i, "&o", &vf_path);
                assert_int_equal(harness_count_signals(h, "+", vf_path), 1);
                g_autofree char *address = g_strdup(vf_path + strlen(DEV("")));
                g_strdelimit(address, "_", ':');
                address[strlen(address) - 2] = '.';
                g_autoptr(GVariant) vf = harness_device_props(objects, address);
                assert_non_null(vf);
                const char *physfn;
                assert_true(g_variant_lookup(vf, "PhysicalFunction", "&o", &physfn));
                assert_string_equal(physfn, DEV("0000_3b_00_1"));
        }

        /* And back to none: every VF removed. */
        sriov_set_and_wait(h, "0000:3b:00.1", 0, "-", 64);
        assert_int_equal(vf_count(h, "0000:3b:00.1"), 0);
}

static void test_remove(void **state) {
        Harness *h = *state;
        g_autoptr(GError) error = NULL;

        harness_clear_signals(h);
        testbed_remove(h->testbed, "0000:17:00.1");
        wait_signal(h, "-", DEV("0000_17_00_1"));
        /* The GPU's IOMMU group lost a member. */
        wait_signal(h, "~", DEV("0000_17_00_0"));
        assert_changed_exactly(h, DEV("0000_17_00_0"), (const char *const[]) { "IommuGroupMembers", NULL });

        g_autoptr(GVariant) r = harness_call(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                                             g_variant_new("(s)", "0000:17:00.1"), &error);
        assert_null(r);
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        assert_string_equal(remote, "org.devpass1.Error.NotFound");

        g_autoptr(GVariant) objects = harness_managed_objects(h);
        assert_null(harness_device_props(objects, "0000:17:00.1"));
        g_autoptr(GVariant) gpu = harness_device_props(objects, "0000:17:00.0");
        g_autoptr(GVariant) members = g_variant_lookup_value(gpu, "IommuGroupMembers", G_VARIANT_TYPE("ao"));
        assert_int_equal(g_variant_n_children(members), 0);
}

static bool blockers_changed(Harness *h, void *path) {
        guint n;
        g_autoptr(GPtrArray) got = changed_props(h, path, &n);

        return g_ptr_array_find_with_equal_func(got, "Blockers", g_str_equal, NULL);
}

static void test_bind_unbind(void **state) {
        Harness *h = *state;

        harness_clear_signals(h);
        testbed_unbind(h->testbed, "0000:5e:00.0");
        wait_signal(h, "~", DEV("0000_5e_00_0"));
        assert_changed_exactly(h, DEV("0000_5e_00_0"), (const char *const[]) { "Driver", NULL });
        assert_string_equal(prop_str(h, "0000:5e:00.0", "Driver"), "");

        /* Bound to vfio-pci by someone else: devpass shows it, and leaves it. */
        harness_clear_signals(h);
        testbed_bind(h->testbed, "0000:5e:00.0", "vfio-pci");
        if (!harness_wait(h, blockers_changed, DEV("0000_5e_00_0"), WAIT_MS))
                fail_msg("no Blockers change for a device bound to vfio-pci by hand");
        assert_changed_exactly(h, DEV("0000_5e_00_0"), (const char *const[]) { "Driver", "Blockers", NULL });
        assert_string_equal(prop_str(h, "0000:5e:00.0", "Driver"), "vfio-pci");
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, "0000:5e:00.0");
        g_autoptr(GVariant) blockers = g_variant_lookup_value(props, "Blockers", G_VARIANT_TYPE("as"));
        g_autofree char *text = g_variant_print(blockers, FALSE);
        assert_non_null(strstr(text, "by hand (driver_override not written by devpass): devpass leaves it alone"));
        /* Nothing else moved. */
        assert_int_equal(harness_count_signals(h, "+", NULL), 0);
        assert_int_equal(harness_count_signals(h, "-", NULL), 0);
}

static void test_change_attribute(void **state) {
        Harness *h = *state;

        harness_clear_signals(h);
        testbed_set_attr(h->testbed, "0000:3b:00.0", "reset_method", "bus");
        wait_signal(h, "~", DEV("0000_3b_00_0"));
        assert_changed_exactly(h, DEV("0000_3b_00_0"), (const char *const[]) { "ResetMethods", NULL });
}

/* A device that appears on its own (hot-added card). */
static void test_add_back(void **state) {
        Harness *h = *state;

        /* 4 VFs go, 6 new ones come: the client sees all 6 added and the
         * PF says so. */
        sriov_set_and_wait(h, "0000:3b:00.0", 6, "+", 6);
        assert_int_equal(harness_count_signals(h, "-", NULL), 4);
        assert_int_equal(vf_count(h, "0000:3b:00.0"), 6);
}

/* ---- events lost: the resync ---- */

/* devpassd with the ENOBUFS preload (tests/preload/enobufs.c) first in
 * its LD_PRELOAD; the test's own environment is left as it was. */
static Harness *harness_with_enobufs(const char *trigger) {
        Harness *h = harness_prepare("gpu-server.umockdev");
        g_autofree char *saved = g_strdup(g_getenv("LD_PRELOAD"));
        g_autofree char *preload = g_strjoin(":", harness_path("DEVPASS_ENOBUFS_PRELOAD"), saved, NULL);

        g_setenv("LD_PRELOAD", preload, TRUE);
        g_setenv("DEVPASS_TEST_ENOBUFS", trigger, TRUE);
        harness_daemon_start(h, NULL);
        g_unsetenv("DEVPASS_TEST_ENOBUFS");
        if (saved)
                g_setenv("LD_PRELOAD", saved, TRUE);
        else
                g_unsetenv("LD_PRELOAD");
        return h;
}

/* udev's receive buffer overflowed (ENOBUFS) while an event was lost:
 * devpassd reads every device again and tells what changed. */
static void test_overflow(void **state) {
        g_autofree char *trigger = g_build_filename(g_get_tmp_dir(), "devpass-enobufs", NULL);
        g_autoptr(Harness) h = harness_with_enobufs(trigger);

        /* A change no event tells of: the file written behind udev's back. */
        g_autofree char *dir = testbed_device_dir(h->testbed, "0000:3b:00.0");
        g_autofree char *reset = g_build_filename(dir, "reset_method", NULL);
        assert_true(g_file_set_contents(reset, "bus\n", -1, NULL));
        harness_clear_signals(h);

        /* The next read of the uevent socket overflows. */
        assert_true(g_file_set_contents(trigger, "", -1, NULL));
        testbed_uevent(h->testbed, "0000:00:14.0", "change");
        wait_signal(h, "~", DEV("0000_3b_00_0"));
        assert_changed_exactly(h, DEV("0000_3b_00_0"), (const char *const[]) { "ResetMethods", NULL });
        assert_false(g_file_test(trigger, G_FILE_TEST_EXISTS));
        g_autofree char *log = harness_daemon_log(h);
        assert_non_null(strstr(log, "Hotplug events were lost (receive buffer full): reading every device again"));
        harness_daemon_stop(h);
}

/* ---- the resync through the inventory ---- */

/* What hotplug.c does on ENOBUFS (every known or present function queued
 * and read again), through the inventory's API on a testbed whose events
 * nobody read: what it finds besides a changed attribute (functions gone,
 * come, unbound), and that it leaves what a fresh scan reads. */
static InventoryChanges *resync(Inventory *inv) {
        g_autoptr(Coalescer) queue = coalescer_new();

        inventory_queue_all(inv, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        return inventory_apply(inv, entries);
}

static bool changes_hold(GPtrArray *devices, const char *address) {
        for (guint i = 0; i < devices->len; i++)
                if (g_str_equal(((Device *) devices->pdata[i])->address_str, address))
                        return true;
        return false;
}

static DevicePropMask changed_of(InventoryChanges *c, Inventory *inv, const char *address) {
        DpAddress a;

        assert_true(address_parse(address, &a));
        Device *d = inventory_lookup(inv, &a);
        assert_non_null(d);
        return GPOINTER_TO_UINT(g_hash_table_lookup(c->changed, d));
}

static void test_resync(void **state) {
        g_autoptr(Testbed) tb = testbed_new();
        g_autofree char *fixture = g_build_filename(harness_path("DEVPASS_FIXTURES"), "gpu-server.umockdev", NULL);
        testbed_load(tb, fixture);
        g_autoptr(Names) names = names_new(harness_path("DEVPASS_PCI_IDS"));
        g_autoptr(Inventory) inv = inventory_new(testbed_sys_dir(tb), names);

        g_autoptr(InventoryChanges) first = resync(inv);
        assert_int_equal(first->added->len, 22);

        /* Nothing happened: nothing to tell. */
        g_autoptr(InventoryChanges) quiet = resync(inv);
        assert_int_equal(quiet->added->len + quiet->removed->len + g_hash_table_size(quiet->changed), 0);

        /* A card goes, a driver lets go, two VFs come: all events lost. */
        testbed_remove(tb, "0000:5e:00.0");
        testbed_unbind(tb, "0000:17:00.1");
        testbed_sriov_set(tb, "0000:3b:00.1", 2);
        g_autoptr(InventoryChanges) c = resync(inv);
        assert_int_equal(c->removed->len, 1);
        assert_true(changes_hold(c->removed, "0000:5e:00.0"));
        assert_int_equal(c->added->len, 2);
        assert_true(changes_hold(c->added, "0000:3b:0a.0") && changes_hold(c->added, "0000:3b:0a.1"));
        assert_true(changed_of(c, inv, "0000:17:00.1") & DEVICE_PROP_BIT(DEVICE_PROP_DRIVER));
        assert_true(changed_of(c, inv, "0000:3b:00.1") & DEVICE_PROP_BIT(DEVICE_PROP_SRIOV_NUM_VFS));

        /* And the inventory is what a fresh scan reads. */
        g_autoptr(Inventory) fresh = inventory_new(testbed_sys_dir(tb), names);
        g_autoptr(InventoryChanges) scan = resync(fresh);
        GPtrArray *got = inventory_sorted(inv), *want = inventory_sorted(fresh);
        assert_int_equal(got->len, want->len);
        for (guint i = 0; i < got->len; i++) {
                const Device *g = got->pdata[i], *w = want->pdata[i];
                assert_string_equal(g->address_str, w->address_str);
                if (device_diff(g, w) != 0)
                        fail_msg("%s differs from a fresh scan (mask %#x)", g->address_str, device_diff(g, w));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_vf_burst, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_remove, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_bind_unbind, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_change_attribute, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_add_back, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test(test_overflow),
                cmocka_unit_test(test_resync),
        };
        return cmocka_run_group_tests_name("hotplug", tests, NULL, NULL);
}
