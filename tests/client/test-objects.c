/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's pure parts about groups, rules, conditions and findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "test-props.h"

static CtlObject *group(CtlObjects *all, const char *id, const char *name) {
        g_autofree char *path = g_strconcat("/org/devpass1/groups/", id, NULL);
        CtlObject *o = object(all->groups, path);
        add(o, val("Name", 's', name, 0));
        return o;
}

static CtlObject *rule(CtlObjects *all, const char *id, const char *name, const char *group_id) {
        g_autofree char *path = g_strconcat("/org/devpass1/rules/", id, NULL);
        g_autofree char *group_path = g_strconcat("/org/devpass1/groups/", group_id, NULL);
        CtlObject *o = object(all->rules, path);
        add(o, val("Name", 's', name, 0));
        add(o, val("Group", 'o', group_path, 0));
        return o;
}

static void test_condition_text(void **state) {
        char *plain[] = { "vendor", "eq", "10de", NULL };
        char *spaced[] = { "device-name", "contains", "RTX 4090", NULL };
        char *empty[] = { "driver", "eq", "", NULL };
        char *quote[] = { "device-name", "regex", "^it's$", NULL };
        char *glob[] = { "address", "eq", "0000:17:*", NULL };

        g_autofree char *a = ctl_condition_text(plain);
        assert_string_equal(a, "vendor eq 10de");
        g_autofree char *b = ctl_condition_text(spaced);
        assert_string_equal(b, "device-name contains 'RTX 4090'");
        g_autofree char *c = ctl_condition_text(empty);
        assert_string_equal(c, "driver eq ''");
        g_autofree char *d = ctl_condition_text(quote);
        assert_string_equal(d, "device-name regex '^it'\\''s$'");
        g_autofree char *e = ctl_condition_text(glob);
        assert_string_equal(e, "address eq '0000:17:*'");

        g_autoptr(GPtrArray) list = g_ptr_array_new();
        g_ptr_array_add(list, plain);
        g_ptr_array_add(list, spaced);
        g_autofree char *l = ctl_conditions_text(list);
        assert_string_equal(l, "vendor eq 10de, device-name contains 'RTX 4090'");
        g_ptr_array_set_size(list, 0);
        g_autofree char *none = ctl_conditions_text(list);
        assert_string_equal(none, "-");
        g_autofree char *null = ctl_conditions_text(NULL);
        assert_string_equal(null, "-");
}

static void assert_parses(const char *arg, char **next, int n_next, const char *want, int want_consumed) {
        g_auto(GStrv) c = NULL;
        g_autofree char *error = NULL;
        int consumed = -1;

        if (!ctl_condition_parse(arg, next, n_next, &c, &consumed, &error))
                fail_msg("'%s' did not parse: %s", arg, error);
        assert_int_equal(g_strv_length(c), 3);
        g_autofree char *got = g_strjoinv("|", c);
        assert_string_equal(got, want);
        assert_int_equal(consumed, want_consumed);
}

static void assert_refused(const char *arg, char **next, int n_next, const char *want_error) {
        g_auto(GStrv) c = NULL;
        g_autofree char *error = NULL;
        int consumed = -1;

        assert_false(ctl_condition_parse(arg, next, n_next, &c, &consumed, &error));
        assert_null(c);
        assert_string_equal(error, want_error);
}

