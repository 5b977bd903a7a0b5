/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Vendor, device and class names from pci.ids, through libpci. */

#include "device.h"

typedef struct Names Names;

/* Never fails: a missing or broken pci.ids gives empty names and one log
 * line, not a dead daemon. */
Names *names_new(const char *ids_path);
void names_free(Names *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Names, names_free);

/* Fills d's *_name fields from its ids. */
void names_fill(Names *n, Device *d);
