/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "safety-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "sysfs.h"
#include "text.h"

static const char *const kind_names[_SAFETY_KIND_MAX] = {
        [SAFETY_IOMMU_GROUP] = "iommu-group",
        [SAFETY_BOOT_VGA] = "boot-vga",
        [SAFETY_NETWORK] = "network",
        [SAFETY_DEFAULT_ROUTE] = "default-route",
        [SAFETY_MOUNTED] = "mounted",
        [SAFETY_SWAP] = "swap",
        [SAFETY_BRIDGE] = "bridge",
        [SAFETY_VFS_IN_USE] = "vfs-in-use",
        [SAFETY_CONSOLE] = "console",
        [SAFETY_UNREADABLE] = "unreadable",
};

const char *safety_kind_to_string(SafetyKind kind) {
        g_return_val_if_fail(kind < _SAFETY_KIND_MAX, NULL);
        return kind_names[kind];
}

bool safety_finding_forceable(const SafetyFinding *f) {
        g_return_val_if_fail(f, false);
        return f->kind != SAFETY_BRIDGE && f->kind != SAFETY_VFS_IN_USE;
}

void safety_finding_free(SafetyFinding *f) {
        if (!f)
                return;
        g_free(f->address);
        g_free(f->subject);
        g_free(f->message);
        g_free(f);
}

/* ---- reading, for every file of the guard ---- */

static void safety_link_free(SafetyLink *l) {
        g_free(l->name);
        g_free(l->target);
        g_free(l);
}

static void safety_unreadable_free(SafetyUnreadable *u) {
        g_free(u->table);
        g_free(u->reason);
        g_free(u);
}

static void safety_tables_clear(SafetyTables *t) {
        g_clear_pointer(&t->net, g_hash_table_unref);
        g_clear_pointer(&t->netdevs, g_ptr_array_unref);
        g_clear_pointer(&t->mounts, g_hash_table_unref);
        g_clear_pointer(&t->swaps, g_ptr_array_unref);
        g_clear_pointer(&t->blocks, g_ptr_array_unref);
        g_clear_pointer(&t->graphics, g_ptr_array_unref);
        g_clear_pointer(&t->drm, g_ptr_array_unref);
        g_clear_pointer(&t->unreadable, g_ptr_array_unref);
}

char *safety_clean(const char *s) {
        return text_sanitize(s, strlen(s), NULL);
}

void safety_unreadable(SafetyTables *t, const char *rel, int err) {
        SafetyUnreadable *u = g_new0(SafetyUnreadable, 1);

        u->table = g_strconcat("/", rel, NULL);
        u->reason = g_strdup(g_strerror(err));
        g_debug("Safety: cannot read %s: %s", u->table, u->reason);
        g_ptr_array_add(t->unreadable, u);
}

/* The whole file, or -errno. /proc files show size 0: read to the end. */
static int safety_read_file(const char *path, char **ret) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        g_autoptr(GString) s = g_string_new(NULL);
        char buf[16384];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
                if (n > 0)
                        g_string_append_len(s, buf, n);
        int err = n < 0 ? -errno : 0;
        close(fd);
        if (err < 0)
                return err;
        *ret = g_string_free(g_steal_pointer(&s), FALSE);
        return 0;
}

char **safety_read_lines(SafetyTables *t, const char *root, const char *rel, bool missing_ok, bool *missing) {
        g_autofree char *path = g_build_filename(root, rel, NULL);
        g_autofree char *contents = NULL;
        int r = safety_read_file(path, &contents);

        if (r < 0) {
                if (missing_ok && r == -ENOENT) {
                        if (missing)
                                *missing = true;
                } else
                        safety_unreadable(t, rel, -r);
                return NULL;
        }
        return g_strsplit(contents, "\n", -1);
}

char **safety_fields(const char *line, guint *n) {
        g_auto(GStrv) raw = g_strsplit_set(line, " \t", -1);
        GPtrArray *fields = g_ptr_array_new();

        for (char **p = raw; *p; p++)
                if (**p)
                        g_ptr_array_add(fields, g_strdup(*p));
        *n = fields->len;
        g_ptr_array_add(fields, NULL);
        return (char **) g_ptr_array_free(fields, FALSE);
}

