/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's pure parts about claims: the table, JSON, libvirt XML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "test-props.h"

#define DEVICES "/org/devpass1/devices/"

static CtlClaim *claim(GPtrArray *into, const char *path, const char *name) {
        return ctl_claim_new(into, path, name, NULL);
}

static void claim_device(CtlClaim *c, const char *address, int32_t group, const char *mac) {
        ctl_claim_add(c->devices, address, group, mac);
}

static GPtrArray *claims_new(void) {
        GPtrArray *claims = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        CtlClaim *gpu = claim(claims, "/org/devpass1/attachments/1", "gpu 1");
        claim_device(gpu, "0000:17:00.0", 12, "");
        claim_device(gpu, "0000:65:00.0", 40, "");
        /* A unit of two functions: a GPU and its audio. */
        claim_device(gpu, "0000:b1:00.0", 41, "");
        claim_device(gpu, "0000:b1:00.1", 41, "");
        CtlClaim *nic = claim(claims, "/org/devpass1/attachments/2", "nic");
        claim_device(nic, "0000:3b:02.1", 77, "02:5e:00:00:00:01");
        /* Optional, and none was free. */
        claim(claims, "/org/devpass1/attachments/3", "spare \"gpu\"");
        return claims;
}

static void test_claim_table(void **state) {
        g_autoptr(GPtrArray) claims = claims_new();
        g_autoptr(GPtrArray) rows = ctl_claim_rows(claims);
        g_autofree char *table = ctl_table_format(rows, 0, 0);

        assert_string_equal(table, "ATTACHMENT   ADDRESS       IOMMU  VFIO          MAC\n"
                                   "gpu 1        0000:17:00.0  12     /dev/vfio/12  -\n"
                                   "gpu 1        0000:65:00.0  40     /dev/vfio/40  -\n"
                                   "gpu 1        0000:b1:00.0  41     /dev/vfio/41  -\n"
                                   "gpu 1        0000:b1:00.1  41     /dev/vfio/41  -\n"
                                   "nic          0000:3b:02.1  77     /dev/vfio/77  02:5e:00:00:00:01\n"
                                   "spare \"gpu\"  -             -      -             -\n");

        g_ptr_array_set_size(claims, 0);
        g_autoptr(GPtrArray) header = ctl_claim_rows(claims);
        g_autofree char *empty = ctl_table_format(header, 0, 0);
        assert_string_equal(empty, "ATTACHMENT  ADDRESS  IOMMU  VFIO  MAC\n");
}

static void test_claim_json(void **state) {
        g_autoptr(GPtrArray) claims = claims_new();
        g_autofree char *json = ctl_claim_to_json(claims);

        assert_string_equal(json, "[\n"
                "  {\"Path\": \"/org/devpass1/attachments/1\", \"Name\": \"gpu 1\", \"Devices\": ["
                "{\"Address\": \"0000:17:00.0\", \"IommuGroup\": 12, \"VfioDevice\": \"/dev/vfio/12\", \"Mac\": \"\", "
                "\"Unit\": 0, \"Multifunction\": false}, "
                "{\"Address\": \"0000:65:00.0\", \"IommuGroup\": 40, \"VfioDevice\": \"/dev/vfio/40\", \"Mac\": \"\", "
                "\"Unit\": 1, \"Multifunction\": false}, "
                "{\"Address\": \"0000:b1:00.0\", \"IommuGroup\": 41, \"VfioDevice\": \"/dev/vfio/41\", \"Mac\": \"\", "
                "\"Unit\": 2, \"Multifunction\": true}, "
                "{\"Address\": \"0000:b1:00.1\", \"IommuGroup\": 41, \"VfioDevice\": \"/dev/vfio/41\", \"Mac\": \"\", "
                "\"Unit\": 2, \"Multifunction\": true}]},\n"
                "  {\"Path\": \"/org/devpass1/attachments/2\", \"Name\": \"nic\", \"Devices\": ["
                "{\"Address\": \"0000:3b:02.1\", \"IommuGroup\": 77, \"VfioDevice\": \"/dev/vfio/77\", "
                "\"Mac\": \"02:5e:00:00:00:01\", \"Unit\": 0, \"Multifunction\": false}]},\n"
                "  {\"Path\": \"/org/devpass1/attachments/3\", \"Name\": \"spare \\\"gpu\\\"\", \"Devices\": []}\n"
                "]");
        g_ptr_array_set_size(claims, 0);
        g_autofree char *empty = ctl_claim_to_json(claims);
        assert_string_equal(empty, "[]");
}

