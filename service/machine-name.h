/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Machine names are the VM manager's (a libvirt domain's "win 11 gaming",
 * "Büro-VM"): 1 to MACHINE_NAME_MAX bytes of UTF-8 without control
 * characters (C0, DEL, C1). Kept byte for byte, spaces at either end
 * included: libvirt accepts them, and a hook finds its domain's claim by
 * that name. Shared by devpassd and devpassctl. Pure, no I/O. */

#include <stdbool.h>

#define MACHINE_NAME_MAX 255

bool machine_name_valid(const char *name);
