/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Integration harness: a umockdev node, a private system bus, devpassd on
 * both, and a client connection that records the daemon's signals. The
 * test binary runs under umockdev-wrapper; nothing here reaches the real
 * /sys (testbed_new() guards that) or the real system bus (the private
 * bus's address is exported before anything connects). */

#include <stdbool.h>
#include <gio/gio.h>
#include <glib.h>
#include <systemd/sd-bus.h>

#include "testbed.h"

typedef struct {
        char *kind;     /* "+" InterfacesAdded, "-" InterfacesRemoved, "~" PropertiesChanged */
        char *path;
        GPtrArray *properties;  /* names, for "~" and "+" */
} HarnessSignal;

typedef struct {
        Testbed *testbed;
        char *tmpdir;
        char *bus_address;
        GPid bus_pid;
        GPid daemon_pid;
        GPid polkit_pid;
        bool polkit_mounted;
        sd_bus *bus;               /* the test's client connection */
        GPtrArray *signals;        /* HarnessSignal*, in arrival order */
        GDBusConnection *connection; /* when set: harness_call's, not a fresh one per
                                      * call (harness_connect); harness_free closes it */
        char *node;                /* devpassd's --node: "testnode" */
} Harness;

/* A testbed with the fixture loaded (NULL: empty node), a private bus and
 * devpassd started with extra_args (NULL-terminated, may be NULL); returns
 * when org.devpass1 is owned. */
Harness *harness_new(const char *fixture, const char *const *extra_args);
/* cmocka setup and teardown: a harness on the GPU server in *state. */
int harness_setup_gpu_server(void **state);
int harness_teardown(void **state);

/* The same without starting devpassd. Several harnesses live in one
 * process (a cluster's nodes): each child a harness starts gets that
 * harness's bus and testbed in its environment, whichever was made last. */
Harness *harness_prepare(const char *fixture);
void harness_free(Harness *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Harness, harness_free);

/* Appends text to devpassd.conf (a [Cluster] section, say), for the next start. */
void harness_config_add(Harness *h, const char *text);

void harness_daemon_start(Harness *h, const char *const *extra_args);
/* SIGKILL, as a crash: nothing of devpassd's stop runs. */
void harness_daemon_kill(Harness *h);
/* SIGTERM, and asserts a clean exit (status 0) within a few seconds. */
void harness_daemon_stop(Harness *h);
/* The same without the assertion: the wait status, or -1 when it still
 * ran after 5 s (it is killed). For a test that reports rather than
 * aborts. */
int harness_daemon_terminate(Harness *h);
/* Another devpassd on the same node and bus, with its state in state_dir
 * (NULL: the running one's), that should exit by itself: its exit status,
 * or -1 when it still ran after timeout_ms (it is killed); *log gets what
 * it wrote. */
int harness_daemon_run_other(Harness *h, const char *state_dir, char **log, unsigned timeout_ms);

/* The real polkitd on the private bus, with devpass's actions and the
 * given rules.d JavaScript; the test must run in its own mount namespace. */
void harness_polkit_start(Harness *h, const char *rules);
void harness_polkit_stop(Harness *h);

/* In the state directory: devpassd's --boot-dir (the udev rule's
 * /etc/devpass/vfio-pci.d, never the host's in a test). */
#define HARNESS_BOOT_DIR "vfio-pci.d"

/* devpassd's state directory (devpass.db, HARNESS_BOOT_DIR); it outlives
 * restarts of the daemon within one harness. */
char *harness_state_dir(Harness *h);

/* Everything devpassd wrote to stdout and stderr so far. */
char *harness_daemon_log(Harness *h);

/* Processes the client bus until pred(h, data) is true or timeout_ms
 * passes; returns pred's last answer. */
bool harness_wait(Harness *h, bool (*pred)(Harness *h, void *data), void *data, unsigned timeout_ms);
/* Records sender's InterfacesAdded/Removed and PropertiesChanged as
 * devpassd's (which every harness records from its start). */
void harness_watch_sender(Harness *h, const char *sender);
/* Waits until count signals of kind are recorded. */
bool harness_wait_signals(Harness *h, const char *kind, guint count, unsigned timeout_ms);
guint harness_count_signals(Harness *h, const char *kind, const char *path);
void harness_clear_signals(Harness *h);

/* Runs devpassctl with args (NULL-terminated) against the private bus;
 * returns its exit status and, when non-NULL, its stdout and stderr. */
int harness_ctl(Harness *h, char **out, char **err, const char *const *args);

/* GetManagedObjects through harness_call: a{oa{sa{sv}}}. */
GVariant *harness_managed_objects(Harness *h);
/* How many objects of a GetManagedObjects reply are devices (the reply
 * has the node's own object too, and groups, rules, ...). */
guint harness_count_devices(GVariant *objects);
/* The org.devpass1.Device properties (a{sv}) of one address from a
 * GetManagedObjects reply; NULL when it has none. */
GVariant *harness_device_props(GVariant *objects, const char *address);
/* A GDBus connection of its own on the private bus (for h->connection,
 * or calls of the test's own). */
GDBusConnection *harness_connect(Harness *h);
/* A method call over GDBus; returns the reply or NULL with *error set. */
GVariant *harness_call(Harness *h, const char *path, const char *interface, const char *method,
                       GVariant *args, GError **error);

/* gdbus call --system --dest org.devpass1 <gdbus_args> as user (by
 * name, e.g. "nobody"); returns its exit status, *err its stderr. */
int harness_call_as(Harness *h, const char *user, const char *const *gdbus_args, char **err);

/* rm -rf path. */
void harness_remove_tree(const char *path);

/* Paths from the build (meson passes them in the environment). */
const char *harness_path(const char *env_name);
/* The process's environment with this harness's bus and testbed: a
 * process may hold several harnesses (a cluster's nodes), each child gets
 * its own node's, whichever was made last. */
char **harness_environ(Harness *h);
