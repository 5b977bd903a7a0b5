/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Property building: the diff that decides what PropertiesChanged carries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "device.h"

static Device *make(const char *address) {
        DpAddress a;
        assert_true(address_parse(address, &a));
        Device *d = device_new(&a);
        d->vendor_id = 0x8086;
        d->device_id = 0x1572;
        d->driver = g_strdup("i40e");
        d->vendor_name = g_strdup("Intel Corporation");
        d->reset_methods = g_strsplit("flr bus", " ", -1);
        d->virtfn_paths = g_new0(char *, 1);
        return d;
}

static void test_new_defaults(void **state) {
        g_autoptr(Device) d = make("0000:3b:00.0");

        assert_string_equal(d->address_str, "0000:3b:00.0");
        assert_string_equal(d->path, "/org/devpass1/devices/0000_3b_00_0");
        assert_string_equal(d->physfn_path, "/");
        assert_int_equal(d->iommu_group, -1);
        assert_int_equal(d->numa_node, -1);
        assert_string_equal(d->state_str, "host");
        assert_false(device_is_vf(d));
}

static void test_diff_none(void **state) {
        g_autoptr(Device) a = make("0000:3b:00.0");
        g_autoptr(Device) b = make("0000:3b:00.0");

        assert_int_equal(device_diff(a, b), 0);
}

static void test_diff_each(void **state) {
        g_autoptr(Device) a = make("0000:3b:00.0");
        g_autoptr(Device) b = make("0000:3b:00.0");

        g_free(b->driver);
        b->driver = g_strdup("vfio-pci");
        assert_int_equal(device_diff(a, b), DEVICE_PROP_BIT(DEVICE_PROP_DRIVER));

        b->sriov_num_vfs = 4;
        g_strfreev(b->virtfn_paths);
        b->virtfn_paths = g_strsplit("/org/devpass1/devices/0000_3b_02_0", " ", -1);
        assert_int_equal(device_diff(a, b), DEVICE_PROP_BIT(DEVICE_PROP_DRIVER) |
                                            DEVICE_PROP_BIT(DEVICE_PROP_SRIOV_NUM_VFS) |
                                            DEVICE_PROP_BIT(DEVICE_PROP_VIRTUAL_FUNCTIONS));

        g_autoptr(Device) c = make("0000:3b:00.0");
        c->boot_vga = 1;
        c->numa_node = 1;
        g_strfreev(c->reset_methods);
        c->reset_methods = NULL; /* NULL and empty are the same list */
        g_strfreev(a->reset_methods);
        a->reset_methods = g_new0(char *, 1);
        assert_int_equal(device_diff(a, c), DEVICE_PROP_BIT(DEVICE_PROP_BOOT_VGA) |
                                            DEVICE_PROP_BIT(DEVICE_PROP_NUMA_NODE));
        /* The model's view is not a fact sysfs gives: no diff. */
        device_set_state(c, DEVICE_STATE_MISSING);
        assert_false(device_diff(a, c) & DEVICE_PROP_BIT(DEVICE_PROP_STATE));
        assert_string_equal(c->state_str, "missing");
}

static void test_set_view(void **state) {
        g_autoptr(Device) d = make("0000:3b:00.0");
        char *blockers[] = { "conflict", NULL };

        assert_int_equal(device_set_view(d, DEVICE_STATE_HOST, "/", "/", NULL, ""), 0);
        assert_int_equal(device_set_view(d, DEVICE_STATE_PASSTHROUGH, "/org/devpass1/groups/1",
                                         "/org/devpass1/rules/2", blockers, ""),
                         DEVICE_PROP_BIT(DEVICE_PROP_STATE) | DEVICE_PROP_BIT(DEVICE_PROP_GROUP) |
                         DEVICE_PROP_BIT(DEVICE_PROP_RULE) | DEVICE_PROP_BIT(DEVICE_PROP_BLOCKERS));
        assert_string_equal(d->state_str, "passthrough");
        assert_string_equal(d->group_path, "/org/devpass1/groups/1");
        assert_string_equal(d->blockers[0], "conflict");
        /* An empty list is no list. */
        char *none[] = { NULL };
        assert_int_equal(device_set_view(d, DEVICE_STATE_PASSTHROUGH, "/org/devpass1/groups/1",
                                         "/org/devpass1/rules/2", none, ""),
                         DEVICE_PROP_BIT(DEVICE_PROP_BLOCKERS));
        assert_null(d->blockers);
}

static void test_take_fields(void **state) {
        g_autoptr(Device) old = make("0000:3b:00.0");
        g_autoptr(Device) new = make("0000:3b:00.0");
        GPtrArray *peers = g_ptr_array_new();
        char *path = old->path;

        old->iommu_peers = peers;
        device_set_view(old, DEVICE_STATE_PASSTHROUGH, "/org/devpass1/groups/1", "/", NULL, "vm1");
        g_free(new->driver);
        new->driver = g_strdup("vfio-pci");
        device_take_fields(old, new);
        assert_string_equal(old->driver, "vfio-pci");
        assert_ptr_equal(old->path, path);
        assert_ptr_equal(old->iommu_peers, peers);
        assert_string_equal(old->state_str, "passthrough");
        assert_string_equal(old->group_path, "/org/devpass1/groups/1");
        assert_string_equal(old->holder, "vm1");
        assert_null(new->driver);
        assert_string_equal(new->address_str, "0000:3b:00.0");
        g_ptr_array_unref(peers);
}

static void test_prop_names(void **state) {
        g_autofree const char **none = device_prop_names(0);
        assert_null(none[0]);

        g_autofree const char **two = device_prop_names(DEVICE_PROP_BIT(DEVICE_PROP_DRIVER) |
                                                        DEVICE_PROP_BIT(DEVICE_PROP_STATE));
        assert_string_equal(two[0], "Driver");
        assert_string_equal(two[1], "State");
        assert_null(two[2]);

        g_autofree const char **all = device_prop_names(~(DevicePropMask) 0);
        size_t n = 0;
        while (all[n])
                n++;
        assert_int_equal(n, _DEVICE_PROP_MAX);
        for (DeviceProp p = 0; p < _DEVICE_PROP_MAX; p++)
                assert_non_null(device_prop_name(p));
}

static void test_vf_address(void **state) {
        DpAddress a;
        char buf[DP_ADDRESS_MAX];

        assert_true(address_parse("0000:3b:00.1", &a));
        g_autoptr(Device) pf = device_new(&a);
        /* No SR-IOV: no VF anywhere. */
        assert_false(device_vf_address(pf, 0, buf));
        pf->sriov_total_vfs = 64;
        pf->sriov_offset = 79;
        pf->sriov_stride = 1;
        assert_true(device_vf_address(pf, 0, buf));
        assert_string_equal(buf, "0000:3b:0a.0");
        assert_true(device_vf_address(pf, 63, buf));
        assert_string_equal(buf, "0000:3b:11.7");
        assert_false(device_vf_address(pf, 64, buf));
        /* An offset of 0 is no place for a VF: the PF itself. */
        pf->sriov_offset = 0;
        assert_false(device_vf_address(pf, 0, buf));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_defaults),
                cmocka_unit_test(test_diff_none),
                cmocka_unit_test(test_diff_each),
                cmocka_unit_test(test_take_fields),
                cmocka_unit_test(test_set_view),
                cmocka_unit_test(test_prop_names),
                cmocka_unit_test(test_vf_address),
        };
        return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
