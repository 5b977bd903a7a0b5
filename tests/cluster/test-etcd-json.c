/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster room's reading of etcd's answers, fed hostile bytes: every
 * bad one is ETCD_ERROR_PROTOCOL, nothing crashes or reads past its end.
 * No etcd needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "etcd-private.h"

static JsonObject *parse(const char *text) {
        g_autoptr(GError) error = NULL;
        JsonObject *o = etcd_json_parse(text, strlen(text), &error);

        if (!o)
                assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL));
        return o;
}

static void test_parse(void **state) {
        g_autoptr(GString) deep = g_string_new("{\"a\":");
        g_autoptr(JsonObject) ok = parse("{\"header\":{\"revision\":\"7\"}}");

        assert_non_null(ok);
        assert_null(parse(""));
        assert_null(parse("[1,2]"));
        assert_null(parse("\"text\""));
        assert_null(parse("{\"a\":"));
        assert_null(etcd_json_parse("{}\0{}", 5, NULL));
        /* Nesting that would run json-glib's recursion deep. */
        for (int i = 0; i < 100000; i++)
                g_string_append_c(deep, '[');
        assert_null(parse(deep->str));
        /* Brackets inside strings do not count. */
        g_autoptr(JsonObject) strings = parse("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}");
        assert_non_null(strings);
}

static void test_members(void **state) {
        g_autoptr(JsonObject) o = parse("{\"s\":\"-12\",\"n\":5,\"big\":\"99999999999999999999\",\"space\":\" 1\","
                                        "\"f\":1.5,\"t\":true,\"b\":\"YWI=\",\"bad64\":\"YW!=\",\"short64\":\"YWI\","
                                        "\"obj\":{},\"arr\":[],\"null\":null}");
        g_autoptr(GError) error = NULL;
        gint64 v;
        bool b;
        char *bytes;
        gsize len;
        JsonObject *obj;
        JsonArray *arr;

        assert_true(etcd_json_int(o, "s", &v, NULL));
        assert_int_equal(v, -12);
        assert_true(etcd_json_int(o, "n", &v, NULL));
        assert_int_equal(v, 5);
        assert_true(etcd_json_int(o, "missing", &v, NULL));
        assert_int_equal(v, 0);
        assert_true(etcd_json_int(o, "null", &v, NULL));
        assert_false(etcd_json_int(o, "big", &v, &error));
        assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL));
        g_clear_error(&error);
        assert_false(etcd_json_int(o, "space", &v, NULL));
        assert_false(etcd_json_int(o, "f", &v, NULL));
        assert_false(etcd_json_int(o, "t", &v, NULL));
        assert_false(etcd_json_int(o, "obj", &v, NULL));

        assert_true(etcd_json_bool(o, "t", &b, NULL) && b);
        assert_true(etcd_json_bool(o, "missing", &b, NULL) && !b);
        assert_false(etcd_json_bool(o, "s", &b, NULL));

        assert_true(etcd_json_bytes(o, "b", &bytes, &len, NULL));
        assert_int_equal(len, 2);
        assert_string_equal(bytes, "ab");
        g_free(bytes);
        assert_true(etcd_json_bytes(o, "missing", &bytes, &len, NULL));
        assert_int_equal(len, 0);
        g_free(bytes);
        assert_false(etcd_json_bytes(o, "bad64", &bytes, &len, NULL));
        assert_false(etcd_json_bytes(o, "short64", &bytes, &len, NULL));
        assert_false(etcd_json_bytes(o, "n", &bytes, &len, NULL));

        assert_true(etcd_json_object(o, "obj", &obj, NULL) && obj);
        assert_true(etcd_json_object(o, "missing", &obj, NULL) && !obj);
        assert_false(etcd_json_object(o, "arr", &obj, NULL));
        assert_true(etcd_json_array(o, "arr", &arr, NULL) && arr);
        assert_false(etcd_json_array(o, "obj", &arr, NULL));
}

