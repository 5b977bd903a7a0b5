/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What devpassd keeps is bounded (model-private.h): rules, attachments
 * and the bytes of all rules' conditions, each refused past its limit
 * with LimitsExceeded naming it, by every call that would add (CreateRule,
 * Rule.Update, MakePassthrough, CreateAttachment). A store that an
 * earlier version filled further, within what that version kept, loads
 * and works as it is: only growth is refused. The store is filled
 * directly while devpassd is stopped. Real polkitd, a fake kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"
#include "model-private.h"
#include "store.h"

#define MANAGER "org.devpass1.Manager"
#define RULE_IF "org.devpass1.Rule"
#define GROUP_IF "org.devpass1.Group"
#define LIMITS "org.freedesktop.DBus.Error.LimitsExceeded"

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *group;
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(NULL, &f->fk);
        f->group = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateGroup",
                                 calls_parse("(a{sv})", "({'Name': <'Full'>},)"));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        calls_stop(f->h, f->fk);
        g_free(f->group);
        g_free(f);
        return 0;
}

static int64_t group_id(Fixture *f) {
        return g_ascii_strtoll(strrchr(f->group, '/') + 1, NULL, 10);
}

/* With devpassd stopped: n rules of the group, each with conditions of
 * field, op and value (NULL: one matching nothing on this node); n
 * attachments drawing from it. Then devpassd starts on it. */
static void store_fill(Fixture *f, guint rules, guint conditions, const char *field, const char *op,
                       const char *value, guint attachments) {
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = harness_state_dir(f->h);

        harness_daemon_stop(f->h);
        {
                g_autoptr(Store) s = store_open(dir, &error);
                g_assert_no_error(error);
                g_assert_true(store_begin(s, &error));
                for (guint i = 0; i < rules; i++) {
                        g_autoptr(StoreRule) r = store_rule_new();
                        r->name = g_strdup_printf("rule %05u", i);
                        r->node = g_strdup("");
                        r->enabled = true;
                        r->group_id = group_id(f);
                        for (guint k = 0; k < conditions; k++)
                                g_ptr_array_add(r->conditions, field ? store_condition_new(field, op, value)
                                                                     : store_condition_new("vendor", "eq", "abcd"));
                        g_assert_true(store_rule_insert(s, r, &error));
                }
                for (guint i = 0; i < attachments; i++) {
                        g_autofree char *machine = g_strdup_printf("vm%05u", i);
                        StoreAttachment a = { .machine = machine, .name = "PCI 1", .type = "pci", .description = "",
                                              .tenant = "", .group_id = group_id(f), .count = 1, .generation = 1 };
                        g_assert_true(store_attachment_insert(s, &a, &error));
                }
                g_assert_true(store_commit(s, &error));
        }
        harness_daemon_start(f->h, NULL);
}

static GVariant *create_rule_args(Fixture *f, const char *conditions) {
        g_autofree char *text = g_strdup_printf("{'Conditions': <%s>}", conditions);
        return g_variant_new("(o@a{sv})", f->group, calls_parse("a{sv}", text));
}

static guint group_rules(Fixture *f) {
        g_autoptr(GVariant) rules = calls_prop(f->h, f->group, GROUP_IF, "Rules");
        return (guint) g_variant_n_children(rules);
}

static char *group_rule(Fixture *f, guint i) {
        g_autoptr(GVariant) rules = calls_prop(f->h, f->group, GROUP_IF, "Rules");
        char *path;
        g_variant_get_child(rules, i, "o", &path);
        return path;
}

/* A store with a rule more than devpassd keeps now (an earlier version
 * kept 16,384) loads whole; no rule is added until there is room, by
 * CreateRule or MakePassthrough; an existing one can still change. */
static void test_rules_bounded(void **state) {
        Fixture *f = *state;
        const char *one = "[('vendor', 'eq', '10de')]";
        const char *gpu[] = { "0000:17:00.0", "0000:17:00.1", NULL };
        g_autofree char *at_most = g_strdup_printf("at most %u rules", MODEL_MAX_RULES);

        store_fill(f, MODEL_MAX_RULES + 1, 1, NULL, NULL, NULL, 0);
        assert_int_equal(group_rules(f), MODEL_MAX_RULES + 1);
        calls_refused(f->h, "CreateRule past the limit", "/org/devpass1", MANAGER, "CreateRule",
                      create_rule_args(f, one), LIMITS, at_most);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) made = calls_make_passthrough_new(f->h, gpu, "GPUs", "pci", "gpu", false, &error);
        assert_null(made);
        calls_assert_remote_error(error, LIMITS, at_most, NULL);

        g_autofree char *first = group_rule(f, 0);
        g_autoptr(GVariant) updated = calls_ok(f->h, first, RULE_IF, "Update",
                                               calls_parse("(a{sv})", "({'Name': <'renamed'>, 'Conditions': "
                                                           "<[('vendor', 'eq', 'abce')]>},)"));
        for (guint i = 0; i < 2; i++) {
                g_autofree char *rule = group_rule(f, 0);
                g_autoptr(GVariant) gone = calls_ok(f->h, rule, RULE_IF, "Delete", NULL);
        }
        /* MODEL_MAX_RULES - 1: one more, and no more. */
        g_autofree char *last = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateRule", create_rule_args(f, one));
        calls_refused(f->h, "CreateRule at the limit", "/org/devpass1", MANAGER, "CreateRule",
                      create_rule_args(f, one), LIMITS, at_most);
}

