/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The boot-time vfio-pci list: one empty file per function, named by its
 * address ("0000:17:00.0"), in a directory under /etc. The early udev rule
 * (70-devpass-vfio.rules) tests for the file of each PCI function that is
 * added and writes driver_override then: no program per device, and /etc
 * is there at coldplug and in the initramfs, where /var may not be. */

#include <stdbool.h>
#include <glib.h>

/* Makes dir hold exactly addresses (char*, "dddd:bb:ss.f"): files created
 * for the new ones, those of the others removed (names that are not
 * addresses are left alone), then the directory synced. A file is there
 * or not: the rule never sees half of one. */
bool boot_dir_sync(const char *dir, GPtrArray *addresses, GError **error);
