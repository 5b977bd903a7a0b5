/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Assignment of devices to groups by rules: first match, conflicts, node
 * scoping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "assign.h"
#include "rules.h"

static Device *device(const char *address, uint16_t vendor, uint16_t device_id) {
        DpAddress a;
        assert_true(address_parse(address, &a));
        Device *d = device_new(&a);
        d->vendor_id = vendor;
        d->device_id = device_id;
        return d;
}

/* One condition per rule: enough to exercise the assignment. */
static AssignRule rule(int64_t id, int64_t group, const char *field, const char *op, const char *value) {
        g_autoptr(GError) error = NULL;
        AssignRule r = { .id = id, .group_id = group,
                         .conditions = g_ptr_array_new_with_free_func((GDestroyNotify) rule_condition_free) };
        RuleCondition *c = rule_condition_new(field, op, value, &error);
        assert_non_null(c);
        g_ptr_array_add(r.conditions, c);
        return r;
}

static void rules_free(AssignRule *rules, guint n) {
        for (guint i = 0; i < n; i++)
                g_ptr_array_unref(rules[i].conditions);
}

static void test_first_match(void **state) {
        g_autoptr(Device) gpu = device("0000:17:00.0", 0x10de, 0x2230);
        g_autoptr(Device) nic = device("0000:3b:00.0", 0x8086, 0x1572);
        AssignRule rules[] = {
                rule(3, 1, "vendor", "eq", "10de"),
                rule(7, 1, "address", "eq", "0000:17:*"),
                rule(9, 2, "vendor", "eq", "8086"),
        };
        g_autoptr(GArray) matched = g_array_new(FALSE, FALSE, sizeof(int64_t));

        Assignment a = assign_device(rules, G_N_ELEMENTS(rules), gpu, matched);
        assert_int_equal(a.rule_id, 3);
        assert_int_equal(a.group_id, 1);
        assert_false(a.conflict);
        /* Two rules of one group are no conflict; both matched. */
        assert_int_equal(matched->len, 2);
        assert_int_equal(g_array_index(matched, int64_t, 1), 7);

        a = assign_device(rules, G_N_ELEMENTS(rules), nic, NULL);
        assert_int_equal(a.rule_id, 9);
        assert_int_equal(a.group_id, 2);
        rules_free(rules, G_N_ELEMENTS(rules));
}

static void test_no_match(void **state) {
        g_autoptr(Device) nvme = device("0000:5e:00.0", 0x144d, 0xa80a);
        AssignRule rules[] = { rule(1, 1, "vendor", "eq", "10de") };

        Assignment a = assign_device(rules, G_N_ELEMENTS(rules), nvme, NULL);
        assert_int_equal(a.rule_id, 0);
        assert_int_equal(a.group_id, 0);
        assert_false(a.conflict);
        a = assign_device(NULL, 0, nvme, NULL);
        assert_int_equal(a.rule_id, 0);
        rules_free(rules, G_N_ELEMENTS(rules));
}

static void test_conflict(void **state) {
        g_autoptr(Device) gpu = device("0000:17:00.0", 0x10de, 0x2230);
        AssignRule rules[] = {
                rule(1, 1, "vendor", "eq", "10de"),
                rule(2, 2, "device", "eq", "2230"),
        };
        g_autoptr(GArray) matched = g_array_new(FALSE, FALSE, sizeof(int64_t));

        Assignment a = assign_device(rules, G_N_ELEMENTS(rules), gpu, matched);
        assert_true(a.conflict);
        assert_int_equal(a.group_id, 0);
        assert_int_equal(a.rule_id, 1);
        assert_int_equal(matched->len, 2);
        /* Without the match list the answer is the same. */
        a = assign_device(rules, G_N_ELEMENTS(rules), gpu, NULL);
        assert_true(a.conflict);
        assert_int_equal(a.group_id, 0);
        rules_free(rules, G_N_ELEMENTS(rules));
}

static void test_node_scope(void **state) {
        assert_true(assign_rule_applies("", "node1"));
        assert_true(assign_rule_applies(NULL, "node1"));
        assert_true(assign_rule_applies("node1", "node1"));
        assert_false(assign_rule_applies("node2", "node1"));
        assert_false(assign_rule_applies("Node1", "node1"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_match),
                cmocka_unit_test(test_no_match),
                cmocka_unit_test(test_conflict),
                cmocka_unit_test(test_node_scope),
        };
        return cmocka_run_group_tests_name("assign", tests, NULL, NULL);
}
