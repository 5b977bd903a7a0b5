/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pci-read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysfs.h"
#include "text.h"

/* The kernel never gives a PF more VFs than this (the SR-IOV TotalVFs
 * field is 16 bits); a hostile tree does not make us loop longer. */
#define VFS_MAX 65536

/* The config space devpassd reads: the header, which holds the ids,
 * class, revision and (type 0) subsystem ids. */
#define CONFIG_HEADER 64
/* Where a PCIe function's extended capabilities begin, and the SR-IOV
 * capability's id among them. */
#define CONFIG_EXT_START 0x100
#define CONFIG_EXT_ID_SRIOV 0x0010
/* A config space this long has the extended capabilities: the kernel
 * shows 256 bytes for a conventional function, 4096 for PCIe. */
#define CONFIG_EXT_SIZE 4096
#define CLASS_DISPLAY_VGA 0x0300

typedef enum {
        SRIOV_UNKNOWN,           /* no extended config space to tell: try the files */
        SRIOV_ABSENT,
        SRIOV_PRESENT,
} SriovCap;

typedef struct {
        int dirfd;
        GString *problems;       /* "vendor (No such file or directory), ..." */
        uint8_t config[CONFIG_HEADER];
        ssize_t config_len;      /* < 0: -errno, told once an attribute needed it */
        bool config_told;
        SriovCap sriov;
} Reader;

static void reader_problem(Reader *r, const char *what, int err) {
        if (r->problems->len > 0)
                g_string_append(r->problems, ", ");
        if (err)
                g_string_append_printf(r->problems, "%s (%s)", what, g_strerror(err));
        else
                g_string_append(r->problems, what);
}

static uint32_t config_le(const uint8_t *p, size_t size) {
        uint32_t v = 0;
        for (size_t i = 0; i < size; i++)
                v |= (uint32_t) p[i] << (8 * i);
        return v;
}

/* Whether the extended capability list has SR-IOV: the kernel makes the
 * sriov_* files only for such a function. Each header is read alone, as
 * the kernel reads config space a register at a time; a list that loops
 * or runs off the space ends the walk. */
static SriovCap config_sriov(int fd) {
        uint32_t offset = CONFIG_EXT_START;

        for (unsigned hops = 0; hops < (CONFIG_EXT_SIZE - CONFIG_EXT_START) / 4; hops++) {
                uint8_t h[4];
                if (pread(fd, h, sizeof(h), offset) != (ssize_t) sizeof(h))
                        return SRIOV_UNKNOWN;
                uint32_t header = config_le(h, 4);
                if (header == 0 || header == UINT32_MAX)
                        return SRIOV_ABSENT;
                if ((header & 0xffff) == CONFIG_EXT_ID_SRIOV)
                        return SRIOV_PRESENT;
                offset = (header >> 20) & 0xffc;
                if (offset < CONFIG_EXT_START)
                        return SRIOV_ABSENT;
        }
        return SRIOV_ABSENT;
}

/* One read of the config header, and of the extended capabilities'
 * headers where the space has them. A short or missing config (a test's
 * fixture, a function gone) leaves the attributes to tell. */
