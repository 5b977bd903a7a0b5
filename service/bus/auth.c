/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit's CheckAuthorization asked on devpassd's own bus connection, as
 * systemd's services do: no second connection, no thread hops, and a lost
 * bus is noticed in one place. */
#include "auth.h"

#include <errno.h>
#include <systemd/sd-login.h>

#include "bus-errors.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"

/* CheckAuthorization's flags. */
#define POLKIT_ALLOW_USER_INTERACTION 1u

/* The bus lets one connection wait for at most 128 replies (the system
 * bus's max_replies_per_connection): a boot storm of claims must queue
 * its checks, not have polkit's answers refused as LimitsExceeded. */
#define AUTH_MAX_IN_FLIGHT 64

/* A person may take a while to type a password; a plain check may not. */
#define AUTH_TIMEOUT_INTERACTIVE_USEC (5ull * 60 * G_USEC_PER_SEC)

/* An answer the call it was for did not come back for (its object went
 * while polkit was asked, and sd-bus answered for us) is dropped this
 * long after it came. */
#define AUTH_ANSWER_KEEP_USEC (60ull * G_USEC_PER_SEC)

/* Callers whose uid and pid the bus told, with their unit, kept by
 * unique name: the bus never gives a name to a second connection, and a
 * connection's credentials are those it connected with, so an entry is
 * never wrong (the unit at most old), at most unused; the table starts
 * again when this full. */
#define AUTH_CALLERS_MAX 1024

struct Auth {
        sd_bus *bus;
        GHashTable *pending;       /* Check*: refused when the daemon stops */
        GHashTable *answers;       /* sd_bus_message* -> Check*: answered, the call dispatched again */
        GQueue waiting;            /* Check* not sent yet: AUTH_MAX_IN_FLIGHT are out */
        guint in_flight;
        GHashTable *callers;       /* unique name -> AuthCaller* */
};

typedef struct {
        Auth *auth;
        sd_bus_message *message;
        char **actions;
        size_t next;               /* the action being asked */
        char **details;            /* key, value, ...; NULL-terminated */
        bool interactive;
        sd_bus_slot *slot;
        sd_bus_slot *creds_slot;   /* who the caller is, for the log */
        /* The answer, for auth_verify(). */
        bool allowed;
        bool challenge;            /* polkit would ask for a password */
        char *reason;
        bool polkit_done;
        bool creds_done;
        AuthCaller caller;
        gint64 answered_at;
} Check;

static void check_free(Check *c) {
        sd_bus_slot_unref(c->slot);
        sd_bus_slot_unref(c->creds_slot);
        sd_bus_message_unref(c->message);
        g_strfreev(c->actions);
        g_strfreev(c->details);
        g_free(c->reason);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Check, check_free);

static void check_start(Check *c);

/* auth_verify()'s call goes round again with its answer, once polkit
 * and the bus (who the caller is) have both answered. */
static void check_redispatch(Check *c) {
        Auth *a = c->auth;
        int r;

        if (!c->polkit_done || !c->creds_done)
                return;
        g_hash_table_steal(a->pending, c);
        c->answered_at = g_get_monotonic_time();
        g_hash_table_insert(a->answers, c->message, c);
        if ((r = sd_bus_enqueue_for_read(a->bus, c->message)) < 0) {
                g_warning("Cannot dispatch %s again after polkit answered: %s", sd_bus_message_get_member(c->message),
                          g_strerror(-r));
                (void) sd_bus_reply_method_errorf(c->message, DP_ERROR_FAILED, "devpassd could not go on after "
                                                  "authorization: %s", g_strerror(-r));
                g_hash_table_remove(a->answers, c->message);
        }
}

static void check_finish(Check *c, bool allowed, bool challenge, const char *reason) {
        if (allowed && c->actions[c->next + 1]) {
                c->next++;
                check_start(c);
                return;
        }
        c->allowed = allowed;
        c->challenge = challenge;
        c->reason = g_strdup(reason);
        c->polkit_done = true;
        check_redispatch(c);
}

static int on_checked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Check *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0;

        c->slot = sd_bus_slot_unref(c->slot);
        c->auth->in_flight--;
        Check *next = g_queue_pop_head(&c->auth->waiting);
        if (next)
                check_start(next);
        if (e) {
                g_warning("polkit check of %s failed, denying: %s", c->actions[c->next], e->message);
                check_finish(c, false, false, "the authorization service could not be asked");
        } else if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") < 0 ||
                   sd_bus_message_read(reply, "bb", &authorized, &challenge) < 0) {
                g_warning("polkit answered the check of %s in a way devpassd does not understand, denying",
                          c->actions[c->next]);
                check_finish(c, false, false, "the authorization service could not be understood");
        } else if (authorized)
                check_finish(c, true, false, NULL);
        else
                check_finish(c, false, challenge, challenge ? "authentication is required" :
                                                             "not allowed by the polkit policy");
        return 0;
}

