/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Issue 13's figures: three devpassd on a 3-member etcd, each on its own
 * generated node of 4,096 functions, private bus and real polkitd (the
 * caller is root), as tests/cluster/cluster-bus.c starts them.
 *
 * A change on node 1 until the signal on node 3: CreateGroup sent to
 * node 1 until the group's InterfacesAdded arrives on node 3's bus. A
 * floor does the same work as what it is compared with: devpassd's change
 * is a D-Bus call with polkit's check on node 1 and a write that travels
 * through etcd to node 3, where a signal goes out on the bus. So the
 * floor is the sum, per round, of the bare service's CreateGroup on node
 * 1's bus (bare-service.c: the same a{sv}, CheckAuthorization by node 1's
 * polkitd, the group's InterfacesAdded received by this client, a path
 * back; bench.c's floor of a mutating call) and etcd's own transaction
 * of the keys the change wrote (the group's, its name's, the ids', the
 * same sizes, each guarded by a compare as devpassd guards them) through
 * member 1 until its watch events through member 3 (bench-etcd.c). The
 * ratios against etcd alone, and against one put of the group's size,
 * are printed too. All in turn.
 *
 * A claim in cluster mode: Claim of a machine with one attachment of a VF
 * on node 1, against the same Claim on a devpassd alone (its own node,
 * bus and polkitd) plus one etcd transaction of the same size as the
 * cluster's: the keys and values the cluster's Claim wrote, each guarded
 * by a compare of its revision, put through member 1 under a prefix of
 * their own. Each claim's Release is untimed; the three in turn. */
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>

#include "bench.h"
#include "calls.h"
#include "fakekernel.h"
#include "nodegen.h"

#define FUNCTIONS 4096
#define NODES 3
#define ROUNDS 100
#define WARM 10
#define MANAGER "org.devpass1.Manager"
#define FLOOR_PREFIX "/bench-claim"
/* The groups' keys under devpass's default prefix (doc/cluster.md). */
#define GROUP_KEYS "/devpass/v1/shared/groups/"

typedef struct {
        EtcdCluster *etcd;
        Harness *h[NODES];
        FakeKernel *fk;           /* node 1's */
        Harness *alone;
        FakeKernel *alone_fk;
} Cluster;

/* A generated node with devpassd (a member of etcd when config) and
 * polkitd; a fake kernel in *fk when fk. */
static Harness *node_new(const char *name, const char *config, FakeKernel **fk) {
        Harness *h = harness_prepare(NULL);

        nodegen_write(testbed_sys_dir(h->testbed), FUNCTIONS);
        bench_proc_tables_write(h);
        g_free(h->node);
        h->node = g_strdup(name);
        if (config)
                harness_config_add(h, config);
        harness_daemon_start(h, NULL);
        harness_polkit_start(h, NULL);
        if (fk) {
                *fk = fakekernel_new(h->testbed);
                fakekernel_load_vfio(*fk, true);
        }
        h->connection = harness_connect(h);
        return h;
}

static void drain(Harness *h) {
        while (sd_bus_process(h->bus, NULL) > 0)
                ;
        harness_clear_signals(h);
}

/* The node's first VF by address. */
static char *first_vf(Harness *h) {
        g_autofree char *dir = g_build_filename(testbed_sys_dir(h->testbed), "bus", "pci", "devices", NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        char *first = NULL;
        const char *name;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                g_autofree char *physfn = g_build_filename(dir, name, "physfn", NULL);
                if (g_file_test(physfn, G_FILE_TEST_EXISTS) && (!first || strcmp(name, first) < 0)) {
                        g_free(first);
                        first = g_strdup(name);
                }
        }
        g_assert_nonnull(first);
        return first;
}

/* The VF passed through into a group of its own, and machine vm1 with an
 * attachment of it. */
static void claim_setup(Harness *h) {
        g_autofree char *vf = first_vf(h);
        const char *const vfs[] = { vf, NULL };
        g_autofree char *group = calls_passthrough_group(h, vfs, "vfs", "sriov-nic", "nic");

        g_free(calls_attach(h, "vm1", group, 1));
        drain(h);
}

/* Not calls_wait_prop(): outside a cmocka test its failure cannot be
 * reported, and a loaded machine may take longer than its 10 s. */
static bool cluster_up(Harness *h, void *data) {
        g_autoptr(GVariant) r = harness_call(h, "/org/devpass1", "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new("(ss)", MANAGER, "ClusterState"), NULL);
        g_autoptr(GVariant) v = NULL;

        if (!r)
                return false;
        g_variant_get(r, "(v)", &v);
        return g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) && g_str_equal(g_variant_get_string(v, NULL), "up");
}

