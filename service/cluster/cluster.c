/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A node's life in the cluster: its lease and the key that says it is up,
 * the two watches that keep the replica current (read again whole,
 * cluster-read.c, when etcd has compacted what a watch needs or went back
 * below it), and the transactions the store's hook hands on. */
#include <string.h>
#include <gio/gio.h>

#include "cluster-private.h"

G_DEFINE_QUARK(devpass-cluster-error-quark, cluster_error)

#define CLUSTER_PREFIX "/devpass/v1/"
/* After a failure of the start (etcd down): try again this much later. */
#define CLUSTER_RETRY_MS 1000
/* A refused transaction is checked again once the replica has what
 * refused it, or after this long. */
#define CLUSTER_CATCH_UP_MS 2000

/* An answer outlives the node when devpassd stops meanwhile: it holds
 * the client and the cancellable, and touches the node only when not
 * cancelled. */
typedef struct {
        Cluster *c;
        EtcdClient *client;
        GCancellable *cancel;
} Op;

static Op *op_new(Cluster *c) {
        Op *o = g_new0(Op, 1);
        o->c = c;
        o->client = etcd_client_ref(c->client);
        o->cancel = g_object_ref(c->cancel);
        return o;
}

static void op_free(Op *o) {
        etcd_client_unref(o->client);
        g_object_unref(o->cancel);
        g_free(o);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Op, op_free);

static bool op_gone(Op *o) {
        return g_cancellable_is_cancelled(o->cancel);
}

static void state_changed(Cluster *c) {
        c->members_serial++;
        if (c->funcs.state_changed)
                c->funcs.state_changed(c->data);
}

const char *cluster_state(Cluster *c) {
        if (c->unjoined)
                return "unjoined";
        if (!c->synced)
                return "starting";
        bool up = c->keeper && etcd_lease_keeper_alive(c->keeper) && c->watches[0] &&
                  etcd_watch_connected(c->watches[0]) && c->watches[1] && etcd_watch_connected(c->watches[1]);
        return up ? "up" : "stale";
}

const char *cluster_node(Cluster *c) {
        return c->node;
}

static gboolean grant_again(gpointer data);
static gboolean read_again(gpointer data);

/* A step tried again later. The lease and the read wait apart: a lease
 * lost while a read waits must be taken again too. */
void cluster_retry_later(Cluster *c, ClusterRetry step) {
        static const GSourceFunc again[] = { [CLUSTER_RETRY_GRANT] = grant_again, [CLUSTER_RETRY_READ] = read_again };

        if (!c->retry[step])
                c->retry[step] = g_timeout_add(CLUSTER_RETRY_MS, again[step], c);
}

/* ---- the watches ---- */

static void caught_up_check(Cluster *c);

static const char *prefixes_of(Cluster *c, EtcdWatch *w) {
        return w == c->watches[0] ? c->shared : c->own;
}

static void on_events(EtcdWatch *w, GPtrArray *events, gpointer data) {
        Cluster *c = data;
        g_autofree ClusterKeyValue *kvs = g_new0(ClusterKeyValue, events->len);
        g_autoptr(GError) error = NULL;

        for (guint i = 0; i < events->len; i++) {
                const EtcdEvent *e = events->pdata[i];
                kvs[i] = (ClusterKeyValue) {
                        .key = e->kv->key,
                        .key_len = e->kv->key_len,
                        .value = e->type == ETCD_EVENT_PUT ? e->kv->value : NULL,
                        .value_len = e->kv->value_len,
                        .mod_revision = e->kv->mod_revision,
                };
        }
        /* This node's own changes, back: nothing to write, nothing for
         * the model to follow. */
        if (!cluster_replica_news(c, kvs, events->len)) {
                caught_up_check(c);
                return;
        }
        if (!cluster_replica_apply(c, kvs, events->len, prefixes_of(c, w), etcd_watch_revision(w), NULL, &error)) {
                /* The replica cannot follow: read it all again. */
                g_warning("Cluster: cannot keep the replica: %s", error->message);
                cluster_read(c);
                return;
        }
        c->funcs.replica_changed(c->data);
        caught_up_check(c);
}

