/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An API fuzzer, as systemd runs dfuzzer: every method and property of
 * dbus/org.devpass1.xml, on every kind of object (the manager, a present
 * and a missing device, a group, a rule, an attachment, objects that are
 * not there, odd paths), with generated arguments of the declared
 * signature and some of wrong ones, as root (the calls pass polkit and
 * reach the model) and as nobody. Every call is answered within 5 s with
 * a reply of the declared type or an error the contract names; after each
 * batch the daemon answers GetDevice and its objects are whole; each
 * devpassd exits cleanly (under the sanitizers: no report, no leak).
 *
 * Deterministic: the calls follow from the seed alone (replies never steer
 * the generator), printed at the start; DEVPASS_FUZZ_SEED replays a run,
 * DEVPASS_FUZZ_CALLS runs longer, DEVPASS_FUZZ_FIRST starts at another
 * call. Every third batch of calls is sent at once, root's and nobody's
 * interleaved. A defect is printed when found, with its call and how to
 * replay the calls of its daemon; the test goes on (a fresh daemon after a
 * crash) and fails at the end listing them all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"
#include "api-fuzz-gen.h"

#define ROOT_PATH "/org/devpass1"
#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define PROPERTIES "org.freedesktop.DBus.Properties"

#define DEFAULT_SEED 20261206u
#define DEFAULT_CALLS 55000u
/* A fresh node, bus and daemon every so many calls: root's calls change
 * the state (groups made, devices passed through) and the fixture's
 * objects must come back. */
#define CALLS_PER_DAEMON 400u
/* The daemon's health is checked after every batch. */
#define CALLS_PER_BATCH 50u
#define ANSWER_MS 5000
#define NOBODY_UID 65534
#define NOBODY_GID 65534
/* Enough to tell the story; a run that finds more stops there. */
#define MAX_DEFECTS 40u

static const char *const contract_errors[] = {
        "org.devpass1.Error.InvalidArgument", "org.devpass1.Error.NotFound",
        "org.devpass1.Error.Busy", "org.devpass1.Error.Unsafe",
        "org.devpass1.Error.NotAuthorized", "org.devpass1.Error.RebootRequired",
        "org.devpass1.Error.Failed", "org.devpass1.Error.ClusterUnavailable",
        /* The standard ones the bus library answers with. */
        "org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.UnknownObject",
        "org.freedesktop.DBus.Error.UnknownInterface", "org.freedesktop.DBus.Error.UnknownProperty",
        "org.freedesktop.DBus.Error.InvalidArgs", "org.freedesktop.DBus.Error.PropertyReadOnly",
        "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
        /* sd-bus refuses strings with noncharacters (U+FFFE, U+10FFFF),
         * which the D-Bus specification allows, with this one. */
        "org.freedesktop.DBus.Error.InconsistentMessage",
};

/* Methods anyone may call: for every other one, a success as nobody is an
 * authorization bypass. */
static const char *const open_methods[] = { "GetDevice", "ListDevices", "CheckPassthrough" };

typedef struct {
        FuzzGen *gen;
        GDBusNodeInfo *api;
        Harness *h;
        FakeKernel *fk;
        GDBusConnection *root, *nobody;
        GPtrArray *defects;        /* one line each, for the summary */
        GHashTable *defect_kinds;  /* "kind iface.method[ as nobody]" -> count */
        GHashTable *outcomes;      /* "reply" or the error name -> count */
        guint calls, as_nobody, daemons;
        guint asan_memstream;      /* daemons lost to the sanitizer's own trap (see daemon_alive) */
        guint last;                /* the number of the last call made */
        guint daemon_first;        /* the first call this daemon got */
        bool fuzzing;              /* calls are generated: they can be replayed */
        bool verbose;              /* DEVPASS_FUZZ_VERBOSE: every call and its answer */
        bool at_once;              /* the calls being judged were sent together (run_at_once) */
        double slowest_ms;
        char *slowest;
} Fuzz;

static bool in_list(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (g_str_equal(s, list[i]))
                        return true;
        return false;
}

/* ---- the fixture ---- */

static bool device_missing(Harness *h, void *address) {
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, address);
        const char *state = NULL;

        return props && g_variant_lookup(props, "State", "&s", &state) && g_str_equal(state, "missing");
}

