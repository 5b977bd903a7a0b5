/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The umockdev harness: a fake /sys that the test process and every
 * process it starts see instead of the real one (the test runs under
 * umockdev-wrapper; children inherit UMOCKDEV_DIR). The test plays the
 * kernel: each call below changes the tree the way the kernel would and
 * then sends the uevent the kernel would send, to every udev monitor
 * open under this testbed.
 *
 * Addresses are "dddd:bb:ss.f"; a device is found through
 * bus/pci/devices/<address>, like libpci does. Every call aborts with a
 * message on a missing device or an I/O error: these are test bugs. */

#include <glib.h>
#include <umockdev.h>

#include "fixtures/fixtures.h"     /* GPU_SERVER_FUNCTIONS, WORKSTATION_FUNCTIONS */

/* Flags every spawn of a test uses: with descriptors left open (they are
 * all close-on-exec) GLib spawns with posix_spawn, which runs nothing in
 * the child before exec. Its fork path opens /dev/null in the child,
 * through umockdev's preload, whose lock another thread may have held at
 * the fork: the child then hangs for good. */
#define HARNESS_SPAWN G_SPAWN_LEAVE_DESCRIPTORS_OPEN

typedef struct Testbed Testbed;

/* A new, empty testbed. Aborts unless the testbed is what /sys shows
 * (a sentinel file written into it must be visible at /sys/...): without
 * the preload the same test would read, and write, the real /sys. */
Testbed *testbed_new(void);
void testbed_free(Testbed *tb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Testbed, testbed_free)

UMockdevTestbed *testbed_umockdev(Testbed *tb);
/* The directory on disk that is /sys for the test's processes. */
const char *testbed_sys_dir(Testbed *tb);
/* The directory on disk of the device at address; NULL when there is none. */
char *testbed_device_dir(Testbed *tb, const char *address);

/* Adds the devices of a umockdev description (tests/fixtures/), then what
 * their links need to resolve (libpci uses realpath): bus/pci/drivers/NAME
 * with bind and unbind, kernel/iommu_groups/N/devices/<address>, and
 * bus/pci/drivers_probe and friends. */
void testbed_load(Testbed *tb, const char *fixture);

/* The host's side that the safety guard reads beside the testbed's sys/
 * (devpassd's --root is the testbed's root): writes the /proc tables of
 * the fixture's .host file (gen-fixtures.py; tests/fixtures/README.md),
 * when there is one. */
void testbed_load_host(Testbed *tb, const char *fixture);
/* The /proc tables and the sysfs classes every kernel has, empty (a host
 * without routes, addresses, mounts, swap, disks or interfaces), for those
 * not written yet. */
void testbed_host_skeleton(Testbed *tb);
/* The guard's documented verdict on each function of the fixture alone,
 * from its .host file: address → "safe", or the kinds found, in order,
 * joined by ", ". */
GHashTable *testbed_guard_verdicts(const char *fixture);

/* A driver binds: the driver link and its link back, DRIVER= in the
 * uevent file, enable 1; then "bind". Aborts if the device is bound. */
void testbed_bind(Testbed *tb, const char *address, const char *driver);
/* The driver lets go: links and DRIVER= gone, enable 0; then "unbind".
 * Aborts if the device is not bound. */
void testbed_unbind(Testbed *tb, const char *address);
/* Writes the attribute as the kernel shows it (value plus a newline,
 * whole file replaced), then "change". */
void testbed_set_attr(Testbed *tb, const char *address, const char *name, const char *value);
/* The attribute's content without its trailing newline (what the daemon
 * wrote, say); NULL when the file does not exist. */
char *testbed_read_attr(Testbed *tb, const char *address, const char *name);
/* The device goes: "remove" for its VFs and the devices behind it
 * (deepest first) and for itself, each followed by its directory and
 * every link to it; an IOMMU group left empty goes too. */
void testbed_remove(Testbed *tb, const char *address);
/* Sends a uevent for the device as it is now ("add", "change", ...). */
void testbed_uevent(Testbed *tb, const char *address, const char *action);

/* A write of numvfs to the PF's sriov_numvfs, as the kernel handles it:
 * nothing when it already has numvfs VFs; else its VFs go ("remove" each)
 * and numvfs new ones come at the PF's sriov_offset and sriov_stride
 * (buses past the PF's when the routing IDs overflow), with the PF's
 * sriov_vf_device id, physfn and virtfnN links, each in a new IOMMU group
 * (the lowest free numbers) when the PF has one, bound to the PF driver's
 * VF driver (i40e and ice: iavf, ixgbe: ixgbevf, igb: igbvf, mlx5_core and
 * vfio-pci: themselves) unless the PF's sriov_drivers_autoprobe is 0;
 * then, all VFs written, "add" for each and "change" on the PF. Aborts
 * when numvfs exceeds sriov_totalvfs or the PF has no driver (the kernel
 * refuses both). */
void testbed_sriov_set(Testbed *tb, const char *pf_address, unsigned numvfs);
/* The same with the VFs bound to vf_driver; NULL leaves them unbound. */
void testbed_sriov_set_driver(Testbed *tb, const char *pf_address, unsigned numvfs, const char *vf_driver);
