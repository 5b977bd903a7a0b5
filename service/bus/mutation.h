/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one runner of every mutating method. A method is a table entry:
 *
 *   parse   reads the call's arguments, bounded; looks nothing up
 *   check   the model's verdict on the call (every invariant lives in the
 *           model): refuses what cannot be done, and names the polkit
 *           actions and every object the call touches, before and after
 *   apply   the change: one model transaction, and the reply's values
 *   effect  optional: a driver change the binder makes after the commit
 *
 * The runner parses, checks and asks polkit; when polkit answers, the
 * call is dispatched again from the top (systemd's way), so check runs
 * again on the model as it is now (on the arguments parsed the first
 * time), and an answer about other objects than this run names is
 * refused (auth_verify()). Then it
 * applies, logs the change with its caller, emits the signals, runs the
 * effect, emits again, and replies: always once, an error when anything
 * failed, and nothing changed before authorization or after a failure. */

#include <stdbool.h>
#include <glib.h>
#include <systemd/sd-bus.h>

#include "auth.h"
#include "binder.h"
#include "device.h"

typedef struct Service Service;
typedef struct MutationCall MutationCall;

/* What polkit is asked: actions in turn (NULL-terminated), and the
 * objects as details, each a set of distinct names. */
typedef struct {
        const char *actions[4];
        GHashTable *groups;
        GHashTable *devices;
        GHashTable *machines;
        GHashTable *tenants;
} MutationAsk;

void mutation_ask_group(MutationAsk *ask, const char *name);
void mutation_ask_device(MutationAsk *ask, const char *address);
void mutation_ask_machine(MutationAsk *ask, const char *machine);
void mutation_ask_tenant(MutationAsk *ask, const char *tenant);
void mutation_ask_clear(MutationAsk *ask);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MutationAsk, mutation_ask_clear);
/* The objects for a message, quoted, the first few: "group 'a', machine
 * 'b' and 3 more"; NULL when it names none. */
char *mutation_ask_names(const MutationAsk *ask);

typedef struct {
        const char *member;
        size_t args_size;
        void (*args_clear)(void *args);
        int (*parse)(MutationCall *c, sd_bus_error *error);     /* NULL: the call takes no arguments */
        bool (*check)(MutationCall *c, MutationAsk *ask, GError **error);
        /* Commits; appends the reply's values to c->reply (which exists),
         * unless it started an effect, which replies when done. */
        bool (*apply)(MutationCall *c, GError **error);
        /* After the effect: the reply's values, from the binder's results. */
        bool (*effect_done)(MutationCall *c, GPtrArray *results, GError **error);
} MutationSpec;

struct MutationCall {
        const MutationSpec *spec;
        Service *d;
        sd_bus_message *m;
        void *object;            /* the object called (a group, rule, attachment, device), or the daemon */
        void *args;              /* spec->args_size bytes */
        sd_bus_message *reply;   /* apply's and effect_done's */
        char *log;               /* what apply did, for the log line ("created group X") */
        MutationAsk ask;         /* what polkit was asked, for the log and a cluster's second try */
        char **details;
        AuthCaller caller;
        struct {                 /* what apply asked the binder to do, after the commit */
                char **addresses;
                BindTarget target;
                bool vfs;        /* set addresses[0]'s VF count instead */
                unsigned count;
        } effect;
};

/* The vtable handler's whole body. */
int mutation_run(const MutationSpec *spec, sd_bus_message *m, void *object, sd_bus_error *error);
/* devpassd stops: the changes waiting in line for etcd are refused. */
void mutation_line_stop(Service *s);

/* In apply: the binder moves addresses (NULL-terminated) to target once
 * the commit's signals are out; effect_done builds the reply. */
void mutation_effect_bind(MutationCall *c, char **addresses, BindTarget target);
/* The same for an SR-IOV PF's VF count. */
void mutation_effect_set_vfs(MutationCall *c, const Device *pf, unsigned count);

/* apply's words for the log: "created group 'PCI GPUs'". */
void mutation_log(MutationCall *c, const char *format, ...) G_GNUC_PRINTF(2, 3);
