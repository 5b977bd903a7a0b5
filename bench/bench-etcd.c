/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* etcd's own put-to-watch latency across members: a put through member 1
 * until the watch event arrives through member 3, by the cluster room's
 * client. The floor that issue 13's "a change on node 1 until the signal
 * on node 3" is compared with (bench-cluster.c measures both in turn). */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define ROUNDS 300
#define WARM 20

struct EtcdFloor {
        EtcdClient *writer, *reader;
        EtcdWatch *watch;
        guint events, round;
        double event_at, put_answered;
        char *key;
        gsize value_len;          /* 0: the round's number */
        gint64 txn_revision;      /* of the keys etcd_floor_txn_round() last wrote */
};

static void on_events(EtcdWatch *w, GPtrArray *events, gpointer data) {
        EtcdFloor *f = data;

        f->events += events->len;
        f->event_at = now_ms();
}

static void on_compacted(EtcdWatch *w, gint64 revision, gpointer data) {
        fprintf(stderr, "bench etcd: the watch was compacted at %" G_GINT64_FORMAT "\n", revision);
        abort();
}

static void on_put(GObject *source, GAsyncResult *res, gpointer data) {
        EtcdFloor *f = data;
        g_autoptr(GError) error = NULL;

        if (etcd_kv_put_finish(f->writer, res, &error) <= 0) {
                fprintf(stderr, "bench etcd: put failed: %s\n", error->message);
                abort();
        }
        f->put_answered = now_ms();
}

static void on_txn(GObject *source, GAsyncResult *res, gpointer data) {
        EtcdFloor *f = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdTxnResult) r = etcd_txn_finish(f->writer, res, &error);

        if (!r || !r->succeeded) {
                fprintf(stderr, "bench etcd: the floor's transaction: %s\n", r ? "a compare failed" : error->message);
                abort();
        }
        f->txn_revision = r->revision;
        f->put_answered = now_ms();
}

typedef struct {
        EtcdFloor *floor;
        guint events;
} Until;

static bool round_done(gpointer data) {
        Until *u = data;

        return u->floor->events >= u->events && u->floor->put_answered > 0;
}

static bool watch_up(gpointer data) {
        return etcd_watch_connected(data);
}

EtcdFloor *etcd_floor_new(EtcdCluster *cluster) {
        const char *const first[] = { etcd_cluster_endpoint(cluster, 0), NULL };
        const char *const third[] = { etcd_cluster_endpoint(cluster, 2), NULL };
        g_autofree char *end = etcd_prefix_end("/bench/");
        static const EtcdWatchFuncs funcs = { on_events, on_compacted };
        EtcdFloor *f = g_new0(EtcdFloor, 1);

        f->writer = etcd_client_new(first, NULL, NULL, NULL);
        f->reader = etcd_client_new(third, NULL, NULL, NULL);
        g_assert_nonnull(f->writer);
        g_assert_nonnull(f->reader);
        f->watch = etcd_watch_new(f->reader, "/bench/", end, 0, false, &funcs, f);
        g_assert_true(etcd_cluster_loop_until(watch_up, f->watch, 10000));
        f->key = g_strdup("/bench/key");
        return f;
}

void etcd_floor_shape(EtcdFloor *f, gsize key_len, gsize value_len) {
        g_autoptr(GString) key = g_string_new("/bench/key");

        while (key->len < key_len)
                g_string_append_c(key, 'k');
        g_free(f->key);
        f->key = g_string_free(g_steal_pointer(&key), false);
        f->value_len = value_len;
}

void etcd_floor_free(EtcdFloor *f) {
        etcd_watch_free(f->watch);
        etcd_client_unref(f->reader);
        etcd_client_unref(f->writer);
        g_free(f->key);
        g_free(f);
}

double etcd_floor_round(EtcdFloor *f, double *answer) {
        g_autoptr(GString) value = g_string_new(NULL);
        Until until = { f, f->events + 1 };
        double start = now_ms();

        g_string_printf(value, "%u", f->round++);
        while (value->len < f->value_len)
                g_string_append_c(value, 'v');
        f->put_answered = 0;
        etcd_kv_put_async(f->writer, f->key, value->str, value->len, 0, NULL, on_put, f);
        g_assert_true(etcd_cluster_loop_until(round_done, &until, 10000));
        if (answer)
                *answer = f->put_answered - start;
        /* The signal may arrive before the put's own answer. */
        return f->event_at - start;
}

EtcdTxn *etcd_floor_txn(const char *prefix, GPtrArray *keys, gint64 revision) {
        EtcdTxn *t = etcd_txn_new();

        for (guint i = 0; i < keys->len; i++) {
                const EtcdKv *kv = keys->pdata[i];
                g_autofree char *key = g_strconcat(prefix, kv->key, NULL);
                etcd_txn_compare(t, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, revision);
                etcd_txn_put(t, true, key, kv->value, kv->value_len, 0);
        }
        return t;
}

double etcd_floor_txn_round(EtcdFloor *f, GPtrArray *keys, double *answer) {
        g_autoptr(EtcdTxn) t = etcd_floor_txn("/bench", keys, f->txn_revision);
        Until until = { f, f->events + keys->len };
        double start = now_ms();

        f->put_answered = 0;
        etcd_txn_async(f->writer, t, NULL, on_txn, f);
        g_assert_true(etcd_cluster_loop_until(round_done, &until, 10000));
        if (answer)
                *answer = f->put_answered - start;
        return f->event_at - start;
}

void bench_etcd(void) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(3, false);
        EtcdFloor *f = etcd_floor_new(cluster);
        double signal[ROUNDS], answer[ROUNDS];

        for (guint i = 0; i < WARM + ROUNDS; i++) {
                double a, s = etcd_floor_round(f, &a);
                if (i < WARM)
                        continue;
                signal[i - WARM] = s;
                answer[i - WARM] = a;
        }
        etcd_floor_free(f);
        printf("\netcd: put through member 1 until the watch event through member 3 (3 members on loopback, "
               "%d rounds)\n", ROUNDS);
        printf("  %-44s median %7.3f ms   p95 %7.3f ms\n", "put until the event on member 3 (the floor)",
               median(signal, ROUNDS), percentile(signal, ROUNDS, 0.95));
        printf("  %-44s median %7.3f ms   p95 %7.3f ms\n", "put until its answer from member 1",
               median(answer, ROUNDS), percentile(answer, ROUNDS, 0.95));
}
