/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mutation.h"

#include <errno.h>
#include <string.h>

#include "bus-errors.h"
#include "service.h"
#include "log.h"
#include "text.h"

static MutationCall *call_new(const MutationSpec *spec, sd_bus_message *m, void *object) {
        MutationCall *c = g_new0(MutationCall, 1);
        c->spec = spec;
        c->d = service_of_call(m);
        c->m = sd_bus_message_ref(m);
        c->object = object;
        c->args = g_malloc0(spec->args_size ?: 1);
        return c;
}

static void call_free(MutationCall *c) {
        if (!c)
                return;
        if (c->spec->args_clear)
                c->spec->args_clear(c->args);
        g_free(c->args);
        sd_bus_message_unref(c->reply);
        sd_bus_message_unref(c->m);
        g_strfreev(c->effect.addresses);
        g_free(c->log);
        mutation_ask_clear(&c->ask);
        g_strfreev(c->details);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MutationCall, call_free);

/* ---- what polkit is asked ---- */

static void ask_add(GHashTable **set, const char *value) {
        if (!*set)
                *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        if (value && *value)
                g_hash_table_add(*set, g_strdup(value));
}

void mutation_ask_group(MutationAsk *ask, const char *name) {
        ask_add(&ask->groups, name);
}

void mutation_ask_device(MutationAsk *ask, const char *address) {
        ask_add(&ask->devices, address);
}

void mutation_ask_machine(MutationAsk *ask, const char *machine) {
        ask_add(&ask->machines, machine);
}

void mutation_ask_tenant(MutationAsk *ask, const char *tenant) {
        ask_add(&ask->tenants, tenant);
}

void mutation_ask_clear(MutationAsk *ask) {
        g_clear_pointer(&ask->groups, g_hash_table_unref);
        g_clear_pointer(&ask->devices, g_hash_table_unref);
        g_clear_pointer(&ask->machines, g_hash_table_unref);
        g_clear_pointer(&ask->tenants, g_hash_table_unref);
}

/* A set's names sorted, so that two runs of one call ask the same; NULL
 * when empty. Sorting, not a scan per name: a bulk call may name tens of
 * thousands. */
static GPtrArray *set_sorted(GHashTable *set) {
        return set && g_hash_table_size(set) > 0 ? text_keys_sorted(set) : NULL;
}

/* The kinds of objects a call names: their journal fields, their words. */
static const struct {
        const char *field, *kind;
} ask_kinds[] = {
        { "DEVPASS_GROUP", "group" },
        { "DEVPASS_DEVICE", "device" },
        { "DEVPASS_MACHINE", "machine" },
        { "DEVPASS_TENANT", "tenant" },
};

static GHashTable *ask_set(const MutationAsk *ask, size_t kind) {
        GHashTable *const sets[G_N_ELEMENTS(ask_kinds)] = { ask->groups, ask->devices, ask->machines, ask->tenants };
        return sets[kind];
}

/* At most this many in a message: a bulk call may name thousands. */
#define ASK_NAMES_MAX 4

char *mutation_ask_names(const MutationAsk *ask) {
        g_autoptr(GString) s = g_string_new(NULL);
        guint named = 0, more = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(ask_kinds); i++) {
                g_autoptr(GPtrArray) names = set_sorted(ask_set(ask, i));
                for (guint j = 0; names && j < names->len; j++) {
                        if (named == ASK_NAMES_MAX) {
                                more++;
                                continue;
                        }
                        g_autofree char *q = text_quote(names->pdata[j]);
                        g_string_append_printf(s, "%s%s %s", named++ ? ", " : "", ask_kinds[i].kind, q);
                }
        }
        if (more)
                g_string_append_printf(s, " and %u more", more);
        return named ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

/* Several names one per line: a name may hold ", " (a group "A, B"
 * must not pass for the groups A and B), never a newline. */
static void details_add(GPtrArray *details, const char *key, GHashTable *set) {
        g_autoptr(GPtrArray) names = set_sorted(set);

        if (!names)
                return;
        g_ptr_array_add(names, NULL);
        g_ptr_array_add(details, g_strdup(key));
        g_ptr_array_add(details, g_strjoinv("\n", (char **) names->pdata));
}

/* key, value, ... for polkit: every object the call touches. */
static char **ask_details(const MutationAsk *ask, const char *node) {
        GPtrArray *details = g_ptr_array_new();

        details_add(details, "group", ask->groups);
        details_add(details, "device", ask->devices);
        details_add(details, "machine", ask->machines);
        details_add(details, "tenant", ask->tenants);
        g_ptr_array_add(details, g_strdup("node"));
        g_ptr_array_add(details, g_strdup(node));
        g_ptr_array_add(details, NULL);
        return (char **) g_ptr_array_free(details, FALSE);
}

/* ---- the end of a call ---- */

static int error_from_gerror(MutationCall *c, sd_bus_error *error, const GError *e) {
        const char *name = bus_error_name_for(e);

        /* A caller's mistake is the caller's to read; a failure is the
         * administrator's too. */
        if (g_str_equal(name, DP_ERROR_FAILED))
                g_warning("%s failed: %s", c->spec->member, e->message);
        return sd_bus_error_set(error, name, e->message);
}

