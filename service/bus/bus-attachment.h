/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of attachments: org.devpass1.Attachment on
 * /org/devpass1/attachments/<id>. */

#include "bus-settings.h"
#include "service.h"
#include "mutation.h"

#define DP_ATTACHMENT_INTERFACE "org.devpass1.Attachment"

extern const sd_bus_vtable bus_attachment_vtable[];
extern const BusKind bus_attachment_kind;
const char **bus_attachment_prop_names(unsigned bits);

/* The syntax of a machine's attachment settings (machine: NULL when it
 * is stored already); a given Mac is parsed in place. creating: a blank
 * Name is fine (one is made). 0 or a negative errno with error set. */
int bus_attachment_settings_check(const char *machine, BusSettings *s, bool creating, sd_bus_error *error);
/* A given, non-blank Mac parsed in place (lower case). */
int bus_attachment_mac_parse(BusSettings *s, sd_bus_error *error);
/* The change the settings ask for, as the model takes it (borrowed). */
ModelAttachmentChange bus_attachment_change(const char *machine, const BusSettings *s);
/* What a change of attachment s touches, for polkit: manage-attachments,
 * its machine, group, and whose the machine is. */
void bus_attachment_ask(Model *m, const StoreAttachment *s, MutationAsk *ask);
