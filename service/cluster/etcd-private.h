/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the cluster room's files share: the transport (etcd-client.c) and
 * the checked reading of etcd's JSON (etcd-json.c). */

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "etcd-client.h"

struct EtcdClient {
        gint ref_count;
        GMainContext *context;   /* where timers run: the creator's */
        SoupSession *session;
        GTlsCertificate *client_cert;
        GStrv endpoints;         /* without a trailing slash */
        guint current;           /* the endpoint tried first */
        guint request_ms, retry_ms;
        gsize max_response;
};

/* A request to one endpoint, on the client's session; the caller sends
 * it. body: JSON text, copied. */
SoupMessage *etcd_client_message(EtcdClient *c, guint endpoint, const char *path, const char *body);
/* The endpoint after this one failed (the next request starts there). */
void etcd_client_failed(EtcdClient *c, guint endpoint);
GSource *etcd_client_timeout(EtcdClient *c, guint ms, GSourceFunc func, gpointer data);

/* Makes the call's result from etcd's answer (a JSON object); NULL with
 * *error on a bad answer. */
typedef gpointer (*EtcdParseFunc)(JsonObject *answer, GError **error);

/* A kind of request. A request that is not idempotent (a change) goes to
 * another member only when the first surely did not make it. */
typedef struct {
        const char *path;
        EtcdParseFunc parse;
        GDestroyNotify free_result;
        bool idempotent;
} EtcdCallSpec;

/* POSTs body (a JSON object, consumed) to spec's path, with failover and
 * the request timeout; finishes through etcd_call_finish(). */
void etcd_call_async(EtcdClient *c, const EtcdCallSpec *spec, JsonNode *body, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data);
gpointer etcd_call_finish(EtcdClient *c, GAsyncResult *result, GError **error);

/* Whether another member may be asked after a failure. */
typedef enum {
        ETCD_RETRY_NONE,         /* the answer is final */
        ETCD_RETRY_SAFE,         /* nothing was done (no leader, no connection) */
        ETCD_RETRY_IDEMPOTENT,   /* the request may have been carried out */
} EtcdRetry;

/* etcd's error answer ({"code": N, "message": ...}) as a GError. */
GError *etcd_error_from_answer(JsonObject *answer, guint http_status, EtcdRetry *retry);

/* Checked reading of etcd's JSON: int64s come as strings (or numbers),
 * bytes as base64. A missing member is 0, empty or false, as protobuf
 * leaves defaults out. */
bool etcd_json_int(JsonObject *o, const char *member, gint64 *ret, GError **error);
bool etcd_json_bool(JsonObject *o, const char *member, bool *ret, GError **error);
/* NUL-terminated too; *len may be NULL. */
bool etcd_json_bytes(JsonObject *o, const char *member, char **ret, gsize *len, GError **error);
/* The object member, NULL when absent; an error when it is not an object. */
bool etcd_json_object(JsonObject *o, const char *member, JsonObject **ret, GError **error);
bool etcd_json_array(JsonObject *o, const char *member, JsonArray **ret, GError **error);
/* The header's revision. */
bool etcd_json_revision(JsonObject *answer, gint64 *ret, GError **error);
EtcdKv *etcd_json_kv(JsonNode *node, GError **error);
/* Every EtcdKv of an array member, into kvs. */
bool etcd_json_kvs(JsonObject *o, const char *member, GPtrArray *kvs, GError **error);
/* Parses text as one JSON object. */
JsonObject *etcd_json_parse(const char *text, gsize len, GError **error);

/* Builders of request bodies: base64 members. */
void etcd_json_add_bytes(JsonBuilder *b, const char *member, const void *data, gsize len);
void etcd_json_add_key(JsonBuilder *b, const char *member, const char *key);
void etcd_json_add_int(JsonBuilder *b, const char *member, gint64 value);
