/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety guard's network against a fake root (safety-bed.h): netdevs
 * wherever they sit below a function, what is stacked on them, and the
 * routing and address tables. */
#include <string.h>

#include "safety-bed.h"

#define VIRTIO "0000:00:03.0"
#define VIRTIO_SYS "devices/pci0000:00/" VIRTIO
#define XHCI "0000:00:14.0"

static void test_default_route(void **state) {
        Bed *bed = *state;
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        Device *nic6 = bed_device(bed, "0000:5e:00.0", 0x020000, "mlx5_core");
        bed_netdev(bed, NIC, "eth0");
        bed_netdev(bed, "0000:5e:00.0", "enp59s0f0");
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER
                  "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
                  "eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
        bed_write(bed_path(bed, "proc/net/if_inet6"),
                  "00000000000000000000000000000001 01 80 10 80       lo\n"
                  "20010db8000000000000000000000010 02 40 00 00 enp59s0f0\n"
                  "fe800000000000000a0027fffe123456 02 40 20 80 enp59s0f0\n");
        bed_write(bed_path(bed, "proc/net/ipv6_route"),
                  V6_ROUTE("20010db8000000000000000000000000", "40", "00000001", "enp59s0f0")
                  V6_ROUTE(V6_ZERO, "00", "00000003", "enp59s0f0")
                  V6_ROUTE(V6_ZERO, "00", "00200200", "lo"));

        GPtrArray *f = check(bed, nic, nic6, NULL);
        expect_count(f, 2);   /* not also "network" */
        expect(f, 0, SAFETY_DEFAULT_ROUTE, NIC, "eth0",
               NIC " backs eth0, which carries the default route: the node would lose its network", NULL);
        expect(f, 1, SAFETY_DEFAULT_ROUTE, "0000:5e:00.0", "enp59s0f0", "enp59s0f0", "default route", NULL);
}

static void test_network_addresses_only(void **state) {
        Bed *bed = *state;
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        Device *nic2 = bed_device(bed, "0000:3b:00.1", 0x020000, "i40e");
        bed_netdev(bed, NIC, "eth0");
        bed_netdev(bed, NIC, "eth1");
        bed_netdev(bed, "0000:3b:00.1", "eth2");
        /* the default route is on another interface */
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER
                  "eth9\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
                  "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                  /* 0.0.0.0/1 is not the default route */
                  "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000080\t0\t0\t0\n");
        bed_write(bed_path(bed, "proc/net/if_inet6"), "fd000000000000000000000000000002 05 40 00 00     eth2\n");

        GPtrArray *f = check(bed, nic, nic2, NULL);
        expect_count(f, 2);
        expect(f, 0, SAFETY_NETWORK, NIC, "eth0", NIC " backs eth0, which carries addresses", NULL);
        expect(f, 1, SAFETY_NETWORK, "0000:3b:00.1", "eth2", "eth2", NULL);
}

/* eth0 has only its link-local address, eth1 is down: nothing to lose. */
static void test_network_unused(void **state) {
        Bed *bed = *state;
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        bed_netdev(bed, NIC, "eth0");
        bed_netdev(bed, NIC, "eth1");
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER
                  "eth2\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
        bed_write(bed_path(bed, "proc/net/if_inet6"), "fe800000000000000a0027fffe123456 02 40 20 80     eth0\n"
                  "20010db8000000000000000000000010 03 40 00 00     eth2\n");
        /* every interface that is up has these two */
        bed_write(bed_path(bed, "proc/net/ipv6_route"),
                  V6_ROUTE("fe800000000000000000000000000000", "40", "00000001", "eth0")
                  V6_ROUTE("ff000000000000000000000000000000", "08", "00000001", "eth0")
                  V6_ROUTE(V6_ZERO, "00", "00200200", "lo")
                  /* ::/96 is not ::/0 */
                  V6_ROUTE(V6_ZERO, "60", "00000001", "eth0")
                  V6_ROUTE(V6_ZERO, "00", "00000003", "eth2"));

        expect_count(check(bed, nic, NULL), 0);
}

static void test_virtio_netdev(void **state) {
        Bed *bed = *state;
        Device *virtio = bed_device(bed, VIRTIO, 0x020000, "virtio-pci");
        Device *other = bed_device(bed, "0000:00:03.1", 0x020000, "virtio-pci");
        bed_iface(bed, "eth0", VIRTIO_SYS "/virtio2");
        bed_iface(bed, "eth1", "devices/pci0000:00/0000:00:03.1/virtio3");
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER DEFAULT_ROUTE("eth0"));

        GPtrArray *f = check(bed, virtio, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_DEFAULT_ROUTE, VIRTIO, "eth0",
               VIRTIO " backs eth0, which carries the default route: the node would lose its network", NULL);
        assert_true(safety_finding_forceable(f->pdata[0]));
        expect_count(check(bed, other, NULL), 0);
}

/* A USB NIC is below the controller, several levels down. */
static void test_usb_nic(void **state) {
        Bed *bed = *state;
        Device *xhci = bed_device(bed, XHCI, 0x0c0330, "xhci_hcd");
        bed_iface(bed, "enx00e04c680001", "devices/pci0000:00/" XHCI "/usb2/2-1/2-1:1.0");
        bed_write(bed_path(bed, "proc/net/if_inet6"), "fd000000000000000000000000000002 05 40 00 00 enx00e04c680001\n");

        GPtrArray *f = check(bed, xhci, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_NETWORK, XHCI, "enx00e04c680001", XHCI " backs enx00e04c680001, which carries addresses",
               NULL);
}