static void test_condition_parse(void **state) {
        char *three[] = { "eq", "10de", "--name", NULL };
        char *negative[] = { "eq", "-1", NULL };
        char *one[] = { "eq", NULL };

        /* Three words: OP and VALUE are the next two, whatever they look like. */
        assert_parses("vendor", three, 3, "vendor|eq|10de", 2);
        assert_parses("numa-node", negative, 2, "numa-node|eq|-1", 2);
        /* One word: VALUE is all after OP, spaces and all. */
        assert_parses("device-name contains RTX 4090", three, 3, "device-name|contains|RTX 4090", 0);
        assert_parses("  vendor \t eq   10de", NULL, 0, "vendor|eq|10de", 0);
        assert_parses("class eq 0x0300 ", NULL, 0, "class|eq|0x0300 ", 0);

        assert_refused("vendor", one, 1, "--match vendor needs OP and VALUE, e.g. --match vendor eq 10de");
        assert_refused("vendor", NULL, 0, "--match vendor needs OP and VALUE, e.g. --match vendor eq 10de");
        assert_refused("vendor eq", three, 3, "--match 'vendor eq' has no VALUE, e.g. --match 'vendor eq 10de'");
        assert_refused("vendor eq ", NULL, 0, "--match 'vendor eq ' has no VALUE, e.g. --match 'vendor eq 10de'");
        assert_refused("", three, 3, "--match needs FIELD OP VALUE, e.g. --match vendor eq 10de");
        assert_refused("   ", three, 3, "--match needs FIELD OP VALUE, e.g. --match vendor eq 10de");
}

static void test_lookup_and_sort(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        group(all, "2", "storage");
        group(all, "1", "gpu");
        rule(all, "5", "b", "2");
        rule(all, "4", "z", "1");
        rule(all, "3", "a", "2");
        rule(all, "6", "a", "1");
        const char *addresses[] = { "0000:3b:00.0", "10000:e0:06.0", "0000:17:00.1", "0000:17:00.0" };
        for (size_t i = 0; i < G_N_ELEMENTS(addresses); i++)
                add(object(all->devices, addresses[i]), val("Address", 's', addresses[i], 0));
        ctl_objects_sort(all);

        assert_string_equal(((CtlObject *) all->groups->pdata[0])->path, "/org/devpass1/groups/1");
        /* Rules by the name of their group, then by theirs. */
        const char *rules[] = { "/org/devpass1/rules/6", "/org/devpass1/rules/4", "/org/devpass1/rules/3",
                                "/org/devpass1/rules/5" };
        for (size_t i = 0; i < G_N_ELEMENTS(rules); i++)
                assert_string_equal(((CtlObject *) all->rules->pdata[i])->path, rules[i]);
        const char *devices[] = { "0000:17:00.0", "0000:17:00.1", "0000:3b:00.0", "10000:e0:06.0" };
        for (size_t i = 0; i < G_N_ELEMENTS(devices); i++)
                assert_string_equal(((CtlObject *) all->devices->pdata[i])->path, devices[i]);

        guint count = 99;
        const CtlObject *o = ctl_object_lookup(all->groups, "storage", &count);
        assert_int_equal(count, 1);
        assert_string_equal(o->path, "/org/devpass1/groups/2");
        o = ctl_object_lookup(all->groups, "/org/devpass1/groups/1", &count);
        assert_int_equal(count, 1);
        assert_string_equal(o->path, "/org/devpass1/groups/1");
        assert_null(ctl_object_lookup(all->groups, "/org/devpass1/groups/9", &count));
        assert_int_equal(count, 0);
        assert_null(ctl_object_lookup(all->groups, "GPU", &count));
        assert_int_equal(count, 0);
        /* Two rules are named "a": the first, and how many. */
        o = ctl_object_lookup(all->rules, "a", &count);
        assert_int_equal(count, 2);
        assert_string_equal(o->path, "/org/devpass1/rules/6");

        g_autofree char *label = ctl_object_label(all->groups, "/org/devpass1/groups/2");
        assert_string_equal(label, "storage");
        g_autofree char *none = ctl_object_label(all->groups, "/");
        assert_string_equal(none, "-");
        g_autofree char *gone = ctl_object_label(all->groups, "/org/devpass1/groups/9");
        assert_string_equal(gone, "/org/devpass1/groups/9");
}