/* A connection of user uid: the bus takes the caller's uid from the
 * socket at connect time (SO_PEERCRED) and GDBus's EXTERNAL
 * authentication sends getuid(), both in this thread, so only this
 * thread becomes the user meanwhile: the raw system calls, as glibc's
 * wrappers change every thread's ids, and the fake kernel's thread must
 * stay root. The saved ids take it back. */
static GDBusConnection *connect_as(Harness *h, uid_t uid, gid_t gid) {
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(syscall(SYS_setresgid, gid, gid, 0), ==, 0);
        g_assert_cmpint(syscall(SYS_setresuid, uid, uid, 0), ==, 0);
        GDBusConnection *c = g_dbus_connection_new_for_address_sync(
                h->bus_address,
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &error);
        g_assert_cmpint(syscall(SYS_setresuid, 0, 0, 0), ==, 0);
        g_assert_cmpint(syscall(SYS_setresgid, 0, 0, 0), ==, 0);
        g_assert_no_error(error);

        /* The bus agrees on who it is. */
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser",
                g_variant_new("(s)", g_dbus_connection_get_unique_name(c)), G_VARIANT_TYPE("(u)"),
                G_DBUS_CALL_FLAGS_NONE, ANSWER_MS, NULL, &error);
        g_assert_no_error(error);
        guint32 seen;
        g_variant_get(r, "(u)", &seen);
        g_assert_cmpuint(seen, ==, uid);
        return c;
}

/* A fresh node with an object of every kind: the GPU at b1:00 passed
 * through into a group (its rules), an attachment of vm1, and its audio
 * function unplugged, so missing. */
static void daemon_up(Fuzz *fz) {
        const char *gpu[] = { "0000:b1:00.0", "0000:b1:00.1", NULL };

        fz->h = calls_gpu_server(NULL, &fz->fk);
        fz->root = harness_connect(fz->h);
        fz->h->connection = g_object_ref(fz->root);
        fz->nobody = connect_as(fz->h, NOBODY_UID, NOBODY_GID);
        g_autofree char *group = calls_passthrough_group(fz->h, gpu, "GPUs", "pci", "gpu");
        g_autofree char *attachment = calls_attach(fz->h, "vm1", group, 1);
        fakekernel_lock(fz->fk);
        testbed_remove(fz->h->testbed, "0000:b1:00.1");
        fakekernel_unlock(fz->fk);
        g_assert_true(harness_wait(fz->h, device_missing, (void *) "0000:b1:00.1", 10000));

        /* The generator aims at these paths (the fixture makes the same
         * ids every time: a fresh store). */
        g_autoptr(GVariant) rules = calls_prop(fz->h, group, "org.devpass1.Group", "Rules");
        const char *rule = NULL;
        g_assert_cmpuint(g_variant_n_children(rules), >, 0);
        g_variant_get_child(rules, 0, "&o", &rule);
        fuzz_gen_set_objects(fz->gen, group, rule, attachment);
        fz->daemons++;
}

static void defect(Fuzz *fz, const FuzzCall *call, const char *kind, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* The daemon's log from its end, at most 3,000 bytes. */
static char *log_tail(Fuzz *fz) {
        g_autofree char *log = harness_daemon_log(fz->h);
        size_t n = strlen(log);
        const char *from = n > 3000 ? log + n - 3000 : log;

        /* From a line's start: whole characters. */
        if (from != log && strchr(from, '\n'))
                from = strchr(from, '\n') + 1;
        return g_strdup(from);
}

/* Stops the daemon and frees the fixture: a clean exit or a defect. */
static void daemon_down(Fuzz *fz) {
        if (fz->h->daemon_pid > 0) {
                int status = harness_daemon_terminate(fz->h);
                if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        g_autofree char *tail = log_tail(fz);
                        defect(fz, NULL, "unclean-exit", "devpassd did not exit cleanly at SIGTERM (status 0x%x); "
                               "its log ends:\n%s", status, tail);
                }
        }
        g_clear_object(&fz->nobody);
        g_clear_object(&fz->root);
        fakekernel_free(fz->fk);
        fz->fk = NULL;
        harness_free(fz->h);
        fz->h = NULL;
}

