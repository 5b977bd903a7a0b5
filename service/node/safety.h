/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The safety guard: what the host would lose if these devices left it.
 * Reads only under one root (<root>/proc, <root>/sys, <root>/dev; "/" on a
 * real host, a testbed in tests) and never writes. The findings are the
 * impact report of CheckPassthrough and the reasons MakePassthrough
 * refuses with org.devpass1.Error.Unsafe. It fails closed: a table it
 * cannot read is a finding too. */

#include <stdbool.h>
#include <glib.h>

#include "device.h"

typedef enum {
        SAFETY_IOMMU_GROUP,    /* another function of the IOMMU group stays with the host */
        SAFETY_BOOT_VGA,       /* the firmware's console */
        SAFETY_NETWORK,        /* a network interface with addresses (or one stacked on it) */
        SAFETY_DEFAULT_ROUTE,  /* ... that carries a default route */
        SAFETY_MOUNTED,        /* a block device with a mounted filesystem */
        SAFETY_SWAP,           /* a block device with active swap */
        SAFETY_BRIDGE,         /* a PCI bridge, root port or host bridge: never forceable */
        SAFETY_VFS_IN_USE,     /* a PF whose VFs a guest or tenant uses: never forceable */
        SAFETY_CONSOLE,        /* a GPU under fbcon or with a display on */
        SAFETY_UNREADABLE,     /* a table the guard could not read */
        _SAFETY_KIND_MAX,
} SafetyKind;

typedef struct {
        SafetyKind kind;
        char *address;   /* the selected device it concerns, "dddd:bb:ss.f" */
        char *subject;   /* what: the peer's address, "eth0", "/var", "/dev/nvme0n1p3", "fb0", "" */
        char *message;   /* one sentence naming the device and what would be lost */
} SafetyFinding;

/* "iommu-group", "boot-vga", "network", "default-route", "mounted", "swap",
 * "bridge", "vfs-in-use", "console", "unreadable" */
const char *safety_kind_to_string(SafetyKind kind);

/* Whether Force may pass it: false for a bridge (vfio-pci cannot drive
 * one) and for VFs in use (unbinding their PF destroys them under a
 * running guest). */
bool safety_finding_forceable(const SafetyFinding *f);

void safety_finding_free(SafetyFinding *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SafetyFinding, safety_finding_free);

/* Who uses a function: "passed through for group G", "claimed by machine
 * vm1", "held by tenant acme"; NULL when nobody. g_free'd by the guard. */
typedef char *(*SafetyUseFunc)(const char *address, void *userdata);

/* Checks the selection (Device*, with iommu_peers filled) as one unit: a
 * peer of an IOMMU group is fine when it is selected too, is a PCI bridge,
 * or has no driver or vfio-pci/pci-stub; a VF of a selected PF is asked
 * about through use (NULL: nobody uses any) unless selected too. Returns
 * SafetyFinding*: the unreadable tables first (given to the first selected
 * device: they concern every one), then each device's, in selection order;
 * empty when nothing would be lost. */
GPtrArray *safety_check(const char *root, GPtrArray *selection, SafetyUseFunc use, void *userdata);
