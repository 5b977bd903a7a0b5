/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's pure parts: JSON, text, tables, exit codes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "test-props.h"

static void test_json_escape(void **state) {
        g_autofree char *a = ctl_json_escape("plain");
        assert_string_equal(a, "\"plain\"");
        g_autofree char *b = ctl_json_escape("q\"b\\n\nt\tc\x01");
        assert_string_equal(b, "\"q\\\"b\\\\n\\nt\\tc\\u0001\"");
        g_autofree char *c = ctl_json_escape("Gerät %n");
        assert_string_equal(c, "\"Gerät %n\"");
}

static void test_props_json(void **state) {
        g_autoptr(GPtrArray) p = props_new();
        g_ptr_array_add(p, val("Address", 's', "0000:17:00.0", 0));
        g_ptr_array_add(p, val("VendorId", 'q', NULL, 0x10de));
        g_ptr_array_add(p, val("NumaNode", 'i', NULL, -1));
        g_ptr_array_add(p, val("BootVga", 'b', NULL, 1));
        CtlValue *a = val("VirtualFunctions", 'a', NULL, 0);
        a->strv = g_strsplit("/org/devpass1/devices/0000_3b_02_0 /x\"y", " ", -1);
        g_ptr_array_add(p, a);
        CtlValue *e = val("ResetMethods", 'a', NULL, 0);
        g_ptr_array_add(p, e);

        g_autofree char *json = ctl_props_to_json(p);
        assert_string_equal(json, "{\"Address\": \"0000:17:00.0\", \"VendorId\": 4318, \"NumaNode\": -1, "
                                  "\"BootVga\": true, \"VirtualFunctions\": "
                                  "[\"/org/devpass1/devices/0000_3b_02_0\", \"/x\\\"y\"], \"ResetMethods\": []}");
}

static void test_object_json(void **state) {
        CtlObject o = { .path = "/org/devpass1/attachments/1", .props = props_new() };
        g_ptr_array_add(o.props, val("Name", 's', "gpu 1", 0));
        g_ptr_array_add(o.props, val("Count", 'u', NULL, 2));
        g_autofree char *json = ctl_object_to_json(&o);
        assert_string_equal(json, "{\"Path\": \"/org/devpass1/attachments/1\", \"Name\": \"gpu 1\", \"Count\": 2}");

        g_ptr_array_set_size(o.props, 0);
        g_autofree char *bare = ctl_object_to_json(&o);
        assert_string_equal(bare, "{\"Path\": \"/org/devpass1/attachments/1\"}");
        g_autofree char *none = ctl_props_to_json(o.props);
        assert_string_equal(none, "{}");
        g_ptr_array_unref(o.props);
}

static void test_text(void **state) {
        g_autoptr(CtlValue) q = val("VendorId", 'q', NULL, 0x8086);
        g_autofree char *qt = ctl_value_to_text(q);
        assert_string_equal(qt, "0x8086");
        g_autoptr(CtlValue) c = val("Class", 'u', NULL, 0x030000);
        g_autofree char *ct = ctl_value_to_text(c);
        assert_string_equal(ct, "0x030000");
        g_autoptr(CtlValue) o = val("PhysicalFunction", 'o', "/org/devpass1/devices/0000_3b_00_0", 0);
        g_autofree char *ot = ctl_value_to_text(o);
        assert_string_equal(ot, "0000:3b:00.0");
        g_autoptr(CtlValue) none = val("PhysicalFunction", 'o', "/", 0);
        g_autofree char *nt = ctl_value_to_text(none);
        assert_string_equal(nt, "-");
        g_autoptr(CtlValue) s = val("Driver", 's', "", 0);
        g_autofree char *st = ctl_value_to_text(s);
        assert_string_equal(st, "-");
}


