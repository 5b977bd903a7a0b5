/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What bench.c, bench-rules.c and bench-storm.c share. */

#include <stddef.h>
#include <glib.h>

#include "etcd-cluster.h"
#include "harness.h"

double now_ms(void);
/* Both sort v. p: 0.9 for the 90th percentile (nearest rank). */
double median(double *v, size_t n);
double percentile(double *v, size_t n, double p);
/* A field of /proc/PID/status in KiB ("VmRSS:", "VmHWM:"). */
long status_kib(GPid pid, const char *key);
/* CPU time of every thread of pid so far, ms. */
double process_cpu_ms(GPid pid);
/* The bare sd-bus service (bare-service.c) with n device-like objects,
 * as org.devpass1.Bare on the harness's bus (org.devpass1.BareGlib with
 * "--glib"); options: its others (--manager, --state-dir=, --db=),
 * NULL-terminated, or NULL. */
GPid bench_bare_start(Harness *h, unsigned n, const char *const *options);
void bench_bare_stop(GPid pid);
/* rm -rf dir. */
void remove_dir(const char *dir);

/* What a child process took: medians of wall and CPU time (ms), the
 * largest peak resident memory. */
typedef struct {
        double wall, cpu;
        long rss_kib;
} Run;
/* Runs argv (argv[0] a path) with its output to /dev/null, through
 * bench-rusage, and waits. */
Run bench_run(const char *const *argv);
/* The commands in turn, 5 times each after one to warm, each first in its turn. */
void bench_run_turns(const char *const *const *argvs, Run *runs, size_t n);

/* libvirt's node-device driver on a node of n functions (bench-libvirt.c). */
typedef struct {
        bool ran;
        double start_ms;          /* libvirtd's start to every PCI function listed */
        Run list, xml;            /* virsh nodedev-list --cap pci; nodedev-dumpxml of each */
        long rss_kib;
} LibvirtFigures;
void bench_libvirt(Harness *h, unsigned n, LibvirtFigures *ret);

/* devpassd on nodes of 1,000, 4,096 and 16,384 functions: start-up,
 * GetManagedObjects, Get, the listing against lspci, memory. */
void bench_nodes(void);
/* devpass-bench --scan SYSDIR: the inventory's scan alone. */
int bench_scan_main(const char *sys_dir);

/* Re-evaluation of rules over generated nodes, in this process. */
void bench_rules(void);
void bench_hostile_rules(void);
/* 500 machines claiming at once on a node of 4,096 functions. */
void bench_boot_storm(void);
/* A hotplug signal's latency while another client floods devpassd. */
void bench_flood(void);
/* GetManagedObjects of the largest state devpassd keeps, 16,384 functions. */
void bench_sizes(void);
/* The libvirt qemu hook on a domain without devpass devices. */
void bench_hook(void);
/* etcd's put-to-watch latency across members (bench-etcd.c). */
void bench_etcd(void);
/* A put through member 1 of cluster until the watch event through member
 * 3, the floor of a change that travels between nodes: one round's time
 * (ms), and until the put's answer in *answer (when not NULL). */
typedef struct EtcdFloor EtcdFloor;
EtcdFloor *etcd_floor_new(EtcdCluster *cluster);
void etcd_floor_free(EtcdFloor *f);
/* The floor's key and value padded to these lengths (a change's own);
 * by default "/bench/key" and the round's number. */
void etcd_floor_shape(EtcdFloor *f, gsize key_len, gsize value_len);
double etcd_floor_round(EtcdFloor *f, double *answer);
/* A transaction that writes keys (EtcdKv*: their keys under prefix, their
 * values), each guarded by the revision of its last write (0: none yet). */
EtcdTxn *etcd_floor_txn(const char *prefix, GPtrArray *keys, gint64 revision);
/* A round of the same, under "/bench", until all its watch events. */
double etcd_floor_txn_round(EtcdFloor *f, GPtrArray *keys, double *answer);
/* The files of /proc devpassd reads on a generated node (bench-storm.c). */
void bench_proc_tables_write(Harness *h);
/* Three devpassd on a 3-member etcd: a change between nodes, a claim
 * (bench-cluster.c). */
void bench_cluster(void);
