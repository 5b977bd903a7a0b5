/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "device.h"

#include <string.h>

static const char *const state_names[_DEVICE_STATE_MAX] = {
        [DEVICE_STATE_HOST] = "host",
        [DEVICE_STATE_PASSTHROUGH] = "passthrough",
        [DEVICE_STATE_CLAIMED] = "claimed",
        [DEVICE_STATE_TENANT] = "tenant",
        [DEVICE_STATE_MISSING] = "missing",
};

static const char *const prop_names[_DEVICE_PROP_MAX] = {
        [DEVICE_PROP_VENDOR_ID] = "VendorId",
        [DEVICE_PROP_DEVICE_ID] = "DeviceId",
        [DEVICE_PROP_SUBSYSTEM_VENDOR_ID] = "SubsystemVendorId",
        [DEVICE_PROP_SUBSYSTEM_DEVICE_ID] = "SubsystemDeviceId",
        [DEVICE_PROP_CLASS] = "Class",
        [DEVICE_PROP_REVISION] = "Revision",
        [DEVICE_PROP_VENDOR_NAME] = "VendorName",
        [DEVICE_PROP_DEVICE_NAME] = "DeviceName",
        [DEVICE_PROP_SUBSYSTEM_VENDOR_NAME] = "SubsystemVendorName",
        [DEVICE_PROP_SUBSYSTEM_NAME] = "SubsystemName",
        [DEVICE_PROP_CLASS_NAME] = "ClassName",
        [DEVICE_PROP_DRIVER] = "Driver",
        [DEVICE_PROP_IOMMU_GROUP] = "IommuGroup",
        [DEVICE_PROP_IOMMU_GROUP_MEMBERS] = "IommuGroupMembers",
        [DEVICE_PROP_NUMA_NODE] = "NumaNode",
        [DEVICE_PROP_PHYSICAL_FUNCTION] = "PhysicalFunction",
        [DEVICE_PROP_VIRTUAL_FUNCTIONS] = "VirtualFunctions",
        [DEVICE_PROP_SRIOV_TOTAL_VFS] = "SriovTotalVfs",
        [DEVICE_PROP_SRIOV_NUM_VFS] = "SriovNumVfs",
        [DEVICE_PROP_BOOT_VGA] = "BootVga",
        [DEVICE_PROP_RESET_METHODS] = "ResetMethods",
        [DEVICE_PROP_STATE] = "State",
        [DEVICE_PROP_GROUP] = "Group",
        [DEVICE_PROP_RULE] = "Rule",
        [DEVICE_PROP_BLOCKERS] = "Blockers",
        [DEVICE_PROP_HOLDER] = "Holder",
};

Device *device_new(const DpAddress *address) {
        Device *d = g_new0(Device, 1);
        char buf[DP_DEVICE_PATH_MAX];

        d->address = *address;
        address_format(address, buf);
        d->address_str = g_strdup(buf);
        address_to_path(address, buf);
        d->path = g_strdup(buf);
        d->iommu_group = -1;
        d->numa_node = -1;
        d->physfn_path = g_strdup("/");
        device_set_state(d, DEVICE_STATE_HOST);
        d->group_path = g_strdup("/");
        d->rule_path = g_strdup("/");
        d->holder = g_strdup("");
        return d;
}

static void device_clear_fields(Device *d) {
        g_free(d->vendor_name);
        g_free(d->device_name);
        g_free(d->subsystem_vendor_name);
        g_free(d->subsystem_name);
        g_free(d->class_name);
        g_free(d->driver);
        g_free(d->driver_override);
        g_free(d->physfn_path);
        g_strfreev(d->virtfn_paths);
        g_strfreev(d->reset_methods);
}

void device_free(Device *d) {
        if (!d)
                return;
        device_clear_fields(d);
        g_free(d->address_str);
        g_free(d->path);
        g_free(d->group_path);
        g_free(d->rule_path);
        g_strfreev(d->blockers);
        g_free(d->holder);
        g_free(d);
}