/* The unit read here, once a caller, and not at every change's log
 * line: /proc costs three syscalls a call. A process that moves to
 * another unit later is logged with the first. */
static void caller_read_unit(AuthCaller *caller) {
        g_autofree char *unit = NULL;

        if (sd_pid_get_unit((pid_t) caller->pid, &unit) >= 0)
                g_strlcpy(caller->unit, unit, sizeof(caller->unit));
}

static int on_creds(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Check *c = userdata;
        const char *key;
        uint32_t value;

        c->creds_slot = sd_bus_slot_unref(c->creds_slot);
        c->creds_done = true;
        if (!sd_bus_message_is_method_error(reply, NULL) && sd_bus_message_enter_container(reply, 'a', "{sv}") > 0)
                while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                        if (sd_bus_message_read(reply, "s", &key) < 0)
                                break;
                        bool uid = g_str_equal(key, "UnixUserID"), pid = g_str_equal(key, "ProcessID");
                        if ((uid || pid) && sd_bus_message_read(reply, "v", "u", &value) >= 0) {
                                if (uid)
                                        c->caller.uid = (int64_t) value;
                                else
                                        c->caller.pid = (int64_t) value;
                        } else if (sd_bus_message_skip(reply, "v") < 0)
                                break;
                        if (sd_bus_message_exit_container(reply) < 0)
                                break;
                }
        if (c->caller.pid > 0)
                caller_read_unit(&c->caller);
        if (c->caller.uid >= 0) {
                if (g_hash_table_size(c->auth->callers) >= AUTH_CALLERS_MAX)
                        g_hash_table_remove_all(c->auth->callers);
                g_hash_table_insert(c->auth->callers, g_strdup(sd_bus_message_get_sender(c->message)),
                                    g_memdup2(&c->caller, sizeof(c->caller)));
        }
        check_redispatch(c);
        return 0;
}

/* Who the caller is, asked beside polkit (once a caller) so that the
 * log can name it without a blocking call. */
static void check_ask_creds(Check *c) {
        const AuthCaller *known = g_hash_table_lookup(c->auth->callers, sd_bus_message_get_sender(c->message));

        if (known) {
                c->caller = *known;
                c->creds_done = true;
                check_redispatch(c);
                return;
        }
        int r = sd_bus_call_method_async(c->auth->bus, &c->creds_slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "GetConnectionCredentials", on_creds, c, "s",
                                         sd_bus_message_get_sender(c->message));
        if (r < 0) {
                c->creds_done = true;
                check_redispatch(c);
        }
}

static int check_send(Check *c) {
        g_autoptr(sd_bus_message) m = NULL;
        int r;

        if ((r = sd_bus_message_new_method_call(c->auth->bus, &m, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                                                "CheckAuthorization")) < 0 ||
            (r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                       sd_bus_message_get_sender(c->message), c->actions[c->next])) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "{ss}")) < 0)
                return r;
        for (size_t i = 0; c->details[i] && c->details[i + 1]; i += 2)
                if ((r = sd_bus_message_append(m, "{ss}", c->details[i], c->details[i + 1])) < 0)
                        return r;
        if ((r = sd_bus_message_close_container(m)) < 0 ||
            (r = sd_bus_message_append(m, "us", c->interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, "")) < 0)
                return r;
        return sd_bus_call_async(c->auth->bus, &c->slot, m, on_checked, c,
                                 c->interactive ? AUTH_TIMEOUT_INTERACTIVE_USEC : 0);
}

static void check_start(Check *c) {
        if (c->auth->in_flight >= AUTH_MAX_IN_FLIGHT) {
                g_queue_push_tail(&c->auth->waiting, c);
                return;
        }
        int r = check_send(c);

        if (r >= 0)
                c->auth->in_flight++;
        else {
                g_warning("Cannot ask polkit about %s, denying: %s", c->actions[c->next], g_strerror(-r));
                check_finish(c, false, false, "the authorization service could not be asked");
        }
}

Auth *auth_new(sd_bus *bus) {
        Auth *a = g_new0(Auth, 1);
        a->bus = sd_bus_ref(bus);
        a->pending = g_hash_table_new_full(NULL, NULL, (GDestroyNotify) check_free, NULL);
        a->answers = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify) check_free);
        a->callers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return a;
}

