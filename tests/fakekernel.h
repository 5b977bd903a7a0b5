/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A fake kernel for a testbed: a thread that sees what processes write
 * into the testbed's /sys (inotify, IN_CLOSE_WRITE, on the directory on
 * disk) and answers the way Linux does, through the testbed's calls, so
 * the uevents go out as from the kernel:
 *
 *   bus/pci/drivers/NAME/unbind "<addr>"   testbed_unbind() when bound to
 *                                          NAME, unless NAME or the address
 *                                          was told to refuse
 *   bus/pci/drivers/NAME/bind "<addr>"     testbed_bind() when unbound and
 *                                          driver_override allows NAME
 *   bus/pci/drivers_probe "<addr>"         when unbound: bind to its
 *                                          driver_override if that driver
 *                                          exists, else (no override) to
 *                                          its natural driver
 *   devices/.../driver_override            stored, nothing else
 *   devices/.../sriov_drivers_autoprobe    stored as the kernel shows it ("0\n");
 *                                          a VF of a PF with 0 is probed only
 *                                          through its driver_override
 *   devices/.../sriov_numvfs "<n>"         testbed_sriov_set(), but EBUSY
 *                                          (ignored) from non-zero to
 *                                          another non-zero count, and
 *                                          ignored past sriov_totalvfs or
 *                                          without a PF driver
 *
 * A device's natural driver is the one it had when the fake kernel started
 * (or when the fake kernel first unbound it). Trigger files are truncated
 * after handling; sriov_numvfs is rewritten as the kernel shows it ("4\n"
 * for 4 VFs). A write is seen when its file is closed and its content is
 * read then: two writes to the same file faster than the thread reads
 * are one write (the binder waits for each change, so it never does that).
 *
 * The locking rule: while a fake kernel runs, every testbed_*() call of
 * the test (reads too) is made between fakekernel_lock() and
 * fakekernel_unlock(); the fake kernel makes its own calls under the same
 * lock. The fakekernel_*() functions take the lock themselves. */

#include <stdbool.h>
#include <glib.h>

#include "testbed.h"

typedef struct FakeKernel FakeKernel;

/* Starts watching; the testbed must be loaded already. */
FakeKernel *fakekernel_new(Testbed *tb);
/* Stops the thread (and waits for it); the testbed stays as it is. */
void fakekernel_free(FakeKernel *fk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FakeKernel, fakekernel_free)

void fakekernel_lock(FakeKernel *fk);
void fakekernel_unlock(FakeKernel *fk);

/* The driver (a name like "nvidia") or the device (an address) whose
 * unbind does nothing from now on: the write returns, the driver stays,
 * as with a driver that blocks its removal. */
void fakekernel_refuse_unbind(FakeKernel *fk, const char *driver_or_address);
/* Undoes fakekernel_refuse_unbind(). */
void fakekernel_allow_unbind(FakeKernel *fk, const char *driver_or_address);

/* The writes handled so far, in order: "driver_override 0000:17:00.0
 * vfio-pci" ("(null)" for a cleared override), "unbind 0000:17:00.0",
 * "bind 0000:17:00.0 vfio-pci", "drivers_probe 0000:17:00.0",
 * "sriov_numvfs 0000:3b:00.0 2", "sriov_drivers_autoprobe 0000:3b:00.0 0". A copy: g_strfreev() it. */
char **fakekernel_writes(FakeKernel *fk);
void fakekernel_clear_writes(FakeKernel *fk);

/* Waits until every write made before the call is handled (a write of our
 * own to a marker file goes round the queue). */
void fakekernel_sync(FakeKernel *fk);

/* A reboot: a new boot id (<root>/proc/sys/kernel/random/boot_id, the
 * root being the testbed's sys/ parent), every PF's VFs gone and its
 * sriov_drivers_autoprobe 1, every driver_override cleared, every device
 * unbound and bound to vfio-pci when its address is in vfio_addresses
 * (the boot-time override list; vfio-pci is loaded for it), else to its
 * natural driver (none: left unbound). */
void fakekernel_reboot(FakeKernel *fk, const char *const *vfio_addresses);

/* vfio-pci's module loaded (bus/pci/drivers/vfio-pci with bind, unbind,
 * new_id, remove_id) or not (its devices unbound first, as rmmod does). */
void fakekernel_load_vfio(FakeKernel *fk, bool present);

/* When a file of that name (driver_override, unbind, bind, drivers_probe,
 * sriov_numvfs) is next written, pid gets SIGKILL before the fake kernel
 * acts on the write; once. */
void fakekernel_set_kill_on_write(FakeKernel *fk, const char *file_basename, GPid pid);
