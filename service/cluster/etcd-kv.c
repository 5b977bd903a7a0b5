/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keys: range, put, delete and transactions (/v3/kv/...). */
#include "etcd-private.h"

#include <string.h>

/* Ops past etcd's default --max-txn-ops (128) are refused by etcd itself;
 * this bound only keeps a runaway caller from building megabytes. */
#define TXN_ITEMS_MAX 4096

void etcd_range_result_free(EtcdRangeResult *r) {
        if (!r)
                return;
        g_ptr_array_unref(r->kvs);
        g_free(r);
}

static void op_response_free(EtcdOpResponse *r) {
        if (r->kvs)
                g_ptr_array_unref(r->kvs);
        g_free(r);
}

void etcd_txn_result_free(EtcdTxnResult *r) {
        if (!r)
                return;
        g_ptr_array_unref(r->responses);
        g_free(r);
}

static void add_range(JsonBuilder *b, const char *key, const char *range_end) {
        etcd_json_add_key(b, "key", key);
        if (range_end)
                etcd_json_add_key(b, "range_end", range_end);
}

EtcdRangeResult *etcd_parse_range(JsonObject *answer, GError **error) {
        g_autoptr(EtcdRangeResult) r = g_new0(EtcdRangeResult, 1);

        r->kvs = g_ptr_array_new_with_free_func((GDestroyNotify) etcd_kv_free);
        if (!etcd_json_revision(answer, &r->revision, error) || !etcd_json_kvs(answer, "kvs", r->kvs, error) ||
            !etcd_json_int(answer, "count", &r->count, error) || !etcd_json_bool(answer, "more", &r->more, error))
                return NULL;
        return g_steal_pointer(&r);
}

static const EtcdCallSpec range_spec = {
        "/v3/kv/range", (EtcdParseFunc) etcd_parse_range, (GDestroyNotify) etcd_range_result_free, true,
};

void etcd_kv_range_from_async(EtcdClient *c, const char *key, gsize key_len, const char *range_end,
                              gint64 revision, gint64 limit, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        etcd_json_add_bytes(b, "key", key, key_len);
        if (range_end)
                etcd_json_add_key(b, "range_end", range_end);
        if (revision > 0)
                etcd_json_add_int(b, "revision", revision);
        if (limit > 0)
                etcd_json_add_int(b, "limit", limit);
        json_builder_end_object(b);
        etcd_call_async(c, &range_spec, json_builder_get_root(b), cancellable, callback, user_data);
}

void etcd_kv_range_async(EtcdClient *c, const char *key, const char *range_end, gint64 revision, gint64 limit,
                         GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data) {
        etcd_kv_range_from_async(c, key, strlen(key), range_end, revision, limit, cancellable, callback, user_data);
}

EtcdRangeResult *etcd_kv_range_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        return etcd_call_finish(c, result, error);
}

/* A revision or count as the call's result: boxed. */
static gint64 *int_parse(JsonObject *answer, const char *member, GError **error) {
        gint64 v;

        if (!(member ? etcd_json_int(answer, member, &v, error) : etcd_json_revision(answer, &v, error)))
                return NULL;
        return g_memdup2(&v, sizeof(v));
}

static gint64 int_finish(EtcdClient *c, GAsyncResult *result, gint64 failed, GError **error) {
        g_autofree gint64 *v = etcd_call_finish(c, result, error);

        return v ? *v : failed;
}

static gpointer put_parse(JsonObject *answer, GError **error) {
        return int_parse(answer, NULL, error);
}

static const EtcdCallSpec put_spec = { "/v3/kv/put", put_parse, g_free, false };

void etcd_kv_put_async(EtcdClient *c, const char *key, const void *value, gsize value_len, gint64 lease,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        etcd_json_add_key(b, "key", key);
        etcd_json_add_bytes(b, "value", value, value_len);
        if (lease)
                etcd_json_add_int(b, "lease", lease);
        json_builder_end_object(b);
        etcd_call_async(c, &put_spec, json_builder_get_root(b), cancellable, callback, user_data);
}

gint64 etcd_kv_put_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        return int_finish(c, result, 0, error);
}

static gpointer delete_parse(JsonObject *answer, GError **error) {
        return int_parse(answer, "deleted", error);
}

static const EtcdCallSpec delete_spec = { "/v3/kv/deleterange", delete_parse, g_free, false };

