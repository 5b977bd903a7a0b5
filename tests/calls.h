/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the integration tests share for calling devpassd over the private
 * bus: device paths, calls that must succeed or must fail with a named
 * error, properties and waits on them, a snapshot of every bus object to
 * show that a refused call changed nothing, tables of bad calls, and calls
 * as another user through gdbus. Every call but calls_as() goes through
 * harness_call(), so over h->connection when the test set one. The checks
 * fail the cmocka test (fail_msg). */

#include <stdbool.h>
#include <stddef.h>
#include <gio/gio.h>
#include <glib.h>

#include "fakekernel.h"
#include "harness.h"

/* ---- set-up ---- */

/* devpassd on the GPU server with the real polkitd (rules: rules.d
 * JavaScript, or NULL for devpass's actions alone: root may do
 * everything) and, when fk is not NULL, a fake kernel in *fk with
 * vfio-pci loaded. */
Harness *calls_gpu_server(const char *rules, FakeKernel **fk);
/* The same on another node (a file of tests/fixtures). */
Harness *calls_node(const char *fixture, const char *rules, FakeKernel **fk);
/* The end of such a test: devpassd stopped first (harness_daemon_stop: a
 * clean exit, and under the sanitizers no leaks), then the fake kernel
 * (NULL: none) and the harness freed. */
void calls_stop(Harness *h, FakeKernel *fk);

/* ---- paths ---- */

/* "0000:17:00.0" -> "/org/devpass1/devices/0000_17_00_0". */
char *calls_path_of(const char *address);
/* The paths of addresses (NULL-terminated), as a floating "ao". */
GVariant *calls_paths_variant(const char *const *addresses);

/* ---- calls ---- */

/* GVariant text (of type, or any when NULL) as a floating value, for
 * args and for g_variant_new("@..."). */
GVariant *calls_parse(const char *type, const char *text);
/* a{sv} from "Key", GVariant*, ..., NULL (floating values are taken), floating. */
GVariant *calls_dict(const char *key, ...);
/* A call that must succeed (args: floating, or NULL); the reply. */
GVariant *calls_ok(Harness *h, const char *path, const char *iface, const char *method, GVariant *args);
/* The same, for a method that makes an object: the path it replies
 * first (CreateGroup, CreateRule, MakePassthrough, CreateAttachment,
 * PassToTenant). */
char *calls_ok_path(Harness *h, const char *path, const char *iface, const char *method, GVariant *args);

/* MakePassthrough of addresses into a new group: Name, Type and Class
 * (each left out when NULL), Force when force. The reply, or NULL with
 * *error. */
GVariant *calls_make_passthrough_new(Harness *h, const char *const *addresses, const char *name, const char *type,
                                     const char *class_name, bool force, GError **error);

/* The same, that must succeed without a reboot; then waits (10 s) until
 * every device is free (on vfio-pci). The new group's path. */
char *calls_passthrough_group(Harness *h, const char *const *addresses, const char *name, const char *type,
                              const char *class_name);

/* The error is the D-Bus error name, and its message mentions every
 * string that follows (NULL-terminated). */
void calls_assert_remote_error(const GError *error, const char *name, ...) G_GNUC_NULL_TERMINATED;
/* The call fails with the error name want, its message mentioning
 * in_message (NULL: anything). */
void calls_assert_error(Harness *h, const char *path, const char *iface, const char *method, GVariant *args,
                        const char *want, const char *in_message);
/* The same, and nothing changed (calls_snapshot before and after, which
 * also shows the daemon alive); what names the call in failures. */
void calls_refused(Harness *h, const char *what, const char *path, const char *iface, const char *method,
                   GVariant *args, const char *want, const char *in_message);

/* ---- properties ---- */

/* The value of a property (the variant's content). */
GVariant *calls_prop(Harness *h, const char *path, const char *iface, const char *name);
/* A string (or object path) property. */
char *calls_prop_string(Harness *h, const char *path, const char *iface, const char *name);
guint32 calls_prop_uint(Harness *h, const char *path, const char *iface, const char *name);
/* A string property of the device at address. */
char *calls_device_string(Harness *h, const char *address, const char *name);
/* "claimed vm1", "passthrough ": the device's State and Holder. */
char *calls_device_state(Harness *h, const char *address);
void calls_assert_device_state(Harness *h, const char *address, const char *want);

/* Waits (10 s) until the property shows want: a string as it is, other
 * values as g_variant_print() shows them ("4" for a uint32 4). */
void calls_wait_prop(Harness *h, const char *path, const char *iface, const char *name, const char *want);
/* Waits (5 s) until the daemon shows the device at address on driver
 * ("" for none), the device coming first when it is not there yet. */
void calls_wait_driver(Harness *h, const char *address, const char *driver);

/* ---- the node ---- */

/* A reboot under devpassd: stopped, fakekernel_reboot() with the
 * boot-time vfio-pci list it wrote (calls_boot_list), started again. */
void calls_reboot(Harness *h, FakeKernel *fk);
/* The fake kernel's writes so far (every earlier one handled), one a line. */
char *calls_writes(FakeKernel *fk);
/* An attribute of a device in the testbed, "" when it has none. */
char *calls_sysfs_attr(Harness *h, FakeKernel *fk, const char *address, const char *name);
/* The driver a device is bound to in the testbed, "" when none. */
char *calls_sysfs_driver(Harness *h, FakeKernel *fk, const char *address);

/* ---- nothing changed ---- */

