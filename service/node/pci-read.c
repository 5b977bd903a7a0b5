/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pci-read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sysfs.h"
#include "text.h"

/* The kernel never gives a PF more VFs than this (the SR-IOV TotalVFs
 * field is 16 bits); a hostile tree does not make us loop longer. */
#define VFS_MAX 65536

typedef struct {
        int dirfd;
        GString *problems;       /* "vendor (No such file or directory), ..." */
        uint8_t config[64];
        ssize_t config_len;      /* < 0: not read yet */
} Reader;

static void reader_problem(Reader *r, const char *what, int err) {
        if (r->problems->len > 0)
                g_string_append(r->problems, ", ");
        if (err)
                g_string_append_printf(r->problems, "%s (%s)", what, g_strerror(err));
        else
                g_string_append(r->problems, what);
}

/* Config space is the fallback for ids whose attribute is missing. */
static bool reader_config(Reader *r, size_t offset, size_t size, uint32_t *ret) {
        if (r->config_len < 0) {
                r->config_len = sysfs_read_bin(r->dirfd, "config", r->config, sizeof(r->config));
                if (r->config_len < 0)
                        reader_problem(r, "config", (int) -r->config_len);
        }
        if (r->config_len < (ssize_t) (offset + size))
                return false;

        uint32_t v = 0;
        for (size_t i = 0; i < size; i++)
                v |= (uint32_t) r->config[offset + i] << (8 * i);
        *ret = v;
        return true;
}

/* A hex id from its attribute, else from config space, else 0 with a problem. */
static uint32_t reader_id(Reader *r, const char *attr, uint32_t max, size_t offset, size_t size) {
        g_autofree char *s = NULL;
        uint32_t v;

        int err = sysfs_read_attr(r->dirfd, attr, &s);
        if (err == 0 && text_parse_hex_u32(s, &v) && v <= max)
                return v;
        if (reader_config(r, offset, size, &v))
                return v;
        reader_problem(r, attr, err < 0 ? -err : EINVAL);
        return 0;
}

/* An optional decimal attribute: missing is normal, malformed is a problem. */
static int64_t reader_int(Reader *r, const char *attr, int64_t min, int64_t max, int64_t fallback) {
        g_autofree char *s = NULL;
        gint64 v;

        int err = sysfs_read_attr(r->dirfd, attr, &s);
        if (err == -ENOENT)
                return fallback;
        if (err < 0 || !text_parse_int(s, min, max, &v)) {
                reader_problem(r, attr, err < 0 ? -err : EINVAL);
                return fallback;
        }
        return v;
}

/* The name a link points to, sanitized; NULL when there is no link. */
static char *reader_link_name(Reader *r, const char *link) {
        g_autofree char *name = NULL;
        bool changed;

        int err = sysfs_read_link_name(r->dirfd, link, &name);
        if (err == -ENOENT)
                return NULL;
        if (err < 0) {
                reader_problem(r, link, -err);
                return NULL;
        }
        char *clean = text_sanitize(name, strlen(name), &changed);
        if (changed)
                reader_problem(r, link, EILSEQ);
        return clean;
}

/* A link to another function ("physfn", "virtfn3") as that function's path. */
static char *reader_link_path(Reader *r, const char *link) {
        g_autofree char *name = reader_link_name(r, link);
        char path[DP_DEVICE_PATH_MAX];
        DpAddress a;

        if (!name)
                return NULL;
        if (!address_parse(name, &a)) {
                reader_problem(r, link, EINVAL);
                return NULL;
        }
        address_to_path(&a, path);
        return g_strdup(path);
}

typedef struct {
        guint index;
        char *path;
} Virtfn;

static gint virtfn_compare(gconstpointer a, gconstpointer b) {
        const Virtfn *x = a, *y = b;
        return (x->index > y->index) - (x->index < y->index);
}

static void virtfn_clear(gpointer p) {
        g_free(((Virtfn *) p)->path);
}

/* The index of a "virtfnN" link: decimal, no leading zero, below total
 * (the kernel numbers VFs 0 .. TotalVFs - 1). */
static bool virtfn_index(const char *name, uint32_t total, guint *index) {
        const char *digits = name + strlen("virtfn");
        gint64 v;

        if (!g_str_has_prefix(name, "virtfn") || (digits[0] == '0' && digits[1]) ||
            !text_parse_int(digits, 0, (gint64) total - 1, &v))
                return false;
        *index = (guint) v;
        return true;
}

/* Every virtfnN link to a VF that exists, by N: a VF the kernel took away
 * (hot-unplugged, failed to probe) leaves a gap that must not hide the
 * ones after it.
 * Only SR-IOV PFs have them, and no more than their TotalVFs. */
