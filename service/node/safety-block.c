/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety guard's disks: block devices below a function, what is
 * stacked on them (dm, md), and their mounts and swap. */
#include "safety-private.h"

#include <fcntl.h>
#include <string.h>

#include "sysfs.h"

/* dm on md on dm on a partition is already unusual; a cycle of holders
 * (a broken or hostile sysfs) must end. */
#define SAFETY_HOLDER_DEPTH 8

typedef struct {
        char *path;   /* as /proc/swaps names it, decoded and sanitized */
        char *name;   /* the block device it resolves to: "nvme0n1p3", "dm-1" */
} SafetySwap;

typedef struct {
        char *name;
        const char *via;   /* the device it holds, NULL when found directly */
} SafetyBlock;

static void safety_swap_free(SafetySwap *s) {
        g_free(s->path);
        g_free(s->name);
        g_free(s);
}

static void safety_block_free(SafetyBlock *b) {
        g_free(b->name);
        g_free(b);
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

/* /proc/self/mountinfo: "id parent major:minor root mountpoint ...". */
static GHashTable *safety_read_mountinfo(const char *root, SafetyTables *t) {
        g_auto(GStrv) lines = safety_read_lines(t, root, "proc/self/mountinfo", false, NULL);
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
        if (!safety_name_valid(name))
                return NULL;
        return g_steal_pointer(&name);
}

/* /proc/swaps: "Filename Type Size Used Priority", one header line. */
static GPtrArray *safety_read_swaps(const char *root, SafetyTables *t) {
        g_auto(GStrv) lines = safety_read_lines(t, root, "proc/swaps", false, NULL);
        GPtrArray *swaps = g_ptr_array_new_with_free_func((GDestroyNotify) safety_swap_free);

        for (guint i = 1; lines && lines[0] && lines[i]; i++) {
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

void safety_block_read(const char *root, SafetyTables *t) {
        t->mounts = safety_read_mountinfo(root, t);
        t->swaps = safety_read_swaps(root, t);
        t->blocks = safety_read_links(t, root, "sys/class/block", true);
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

void safety_block_check(const char *root, const Device *d, const SafetyTables *t, GPtrArray *findings) {
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) blocks = g_ptr_array_new_with_free_func((GDestroyNotify) safety_block_free);

        for (guint i = 0; i < t->blocks->len; i++) {
                const SafetyLink *l = t->blocks->pdata[i];
                if (safety_link_below(l->target, d->address_str))
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
