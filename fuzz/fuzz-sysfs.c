/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One PCI function's sysfs directory as a hostile or broken kernel (or a
 * bad fixture) could show it, read by the real reader (pci_read_device:
 * sysfs_read_attr, sysfs_read_link_name, the id, number and link
 * parsers). The input, split at NUL bytes, gives each attribute's
 * contents and each link's target in the order of the tables below; a
 * part left out is a file that is not there. The device read back holds
 * only UTF-8 without control characters, ids in range, and links that
 * name devices. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "pci-read.h"
#include "text.h"

#define ADDRESS "0000:3b:00.0"

static const char *const attrs[] = {
        "vendor", "device", "class", "revision", "subsystem_vendor", "subsystem_device", "numa_node",
        "boot_vga", "sriov_totalvfs", "sriov_numvfs", "reset_method", "config",
};
static const char *const links[] = { "driver", "iommu_group", "physfn", "virtfn0", "virtfn1", "virtfn10" };
#define N_PARTS (G_N_ELEMENTS(attrs) + G_N_ELEMENTS(links))

static char *root, *dir;
static Names *names;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        root = fuzz_temp_dir();
        dir = g_build_filename(root, "bus/pci/devices", ADDRESS, NULL);
        if (g_mkdir_with_parents(dir, 0700) < 0)
                abort();
        names = names_new("/nonexistent/pci.ids");   /* names are not what is read here */
        return 0;
}

static void text_clean(const char *s) {
        if (!g_utf8_validate(s, -1, NULL))
                abort();
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        abort();
}

static void path_clean(const char *path) {
        DpAddress a;
        if (strcmp(path, "/") != 0 && !address_from_path(path, &a))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *parts[N_PARTS];
        size_t lens[N_PARTS];
        DpAddress a;

        fuzz_split(data, size, parts, lens, N_PARTS);
        for (size_t i = 0; i < G_N_ELEMENTS(attrs); i++) {
                g_autofree char *path = g_build_filename(dir, attrs[i], NULL);
                if (parts[i])
                        fuzz_write(dir, attrs[i], parts[i], lens[i]);
                else
                        (void) unlink(path);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(links); i++) {
                const size_t k = G_N_ELEMENTS(attrs) + i;
                g_autofree char *path = g_build_filename(dir, links[i], NULL);
                g_autofree char *target = parts[k] ? fuzz_string(parts[k], lens[k]) : NULL;
                (void) unlink(path);
                if (target && *target && symlink(target, path) < 0)
                        abort();
        }

        if (!address_parse(ADDRESS, &a))
                abort();
        g_autoptr(Device) d = pci_read_device(root, &a, names);
        if (!d)
                abort();
        text_clean(d->driver);
        path_clean(d->physfn_path);
        for (char **p = d->virtfn_paths; p && *p; p++)
                path_clean(*p);
        for (char **m = d->reset_methods; m && *m; m++)
                text_clean(*m);
        if (d->numa_node < -1 || d->iommu_group < -1 || d->class_code > 0xffffff || d->sriov_total_vfs > 65536 ||
            d->sriov_num_vfs > 65536 || (d->boot_vga != 0 && d->boot_vga != 1))
                abort();
        return 0;
}
