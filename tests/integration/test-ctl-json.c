/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl --json, verb by verb, against one schema: a list is
 * {"NAME": [objects]}, one object is the object alone, a change says
 * {"name", "path"}; keys are lower-case, none is null (never "" or "/"),
 * devices are addresses. And the singular views. Real polkitd, a fake
 * kernel answering the binder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "ctl-helpers.h"

typedef CtlFixture Fixture;

static JsonNode *parse(const char *args0, const char *text) {
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) error = NULL;

        if (!json_parser_load_from_data(parser, text, -1, &error))
                fail_msg("devpassctl %s --json: not JSON (%s): %s", args0, error->message, text);
        return json_node_copy(json_parser_get_root(parser));
}

static bool key_valid(const char *key) {
        if (!g_ascii_islower(key[0]))
                return false;
        for (const char *p = key; *p; p++)
                if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '_')
                        return false;
        return true;
}

/* The schema's rules, all the way down. */
static void assert_schema(const char *verb, JsonNode *n) {
        if (JSON_NODE_HOLDS_OBJECT(n)) {
                JsonObjectIter it;
                const char *key;
                JsonNode *member;
                json_object_iter_init(&it, json_node_get_object(n));
                while (json_object_iter_next(&it, &key, &member)) {
                        if (!key_valid(key))
                                fail_msg("%s --json: key '%s' is not lower-case", verb, key);
                        /* "path" is the object's own, a device's too. */
                        if (!g_str_equal(key, "path"))
                                assert_schema(verb, member);
                }
        } else if (JSON_NODE_HOLDS_ARRAY(n)) {
                JsonArray *a = json_node_get_array(n);
                for (guint i = 0; i < json_array_get_length(a); i++)
                        assert_schema(verb, json_array_get_element(a, i));
        } else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
                const char *s = json_node_get_string(n);
                if (!s[0] || g_str_equal(s, "/"))
                        fail_msg("%s --json: '%s' where null stands for none", verb, s);
                if (g_str_has_prefix(s, "/org/devpass1/devices/"))
                        fail_msg("%s --json: device %s is not an address", verb, s);
        }
}

/* devpassctl's stdout, after exit code (nothing on stderr). */
static char *run(Fixture *f, int code, const char *const *args) {
        char *out = NULL;
        g_autofree char *err = NULL;
        int status = harness_ctl(f->h, &out, &err, args);

        if (status != code || err[0])
                fail_msg("devpassctl %s: exit %d, want %d: %s", args[0], status, code, err);
        return out;
}

/* A list: {"name": [objects...]} with at least min of them, after exit
 * code; returns the first. */
static JsonObject *assert_list_code(Fixture *f, int code, const char *name, guint min, JsonNode **keep,
                                    const char *const *args) {
        g_autofree char *out = run(f, code, args);
        *keep = parse(args[0], out);
        assert_schema(args[0], *keep);
        if (!JSON_NODE_HOLDS_OBJECT(*keep))
                fail_msg("%s --json: not an object: %s", args[0], out);
        JsonObject *root = json_node_get_object(*keep);
        assert_int_equal(json_object_get_size(root), 1);
        JsonArray *a = json_object_get_array_member(root, name);
        if (!a || json_array_get_length(a) < min)
                fail_msg("%s --json: no %u %s: %s", args[0], min, name, out);
        for (guint i = 0; i < json_array_get_length(a); i++)
                assert_true(JSON_NODE_HOLDS_OBJECT(json_array_get_element(a, i)));
        return min ? json_array_get_object_element(a, 0) : NULL;
}

static JsonObject *assert_list(Fixture *f, const char *name, guint min, JsonNode **keep, const char *const *args) {
        return assert_list_code(f, 0, name, min, keep, args);
}

/* One object, alone. */
static JsonObject *assert_object(Fixture *f, JsonNode **keep, const char *const *args) {
        g_autofree char *out = ctl_ok(f, args);
        *keep = parse(args[0], out);
        assert_schema(args[0], *keep);
        if (!JSON_NODE_HOLDS_OBJECT(*keep))
                fail_msg("%s --json: not an object: %s", args[0], out);
        return json_node_get_object(*keep);
}

