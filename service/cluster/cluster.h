/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A node of a cluster (doc/cluster.md). Its store is a replica of what
 * etcd holds, kept current by two watches (every node's shared keys, this
 * node's own); its transactions go to etcd as one transaction each,
 * guarded by compares: the store's commit hook hands them here, and the
 * mutation runner sends them (cluster_commit()) and replies when etcd has
 * answered. The model knows none of it: it follows the replica
 * (model_resync()) when the funcs say the replica moved. */

#include <stdbool.h>
#include <glib.h>

#include "config.h"
#include "rows.h"
#include "store.h"

#define CLUSTER_ERROR (cluster_error_quark())
GQuark cluster_error_quark(void);
typedef enum {
        CLUSTER_ERROR_UNAVAILABLE,  /* etcd cannot be reached, has no quorum, or this node is not a member yet */
        CLUSTER_ERROR_CONFLICT,     /* another node changed what the transaction read: check again */
} ClusterError;

typedef struct Cluster Cluster;

typedef struct {
        /* The replica moved (another node's change, or this node's own
         * once etcd has it): the model follows, and the signals go out. */
        void (*replica_changed)(void *data);
        /* Up, stale, or the nodes' state changed. */
        void (*state_changed)(void *data);
} ClusterFuncs;

/* Starts at once: the lease, the first read of etcd and the watches go
 * on on the loop; until they are done, changes are refused (unavailable)
 * and reads answer from the replica. */
Cluster *cluster_new(const ConfigCluster *config, const char *node, Store *store, const ClusterFuncs *funcs,
                     void *data, GError **error);
void cluster_free(Cluster *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Cluster, cluster_free);

/* Whether the last store_commit() handed a transaction here. */
bool cluster_deferred(Cluster *c);
/* Drops it (the call that made it failed after all). */
void cluster_drop(Cluster *c);
/* Sends it to etcd. done: error NULL when etcd has it (and the replica:
 * replica_changed was called), else CLUSTER_ERROR_CONFLICT or _UNAVAILABLE
 * and nothing changed anywhere. */
typedef void (*ClusterDone)(const GError *error, void *data);
void cluster_commit(Cluster *c, ClusterDone done, void *data);

/* A node that started with rows of its own and no replica (unjoined):
 * the next cluster_commit() moves its rows into the cluster with new ids
 * (refused, naming each, on a conflict), and the node becomes a member;
 * when etcd took a join of the node's already (it stopped before its
 * store took the ids), that one is finished instead. Nothing to do on a
 * member. (cluster-join.c) */
bool cluster_join(Cluster *c, GError **error);

/* "up" (etcd answers, the replica is current), "stale" (the last known
 * state; changes refused), "starting", "unjoined" (its own rows, not yet
 * moved into the cluster: changes refused until cluster_join()). */
const char *cluster_state(Cluster *c);
const char *cluster_node(Cluster *c);

/* A member as the replica knows it. */
typedef struct {
        char *name;
        bool up;                  /* its lease is alive (this node: etcd answers) */
        uint32_t devices;
        uint32_t units;
        GArray *groups;           /* ClusterFree: each group's units there, and how many are free */
        GPtrArray *reboot_reasons;   /* address, reason, ...; empty when not known */
} ClusterMember;

void cluster_member_free(ClusterMember *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClusterMember, cluster_member_free);
/* The members (ClusterMember*), by name. */
GPtrArray *cluster_members(Cluster *c, GError **error);
/* Moves when the members may have changed (their keys, this node's
 * state): the same serial, the same cluster_members(). */
guint64 cluster_members_serial(Cluster *c);
/* What this node's bus shows of it, for the others: put in etcd when it
 * changed, at most once a second. */
void cluster_publish(Cluster *c, const ClusterMember *here);
