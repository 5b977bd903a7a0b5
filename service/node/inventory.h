/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The node's PCI functions, as last read from sysfs, with the indices the
 * D-Bus face needs (by address, by IOMMU group). Changes come in as
 * coalesced entries and go out as the set of what changed. */

#include "coalesce.h"
#include "device.h"
#include "names.h"

typedef struct Inventory Inventory;

typedef struct {
        GPtrArray *added;      /* Device*, owned by the inventory */
        GHashTable *added_set;
        GPtrArray *removed;    /* Device*, owned by the changes */
        GHashTable *changed;   /* Device* (inventory's) -> DevicePropMask */
        bool iommu_changed;
} InventoryChanges;

Inventory *inventory_new(const char *sysfs_root, Names *names);
/* The names it fills devices' names from (borrowed). */
Names *inventory_names(Inventory *inv);
void inventory_free(Inventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Inventory, inventory_free);

/* Queues every function that is known or present, to be read again: the
 * start-up scan, and the resync after the event socket overflowed. */
void inventory_queue_all(Inventory *inv, Coalescer *queue);

/* Reads the queued functions again and updates the indices. */
InventoryChanges *inventory_apply(Inventory *inv, GArray *entries);

Device *inventory_lookup(Inventory *inv, const DpAddress *address);
Device *inventory_lookup_path(Inventory *inv, const char *path);
guint inventory_size(Inventory *inv);
/* Every function, sorted by address; borrowed, valid until the next
 * inventory_apply(). */
GPtrArray *inventory_sorted(Inventory *inv);
/* Object paths of every function, sorted; free with g_strfreev(). */
char **inventory_paths(Inventory *inv);
/* Every function of an IOMMU group, sorted by address; NULL when none. */
GPtrArray *inventory_iommu_group(Inventory *inv, int32_t group);
bool inventory_iommu_enabled(Inventory *inv);

void inventory_changes_free(InventoryChanges *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(InventoryChanges, inventory_changes_free);
