/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rule conditions: every field and operator, and every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "rules.h"

static Device *gpu(void) {
        DpAddress a;
        assert_true(address_parse("0000:17:00.0", &a));
        Device *d = device_new(&a);
        d->vendor_id = 0x10de;
        d->device_id = 0x2230;
        d->subsystem_vendor_id = 0x10de;
        d->subsystem_device_id = 0x1459;
        d->class_code = 0x030000;
        d->vendor_name = g_strdup("NVIDIA Corporation");
        d->device_name = g_strdup("GA102GL [RTX A6000]");
        d->driver = g_strdup("nvidia");
        d->numa_node = 0;
        d->iommu_group = 8;
        return d;
}

static Device *vf(void) {
        DpAddress a;
        assert_true(address_parse("0000:3b:02.1", &a));
        Device *d = device_new(&a);
        d->vendor_id = 0x8086;
        d->device_id = 0x154c;
        d->class_code = 0x020000;
        d->vendor_name = g_strdup("Intel Corporation");
        d->device_name = g_strdup("Ethernet Virtual Function 700 Series");
        d->driver = g_strdup("iavf");
        d->numa_node = 1;
        d->iommu_group = 13;
        g_free(d->physfn_path);
        d->physfn_path = g_strdup("/org/devpass1/devices/0000_3b_00_0");
        return d;
}

static bool match(const char *field, const char *op, const char *value, const Device *d) {
        g_autoptr(GError) error = NULL;
        g_autoptr(RuleCondition) c = rule_condition_new(field, op, value, &error);
        if (!c)
                fail_msg("%s %s '%s' refused: %s", field, op, value, error->message);
        return rule_condition_matches(c, d);
}

static void test_numeric_fields(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();

        assert_true(match("vendor", "eq", "10de", g));
        assert_true(match("vendor", "eq", "0x10DE", g));
        assert_false(match("vendor", "eq", "8086", g));
        assert_true(match("vendor", "ne", "8086", g));
        assert_true(match("device", "lt", "0x2231", g));
        assert_false(match("device", "lt", "0x2230", g));
        assert_true(match("device", "le", "0x2230", g));
        assert_true(match("device", "gt", "0x222f", g));
        assert_true(match("device", "ge", "0x2230", g));
        assert_false(match("device", "gt", "0x2230", g));
        assert_true(match("subsystem-vendor", "eq", "10de", g));
        assert_true(match("subsystem-device", "eq", "1459", g));
        assert_true(match("numa-node", "eq", "1", v));
        assert_true(match("numa-node", "lt", "1", g));
        assert_true(match("iommu-group", "ge", "8", g));
        assert_true(match("iommu-group", "ne", "-1", g));
}

static void test_class_mask(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();

        assert_true(match("class", "eq", "0x030000", g));
        /* any display controller: 03xxxx */
        assert_true(match("class", "eq", "0x030200/0xff0000", g));
        assert_false(match("class", "eq", "0x030000/0xff0000", v));
        assert_true(match("class", "ne", "0x030000/0xff0000", v));
        assert_true(match("class", "eq", "020000/ff0000", v));
        /* Two digits are a class, four a class and subclass. */
        assert_true(match("class", "eq", "03", g));
        assert_true(match("class", "eq", "0x02", v));
        assert_false(match("class", "eq", "0x02", g));
        assert_true(match("class", "eq", "0300", g));
        assert_false(match("class", "eq", "0302", g));
        assert_true(match("class", "ne", "0200", g));
}

static void test_text_fields(void **state) {
        g_autoptr(Device) g = gpu();

        assert_true(match("driver", "eq", "nvidia", g));
        assert_false(match("driver", "eq", "nvidi", g));
        assert_true(match("driver", "ne", "vfio-pci", g));
        assert_true(match("driver", "lt", "o", g));
        assert_true(match("driver", "le", "nvidia", g));
        assert_true(match("driver", "gt", "a", g));
        assert_true(match("driver", "ge", "nvidia", g));
        assert_true(match("vendor-name", "prefix", "NVIDIA", g));
        assert_false(match("vendor-name", "prefix", "nvidia", g));
        assert_true(match("vendor-name", "suffix", "Corporation", g));
        assert_true(match("device-name", "contains", "A6000", g));
        assert_false(match("device-name", "contains", "a6000", g));
        assert_true(match("device-name", "icontains", "rtx a6000", g));
        assert_true(match("device-name", "regex", "^GA10[0-9]GL", g));
        assert_false(match("device-name", "regex", "^TU", g));
        /* a format string is just text */
        assert_false(match("device-name", "contains", "%n%s", g));
}

