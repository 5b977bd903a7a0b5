/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The safety guard: what the host would lose if these devices left it.
 * Reads only under one root (<root>/proc, <root>/sys, <root>/dev; "/" on a
 * real host, a testbed in tests) and never writes. The findings are the
 * impact report of CheckPassthrough and the reasons MakePassthrough
 * refuses with org.devpass1.Error.Unsafe. */

#include <glib.h>

#include "device.h"

typedef enum {
        SAFETY_IOMMU_GROUP,    /* another function of the IOMMU group stays with the host */
        SAFETY_BOOT_VGA,       /* the firmware's console */
        SAFETY_NETWORK,        /* a network interface with addresses */
        SAFETY_DEFAULT_ROUTE,  /* ... that carries a default route */
        SAFETY_MOUNTED,        /* a block device with a mounted filesystem */
        SAFETY_SWAP,           /* a block device with active swap */
        _SAFETY_KIND_MAX,
} SafetyKind;

typedef struct {
        SafetyKind kind;
        char *address;   /* the selected device it concerns, "dddd:bb:ss.f" */
        char *subject;   /* what: the peer's address, "eth0", "/var", "/dev/nvme0n1p3", "" */
        char *message;   /* one sentence naming the device and what would be lost */
} SafetyFinding;

/* "iommu-group", "boot-vga", "network", "default-route", "mounted", "swap" */
const char *safety_kind_to_string(SafetyKind kind);

void safety_finding_free(SafetyFinding *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SafetyFinding, safety_finding_free);

/* Checks the selection (Device*, with iommu_peers filled) as one unit: a
 * peer of an IOMMU group is fine when it is selected too, is a PCI bridge,
 * or has no driver or vfio-pci/pci-stub. Returns SafetyFinding*, in
 * selection order, empty when nothing would be lost. Unreadable files are
 * treated as "nothing found there", and logged once. */
GPtrArray *safety_check(const char *root, GPtrArray *selection);
