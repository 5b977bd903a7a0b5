/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Make passthrough, the reference's flow, on the GPU server: the group and
 * rules that appear, the sysfs writes in order, the states, a restart, the
 * safety guard, a driver that will not let go, and a reboot. Real polkitd,
 * a fake kernel answering the binder's writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakekernel.h"
#include "harness.h"

typedef struct {
        Harness *h;
        FakeKernel *fk;
} Fixture;

#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define DEV(a) "/org/devpass1/devices/" a

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = harness_new("gpu-server.umockdev", NULL);
        harness_polkit_start(f->h, NULL);
        f->fk = fakekernel_new(f->h->testbed);
        fakekernel_load_vfio(f->fk, true);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f);
        return 0;
}

static char *path_of(const char *address) {
        g_autofree char *p = g_strdup_printf("/org/devpass1/devices/%s", address);
        g_strdelimit(p + strlen("/org/devpass1/devices/"), ":.", '_');
        return g_steal_pointer(&p);
}

static GVariant *paths_variant(const char *const *addresses) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("ao"));
        for (size_t i = 0; addresses[i]; i++) {
                g_autofree char *p = path_of(addresses[i]);
                g_variant_builder_add(&b, "o", p);
        }
        return g_variant_builder_end(&b);
}

/* MakePassthrough into a new group of that name; the reply or NULL with *error. */
static GVariant *make_new(Fixture *f, const char *const *addresses, const char *name, bool force, GError **error) {
        GVariantBuilder o;

        g_variant_builder_init(&o, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&o, "{sv}", "Name", g_variant_new_string(name));
        g_variant_builder_add(&o, "{sv}", "Type", g_variant_new_string("pci"));
        g_variant_builder_add(&o, "{sv}", "Class", g_variant_new_string("gpu"));
        if (force)
                g_variant_builder_add(&o, "{sv}", "Force", g_variant_new_boolean(TRUE));
        return harness_call(f->h, "/org/devpass1", "org.devpass1.Manager", "MakePassthrough",
                            g_variant_new("(@ao@a{sv})", paths_variant(addresses), g_variant_builder_end(&o)),
                            error);
}