static void test_kvs(void **state) {
        g_autoptr(GPtrArray) kvs = g_ptr_array_new_with_free_func((GDestroyNotify) etcd_kv_free);
        g_autoptr(JsonObject) good = parse("{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"AGI=\",\"create_revision\":\"2\","
                                           "\"mod_revision\":\"3\",\"version\":\"2\",\"lease\":\"77\"}]}");
        gint64 revision;

        assert_true(etcd_json_kvs(good, "kvs", kvs, NULL));
        EtcdKv *kv = kvs->pdata[0];
        assert_string_equal(kv->key, "a");
        assert_int_equal(kv->value_len, 2);
        assert_memory_equal(kv->value, "\0b", 3);
        assert_int_equal(kv->mod_revision, 3);
        assert_int_equal(kv->lease, 77);

        const char *const bad[] = {
                "{\"kvs\":{}}",
                "{\"kvs\":[1]}",
                "{\"kvs\":[{}]}",                                     /* no key */
                "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":\"-1\"}]}",
                "{\"kvs\":[{\"key\":\"YQ==\",\"value\":7}]}",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(JsonObject) o = parse(bad[i]);
                g_autoptr(GError) error = NULL;
                assert_false(etcd_json_kvs(o, "kvs", kvs, &error));
                assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL));
        }

        g_autoptr(JsonObject) negative = parse("{\"header\":{\"revision\":\"-3\"}}");
        assert_false(etcd_json_revision(negative, &revision, NULL));
        g_autoptr(JsonObject) header = parse("{\"header\":7}");
        assert_false(etcd_json_revision(header, &revision, NULL));
}

/* A transaction's answer whose responses are not the ranges asked for
 * (too few, another kind) is refused where the caller reads them. */
static void test_txn_ranges(void **state) {
        static const struct {
                const char *answer;
                guint ranges;
        } cases[] = {
                { "{\"header\":{\"revision\":\"9\"},\"succeeded\":true,\"responses\":[{\"response_range\":"
                  "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":\"3\"}]}},{\"response_range\":{}}]}", 2 },
                { "{\"header\":{\"revision\":\"9\"},\"succeeded\":true}", 0 },
                { "{\"header\":{\"revision\":\"9\"},\"succeeded\":true,\"responses\":[{\"response_range\":{}}]}", 1 },
                { "{\"header\":{\"revision\":\"9\"},\"succeeded\":true,\"responses\":[{\"response_put\":{}},"
                  "{\"response_range\":{}}]}", 0 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(JsonObject) o = parse(cases[i].answer);
                g_autoptr(EtcdTxnResult) r = etcd_parse_txn(o, NULL);
                g_autoptr(GError) error = NULL;
                assert_non_null(r);
                for (guint k = 0; k < cases[i].ranges; k++)
                        assert_non_null(etcd_txn_result_range(r, k, NULL));
                assert_null(etcd_txn_result_range(r, cases[i].ranges, &error));
                assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL));
        }
}