static Cluster *cluster_new(void) {
        Cluster *c = g_new0(Cluster, 1);

        c->etcd = etcd_cluster_new(3, false);
        for (int i = 0; i < NODES; i++) {
                g_autofree char *name = g_strdup_printf("node%d", i + 1);
                g_autofree char *config = etcd_cluster_config(c->etcd, name);
                c->h[i] = node_new(name, config, i == 0 ? &c->fk : NULL);
        }
        for (int i = 0; i < NODES; i++)
                if (!harness_wait(c->h[i], cluster_up, NULL, 60000))
                        g_error("%s: the cluster is not up after a minute", c->h[i]->node);
        c->alone = node_new("alone", NULL, &c->alone_fk);
        return c;
}

static bool watch_up(gpointer data) {
        return etcd_watch_connected(data);
}

static void cluster_free(Cluster *c) {
        harness_daemon_stop(c->alone);
        fakekernel_free(c->alone_fk);
        harness_free(c->alone);
        for (int i = NODES - 1; i >= 0; i--) {
                harness_daemon_stop(c->h[i]);
                if (i == 0)
                        fakekernel_free(c->fk);
                harness_free(c->h[i]);
        }
        etcd_cluster_free(c->etcd);
        g_free(c);
}

/* ---- a change on node 1 until the signal on node 3 ---- */

/* One CreateGroup, on the default main context: node 1's and node 3's
 * buses as sources, and a watch of the groups' keys through member 3 (as
 * node 3's own), for when etcd has the change. Times since t0, ms. */
typedef struct {
        Harness *one, *three;
        double t0, replied, seen, signal;
        char *error;
        gint64 revision;          /* the change's in etcd */
} Round;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Round *r = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        r->replied = now_ms() - r->t0;
        if (e)
                r->error = g_strdup(e->message);
        return 0;
}

static void bus_process(sd_bus *bus) {
        int r;

        do
                g_assert_cmpint(r = sd_bus_process(bus, NULL), >=, 0);
        while (r > 0);
}

static gboolean on_bus(gint fd, GIOCondition condition, gpointer data) {
        Round *r = data;

        bus_process(r->one->bus);
        bus_process(r->three->bus);
        if (r->signal == 0 && harness_count_signals(r->three, "+", NULL) > 0)
                r->signal = now_ms() - r->t0;
        return G_SOURCE_CONTINUE;
}

static void on_group_key(EtcdWatch *w, GPtrArray *events, gpointer data) {
        Round *r = data;
        const EtcdEvent *e = events->pdata[0];

        if (r->seen == 0) {
                r->seen = now_ms() - r->t0;
                r->revision = e->kv->mod_revision;
        }
}

static void on_compacted(EtcdWatch *w, gint64 revision, gpointer data) {
        g_error("bench cluster: the watch was compacted at %" G_GINT64_FORMAT, revision);
}

static bool round_done(gpointer data) {
        Round *r = data;

        return r->replied > 0 && r->signal > 0 && r->seen > 0;
}

/* CreateGroup on node 1 until its InterfacesAdded on node 3: r's times. */
static void change_round(Cluster *c, Round *r) {
        static unsigned seq;
        g_autofree char *name = g_strdup_printf("bench group %u", ++seq);
        sd_bus_message *m = NULL;

        for (int i = 0; i < NODES; i++)
                drain(c->h[i]);
        *r = (Round) { c->h[0], c->h[2] };
        g_assert_cmpint(sd_bus_message_new_method_call(r->one->bus, &m, "org.devpass1", "/org/devpass1", MANAGER,
                                                       "CreateGroup"), >=, 0);
        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, "Name", "s", name), >=, 0);
        r->t0 = now_ms();
        g_assert_cmpint(sd_bus_call_async(r->one->bus, NULL, m, on_reply, r, 0), >=, 0);
        sd_bus_message_unref(m);
        if (!etcd_cluster_loop_until(round_done, r, 20000))
                g_error("CreateGroup '%s' on node1 %s, InterfacesAdded on node3 %s", name,
                        r->replied ? "answered" : "not answered", r->signal ? "seen" : "not seen");
        if (r->error)
                g_error("CreateGroup on node1: %s", r->error);
}

