/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A group's units: functions of one IOMMU group together, in the order
 * of their first function, one each without an IOMMU; and the count of
 * those judged free kept as they are judged one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "units.h"

static Device *function(const char *address, int iommu_group) {
        DpAddress a;
        assert_true(address_parse(address, &a));
        Device *d = device_new(&a);
        d->iommu_group = iommu_group;
        return d;
}

/* The addresses of unit i, joined by spaces. */
static char *unit_text(const Units *u, guint i) {
        GPtrArray *unit = u->list->pdata[i];
        g_autoptr(GString) s = g_string_new(NULL);

        for (guint k = 0; k < unit->len; k++)
                g_string_append_printf(s, "%s%s", k ? " " : "", ((Device *) unit->pdata[k])->address_str);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static void assert_unit(const Units *u, guint i, const char *text) {
        g_autofree char *got = unit_text(u, i);
        assert_string_equal(got, text);
}

/* A GPU and its audio function (IOMMU group 7), a VF alone (group 9),
 * a function of group 7 further on, and two without an IOMMU. */
static GPtrArray *node(void) {
        GPtrArray *devices = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);

        g_ptr_array_add(devices, function("0000:17:00.0", 7));
        g_ptr_array_add(devices, function("0000:17:00.1", 7));
        g_ptr_array_add(devices, function("0000:3b:02.0", 9));
        g_ptr_array_add(devices, function("0000:5e:00.0", -1));
        g_ptr_array_add(devices, function("0000:5e:00.1", -1));
        g_ptr_array_add(devices, function("0000:65:00.0", 7));
        return devices;
}

static void test_layout(void **state) {
        g_autoptr(GPtrArray) devices = node();
        g_autoptr(Units) u = units_new(devices);

        assert_int_equal(u->list->len, 4);
        assert_unit(u, 0, "0000:17:00.0 0000:17:00.1 0000:65:00.0");
        assert_unit(u, 1, "0000:3b:02.0");
        assert_unit(u, 2, "0000:5e:00.0");
        assert_unit(u, 3, "0000:5e:00.1");
        /* Every function finds its unit; another group's does not. */
        assert_int_equal(units_find(u, devices->pdata[5]), 0);
        assert_int_equal(units_find(u, devices->pdata[2]), 1);
        assert_int_equal(units_find(u, devices->pdata[4]), 3);
        g_autoptr(GPtrArray) other = node();
        assert_int_equal(units_find(u, other->pdata[0]), -1);
        assert_int_equal(u->n_available, 0);
}

static void test_empty(void **state) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new();
        g_autoptr(Units) u = units_new(devices);
        g_autoptr(GPtrArray) available = units_available(u);

        assert_int_equal(u->list->len, 0);
        assert_int_equal(available->len, 0);
}

static void test_available(void **state) {
        g_autoptr(GPtrArray) devices = node();
        g_autoptr(Units) u = units_new(devices);

        assert_true(units_set_available(u, 3, true));
        assert_true(units_set_available(u, 1, true));
        /* Judged free again: nothing changes, nothing counted twice. */
        assert_false(units_set_available(u, 1, true));
        assert_int_equal(u->n_available, 2);
        g_autoptr(GPtrArray) two = units_available(u);
        assert_int_equal(two->len, 2);
        assert_ptr_equal(two->pdata[0], u->list->pdata[1]);
        assert_ptr_equal(two->pdata[1], u->list->pdata[3]);

        /* A claim of unit 1, then its release. */
        assert_true(units_set_available(u, 1, false));
        assert_false(units_set_available(u, 1, false));
        assert_int_equal(u->n_available, 1);
        assert_true(units_set_available(u, 1, true));
        assert_int_equal(u->n_available, 2);
        /* The list handed out outlives the units. */
        g_clear_pointer(&u, units_free);
        assert_int_equal(((GPtrArray *) two->pdata[1])->len, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layout),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_available),
        };
        return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
