/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of attachments: org.devpass1.Attachment on
 * /org/devpass1/attachments/<id>. */

#include "bus-settings.h"
#include "daemon.h"

#define DP_ATTACHMENT_INTERFACE "org.devpass1.Attachment"

extern const sd_bus_vtable bus_attachment_vtable[];
int bus_attachment_register(sd_bus *bus, Daemon *d);
const char **bus_attachment_prop_names(unsigned bits);

/* A machine's attachment from a call's settings, every value checked;
 * base: the one being updated (its values fill what is not given), or
 * NULL. 0 or a negative errno with error set. */
int bus_attachment_settings(Daemon *d, const char *machine, const BusSettings *s, const StoreAttachment *base,
                            StoreAttachment **ret, sd_bus_error *error);
