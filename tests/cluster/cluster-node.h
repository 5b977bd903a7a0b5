/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A node of a cluster in a test's process, without a bus: its own
 * generated node (64 functions), store, model and, once joined to an
 * etcd, cluster room; and a change sent as the mutation runner sends it
 * (the model taken back, the transaction committed). */

#include <stdbool.h>
#include <glib.h>

#include "cluster.h"
#include "etcd-cluster.h"
#include "model.h"

typedef struct {
        char *dir;
        char *name;
        Names *names;
        Inventory *inventory;
        Store *store;
        Model *model;
        Cluster *cluster;
        guint changed;            /* replica_changed calls */
        guint states;             /* state_changed calls */
        gsize max_response;       /* bytes of one etcd answer, when set before node_cluster() */
} Node;

/* The node alone, in dir/name; opened again after node_stop(), it
 * restarts with its store and kernel as they were. */
void node_open(Node *n, const char *dir, const char *name);
/* Its cluster room, on etcd. */
void node_cluster(Node *n, EtcdCluster *etcd);
void node_start(Node *n, EtcdCluster *etcd, const char *dir, const char *name);
void node_stop(Node *n);

typedef struct {
        bool done;
        GError *error;
} Outcome;

/* After the model's change: back to the replica, and etcd decides. */
void node_commit_start(Node *n, Outcome *o);
void node_commit_wait(Outcome *o);

/* A trigger that refuses what the store of the node in dir is about to
 * write (on: "BEFORE INSERT ON replica_keys", ...), made through a
 * connection of the test's, as a full disk would refuse it; NULL drops
 * it. */
void node_store_refuse(const char *dir, const char *on);

/* Two nodes, node-a and node-b, up on a 1-member etcd of their own: a
 * cmocka setup and teardown (NodePair * as the state); a test may start
 * a third, stopped with them. */
typedef struct {
        EtcdCluster *etcd;
        char *dir;
        Node nodes[2];
        Node third;
} NodePair;

int node_pair_setup(void **state);
int node_pair_teardown(void **state);

/* key = value in etcd, through a client of the test's (lease: 0 for none). */
void node_etcd_put(EtcdCluster *etcd, const char *key, const char *value, gint64 lease);

/* A host's "pci" group's settings. */
StoreGroup *node_group_settings(const char *name);
/* A group made through the cluster: the model's once etcd has it. */
ModelGroup *node_group_made(Node *n, const char *name);
