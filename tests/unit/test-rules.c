/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rule conditions: every field and operator, and every kind of bad input. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "inventory.h"
#include "model.h"
#include "names.h"
#include "rules.h"
#include "store.h"

static Device *gpu(void) {
        DpAddress a;
        assert_true(address_parse("0000:17:00.0", &a));
        Device *d = device_new(&a);
        d->vendor_id = 0x10de;
        d->device_id = 0x2230;
        d->subsystem_vendor_id = 0x10de;
        d->subsystem_device_id = 0x1459;
        d->class_code = 0x030000;
        d->vendor_name = g_strdup("NVIDIA Corporation");
        d->device_name = g_strdup("GA102GL [RTX A6000]");
        d->driver = g_strdup("nvidia");
        d->numa_node = 0;
        d->iommu_group = 8;
        return d;
}

static Device *vf(void) {
        DpAddress a;
        assert_true(address_parse("0000:3b:02.1", &a));
        Device *d = device_new(&a);
        d->vendor_id = 0x8086;
        d->device_id = 0x154c;
        d->class_code = 0x020000;
        d->vendor_name = g_strdup("Intel Corporation");
        d->device_name = g_strdup("Ethernet Virtual Function 700 Series");
        d->driver = g_strdup("iavf");
        d->numa_node = 1;
        d->iommu_group = 13;
        g_free(d->physfn_path);
        d->physfn_path = g_strdup("/org/devpass1/devices/0000_3b_00_0");
        return d;
}

static Device *named(const char *device_name) {
        DpAddress a;
        assert_true(address_parse("0000:65:00.0", &a));
        Device *d = device_new(&a);
        d->vendor_name = g_strdup("");
        d->device_name = g_strdup(device_name);
        d->driver = g_strdup("");
        return d;
}

static bool match(const char *field, const char *op, const char *value, const Device *d) {
        g_autoptr(GError) error = NULL;
        g_autoptr(RuleCondition) c = rule_condition_new(field, op, value, &error);
        if (!c)
                fail_msg("%s %s '%s' refused: %s", field, op, value, error->message);
        return rule_condition_matches(c, d);
}

static void test_numeric_fields(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();

        assert_true(match("vendor", "eq", "10de", g));
        assert_true(match("vendor", "eq", "0x10DE", g));
        assert_false(match("vendor", "eq", "8086", g));
        assert_true(match("vendor", "ne", "8086", g));
        assert_true(match("device", "lt", "0x2231", g));
        assert_false(match("device", "lt", "0x2230", g));
        assert_true(match("device", "le", "0x2230", g));
        assert_true(match("device", "gt", "0x222f", g));
        assert_true(match("device", "ge", "0x2230", g));
        assert_false(match("device", "gt", "0x2230", g));
        assert_true(match("subsystem-vendor", "eq", "10de", g));
        assert_true(match("subsystem-device", "eq", "1459", g));
        assert_true(match("numa-node", "eq", "1", v));
        assert_true(match("numa-node", "lt", "1", g));
        assert_true(match("iommu-group", "ge", "8", g));
        assert_true(match("iommu-group", "ne", "-1", g));
}

static void test_class_mask(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();

        assert_true(match("class", "eq", "0x030000", g));
        /* any display controller: 03xxxx */
        assert_true(match("class", "eq", "0x030200/0xff0000", g));
        assert_false(match("class", "eq", "0x030000/0xff0000", v));
        assert_true(match("class", "ne", "0x030000/0xff0000", v));
        assert_true(match("class", "eq", "020000/ff0000", v));
        /* Two digits are a class, four a class and subclass. */
        assert_true(match("class", "eq", "03", g));
        assert_true(match("class", "eq", "0x02", v));
        assert_false(match("class", "eq", "0x02", g));
        assert_true(match("class", "eq", "0300", g));
        assert_false(match("class", "eq", "0302", g));
        assert_true(match("class", "ne", "0200", g));
}