/* ---- defects ---- */

static void defect(Fuzz *fz, const FuzzCall *call, const char *kind, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        g_autofree char *detail = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_autofree char *what = call ? fuzz_call_describe(call) : g_strdup("(after the calls)");
        g_autofree char *key = g_strdup_printf("%s %s.%s%s", kind, call ? call->iface : "-", call ? call->method : "-",
                                               call && call->as_nobody ? " as nobody" : "");
        guint seen = GPOINTER_TO_UINT(g_hash_table_lookup(fz->defect_kinds, key));

        g_hash_table_insert(fz->defect_kinds, g_strdup(key), GUINT_TO_POINTER(seen + 1));
        /* The first of a kind in full, the others counted. */
        if (seen)
                return;
        /* The calls this daemon got, again, on a fresh one. */
        g_autofree char *replay = fz->fuzzing ? g_strdup_printf("\n    replay: DEVPASS_FUZZ_SEED=%u DEVPASS_FUZZ_FIRST=%u "
                                                                "DEVPASS_FUZZ_CALLS=%u", fuzz_gen_seed(fz->gen),
                                                                fz->daemon_first, fz->last + 1 - fz->daemon_first)
                                              : g_strdup("");
        g_autofree char *number = !fz->fuzzing ? g_strdup("known case")
                                  : fz->at_once ? g_strdup_printf("call %u (sent with its batch at once)", fz->last)
                                                : g_strdup_printf("call %u", fz->last);
        g_autofree char *line = g_strdup_printf("[%s] %s: %s\n    %s%s", kind, number, what, detail, replay);
        fprintf(stderr, "fuzz: DEFECT %s\n", line);
        g_ptr_array_add(fz->defects, g_steal_pointer(&line));
}

static bool daemon_exited(Harness *h, void *data) {
        return waitpid(h->daemon_pid, data, WNOHANG) == h->daemon_pid;
}

/* Whether devpassd still runs; a crash is reported with the call. When
 * the bus said it left (error: its answer to the call), it is given the
 * moment it needs to exit: it closed its socket first. */
static bool daemon_alive(Fuzz *fz, const FuzzCall *call, const GError *error) {
        static const char *const left[] = {
                "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.NameHasNoOwner",
                "org.freedesktop.DBus.Error.ServiceUnknown",
        };
        g_autofree char *name = error ? g_dbus_error_get_remote_error(error) : NULL;
        int status;

        if (!harness_wait(fz->h, daemon_exited, &status, name && in_list(name, left, G_N_ELEMENTS(left)) ? 5000 : 0))
                return true;
        fz->h->daemon_pid = 0;
        g_autofree char *log = harness_daemon_log(fz->h);
        /* Not devpassd's: umockdev's preload wraps fclose() and calls
         * libc's directly, past ASan's interceptor, so ASan keeps the
         * metadata of every open_memstream() FILE (sd-bus introspects
         * with one) and trips over its own CHECK when the address comes
         * back from its quarantine. Counted and said, not a defect. */
        if (strstr(log, "AddressSanitizer: CHECK failed: sanitizer_common_interceptors.inc") &&
            strstr(log, "open_memstream")) {
                fprintf(stderr, "fuzz: call %u: the sanitized devpassd stopped on ASan's open_memstream CHECK "
                        "(umockdev's fclose bypasses ASan's): a fresh one\n", fz->last);
                fz->asan_memstream++;
                return false;
        }
        g_autofree char *tail = log_tail(fz);
        defect(fz, call, "crash", "devpassd died (status 0x%x); its log ends:\n%s", status, tail);
        return false;
}

/* ---- checking answers ---- */

/* The reply type a call must have, or NULL when anything goes. */
static char *expected_reply_type(Fuzz *fz, const FuzzCall *call) {
        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(fz->api, call->iface);

        if (iface && !call->wrong_signature) {
                GDBusMethodInfo *m = g_dbus_interface_info_lookup_method(iface, call->method);
                if (!m)
                        return NULL;
                g_autoptr(GString) s = g_string_new("(");
                for (size_t i = 0; m->out_args && m->out_args[i]; i++)
                        g_string_append(s, m->out_args[i]->signature);
                g_string_append_c(s, ')');
                return g_string_free(g_steal_pointer(&s), FALSE);
        }
        if (g_str_equal(call->iface, PROPERTIES) && g_str_equal(call->method, "Get"))
                return g_strdup("(v)");
        if (g_str_equal(call->iface, PROPERTIES) && g_str_equal(call->method, "GetAll"))
                return g_strdup("(a{sv})");
        return NULL;
}

