/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster room's etcd client against a real etcd: keys, transactions,
 * leases, watches across member loss and compaction, failover, quorum
 * loss, TLS with client certificates. The argument picks the tests
 * (a cmocka filter: "kv*", "watch*", ...). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "etcd-cluster.h"

#define ANSWER_MS 15000

static EtcdClient *client_new(EtcdCluster *cluster, const char *const *endpoints, guint request_ms) {
        g_autoptr(GError) error = NULL;
        EtcdTimeouts t = { .request_ms = request_ms };
        EtcdClient *c = etcd_client_new(endpoints ?: etcd_cluster_endpoints(cluster), etcd_cluster_tls(cluster), &t,
                                        &error);

        g_assert_no_error(error);
        return c;
}

static gint64 put(EtcdClient *c, const char *key, const char *value, gint64 lease, GError **error) {
        g_autoptr(GAsyncResult) res = NULL;

        etcd_kv_put_async(c, key, value, strlen(value), lease, NULL, etcd_cluster_got, &res);
        return etcd_kv_put_finish(c, etcd_cluster_await(&res, ANSWER_MS), error);
}

static gint64 put_ok(EtcdClient *c, const char *key, const char *value) {
        g_autoptr(GError) error = NULL;
        gint64 revision = put(c, key, value, 0, &error);

        g_assert_no_error(error);
        assert_true(revision > 0);
        return revision;
}

static EtcdRangeResult *range(EtcdClient *c, const char *key, const char *range_end, gint64 revision,
                              GError **error) {
        g_autoptr(GAsyncResult) res = NULL;

        etcd_kv_range_async(c, key, range_end, revision, 0, NULL, etcd_cluster_got, &res);
        return etcd_kv_range_finish(c, etcd_cluster_await(&res, ANSWER_MS), error);
}

/* The value of key, NULL when it does not exist. */
static char *value_of(EtcdClient *c, const char *key) {
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdRangeResult) r = range(c, key, NULL, 0, &error);

        g_assert_no_error(error);
        assert_true(r->kvs->len <= 1);
        return r->kvs->len ? g_strdup(((EtcdKv *) r->kvs->pdata[0])->value) : NULL;
}

static EtcdTxnResult *txn_run(EtcdClient *c, EtcdTxn *t) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;
        EtcdTxnResult *r;

        etcd_txn_async(c, t, NULL, etcd_cluster_got, &res);
        r = etcd_txn_finish(c, etcd_cluster_await(&res, ANSWER_MS), &error);
        g_assert_no_error(error);
        return r;
}

static gint64 lease_grant(EtcdClient *c, gint64 ttl) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;
        gint64 granted, lease;

        etcd_lease_grant_async(c, ttl, NULL, etcd_cluster_got, &res);
        lease = etcd_lease_grant_finish(c, etcd_cluster_await(&res, ANSWER_MS), &granted, &error);
        g_assert_no_error(error);
        assert_int_equal(granted, ttl);
        return lease;
}

static void kv_basics(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(1, false);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *end = etcd_prefix_end("/p/");
        gint64 r1 = put_ok(c, "/p/a", "1");
        gint64 r2 = put_ok(c, "/p/b", "two");

        assert_true(r2 == r1 + 1);
        put_ok(c, "/q", "outside");
        g_autoptr(EtcdRangeResult) all = range(c, "/p/", end, 0, &error);
        g_assert_no_error(error);
        assert_int_equal(all->kvs->len, 2);
        assert_int_equal(all->count, 2);
        EtcdKv *b = all->kvs->pdata[1];
        assert_string_equal(b->key, "/p/b");
        assert_string_equal(b->value, "two");
        assert_int_equal(b->value_len, 3);
        assert_int_equal(b->mod_revision, r2);
        assert_int_equal(b->version, 1);
        assert_int_equal(all->revision, r2 + 1);

        /* Bytes, not text: a value with a NUL in it. */
        etcd_kv_put_async(c, "/bin", "a\0b", 3, 0, NULL, etcd_cluster_got, &res);
        assert_true(etcd_kv_put_finish(c, etcd_cluster_await(&res, ANSWER_MS), &error) > 0);
        g_clear_object(&res);
        g_autoptr(EtcdRangeResult) bin = range(c, "/bin", NULL, 0, &error);
        assert_int_equal(((EtcdKv *) bin->kvs->pdata[0])->value_len, 3);
        assert_memory_equal(((EtcdKv *) bin->kvs->pdata[0])->value, "a\0b", 3);

        /* An old revision, then the same compacted away. */
        g_autoptr(EtcdRangeResult) old = range(c, "/p/a", NULL, r1, &error);
        g_assert_no_error(error);
        assert_string_equal(((EtcdKv *) old->kvs->pdata[0])->value, "1");

        etcd_kv_delete_async(c, "/p/", end, NULL, etcd_cluster_got, &res);
        assert_int_equal(etcd_kv_delete_finish(c, etcd_cluster_await(&res, ANSWER_MS), &error), 2);
        g_assert_no_error(error);
        g_autofree char *gone = value_of(c, "/p/a");
        assert_null(gone);
        g_autofree char *kept = value_of(c, "/q");
        assert_string_equal(kept, "outside");

        etcd_cluster_compact(cluster, 0, r2 + 2);
        g_autoptr(EtcdRangeResult) compacted = range(c, "/p/a", NULL, r1, &error);
        assert_null(compacted);
        assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_COMPACTED));
}