/* The addresses are on the bridge, not on the port. */
static void test_bridge_with_addresses(void **state) {
        Bed *bed = *state;
        Device *nic = bed_device(bed, NIC, 0x020000, "e1000e");
        bed_netdev(bed, NIC, "eth0");
        bed_iface(bed, "br0", "devices/virtual");
        bed_upper(bed, "eth0", "br0", true);
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER PREFIX_ROUTE("br0"));
        bed_write(bed_path(bed, "proc/net/if_inet6"),
                  "fe800000000000000a0027fffe123456 02 40 20 80 eth0\n"
                  "20010db8000000000000000000000010 03 40 00 00 br0\n");

        GPtrArray *f = check(bed, nic, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_NETWORK, NIC, "br0",
               NIC " backs eth0, enslaved to br0, which carries addresses: the host would lose that network", NULL);
}

/* Two ports in a bond in a bridge with the default route: each port alone
 * names the path; the bridge is named once for a device. */
static void test_bond_default_route(void **state) {
        Bed *bed = *state;
        Device *a = bed_device(bed, NIC, 0x020000, "i40e");
        Device *b = bed_device(bed, "0000:3b:00.1", 0x020000, "i40e");
        bed_netdev(bed, NIC, "eth0");
        bed_netdev(bed, NIC, "eth2");
        bed_netdev(bed, "0000:3b:00.1", "eth1");
        bed_iface(bed, "bond0", "devices/virtual");
        bed_iface(bed, "br0", "devices/virtual");
        bed_upper(bed, "eth0", "bond0", true);
        bed_upper(bed, "eth1", "bond0", true);
        bed_upper(bed, "eth2", "bond0", true);
        bed_upper(bed, "bond0", "br0", true);
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER DEFAULT_ROUTE("br0"));

        GPtrArray *f = check(bed, a, b, NULL);
        expect_count(f, 2);
        expect(f, 0, SAFETY_DEFAULT_ROUTE, NIC, "br0",
               NIC " backs eth0, enslaved to bond0, enslaved to br0, which carries the default route", NULL);
        expect(f, 1, SAFETY_DEFAULT_ROUTE, "0000:3b:00.1", "br0",
               "0000:3b:00.1 backs eth1, enslaved to bond0, enslaved to br0", NULL);
}

/* A VLAN is an upper without being a master. */
static void test_vlan(void **state) {
        Bed *bed = *state;
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        bed_netdev(bed, NIC, "eth0");
        bed_iface(bed, "eth0.100", "devices/virtual");
        bed_iface(bed, "macvlan0", "devices/virtual");
        bed_upper(bed, "eth0", "eth0.100", false);
        bed_upper(bed, "eth0", "macvlan0", false);
        bed_write(bed_path(bed, "proc/net/ipv6_route"), V6_ROUTE(V6_ZERO, "00", "00000003", "macvlan0"));
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER PREFIX_ROUTE("eth0.100"));

        GPtrArray *f = check(bed, nic, NULL);
        expect_count(f, 2);
        expect(f, 0, SAFETY_NETWORK, NIC, "eth0.100", NIC " backs eth0, under eth0.100, which carries addresses",
               NULL);
        expect(f, 1, SAFETY_DEFAULT_ROUTE, NIC, "macvlan0", NIC " backs eth0, under macvlan0, which carries the "
               "default route", NULL);
}

/* Upper links in a cycle end; a chain deeper than the bound is cut. */
static void test_upper_cycle(void **state) {
        Bed *bed = *state;
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        g_autoptr(GString) route = g_string_new(ROUTE_HEADER);
        bed_netdev(bed, NIC, "eth0");
        bed_iface(bed, "br0", "devices/virtual");
        bed_upper(bed, "eth0", "br0", true);
        bed_upper(bed, "br0", "eth0", true);
        /* eth0 (0), u1 (1) ... u9 (9): the bound is 8 levels of uppers */
        for (int i = 1; i <= 9; i++) {
                g_autofree char *name = g_strdup_printf("u%d", i);
                g_autofree char *lower = i == 1 ? g_strdup("eth0") : g_strdup_printf("u%d", i - 1);
                bed_iface(bed, name, "devices/virtual");
                bed_upper(bed, lower, name, false);
        }
        g_string_append(route, PREFIX_ROUTE("u8") PREFIX_ROUTE("u9") PREFIX_ROUTE("eth0"));
        bed_write(bed_path(bed, "proc/net/route"), route->str);

        GPtrArray *f = check(bed, nic, NULL);
        expect_count(f, 2);
        expect(f, 0, SAFETY_NETWORK, NIC, "eth0", NIC " backs eth0, which carries addresses", NULL);
        expect(f, 1, SAFETY_NETWORK, NIC, "u8", "eth0, under u1, under u2", "under u8, which carries", NULL);
}

/* vfio-pci does not drive bridges: refused, and not forceable. */
int main(void) {
        const struct CMUnitTest tests[] = {
                bed_test(test_default_route),
                bed_test(test_network_addresses_only),
                bed_test(test_network_unused),
                bed_test(test_virtio_netdev),
                bed_test(test_usb_nic),
                bed_test(test_bridge_with_addresses),
                bed_test(test_bond_default_route),
                bed_test(test_vlan),
                bed_test(test_upper_cycle),
        };
        return cmocka_run_group_tests_name("safety-net", tests, NULL, NULL);
}
