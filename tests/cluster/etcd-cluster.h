/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A real etcd cluster for tests and the benchmark: 1 or 3 members of
 * /usr/bin/etcd on free loopback ports, in a temporary directory, with
 * TLS (a CA, a server and a client certificate made by openssl at the
 * start) when asked. Members die with the test process. */

#include <stdbool.h>
#include <gio/gio.h>

#include "etcd-client.h"

typedef struct EtcdCluster EtcdCluster;

/* Starts the members and returns when every one is healthy (aborts after
 * a bounded wait). */
EtcdCluster *etcd_cluster_new(guint members, bool tls);
void etcd_cluster_free(EtcdCluster *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EtcdCluster, etcd_cluster_free);

/* The members' client URLs, NULL-terminated. */
const char *const *etcd_cluster_endpoints(EtcdCluster *c);
const char *etcd_cluster_endpoint(EtcdCluster *c, guint member);
/* The CA, and the client certificate and key (NULL without TLS). */
const EtcdTls *etcd_cluster_tls(EtcdCluster *c);

/* devpassd.conf's [Cluster] section for a node on these members: a
 * lease of 2 seconds, and the client certificate with TLS. */
char *etcd_cluster_config(EtcdCluster *c, const char *node);

/* SIGKILL, and reaped. */
void etcd_cluster_kill(EtcdCluster *c, guint member);
/* Starts a killed member again on its data directory, without waiting. */
void etcd_cluster_start(EtcdCluster *c, guint member);
/* Until the member says it is healthy (it has a leader). */
bool etcd_cluster_wait_healthy(EtcdCluster *c, guint member, unsigned timeout_ms);
/* etcd's backup (etcdctl snapshot save, through member 0) into path; and
 * every member restored from one (etcdctl snapshot restore), started
 * again and healthy: etcd back at the backup's revision, on its ports. */
void etcd_cluster_snapshot(EtcdCluster *c, const char *path);
void etcd_cluster_restore(EtcdCluster *c, const char *path);
/* etcd's own compaction up to revision, through a member. */
void etcd_cluster_compact(EtcdCluster *c, guint member, gint64 revision);

/* The default main context turned until *result is set (by
 * etcd_cluster_got as an async callback, with result as its data); aborts
 * after timeout_ms. */
void etcd_cluster_got(GObject *source, GAsyncResult *res, gpointer result);
GAsyncResult *etcd_cluster_await(GAsyncResult **result, unsigned timeout_ms);
/* The default main context turned until done(data) or timeout_ms. */
bool etcd_cluster_loop_until(bool (*done)(gpointer data), gpointer data, unsigned timeout_ms);
