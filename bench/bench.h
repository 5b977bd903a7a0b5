/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What bench.c and bench-rules.c share. */

#include <stddef.h>

double now_ms(void);
/* Both sort v. p: 0.9 for the 90th percentile (nearest rank). */
double median(double *v, size_t n);
double percentile(double *v, size_t n, double p);

/* Re-evaluation of rules over generated nodes, in this process. */
void bench_rules(void);