/* A range in pages: limit keys each, from the key after the page's last
 * (it and a NUL), every page at the first's revision (a key put after the
 * first page is not read); a revision past the store's is FUTURE; an
 * answer above the client's bound is TOO_LARGE. */
static void kv_pages(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(1, false);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        g_autofree char *end = etcd_prefix_end("/p/");
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *from = g_strdup("/p/");
        gsize from_len = strlen(from);
        gint64 pinned = 0;
        guint pages = 0;

        for (int i = 0; i < 5; i++) {
                g_autofree char *key = g_strdup_printf("/p/%d", i);
                put_ok(c, key, "x");
        }
        for (;;) {
                g_autoptr(GAsyncResult) res = NULL;
                etcd_kv_range_from_async(c, from, from_len, end, pinned, 2, NULL, etcd_cluster_got, &res);
                g_autoptr(EtcdRangeResult) r = etcd_kv_range_finish(c, etcd_cluster_await(&res, ANSWER_MS), &error);
                g_assert_no_error(error);
                pages++;
                if (!pinned) {
                        pinned = r->revision;
                        put_ok(c, "/p/9", "late");
                }
                for (guint i = 0; i < r->kvs->len; i++)
                        g_ptr_array_add(keys, g_strdup(((EtcdKv *) r->kvs->pdata[i])->key));
                if (!r->more)
                        break;
                const EtcdKv *last = r->kvs->pdata[r->kvs->len - 1];
                g_free(from);
                from = g_malloc0(last->key_len + 1);
                memcpy(from, last->key, last->key_len);
                from_len = last->key_len + 1;
        }
        assert_int_equal(pages, 3);
        assert_int_equal(keys->len, 5);
        for (guint i = 0; i < keys->len; i++) {
                g_autofree char *want = g_strdup_printf("/p/%u", i);
                assert_string_equal(keys->pdata[i], want);
        }

        g_autoptr(EtcdRangeResult) future = range(c, "/p/", end, pinned + 100, &error);
        assert_null(future);
        assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_FUTURE));
        g_clear_error(&error);

        EtcdTimeouts small = { .max_response = 64 };
        g_autoptr(EtcdClient) bounded = etcd_client_new(etcd_cluster_endpoints(cluster), NULL, &small, &error);
        g_autoptr(EtcdRangeResult) large = range(bounded, "/p/", end, 0, &error);
        assert_null(large);
        assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_TOO_LARGE));
}