/* The value of a property in a reply has the contract's type. */
static void check_property(Fuzz *fz, const FuzzCall *call, const char *iface_name, const char *name, GVariant *value) {
        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(fz->api, iface_name);
        GDBusPropertyInfo *p = iface ? g_dbus_interface_info_lookup_property(iface, name) : NULL;

        if (!iface)
                return;
        if (!p)
                defect(fz, call, "wrong-reply", "property %s.%s is not in the contract", iface_name, name);
        else if (!g_str_equal(g_variant_get_type_string(value), p->signature))
                defect(fz, call, "wrong-reply", "property %s.%s is of type %s, the contract says %s", iface_name,
                       name, g_variant_get_type_string(value), p->signature);
}

static void check_reply(Fuzz *fz, const FuzzCall *call, GVariant *reply) {
        bool devpass = g_str_has_prefix(call->iface, "org.devpass1.");
        g_autofree char *want = expected_reply_type(fz, call);

        if (call->wrong_signature && (devpass || g_str_equal(call->iface, PROPERTIES)))
                defect(fz, call, "wrong-signature-accepted", "succeeded with arguments of a wrong signature");
        if (call->never_exists && (devpass || g_str_equal(call->iface, PROPERTIES)))
                defect(fz, call, "ghost-object", "an object that is not there answered");
        if (call->as_nobody && devpass && !in_list(call->method, open_methods, G_N_ELEMENTS(open_methods)))
                defect(fz, call, "authorization-bypass", "succeeded as nobody, whom polkit refuses");
        if (g_str_equal(call->iface, PROPERTIES) && g_str_equal(call->method, "Set"))
                defect(fz, call, "read-only-written", "Set of a read-only property succeeded");
        if (want && !g_str_equal(g_variant_get_type_string(reply), want)) {
                defect(fz, call, "wrong-reply", "replied %s, the contract says %s", g_variant_get_type_string(reply),
                       want);
                return;
        }
        if (g_str_equal(call->iface, PROPERTIES) && g_str_equal(call->method, "Get") && call->prop_iface) {
                g_autoptr(GVariant) v = NULL;
                g_variant_get(reply, "(v)", &v);
                check_property(fz, call, call->prop_iface, call->prop_name, v);
        } else if (g_str_equal(call->iface, PROPERTIES) && g_str_equal(call->method, "GetAll") && call->prop_iface) {
                g_autoptr(GVariant) all = g_variant_get_child_value(reply, 0);
                GVariantIter it;
                const char *name;
                GVariant *v;
                g_variant_iter_init(&it, all);
                while (g_variant_iter_loop(&it, "{&sv}", &name, &v))
                        check_property(fz, call, call->prop_iface, name, v);
        }
}

static void check_error(Fuzz *fz, const FuzzCall *call, const GError *error) {
        bool devpass = g_str_has_prefix(call->iface, "org.devpass1.");

        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
                defect(fz, call, "hang", "not answered within %d ms", ANSWER_MS);
                return;
        }
        g_autofree char *name = g_dbus_error_get_remote_error(error);
        if (!name) {
                defect(fz, call, "no-answer", "no D-Bus error: %s", error->message);
                return;
        }
        if (!in_list(name, contract_errors, G_N_ELEMENTS(contract_errors)))
                defect(fz, call, "unnamed-error", "%s is not an error of the contract: %s", name, error->message);
        else if (!g_utf8_validate(error->message, -1, NULL))
                defect(fz, call, "invalid-utf8", "the error message is not UTF-8");
        else if (call->never_exists && (devpass || g_str_equal(call->iface, PROPERTIES)) &&
                 !g_str_equal(name, "org.freedesktop.DBus.Error.UnknownObject") &&
                 /* Arguments are checked before objects: devpassd's
                  * signatures, sd-bus's interface and member names for
                  * Properties. */
                 !((call->wrong_signature || (g_str_equal(call->iface, PROPERTIES) &&
                                              (!call->prop_iface || !g_dbus_is_member_name(call->prop_name)))) &&
                   g_str_equal(name, "org.freedesktop.DBus.Error.InvalidArgs")))
                defect(fz, call, "wrong-error", "%s on an object that is not there, want UnknownObject: %s", name,
                       error->message);
        else if (call->wrong_signature && devpass && g_str_has_prefix(name, "org.devpass1."))
                defect(fz, call, "wrong-error", "%s for a wrong signature, want a standard error: %s", name,
                       error->message);
}

