/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The qemu hook's work, for a domain whose XML names host devices:
 * "prepare begin" makes sure the domain holds every devpass device it
 * names (ClaimDevices: those it holds pass, free ones of its groups are
 * claimed for it, one held by another machine or tenant fails the start),
 * "release end" releases its claim. It talks to devpassd on the system
 * bus, never to libvirt. What it prints on stderr, libvirt shows the user. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "domain-xml.h"

/* One line for libvirt's error: "devpass: <text>". */
static int G_GNUC_PRINTF(1, 2) refuse(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        g_autofree char *text = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_strdelimit(text, "\n\r", ' ');
        fprintf(stderr, "devpass: %s\n", text);
        return 1;
}

static int refuse_call(const char *domain, const char *what, const sd_bus_error *error, int r) {
        if (sd_bus_error_has_names(error, "org.freedesktop.DBus.Error.ServiceUnknown",
                                   "org.freedesktop.DBus.Error.NameHasNoOwner") || r == -ENOENT || r == -ECONNREFUSED)
                return refuse("domain '%s' names host devices and devpassd, which decides whose they are, is not "
                              "running (systemctl start devpassd)", domain);
        if (sd_bus_error_is_set(error) && error->message)
                return refuse("%s", error->message);
        return refuse("%s for domain '%s' failed: %s", what, domain, strerror(-r));
}

/* Whether devpass passes the device at a through: its State is one of
 * devpass's. A device devpass does not know, or leaves to the host, is
 * the administrator's business. */
static int is_devpass_device(sd_bus *bus, const char *domain, const DpAddress *a, bool *ret) {
        g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
        char path[DP_DEVICE_PATH_MAX];
        char *state = NULL;

        address_to_path(a, path);
        int r = sd_bus_get_property_string(bus, "org.devpass1", path, "org.devpass1.Device", "State", &error, &state);
        if (r < 0 && sd_bus_error_has_name(&error, "org.freedesktop.DBus.Error.UnknownObject")) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return refuse_call(domain, "reading a device's state", &error, r);
        *ret = g_str_equal(state, "passthrough") || g_str_equal(state, "claimed") || g_str_equal(state, "tenant");
        free(state);
        return 0;
}

static int prepare(sd_bus *bus, const char *domain, const char *uuid, GArray *hostdevs) {
        g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func(g_free);
        int r;

        for (guint i = 0; i < hostdevs->len; i++) {
                const DplHostdev *h = &g_array_index(hostdevs, DplHostdev, i);
                char text[DP_ADDRESS_MAX];
                bool ours = false;
                if ((r = is_devpass_device(bus, domain, &h->address, &ours)) != 0)
                        return r;
                if (!ours)
                        continue;
                address_format(&h->address, text);
                if (h->managed)
                        return refuse("%s is passed through by devpass, and domain '%s' has it with managed='yes', "
                                      "so libvirt would rebind its driver: set managed='no' on it (virsh edit)",
                                      text, domain);
                g_ptr_array_add(addresses, g_strdup(text));
        }
        if (addresses->len == 0)
                return 0;

        g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        g_ptr_array_add(addresses, NULL);
        if ((r = sd_bus_message_new_method_call(bus, &m, "org.devpass1", "/org/devpass1", "org.devpass1.Manager",
                                                "ClaimDevices")) < 0 ||
            (r = sd_bus_message_append(m, "s", domain)) < 0 ||
            (r = sd_bus_message_append_strv(m, (char **) addresses->pdata)) < 0 ||
            (r = sd_bus_message_append(m, "a{sv}", uuid ? 1 : 0, "Uuid", "s", uuid)) < 0)
                return refuse_call(domain, "ClaimDevices", NULL, r);
        if ((r = sd_bus_call(bus, m, 0, &error, &reply)) < 0)
                return refuse_call(domain, "ClaimDevices", &error, r);
        return 0;
}

static int release(sd_bus *bus, const char *domain) {
        g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, "org.devpass1", "/org/devpass1", "org.devpass1.Manager", "Release", &error,
                                   NULL, "s", domain);

        return r < 0 ? refuse_call(domain, "Release", &error, r) : 0;
}

int main(int argc, char **argv) {
        g_autoptr(GString) xml = g_string_new(NULL);
        g_autofree char *error = NULL;
        char buffer[65536];
        ssize_t n;

        if (argc < 4)
                return refuse("the qemu hook takes DOMAIN OPERATION SUB-OPERATION, as libvirt runs it");
        while ((n = read(STDIN_FILENO, buffer, sizeof(buffer))) != 0) {
                if (n < 0 && errno != EINTR)
                        return refuse("cannot read the XML of domain '%s': %s", argv[1], strerror(errno));
                if (n > 0)
                        g_string_append_len(xml, buffer, n);
        }
        g_autoptr(xmlDoc) doc = dpl_domain_parse(xml->str, &error);
        if (!doc)
                return refuse("domain '%s': %s", argv[1], error);
        g_autoptr(GArray) hostdevs = dpl_domain_hostdevs(doc);
        /* No PCI host device (a USB one, say): nothing of devpass's. */
        if (hostdevs->len == 0)
                return 0;

        /* libvirt clears the environment: the system bus at its own path. */
        g_autoptr(sd_bus) bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                return refuse_call(argv[1], "connecting to the system bus", NULL, r);
        if (g_str_equal(argv[2], "prepare")) {
                g_autofree char *uuid = dpl_domain_uuid(doc);
                return prepare(bus, argv[1], uuid, hostdevs);
        }
        return g_str_equal(argv[2], "release") ? release(bus, argv[1]) : 0;
}