/* Compare-and-swap: two transactions race on one key's mod revision; one wins. */
static void kv_txn(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(1, false);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        g_autoptr(EtcdClient) other = client_new(cluster, NULL, 0);

        /* Create only if absent: the second time the failure branch reads it. */
        for (int round = 0; round < 2; round++) {
                g_autoptr(EtcdTxn) t = etcd_txn_new();
                etcd_txn_compare(t, "/lock", ETCD_TARGET_VERSION, ETCD_RESULT_EQUAL, 0);
                etcd_txn_put(t, true, "/lock", "mine", 4, 0);
                etcd_txn_range(t, false, "/lock", NULL);
                g_autoptr(EtcdTxnResult) r = txn_run(c, t);
                assert_int_equal(r->succeeded, round == 0);
                assert_int_equal(r->responses->len, 1);
                EtcdOpResponse *op = r->responses->pdata[0];
                assert_int_equal(op->kind, round == 0 ? ETCD_OP_PUT : ETCD_OP_RANGE);
                if (round == 1)
                        assert_string_equal(((EtcdKv *) op->kvs->pdata[0])->value, "mine");
        }

        for (int round = 0; round < 20; round++) {
                g_autoptr(EtcdRangeResult) now = range(c, "/lock", NULL, 0, NULL);
                gint64 mod = ((EtcdKv *) now->kvs->pdata[0])->mod_revision;
                g_autoptr(EtcdTxn) a = etcd_txn_new();
                g_autoptr(EtcdTxn) b = etcd_txn_new();
                g_autoptr(GAsyncResult) ra = NULL;
                g_autoptr(GAsyncResult) rb = NULL;

                etcd_txn_compare(a, "/lock", ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod);
                etcd_txn_put(a, true, "/lock", "a", 1, 0);
                etcd_txn_compare(b, "/lock", ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod);
                etcd_txn_put(b, true, "/lock", "b", 1, 0);
                etcd_txn_delete(b, true, "/other", NULL);
                etcd_txn_async(c, a, NULL, etcd_cluster_got, &ra);
                etcd_txn_async(other, b, NULL, etcd_cluster_got, &rb);
                etcd_cluster_await(&ra, ANSWER_MS);
                etcd_cluster_await(&rb, ANSWER_MS);
                g_autoptr(EtcdTxnResult) ta = etcd_txn_finish(c, ra, NULL);
                g_autoptr(EtcdTxnResult) tb = etcd_txn_finish(other, rb, NULL);
                assert_non_null(ta);
                assert_non_null(tb);
                assert_true(ta->succeeded != tb->succeeded);
                g_autofree char *v = value_of(c, "/lock");
                assert_string_equal(v, ta->succeeded ? "a" : "b");
                assert_int_equal(tb->responses->len, tb->succeeded ? 2 : 0);
        }

        /* A range compare: no key under a prefix. */
        g_autofree char *end = etcd_prefix_end("/users/");
        for (int round = 0; round < 2; round++) {
                g_autoptr(EtcdTxn) none = etcd_txn_new();
                etcd_txn_compare_range(none, "/users/", end, ETCD_TARGET_VERSION, ETCD_RESULT_EQUAL, 0);
                etcd_txn_put(none, true, "/deleted", "yes", 3, 0);
                g_autoptr(EtcdTxnResult) r = txn_run(c, none);
                assert_int_equal(r->succeeded, round == 0);
                put_ok(c, "/users/1", "x");
        }

        /* VALUE, NOT_EQUAL, GREATER, LESS. */
        g_autoptr(EtcdTxn) t = etcd_txn_new();
        etcd_txn_compare_value(t, "/lock", ETCD_RESULT_NOT_EQUAL, "c", 1);
        etcd_txn_compare(t, "/lock", ETCD_TARGET_VERSION, ETCD_RESULT_GREATER, 1);
        etcd_txn_compare(t, "/lock", ETCD_TARGET_CREATE, ETCD_RESULT_LESS, G_MAXINT64);
        etcd_txn_put(t, true, "/lock", "c", 1, 0);
        g_autoptr(EtcdTxnResult) r = txn_run(c, t);
        assert_true(r->succeeded);
        g_autofree char *v = value_of(c, "/lock");
        assert_string_equal(v, "c");
}

static void lease_lost(EtcdLeaseKeeper *k, const GError *error, gpointer data) {
        *(bool *) data = true;
}

static bool flag_set(gpointer data) {
        return *(bool *) data;
}

typedef struct {
        EtcdClient *client;
        const char *key;
} KeyGone;

static bool key_gone(gpointer data) {
        KeyGone *g = data;
        g_autofree char *v = value_of(g->client, g->key);

        return v == NULL;
}

/* A kept lease outlives its TTL; a lease let go takes its keys with it;
 * a revoked lease is reported lost. */