static void on_compacted(EtcdWatch *w, gint64 compact_revision, gpointer data) {
        Cluster *c = data;

        g_message("Cluster: etcd compacted its history to revision %" G_GINT64_FORMAT ": reading everything again",
                  compact_revision);
        cluster_read(c);
}

/* A watch that comes up or goes down turns the node up or stale. */
static void on_connected(EtcdWatch *w, bool connected, gpointer data) {
        state_changed(data);
}

static void on_rewound(EtcdWatch *w, gint64 revision, gpointer data) {
        Cluster *c = data;

        g_warning("Cluster: etcd is at revision %" G_GINT64_FORMAT ", below what node %s's watch delivered (%"
                  G_GINT64_FORMAT ") or etcd answered it before (etcd restored from a backup, or a member behind the "
                  "others): reading everything again", revision, c->node, etcd_watch_revision(w));
        cluster_read(c);
}

static const EtcdWatchFuncs watch_funcs = { on_events, on_compacted, on_rewound, on_connected };

static void watches_start(Cluster *c, gint64 revision) {
        const char *prefixes[] = { c->shared, c->own };

        for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
                g_clear_pointer(&c->watches[i], etcd_watch_free);
                g_autofree char *end = etcd_prefix_end(prefixes[i]);
                c->watches[i] = etcd_watch_new(c->client, prefixes[i], end, revision + 1, false, &watch_funcs, c);
        }
}

/* ---- the full read (cluster-read.c) ---- */

static gboolean read_again(gpointer data) {
        Cluster *c = data;

        c->retry[CLUSTER_RETRY_READ] = 0;
        cluster_read(c);
        return G_SOURCE_REMOVE;
}

/* A step of the start's answer: NULL when devpassd stops meanwhile, or
 * when etcd did not answer (the step is tried again later). */
static EtcdTxnResult *op_txn_finish(Op *o, GAsyncResult *result, const char *what, ClusterRetry again) {
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdTxnResult) r = etcd_txn_finish(o->client, result, &error);

        if (op_gone(o))
                return NULL;
        if (!r) {
                g_message("Cluster: cannot %s (%s): trying again", what, error->message);
                cluster_retry_later(o->c, again);
        }
        return g_steal_pointer(&r);
}

void cluster_read_done(Cluster *c, gint64 revision) {
        watches_start(c, revision);
        c->synced = true;
        c->funcs.replica_changed(c->data);
        state_changed(c);
        cluster_claims_reassert(c);
}

/* ---- the lease, and this node's keys on it ---- */

static void lease_grant(Cluster *c);

static gboolean grant_again(gpointer data) {
        Cluster *c = data;

        c->retry[CLUSTER_RETRY_GRANT] = 0;
        lease_grant(c);
        return G_SOURCE_REMOVE;
}

static void on_lease_lost(EtcdLeaseKeeper *k, const GError *error, gpointer data) {
        Cluster *c = data;

        g_warning("Cluster: node %s lost its lease (%s): its machines' claims are released in the cluster; "
                  "taking a new one", c->node, error ? error->message : "expired");
        c->lease = 0;
        state_changed(c);
        cluster_retry_later(c, CLUSTER_RETRY_GRANT);
}

static void on_up(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(Op) o = data;
        g_autoptr(EtcdTxnResult) r = op_txn_finish(o, result, "say this node is up", CLUSTER_RETRY_GRANT);

        if (r)
                cluster_read(o->c);
}

