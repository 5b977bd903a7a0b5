/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leases (/v3/lease/...) and the keeper that keeps one alive. */
#include "etcd-private.h"

/* A lease's TTL as etcd takes it (its own minimum is larger than 1 s). */
#define TTL_MAX (G_MAXINT32 / 1000)

static gpointer grant_parse(JsonObject *answer, GError **error) {
        gint64 v[2];

        if (!etcd_json_int(answer, "ID", &v[0], error) || !etcd_json_int(answer, "TTL", &v[1], error))
                return NULL;
        if (v[0] == 0 || v[1] <= 0 || v[1] > TTL_MAX) {
                g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd granted a lease without an id or a TTL");
                return NULL;
        }
        return g_memdup2(v, sizeof(v));
}

static JsonNode *lease_body(const char *member, gint64 value) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        etcd_json_add_int(b, member, value);
        json_builder_end_object(b);
        return json_builder_get_root(b);
}

static const EtcdCallSpec grant_spec = { "/v3/lease/grant", grant_parse, g_free, false };

void etcd_lease_grant_async(EtcdClient *c, gint64 ttl, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data) {
        etcd_call_async(c, &grant_spec, lease_body("TTL", ttl), cancellable, callback, user_data);
}

gint64 etcd_lease_grant_finish(EtcdClient *c, GAsyncResult *result, gint64 *ttl, GError **error) {
        g_autofree gint64 *v = etcd_call_finish(c, result, error);

        if (ttl)
                *ttl = v ? v[1] : 0;
        return v ? v[0] : 0;
}

/* keepalive is a stream in gRPC; the gateway answers one request with one
 * {"result": ...} or {"error": ...}. */
static gpointer keepalive_parse(JsonObject *answer, GError **error) {
        JsonObject *result, *failed;
        gint64 ttl;
        EtcdRetry retry;

        if (!etcd_json_object(answer, "error", &failed, error))
                return NULL;
        if (failed) {
                g_propagate_error(error, etcd_error_from_answer(failed, 500, &retry));
                return NULL;
        }
        if (!etcd_json_object(answer, "result", &result, error) || !result ||
            !etcd_json_int(result, "TTL", &ttl, error) || ttl < 0 || ttl > TTL_MAX) {
                if (error && !*error)
                        g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's keepalive answer has no result");
                return NULL;
        }
        /* etcd answers a lease it does not know with no TTL. */
        if (ttl == 0) {
                g_set_error(error, ETCD_ERROR, ETCD_ERROR_LEASE_NOT_FOUND, "etcd no longer knows the lease");
                return NULL;
        }
        return g_memdup2(&ttl, sizeof(ttl));
}

static const EtcdCallSpec keepalive_spec = { "/v3/lease/keepalive", keepalive_parse, g_free, true };

void etcd_lease_keepalive_async(EtcdClient *c, gint64 lease, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data) {
        etcd_call_async(c, &keepalive_spec, lease_body("ID", lease), cancellable, callback, user_data);
}

gint64 etcd_lease_keepalive_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        g_autofree gint64 *ttl = etcd_call_finish(c, result, error);

        return ttl ? *ttl : 0;
}

static gpointer revoke_parse(JsonObject *answer, GError **error) {
        gint64 revision;

        if (!etcd_json_revision(answer, &revision, error))
                return NULL;
        return GINT_TO_POINTER(1);
}

static const EtcdCallSpec revoke_spec = { "/v3/lease/revoke", revoke_parse, NULL, false };

void etcd_lease_revoke_async(EtcdClient *c, gint64 lease, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data) {
        etcd_call_async(c, &revoke_spec, lease_body("ID", lease), cancellable, callback, user_data);
}

bool etcd_lease_revoke_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        return etcd_call_finish(c, result, error) != NULL;
}

/* A keeper is referenced by itself and by its keepalive in flight, so that
 * an answer after etcd_lease_keeper_free() finds it stopped, not freed. */
struct EtcdLeaseKeeper {
        gint ref_count;
        EtcdClient *client;
        gint64 lease, ttl;
        EtcdLeaseLostFunc lost;
        gpointer user_data;
        bool alive;
        GCancellable *cancellable;
        GSource *next;           /* the next keepalive */
        GSource *expiry;         /* the TTL since the last keepalive etcd answered */
};

