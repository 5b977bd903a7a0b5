/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The values of a cluster's etcd: every kind of row encoded, decoded and
 * encoded again to the same bytes; one row is one byte string whatever
 * the order of its lists; and hostile bytes refused with the key named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "rows.h"

#define PREFIX "/devpass/v1/"

static char *key_of(const ClusterRow *row) {
        return cluster_key_build(PREFIX, &row->key);
}

/* Decodes value under the row's key, or fails the test with the error. */
static ClusterRow *decode(const ClusterRow *row, const char *value) {
        g_autofree char *key = key_of(row);
        g_autoptr(GError) error = NULL;
        ClusterRow *back = cluster_row_decode(PREFIX, key, strlen(key), value, strlen(value), &error);

        if (!back)
                fail_msg("%s: %s", value, error->message);
        return back;
}

/* Encodes to expected, decodes to a row that encodes to the same. */
static ClusterRow *round_trip(const ClusterRow *row, const char *expected) {
        g_autofree char *value = cluster_row_encode(row);

        assert_string_equal(value, expected);
        ClusterRow *back = decode(row, value);
        g_autofree char *again = cluster_row_encode(back);
        assert_string_equal(again, expected);
        assert_int_equal(back->key.kind, row->key.kind);
        return back;
}

/* The value is refused under the key, and the message says so and why. */
static void refused_at(ClusterKeyKind kind, const char *name, const char *value, size_t len, const char *why) {
        ClusterKey k = { .kind = kind, .id = 7, .name = (char *) name, .node = "n1" };
        g_autofree char *key = cluster_key_build(PREFIX, &k);
        g_autoptr(GError) error = NULL;
        g_autoptr(ClusterRow) row = cluster_row_decode(PREFIX, key, strlen(key), value, len, &error);

        if (row)
                fail_msg("accepted %s", value);
        assert_true(g_error_matches(error, CLUSTER_CODEC_ERROR, CLUSTER_CODEC_ERROR_VALUE));
        g_autofree char *relative = cluster_key_build("", &k);
        g_autofree char *named = g_strdup_printf("The etcd value of %s is not devpass's: ", relative);
        if (!g_str_has_prefix(error->message, named) || !strstr(error->message, why))
                fail_msg("'%s' does not say '%s' and '%s'", error->message, named, why);
        assert_true(g_utf8_validate(error->message, -1, NULL));
}

static void refused(ClusterKeyKind kind, const char *value, const char *why) {
        static const char *const names[_CLUSTER_KEY_MAX] = {
                [CLUSTER_KEY_IDS] = "group", [CLUSTER_KEY_GROUP_NAME] = "g", [CLUSTER_KEY_RULE_NAME] = "r",
                [CLUSTER_KEY_MAC] = "02:00:00:00:00:01", [CLUSTER_KEY_MACHINE] = "vm", [CLUSTER_KEY_CLAIMS] = "vm",
                [CLUSTER_KEY_HOLDS] = "acme",
        };
        refused_at(kind, names[kind], value, strlen(value), why);
}

#define GROUP "{\"class\":\"gpu\",\"description\":\"A100s\",\"name\":\"GPUs\",\"tenant\":\"\",\"tenant_node\":\"\"," \
              "\"type\":\"pci\"}"

