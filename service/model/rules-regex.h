/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The regex of a rule condition, through PCRE2, bounded so that no pattern
 * a caller can store stalls the daemon: patterns that repeat a group which
 * itself holds a quantifier ("(a+)*", "(?:(?:.*)*)*") are refused, being
 * the shape of catastrophic backtracking; every match runs under a match
 * and a depth limit, and one that hits them is not a match. No JIT: the
 * unit's MemoryDenyWriteExecute= forbids it, and the limits must hold
 * without it anyway. Pure: no I/O. */

#include <stdbool.h>
#include <glib.h>

/* Backtracking steps and nested backtracking frames one match may take.
 * Measured over all 35,576 names in pci.ids: ordinary patterns need at
 * most about 500 steps on any of them, sloppy ones with several .* up to
 * 1,800; a step costs about 18 ns. */
#define RULE_REGEX_MATCH_LIMIT 10000
#define RULE_REGEX_DEPTH_LIMIT 1000

typedef struct RuleRegex RuleRegex;

typedef enum {
        RULE_REGEX_NO_MATCH,
        RULE_REGEX_MATCH,
        RULE_REGEX_LIMIT,    /* gave up: too costly for this subject */
} RuleRegexResult;

/* NULL with error (RULE_ERROR_VALUE: the reason, without the pattern) when
 * the pattern does not compile or nests quantifiers. */
RuleRegex *rule_regex_new(const char *pattern, GError **error);
void rule_regex_free(RuleRegex *re);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RuleRegex, rule_regex_free);

/* Not const: a match writes into the regex's own match data, and keeps
 * the result of each distinct subject (up to a few thousand). */
RuleRegexResult rule_regex_match(RuleRegex *re, const char *subject);
