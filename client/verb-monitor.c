/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl monitor: each device added, removed or changed, as it happens,
 * until SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "ctl.h"

typedef struct {
        bool json;
} Monitor;

static void print_line(Monitor *mon, const char *event, const char *kind, const char *path, CtlProps *props) {
        g_autofree char *address = ctl_short_address(path);
        g_autofree char *line = NULL;

        if (mon->json) {
                g_autofree char *a = ctl_json_escape(address);
                g_autofree char *p = props ? ctl_props_to_json(props) : g_strdup("{}");
                printf("{\"event\": \"%s\", \"address\": %s, \"properties\": %s}\n", event, a, p);
                fflush(stdout);
                return;
        }
        if (g_str_equal(kind, "+")) {
                g_autofree char *name = ctl_device_name(props);
                const char *driver = ctl_props_str(props, "Driver");
                line = g_strdup_printf("+ %s %s %s", address, name, driver[0] ? driver : "-");
        } else if (g_str_equal(kind, "-")) {
                line = g_strdup_printf("- %s", address);
        } else {
                GString *l = g_string_new(NULL);
                g_string_append_printf(l, "~ %s", address);
                for (guint i = 0; props && i < props->len; i++) {
                        const CtlValue *v = props->pdata[i];
                        g_autofree char *text = ctl_value_to_text(v);
                        g_string_append_printf(l, " %s=%s", v->name, text);
                }
                line = g_string_free(l, FALSE);
        }
        /* The names are the daemon's, from sysfs and pci.ids: escaped. */
        g_autofree char *shown = ctl_escape(line);
        printf("%s\n", shown);
        fflush(stdout);
}

static int on_interfaces(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Monitor *mon = userdata;
        const char *path, *iface;
        bool added = g_str_equal(sd_bus_message_get_member(m), "InterfacesAdded");

        if (sd_bus_message_read(m, "o", &path) < 0 || !g_str_has_prefix(path, "/org/devpass1/devices/"))
                return 0;
        if (!added) {
                print_line(mon, "removed", "-", path, NULL);
                return 0;
        }
        if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                if (sd_bus_message_read(m, "s", &iface) < 0)
                        return 0;
                if (g_str_equal(iface, "org.devpass1.Device")) {
                        g_autoptr(GPtrArray) props = NULL;
                        if (ctl_read_props(m, &props) >= 0)
                                print_line(mon, "added", "+", path, props);
                        return 0;
                }
                if (sd_bus_message_skip(m, "a{sv}") < 0 || sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        return 0;
}

static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *iface, *path = sd_bus_message_get_path(m);
        g_autoptr(GPtrArray) props = NULL;

        if (sd_bus_message_read(m, "s", &iface) < 0 || !g_str_equal(iface, "org.devpass1.Device"))
                return 0;
        if (ctl_read_props(m, &props) >= 0)
                print_line(userdata, "changed", "~", path, props);
        return 0;
}

int verb_monitor(sd_bus *bus, int argc, char **argv, bool json) {
        Monitor mon = { .json = json };
        sd_event *event = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sigset_t mask;
        int r;

        if (argc > 1) {
                fprintf(stderr, "devpassctl: monitor takes no arguments\n");
                return CTL_EXIT_USAGE;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        if ((r = sd_bus_match_signal(bus, NULL, "org.devpass1", "/org/devpass1",
                                     "org.freedesktop.DBus.ObjectManager", NULL, on_interfaces, &mon)) < 0 ||
            (r = sd_bus_match_signal(bus, NULL, "org.devpass1", NULL, "org.freedesktop.DBus.Properties",
                                     "PropertiesChanged", on_properties, &mon)) < 0)
                return ctl_fail("cannot subscribe to devpassd's signals", NULL, r);

        /* Say so now when there is nobody to listen to. */
        r = sd_bus_call_method(bus, "org.devpass1", "/org/devpass1", "org.freedesktop.DBus.Peer", "Ping",
                               &error, NULL, NULL);
        if (r < 0) {
                int code = ctl_fail("Ping", &error, r);
                sd_bus_error_free(&error);
                return code;
        }

        if ((r = sd_event_default(&event)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL)) < 0 ||
            (r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL)) < 0) {
                sd_event_unref(event);
                return ctl_fail("cannot set up the event loop", NULL, r);
        }
        /* A signal without a handler ends the loop with exit code 0. */
        r = sd_event_loop(event);
        sd_bus_detach_event(bus);
        sd_event_unref(event);
        return r < 0 ? ctl_fail("monitor", NULL, r) : CTL_EXIT_OK;
}
