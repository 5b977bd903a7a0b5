/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A libvirt domain's XML as devpass reads and changes it, without libvirt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "domain-xml.h"

#define HEAD "<domain type='kvm'><name>win 11 g&#xe4;ming</name><uuid> 6e1c8f0e-6b7d-4b4c-9d3e-1f0a2b3c4d5e </uuid>"
#define OWN_HOSTDEV \
        "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x65' " \
        "slot='0x00' function='0x0'/></source><address type='pci' domain='0x0000' bus='0x03' slot='0x00' " \
        "function='0x0'/></hostdev>"
/* What devpass put there at the last start: the first GPU's unit. */
#define OLD_UNIT \
        "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x17' " \
        "slot='0x00' function='0x0'/></source><address type='pci' domain='0x0000' bus='0x05' slot='0x00' " \
        "function='0x0' multifunction='on'/></hostdev>" \
        "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x17' " \
        "slot='0x00' function='0x1'/></source><address type='pci' domain='0x0000' bus='0x05' slot='0x00' " \
        "function='0x1'/></hostdev>"
#define METADATA_OLD \
        "<metadata><app:x xmlns:app='urn:other'/><devpass:devices xmlns:devpass='" DPL_NAMESPACE "'>" \
        "<devpass:device address='0000:17:00.0'/><devpass:device address='0000:17:00.1'/></devpass:devices></metadata>"
#define Q35 "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>"
#define ROOT_PORTS \
        "<controller type='pci' index='0' model='pcie-root'/>" \
        "<controller type='pci' index='1' model='pcie-root-port'><address type='pci' bus='0x00' slot='0x02'/>" \
        "</controller>" \
        "<controller type='pci' index='5' model='pcie-root-port'><address type='pci' bus='0x00' slot='0x02' " \
        "function='0x4'/></controller>"

static xmlDoc *parse(const char *xml) {
        g_autofree char *error = NULL;
        xmlDoc *doc = dpl_domain_parse(xml, &error);

        if (!doc)
                fail_msg("%s: %s", error, xml);
        return doc;
}

static void assert_address(const DpAddress *a, const char *want) {
        char text[DP_ADDRESS_MAX];

        address_format(a, text);
        assert_string_equal(text, want);
}

static void test_hostdevs(void **state) {
        g_autoptr(xmlDoc) doc = parse(HEAD Q35 "<devices>" OWN_HOSTDEV
                "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0x5678'/></source>"
                "</hostdev>"
                "<interface type='hostdev'><mac address='02:00:5e:10:00:01'/><source><address type='pci' "
                "domain='0x0000' bus='0x3b' slot='0x0a' function='0x2'/></source></interface>"
                "<interface type='network'><source network='default'/></interface>"
                /* No mode: subsystem. Decimal, as libvirt reads it too. */
                "<hostdev type='pci'><source><address domain='0' bus='23' slot='0' function='1'/></source></hostdev>"
                "<hostdev type='pci'><source><address domain='0x0000' bus='0x17' slot='0x20' function='0x0'/>"
                "</source></hostdev>"
                "<hostdev type='pci'><source><address bus='0x17' function='0x0'/></source></hostdev>"
                "</devices></domain>");
        g_autoptr(GArray) hostdevs = dpl_domain_hostdevs(doc);
        g_autofree char *uuid = dpl_domain_uuid(doc);

        assert_string_equal(uuid, "6e1c8f0e-6b7d-4b4c-9d3e-1f0a2b3c4d5e");
        /* USB, a network, slot 0x20 and no slot are not PCI host devices of any use. */
        assert_int_equal(hostdevs->len, 3);
        assert_address(&g_array_index(hostdevs, DplHostdev, 0).address, "0000:65:00.0");
        assert_true(g_array_index(hostdevs, DplHostdev, 0).managed);
        assert_address(&g_array_index(hostdevs, DplHostdev, 1).address, "0000:3b:0a.2");
        assert_false(g_array_index(hostdevs, DplHostdev, 1).managed);
        assert_address(&g_array_index(hostdevs, DplHostdev, 2).address, "0000:17:00.1");

        g_autofree char *error = NULL;
        assert_null(dpl_domain_parse("<domain><name>x</name>", &error));
        assert_string_equal(error, "the domain's XML does not parse");
        g_clear_pointer(&error, g_free);
        assert_null(dpl_domain_parse("<network/>", &error));
        assert_string_equal(error, "the XML is no <domain>");
        /* No entity is expanded, none fetched. */
        g_autoptr(xmlDoc) entity = parse("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>&x;</domain>");
        g_autofree char *text = dpl_domain_format(entity);
        assert_null(strstr(text, "root:"));
}

