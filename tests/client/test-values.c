/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* values.c: each distinct value kept once, with copies of what it was
 * given; objects that share values read them as their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test-props.h"

static void test_shared(void **state) {
        CtlValues *values = ctl_values_new();
        char buf[16] = "iavf";

        const CtlValue *a = ctl_values_str(values, "Driver", 's', buf);
        g_strlcpy(buf, "i40e", sizeof(buf));
        const CtlValue *b = ctl_values_str(values, "Driver", 's', buf);
        /* Copied: the first is still iavf once its source changed. */
        assert_string_equal(a->str, "iavf");
        assert_string_equal(b->str, "i40e");
        assert_ptr_equal(ctl_values_str(values, "Driver", 's', "iavf"), a);
        /* Name and type are part of a value. */
        assert_ptr_not_equal(ctl_values_str(values, "Holder", 's', "iavf"), a);
        assert_ptr_not_equal(ctl_values_str(values, "Driver", 'o', "iavf"), a);

        const CtlValue *n = ctl_values_num(values, "NumaNode", 'i', -1);
        assert_int_equal(n->num, -1);
        assert_int_equal(n->type, 'i');
        assert_null(n->str);
        assert_ptr_equal(ctl_values_num(values, "NumaNode", 'i', -1), n);
        assert_ptr_not_equal(ctl_values_num(values, "NumaNode", 'i', 0), n);
        assert_ptr_not_equal(ctl_values_num(values, "IommuGroup", 'i', -1), n);

        char *items[] = { "flr", "bus", NULL }, *fewer[] = { "flr", NULL }, *none[] = { NULL };
        const CtlValue *v = ctl_values_strv(values, "ResetMethods", items);
        assert_int_equal(v->type, 'a');
        assert_int_equal(g_strv_length(v->strv), 2);
        assert_string_equal(v->strv[1], "bus");
        assert_ptr_equal(ctl_values_strv(values, "ResetMethods", (char *[]) { "flr", "bus", NULL }), v);
        assert_ptr_not_equal(ctl_values_strv(values, "ResetMethods", fewer), v);
        const CtlValue *empty = ctl_values_strv(values, "ResetMethods", none);
        assert_non_null(empty->strv);
        assert_null(empty->strv[0]);

        /* Read through the accessors, as a props array that owns none. */
        g_autoptr(GPtrArray) props = g_ptr_array_new();
        g_ptr_array_add(props, (CtlValue *) a);
        g_ptr_array_add(props, (CtlValue *) n);
        g_ptr_array_add(props, (CtlValue *) ctl_values_own(values, val("Conditions", '?', NULL, 0)));
        assert_string_equal(ctl_props_str(props, "Driver"), "iavf");
        assert_int_equal(ctl_props_num(props, "NumaNode"), -1);
        assert_int_equal(ctl_props_get(props, "Conditions")->type, '?');
        assert_null(ctl_props_get(props, "Holder"));
        ctl_values_free(values);
}

/* The accessors find a property wherever it is, after finding it
 * elsewhere in another object. */
static void test_props_order(void **state) {
        g_autoptr(GPtrArray) one = props_new(), two = props_new();

        g_ptr_array_add(one, val("Address", 's', "0000:17:00.0", 0));
        g_ptr_array_add(one, val("Driver", 's', "nvidia", 0));
        g_ptr_array_add(two, val("Driver", 's', "vfio-pci", 0));
        assert_string_equal(ctl_props_str(one, "Driver"), "nvidia");
        assert_string_equal(ctl_props_str(two, "Driver"), "vfio-pci");
        assert_string_equal(ctl_props_str(two, "Address"), "");
        assert_string_equal(ctl_props_str(one, "Driver"), "nvidia");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shared),
                cmocka_unit_test(test_props_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