static void kv_lease(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(1, false);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        g_autoptr(GError) error = NULL;
        gint64 lease = lease_grant(c, 2);
        bool lost = false;

        assert_true(put(c, "/node/n1", "up", lease, &error) > 0);
        g_assert_no_error(error);
        EtcdLeaseKeeper *k = etcd_lease_keeper_new(c, lease, 2, lease_lost, &lost);
        /* Three TTLs: the key is still there only if the keeper works. */
        assert_false(etcd_cluster_loop_until(flag_set, &lost, 6000));
        assert_true(etcd_lease_keeper_alive(k));
        g_autofree char *v = value_of(c, "/node/n1");
        assert_string_equal(v, "up");
        g_autoptr(EtcdRangeResult) r = range(c, "/node/n1", NULL, 0, NULL);
        assert_int_equal(((EtcdKv *) r->kvs->pdata[0])->lease, lease);

        etcd_lease_keeper_free(k);
        KeyGone gone = { c, "/node/n1" };
        assert_true(etcd_cluster_loop_until(key_gone, &gone, 6000));

        /* Revoked under its keeper: the next keepalive learns it. */
        gint64 second = lease_grant(c, 3);
        g_autoptr(GAsyncResult) res = NULL;
        k = etcd_lease_keeper_new(c, second, 3, lease_lost, &lost);
        etcd_lease_revoke_async(c, second, NULL, etcd_cluster_got, &res);
        assert_true(etcd_lease_revoke_finish(c, etcd_cluster_await(&res, ANSWER_MS), &error));
        assert_true(etcd_cluster_loop_until(flag_set, &lost, 3000));
        assert_false(etcd_lease_keeper_alive(k));
        etcd_lease_keeper_free(k);
        g_clear_object(&res);
        etcd_lease_revoke_async(c, second, NULL, etcd_cluster_got, &res);
        assert_false(etcd_lease_revoke_finish(c, etcd_cluster_await(&res, ANSWER_MS), &error));
        assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_LEASE_NOT_FOUND));
}

typedef struct {
        GPtrArray *seen;         /* "PUT key=value@revision" */
        gint64 last;
        gint64 compacted;
        gint64 rewound;
        bool disorder;
} Seen;

static void watch_events(EtcdWatch *w, GPtrArray *events, gpointer data) {
        Seen *s = data;

        for (guint i = 0; i < events->len; i++) {
                EtcdEvent *e = events->pdata[i];
                if (e->kv->mod_revision <= s->last)
                        s->disorder = true;
                s->last = e->kv->mod_revision;
                g_ptr_array_add(s->seen, g_strdup_printf("%s %s=%s", e->type == ETCD_EVENT_PUT ? "PUT" : "DELETE",
                                                         e->kv->key, e->kv->value));
        }
}

static void watch_compacted(EtcdWatch *w, gint64 revision, gpointer data) {
        ((Seen *) data)->compacted = revision;
}

static bool compacted(gpointer data) {
        return ((Seen *) data)->compacted > 0;
}

static void watch_rewound(EtcdWatch *w, gint64 revision, gpointer data) {
        ((Seen *) data)->rewound = revision;
}

static bool rewound(gpointer data) {
        return ((Seen *) data)->rewound > 0;
}

static const EtcdWatchFuncs seen_funcs = { watch_events, watch_compacted, watch_rewound };

typedef struct {
        Seen *seen;
        guint count;
} SeenCount;

static bool seen_enough(gpointer data) {
        SeenCount *s = data;

        return s->seen->seen->len >= s->count;
}

static bool watch_up(gpointer data) {
        return etcd_watch_connected(data);
}

static bool watch_down(gpointer data) {
        return !etcd_watch_connected(data);
}

