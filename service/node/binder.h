/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The binder: the only room that writes to sysfs. Driver changes are run
 * one at a time in a worker thread, because a driver's unbind can take
 * seconds (or hang) and the main loop must not wait for it; results come
 * back on the main loop. A stop drops the jobs not started (their callers
 * get results that say so) and waits a bounded time for the one running.
 *
 * To vfio-pci:   modprobe vfio-pci when <sysfs>/bus/pci/drivers/vfio-pci
 *                is missing; write "vfio-pci" to driver_override; unbind
 *                from the current driver; write the address to
 *                bus/pci/drivers_probe. Then check where it is bound;
 *                once more when a host driver took it in between.
 * To the host:   clear driver_override ("\n"); unbind from vfio-pci;
 *                drivers_probe.
 * SR-IOV:        sriov_numvfs, through 0 when changing a non-zero count;
 *                for a PF whose VFs are passed through, 0 to
 *                sriov_drivers_autoprobe first, so that no host VF driver
 *                takes them as they come.
 *
 * After the writes the result is read back from the driver link. A kernel
 * that does not act at once (or a test's fake kernel) gets a short grace
 * period; a driver that still holds the device is a reboot reason, and the
 * override stays so that the device comes up on vfio-pci. */

#include <stdbool.h>
#include <glib.h>

typedef struct Binder Binder;

typedef enum {
        BIND_TO_VFIO,
        BIND_TO_HOST,
} BindTarget;

typedef enum {
        BIND_DONE,            /* bound as asked (or unbound, for the host when no driver takes it) */
        BIND_REBOOT_REQUIRED, /* override written, but the old driver holds on; reason says which */
        BIND_FAILED,          /* nothing usable written; reason says why */
} BindOutcome;

typedef struct {
        char *address;
        BindOutcome outcome;
        char *driver;    /* the driver bound at the end, "" when none */
        char *reason;    /* for REBOOT_REQUIRED and FAILED: one sentence naming the device */
        unsigned numvfs; /* binder_set_vfs: the PF's sriov_numvfs read back at the end (also
                          * when FAILED: after "0" went through it is 0); 0 otherwise */
        bool stopped;    /* FAILED because the binder stopped before the change was made (or
                          * finished): nothing is known of the device's driver */
} BindResult;

void bind_result_free(BindResult *r);

/* sysfs_root: "/sys" (umockdev redirects it in tests). modprobe: the
 * program run as "<modprobe> vfio-pci" when the driver is missing.
 * settle_ms: how long to wait for the kernel to show a change. */
Binder *binder_new(const char *sysfs_root, const char *modprobe, unsigned settle_ms);
/* Stops the worker: queued jobs are not run, their callers get stopped
 * results; the job running gets timeout_ms to finish (and its results
 * are delivered as usual). Past that its caller gets stopped results,
 * and false is returned: the worker hangs in a sysfs write, and the
 * binder cannot be freed (binder_free() leaves it to the process's exit).
 * Jobs asked for after the stop get stopped results at once. Results
 * still go through their callers' contexts: iterate them afterwards. */
bool binder_stop(Binder *b, unsigned timeout_ms);
/* Stops it first (without a bound) unless binder_stop() was called. */
void binder_free(Binder *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Binder, binder_free);

/* Binds each address (strings "dddd:bb:ss.f") in order; done gets a
 * GPtrArray of BindResult* (owned by the callee's caller: unref it), on
 * the thread-default main context of the caller. Jobs run and their
 * results arrive in the order asked: with no address, done says that
 * every job asked for before is over. */
typedef void (*BinderFunc)(GPtrArray *results, void *userdata);
void binder_bind(Binder *b, char **addresses, BindTarget target, BinderFunc done, void *userdata);

/* Sets an SR-IOV PF's VF count (the caller has checked it is at most
 * sriov_totalvfs), with autoprobe_off its sriov_drivers_autoprobe 0
 * first. done gets one BindResult for the PF. */
void binder_set_vfs(Binder *b, const char *address, unsigned count, bool autoprobe_off, BinderFunc done,
                    void *userdata);

/* The same, blocking: for the daemon's start-up reconcile and for tests. */
GPtrArray *binder_bind_sync(Binder *b, char **addresses, BindTarget target);