static void test_every_verb(void **state) {
        Fixture *f = *state;
        JsonNode *n[32] = {};
        guint k = 0;

        /* Findings: exit 6, and what they are. */
        JsonObject *finding = assert_list_code(f, 6, "findings", 1, &n[k++], ARGS("check", "17:00.0", "--json"));
        assert_string_equal(json_object_get_string_member(finding, "kind"), "iommu-group");

        /* Changes first: each says its object. */
        JsonObject *made = assert_object(f, &n[k++], ARGS("passthrough", "17:00.0", "17:00.1", "b1:00.0", "b1:00.1",
                                                          "--new-group", "GPUs", "--class", "gpu", "--json"));
        assert_string_equal(json_object_get_string_member(made, "name"), "GPUs");
        assert_false(json_object_get_boolean_member(made, "reboot_required"));
        const char *group = json_object_get_string_member(made, "path");
        wait_device(f, "0000:17:00.0", "Driver: vfio-pci");
        JsonObject *rule = assert_object(f, &n[k++], ARGS("--json", "create-rule", "GPUs", "--match", "vendor eq 10de",
                                                          "--name", "nvidia"));
        assert_string_equal(json_object_get_string_member(rule, "name"), "nvidia");
        JsonObject *empty = assert_object(f, &n[k++], ARGS("create-group", "spare", "--json"));
        assert_int_equal(json_object_get_size(empty), 2);
        JsonObject *att = assert_object(f, &n[k++], ARGS("attach", "vm1", "--group", "GPUs", "--json"));
        assert_string_equal(json_object_get_string_member(att, "name"), "GPUs 1");
        JsonObject *c = assert_list(f, "claims", 2, &n[k++], ARGS("claim", "vm1", "--json"));
        assert_string_equal(json_object_get_string_member(c, "address"), "0000:17:00.0");
        assert_true(json_object_get_null_member(c, "mac"));
        JsonObject *held = assert_object(f, &n[k++], ARGS("tenant-pass", "acme", "node-a", "--group", "GPUs",
                                                          "--json", "--name", "acme GPUs"));
        assert_string_equal(json_object_get_string_member(held, "name"), "acme GPUs");

        /* Lists. */
        JsonObject *d = assert_list(f, "devices", 20, &n[k++], ARGS("devices", "--json"));
        assert_string_equal(json_object_get_string_member(d, "address"), "0000:00:00.0");
        assert_true(json_object_get_null_member(d, "group"));
        JsonObject *g = assert_list(f, "groups", 2, &n[k++], ARGS("groups", "--json"));
        assert_string_equal(json_object_get_string_member(g, "path"), group);
        assert_list(f, "rules", 3, &n[k++], ARGS("rules", "--json"));
        assert_list(f, "attachments", 1, &n[k++], ARGS("attachments", "vm1", "--json"));
        JsonObject *t = assert_list(f, "tenants", 1, &n[k++], ARGS("tenants", "--json"));
        assert_string_equal(json_object_get_string_member(t, "tenant_node"), "node-a");

        /* One object: the row of its list alone. */
        JsonObject *one = assert_object(f, &n[k++], ARGS("device", "17:00.0", "--json"));
        assert_string_equal(json_object_get_string_member(one, "holder"), "vm1");
        assert_string_equal(json_object_get_string_member(one, "group"), group);
        assert_object(f, &n[k++], ARGS("group", "GPUs", "--json"));
        JsonObject *r = assert_object(f, &n[k++], ARGS("rule", "nvidia", "--json"));
        assert_string_equal(json_object_get_string_member(r, "group"), group);
        JsonObject *a = assert_object(f, &n[k++], ARGS("attachment", "vm1", "GPUs 1", "--json"));
        assert_string_equal(json_object_get_string_member(a, "state"), "attached");
        JsonObject *st = assert_object(f, &n[k++], ARGS("status", "--json"));
        assert_string_equal(json_object_get_string_member(st, "node"), "testnode");
        assert_false(json_object_get_boolean_member(st, "reboot_required"));

        /* Changes that have nothing to say print nothing as JSON. */
        g_autofree char *quiet = ctl_ok(f, ARGS("release-machine", "vm1", "--json"));
        assert_string_equal(quiet, "");
        JsonObject *back = assert_object(f, &n[k++], ARGS("give-back", "17:00.0", "17:00.1", "--json"));
        assert_false(json_object_get_boolean_member(back, "reboot_required"));

        for (guint i = 0; i < k; i++)
                json_node_unref(n[i]);
}

/* The singular views speak as the lists do, for one object. */
static void test_views(void **state) {
        Fixture *f = *state;

        g_autofree char *made = ctl_ok(f, ARGS("passthrough", "17:00.0", "17:00.1", "--new-group", "GPUs"));
        g_autofree char *group = created_path(made, "GPUs", "groups");
        wait_device(f, "0000:17:00.0", "Driver: vfio-pci");        /* The filters of devices, by group and state. */
        g_autofree char *mine = ctl_ok(f, ARGS("devices", "--group", "GPUs", "--state", "passthrough", "--output",
                                               "address", "--no-headings"));
        assert_string_equal(mine, "0000:17:00.0\n0000:17:00.1\n");
        g_autofree char *rules = ctl_ok(f, ARGS("rules", "--output", "name", "--no-headings"));
        g_auto(GStrv) names = g_strsplit(rules, "\n", -1);
        g_autofree char *rule = ctl_ok(f, ARGS("rule", g_strstrip(names[0])));
        assert_line(rule, "Group: GPUs");
        g_autofree char *path = g_strdup_printf("Path: %s", group);
        g_autofree char *by_path = ctl_ok(f, ARGS("group", group));
        assert_line(by_path, path);

        g_autofree char *att_out = ctl_ok(f, ARGS("attach", "vm1", "--group", "GPUs", "--name", "gpu"));
        g_autofree char *att = ctl_ok(f, ARGS("attachment", "vm1", "gpu"));
        assert_line(att, "Machine: vm1");
        assert_line(att, "Count: 1");
        ctl_fails(f, 3, "devpassctl: vm2 has no attachment named 'gpu'", ARGS("attachment", "vm2", "gpu"));

        g_autofree char *held = ctl_ok(f, ARGS("tenant-pass", "acme", "node-a", "--group", "GPUs"));
        assert_true(g_str_has_prefix(held, "acme GPUs /org/devpass1/groups/"));
        g_autofree char *acme = ctl_ok(f, ARGS("tenant", "acme", "--output", "tenant,tenant_node", "--no-headings"));
        assert_string_equal(acme, "acme    node-a\n");
        g_autofree char *beta = ctl_ok(f, ARGS("tenant", "beta"));
        assert_string_equal(beta, "");

}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_every_verb, ctl_setup, ctl_teardown),
                cmocka_unit_test_setup_teardown(test_views, ctl_setup, ctl_teardown),
        };
        return cmocka_run_group_tests_name("ctl-json", tests, NULL, NULL);
}