static void test_text_fields(void **state) {
        g_autoptr(Device) g = gpu();

        assert_true(match("driver", "eq", "nvidia", g));
        assert_false(match("driver", "eq", "nvidi", g));
        assert_true(match("driver", "ne", "vfio-pci", g));
        assert_true(match("driver", "lt", "o", g));
        assert_true(match("driver", "le", "nvidia", g));
        assert_true(match("driver", "gt", "a", g));
        assert_true(match("driver", "ge", "nvidia", g));
        assert_true(match("vendor-name", "prefix", "NVIDIA", g));
        assert_false(match("vendor-name", "prefix", "nvidia", g));
        assert_true(match("vendor-name", "suffix", "Corporation", g));
        assert_true(match("device-name", "contains", "A6000", g));
        assert_false(match("device-name", "contains", "a6000", g));
        assert_true(match("device-name", "icontains", "rtx a6000", g));
        assert_true(match("device-name", "regex", "^GA10[0-9]GL", g));
        assert_false(match("device-name", "regex", "^TU", g));
        /* a format string is just text */
        assert_false(match("device-name", "contains", "%n%s", g));
}

static void test_address_fields(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();

        assert_true(match("address", "eq", "0000:17:00.0", g));
        assert_true(match("address", "eq", "0000:17:00.*", g));
        assert_false(match("address", "eq", "0000:17:00.*", v));
        assert_true(match("address", "eq", "0000:3b:0?.*", v));
        assert_true(match("address", "ne", "0000:17:*", v));
        assert_true(match("address", "ge", "0000:3b:02.0", v));
        assert_true(match("address", "lt", "0000:3b:02.0", g));
        assert_true(match("address", "le", "3b:02.1", v));
        assert_true(match("address", "prefix", "0000:3b:", v));
        assert_true(match("address", "regex", "^0000:3b:02\\.[0-3]$", v));

        /* Short addresses as lspci prints them without -D, upper-case
         * digits and long domains name the same functions. */
        assert_true(match("address", "eq", "17:00.0", g));
        assert_false(match("address", "eq", "17:00.0", v));
        assert_false(match("address", "ne", "17:00.0", g));
        assert_true(match("address", "eq", "3B:02.1", v));
        assert_true(match("address", "eq", "00000000:3b:02.1", v));
        assert_true(match("address", "eq", "17:00.*", g));
        assert_false(match("address", "eq", "17:00.*", v));
        assert_true(match("address", "eq", "3B:0?.*", v));
        assert_true(match("address", "ne", "17:*", v));
        assert_false(match("address", "ne", "17:*", g));
        assert_true(match("address", "prefix", "3b:02", v));
        assert_false(match("address", "prefix", "3b:02", g));
        assert_true(match("address", "suffix", "3B:02.1", v));
        assert_true(match("address", "contains", "3B:02", v));
        /* What could start with a domain stays as written. */
        assert_true(match("address", "eq", "*:00.0", g));
        assert_true(match("address", "eq", "0000:*", v));
        assert_true(match("address", "prefix", "00", v));
        assert_false(match("address", "eq", "10000:17:00.0", g));
        assert_true(match("physical-function", "eq", "3b:00.0", v));
        assert_true(match("physical-function", "ne", "3b:00.0", g));
        assert_true(match("physical-function", "prefix", "3b:", v));

        assert_true(match("physical-function", "eq", "0000:3b:00.0", v));
        assert_true(match("physical-function", "eq", "0000:3b:00.*", v));
        assert_false(match("physical-function", "eq", "0000:3b:00.0", g));
        assert_true(match("physical-function", "eq", "", g));     /* not a VF */
        assert_false(match("physical-function", "eq", "", v));
        assert_true(match("physical-function", "ge", "0000:3b:00.0", v));
        assert_false(match("physical-function", "ge", "0000:00:00.0", g));
}

static void test_conjunction(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();
        g_autoptr(GPtrArray) conds = g_ptr_array_new_with_free_func((GDestroyNotify) rule_condition_free);

        assert_false(rule_conditions_match(conds, g));   /* an empty rule matches nothing */
        g_ptr_array_add(conds, rule_condition_new("vendor", "eq", "8086", NULL));
        g_ptr_array_add(conds, rule_condition_new("physical-function", "eq", "0000:3b:00.0", NULL));
        assert_true(rule_conditions_match(conds, v));
        assert_false(rule_conditions_match(conds, g));
        g_ptr_array_add(conds, rule_condition_new("numa-node", "eq", "0", NULL));
        assert_false(rule_conditions_match(conds, v));
}

