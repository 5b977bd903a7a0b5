/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The calls that change drivers: Manager.CheckPassthrough,
 * MakePassthrough, RemovePassthrough and Device.SetVirtualFunctions. */

#include "service.h"

int bus_passthrough_method_check(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_passthrough_method_make(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_passthrough_method_remove(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* userdata: the Device (a physical function). */
int bus_passthrough_method_set_vfs(sd_bus_message *m, void *userdata, sd_bus_error *error);
