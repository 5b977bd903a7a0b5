/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassd.conf and the command line. */

#include <stdbool.h>
#include <glib.h>

typedef struct {
        char *config_path;   /* default SYSCONFDIR/devpass/devpassd.conf */
        char *node;          /* Node=, default the hostname */
        char *pci_ids;       /* the pci.ids file names come from */
        char *sysfs_root;    /* "/sys"; tests relocate it with umockdev */
        char *root;          /* where the safety guard reads proc/, sys/ and dev/: "/" */
        char *state_dir;     /* --state-dir, else $STATE_DIRECTORY, else /var/lib/devpass */
        char *boot_dir;      /* where the udev rule learns what boots on vfio-pci: /etc/devpass/vfio-pci.d */
        char *modprobe;      /* Modprobe=, run as "<modprobe> vfio-pci" */
        int settle_ms;       /* how long a driver change may take to show in sysfs */
        guint64 max_message_size;  /* MaxMessageSize=: the bus's limit, dbus-daemon's 32 MiB */
        bool verbose;
} Config;

void config_clear(Config *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Config, config_clear);

/* 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. Pure. */
bool config_node_name_valid(const char *name);

/* Fills what the command line left unset from the file (a missing file is
 * fine), then from the defaults. */
bool config_load(Config *c, GError **error);
/* The same from the file's contents (a missing file is no contents). */
bool config_load_data(Config *c, const char *data, gsize len, GError **error);
