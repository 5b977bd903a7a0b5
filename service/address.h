/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCI function addresses ("dddd:bb:ss.f") and their D-Bus object paths.
 * Pure functions: no I/O, no allocation. */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

typedef struct {
        uint32_t domain;
        uint8_t bus;
        uint8_t slot;     /* 0..31 */
        uint8_t function; /* 0..7 */
} DpAddress;

/* "ffffffff:ff:1f.7" plus NUL, and the path prefix plus that. */
#define DP_ADDRESS_MAX 17
#define DP_DEVICES_PATH "/org/devpass1/devices"
#define DP_DEVICE_PATH_MAX (sizeof(DP_DEVICES_PATH) + DP_ADDRESS_MAX)

/* Accepts "dddd:bb:ss.f" (4 to 8 hex digits of domain, as the kernel names
 * VMD domains like 10000:e0:06.0) and the short "bb:ss.f" (domain 0).
 * Hex digits in either case; nothing else, not even white space. */
bool address_parse(const char *s, DpAddress *ret);

/* The canonical lower-case form, as lspci -D prints it. */
void address_format(const DpAddress *a, char buf[static DP_ADDRESS_MAX]);

/* "/org/devpass1/devices/0000_17_00_0" */
void address_to_path(const DpAddress *a, char buf[static DP_DEVICE_PATH_MAX]);

/* Inverse of address_to_path(); false for any other path. */
bool address_from_path(const char *path, DpAddress *ret);

int address_compare(const DpAddress *a, const DpAddress *b);

/* The address of an SR-IOV PF's VF number index (0-based), as the PCIe
 * spec places it: routing ID of the PF + offset + stride * index, carried
 * into the following buses. The kernel shows offset and stride as
 * sriov_offset and sriov_stride, so a VF's address is known while it does
 * not exist. False when it would fall past bus 0xff. */
bool address_vf(const DpAddress *pf, unsigned offset, unsigned stride, unsigned index, DpAddress *ret);

/* A 64-bit key with the same order as address_compare(), for hash tables. */
static inline uint64_t address_to_key(const DpAddress *a) {
        return (uint64_t) a->domain << 16 | (uint64_t) a->bus << 8 |
               (uint64_t) a->slot << 3 | a->function;
}

static inline DpAddress address_from_key(uint64_t key) {
        return (DpAddress) {
                .domain = (uint32_t) (key >> 16),
                .bus = (uint8_t) (key >> 8),
                .slot = (uint8_t) ((key >> 3) & 0x1f),
                .function = (uint8_t) (key & 7),
        };
}