static void refused(const char *field, const char *op, const char *value, RuleError code, const char *in_message) {
        g_autoptr(GError) error = NULL;
        g_autoptr(RuleCondition) c = rule_condition_new(field, op, value, &error);

        if (c)
                fail_msg("%s %s '%s' accepted", field, op, value ?: "(null)");
        assert_true(g_error_matches(error, RULE_ERROR, code));
        if (!strstr(error->message, in_message))
                fail_msg("'%s' does not mention '%s'", error->message, in_message);
}

/* A set of addresses (in): exactly those functions, however spelled;
 * stored in one spelling; bounded by RULE_SET_MAX, not RULE_VALUE_MAX. */
static void test_address_sets(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();
        g_autoptr(GError) error = NULL;

        assert_true(match("address", "in", "0000:3b:02.1", v));
        assert_true(match("address", "in", "0000:17:00.0,0000:3b:02.1", v));
        assert_true(match("address", "in", "0000:17:00.0,0000:3b:02.1", g));
        assert_true(match("address", "in", " 3B:02.1, 3b:02.1 ,17:00.1 ", v));
        assert_false(match("address", "in", "0000:3b:02.0,0000:3b:02.2,0000:17:00.1", v));
        assert_false(match("address", "in", "0000:3b:02.0,0000:3b:02.2,0000:17:00.1", g));
        assert_true(match("physical-function", "in", "0000:3b:00.0,0000:5e:00.0", v));
        assert_false(match("physical-function", "in", "0000:3b:00.0", g));   /* not a VF */

        g_autoptr(RuleCondition) c = rule_condition_new("address", "in", "3b:02.1 0000:17:00.0,3b:02.1,00:00.0", NULL);
        assert_non_null(c);
        assert_string_equal(c->value, "0000:00:00.0,0000:17:00.0,0000:3b:02.1");
        assert_int_equal(c->n_set, 3);

        uint64_t keys[3];
        DpAddress a;
        assert_true(address_parse("0000:3b:02.1", &a));
        keys[0] = keys[2] = address_to_key(&a);
        assert_true(address_parse("0001:00:00.7", &a));
        keys[1] = address_to_key(&a);
        g_autofree char *formatted = rule_set_format(keys, 3);
        assert_string_equal(formatted, "0000:3b:02.1,0001:00:00.7");

        refused("address", "in", ",, ,", RULE_ERROR_VALUE, "The set for address in names no address");
        refused("address", "in", "0000:3b:02.1,0000:3b:02.*", RULE_ERROR_VALUE,
                "'0000:3b:02.*' in the set for address in is not a PCI address");
        refused("physical-function", "in", "0000:3b:02.1;0000:3b:02.2", RULE_ERROR_VALUE,
                "'0000:3b:02.1;0000:3b:02.2' in the set for physical-function in is not a PCI address");
        refused("address", "in", "", RULE_ERROR_VALUE, "empty");
        refused("vendor", "in", "10de", RULE_ERROR_OPERATOR, "eq, ne, lt, le, gt, ge");
        refused("device-name", "in", "x", RULE_ERROR_OPERATOR, "regex");

        /* As long as RULE_SET_MAX allows, and no longer. */
        GString *set = g_string_new(NULL);
        for (unsigned i = 0; set->len + 13 <= RULE_SET_MAX; i++)
                g_string_append_printf(set, "%s0000:%02x:%02x.%u", set->len ? "," : "", i >> 8, (i >> 3) & 0x1f, i & 7);
        g_autoptr(RuleCondition) big = rule_condition_new("address", "in", set->str, &error);
        assert_null(error);
        assert_int_equal(big->n_set, (RULE_SET_MAX + 1) / 13);
        g_string_append(set, ",0000:ff:1f.7");
        refused("address", "in", set->str, RULE_ERROR_VALUE, "longer than 16384 bytes, the limit");
        g_string_free(set, TRUE);

        /* Make Passthrough's split of 4,000 addresses: as few values as
         * the bound allows, each within it, all of them once. */
        uint64_t many[4000];
        for (unsigned i = 0; i < G_N_ELEMENTS(many); i++) {
                DpAddress x = { .domain = i >> 8, .bus = 0x3b, .slot = (i >> 3) & 0x1f, .function = i & 7 };
                many[i] = address_to_key(&x);
        }
        assert_int_equal(rule_keys_sort_unique(many, G_N_ELEMENTS(many)), G_N_ELEMENTS(many));
        size_t parts = 0, total = 0;
        for (size_t from = 0, n; from < G_N_ELEMENTS(many); from += n, parts++) {
                n = rule_set_fit(many + from, G_N_ELEMENTS(many) - from);
                g_autofree char *value = rule_set_format(many + from, n);
                assert_true(strlen(value) <= RULE_SET_MAX);
                g_autoptr(RuleCondition) part = rule_condition_new("address", "in", value, NULL);
                assert_non_null(part);
                assert_int_equal(part->n_set, n);
                total += n;
        }
        assert_int_equal(total, G_N_ELEMENTS(many));
        assert_int_equal(parts, 4);   /* 1,260 each, as "0000:3b:02.0," spells them */
}