/* strcmp() for g_ptr_array_sort() of strings. */
int calls_compare_strings(gconstpointer a, gconstpointer b);
/* The boot-time list in a state directory (HARNESS_BOOT_DIR): "\n" then
 * each address devpassd wrote, sorted, with a "\n" after each ("" when
 * there is none). */
char *calls_boot_list(const char *state_dir);
/* Every bus object, one line each ("PATH {interfaces...}"), sorted: the
 * order of GetManagedObjects is not the point. */
GPtrArray *calls_object_lines(Harness *h);
/* Those lines joined by newlines. */
char *calls_snapshot(Harness *h);
/* The same without the Manager and the cluster's nodes, whose states
 * move with etcd's and the nodes' own: what a node shows of its
 * settings and devices. */
char *calls_snapshot_settings(Harness *h);
/* A digest of devpassd's store as it is on disk (the database and its
 * write-ahead log): a refused call must leave it byte for byte. */
char *calls_store_digest(Harness *h);

/* Fails, when before and after differ, showing where the first line that
 * differs starts to differ: "<what> changed <head of the line>: ...". */
void calls_assert_unchanged(const char *before, const char *after, const char *what);

/* ---- tables of refused calls ---- */

/* One call that must be refused. path, args and message may hold
 * placeholders ("$VFS") that calls_substitute() replaces. */
typedef struct {
        const char *path, *iface, *method;
        const char *args;       /* GVariant text, or NULL for none */
        const char *error;      /* the D-Bus error name */
        const char *message;    /* in the error's message */
} CallsBad;

/* s with every pairs[2k] replaced by pairs[2k + 1], pair after pair
 * (pairs: NULL-terminated); NULL for a NULL s. */
char *calls_substitute(const char *s, const char *const *pairs);
/* calls_refused() for each call of the table, named "Method(args)". */
void calls_refused_table(Harness *h, const CallsBad *calls, size_t n, const char *const *pairs);

/* ---- calls as another user ---- */

#define CALLS_AS_ARGS 3

/* gdbus call --object-path path --method method args... as user, with
 * pairs substituted in path and args (at most CALLS_AS_ARGS, NULL after
 * the last); its exit status, and its stderr in *err. */
int calls_as(Harness *h, const char *user, const char *path, const char *method, const char *const *args,
             const char *const *pairs, char **err);
/* An allowed call: exit 0, and the witness shows its work: "+text"
 * appears in after (and was not in before), "-text" disappears. */
void calls_assert_allowed(const char *what, const char *user, int status, const char *err, const char *witness,
                          const char *before, const char *after);
/* A refused call: gdbus's stderr names NotAuthorized and the action
 * ("...NotAuthorized: Not authorized for ACTION: REASON"), and reason
 * (NULL: any) is in it. */
void calls_assert_not_authorized(const char *what, const char *user, int status, const char *err, const char *action,
                                 const char *reason);

/* The shipped example rule (polkit/50-devpass-tenant-admins.rules.example:
 * manage-attachments for tenant acme's machines) for Unix group
 * unix_group instead of acme-admins. */
char *calls_tenant_admin_rules(const char *unix_group);

/* ---- claims ---- */

/* The device addresses of a Claim reply, in reply order, joined by ' ';
 * *attachments (when not NULL) the number of attachments in it. */
char *calls_claimed(GVariant *reply, guint *attachments);

/* CreateAttachment of count units of group for machine: its path. */
char *calls_attach(Harness *h, const char *machine, const char *group, guint count);

/* ---- many clients ---- */

#define CALLS_CLIENTS 16

/* The GPU server with a fake kernel, and CALLS_CLIENTS connections of
 * its own; c[0] is h->connection too. */
typedef struct {
        Harness *h;
        FakeKernel *fk;
        GDBusConnection *c[CALLS_CLIENTS];
} CallsClients;

/* cmocka setup and teardown of a CallsClients in *state (the teardown
 * stops devpassd as calls_stop() does). */
int calls_clients_setup(void **state);
int calls_clients_teardown(void **state);

/* ---- calls in flight ---- */

/* One call sent without waiting: its reply or error when *pending (shared
 * by the calls of one batch) has counted it down. */
typedef struct {
        GVariant *reply;
        GError *error;
        guint *pending;
} CallsPending;

/* A call sent on connection c without waiting (args: floating). */
void calls_send_call(GDBusConnection *c, const char *path, const char *iface, const char *method, GVariant *args,
                     CallsPending *p);
/* Manager.method(machine) (Claim: with no options) on connection c. */
void calls_send_async(GDBusConnection *c, const char *method, const char *machine, CallsPending *p);
/* Runs the main context until every call of the batch is answered. */
void calls_wait_pending(guint *pending);
void calls_pending_clear(CallsPending *p);

/* ---- changed while polkit was asked ---- */

/* One call: where it goes, and its arguments (floating, or NULL). */
typedef struct {
        const char *path, *iface, *method;
        GVariant *args;
} CallsCall;

/* first, then second, each sent on a connection of its own while polkitd
 * is stopped, so that both are asked before either is answered; returns
 * when both are answered. polkitd answers in the order it was asked, so
 * first is applied before second is dispatched again. */
void calls_race(Harness *h, const CallsCall *first, CallsPending *first_result, const CallsCall *second,
                CallsPending *second_result);
/* The call was refused as stale (Busy, "changed while authorization was
 * asked"), never applied; what names it in failures. */
void calls_assert_stale(const CallsPending *p, const char *what);
