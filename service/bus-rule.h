/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of resource rules: org.devpass1.Rule on
 * /org/devpass1/rules/<id>. */

#include "bus-settings.h"
#include "daemon.h"

#define DP_RULE_INTERFACE "org.devpass1.Rule"

extern const sd_bus_vtable bus_rule_vtable[];
int bus_rule_register(sd_bus *bus, Daemon *d);

/* NULL-terminated names of the RuleProp bits set; free the array only. */
const char **bus_rule_prop_names(unsigned bits);

/* Checks the rule settings present; compiles Conditions into *conditions
 * (RuleCondition*) when given. creating: Conditions are required and a
 * blank Name is fine (one is made up). 0 or a negative errno. */
int bus_rule_settings_check(const BusSettings *s, bool creating, GPtrArray **conditions, sd_bus_error *error);

/* The group an object path argument names; NULL with NotFound set. */
ModelGroup *bus_rule_group_arg(Daemon *d, const char *path, sd_bus_error *error);