/* In order, every one, across a SIGKILL of the member the watch was on. */
static void watch_resume(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(3, false);
        const char *const writers[] = { etcd_cluster_endpoint(cluster, 1), etcd_cluster_endpoint(cluster, 2), NULL };
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        g_autoptr(EtcdClient) w = client_new(cluster, writers, 0);
        g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *end = etcd_prefix_end("/w/");
        Seen s = { seen };
        gint64 first = put_ok(w, "/w/0", "0");

        assert_string_equal(etcd_client_endpoint(c), etcd_cluster_endpoint(cluster, 0));
        g_autoptr(EtcdWatch) watch = etcd_watch_new(c, "/w/", end, first, true, &seen_funcs, &s);
        assert_true(etcd_cluster_loop_until(watch_up, watch, ANSWER_MS));
        for (int i = 1; i < 10; i++) {
                g_autofree char *key = g_strdup_printf("/w/%d", i);
                put_ok(w, key, key + 3);
        }
        put_ok(w, "/elsewhere", "x");
        SeenCount ten = { &s, 10 };
        assert_true(etcd_cluster_loop_until(seen_enough, &ten, ANSWER_MS));

        /* It may have been the leader: the writes wait for the next one. */
        etcd_cluster_kill(cluster, 0);
        assert_true(etcd_cluster_wait_healthy(cluster, 1, ANSWER_MS));
        for (int i = 10; i < 20; i++) {
                g_autofree char *key = g_strdup_printf("/w/%d", i);
                put_ok(w, key, key + 3);
        }
        etcd_kv_delete_async(w, "/w/0", NULL, NULL, NULL, NULL);
        SeenCount all = { &s, 21 };
        assert_true(etcd_cluster_loop_until(seen_enough, &all, ANSWER_MS));
        assert_false(s.disorder);
        assert_int_equal(seen->len, 21);
        for (int i = 0; i < 20; i++) {
                g_autofree char *want = g_strdup_printf("PUT /w/%d=%d", i, i);
                assert_string_equal(seen->pdata[i], want);
        }
        assert_string_equal(seen->pdata[20], "DELETE /w/0=");
        assert_string_not_equal(etcd_client_endpoint(c), etcd_cluster_endpoint(cluster, 0));
}

/* A watch from a compacted revision says so, and stops. */
static void watch_compaction(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(1, false);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
        Seen s = { seen };
        gint64 first = put_ok(c, "/k", "1");

        put_ok(c, "/k", "2");
        gint64 last = put_ok(c, "/k", "3");
        etcd_cluster_compact(cluster, 0, last);
        g_autoptr(EtcdWatch) watch = etcd_watch_new(c, "/k", NULL, first, false, &seen_funcs, &s);
        assert_true(etcd_cluster_loop_until(compacted, &s, ANSWER_MS));
        assert_int_equal(s.compacted, last);
        assert_int_equal(seen->len, 0);

        /* From the compaction on, it delivers. */
        g_autoptr(EtcdWatch) again = etcd_watch_new(c, "/k", NULL, last, false, &seen_funcs, &s);
        SeenCount one = { &s, 1 };
        assert_true(etcd_cluster_loop_until(seen_enough, &one, ANSWER_MS));
        assert_string_equal(seen->pdata[0], "PUT /k=3");
}

/* A watch from past the store's revision, as after etcd was restored from
 * an older backup (etcd itself would wait, silent): it says so, with the
 * store's revision, and stops. */
static void watch_future(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(1, false);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
        Seen s = { seen };
        gint64 now = put_ok(c, "/k", "1");

        g_autoptr(EtcdWatch) watch = etcd_watch_new(c, "/k", NULL, now + 10, false, &seen_funcs, &s);
        assert_true(etcd_cluster_loop_until(rewound, &s, ANSWER_MS));
        assert_int_equal(s.rewound, now);
        assert_false(etcd_watch_connected(watch));
        assert_int_equal(seen->len, 0);
}

/* A dead member: the next one answers. Two dead: no quorum, UNAVAILABLE
 * within the deadline, a kept lease lost; back: the same client succeeds
 * again. */
