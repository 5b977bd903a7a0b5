/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of resource rules: org.devpass1.Rule on
 * /org/devpass1/rules/<id>. */

#include "bus-settings.h"
#include "service.h"
#include "mutation.h"

#define DP_RULE_INTERFACE "org.devpass1.Rule"

extern const sd_bus_vtable bus_rule_vtable[];
extern const BusKind bus_rule_kind;

/* NULL-terminated names of the RuleProp bits set; free the array only. */
const char **bus_rule_prop_names(unsigned bits);

/* Checks the rule settings present; compiles Conditions into *conditions
 * (RuleCondition*) when given. creating: Conditions are required and a
 * blank Name is fine (one is made up). 0 or a negative errno. */
int bus_rule_settings_check(const BusSettings *s, bool creating, GPtrArray **conditions, sd_bus_error *error);

/* The arguments of CreateRule and Rule.Update: the settings read, their
 * conditions compiled, and the rule as it would be. */
typedef struct {
        BusSettings settings;
        GPtrArray *conditions;   /* RuleCondition* */
        StoreRule *next;
} BusRuleArgs;

void bus_rule_args_clear(BusRuleArgs *a);
/* What creating (r NULL) or changing a rule touches, for polkit: its
 * group before and after, and the groups whose devices it takes or puts
 * into conflict (model_rule_scope()); refuses a name taken. */
bool bus_rule_ask(MutationCall *c, const ModelRule *r, ModelGroup *target, MutationAsk *ask, GError **error);
