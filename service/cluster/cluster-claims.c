/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A machine's claim lives as long as its node's lease. A node with a new
 * lease (after a start, or after it was cut off from etcd longer than its
 * LeaseSeconds) puts its machines' keys on it again: the old lease's may
 * be gone already (the cluster released them; the machines may still run
 * here, with their devices) or will be soon. When another node claimed a
 * machine meanwhile, two nodes hold one machine: that is said loudly, and
 * this node gives its devices up. */
#include <string.h>
#include <gio/gio.h>

#include "cluster-private.h"

typedef struct {
        Cluster *c;
        EtcdClient *client;
        GCancellable *cancel;
        char *machine;
        char *claims_key;
        char *claims;
        char *owner_key;
        char *owner;
        unsigned tries;
} Reassert;

static void reassert_free(Reassert *r) {
        etcd_client_unref(r->client);
        g_object_unref(r->cancel);
        g_free(r->machine);
        g_free(r->claims_key);
        g_free(r->claims);
        g_free(r->owner_key);
        g_free(r->owner);
        g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Reassert, reassert_free);

/* Someone else has it (owner: its key's value, NULL when it does not
 * decode): the devices here go (only here: the rows are this node's own). */
static void release_here(Cluster *c, const char *machine, const ClusterRow *owner) {
        g_autoptr(GError) error = NULL;

        g_warning("Machine %s was claimed on node %s while node %s was cut off from the cluster: releasing its "
                  "devices here; stop it here if it still runs", machine,
                  owner ? owner->machine.node : "(another node)", c->node);
        if (!store_begin(c->store, &error) || !store_holder_put(c->store, machine, false, NULL, &error) ||
            !store_commit_here(c->store, &error)) {
                store_rollback(c->store);
                g_warning("Cannot release machine %s here: %s", machine, error->message);
                return;
        }
        c->funcs.replica_changed(c->data);
}

/* A compare that failed because the key moved on its own (the old
 * lease's key expired meanwhile, another reassert of this node's came
 * first): sent again with what etcd said, this many times at most. */
#define REASSERT_TRIES 3

static void reassert_send(Reassert *r, int64_t mod);

/* The compare failed: etcd's answer holds the machine's key as it is.
 * Only another node's claim gives the devices up here. */
static void reassert_refused(Reassert *refused, EtcdTxnResult *t) {
        g_autoptr(Reassert) r = refused;
        g_autoptr(GError) error = NULL;
        Cluster *c = r->c;
        GPtrArray *kvs = etcd_txn_result_range(t, 0, &error);

        if (!kvs) {
                g_message("Cluster: cannot claim machine %s again (%s)", r->machine, error->message);
                return;
        }
        const EtcdKv *kv = kvs->len ? kvs->pdata[0] : NULL;
        g_autoptr(ClusterRow) row = kv ? cluster_row_decode(c->prefix, r->owner_key, strlen(r->owner_key), kv->value,
                                                            kv->value_len, NULL) : NULL;
        if (kv && (!row || !g_str_equal(row->machine.node, c->node))) {
                release_here(c, r->machine, row);
                return;
        }
        if (kv && kv->lease == c->lease) {
                /* Claimed again on this lease already: the replica learns
                 * the key's revision before the watch brings it. */
                const ClusterKeyValue owner = { r->owner_key, strlen(r->owner_key), kv->value, kv->value_len,
                                                kv->mod_revision };
                if (!cluster_replica_apply(c, &owner, 1, NULL, 0, NULL, &error))
                        g_warning("Cluster: cannot record machine %s's key: %s", r->machine, error->message);
                else
                        c->funcs.replica_changed(c->data);
                return;
        }
        if (r->tries >= REASSERT_TRIES || !c->lease) {
                g_message("Cluster: cannot claim machine %s again: its key kept changing", r->machine);
                return;
        }
        reassert_send(g_steal_pointer(&r), kv ? kv->mod_revision : 0);
}

static void on_reasserted(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(Reassert) r = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdTxnResult) t = etcd_txn_finish(r->client, result, &error);
        Cluster *c = r->c;

        if (g_cancellable_is_cancelled(r->cancel))
                return;
        if (!t) {
                /* The next lease tries again. */
                g_message("Cluster: cannot claim machine %s again (%s)", r->machine, error->message);
                return;
        }
        if (!t->succeeded) {
                reassert_refused(g_steal_pointer(&r), t);
                return;
        }
        const ClusterKeyValue kvs[] = {
                { r->claims_key, strlen(r->claims_key), r->claims, strlen(r->claims), t->revision },
                { r->owner_key, strlen(r->owner_key), r->owner, strlen(r->owner), t->revision },
        };
        c->applying_own = true;
        bool ok = cluster_replica_apply(c, kvs, G_N_ELEMENTS(kvs), NULL, 0, NULL, &error);
        c->applying_own = false;
        if (!ok)
                g_warning("Cluster: cannot record machine %s's claim again: %s", r->machine, error->message);
        else
                c->funcs.replica_changed(c->data);
}

/* Put on the node's lease, if the machine's key is still at mod (0:
 * absent); else etcd's answer holds the key. */
static void reassert_send(Reassert *r, int64_t mod) {
        g_autoptr(EtcdTxn) t = etcd_txn_new();

        r->tries++;
        etcd_txn_compare(t, r->owner_key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod);
        etcd_txn_put(t, true, r->claims_key, r->claims, strlen(r->claims), r->c->lease);
        etcd_txn_put(t, true, r->owner_key, r->owner, strlen(r->owner), r->c->lease);
        etcd_txn_range(t, false, r->owner_key, NULL);
        etcd_txn_async(r->client, t, r->cancel, on_reasserted, r);
}

static void reassert(Cluster *c, const char *machine) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) devices = store_holder_claims(c->store, machine, false, &error);
        Reassert *r;

        if (!devices || devices->len == 0)
                return;
        r = g_new0(Reassert, 1);
        r->c = c;
        r->client = etcd_client_ref(c->client);
        r->cancel = g_object_ref(c->cancel);
        r->machine = g_strdup(machine);
        r->claims_key = cluster_key_of(c, CLUSTER_KEY_CLAIMS, 0, machine, c->node);
        r->owner_key = cluster_key_of(c, CLUSTER_KEY_MACHINE, 0, machine, NULL);
        r->claims = cluster_claims_value(c, devices);
        r->owner = cluster_owner_value(c, devices);
        /* Still ours (the old lease's key), or nobody's. */
        g_autofree char *owner = NULL;
        int64_t mod = 0;
        if (!store_replica_key(c->store, r->owner_key, &mod, &owner, &error)) {
                g_warning("Cluster: cannot read machine %s's key: %s", machine, error->message);
                reassert_free(r);
                return;
        }
        if (mod > 0 && !g_str_equal(owner, r->owner)) {
                g_autoptr(ClusterRow) row = cluster_row_decode(c->prefix, r->owner_key, strlen(r->owner_key), owner,
                                                               strlen(owner), NULL);
                if (!row || !g_str_equal(row->machine.node, c->node)) {
                        reassert_free(r);
                        release_here(c, machine, row);
                        return;
                }
        }
        reassert_send(r, mod);
}

void cluster_claims_reassert(Cluster *c) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) machines = store_claim_holders(c->store, &error);

        if (!machines) {
                g_warning("Cluster: cannot read this node's claims: %s", error->message);
                return;
        }
        for (guint i = 0; i < machines->len; i++)
                reassert(c, machines->pdata[i]);
}