static double now_ms(void) {
        return (double) g_get_monotonic_time() / 1000.0;
}

/* What follows a call's answer: counted, checked, the daemon alive;
 * false when it died. *answer (when not NULL) gets "reply" or the
 * error's name. */
static bool judge(Fuzz *fz, const FuzzCall *call, GVariant *reply, const GError *error, double took, char **answer) {
        fz->calls++;
        fz->last = call->number;
        fz->as_nobody += call->as_nobody;
        if (took > fz->slowest_ms) {
                fz->slowest_ms = took;
                g_free(fz->slowest);
                fz->slowest = g_strdup_printf("call %u: %s.%s", call->number, call->iface, call->method);
        }
        g_autofree char *outcome = reply ? g_strdup("reply") : g_dbus_error_get_remote_error(error);
        if (!outcome)
                outcome = g_strdup("(no answer)");
        if (fz->verbose) {
                g_autofree char *what = fuzz_call_describe(call);
                fprintf(stderr, "fuzz: %u %s\n  -> %s\n", call->number, what, reply ? "reply" : error->message);
        }
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(fz->outcomes, outcome));
        if (answer)
                *answer = g_strdup(outcome);
        g_hash_table_insert(fz->outcomes, g_steal_pointer(&outcome), GUINT_TO_POINTER(n + 1));
        if (!daemon_alive(fz, call, error))
                return false;
        if (reply)
                check_reply(fz, call, reply);
        else
                check_error(fz, call, error);
        return true;
}

static GDBusConnection *caller(Fuzz *fz, const FuzzCall *call) {
        return call->as_nobody ? fz->nobody : fz->root;
}

/* One call, answered or reported, as judge() says. */
static bool run_call(Fuzz *fz, const FuzzCall *call, char **answer) {
        g_autoptr(GError) error = NULL;
        double start = now_ms();
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync(caller(fz, call), "org.devpass1", call->path,
                                                                call->iface, call->method, call->args, NULL,
                                                                G_DBUS_CALL_FLAGS_NO_AUTO_START, ANSWER_MS, NULL,
                                                                &error);

        return judge(fz, call, reply, error, now_ms() - start, answer);
}

/* A call of a batch sent at once. */
typedef struct {
        FuzzCall *call;
        GVariant *reply;
        GError *error;
        double start, took;
        guint *pending;
} InFlight;

static void on_answer(GObject *source, GAsyncResult *res, gpointer data) {
        InFlight *f = data;

        f->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &f->error);
        f->took = now_ms() - f->start;
        (*f->pending)--;
}

/* Calls from..to-1 all sent before any answer, root's and nobody's
 * interleaved: what polkit's round trips let happen meanwhile (a change
 * while another call is being authorized). The calls are the seed's; the
 * order the daemon finishes them in is its own. */
static bool run_at_once(Fuzz *fz, guint from, guint to) {
        g_autofree InFlight *flights = g_new0(InFlight, to - from);
        guint pending = 0;
        bool alive = true;

        for (guint k = 0; k < to - from; k++) {
                InFlight *f = &flights[k];
                f->call = fuzz_gen_call(fz->gen, from + k);
                f->pending = &pending;
                f->start = now_ms();
                pending++;
                g_dbus_connection_call(caller(fz, f->call), "org.devpass1", f->call->path, f->call->iface,
                                       f->call->method, f->call->args, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       ANSWER_MS, NULL, on_answer, f);
        }
        /* Each call has its own 5 s timeout: this ends. */
        while (pending > 0)
                g_main_context_iteration(NULL, TRUE);
        fz->at_once = true;
        for (guint k = 0; k < to - from; k++) {
                InFlight *f = &flights[k];
                if (alive)
                        alive = judge(fz, f->call, f->reply, f->error, f->took, NULL);
                fuzz_call_free(f->call);
                g_clear_pointer(&f->reply, g_variant_unref);
                g_clear_error(&f->error);
        }
        fz->at_once = false;
        return alive;
}