static void test_guest_slot(void **state) {
        g_autoptr(xmlDoc) q35 = parse(HEAD Q35 "<devices>" ROOT_PORTS OWN_HOSTDEV "</devices></domain>");
        CtlGuestSlot slot = dpl_domain_guest_slot(q35);
        /* Past bus 3 that a device sits on: root port 5 is empty. */
        assert_int_equal(slot.bus, 4);
        assert_int_equal(slot.slot, 0);

        /* A PCIe-to-PCI bridge takes no unit in slot 0: past it. */
        g_autoptr(xmlDoc) bridge = parse(HEAD Q35 "<devices>" ROOT_PORTS OWN_HOSTDEV
                "<controller type='pci' index='6' model='pcie-to-pci-bridge'><address type='pci' bus='0x05' "
                "slot='0x00'/></controller></devices></domain>");
        assert_int_equal(dpl_domain_guest_slot(bridge).bus, 7);

        /* i440fx: slot 1 of a PCI bridge. */
        g_autoptr(xmlDoc) pc = parse(HEAD "<os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os><devices>"
                "<controller type='pci' index='0' model='pci-root'/><hostdev type='pci'><source><address "
                "domain='0' bus='0x65' slot='0' function='0'/></source><address type='pci' bus='0x00' "
                "slot='0x07'/></hostdev></devices></domain>");
        slot = dpl_domain_guest_slot(pc);
        assert_int_equal(slot.bus, 1);
        assert_int_equal(slot.slot, 1);
}

static GPtrArray *claims_new(void) {
        GPtrArray *claims = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        CtlClaim *gpus = ctl_claim_new(claims, "/org/devpass1/attachments/1", "PCI GPUs 1", "pci");
        ctl_claim_add(gpus->devices, "0000:b1:00.0", 18, "");
        ctl_claim_add(gpus->devices, "0000:b1:00.1", 18, "");
        CtlClaim *vfs = ctl_claim_new(claims, "/org/devpass1/attachments/2", "VFs 1", "sriov-nic");
        ctl_claim_add(vfs->devices, "0000:3b:0a.0", 19, "02:00:5e:10:00:01");
        return claims;
}

static char *strip_spaces(const char *xml) {
        g_auto(GStrv) lines = g_strsplit(xml, "\n", -1);

        for (size_t i = 0; lines[i]; i++)
                g_strstrip(lines[i]);
        return g_strjoinv("", lines);
}

