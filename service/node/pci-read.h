/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reads one PCI function from sysfs into a Device. */

#include "device.h"
#include "names.h"

/* Reads <sysfs_root>/bus/pci/devices/<address>. Returns NULL when the
 * function is not there (removed). Anything unreadable or malformed is
 * left at its default and told in one log line: a hostile or broken
 * sysfs entry gives a device with what could be read, never a failure. */
Device *pci_read_device(const char *sysfs_root, const DpAddress *address, Names *names);
/* The same, the function found in devices_fd: an open <sysfs_root>/bus/pci/devices. */
Device *pci_read_device_at(int devices_fd, const DpAddress *address, Names *names);
/* Opens <sysfs_root>/bus/pci/devices; -1 with errno set. */
int pci_devices_open(const char *sysfs_root);
