/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "inventory.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "pci-read.h"

struct Inventory {
        char *sysfs_root;
        Names *names;
        GHashTable *devices;   /* address key -> Device*, owns */
        GHashTable *by_path;   /* object path -> Device*: the bus face's lookup */
        GPtrArray *sorted;     /* Device* by address; NULL after an add or remove */
        GHashTable *groups;    /* IOMMU group -> GPtrArray of Device*, sorted */
        bool iommu_enabled;
};

Inventory *inventory_new(const char *sysfs_root, Names *names) {
        Inventory *inv = g_new0(Inventory, 1);

        inv->sysfs_root = g_strdup(sysfs_root);
        inv->names = names;
        inv->devices = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                             (GDestroyNotify) device_free);
        inv->by_path = g_hash_table_new(g_str_hash, g_str_equal);
        inv->groups = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                            (GDestroyNotify) g_ptr_array_unref);
        return inv;
}

Names *inventory_names(Inventory *inv) {
        return inv->names;
}

void inventory_free(Inventory *inv) {
        if (!inv)
                return;
        g_hash_table_unref(inv->groups);
        g_hash_table_unref(inv->by_path);
        if (inv->sorted)
                g_ptr_array_unref(inv->sorted);
        g_hash_table_unref(inv->devices);
        g_free(inv->sysfs_root);
        g_free(inv);
}

static gint64 *key_new(const DpAddress *a) {
        gint64 k = (gint64) address_to_key(a);
        return g_memdup2(&k, sizeof(k));
}

Device *inventory_lookup(Inventory *inv, const DpAddress *address) {
        gint64 key = (gint64) address_to_key(address);
        return g_hash_table_lookup(inv->devices, &key);
}

Device *inventory_lookup_path(Inventory *inv, const char *path) {
        return g_hash_table_lookup(inv->by_path, path);
}

guint inventory_size(Inventory *inv) {
        return g_hash_table_size(inv->devices);
}

static gint device_compare(gconstpointer a, gconstpointer b) {
        const Device *x = *(Device *const *) a, *y = *(Device *const *) b;
        return address_compare(&x->address, &y->address);
}

/* Sorted once after each change of membership, not on every call. */
GPtrArray *inventory_sorted(Inventory *inv) {
        GHashTableIter it;
        gpointer value;

        if (inv->sorted)
                return inv->sorted;
        inv->sorted = g_ptr_array_sized_new(g_hash_table_size(inv->devices));
        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, NULL, &value))
                g_ptr_array_add(inv->sorted, value);
        g_ptr_array_sort(inv->sorted, device_compare);
        return inv->sorted;
}

static void inventory_membership_changed(Inventory *inv) {
        g_clear_pointer(&inv->sorted, g_ptr_array_unref);
}

char **inventory_paths(Inventory *inv) {
        GPtrArray *devs = inventory_sorted(inv);
        char **paths = g_new(char *, devs->len + 1);

        for (guint i = 0; i < devs->len; i++)
                paths[i] = g_strdup(((Device *) devs->pdata[i])->path);
        paths[devs->len] = NULL;
        return paths;
}

GPtrArray *inventory_iommu_group(Inventory *inv, int32_t group) {
        if (group < 0)
                return NULL;
        return g_hash_table_lookup(inv->groups, GINT_TO_POINTER(group));
}

bool inventory_iommu_enabled(Inventory *inv) {
        return inv->iommu_enabled;
}

/* The kernel makes /sys/kernel/iommu_groups/N only when an IOMMU is on. */
static bool iommu_read_enabled(const char *sysfs_root) {
        g_autofree char *path = g_strdup_printf("%s/kernel/iommu_groups", sysfs_root);
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);

        return dir && g_dir_read_name(dir) != NULL;
}

void inventory_queue_all(Inventory *inv, Coalescer *queue) {
        g_autofree char *path = g_strdup_printf("%s/bus/pci/devices", inv->sysfs_root);
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, inv->devices);
        while (g_hash_table_iter_next(&it, NULL, &value))
                coalescer_add_reread(queue, &((Device *) value)->address);

        DIR *dir = opendir(path);
        if (!dir) {
                g_warning("Cannot list PCI functions in %s: %s", path, g_strerror(errno));
                return;
        }
        struct dirent *de;
        while ((de = readdir(dir))) {
                DpAddress a;
                if (de->d_name[0] != '.' && address_parse(de->d_name, &a))
                        coalescer_add_reread(queue, &a);
        }
        closedir(dir);
}

/* Marks properties of a device as changed, unless it is new in this batch
 * (its InterfacesAdded carries everything). */
static void changes_mark(InventoryChanges *c, Device *d, DevicePropMask mask) {
        if (mask == 0 || g_hash_table_contains(c->added_set, d))
                return;
        DevicePropMask old = GPOINTER_TO_UINT(g_hash_table_lookup(c->changed, d));
        g_hash_table_insert(c->changed, d, GUINT_TO_POINTER(old | mask));
}

static void group_mark_members(InventoryChanges *c, GPtrArray *members, Device *except) {
        for (guint i = 0; i < members->len; i++)
                if (members->pdata[i] != except)
                        changes_mark(c, members->pdata[i], DEVICE_PROP_BIT(DEVICE_PROP_IOMMU_GROUP_MEMBERS));
}

static void group_add(Inventory *inv, InventoryChanges *c, Device *d) {
        if (d->iommu_group < 0)
                return;
        GPtrArray *members = inventory_iommu_group(inv, d->iommu_group);
        if (!members) {
                members = g_ptr_array_new();
                g_hash_table_insert(inv->groups, GINT_TO_POINTER(d->iommu_group), members);
        }
        group_mark_members(c, members, d);

        guint pos = members->len;
        while (pos > 0 && device_compare(&members->pdata[pos - 1], &d) > 0)
                pos--;
        g_ptr_array_insert(members, (gint) pos, d);
        d->iommu_peers = members;
}