void etcd_kv_delete_async(EtcdClient *c, const char *key, const char *range_end,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        add_range(b, key, range_end);
        json_builder_end_object(b);
        etcd_call_async(c, &delete_spec, json_builder_get_root(b), cancellable, callback, user_data);
}

gint64 etcd_kv_delete_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        return int_finish(c, result, -1, error);
}

static gpointer compact_parse(JsonObject *answer, GError **error) {
        g_autofree gint64 *revision = int_parse(answer, NULL, error);

        return revision ? GINT_TO_POINTER(1) : NULL;
}

static const EtcdCallSpec compact_spec = { "/v3/kv/compaction", compact_parse, NULL, false };

void etcd_kv_compact_async(EtcdClient *c, gint64 revision, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        etcd_json_add_int(b, "revision", revision);
        json_builder_set_member_name(b, "physical");
        json_builder_add_boolean_value(b, TRUE);
        json_builder_end_object(b);
        etcd_call_async(c, &compact_spec, json_builder_get_root(b), cancellable, callback, user_data);
}

bool etcd_kv_compact_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        return etcd_call_finish(c, result, error) != NULL;
}

/* The transaction is built as JSON as it goes: three arrays of objects. */
struct EtcdTxn {
        JsonArray *compare, *success, *failure;
        guint items;
};

EtcdTxn *etcd_txn_new(void) {
        EtcdTxn *t = g_new0(EtcdTxn, 1);

        t->compare = json_array_new();
        t->success = json_array_new();
        t->failure = json_array_new();
        return t;
}

void etcd_txn_free(EtcdTxn *t) {
        if (!t)
                return;
        json_array_unref(t->compare);
        json_array_unref(t->success);
        json_array_unref(t->failure);
        g_free(t);
}

static const char *const target_names[] = {
        [ETCD_TARGET_VERSION] = "VERSION", [ETCD_TARGET_CREATE] = "CREATE",
        [ETCD_TARGET_MOD] = "MOD", [ETCD_TARGET_VALUE] = "VALUE",
};
static const char *const target_members[] = {
        [ETCD_TARGET_VERSION] = "version", [ETCD_TARGET_CREATE] = "create_revision",
        [ETCD_TARGET_MOD] = "mod_revision", [ETCD_TARGET_VALUE] = "value",
};
static const char *const result_names[] = {
        [ETCD_RESULT_EQUAL] = "EQUAL", [ETCD_RESULT_NOT_EQUAL] = "NOT_EQUAL",
        [ETCD_RESULT_GREATER] = "GREATER", [ETCD_RESULT_LESS] = "LESS",
};

static JsonBuilder *compare_begin(const char *key, const char *range_end, EtcdTarget target, EtcdResult result) {
        JsonBuilder *b = json_builder_new();

        json_builder_begin_object(b);
        add_range(b, key, range_end);
        json_builder_set_member_name(b, "target");
        json_builder_add_string_value(b, target_names[target]);
        json_builder_set_member_name(b, "result");
        json_builder_add_string_value(b, result_names[result]);
        return b;
}

static void txn_add(EtcdTxn *t, JsonArray *list, JsonBuilder *b) {
        json_builder_end_object(b);
        g_return_if_fail(t->items < TXN_ITEMS_MAX);
        t->items++;
        json_array_add_element(list, json_builder_get_root(b));
}

void etcd_txn_compare_range(EtcdTxn *t, const char *key, const char *range_end, EtcdTarget target,
                            EtcdResult result, gint64 number) {
        g_autoptr(JsonBuilder) b = compare_begin(key, range_end, target, result);

        g_return_if_fail(target != ETCD_TARGET_VALUE);
        etcd_json_add_int(b, target_members[target], number);
        txn_add(t, t->compare, b);
}

void etcd_txn_compare(EtcdTxn *t, const char *key, EtcdTarget target, EtcdResult result, gint64 number) {
        etcd_txn_compare_range(t, key, NULL, target, result, number);
}

void etcd_txn_compare_value(EtcdTxn *t, const char *key, EtcdResult result, const void *value, gsize len) {
        g_autoptr(JsonBuilder) b = compare_begin(key, NULL, ETCD_TARGET_VALUE, result);

        etcd_json_add_bytes(b, "value", value, len);
        txn_add(t, t->compare, b);
}

/* {"request_put": {...}} and the like: the builder is inside the inner object. */
static JsonBuilder *op_begin(const char *kind) {
        JsonBuilder *b = json_builder_new();

        json_builder_begin_object(b);
        json_builder_set_member_name(b, kind);
        json_builder_begin_object(b);
        return b;
}