/* etcd's error answers, and what the client may do next. */
static void test_errors(void **state) {
        const struct {
                const char *answer;
                guint status;
                EtcdError code;
                EtcdRetry retry;
        } cases[] = {
                { "{\"error\":\"x\",\"message\":\"etcdserver: no leader\",\"code\":14}", 503,
                  ETCD_ERROR_UNAVAILABLE, ETCD_RETRY_SAFE },
                { "{\"message\":\"etcdserver: request timed out\",\"code\":14}", 503,
                  ETCD_ERROR_UNAVAILABLE, ETCD_RETRY_IDEMPOTENT },
                { "{\"message\":\"etcdserver: mvcc: required revision has been compacted\",\"code\":11}", 400,
                  ETCD_ERROR_COMPACTED, ETCD_RETRY_NONE },
                { "{\"message\":\"etcdserver: mvcc: required revision is a future revision\",\"code\":11}", 400,
                  ETCD_ERROR_FUTURE, ETCD_RETRY_NONE },
                { "{\"message\":\"etcdserver: requested lease not found\",\"code\":5}", 404,
                  ETCD_ERROR_LEASE_NOT_FOUND, ETCD_RETRY_NONE },
                { "{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}", 500,
                  ETCD_ERROR_UNAVAILABLE, ETCD_RETRY_SAFE },
                /* etcd's limits on one request: by the code, then its words. */
                { "{\"message\":\"etcdserver: too many operations in txn request\",\"code\":3}", 400,
                  ETCD_ERROR_LIMIT, ETCD_RETRY_NONE },
                { "{\"error\":\"etcdserver: request is too large\",\"message\":\"etcdserver: request is too "
                  "large\",\"code\":3}", 400, ETCD_ERROR_LIMIT, ETCD_RETRY_NONE },
                { "{\"message\":\"grpc: received message larger than max (700007 vs. 525312)\",\"code\":8}", 429,
                  ETCD_ERROR_LIMIT, ETCD_RETRY_NONE },
                /* The same codes for what is no limit of one request... */
                { "{\"message\":\"etcdserver: duplicate key given in txn request\",\"code\":3}", 400,
                  ETCD_ERROR_FAILED, ETCD_RETRY_NONE },
                { "{\"message\":\"etcdserver: mvcc: database space exceeded\",\"code\":8}", 429,
                  ETCD_ERROR_FAILED, ETCD_RETRY_NONE },
                { "{\"message\":\"etcdserver: too many requests\",\"code\":8}", 429,
                  ETCD_ERROR_FAILED, ETCD_RETRY_NONE },
                /* ...and a limit's words under another code are none. */
                { "{\"message\":\"etcdserver: request is too large\",\"code\":2}", 500,
                  ETCD_ERROR_FAILED, ETCD_RETRY_NONE },
                { "{\"message\":\"etcdserver: too many operations in txn request\",\"code\":14}", 503,
                  ETCD_ERROR_UNAVAILABLE, ETCD_RETRY_IDEMPOTENT },
                { "{\"code\":\"x\"}", 400, ETCD_ERROR_PROTOCOL, ETCD_RETRY_NONE },
                { NULL, 502, ETCD_ERROR_UNAVAILABLE, ETCD_RETRY_IDEMPOTENT },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(JsonObject) o = cases[i].answer ? parse(cases[i].answer) : NULL;
                EtcdRetry retry;
                g_autoptr(GError) e = etcd_error_from_answer(o, cases[i].status, &retry);
                if (!g_error_matches(e, ETCD_ERROR, (gint) cases[i].code) || retry != cases[i].retry)
                        fail_msg("case %zu: %s (%d), retry %d", i, e->message, e->code, retry);
        }

        /* etcd's words reach logs: printable, bounded. */
        g_autoptr(GString) hostile = g_string_new("{\"code\":9,\"message\":\"\\u001b[31m");
        for (int i = 0; i < 1000; i++)
                g_string_append_c(hostile, 'x');
        g_string_append(hostile, "\"}");
        g_autoptr(JsonObject) o = parse(hostile->str);
        EtcdRetry retry;
        g_autoptr(GError) e = etcd_error_from_answer(o, 400, &retry);
        assert_null(strchr(e->message, '\033'));
        assert_true(strlen(e->message) < 300);
}

static void test_prefix_end(void **state) {
        g_autofree char *a = etcd_prefix_end("/nodes/");
        g_autofree char *b = etcd_prefix_end("a\xff");
        g_autofree char *c = etcd_prefix_end("\xff\xff");

        assert_string_equal(a, "/nodes0");
        assert_string_equal(b, "b");
        assert_string_equal(c, "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_members),
                cmocka_unit_test(test_kvs),
                cmocka_unit_test(test_txn_ranges),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_prefix_end),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