static void test_address_fields(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();

        assert_true(match("address", "eq", "0000:17:00.0", g));
        assert_true(match("address", "eq", "0000:17:00.*", g));
        assert_false(match("address", "eq", "0000:17:00.*", v));
        assert_true(match("address", "eq", "0000:3b:0?.*", v));
        assert_true(match("address", "ne", "0000:17:*", v));
        assert_true(match("address", "ge", "0000:3b:02.0", v));
        assert_true(match("address", "lt", "0000:3b:02.0", g));
        assert_true(match("address", "le", "3b:02.1", v));
        assert_true(match("address", "prefix", "0000:3b:", v));
        assert_true(match("address", "regex", "^0000:3b:02\\.[0-3]$", v));

        /* Short addresses as lspci prints them without -D, upper-case
         * digits and long domains name the same functions. */
        assert_true(match("address", "eq", "17:00.0", g));
        assert_false(match("address", "eq", "17:00.0", v));
        assert_false(match("address", "ne", "17:00.0", g));
        assert_true(match("address", "eq", "3B:02.1", v));
        assert_true(match("address", "eq", "00000000:3b:02.1", v));
        assert_true(match("address", "eq", "17:00.*", g));
        assert_false(match("address", "eq", "17:00.*", v));
        assert_true(match("address", "eq", "3B:0?.*", v));
        assert_true(match("address", "ne", "17:*", v));
        assert_false(match("address", "ne", "17:*", g));
        assert_true(match("address", "prefix", "3b:02", v));
        assert_false(match("address", "prefix", "3b:02", g));
        assert_true(match("address", "suffix", "3B:02.1", v));
        assert_true(match("address", "contains", "3B:02", v));
        /* What could start with a domain stays as written. */
        assert_true(match("address", "eq", "*:00.0", g));
        assert_true(match("address", "eq", "0000:*", v));
        assert_true(match("address", "prefix", "00", v));
        assert_false(match("address", "eq", "10000:17:00.0", g));
        assert_true(match("physical-function", "eq", "3b:00.0", v));
        assert_true(match("physical-function", "ne", "3b:00.0", g));
        assert_true(match("physical-function", "prefix", "3b:", v));

        assert_true(match("physical-function", "eq", "0000:3b:00.0", v));
        assert_true(match("physical-function", "eq", "0000:3b:00.*", v));
        assert_false(match("physical-function", "eq", "0000:3b:00.0", g));
        assert_true(match("physical-function", "eq", "", g));     /* not a VF */
        assert_false(match("physical-function", "eq", "", v));
        assert_true(match("physical-function", "ge", "0000:3b:00.0", v));
        assert_false(match("physical-function", "ge", "0000:00:00.0", g));
}

static void test_conjunction(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();
        g_autoptr(GPtrArray) conds = g_ptr_array_new_with_free_func((GDestroyNotify) rule_condition_free);

        assert_false(rule_conditions_match(conds, g));   /* an empty rule matches nothing */
        g_ptr_array_add(conds, rule_condition_new("vendor", "eq", "8086", NULL));
        g_ptr_array_add(conds, rule_condition_new("physical-function", "eq", "0000:3b:00.0", NULL));
        assert_true(rule_conditions_match(conds, v));
        assert_false(rule_conditions_match(conds, g));
        g_ptr_array_add(conds, rule_condition_new("numa-node", "eq", "0", NULL));
        assert_false(rule_conditions_match(conds, v));
}

static void refused(const char *field, const char *op, const char *value, RuleError code, const char *in_message) {
        g_autoptr(GError) error = NULL;
        g_autoptr(RuleCondition) c = rule_condition_new(field, op, value, &error);

        if (c)
                fail_msg("%s %s '%s' accepted", field, op, value ?: "(null)");
        assert_true(g_error_matches(error, RULE_ERROR, code));
        if (!strstr(error->message, in_message))
                fail_msg("'%s' does not mention '%s'", error->message, in_message);
}

static void test_bad_input(void **state) {
        refused("colour", "eq", "red", RULE_ERROR_FIELD, "numa-node");
        refused(NULL, "eq", "x", RULE_ERROR_FIELD, "address");
        refused("vendor", "like", "10de", RULE_ERROR_OPERATOR, "eq, ne, lt, le, gt, ge");
        refused("vendor", "contains", "10", RULE_ERROR_OPERATOR, "vendor");
        refused("class", "lt", "0x030000", RULE_ERROR_OPERATOR, "eq, ne");
        refused("vendor", "eq", "nvidia", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", "0x10000", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", "", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", "10de ", RULE_ERROR_VALUE, "hex id");
        refused("class", "eq", "0x030000/xyz", RULE_ERROR_VALUE, "mask");
        refused("numa-node", "eq", "-2", RULE_ERROR_VALUE, "whole number");
        refused("numa-node", "eq", "1.5", RULE_ERROR_VALUE, "whole number");
        refused("address", "eq", "0000:17:00", RULE_ERROR_VALUE, "PCI address");
        refused("address", "lt", "0000:17:*", RULE_ERROR_VALUE, "PCI address");
        refused("address", "eq", "17:00.0 ", RULE_ERROR_VALUE, "PCI address");
        refused("address", "eq", "17:0.0", RULE_ERROR_VALUE, "PCI address");
        refused("address", "ne", "17:20.0", RULE_ERROR_VALUE, "PCI address");
        refused("device-name", "regex", "([unclosed", RULE_ERROR_VALUE, "regex");
        refused("driver", "eq", NULL, RULE_ERROR_VALUE, "text");
        refused("driver", "eq", "\xff\xfe", RULE_ERROR_VALUE, "text");
}

static void test_names(void **state) {
        for (RuleField f = 0; f < _RULE_FIELD_MAX; f++)
                assert_non_null(rule_field_to_string(f));
        for (RuleOp o = 0; o < _RULE_OP_MAX; o++)
                assert_non_null(rule_op_to_string(o));
        assert_string_equal(rule_field_to_string(RULE_FIELD_SUBSYSTEM_VENDOR), "subsystem-vendor");
        assert_string_equal(rule_op_to_string(RULE_OP_ICONTAINS), "icontains");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numeric_fields),
                cmocka_unit_test(test_class_mask),
                cmocka_unit_test(test_text_fields),
                cmocka_unit_test(test_address_fields),
                cmocka_unit_test(test_conjunction),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