static GVariant *prop(Fixture *f, const char *path, const char *interface, const char *name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = harness_call(f->h, path, "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new("(ss)", interface, name), &error);
        g_assert_no_error(error);
        GVariant *v;
        g_variant_get(r, "(v)", &v);
        return v;
}

static char *device_str(Fixture *f, const char *address, const char *name) {
        g_autofree char *path = path_of(address);
        g_autoptr(GVariant) v = prop(f, path, "org.devpass1.Device", name);
        return g_variant_dup_string(v, NULL);
}

typedef struct {
        Fixture *f;
        const char *address;
        const char *driver;
} DriverWait;

static bool driver_is(Harness *h, void *data) {
        DriverWait *w = data;
        g_autofree char *driver = device_str(w->f, w->address, "Driver");
        return g_str_equal(driver, w->driver);
}

static void assert_driver(Fixture *f, const char *address, const char *driver) {
        DriverWait w = { f, address, driver };
        if (!harness_wait(f->h, driver_is, &w, 5000)) {
                g_autofree char *now = device_str(f, address, "Driver");
                fail_msg("%s: driver %s, want %s", address, now, driver);
        }
}

static void assert_remote_error(GError *error, const char *name, const char *in_message) {
        assert_non_null(error);
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        if (!remote || !g_str_equal(remote, name))
                fail_msg("got %s (%s), want %s", remote ?: "no remote error", error->message, name);
        if (in_message && !strstr(error->message, in_message))
                fail_msg("message '%s' does not mention '%s'", error->message, in_message);
}

static char *override_of(Fixture *f, const char *address) {
        fakekernel_lock(f->fk);
        char *v = testbed_read_attr(f->h->testbed, address, "driver_override");
        fakekernel_unlock(f->fk);
        return v;
}

/* The kernel shows no override as "(null)". */
static bool override_none(const char *v) {
        return !v || !*v || g_str_equal(v, "(null)");
}

static void assert_writes(Fixture *f, const char *const *want) {
        g_auto(GStrv) writes = fakekernel_writes(f->fk);
        g_autofree char *got = g_strjoinv("\n", writes);
        g_autofree char *expected = g_strjoinv("\n", (char **) want);
        assert_string_equal(got, expected);
}

static void test_flow(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { GPU, GPU_AUDIO, NULL };
        g_autoptr(GError) error = NULL;
        const char *group;
        gboolean reboot;

        g_autoptr(GVariant) r = make_new(f, gpu, "PCI GPUs", false, &error);
        g_assert_no_error(error);
        g_variant_get(r, "(&ob)", &group, &reboot);
        assert_false(reboot);
        assert_driver(f, GPU, "vfio-pci");
        assert_driver(f, GPU_AUDIO, "vfio-pci");
        fakekernel_sync(f->fk);
        const char *want[] = {
                "driver_override " GPU " vfio-pci", "unbind " GPU, "drivers_probe " GPU,
                "driver_override " GPU_AUDIO " vfio-pci", "unbind " GPU_AUDIO, "drivers_probe " GPU_AUDIO, NULL,
        };
        assert_writes(f, want);

        /* The group, its two rules, the devices' view. */
        g_autoptr(GVariant) name = prop(f, group, "org.devpass1.Group", "Name");
        assert_string_equal(g_variant_get_string(name, NULL), "PCI GPUs");
        g_autoptr(GVariant) total = prop(f, group, "org.devpass1.Group", "Total");
        assert_int_equal(g_variant_get_uint32(total), 2);
        g_autoptr(GVariant) free_count = prop(f, group, "org.devpass1.Group", "Free");
        assert_int_equal(g_variant_get_uint32(free_count), 2);
        g_autoptr(GVariant) rules = prop(f, group, "org.devpass1.Group", "Rules");
        assert_int_equal(g_variant_n_children(rules), 2);
        const char *rule;
        g_variant_get_child(rules, 0, "&o", &rule);
        g_autoptr(GVariant) conditions = prop(f, rule, "org.devpass1.Rule", "Conditions");
        g_autofree char *text = g_variant_print(conditions, FALSE);
        assert_string_equal(text, "[('vendor', 'eq', '10de'), ('device', 'eq', '2230'), ('address', 'eq', '" GPU "')]");
        g_autoptr(GVariant) node = prop(f, rule, "org.devpass1.Rule", "Node");
        assert_string_equal(g_variant_get_string(node, NULL), "testnode");
        for (size_t i = 0; gpu[i]; i++) {
                g_autofree char *st = device_str(f, gpu[i], "State");
                assert_string_equal(st, "passthrough");
                g_autofree char *g = device_str(f, gpu[i], "Group");
                assert_string_equal(g, group);
        }
        g_autofree char *other = device_str(f, "0000:b1:00.0", "Group");
        assert_string_equal(other, "/");

        /* Restart: everything as it was, and nothing written again. */
        g_autofree char *group_path = g_strdup(group);
        fakekernel_clear_writes(f->fk);
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        g_autoptr(GVariant) free_again = prop(f, group_path, "org.devpass1.Group", "Free");
        assert_int_equal(g_variant_get_uint32(free_again), 2);
        g_autofree char *st = device_str(f, GPU, "State");
        assert_string_equal(st, "passthrough");
        fakekernel_sync(f->fk);
        g_auto(GStrv) none = fakekernel_writes(f->fk);
        assert_null(none[0]);

        /* The boot-time list names both. */
        g_autofree char *dir = harness_state_dir(f->h);
        g_autofree char *list_path = g_build_filename(dir, "vfio-pci.list", NULL);
        g_autofree char *list = NULL;
        assert_true(g_file_get_contents(list_path, &list, NULL, NULL));
        assert_non_null(strstr(list, "\n" GPU "\n" GPU_AUDIO "\n"));

        /* Back to the host: override cleared, host drivers back, rules stay. */
        g_autoptr(GVariant) back = harness_call(f->h, "/org/devpass1", "org.devpass1.Manager", "RemovePassthrough",
                                                g_variant_new("(@ao)", paths_variant(gpu)), &error);
        g_assert_no_error(error);
        assert_driver(f, GPU, "nvidia");
        assert_driver(f, GPU_AUDIO, "snd_hda_intel");
        g_autofree char *cleared = override_of(f, GPU);
        assert_true(override_none(cleared));
        g_autofree char *host = device_str(f, GPU, "State");
        assert_string_equal(host, "host");
        g_autoptr(GVariant) free_none = prop(f, group_path, "org.devpass1.Group", "Free");
        assert_int_equal(g_variant_get_uint32(free_none), 0);
        g_autoptr(GVariant) total_still = prop(f, group_path, "org.devpass1.Group", "Total");
        assert_int_equal(g_variant_get_uint32(total_still), 2);
}

static void test_guard_iommu_sibling(void **state) {
        Fixture *f = *state;
        const char *alone[] = { GPU, NULL };
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r = make_new(f, alone, "PCI GPUs", false, &error);
        assert_null(r);
        assert_remote_error(error, "org.devpass1.Error.Unsafe", GPU_AUDIO);
        g_autofree char *driver = device_str(f, GPU, "Driver");
        assert_string_equal(driver, "nvidia");
        g_autofree char *ov = override_of(f, GPU);
        assert_true(override_none(ov));
        /* Nothing was created either. */
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autofree char *text = g_variant_print(objects, FALSE);
        assert_null(strstr(text, "org.devpass1.Group"));
}

static void test_guard_boot_vga(void **state) {
        Fixture *f = *state;
        const char *vga[] = { "0000:04:00.0", NULL };
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r = make_new(f, vga, "Console", false, &error);
        assert_null(r);
        assert_remote_error(error, "org.devpass1.Error.Unsafe", "boot VGA");

        /* With Force, as root (who holds every action): done. */
        g_clear_error(&error);
        g_autoptr(GVariant) forced = make_new(f, vga, "Console", true, &error);
        g_assert_no_error(error);
        assert_driver(f, "0000:04:00.0", "vfio-pci");
}

static void test_check_reports(void **state) {
        Fixture *f = *state;
        const char *both[] = { GPU, "0000:04:00.0", NULL };
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r = harness_call(f->h, "/org/devpass1", "org.devpass1.Manager", "CheckPassthrough",
                                             g_variant_new("(@ao)", paths_variant(both)), &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) findings = g_variant_get_child_value(r, 0);
        assert_int_equal(g_variant_n_children(findings), 2);
        const char *address, *kind, *subject, *message;
        g_variant_get_child(findings, 0, "(&s&s&s&s)", &address, &kind, &subject, &message);
        assert_string_equal(address, GPU);
        assert_string_equal(kind, "iommu-group");
        assert_string_equal(subject, GPU_AUDIO);
        g_variant_get_child(findings, 1, "(&s&s&s&s)", &address, &kind, &subject, &message);
        assert_string_equal(kind, "boot-vga");
        /* A dry run: nothing written. */
        fakekernel_sync(f->fk);
        g_auto(GStrv) writes = fakekernel_writes(f->fk);
        assert_null(writes[0]);
}

static void test_driver_refuses(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { GPU, GPU_AUDIO, NULL };
        g_autoptr(GError) error = NULL;
        gboolean reboot;

        fakekernel_refuse_unbind(f->fk, "nvidia");
        g_autoptr(GVariant) r = make_new(f, gpu, "PCI GPUs", false, &error);
        g_assert_no_error(error);
        g_variant_get(r, "(&ob)", NULL, &reboot);
        assert_true(reboot);
        assert_driver(f, GPU_AUDIO, "vfio-pci");
        g_autofree char *driver = device_str(f, GPU, "Driver");
        assert_string_equal(driver, "nvidia");
        g_autofree char *ov = override_of(f, GPU);
        assert_string_equal(ov, "vfio-pci");
        g_autofree char *st = device_str(f, GPU, "State");
        assert_string_equal(st, "passthrough");
        g_autoptr(GVariant) required = prop(f, "/org/devpass1", "org.devpass1.Manager", "RebootRequired");
        assert_true(g_variant_get_boolean(required));
        g_autoptr(GVariant) reasons = prop(f, "/org/devpass1", "org.devpass1.Manager", "RebootReasons");
        g_autofree char *text = g_variant_print(reasons, FALSE);
        assert_non_null(strstr(text, "'" GPU "'"));
        assert_non_null(strstr(text, "nvidia"));
        g_autofree char *path = path_of(GPU);
        g_autoptr(GVariant) blockers = prop(f, path, "org.devpass1.Device", "Blockers");
        assert_int_equal(g_variant_n_children(blockers), 1);

        /* A reboot with the boot-time list: it comes up on vfio-pci. */
        harness_daemon_stop(f->h);
        g_autofree char *dir = harness_state_dir(f->h);
        g_autofree char *list_path = g_build_filename(dir, "vfio-pci.list", NULL);
        g_autofree char *list = NULL;
        assert_true(g_file_get_contents(list_path, &list, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(list, "\n", -1);
        g_autoptr(GPtrArray) addresses = g_ptr_array_new();
        for (size_t i = 0; lines[i]; i++)
                if (*lines[i] && lines[i][0] != '#')
                        g_ptr_array_add(addresses, lines[i]);
        g_ptr_array_add(addresses, NULL);
        fakekernel_reboot(f->fk, (const char *const *) addresses->pdata);
        harness_daemon_start(f->h, NULL);
        g_autofree char *after = device_str(f, GPU, "Driver");
        assert_string_equal(after, "vfio-pci");
        g_autoptr(GVariant) cleared = prop(f, "/org/devpass1", "org.devpass1.Manager", "RebootRequired");
        assert_false(g_variant_get_boolean(cleared));
}

static bool has_object(Fixture *f, const char *path) {
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autoptr(GVariant) v = g_variant_lookup_value(objects, path, NULL);
        return v != NULL;
}

static void test_missing(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { "0000:b1:00.0", "0000:b1:00.1", NULL };
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r = make_new(f, gpu, "PCI GPUs", false, &error);
        g_assert_no_error(error);
        assert_driver(f, "0000:b1:00.1", "vfio-pci");

        /* The card goes while the daemon runs: its audio function stays
         * known, as missing, not forgotten. */
        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, "0000:b1:00.1");
        fakekernel_unlock(f->fk);
        g_autofree char *audio = path_of("0000:b1:00.1");
        for (int i = 0; i < 100; i++) {
                g_autofree char *st = NULL;
                if (has_object(f, audio) && g_str_equal((st = device_str(f, "0000:b1:00.1", "State")), "missing"))
                        break;
                g_usleep(20000);
        }
        g_autofree char *st = device_str(f, "0000:b1:00.1", "State");
        assert_string_equal(st, "missing");
        g_autoptr(GVariant) blockers = prop(f, audio, "org.devpass1.Device", "Blockers");
        g_autofree char *text = g_variant_print(blockers, FALSE);
        assert_non_null(strstr(text, "not present on this node"));

        /* After a restart too. */
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        g_autofree char *again = device_str(f, "0000:b1:00.1", "State");
        assert_string_equal(again, "missing");

        /* Released, it is forgotten. */
        const char *one[] = { "0000:b1:00.1", NULL };
        g_autoptr(GVariant) back = harness_call(f->h, "/org/devpass1", "org.devpass1.Manager", "RemovePassthrough",
                                                g_variant_new("(@ao)", paths_variant(one)), &error);
        g_assert_no_error(error);
        assert_false(has_object(f, audio));
        g_autofree char *gone = device_str(f, "0000:b1:00.0", "State");
        assert_string_equal(gone, "passthrough");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_flow, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guard_iommu_sibling, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guard_boot_vga, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_reports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_driver_refuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        };
        return cmocka_run_group_tests_name("passthrough", tests, NULL, NULL);
}