/* The change, at info level, with who asked (uid, pid and unit as the bus
 * and /proc tell) and the objects as journal fields:
 * journalctl DEVPASS_DEVICE=0000:17:00.0 tells who bound a GPU. */
static void log_change(MutationCall *c, const MutationAsk *ask, const AuthCaller *caller) {
        const char *unit = caller->unit[0] ? caller->unit : NULL;
        g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; i < G_N_ELEMENTS(ask_kinds); i++) {
                g_autoptr(GPtrArray) names = set_sorted(ask_set(ask, i));
                for (guint j = 0; names && j < names->len; j++)
                        g_ptr_array_add(fields, g_strdup_printf("%s=%s", ask_kinds[i].field, (char *) names->pdata[j]));
        }
        g_ptr_array_add(fields, g_strdup_printf("DEVPASS_METHOD=%s", c->spec->member));
        g_ptr_array_add(fields, NULL);
        if (caller->uid >= 0)
                g_ptr_array_insert(fields, 0, g_strdup_printf("DEVPASS_CALLER_UID=%" G_GINT64_FORMAT, caller->uid));
        g_autofree char *who = caller->uid < 0 ? g_strdup(sd_bus_message_get_sender(c->m)) :
                               g_strdup_printf("uid %" G_GINT64_FORMAT " (pid %" G_GINT64_FORMAT "%s%s)", caller->uid,
                                               caller->pid, unit ? ", " : "", unit ?: "");
        g_autofree char *message = g_strdup_printf("%s, by %s", c->log ? c->log : c->spec->member, who);
        log_structured(LOG_CHANGE_MESSAGE_ID, message, (const char *const *) fields->pdata);
}

/* Sends the reply built; a reply that cannot be sent becomes an error
 * (the change stays: it is committed and its signals are out). */
static void call_reply(MutationCall *c) {
        int r = sd_bus_send(NULL, c->reply, NULL);

        if (r < 0) {
                g_warning("Cannot send the reply of %s: %s", c->spec->member, g_strerror(-r));
                (void) sd_bus_reply_method_errorf(c->m, DP_ERROR_FAILED, "The change was made, but its reply could "
                                                  "not be sent (%s): read the objects", g_strerror(-r));
        }
}

/* ---- effects ---- */

/* The reasons of the results the binder gave because devpassd is stopping,
 * joined; NULL when there are none. */
