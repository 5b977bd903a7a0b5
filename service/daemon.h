/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassd: one GLib main loop, the bus, the inventory and hotplug; its
 * start and its stop. What the bus faces see of it is the Service. */

#include <systemd/sd-bus.h>

#include "hotplug.h"
#include "names.h"
#include "service.h"
#include "store.h"

/* In the state directory: locked by the devpassd that uses it, holding its pid. */
#define DP_LOCK_FILE "devpassd.lock"

typedef struct Daemon {
        Service service;         /* what the bus faces see */
        GMainLoop *loop;
        GSource *bus_source;
        Names *names;
        Hotplug *hotplug;
        Store *store;
        guint signal_sources[2];
        guint watchdog_source;   /* WATCHDOG=1 at half systemd's WatchdogSec=; 0 */
        guint ready_source;      /* READY=1 at DAEMON_READY_MAX_S if the reconcile is not over; 0 */
        bool name_owned;         /* READY=1 needs both */
        bool reconciled;
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