static void test_rows(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        CtlObject *g = group(all, "1", "gpu");
        add(g, val("Type", 's', "pci", 0));
        add(g, val("Class", 's', "gpu", 0));
        add(g, val("Description", 's', "", 0));
        add(g, val("Total", 'u', NULL, 4));
        add(g, val("Free", 'u', NULL, 3));
        add(g, val_strv("Rules", "/org/devpass1/rules/1 /org/devpass1/rules/2"));
        g_autoptr(GPtrArray) groups = g_ptr_array_new();
        g_ptr_array_add(groups, g);
        g_autoptr(CtlTable) gt = ctl_groups_table(groups, all);
        g_autofree char *grow = ctl_table_row_json(gt, 0);
        assert_string_equal(grow, "{\"name\": \"gpu\", \"type\": \"pci\", \"class\": \"gpu\", \"total\": 4, "
                                  "\"free\": 3, \"rules\": [\"/org/devpass1/rules/1\", \"/org/devpass1/rules/2\"], "
                                  "\"description\": null, \"tenant\": null, \"tenant_node\": null, \"devices\": null, "
                                  "\"nodes\": null, \"path\": \"/org/devpass1/groups/1\"}");
        /* People see how many rules, and "-" for none. */
        g_autofree char *gtext = table_text(gt);
        assert_string_equal(gtext, "gpu pci gpu 4 3 2 -\n");

        CtlObject *r = rule(all, "1", "a100", "1");
        add(r, val("Node", 's', "", 0));
        add(r, val("Enabled", 'b', NULL, 0));
        add(r, val_strv("Devices", "/org/devpass1/devices/0000_17_00_0"));
        add(r, val_tuples("Conflicts", "oo", "/org/devpass1/devices/0000_17_00_0|/org/devpass1/rules/9"));
        add(r, val_tuples("Conditions", "sss", "vendor|eq|10de;device|eq|20b5"));
        g_autoptr(GPtrArray) rules = g_ptr_array_new();
        g_ptr_array_add(rules, r);
        g_autoptr(CtlTable) rt = ctl_rules_table(rules, all);
        g_autofree char *rtext = table_text(rt);
        assert_string_equal(rtext, "a100 gpu * no 1 1 vendor\\x20eq\\x2010de,\\x20device\\x20eq\\x2020b5\n");
        g_autofree char *rrow = ctl_table_row_json(rt, 0);
        assert_string_equal(rrow, "{\"name\": \"a100\", \"group\": \"/org/devpass1/groups/1\", \"node\": null, "
                                  "\"enabled\": false, \"devices\": [\"0000:17:00.0\"], \"conflicts\": "
                                  "[[\"0000:17:00.0\", \"/org/devpass1/rules/9\"]], \"conditions\": "
                                  "[[\"vendor\", \"eq\", \"10de\"], [\"device\", \"eq\", \"20b5\"]], "
                                  "\"path\": \"/org/devpass1/rules/1\"}");

        /* A rule of a group that is gone, on one node, without conflicts. */
        CtlObject *lone = rule(all, "2", "", "7");
        add(lone, val("Node", 's', "node-b", 0));
        add(lone, val("Enabled", 'b', NULL, 1));
        add(lone, val_strv("Devices", ""));
        add(lone, val_tuples("Conflicts", "oo", ""));
        add(lone, val_tuples("Conditions", "sss", ""));
        g_ptr_array_set_size(rules, 0);
        g_ptr_array_add(rules, lone);
        g_autoptr(CtlTable) lt = ctl_rules_table(rules, all);
        g_autofree char *ltext = table_text(lt);
        assert_string_equal(ltext, "- /org/devpass1/groups/7 node-b yes 0 - -\n");
}

