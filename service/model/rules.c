/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

G_DEFINE_QUARK(devpass-rule-error-quark, rule_error)

static const char *const field_names[_RULE_FIELD_MAX] = {
        [RULE_FIELD_ADDRESS] = "address",
        [RULE_FIELD_VENDOR] = "vendor",
        [RULE_FIELD_DEVICE] = "device",
        [RULE_FIELD_SUBSYSTEM_VENDOR] = "subsystem-vendor",
        [RULE_FIELD_SUBSYSTEM_DEVICE] = "subsystem-device",
        [RULE_FIELD_CLASS] = "class",
        [RULE_FIELD_DRIVER] = "driver",
        [RULE_FIELD_VENDOR_NAME] = "vendor-name",
        [RULE_FIELD_DEVICE_NAME] = "device-name",
        [RULE_FIELD_PHYSICAL_FUNCTION] = "physical-function",
        [RULE_FIELD_NUMA_NODE] = "numa-node",
        [RULE_FIELD_IOMMU_GROUP] = "iommu-group",
};

static const char *const op_names[_RULE_OP_MAX] = {
        [RULE_OP_EQ] = "eq",
        [RULE_OP_NE] = "ne",
        [RULE_OP_LT] = "lt",
        [RULE_OP_LE] = "le",
        [RULE_OP_GT] = "gt",
        [RULE_OP_GE] = "ge",
        [RULE_OP_PREFIX] = "prefix",
        [RULE_OP_SUFFIX] = "suffix",
        [RULE_OP_CONTAINS] = "contains",
        [RULE_OP_ICONTAINS] = "icontains",
        [RULE_OP_REGEX] = "regex",
        [RULE_OP_IN] = "in",
};

typedef enum {
        KIND_ID,       /* 16-bit hex id */
        KIND_CLASS,    /* 24-bit hex class, optional /mask */
        KIND_INT,      /* decimal, -1 for none */
        KIND_ADDRESS,  /* PCI address: globs, order */
        KIND_TEXT,
} FieldKind;

static FieldKind field_kind(RuleField f) {
        switch (f) {
        case RULE_FIELD_VENDOR:
        case RULE_FIELD_DEVICE:
        case RULE_FIELD_SUBSYSTEM_VENDOR:
        case RULE_FIELD_SUBSYSTEM_DEVICE:
                return KIND_ID;
        case RULE_FIELD_CLASS:
                return KIND_CLASS;
        case RULE_FIELD_NUMA_NODE:
        case RULE_FIELD_IOMMU_GROUP:
                return KIND_INT;
        case RULE_FIELD_ADDRESS:
        case RULE_FIELD_PHYSICAL_FUNCTION:
                return KIND_ADDRESS;
        default:
                return KIND_TEXT;
        }
}

/* Which operators each kind of field takes. */
static bool op_allowed(FieldKind kind, RuleOp op) {
        switch (kind) {
        case KIND_ID:
        case KIND_INT:
                return op <= RULE_OP_GE;
        case KIND_CLASS:
                return op == RULE_OP_EQ || op == RULE_OP_NE;
        case KIND_ADDRESS:
                return true;
        default:
                return op != RULE_OP_IN;
        }
}

const char *rule_field_to_string(RuleField f) {
        g_return_val_if_fail(f < _RULE_FIELD_MAX, NULL);
        return field_names[f];
}

const char *rule_op_to_string(RuleOp op) {
        g_return_val_if_fail(op < _RULE_OP_MAX, NULL);
        return op_names[op];
}

static int lookup(const char *const *names, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (strcmp(names[i], s) == 0)
                        return i;
        return -1;
}

static char *names_list(const char *const *names, int n, FieldKind kind, bool ops) {
        GString *s = g_string_new(NULL);
        for (int i = 0; i < n; i++)
                if (!ops || op_allowed(kind, (RuleOp) i))
                        g_string_append_printf(s, "%s%s", s->len ? ", " : "", names[i]);
        return g_string_free(s, FALSE);
}

