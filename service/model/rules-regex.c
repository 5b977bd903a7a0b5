/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rules-regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "rules.h"

/* Deeper groups than this are refused by the compiler, which keeps the
 * scanner's stack small. */
#define NEST_MAX 32
/* A match's backtracking frames, KiB: with the depth limit, a pattern of
 * many capture groups (large frames) gives up before it holds megabytes. */
#define HEAP_LIMIT_KIB 256
/* Subjects whose result is kept: a node's functions share few names. */
#define SEEN_MAX 4096

struct RuleRegex {
        pcre2_code *code;
        pcre2_match_context *context;
        pcre2_match_data *data;
        /* subject -> RuleRegexResult + 1: a result depends on the subject
         * alone, so each distinct name costs one match, not one per
         * function and refresh. */
        GHashTable *seen;
};

/* The length of the quantifier at p ("*", "+", "?", "{2}", "{2,}",
 * "{2,5}", each maybe followed by a lazy '?' or possessive '+'), 0 for
 * none; *repeats: it may take its atom more than once. A '{' that does not
 * start a quantifier is a literal, as PCRE2 reads it. */
static size_t quantifier_length(const char *p, bool *repeats) {
        size_t n;

        if (*p == '*' || *p == '+' || *p == '?') {
                *repeats = *p != '?';
                n = 1;
        } else if (*p == '{' && g_ascii_isdigit(p[1])) {
                const char *q = p + 1;
                unsigned lo = 0, hi;
                for (; g_ascii_isdigit(*q); q++)
                        lo = MIN(lo * 10 + (unsigned) (*q - '0'), 100000u);
                hi = lo;
                if (*q == ',') {
                        hi = G_MAXUINT;
                        if (g_ascii_isdigit(*++q))
                                for (hi = 0; g_ascii_isdigit(*q); q++)
                                        hi = MIN(hi * 10 + (unsigned) (*q - '0'), 100000u);
                }
                if (*q != '}')
                        return 0;
                *repeats = hi > 1;
                n = (size_t) (q + 1 - p);
        } else
                return 0;
        if (p[n] == '?' || p[n] == '+')
                n++;
        return n;
}

/* Past a character class that starts at p ('['). */
static const char *class_skip(const char *p) {
        p++;
        if (*p == '^')
                p++;
        if (*p == ']')   /* a leading ']' is a member */
                p++;
        while (*p && *p != ']') {
                if (*p == '\\' && p[1])
                        p += 2;
                else if (p[0] == '[' && p[1] == ':' && strstr(p + 2, ":]"))
                        p = strstr(p + 2, ":]") + 2;
                else
                        p++;
        }
        return *p ? p + 1 : p;
}

/* Past an escape that starts at p ('\\'): "\Q...\E" and braced
 * arguments ("\x{41}", "\p{Lu}", "\g{1}") are one atom. */
static const char *escape_skip(const char *p) {
        if (p[1] == 'Q') {
                const char *end = strstr(p + 2, "\\E");
                return end ? end + 2 : p + strlen(p);
        }
        if (p[1] && strchr("xopPNgku", p[1]) && p[2] == '{') {
                const char *close = strchr(p + 3, '}');
                return close ? close + 1 : p + strlen(p);
        }
        return p[1] ? p + 2 : p + 1;
}

/* The offset of the first quantifier that repeats a group holding a
 * quantifier, or -1. The pattern has compiled, so its groups balance and
 * nest at most NEST_MAX deep. Whatever this reads differently from PCRE2
 * is still bounded by the match limits. */
static gssize nested_quantifier(const char *pattern) {
        bool holds[NEST_MAX + 2] = { false };   /* per open group: holds a quantifier */
        int depth = 0;
        const char *p = pattern;

        while (*p) {
                bool repeats, inner = false;
                if (*p == '(' && p[1] == '?' && p[2] == '#') {   /* a comment */
                        const char *close = strchr(p, ')');
                        p = close ? close + 1 : p + strlen(p);
                        continue;
                }
                if (*p == '(') {
                        depth = MIN(depth + 1, NEST_MAX + 1);
                        holds[depth] = false;
                        /* "(?:", "(?=", "(*VERB)": not a quantifier */
                        p += (p[1] == '?' || p[1] == '*') ? 2 : 1;
                        continue;
                }
                if (*p == ')' && depth > 0) {
                        inner = holds[depth--];
                        p++;
                } else if (*p == '\\')
                        p = escape_skip(p);
                else if (*p == '[')
                        p = class_skip(p);
                else
                        p++;
                size_t q = quantifier_length(p, &repeats);
                if (q && repeats && inner)
                        return p - pattern;
                holds[depth] |= inner || q;
                p += q;
        }
        return -1;
}

RuleRegex *rule_regex_new(const char *pattern, GError **error) {
        g_autoptr(RuleRegex) re = g_new0(RuleRegex, 1);
        pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
        int code;
        PCRE2_SIZE offset;

        if (!cc)
                g_error("out of memory for a regex");
        pcre2_set_parens_nest_limit(cc, NEST_MAX);
        /* Device facts are sanitized UTF-8; invalid bytes would just not match. */
        re->code = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &code, &offset, cc);
        pcre2_compile_context_free(cc);
        if (!re->code) {
                PCRE2_UCHAR message[120];
                pcre2_get_error_message(code, message, sizeof(message));
                g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "%s at offset %zu", (const char *) message,
                            (size_t) offset);
                return NULL;
        }
        gssize nested = nested_quantifier(pattern);
        if (nested >= 0) {
                g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE,
                            "the quantifier at offset %zd repeats a group that holds a quantifier itself, which "
                            "can take exponential time: quantify the group or its inside, not both",
                            nested);
                return NULL;
        }
        re->context = pcre2_match_context_create(NULL);
        pcre2_set_match_limit(re->context, RULE_REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(re->context, RULE_REGEX_DEPTH_LIMIT);
        pcre2_set_heap_limit(re->context, HEAP_LIMIT_KIB);
        re->data = pcre2_match_data_create(1, NULL);   /* whether, not where */
        re->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        if (!re->context || !re->data)
                g_error("out of memory for a regex");
        return g_steal_pointer(&re);
}

void rule_regex_free(RuleRegex *re) {
        if (!re)
                return;
        if (re->seen)
                g_hash_table_unref(re->seen);
        pcre2_match_data_free(re->data);
        pcre2_match_context_free(re->context);
        pcre2_code_free(re->code);
        g_free(re);
}

RuleRegexResult rule_regex_match(RuleRegex *re, const char *subject) {
        gpointer known = g_hash_table_lookup(re->seen, subject);
        if (known)
                return (RuleRegexResult) (GPOINTER_TO_INT(known) - 1);

        int r = pcre2_match(re->code, (PCRE2_SPTR) subject, strlen(subject), 0, 0, re->data, re->context);
        /* Anything but a match or none (the limits, memory) is a match not made. */
        RuleRegexResult result = r >= 0 ? RULE_REGEX_MATCH : r == PCRE2_ERROR_NOMATCH ? RULE_REGEX_NO_MATCH
                                                                                    : RULE_REGEX_LIMIT;
        if (g_hash_table_size(re->seen) < SEEN_MAX)
                g_hash_table_insert(re->seen, g_strdup(subject), GINT_TO_POINTER(result + 1));
        return result;
}