static void test_conflicts(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        group(all, "1", "gpu");
        group(all, "2", "ai");
        CtlObject *a = rule(all, "1", "nvidia", "1");
        CtlObject *b = rule(all, "2", "a100", "2");
        add(a, val_tuples("Conflicts", "oo", "/org/devpass1/devices/0000_17_00_0|/org/devpass1/rules/2"));
        add(b, val_tuples("Conflicts", "oo", "/org/devpass1/devices/0000_17_00_0|/org/devpass1/rules/1"));

        /* The pair lists each other: one line. */
        g_autofree char *both = ctl_conflicts_text(all->rules, all);
        assert_string_equal(both, "Conflict: rule 'nvidia' of group 'gpu' and rule 'a100' of group 'ai' both "
                                  "match 0000:17:00.0, which is in neither group\n");
        /* Only the rules of one group listed: still said. */
        g_autoptr(GPtrArray) only_b = g_ptr_array_new();
        g_ptr_array_add(only_b, b);
        g_autofree char *one = ctl_conflicts_text(only_b, all);
        assert_string_equal(one, "Conflict: rule 'a100' of group 'ai' and rule 'nvidia' of group 'gpu' both "
                                 "match 0000:17:00.0, which is in neither group\n");
        g_ptr_array_set_size(all->rules, 0);
        g_autofree char *none = ctl_conflicts_text(all->rules, all);
        assert_string_equal(none, "");
}

static void test_findings(void **state) {
        g_autoptr(CtlValue) f = val_tuples("findings", "ssss",
                "0000:17:00.0|iommu-group|0000:17:00.1|0000:17:00.1 shares its IOMMU group and stays with the host;"
                "0000:00:02.0|boot-vga||the console is on it");
        g_autoptr(CtlTable) t = ctl_findings_table(f->tuples);
        g_autofree char *json = ctl_table_json(t);
        assert_string_equal(json, "{\"findings\": [\n"
                "  {\"address\": \"0000:17:00.0\", \"kind\": \"iommu-group\", \"subject\": \"0000:17:00.1\", "
                "\"message\": \"0000:17:00.1 shares its IOMMU group and stays with the host\"},\n"
                "  {\"address\": \"0000:00:02.0\", \"kind\": \"boot-vga\", \"subject\": null, "
                "\"message\": \"the console is on it\"}\n]}\n");
        CtlTextOptions o = {};
        g_autofree char *text = ctl_table_text(t, &o);
        assert_string_equal(text, "ADDRESS       KIND         MESSAGE\n"
                                  "0000:17:00.0  iommu-group  0000:17:00.1 shares its IOMMU group and stays with the host\n"
                                  "0000:00:02.0  boot-vga     the console is on it\n");
}

static void test_reboot(void **state) {
        g_autoptr(CtlValue) r = val_tuples("RebootReasons", "ss", "0000:17:00.0|nvidia cannot be unbound;"
                                                                 "0000:65:00.0|mlx5_core is in use");
        char *mine[] = { "17:00.0", NULL };
        char *other[] = { "0000:b3:00.0", NULL };

        g_autofree char *a = ctl_reboot_text("node-a", r->tuples, mine);
        assert_string_equal(a, "Reboot required: reboot node node-a to finish 0000:17:00.0 (nvidia cannot be unbound)");
        /* None of them has a reason: every reason is why. */
        g_autofree char *b = ctl_reboot_text("node-a", r->tuples, other);
        assert_string_equal(b, "Reboot required: reboot node node-a to finish 0000:17:00.0 (nvidia cannot be "
                               "unbound), 0000:65:00.0 (mlx5_core is in use)");
        g_autofree char *c = ctl_reboot_text("", NULL, mine);
        assert_string_equal(c, "Reboot required: reboot node (unknown) to finish the change");
}