/* Whole-string hex with or without 0x, 1 to 8 digits, at most max. */
static bool parse_hex(const char *s, uint32_t max, uint32_t *ret) {
        if (g_ascii_strncasecmp(s, "0x", 2) == 0)
                s += 2;
        size_t n = strlen(s);
        if (n == 0 || n > 8)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!g_ascii_isxdigit(s[i]))
                        return false;
        unsigned long v = strtoul(s, NULL, 16);
        if (v > max)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static int key_compare(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

size_t rule_keys_sort_unique(uint64_t *keys, size_t n) {
        size_t kept = 0;

        qsort(keys, n, sizeof(*keys), key_compare);
        for (size_t i = 0; i < n; i++)
                if (kept == 0 || keys[kept - 1] != keys[i])
                        keys[kept++] = keys[i];
        return kept;
}

char *rule_set_format(const uint64_t *keys, size_t n) {
        g_autofree uint64_t *sorted = g_memdup2(keys, n * sizeof(*keys));
        GString *s = g_string_sized_new(n * 13);
        char buf[DP_ADDRESS_MAX];

        n = rule_keys_sort_unique(sorted, n);
        for (size_t i = 0; i < n; i++) {
                DpAddress a = address_from_key(sorted[i]);
                address_format(&a, buf);
                g_string_append_printf(s, "%s%s", i ? "," : "", buf);
        }
        return g_string_free(s, FALSE);
}

size_t rule_set_fit(const uint64_t *keys, size_t n) {
        char buf[DP_ADDRESS_MAX];
        size_t bytes = 0, fit = 0;

        for (; fit < n; fit++) {
                DpAddress a = address_from_key(keys[fit]);
                address_format(&a, buf);
                bytes += (fit > 0) + strlen(buf);
                if (fit > 0 && bytes > RULE_SET_MAX)
                        break;
        }
        return fit;
}

/* in: addresses separated by commas or spaces, each spelled as eq takes
 * it; at least one. The value becomes rule_set_format()'s spelling. The
 * error names the word that is no address. */
static bool address_set_parse(RuleCondition *c, GError **error) {
        g_auto(GStrv) words = g_strsplit_set(c->value, ", ", -1);
        g_autofree uint64_t *keys = g_new(uint64_t, g_strv_length(words) + 1);
        size_t n = 0;
        DpAddress a;

        for (size_t i = 0; words[i]; i++) {
                if (!*words[i])
                        continue;
                if (!address_parse(words[i], &a)) {
                        g_autofree char *q = text_quote(words[i]);
                        g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "%s in the set for %s in is not a PCI "
                                    "address: use addresses such as 0000:3b:02.0, separated by commas", q,
                                    field_names[c->field]);
                        return false;
                }
                keys[n++] = address_to_key(&a);
        }
        if (n == 0) {
                g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "The set for %s in names no address: use "
                            "addresses such as 0000:3b:02.0, separated by commas", field_names[c->field]);
                return false;
        }
        c->n_set = rule_keys_sort_unique(keys, n);
        c->set = g_steal_pointer(&keys);
        g_free(c->value);
        c->value = rule_set_format(c->set, c->n_set);
        return true;
}

/* Addresses are matched as the kernel and lspci -D spell them: lower
 * case, domain included. A value is brought to that spelling once, here:
 * - one address (eq, ne without a glob; lt ... ge) is parsed, so that
 *   "17:00.0" (lspci without -D), "0000:17:00.0", "0000:17:00.0" with
 *   upper-case digits or an 8-digit domain all name 0000:17:00.0;
 * - globs, prefixes, suffixes and substrings are lower-cased (hex digits
 *   are an address's only letters). A glob or prefix whose part before
 *   the first ':' has at most two characters and no '*' cannot start
 *   with a domain (4 to 8 digits): it is a short address, domain 0000
 *   ("17:00.*", "3b:"). "*:00.0", "0000:*" or a prefix "00" without ':'
 *   could mean either, so they stay as written, matched against the
 *   full spelling;
 * - a regex is left alone: lower-casing would turn \D into \d.
 * A set (in) is address_set_parse()'s. */
static bool address_value_normalize(RuleCondition *c) {
        DpAddress a;
        char canonical[DP_ADDRESS_MAX];

        if (c->op == RULE_OP_EQ || c->op == RULE_OP_NE)
                c->glob = strpbrk(c->value, "*?") != NULL;
        if (c->op >= RULE_OP_LT && c->op <= RULE_OP_GE) {
                if (!address_parse(c->value, &a))
                        return false;
                c->number = (int64_t) address_to_key(&a);
        } else if ((c->op == RULE_OP_EQ || c->op == RULE_OP_NE) && !c->glob && c->value[0]) {
                if (!address_parse(c->value, &a))
                        return false;
                address_format(&a, canonical);
                g_free(c->value);
                c->value = g_strdup(canonical);
        } else if (c->op != RULE_OP_REGEX) {
                g_autofree char *lower = g_ascii_strdown(c->value, -1);
                const char *colon = strchr(lower, ':');
                bool is_short = (c->glob || c->op == RULE_OP_PREFIX) && colon && colon - lower <= 2 &&
                                !memchr(lower, '*', (size_t) (colon - lower));
                g_free(c->value);
                c->value = is_short ? g_strconcat("0000:", lower, NULL) : g_steal_pointer(&lower);
        }
        return true;
}

