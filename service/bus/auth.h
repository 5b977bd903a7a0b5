/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Authorization: asynchronous polkit checks for bus method calls. The
 * subject is the caller's unique bus name (never a pid); the message's
 * allow-interactive flag is honoured; details name the objects so that
 * rules can scope an admin to one group or tenant. Anything but a clear
 * "yes" from polkit (an error, no polkitd, no sender) is a "no". */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <systemd/sd-bus.h>

typedef struct Auth Auth;

/* Checks are asked on bus, the connection the calls come in on. */
Auth *auth_new(sd_bus *bus);
void auth_free(Auth *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Auth, auth_free);

/* systemd's way (hostnamed, logind): a method handler calls this from
 * the top with what its call needs. The first time it asks polkit and
 * returns 0: the handler returns 1, the reply comes later. When polkit has
 * answered, the call is dispatched again from the top, so every check
 * before runs again, and this returns 1 when allowed; or, with error set,
 * -EACCES (org.devpass1.Error.NotAuthorized, or
 * org.freedesktop.DBus.Error.InteractiveAuthorizationRequired when a
 * password would do and the caller did not allow interaction), or
 * -ESTALE (org.devpass1.Error.Busy) when the actions or details differ
 * from what polkit was asked: a stale answer authorizes nothing. *caller
 * gets who the caller is, as the bus and /proc told (asked beside polkit,
 * once a caller). */
typedef struct {
        int64_t uid;    /* -1: unknown */
        int64_t pid;
        unsigned again; /* how many times auth_redispatch() sent the call round */
        unsigned waited; /* of those, after waiting in line behind another change (not a try) */
        char unit[256]; /* the caller's systemd unit when it first called; "" unknown */
} AuthCaller;

int auth_verify(Auth *a, sd_bus_message *m, const char *const *actions, const char *const *details,
                AuthCaller *caller, sd_bus_error *error);
/* Sends an authorized call round again, as if polkit had just answered
 * yes for what it asked (a cluster refused its change because another
 * node changed what it read): it is checked again from the top, and
 * auth_verify() allows it only for the same actions and details. */
void auth_redispatch(Auth *a, sd_bus_message *m, const char *const *actions, const char *const *details,
                     const AuthCaller *caller);
