/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The nodes: /org/devpass1/nodes/<name>, one for each member of the
 * cluster as this node's replica knows it, or this node alone when it is
 * no cluster's. */

#include <systemd/sd-bus.h>

#include "object-manager.h"
#include "service.h"

#define DP_NODES_PATH DP_ROOT_PATH "/nodes"
#define DP_NODE_INTERFACE "org.devpass1.Node"

extern const sd_bus_vtable bus_node_vtable[];
extern const BusKind bus_node_kind;
/* The nodes as they are at the start, before the bus shows them. */
void bus_nodes_init(Service *d);
/* Reads the members again and sends what changed: nodes added, gone, and
 * their properties; gives the model the groups' units elsewhere (marked
 * for the next emission); and puts this node's state for the others. */
void bus_nodes_sync(Service *d);
