/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of devices: org.devpass1.Device on /org/devpass1/devices/<address>. */

#include <systemd/sd-bus.h>

#include "bus-errors.h"
#include "inventory.h"

typedef struct Service Service;

#define DP_DEVICE_INTERFACE "org.devpass1.Device"

extern const sd_bus_vtable bus_device_vtable[];

/* Exports every device of the inventory (a fallback vtable and a node
 * enumerator: no per-object registration, whatever the node's size). */
int bus_device_register(sd_bus *bus, Service *d);

/* Tells clients what an inventory change did: InterfacesRemoved,
 * InterfacesAdded, then PropertiesChanged carrying only what changed. */
void bus_device_emit_changes(sd_bus *bus, InventoryChanges *changes);
void bus_device_emit_properties(sd_bus *bus, const Device *d, DevicePropMask mask);

/* InterfacesRemoved of an object that is gone, naming every interface
 * InterfacesAdded named for it (sd_bus_emit_object_added()): the
 * standard ones and its own. */
int bus_emit_object_removed(sd_bus *bus, const char *path, const char *interface);
