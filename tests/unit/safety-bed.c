/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "safety-bed.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *bed_path(Bed *bed, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        g_autofree char *rel = g_strdup_vprintf(format, ap);
        va_end(ap);
        return g_build_filename(bed->root, rel, NULL);
}

void bed_write(char *path, const char *contents) {
        g_autofree char *p = path, *dir = g_path_get_dirname(p);

        assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
        assert_true(g_file_set_contents(p, contents, -1, NULL));
}

void bed_symlink(char *path, const char *target) {
        g_autofree char *p = path, *dir = g_path_get_dirname(p);

        assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
        assert_int_equal(symlink(target, p), 0);
}

int bed_setup(void **state) {
        g_autoptr(GError) error = NULL;
        Bed *bed = g_new0(Bed, 1);

        bed->root = g_dir_make_tmp("devpass-safety-XXXXXX", &error);
        assert_non_null(bed->root);
        bed->devices = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);
        bed->groups = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        /* A host without routes, addresses, mounts, swap, disks or
         * interfaces: every table there, and empty. */
        bed_write(bed_path(bed, "proc/net/route"), ROUTE_HEADER);
        bed_write(bed_path(bed, "proc/net/if_inet6"), "");
        bed_write(bed_path(bed, "proc/net/ipv6_route"), "");
        bed_write(bed_path(bed, "proc/self/mountinfo"), "");
        bed_write(bed_path(bed, "proc/swaps"), SWAPS_HEADER);
        g_autofree char *block = bed_path(bed, "sys/class/block");
        g_autofree char *net = bed_path(bed, "sys/class/net");
        assert_int_equal(g_mkdir_with_parents(block, 0755), 0);
        assert_int_equal(g_mkdir_with_parents(net, 0755), 0);
        *state = bed;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

int bed_teardown(void **state) {
        Bed *bed = *state;

        assert_int_equal(nftw(bed->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        g_free(bed->root);
        g_clear_pointer(&bed->findings, g_ptr_array_unref);
        g_ptr_array_unref(bed->groups);   /* before the devices they point to */
        g_ptr_array_unref(bed->devices);
        g_free(bed);
        return 0;
}

void bed_block(Bed *bed, const char *name, const char *sys_path, const char *devnum) {
        g_autofree char *dev = g_strdup_printf("%s\n", devnum);
        g_autofree char *target = g_strdup_printf("../../%s", sys_path);

        bed_write(bed_path(bed, "sys/%s/dev", sys_path), dev);
        bed_symlink(bed_path(bed, "sys/class/block/%s", name), target);
}

/* The kernel's link points into the holder's directory; only the name counts. */
void bed_holder(Bed *bed, const char *name, const char *holder) {
        bed_symlink(bed_path(bed, "sys/class/block/%s/holders/%s", name, holder), "../../../holder");
}

void bed_nvme(Bed *bed) {
        bed_block(bed, "nvme0n1", NVME_SYS, "259:0");
        bed_block(bed, "nvme0n1p1", NVME_SYS "/nvme0n1p1", "259:1");
        bed_block(bed, "nvme0n1p2", NVME_SYS "/nvme0n1p2", "259:2");
        bed_block(bed, "nvme0n1p3", NVME_SYS "/nvme0n1p3", "259:3");
        /* another disk on another controller */
        bed_block(bed, "sda", "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", "8:0");
}

void bed_iface(Bed *bed, const char *ifname, const char *device) {
        g_autofree char *dir = bed_path(bed, "sys/%s/net/%s", device, ifname);
        g_autofree char *target = g_strdup_printf("../../%s/net/%s", device, ifname);

        assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
        bed_symlink(bed_path(bed, "sys/class/net/%s", ifname), target);
}

void bed_netdev(Bed *bed, const char *address, const char *ifname) {
        g_autofree char *device = g_strdup_printf("devices/pci0000:3a/0000:3a:00.0/%s", address);
        bed_iface(bed, ifname, device);
}

void bed_upper(Bed *bed, const char *lower, const char *upper, bool master) {
        g_autofree char *target = g_strdup_printf("../../../virtual/net/%s", upper);

        bed_symlink(bed_path(bed, "sys/class/net/%s/upper_%s", lower, upper), target);
        if (master)
                bed_symlink(bed_path(bed, "sys/class/net/%s/master", lower), target);
}

Device *bed_device(Bed *bed, const char *address, guint32 class_code, const char *driver) {
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

void bed_group(Bed *bed, int32_t group, ...) {
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

GPtrArray *check(Bed *bed, ...) {
        va_list ap;

        va_start(ap, bed);
        g_autoptr(GPtrArray) selection = devices_va(ap);
        va_end(ap);
        g_clear_pointer(&bed->findings, g_ptr_array_unref);
        bed->findings = safety_check(bed->root, selection, bed->use, bed->use_data);
        return bed->findings;
}

static void assert_clean(const char *s) {
        if (!g_utf8_validate(s, -1, NULL))
                fail_msg("not UTF-8: '%s'", s);
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        fail_msg("control character in '%s'", s);
}

void expect_count(GPtrArray *findings, guint n) {
        if (findings->len == n)
                return;
        for (guint i = 0; i < findings->len; i++) {
                SafetyFinding *f = findings->pdata[i];
                print_message("finding %u: %s %s '%s': %s\n", i, safety_kind_to_string(f->kind),
                              f->address, f->subject, f->message);
        }
        fail_msg("%u findings, expected %u", findings->len, n);
}

void expect(GPtrArray *findings, guint i, SafetyKind kind, const char *address,
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
