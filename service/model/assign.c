/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "assign.h"

#include "rules.h"

bool assign_rule_applies(const char *rule_node, const char *node) {
        return !rule_node || !*rule_node || g_strcmp0(rule_node, node) == 0;
}

Assignment assign_device(const AssignRule *rules, guint n_rules, const Device *d, GArray *matched) {
        Assignment a = {};

        for (guint i = 0; i < n_rules; i++) {
                const AssignRule *r = &rules[i];
                if (!rule_conditions_match(r->conditions, d))
                        continue;
                if (matched)
                        g_array_append_val(matched, r->id);
                if (!a.rule_id) {
                        a.rule_id = r->id;
                        a.group_id = r->group_id;
                } else if (r->group_id != a.group_id)
                        a.conflict = true;
                /* Without a caller that wants every match, the first rule
                 * of another group settles it. */
                if (a.conflict && !matched)
                        break;
        }
        if (a.conflict)
                a.group_id = 0;
        return a;
}
