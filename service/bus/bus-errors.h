/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The named errors of the API, and the check that gives a call with the
 * wrong argument types one of them instead of sd-bus's generic reply. */

#include <systemd/sd-bus.h>

#define DP_ERROR_INVALID_ARGUMENT "org.devpass1.Error.InvalidArgument"
#define DP_ERROR_NOT_FOUND        "org.devpass1.Error.NotFound"
#define DP_ERROR_BUSY             "org.devpass1.Error.Busy"
#define DP_ERROR_UNSAFE           "org.devpass1.Error.Unsafe"
#define DP_ERROR_NOT_AUTHORIZED   "org.devpass1.Error.NotAuthorized"
#define DP_ERROR_REBOOT_REQUIRED  "org.devpass1.Error.RebootRequired"
#define DP_ERROR_FAILED           "org.devpass1.Error.Failed"
#define DP_ERROR_CLUSTER_UNAVAILABLE "org.devpass1.Error.ClusterUnavailable"

typedef struct {
        const char *interface;
        const sd_bus_vtable *vtable;
} BusInterface;

/* Registers the error map, and a filter that answers a method call on one
 * of the interfaces (a NULL-terminated array, static) whose arguments do
 * not have the method's signature with the standard
 * org.freedesktop.DBus.Error.InvalidArgs, naming the signature expected. */
int bus_errors_install(sd_bus *bus, const BusInterface *interfaces);

/* A caller's string made fit to quote in an error message: in quotes,
 * control characters escaped, cut after about 70 characters. Returns buf. */
const char *bus_quote(const char *s, char buf[static 80]);

#include <glib.h>

/* Replies built by hand are freed on every path. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)

/* The named error for a GError from the model or the store: exists/busy
 * -> Busy, invalid -> InvalidArgument, not found -> NotFound, permission
 * denied (the host would lose what it runs on) -> Unsafe; the cluster's:
 * unavailable -> ClusterUnavailable, a conflict tried again and again ->
 * Busy; else Failed. */
const char *bus_error_name_for(const GError *e);
