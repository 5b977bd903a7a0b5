/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety guard against a fake root: /proc tables, sysfs links and
 * /dev symlinks written into a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "safety.h"

#define GPU "0000:17:00.0"
#define AUDIO "0000:17:00.1"
#define NIC "0000:3b:00.0"
#define NVME "0000:03:00.0"
#define NVME_BRIDGE "0000:00:1d.0"
#define NVME_SYS "devices/pci0000:00/" NVME_BRIDGE "/" NVME "/nvme/nvme0/nvme0n1"
#define SAS "devices/pci0000:3a/0000:3a:00.0/" NIC "/host0/target0:0:0/0:0:0:0/block"

#define ROUTE_HEADER "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
#define SWAPS_HEADER "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
#define V6_ZERO "00000000000000000000000000000000"
#define V6_ROUTE(dest, plen, flags, dev) \
        dest " " plen " " V6_ZERO " 00 " V6_ZERO " 00000100 00000001 00000000 " flags "     " dev "\n"

typedef struct {
        char *root;
        GPtrArray *devices;    /* Device, owned */
        GPtrArray *groups;     /* the iommu_peers arrays, which Device does not own */
        GPtrArray *findings;   /* of the last check() */
} Bed;

static int setup(void **state) {
        g_autoptr(GError) error = NULL;
        Bed *bed = g_new0(Bed, 1);

        bed->root = g_dir_make_tmp("devpass-safety-XXXXXX", &error);
        assert_non_null(bed->root);
        bed->devices = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);
        bed->groups = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        *state = bed;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        Bed *bed = *state;

        assert_int_equal(nftw(bed->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        g_free(bed->root);
        g_clear_pointer(&bed->findings, g_ptr_array_unref);
        g_ptr_array_unref(bed->groups);   /* before the devices they point to */
        g_ptr_array_unref(bed->devices);
        g_free(bed);
        return 0;
}

/* <root>/rel, with rel formatted. */
G_GNUC_PRINTF(2, 3)
static char *bed_path(Bed *bed, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        g_autofree char *rel = g_strdup_vprintf(format, ap);
        va_end(ap);
        return g_build_filename(bed->root, rel, NULL);
}

/* Both take the path and make its parents. */
static void bed_write(char *path, const char *contents) {
        g_autofree char *p = path, *dir = g_path_get_dirname(p);

        assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
        assert_true(g_file_set_contents(p, contents, -1, NULL));
}

static void bed_symlink(char *path, const char *target) {
        g_autofree char *p = path, *dir = g_path_get_dirname(p);

        assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
        assert_int_equal(symlink(target, p), 0);
}

/* A block device as sysfs shows it: the device directory with its "dev"
 * attribute, and the class link to it. */
static void bed_block(Bed *bed, const char *name, const char *sys_path, const char *devnum) {
        g_autofree char *dev = g_strdup_printf("%s\n", devnum);
        g_autofree char *target = g_strdup_printf("../../%s", sys_path);

        bed_write(bed_path(bed, "sys/%s/dev", sys_path), dev);
        bed_symlink(bed_path(bed, "sys/class/block/%s", name), target);
}

/* The kernel's link points into the holder's directory; only the name counts. */
static void bed_holder(Bed *bed, const char *name, const char *holder) {
        bed_symlink(bed_path(bed, "sys/class/block/%s/holders/%s", name, holder), "../../../holder");
}

/* One NVMe disk behind a root port: the disk and three partitions. */
static void bed_nvme(Bed *bed) {
        bed_block(bed, "nvme0n1", NVME_SYS, "259:0");
        bed_block(bed, "nvme0n1p1", NVME_SYS "/nvme0n1p1", "259:1");
        bed_block(bed, "nvme0n1p2", NVME_SYS "/nvme0n1p2", "259:2");
        bed_block(bed, "nvme0n1p3", NVME_SYS "/nvme0n1p3", "259:3");
        /* another disk on another controller */
        bed_block(bed, "sda", "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", "8:0");
}

static void bed_netdev(Bed *bed, const char *address, const char *ifname) {
        g_autofree char *path = bed_path(bed, "sys/bus/pci/devices/%s/net/%s", address, ifname);
        assert_int_equal(g_mkdir_with_parents(path, 0755), 0);
}

static Device *bed_device(Bed *bed, const char *address, guint32 class_code, const char *driver) {
        DpAddress a;

        assert_true(address_parse(address, &a));
        Device *d = device_new(&a);
        d->class_code = class_code;
        d->driver = g_strdup(driver);
        g_ptr_array_add(bed->devices, d);
        return d;
}

static GPtrArray *devices_va(va_list ap) {
        GPtrArray *devices = g_ptr_array_new();

        for (Device *d; (d = va_arg(ap, Device *));)
                g_ptr_array_add(devices, d);
        return devices;
}

/* Puts the devices, NULL-terminated, into one IOMMU group. */
G_GNUC_NULL_TERMINATED
static void bed_group(Bed *bed, int32_t group, ...) {
        va_list ap;

        va_start(ap, group);
        GPtrArray *peers = devices_va(ap);
        va_end(ap);
        for (guint i = 0; i < peers->len; i++) {
                Device *d = peers->pdata[i];
                d->iommu_group = group;
                d->iommu_peers = peers;
        }
        g_ptr_array_add(bed->groups, peers);
}

/* Checks the devices, NULL-terminated, as one selection. */
G_GNUC_NULL_TERMINATED
static GPtrArray *check(Bed *bed, ...) {
        va_list ap;

        va_start(ap, bed);
        g_autoptr(GPtrArray) selection = devices_va(ap);
        va_end(ap);
        g_clear_pointer(&bed->findings, g_ptr_array_unref);
        bed->findings = safety_check(bed->root, selection);
        return bed->findings;
}

static void assert_clean(const char *s) {
        if (!g_utf8_validate(s, -1, NULL))
                fail_msg("not UTF-8: '%s'", s);
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        fail_msg("control character in '%s'", s);
}

static void expect_count(GPtrArray *findings, guint n) {
        if (findings->len == n)
                return;
        for (guint i = 0; i < findings->len; i++) {
                SafetyFinding *f = findings->pdata[i];
                print_message("finding %u: %s %s '%s': %s\n", i, safety_kind_to_string(f->kind),
                              f->address, f->subject, f->message);
        }
        fail_msg("%u findings, expected %u", findings->len, n);
}

/* Finding i is of this kind, for this device and subject, and its message
 * holds every one of the NULL-terminated parts. */
G_GNUC_NULL_TERMINATED
static void expect(GPtrArray *findings, guint i, SafetyKind kind, const char *address,
                   const char *subject, ...) {
        va_list ap;

        if (i >= findings->len)
                fail_msg("no finding %u, only %u", i, findings->len);
        SafetyFinding *f = findings->pdata[i];
        if (f->kind != kind)
                fail_msg("finding %u is %s, expected %s: %s", i, safety_kind_to_string(f->kind),
                         safety_kind_to_string(kind), f->message);
        assert_string_equal(f->address, address);
        assert_string_equal(f->subject, subject);
        assert_clean(f->subject);
        assert_clean(f->message);
        va_start(ap, subject);
        for (const char *part; (part = va_arg(ap, const char *));)
                if (!strstr(f->message, part)) {
                        va_end(ap);
                        fail_msg("'%s' does not mention '%s'", f->message, part);
                }
        va_end(ap);
}

static void test_iommu_sibling_left_behind(void **state) {
        Bed *bed = *state;
        Device *gpu = bed_device(bed, GPU, 0x030000, "nvidia");
        Device *audio = bed_device(bed, AUDIO, 0x040300, "snd_hda_intel");
        bed_group(bed, 12, gpu, audio, NULL);

        GPtrArray *f = check(bed, gpu, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_IOMMU_GROUP, GPU, AUDIO,
               GPU " shares IOMMU group 12 with " AUDIO " (snd_hda_intel)",
               "stays with the host", "pass them through together", NULL);

        /* the other way round: the sibling names the GPU */
        f = check(bed, audio, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_IOMMU_GROUP, AUDIO, GPU, AUDIO " shares IOMMU group 12 with " GPU " (nvidia)", NULL);

        /* together they are fine */
        expect_count(check(bed, gpu, audio, NULL), 0);
        expect_count(check(bed, audio, gpu, NULL), 0);
}

static void test_iommu_harmless_peers(void **state) {
        Bed *bed = *state;
        Device *gpu = bed_device(bed, GPU, 0x030000, "nvidia");
        /* a bridge with a driver that is not pcieport still stays */
        Device *bridge = bed_device(bed, "0000:16:00.0", 0x060400, "shpchp");
        /* pcieport binds root complex event collectors too */
        Device *rcec = bed_device(bed, "0000:16:01.0", 0x080700, "pcieport");
        Device *unbound = bed_device(bed, "0000:17:00.1", 0x040300, "");
        Device *vfio = bed_device(bed, "0000:17:00.2", 0x0c0330, "vfio-pci");
        Device *stub = bed_device(bed, "0000:17:00.3", 0x0c8000, "pci-stub");
        Device *host = bed_device(bed, "0000:16:02.0", 0x060000, "");
        bed_group(bed, 3, bridge, rcec, host, gpu, unbound, vfio, stub, NULL);

        expect_count(check(bed, gpu, NULL), 0);

        /* a host bridge with a driver is not a PCI bridge: it counts */
        g_free(host->driver);
        host->driver = g_strdup("amd_smn");
        GPtrArray *f = check(bed, gpu, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_IOMMU_GROUP, GPU, "0000:16:02.0", "(amd_smn)", NULL);

        /* a peer missing for two selected functions is named once */
        f = check(bed, gpu, unbound, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_IOMMU_GROUP, GPU, "0000:16:02.0", GPU " shares IOMMU group 3 with 0000:16:02.0", NULL);
}

static void test_boot_vga(void **state) {
        Bed *bed = *state;
        Device *gpu = bed_device(bed, "0000:03:00.0", 0x030000, "amdgpu");
        Device *other = bed_device(bed, GPU, 0x030000, "nvidia");

        expect_count(check(bed, other, NULL), 0);
        gpu->boot_vga = 1;
        GPtrArray *f = check(bed, other, gpu, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_BOOT_VGA, "0000:03:00.0", "",
               "0000:03:00.0 is the boot VGA device (the host's console)",
               "leaves the host without a console", NULL);
}

/* eth0 has the IPv4 default route, enp59s0f0 only an IPv6 one. */
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

static void test_mounted_partition(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        Device *bridge = bed_device(bed, NVME_BRIDGE, 0x060400, "pcieport");
        Device *sata = bed_device(bed, "0000:00:17.0", 0x010601, "ahci");
        Device *e1 = bed_device(bed, "0000:e1:00.0", 0x010802, "nvme");
        bed_nvme(bed);
        /* behind VMD: domain 10000 holds "0000:e1:00.0" as a substring */
        bed_block(bed, "nvme1n1", "devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/"
                  "10000:e1:00.0/nvme/nvme1/nvme1n1", "259:8");
        bed_write(bed_path(bed, "proc/self/mountinfo"),
                  "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
                  "23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
                  "40 22 259:1 / /boot/efi rw,relatime shared:30 - vfat /dev/nvme0n1p1 rw\n"
                  "41 22 8:0 / /data rw - xfs /dev/sda rw\n"
                  "44 22 259:8 / /vmd rw - xfs /dev/nvme1n1 rw\n"
                  "42 22 259:2 /srv /srv rw,relatime - ext4 /dev/nvme0n1p2 rw\n"
                  /* mounted over itself: still one filesystem */
                  "43 22 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw\n");

        GPtrArray *f = check(bed, nvme, NULL);
        expect_count(f, 3);
        expect(f, 0, SAFETY_MOUNTED, NVME, "/boot/efi", NVME " backs nvme0n1p1, mounted on /boot/efi", NULL);
        expect(f, 1, SAFETY_MOUNTED, NVME, "/",
               NVME " backs nvme0n1p2, mounted on /: the host would lose that filesystem", NULL);
        expect(f, 2, SAFETY_MOUNTED, NVME, "/srv", "nvme0n1p2, mounted on /srv", NULL);

        /* the disk is below the root port too */
        f = check(bed, bridge, NULL);
        expect_count(f, 3);
        expect(f, 1, SAFETY_MOUNTED, NVME_BRIDGE, "/", NVME_BRIDGE " backs nvme0n1p2", NULL);

        f = check(bed, sata, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_MOUNTED, "0000:00:17.0", "/data", "backs sda, mounted on /data", NULL);
        expect_count(check(bed, e1, NULL), 0);
}

static void test_mounted_through_dm_holder(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        bed_nvme(bed);
        bed_block(bed, "dm-0", "devices/virtual/block/dm-0", "253:0");
        bed_block(bed, "dm-1", "devices/virtual/block/dm-1", "253:1");
        bed_block(bed, "dm-7", "devices/virtual/block/dm-7", "253:7");
        /* LUKS on the partition, LVM on LUKS */
        bed_holder(bed, "nvme0n1p2", "dm-0");
        bed_holder(bed, "dm-0", "dm-1");
        /* a cycle must end */
        bed_holder(bed, "dm-1", "dm-0");
        bed_write(bed_path(bed, "proc/self/mountinfo"),
                  "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw\n"
                  "40 22 253:7 / /other rw - ext4 /dev/mapper/other rw\n");

        GPtrArray *f = check(bed, nvme, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_MOUNTED, NVME, "/", NVME " backs dm-1 (on dm-0), mounted on /", NULL);
}

static void test_swap_partition_and_mapper(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        bed_nvme(bed);
        bed_block(bed, "nvme0n1p4", NVME_SYS "/nvme0n1p4", "259:4");
        bed_block(bed, "dm-1", "devices/virtual/block/dm-1", "253:1");
        bed_holder(bed, "nvme0n1p2", "dm-1");
        bed_symlink(bed_path(bed, "dev/mapper/vg-swap"), "../dm-1");
        bed_symlink(bed_path(bed, "dev/disk/by-uuid/1234"), "../../sda");
        bed_write(bed_path(bed, "proc/swaps"), SWAPS_HEADER
                  "/dev/nvme0n1p3                          partition\t8388604\t\t0\t\t-2\n"
                  "/dev/mapper/vg-swap                     partition\t8388604\t\t0\t\t-3\n"
                  "/dev/disk/by-uuid/1234                  partition\t8388604\t\t0\t\t-4\n"
                  "/dev/nvme0n1p4\\040(deleted)             partition\t8388604\t\t0\t\t-5\n"
                  "/nvme0n1p1                              file\t\t8388604\t\t0\t\t-6\n");

        GPtrArray *f = check(bed, nvme, NULL);
        expect_count(f, 2);
        /* nvme0n1p2 and what it holds come before nvme0n1p3 */
        expect(f, 0, SAFETY_SWAP, NVME, "/dev/mapper/vg-swap", NVME " backs dm-1 (on nvme0n1p2)",
               "/dev/mapper/vg-swap", "swap", NULL);
        expect(f, 1, SAFETY_SWAP, NVME, "/dev/nvme0n1p3", NVME " backs nvme0n1p3", "swap", NULL);
}

static void test_unmounted_nvme(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        bed_nvme(bed);
        bed_write(bed_path(bed, "proc/self/mountinfo"),
                  "22 1 8:0 / / rw,relatime shared:1 - ext4 /dev/sda rw\n"
                  "23 22 0:21 / /proc rw,nosuid - proc proc rw\n");
        bed_write(bed_path(bed, "proc/swaps"), SWAPS_HEADER);

        expect_count(check(bed, nvme, NULL), 0);
}

static void test_hostile_names(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        Device *peer = bed_device(bed, "0000:03:00.1", 0x040300, "evil\n%s%n\x1b[31m");
        bed_group(bed, 4, nvme, peer, NULL);
        bed_nvme(bed);
        bed_block(bed, "evil\nname", NVME_SYS "/evil", "259:9");
        bed_netdev(bed, NIC, "eth\x1b%n");
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER
                  "eth\x1b%n\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                  "\n"
                  "garbage\n"
                  "\xff\xfe\x01\n");
        bed_write(bed_path(bed, "proc/net/if_inet6"), "short line\n\n");
        bed_write(bed_path(bed, "proc/net/ipv6_route"), "1 2 3\n");
        bed_write(bed_path(bed, "proc/self/mountinfo"),
                  "22 1 259:1 / /mnt/my\\040disk rw - ext4 /dev/nvme0n1p1 rw\n"
                  "23 1 259:2 / /mnt/a\\012b\\011c\\134 rw - ext4 /dev/nvme0n1p2 rw\n"
                  "24 1 259:3 / /mnt/\x1b[2J%n%s\xff rw - ext4 /dev/nvme0n1p3 rw\n"
                  "25 1 259:9 / /evil\\000x\\9 rw - ext4 /dev/x rw\n"
                  "26 1 259:1\n"
                  "\n"
                  "garbage\n");
        bed_write(bed_path(bed, "proc/swaps"), "/dev/\\012nvme0n1p3 partition 1 0 -2\n" "\\\n" "/dev/../sys\n");

        GPtrArray *f = check(bed, nvme, nic, NULL);
        expect_count(f, 6);
        expect(f, 0, SAFETY_IOMMU_GROUP, NVME, "0000:03:00.1", "(evil?%s%n?[31m)", NULL);
        /* sorted: "evil\nname" before "nvme0n1" */
        expect(f, 1, SAFETY_MOUNTED, NVME, "/evil?x\\9", "evil?name, mounted on /evil?x\\9", NULL);
        expect(f, 2, SAFETY_MOUNTED, NVME, "/mnt/my disk", "mounted on /mnt/my disk:", NULL);
        expect(f, 3, SAFETY_MOUNTED, NVME, "/mnt/a?b?c\\", "mounted on /mnt/a?b?c\\:", NULL);
        expect(f, 4, SAFETY_MOUNTED, NVME, "/mnt/?[2J%n%s\xef\xbf\xbd", "/mnt/?[2J%n%s", NULL);
        expect(f, 5, SAFETY_NETWORK, NIC, "eth?%n", "eth?%n", NULL);
}