static void test_shared(void **state) {
        StoreGroup g = { .id = 7, .name = "GPUs", .type = "pci", .description = "A100s", .class_name = "gpu",
                         .tenant = "", .tenant_node = "" };
        g_autoptr(ClusterRow) group = round_trip(&(ClusterRow) { .key = { CLUSTER_KEY_GROUP, .id = 7 }, .group = &g },
                                                 GROUP);
        assert_int_equal(group->group->id, 7);
        assert_string_equal(group->group->description, "A100s");

        g_autoptr(StoreRule) r = store_rule_new();
        r->group_id = 7;
        r->name = g_strdup("Grafik \"ä\"\\");
        r->node = g_strdup("n1");
        r->enabled = true;
        g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", "0x10de"));
        g_ptr_array_add(r->conditions, store_condition_new("device-name", "regex", "^A\\d+"));
        g_autoptr(ClusterRow) rule = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_RULE, .id = 3 }, .rule = r },
                "{\"conditions\":[{\"field\":\"vendor\",\"op\":\"eq\",\"value\":\"0x10de\"},"
                "{\"field\":\"device-name\",\"op\":\"regex\",\"value\":\"^A\\\\d+\"}],\"enabled\":true,"
                "\"group_id\":7,\"name\":\"Grafik \\\"ä\\\"\\\\\",\"node\":\"n1\"}");
        assert_int_equal(rule->rule->id, 3);
        assert_int_equal(rule->rule->conditions->len, 2);
        assert_string_equal(((StoreCondition *) rule->rule->conditions->pdata[1])->value, "^A\\d+");

        char *macs[] = { "02:00:00:00:00:02", "02:00:00:00:00:01", NULL };
        StoreAttachment a = { .machine = "win 11", .name = "nic", .type = "sriov-nic", .description = "",
                              .tenant = "", .group_id = 7, .count = 2, .macs = macs, .generation = 3,
                              .claimed_generation = 2 };
        g_autoptr(ClusterRow) attachment = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_ATTACHMENT, .id = 9 }, .attachment = &a },
                "{\"claimed_generation\":2,\"count\":2,\"description\":\"\",\"generation\":3,\"group_id\":7,"
                "\"machine\":\"win 11\",\"macs\":[\"02:00:00:00:00:02\",\"02:00:00:00:00:01\"],\"name\":\"nic\","
                "\"optional\":false,\"tenant\":\"\",\"type\":\"sriov-nic\"}");
        assert_true(g_strv_equal((const char *const *) attachment->attachment->macs, (const char *const *) macs));
        a.macs = NULL;
        a.type = "pci";
        g_autoptr(ClusterRow) pci = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_ATTACHMENT, .id = 9 }, .attachment = &a },
                "{\"claimed_generation\":2,\"count\":2,\"description\":\"\",\"generation\":3,\"group_id\":7,"
                "\"machine\":\"win 11\",\"macs\":[],\"name\":\"nic\",\"optional\":false,\"tenant\":\"\","
                "\"type\":\"pci\"}");
        assert_null(pci->attachment->macs);

        g_autoptr(ClusterRow) ids = round_trip(&(ClusterRow) { .key = { CLUSTER_KEY_IDS, .name = "rule" }, .id = 12 },
                                               "12");
        g_autoptr(ClusterRow) name = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_GROUP_NAME, .name = "GPUs" }, .id = 7 }, "7");
        assert_int_equal(name->id, 7);
        g_autoptr(ClusterRow) user = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_GROUP_USER, .id = 7, .node = "n1" } }, "{}");
        g_autoptr(ClusterRow) mac = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_MAC, .name = "02:00:00:00:00:01" }, .mac = { .group_id = 4 } },
                "{\"group\":4}");
        assert_int_equal(mac->mac.group_id, 4);
        g_autoptr(ClusterRow) mac2 = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_MAC, .name = "02:00:00:00:00:01" }, .mac = { .attachment_id = 9 } },
                "{\"attachment\":9}");
        g_autoptr(ClusterRow) machine = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_MACHINE, .name = "vm/1" },
                                .machine = { "n1", "4b0f3b8c-9f4e-4f3a-8d2c-1a2b3c4d5e6f" } },
                "{\"node\":\"n1\",\"uuid\":\"4b0f3b8c-9f4e-4f3a-8d2c-1a2b3c4d5e6f\"}");
        assert_string_equal(machine->machine.node, "n1");
        g_autoptr(ClusterRow) node = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_NODE, .node = "n1" }, .joined = 5 }, "{\"joined\":5}");
        g_autoptr(ClusterRow) alive = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_ALIVE, .node = "n1" }, .alive = { "", 1765000000000000 } },
                "{\"boot\":\"\",\"since\":1765000000000000}");
}

static StoreClaim *claim(const char *address, int64_t attachment, int64_t group, const char *mac) {
        StoreClaim *c = g_new0(StoreClaim, 1);

        *c = (StoreClaim) { g_strdup(address), g_strdup("ignored"), group != 0, attachment, group, g_strdup(mac),
                            g_strdup("") };
        return c;
}

