/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resource rules: a rule is a conjunction of conditions (field, operator,
 * value) over a device's facts. Parsing validates everything once, so
 * matching cannot fail. Pure: no I/O. */

#include <stdbool.h>
#include <glib.h>

#include "device.h"

typedef enum {
        RULE_FIELD_ADDRESS,
        RULE_FIELD_VENDOR,
        RULE_FIELD_DEVICE,
        RULE_FIELD_SUBSYSTEM_VENDOR,
        RULE_FIELD_SUBSYSTEM_DEVICE,
        RULE_FIELD_CLASS,
        RULE_FIELD_DRIVER,
        RULE_FIELD_VENDOR_NAME,
        RULE_FIELD_DEVICE_NAME,
        RULE_FIELD_PHYSICAL_FUNCTION,
        RULE_FIELD_NUMA_NODE,
        RULE_FIELD_IOMMU_GROUP,
        _RULE_FIELD_MAX,
} RuleField;

typedef enum {
        RULE_OP_EQ,
        RULE_OP_NE,
        RULE_OP_LT,
        RULE_OP_LE,
        RULE_OP_GT,
        RULE_OP_GE,
        RULE_OP_PREFIX,
        RULE_OP_SUFFIX,
        RULE_OP_CONTAINS,
        RULE_OP_ICONTAINS,
        RULE_OP_REGEX,
        _RULE_OP_MAX,
} RuleOp;

typedef struct {
        RuleField field;
        RuleOp op;
        char *value;        /* as given; an address's as matched (rules.c says how) */
        int64_t number;     /* numeric fields; for address order, the key */
        uint32_t mask;      /* class: the bits compared */
        bool glob;          /* address eq/ne with * or ? */
        char *folded;       /* icontains: the value case-folded */
        GRegex *regex;
} RuleCondition;

#define RULE_ERROR (rule_error_quark())
GQuark rule_error_quark(void);
typedef enum {
        RULE_ERROR_FIELD,
        RULE_ERROR_OPERATOR,
        RULE_ERROR_VALUE,
} RuleError;

/* Fields and operators by their API names ("subsystem-vendor", "icontains"). */
const char *rule_field_to_string(RuleField f);
const char *rule_op_to_string(RuleOp op);

/* Validates one condition. The error says which part is wrong and what
 * would be right. */
RuleCondition *rule_condition_new(const char *field, const char *op, const char *value, GError **error);
void rule_condition_free(RuleCondition *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RuleCondition, rule_condition_free);

bool rule_condition_matches(const RuleCondition *c, const Device *d);

/* A rule matches when all its conditions do; a rule with none matches
 * nothing (an empty rule is a mistake, not "everything"). */
bool rule_conditions_match(GPtrArray *conditions, const Device *d);