/* What a value of each kind looks like, for messages. */
static const char *const expected[] = {
        [KIND_ID] = "a hex id such as 10de or 0x10de",
        [KIND_CLASS] = "a hex class such as 0x030000, with an optional mask: 0x030000/0xff0000",
        [KIND_INT] = "a whole number, -1 for none",
        /* One string: clang takes two in an initializer list for a missing comma. */
        [KIND_ADDRESS] = ("a PCI address such as 0000:3b:02.0 (eq and ne also take globs: 0000:3b:02.*; in "
                          "takes addresses separated by commas: 0000:3b:02.0,0000:3b:02.1)"),
        [KIND_TEXT] = "text",
};

static bool value_invalid(const RuleCondition *c, FieldKind kind, GError **error) {
        g_autofree char *q = text_quote(c->value);
        g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "%s is not a valid value for %s: use %s", q,
                    field_names[c->field], expected[kind]);
        return false;
}

static bool condition_parse_value(RuleCondition *c, FieldKind kind, GError **error) {
        const char *v = c->value;
        uint32_t x;
        gint64 n;

        switch (kind) {
        case KIND_ID:
                if (!parse_hex(v, 0xffff, &x))
                        return value_invalid(c, kind, error);
                c->number = x;
                return true;
        case KIND_CLASS: {
                const char *slash = strchr(v, '/');
                g_autofree char *head = g_strndup(v, slash ? (size_t) (slash - v) : strlen(v));
                uint32_t mask = 0xffffff;
                if (!parse_hex(head, 0xffffff, &x) || (slash && !parse_hex(slash + 1, 0xffffff, &mask)))
                        return value_invalid(c, kind, error);
                /* Without a mask, 2 digits are a class ("02": any network
                 * controller), 4 a class and subclass ("0200": Ethernet). */
                size_t digits = strlen(head) - (g_ascii_strncasecmp(head, "0x", 2) == 0 ? 2 : 0);
                if (!slash && digits == 2) {
                        x <<= 16;
                        mask = 0xff0000;
                } else if (!slash && digits == 4) {
                        x <<= 8;
                        mask = 0xffff00;
                }
                c->number = x & mask;
                c->mask = mask;
                return true;
        }
        case KIND_INT:
                if (!text_parse_int(v, -1, G_MAXINT32, &n))
                        return value_invalid(c, kind, error);
                c->number = n;
                return true;
        case KIND_ADDRESS:
                if (c->op == RULE_OP_IN)
                        return address_set_parse(c, error);
                if (!address_value_normalize(c))
                        return value_invalid(c, kind, error);
                v = c->value;   /* rewritten */
                break;
        case KIND_TEXT:
                break;
        }
        if (c->op == RULE_OP_ICONTAINS)
                c->folded = g_utf8_casefold(v, -1);
        if (c->op == RULE_OP_REGEX) {
                g_autoptr(GError) re_error = NULL;
                c->regex = rule_regex_new(v, &re_error);
                if (!c->regex) {
                        g_autofree char *q = text_quote(v);
                        g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "%s is not a valid regex for %s: %s", q,
                                    field_names[c->field], re_error->message);
                        return false;
                }
        }
        return true;
}

/* eq and ne with "" ask for "has none": no driver, no name, not a VF. */
static bool empty_allowed(RuleField f, RuleOp op) {
        return (op == RULE_OP_EQ || op == RULE_OP_NE) &&
               (f == RULE_FIELD_DRIVER || f == RULE_FIELD_VENDOR_NAME || f == RULE_FIELD_DEVICE_NAME ||
                f == RULE_FIELD_PHYSICAL_FUNCTION);
}

