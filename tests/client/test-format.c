/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's pure parts: JSON, text, tables, exit codes. */
#include <errno.h>
#include <locale.h>
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

        g_ptr_array_add(p, val("Driver", 's', "", 0));
        g_ptr_array_add(p, val("PhysicalFunction", 'o', "/", 0));

        /* Lower-case keys, devices as addresses, null for none. */
        g_autofree char *json = ctl_props_to_json(p);
        assert_string_equal(json, "{\"address\": \"0000:17:00.0\", \"vendor_id\": 4318, \"numa_node\": null, "
                                  "\"boot_vga\": true, \"virtual_functions\": "
                                  "[\"0000:3b:02.0\", \"/x\\\"y\"], \"reset_methods\": [], \"driver\": null, "
                                  "\"physical_function\": null}");
        g_autoptr(GPtrArray) none = props_new();
        g_autofree char *empty = ctl_props_to_json(none);
        assert_string_equal(empty, "{}");
}

static void test_error_words(void **state) {
        g_autofree char *a = ctl_error_words("Group g still has 2 devices passed through (a, b): release them first, "
                                             "or delete it with Release");
        assert_string_equal(a, "Group g still has 2 devices passed through (a, b): give them back first (devpassctl "
                               "give-back), or delete it with --release");
        g_autofree char *b = ctl_error_words("x is held by vm1: release the machine (or take it back from the tenant) "
                                             "first");
        assert_string_equal(b, "x is held by vm1: release the machine (devpassctl release-machine) (or take it back "
                               "from the tenant) first");
        g_autofree char *c = ctl_error_words("MAC m is taken by vm2: leave Mac blank for a new one");
        assert_string_equal(c, "MAC m is taken by vm2: leave --mac out for a new one");
        g_autofree char *d = ctl_error_words("Mac and Force are words too");
        assert_string_equal(d, "Mac and Force are words too");
}

static void test_error_text(void **state) {
        g_autofree char *hung = ctl_error_text("GetManagedObjects", "org.freedesktop.DBus.Error.Timeout",
                                               "Connection timed out", -ETIMEDOUT);
        assert_string_equal(hung, "devpassd does not answer: is it hung? systemctl status devpassd");
        g_autofree char *gone = ctl_error_text("GetAll", "org.freedesktop.DBus.Error.ServiceUnknown", "x", -EHOSTDOWN);
        assert_true(g_str_has_prefix(gone, "devpassd is not running on the system bus"));
        g_autofree char *policy = ctl_error_text("GetAll", "org.freedesktop.DBus.Error.AccessDenied",
                                                 "Rejected send message, 1 matched rules; type=\"method_call\"",
                                                 -EACCES);
        assert_true(g_str_has_prefix(policy, "the system bus refuses calls to devpassd: its bus policy"));
        g_autofree char *object = ctl_error_text("GetAll", "org.freedesktop.DBus.Error.UnknownObject",
                                                 "Unknown object '/org/devpass1/devices/0000_99_00_0'.", -ENXIO);
        assert_string_equal(object, "No PCI function 0000:99:00.0 on this node ('devpassctl devices' lists them)");
        /* The daemon's message: one line, escaped, in the CLI's words. */
        g_autofree char *words = ctl_error_text("Delete", "org.devpass1.Error.Busy",
                                                "Group \x1b[2Jx still has 1 device passed through (a):\n release "
                                                "them first, or delete it with Release", -EBUSY);
        assert_string_equal(words, "Group \\x1b[2Jx still has 1 device passed through (a):  give them back first "
                                   "(devpassctl give-back), or delete it with --release");
        g_autofree char *local = ctl_error_text("CreateGroup", NULL, NULL, -ENOMEM);
        assert_string_equal(local, "CreateGroup: Cannot allocate memory");
}

