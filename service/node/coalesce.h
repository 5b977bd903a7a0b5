/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Coalescing of hotplug events. Events only say which functions to look
 * at again: a burst of N events for K functions becomes K pending entries,
 * each looked at once, in the order first seen. Pure: no I/O. */

#include <stdbool.h>
#include <glib.h>

#include "address.h"

typedef enum {
        COALESCE_REREAD,  /* add, change, bind, unbind, move: read it again */
        COALESCE_REMOVE,  /* gone */
        COALESCE_REPLACE, /* gone, then back: a new device at the same
                           * address (VFs re-created), told as such */
} CoalesceAction;

typedef struct {
        DpAddress address;
        CoalesceAction action;
} CoalesceEntry;

typedef struct Coalescer Coalescer;

Coalescer *coalescer_new(void);
void coalescer_free(Coalescer *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Coalescer, coalescer_free);

/* Records a uevent action ("add", "remove", "change", "bind", ...) for a
 * function; the last action wins, except that a removal followed by an
 * addition stays a removal and an addition. Returns true when the queue was empty
 * before, i.e. when a flush needs scheduling. */
bool coalescer_add(Coalescer *c, const DpAddress *address, const char *action);

/* Marks a function to be read again, as an event would. */
bool coalescer_add_reread(Coalescer *c, const DpAddress *address);

/* Takes the pending entries (an array of CoalesceEntry) and empties the queue. */
GArray *coalescer_take(Coalescer *c);

guint coalescer_pending(const Coalescer *c);
