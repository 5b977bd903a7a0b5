/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* etcd's own put-to-watch latency across members: a put through member 1
 * until the watch event arrives through member 3, by the cluster room's
 * client. The floor that issue 13's "a change on node 1 until the signal
 * on node 3" is compared with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "etcd-cluster.h"

#define ROUNDS 300
#define WARM 20

typedef struct {
        EtcdClient *writer;
        guint events;
        double event_at, put_answered;
} Round;

static void on_events(EtcdWatch *w, GPtrArray *events, gpointer data) {
        Round *r = data;

        r->events += events->len;
        r->event_at = now_ms();
}

static void on_compacted(EtcdWatch *w, gint64 revision, gpointer data) {
        fprintf(stderr, "bench etcd: the watch was compacted at %" G_GINT64_FORMAT "\n", revision);
        abort();
}

static void on_put(GObject *source, GAsyncResult *res, gpointer data) {
        Round *r = data;
        g_autoptr(GError) error = NULL;

        if (etcd_kv_put_finish(r->writer, res, &error) <= 0) {
                fprintf(stderr, "bench etcd: put failed: %s\n", error->message);
                abort();
        }
        r->put_answered = now_ms();
}

typedef struct {
        Round *round;
        guint events;
} Until;

static bool round_done(gpointer data) {
        Until *u = data;

        return u->round->events >= u->events && u->round->put_answered > 0;
}

static bool watch_up(gpointer data) {
        return etcd_watch_connected(data);
}

void bench_etcd(void) {
        g_autoptr(EtcdCluster) cluster = etcd_cluster_new(3, false);
        const char *const first[] = { etcd_cluster_endpoint(cluster, 0), NULL };
        const char *const third[] = { etcd_cluster_endpoint(cluster, 2), NULL };
        g_autoptr(EtcdClient) writer = etcd_client_new(first, NULL, NULL, NULL);
        g_autoptr(EtcdClient) reader = etcd_client_new(third, NULL, NULL, NULL);
        g_autofree char *end = etcd_prefix_end("/bench/");
        static const EtcdWatchFuncs funcs = { on_events, on_compacted };
        Round round = { writer };
        double signal[ROUNDS], answer[ROUNDS];

        g_assert_nonnull(writer);
        g_assert_nonnull(reader);
        g_autoptr(EtcdWatch) watch = etcd_watch_new(reader, "/bench/", end, 0, false, &funcs, &round);
        g_assert_true(etcd_cluster_loop_until(watch_up, watch, 10000));
        for (guint i = 0; i < WARM + ROUNDS; i++) {
                g_autofree char *value = g_strdup_printf("%u", i);
                Until until = { &round, round.events + 1 };
                double start = now_ms();

                round.put_answered = 0;
                etcd_kv_put_async(writer, "/bench/key", value, strlen(value), 0, NULL, on_put, &round);
                g_assert_true(etcd_cluster_loop_until(round_done, &until, 10000));
                if (i < WARM)
                        continue;
                /* The signal may arrive before the put's own answer. */
                signal[i - WARM] = round.event_at - start;
                answer[i - WARM] = round.put_answered - start;
        }
        printf("\netcd: put through member 1 until the watch event through member 3 (3 members on loopback, "
               "%d rounds)\n", ROUNDS);
        printf("  %-44s median %7.3f ms   p95 %7.3f ms\n", "put until the event on member 3 (the floor)",
               median(signal, ROUNDS), percentile(signal, ROUNDS, 0.95));
        printf("  %-44s median %7.3f ms   p95 %7.3f ms\n", "put until its answer from member 1",
               median(answer, ROUNDS), percentile(answer, ROUNDS, 0.95));
}