static char **reader_virtfns(Reader *r, uint32_t total) {
        g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(Virtfn));
        g_array_set_clear_func(found, virtfn_clear);

        int fd = total > 0 ? openat(r->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (total > 0 && !dir) {
                reader_problem(r, "virtfn links", errno);
                if (fd >= 0)
                        close(fd);
        }
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
                Virtfn v;
                /* A link left to a VF that is gone names no object. */
                if (!virtfn_index(de->d_name, total, &v.index) || faccessat(r->dirfd, de->d_name, F_OK, 0) < 0)
                        continue;
                v.path = reader_link_path(r, de->d_name);
                if (v.path)
                        g_array_append_val(found, v);
        }
        if (dir)
                closedir(dir);

        g_array_sort(found, virtfn_compare);
        char **paths = g_new0(char *, found->len + 1);
        for (guint i = 0; i < found->len; i++)
                paths[i] = g_steal_pointer(&g_array_index(found, Virtfn, i).path);
        return paths;
}

static void reader_fill(Reader *r, Device *d, Names *names) {
        d->vendor_id = (uint16_t) reader_id(r, "vendor", 0xffff, 0x00, 2);
        d->device_id = (uint16_t) reader_id(r, "device", 0xffff, 0x02, 2);
        d->class_code = reader_id(r, "class", 0xffffff, 0x09, 3);
        d->revision = (uint8_t) reader_id(r, "revision", 0xff, 0x08, 1);
        /* Bridges have no subsystem ids in their type-1 header: the
         * attributes are what the kernel knows. */
        d->subsystem_vendor_id = (uint16_t) reader_id(r, "subsystem_vendor", 0xffff, 0x2c, 2);
        d->subsystem_device_id = (uint16_t) reader_id(r, "subsystem_device", 0xffff, 0x2e, 2);
        names_fill(names, d);

        d->driver = reader_link_name(r, "driver") ?: g_strdup("");
        /* Hostile like every attribute; "(null)" is the kernel's none. */
        g_autofree char *override = NULL;
        if (sysfs_read_attr(r->dirfd, "driver_override", &override) == 0 && !g_str_equal(override, "(null)"))
                d->driver_override = text_sanitize(override, strlen(override), NULL);
        else
                d->driver_override = g_strdup("");

        g_autofree char *group = reader_link_name(r, "iommu_group");
        gint64 g;
        if (group && text_parse_int(group, 0, G_MAXINT32, &g))
                d->iommu_group = (int32_t) g;
        else if (group)
                reader_problem(r, "iommu_group", EINVAL);

        d->numa_node = (int32_t) reader_int(r, "numa_node", -1, G_MAXINT32, -1);
        d->boot_vga = reader_int(r, "boot_vga", 0, 1, 0) == 1;
        d->sriov_total_vfs = (uint32_t) reader_int(r, "sriov_totalvfs", 0, VFS_MAX, 0);
        d->sriov_num_vfs = (uint32_t) reader_int(r, "sriov_numvfs", 0, VFS_MAX, 0);
        d->sriov_offset = (uint32_t) reader_int(r, "sriov_offset", 0, G_MAXUINT16, 0);
        d->sriov_stride = (uint32_t) reader_int(r, "sriov_stride", 0, G_MAXUINT16, 0);

        g_free(d->physfn_path);
        d->physfn_path = reader_link_path(r, "physfn") ?: g_strdup("/");

        d->virtfn_paths = reader_virtfns(r, d->sriov_total_vfs);

        g_autofree char *methods = NULL;
        if (sysfs_read_attr(r->dirfd, "reset_method", &methods) == 0) {
                g_auto(GStrv) words = g_strsplit_set(methods, " \t\n", -1);
                g_autoptr(GPtrArray) clean = g_ptr_array_new();
                for (char **w = words; *w; w++)
                        if (**w)
                                g_ptr_array_add(clean, text_sanitize(*w, strlen(*w), NULL));
                g_ptr_array_add(clean, NULL);
                d->reset_methods = (char **) g_ptr_array_free(g_steal_pointer(&clean), FALSE);
        } else
                d->reset_methods = g_new0(char *, 1);
}

Device *pci_read_device(const char *sysfs_root, const DpAddress *address, Names *names) {
        g_autoptr(Device) d = device_new(address);
        g_autofree char *dir = g_strdup_printf("%s/bus/pci/devices/%s", sysfs_root, d->address_str);

        int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                if (errno != ENOENT)
                        g_warning("Cannot read PCI function %s: %s", d->address_str, g_strerror(errno));
                return NULL;
        }

        Reader r = { .dirfd = dirfd, .problems = g_string_new(NULL), .config_len = -1 };
        reader_fill(&r, d, names);
        close(dirfd);

        if (r.problems->len > 0)
                g_warning("PCI function %s: could not read %s; showing what could be read",
                          d->address_str, r.problems->str);
        g_string_free(r.problems, TRUE);
        return g_steal_pointer(&d);
}
