/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keys of a cluster's etcd: every kind built and parsed back, names
 * escaped with one spelling, and every malformed key refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "keys.h"

#define PREFIX "/devpass/v1/"

/* Builds k, checks the key's text, parses it back to the same parts. */
static void round_trip(ClusterKeyKind kind, int64_t id, const char *name, const char *node, const char *expected) {
        ClusterKey k = { .kind = kind, .id = id, .name = (char *) name, .node = (char *) node };
        g_auto(ClusterKey) back = { 0 };
        g_autoptr(GError) error = NULL;
        g_autofree char *key = cluster_key_build(PREFIX, &k);
        g_autofree char *want = g_strconcat(PREFIX, expected, NULL);

        assert_string_equal(key, want);
        if (!cluster_key_parse(PREFIX, key, strlen(key), &back, &error))
                fail_msg("%s: %s", key, error->message);
        assert_int_equal(back.kind, kind);
        assert_int_equal(back.id, id);
        assert_string_equal(back.name ?: "", name ?: "");
        assert_string_equal(back.node ?: "", node ?: "");
}

static void test_round_trip(void **state) {
        round_trip(CLUSTER_KEY_IDS, 0, "attachment", NULL, "shared/ids/attachment");
        round_trip(CLUSTER_KEY_GROUP, 7, NULL, NULL, "shared/groups/7");
        round_trip(CLUSTER_KEY_GROUP_NAME, 0, "GPUs / A100 100%", NULL, "shared/group-names/GPUs %2F A100 100%25");
        round_trip(CLUSTER_KEY_GROUP_USER, 9223372036854775807, NULL, "node-2",
                   "shared/group-users/9223372036854775807/node-2");
        round_trip(CLUSTER_KEY_RULE, 1, NULL, NULL, "shared/rules/1");
        round_trip(CLUSTER_KEY_RULE_NAME, 0, "Grafikkarten für Büro", NULL, "shared/rule-names/Grafikkarten für Büro");
        round_trip(CLUSTER_KEY_ATTACHMENT, 42, NULL, NULL, "shared/attachments/42");
        round_trip(CLUSTER_KEY_MAC, 0, "02:00:5e:10:00:01", NULL, "shared/macs/02:00:5e:10:00:01");
        round_trip(CLUSTER_KEY_MACHINE, 0, "win 11/gaming", NULL, "shared/machines/win 11%2Fgaming");
        round_trip(CLUSTER_KEY_MACHINE, 0, "..", NULL, "shared/machines/..");
        round_trip(CLUSTER_KEY_NODE, 0, NULL, "n1", "shared/nodes/n1");
        round_trip(CLUSTER_KEY_ALIVE, 0, NULL, "n1", "shared/alive/n1");
        round_trip(CLUSTER_KEY_STATE, 0, NULL, "gpu.rack-3_a", "shared/state/gpu.rack-3_a");
        round_trip(CLUSTER_KEY_CLAIMS, 0, "Büro-VM", "n1", "node/n1/claims/Büro-VM");
        round_trip(CLUSTER_KEY_HOLDS, 0, "acme", "n1", "node/n1/holds/acme");
}

/* The parse fails with a key error that names the key and says why. */
static void refused_len(const char *key, size_t len, const char *why) {
        g_auto(ClusterKey) k = { 0 };
        g_autoptr(GError) error = NULL;

        if (cluster_key_parse(PREFIX, key, len, &k, &error))
                fail_msg("accepted %s", key);
        assert_true(g_error_matches(error, CLUSTER_CODEC_ERROR, CLUSTER_CODEC_ERROR_KEY));
        assert_non_null(strstr(error->message, "The etcd key '"));
        if (!strstr(error->message, why))
                fail_msg("'%s' does not say '%s'", error->message, why);
        assert_true(g_utf8_validate(error->message, -1, NULL));
}

static void refused(const char *key, const char *why) {
        refused_len(key, strlen(key), why);
}

static void test_components(void **state) {
        refused("/devpass/v2/shared/groups/1", "not under the prefix");
        refused("/devpass/v1", "not under the prefix");
        refused(PREFIX, "no key of devpass");
        refused(PREFIX "shared/groups", "no key of devpass");
        refused(PREFIX "shared/groups/1/2", "no key of devpass");
        refused(PREFIX "shared//groups/1", "no key of devpass");
        refused(PREFIX "shared/groups/1/", "no key of devpass");
        refused(PREFIX "node/n1/intents", "no key of devpass");
        refused(PREFIX "node/n1/claims/a/b/c", "more than 4 components");
        refused(PREFIX "shared/ids/tenant", "not group, rule or attachment");
        refused(PREFIX "shared/nodes/..", "not a node name");
        refused(PREFIX "shared/nodes/", "the node name is empty");
        refused(PREFIX "node/../holds/acme", "not a node name");
        refused(PREFIX "node/n 1/holds/acme", "not a node name");
        refused(PREFIX "shared/macs/02:00:5E:10:00:01", "lower case");
        refused(PREFIX "shared/macs/01:00:5e:10:00:01", "multicast");
        refused(PREFIX "shared/machines/", "1 to 255 bytes");
        refused(PREFIX "node/n1/holds/acme corp", "may hold only");
        refused(PREFIX "shared/group-names/ GPUs", "starts or ends with a space");
}

