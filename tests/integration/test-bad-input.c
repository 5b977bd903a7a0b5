/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bad input from callers and from sysfs: named errors, never a crash, never
 * a mangled reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"

static void assert_alive(Harness *h) {
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        assert_true(g_variant_n_children(objects) > 0);
}

static void test_bad_addresses(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        static const char *const bad[] = {
                "", "zz", "0000:17:00", "0000:17:00.8", "0000:17:20.0", "%n%n%n%s%s",
                "0000:17:00.0\n", "../../../etc/passwd", "0000:17:00.0;rm -rf /",
                "\xc3\xa9\xc3\xa9", "00000000000000000000000000000000000000000000000000000:00:00.0",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                calls_assert_error(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                                   g_variant_new("(s)", bad[i]), "org.devpass1.Error.InvalidArgument",
                                   "dddd:bb:ss.f");
        calls_assert_error(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                           g_variant_new("(s)", "0000:99:00.0"), "org.devpass1.Error.NotFound", "0000:99:00.0");
        assert_alive(h);
}

static void test_bad_types(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);

        /* The standard error, naming the signature the method takes. */
        calls_assert_error(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                           g_variant_new("(u)", 42), "org.freedesktop.DBus.Error.InvalidArgs", "type 's'");
        calls_assert_error(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                           g_variant_new("(ss)", "0000:17:00.0", "x"), "org.freedesktop.DBus.Error.InvalidArgs", NULL);
        calls_assert_error(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                           NULL, "org.freedesktop.DBus.Error.InvalidArgs", NULL);
        calls_assert_error(h, "/org/devpass1", "org.devpass1.Manager", "NoSuchMethod",
                           NULL, "org.freedesktop.DBus.Error.UnknownMethod", NULL);
        /* Properties are read-only. */
        calls_assert_error(h, "/org/devpass1/devices/0000_17_00_0", "org.freedesktop.DBus.Properties", "Set",
                           g_variant_new("(ssv)", "org.devpass1.Device", "Driver", g_variant_new_string("x")),
                           "org.freedesktop.DBus.Error.PropertyReadOnly", NULL);
        assert_alive(h);
}

static void test_bad_paths(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);

        calls_assert_error(h, "/org/devpass1/devices/0000_99_00_0", "org.freedesktop.DBus.Properties", "GetAll",
                           g_variant_new("(s)", "org.devpass1.Device"), "org.freedesktop.DBus.Error.UnknownObject",
                           "0000_99_00_0");
        calls_assert_error(h, "/org/devpass1/devices/bogus", "org.freedesktop.DBus.Properties", "GetAll",
                           g_variant_new("(s)", "org.devpass1.Device"), "org.freedesktop.DBus.Error.UnknownObject",
                           "bogus");
        calls_assert_error(h, "/org/devpass1/devices/0000_17_00_0_0", "org.freedesktop.DBus.Properties", "Get",
                           g_variant_new("(ss)", "org.devpass1.Device", "Driver"),
                           "org.freedesktop.DBus.Error.UnknownObject", NULL);
        calls_assert_error(h, "/org/devpass1/devices/0000_17_00_0", "org.freedesktop.DBus.Properties", "Get",
                           g_variant_new("(ss)", "org.devpass1.Device", "NoSuchProperty"),
                           "org.freedesktop.DBus.Error.UnknownProperty", NULL);
        /* Objects that are not there, as the standard error says it. */
        const char *const gone[] = {
                "/org/devpass1/devices/0000_99_00_0", "/org/devpass1/groups/999", "/org/devpass1/rules/999",
                "/org/devpass1/attachments/999", "/org/devpass1/nothing",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(gone); i++)
                calls_assert_error(h, gone[i], "org.freedesktop.DBus.Properties", "Get",
                                   g_variant_new("(ss)", "org.devpass1.Device", "Driver"),
                                   "org.freedesktop.DBus.Error.UnknownObject", NULL);
        assert_alive(h);
}

/* A string cut in an error message stays UTF-8, or the bus would refuse
 * the reply and the caller wait for ever. */
static void test_utf8_cut(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        const char *const words[] = { "é", "Ω", "\xf0\x9f\x92\xa9" };

        for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
                for (int n = 35; n <= 41; n++) {
                        g_autoptr(GString) s = g_string_new(NULL);
                        for (int k = 0; k < n; k++)
                                g_string_append(s, words[i]);
                        calls_assert_error(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                                           g_variant_new("(s)", s->str), "org.devpass1.Error.InvalidArgument",
                                           "not a PCI address");
                }
        assert_alive(h);
}

static void write_file(const char *path, const char *contents, gssize len) {
        g_autoptr(GError) error = NULL;
        assert_true(g_file_set_contents(path, contents, len, &error));
}

/* A function with hostile and broken sysfs entries, and a pci.ids whose
 * names are format strings and bytes that are not UTF-8. */
