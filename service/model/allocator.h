/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which free devices a machine gets: pure, no I/O. Devices on the NUMA
 * node asked for come first; among VFs, those of the physical function
 * with the fewest devices in use (spreading a machine's traffic and the
 * node's load over the ports); then the lowest address, so that the
 * choice is the same on every run. */

#include <glib.h>

#include "device.h"

/* free: the candidates (Device*), any order. pf_use: physical function
 * path -> devices of it in use (guint), updated with the choice. Returns
 * count devices, or NULL when fewer are free. */
GPtrArray *allocator_choose(GPtrArray *free, guint count, int numa_node, GHashTable *pf_use);
