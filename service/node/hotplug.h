/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* udev events for the pci subsystem -> coalesced inventory updates. */

#include "inventory.h"

typedef struct Hotplug Hotplug;

/* Called after each batch with what changed; the changes are freed after. */
typedef void (*HotplugFunc)(InventoryChanges *changes, void *userdata);

/* Starts listening at once: create it before the first scan, so that no
 * event between the scan and the first poll is lost. */
Hotplug *hotplug_new(Inventory *inv, HotplugFunc func, void *userdata, GError **error);
void hotplug_free(Hotplug *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Hotplug, hotplug_free);

/* Reads every function again, as after a lost event: the start-up scan.
 * Returns the changes; the caller frees them. */
InventoryChanges *hotplug_rescan(Hotplug *h);
