/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One PCI function as the kernel shows it: a plain struct, filled by the
 * inventory, read by the D-Bus face through offsets. Pure: no I/O. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "address.h"

typedef enum {
        DEVICE_STATE_HOST,
        DEVICE_STATE_PASSTHROUGH,
        DEVICE_STATE_CLAIMED,
        DEVICE_STATE_TENANT,
        DEVICE_STATE_MISSING,
        _DEVICE_STATE_MAX,
} DeviceState;

/* One bit per D-Bus property of org.devpass1.Device, in the XML's order;
 * device_prop_name() gives the name. */
typedef enum {
        DEVICE_PROP_VENDOR_ID,
        DEVICE_PROP_DEVICE_ID,
        DEVICE_PROP_SUBSYSTEM_VENDOR_ID,
        DEVICE_PROP_SUBSYSTEM_DEVICE_ID,
        DEVICE_PROP_CLASS,
        DEVICE_PROP_REVISION,
        DEVICE_PROP_VENDOR_NAME,
        DEVICE_PROP_DEVICE_NAME,
        DEVICE_PROP_SUBSYSTEM_VENDOR_NAME,
        DEVICE_PROP_SUBSYSTEM_NAME,
        DEVICE_PROP_CLASS_NAME,
        DEVICE_PROP_DRIVER,
        DEVICE_PROP_IOMMU_GROUP,
        DEVICE_PROP_IOMMU_GROUP_MEMBERS,
        DEVICE_PROP_NUMA_NODE,
        DEVICE_PROP_PHYSICAL_FUNCTION,
        DEVICE_PROP_VIRTUAL_FUNCTIONS,
        DEVICE_PROP_SRIOV_TOTAL_VFS,
        DEVICE_PROP_SRIOV_NUM_VFS,
        DEVICE_PROP_BOOT_VGA,
        DEVICE_PROP_RESET_METHODS,
        DEVICE_PROP_STATE,
        DEVICE_PROP_GROUP,
        DEVICE_PROP_RULE,
        DEVICE_PROP_BLOCKERS,
        DEVICE_PROP_HOLDER,
        _DEVICE_PROP_MAX,
} DeviceProp;

typedef uint32_t DevicePropMask;
#define DEVICE_PROP_BIT(p) ((DevicePropMask) 1u << (p))
G_STATIC_ASSERT(_DEVICE_PROP_MAX <= 32);

typedef struct {
        DpAddress address;
        char *address_str;         /* "0000:17:00.0" */
        char *path;                /* "/org/devpass1/devices/0000_17_00_0" */

        uint16_t vendor_id;
        uint16_t device_id;
        uint16_t subsystem_vendor_id;
        uint16_t subsystem_device_id;
        uint32_t class_code;       /* class << 16 | subclass << 8 | prog-if */
        uint8_t revision;

        char *vendor_name;         /* "" when pci.ids has none */
        char *device_name;
        char *subsystem_vendor_name;
        char *subsystem_name;
        char *class_name;

        char *driver;              /* "" when unbound */
        char *driver_override;     /* "" when none (the kernel shows "(null)"); not a property */
        int32_t iommu_group;       /* -1: none */
        int32_t numa_node;         /* -1: unknown */
        char *physfn_path;         /* "/" unless a VF */
        char **virtfn_paths;       /* NULL-terminated, in VF index order */
        uint32_t sriov_total_vfs;
        uint32_t sriov_num_vfs;
        uint32_t sriov_offset;     /* where the PF's VFs are: address_vf(); not properties */
        uint32_t sriov_stride;
        int boot_vga;              /* int: sd-bus reads 'b' as int */
        char **reset_methods;

        /* devpass's own view, set by the model and kept across re-reads
         * of sysfs. */
        DeviceState state;
        const char *state_str;     /* points into a static table */
        char *group_path;          /* "/" when no group's rules match */
        char *rule_path;           /* "/" when no rule matches */
        char **blockers;           /* NULL when none */
        char *holder;              /* the machine or tenant holding it, "" */

        /* Every function of this one's IOMMU group, itself included,
         * sorted; owned and kept by the inventory. NULL when none. */
        GPtrArray *iommu_peers;
} Device;

Device *device_new(const DpAddress *address);
void device_free(Device *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Device, device_free);

void device_set_state(Device *d, DeviceState state);
/* The model's view; each returns the properties that changed. */
DevicePropMask device_set_view(Device *d, DeviceState state, const char *group_path, const char *rule_path,
                               char **blockers, const char *holder);
const char *device_state_to_string(DeviceState state);

bool device_is_vf(const Device *d);
/* The address of the PF's VF number index, present or not (address_vf()
 * with its sriov_offset and sriov_stride); false past sriov_totalvfs or
 * for a function that is no SR-IOV PF. */
bool device_vf_address(const Device *pf, unsigned index, char buf[static DP_ADDRESS_MAX]);

/* The properties whose values differ between two reads of one function.
 * IommuGroupMembers is not a field: the inventory derives it; State,
 * Group, Rule and Blockers are the model's. */
DevicePropMask device_diff(const Device *old, const Device *new);

/* Moves every field sysfs gave src into dst (same address), freeing dst's
 * old values: the object keeps its identity and the model's view, the
 * facts are new. */
void device_take_fields(Device *dst, Device *src);

const char *device_prop_name(DeviceProp p);

/* The bytes of the device's path, strings and arrays' elements in
 * GetManagedObjects, padding at its worst (model_bus_size() adds the
 * rest): what devpassd checks before a reply the bus would refuse. */
size_t device_bus_size(const Device *d);

/* NULL-terminated array of the names of the bits set in mask; the strings
 * are static. */
const char **device_prop_names(DevicePropMask mask);