const char *device_state_to_string(DeviceState state) {
        g_return_val_if_fail(state < _DEVICE_STATE_MAX, NULL);
        return state_names[state];
}

void device_set_state(Device *d, DeviceState state) {
        d->state = state;
        d->state_str = device_state_to_string(state);
}

static bool strv_equal0(char **a, char **b) {
        static char *empty[] = { NULL };
        return g_strv_equal((const char *const *) (a ?: empty), (const char *const *) (b ?: empty));
}

DevicePropMask device_set_view(Device *d, DeviceState state, const char *group_path, const char *rule_path,
                               char **blockers, const char *holder) {
        DevicePropMask m = 0;

        if (d->state != state) {
                device_set_state(d, state);
                m |= DEVICE_PROP_BIT(DEVICE_PROP_STATE);
        }
        if (!g_str_equal(d->group_path, group_path)) {
                g_free(d->group_path);
                d->group_path = g_strdup(group_path);
                m |= DEVICE_PROP_BIT(DEVICE_PROP_GROUP);
        }
        if (!g_str_equal(d->rule_path, rule_path)) {
                g_free(d->rule_path);
                d->rule_path = g_strdup(rule_path);
                m |= DEVICE_PROP_BIT(DEVICE_PROP_RULE);
        }
        if (!strv_equal0(d->blockers, blockers)) {
                g_strfreev(d->blockers);
                d->blockers = blockers && blockers[0] ? g_strdupv(blockers) : NULL;
                m |= DEVICE_PROP_BIT(DEVICE_PROP_BLOCKERS);
        }
        if (!g_str_equal(d->holder, holder)) {
                g_free(d->holder);
                d->holder = g_strdup(holder);
                m |= DEVICE_PROP_BIT(DEVICE_PROP_HOLDER);
        }
        return m;
}

bool device_is_vf(const Device *d) {
        return strcmp(d->physfn_path, "/") != 0;
}

bool device_vf_address(const Device *pf, unsigned index, char buf[static DP_ADDRESS_MAX]) {
        DpAddress a;

        /* A First VF Offset of 0 would place VF 0 on the PF itself: no SR-IOV here. */
        if (index >= pf->sriov_total_vfs || pf->sriov_offset == 0 ||
            !address_vf(&pf->address, pf->sriov_offset, pf->sriov_stride, index, &a))
                return false;
        address_format(&a, buf);
        return true;
}

DevicePropMask device_diff(const Device *o, const Device *n) {
        DevicePropMask m = 0;

#define DIFF_VAL(field, prop) if (o->field != n->field) m |= DEVICE_PROP_BIT(prop)
#define DIFF_STR(field, prop) if (g_strcmp0(o->field, n->field) != 0) m |= DEVICE_PROP_BIT(prop)
#define DIFF_STRV(field, prop) if (!strv_equal0(o->field, n->field)) m |= DEVICE_PROP_BIT(prop)
        DIFF_VAL(vendor_id, DEVICE_PROP_VENDOR_ID);
        DIFF_VAL(device_id, DEVICE_PROP_DEVICE_ID);
        DIFF_VAL(subsystem_vendor_id, DEVICE_PROP_SUBSYSTEM_VENDOR_ID);
        DIFF_VAL(subsystem_device_id, DEVICE_PROP_SUBSYSTEM_DEVICE_ID);
        DIFF_VAL(class_code, DEVICE_PROP_CLASS);
        DIFF_VAL(revision, DEVICE_PROP_REVISION);
        DIFF_STR(vendor_name, DEVICE_PROP_VENDOR_NAME);
        DIFF_STR(device_name, DEVICE_PROP_DEVICE_NAME);
        DIFF_STR(subsystem_vendor_name, DEVICE_PROP_SUBSYSTEM_VENDOR_NAME);
        DIFF_STR(subsystem_name, DEVICE_PROP_SUBSYSTEM_NAME);
        DIFF_STR(class_name, DEVICE_PROP_CLASS_NAME);
        DIFF_STR(driver, DEVICE_PROP_DRIVER);
        DIFF_VAL(iommu_group, DEVICE_PROP_IOMMU_GROUP);
        DIFF_VAL(numa_node, DEVICE_PROP_NUMA_NODE);
        DIFF_STR(physfn_path, DEVICE_PROP_PHYSICAL_FUNCTION);
        DIFF_STRV(virtfn_paths, DEVICE_PROP_VIRTUAL_FUNCTIONS);
        DIFF_VAL(sriov_total_vfs, DEVICE_PROP_SRIOV_TOTAL_VFS);
        DIFF_VAL(sriov_num_vfs, DEVICE_PROP_SRIOV_NUM_VFS);
        if (!o->boot_vga != !n->boot_vga)
                m |= DEVICE_PROP_BIT(DEVICE_PROP_BOOT_VGA);
        DIFF_STRV(reset_methods, DEVICE_PROP_RESET_METHODS);
#undef DIFF_VAL
#undef DIFF_STR
#undef DIFF_STRV
        return m;
}