static void test_bad_input(void **state) {
        refused("colour", "eq", "red", RULE_ERROR_FIELD, "numa-node");
        refused(NULL, "eq", "x", RULE_ERROR_FIELD, "address");
        refused("vendor", "like", "10de", RULE_ERROR_OPERATOR, "eq, ne, lt, le, gt, ge");
        refused("vendor", "contains", "10", RULE_ERROR_OPERATOR, "vendor");
        refused("class", "lt", "0x030000", RULE_ERROR_OPERATOR, "eq, ne");
        refused("vendor", "eq", "nvidia", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", "0x10000", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", "", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", "10de ", RULE_ERROR_VALUE, "hex id");
        refused("class", "eq", "0x030000/xyz", RULE_ERROR_VALUE, "mask");
        refused("numa-node", "eq", "-2", RULE_ERROR_VALUE, "whole number");
        refused("numa-node", "eq", "1.5", RULE_ERROR_VALUE, "whole number");
        refused("address", "eq", "0000:17:00", RULE_ERROR_VALUE, "PCI address");
        refused("address", "lt", "0000:17:*", RULE_ERROR_VALUE, "PCI address");
        refused("address", "eq", "17:00.0 ", RULE_ERROR_VALUE, "PCI address");
        refused("address", "eq", "17:0.0", RULE_ERROR_VALUE, "PCI address");
        refused("address", "ne", "17:20.0", RULE_ERROR_VALUE, "PCI address");
        refused("device-name", "regex", "([unclosed", RULE_ERROR_VALUE, "regex");
        refused("driver", "eq", NULL, RULE_ERROR_VALUE, "text");
        refused("driver", "eq", "\xff\xfe", RULE_ERROR_VALUE, "text");
}

/* ('class', 'ne', '') killed devpassd while parsing (issue 8). An empty
 * value is refused with what to give, except where eq and ne mean "has
 * none". */
static void test_empty_values(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();

        refused("class", "ne", "", RULE_ERROR_VALUE, "The value for class ne is empty: use a hex class");
        refused("class", "eq", "", RULE_ERROR_VALUE, "empty");
        refused("class", "eq", "/", RULE_ERROR_VALUE, "'/' is not a valid value for class");
        refused("class", "eq", "0x/0x", RULE_ERROR_VALUE, "for class");
        refused("class", "eq", "03/", RULE_ERROR_VALUE, "for class");
        refused("numa-node", "eq", "", RULE_ERROR_VALUE, "whole number");
        refused("address", "eq", "", RULE_ERROR_VALUE, "PCI address");
        refused("address", "prefix", "", RULE_ERROR_VALUE, "empty");
        refused("device-name", "regex", "", RULE_ERROR_VALUE, "empty");
        refused("driver", "contains", "", RULE_ERROR_VALUE, "only eq and ne take \"\", for none");
        refused("vendor-name", "lt", "", RULE_ERROR_VALUE, "empty");
        refused("physical-function", "prefix", "", RULE_ERROR_VALUE, "empty");
        /* "has none" */
        g_free(g->driver);
        g->driver = g_strdup("");
        assert_true(match("driver", "eq", "", g));
        assert_false(match("driver", "eq", "", v));
        assert_true(match("driver", "ne", "", v));
        assert_true(match("physical-function", "ne", "", v));
        assert_false(match("device-name", "eq", "", v));
}

/* Stricter numbers: what strtoul and strtoll would also take is refused. */
static void test_numbers_whole(void **state) {
        refused("vendor", "eq", "0x0x10de", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", " 10de", RULE_ERROR_VALUE, "hex id");
        refused("vendor", "eq", "-1", RULE_ERROR_VALUE, "hex id");
        refused("class", "eq", "+030000", RULE_ERROR_VALUE, "hex class");
        refused("numa-node", "eq", " 1", RULE_ERROR_VALUE, "whole number");
        refused("numa-node", "eq", "+1", RULE_ERROR_VALUE, "whole number");
        refused("iommu-group", "eq", "99999999999999999999", RULE_ERROR_VALUE, "whole number");
}

/* Every field and operator with every kind of hostile value: a condition
 * or a named error, never a crash (the sanitized run checks the reads);
 * a condition matches either device; a message is short UTF-8. */
static void test_hostile_values(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) v = vf();
        g_autofree char *huge = g_strnfill(1 << 20, 'a');
        g_autofree char *at_limit = g_strnfill(RULE_VALUE_MAX, '*');
        const char *values[] = { "", " ", "*", "?", "/", "0x", "-", "-1", ":", ".", "\\", "(", "[", "{1}",
                                 "\xff", "\xc3", "a\tb", "\x1b[31m", "\x7f", "%n%s", "\xe2\x9c\x93",
                                 "0000:3b:02.*", "3b:", "ffffffff:ff:1f.7", "10000:00:00.0", at_limit, huge };

        for (RuleField f = 0; f < _RULE_FIELD_MAX; f++)
                for (RuleOp o = 0; o < _RULE_OP_MAX; o++)
                        for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
                                g_autoptr(GError) error = NULL;
                                g_autoptr(RuleCondition) c = rule_condition_new(rule_field_to_string(f),
                                                                                rule_op_to_string(o), values[i], &error);
                                if (c) {
                                        (void) rule_condition_matches(c, g);
                                        (void) rule_condition_matches(c, v);
                                        continue;
                                }
                                assert_true(error->domain == RULE_ERROR);
                                assert_true(g_utf8_validate(error->message, -1, NULL));
                                assert_true(strlen(error->message) < 400);
                        }
}

