/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassd.conf and the command line. */

#include <stdbool.h>
#include <glib.h>

/* [Cluster]: absent (endpoints NULL), devpassd is the single node it
 * always was. */
typedef struct {
        char **endpoints;    /* Endpoints=: etcd's client URLs */
        char *ca_file;       /* CertificateAuthority= */
        char *cert_file;     /* Certificate= */
        char *key_file;      /* PrivateKey= */
        char *node;          /* Node=, default [Daemon] Node= */
        unsigned lease_seconds;  /* LeaseSeconds=, default 10 */
        gsize max_response;      /* bytes of one etcd answer (0: the client's, 16 MiB); not in the file: tests set it */
} ConfigCluster;

#define CONFIG_CLUSTER_ENDPOINTS_MAX 16
#define CONFIG_LEASE_SECONDS_MIN 2
#define CONFIG_LEASE_SECONDS_MAX 3600

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
        ConfigCluster cluster;
} Config;

void config_clear(Config *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Config, config_clear);

/* 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. Pure. */
bool config_node_name_valid(const char *name);

/* A cluster member's name, as a DNS label: 1-63 of [a-z0-9-], not
 * starting or ending with '-'. Pure. */
bool config_cluster_node_valid(const char *name);

/* Fills what the command line left unset from the file (a missing file is
 * fine), then from the defaults. */
bool config_load(Config *c, GError **error);
/* The same from the file's contents (a missing file is no contents). */
bool config_load_data(Config *c, const char *data, gsize len, GError **error);