/* Lists come out in one order, whatever order they went in. */
static void test_node_rows(void **state) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) store_claim_free);
        g_autoptr(GArray) generations = g_array_new(false, false, sizeof(ClusterGeneration));
        g_ptr_array_add(devices, claim("10000:e0:06.0", 0, 0, ""));
        g_ptr_array_add(devices, claim("0000:17:00.0", 9, 0, "02:00:00:00:00:01"));
        g_array_append_val(generations, ((ClusterGeneration) { 9, 3 }));
        g_array_append_val(generations, ((ClusterGeneration) { 2, 1 }));
        ClusterRow row = { .key = { CLUSTER_KEY_CLAIMS, .name = "vm", .node = "n1" },
                           .claims = { "", devices, generations } };
        g_autoptr(ClusterRow) claims = round_trip(
                &row, "{\"attachments\":[{\"generation\":1,\"id\":2},{\"generation\":3,\"id\":9}],"
                      "\"devices\":[{\"address\":\"0000:17:00.0\",\"attachment_id\":9,\"mac\":\"02:00:00:00:00:01\"},"
                      "{\"address\":\"10000:e0:06.0\",\"attachment_id\":null,\"mac\":\"\"}],\"uuid\":\"\"}");
        StoreClaim *first = claims->claims.devices->pdata[0];
        assert_string_equal(first->holder, "vm");
        assert_false(first->tenant);
        assert_int_equal(((StoreClaim *) claims->claims.devices->pdata[1])->attachment_id, 0);

        g_autoptr(GPtrArray) holds = g_ptr_array_new_with_free_func((GDestroyNotify) store_claim_free);
        g_ptr_array_add(holds, claim("0000:18:00.1", 0, 5, ""));
        g_ptr_array_add(holds, claim("0000:18:00.0", 0, 5, "02:00:00:00:00:03"));
        g_autoptr(ClusterRow) held = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_HOLDS, .name = "acme", .node = "n1" }, .holds = holds },
                "{\"devices\":[{\"address\":\"0000:18:00.0\",\"group_id\":5,\"mac\":\"02:00:00:00:00:03\"},"
                "{\"address\":\"0000:18:00.1\",\"group_id\":5,\"mac\":\"\"}]}");
        first = held->holds->pdata[0];
        assert_string_equal(first->holder, "acme");
        assert_true(first->tenant);

        g_autoptr(GArray) free = g_array_new(false, false, sizeof(ClusterFree));
        g_array_append_val(free, ((ClusterFree) { 9, 0, 2 }));
        g_array_append_val(free, ((ClusterFree) { 7, 4, 4 }));
        g_autoptr(GPtrArray) reasons = g_ptr_array_new();
        g_ptr_array_add(reasons, "0000:18:00.0");
        g_ptr_array_add(reasons, "the host driver holds it");
        g_ptr_array_add(reasons, "0000:03:00.0");
        g_ptr_array_add(reasons, "in use by the initramfs");
        g_autoptr(ClusterRow) st = round_trip(
                &(ClusterRow) { .key = { CLUSTER_KEY_STATE, .node = "n1" }, .state = { 12, 6, free, reasons } },
                "{\"devices\":12,\"free\":[{\"group\":7,\"total\":4,\"units\":4},{\"group\":9,\"total\":2,"
                "\"units\":0}],"
                "\"reboot_reasons\":[{\"address\":\"0000:03:00.0\",\"reason\":\"in use by the initramfs\"},"
                "{\"address\":\"0000:18:00.0\",\"reason\":\"the host driver holds it\"}],\"units\":6}");
        assert_int_equal(st->state.reboot_reasons->len, 4);
        assert_string_equal(st->state.reboot_reasons->pdata[3], "the host driver holds it");
}

