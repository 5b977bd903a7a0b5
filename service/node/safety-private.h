/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the safety guard's files: safety.c (the check, IOMMU groups,
 * bridges, VFs, consoles), safety-net.c (network), safety-block.c (disks). */

#include <stdbool.h>
#include <glib.h>

#include "safety.h"

/* An entry of a /sys/class directory and its link target,
 * "../../devices/pci0000:00/...". */
typedef struct {
        char *name;
        char *target;
} SafetyLink;

/* A table that could not be read, and why. */
typedef struct {
        char *table;    /* "/proc/net/route" */
        char *reason;   /* "Permission denied" */
} SafetyUnreadable;

/* Every table read once per safety_check(). */
typedef struct {
        GHashTable *net;        /* ifname → SafetyNetFlags */
        GPtrArray *netdevs;     /* SafetyLink of /sys/class/net, sorted by name */
        GHashTable *mounts;     /* "major:minor" → GPtrArray of mount points, display form */
        GPtrArray *swaps;       /* SafetySwap */
        GPtrArray *blocks;      /* SafetyLink of /sys/class/block, sorted by name */
        GPtrArray *graphics;    /* SafetyLink of /sys/class/graphics; empty on a headless host */
        GPtrArray *drm;         /* SafetyLink of /sys/class/drm; likewise */
        bool fbcon;             /* fbcon is bound: it draws the text consoles */
        GPtrArray *unreadable;  /* SafetyUnreadable */
} SafetyTables;

/* Strings from /proc and /sys end up in D-Bus replies and logs. */
char *safety_clean(const char *s);

/* Records that <root>/rel could not be read, errno err. */
void safety_unreadable(SafetyTables *t, const char *rel, int err);

/* The lines of <root>/rel; NULL when it cannot be read, which is recorded
 * unless missing_ok and it does not exist (then *missing is set). */
char **safety_read_lines(SafetyTables *t, const char *root, const char *rel, bool missing_ok, bool *missing);

/* White-space separated fields, without empty ones. */
char **safety_fields(const char *line, guint *n);

/* The entries of a directory, sorted, so findings come in a stable order.
 * Empty when it cannot be read. */
GPtrArray *safety_list_dir(const char *path);

/* The links of a class directory (<root>/rel), sorted by name. When it
 * cannot be read: recorded if required, and empty. */
GPtrArray *safety_read_links(SafetyTables *t, const char *root, const char *rel, bool required);

/* Whether a class link's target lies below the function's directory: a
 * disk behind an HBA, a netdev below virtioN, a NIC behind a USB
 * controller are below every function above them. Only text: nothing is
 * followed. */
bool safety_link_below(const char *target, const char *address);

/* A name a sysfs directory may hold: not empty, ".", ".." or with a '/'. */
bool safety_name_valid(const char *name);

G_GNUC_PRINTF(5, 6)
void safety_add(GPtrArray *findings, SafetyKind kind, const Device *d, const char *subject, const char *format, ...);

/* safety-net.c */
void safety_net_read(const char *root, SafetyTables *t);
void safety_net_check(const char *root, const Device *d, const SafetyTables *t, GPtrArray *findings);

/* safety-block.c */
void safety_block_read(const char *root, SafetyTables *t);
void safety_block_check(const char *root, const Device *d, const SafetyTables *t, GPtrArray *findings);
