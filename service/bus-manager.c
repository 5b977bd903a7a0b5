/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"

#include <stddef.h>

#include "bus-errors.h"

static int property_get_iommu_enabled(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply,
                                      void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        return sd_bus_message_append(reply, "b", inventory_iommu_enabled(d->inventory));
}

static int method_get_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        const char *s;
        char quoted[80];
        DpAddress a;

        int r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        if (!address_parse(s, &a))
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT,
                                         "%s is not a PCI address: use dddd:bb:ss.f, e.g. 0000:17:00.0",
                                         bus_quote(s, quoted));
        Device *dev = inventory_lookup(d->inventory, &a);
        if (!dev) {
                char address[DP_ADDRESS_MAX];
                address_format(&a, address);
                return sd_bus_error_setf(error, DP_ERROR_NOT_FOUND,
                                         "No PCI function %s on this node: 'devpassctl devices' lists them",
                                         address);
        }
        return sd_bus_reply_method_return(m, "o", dev->path);
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Daemon, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Node", "s", NULL, offsetof(Daemon, config.node), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IommuEnabled", "b", property_get_iommu_enabled, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", address), SD_BUS_RESULT("o", device),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int bus_manager_register(sd_bus *bus, Daemon *d) {
        int r = sd_bus_add_object_vtable(bus, NULL, DP_ROOT_PATH, DP_MANAGER_INTERFACE,
                                         bus_manager_vtable, d);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(bus, NULL, DP_ROOT_PATH);
}

void bus_manager_emit_changes(sd_bus *bus, InventoryChanges *changes) {
        if (changes->iommu_changed)
                (void) sd_bus_emit_properties_changed(bus, DP_ROOT_PATH, DP_MANAGER_INTERFACE,
                                                      "IommuEnabled", NULL);
}