static void test_sriov_and_name(void **state) {
        g_autoptr(GPtrArray) pf = props_new();
        g_ptr_array_add(pf, val("PhysicalFunction", 'o', "/", 0));
        g_ptr_array_add(pf, val("SriovTotalVfs", 'u', NULL, 64));
        g_ptr_array_add(pf, val("SriovNumVfs", 'u', NULL, 4));
        g_ptr_array_add(pf, val("VendorName", 's', "Intel Corporation", 0));
        g_ptr_array_add(pf, val("DeviceName", 's', "Ethernet Controller X710 for 10GbE SFP+", 0));
        g_ptr_array_add(pf, val("VendorId", 'q', NULL, 0x8086));
        g_ptr_array_add(pf, val("DeviceId", 'q', NULL, 0x1572));
        g_autofree char *t = ctl_sriov_text(pf);
        assert_string_equal(t, "PF 4/64");
        g_autofree char *n = ctl_device_name(pf);
        assert_string_equal(n, "Intel Corporation Ethernet Controller X710 for 10GbE SFP+ [8086:1572]");

        g_autoptr(GPtrArray) vf = props_new();
        g_ptr_array_add(vf, val("PhysicalFunction", 'o', "/org/devpass1/devices/0000_3b_00_0", 0));
        g_autofree char *v = ctl_sriov_text(vf);
        assert_string_equal(v, "VF of 0000:3b:00.0");

        g_autoptr(GPtrArray) plain = props_new();
        g_ptr_array_add(plain, val("VendorId", 'q', NULL, 0x1234));
        g_ptr_array_add(plain, val("DeviceId", 'q', NULL, 0x5678));
        g_autofree char *pt = ctl_sriov_text(plain);
        assert_string_equal(pt, "-");
        g_autofree char *pn = ctl_device_name(plain);
        assert_string_equal(pn, "[1234:5678]");
}

static GPtrArray *row(const char *a, const char *b, const char *c) {
        GPtrArray *r = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(r, g_strdup(a));
        g_ptr_array_add(r, g_strdup(b));
        g_ptr_array_add(r, g_strdup(c));
        return r;
}

static void test_table(void **state) {
        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        g_ptr_array_add(rows, row("ADDRESS", "NAME", "DRIVER"));
        g_ptr_array_add(rows, row("0000:17:00.0", "NVIDIA Gerät", "nvidia"));
        g_ptr_array_add(rows, row("0000:00:14.0", "x", "-"));

        g_autofree char *t = ctl_table_format(rows, 1, 0);
        assert_string_equal(t, "ADDRESS       NAME          DRIVER\n"
                               "0000:17:00.0  NVIDIA Gerät  nvidia\n"
                               "0000:00:14.0  x             -\n");

        /* Too narrow: the name column is cut, the others stay whole. */
        g_autofree char *n = ctl_table_format(rows, 1, 30);
        g_auto(GStrv) lines = g_strsplit(n, "\n", -1);
        assert_int_equal(g_utf8_strlen(lines[1], -1), 30);
        assert_non_null(strstr(lines[1], "…"));
        assert_non_null(strstr(lines[1], "nvidia"));
}

static void test_table_fits(void **state) {
        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        g_ptr_array_add(rows, row("ADDRESS", "NAME", "HOLDER"));
        g_ptr_array_add(rows, row("0000:17:00.0", "NVIDIA Corporation GA100 [A100]", "vm1"));

        /* 12 + 2 + 31 + 2 + 6 = 53 whole; the name down to 10: 32. */
        assert_true(ctl_table_fits(rows, 1, 40, 0));
        assert_true(ctl_table_fits(rows, 1, 40, 53));
        assert_true(ctl_table_fits(rows, 1, 10, 32));
        assert_false(ctl_table_fits(rows, 1, 10, 31));
        assert_false(ctl_table_fits(rows, 1, 40, 52));
        /* Another column to cut: the name stays whole. */
        assert_false(ctl_table_fits(rows, 2, 0, 46));
        assert_true(ctl_table_fits(rows, 2, 0, 47));
}