static void test_limits(void **state) {
        g_autofree char *ok = g_strnfill(RULE_VALUE_MAX, 'a'), *over = g_strnfill(RULE_VALUE_MAX + 1, 'a');
        g_autofree char *re_ok = g_strnfill(RULE_REGEX_MAX, 'a'), *re_over = g_strnfill(RULE_REGEX_MAX + 1, 'a');
        g_autoptr(GError) error = NULL;

        g_autoptr(RuleCondition) c = rule_condition_new("device-name", "contains", ok, NULL);
        assert_non_null(c);
        g_autoptr(RuleCondition) re = rule_condition_new("device-name", "regex", re_ok, NULL);
        assert_non_null(re);
        refused("device-name", "contains", over, RULE_ERROR_VALUE, "longer than 256 bytes, the limit");
        refused("driver", "eq", over, RULE_ERROR_VALUE, "The value for driver eq is longer than 256 bytes");
        refused("device-name", "regex", re_over, RULE_ERROR_VALUE, "longer than 1024 bytes");
        refused("device-name", "regex", "a\nb", RULE_ERROR_VALUE, "a regex spells them \\t");
        refused("vendor-name", "eq", "\x01", RULE_ERROR_VALUE, "control character (byte 0)");

        assert_true(rule_conditions_count_check(RULE_CONDITIONS_MAX, NULL));
        assert_false(rule_conditions_count_check(RULE_CONDITIONS_MAX + 1, &error));
        assert_true(g_error_matches(error, RULE_ERROR, RULE_ERROR_COUNT));
        assert_non_null(strstr(error->message, "33 conditions, more than the limit of 32"));
}

