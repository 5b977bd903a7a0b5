/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nodegen.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CLASS_BRIDGE_PCI 0x0604
#define CLASS_DISPLAY_VGA 0x0300

static bool is_bridge(const NodegenFunction *f) {
        return f->class_code >> 8 == CLASS_BRIDGE_PCI;
}

/* Straight to the kernel: the umockdev preload wraps open, mkdir, write
 * and close with a process-wide lock and an extra access() for paths under
 * /dev (the testbed is on /dev/shm for the benchmark), which would triple
 * the cost and serialise the writer threads. None of our paths is one the
 * preload redirects. */
static int sys_openat(int dirfd, const char *path, int flags, mode_t mode) {
        return (int) syscall(SYS_openat, dirfd, path, flags, mode);
}

static int sys_mkdirat(int dirfd, const char *path, mode_t mode) {
        return (int) syscall(SYS_mkdirat, dirfd, path, mode);
}

static int sys_symlinkat(const char *target, int dirfd, const char *path) {
        return (int) syscall(SYS_symlinkat, target, dirfd, path);
}

static ssize_t sys_write(int fd, const void *buf, size_t len) {
        return (ssize_t) syscall(SYS_write, fd, buf, len);
}

static void sys_close(int fd) {
        (void) syscall(SYS_close, fd);
}

