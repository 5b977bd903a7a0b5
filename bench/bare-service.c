/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for devpassd's bus work: a bare sd-bus service that exports N
 * objects with the same property signatures as org.devpass1.Device (static
 * values, the same fallback-vtable mechanism), and a trivial method. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

typedef struct {
        char *s;
        uint16_t q;
        uint32_t u;
        int32_t i;
        uint8_t y;
        int b;
        char *o;
        char **as;
} Bare;

static Bare bare = { .s = "0000:00:00.0", .o = "/", .q = 0x10de, .u = 0x030000, .i = -1 };
static char *empty_strv[] = { NULL };
static unsigned n_objects;

static int get_ao(sd_bus *bus, const char *path, const char *interface, const char *property,
                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "ao", 0);
}

static int method_ping(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

#define P(name, sig, field) SD_BUS_PROPERTY(name, sig, NULL, offsetof(Bare, field), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", NULL, offsetof(Bare, s), SD_BUS_VTABLE_PROPERTY_CONST),
        P("VendorId", "q", q), P("DeviceId", "q", q), P("SubsystemVendorId", "q", q),
        P("SubsystemDeviceId", "q", q), P("Class", "u", u), P("Revision", "y", y),
        P("VendorName", "s", s), P("DeviceName", "s", s), P("SubsystemVendorName", "s", s),
        P("SubsystemName", "s", s), P("ClassName", "s", s), P("Driver", "s", s),
        P("IommuGroup", "i", i),
        SD_BUS_PROPERTY("IommuGroupMembers", "ao", get_ao, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        P("NumaNode", "i", i), P("PhysicalFunction", "o", o),
        SD_BUS_PROPERTY("VirtualFunctions", "ao", get_ao, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        P("SriovTotalVfs", "u", u), P("SriovNumVfs", "u", u), P("BootVga", "b", b),
        P("ResetMethods", "as", as), P("State", "s", s),
        SD_BUS_METHOD("Ping", "", "", method_ping, 0),
        SD_BUS_VTABLE_END
};

static int find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error) {
        if (strncmp(path, "/bare/", 6) != 0)
                return 0;
        *found = &bare;
        return 1;
}

static int enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error) {
        char **v = calloc(n_objects + 1, sizeof(char *));
        for (unsigned i = 0; i < n_objects; i++)
                if (asprintf(&v[i], "/bare/%u", i) < 0)
                        return -ENOMEM;
        *nodes = v;
        return 0;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;

        n_objects = argc > 1 ? (unsigned) atoi(argv[1]) : 1000;
        bare.as = empty_strv;
        if (sd_bus_open_system(&bus) < 0 ||
            sd_bus_add_fallback_vtable(bus, NULL, "/bare", "org.devpass1.Bare", vtable, find, NULL) < 0 ||
            sd_bus_add_node_enumerator(bus, NULL, "/bare", enumerate, NULL) < 0 ||
            sd_bus_add_object_manager(bus, NULL, "/") < 0 ||
            sd_bus_request_name(bus, "org.devpass1.Bare", 0) < 0) {
                fprintf(stderr, "bare-service: cannot start\n");
                return 1;
        }
        for (;;) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return 0;
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return 0;
        }
}
