/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A fake root for the safety guard's unit tests: /proc tables, sysfs
 * links and /dev symlinks written into a temporary directory, devices
 * made by hand, and checks of the findings. */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <cmocka.h>

#include "safety.h"

#define GPU "0000:17:00.0"
#define AUDIO "0000:17:00.1"
#define NIC "0000:3b:00.0"
#define NVME "0000:03:00.0"
#define NVME_BRIDGE "0000:00:1d.0"
#define NVME_SYS "devices/pci0000:00/" NVME_BRIDGE "/" NVME "/nvme/nvme0/nvme0n1"
#define SAS "devices/pci0000:3a/0000:3a:00.0/" NIC "/host0/target0:0:0/0:0:0:0/block"

#define ROUTE_HEADER "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
#define SWAPS_HEADER "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
#define V6_ZERO "00000000000000000000000000000000"
#define V6_ROUTE(dest, plen, flags, dev) \
        dest " " plen " " V6_ZERO " 00 " V6_ZERO " 00000100 00000001 00000000 " flags "     " dev "\n"
#define DEFAULT_ROUTE(dev) dev "\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
#define PREFIX_ROUTE(dev) dev "\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"

typedef struct {
        char *root;
        GPtrArray *devices;    /* Device, owned */
        GPtrArray *groups;     /* the iommu_peers arrays, which Device does not own */
        GPtrArray *findings;   /* of the last check() */
        SafetyUseFunc use;     /* what check() asks about VFs */
        void *use_data;
} Bed;

/* <root>/rel, with rel formatted. */

/* Every table there and empty: a host that uses nothing. */
int bed_setup(void **state);
int bed_teardown(void **state);
#define bed_test(t) cmocka_unit_test_setup_teardown(t, bed_setup, bed_teardown)

/* <root>/rel, with rel formatted. */
char *bed_path(Bed *bed, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* Both take the path and make its parents. */
void bed_write(char *path, const char *contents);
void bed_symlink(char *path, const char *target);
/* A block device as sysfs shows it: the device directory with its "dev"
 * attribute, and the class link to it. */
void bed_block(Bed *bed, const char *name, const char *sys_path, const char *devnum);
void bed_holder(Bed *bed, const char *name, const char *holder);
/* One NVMe disk behind a root port: the disk and three partitions. */
void bed_nvme(Bed *bed);
/* An interface whose device is sys/<device> (it sits in <device>/net/),
 * and its class link. */
void bed_iface(Bed *bed, const char *ifname, const char *device);
/* The netdev of a PCI NIC, directly below the function. */
void bed_netdev(Bed *bed, const char *address, const char *ifname);
/* upper is stacked on lower: a VLAN or macvlan (upper_<upper> only), or
 * its master, a bridge, bond or team (and master). */
void bed_upper(Bed *bed, const char *lower, const char *upper, bool master);
Device *bed_device(Bed *bed, const char *address, guint32 class_code, const char *driver);
/* Puts the devices, NULL-terminated, into one IOMMU group. */
void bed_group(Bed *bed, int32_t group, ...) G_GNUC_NULL_TERMINATED;
/* Checks the devices, NULL-terminated, as one selection. */
GPtrArray *check(Bed *bed, ...) G_GNUC_NULL_TERMINATED;
void expect_count(GPtrArray *findings, guint n);
/* Finding i is of this kind, for this device and subject, and its message
 * holds every one of the NULL-terminated parts. */
void expect(GPtrArray *findings, guint i, SafetyKind kind, const char *address, const char *subject, ...)
        G_GNUC_NULL_TERMINATED;