static void test_escape(void **state) {
        g_autofree char *a = ctl_escape("plain Gerät");
        assert_string_equal(a, "plain Gerät");
        /* A title, a clear screen, a carriage return, a bell, a C1 CSI, a bad byte. */
        g_autofree char *b = ctl_escape("x\x1b]0;t\x07y\x1b[2J\rz\xc2\x9b\xff");
        assert_string_equal(b, "x\\x1b]0;t\\x07y\\x1b[2J\\x0dz\\xc2\\x9b\\xff");
        /* A right-to-left override turns what follows around. */
        g_autofree char *rlo = ctl_escape("vm\xe2\x80\xae" "1 Büro");
        assert_string_equal(rlo, "vm\\xe2\\x80\\xae1 Büro");
        g_autofree char *c = ctl_escape_lines("a\tb\nc\x1b");
        assert_string_equal(c, "a\\x09b\nc\\x1b");
        g_autofree char *k = ctl_json_key("IommuGroupMembers");
        assert_string_equal(k, "iommu_group_members");
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

static const CtlColumn columns[] = {
        { "address", "ADDRESS", "Address", .shown = true },
        { "name", "NAME", NULL, .shown = true, .cut = true },
        { "driver", "DRIVER", "Driver", .shown = true },
        { "numa_node", "NUMA", "NumaNode", .right = true },
        { "path", "PATH", "@path" },
};

static CtlTable *table_new(void) {
        CtlTable *t = ctl_table_new("devices", columns, G_N_ELEMENTS(columns));
        const char *const rows[][3] = { { "0000:17:00.0", "NVIDIA Gerät", "nvidia" },
                                        { "0000:00:14.0", "x\x1b[2J", "" } };

        for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
                CtlObject o = { .path = "/org/devpass1/devices/0", .props = props_new() };
                g_ptr_array_add(o.props, val("Address", 's', rows[i][0], 0));
                g_ptr_array_add(o.props, val("Driver", 's', rows[i][2], 0));
                g_ptr_array_add(o.props, val("NumaNode", 'i', NULL, i ? -1 : 1));
                CtlRow *row = ctl_table_add_object(t, &o);
                ctl_cell_set(t, row, "name", ctl_cell_str(rows[i][1]));
                g_ptr_array_unref(o.props);
        }
        return t;
}

static void test_table(void **state) {
        g_autoptr(CtlTable) t = table_new();
        CtlTextOptions o = {};

        g_autofree char *text = ctl_table_text(t, &o);
        assert_string_equal(text, "ADDRESS       NAME          DRIVER\n"
                                  "0000:17:00.0  NVIDIA Gerät  nvidia\n"
                                  "0000:00:14.0  x\\x1b[2J      -\n");

        /* Too narrow: the name column is cut, the others stay whole. */
        o.width = 30;
        g_autofree char *narrow = ctl_table_text(t, &o);
        g_auto(GStrv) lines = g_strsplit(narrow, "\n", -1);
        for (size_t i = 0; lines[i]; i++)
                assert_true(g_utf8_strlen(lines[i], -1) <= 30);
        assert_non_null(strstr(lines[1], "nvidia"));

        o = (CtlTextOptions) { .no_headings = true, .raw = true };
        g_autofree char *raw = ctl_table_text(t, &o);
        assert_string_equal(raw, "0000:17:00.0 NVIDIA\\x20Ger\\xc3\\xa4t nvidia\n0000:00:14.0 x\\x1b[2J -\n");
}

static void test_table_select(void **state) {
        g_autoptr(CtlTable) t = table_new();
        g_autofree char *error = NULL;
        CtlTextOptions o = {};

        assert_false(ctl_table_select(t, "address,colour", &error));
        assert_string_equal(error, "--output: 'colour' is no column of devices: use address name driver "
                                   "numa_node path");
        assert_true(ctl_table_select(t, "NUMA_node,address", &error));
        g_autofree char *text = ctl_table_text(t, &o);
        assert_string_equal(text, "NUMA  ADDRESS\n   1  0000:17:00.0\n   -  0000:00:14.0\n");
        g_autofree char *json = ctl_table_json(t);
        assert_string_equal(json, "{\"devices\": [\n  {\"numa_node\": 1, \"address\": \"0000:17:00.0\"},\n"
                                  "  {\"numa_node\": null, \"address\": \"0000:00:14.0\"}\n]}\n");
}

