/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "safety.h"

#include <fcntl.h>
#include <string.h>

#include "sysfs.h"
#include "text.h"

/* dm on md on dm on a partition is already unusual; a cycle of holders
 * (a broken or hostile sysfs) must end. */
#define SAFETY_HOLDER_DEPTH 8

static const char *const kind_names[_SAFETY_KIND_MAX] = {
        [SAFETY_IOMMU_GROUP] = "iommu-group",
        [SAFETY_BOOT_VGA] = "boot-vga",
        [SAFETY_NETWORK] = "network",
        [SAFETY_DEFAULT_ROUTE] = "default-route",
        [SAFETY_MOUNTED] = "mounted",
        [SAFETY_SWAP] = "swap",
};

const char *safety_kind_to_string(SafetyKind kind) {
        g_return_val_if_fail(kind < _SAFETY_KIND_MAX, NULL);
        return kind_names[kind];
}

void safety_finding_free(SafetyFinding *f) {
        if (!f)
                return;
        g_free(f->address);
        g_free(f->subject);
        g_free(f->message);
        g_free(f);
}

/* What an interface carries, from the routing and address tables. */
typedef enum {
        SAFETY_NET_ADDRESSES = 1 << 0,
        SAFETY_NET_DEFAULT = 1 << 1,
} SafetyNetFlags;

typedef struct {
        char *path;   /* as /proc/swaps names it, decoded and sanitized */
        char *name;   /* the block device it resolves to: "nvme0n1p3", "dm-1" */
} SafetySwap;

typedef struct {
        char *name;    /* entry of /sys/class/block */
        char *target;  /* its link target, "../../devices/pci0000:00/..." */
} SafetyBlockLink;

typedef struct {
        char *name;
        const char *via;   /* the device it holds, NULL when found directly */
} SafetyBlock;

/* Every table read once per safety_check(). */
typedef struct {
        GHashTable *net;      /* ifname → SafetyNetFlags */
        GHashTable *mounts;   /* "major:minor" → GPtrArray of mount points, display form */
        GPtrArray *swaps;     /* SafetySwap */
        GPtrArray *blocks;    /* SafetyBlockLink, sorted by name */
} SafetyTables;

static void safety_swap_free(SafetySwap *s) {
        g_free(s->path);
        g_free(s->name);
        g_free(s);
}

static void safety_block_link_free(SafetyBlockLink *l) {
        g_free(l->name);
        g_free(l->target);
        g_free(l);
}

static void safety_block_free(SafetyBlock *b) {
        g_free(b->name);
        g_free(b);
}

static void safety_tables_clear(SafetyTables *t) {
        g_clear_pointer(&t->net, g_hash_table_unref);
        g_clear_pointer(&t->mounts, g_hash_table_unref);
        g_clear_pointer(&t->swaps, g_ptr_array_unref);
        g_clear_pointer(&t->blocks, g_ptr_array_unref);
}

/* Strings from /proc and /sys end up in D-Bus replies and logs. */
static char *safety_clean(const char *s) {
        return text_sanitize(s, strlen(s), NULL);
}