static void failover_quorum(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(3, false);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 2000);
        g_autoptr(GError) error = NULL;

        put_ok(c, "/a", "1");
        etcd_cluster_kill(cluster, 0);
        /* Once the two left have a leader: a put sent while they elect one
         * (member 0 was the leader) is dropped by etcd and answered only
         * after etcd's own request timeout, past the client's deadline. */
        assert_true(etcd_cluster_wait_healthy(cluster, 1, ANSWER_MS));
        put_ok(c, "/a", "2");
        assert_string_not_equal(etcd_client_endpoint(c), etcd_cluster_endpoint(cluster, 0));

        /* A watch on the member that will be left alone. */
        const char *const last[] = { etcd_cluster_endpoint(cluster, 2), NULL };
        g_autoptr(EtcdClient) alone = client_new(cluster, last, 0);
        g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
        Seen s = { seen };
        g_autoptr(EtcdWatch) watch = etcd_watch_new(alone, "/a", NULL, 0, false, &seen_funcs, &s);
        assert_true(etcd_cluster_loop_until(watch_up, watch, ANSWER_MS));

        /* A kept lease, lost once no keepalive reaches a quorum for its TTL. */
        bool lost = false;
        g_autoptr(EtcdLeaseKeeper) k = etcd_lease_keeper_new(c, lease_grant(c, 2), 2, lease_lost, &lost);

        etcd_cluster_kill(cluster, 1);
        gint64 start = g_get_monotonic_time();
        assert_int_equal(put(c, "/a", "3", 0, &error), 0);
        gint64 took_ms = (g_get_monotonic_time() - start) / 1000;
        assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_UNAVAILABLE));
        /* It says where it asked (ClusterUnavailable names the endpoints). */
        if (!strstr(error->message, etcd_cluster_endpoint(cluster, 2)))
                fail_msg("'%s' does not name the member it asked", error->message);
        g_clear_error(&error);
        if (took_ms > 3000)
                fail_msg("a put without quorum took %" G_GINT64_FORMAT " ms (deadline 2,000)", took_ms);

        assert_true(etcd_cluster_loop_until(flag_set, &lost, 6000));
        assert_false(etcd_lease_keeper_alive(k));
        /* The member without a leader ended the watch: it is not silently stale. */
        assert_true(etcd_cluster_loop_until(watch_down, watch, ANSWER_MS));

        etcd_cluster_start(cluster, 0);
        etcd_cluster_start(cluster, 1);
        assert_true(etcd_cluster_wait_healthy(cluster, 2, 30000));
        /* Until the client's own try reaches a member with a leader. */
        gint64 revision = 0;
        for (int i = 0; i < 10 && revision == 0; i++) {
                revision = put(c, "/a", "4", 0, &error);
                g_clear_error(&error);
        }
        assert_true(revision > 0);
        g_autofree char *v = value_of(c, "/a");
        assert_string_equal(v, "4");
        /* Resumed by itself, from where it was. */
        SeenCount one = { &s, 1 };
        assert_true(etcd_cluster_loop_until(seen_enough, &one, ANSWER_MS));
        assert_string_equal(seen->pdata[seen->len - 1], "PUT /a=4");
}

/* Client certificates: verified both ways; no certificate, no answer. */
static void tls_client_certificates(void **state) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(1, true);
        g_autoptr(EtcdClient) c = client_new(cluster, NULL, 0);
        const EtcdTls *tls = etcd_cluster_tls(cluster);
        EtcdTls anonymous = { .ca_file = tls->ca_file };
        g_autoptr(GError) error = NULL;

        put_ok(c, "/secure", "yes");
        g_autofree char *v = value_of(c, "/secure");
        assert_string_equal(v, "yes");

        /* As localhost: GLib resumes TLS sessions per server name and port,
         * and a session resumed from the client above would carry its
         * certificate. */
        const char *port = strrchr(etcd_cluster_endpoint(cluster, 0), ':') + 1;
        g_autofree char *localhost = g_strconcat("https://localhost:", port, NULL);
        const char *const by_name[] = { localhost, NULL };
        g_autoptr(EtcdClient) bare = etcd_client_new(by_name, &anonymous, NULL, &error);
        g_assert_no_error(error);
        assert_int_equal(put(bare, "/secure", "no", 0, &error), 0);
        assert_true(g_error_matches(error, ETCD_ERROR, ETCD_ERROR_UNAVAILABLE));
        g_clear_error(&error);

        /* https without a CA to verify it with is refused at once. */
        g_autoptr(EtcdClient) none = etcd_client_new(etcd_cluster_endpoints(cluster), NULL, NULL, &error);
        assert_null(none);
        assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(kv_basics),
                cmocka_unit_test(kv_pages),
                cmocka_unit_test(kv_txn),
                cmocka_unit_test(kv_lease),
                cmocka_unit_test(watch_resume),
                cmocka_unit_test(watch_compaction),
                cmocka_unit_test(watch_future),
                cmocka_unit_test(failover_quorum),
                cmocka_unit_test(tls_client_certificates),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