static GPtrArray *stored(unsigned n, const char *field, const char *op, const char *value) {
        GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify) store_condition_free);
        for (unsigned i = 0; i < n; i++)
                g_ptr_array_add(a, store_condition_new("vendor", "eq", "8086"));
        g_ptr_array_add(a, store_condition_new(field, op, value));
        return a;
}

/* Bounds before anything is compiled, on the path callers and the store
 * share: the count before the values, every value's bounds before the
 * first regex is compiled. */
static void test_compile_bounds(void **state) {
        g_autofree char *over = g_strnfill(RULE_VALUE_MAX + 1, 'a');
        g_autoptr(GPtrArray) many = stored(RULE_CONDITIONS_MAX, "device-name", "regex", "(");
        g_autoptr(GPtrArray) late = stored(0, "device-name", "regex", "(");
        g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;

        assert_null(model_conditions_compile(many, &e1));
        assert_true(g_error_matches(e1, RULE_ERROR, RULE_ERROR_COUNT));
        g_ptr_array_insert(late, 0, store_condition_new("vendor", "eq", "8086"));
        g_ptr_array_add(late, store_condition_new("driver", "eq", over));
        assert_null(model_conditions_compile(late, &e2));
        assert_non_null(strstr(e2->message, "longer than 256"));
        /* A stored condition with an empty value (another version, a hand
         * edit) is an error to the loader, not a crash. */
        g_autoptr(GPtrArray) empty = stored(1, "class", "ne", "");
        assert_null(model_conditions_compile(empty, &e3));
        assert_non_null(strstr(e3->message, "empty"));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/* The same at start: a store holding a rule with ('class', 'ne', '') (a
 * hand edit) is refused, not a crash. */
static void test_stored_empty_value(void **state) {
        g_autofree char *dir = g_dir_make_tmp("devpass-rules-XXXXXX", NULL);
        g_autofree char *state_dir = g_build_filename(dir, "state", NULL);
        g_autoptr(GError) error = NULL;

        assert_non_null(dir);
        Store *store = store_open(state_dir, &error);
        assert_non_null(store);
        StoreGroup g = { .name = "GPUs", .type = "pci", .description = "", .class_name = "gpu", .tenant = "" };
        g_autoptr(StoreRule) r = store_rule_new();
        r->name = g_strdup("damaged");
        r->node = g_strdup("");
        r->enabled = true;
        g_ptr_array_add(r->conditions, store_condition_new("class", "ne", ""));
        assert_true(store_begin(store, &error));
        assert_true(store_group_insert(store, &g, &error));
        r->group_id = g.id;
        assert_true(store_rule_insert(store, r, &error));
        assert_true(store_commit(store, &error));
        store_close(store);

        /* Refused at start, naming the row and what is wrong, no crash. */
        Store *again = store_open_checked(state_dir, model_store_check, &error);
        assert_null(again);
        assert_non_null(strstr(error->message, "table conditions"));
        assert_non_null(strstr(error->message, "empty"));
        assert_int_equal(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Regexes that backtrack catastrophically are refused when written ... */
static void test_regex_nested(void **state) {
        const char *nested[] = { "(?:(?:.*)*)*[xyz]{5}", "(a+)+b", "(a*)*", "((ab)*c)+", "(x?){30}",
                                 "(?:a|b+)*", "(?:[a-z]+\\.){2,}", "((a)+)?x*(b+){3}", "(?<n>a+)+" };
        const char *fine[] = { "(ab)+", "(a+)?", "^GA10[0-9]GL", "[a-z]+(eth|ens)?", "\\(a+\\)*", "[(a+)]*",
                               "a{2}b{1,3}", "(?:ab){2}", "(a+){1}", "x{,3}", "\\Q(a+)*\\E", "(?#a+*)b",
                               "\\x{41}+", "[[:alpha:]]+" };

        for (size_t i = 0; i < G_N_ELEMENTS(nested); i++)
                refused("device-name", "regex", nested[i], RULE_ERROR_VALUE, "repeats a group that holds a quantifier");
        for (size_t i = 0; i < G_N_ELEMENTS(fine); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(RuleCondition) c = rule_condition_new("device-name", "regex", fine[i], &error);
                if (!c)
                        fail_msg("'%s' refused: %s", fine[i], error->message);
        }
}

/* ... and those that pass that check and still explode give up at the
 * match limit: no match, and the condition matches nothing from then on,
 * told once. Asserted by result, not by time: without the limits each of
 * these runs for minutes. */
static void test_regex_limits(void **state) {
        g_autofree char *as = g_strnfill(40, 'a');
        g_autoptr(Device) long_name = named(as);
        g_autoptr(Device) hit = named("aaaaac");
        const char *costly[] = { ".*.*.*.*.*.*.*.*.*[xyz]{5}", "(a|a)*(a|a)*(a|a)*[bc]", "(a|aa)*[bc]", "(.*)(.*)(.*)(.*)\\4\\3\\2\\1[xyz]" };

        for (size_t i = 0; i < G_N_ELEMENTS(costly); i++) {
                g_autoptr(GPtrArray) conds = g_ptr_array_new_with_free_func((GDestroyNotify) rule_condition_free);
                g_autoptr(GError) error = NULL;
                RuleCondition *c = rule_condition_new("device-name", "regex", costly[i], &error);
                if (!c)
                        fail_msg("'%s' refused: %s", costly[i], error->message);
                g_ptr_array_add(conds, c);
                assert_false(rule_conditions_take_exhausted(conds));
                assert_false(rule_conditions_match(conds, long_name));
                if (!c->exhausted)
                        fail_msg("%s did not give up", costly[i]);
                assert_true(rule_conditions_take_exhausted(conds));
                assert_false(rule_conditions_take_exhausted(conds));   /* once */
                /* exhausted: matches nothing, not even what it would */
                assert_false(rule_conditions_match(conds, hit));
        }
}

/* Ordinary regexes match as before (they used GRegex): UTF-8, classes,
 * anchors, options, alternation. */
static void test_regex_semantics(void **state) {
        g_autoptr(Device) g = gpu();
        g_autoptr(Device) u = named("Ger\xc3\xa4t \xe2\x9c\x93 [x]");

        assert_true(match("device-name", "regex", "^GA10[0-9]GL \\[RTX A\\d+\\]$", g));
        assert_true(match("device-name", "regex", "(?i)rtx a6000", g));
        assert_false(match("device-name", "regex", "rtx a6000", g));
        assert_true(match("vendor-name", "regex", "^(NVIDIA|AMD) Corp", g));
        assert_true(match("driver", "regex", "^nv(idia)?$", g));
        assert_true(match("device-name", "regex", "^Ger.t", u));         /* . is one character, not a byte */
        assert_true(match("device-name", "regex", "\xe2\x9c\x93 \\[", u));
        assert_true(match("device-name", "regex", "^\\w+", u));
        assert_true(match("address", "regex", "^0000:17:00\\.[0-7]$", g));
        assert_false(match("address", "regex", "^17:", g));
        refused("device-name", "regex", "[z-a]", RULE_ERROR_VALUE, "not a valid regex for device-name");
        refused("device-name", "regex", "\\C", RULE_ERROR_VALUE, "not a valid regex");
}

static void test_names(void **state) {
        for (RuleField f = 0; f < _RULE_FIELD_MAX; f++)
                assert_non_null(rule_field_to_string(f));
        for (RuleOp o = 0; o < _RULE_OP_MAX; o++)
                assert_non_null(rule_op_to_string(o));
        assert_string_equal(rule_field_to_string(RULE_FIELD_SUBSYSTEM_VENDOR), "subsystem-vendor");
        assert_string_equal(rule_op_to_string(RULE_OP_ICONTAINS), "icontains");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numeric_fields),
                cmocka_unit_test(test_class_mask),
                cmocka_unit_test(test_text_fields),
                cmocka_unit_test(test_address_fields),
                cmocka_unit_test(test_address_sets),
                cmocka_unit_test(test_conjunction),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_empty_values),
                cmocka_unit_test(test_numbers_whole),
                cmocka_unit_test(test_hostile_values),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_compile_bounds),
                cmocka_unit_test(test_stored_empty_value),
                cmocka_unit_test(test_regex_nested),
                cmocka_unit_test(test_regex_limits),
                cmocka_unit_test(test_regex_semantics),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