/* What parsers and readers see before any row: bytes. */
static void test_hostile_bytes(void **state) {
        refused_at(CLUSTER_KEY_GROUP, NULL, "{\"class\":\0}", 11, "NUL");
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"\xff\"}", "not UTF-8");
        refused(CLUSTER_KEY_GROUP, "", "not a JSON object");
        refused(CLUSTER_KEY_GROUP, "{", "not JSON");
        refused(CLUSTER_KEY_GROUP, "[]", "not a JSON object");
        refused(CLUSTER_KEY_GROUP, "\"x\"", "not a JSON object");
        refused(CLUSTER_KEY_GROUP, GROUP " {}", "not as devpass writes it");
        refused(CLUSTER_KEY_GROUP_USER, "{\"a\":[[[]]]}", "nested deeper than 3");
        g_autofree char *deep = g_strnfill(100000, '[');
        refused(CLUSTER_KEY_GROUP, deep, "nested deeper than 3");
        /* Brackets inside strings are text, not nesting. */
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"[[[[\\\"{{{{\"}", "member description");
        g_autofree char *huge = g_strnfill(CLUSTER_VALUE_MAX + 1, ' ');
        refused(CLUSTER_KEY_GROUP, huge, "longer than");

        /* Ids: canonical decimal only. */
        const char *ids[] = { "0", "-1", "07", "1.0", "1e3", " 1", "\"1\"", "9223372036854775808", "" };
        for (size_t i = 0; i < G_N_ELEMENTS(ids); i++)
                refused(CLUSTER_KEY_IDS, ids[i], "not an id");
        refused_at(CLUSTER_KEY_RULE_NAME, "r", "1\0", 2, "not an id");
}

/* Bytes that parse, but no devpassd wrote. */
static void test_not_canonical(void **state) {
        refused(CLUSTER_KEY_GROUP, "{ \"class\":\"gpu\",\"description\":\"A100s\",\"name\":\"GPUs\",\"tenant\":\"\","
                                   "\"tenant_node\":\"\",\"type\":\"pci\"}", "not as devpass writes it");
        refused(CLUSTER_KEY_GROUP, "{\"description\":\"A100s\",\"class\":\"gpu\",\"name\":\"GPUs\",\"tenant\":\"\","
                                   "\"tenant_node\":\"\",\"type\":\"pci\"}", "not as devpass writes it");
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"gpu\",\"class\":\"gpu\",\"description\":\"A100s\",\"name\":\"GPUs\","
                                   "\"tenant\":\"\",\"tenant_node\":\"\",\"type\":\"pci\"}", "not as devpass writes it");
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"gpu\",\"description\":\"A\\u0031\",\"name\":\"GPUs\",\"tenant\":\"\","
                                   "\"tenant_node\":\"\",\"type\":\"pci\"}", "not as devpass writes it");
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"gpu\",\"description\":\"A\\u0000B\",\"name\":\"GPUs\",\"tenant\":\"\","
                                   "\"tenant_node\":\"\",\"type\":\"pci\"}", "not as devpass writes it");
        refused(CLUSTER_KEY_GROUP, GROUP "\n", "not as devpass writes it");
        refused(CLUSTER_KEY_NODE, "{\"joined\":-0}", "not in 1..");
        refused(CLUSTER_KEY_MAC, "{\"group\":4,\"group\":4}", "not as devpass writes it");
        refused(CLUSTER_KEY_HOLDS, "{\"devices\":[{\"address\":\"0000:18:00.1\",\"group_id\":5,\"mac\":\"\"},"
                                   "{\"address\":\"0000:18:00.0\",\"group_id\":5,\"mac\":\"\"}]}",
                "not as devpass writes it");
}