static void source_clear(GSource **s) {
        if (!*s)
                return;
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
}

static void keeper_unref(EtcdLeaseKeeper *k) {
        if (!g_atomic_int_dec_and_test(&k->ref_count))
                return;
        g_object_unref(k->cancellable);
        etcd_client_unref(k->client);
        g_free(k);
}

static void keeper_stop(EtcdLeaseKeeper *k) {
        k->alive = false;
        g_cancellable_cancel(k->cancellable);
        source_clear(&k->next);
        source_clear(&k->expiry);
}

static void keeper_lost(EtcdLeaseKeeper *k, const GError *error) {
        keeper_stop(k);
        if (k->lost)
                k->lost(k, error, k->user_data);
}

static gboolean keeper_expired(gpointer data) {
        EtcdLeaseKeeper *k = data;
        g_autoptr(GError) error = g_error_new(ETCD_ERROR, ETCD_ERROR_UNAVAILABLE,
                                              "No keepalive of lease %" G_GINT64_FORMAT " reached etcd within its TTL of %"
                                              G_GINT64_FORMAT " s", k->lease, k->ttl);

        keeper_lost(k, error);
        return G_SOURCE_REMOVE;
}

static gboolean keeper_send(gpointer data);

static void keeper_schedule(EtcdLeaseKeeper *k, guint ms) {
        source_clear(&k->next);
        k->next = etcd_client_timeout(k->client, ms, keeper_send, k);
}

static void keeper_answered(GObject *source, GAsyncResult *res, gpointer data) {
        EtcdLeaseKeeper *k = data;
        g_autoptr(GError) error = NULL;
        gint64 ttl = etcd_lease_keepalive_finish(k->client, res, &error);

        if (!k->alive) {
                keeper_unref(k);
                return;
        }
        if (ttl > 0) {
                source_clear(&k->expiry);
                k->expiry = etcd_client_timeout(k->client, (guint) (k->ttl * 1000), keeper_expired, k);
                keeper_schedule(k, (guint) (k->ttl * 1000 / 3));
        } else if (g_error_matches(error, ETCD_ERROR, ETCD_ERROR_LEASE_NOT_FOUND)) {
                keeper_lost(k, error);
        } else {
                /* Unavailable for now: again soon; the expiry says when it is too late. */
                keeper_schedule(k, MIN(k->client->retry_ms, (guint) (k->ttl * 1000 / 3)));
        }
        keeper_unref(k);
}

static gboolean keeper_send(gpointer data) {
        EtcdLeaseKeeper *k = data;

        g_clear_pointer(&k->next, g_source_unref);
        g_atomic_int_inc(&k->ref_count);
        etcd_lease_keepalive_async(k->client, k->lease, k->cancellable, keeper_answered, k);
        return G_SOURCE_REMOVE;
}

EtcdLeaseKeeper *etcd_lease_keeper_new(EtcdClient *c, gint64 lease, gint64 ttl, EtcdLeaseLostFunc lost,
                                       gpointer user_data) {
        EtcdLeaseKeeper *k;

        g_return_val_if_fail(ttl > 0 && ttl <= TTL_MAX, NULL);
        k = g_new0(EtcdLeaseKeeper, 1);
        k->ref_count = 1;
        k->client = etcd_client_ref(c);
        k->lease = lease;
        k->ttl = ttl;
        k->lost = lost;
        k->user_data = user_data;
        k->alive = true;
        k->cancellable = g_cancellable_new();
        /* The lease was just granted or kept alive: a full TTL ahead. */
        k->expiry = etcd_client_timeout(c, (guint) (ttl * 1000), keeper_expired, k);
        keeper_schedule(k, (guint) (ttl * 1000 / 3));
        return k;
}

void etcd_lease_keeper_free(EtcdLeaseKeeper *k) {
        if (!k)
                return;
        keeper_stop(k);
        keeper_unref(k);
}

gint64 etcd_lease_keeper_lease(EtcdLeaseKeeper *k) {
        return k->lease;
}

bool etcd_lease_keeper_alive(EtcdLeaseKeeper *k) {
        return k->alive;
}
