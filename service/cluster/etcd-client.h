/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An asynchronous client of etcd 3.4's v3 JSON gateway (grpc-gateway over
 * HTTP/1.1) on libsoup 3 and the GLib main loop: nothing here blocks.
 * It knows nothing of devpass: keys and values are bytes to it.
 *
 * Every request is bounded by the client's request timeout, over all the
 * endpoints it tries: a connection error, or a member answering that it
 * has no leader, moves on to the next endpoint; when none answers in time
 * the call fails with ETCD_ERROR_UNAVAILABLE. A change (put, delete, txn,
 * lease grant or revoke) goes to another member only when the first
 * surely did not make it: after a timeout or a connection lost mid-way,
 * UNAVAILABLE means it may or may not have been made (a watch tells).
 * Answers are parsed as hostile: bounded in size, every field checked. */

#include <stdbool.h>
#include <gio/gio.h>
#include <glib.h>

#define ETCD_ERROR (etcd_error_quark())
GQuark etcd_error_quark(void);

typedef enum {
        ETCD_ERROR_UNAVAILABLE,  /* no member answered in time, or no quorum */
        ETCD_ERROR_COMPACTED,    /* the revision asked for was compacted */
        ETCD_ERROR_PROTOCOL,     /* an answer that is not etcd's */
        ETCD_ERROR_TOO_LARGE,    /* an answer above the client's max_response */
        ETCD_ERROR_FUTURE,       /* the revision asked for is past the store's (etcd restored from a backup) */
        ETCD_ERROR_LEASE_NOT_FOUND,
        ETCD_ERROR_FAILED,       /* etcd refused the request (its message says why) */
        ETCD_ERROR_LIMIT,        /* above etcd's limits on one request: --max-txn-ops, --max-request-bytes */
} EtcdError;

typedef struct {
        const char *ca_file;     /* the CA the members' certificates are verified against */
        const char *cert_file;   /* this client's certificate and key, or NULL */
        const char *key_file;
} EtcdTls;

typedef struct {
        guint request_ms;        /* one request, over every endpoint tried (0: 3,000) */
        guint retry_ms;          /* a watch's wait before it resumes (0: 200, doubling to 2 s) */
        gsize max_response;      /* bytes of one answer or watch message (0: 16 MiB) */
} EtcdTimeouts;

typedef struct EtcdClient EtcdClient;

/* http://HOST[:PORT] or https://HOST[:PORT] (with a CA to verify it), no
 * path. Pure, GLib only (etcd-endpoint.c): devpassd's config checks its
 * [Cluster] Endpoints= with it. */
bool etcd_endpoint_valid(const char *url, bool have_ca, GError **error);

/* endpoints: NULL-terminated http:// or https:// URLs (https needs tls);
 * tls and timeouts may be NULL. */
EtcdClient *etcd_client_new(const char *const *endpoints, const EtcdTls *tls, const EtcdTimeouts *timeouts,
                            GError **error);
EtcdClient *etcd_client_ref(EtcdClient *c);
void etcd_client_unref(EtcdClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdClient, etcd_client_unref);
/* The endpoint the next request goes to first. */
const char *etcd_client_endpoint(EtcdClient *c);

/* The end of the range of every key that starts with prefix. */
char *etcd_prefix_end(const char *prefix);

/* A key-value as etcd keeps it; key and value are NUL-terminated too. */
typedef struct {
        char *key;
        gsize key_len;
        char *value;
        gsize value_len;
        gint64 create_revision, mod_revision, version, lease;
} EtcdKv;

void etcd_kv_free(EtcdKv *kv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdKv, etcd_kv_free);

typedef struct {
        gint64 revision;         /* the store's revision when it answered */
        GPtrArray *kvs;          /* EtcdKv* */
        gint64 count;            /* keys in the range, more than kvs when limited */
        bool more;
} EtcdRangeResult;

void etcd_range_result_free(EtcdRangeResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdRangeResult, etcd_range_result_free);

/* range_end: NULL for key alone, else the end (exclusive, etcd_prefix_end());
 * revision: 0 for the latest; limit: 0 for all. */