static void test_missing_proc(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        Device *unbound = bed_device(bed, "0000:03:00.1", 0x010802, "");
        bed_group(bed, 4, nvme, unbound, NULL);
        bed_nvme(bed);
        bed_netdev(bed, NIC, "eth0");

        expect_count(check(bed, nvme, nic, NULL), 0);

        /* nothing at all under the root, not even the root */
        g_autofree char *gone = bed_path(bed, "gone");
        g_autoptr(GPtrArray) selection = g_ptr_array_new();
        g_ptr_array_add(selection, nvme);
        g_autoptr(GPtrArray) none = safety_check(gone, selection);
        expect_count(none, 0);

        g_autoptr(GPtrArray) empty = safety_check(bed->root, NULL);
        expect_count(empty, 0);
}

static void test_finding_order(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        Device *a = bed_device(bed, NIC, 0x020000, "i40e");
        Device *a1 = bed_device(bed, "0000:3b:00.1", 0x020000, "i40e");

        bed_group(bed, 20, a, a1, NULL);
        a->boot_vga = 1;
        bed_nvme(bed);
        bed_netdev(bed, NIC, "eth1");
        bed_netdev(bed, NIC, "eth0");
        bed_block(bed, "sdc", SAS "/sdc", "8:32");
        bed_block(bed, "sdb", SAS "/sdb", "8:16");
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER
                  "eth1\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
                  "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        bed_write(bed_path(bed, "proc/self/mountinfo"),
                  "22 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n"
                  "40 22 8:32 / /data rw - xfs /dev/sdc rw\n");
        bed_write(bed_path(bed, "proc/swaps"), SWAPS_HEADER "/dev/sdb partition 1 0 -2\n");

        GPtrArray *f = check(bed, nvme, a, NULL);
        expect_count(f, 7);
        expect(f, 0, SAFETY_MOUNTED, NVME, "/", NULL);
        expect(f, 1, SAFETY_IOMMU_GROUP, NIC, "0000:3b:00.1", NULL);
        expect(f, 2, SAFETY_BOOT_VGA, NIC, "", NULL);
        expect(f, 3, SAFETY_NETWORK, NIC, "eth0", NULL);
        expect(f, 4, SAFETY_DEFAULT_ROUTE, NIC, "eth1", NULL);
        expect(f, 5, SAFETY_SWAP, NIC, "/dev/sdb", NULL);
        expect(f, 6, SAFETY_MOUNTED, NIC, "/data", NULL);
}

static void test_kind_names(void **state) {
        static const char *const names[] = {
                "iommu-group", "boot-vga", "network", "default-route", "mounted", "swap",
        };

        G_STATIC_ASSERT(G_N_ELEMENTS(names) == _SAFETY_KIND_MAX);
        for (SafetyKind k = 0; k < _SAFETY_KIND_MAX; k++)
                assert_string_equal(safety_kind_to_string(k), names[k]);
        safety_finding_free(NULL);
}

#define bed_test(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                bed_test(test_iommu_sibling_left_behind),
                bed_test(test_iommu_harmless_peers),
                bed_test(test_boot_vga),
                bed_test(test_default_route),
                bed_test(test_network_addresses_only),
                bed_test(test_network_unused),
                bed_test(test_mounted_partition),
                bed_test(test_mounted_through_dm_holder),
                bed_test(test_swap_partition_and_mapper),
                bed_test(test_unmounted_nvme),
                bed_test(test_hostile_names),
                bed_test(test_missing_proc),
                bed_test(test_finding_order),
                cmocka_unit_test(test_kind_names),
        };
        return cmocka_run_group_tests_name("safety", tests, NULL, NULL);
}
