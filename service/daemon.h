/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassd: one GLib main loop, the bus, the inventory and hotplug. */

#include <systemd/sd-bus.h>

#include "auth.h"
#include "binder.h"
#include "config.h"
#include "hotplug.h"
#include "inventory.h"
#include "model.h"
#include "names.h"
#include "store.h"

#define DP_BUS_NAME "org.devpass1"
#define DP_ROOT_PATH "/org/devpass1"
/* In the state directory: the addresses the udev rule binds to vfio-pci at boot. */
#define DP_BOOT_LIST "vfio-pci.list"
/* In the state directory: locked by the devpassd that uses it, holding its pid. */
#define DP_LOCK_FILE "devpassd.lock"

typedef struct Daemon {
        Config config;
        char *version;
        GMainLoop *loop;
        sd_bus *bus;
        GSource *bus_source;
        Names *names;
        Inventory *inventory;
        Hotplug *hotplug;
        Store *store;
        Model *model;
        Auth *auth;
        Binder *binder;
        GHashTable *binding;     /* addresses with a driver change under way */
        GHashTable *recheck;     /* of those, the ones a driver event was seen for meanwhile */
        char *boot_list;         /* what DP_BOOT_LIST holds now */
        guint signal_sources[2];
        int lock_fd;             /* DP_LOCK_FILE, locked for the daemon's life; -1 */
        int exit_status;
} Daemon;

/* Scans the node and exports it; the name is requested last, so that a
 * client that sees it owned sees every object. */
Daemon *daemon_new(Config *config, GError **error);
void daemon_free(Daemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Daemon, daemon_free);

/* Runs until SIGTERM/SIGINT (0) or a lost bus (1). */
int daemon_run(Daemon *d);

/* The daemon behind a method call on one of its objects (the registering
 * slot's userdata: fallback vtables hand the object to the handler). */
Daemon *daemon_of_call(sd_bus_message *m);

/* Sends what the model says changed (objects removed, added, properties),
 * and keeps the boot-time vfio-pci list in step with the store. */
void daemon_emit(Daemon *d);

/* A driver change of addresses (NULL-terminated) begins: calls that would
 * change them are Busy, the reconcile leaves them. */
void daemon_binding_begin(Daemon *d, const char *const *addresses);
/* The binder's results (BindResult*) are in: their devices are free
 * again, and those a driver event came for meanwhile are reconciled. */
void daemon_binding_end(Daemon *d, GPtrArray *results);

/* Sets a PF's VF count through the binder, the PF marked busy (done
 * unmarks it); a PF whose VFs are passed through gets
 * sriov_drivers_autoprobe 0 first, so that no host driver takes them. */
void daemon_set_vfs(Daemon *d, const Device *pf, unsigned count, BinderFunc done, void *userdata);

/* Records what the binder did (reboot reasons, errors) on the model.
 * Returns true when a device waits for a reboot; *failed gets the
 * reasons of those that failed, NULL when none. */
bool daemon_bind_results(Daemon *d, GPtrArray *results, char **failed);