/* The member key (once), and the alive key on the lease. */
void cluster_node_up(Cluster *c) {
        g_autoptr(EtcdTxn) t = etcd_txn_new();
        g_autofree char *member = cluster_key_of(c, CLUSTER_KEY_NODE, 0, NULL, c->node);
        g_autofree char *alive = cluster_key_of(c, CLUSTER_KEY_ALIVE, 0, NULL, c->node);
        ClusterRow joined = { .key.kind = CLUSTER_KEY_NODE, .joined = 1 };
        ClusterRow up = { .key.kind = CLUSTER_KEY_ALIVE,
                          .alive = { .boot_id = (char *) store_boot_id(c->store), .since = g_get_real_time() } };
        g_autofree char *joined_value = cluster_row_encode(&joined);
        g_autofree char *up_value = cluster_row_encode(&up);

        etcd_txn_compare(t, member, ETCD_TARGET_VERSION, ETCD_RESULT_EQUAL, 0);
        etcd_txn_put(t, true, member, joined_value, strlen(joined_value), 0);
        etcd_txn_put(t, true, alive, up_value, strlen(up_value), c->lease);
        etcd_txn_put(t, false, alive, up_value, strlen(up_value), c->lease);
        etcd_txn_async(c->client, t, c->cancel, on_up, op_new(c));
}

static void on_granted(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(Op) o = data;
        g_autoptr(GError) error = NULL;
        gint64 ttl = 0;
        gint64 lease = etcd_lease_grant_finish(o->client, result, &ttl, &error);
        Cluster *c = o->c;

        if (op_gone(o))
                return;
        if (!lease) {
                g_message("Cluster: cannot reach etcd (%s): trying again", error->message);
                cluster_retry_later(c, CLUSTER_RETRY_GRANT);
                return;
        }
        c->lease = lease;
        g_clear_pointer(&c->keeper, etcd_lease_keeper_free);
        c->keeper = etcd_lease_keeper_new(c->client, lease, ttl, on_lease_lost, c);
        /* An unjoined node keeps a lease for its claims, and waits,
         * unless etcd took a join it sent. */
        if (c->unjoined) {
                state_changed(c);
                cluster_join_resume(c);
        } else
                cluster_node_up(c);
}

static void lease_grant(Cluster *c) {
        etcd_lease_grant_async(c->client, c->lease_seconds, c->cancel, on_granted, op_new(c));
}

/* ---- a transaction the store handed on ---- */

bool cluster_deferred(Cluster *c) {
        return c->pending != NULL || c->join_asked;
}

void cluster_drop(Cluster *c) {
        g_clear_pointer(&c->pending, cluster_pending_free);
        c->join_asked = false;
}

struct ClusterCommit {
        Op *op;
        ClusterPending *p;
        ClusterDone done;
        void *data;
        gint64 wait_revision;     /* a refused one: the revision the replica must reach */
        guint timeout;
};
typedef struct ClusterCommit Commit;

static void commit_free(Commit *k) {
        cluster_pending_free(k->p);
        if (k->timeout)
                g_source_remove(k->timeout);
        op_free(k->op);
        g_free(k);
}

/* Always answered, even when devpassd stops meanwhile. */
static void commit_finish(Commit *k, const GError *error) {
        if (!op_gone(k->op)) {
                k->op->c->busy = false;
                if (k->op->c->waiting == k)
                        k->op->c->waiting = NULL;
        }
        k->done(error, k->data);
        commit_free(k);
}

/* The replica takes what etcd took, at the transaction's revision. */
static bool commit_apply(Commit *k, gint64 revision, GError **error) {
        ClusterPending *p = k->p;
        g_autofree ClusterKeyValue *kvs = g_new0(ClusterKeyValue, p->order->len);

        for (guint i = 0; i < p->order->len; i++) {
                const ClusterWrite *w = g_hash_table_lookup(p->writes, p->order->pdata[i]);
                kvs[i] = (ClusterKeyValue) { w->key, strlen(w->key), w->value, w->value ? strlen(w->value) : 0,
                                             revision };
        }
        k->op->c->applying_own = true;
        bool ok = cluster_replica_apply(k->op->c, kvs, p->order->len, NULL, 0, p->local, error);
        k->op->c->applying_own = false;
        return ok;
}