static int safety_compare_strings(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

GPtrArray *safety_list_dir(const char *path) {
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;

        while (dir && (name = g_dir_read_name(dir)))
                g_ptr_array_add(names, g_strdup(name));
        g_ptr_array_sort(names, safety_compare_strings);
        return names;
}

static int safety_link_compare(gconstpointer a, gconstpointer b) {
        return strcmp((*(SafetyLink *const *) a)->name, (*(SafetyLink *const *) b)->name);
}

GPtrArray *safety_read_links(SafetyTables *t, const char *root, const char *rel, bool required) {
        g_autofree char *class = g_build_filename(root, rel, NULL);
        GPtrArray *links = g_ptr_array_new_with_free_func((GDestroyNotify) safety_link_free);
        DIR *dir = opendir(class);
        struct dirent *e;

        if (!dir) {
                if (required)
                        safety_unreadable(t, rel, errno);
                return links;
        }
        while ((e = readdir(dir))) {
                if (!safety_name_valid(e->d_name))
                        continue;
                g_autofree char *path = g_build_filename(class, e->d_name, NULL);
                g_autofree char *target = g_file_read_link(path, NULL);
                if (!target)   /* gone since, or not a link */
                        continue;
                SafetyLink *l = g_new0(SafetyLink, 1);
                l->name = g_strdup(e->d_name);
                l->target = g_steal_pointer(&target);
                g_ptr_array_add(links, l);
        }
        closedir(dir);
        g_ptr_array_sort(links, safety_link_compare);
        return links;
}

bool safety_link_below(const char *target, const char *address) {
        g_autofree char *component = g_strdup_printf("/%s/", address);
        return strstr(target, component) != NULL;
}

bool safety_name_valid(const char *name) {
        return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

void safety_add(GPtrArray *findings, SafetyKind kind, const Device *d, const char *subject, const char *format, ...) {
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

/* ---- consoles ---- */

/* fbcon draws the text consoles on framebuffers while one of
 * /sys/class/vtconsole/vtconN is it ("(M) frame buffer device") and bound. */
static bool safety_fbcon_bound(const char *root) {
        g_autofree char *class = g_build_filename(root, "sys/class/vtconsole", NULL);
        g_autoptr(GPtrArray) names = safety_list_dir(class);

        for (guint i = 0; i < names->len; i++) {
                g_autofree char *dir = g_build_filename(class, names->pdata[i], NULL);
                g_autofree char *name_attr = g_build_filename(dir, "name", NULL);
                g_autofree char *bind_attr = g_build_filename(dir, "bind", NULL);
                g_autofree char *name = NULL, *bind = NULL;
                if (sysfs_read_attr(AT_FDCWD, name_attr, &name) >= 0 && strstr(name, "frame buffer") &&
                    sysfs_read_attr(AT_FDCWD, bind_attr, &bind) >= 0 && g_str_equal(bind, "1"))
                        return true;
        }
        return false;
}

/* A headless host has no graphics, vtconsole or drm class: nothing to lose. */
static void safety_console_read(const char *root, SafetyTables *t) {
        t->graphics = safety_read_links(t, root, "sys/class/graphics", false);
        t->drm = safety_read_links(t, root, "sys/class/drm", false);
        t->fbcon = safety_fbcon_bound(root);
}

/* A framebuffer of the function under fbcon, or a DRM connector of it
 * that is on (its "enabled" attribute: it drives a display). */
static void safety_check_console(const char *root, const Device *d, const SafetyTables *t, GPtrArray *findings) {
        for (guint i = 0; t->fbcon && i < t->graphics->len; i++) {
                const SafetyLink *l = t->graphics->pdata[i];
                if (!g_str_has_prefix(l->name, "fb") || !safety_link_below(l->target, d->address_str))
                        continue;
                g_autofree char *fb = safety_clean(l->name);
                safety_add(findings, SAFETY_CONSOLE, d, fb,
                           "%s drives %s, on which fbcon shows the host's console: "
                           "passing it through leaves the host without a console", d->address_str, fb);
        }
        for (guint i = 0; i < t->drm->len; i++) {
                const SafetyLink *l = t->drm->pdata[i];
                if (!safety_link_below(l->target, d->address_str))
                        continue;
                g_autofree char *attr = g_build_filename(root, "sys/class/drm", l->name, "enabled", NULL);
                g_autofree char *enabled = NULL;
                if (sysfs_read_attr(AT_FDCWD, attr, &enabled) < 0 || !g_str_equal(enabled, "enabled"))
                        continue;
                g_autofree char *connector = safety_clean(l->name);
                safety_add(findings, SAFETY_CONSOLE, d, connector,
                           "%s drives %s, a display that is on: the host would lose that screen",
                           d->address_str, connector);
        }
}

/* ---- the functions themselves ---- */

/* Class 0x06 by subclass, as the PCI code and ID assignment spec names them. */
static const char *safety_bridge_name(guint32 class_code) {
        switch ((class_code >> 8) & 0xff) {
        case 0x00: return "a host bridge";
        case 0x01: return "an ISA/LPC bridge";
        case 0x04: return "a PCI-to-PCI bridge (a root or switch port)";
        case 0x09: return "a semi-transparent PCI-to-PCI bridge";
        default: return "a bridge";
        }
}

/* vfio-pci refuses bridges, and the host would lose every device behind
 * one: no Force makes that safe. */
static void safety_check_bridge(const Device *d, GPtrArray *findings) {
        if (d->class_code >> 16 != 0x06)
                return;
        safety_add(findings, SAFETY_BRIDGE, d, "",
                   "%s is %s (class %06x): vfio-pci does not drive bridges, and the host would lose what is "
                   "behind it; Force cannot help, pass the devices behind it through instead",
                   d->address_str, safety_bridge_name(d->class_code), d->class_code);
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

/* Unbinding a PF destroys its VFs: one a guest or tenant uses would vanish
 * under it. A VF selected along with its PF is the caller's to give. */
static void safety_check_vfs(const Device *d, GHashTable *selected, SafetyUseFunc use, void *userdata,
                             GPtrArray *findings) {
        if (!use || !d->virtfn_paths)
                return;
        for (size_t i = 0; d->virtfn_paths[i]; i++) {
                DpAddress a;
                char vf[DP_ADDRESS_MAX];

                if (!address_from_path(d->virtfn_paths[i], &a))
                        continue;
                address_format(&a, vf);
                if (g_hash_table_contains(selected, vf))
                        continue;
                g_autofree char *who = use(vf, userdata);
                if (!who)
                        continue;
                g_autofree char *clean = safety_clean(who);
                safety_add(findings, SAFETY_VFS_IN_USE, d, vf,
                           "%s is the physical function of %s, which is %s: unbinding the PF destroys its VFs; "
                           "Force cannot help, release %s first", d->address_str, vf, clean, vf);
        }
}

GPtrArray *safety_check(const char *root, GPtrArray *selection, SafetyUseFunc use, void *userdata) {
        GPtrArray *findings = g_ptr_array_new_with_free_func((GDestroyNotify) safety_finding_free);

        g_return_val_if_fail(root, findings);
        if (!selection || selection->len == 0)
                return findings;

        g_autoptr(GHashTable) selected = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) reported = g_hash_table_new(g_str_hash, g_str_equal);
        SafetyTables t = {
                .unreadable = g_ptr_array_new_with_free_func((GDestroyNotify) safety_unreadable_free),
        };
        for (guint i = 0; i < selection->len; i++)
                g_hash_table_add(selected, ((Device *) selection->pdata[i])->address_str);
        safety_net_read(root, &t);
        safety_block_read(root, &t);
        safety_console_read(root, &t);

        /* What the guard could not see may be anything: every function
         * of the selection may back it. */
        for (guint i = 0; i < t.unreadable->len; i++) {
                const SafetyUnreadable *u = t.unreadable->pdata[i];
                const Device *first = selection->pdata[0];
                safety_add(findings, SAFETY_UNREADABLE, first, u->table,
                           "%s cannot be read (%s): the guard cannot tell what the host would lose with %s; "
                           "Force passes it unchecked", u->table, u->reason, first->address_str);
        }
        for (guint i = 0; i < selection->len; i++) {
                const Device *d = selection->pdata[i];

                safety_check_bridge(d, findings);
                safety_check_iommu(d, selected, reported, findings);
                safety_check_vfs(d, selected, use, userdata, findings);
                if (d->boot_vga)
                        safety_add(findings, SAFETY_BOOT_VGA, d, "",
                                   "%s is the boot VGA device (the host's console): "
                                   "passing it through leaves the host without a console",
                                   d->address_str);
                safety_check_console(root, d, &t, findings);
                safety_net_check(root, d, &t, findings);
                safety_block_check(root, d, &t, findings);
        }
        safety_tables_clear(&t);
        return findings;
}
