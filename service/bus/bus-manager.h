/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the daemon: org.devpass1.Manager on /org/devpass1. */

#include "bus-settings.h"
#include "service.h"

#define DP_MANAGER_INTERFACE "org.devpass1.Manager"

extern const sd_bus_vtable bus_manager_vtable[];

int bus_manager_register(sd_bus *bus, Service *d);
void bus_manager_emit_changes(sd_bus *bus, InventoryChanges *changes);
void bus_manager_emit_reboot(sd_bus *bus);
void bus_manager_emit_cluster_state(sd_bus *bus);

/* A new group's settings (validated) with the defaults filled in. */
StoreGroup *bus_manager_group_from(const BusSettings *s);