static gboolean on_caught_up(gpointer data) {
        Commit *k = data;
        g_autoptr(GError) conflict = g_error_new(CLUSTER_ERROR, CLUSTER_ERROR_CONFLICT, "Another node changed "
                                                 "what this change read: check it again");

        k->timeout = 0;
        commit_finish(k, conflict);
        return G_SOURCE_REMOVE;
}

/* A refused transaction waits until the watch of the shared keys has
 * passed the revision that refused it: only this node writes its own
 * keys, so what refused it is shared (this node's own keys move only
 * with its own changes, which write shared keys too, or with its lease,
 * whose end deletes its alive key at the same revision). */
static void caught_up_check(Cluster *c) {
        Commit *k = c->waiting;

        if (!k || etcd_watch_revision(c->watches[0]) < k->wait_revision)
                return;
        g_source_remove(k->timeout);
        on_caught_up(k);
}

static void on_committed(GObject *source, GAsyncResult *result, gpointer data) {
        Commit *k = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdTxnResult) r = etcd_txn_finish(k->op->client, result, &error);

        if (!r || op_gone(k->op)) {
                g_autoptr(GError) e = cluster_change_error(error, "the change", "a bulk call needs them raised, or "
                                                           "fewer entries");
                commit_finish(k, e);
                return;
        }
        if (!r->succeeded) {
                /* Checked again once the watch has brought what refused it:
                 * at once when it has already (its events and etcd's answer
                 * come on connections of their own, in either order). */
                k->wait_revision = r->revision;
                k->timeout = g_timeout_add(k->op->c->catch_up_ms, on_caught_up, k);
                k->op->c->waiting = k;
                caught_up_check(k->op->c);
                return;
        }
        if (!commit_apply(k, r->revision, &error)) {
                /* The shared keys come back with the full read; the rows
                 * only this node has (intents, VF counts) do not. */
                g_autoptr(GError) e = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "etcd took the change, but node "
                                                  "%s's store could not (%s): the cluster has it, this node's own "
                                                  "part (passthrough intents, VF counts) is not made; read the "
                                                  "objects and call again for it", k->op->c->node, error->message);
                g_warning("Cluster: etcd has a change the replica cannot take (%s): reading everything again",
                          error->message);
                cluster_read(k->op->c);
                commit_finish(k, e);
                return;
        }
        /* The watches may not have delivered this node's own change yet:
         * a restore below it must still show. */
        for (size_t i = 0; i < G_N_ELEMENTS(k->op->c->watches); i++)
                if (k->op->c->watches[i])
                        etcd_watch_seen(k->op->c->watches[i], r->revision);
        k->op->c->funcs.replica_changed(k->op->c->data);
        commit_finish(k, NULL);
}

GError *cluster_change_error(const GError *etcd, const char *what, const char *size_hint) {
        if (g_error_matches(etcd, ETCD_ERROR, ETCD_ERROR_LIMIT))
                return g_error_new(G_IO_ERROR, G_IO_ERROR_NO_SPACE, "etcd refused %s for its limits on one "
                                   "transaction, --max-txn-ops and --max-request-bytes (%s): nothing changed; %s",
                                   what, etcd->message, size_hint);
        if (g_error_matches(etcd, ETCD_ERROR, ETCD_ERROR_FAILED) ||
            g_error_matches(etcd, ETCD_ERROR, ETCD_ERROR_LEASE_NOT_FOUND))
                return g_error_new(CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "etcd refused %s (%s): nothing "
                                   "changed; call again once the cluster takes changes (etcd's log says why)",
                                   what, etcd->message);
        return g_error_new(CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "etcd did not answer %s (%s): it is not made "
                           "here, and may still be made if etcd had it; read the objects once the cluster is back "
                           "before calling again", what, etcd ? etcd->message : "devpassd is stopping");
}