void etcd_kv_range_async(EtcdClient *c, const char *key, const char *range_end, gint64 revision, gint64 limit,
                         GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
/* The same from a key of key_len bytes (it may hold a NUL: the key after
 * a page's last is that key and a NUL). */
void etcd_kv_range_from_async(EtcdClient *c, const char *key, gsize key_len, const char *range_end,
                              gint64 revision, gint64 limit, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
EtcdRangeResult *etcd_kv_range_finish(EtcdClient *c, GAsyncResult *result, GError **error);

/* lease: 0 for none. Finishes with the new revision (0 on error). */
void etcd_kv_put_async(EtcdClient *c, const char *key, const void *value, gsize value_len, gint64 lease,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gint64 etcd_kv_put_finish(EtcdClient *c, GAsyncResult *result, GError **error);

/* Finishes with how many keys were deleted (-1 on error). */
void etcd_kv_delete_async(EtcdClient *c, const char *key, const char *range_end,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gint64 etcd_kv_delete_finish(EtcdClient *c, GAsyncResult *result, GError **error);

/* Drops the history before revision (physical: once etcd has freed it). */
void etcd_kv_compact_async(EtcdClient *c, gint64 revision, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
bool etcd_kv_compact_finish(EtcdClient *c, GAsyncResult *result, GError **error);

/* A transaction: if every compare holds, the success ops, else the failure
 * ops, atomically. Compares that fail are no error: succeeded is false. */
typedef enum { ETCD_TARGET_VERSION, ETCD_TARGET_CREATE, ETCD_TARGET_MOD, ETCD_TARGET_VALUE } EtcdTarget;
typedef enum { ETCD_RESULT_EQUAL, ETCD_RESULT_NOT_EQUAL, ETCD_RESULT_GREATER, ETCD_RESULT_LESS } EtcdResult;
typedef enum { ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE } EtcdOpKind;

typedef struct EtcdTxn EtcdTxn;

EtcdTxn *etcd_txn_new(void);
void etcd_txn_free(EtcdTxn *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdTxn, etcd_txn_free);
/* VERSION, CREATE, MOD: against number (0: the key does not exist). */
void etcd_txn_compare(EtcdTxn *t, const char *key, EtcdTarget target, EtcdResult result, gint64 number);
/* The same over every key of a range (it holds for each, or for none when
 * the range is empty): VERSION EQUAL 0 over a prefix is "no key under it". */
void etcd_txn_compare_range(EtcdTxn *t, const char *key, const char *range_end, EtcdTarget target,
                            EtcdResult result, gint64 number);
void etcd_txn_compare_value(EtcdTxn *t, const char *key, EtcdResult result, const void *value, gsize len);
/* on_success: into the success list, else the failure list. */
void etcd_txn_put(EtcdTxn *t, bool on_success, const char *key, const void *value, gsize len, gint64 lease);
void etcd_txn_delete(EtcdTxn *t, bool on_success, const char *key, const char *range_end);
void etcd_txn_range(EtcdTxn *t, bool on_success, const char *key, const char *range_end);

typedef struct {
        EtcdOpKind kind;
        GPtrArray *kvs;          /* ETCD_OP_RANGE: EtcdKv* */
        gint64 deleted;          /* ETCD_OP_DELETE */
} EtcdOpResponse;

typedef struct {
        gint64 revision;
        bool succeeded;
        GPtrArray *responses;    /* EtcdOpResponse*, one per op of the branch taken */
} EtcdTxnResult;

void etcd_txn_result_free(EtcdTxnResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdTxnResult, etcd_txn_result_free);

/* The keys of the i-th response, which must be a range's: an answer with
 * fewer responses, or another kind there, is an error (ETCD_ERROR_PROTOCOL),
 * as any answer etcd does not give. */
GPtrArray *etcd_txn_result_range(const EtcdTxnResult *r, guint i, GError **error);

void etcd_txn_async(EtcdClient *c, const EtcdTxn *t, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data);
EtcdTxnResult *etcd_txn_finish(EtcdClient *c, GAsyncResult *result, GError **error);

/* Leases. Grant finishes with the lease's id (0 on error) and *ttl its TTL
 * in seconds; keepalive with the TTL left (ETCD_ERROR_LEASE_NOT_FOUND when
 * it expired). */
void etcd_lease_grant_async(EtcdClient *c, gint64 ttl, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
gint64 etcd_lease_grant_finish(EtcdClient *c, GAsyncResult *result, gint64 *ttl, GError **error);
void etcd_lease_keepalive_async(EtcdClient *c, gint64 lease, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gint64 etcd_lease_keepalive_finish(EtcdClient *c, GAsyncResult *result, GError **error);
void etcd_lease_revoke_async(EtcdClient *c, gint64 lease, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
bool etcd_lease_revoke_finish(EtcdClient *c, GAsyncResult *result, GError **error);

/* Keeps a lease alive (a keepalive every TTL/3) until freed; calls lost
 * once when etcd says the lease is gone, or when its TTL passed since the
 * last keepalive etcd answered (etcd may already have dropped it). */
typedef struct EtcdLeaseKeeper EtcdLeaseKeeper;
typedef void (*EtcdLeaseLostFunc)(EtcdLeaseKeeper *k, const GError *error, gpointer user_data);

EtcdLeaseKeeper *etcd_lease_keeper_new(EtcdClient *c, gint64 lease, gint64 ttl, EtcdLeaseLostFunc lost,
                                       gpointer user_data);
void etcd_lease_keeper_free(EtcdLeaseKeeper *k);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdLeaseKeeper, etcd_lease_keeper_free);
gint64 etcd_lease_keeper_lease(EtcdLeaseKeeper *k);
bool etcd_lease_keeper_alive(EtcdLeaseKeeper *k);

/* A watch on a range from a revision: events in revision order, resumed by
 * itself (from the last revision seen + 1, on the next endpoint) after a
 * disconnect. When the revision it needs was compacted, or etcd went back
 * below it, it calls compacted or rewound and stops: the caller reads
 * everything again and watches anew. */
typedef enum { ETCD_EVENT_PUT, ETCD_EVENT_DELETE } EtcdEventType;

typedef struct {
        EtcdEventType type;
        EtcdKv *kv;              /* a DELETE's kv holds the key and mod_revision */
        EtcdKv *prev_kv;         /* NULL unless asked for and known */
} EtcdEvent;

typedef struct EtcdWatch EtcdWatch;
typedef struct {
        /* events: EtcdEvent*, of one or more revisions, in order */
        void (*events)(EtcdWatch *w, GPtrArray *events, gpointer user_data);
        void (*compacted)(EtcdWatch *w, gint64 compact_revision, gpointer user_data);
        /* etcd's revision is below the last the watch delivered or was
         * told of (etcd_watch_seen()): it was restored from an older
         * backup (or the member it reached lags behind); the watch stops
         * as when compacted. */
        void (*rewound)(EtcdWatch *w, gint64 revision, gpointer user_data);
        /* The stream came up (etcd confirmed it) or went down; optional. */
        void (*connected)(EtcdWatch *w, bool connected, gpointer user_data);
} EtcdWatchFuncs;

/* start_revision: 0 for from now on. */
EtcdWatch *etcd_watch_new(EtcdClient *c, const char *key, const char *range_end, gint64 start_revision,
                          bool prev_kv, const EtcdWatchFuncs *funcs, gpointer user_data);
void etcd_watch_free(EtcdWatch *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdWatch, etcd_watch_free);
/* Everything up to this revision was delivered: start_revision - 1 at
 * first; for a watch from now (start_revision 0), -1 until etcd confirms
 * it, then the store's revision then. */
gint64 etcd_watch_revision(EtcdWatch *w);
/* etcd had reached revision (another answer said so, e.g. a
 * transaction's): a store found below it when the watch connects again
 * went back (a restore), even before the watch delivered that far. */
void etcd_watch_seen(EtcdWatch *w, gint64 revision);
/* Whether the stream is up (etcd confirmed it). */
bool etcd_watch_connected(EtcdWatch *w);