/* ---- health ---- */

/* Every object is one of the contract's, under the root, with exactly the
 * properties of its interface, of their types. */
static void check_objects(Fuzz *fz, GVariant *objects) {
        GVariantIter it;
        const char *path;
        GVariant *ifaces;

        g_variant_iter_init(&it, objects);
        while (g_variant_iter_loop(&it, "{&o@a{sa{sv}}}", &path, &ifaces)) {
                GVariantIter ii;
                const char *name;
                GVariant *props;
                guint mine = 0;
                if (!g_str_has_prefix(path, ROOT_PATH "/"))
                        defect(fz, NULL, "bad-object", "%s is outside %s", path, ROOT_PATH);
                g_variant_iter_init(&ii, ifaces);
                while (g_variant_iter_loop(&ii, "{&s@a{sv}}", &name, &props)) {
                        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(fz->api, name);
                        if (!g_str_has_prefix(name, "org.devpass1."))
                                continue;
                        mine++;
                        if (!iface) {
                                defect(fz, NULL, "bad-object", "%s carries %s, which the contract lacks", path, name);
                                continue;
                        }
                        for (size_t i = 0; iface->properties[i]; i++) {
                                GDBusPropertyInfo *p = iface->properties[i];
                                g_autoptr(GVariant) v = g_variant_lookup_value(props, p->name, NULL);
                                if (!v)
                                        defect(fz, NULL, "bad-object", "%s lacks %s.%s", path, name, p->name);
                                else if (!g_str_equal(g_variant_get_type_string(v), p->signature))
                                        defect(fz, NULL, "bad-object", "%s.%s of %s is %s, not %s", name, p->name,
                                               path, g_variant_get_type_string(v), p->signature);
                        }
                        if (g_variant_n_children(props) != g_strv_length((char **) iface->properties))
                                defect(fz, NULL, "bad-object", "%s %s has %zu properties, the contract %u", path,
                                       name, g_variant_n_children(props), g_strv_length((char **) iface->properties));
                }
                if (mine != 1)
                        defect(fz, NULL, "bad-object", "%s carries %u devpass interfaces, want 1", path, mine);
        }
}

/* The daemon still answers a trivial call, and its objects are sane. */
static bool healthy(Fuzz *fz) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) device = g_dbus_connection_call_sync(
                fz->root, "org.devpass1", ROOT_PATH, MANAGER, "GetDevice", g_variant_new("(s)", "0000:17:00.0"),
                G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, ANSWER_MS, NULL, &error);

        if (!device) {
                if (daemon_alive(fz, NULL, error))
                        defect(fz, NULL, "unhealthy", "GetDevice(0000:17:00.0) after call %u: %s", fz->last,
                               error->message);
                return false;
        }
        g_autoptr(GVariant) objects = g_dbus_connection_call_sync(
                fz->root, "org.devpass1", ROOT_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                NULL, G_VARIANT_TYPE("(a{oa{sa{sv}}})"), G_DBUS_CALL_FLAGS_NO_AUTO_START, ANSWER_MS, NULL, &error);
        if (!objects) {
                if (daemon_alive(fz, NULL, error))
                        defect(fz, NULL, "unhealthy", "GetManagedObjects after call %u: %s", fz->last,
                               error->message);
                return false;
        }
        g_autoptr(GVariant) all = g_variant_get_child_value(objects, 0);
        check_objects(fz, all);
        return true;
}

/* ---- the runs ---- */

static guint env_uint(const char *name, guint fallback) {
        const char *s = getenv(name);
        return s && *s ? (guint) strtoul(s, NULL, 0) : fallback;
}