static CtlObject *node(CtlObjects *all, const char *name, const char *state, int64_t devices, int64_t units,
                        const char *reasons) {
        /* As sd_bus_path_encode() writes the name's '-'. */
        g_auto(GStrv) parts = g_strsplit(name, "-", -1);
        g_autofree char *encoded = g_strjoinv("_2d", parts);
        g_autofree char *path = g_strconcat("/org/devpass1/nodes/", encoded, NULL);
        CtlObject *n = object(all->nodes, path);
        add(n, val("Name", 's', name, 0));
        add(n, val("State", 's', state, 0));
        add(n, val("Devices", 'u', NULL, devices));
        add(n, val("Units", 'u', NULL, units));
        add(n, val("RebootRequired", 'b', NULL, reasons[0] != '\0'));
        add(n, val_tuples("RebootReasons", "ss", reasons));
        return n;
}

/* devpassctl nodes: a row per member, by name; JSON in the CLI's keys. */
static void test_nodes(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        node(all, "node-b", "down", 0, 0, "");
        node(all, "node-a", "up", 64, 40, "0000:17:00.0|vfio-pci in the initramfs");
        ctl_objects_sort(all);

        g_autoptr(CtlTable) t = ctl_nodes_table(all->nodes);
        g_autofree char *text = table_text(t);
        assert_string_equal(text, "node-a up 64 40 yes\n"
                                  "node-b down 0 0 no\n");
        g_autofree char *row = ctl_table_row_json(t, 0);
        assert_string_equal(row, "{\"name\": \"node-a\", \"state\": \"up\", \"devices\": 64, \"units\": 40, "
                                 "\"reboot_required\": true, \"reboot_reasons\": [[\"0000:17:00.0\", "
                                 "\"vfio-pci in the initramfs\"]], \"path\": \"/org/devpass1/nodes/node_2da\"}");
}

static void test_details(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        CtlObject *g = group(all, "1", "gpu");
        add(g, val_strv("Rules", "/org/devpass1/rules/1 /org/devpass1/rules/8"));
        add(g, val_strv("Devices", "/org/devpass1/devices/0000_17_00_0 /org/devpass1/devices/0000_17_00_1"));
        rule(all, "1", "nvidia", "1");
        g_autofree char *gt = ctl_object_details(g, all);
        assert_string_equal(gt, "   Path: /org/devpass1/groups/1\n"
                                "   Name: gpu\n"
                                "  Rules: nvidia, /org/devpass1/rules/8\n"
                                "Devices: 0000:17:00.0 0000:17:00.1\n");

        g_autoptr(CtlObjects) none = ctl_objects_new();
        CtlObject *d = object(none->devices, "/org/devpass1/devices/0000_17_00_0");
        add(d, val("Address", 's', "0000:17:00.0", 0));
        add(d, val("Group", 'o', "/org/devpass1/groups/1", 0));
        add(d, val("Rule", 'o', "/", 0));
        add(d, val_strv("Blockers", ""));
        g_autofree char *bare = ctl_object_details(d, none);
        assert_string_equal(bare, " Address: 0000:17:00.0\n"
                                  "   Group: /org/devpass1/groups/1\n"
                                  "    Rule: -\n"
                                  "Blockers: -\n");

        /* With names to hand, and two sentences a line each. */
        ctl_value_free(g_ptr_array_steal_index(d->props, 3));
        CtlValue *blockers = val("Blockers", 'a', NULL, 0);
        blockers->strv = g_strsplit("Rules of gpu and ai match it.|A reboot is pending.", "|", -1);
        add(d, blockers);
        g_autofree char *named = ctl_object_details(d, all);
        assert_string_equal(named, " Address: 0000:17:00.0\n"
                                   "   Group: gpu\n"
                                   "    Rule: -\n"
                                   "Blockers: Rules of gpu and ai match it.\n"
                                   "          A reboot is pending.\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_condition_text),
                cmocka_unit_test(test_condition_parse),
                cmocka_unit_test(test_lookup_and_sort),
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_conflicts),
                cmocka_unit_test(test_findings),
                cmocka_unit_test(test_reboot),
                cmocka_unit_test(test_details),
                cmocka_unit_test(test_nodes),
        };
        return cmocka_run_group_tests_name("client-objects", tests, NULL, NULL);
}