void auth_free(Auth *a) {
        if (!a)
                return;
        g_queue_clear(&a->waiting);
        /* Calls still waiting for polkit are refused, so that whoever
         * waits on them learns it and their requests are freed. */
        g_autofree gpointer *left = g_hash_table_get_keys_as_array(a->pending, NULL);
        g_hash_table_steal_all(a->pending);
        for (gpointer *c = left; *c; c++) {
                Check *check = *c;
                (void) sd_bus_reply_method_errorf(check->message, DP_ERROR_NOT_AUTHORIZED, "Not authorized for %s: "
                                                  "devpassd is stopping (call again when it is back)",
                                                  check->actions[check->next]);
                check_free(check);
        }
        g_hash_table_unref(a->pending);
        /* Answered, and dispatched again into a loop that has stopped. */
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, a->answers);
        while (g_hash_table_iter_next(&it, NULL, &value))
                (void) sd_bus_reply_method_errorf(((Check *) value)->message, DP_ERROR_FAILED, "devpassd is stopping: "
                                                  "call again when it is back");
        g_hash_table_unref(a->answers);
        g_hash_table_unref(a->callers);
        sd_bus_unref(a->bus);
        g_free(a);
}

static void check_begin(Auth *a, sd_bus_message *m, const char *const *actions, const char *const *details) {
        Check *c = g_new0(Check, 1);

        g_return_if_fail(actions && actions[0]);
        c->auth = a;
        c->message = sd_bus_message_ref(m);
        c->actions = g_strdupv((char **) actions);
        c->details = details ? g_strdupv((char **) details) : g_new0(char *, 1);
        c->interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        c->caller = (AuthCaller) { .uid = -1, .pid = -1 };
        g_hash_table_add(a->pending, c);

        if (!sd_bus_message_get_sender(m)) {
                c->creds_done = true;
                check_finish(c, false, false, "the caller has no bus name");
                return;
        }
        /* polkit's answer is the long wait: its question goes out first. */
        check_start(c);
        check_ask_creds(c);
}

static bool strv_same(char **a, const char *const *b) {
        return g_strv_equal((const char *const *) a, b ?: (const char *const[]) { NULL });
}

void auth_redispatch(Auth *a, sd_bus_message *m, const char *const *actions, const char *const *details,
                     const AuthCaller *caller) {
        Check *c = g_new0(Check, 1);

        c->auth = a;
        c->message = sd_bus_message_ref(m);
        c->actions = g_strdupv((char **) actions);
        c->details = g_strdupv((char **) details);
        c->caller = *caller;
        c->caller.again++;
        c->allowed = c->polkit_done = c->creds_done = true;
        g_hash_table_add(a->pending, c);
        check_redispatch(c);
}

/* Answers that no call came back for. */
static void answers_expire(Auth *a) {
        gint64 now = g_get_monotonic_time();
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, a->answers);
        while (g_hash_table_iter_next(&it, NULL, &value))
                if (now - ((Check *) value)->answered_at > (gint64) AUTH_ANSWER_KEEP_USEC)
                        g_hash_table_iter_remove(&it);
}

int auth_verify(Auth *a, sd_bus_message *m, const char *const *actions, const char *const *details,
                AuthCaller *caller, sd_bus_error *error) {
        g_autoptr(Check) c = NULL;

        g_return_val_if_fail(actions && actions[0], -EINVAL);
        if (!g_hash_table_steal_extended(a->answers, m, NULL, (gpointer *) &c)) {
                answers_expire(a);
                check_begin(a, m, actions, details);
                return 0;
        }
        /* What polkit was asked must be what this run would ask: an
         * answer about other objects authorizes nothing. */
        if (!strv_same(c->actions, actions) || !strv_same(c->details, details))
                return sd_bus_error_setf(error, DP_ERROR_BUSY, "What %s touches changed while authorization was "
                                         "asked: call again", sd_bus_message_get_member(m)), -ESTALE;
        *caller = c->caller;
        if (c->allowed)
                return 1;
        /* As systemd does: a frontend can tell "ask for a password" from "no". */
        if (c->challenge && !c->interactive)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "Interactive authentication is required for %s: call again allowing "
                                         "interactive authorization, or ask an administrator", c->actions[c->next]), -EACCES;
        return sd_bus_error_setf(error, DP_ERROR_NOT_AUTHORIZED, "Not authorized for %s: %s (ask an administrator, "
                                 "or add a polkit rule)", c->actions[c->next], c->reason ?: "denied"), -EACCES;
}