static Fuzz *fuzz_new(void) {
        Fuzz *fz = g_new0(Fuzz, 1);
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;

        g_assert_true(g_file_get_contents(harness_path("DEVPASS_API_XML"), &xml, NULL, &error));
        fz->api = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        fz->gen = fuzz_gen_new(fz->api, env_uint("DEVPASS_FUZZ_SEED", DEFAULT_SEED));
        fz->defects = g_ptr_array_new_with_free_func(g_free);
        fz->defect_kinds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        fz->outcomes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        fz->verbose = getenv("DEVPASS_FUZZ_VERBOSE") != NULL;
        return fz;
}

/* Fails listing every defect, each kind once with how often it came. */
static void fuzz_finish(Fuzz *fz) {
        GHashTableIter it;
        gpointer key, count;
        guint n = fz->defects->len;

        if (n) {
                fprintf(stderr, "fuzz: %u kinds of defect:\n", n);
                g_hash_table_iter_init(&it, fz->defect_kinds);
                while (g_hash_table_iter_next(&it, &key, &count))
                        fprintf(stderr, "  %ux %s\n", GPOINTER_TO_UINT(count), (char *) key);
                for (guint i = 0; i < n; i++)
                        fprintf(stderr, "%s\n", (char *) fz->defects->pdata[i]);
        }
        fuzz_gen_free(fz->gen);
        g_dbus_node_info_unref(fz->api);
        g_ptr_array_unref(fz->defects);
        g_hash_table_unref(fz->defect_kinds);
        g_hash_table_unref(fz->outcomes);
        g_free(fz->slowest);
        g_free(fz);
        /* Nothing of ours left to free: fail_msg() does not return. */
        if (n)
                fail_msg("%u kinds of defect, listed above", n);
}

/* Runs the generated calls first..first+total-1; a fresh daemon every
 * CALLS_PER_DAEMON calls, and from the next batch on when one died or
 * stopped answering. */
static void fuzz_run(Fuzz *fz, guint first, guint total) {
        guint i = first, stop = first + total;

        fz->fuzzing = true;
        while (i < stop && fz->defects->len < MAX_DEFECTS) {
                daemon_up(fz);
                fz->daemon_first = i;
                guint end = MIN(stop, i + CALLS_PER_DAEMON);
                bool alive = true;
                while (alive && i < end) {
                        guint batch_end = MIN(end, i + CALLS_PER_BATCH);
                        /* Every third batch all at once, the others one
                         * call after another. */
                        if ((i - fz->daemon_first) / CALLS_PER_BATCH % 3 == 2) {
                                alive = run_at_once(fz, i, batch_end);
                                i = batch_end;
                        }
                        for (; alive && i < batch_end; i++) {
                                g_autoptr(FuzzCall) call = fuzz_gen_call(fz->gen, i);
                                alive = run_call(fz, call, NULL);
                        }
                        if (alive)
                                alive = healthy(fz);
                        else
                                i = batch_end;
                }
                daemon_down(fz);
        }
}

static void print_outcomes(Fuzz *fz) {
        GHashTableIter it;
        gpointer key, count;

        g_hash_table_iter_init(&it, fz->outcomes);
        while (g_hash_table_iter_next(&it, &key, &count))
                print_message("fuzz:   %6u %s\n", GPOINTER_TO_UINT(count), (char *) key);
}

static void test_fuzz(void **state) {
        Fuzz *fz = fuzz_new();
        guint total = env_uint("DEVPASS_FUZZ_CALLS", DEFAULT_CALLS);
        guint first = env_uint("DEVPASS_FUZZ_FIRST", 0);

        print_message("fuzz: seed %u (DEVPASS_FUZZ_SEED), calls %u to %u (DEVPASS_FUZZ_FIRST, DEVPASS_FUZZ_CALLS), "
                      "a fresh devpassd every %u\n", fuzz_gen_seed(fz->gen), first, first + total - 1, CALLS_PER_DAEMON);
        double start = now_ms();
        fuzz_run(fz, first, total);
        double took = (now_ms() - start) / 1000.0;
        print_message("fuzz: %u calls (%u as nobody) on %u daemons in %.1f s, %.0f calls/s; slowest %.0f ms (%s)\n",
                      fz->calls, fz->as_nobody, fz->daemons, took, fz->calls / took, fz->slowest_ms,
                      fz->slowest ?: "none");
        if (fz->asan_memstream)
                print_message("fuzz: %u daemons stopped on ASan's open_memstream CHECK (not devpassd's)\n",
                              fz->asan_memstream);
        print_outcomes(fz);
        fuzz_finish(fz);
}