/* The kernel escapes ' ', '\t', '\n' and '\\' in paths as \ooo. */
static char *safety_unescape(const char *s) {
        GString *out = g_string_sized_new(strlen(s));

        for (const char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' &&
                    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
                        char c = (char) ((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
                        /* a NUL would cut the string short: make it visible */
                        g_string_append_c(out, c ? c : '?');
                        p += 3;
                } else
                        g_string_append_c(out, *p);
        }
        return g_string_free(out, FALSE);
}

static char *safety_display_path(const char *escaped) {
        g_autofree char *raw = safety_unescape(escaped);
        return safety_clean(raw);
}

/* The lines of a /proc table, or NULL (logged) when it cannot be read. */
static char **safety_read_lines(const char *root, const char *rel) {
        g_autofree char *path = g_build_filename(root, rel, NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;

        if (!g_file_get_contents(path, &contents, NULL, &error)) {
                g_debug("Safety: nothing read from %s: %s", path, error->message);
                return NULL;
        }
        return g_strsplit(contents, "\n", -1);
}

/* White-space separated fields, without empty ones. */
static char **safety_fields(const char *line, guint *n) {
        g_auto(GStrv) raw = g_strsplit_set(line, " \t", -1);
        GPtrArray *fields = g_ptr_array_new();

        for (char **p = raw; *p; p++)
                if (**p)
                        g_ptr_array_add(fields, g_strdup(*p));
        *n = fields->len;
        g_ptr_array_add(fields, NULL);
        return (char **) g_ptr_array_free(fields, FALSE);
}

static void safety_net_mark(GHashTable *net, const char *ifname, SafetyNetFlags flags) {
        if (strcmp(ifname, "lo") == 0)
                return;
        SafetyNetFlags old = GPOINTER_TO_UINT(g_hash_table_lookup(net, ifname));
        g_hash_table_replace(net, g_strdup(ifname), GUINT_TO_POINTER(old | flags));
}

/* /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask ...".
 * The kernel adds a prefix route for every configured IPv4 address, so
 * any route names an interface with addresses. */
static void safety_read_route(const char *root, GHashTable *net) {
        g_auto(GStrv) lines = safety_read_lines(root, "proc/net/route");

        for (guint i = 1; lines && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 8)
                        continue;
                bool def = strcmp(f[1], "00000000") == 0 && strcmp(f[7], "00000000") == 0;
                safety_net_mark(net, f[0], SAFETY_NET_ADDRESSES | (def ? SAFETY_NET_DEFAULT : 0));
        }
}

/* /proc/net/if_inet6: "addr idx prefixlen scope flags name". Every
 * interface that is up has a link-local address: that alone is no loss. */
static void safety_read_inet6(const char *root, GHashTable *net) {
        g_auto(GStrv) lines = safety_read_lines(root, "proc/net/if_inet6");

        for (guint i = 0; lines && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 6)
                        continue;
                if (g_ascii_strtoull(f[3], NULL, 16) == 0x20)
                        continue;
                safety_net_mark(net, f[5], SAFETY_NET_ADDRESSES);
        }
}

/* /proc/net/ipv6_route: "dest plen src splen gateway metric refcnt use
 * flags name". Only ::/0 counts: every interface has fe80::/64 and ff00::/8. */
static void safety_read_ipv6_route(const char *root, GHashTable *net) {
        g_auto(GStrv) lines = safety_read_lines(root, "proc/net/ipv6_route");

        for (guint i = 0; lines && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 10)
                        continue;
                if (strcmp(f[0], "00000000000000000000000000000000") == 0 && strcmp(f[1], "00") == 0)
                        safety_net_mark(net, f[n - 1], SAFETY_NET_DEFAULT);
        }
}

/* /proc/self/mountinfo: "id parent major:minor root mountpoint ...". */
static GHashTable *safety_read_mountinfo(const char *root) {
        g_auto(GStrv) lines = safety_read_lines(root, "proc/self/mountinfo");
        GHashTable *mounts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) g_ptr_array_unref);

        for (guint i = 0; lines && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 5)
                        continue;
                GPtrArray *points = g_hash_table_lookup(mounts, f[2]);
                if (!points) {
                        points = g_ptr_array_new_with_free_func(g_free);
                        g_hash_table_insert(mounts, g_strdup(f[2]), points);
                }
                g_autofree char *point = safety_display_path(f[4]);
                /* a mount point stacked twice is still one filesystem to lose */
                if (!g_ptr_array_find_with_equal_func(points, point, g_str_equal, NULL))
                        g_ptr_array_add(points, g_steal_pointer(&point));
        }
        return mounts;
}

static bool safety_path_has_dotdot(const char *path) {
        g_auto(GStrv) parts = g_strsplit(path, "/", -1);

        for (char **p = parts; *p; p++)
                if (strcmp(*p, "..") == 0)
                        return true;
        return false;
}

/* The block device a /proc/swaps path names: /dev/mapper/vg-swap is a link
 * to ../dm-1, /dev/nvme0n1p3 is the node itself. NULL for a swap file or
 * a device that is gone. */
static char *safety_swap_device(const char *root, const char *path) {
        if (!g_str_has_prefix(path, "/dev/") || g_str_has_suffix(path, "(deleted)") ||
            safety_path_has_dotdot(path))
                return NULL;

        g_autofree char *node = g_build_filename(root, path, NULL);
        g_autofree char *target = g_file_read_link(node, NULL);
        g_autofree char *name = g_path_get_basename(target ?: path);
        if (strcmp(name, "/") == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return NULL;
        return g_steal_pointer(&name);
}

/* /proc/swaps: "Filename Type Size Used Priority", one header line. */
static GPtrArray *safety_read_swaps(const char *root) {
        g_auto(GStrv) lines = safety_read_lines(root, "proc/swaps");
        GPtrArray *swaps = g_ptr_array_new_with_free_func((GDestroyNotify) safety_swap_free);

        for (guint i = 1; lines && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 1)
                        continue;
                g_autofree char *path = safety_unescape(f[0]);
                g_autofree char *name = safety_swap_device(root, path);
                if (!name)
                        continue;
                SafetySwap *s = g_new0(SafetySwap, 1);
                s->path = safety_clean(path);
                s->name = g_steal_pointer(&name);
                g_ptr_array_add(swaps, s);
        }
        return swaps;
}