static void group_remove(Inventory *inv, InventoryChanges *c, Device *d) {
        GPtrArray *members = inventory_iommu_group(inv, d->iommu_group);
        if (!members)
                return;
        g_ptr_array_remove(members, d);
        d->iommu_peers = NULL;
        group_mark_members(c, members, d);
        if (members->len == 0)
                g_hash_table_remove(inv->groups, GINT_TO_POINTER(d->iommu_group));
}

/* A VF that comes or goes changes its PF's VirtualFunctions and SriovNumVfs. */
static void queue_physfn(GHashTable *pfs, const Device *d) {
        DpAddress pf;

        if (pfs && address_from_path(d->physfn_path, &pf))
                g_hash_table_add(pfs, key_new(&pf));
}

/* devices_fd: <sysfs_root>/bus/pci/devices, or -1 when it cannot be
 * opened (every function is then gone). */
static void apply_one(Inventory *inv, InventoryChanges *c, int devices_fd, const DpAddress *address,
                      CoalesceAction action, GHashTable *pfs) {
        Device *old = inventory_lookup(inv, address);
        g_autoptr(Device) new = action == COALESCE_REMOVE || devices_fd < 0 ? NULL :
                pci_read_device_at(devices_fd, address, inv->names);

        if (old && !new) {
                queue_physfn(pfs, old);
                group_remove(inv, c, old);
                g_hash_table_remove(c->changed, old);
                gint64 key = (gint64) address_to_key(address);
                gpointer stored_key = NULL;
                g_hash_table_remove(inv->by_path, old->path);
                /* The device lives on in the changes; its key does not. */
                g_hash_table_steal_extended(inv->devices, &key, &stored_key, NULL);
                g_free(stored_key);
                inventory_membership_changed(inv);
                if (g_hash_table_remove(c->added_set, old)) {
                        g_ptr_array_remove(c->added, old);
                        device_free(old);
                } else
                        g_ptr_array_add(c->removed, old);
        } else if (!old && new) {
                Device *d = g_steal_pointer(&new);
                g_hash_table_insert(inv->devices, key_new(address), d);
                g_hash_table_insert(inv->by_path, d->path, d);
                inventory_membership_changed(inv);
                g_ptr_array_add(c->added, d);
                g_hash_table_add(c->added_set, d);
                group_add(inv, c, d);
                queue_physfn(pfs, d);
        } else if (old && new) {
                DevicePropMask mask = device_diff(old, new);
                /* The override is no property, but the reconcile reads it. */
                if (mask == 0 && g_strcmp0(old->driver_override, new->driver_override) == 0)
                        return;
                bool refn = mask & DEVICE_PROP_BIT(DEVICE_PROP_PHYSICAL_FUNCTION);
                if (refn)
                        queue_physfn(pfs, old);
                bool regroup = mask & DEVICE_PROP_BIT(DEVICE_PROP_IOMMU_GROUP);
                if (regroup)
                        group_remove(inv, c, old);
                device_take_fields(old, new);
                if (regroup) {
                        group_add(inv, c, old);
                        mask |= DEVICE_PROP_BIT(DEVICE_PROP_IOMMU_GROUP_MEMBERS);
                }
                if (refn)
                        queue_physfn(pfs, old);
                changes_mark(c, old, mask);
        }
}

InventoryChanges *inventory_apply(Inventory *inv, GArray *entries) {
        InventoryChanges *c = g_new0(InventoryChanges, 1);
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
        g_autoptr(GHashTable) pfs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);

        c->added = g_ptr_array_new();
        c->added_set = g_hash_table_new(NULL, NULL);
        c->removed = g_ptr_array_new_with_free_func((GDestroyNotify) device_free);
        c->changed = g_hash_table_new(NULL, NULL);

        /* Each function found from here: no walk of the whole path each time. */
        int devices_fd = pci_devices_open(inv->sysfs_root);
        if (devices_fd < 0 && errno != ENOENT)
                g_warning("Cannot list PCI functions in %s: %s", inv->sysfs_root, g_strerror(errno));
        for (guint i = 0; i < entries->len; i++) {
                const CoalesceEntry *e = &g_array_index(entries, CoalesceEntry, i);
                if (e->action == COALESCE_REPLACE) {
                        apply_one(inv, c, devices_fd, &e->address, COALESCE_REMOVE, pfs);
                        apply_one(inv, c, devices_fd, &e->address, COALESCE_REREAD, pfs);
                } else
                        apply_one(inv, c, devices_fd, &e->address, e->action, pfs);
                g_hash_table_add(seen, key_new(&e->address));
        }

        /* Second pass: the PFs of VFs that came or went, once each. */
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, pfs);
        while (g_hash_table_iter_next(&it, &key, NULL)) {
                if (g_hash_table_contains(seen, key))
                        continue;
                DpAddress a = address_from_key((uint64_t) *(gint64 *) key);
                apply_one(inv, c, devices_fd, &a, COALESCE_REREAD, NULL);
        }
        if (devices_fd >= 0)
                close(devices_fd);

        bool enabled = iommu_read_enabled(inv->sysfs_root);
        c->iommu_changed = enabled != inv->iommu_enabled;
        inv->iommu_enabled = enabled;
        return c;
}

void inventory_changes_free(InventoryChanges *c) {
        if (!c)
                return;
        g_ptr_array_unref(c->added);
        g_hash_table_unref(c->added_set);
        g_ptr_array_unref(c->removed);
        g_hash_table_unref(c->changed);
        g_free(c);
}
