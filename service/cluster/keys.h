/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The keys of a cluster's etcd (doc/cluster.md, "Key layout"): built
 * from their parts under the configured prefix, and parsed back. Names
 * that callers choose are percent-encoded in a key, so that one name is
 * one component: '%', '/', bytes below 0x20 and 0x7f become "%XX" (upper
 * case hex), every other byte is kept as it is, so UTF-8 names stay
 * readable in etcdctl. A key has exactly one spelling: parsing refuses
 * any other (a byte that should have been escaped, an escape of one that
 * should not, lower case hex), and any part a call could not have given.
 * Pure, no I/O. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define CLUSTER_CODEC_ERROR (cluster_codec_error_quark())
GQuark cluster_codec_error_quark(void);
typedef enum {
        CLUSTER_CODEC_ERROR_KEY,    /* not a key of the layout */
        CLUSTER_CODEC_ERROR_VALUE,  /* a value no devpassd could have written */
} ClusterCodecError;

/* Longer keys are refused unread: the longest devpass writes is a
 * machine's claim, 255 bytes of name escaped three times over. */
#define CLUSTER_KEY_MAX 4096

typedef enum {
        CLUSTER_KEY_IDS,           /* shared/ids/<kind>: name "group", "rule" or "attachment" */
        CLUSTER_KEY_GROUP,         /* shared/groups/<id> */
        CLUSTER_KEY_GROUP_NAME,    /* shared/group-names/<name> */
        CLUSTER_KEY_GROUP_USER,    /* shared/group-users/<id>/<node> */
        CLUSTER_KEY_RULE,          /* shared/rules/<id> */
        CLUSTER_KEY_RULE_NAME,     /* shared/rule-names/<name> */
        CLUSTER_KEY_ATTACHMENT,    /* shared/attachments/<id> */
        CLUSTER_KEY_MAC,           /* shared/macs/<mac> */
        CLUSTER_KEY_MACHINE,       /* shared/machines/<machine> */
        CLUSTER_KEY_NODE,          /* shared/nodes/<node> */
        CLUSTER_KEY_ALIVE,         /* shared/alive/<node> */
        CLUSTER_KEY_STATE,         /* shared/state/<node> */
        CLUSTER_KEY_CLAIMS,        /* node/<node>/claims/<machine> */
        CLUSTER_KEY_HOLDS,         /* node/<node>/holds/<tenant> */
        _CLUSTER_KEY_MAX,
} ClusterKeyKind;

/* A key's parts; which ones a kind has is in the comments above. */
typedef struct {
        ClusterKeyKind kind;
        int64_t id;       /* a group's, rule's or attachment's */
        char *name;       /* the id kind, a group's or rule's name, a MAC, a machine, a tenant */
        char *node;
} ClusterKey;

void cluster_key_clear(ClusterKey *k);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ClusterKey, cluster_key_clear);

/* prefix + the key of k, NUL-terminated (no part of a key holds a NUL). */
char *cluster_key_build(const char *prefix, const ClusterKey *k);
/* The key (len bytes: etcd's keys are bytes) under prefix as its kind
 * and parts, each checked as a call's argument would be; false with a
 * CLUSTER_CODEC_ERROR_KEY error that quotes the key and says what is
 * wrong. */
bool cluster_key_parse(const char *prefix, const char *key, gsize len, ClusterKey *ret, GError **error);

/* An id as keys and values spell it: the canonical decimal of a
 * positive int64 (no sign, no leading zero, nothing around it). */
bool cluster_id_parse(const char *s, int64_t *ret);

/* The prefixes a node watches or ranges over: every node's shared keys,
 * one node's own keys, and the nodes that use a group (the compare of
 * the group's deletion). */
char *cluster_key_shared(const char *prefix);
char *cluster_key_node(const char *prefix, const char *node);
char *cluster_key_group_users(const char *prefix, int64_t group_id);
/* The range_end of a range or watch over every key that starts with
 * the len bytes of key: etcd's rule, the last byte below 0xff plus one
 * and the rest cut; "\0" (every key from key on) when there is none. */
GBytes *cluster_key_range_end(const char *key, gsize len);

/* A key or value as shown in a message: quoted, printable, short. */
char *cluster_quote(const char *data, gsize len);