/* Members and their types, each refusal naming the member. */
static void test_members(void **state) {
        refused(CLUSTER_KEY_GROUP_USER, "{\"x\":1}", "a member 'x' that devpass does not write");
        refused(CLUSTER_KEY_GROUP, "{}", "no member class");
        refused(CLUSTER_KEY_NODE, "{\"joined\":5,\"extra\":true}", "a member 'extra'");
        refused(CLUSTER_KEY_NODE, "{\"joined\":\"5\"}", "joined is not an integer");
        refused(CLUSTER_KEY_NODE, "{\"joined\":5.0}", "joined is not an integer");
        refused(CLUSTER_KEY_NODE, "{\"joined\":null}", "joined is not an integer");
        refused(CLUSTER_KEY_NODE, "{\"joined\":0}", "joined is 0, not in 1..");
        /* json-glib wraps what does not fit: the canonical check sees it. */
        refused(CLUSTER_KEY_NODE, "{\"joined\":9223372036854775808}", "joined is -9223372036854775808");
        refused(CLUSTER_KEY_NODE, "{\"joined\":18446744073709551617}", "joined is -1");
        refused(CLUSTER_KEY_MACHINE, "{\"node\":1,\"uuid\":\"\"}", "node is not a string");
        refused(CLUSTER_KEY_MACHINE, "{\"node\":\"\",\"uuid\":\"\"}", "node is empty");
        refused(CLUSTER_KEY_MACHINE, "{\"node\":\"..\",\"uuid\":\"\"}", "node: '..' is not a node name");
        refused(CLUSTER_KEY_MACHINE, "{\"node\":\"n1\",\"uuid\":\"4B0F3B8C-9F4E-4F3A-8D2C-1A2B3C4D5E6F\"}",
                "uuid: not in lower case");
        refused(CLUSTER_KEY_MAC, "{\"attachment\":1,\"group\":2}", "a member 'group'");
        refused(CLUSTER_KEY_MAC, "{\"group\":0}", "group is 0");
        refused(CLUSTER_KEY_ALIVE, "{\"boot\":\"x\",\"since\":0}", "boot_id: not a boot id");
        refused(CLUSTER_KEY_ALIVE, "{\"boot\":\"\",\"since\":-1}", "since is -1");
        refused(CLUSTER_KEY_STATE, "{\"devices\":4294967296,\"free\":[],\"reboot_reasons\":[],\"units\":0}",
                "devices is 4294967296");
        refused(CLUSTER_KEY_STATE, "{\"devices\":1,\"free\":{},\"reboot_reasons\":[],\"units\":0}",
                "free is not a list");
        refused(CLUSTER_KEY_STATE, "{\"devices\":1,\"free\":[1],\"reboot_reasons\":[],\"units\":0}",
                "free[0]: not an object");
        refused(CLUSTER_KEY_STATE, "{\"devices\":1,\"free\":[{\"group\":1,\"total\":1,\"units\":1},{\"group\":1,\"total\":1,\"units\":1}],"
                                   "\"reboot_reasons\":[],\"units\":0}", "free[1]: group 1 is listed twice");
        refused(CLUSTER_KEY_STATE, "{\"devices\":1,\"free\":[],\"reboot_reasons\":[{\"address\":\"0000:03:00.0\","
                                   "\"reason\":\"a\\nb\"}],\"units\":0}", "reboot_reasons[0]: reason: ");
        refused(CLUSTER_KEY_STATE, "{\"devices\":1,\"free\":[],\"reboot_reasons\":[{\"address\":\"0000:03:00.0\","
                                   "\"reason\":true}],\"units\":0}", "reason is not a string");
}

#define RULE "{\"conditions\":[%s],\"enabled\":true,\"group_id\":%s,\"name\":\"r\",\"node\":\"%s\"}"
#define ATTACHMENT "{\"claimed_generation\":0,\"count\":%s,\"description\":\"\",\"generation\":1," \
        "\"group_id\":7,\"machine\":\"%s\",\"macs\":[%s],\"name\":\"nic\",\"optional\":false," \
        "\"tenant\":\"\",\"type\":\"sriov-nic\"}"
#define CLAIMS "{\"attachments\":[],\"devices\":[{\"address\":\"%s\",\"attachment_id\":%s," \
        "\"mac\":\"\"}],\"uuid\":\"\"}"