/* The bare service's CreateGroup on h's bus, with h's polkitd: ms. */
static double bare_round(Harness *h) {
        static unsigned seq;
        g_autofree char *name = g_strdup_printf("bench group %u", ++seq);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        double t0 = now_ms();
        int r = sd_bus_call_method(h->bus, "org.devpass1.Bare", "/manager", "org.devpass1.Bare.Manager",
                                   "CreateGroup", &error, &reply, "a{sv}", 1, "Name", "s", name);
        double ms = now_ms() - t0;
        if (r < 0)
                g_error("the bare CreateGroup on %s: %s", h->node, error.message);
        sd_bus_message_unref(reply);
        drain(h);
        return ms;
}

static void report(const char *what, double *v, double *floor, const char *floor_name, double target) {
        g_autofree char *m_what = g_strdup_printf("%s: median", what);
        g_autofree char *p_what = g_strdup_printf("%s: p90", what);
        double m = median(v, ROUNDS), p = percentile(v, ROUNDS, 0.9);
        double fm = median(floor, ROUNDS), fp = percentile(floor, ROUNDS, 0.9);

        printf("  %-44s %7.3f ms   floor %7.3f ms (%s)   ratio %5.2f   target <= %.2f  %s\n", m_what, m, fm,
               floor_name, m / fm, target, m / fm <= target ? "met" : "MISSED");
        printf("  %-44s %7.3f ms   floor %7.3f ms   ratio %5.2f\n", p_what, p, fp, p / fp);
}

/* The keys one transaction wrote (those of its revision), as EtcdKv*. */
static GPtrArray *keys_at(EtcdClient *client, gint64 revision) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autofree char *end = etcd_prefix_end("/");
        GPtrArray *keys = g_ptr_array_new_with_free_func((GDestroyNotify) etcd_kv_free);

        etcd_kv_range_async(client, "/", end, 0, 0, NULL, etcd_cluster_got, &res);
        g_autoptr(EtcdRangeResult) r = etcd_kv_range_finish(client, etcd_cluster_await(&res, 10000), NULL);
        g_assert_nonnull(r);
        for (guint i = 0; i < r->kvs->len; i++)
                if (((EtcdKv *) r->kvs->pdata[i])->mod_revision == revision)
                        g_ptr_array_add(keys, g_steal_pointer(&r->kvs->pdata[i]));
        g_assert_cmpuint(keys->len, >, 0);
        return keys;
}

static gsize keys_bytes(GPtrArray *keys) {
        gsize bytes = 0;

        for (guint i = 0; i < keys->len; i++)
                bytes += ((EtcdKv *) keys->pdata[i])->key_len + ((EtcdKv *) keys->pdata[i])->value_len;
        return bytes;
}