static void op_add(EtcdTxn *t, bool on_success, JsonBuilder *b) {
        json_builder_end_object(b);
        txn_add(t, on_success ? t->success : t->failure, b);
}

void etcd_txn_put(EtcdTxn *t, bool on_success, const char *key, const void *value, gsize len, gint64 lease) {
        g_autoptr(JsonBuilder) b = op_begin("request_put");

        etcd_json_add_key(b, "key", key);
        etcd_json_add_bytes(b, "value", value, len);
        if (lease)
                etcd_json_add_int(b, "lease", lease);
        op_add(t, on_success, b);
}

void etcd_txn_delete(EtcdTxn *t, bool on_success, const char *key, const char *range_end) {
        g_autoptr(JsonBuilder) b = op_begin("request_delete_range");

        add_range(b, key, range_end);
        op_add(t, on_success, b);
}

void etcd_txn_range(EtcdTxn *t, bool on_success, const char *key, const char *range_end) {
        g_autoptr(JsonBuilder) b = op_begin("request_range");

        add_range(b, key, range_end);
        op_add(t, on_success, b);
}

static EtcdOpResponse *op_response_parse(JsonNode *node, GError **error) {
        g_autoptr(GError) local = NULL;
        EtcdOpResponse *r = g_new0(EtcdOpResponse, 1);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
        JsonObject *inner = NULL;

        if (o && etcd_json_object(o, "response_range", &inner, NULL) && inner) {
                r->kind = ETCD_OP_RANGE;
                r->kvs = g_ptr_array_new_with_free_func((GDestroyNotify) etcd_kv_free);
                if (etcd_json_kvs(inner, "kvs", r->kvs, &local))
                        return r;
        } else if (o && etcd_json_object(o, "response_put", &inner, NULL) && inner) {
                r->kind = ETCD_OP_PUT;
                return r;
        } else if (o && etcd_json_object(o, "response_delete_range", &inner, NULL) && inner) {
                r->kind = ETCD_OP_DELETE;
                if (etcd_json_int(inner, "deleted", &r->deleted, &local) && r->deleted >= 0)
                        return r;
        }
        op_response_free(r);
        g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's transaction answer has a response it does not send%s%s",
                    local ? ": " : "", local ? local->message : "");
        return NULL;
}

EtcdTxnResult *etcd_parse_txn(JsonObject *answer, GError **error) {
        g_autoptr(EtcdTxnResult) r = g_new0(EtcdTxnResult, 1);
        JsonArray *responses;

        r->responses = g_ptr_array_new_with_free_func((GDestroyNotify) op_response_free);
        if (!etcd_json_revision(answer, &r->revision, error) ||
            !etcd_json_bool(answer, "succeeded", &r->succeeded, error) ||
            !etcd_json_array(answer, "responses", &responses, error))
                return NULL;
        for (guint i = 0; responses && i < json_array_get_length(responses); i++) {
                EtcdOpResponse *op = op_response_parse(json_array_get_element(responses, i), error);
                if (!op)
                        return NULL;
                g_ptr_array_add(r->responses, op);
        }
        return g_steal_pointer(&r);
}

GPtrArray *etcd_txn_result_range(const EtcdTxnResult *r, guint i, GError **error) {
        const EtcdOpResponse *op = i < r->responses->len ? r->responses->pdata[i] : NULL;

        if (op && op->kind == ETCD_OP_RANGE)
                return op->kvs;
        g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's transaction answer has no range as its "
                    "response %u (%u responses)", i + 1, r->responses->len);
        return NULL;
}

static void add_array(JsonBuilder *b, const char *member, JsonArray *a) {
        JsonNode *n = json_node_new(JSON_NODE_ARRAY);

        json_node_set_array(n, a);
        json_builder_set_member_name(b, member);
        json_builder_add_value(b, n);
}

static const EtcdCallSpec txn_spec = {
        "/v3/kv/txn", (EtcdParseFunc) etcd_parse_txn, (GDestroyNotify) etcd_txn_result_free, false,
};

void etcd_txn_async(EtcdClient *c, const EtcdTxn *t, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        add_array(b, "compare", t->compare);
        add_array(b, "success", t->success);
        add_array(b, "failure", t->failure);
        json_builder_end_object(b);
        etcd_call_async(c, &txn_spec, json_builder_get_root(b), cancellable, callback, user_data);
}

EtcdTxnResult *etcd_txn_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        return etcd_call_finish(c, result, error);
}