void cluster_commit(Cluster *c, ClusterDone done, void *data) {
        if (c->join_asked) {
                c->join_asked = false;
                cluster_join_run(c, done, data);
                return;
        }
        Commit *k = g_new0(Commit, 1);

        g_return_if_fail(c->pending);
        k->op = op_new(c);
        k->p = g_steal_pointer(&c->pending);
        k->done = done;
        k->data = data;
        c->busy = true;
        etcd_txn_async(c->client, k->p->txn, c->cancel, on_committed, k);
}

/* ---- the node ---- */

Cluster *cluster_new(const ConfigCluster *config, const char *node, Store *store, const ClusterFuncs *funcs,
                     void *data, GError **error) {
        g_autoptr(Cluster) c = g_new0(Cluster, 1);
        EtcdTls tls = { config->ca_file, config->cert_file, config->key_file };
        EtcdTimeouts timeouts = { .max_response = config->max_response };

        c->prefix = g_strdup(CLUSTER_PREFIX);
        c->node = g_strdup(node);
        c->shared = g_strconcat(c->prefix, "shared/", NULL);
        c->own = g_strdup_printf("%snode/%s/", c->prefix, node);
        c->store = store;
        c->funcs = *funcs;
        c->data = data;
        c->lease_seconds = config->lease_seconds;
        c->catch_up_ms = CLUSTER_CATCH_UP_MS;
        c->cancel = g_cancellable_new();
        c->client = etcd_client_new((const char *const *) config->endpoints, config->ca_file ? &tls : NULL, &timeouts,
                                    error);
        if (!c->client)
                return NULL;
        if (!cluster_join_needed(c, &c->unjoined, error))
                return NULL;
        store_record_changes(store, true);
        store_set_commit_hook(store, cluster_commit_hook, c);
        lease_grant(c);
        return g_steal_pointer(&c);
}

void cluster_free(Cluster *c) {
        if (!c)
                return;
        if (c->cancel)
                g_cancellable_cancel(c->cancel);
        if (c->store) {
                store_set_commit_hook(c->store, NULL, NULL);
                store_record_changes(c->store, false);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(c->retry); i++)
                g_clear_handle_id(&c->retry[i], g_source_remove);
        cluster_read_stop(c);
        if (c->waiting) {
                g_autoptr(GError) stopping = g_error_new(CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "devpassd is "
                                                         "stopping: call again when it is back");
                Commit *k = g_steal_pointer(&c->waiting);
                g_cancellable_cancel(c->cancel);
                commit_finish(k, stopping);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(c->watches); i++)
                g_clear_pointer(&c->watches[i], etcd_watch_free);
        g_clear_pointer(&c->keeper, etcd_lease_keeper_free);
        g_clear_pointer(&c->pending, cluster_pending_free);
        g_clear_handle_id(&c->publish_source, g_source_remove);
        g_free(c->published);
        g_free(c->to_publish);
        g_clear_pointer(&c->client, etcd_client_unref);
        g_clear_object(&c->cancel);
        g_free(c->prefix);
        g_free(c->shared);
        g_free(c->own);
        g_free(c->node);
        g_free(c);
}

/* ---- the members ---- */

void cluster_member_free(ClusterMember *m) {
        if (!m)
                return;
        g_free(m->name);
        if (m->groups)
                g_array_unref(m->groups);
        g_ptr_array_unref(m->reboot_reasons);
        g_free(m);
}

static bool key_exists(Cluster *c, ClusterKeyKind kind, const char *node) {
        g_autofree char *key = cluster_key_of(c, kind, 0, NULL, node);
        int64_t mod = 0;

        return store_replica_key(c->store, key, &mod, NULL, NULL) && mod > 0;
}