static void test_replace(void **state) {
        const char *old = HEAD METADATA_OLD Q35 "<devices>" ROOT_PORTS OWN_HOSTDEV OLD_UNIT "</devices></domain>";
        g_autoptr(xmlDoc) doc = parse(old);
        g_autoptr(GPtrArray) claims = claims_new();
        g_autofree char *error = NULL;
        g_autofree char *xml = dpl_domain_replace(doc, claims, &error);

        assert_non_null(xml);
        g_autofree char *flat = strip_spaces(xml);
        /* The old unit's bus 5 is free again: the new unit goes on bus 4
         * past the administrator's bus 3, in slot 0; the VF as an interface. */
        const char *want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                "<domain type=\"kvm\"><name>win 11 gäming</name><uuid> 6e1c8f0e-6b7d-4b4c-9d3e-1f0a2b3c4d5e </uuid>"
                "<metadata><app:x xmlns:app=\"urn:other\"/><devpass:devices xmlns:devpass=\"" DPL_NAMESPACE "\">"
                "<devpass:device address=\"0000:b1:00.0\"/><devpass:device address=\"0000:b1:00.1\"/>"
                "<devpass:device address=\"0000:3b:0a.0\"/></devpass:devices></metadata>"
                "<os><type arch=\"x86_64\" machine=\"pc-q35-7.2\">hvm</type></os><devices>"
                "<controller type=\"pci\" index=\"0\" model=\"pcie-root\"/>"
                "<controller type=\"pci\" index=\"1\" model=\"pcie-root-port\"><address type=\"pci\" bus=\"0x00\" "
                "slot=\"0x02\"/></controller>"
                "<controller type=\"pci\" index=\"5\" model=\"pcie-root-port\"><address type=\"pci\" bus=\"0x00\" "
                "slot=\"0x02\" function=\"0x4\"/></controller>"
                "<hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\"><source><address domain=\"0x0000\" "
                "bus=\"0x65\" slot=\"0x00\" function=\"0x0\"/></source><address type=\"pci\" domain=\"0x0000\" "
                "bus=\"0x03\" slot=\"0x00\" function=\"0x0\"/></hostdev>"
                "<hostdev mode=\"subsystem\" type=\"pci\" managed=\"no\"><source><address domain=\"0x0000\" "
                "bus=\"0xb1\" slot=\"0x00\" function=\"0x0\"/></source><address type=\"pci\" domain=\"0x0000\" "
                "bus=\"0x04\" slot=\"0x00\" function=\"0x0\" multifunction=\"on\"/></hostdev>"
                "<hostdev mode=\"subsystem\" type=\"pci\" managed=\"no\"><source><address domain=\"0x0000\" "
                "bus=\"0xb1\" slot=\"0x00\" function=\"0x1\"/></source><address type=\"pci\" domain=\"0x0000\" "
                "bus=\"0x04\" slot=\"0x00\" function=\"0x1\"/></hostdev>"
                "<interface type=\"hostdev\" managed=\"no\"><mac address=\"02:00:5e:10:00:01\"/><source><address "
                "type=\"pci\" domain=\"0x0000\" bus=\"0x3b\" slot=\"0x0a\" function=\"0x0\"/></source></interface>"
                "</devices></domain>";
        assert_string_equal(flat, want);

        /* Again on the result: the same (devpass's own are replaced, once). */
        g_autoptr(xmlDoc) again = parse(xml);
        g_autofree char *xml2 = dpl_domain_replace(again, claims, &error);
        assert_string_equal(xml2, xml);

        /* No claim: devpass's devices go, the metadata names none. */
        g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        g_autofree char *empty = dpl_domain_replace(doc, none, &error);
        g_autoptr(xmlDoc) empty_doc = parse(empty);
        g_autoptr(GArray) left = dpl_domain_hostdevs(empty_doc), managed = dpl_domain_managed(empty_doc);
        assert_int_equal(left->len, 1);
        assert_address(&g_array_index(left, DplHostdev, 0).address, "0000:65:00.0");
        assert_int_equal(managed->len, 0);
}

/* A device the domain has as its own is not given to it again. */
static void test_replace_refused(void **state) {
        g_autoptr(xmlDoc) doc = parse(HEAD Q35 "<devices><hostdev type='pci'><source><address domain='0' bus='0xb1' "
                                      "slot='0' function='1'/></source></hostdev></devices></domain>");
        g_autoptr(GPtrArray) claims = claims_new();
        g_autofree char *error = NULL;
        g_autofree char *before = dpl_domain_format(doc);

        assert_null(dpl_domain_replace(doc, claims, &error));
        assert_string_equal(error, "the domain has 0000:b1:00.1 as a host device of its own, and devpass gives it "
                                   "to the domain ('PCI GPUs 1'): remove it from the domain (virsh edit)");
        g_autofree char *after = dpl_domain_format(doc);
        assert_string_equal(after, before);

        /* A type libvirt's XML has nothing for. */
        g_autoptr(GPtrArray) mdev = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        ctl_claim_add(ctl_claim_new(mdev, "/org/devpass1/attachments/3", "vgpu", "mdev")->devices, "0000:18:00.0",
                      3, "");
        g_clear_pointer(&error, g_free);
        assert_null(dpl_domain_replace(doc, mdev, &error));
        assert_string_equal(error, "attachment 'vgpu' is of type 'mdev': libvirt XML is written for pci and "
                                   "sriov-nic only");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hostdevs),
                cmocka_unit_test(test_guest_slot),
                cmocka_unit_test(test_replace),
                cmocka_unit_test(test_replace_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