static void test_hostile_sysfs(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        harness_daemon_stop(h);

        g_autofree char *ids = g_build_filename(h->tmpdir, "hostile.ids", NULL);
        write_file(ids,
                   "# hostile names\n"
                   "10de  %n%n%s%s Corp \xff\xfe\x01\n"
                   "\t2230  GA102GL %x%x%x\x1b[31m\n"
                   "C 03  Display controller\n"
                   "\t00  VGA compatible controller\n", -1);

        const char *sys = testbed_sys_dir(h->testbed);
        g_autofree char *gpu = g_build_filename(sys, "bus/pci/devices/0000:17:00.0", NULL);
        g_autofree char *real = realpath(gpu, NULL);
        assert_non_null(real);
        g_autofree char *driver = g_build_filename(real, "driver", NULL);
        g_autofree char *vendor = g_build_filename(real, "vendor", NULL);
        g_autofree char *config = g_build_filename(real, "config", NULL);
        g_autofree char *numa = g_build_filename(real, "numa_node", NULL);
        g_autofree char *resets = g_build_filename(real, "reset_method", NULL);
        /* A driver whose name carries a newline and a format string. */
        assert_int_equal(unlink(driver), 0);
        assert_int_equal(symlink("../../../bus/pci/drivers/evil\nname%n", driver), 0);
        write_file(vendor, "0x10de\n", -1);
        write_file(numa, "not a number\n", -1);
        write_file(resets, "flr \x01\xff bus\n", -1);

        /* The audio function: no vendor attribute, no config, dangling iommu_group. */
        g_autofree char *audio = g_build_filename(sys, "bus/pci/devices/0000:17:00.1", NULL);
        g_autofree char *audio_real = realpath(audio, NULL);
        g_autofree char *audio_vendor = g_build_filename(audio_real, "vendor", NULL);
        g_autofree char *audio_config = g_build_filename(audio_real, "config", NULL);
        g_autofree char *audio_group = g_build_filename(audio_real, "iommu_group", NULL);
        (void) unlink(audio_vendor);
        (void) unlink(audio_config);
        assert_int_equal(unlink(audio_group), 0);
        assert_int_equal(symlink("../../../kernel/iommu_groups/nonexistent", audio_group), 0);
        (void) config;

        harness_daemon_start(h, (const char *const[]) { "--pci-ids", ids, NULL });

        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, "0000:17:00.0");
        assert_non_null(props);
        const char *s;
        assert_true(g_variant_lookup(props, "VendorName", "&s", &s));
        assert_non_null(strstr(s, "%n%n%s%s Corp"));
        assert_null(strchr(s, '\x01'));
        assert_true(g_variant_lookup(props, "DeviceName", "&s", &s));
        assert_non_null(strstr(s, "GA102GL %x%x%x"));
        assert_null(strchr(s, '\x1b'));
        assert_true(g_variant_lookup(props, "Driver", "&s", &s));
        assert_string_equal(s, "evil?name%n");
        gint32 n;
        assert_true(g_variant_lookup(props, "NumaNode", "i", &n));
        assert_int_equal(n, -1);
        guint16 q;
        assert_true(g_variant_lookup(props, "VendorId", "q", &q));
        assert_int_equal(q, 0x10de);
        g_autoptr(GVariant) rv = g_variant_lookup_value(props, "ResetMethods", G_VARIANT_TYPE("as"));
        g_autofree const char **r = g_variant_get_strv(rv, NULL);
        assert_int_equal(g_strv_length((char **) r), 3);
        assert_string_equal(r[0], "flr");
        assert_string_equal(r[2], "bus");

        /* The audio function is there with what could be read. */
        g_autoptr(GVariant) aprops = harness_device_props(objects, "0000:17:00.1");
        assert_non_null(aprops);
        assert_true(g_variant_lookup(aprops, "VendorId", "q", &q));
        assert_int_equal(q, 0);
        assert_true(g_variant_lookup(aprops, "IommuGroup", "i", &n));
        assert_int_equal(n, -1);
        assert_true(g_variant_lookup(aprops, "DeviceId", "q", &q));
        assert_int_equal(q, 0x1aef);

        /* One log line per broken function, naming it; the format strings
         * were never interpreted. */
        g_autofree char *log = harness_daemon_log(h);
        g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
        guint gpu_lines = 0, audio_lines = 0;
        for (char **l = lines; *l; l++) {
                gpu_lines += strstr(*l, "0000:17:00.0") != NULL;
                audio_lines += strstr(*l, "0000:17:00.1") != NULL;
        }
        assert_int_equal(gpu_lines, 1);
        assert_int_equal(audio_lines, 1);
        assert_alive(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_addresses),
                cmocka_unit_test(test_bad_types),
                cmocka_unit_test(test_bad_paths),
                cmocka_unit_test(test_utf8_cut),
                cmocka_unit_test(test_hostile_sysfs),
        };
        return cmocka_run_group_tests_name("bad-input", tests, NULL, NULL);
}