static CtlObject *held(GPtrArray *into, const char *name, const char *type, const char *devices, const char *macs) {
        g_autofree char *path = g_strdup_printf("/org/devpass1/attachments/%u", into->len + 1);
        CtlObject *o = object(into, path);
        add(o, val("Name", 's', name, 0));
        add(o, val("Type", 's', type, 0));
        add(o, val_strv("Devices", devices));
        add(o, val_strv("DeviceMacs", macs));
        return o;
}

/* A device object with its IOMMU group, as hostdev-xml looks it up. */
static void device_in(GPtrArray *into, const char *path, int64_t iommu_group) {
        add(object(into, path), val("IommuGroup", 'i', NULL, iommu_group));
}

static char *xml_of(const GPtrArray *attachments, const GPtrArray *devices) {
        char *xml = NULL;
        g_autofree char *error = NULL;

        if (!ctl_hostdev_xml(attachments, devices, CTL_GUEST_BUS_DEFAULT, &xml, &error))
                fail_msg("refused: %s", error);
        assert_null(error);
        return xml;
}

static void test_hostdev_xml(void **state) {
        g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        held(attachments, "gpu 1", "pci", DEVICES "0000_17_00_0 " DEVICES "10000_e0_06_7", "");
        held(attachments, "nic", "sriov-nic", DEVICES "0000_3b_02_1 " DEVICES "0000_3b_1f_0",
             "02:5e:00:00:00:01 02:5e:00:00:00:02");
        /* Not claimed yet: nothing. */
        held(attachments, "later", "pci", "", "");

        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        g_autofree char *xml = xml_of(attachments, devices);
        assert_string_equal(xml,
                "  <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x17' "
                "slot='0x00' function='0x0'/></source></hostdev>\n"
                "  <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x10000' bus='0xe0' "
                "slot='0x06' function='0x7'/></source></hostdev>\n"
                "  <interface type='hostdev' managed='no'><mac address='02:5e:00:00:00:01'/><source><address "
                "type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source></interface>\n"
                "  <interface type='hostdev' managed='no'><mac address='02:5e:00:00:00:02'/><source><address "
                "type='pci' domain='0x0000' bus='0x3b' slot='0x1f' function='0x0'/></source></interface>\n");

        /* Fewer MACs than devices, or a blank one: libvirt makes one up. */
        g_ptr_array_set_size(attachments, 0);
        held(attachments, "nic", "sriov-nic", DEVICES "0000_3b_02_1 " DEVICES "0000_3b_02_2", "'<&>'");
        g_autofree char *escaped = xml_of(attachments, devices);
        assert_string_equal(escaped,
                "  <interface type='hostdev' managed='no'><mac address='&apos;&lt;&amp;&gt;&apos;'/><source>"
                "<address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source></interface>\n"
                "  <interface type='hostdev' managed='no'><source><address type='pci' domain='0x0000' bus='0x3b' "
                "slot='0x02' function='0x2'/></source></interface>\n");

        /* Two units of a GPU and its audio (function numbers kept, the
         * second on the next guest bus) between single functions; a unit
         * without function 0 gets 0 and 1 in the guest. */
        g_ptr_array_set_size(attachments, 0);
        held(attachments, "gpus", "pci", DEVICES "0000_17_00_0 " DEVICES "0000_17_00_1 " DEVICES "0000_5e_00_0 "
             DEVICES "0000_b1_00_1 " DEVICES "0000_b1_00_2", "");
        device_in(devices, DEVICES "0000_17_00_0", 8);
        device_in(devices, DEVICES "0000_17_00_1", 8);
        device_in(devices, DEVICES "0000_5e_00_0", 11);
        device_in(devices, DEVICES "0000_b1_00_1", 18);
        device_in(devices, DEVICES "0000_b1_00_2", 18);
        g_autofree char *units = xml_of(attachments, devices);
        assert_string_equal(units,
                "  <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x17' "
                "slot='0x00' function='0x0'/></source><address type='pci' domain='0x0000' bus='0x10' slot='0x00' "
                "function='0x0' multifunction='on'/></hostdev>\n"
                "  <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x17' "
                "slot='0x00' function='0x1'/></source><address type='pci' domain='0x0000' bus='0x10' slot='0x00' "
                "function='0x1'/></hostdev>\n"
                "  <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x5e' "
                "slot='0x00' function='0x0'/></source></hostdev>\n"
                "  <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0xb1' "
                "slot='0x00' function='0x1'/></source><address type='pci' domain='0x0000' bus='0x11' slot='0x00' "
                "function='0x0' multifunction='on'/></hostdev>\n"
                "  <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0xb1' "
                "slot='0x00' function='0x2'/></source><address type='pci' domain='0x0000' bus='0x11' slot='0x00' "
                "function='0x1'/></hostdev>\n");

        g_ptr_array_set_size(attachments, 0);
        g_autofree char *none = xml_of(attachments, devices);
        assert_string_equal(none, "");
}

