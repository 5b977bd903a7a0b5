/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What callers may set on groups and rules: names, descriptions, types,
 * classes, nodes; every refusal names the value and says what is right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <gio/gio.h>

#include "machine-name.h"
#include "settings.h"

/* error by reference: read after the call, whatever the argument order. */
static void assert_refused(bool ok, GError **error, const char *in_message) {
        assert_false(ok);
        assert_non_null(*error);
        assert_true(g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
        if (!strstr((*error)->message, in_message))
                fail_msg("'%s' does not mention '%s'", (*error)->message, in_message);
        g_clear_error(error);
}

static void test_names(void **state) {
        g_autoptr(GError) error = NULL;
        g_autofree char *longest = g_strnfill(SETTINGS_NAME_MAX, 'x');
        g_autofree char *too_long = g_strnfill(SETTINGS_NAME_MAX + 1, 'x');
        g_autoptr(GString) wide = g_string_new(NULL);

        assert_true(settings_name_valid("group", "PCI GPUs", NULL));
        assert_true(settings_name_valid("group", "%n%s", NULL));
        assert_true(settings_name_valid("group", longest, NULL));
        /* Characters, not bytes: 64 two-byte characters are fine. */
        for (int i = 0; i < SETTINGS_NAME_MAX; i++)
                g_string_append(wide, "\xc3\xa9");
        assert_true(settings_name_valid("group", wide->str, NULL));
        g_string_append(wide, "\xc3\xa9");
        assert_refused(settings_name_valid("group", wide->str, &error), &error, "1 to 64");

        assert_refused(settings_name_valid("group", "", &error), &error, "1 to 64");
        assert_refused(settings_name_valid("rule", too_long, &error), &error, "rule name");
        assert_refused(settings_name_valid("group", "a\nb", &error), &error, "'a\\nb'");
        assert_refused(settings_name_valid("group", "tab\there", &error), &error, "printable");
        assert_refused(settings_name_valid("group", "\x01", &error), &error, "printable");
        assert_refused(settings_name_valid("group", " GPUs", &error), &error, "space");
        assert_refused(settings_name_valid("group", "GPUs ", &error), &error, "space");
        assert_refused(settings_name_valid("group", "\xff\xfe", &error), &error, "not UTF-8");
}

/* Machines are named as their VM manager names them; tenants keep the narrow rule. */
static void test_machines(void **state) {
        g_autoptr(GError) error = NULL;
        g_autofree char *longest = g_strnfill(MACHINE_NAME_MAX, 'm');
        g_autofree char *too_long = g_strnfill(MACHINE_NAME_MAX + 1, 'm');
        g_autoptr(GString) wide = g_string_new(NULL);

        assert_true(settings_machine_valid("vm1", NULL));
        assert_true(settings_machine_valid("win 11 gaming", NULL));
        assert_true(settings_machine_valid("B\xc3\xbcro-VM", NULL));
        assert_true(settings_machine_valid(" spaced ", NULL));
        assert_true(settings_machine_valid("a/b'c\"d%s", NULL));
        assert_true(settings_machine_valid(longest, NULL));
        /* Bytes, not characters: what libvirt and the store count. */
        for (int i = 0; i < MACHINE_NAME_MAX / 2; i++)
                g_string_append(wide, "\xc3\xa9");
        assert_true(settings_machine_valid(wide->str, NULL));
        g_string_append(wide, "\xc3\xa9");
        assert_refused(settings_machine_valid(wide->str, &error), &error, "1 to 255 bytes");

        assert_refused(settings_machine_valid("", &error), &error, "1 to 255 bytes");
        assert_refused(settings_machine_valid(too_long, &error), &error, "1 to 255 bytes");
        assert_refused(settings_machine_valid("a\nb", &error), &error, "'a\\nb'");
        assert_refused(settings_machine_valid("tab\there", &error), &error, "control characters");
        assert_refused(settings_machine_valid("del\x7f", &error), &error, "control characters");
        assert_refused(settings_machine_valid("c1\xc2\x85", &error), &error, "control characters");
        assert_refused(settings_machine_valid("\xff\xfe", &error), &error, "not UTF-8");

        assert_true(settings_tenant_valid("tenant", "acme-1.x_y", NULL));
        assert_refused(settings_tenant_valid("tenant", "ac me", &error), &error, "A-Z a-z 0-9 . _ -");
        assert_refused(settings_tenant_valid("tenant node", "", &error), &error, "tenant node name");
}

static void test_uuid(void **state) {
        g_autoptr(GError) error = NULL;

        assert_true(settings_uuid_valid("4dea22b3-1d52-d8f3-2516-782e98ab3fa0", NULL));
        assert_true(settings_uuid_valid("4DEA22B3-1D52-D8F3-2516-782E98AB3FA0", NULL));
        assert_refused(settings_uuid_valid("", &error), &error, "not a UUID");
        assert_refused(settings_uuid_valid("4dea22b31d52d8f32516782e98ab3fa0", &error), &error, "not a UUID");
        assert_refused(settings_uuid_valid("4dea22b3-1d52-d8f3-2516-782e98ab3fa0 ", &error), &error, "not a UUID");
}

static void test_description(void **state) {
        g_autoptr(GError) error = NULL;
        g_autofree char *longest = g_strnfill(SETTINGS_DESCRIPTION_MAX, 'd');
        g_autofree char *too_long = g_strnfill(SETTINGS_DESCRIPTION_MAX + 1, 'd');

        assert_true(settings_description_valid("", NULL));
        assert_true(settings_description_valid(longest, NULL));
        assert_refused(settings_description_valid(too_long, &error), &error, "longer than 1024");
        assert_refused(settings_description_valid("two\nlines", &error), &error, "newlines");
}

static void test_type_class(void **state) {
        g_autoptr(GError) error = NULL;

        assert_true(settings_group_type_valid("pci", NULL));
        assert_true(settings_group_type_valid("sriov-nic", NULL));
        assert_refused(settings_group_type_valid("PCI", &error), &error, "use one of pci, sriov-nic");
        for (const char *const *c = (const char *const[]) { "gpu", "nic", "storage", "usb", "accelerator", "other",
                                                           NULL }; *c; c++)
                assert_true(settings_group_class_valid(*c, NULL));
        assert_refused(settings_group_class_valid("fpga", &error), &error, "'fpga' is not a group class");
}

static void test_node(void **state) {
        g_autoptr(GError) error = NULL;

        assert_true(settings_node_valid("", NULL));
        assert_true(settings_node_valid("gpu-node-1", NULL));
        assert_refused(settings_node_valid("bad node!", &error), &error, "'bad node!' is not a node name");
        assert_refused(settings_node_valid("-x", &error), &error, "node name");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_machines),
                cmocka_unit_test(test_uuid),
                cmocka_unit_test(test_description),
                cmocka_unit_test(test_type_class),
                cmocka_unit_test(test_node),
        };
        return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