/* Rows that parse, but no call could have made. */
static void test_rows_checked(void **state) {
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"toaster\",\"description\":\"\",\"name\":\"G\",\"tenant\":\"\","
                                   "\"tenant_node\":\"\",\"type\":\"pci\"}", "class: 'toaster' is not a group class");
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"gpu\",\"description\":\"\",\"name\":\"\",\"tenant\":\"\","
                                   "\"tenant_node\":\"\",\"type\":\"pci\"}", "name: The group name '' must be 1 to 64");
        refused(CLUSTER_KEY_GROUP, "{\"class\":\"gpu\",\"description\":\"\",\"name\":\"G\",\"tenant\":\"a b\","
                                   "\"tenant_node\":\"\",\"type\":\"pci\"}", "tenant: The tenant name 'a b'");
        g_autofree char *field = g_strdup_printf(RULE, "{\"field\":\"colour\",\"op\":\"eq\",\"value\":\"x\"}", "1", "");
        refused(CLUSTER_KEY_RULE, field, "conditions[0]: ");
        g_autofree char *group = g_strdup_printf(RULE, "", "0", "");
        refused(CLUSTER_KEY_RULE, group, "group_id is 0, not in 1..");
        g_autofree char *node = g_strdup_printf(RULE, "", "1", "n/1");
        refused(CLUSTER_KEY_RULE, node, "node: 'n/1' is not a node name");
        g_autoptr(GString) many = g_string_new(NULL);
        for (int i = 0; i < 33; i++)
                g_string_append_printf(many, "%s{\"field\":\"vendor\",\"op\":\"eq\",\"value\":\"0x10de\"}", i ? "," : "");
        g_autofree char *count = g_strdup_printf(RULE, many->str, "1", "");
        refused(CLUSTER_KEY_RULE, count, "32");

        g_autofree char *zero = g_strdup_printf(ATTACHMENT, "0", "vm", "");
        refused(CLUSTER_KEY_ATTACHMENT, zero, "count is 0");
        g_autofree char *wide = g_strdup_printf(ATTACHMENT, "4294967296", "vm", "");
        refused(CLUSTER_KEY_ATTACHMENT, wide, "count is 4294967296");
        g_autofree char *macs = g_strdup_printf(ATTACHMENT, "2", "vm", "\"02:00:00:00:00:01\"");
        refused(CLUSTER_KEY_ATTACHMENT, macs, "macs has 1, not none or one per device (2)");
        g_autofree char *twice = g_strdup_printf(ATTACHMENT, "2", "vm", "\"02:00:00:00:00:01\",\"02:00:00:00:00:01\"");
        refused(CLUSTER_KEY_ATTACHMENT, twice, "macs[1]: 02:00:00:00:00:01 is listed twice");
        g_autofree char *multicast = g_strdup_printf(ATTACHMENT, "1", "vm", "\"03:00:00:00:00:01\"");
        refused(CLUSTER_KEY_ATTACHMENT, multicast, "macs[0]: mac: '03:00:00:00:00:01' is a multicast address");
        g_autofree char *control = g_strdup_printf(ATTACHMENT, "1", "v\\u0001m", "");
        refused(CLUSTER_KEY_ATTACHMENT, control, "machine: The machine name");

        g_autofree char *upper = g_strdup_printf(CLAIMS, "0000:17:0A.0", "1");
        refused(CLUSTER_KEY_CLAIMS, upper, "devices[0]: address: not a PCI address as devpassd writes it");
        g_autofree char *dots = g_strdup_printf(CLAIMS, "..", "1");
        refused(CLUSTER_KEY_CLAIMS, dots, "not a PCI address");
        g_autofree char *id = g_strdup_printf(CLAIMS, "0000:17:00.0", "0");
        refused(CLUSTER_KEY_CLAIMS, id, "attachment_id is 0");
        refused(CLUSTER_KEY_CLAIMS, "{\"attachments\":[],\"devices\":[{\"address\":\"0000:17:00.0\",\"attachment_id\":1,"
                                    "\"mac\":\"\"},{\"address\":\"0000:17:00.0\",\"attachment_id\":1,\"mac\":\"\"}],"
                                    "\"uuid\":\"\"}", "devices[1]: 0000:17:00.0 is listed twice");
        refused(CLUSTER_KEY_CLAIMS, "{\"attachments\":[{\"generation\":0,\"id\":1}],\"devices\":[],\"uuid\":\"\"}",
                "attachments[0]: generation is 0");
        refused(CLUSTER_KEY_HOLDS, "{\"devices\":[{\"address\":\"0000:18:00.0\",\"group_id\":-5,\"mac\":\"\"}]}",
                "group_id is -5");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shared),
                cmocka_unit_test(test_node_rows),
                cmocka_unit_test(test_hostile_bytes),
                cmocka_unit_test(test_not_canonical),
                cmocka_unit_test(test_members),
                cmocka_unit_test(test_rows_checked),
        };
        return cmocka_run_group_tests_name("cluster-rows", tests, NULL, NULL);
}
