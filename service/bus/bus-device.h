/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of devices: org.devpass1.Device on /org/devpass1/devices/<address>. */

#include <systemd/sd-bus.h>

#include "bus-errors.h"
#include "inventory.h"
#include "object-manager.h"

typedef struct Service Service;

#define DP_DEVICE_INTERFACE "org.devpass1.Device"

extern const sd_bus_vtable bus_device_vtable[];
/* Every device of the inventory and every missing one the model keeps
 * (a fallback vtable and a node enumerator: no per-object registration,
 * whatever the node's size); userdata: the Service. */
extern const BusKind bus_device_kind;

/* Tells clients what an inventory change did: InterfacesRemoved,
 * InterfacesAdded, then PropertiesChanged carrying only what changed. */
void bus_device_emit_changes(BusObjects *o, InventoryChanges *changes);
void bus_device_emit_properties(sd_bus *bus, const Device *d, DevicePropMask mask);