static void test_table_json(void **state) {
        g_autoptr(CtlTable) t = table_new();

        /* Every column, the hidden ones too; none is null. */
        g_autofree char *row = ctl_table_row_json(t, 1);
        assert_string_equal(row, "{\"address\": \"0000:00:14.0\", \"name\": \"x\\u001b[2J\", \"driver\": null, "
                                 "\"numa_node\": null, \"path\": \"/org/devpass1/devices/0\"}");
        g_autoptr(CtlTable) empty = ctl_table_new("groups", columns, G_N_ELEMENTS(columns));
        g_autofree char *none = ctl_table_json(empty);
        assert_string_equal(none, "{\"groups\": []}\n");
}

/* Last in this file: ctl_tables_want() holds for every table made after it. */
static void test_table_wants(void **state) {
        CtlTextOptions o = {};

        /* Text of the default columns: the same text, no JSON kept. */
        ctl_tables_want(false, NULL);
        g_autoptr(CtlTable) text = table_new();
        g_autofree char *shown = ctl_table_text(text, &o);
        assert_string_equal(shown, "ADDRESS       NAME          DRIVER\n"
                                   "0000:17:00.0  NVIDIA Gerät  nvidia\n"
                                   "0000:00:14.0  x\\x1b[2J      -\n");
        g_autofree char *no_json = ctl_table_row_json(text, 0);
        assert_string_equal(no_json, "{\"address\": null, \"name\": null, \"driver\": null, \"numa_node\": null, "
                                     "\"path\": null}");

        /* --output: those columns alone, hidden ones too. */
        ctl_tables_want(false, "numa_node, address");
        g_autoptr(CtlTable) chosen = table_new();
        g_autofree char *error = NULL;
        assert_true(ctl_table_select(chosen, "numa_node,address", &error));
        g_autofree char *picked = ctl_table_text(chosen, &o);
        assert_string_equal(picked, "NUMA  ADDRESS\n   1  0000:17:00.0\n   -  0000:00:14.0\n");
        assert_true(ctl_table_select(chosen, "name", &error));
        g_autofree char *dropped = ctl_table_text(chosen, &o);
        assert_string_equal(dropped, "NAME\n-\n-\n");

        /* JSON: every column's value, as before. */
        ctl_tables_want(true, NULL);
        g_autoptr(CtlTable) json = table_new();
        g_autofree char *row = ctl_table_row_json(json, 1);
        assert_string_equal(row, "{\"address\": \"0000:00:14.0\", \"name\": \"x\\u001b[2J\", \"driver\": null, "
                                 "\"numa_node\": null, \"path\": \"/org/devpass1/devices/0\"}");
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
        assert_string_equal(json, "{\"conditions\": [[\"vendor\", \"eq\", \"10de\"], "
                                  "[\"device-name\", \"contains\", \"RTX 4090\"]], \"conflicts\": [], "
                                  "\"weird\": null}");

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
        /* smartcols shows UTF-8 as it is only in a UTF-8 locale. */
        setlocale(LC_ALL, "C.UTF-8");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_escape),
                cmocka_unit_test(test_props_json),
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_error_words),
                cmocka_unit_test(test_error_text),
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_sriov_and_name),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_table_select),
                cmocka_unit_test(test_table_json),
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_tuples),
                cmocka_unit_test(test_details),
                cmocka_unit_test(test_table_wants),
        };
        return cmocka_run_group_tests_name("client-format", tests, NULL, NULL);
}