/* ---- the crashes found before, first ---- */

static FuzzCall *regression_call(const char *path, const char *iface, const char *method, GVariant *args,
                                 bool as_nobody) {
        FuzzCall *call = g_new0(FuzzCall, 1);

        call->path = g_strdup(path);
        call->iface = g_strdup(iface);
        call->method = g_strdup(method);
        call->args = args ? g_variant_ref_sink(args) : NULL;
        call->as_nobody = as_nobody;
        return call;
}

/* Runs a known case; the answer must be the error want (NULL: a reply or
 * any error the contract names). */
static void regression(Fuzz *fz, FuzzCall *call, const char *want) {
        g_autofree char *answer = NULL;

        if (run_call(fz, call, &answer) && want && !g_str_equal(answer, want))
                defect(fz, call, "wrong-error", "answered %s, want %s", answer, want);
        /* The next case gets a daemon of its own. */
        if (fz->h->daemon_pid == 0) {
                daemon_down(fz);
                daemon_up(fz);
        }
        fuzz_call_free(call);
}

/* The known cases on a daemon of their own (a fresh one after a crash). */
static void run_regressions(Fuzz *fz) {
        static const char *const wide[] = { "\xc3\xa9", "\xce\xa9", "\xf0\x9f\x98\x80" };   /* é Ω 😀 */

        daemon_up(fz);
        /* Copies: a daemon started after a crash sets them again. */
        g_autofree char *group = g_strdup(fuzz_gen_object(fz->gen, FUZZ_GROUP));
        g_autofree char *rule = g_strdup(fuzz_gen_object(fz->gen, FUZZ_RULE));
        /* A condition with an empty value killed devpassd while parsing,
         * before polkit was asked (parse_hex() of g_strsplit("", "/", 2)'s
         * missing first part): as nobody too, and through Rule.Update. */
        for (int nobody = 0; nobody < 2; nobody++) {
                regression(fz, regression_call(ROOT_PATH, MANAGER, "CreateRule",
                                               g_variant_new_parsed("(%o, {'Conditions': <[('class', 'ne', '')]>})",
                                                                    group), nobody), NULL);
                regression(fz, regression_call(rule, "org.devpass1.Rule", "Update",
                                               g_variant_new_parsed("({'Conditions': <[('class', 'ne', '')]>},)"),
                                               nobody), NULL);
        }
        /* 40 characters of more than a byte each were never answered:
         * the quoted address was cut inside a character. */
        for (size_t i = 0; i < G_N_ELEMENTS(wide); i++) {
                g_autoptr(GString) s = g_string_new(NULL);
                for (int k = 0; k < 40; k++)
                        g_string_append(s, wide[i]);
                regression(fz, regression_call(ROOT_PATH, MANAGER, "GetDevice", g_variant_new("(s)", s->str), false),
                           "org.devpass1.Error.InvalidArgument");
        }
        /* An object that is not there is the standard UnknownObject. */
        regression(fz, regression_call("/org/devpass1/devices/0000_99_00_0", PROPERTIES, "Get",
                                       g_variant_new("(ss)", DEVICE, "Driver"), false),
                   "org.freedesktop.DBus.Error.UnknownObject");
        regression(fz, regression_call("/org/devpass1/groups/999", PROPERTIES, "Get",
                                       g_variant_new("(ss)", "org.devpass1.Group", "Name"), true),
                   "org.freedesktop.DBus.Error.UnknownObject");
        if (fz->h->daemon_pid > 0)
                (void) healthy(fz);
        daemon_down(fz);
}

static void test_regressions(void **state) {
        Fuzz *fz = fuzz_new();

        run_regressions(fz);
        fuzz_finish(fz);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_regressions),
                cmocka_unit_test(test_fuzz),
        };
        return cmocka_run_group_tests_name("api-fuzz", tests, NULL, NULL);
}
