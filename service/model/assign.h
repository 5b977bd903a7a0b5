/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which group a device belongs to, by the rules: pure, no I/O. The first
 * matching rule (by id) names the group; when rules of two groups match,
 * the device is in neither and the conflict is reported, never resolved
 * silently. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "device.h"

typedef struct {
        int64_t id;
        int64_t group_id;
        GPtrArray *conditions;   /* RuleCondition*, validated */
} AssignRule;

typedef struct {
        int64_t rule_id;         /* the first matching rule; 0 when none */
        int64_t group_id;        /* its group; 0 when none or in conflict */
        bool conflict;           /* rules of two or more groups match */
} Assignment;

/* A rule applies on this node when its Node is empty or this node's name. */
bool assign_rule_applies(const char *rule_node, const char *node);

/* rules: the enabled rules that apply here, sorted by id. matched, when
 * not NULL, gets the id (int64_t) of every matching rule appended. */
Assignment assign_device(const AssignRule *rules, guint n_rules, const Device *d, GArray *matched);