static void member_state(Cluster *c, ClusterMember *m) {
        g_autofree char *key = cluster_key_of(c, CLUSTER_KEY_STATE, 0, NULL, m->name);
        g_autofree char *value = NULL;
        int64_t mod = 0;

        if (!store_replica_key(c->store, key, &mod, &value, NULL) || mod == 0)
                return;
        g_autoptr(ClusterRow) row = cluster_row_decode(c->prefix, key, strlen(key), value, strlen(value), NULL);
        if (!row)
                return;
        m->devices = row->state.devices;
        m->units = row->state.units;
        g_array_append_vals(m->groups, row->state.free->data, row->state.free->len);
        for (guint i = 0; i < row->state.reboot_reasons->len; i++)
                g_ptr_array_add(m->reboot_reasons, g_strdup(row->state.reboot_reasons->pdata[i]));
}

guint64 cluster_members_serial(Cluster *c) {
        return c->members_serial;
}

GPtrArray *cluster_members(Cluster *c, GError **error) {
        g_autofree char *nodes = g_strconcat(c->shared, "nodes/", NULL);
        g_autoptr(GPtrArray) keys = store_replica_keys(c->store, nodes, error);
        GPtrArray *members = g_ptr_array_new_with_free_func((GDestroyNotify) cluster_member_free);

        if (!keys)
                return g_ptr_array_unref(members), NULL;
        for (guint i = 0; i < keys->len; i++) {
                const StoreReplicaKey *k = keys->pdata[i];
                g_auto(ClusterKey) parsed = { 0 };
                if (!cluster_key_parse(c->prefix, k->key, strlen(k->key), &parsed, NULL) ||
                    parsed.kind != CLUSTER_KEY_NODE)
                        continue;
                ClusterMember *m = g_new0(ClusterMember, 1);
                m->name = g_strdup(parsed.node);
                m->reboot_reasons = g_ptr_array_new_with_free_func(g_free);
                m->groups = g_array_new(FALSE, FALSE, sizeof(ClusterFree));
                m->up = g_str_equal(m->name, c->node) ? g_str_equal(cluster_state(c), "up") :
                                                        key_exists(c, CLUSTER_KEY_ALIVE, m->name);
                member_state(c, m);
                g_ptr_array_add(members, m);
        }
        return members;
}

/* ---- this node's state, for the others ---- */

#define CLUSTER_PUBLISH_USEC G_USEC_PER_SEC

static void on_published(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(Op) o = data;
        g_autoptr(GError) error = NULL;

        if (!etcd_kv_put_finish(o->client, result, &error) && !op_gone(o)) {
                /* Tried again with the next change, or the next start. */
                g_clear_pointer(&o->c->published, g_free);
                g_debug("Cluster: cannot publish node %s's state: %s", o->c->node, error->message);
        }
}

static gboolean publish_now(gpointer data) {
        Cluster *c = data;
        g_autofree char *key = cluster_key_of(c, CLUSTER_KEY_STATE, 0, NULL, c->node);

        c->publish_source = 0;
        if (!c->to_publish)
                return G_SOURCE_REMOVE;
        g_free(c->published);
        c->published = g_steal_pointer(&c->to_publish);
        c->published_at = g_get_monotonic_time();
        etcd_kv_put_async(c->client, key, c->published, strlen(c->published), 0, c->cancel, on_published, op_new(c));
        return G_SOURCE_REMOVE;
}

void cluster_publish(Cluster *c, const ClusterMember *here) {
        ClusterRow row = { .key.kind = CLUSTER_KEY_STATE,
                           .state = { .devices = here->devices, .units = here->units, .free = here->groups,
                                      .reboot_reasons = here->reboot_reasons } };
        g_autofree char *value = cluster_row_encode(&row);

        if (g_strcmp0(value, c->to_publish ?: c->published) == 0)
                return;
        g_free(c->to_publish);
        c->to_publish = g_steal_pointer(&value);
        if (c->publish_source)
                return;
        gint64 wait = c->published_at + CLUSTER_PUBLISH_USEC - g_get_monotonic_time();
        c->publish_source = wait > 0 ? g_timeout_add((guint) (wait / 1000) + 1, publish_now, c) :
                                       g_idle_add(publish_now, c);
}
