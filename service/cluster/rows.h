/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The values of a cluster's etcd keys (doc/cluster.md, "Key layout"):
 * the store's rows as JSON, both ways. Encoding is canonical, so that
 * one row is one byte string and values compare byte for byte: objects
 * with their members in the order of their names, no white space,
 * integers in decimal, lists in the order of their ids or addresses,
 * strings as they are but for '"', '\\' and the control bytes (\u00XX).
 * Decoding takes the bytes as hostile and accepts exactly what encoding
 * makes of a row a call could have made: every value is checked with
 * the validators of the calls and of the store's own check. Pure, no
 * I/O. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "keys.h"
#include "store.h"

/* etcd's default --max-request-bytes: no value devpass writes is larger. */
#define CLUSTER_VALUE_MAX (1536 * 1024)
/* The deepest value is an object of lists of objects. */
#define CLUSTER_VALUE_DEPTH 3

/* shared/macs/<mac>: one of the two. */
typedef struct {
        int64_t attachment_id;
        int64_t group_id;
} ClusterMacOwner;

/* shared/machines/<machine>: the node its claim lives on. */
typedef struct {
        char *node;
        char *uuid;               /* its domain's, lower case; "" when not given */
} ClusterMachine;

/* shared/alive/<node>, on the node's lease. */
typedef struct {
        char *boot_id;            /* the kernel's; "" when it cannot be known */
        int64_t since;            /* g_get_real_time() when the node came up */
} ClusterAlive;

/* A group's units on a node: how many, and how many are free. */
typedef struct {
        int64_t group_id;
        uint32_t units;           /* free */
        uint32_t total;
} ClusterFree;

/* shared/state/<node>: what its bus shows of it. */
typedef struct {
        uint32_t devices;
        uint32_t units;
        GArray *free;             /* ClusterFree: the units of each group on the node, and how many are free */
        GPtrArray *reboot_reasons;   /* address, reason, address, ...: model_reboot_reasons() */
} ClusterState;

typedef struct {
        int64_t attachment_id;
        int64_t generation;       /* the generation of the attachment the machine claimed */
} ClusterGeneration;

/* node/<node>/claims/<machine>: the machine's devices on the node. */
typedef struct {
        char *uuid;               /* the domain's, lower case; "" when not given */
        GPtrArray *devices;       /* StoreClaim*: holder the key's machine, uuid the one above */
        GArray *generations;      /* ClusterGeneration */
} ClusterClaims;

/* A key and its value; the key's kind says which member holds it.
 * Encoding reads only the kind of the key and the value, so a caller may
 * fill one on the stack with borrowed pointers. */
typedef struct {
        ClusterKey key;
        union {
                int64_t id;                   /* ids: the next; group and rule names: the object's */
                StoreGroup *group;            /* its id is the key's */
                StoreRule *rule;              /* its id is the key's */
                StoreAttachment *attachment;  /* its id is the key's */
                ClusterMacOwner mac;
                ClusterMachine machine;
                int64_t joined;               /* shared/nodes/<node>: the revision it joined at */
                ClusterAlive alive;
                ClusterState state;
                ClusterClaims claims;
                GPtrArray *holds;             /* StoreClaim*: holder the key's tenant */
        };                                    /* group users: "{}", nothing */
} ClusterRow;

void cluster_row_free(ClusterRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClusterRow, cluster_row_free);

/* The value's canonical bytes (NUL-terminated; they hold no NUL). */
char *cluster_row_encode(const ClusterRow *row);
/* The key under prefix and its value; a CLUSTER_CODEC_ERROR error names
 * the key and says what is wrong. */
ClusterRow *cluster_row_decode(const char *prefix, const char *key, gsize key_len, const char *value,
                               gsize value_len, GError **error);