static void path_format(char path[static PATH_MAX], const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void path_format(char path[static PATH_MAX], const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(path, PATH_MAX, fmt, ap);
        va_end(ap);
        if (n < 0 || n >= PATH_MAX)
                g_error("nodegen: path too long: %s", fmt);
}

/* name relative to dirfd (AT_FDCWD: an absolute path). */
static void file_write(int dirfd, const char *name, const void *data, size_t len) {
        int fd = sys_openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

        if (fd < 0)
                g_error("nodegen: cannot create %s: %s", name, g_strerror(errno));
        if (len > 0 && sys_write(fd, data, len) != (ssize_t) len)
                g_error("nodegen: cannot write %s: %s", name, g_strerror(errno));
        sys_close(fd);
}

/* A text attribute: the kernel ends each with a newline. */
static void attr_write(int dirfd, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void attr_write(int dirfd, const char *name, const char *fmt, ...) {
        char value[512];
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(value, sizeof(value) - 1, fmt, ap);
        va_end(ap);
        g_assert(n >= 0 && (size_t) n < sizeof(value) - 1);
        value[n++] = '\n';
        file_write(dirfd, name, value, (size_t) n);
}

/* Returns true when it made the directory, false when it was there;
 * safe against another thread making it or its parents meanwhile. */
static bool dir_make(const char *path) {
        if (sys_mkdirat(AT_FDCWD, path, 0755) == 0)
                return true;
        if (errno == ENOENT) {
                g_autofree char *parent = g_path_get_dirname(path);
                dir_make(parent);
                if (sys_mkdirat(AT_FDCWD, path, 0755) == 0)
                        return true;
        }
        if (errno == EEXIST)
                return false;
        g_error("nodegen: cannot create directory %s: %s", path, g_strerror(errno));
}

static int dir_open(const char *path) {
        int fd = sys_openat(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);

        if (fd < 0)
                g_error("nodegen: cannot open %s: %s", path, g_strerror(errno));
        return fd;
}

static void link_make(const char *target, int dirfd, const char *name) {
        if (sys_symlinkat(target, dirfd, name) < 0)
                g_error("nodegen: cannot link %s -> %s: %s", name, target, g_strerror(errno));
}

/* "../" once per directory between a device's directory and /sys. */
static void dotdots(char out[static PATH_MAX], const char *devpath) {
        size_t n = 1;   /* the device directory itself */
        char *p = out;

        for (const char *c = devpath; *c; c++)
                n += *c == '/';
        if (n * 3 >= PATH_MAX)
                g_error("nodegen: path too deep: %s", devpath);
        for (size_t i = 0; i < n; i++, p += 3)
                memcpy(p, "../", 3);
        *p = '\0';
}

void nodegen_bus_write(const char *sys_dir) {
        char path[PATH_MAX];

        /* Idempotent: testbed_load() calls it after umockdev made bus/pci/devices. */
        path_format(path, "%s/bus/pci", sys_dir);
        dir_make(path);
        int fd = dir_open(path);
        file_write(fd, "drivers_probe", NULL, 0);
        attr_write(fd, "drivers_autoprobe", "1");
        file_write(fd, "rescan", NULL, 0);
        file_write(fd, "resource_alignment", "\n", 1);
        file_write(fd, "uevent", NULL, 0);
        sys_close(fd);
        static const char *const subdirs[] = { "devices", "drivers", "slots" };
        for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
                path_format(path, "%s/bus/pci/%s", sys_dir, subdirs[i]);
                dir_make(path);
        }
}

/* dir/name -> target; the common case, dir there already, is one syscall.
 * Returns false if dir is missing. */
static bool link_into(const char *target, const char *dir, const char *name) {
        char path[PATH_MAX];

        path_format(path, "%s/%s", dir, name);
        if (sys_symlinkat(target, AT_FDCWD, path) == 0)
                return true;
        if (errno != ENOENT)
                g_error("nodegen: cannot link %s -> %s: %s", path, target, g_strerror(errno));
        return false;
}

void nodegen_driver_link(const char *sys_dir, const char *driver, const char *address,
                         const char *devpath) {
        char dir[PATH_MAX], target[PATH_MAX];

        path_format(dir, "%s/bus/pci/drivers/%s", sys_dir, driver);
        path_format(target, "../../../../%s", devpath);
        if (link_into(target, dir, address))
                return;
        if (dir_make(dir)) {
                static const char *const files[] = { "bind", "unbind", "new_id", "remove_id", "uevent" };
                int fd = dir_open(dir);
                for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
                        file_write(fd, files[i], NULL, 0);
                sys_close(fd);
        }
        if (!link_into(target, dir, address))
                g_error("nodegen: %s vanished", dir);
}

void nodegen_iommu_group_link(const char *sys_dir, int group, const char *address, const char *devpath) {
        char dir[PATH_MAX], target[PATH_MAX], type[PATH_MAX];

        path_format(dir, "%s/kernel/iommu_groups/%d/devices", sys_dir, group);
        path_format(target, "../../../../%s", devpath);
        if (link_into(target, dir, address))
                return;
        if (dir_make(dir)) {
                path_format(type, "%s/kernel/iommu_groups/%d/type", sys_dir, group);
                file_write(AT_FDCWD, type, "DMA-FQ\n", 7);
        }
        if (!link_into(target, dir, address))
                g_error("nodegen: %s vanished", dir);
}

static void config_put(uint8_t *cfg, size_t offset, uint32_t v, size_t size) {
        for (size_t i = 0; i < size; i++)
                cfg[offset + i] = (uint8_t) (v >> (8 * i));
}

/* A PCIe function's config space as root reads it (4 KiB), consistent
 * with the attributes: the header, a PCI Express capability, and the
 * extended capabilities AER and, for an SR-IOV PF, SR-IOV. */
#define CONFIG_SIZE 4096
static void config_build(const NodegenFunction *f, uint8_t cfg[static CONFIG_SIZE]) {
        uint16_t command = is_bridge(f) || f->boot_vga == 1 ? 0x0407 : f->driver ? 0x0406 : 0;

        memset(cfg, 0, CONFIG_SIZE);
        /* A real VF's ids read all ones here (the kernel knows them from
         * its PF); lspci's output, which tests compare, then names its
         * subsystem differently: these keep the ids. */
        config_put(cfg, 0x00, f->vendor, 2);
        config_put(cfg, 0x02, f->device, 2);
        cfg[0x04] = command & 0xff;
        cfg[0x05] = command >> 8;
        cfg[0x06] = 0x10;               /* a capability list */
        cfg[0x08] = f->revision;
        cfg[0x09] = f->class_code & 0xff;
        cfg[0x0a] = (f->class_code >> 8) & 0xff;
        cfg[0x0b] = (f->class_code >> 16) & 0xff;
        cfg[0x0c] = f->physfn ? 0 : 0x10;
        cfg[0x0e] = (is_bridge(f) ? 0x01 : 0x00) | (f->multifunction ? 0x80 : 0);
        cfg[0x34] = 0x40;
        cfg[0x3c] = f->irq & 0xff;
        cfg[0x3d] = f->physfn ? 0 : 1;
        if (is_bridge(f)) {
                unsigned bus;
                if (sscanf(f->address, "%*x:%x:", &bus) != 1)
                        g_error("nodegen: bad address %s", f->address);
                cfg[0x18] = (uint8_t) bus;
                cfg[0x19] = f->secondary_bus;
                cfg[0x1a] = f->subordinate_bus;
        } else {
                cfg[0x2c] = f->subsystem_vendor & 0xff;
                cfg[0x2d] = f->subsystem_vendor >> 8;
                cfg[0x2e] = f->subsystem_device & 0xff;
                cfg[0x2f] = f->subsystem_device >> 8;
        }
        /* PCI Express, version 2: a root port, or an endpoint. */
        config_put(cfg, 0x40, 0x10 | (0x2u | (is_bridge(f) ? 0x4u << 4 : 0)) << 16, 4);
        /* Extended capabilities: id, version 1, next. */
        config_put(cfg, 0x100, 0x0001 | 1 << 16 | (f->sriov_total_vfs > 0 ? 0x140u << 20 : 0), 4);
        if (f->sriov_total_vfs > 0) {
                config_put(cfg, 0x140, 0x0010 | 1 << 16, 4);
                config_put(cfg, 0x140 + 0x0c, f->sriov_total_vfs, 2);   /* InitialVFs */
                config_put(cfg, 0x140 + 0x0e, f->sriov_total_vfs, 2);
                config_put(cfg, 0x140 + 0x10, f->sriov_num_vfs, 2);
                config_put(cfg, 0x140 + 0x14, f->sriov_offset, 2);
                config_put(cfg, 0x140 + 0x16, f->sriov_stride, 2);
                config_put(cfg, 0x140 + 0x1a, f->sriov_vf_device, 2);
        }
}

void nodegen_function_write(const char *sys_dir, const NodegenFunction *f) {
        char devpath[PATH_MAX], path[PATH_MAX], up[PATH_MAX], target[PATH_MAX], text[512];
        uint8_t cfg[CONFIG_SIZE];

        path_format(devpath, "devices/%s/%s", f->parent, f->address);
        dotdots(up, devpath);

        path_format(path, "%s/%s", sys_dir, devpath);
        if (sys_mkdirat(AT_FDCWD, path, 0755) < 0) {
                if (errno != ENOENT)
                        g_error("nodegen: cannot create %s: %s", path, g_strerror(errno));
                /* The first device of a root complex (pci0000:00), which is
                 * a device without a subsystem. */
                char root[PATH_MAX];
                const char *slash = strchr(f->parent, '/');
                path_format(root, "%s/devices/%.*s", sys_dir,
                            (int) (slash ? (size_t) (slash - f->parent) : strlen(f->parent)), f->parent);
                if (dir_make(root)) {
                        g_strlcat(root, "/uevent", sizeof(root));
                        file_write(AT_FDCWD, root, NULL, 0);
                }
                if (!dir_make(path))
                        g_error("nodegen: %s exists already", path);
        }
        int dir = dir_open(path);

        int n = snprintf(text, sizeof(text),
                         "%s%s%sPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n"
                         "MODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n",
                         f->driver ? "DRIVER=" : "", f->driver ?: "", f->driver ? "\n" : "", f->class_code,
                         f->vendor, f->device, f->subsystem_vendor, f->subsystem_device, f->address, f->vendor,
                         f->device, f->subsystem_vendor, f->subsystem_device, f->class_code >> 16,
                         (f->class_code >> 8) & 0xff, f->class_code & 0xff);
        g_assert(n > 0 && (size_t) n < sizeof(text));
        file_write(dir, "uevent", text, (size_t) n);

        attr_write(dir, "vendor", "0x%04x", f->vendor);
        attr_write(dir, "device", "0x%04x", f->device);
        attr_write(dir, "subsystem_vendor", "0x%04x", f->subsystem_vendor);
        attr_write(dir, "subsystem_device", "0x%04x", f->subsystem_device);
        attr_write(dir, "class", "0x%06x", f->class_code);
        attr_write(dir, "revision", "0x%02x", f->revision);
        attr_write(dir, "numa_node", "%d", f->numa_node);
        attr_write(dir, "enable", "%d", f->driver || is_bridge(f));
        attr_write(dir, "irq", "%u", f->irq);
        attr_write(dir, "local_cpulist", "%s", f->cpulist);
        attr_write(dir, "driver_override", "(null)");
        if (f->reset_method)
                attr_write(dir, "reset_method", "%s", f->reset_method);
        if (f->boot_vga >= 0)
                attr_write(dir, "boot_vga", "%d", f->boot_vga);
        if (f->sriov_total_vfs > 0) {
                attr_write(dir, "sriov_totalvfs", "%u", f->sriov_total_vfs);
                attr_write(dir, "sriov_numvfs", "%u", f->sriov_num_vfs);
                attr_write(dir, "sriov_offset", "%u", f->sriov_offset);
                attr_write(dir, "sriov_stride", "%u", f->sriov_stride);
                attr_write(dir, "sriov_vf_device", "%x", f->sriov_vf_device);
                attr_write(dir, "sriov_drivers_autoprobe", "1");
        }
        /* Start, end, flags of BARs, ROM, IOV BARs (and a bridge's windows):
         * unassigned, like the BARs in config; lspci -v needs the file. */
        static const char resource_line[] = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
        char resource[17 * sizeof(resource_line)];
        size_t lines = is_bridge(f) ? 17 : 13;
        for (size_t i = 0; i < lines; i++)
                memcpy(resource + i * (sizeof(resource_line) - 1), resource_line, sizeof(resource_line) - 1);
        file_write(dir, "resource", resource, lines * (sizeof(resource_line) - 1));
        config_build(f, cfg);
        file_write(dir, "config", cfg, sizeof(cfg));

        path_format(target, "%sbus/pci", up);
        link_make(target, dir, "subsystem");
        if (f->driver) {
                path_format(target, "%sbus/pci/drivers/%s", up, f->driver);
                link_make(target, dir, "driver");
                nodegen_driver_link(sys_dir, f->driver, f->address, devpath);
        }
        if (f->iommu_group >= 0) {
                path_format(target, "%skernel/iommu_groups/%d", up, f->iommu_group);
                link_make(target, dir, "iommu_group");
                nodegen_iommu_group_link(sys_dir, f->iommu_group, f->address, devpath);
        }
        if (f->physfn) {
                path_format(target, "../%s", f->physfn);
                link_make(target, dir, "physfn");
                path_format(path, "%s/devices/%s/%s/virtfn%u", sys_dir, f->parent, f->physfn, f->vf_index);
                path_format(target, "../%s", f->address);
                link_make(target, AT_FDCWD, path);
        }
        sys_close(dir);
        path_format(path, "%s/bus/pci/devices/%s", sys_dir, f->address);
        path_format(target, "../../../%s", devpath);
        link_make(target, AT_FDCWD, path);
}

/* nodegen_write plans the node first, then writes it from several threads,
 * a unit (a host bridge; a root port and what is behind it) each: a unit's
 * functions depend on each other (parent directories, virtfn links), units
 * do not. */
typedef struct {
        GArray *functions;      /* NodegenFunction, in writing order */
        GArray *units;          /* guint: index of each unit's first function */
        GStringChunk *strings;
        int next_group;
        unsigned next_irq;
} Plan;

/* Where the functions being planned go. */
typedef struct {
        const char *parent;     /* below devices/ */
        unsigned domain, bus;
        int numa_node;
        const char *cpulist;
} Slot;

/* Adds f at bus/devfn; group -1 allocates a new IOMMU group. Returns its
 * address, valid as long as the plan. */
static const char *plan_add(Plan *p, const Slot *s, NodegenFunction f, unsigned bus, unsigned devfn,
                            int group) {
        char address[16];

        snprintf(address, sizeof(address), "%04x:%02x:%02x.%x", s->domain, bus, devfn >> 3, devfn & 7);
        f.address = g_string_chunk_insert_const(p->strings, address);
        f.parent = s->parent;
        f.numa_node = s->numa_node;
        f.cpulist = s->cpulist;
        f.iommu_group = group >= 0 ? group : p->next_group++;
        f.irq = f.physfn ? 0 : p->next_irq++;  /* VFs have no INTx */
        f.boot_vga = f.class_code >> 8 == CLASS_DISPLAY_VGA ? 0 : -1;
        g_array_append_val(p->functions, f);
        return f.address;
}

/* Each card returns how many functions it planned: at most max. */
static unsigned card_nic(Plan *p, const Slot *s, unsigned max) {
        static const unsigned offsets[] = { 16, 79 };   /* the X710's */
        unsigned pfs = max >= 2 ? 2 : 1, vfs = MIN(max - pfs, 62u);

        for (unsigned pf = 0; pf < pfs; pf++) {
                unsigned numvfs = pf == 0 ? (vfs + 1) / 2 : vfs / 2;
                const char *pf_address = plan_add(p, s, (NodegenFunction) {
                        .vendor = 0x8086, .device = 0x1572, .subsystem_vendor = 0x8086,
                        .subsystem_device = 0x0007, .class_code = 0x020000, .revision = 0x02,
                        .multifunction = pfs > 1, .driver = "i40e", .reset_method = "flr",
                        .sriov_total_vfs = 64, .sriov_num_vfs = numvfs, .sriov_offset = offsets[pf],
                        .sriov_stride = 1, .sriov_vf_device = 0x154c,
                }, s->bus, pf, -1);
                for (unsigned v = 0; v < numvfs; v++) {
                        unsigned rid = pf + offsets[pf] + v;
                        plan_add(p, s, (NodegenFunction) {
                                .vendor = 0x8086, .device = 0x154c, .subsystem_vendor = 0x8086,
                                .subsystem_device = 0x0000, .class_code = 0x020000, .revision = 0x02,
                                .driver = "iavf", .reset_method = "flr", .physfn = pf_address, .vf_index = v,
                        }, s->bus + (rid >> 8), rid & 0xff, -1);
                }
        }
        return pfs + vfs;
}

static unsigned card_gpu(Plan *p, const Slot *s, unsigned max) {
        int group = p->next_group;

        plan_add(p, s, (NodegenFunction) {
                .vendor = 0x10de, .device = 0x2230, .subsystem_vendor = 0x10de, .subsystem_device = 0x1459,
                .class_code = 0x030000, .revision = 0xa1, .multifunction = max >= 2, .driver = "nvidia",
                .reset_method = "flr",
        }, s->bus, 0, -1);
        if (max < 2)
                return 1;
        plan_add(p, s, (NodegenFunction) {
                .vendor = 0x10de, .device = 0x1aef, .subsystem_vendor = 0x10de, .subsystem_device = 0x1459,
                .class_code = 0x040300, .revision = 0xa1, .multifunction = true, .driver = "snd_hda_intel",
                .reset_method = "flr",
        }, s->bus, 1, group);
        return 2;
}

static unsigned card_nvme(Plan *p, const Slot *s, unsigned max) {
        plan_add(p, s, (NodegenFunction) {
                .vendor = 0x144d, .device = 0xa808, .subsystem_vendor = 0x144d, .subsystem_device = 0xa801,
                .class_code = 0x010802, .revision = 0x00, .driver = "nvme", .reset_method = "flr bus",
        }, s->bus, 0, -1);
        return 1;
}

static void plan_unit(Plan *p) {
        guint start = p->functions->len;
        g_array_append_val(p->units, start);
}

static void plan_node(Plan *p, unsigned n_functions) {
        static unsigned (*const cards[])(Plan *p, const Slot *s, unsigned max) = {
                card_nic, card_gpu, card_nvme, card_gpu,
        };
        static const char *const cpulists[] = { "0-15,32-47", "16-31,48-63" };
        unsigned left = n_functions, card = 0;

        for (unsigned complex = 0; left > 0; complex++) {
                unsigned domain = complex / 4, root_bus = (complex % 4) * 0x40;
                int numa = (int) (complex % 2);
                char root[32];

                if (domain > 0xffff)
                        g_error("nodegen: %u functions do not fit", n_functions);
                snprintf(root, sizeof(root), "pci%04x:%02x", domain, root_bus);
                Slot s = {
                        .parent = g_string_chunk_insert_const(p->strings, root), .domain = domain,
                        .bus = root_bus, .numa_node = numa, .cpulist = cpulists[numa],
                };
                plan_unit(p);
                plan_add(p, &s, (NodegenFunction) {
                        .vendor = 0x8086, .device = 0x2020, .subsystem_vendor = 0x15d9,
                        .subsystem_device = 0x095d, .class_code = 0x060000, .revision = 0x04,
                }, root_bus, 0, -1);
                left--;

                for (unsigned port = 1; port <= 16 && left > 0; port++) {
                        uint8_t bus = (uint8_t) (root_bus + port);
                        plan_unit(p);
                        const char *port_address = plan_add(p, &s, (NodegenFunction) {
                                .vendor = 0x8086, .device = 0x2030 + (port - 1) % 4, .subsystem_vendor = 0x15d9,
                                .subsystem_device = 0x095d, .class_code = 0x060400, .revision = 0x04,
                                .driver = "pcieport", .reset_method = "pm", .secondary_bus = bus,
                                .subordinate_bus = bus,
                        }, root_bus, port << 3, -1);
                        if (--left == 0)
                                break;

                        g_autofree char *behind_path = g_strdup_printf("%s/%s", root, port_address);
                        Slot behind = s;
                        behind.parent = g_string_chunk_insert_const(p->strings, behind_path);
                        behind.bus = bus;
                        left -= cards[card++ % G_N_ELEMENTS(cards)](p, &behind, left);
                }
        }
}

typedef struct {
        const char *sys_dir;
        Plan *plan;
        gint next_unit;
} Writer;

static gpointer writer_thread(gpointer data) {
        Writer *w = data;
        GArray *units = w->plan->units;

        for (;;) {
                guint u = (guint) g_atomic_int_add(&w->next_unit, 1);
                if (u >= units->len)
                        return NULL;
                guint end = u + 1 < units->len ? g_array_index(units, guint, u + 1) : w->plan->functions->len;
                for (guint i = g_array_index(units, guint, u); i < end; i++)
                        nodegen_function_write(w->sys_dir, &g_array_index(w->plan->functions, NodegenFunction, i));
        }
}

void nodegen_write(const char *sys_dir, unsigned n_functions) {
        Plan plan = {
                .functions = g_array_sized_new(FALSE, FALSE, sizeof(NodegenFunction), n_functions),
                .units = g_array_new(FALSE, FALSE, sizeof(guint)),
                .strings = g_string_chunk_new(4096),
                .next_irq = 24,
        };
        Writer w = { .sys_dir = sys_dir, .plan = &plan };
        GThread *threads[8];
        guint n_threads = CLAMP(g_get_num_processors(), 1, G_N_ELEMENTS(threads));

        plan_node(&plan, n_functions);
        g_assert(plan.functions->len == n_functions);
        nodegen_bus_write(sys_dir);
        for (guint t = 0; t < n_threads; t++)
                threads[t] = g_thread_new("nodegen", writer_thread, &w);
        for (guint t = 0; t < n_threads; t++)
                g_thread_join(threads[t]);

        g_array_unref(plan.functions);
        g_array_unref(plan.units);
        g_string_chunk_free(plan.strings);
}