/* Make Passthrough writes a rule per call and pair of vendor and device
 * ids: the GPU and its audio function (two pairs, two rules) are refused
 * with room for one rule, and pass with room for two. */
static void test_passthrough_counts_rules(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { "0000:17:00.0", "0000:17:00.1", NULL };
        g_autofree char *at_most = g_strdup_printf("at most %u rules", MODEL_MAX_RULES);
        g_autoptr(GError) error = NULL;

        store_fill(f, MODEL_MAX_RULES - 1, 1, NULL, NULL, NULL, 0);
        g_autoptr(GVariant) made = calls_make_passthrough_new(f->h, gpu, "GPUs", "pci", "gpu", false, &error);
        assert_null(made);
        calls_assert_remote_error(error, LIMITS, at_most, "and has 4095", NULL);
        g_autofree char *rule = group_rule(f, 0);
        g_autoptr(GVariant) gone = calls_ok(f->h, rule, RULE_IF, "Delete", NULL);
        g_autofree char *group = calls_passthrough_group(f->h, gpu, "GPUs", "pci", "gpu");
        g_autoptr(GVariant) rules = calls_prop(f->h, group, GROUP_IF, "Rules");
        assert_int_equal(g_variant_n_children(rules), 2);
}

/* The conditions of all rules together: a store filled close to the
 * limit takes a small rule more, not a large one; a rule may shrink but
 * not grow. */
static void test_conditions_bounded(void **state) {
        Fixture *f = *state;
        g_autofree char *value = g_strnfill(256, 'x');
        g_autoptr(GPtrArray) one = g_ptr_array_new_with_free_func((GDestroyNotify) store_condition_free);
        g_ptr_array_add(one, store_condition_new("device-name", "contains", value));
        const guint rules = MODEL_MAX_CONDITION_BYTES / (32 * model_conditions_bytes(one));
        GString *big = g_string_new("[");

        store_fill(f, rules, 32, "device-name", "contains", value, 0);
        for (guint k = 0; k < 32; k++)
                g_string_append_printf(big, "%s('device-name', 'contains', '%s')", k ? ", " : "", value);
        g_string_append(big, "]");
        calls_refused(f->h, "CreateRule past the conditions' bytes", "/org/devpass1", MANAGER, "CreateRule",
                      create_rule_args(f, big->str), LIMITS, "KiB devpassd keeps");
        g_autofree char *small = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateRule",
                                               create_rule_args(f, "[('vendor', 'eq', '10de')]"));
        g_autofree char *update = g_strdup_printf("({'Conditions': <%s>},)", big->str);
        calls_refused(f->h, "Rule.Update growing", small, RULE_IF, "Update", calls_parse("(a{sv})", update), LIMITS,
                      "KiB devpassd keeps");
        g_autofree char *first = group_rule(f, 0);
        g_autoptr(GVariant) shrunk = calls_ok(f->h, first, RULE_IF, "Update",
                                              calls_parse("(a{sv})", "({'Conditions': <[('vendor', 'eq', '10de')]>},)"));
        g_string_free(big, TRUE);
}

/* As for rules: an earlier version's store loads, nothing is added. */
static void test_attachments_bounded(void **state) {
        Fixture *f = *state;
        g_autofree char *at_most = g_strdup_printf("at most %u attachments", MODEL_MAX_ATTACHMENTS);
        g_autofree char *settings = g_strdup_printf("('vm-new', {'Group': <objectpath '%s'>})", f->group);

        store_fill(f, 0, 0, NULL, NULL, NULL, MODEL_MAX_ATTACHMENTS + 1);
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        assert_true(g_variant_lookup(objects, "/org/devpass1/attachments/1", "a{sa{sv}}", NULL));
        calls_refused(f->h, "CreateAttachment past the limit", "/org/devpass1", MANAGER, "CreateAttachment",
                      calls_parse("(sa{sv})", settings), LIMITS, at_most);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rules_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_passthrough_counts_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conditions_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_attachments_bounded, setup, teardown),
        };
        return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
