/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The /proc tables the safety guard reads (route, if_inet6, ipv6_route,
 * mountinfo, swaps), as a hostile or unusual host could show them: the
 * input, split at NUL bytes, is each file's contents in that order (a part
 * left out is a file that is not there). Read by the real guard
 * (safety_check) for a NIC with two interfaces, one enslaved to a bond,
 * and an NVMe disk with a device-mapper volume stacked on it, under a
 * relocated root. Every finding names the device and is one line of
 * UTF-8 of bounded length. The seed empty-tables (every table empty) read past the end of
 * the lines before safety.c checked for a header line. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "safety.h"

static const char *const tables[] = {
        "proc/net/route", "proc/net/if_inet6", "proc/net/ipv6_route", "proc/self/mountinfo", "proc/swaps",
};

/* A path in a table may be PATH_MAX bytes, each of which sanitizing may
 * make a 3-byte U+FFFD, in a sentence. */
#define MESSAGE_MAX (3 * 4096 + 1024)

static char *root;

static void link_to(const char *target, const char *rel) {
        g_autofree char *path = g_build_filename(root, rel, NULL);
        if (symlink(target, path) < 0)
                abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        root = fuzz_temp_dir();
        /* The NIC 0000:17:00.0 with eth0 (in bond0) and ens1f0. */
        fuzz_write(root, "sys/devices/pci0000:00/0000:17:00.0/net/eth0/ifindex", "2\n", 2);
        fuzz_write(root, "sys/devices/pci0000:00/0000:17:00.0/net/ens1f0/ifindex", "3\n", 2);
        fuzz_write(root, "sys/devices/virtual/net/bond0/ifindex", "4\n", 2);
        fuzz_write(root, "sys/class/net/.keep", "", 0);
        link_to("../../devices/pci0000:00/0000:17:00.0/net/eth0", "sys/class/net/eth0");
        link_to("../../devices/pci0000:00/0000:17:00.0/net/ens1f0", "sys/class/net/ens1f0");
        link_to("../../devices/virtual/net/bond0", "sys/class/net/bond0");
        link_to("../../../../../virtual/net/bond0", "sys/devices/pci0000:00/0000:17:00.0/net/eth0/master");
        link_to("../../../../../virtual/net/bond0", "sys/devices/pci0000:00/0000:17:00.0/net/eth0/upper_bond0");
        /* nvme0n1 behind it, dm-0 held on it; /dev/mapper/vg-swap -> ../dm-0 */
        fuzz_write(root, "sys/devices/pci0000:00/0000:17:00.0/nvme/nvme0/nvme0n1/dev", "259:0\n", 6);
        fuzz_write(root, "sys/devices/pci0000:00/0000:17:00.0/nvme/nvme0/nvme0n1/holders/dm-0/dev", "253:0\n", 6);
        fuzz_write(root, "sys/devices/virtual/block/dm-0/dev", "253:0\n", 6);
        fuzz_write(root, "sys/class/block/.keep", "", 0);
        fuzz_write(root, "dev/mapper/.keep", "", 0);
        link_to("../../devices/pci0000:00/0000:17:00.0/nvme/nvme0/nvme0n1", "sys/class/block/nvme0n1");
        link_to("../../devices/virtual/block/dm-0", "sys/class/block/dm-0");
        link_to("../dm-0", "dev/mapper/vg-swap");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *parts[G_N_ELEMENTS(tables)];
        size_t lens[G_N_ELEMENTS(tables)];
        DpAddress a;

        fuzz_split(data, size, parts, lens, G_N_ELEMENTS(tables));
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++) {
                g_autofree char *path = g_build_filename(root, tables[i], NULL);
                if (parts[i])
                        fuzz_write(root, tables[i], parts[i], lens[i]);
                else
                        (void) unlink(path);
        }

        if (!address_parse("0000:17:00.0", &a))
                abort();
        g_autoptr(Device) nic = device_new(&a);
        g_autoptr(GPtrArray) selection = g_ptr_array_new();
        g_ptr_array_add(selection, nic);
        g_autoptr(GPtrArray) findings = safety_check(root, selection, NULL, NULL);
        for (guint i = 0; i < findings->len; i++) {
                const SafetyFinding *f = findings->pdata[i];
                fuzz_assert_message(f->message, MESSAGE_MAX);
                fuzz_assert_message(f->subject, MESSAGE_MAX);
                if (strcmp(f->address, "0000:17:00.0") != 0)
                        abort();
        }
        return 0;
}
