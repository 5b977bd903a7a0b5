/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon.h"

#include <glib-unix.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "bus-device.h"
#include "bus-errors.h"
#include "bus-manager.h"
#include "bus-source.h"

static const BusInterface bus_interfaces[] = {
        { DP_MANAGER_INTERFACE, bus_manager_vtable },
        { DP_DEVICE_INTERFACE, bus_device_vtable },
        {}
};

static void daemon_on_changes(InventoryChanges *changes, void *userdata) {
        Daemon *d = userdata;

        bus_device_emit_changes(d->bus, changes);
        bus_manager_emit_changes(d->bus, changes);
}

static void daemon_on_bus_lost(void *userdata) {
        Daemon *d = userdata;

        d->exit_status = 1;
        g_main_loop_quit(d->loop);
}

static gboolean daemon_on_signal(gpointer userdata) {
        Daemon *d = userdata;

        g_message("Stopping on signal");
        (void) sd_notify(0, "STOPPING=1");
        g_main_loop_quit(d->loop);
        return G_SOURCE_CONTINUE;
}

static int daemon_on_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Daemon *d = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e) {
                g_warning("Cannot own %s on the system bus: %s (is another devpassd running?)",
                          DP_BUS_NAME, e->message);
                d->exit_status = 1;
                g_main_loop_quit(d->loop);
                return 0;
        }
        g_message("Serving %u PCI functions of node %s as %s", inventory_size(d->inventory),
                  d->config.node, DP_BUS_NAME);
        (void) sd_notifyf(0, "READY=1\nSTATUS=Serving %u PCI functions", inventory_size(d->inventory));
        return 0;
}

static bool daemon_connect(Daemon *d, GError **error) {
        int r;

        /* sd_bus_open_system() honours DBUS_SYSTEM_BUS_ADDRESS: the tests'
         * private bus. */
        if ((r = sd_bus_open_system(&d->bus)) < 0 ||
            (r = bus_errors_install(d->bus, bus_interfaces)) < 0 ||
            (r = bus_manager_register(d->bus, d)) < 0 ||
            (r = bus_device_register(d->bus, d->inventory)) < 0 ||
            (r = sd_bus_request_name_async(d->bus, NULL, DP_BUS_NAME, 0, daemon_on_name, d)) < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r),
                            "Cannot serve on the system bus: %s", g_strerror(-r));
                return false;
        }
        d->bus_source = bus_source_new(d->bus, daemon_on_bus_lost, d);
        g_source_attach(d->bus_source, NULL);
        return true;
}

Daemon *daemon_new(Config *config, GError **error) {
        g_autoptr(Daemon) d = g_new0(Daemon, 1);

        d->config = *config;
        *config = (Config) {};
        d->version = g_strdup(PACKAGE_VERSION);
        d->loop = g_main_loop_new(NULL, FALSE);
        d->names = names_new(d->config.pci_ids);
        d->inventory = inventory_new(d->config.sysfs_root, d->names);
        d->hotplug = hotplug_new(d->inventory, daemon_on_changes, d, error);
        if (!d->hotplug)
                return NULL;
        inventory_changes_free(hotplug_rescan(d->hotplug));

        if (!daemon_connect(d, error))
                return NULL;
        d->signal_sources[0] = g_unix_signal_add(SIGTERM, daemon_on_signal, d);
        d->signal_sources[1] = g_unix_signal_add(SIGINT, daemon_on_signal, d);
        return g_steal_pointer(&d);
}

void daemon_free(Daemon *d) {
        if (!d)
                return;
        for (size_t i = 0; i < G_N_ELEMENTS(d->signal_sources); i++)
                if (d->signal_sources[i])
                        g_source_remove(d->signal_sources[i]);
        if (d->bus_source) {
                g_source_destroy(d->bus_source);
                g_source_unref(d->bus_source);
        }
        sd_bus_flush_close_unref(d->bus);
        hotplug_free(d->hotplug);
        inventory_free(d->inventory);
        names_free(d->names);
        g_main_loop_unref(d->loop);
        g_free(d->version);
        config_clear(&d->config);
        g_free(d);
}

int daemon_run(Daemon *d) {
        g_main_loop_run(d->loop);
        return d->exit_status;
}