static void bench_change(Cluster *c) {
        const char *const third[] = { etcd_cluster_endpoint(c->etcd, 2), NULL };
        g_autoptr(EtcdClient) client = etcd_client_new(third, NULL, NULL, NULL);
        g_autofree char *end = etcd_prefix_end(GROUP_KEYS);
        static const EtcdWatchFuncs funcs = { on_group_key, on_compacted };
        EtcdFloor *f = etcd_floor_new(c->etcd);
        GPid bare = bench_bare_start(c->h[0], 1, (const char *const[]) { "--manager", NULL });
        harness_watch_sender(c->h[0], "org.devpass1.Bare");
        double signal[ROUNDS], answer[ROUNDS], seen[ROUNDS], after[ROUNDS], etcd[ROUNDS], etcd_answer[ROUNDS],
                call[ROUNDS], floor[ROUNDS], put[ROUNDS];
        double cpu[NODES];
        Round r = { 0 };

        g_autoptr(EtcdWatch) watch = etcd_watch_new(client, GROUP_KEYS, end, 0, false, &funcs, &r);
        g_assert_true(etcd_cluster_loop_until(watch_up, watch, 10000));
        guint sources[] = { g_unix_fd_add(sd_bus_get_fd(c->h[0]->bus), G_IO_IN, on_bus, &r),
                            g_unix_fd_add(sd_bus_get_fd(c->h[2]->bus), G_IO_IN, on_bus, &r) };
        /* The first change gives its keys to the etcd floor (the group's,
         * its name's, the ids'), and the group's size to a single put. */
        change_round(c, &r);
        g_autoptr(GPtrArray) keys = keys_at(client, r.revision);
        const EtcdKv *group = NULL;
        for (guint i = 0; i < keys->len; i++)
                if (g_str_has_prefix(((EtcdKv *) keys->pdata[i])->key, GROUP_KEYS))
                        group = keys->pdata[i];
        g_assert_nonnull(group);
        etcd_floor_shape(f, group->key_len, group->value_len);
        for (unsigned i = 0; i < WARM + ROUNDS; i++) {
                double v[4] = { 0 }, ea = 0;
                if (i == WARM)
                        for (int n = 0; n < NODES; n++)
                                cpu[n] = process_cpu_ms(c->h[n]->daemon_pid);
                for (unsigned k = 0; k < 4; k++)
                        switch ((i + k) % 4) {
                        case 0:
                                change_round(c, &r);
                                v[0] = r.signal;
                                break;
                        case 1:
                                v[1] = bare_round(c->h[0]);
                                break;
                        case 2:
                                v[2] = etcd_floor_txn_round(f, keys, &ea);
                                break;
                        default:
                                v[3] = etcd_floor_round(f, NULL);
                                break;
                        }
                if (i < WARM)
                        continue;
                unsigned k = i - WARM;
                signal[k] = v[0], answer[k] = r.replied, seen[k] = r.seen, after[k] = r.signal - r.seen;
                call[k] = v[1], etcd[k] = v[2], etcd_answer[k] = ea, floor[k] = v[1] + v[2], put[k] = v[3];
        }
        for (int n = 0; n < NODES; n++)
                cpu[n] = (process_cpu_ms(c->h[n]->daemon_pid) - cpu[n]) / ROUNDS;
        for (size_t i = 0; i < G_N_ELEMENTS(sources); i++)
                g_source_remove(sources[i]);
        bench_bare_stop(bare);
        etcd_floor_free(f);
        printf("\ncluster: three devpassd on a 3-member etcd (loopback), nodes of %u functions, the real polkitd,\n"
               "caller root; %d rounds each after %d warm-up, devpassd and the floors in turn\n", FUNCTIONS, ROUNDS,
               WARM);
        double sm = median(signal, ROUNDS);
        report("CreateGroup on node 1 until InterfacesAdded on node 3", signal, floor,
               "bare CreateGroup on node 1, plus etcd's transaction of the same keys to watch, per round", 1.5);
        printf("  %-44s %7.3f ms   etcd txn to watch %7.3f ms (%u keys, %zu bytes, each guarded)   sum of medians "
               "%7.3f ms\n", "    the floor's parts: bare CreateGroup", median(call, ROUNDS), median(etcd, ROUNDS),
               keys->len, keys_bytes(keys), median(call, ROUNDS) + median(etcd, ROUNDS));
        printf("  %-44s %7.3f ms   ratio %5.2f   (for reference: etcd alone)\n",
               "    against the transaction to watch alone", median(etcd, ROUNDS), sm / median(etcd, ROUNDS));
        printf("  %-44s %7.3f ms   ratio %5.2f   (for reference: one put of the group's %zu + %zu bytes)\n",
               "    against one put to watch alone", median(put, ROUNDS), sm / median(put, ROUNDS), group->key_len,
               group->value_len);
        printf("  where the time goes (not floors):\n");
        printf("  %-44s %7.3f ms   (node 1 until etcd has it, as a watch through member 3 sees it)\n",
               "    the group's key seen: median", median(seen, ROUNDS));
        printf("  %-44s %7.3f ms   (node 3's watch, replica, model, signal; the bus)\n",
               "    from there to the signal: median", median(after, ROUNDS));
        printf("  %-44s %7.3f ms   etcd's transaction until its answer: %7.3f ms\n",
               "    CreateGroup's reply on node 1: median", median(answer, ROUNDS), median(etcd_answer, ROUNDS));
        printf("  %-44s %7.3f ms   node 2 %.3f ms, node 3 %.3f ms (all threads)\n",
               "    devpassd CPU time per change: node 1", cpu[0], cpu[1], cpu[2]);
}

/* ---- a claim ---- */

static double claim_once(Harness *h) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        double t0 = now_ms();
        int r = sd_bus_call_method(h->bus, "org.devpass1", "/org/devpass1", MANAGER, "Claim", &error, &reply,
                                   "sa{sv}", "vm1", 0);
        double ms = now_ms() - t0;
        if (r < 0)
                g_error("Claim of vm1 on %s: %s", h->node, error.message);
        sd_bus_message_unref(reply);
        r = sd_bus_call_method(h->bus, "org.devpass1", "/org/devpass1", MANAGER, "Release", &error, NULL, "s", "vm1");
        if (r < 0)
                g_error("Release of vm1 on %s: %s", h->node, error.message);
        drain(h);
        return ms;
}

/* The keys the cluster's last Claim wrote (one transaction: one
 * revision, the one of the machine's claims key). */