static void assert_xml_refused(const GPtrArray *attachments, const char *want_error) {
        g_autofree char *xml = NULL, *error = NULL;
        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);

        assert_false(ctl_hostdev_xml(attachments, devices, CTL_GUEST_BUS_DEFAULT, &xml, &error));
        assert_null(xml);
        assert_string_equal(error, want_error);
}

static void test_hostdev_xml_refused(void **state) {
        g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);

        /* Nothing half-written: the good attachment before is not printed either. */
        held(attachments, "gpu 1", "pci", DEVICES "0000_17_00_0", "");
        held(attachments, "vgpu", "mdev", DEVICES "0000_18_00_0", "");
        assert_xml_refused(attachments,
                           "attachment 'vgpu' is of type 'mdev': libvirt XML is written for pci and sriov-nic only");

        g_ptr_array_set_size(attachments, 1);
        held(attachments, "odd", "pci", "/org/devpass1/devices/nonsense", "");
        assert_xml_refused(attachments, "attachment 'odd' holds '/org/devpass1/devices/nonsense', which is no device");
}

/* A unit of one function where QEMU puts it; a GPU and its audio in slot
 * 0 of a root port of their own, functions kept; an attachment that got
 * nothing adds nothing. */
static void test_qemu(void **state) {
        g_autoptr(GPtrArray) claims = claims_new();
        g_autofree char *args = NULL, *error = NULL;

        /* Two more units of several functions: the next root port each;
         * functions that do not include 0 are renumbered from 0. */
        CtlClaim *more = claims->pdata[1];
        claim_device(more, "0000:65:00.1", 50, "");
        claim_device(more, "0000:65:00.2", 50, "");
        claim_device(more, "0000:66:00.0", 51, "");
        claim_device(more, "0000:66:00.3", 51, "");
        assert_true(ctl_claim_qemu(claims, CTL_GUEST_BUS_DEFAULT, &args, &error));
        assert_null(error);
        assert_string_equal(args,
                "-device\nvfio-pci,host=0000:17:00.0\n"
                "-device\nvfio-pci,host=0000:65:00.0\n"
                "-device\npcie-root-port,id=devpass16,chassis=16\n"
                "-device\nvfio-pci,host=0000:b1:00.0,bus=devpass16,addr=0x0.0,multifunction=on\n"
                "-device\nvfio-pci,host=0000:b1:00.1,bus=devpass16,addr=0x0.1\n"
                "-device\nvfio-pci,host=0000:3b:02.1\n"
                "-device\npcie-root-port,id=devpass17,chassis=17\n"
                "-device\nvfio-pci,host=0000:65:00.1,bus=devpass17,addr=0x0.0,multifunction=on\n"
                "-device\nvfio-pci,host=0000:65:00.2,bus=devpass17,addr=0x0.1\n"
                "-device\npcie-root-port,id=devpass18,chassis=18\n"
                "-device\nvfio-pci,host=0000:66:00.0,bus=devpass18,addr=0x0.0,multifunction=on\n"
                "-device\nvfio-pci,host=0000:66:00.3,bus=devpass18,addr=0x0.3\n");

        /* Nothing claimed: nothing to print. */
        g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        g_autofree char *empty = NULL;
        assert_true(ctl_claim_qemu(none, CTL_GUEST_BUS_DEFAULT, &empty, &error));
        assert_string_equal(empty, "");

        /* Half a command line is worse than none. */
        claim_device(claims->pdata[0], "0000:17:00", 12, "");
        g_autofree char *half = NULL;
        assert_false(ctl_claim_qemu(claims, CTL_GUEST_BUS_DEFAULT, &half, &error));
        assert_null(half);
        assert_string_equal(error, "attachment 'gpu 1' holds '0000:17:00', which is no device");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_claim_table),
                cmocka_unit_test(test_claim_json),
                cmocka_unit_test(test_hostdev_xml),
                cmocka_unit_test(test_hostdev_xml_refused),
                cmocka_unit_test(test_qemu),
        };
        return cmocka_run_group_tests_name("client-claim", tests, NULL, NULL);
}
