/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety guard against a fake root (safety-bed.h): IOMMU groups, the
 * console, disks, bridges, VFs in use, unreadable tables, hostile text.
 * Networks are test-safety-net.c's. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "safety-bed.h"

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

        /* the disk is below the root port too, which is refused anyway */
        f = check(bed, bridge, NULL);
        expect_count(f, 4);
        expect(f, 0, SAFETY_BRIDGE, NVME_BRIDGE, "", NULL);
        expect(f, 2, SAFETY_MOUNTED, NVME_BRIDGE, "/", NVME_BRIDGE " backs nvme0n1p2", NULL);

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

/* Empty tables: nothing to lose. No root at all: every table the guard
 * needs is unreadable, and says so; IPv6 missing entirely is a host
 * without IPv6. */
static void test_missing_proc(void **state) {
        Bed *bed = *state;
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        Device *unbound = bed_device(bed, "0000:03:00.1", 0x010802, "");
        bed_group(bed, 4, nvme, unbound, NULL);
        bed_nvme(bed);
        bed_netdev(bed, NIC, "eth0");

        expect_count(check(bed, nvme, nic, NULL), 0);

        g_autofree char *gone = bed_path(bed, "gone");
        g_autoptr(GPtrArray) selection = g_ptr_array_new();
        g_ptr_array_add(selection, nic);
        g_ptr_array_add(selection, nvme);
        g_autoptr(GPtrArray) none = safety_check(gone, selection, NULL, NULL);
        expect_count(none, 5);
        const char *tables[] = { "/proc/net/route", "/sys/class/net", "/proc/self/mountinfo", "/proc/swaps",
                                 "/sys/class/block" };
        for (guint i = 0; i < G_N_ELEMENTS(tables); i++) {
                expect(none, i, SAFETY_UNREADABLE, NIC, tables[i], tables[i], "cannot be read",
                       "No such file or directory", "Force", NULL);
                assert_true(safety_finding_forceable(none->pdata[i]));
        }

        g_autoptr(GPtrArray) empty = safety_check(bed->root, NULL, NULL, NULL);
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

static void test_bridges_refused(void **state) {
        Bed *bed = *state;
        static const struct {
                const char *address;
                guint32 class_code;
                const char *what;
        } bridges[] = {
                { "0000:00:00.0", 0x060000, "is a host bridge (class 060000)" },
                { "0000:00:1c.0", 0x060400, "is a PCI-to-PCI bridge (a root or switch port)" },
                { "0000:00:1f.0", 0x060100, "is an ISA/LPC bridge" },
                { "0000:00:1e.0", 0x060401, "is a PCI-to-PCI bridge" },
                { "0000:00:1f.7", 0x068000, "is a bridge (class 068000)" },
        };

        for (guint i = 0; i < G_N_ELEMENTS(bridges); i++) {
                Device *d = bed_device(bed, bridges[i].address, bridges[i].class_code, i == 1 ? "pcieport" : "");
                GPtrArray *f = check(bed, d, NULL);
                expect_count(f, 1);
                expect(f, 0, SAFETY_BRIDGE, bridges[i].address, "", bridges[i].what,
                       "vfio-pci does not drive bridges", "Force cannot help", NULL);
                assert_false(safety_finding_forceable(f->pdata[0]));
        }
        Device *gpu = bed_device(bed, GPU, 0x030000, "nvidia");
        gpu->boot_vga = 1;
        GPtrArray *f = check(bed, gpu, NULL);
        expect_count(f, 1);
        assert_true(safety_finding_forceable(f->pdata[0]));
}

typedef struct {
        GPtrArray *asked;   /* char*: the addresses asked about, in order */
} Uses;

/* One VF is claimed; the answer is hostile text, as a machine name may be. */
static char *fake_use(const char *address, void *userdata) {
        Uses *u = userdata;

        g_ptr_array_add(u->asked, g_strdup(address));
        return g_str_equal(address, "0000:3b:02.1") ? g_strdup("claimed by machine vm\x1b" "1") : NULL;
}

static void test_vfs_in_use(void **state) {
        Bed *bed = *state;
        Uses uses = { .asked = g_ptr_array_new_with_free_func(g_free) };
        Device *pf = bed_device(bed, NIC, 0x020000, "i40e");
        Device *vf1 = bed_device(bed, "0000:3b:02.1", 0x020000, "iavf");
        pf->virtfn_paths = g_strsplit(DP_DEVICES_PATH "/0000_3b_02_0," DP_DEVICES_PATH "/0000_3b_02_1,"
                                      DP_DEVICES_PATH "/0000_3b_02_2,/not/a/device", ",", -1);
        g_free(vf1->physfn_path);
        vf1->physfn_path = g_strdup(DP_DEVICES_PATH "/0000_3b_00_0");

        /* no one to ask: nothing known to be in use */
        expect_count(check(bed, pf, NULL), 0);

        bed->use = fake_use;
        bed->use_data = &uses;
        GPtrArray *f = check(bed, pf, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_VFS_IN_USE, NIC, "0000:3b:02.1",
               NIC " is the physical function of 0000:3b:02.1, which is claimed by machine vm?1: "
               "unbinding the PF destroys its VFs; Force cannot help, release 0000:3b:02.1 first", NULL);
        assert_false(safety_finding_forceable(f->pdata[0]));
        assert_int_equal(uses.asked->len, 3);
        assert_string_equal(uses.asked->pdata[2], "0000:3b:02.2");

        /* the VF selected along: the caller gives it; the VF alone is not
         * "in use" for this check (its own use is the model's business) */
        g_ptr_array_set_size(uses.asked, 0);
        expect_count(check(bed, pf, vf1, NULL), 0);
        assert_int_equal(uses.asked->len, 2);
        expect_count(check(bed, vf1, NULL), 0);
        g_ptr_array_unref(uses.asked);
}

/* fbcon draws the console on fb0 of the GPU. */
static void test_console_fbcon(void **state) {
        Bed *bed = *state;
        Device *gpu = bed_device(bed, "0000:00:02.0", 0x030000, "i915");
        Device *other = bed_device(bed, GPU, 0x030000, "nvidia");
        bed_write(bed_path(bed, "sys/devices/pci0000:00/0000:00:02.0/graphics/fb0/dev"), "29:0\n");
        bed_symlink(bed_path(bed, "sys/class/graphics/fb0"), "../../devices/pci0000:00/0000:00:02.0/graphics/fb0");
        bed_write(bed_path(bed, "sys/devices/virtual/graphics/fbcon/rotate"), "0\n");
        bed_symlink(bed_path(bed, "sys/class/graphics/fbcon"), "../../devices/virtual/graphics/fbcon");
        bed_write(bed_path(bed, "sys/class/vtconsole/vtcon0/name"), "(S) dummy device\n");
        bed_write(bed_path(bed, "sys/class/vtconsole/vtcon0/bind"), "0\n");
        bed_write(bed_path(bed, "sys/class/vtconsole/vtcon1/name"), "(M) frame buffer device\n");
        bed_write(bed_path(bed, "sys/class/vtconsole/vtcon1/bind"), "1\n");

        GPtrArray *f = check(bed, gpu, other, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_CONSOLE, "0000:00:02.0", "fb0",
               "0000:00:02.0 drives fb0, on which fbcon shows the host's console", NULL);
        assert_true(safety_finding_forceable(f->pdata[0]));

        /* fbcon unbound: the framebuffer shows nothing of the host's */
        bed_write(bed_path(bed, "sys/class/vtconsole/vtcon1/bind"), "0\n");
        expect_count(check(bed, gpu, NULL), 0);
}

/* A DRM connector that is on: a display the host shows something on. */
static void test_console_drm(void **state) {
        Bed *bed = *state;
        Device *gpu = bed_device(bed, GPU, 0x030000, "amdgpu");
        Device *other = bed_device(bed, "0000:b1:00.0", 0x030000, "amdgpu");
        const char *card = "devices/pci0000:00/0000:00:01.0/" GPU "/drm/card0";
        const char *card1 = "devices/pci0000:b0/0000:b0:02.0/0000:b1:00.0/drm/card1";
        static const char *const connectors[][2] = {
                { "card0-DP-1", "disabled" }, { "card0-HDMI-A-1", "enabled" }, { "card1-DP-1", "disabled" },
        };

        g_autofree char *card_link = g_strdup_printf("../../%s", card);
        g_autofree char *card1_link = g_strdup_printf("../../%s", card1);
        g_autofree char *render_link = g_strdup_printf("../../%s/../renderD128", card);

        bed_write(bed_path(bed, "sys/%s/dev", card), "226:0\n");
        bed_symlink(bed_path(bed, "sys/class/drm/card0"), card_link);
        bed_write(bed_path(bed, "sys/%s/dev", card1), "226:1\n");
        bed_symlink(bed_path(bed, "sys/class/drm/card1"), card1_link);
        for (guint i = 0; i < G_N_ELEMENTS(connectors); i++) {
                const char *dir = g_str_has_prefix(connectors[i][0], "card0") ? card : card1;
                g_autofree char *value = g_strdup_printf("%s\n", connectors[i][1]);
                g_autofree char *target = g_strdup_printf("../../%s/%s", dir, connectors[i][0]);
                bed_write(bed_path(bed, "sys/%s/%s/enabled", dir, connectors[i][0]), value);
                bed_symlink(bed_path(bed, "sys/class/drm/%s", connectors[i][0]), target);
        }
        bed_symlink(bed_path(bed, "sys/class/drm/renderD128"), render_link);

        GPtrArray *f = check(bed, gpu, other, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_CONSOLE, GPU, "card0-HDMI-A-1",
               GPU " drives card0-HDMI-A-1, a display that is on: the host would lose that screen", NULL);
}

/* Each table the guard needs, made unreadable (a directory where a file
 * should be, a file where a directory should be: root reads anything
 * with permissions), is a finding that Force can pass. */
static void test_unreadable_tables(void **state) {
        Bed *bed = *state;
        Device *nic = bed_device(bed, NIC, 0x020000, "i40e");
        Device *nvme = bed_device(bed, NVME, 0x010802, "nvme");
        static const struct {
                const char *table;
                const char *reason;
        } tables[] = {
                { "proc/net/route", "Is a directory" },
                { "proc/net/if_inet6", "Is a directory" },
                { "proc/net/ipv6_route", "Is a directory" },
                { "proc/self/mountinfo", "Is a directory" },
                { "proc/swaps", "Is a directory" },
                { "sys/class/block", "Not a directory" },
                { "sys/class/net", "Not a directory" },
        };

        for (guint i = 0; i < G_N_ELEMENTS(tables); i++) {
                g_autofree char *path = bed_path(bed, "%s", tables[i].table);
                g_autofree char *saved = g_strconcat(path, ".saved", NULL);
                g_autofree char *table = g_strconcat("/", tables[i].table, NULL);
                bool dir = g_file_test(path, G_FILE_TEST_IS_DIR);

                assert_int_equal(rename(path, saved), 0);
                if (dir)
                        bed_write(g_strdup(path), "");
                else
                        assert_int_equal(mkdir(path, 0755), 0);
                GPtrArray *f = check(bed, nic, nvme, NULL);
                expect_count(f, 1);
                expect(f, 0, SAFETY_UNREADABLE, NIC, table, table, tables[i].reason,
                       "the guard cannot tell what the host would lose with " NIC, NULL);
                assert_true(safety_finding_forceable(f->pdata[0]));
                assert_int_equal(remove(path), 0);
                assert_int_equal(rename(saved, path), 0);
        }
        expect_count(check(bed, nic, nvme, NULL), 0);

        /* A kernel without IPv6 has neither file: nothing unread there. */
        g_autofree char *inet6 = bed_path(bed, "proc/net/if_inet6");
        g_autofree char *route6 = bed_path(bed, "proc/net/ipv6_route");
        assert_int_equal(remove(route6), 0);
        GPtrArray *f = check(bed, nic, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_UNREADABLE, NIC, "/proc/net/ipv6_route", "No such file or directory", NULL);
        assert_int_equal(remove(inet6), 0);
        expect_count(check(bed, nic, NULL), 0);
        /* IPv4 is always there: its table missing is not normal */
        g_autofree char *route = bed_path(bed, "proc/net/route");
        assert_int_equal(remove(route), 0);
        f = check(bed, nic, NULL);
        expect_count(f, 1);
        expect(f, 0, SAFETY_UNREADABLE, NIC, "/proc/net/route", NULL);
}

static void test_kind_names(void **state) {
        static const char *const names[] = {
                "iommu-group", "boot-vga", "network", "default-route", "mounted", "swap",
                "bridge", "vfs-in-use", "console", "unreadable",
        };

        G_STATIC_ASSERT(G_N_ELEMENTS(names) == _SAFETY_KIND_MAX);
        for (SafetyKind k = 0; k < _SAFETY_KIND_MAX; k++)
                assert_string_equal(safety_kind_to_string(k), names[k]);
        safety_finding_free(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                bed_test(test_iommu_sibling_left_behind),
                bed_test(test_iommu_harmless_peers),
                bed_test(test_boot_vga),
                bed_test(test_mounted_partition),
                bed_test(test_mounted_through_dm_holder),
                bed_test(test_swap_partition_and_mapper),
                bed_test(test_unmounted_nvme),
                bed_test(test_hostile_names),
                bed_test(test_missing_proc),
                bed_test(test_finding_order),
                bed_test(test_bridges_refused),
                bed_test(test_vfs_in_use),
                bed_test(test_console_fbcon),
                bed_test(test_console_drm),
                bed_test(test_unreadable_tables),
                cmocka_unit_test(test_kind_names),
        };
        return cmocka_run_group_tests_name("safety", tests, NULL, NULL);
}