static bool condition_lookup(const char *field, const char *op, RuleField *ret_field, RuleOp *ret_op,
                             GError **error) {
        int f = lookup(field_names, _RULE_FIELD_MAX, field);
        if (f < 0) {
                g_autofree char *all = names_list(field_names, _RULE_FIELD_MAX, KIND_TEXT, false);
                g_autofree char *q = text_quote(field ?: "");
                g_set_error(error, RULE_ERROR, RULE_ERROR_FIELD, "Unknown field %s: use one of %s", q, all);
                return false;
        }
        FieldKind kind = field_kind((RuleField) f);
        int o = lookup(op_names, _RULE_OP_MAX, op);
        if (o < 0 || !op_allowed(kind, (RuleOp) o)) {
                g_autofree char *allowed = names_list(op_names, _RULE_OP_MAX, kind, true);
                g_autofree char *q = text_quote(op ?: "");
                g_set_error(error, RULE_ERROR, RULE_ERROR_OPERATOR, "Operator %s does not apply to %s: use one of %s",
                            q, field_names[f], allowed);
                return false;
        }
        *ret_field = (RuleField) f;
        *ret_op = (RuleOp) o;
        return true;
}

static bool value_check(RuleField f, RuleOp op, const char *value, GError **error) {
        const char *name = field_names[f];
        const char *use = expected[field_kind(f)];
        size_t max = op == RULE_OP_REGEX ? RULE_REGEX_MAX : op == RULE_OP_IN ? RULE_SET_MAX : RULE_VALUE_MAX;

        if (!value) {
                g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "The value for %s is missing: use %s", name, use);
                return false;
        }
        /* Never read further than the limit: the value may be megabytes. */
        size_t n = strnlen(value, max + 1);
        if (n > max) {
                g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE,
                            "The value for %s %s is longer than %zu bytes, the limit: shorten it", name,
                            op_names[op], max);
                return false;
        }
        if (!g_utf8_validate(value, (gssize) n, NULL)) {
                g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "The value for %s is not UTF-8 text: use %s", name,
                            use);
                return false;
        }
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) value[i] < 0x20 || value[i] == 0x7f) {
                        g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE,
                                    "The value for %s has a control character (byte %zu): use printable text%s",
                                    name, i, op == RULE_OP_REGEX ? " (a regex spells them \\t, \\x1b)" : "");
                        return false;
                }
        if (n == 0 && !empty_allowed(f, op)) {
                g_set_error(error, RULE_ERROR, RULE_ERROR_VALUE, "The value for %s %s is empty: use %s%s", name,
                            op_names[op], use,
                            empty_allowed(f, RULE_OP_EQ) ? " (only eq and ne take \"\", for none)" : "");
                return false;
        }
        return true;
}

bool rule_condition_check(const char *field, const char *op, const char *value, GError **error) {
        RuleField f;
        RuleOp o;

        return condition_lookup(field, op, &f, &o, error) && value_check(f, o, value, error);
}

bool rule_conditions_count_check(guint n, GError **error) {
        if (n <= RULE_CONDITIONS_MAX)
                return true;
        g_set_error(error, RULE_ERROR, RULE_ERROR_COUNT,
                    "A rule has %u conditions, more than the limit of %d: split it, or match a range or glob",
                    n, RULE_CONDITIONS_MAX);
        return false;
}

RuleCondition *rule_condition_new(const char *field, const char *op, const char *value, GError **error) {
        RuleField f;
        RuleOp o;

        if (!condition_lookup(field, op, &f, &o, error) || !value_check(f, o, value, error))
                return NULL;
        g_autoptr(RuleCondition) c = g_new0(RuleCondition, 1);
        c->field = f;
        c->op = o;
        c->value = g_strdup(value);
        if (!condition_parse_value(c, field_kind(f), error))
                return NULL;
        return g_steal_pointer(&c);
}

void rule_condition_free(RuleCondition *c) {
        if (!c)
                return;
        g_free(c->value);
        g_free(c->folded);
        g_free(c->set);
        rule_regex_free(c->regex);
        g_free(c);
}

static bool compare(RuleOp op, int64_t have, int64_t want) {
        switch (op) {
        case RULE_OP_EQ: return have == want;
        case RULE_OP_NE: return have != want;
        case RULE_OP_LT: return have < want;
        case RULE_OP_LE: return have <= want;
        case RULE_OP_GT: return have > want;
        case RULE_OP_GE: return have >= want;
        default: return false;
        }
}

