/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-device.h"

#include <stddef.h>
#include <string.h>

#include "bus-passthrough.h"
#include "service.h"

static int append_paths(sd_bus_message *reply, char *const *paths, const Device *except,
                        const GPtrArray *devices) {
        int r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (size_t i = 0; paths && paths[i]; i++)
                if ((r = sd_bus_message_append_basic(reply, 'o', paths[i])) < 0)
                        return r;
        for (guint i = 0; devices && i < devices->len; i++) {
                const Device *d = devices->pdata[i];
                if (d != except && (r = sd_bus_message_append_basic(reply, 'o', d->path)) < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_iommu_members(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply,
                                      void *userdata, sd_bus_error *error) {
        const Device *d = userdata;
        return append_paths(reply, NULL, d, d->iommu_peers);
}

static int property_get_virtual_functions(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply,
                                          void *userdata, sd_bus_error *error) {
        const Device *d = userdata;
        return append_paths(reply, d->virtfn_paths, NULL, NULL);
}

#define P(name, sig, field) \
        SD_BUS_PROPERTY(name, sig, NULL, offsetof(Device, field), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

const sd_bus_vtable bus_device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", NULL, offsetof(Device, address_str), SD_BUS_VTABLE_PROPERTY_CONST),
        P("VendorId", "q", vendor_id),
        P("DeviceId", "q", device_id),
        P("SubsystemVendorId", "q", subsystem_vendor_id),
        P("SubsystemDeviceId", "q", subsystem_device_id),
        P("Class", "u", class_code),
        P("Revision", "y", revision),
        P("VendorName", "s", vendor_name),
        P("DeviceName", "s", device_name),
        P("SubsystemVendorName", "s", subsystem_vendor_name),
        P("SubsystemName", "s", subsystem_name),
        P("ClassName", "s", class_name),
        P("Driver", "s", driver),
        P("IommuGroup", "i", iommu_group),
        SD_BUS_PROPERTY("IommuGroupMembers", "ao", property_get_iommu_members, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        P("NumaNode", "i", numa_node),
        P("PhysicalFunction", "o", physfn_path),
        SD_BUS_PROPERTY("VirtualFunctions", "ao", property_get_virtual_functions, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        P("SriovTotalVfs", "u", sriov_total_vfs),
        P("SriovNumVfs", "u", sriov_num_vfs),
        P("BootVga", "b", boot_vga),
        P("ResetMethods", "as", reset_methods),
        P("State", "s", state_str),
        P("Group", "o", group_path),
        P("Rule", "o", rule_path),
        P("Blockers", "as", blockers),
        P("Holder", "s", holder),
        SD_BUS_METHOD_WITH_ARGS("SetVirtualFunctions", SD_BUS_ARGS("u", count), SD_BUS_NO_RESULT,
                                bus_passthrough_method_set_vfs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

#undef P

static int device_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                       void **found, sd_bus_error *error) {
        Service *daemon = userdata;
        Device *d = inventory_lookup_path(daemon->inventory, path) ?: model_missing_by_path(daemon->model, path);

        /* Not there (gone, or never): sd-bus answers UnknownObject, as for
         * any path. */
        *found = d;
        return d != NULL;
}

static int device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                            sd_bus_error *error) {
        Service *d = userdata;
        g_auto(GStrv) present = inventory_paths(d->inventory);
        g_auto(GStrv) missing = model_missing_paths(d->model);
        gsize np = g_strv_length(present), nm = g_strv_length(missing);
        char **all = g_new0(char *, np + nm + 1);

        memcpy(all, present, np * sizeof(char *));
        memcpy(all + np, missing, nm * sizeof(char *));
        g_free(g_steal_pointer(&present));
        g_free(g_steal_pointer(&missing));
        *ret_nodes = all;
        return 0;
}

const BusKind bus_device_kind = {
        DP_DEVICES_PATH, DP_DEVICE_INTERFACE, bus_device_vtable, device_find, device_enumerate,
};

static void emit_warn(int r, const char *what, const Device *d) {
        if (r < 0)
                g_warning("Cannot emit %s for %s: %s", what, d->address_str, g_strerror(-r));
}

void bus_device_emit_properties(sd_bus *bus, const Device *d, DevicePropMask mask) {
        g_autofree const char **names = device_prop_names(mask);
        emit_warn(sd_bus_emit_properties_changed_strv(bus, d->path, DP_DEVICE_INTERFACE, (char **) names),
                  "PropertiesChanged", d);
}

void bus_device_emit_changes(BusObjects *o, InventoryChanges *c) {
        GHashTableIter it;
        gpointer key, value;

        for (guint i = 0; i < c->removed->len; i++) {
                const Device *d = c->removed->pdata[i];
                emit_warn(bus_objects_emit_removed(o, d->path), "InterfacesRemoved", d);
        }
        for (guint i = 0; i < c->added->len; i++) {
                const Device *d = c->added->pdata[i];
                emit_warn(bus_objects_emit_added(o, d->path), "InterfacesAdded", d);
        }
        g_hash_table_iter_init(&it, c->changed);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                bus_device_emit_properties(o->bus, key, GPOINTER_TO_UINT(value));
        }
}