void device_take_fields(Device *dst, Device *src) {
        g_return_if_fail(address_compare(&dst->address, &src->address) == 0);

        device_clear_fields(dst);
        /* Identity (address, path), the inventory's group link and the
         * model's view stay with dst; src keeps its own and is freed with
         * nothing else. */
        Device keep = *dst;
        *dst = *src;
        dst->address_str = keep.address_str;
        dst->path = keep.path;
        dst->iommu_peers = keep.iommu_peers;
        dst->state = keep.state;
        dst->state_str = keep.state_str;
        dst->group_path = keep.group_path;
        dst->rule_path = keep.rule_path;
        dst->blockers = keep.blockers;
        dst->holder = keep.holder;

        keep = *src;
        memset(src, 0, sizeof(*src));
        src->address_str = keep.address_str;
        src->path = keep.path;
        src->group_path = keep.group_path;
        src->rule_path = keep.rule_path;
        src->blockers = keep.blockers;
        src->holder = keep.holder;
}

const char *device_prop_name(DeviceProp p) {
        g_return_val_if_fail(p < _DEVICE_PROP_MAX, NULL);
        return prop_names[p];
}

const char **device_prop_names(DevicePropMask mask) {
        const char **names = g_new0(const char *, _DEVICE_PROP_MAX + 1);
        size_t n = 0;

        for (DeviceProp p = 0; p < _DEVICE_PROP_MAX; p++)
                if (mask & DEVICE_PROP_BIT(p))
                        names[n++] = prop_names[p];
        return names;
}

/* An element of an array of strings: length, the string, NUL, and after
 * the first the padding to 4 before it. */
#define BUS_ELEMENT_BYTES(s, i) (((i) ? 3 : 0) + 4 + strlen(s) + 1)

static size_t strv_bytes(char **v) {
        size_t n = 0;

        for (size_t i = 0; v && v[i]; i++)
                n += BUS_ELEMENT_BYTES(v[i], i);
        return n;
}

size_t device_bus_size(const Device *d) {
        size_t n = strlen(d->path) + strlen(d->address_str) + strlen(d->vendor_name ?: "") +
                   strlen(d->device_name ?: "") + strlen(d->subsystem_vendor_name ?: "") +
                   strlen(d->subsystem_name ?: "") + strlen(d->class_name ?: "") + strlen(d->driver ?: "") +
                   strlen(d->physfn_path ?: "") + strlen(d->group_path ?: "") + strlen(d->rule_path ?: "") +
                   strlen(d->holder ?: "") + strlen(d->state_str ?: "");

        n += strv_bytes(d->virtfn_paths) + strv_bytes(d->reset_methods) + strv_bytes(d->blockers);
        for (guint i = 0; d->iommu_peers && i < d->iommu_peers->len; i++)
                n += BUS_ELEMENT_BYTES(((Device *) d->iommu_peers->pdata[i])->path, i);
        return n;
}