static int safety_compare_strings(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The entries of a directory, sorted, so findings come in a stable order.
 * Empty when it cannot be read. */
static GPtrArray *safety_list_dir(const char *path) {
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;

        while (dir && (name = g_dir_read_name(dir)))
                g_ptr_array_add(names, g_strdup(name));
        g_ptr_array_sort(names, safety_compare_strings);
        return names;
}

/* /sys/class/block: every entry is a link into the device tree. */
static GPtrArray *safety_read_block_links(const char *root) {
        g_autofree char *class = g_build_filename(root, "sys/class/block", NULL);
        g_autoptr(GPtrArray) names = safety_list_dir(class);
        GPtrArray *links = g_ptr_array_new_with_free_func((GDestroyNotify) safety_block_link_free);

        if (names->len == 0)
                g_debug("Safety: no block devices under %s", class);
        for (guint i = 0; i < names->len; i++) {
                g_autofree char *path = g_build_filename(class, names->pdata[i], NULL);
                g_autofree char *target = g_file_read_link(path, NULL);
                if (!target)
                        continue;
                SafetyBlockLink *l = g_new0(SafetyBlockLink, 1);
                l->name = g_strdup(names->pdata[i]);
                l->target = g_steal_pointer(&target);
                g_ptr_array_add(links, l);
        }
        return links;
}

static void safety_tables_read(const char *root, SafetyTables *t) {
        t->net = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        safety_read_route(root, t->net);
        safety_read_inet6(root, t->net);
        safety_read_ipv6_route(root, t->net);
        t->mounts = safety_read_mountinfo(root);
        t->swaps = safety_read_swaps(root);
        t->blocks = safety_read_block_links(root);
}

G_GNUC_PRINTF(5, 6)
static void safety_add(GPtrArray *findings, SafetyKind kind, const Device *d,
                       const char *subject, const char *format, ...) {
        SafetyFinding *f = g_new0(SafetyFinding, 1);
        va_list ap;

        f->kind = kind;
        f->address = g_strdup(d->address_str);
        f->subject = g_strdup(subject);
        va_start(ap, format);
        f->message = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_ptr_array_add(findings, f);
}

/* Peers of the IOMMU group that would stay with the host while a selected
 * function of the group goes to the guest: vfio refuses a split group. */
static void safety_check_iommu(const Device *d, GHashTable *selected, GHashTable *reported,
                               GPtrArray *findings) {
        for (guint i = 0; d->iommu_peers && i < d->iommu_peers->len; i++) {
                const Device *peer = d->iommu_peers->pdata[i];
                const char *driver = peer->driver ?: "";

                if (g_hash_table_contains(selected, peer->address_str) ||
                    g_hash_table_contains(reported, peer->address_str))
                        continue;
                /* bridges and pcieport's functions (ports, event
                 * collectors) stay with the host by design; unbound and
                 * stub functions serve nobody there */
                if (peer->class_code >> 8 == 0x0604 || g_str_equal(driver, "") ||
                    g_str_equal(driver, "vfio-pci") || g_str_equal(driver, "pci-stub") ||
                    g_str_equal(driver, "pcieport"))
                        continue;

                g_hash_table_add(reported, peer->address_str);
                g_autofree char *drv = safety_clean(driver);
                safety_add(findings, SAFETY_IOMMU_GROUP, d, peer->address_str,
                           "%s shares IOMMU group %" G_GINT32_FORMAT " with %s (%s), which stays with the host: "
                           "pass them through together",
                           d->address_str, d->iommu_group, peer->address_str, drv);
        }
}

static void safety_check_network(const char *root, const Device *d, GHashTable *net,
                                 GPtrArray *findings) {
        g_autofree char *dir = g_build_filename(root, "sys/bus/pci/devices", d->address_str, "net", NULL);
        g_autoptr(GPtrArray) ifnames = safety_list_dir(dir);

        for (guint i = 0; i < ifnames->len; i++) {
                SafetyNetFlags flags = GPOINTER_TO_UINT(g_hash_table_lookup(net, ifnames->pdata[i]));
                g_autofree char *ifname = safety_clean(ifnames->pdata[i]);

                if (flags & SAFETY_NET_DEFAULT)
                        safety_add(findings, SAFETY_DEFAULT_ROUTE, d, ifname,
                                   "%s backs %s, which carries the default route: the node would lose its network",
                                   d->address_str, ifname);
                else if (flags & SAFETY_NET_ADDRESSES)
                        safety_add(findings, SAFETY_NETWORK, d, ifname,
                                   "%s backs %s, which carries addresses: the host would lose that network",
                                   d->address_str, ifname);
        }
}

/* A block device and, depth first, what is stacked on it (dm, md ...). */
static void safety_collect_block(const char *root, const char *name, const char *via, guint depth,
                                 GHashTable *seen, GPtrArray *blocks) {
        if (depth > SAFETY_HOLDER_DEPTH || g_hash_table_contains(seen, name))
                return;

        SafetyBlock *b = g_new0(SafetyBlock, 1);
        b->name = g_strdup(name);
        b->via = via;
        g_hash_table_add(seen, b->name);
        g_ptr_array_add(blocks, b);

        g_autofree char *dir = g_build_filename(root, "sys/class/block", name, "holders", NULL);
        g_autoptr(GPtrArray) holders = safety_list_dir(dir);
        for (guint i = 0; i < holders->len; i++)
                safety_collect_block(root, holders->pdata[i], b->name, depth + 1, seen, blocks);
}

static void safety_check_block(const char *root, const Device *d, const SafetyTables *t,
                               GPtrArray *findings) {
        /* a disk behind a bridge or HBA is below every function above it */
        g_autofree char *component = g_strdup_printf("/%s/", d->address_str);
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) blocks = g_ptr_array_new_with_free_func((GDestroyNotify) safety_block_free);

        for (guint i = 0; i < t->blocks->len; i++) {
                const SafetyBlockLink *l = t->blocks->pdata[i];
                if (strstr(l->target, component))
                        safety_collect_block(root, l->name, NULL, 0, seen, blocks);
        }

        for (guint i = 0; i < blocks->len; i++) {
                const SafetyBlock *b = blocks->pdata[i];
                g_autofree char *attr = g_build_filename(root, "sys/class/block", b->name, "dev", NULL);
                g_autofree char *devnum = NULL;
                g_autofree char *name = safety_clean(b->name);
                g_autofree char *via = b->via ? safety_clean(b->via) : NULL;
                g_autofree char *what = via ? g_strdup_printf("%s (on %s)", name, via) : g_strdup(name);

                GPtrArray *points = NULL;
                if (sysfs_read_attr(AT_FDCWD, attr, &devnum) >= 0)
                        points = g_hash_table_lookup(t->mounts, devnum);
                for (guint j = 0; points && j < points->len; j++)
                        safety_add(findings, SAFETY_MOUNTED, d, points->pdata[j],
                                   "%s backs %s, mounted on %s: the host would lose that filesystem",
                                   d->address_str, what, (const char *) points->pdata[j]);

                for (guint j = 0; j < t->swaps->len; j++) {
                        const SafetySwap *s = t->swaps->pdata[j];
                        if (g_str_equal(s->name, b->name))
                                safety_add(findings, SAFETY_SWAP, d, s->path,
                                           "%s backs %s, active swap %s: the host would lose that memory",
                                           d->address_str, what, s->path);
                }
        }
}

GPtrArray *safety_check(const char *root, GPtrArray *selection) {
        GPtrArray *findings = g_ptr_array_new_with_free_func((GDestroyNotify) safety_finding_free);
        g_autoptr(GHashTable) selected = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) reported = g_hash_table_new(g_str_hash, g_str_equal);
        SafetyTables t = {};

        g_return_val_if_fail(root, findings);
        if (!selection || selection->len == 0)
                return findings;

        for (guint i = 0; i < selection->len; i++)
                g_hash_table_add(selected, ((Device *) selection->pdata[i])->address_str);
        safety_tables_read(root, &t);

        for (guint i = 0; i < selection->len; i++) {
                const Device *d = selection->pdata[i];

                safety_check_iommu(d, selected, reported, findings);
                if (d->boot_vga)
                        safety_add(findings, SAFETY_BOOT_VGA, d, "",
                                   "%s is the boot VGA device (the host's console): "
                                   "passing it through leaves the host without a console",
                                   d->address_str);
                safety_check_network(root, d, t.net, findings);
                safety_check_block(root, d, &t, findings);
        }
        safety_tables_clear(&t);
        return findings;
}
