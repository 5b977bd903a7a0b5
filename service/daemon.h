/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassd: one GLib main loop, the bus, the inventory and hotplug. */

#include <systemd/sd-bus.h>

#include "config.h"
#include "hotplug.h"
#include "inventory.h"
#include "names.h"

#define DP_BUS_NAME "org.devpass1"
#define DP_ROOT_PATH "/org/devpass1"

typedef struct {
        Config config;
        char *version;
        GMainLoop *loop;
        sd_bus *bus;
        GSource *bus_source;
        Names *names;
        Inventory *inventory;
        Hotplug *hotplug;
        guint signal_sources[2];
        int exit_status;
} Daemon;

/* Scans the node and exports it; the name is requested last, so that a
 * client that sees it owned sees every object. */
Daemon *daemon_new(Config *config, GError **error);
void daemon_free(Daemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Daemon, daemon_free);

/* Runs until SIGTERM/SIGINT (0) or a lost bus (1). */
int daemon_run(Daemon *d);