/* A regex that gives up once is not run again (rules.h). */
static bool regex_matches(RuleCondition *c, const char *have) {
        if (c->exhausted)
                return false;
        RuleRegexResult r = rule_regex_match(c->regex, have);
        c->exhausted = r == RULE_REGEX_LIMIT;
        return r == RULE_REGEX_MATCH;
}

static bool text_matches(RuleCondition *c, const char *have) {
        size_t hn = strlen(have), wn = strlen(c->value);

        switch (c->op) {
        case RULE_OP_EQ: return c->glob ? g_pattern_match_simple(c->value, have) : strcmp(have, c->value) == 0;
        case RULE_OP_NE: return !(c->glob ? g_pattern_match_simple(c->value, have) : strcmp(have, c->value) == 0);
        case RULE_OP_LT: return strcmp(have, c->value) < 0;
        case RULE_OP_LE: return strcmp(have, c->value) <= 0;
        case RULE_OP_GT: return strcmp(have, c->value) > 0;
        case RULE_OP_GE: return strcmp(have, c->value) >= 0;
        case RULE_OP_PREFIX: return strncmp(have, c->value, wn) == 0;
        case RULE_OP_SUFFIX: return hn >= wn && strcmp(have + hn - wn, c->value) == 0;
        case RULE_OP_CONTAINS: return strstr(have, c->value) != NULL;
        case RULE_OP_ICONTAINS: {
                g_autofree char *folded = g_utf8_casefold(have, -1);
                return strstr(folded, c->folded) != NULL;
        }
        case RULE_OP_REGEX: return regex_matches(c, have);
        default: return false;
        }
}

/* An address field: ordered comparisons and sets by address, the rest as
 * text. A device with no such address (not a VF) matches only ne and
 * negations. */
static bool address_matches(RuleCondition *c, const char *address) {
        DpAddress a;

        if ((c->op >= RULE_OP_LT && c->op <= RULE_OP_GE) || c->op == RULE_OP_IN) {
                if (!address_parse(address, &a))
                        return false;
                uint64_t key = address_to_key(&a);
                if (c->op == RULE_OP_IN)
                        return bsearch(&key, c->set, c->n_set, sizeof(key), key_compare) != NULL;
                return compare(c->op, (int64_t) key, c->number);
        }
        return text_matches(c, address);
}

bool rule_condition_matches(RuleCondition *c, const Device *d) {
        switch (c->field) {
        case RULE_FIELD_ADDRESS:           return address_matches(c, d->address_str);
        case RULE_FIELD_PHYSICAL_FUNCTION: {
                char pf[DP_ADDRESS_MAX] = "";
                DpAddress a;
                if (address_from_path(d->physfn_path, &a))
                        address_format(&a, pf);
                return address_matches(c, pf);
        }
        case RULE_FIELD_VENDOR:            return compare(c->op, d->vendor_id, c->number);
        case RULE_FIELD_DEVICE:            return compare(c->op, d->device_id, c->number);
        case RULE_FIELD_SUBSYSTEM_VENDOR:  return compare(c->op, d->subsystem_vendor_id, c->number);
        case RULE_FIELD_SUBSYSTEM_DEVICE:  return compare(c->op, d->subsystem_device_id, c->number);
        case RULE_FIELD_CLASS:             return compare(c->op, d->class_code & c->mask, c->number);
        case RULE_FIELD_NUMA_NODE:         return compare(c->op, d->numa_node, c->number);
        case RULE_FIELD_IOMMU_GROUP:       return compare(c->op, d->iommu_group, c->number);
        case RULE_FIELD_DRIVER:            return text_matches(c, d->driver ?: "");
        case RULE_FIELD_VENDOR_NAME:       return text_matches(c, d->vendor_name ?: "");
        case RULE_FIELD_DEVICE_NAME:       return text_matches(c, d->device_name ?: "");
        default:                           return false;
        }
}

bool rule_conditions_match(GPtrArray *conditions, const Device *d) {
        if (!conditions || conditions->len == 0)
                return false;
        for (guint i = 0; i < conditions->len; i++)
                if (!rule_condition_matches(conditions->pdata[i], d))
                        return false;
        return true;
}

bool rule_conditions_take_exhausted(GPtrArray *conditions) {
        bool news = false;

        for (guint i = 0; conditions && i < conditions->len; i++) {
                RuleCondition *c = conditions->pdata[i];
                if (c->exhausted && !c->reported) {
                        c->reported = true;
                        news = true;
                }
        }
        return news;
}
