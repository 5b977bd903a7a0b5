/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resource rules: a rule is a conjunction of conditions (field, operator,
 * value) over a device's facts. Parsing validates everything once, so
 * matching cannot fail. Pure: no I/O. */

#include <stdbool.h>
#include <glib.h>

#include "device.h"
#include "rules-regex.h"

/* Bounds on what a caller may give, checked before anything is compiled:
 * a value's bytes (a regex may be longer: patterns are wordier than the
 * facts they match; the longest name in pci.ids is about 100 bytes; a set
 * of addresses longer still: 16 KiB holds 1,260 addresses as
 * "0000:3b:02.0," spells them, so that Make Passthrough of a whole node's
 * VFs needs a rule per 1,260 of them), and conditions per rule. */
#define RULE_VALUE_MAX 256
#define RULE_REGEX_MAX 1024
#define RULE_SET_MAX 16384
#define RULE_CONDITIONS_MAX 32

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
        RULE_OP_IN,     /* address fields: one of a set, "0000:3b:02.0,0000:3b:02.1" */
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
        RuleRegex *regex;
        uint64_t *set;      /* in: the addresses' keys, sorted, each once */
        size_t n_set;
        /* A regex that hit its limits matches nothing from then on: one
         * costly match, not one per device and refresh. reported: the
         * owner was told (rule_conditions_take_exhausted()). */
        bool exhausted, reported;
} RuleCondition;

#define RULE_ERROR (rule_error_quark())
GQuark rule_error_quark(void);
typedef enum {
        RULE_ERROR_FIELD,
        RULE_ERROR_OPERATOR,
        RULE_ERROR_VALUE,
        RULE_ERROR_COUNT,   /* more than RULE_CONDITIONS_MAX */
} RuleError;

/* Fields and operators by their API names ("subsystem-vendor", "icontains"). */
const char *rule_field_to_string(RuleField f);
const char *rule_op_to_string(RuleOp op);

/* The bounds alone, in time linear in the value: a known field, an
 * operator it takes, a value that is UTF-8 text without control
 * characters, not longer than RULE_VALUE_MAX (RULE_REGEX_MAX for regex,
 * RULE_SET_MAX for in), and not empty unless eq or ne may mean "has none" (driver, names,
 * physical-function). */
bool rule_condition_check(const char *field, const char *op, const char *value, GError **error);
/* At most RULE_CONDITIONS_MAX. */
bool rule_conditions_count_check(guint n, GError **error);

/* Checks and compiles one condition. The error says which part is wrong
 * and what would be right. */
RuleCondition *rule_condition_new(const char *field, const char *op, const char *value, GError **error);
void rule_condition_free(RuleCondition *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RuleCondition, rule_condition_free);

/* The value of an in condition of these addresses (DpAddress keys, in
 * any order, repeats allowed) as it is stored: each address once, sorted,
 * separated by ",". Parsed back, it is the same set. */
char *rule_set_format(const uint64_t *keys, size_t n);
/* Sorts keys (DpAddress keys) and drops repeats; returns how many are left. */
size_t rule_keys_sort_unique(uint64_t *keys, size_t n);
/* How many of keys (sorted, unique), from the first, one in value holds
 * within RULE_SET_MAX; at least one. */
size_t rule_set_fit(const uint64_t *keys, size_t n);

/* Not const: a regex match writes its match data and may exhaust c. */
bool rule_condition_matches(RuleCondition *c, const Device *d);

/* A rule matches when all its conditions do; a rule with none matches
 * nothing (an empty rule is a mistake, not "everything"), nor one with an
 * exhausted regex. */
bool rule_conditions_match(GPtrArray *conditions, const Device *d);

/* True once, the first time a regex of these conditions is found
 * exhausted: the owner logs it (this code does no I/O). */
bool rule_conditions_take_exhausted(GPtrArray *conditions);
