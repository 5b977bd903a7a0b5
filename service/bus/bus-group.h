/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of resource groups: org.devpass1.Group on
 * /org/devpass1/groups/<id>. */

#include "bus-settings.h"
#include "service.h"

#define DP_GROUP_INTERFACE "org.devpass1.Group"

extern const sd_bus_vtable bus_group_vtable[];
extern const BusKind bus_group_kind;

/* NULL-terminated names of the bits set, from a table in bit order; free
 * the array only. */
const char **bus_prop_names(const char *const *table, unsigned n_table, unsigned bits);
/* The same for GroupProp bits. */
const char **bus_group_prop_names(unsigned bits);

/* Checks the values of the group settings present (name, type, class,
 * description); 0 or a negative errno with error set. */
int bus_group_settings_check(const BusSettings *s, sd_bus_error *error);

/* The addresses passed through for g (strings owned by the array). */
GPtrArray *bus_group_intents(Service *d, ModelGroup *g);

/* Appends an "ao" of the objects' paths (char * at path_offset in each). */
int bus_append_object_paths(sd_bus_message *reply, GPtrArray *objects, size_t path_offset);
