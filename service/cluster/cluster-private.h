/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cluster room's insides: cluster.c (the node's life: lease, watches,
 * the first read), cluster-commit.c (a transaction's changes as one etcd
 * transaction), cluster-replica.c (etcd's keys into the store). */

#include "cluster.h"
#include "etcd-client.h"
#include "keys.h"
#include "rows.h"

/* What the replica takes when etcd has a transaction: a key and its new
 * value, NULL when deleted. */
typedef struct {
        char *key;
        char *value;
} ClusterWrite;

typedef struct {
        EtcdTxn *txn;
        GHashTable *writes;       /* key -> ClusterWrite*: one op per key, the last wins */
        GPtrArray *order;         /* the keys, in the order written */
        GBytes *local;            /* the transaction's rows only this node has (store_local_changes()) */
} ClusterPending;

void cluster_pending_free(ClusterPending *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClusterPending, cluster_pending_free);

/* The steps of the start that are tried again after a failure. */
typedef enum { CLUSTER_RETRY_GRANT, CLUSTER_RETRY_READ, _CLUSTER_RETRY_MAX } ClusterRetry;

typedef struct ClusterRead ClusterRead;

struct Cluster {
        char *prefix;             /* "/devpass/v1/" */
        char *shared;             /* prefix + "shared/" */
        char *own;                /* prefix + "node/<node>/" */
        char *node;
        Store *store;
        EtcdClient *client;
        ClusterFuncs funcs;
        void *data;
        unsigned lease_seconds;
        gint64 lease;             /* 0 until granted */
        EtcdLeaseKeeper *keeper;
        EtcdWatch *watches[2];    /* shared, own */
        GCancellable *cancel;
        ClusterPending *pending;  /* handed on by the last store_commit() */
        struct ClusterCommit *waiting;   /* refused, until the watches catch up */
        guint catch_up_ms;        /* or until this long has passed (tests make it longer) */
        bool busy;                /* a transaction is out */
        bool member;
        bool synced;              /* the first read is in the replica */
        ClusterRead *read;        /* the full read under way */
        gint64 reading;           /* the revision of the full read being written, else 0 */
        bool rewinding;           /* a full read below the replica's revision: etcd's keys whatever theirs */
        guint other_history;      /* keys of the last batch written that were of a history etcd no longer has */
        guint64 members_serial;   /* moves when what cluster_members() reads may have changed */
        bool unjoined;            /* holds rows of its own, never read etcd: waits for JoinCluster */
        bool join_asked;          /* cluster_join(): the next cluster_commit() joins */
        guint retry[_CLUSTER_RETRY_MAX];   /* each step's next try */
        bool applying_own;        /* the replica takes this node's own transaction */
        char *published;          /* this node's state as etcd has it (or is given it) */
        char *to_publish;         /* the next, once publish_source fires */
        guint publish_source;
        gint64 published_at;
};

/* The store's commit hook (cluster-commit.c). */
StoreCommit cluster_commit_hook(Store *s, void *data, GError **error);

/* cluster-replica.c: etcd's keys into the store, in one transaction with
 * the prefix's revision (0: leave it). A key whose mod_revision the
 * replica has already is skipped: a node's own change comes back through
 * its watch. */
typedef struct {
        const char *key;
        gsize key_len;
        const char *value;        /* NULL: deleted */
        gsize value_len;
        gint64 mod_revision;
} ClusterKeyValue;

bool cluster_replica_apply(Cluster *c, const ClusterKeyValue *kvs, guint n, const char *prefix, gint64 revision,
                           GBytes *local, GError **error);
/* The keys under prefix the replica has and etcd no longer does, as
 * deletions (for a full read). */
/* Whether a key is newer than the replica has it, or a deletion of one
 * it has: false for this node's own changes, which the answer to their
 * transaction brought already when the watch brings them back. */
bool cluster_replica_news(Cluster *c, const ClusterKeyValue *kvs, guint n);
GPtrArray *cluster_replica_gone(Cluster *c, const char *prefix, GHashTable *present, GError **error);

/* cluster.c: the member key (once) and the alive key; then the first read. */
void cluster_node_up(Cluster *c);
/* A step of the start, tried again later. */
void cluster_retry_later(Cluster *c, ClusterRetry step);
/* After a full read at revision: the watches from there, the node synced. */
void cluster_read_done(Cluster *c, gint64 revision);

/* cluster-read.c: both prefixes read whole, in pages at one revision, into
 * the replica (a read under way is dropped); and the one under way
 * dropped, when the node stops. */
void cluster_read(Cluster *c);
void cluster_read_stop(Cluster *c);

/* cluster-join.c: whether the node starts unjoined (its replica never
 * read etcd, its store holds shared rows of its own); the error its
 * changes get meanwhile (false); the join, sent by cluster_commit();
 * and, once an unjoined node has its lease, the finish of a join it
 * recorded and etcd took (the node stopped before its store took it). */
bool cluster_join_needed(Cluster *c, bool *needed, GError **error);
bool cluster_unjoined_error(Cluster *c, GError **error);
void cluster_join_run(Cluster *c, ClusterDone done, void *data);
void cluster_join_resume(Cluster *c);

/* etcd's answer to a change it did not take (cluster.c), as the caller
 * hears it: etcd's limits on one transaction (--max-txn-ops,
 * --max-request-bytes) are the call's size (G_IO_ERROR_NO_SPACE); a
 * refusal of anything else (no space left, no permission, the lease
 * gone) and no answer are CLUSTER_ERROR_UNAVAILABLE. what: "the change",
 * "node N's join"; size_hint: what to do about the limits. */
GError *cluster_change_error(const GError *etcd, const char *what, const char *size_hint);

char *cluster_key_of(Cluster *c, ClusterKeyKind kind, int64_t id, const char *name, const char *node);
/* The values of a machine's claims on this node and of its owner key,
 * from its devices (StoreClaim*, at least one). */
char *cluster_claims_value(Cluster *c, GPtrArray *devices);
char *cluster_owner_value(Cluster *c, GPtrArray *devices);
/* cluster-claims.c: after a new lease, the machines this node still
 * holds whose keys went with the old one are claimed again, unless
 * another node claimed them meanwhile (then released here, loudly). */
void cluster_claims_reassert(Cluster *c);