static void reader_config(Reader *r) {
        struct stat st;
        int fd = openat(r->dirfd, "config", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

        r->config_len = fd < 0 ? -errno : pread(fd, r->config, sizeof(r->config), 0);
        if (r->config_len < 0 && fd >= 0)
                r->config_len = -errno;
        /* A conventional function's 256 bytes have no room for SR-IOV. */
        if (r->config_len == CONFIG_HEADER && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
                r->sriov = st.st_size >= CONFIG_EXT_SIZE ? config_sriov(fd)
                                                         : st.st_size >= 256 ? SRIOV_ABSENT : SRIOV_UNKNOWN;
        if (fd >= 0)
                close(fd);
}

static bool reader_config_field(Reader *r, size_t offset, size_t size, uint32_t *ret) {
        if (r->config_len < (ssize_t) (offset + size))
                return false;
        *ret = config_le(r->config + offset, size);
        return true;
}

/* A hex id from its attribute, else from config space, else 0 with a problem. */
static uint32_t reader_attr_id(Reader *r, const char *attr, uint32_t max, size_t offset, size_t size) {
        g_autofree char *s = NULL;
        uint32_t v;

        int err = sysfs_read_attr(r->dirfd, attr, &s);
        if (err == 0 && text_parse_hex_u32(s, &v) && v <= max)
                return v;
        if (r->config_len < 0 && !r->config_told) {
                reader_problem(r, "config", (int) -r->config_len);
                r->config_told = true;
        }
        if (reader_config_field(r, offset, size, &v))
                return v;
        reader_problem(r, attr, err < 0 ? -err : EINVAL);
        return 0;
}

/* The ids, class and revision from the config header, read once; the
 * attributes where it cannot tell: a VF's vendor and device ids read
 * 0xffff in config space (the kernel knows them from its PF), and a
 * bridge's or CardBus bridge's subsystem ids are no part of its header. */
static void reader_ids(Reader *r, Device *d) {
        uint32_t vendor = 0xffff;

        reader_config(r);
        if (reader_config_field(r, 0x00, 2, &vendor) && vendor != 0xffff && vendor != 0) {
                d->vendor_id = (uint16_t) vendor;
                d->device_id = (uint16_t) config_le(r->config + 0x02, 2);
        } else {
                d->vendor_id = (uint16_t) reader_attr_id(r, "vendor", 0xffff, 0x00, 2);
                d->device_id = (uint16_t) reader_attr_id(r, "device", 0xffff, 0x02, 2);
        }
        if (r->config_len >= CONFIG_HEADER) {
                d->class_code = config_le(r->config + 0x09, 3);
                d->revision = r->config[0x08];
        } else {
                d->class_code = reader_attr_id(r, "class", 0xffffff, 0x09, 3);
                d->revision = (uint8_t) reader_attr_id(r, "revision", 0xff, 0x08, 1);
        }
        if (r->config_len >= CONFIG_HEADER && (r->config[0x0e] & 0x7f) == 0) {
                d->subsystem_vendor_id = (uint16_t) config_le(r->config + 0x2c, 2);
                d->subsystem_device_id = (uint16_t) config_le(r->config + 0x2e, 2);
        } else {
                d->subsystem_vendor_id = (uint16_t) reader_attr_id(r, "subsystem_vendor", 0xffff, 0x2c, 2);
                d->subsystem_device_id = (uint16_t) reader_attr_id(r, "subsystem_device", 0xffff, 0x2e, 2);
        }
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
        reader_ids(r, d);
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
        /* The kernel has boot_vga for VGA functions only, and the sriov_*
         * files for functions with the capability only. */
        if (d->class_code >> 8 == CLASS_DISPLAY_VGA)
                d->boot_vga = reader_int(r, "boot_vga", 0, 1, 0) == 1;
        if (r->sriov != SRIOV_ABSENT) {
                d->sriov_total_vfs = (uint32_t) reader_int(r, "sriov_totalvfs", 0, VFS_MAX, 0);
                d->sriov_num_vfs = (uint32_t) reader_int(r, "sriov_numvfs", 0, VFS_MAX, 0);
                d->sriov_offset = (uint32_t) reader_int(r, "sriov_offset", 0, G_MAXUINT16, 0);
                d->sriov_stride = (uint32_t) reader_int(r, "sriov_stride", 0, G_MAXUINT16, 0);
        }

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

Device *pci_read_device_at(int devices_fd, const DpAddress *address, Names *names) {
        g_autoptr(Device) d = device_new(address);

        int dirfd = openat(devices_fd, d->address_str, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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

int pci_devices_open(const char *sysfs_root) {
        g_autofree char *dir = g_strdup_printf("%s/bus/pci/devices", sysfs_root);
        return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

Device *pci_read_device(const char *sysfs_root, const DpAddress *address, Names *names) {
        int fd = pci_devices_open(sysfs_root);
        if (fd < 0) {
                if (errno != ENOENT)
                        g_warning("Cannot list PCI functions in %s: %s", sysfs_root, g_strerror(errno));
                return NULL;
        }
        Device *d = pci_read_device_at(fd, address, names);
        close(fd);
        return d;
}
