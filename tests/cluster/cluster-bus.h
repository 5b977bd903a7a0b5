/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Three devpassd through D-Bus (issue 13's tests): each on its own
 * umockdev GPU server, private bus and real polkitd (root may do
 * everything), all on one 3-member etcd started by the fixture. What
 * test-cluster.c and test-cluster-loss.c share (cluster-bus.c). */

#include <stdbool.h>

#include "calls.h"
#include "etcd-cluster.h"

#define NODES 3
#define MANAGER "org.devpass1.Manager"
#define GROUP "org.devpass1.Group"
#define RULE "org.devpass1.Rule"
#define DEVICE "org.devpass1.Device"
#define NODE "org.devpass1.Node"
#define UNAVAILABLE "org.devpass1.Error.ClusterUnavailable"
/* How long a change may take to reach every node, or the cluster to
 * answer again: generous, for the sanitizers on a loaded machine. */
#define WAIT_MS 20000

/* The GPU server's GPU: its two functions. */
extern const char *const cbus_gpu[];

typedef struct {
        EtcdCluster *etcd;
        Harness *h[NODES];
        FakeKernel *fk[NODES];     /* NULL: no passthrough in this test */
        EtcdClient *client;        /* the test's own, to read etcd's keys */
        char *group;               /* "gpus", made on node 1 */
} Fixture;

typedef struct {
        const char *path, *iface, *name, *want;
} PropWait;

int cbus_setup(void **state);
/* etcd's members are started again in this one: no fake kernel's thread
 * may hold umockdev's lock while GLib forks them. */
int cbus_setup_no_kernel(void **state);
int cbus_setup_tls(void **state);
int cbus_teardown(void **state);
GVariant *cbus_manager(Harness *h, const char *method, GVariant *args, GError **error);
GVariant *cbus_claim_args_of(const char *machine);
GVariant *cbus_claim(Harness *h, const char *machine, GError **error);
GVariant *cbus_group_settings(const char *name);
char *cbus_group_make(Harness *h, const char *name);
char *cbus_rule_create(Harness *h, const char *group, const char *node, const char *address_glob);
/* A property as g_variant_print() shows it; NULL when the object or
 * the property is not there (yet). */
char *cbus_prop_text(Harness *h, const char *path, const char *iface, const char *name);
bool cbus_prop_shows(Harness *h, void *data);
bool cbus_prop_has(Harness *h, void *data);
/* "'node': (total, free)" as h shows it in group's Nodes. */
char *cbus_node_units(Harness *h, const char *group, const char *node);
void cbus_wait_prop(Harness *h, const char *path, const char *iface, const char *name, const char *want);
/* Every node shows each node in state ("up", "down"), and its own
 * ClusterState: "up" once it has read etcd and takes changes. */
void cbus_wait_nodes(Fixture *f, const char *node, const char *state);
void cbus_wait_cluster_state(Fixture *f, const char *state);
void cbus_wait_all_up(Fixture *f);
/* "[objectpath '/org/devpass1/devices/...', ...]" for addresses. */
char *cbus_paths_text(const char *const *addresses);
/* The GPU passed through on node i into the group (made by the first). */
void cbus_passthrough(Fixture *f, int i);
/* Nodes 1 to n pass the GPU through into "gpus", and vm1 has an
 * attachment of one unit of it that every node shows. */
char *cbus_claims_setup(Fixture *f, int n);
/* A key as etcd has it now; NULL when it is not there. */
EtcdKv *cbus_key_get(Fixture *f, const char *key);
/* The lease of a key in etcd; 0 when the key is not there. */
gint64 cbus_key_lease(Fixture *f, const char *key);
