/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What bench.c, bench-rules.c and bench-storm.c share. */

#include <stddef.h>
#include <glib.h>

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
 * as org.devpass1.Bare on the harness's bus. */
GPid bench_bare_start(Harness *h, unsigned n);
/* rm -rf dir. */
void remove_dir(const char *dir);

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
