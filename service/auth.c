/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "auth.h"

#include <polkit/polkit.h>

#include "bus-errors.h"

struct Auth {
        GDBusConnection *bus;         /* the system bus polkit is asked on */
        PolkitAuthority *authority;   /* NULL until the first check has one */
        GCancellable *cancellable;    /* cancelled when the daemon stops */
};

typedef struct {
        Auth *auth;
        sd_bus_message *message;
        char **actions;
        size_t next;               /* the action being asked */
        char *action;              /* = actions[next] */
        PolkitDetails *details;
        PolkitCheckAuthorizationFlags flags;
        AuthFunc done;
        void *userdata;
} Check;

static void check_start(Check *c);

static void check_finish(Check *c, bool allowed, const char *reason) {
        if (allowed && c->actions[c->next + 1]) {
                c->action = c->actions[++c->next];
                check_start(c);
                return;
        }
        c->done(c->message, allowed, allowed ? NULL : c->action, reason, c->userdata);
        sd_bus_message_unref(c->message);
        g_clear_object(&c->details);
        g_strfreev(c->actions);
        g_free(c);
}

static void on_checked(GObject *source, GAsyncResult *res, gpointer userdata) {
        Check *c = userdata;
        g_autoptr(GError) error = NULL;
        g_autoptr(PolkitAuthorizationResult) result =
                polkit_authority_check_authorization_finish(POLKIT_AUTHORITY(source), res, &error);

        if (!result) {
                g_warning("polkit check of %s failed, denying: %s", c->action, error->message);
                check_finish(c, false, "the authorization service could not be asked");
        } else if (polkit_authorization_result_get_is_authorized(result))
                check_finish(c, true, NULL);
        else
                check_finish(c, false, polkit_authorization_result_get_is_challenge(result) ?
                             "authentication is required" : "not allowed by the polkit policy");
}

static void check_start(Check *c) {
        const char *sender = sd_bus_message_get_sender(c->message);
        g_autoptr(PolkitSubject) subject = polkit_system_bus_name_new(sender);

        polkit_authority_check_authorization(c->auth->authority, subject, c->action, c->details, c->flags,
                                             c->auth->cancellable, on_checked, c);
}

static void on_authority(GObject *source, GAsyncResult *res, gpointer userdata) {
        Check *c = userdata;
        g_autoptr(GError) error = NULL;
        PolkitAuthority *authority = polkit_authority_get_finish(res, &error);

        if (!authority) {
                g_warning("Cannot reach polkit, denying %s: %s", c->action, error->message);
                check_finish(c, false, "the authorization service could not be reached");
                return;
        }
        if (!c->auth->authority)
                c->auth->authority = authority;
        else
                g_object_unref(authority);
        check_start(c);
}

/* GIO's shared system bus connection raises SIGTERM when the bus goes
 * away (exit-on-close). devpassd notices a lost bus itself, through
 * sd-bus, and exits with a failure that systemd restarts; a SIGTERM would
 * turn that into a clean stop. So the connection is taken first and told
 * not to. */
static void on_bus(GObject *source, GAsyncResult *res, gpointer userdata) {
        Check *c = userdata;
        g_autoptr(GError) error = NULL;
        GDBusConnection *bus = g_bus_get_finish(res, &error);

        if (!bus) {
                g_warning("Cannot reach the system bus, denying %s: %s", c->action, error->message);
                check_finish(c, false, "the authorization service could not be reached");
                return;
        }
        g_dbus_connection_set_exit_on_close(bus, FALSE);
        if (!c->auth->bus)
                c->auth->bus = bus;
        else
                g_object_unref(bus);
        polkit_authority_get_async(c->auth->cancellable, on_authority, c);
}

Auth *auth_new(void) {
        Auth *a = g_new0(Auth, 1);
        a->cancellable = g_cancellable_new();
        return a;
}

void auth_free(Auth *a) {
        if (!a)
                return;
        g_cancellable_cancel(a->cancellable);
        g_clear_object(&a->cancellable);
        g_clear_object(&a->authority);
        g_clear_object(&a->bus);
        g_free(a);
}

void auth_check(Auth *a, sd_bus_message *m, const char *const *actions, const char *const *details,
                AuthFunc done, void *userdata) {
        Check *c = g_new0(Check, 1);

        g_return_if_fail(actions && actions[0]);
        c->auth = a;
        c->message = sd_bus_message_ref(m);
        c->actions = g_strdupv((char **) actions);
        c->action = c->actions[0];
        c->done = done;
        c->userdata = userdata;
        c->details = polkit_details_new();
        for (size_t i = 0; details && details[i] && details[i + 1]; i += 2)
                polkit_details_insert(c->details, details[i], details[i + 1]);
        if (sd_bus_message_get_allow_interactive_authorization(m))
                c->flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;

        if (!sd_bus_message_get_sender(m)) {
                check_finish(c, false, "the caller has no bus name");
                return;
        }
        /* Fetching the authority talks to the bus: never block the loop on it. */
        if (!a->authority)
                g_bus_get(G_BUS_TYPE_SYSTEM, a->cancellable, on_bus, c);
        else
                check_start(c);
}

int auth_reply_denied(sd_bus_message *m, const char *action, const char *reason) {
        return sd_bus_reply_method_errorf(m, DP_ERROR_NOT_AUTHORIZED,
                                          "Not authorized for %s: %s (ask an administrator, or add a polkit rule)",
                                          action, reason ?: "denied");
}