static void test_exit_codes(void **state) {
        assert_int_equal(ctl_exit_code_for_error("org.devpass1.Error.NotFound", -ENOENT), CTL_EXIT_NOT_FOUND);
        assert_int_equal(ctl_exit_code_for_error("org.devpass1.Error.InvalidArgument", -EINVAL), CTL_EXIT_USAGE);
        assert_int_equal(ctl_exit_code_for_error("org.freedesktop.DBus.Error.ServiceUnknown", -EHOSTDOWN),
                         CTL_EXIT_NOT_RUNNING);
        assert_int_equal(ctl_exit_code_for_error("org.devpass1.Error.NotAuthorized", -EACCES),
                         CTL_EXIT_NOT_AUTHORIZED);
        assert_int_equal(ctl_exit_code_for_error(NULL, -ECONNREFUSED), CTL_EXIT_NOT_RUNNING);
        assert_int_equal(ctl_exit_code_for_error(NULL, -ENOENT), CTL_EXIT_NOT_RUNNING);
        assert_int_equal(ctl_exit_code_for_error("org.devpass1.Error.Failed", -EIO), CTL_EXIT_FAILURE);
        assert_int_equal(ctl_exit_code_for_error("org.devpass1.Error.Unsafe", -EPERM), CTL_EXIT_UNSAFE);
        assert_int_equal(CTL_EXIT_UNSAFE, 6);
        assert_int_equal(ctl_exit_code_for_error("org.devpass1.Error.Busy", -EBUSY), CTL_EXIT_FAILURE);
}

/* Arrays of structs: arrays of arrays in JSON, sentences for people. */
static void test_tuples(void **state) {
        g_autoptr(GPtrArray) p = props_new();
        g_ptr_array_add(p, val_tuples("Conditions", "sss", "vendor|eq|10de;device-name|contains|RTX 4090"));
        g_ptr_array_add(p, val_tuples("Conflicts", "oo", ""));
        g_ptr_array_add(p, val("Weird", '?', NULL, 0));
        g_autofree char *json = ctl_props_to_json(p);
        assert_string_equal(json, "{\"Conditions\": [[\"vendor\", \"eq\", \"10de\"], "
                                  "[\"device-name\", \"contains\", \"RTX 4090\"]], \"Conflicts\": [], "
                                  "\"Weird\": null}");

        g_autofree char *conditions = ctl_value_to_text(p->pdata[0]);
        assert_string_equal(conditions, "vendor eq 10de, device-name contains 'RTX 4090'");
        g_autofree char *none = ctl_value_to_text(p->pdata[1]);
        assert_string_equal(none, "-");
        assert_int_equal(ctl_props_num(p, "Conditions"), -1);
        assert_null(ctl_props_strv(p, "Conditions"));
        assert_int_equal(ctl_props_tuples(p, "Conditions")->len, 2);

        /* Device paths read as addresses, strings stay as they are. */
        g_autoptr(CtlValue) reasons = val_tuples("RebootReasons", "ss", "0000:17:00.0|nvidia is in use;"
                                                                      "/org/devpass1/devices/0000_17_00_1|x");
        g_autofree char *rt = ctl_value_to_text(reasons);
        assert_string_equal(rt, "0000:17:00.0 nvidia is in use, /org/devpass1/devices/0000_17_00_1 x");
        g_autoptr(CtlValue) pairs = val_tuples("Conflicts", "oo", "/org/devpass1/devices/0000_17_00_1|"
                                                                  "/org/devpass1/rules/3");
        g_autofree char *pt = ctl_value_to_text(pairs);
        assert_string_equal(pt, "0000:17:00.1 /org/devpass1/rules/3");
}

static void test_details(void **state) {
        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
        const char *cells[] = { "Name", "gpu", "Description", "two\nlines", "Rules", "-" };
        for (size_t i = 0; i < G_N_ELEMENTS(cells); i++)
                g_ptr_array_add(rows, g_strdup(cells[i]));
        g_autofree char *t = ctl_details_format(rows);
        assert_string_equal(t, "       Name: gpu\n"
                               "Description: two\n"
                               "             lines\n"
                               "      Rules: -\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_escape),
                cmocka_unit_test(test_props_json),
                cmocka_unit_test(test_object_json),
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_sriov_and_name),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_table_fits),
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_tuples),
                cmocka_unit_test(test_details),
        };
        return cmocka_run_group_tests_name("client-format", tests, NULL, NULL);
}
