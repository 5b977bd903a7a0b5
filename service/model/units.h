/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A group's units: the functions of one group that share an IOMMU group
 * (a GPU and its audio function) go whole to one holder. Pure: how a
 * sorted list of functions falls into units, and which units the model
 * last judged free (model_unit_free()), counted, so that a claim or a
 * release judges again only the units it touches. */

#include <stdbool.h>
#include <glib.h>

#include "device.h"

typedef struct {
        GPtrArray *list;          /* per unit, a GPtrArray of Device*, in the order of their first function */
        GHashTable *index;        /* Device* -> its unit's index + 1 */
        bool *available;          /* per unit: free when last judged */
        guint n_available;
} Units;

/* devices: Device*, sorted by address (units come in the order of their
 * first function); none judged free yet. */
Units *units_new(GPtrArray *devices);
void units_free(Units *u);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Units, units_free);

/* The index of the unit d is in, or -1. */
int units_find(const Units *u, const Device *d);
/* Records whether unit i is free; true when that changed. */
bool units_set_available(Units *u, guint i, bool available);
/* The units judged free (GPtrArray of Device*, referenced), in order. */
GPtrArray *units_available(const Units *u);