static char *results_stopped(GPtrArray *results) {
        g_autoptr(GString) s = g_string_new(NULL);

        for (guint i = 0; i < results->len; i++) {
                const BindResult *r = results->pdata[i];
                if (r->stopped)
                        g_string_append_printf(s, "%s%s", s->len ? "; " : "", r->reason);
        }
        return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

static void on_effect_done(GPtrArray *results, void *userdata) {
        g_autoptr(MutationCall) c = userdata;
        g_autoptr(GError) e = NULL;
        g_autofree char *stopped = results_stopped(results);

        /* Stopped: the commit stands, and the next start's reconcile makes
         * the change; effect_done would call it a failure. */
        bool ok = !stopped && c->spec->effect_done(c, results, &e);
        /* After effect_done has recorded what failed: driver events seen
         * meanwhile are reconciled now. */
        service_binding_end(c->d, results);
        g_ptr_array_unref(results);
        service_emit(c->d);
        if (stopped)
                (void) sd_bus_reply_method_errorf(c->m, DP_ERROR_FAILED, "devpassd is stopping; the change is "
                                                  "recorded and its next start makes it (%s)", stopped);
        else if (!ok)
                (void) sd_bus_reply_method_errorf(c->m, bus_error_name_for(e), "%s", e->message);
        else
                call_reply(c);
}

void mutation_effect_bind(MutationCall *c, char **addresses, BindTarget target) {
        g_return_if_fail(c->spec->effect_done && !c->effect.addresses);
        c->effect.addresses = g_strdupv(addresses);
        c->effect.target = target;
}

void mutation_effect_set_vfs(MutationCall *c, const Device *pf, unsigned count) {
        const char *pf_only[] = { pf->address_str, NULL };

        mutation_effect_bind(c, (char **) pf_only, 0);
        c->effect.vfs = true;
        c->effect.count = count;
}

/* After the commit and its signals (the boot-time list among them: a
 * crash in the middle of the driver change must find it written). */
static void effect_start(MutationCall *c) {
        char **addresses = c->effect.addresses;

        if (c->effect.vfs) {
                DpAddress a;
                const Device *pf = address_parse(addresses[0], &a) ? inventory_lookup(c->d->inventory, &a) : NULL;
                service_set_vfs(c->d, pf, c->effect.count, on_effect_done, c);
                return;
        }
        service_binding_begin(c->d, (const char *const *) addresses);
        binder_bind(c->d->binder, addresses, c->effect.target, on_effect_done, c);
}

void mutation_log(MutationCall *c, const char *format, ...) {
        va_list ap;

        g_free(c->log);
        va_start(ap, format);
        c->log = g_strdup_vprintf(format, ap);
        va_end(ap);
}

/* ---- the runner ---- */

/* Committed: the signals, the reply (or the effect, which answers), the
 * log line: the caller does not wait for the journal. */
static void call_committed(MutationCall *c) {
        service_emit(c->d);
        if (!c->effect.addresses)
                call_reply(c);
        log_change(c, &c->ask, &c->caller);
        if (c->effect.addresses) {
                effect_start(c);   /* on_effect_done() answers */
                return;
        }
        call_free(c);
}

/* A change another node's made stale is checked again from the top, as
 * after polkit, a few times; then the caller hears it. */
#define MUTATION_CLUSTER_TRIES 10

static void call_again(MutationCall *c) {
        auth_redispatch(c->d->auth, c->m, c->ask.actions, (const char *const *) c->details, &c->caller);
}

/* One change at a time goes to etcd (the store's hook refuses a second):
 * the others wait in line, authorized, and the first of them is checked
 * again from the top once the one on its way is answered. */
static void line_wait(MutationCall *c) {
        c->caller.waited++;
        g_queue_push_tail(&c->d->in_line, c);
}

static void line_next(Service *d) {
        g_autoptr(MutationCall) next = g_queue_pop_head(&d->in_line);

        d->committing = false;
        if (next)
                call_again(next);
}

void mutation_line_stop(Service *s) {
        MutationCall *c;

        while ((c = g_queue_pop_head(&s->in_line))) {
                (void) sd_bus_reply_method_errorf(c->m, DP_ERROR_CLUSTER_UNAVAILABLE, "devpassd is stopping: "
                                                  "call again when it is back");
                call_free(c);
        }
}

static void on_cluster_done(const GError *error, void *data) {
        g_autoptr(MutationCall) c = data;

        line_next(c->d);
        if (!error) {
                call_committed(g_steal_pointer(&c));
                return;
        }
        if (g_error_matches(error, CLUSTER_ERROR, CLUSTER_ERROR_CONFLICT)) {
                if (c->caller.again - c->caller.waited < MUTATION_CLUSTER_TRIES) {
                        call_again(c);
                        return;
                }
                g_autofree char *names = mutation_ask_names(&c->ask);
                (void) sd_bus_reply_method_errorf(c->m, bus_error_name_for(error), "%s of %s: other nodes changed "
                                                  "what it reads each of the %d times it was checked; nothing "
                                                  "changed: call it again", c->spec->member,
                                                  names ?: sd_bus_message_get_path(c->m), MUTATION_CLUSTER_TRIES);
                return;
        }
        (void) sd_bus_reply_method_errorf(c->m, bus_error_name_for(error), "%s", error->message);
}

/* Back from polkit: the call as parsed the first time (parse looks
 * nothing up, and the message is the same), to be checked again. */
static MutationCall *call_back(Service *d, sd_bus_message *m, void *object) {
        MutationCall *c = auth_kept_take(d->auth, m);

        if (c) {
                c->object = object;
                mutation_ask_clear(&c->ask);
                c->ask = (MutationAsk) { 0 };
                g_clear_pointer(&c->details, g_strfreev);
        }
        return c;
}

int mutation_run(const MutationSpec *spec, sd_bus_message *m, void *object, sd_bus_error *error) {
        g_autoptr(MutationCall) c = call_back(service_of_call(m), m, object);
        g_autoptr(GError) e = NULL;
        int r;

        if (!c) {
                c = call_new(spec, m, object);
                if (spec->parse && (r = spec->parse(c, error)) < 0)
                        return r;
        }
        if (!spec->check(c, &c->ask, &e))
                return error_from_gerror(c, error, e);
        c->details = ask_details(&c->ask, c->d->config.node);
        AuthKeep keep = { c, (GDestroyNotify) call_free };
        if ((r = auth_verify(c->d->auth, m, c->ask.actions, (const char *const *) c->details, &c->caller, &keep,
                             error)) == 0) {
                g_steal_pointer(&c);   /* auth keeps it until the call is back */
                return 1;
        }
        if (r < 0)
                return r;

        /* Authorized for what the model says now: the change. */
        Cluster *cluster = c->d->cluster;
        if (cluster && c->d->committing) {
                line_wait(g_steal_pointer(&c));
                return 1;
        }
        if ((r = sd_bus_message_new_method_return(m, &c->reply)) < 0)
                return r;
        bool applied = spec->apply(c, &e);
        if (cluster && cluster_deferred(cluster)) {
                /* etcd decides: the model shows the change once it has it. */
                service_take_back(c->d);
                if (!applied) {
                        cluster_drop(cluster);
                        return error_from_gerror(c, error, e);
                }
                c->d->committing = true;
                cluster_commit(cluster, on_cluster_done, g_steal_pointer(&c));
                return 1;
        }
        if (!applied)
                return error_from_gerror(c, error, e);
        call_committed(g_steal_pointer(&c));
        return 1;
}