static void test_ids(void **state) {
        const char *bad[] = { "0", "01", "-1", "+1", "1 ", " 1", "1e3", "0x10", "9223372036854775808",
                              "99999999999999999999", "1.0", "" };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *key = g_strconcat(PREFIX, "shared/attachments/", bad[i], NULL);
                refused(key, "not an id");
        }
        int64_t id;
        assert_true(cluster_id_parse("9223372036854775807", &id));
        assert_int_equal(id, INT64_MAX);
}

static void test_escapes(void **state) {
        /* One spelling: lower case hex, an escape of a byte kept as it is,
         * cut or bad escapes, raw bytes that must be escaped, NUL. */
        const char *bad[] = { "a%2fb", "%41", "a%", "a%2", "%G0", "%00", "a%7", "%%", "a\x01" "b", "a\x7f" };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *key = g_strconcat(PREFIX, "shared/machines/", bad[i], NULL);
                refused(key, "not escaped as devpass escapes it");
        }
        /* Escaped control characters are one spelling, but no name holds them. */
        refused(PREFIX "shared/machines/a%0Ab", "control characters");
        refused(PREFIX "shared/machines/a%7Fb", "control characters");
        /* Not UTF-8, kept byte for byte, is no name either. */
        refused(PREFIX "shared/machines/\xff\xfe", "not UTF-8");
        refused(PREFIX "shared/group-names/\xc3", "cannot be shown");
        /* A NUL inside the key's bytes. */
        static const char nul[] = PREFIX "shared/machines/a\0b";
        refused_len(nul, sizeof(nul) - 1, "not escaped");
        refused_len(PREFIX "shared/groups/1\0", sizeof(PREFIX "shared/groups/1"), "not escaped");

        g_autofree char *longest = g_strnfill(CLUSTER_KEY_MAX + 1, 'a');
        refused(longest, "longer than 4096 bytes");
        /* A machine name of 255 slashes, each escaped: within the bound. */
        g_autofree char *slashes = g_strnfill(255, '/');
        ClusterKey k = { .kind = CLUSTER_KEY_CLAIMS, .name = slashes, .node = "n" };
        g_autofree char *key = cluster_key_build(PREFIX, &k);
        g_auto(ClusterKey) back = { 0 };
        assert_true(strlen(key) < CLUSTER_KEY_MAX);
        assert_true(cluster_key_parse(PREFIX, key, strlen(key), &back, NULL));
        assert_string_equal(back.name, slashes);
}

static void assert_bytes(GBytes *b, const char *expected, size_t len) {
        gsize n;
        const void *data = g_bytes_get_data(b, &n);

        assert_int_equal(n, len);
        assert_memory_equal(data, expected, len);
        g_bytes_unref(b);
}

static void test_ranges(void **state) {
        g_autofree char *shared = cluster_key_shared(PREFIX);
        g_autofree char *node = cluster_key_node(PREFIX, "n1");
        g_autofree char *users = cluster_key_group_users(PREFIX, 12);

        assert_string_equal(shared, PREFIX "shared/");
        assert_string_equal(node, PREFIX "node/n1/");
        assert_string_equal(users, PREFIX "shared/group-users/12/");
        assert_bytes(cluster_key_range_end(shared, strlen(shared)), PREFIX "shared0", strlen(PREFIX "shared0"));
        assert_bytes(cluster_key_range_end("a", 1), "b", 1);
        assert_bytes(cluster_key_range_end("a\xff\xff", 3), "b", 1);
        assert_bytes(cluster_key_range_end("\xff\xff", 2), "\0", 1);
        assert_bytes(cluster_key_range_end("", 0), "\0", 1);

        /* Every key of a group's users, and nobody else's group, is in the range. */
        ClusterKey k = { .kind = CLUSTER_KEY_GROUP_USER, .id = 12, .node = "z" };
        ClusterKey other = { .kind = CLUSTER_KEY_GROUP_USER, .id = 120, .node = "a" };
        g_autofree char *in = cluster_key_build(PREFIX, &k);
        g_autofree char *out = cluster_key_build(PREFIX, &other);
        g_autoptr(GBytes) end = cluster_key_range_end(users, strlen(users));
        g_autofree char *last = g_strndup(g_bytes_get_data(end, NULL), g_bytes_get_size(end));
        assert_string_equal(last, PREFIX "shared/group-users/120");
        assert_true(strcmp(in, users) >= 0 && strcmp(in, last) < 0);
        assert_true(strcmp(out, last) >= 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_components),
                cmocka_unit_test(test_ids),
                cmocka_unit_test(test_escapes),
                cmocka_unit_test(test_ranges),
        };
        return cmocka_run_group_tests_name("cluster-keys", tests, NULL, NULL);
}