static GPtrArray *claim_keys(EtcdClient *client, Harness *h) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autofree char *end = etcd_prefix_end("/");
        sd_bus_error error = SD_BUS_ERROR_NULL;
        gint64 revision = 0;

        if (sd_bus_call_method(h->bus, "org.devpass1", "/org/devpass1", MANAGER, "Claim", &error, NULL, "sa{sv}",
                               "vm1", 0) < 0)
                g_error("Claim of vm1 on %s: %s", h->node, error.message);
        etcd_kv_range_async(client, "/", end, 0, 0, NULL, etcd_cluster_got, &res);
        g_autoptr(EtcdRangeResult) r = etcd_kv_range_finish(client, etcd_cluster_await(&res, 10000), NULL);
        g_assert_nonnull(r);
        for (guint i = 0; i < r->kvs->len; i++) {
                EtcdKv *kv = r->kvs->pdata[i];
                if (strstr(kv->key, "/claims/"))
                        revision = kv->mod_revision;
        }
        g_assert_cmpint(revision, >, 0);
        GPtrArray *keys = keys_at(client, revision);
        claim_once(h);    /* its release */
        return keys;
}

/* One transaction of keys' size, each key guarded by its revision. */
static double txn_once(EtcdClient *client, GPtrArray *keys, gint64 *revision) {
        g_autoptr(EtcdTxn) t = etcd_floor_txn(FLOOR_PREFIX, keys, *revision);
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;

        double t0 = now_ms();
        etcd_txn_async(client, t, NULL, etcd_cluster_got, &res);
        g_autoptr(EtcdTxnResult) r = etcd_txn_finish(client, etcd_cluster_await(&res, 10000), &error);
        double ms = now_ms() - t0;
        if (!r || !r->succeeded)
                g_error("the floor's etcd transaction: %s", r ? "a compare failed" : error->message);
        *revision = r->revision;
        return ms;
}

static void bench_claim(Cluster *c) {
        const char *const first[] = { etcd_cluster_endpoint(c->etcd, 0), NULL };
        g_autoptr(EtcdClient) client = etcd_client_new(first, NULL, NULL, NULL);
        double cluster[ROUNDS], alone[ROUNDS], txn[ROUNDS], floor[ROUNDS];
        gint64 revision = 0;

        claim_setup(c->h[0]);
        claim_setup(c->alone);
        g_autoptr(GPtrArray) keys = claim_keys(client, c->h[0]);
        gsize bytes = keys_bytes(keys);
        double cpu[2] = { 0 };
        for (unsigned i = 0; i < WARM + ROUNDS; i++) {
                double v[3] = { 0 };
                if (i == WARM)
                        cpu[0] = process_cpu_ms(c->h[0]->daemon_pid), cpu[1] = process_cpu_ms(c->alone->daemon_pid);
                for (unsigned k = 0; k < 3; k++)
                        switch ((i + k) % 3) {
                        case 0:
                                v[0] = claim_once(c->h[0]);
                                break;
                        case 1:
                                v[1] = claim_once(c->alone);
                                break;
                        default:
                                v[2] = txn_once(client, keys, &revision);
                                break;
                        }
                if (i >= WARM)
                        cluster[i - WARM] = v[0], alone[i - WARM] = v[1], txn[i - WARM] = v[2];
        }
        cpu[0] = (process_cpu_ms(c->h[0]->daemon_pid) - cpu[0]) / ROUNDS;
        cpu[1] = (process_cpu_ms(c->alone->daemon_pid) - cpu[1]) / ROUNDS;
        /* The floor: each round's Claim alone plus its transaction. */
        for (unsigned i = 0; i < ROUNDS; i++)
                floor[i] = alone[i] + txn[i];
        double am = median(alone, ROUNDS), tm = median(txn, ROUNDS);
        report("Claim on node 1 of the cluster", cluster, floor, "Claim alone + etcd txn, per round", 1.3);
        printf("  %-44s %7.3f ms   p90 %7.3f ms\n", "    Claim on a devpassd alone: median", am,
               percentile(alone, ROUNDS, 0.9));
        printf("  %-44s %7.3f ms   p90 %7.3f ms   (%u keys, %zu bytes, each guarded)\n",
               "    etcd txn of the claim's size: median", tm, percentile(txn, ROUNDS, 0.9), keys->len, bytes);
        printf("  %-44s %7.3f ms   alone %.3f ms (all threads, with its Release)\n",
               "    devpassd CPU time per Claim: node 1", cpu[0], cpu[1]);
}

void bench_cluster(void) {
        Cluster *c = cluster_new();

        bench_change(c);
        bench_claim(c);
        cluster_free(c);
}
