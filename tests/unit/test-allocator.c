/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocator's choice: NUMA first, then the least used PF, then the
 * lowest address; too few free is no choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "allocator.h"

static Device *vf(const char *address, const char *pf_path, int numa) {
        DpAddress a;
        assert_true(address_parse(address, &a));
        Device *d = device_new(&a);
        d->numa_node = numa;
        if (pf_path) {
                g_free(d->physfn_path);
                d->physfn_path = g_strdup(pf_path);
        }
        return d;
}

static const char *address_at(GPtrArray *a, guint i) {
        return ((Device *) a->pdata[i])->address_str;
}

#define PF0 "/org/devpass1/devices/0000_3b_00_0"
#define PF1 "/org/devpass1/devices/0000_3b_00_1"

static void test_spread_over_pfs(void **state) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);
        g_autoptr(GHashTable) use = g_hash_table_new(g_str_hash, g_str_equal);

        g_ptr_array_add(devices, vf("0000:3b:02.0", PF0, 0));
        g_ptr_array_add(devices, vf("0000:3b:02.1", PF0, 0));
        g_ptr_array_add(devices, vf("0000:3b:0a.0", PF1, 0));
        g_ptr_array_add(devices, vf("0000:3b:0a.1", PF1, 0));
        /* PF0 already serves one machine: PF1 first, then alternate. */
        g_hash_table_insert(use, PF0, GUINT_TO_POINTER(1));
        g_autoptr(GPtrArray) chosen = allocator_choose(devices, 3, -1, use);
        assert_non_null(chosen);
        assert_string_equal(address_at(chosen, 0), "0000:3b:0a.0");
        assert_string_equal(address_at(chosen, 1), "0000:3b:02.0");
        assert_string_equal(address_at(chosen, 2), "0000:3b:0a.1");
        assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(use, PF0)), 2);
        assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(use, PF1)), 2);
}

/* Nothing in use yet: the lowest address, then the other PF. */
static void test_spread_from_none(void **state) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);
        g_autoptr(GHashTable) use = g_hash_table_new(g_str_hash, g_str_equal);

        g_ptr_array_add(devices, vf("0000:3b:02.0", PF0, 0));
        g_ptr_array_add(devices, vf("0000:3b:02.1", PF0, 0));
        g_ptr_array_add(devices, vf("0000:3b:0a.0", PF1, 0));
        g_autoptr(GPtrArray) chosen = allocator_choose(devices, 2, -1, use);
        assert_non_null(chosen);
        assert_string_equal(address_at(chosen, 0), "0000:3b:02.0");
        assert_string_equal(address_at(chosen, 1), "0000:3b:0a.0");
        assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(use, PF0)), 1);
        assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(use, PF1)), 1);
}

static void test_numa_first(void **state) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);
        g_autoptr(GHashTable) use = g_hash_table_new(g_str_hash, g_str_equal);

        g_ptr_array_add(devices, vf("0000:17:00.0", NULL, 0));
        g_ptr_array_add(devices, vf("0000:b1:00.0", NULL, 1));
        g_ptr_array_add(devices, vf("0000:ca:00.0", NULL, 1));
        g_autoptr(GPtrArray) on1 = allocator_choose(devices, 2, 1, use);
        assert_string_equal(address_at(on1, 0), "0000:b1:00.0");
        assert_string_equal(address_at(on1, 1), "0000:ca:00.0");
        /* Not enough there: the rest comes from elsewhere. */
        g_autoptr(GPtrArray) all = allocator_choose(devices, 3, 1, use);
        assert_string_equal(address_at(all, 2), "0000:17:00.0");
        /* No preference: by address. */
        g_autoptr(GPtrArray) any = allocator_choose(devices, 1, -1, use);
        assert_string_equal(address_at(any, 0), "0000:17:00.0");
}

static void test_too_few(void **state) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);
        g_autoptr(GHashTable) use = g_hash_table_new(g_str_hash, g_str_equal);

        g_ptr_array_add(devices, vf("0000:17:00.0", NULL, 0));
        assert_null(allocator_choose(devices, 2, -1, use));
        g_autoptr(GPtrArray) none = allocator_choose(devices, 0, -1, use);
        assert_int_equal(none->len, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spread_over_pfs),
                cmocka_unit_test(test_spread_from_none),
                cmocka_unit_test(test_numa_first),
                cmocka_unit_test(test_too_few),
        };
        return cmocka_run_group_tests_name("allocator", tests, NULL, NULL);
}
