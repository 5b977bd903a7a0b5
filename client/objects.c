/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's view of devpassd's objects: one GetManagedObjects, and
 * groups, rules and attachments found by name or path. */
#include <errno.h>
#include <stdio.h>

#include "address.h"
#include "ctl.h"

static const struct {
        const char *interface;
        const char *what;
        const char *prefix;
        const char *listing;
} kinds[] = {
        [CTL_KIND_GROUP] = { "org.devpass1.Group", "group", "/org/devpass1/groups/", "groups" },
        [CTL_KIND_RULE] = { "org.devpass1.Rule", "rule", "/org/devpass1/rules/", "rules" },
        [CTL_KIND_ATTACHMENT] = { "org.devpass1.Attachment", "attachment", "/org/devpass1/attachments/",
                                  "attachments" },
};

const char *ctl_kind_interface(CtlKind kind) {
        return kinds[kind].interface;
}

static GPtrArray *array_of(const CtlObjects *o, CtlKind kind) {
        switch (kind) {
        case CTL_KIND_GROUP: return o->groups;
        case CTL_KIND_RULE: return o->rules;
        case CTL_KIND_ATTACHMENT: return o->attachments;
        }
        g_assert_not_reached();
}

/* Where the properties of an interface go; NULL for one we do not show. */
static GPtrArray *array_for(CtlObjects *o, const char *interface) {
        if (g_str_equal(interface, "org.devpass1.Device"))
                return o->devices;
        if (g_str_equal(interface, "org.devpass1.Node"))
                return o->nodes;
        for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++)
                if (g_str_equal(interface, kinds[k].interface))
                        return array_of(o, (CtlKind) k);
        return NULL;
}

static int read_objects(sd_bus_message *reply, CtlObjects *o) {
        const char *path, *iface;
        int r;

        if ((r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                if ((r = sd_bus_message_read(reply, "o", &path)) < 0 ||
                    (r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}")) < 0)
                        return r;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        if ((r = sd_bus_message_read(reply, "s", &iface)) < 0)
                                return r;
                        GPtrArray *into = array_for(o, iface);
                        if (into) {
                                CtlObject *object = g_new0(CtlObject, 1);
                                g_ptr_array_add(into, object);
                                object->path = g_strdup(path);
                                if ((r = ctl_read_props_shared(reply, o->values, &object->props)) < 0)
                                        return r;
                        } else if ((r = sd_bus_message_skip(reply, "a{sv}")) < 0)
                                return r;
                        if ((r = sd_bus_message_exit_container(reply)) < 0)
                                return r;
                }
                if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0 ||
                    (r = sd_bus_message_exit_container(reply)) < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

int ctl_get_objects(sd_bus *bus, CtlObjects **ret, int *exit_code) {
        g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
        g_autoptr(sd_bus_message) reply = NULL;
        g_autoptr(CtlObjects) objects = ctl_objects_new();

        objects->values = ctl_values_new();
        int r = sd_bus_call_method(bus, "org.devpass1", "/org/devpass1", "org.freedesktop.DBus.ObjectManager",
                                   "GetManagedObjects", &error, &reply, NULL);
        if (r < 0) {
                *exit_code = ctl_fail("GetManagedObjects", &error, r);
                return r;
        }
        if ((r = read_objects(reply, objects)) < 0) {
                *exit_code = ctl_fail("cannot read devpassd's objects", NULL, r);
                return r;
        }
        ctl_objects_sort(objects);
        *ret = g_steal_pointer(&objects);
        return 0;
}

/* ListDevices' columns: the properties they are, but the group's name. */
#define DEVICE_ROW "sqqssssiiouusoss"
static const char *const device_columns[] = {
        "Address", "VendorId", "DeviceId", "VendorName", "DeviceName", "ClassName", "Driver", "IommuGroup",
        "NumaNode", "PhysicalFunction", "SriovNumVfs", "SriovTotalVfs", "State", "Group", NULL, "Holder",
};
G_STATIC_ASSERT(sizeof(DEVICE_ROW) - 1 == G_N_ELEMENTS(device_columns));
#define DEVICE_COLUMN_GROUP 13
#define DEVICE_COLUMN_GROUP_NAME 14

/* A group as ListDevices names it: its path and Name, once. */
static void device_group_add(CtlObjects *o, GHashTable *seen, const char *path, const char *name) {
        if (g_str_equal(path, "/") || g_hash_table_contains(seen, path))
                return;
        CtlObject *group = g_new0(CtlObject, 1);
        group->path = g_strdup(path);
        group->props = g_ptr_array_new();
        g_ptr_array_add(group->props, (CtlValue *) ctl_values_str(o->values, "Name", 's', name));
        g_ptr_array_add(o->groups, group);
        g_hash_table_add(seen, group->path);
}

/* One struct of ListDevices as a device object, its values read in place
 * and shared. */
static int read_device_row(sd_bus_message *m, CtlObjects *o, GHashTable *groups) {
        CtlObject *device = g_new0(CtlObject, 1);
        const char *group = "/";
        int r;

        device->props = g_ptr_array_sized_new(G_N_ELEMENTS(device_columns) - 1);
        g_ptr_array_add(o->devices, device);
        for (size_t i = 0; i < G_N_ELEMENTS(device_columns); i++) {
                char type = DEVICE_ROW[i];
                const CtlValue *v;
                const char *s;
                int64_t num;
                if (type == 's' || type == 'o') {
                        if ((r = sd_bus_message_read_basic(m, type, &s)) < 0)
                                return r;
                        if (i == DEVICE_COLUMN_GROUP)
                                group = s;
                        if (i == DEVICE_COLUMN_GROUP_NAME) {
                                device_group_add(o, groups, group, s);
                                continue;
                        }
                        v = ctl_values_str(o->values, device_columns[i], type, s);
                } else {
                        if ((r = ctl_read_number(m, type, &num)) < 0)
                                return r;
                        v = ctl_values_num(o->values, device_columns[i], type, num);
                }
                g_ptr_array_add(device->props, (CtlValue *) v);
        }
        DpAddress a;
        char path[DP_DEVICE_PATH_MAX];
        if (!address_parse(ctl_props_str(device->props, "Address"), &a))
                return -EBADMSG;
        address_to_path(&a, path);
        device->path = g_strdup(path);
        return 0;
}

int ctl_get_devices(sd_bus *bus, CtlObjects **ret, int *exit_code) {
        g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
        g_autoptr(sd_bus_message) reply = NULL;
        g_autoptr(CtlObjects) objects = ctl_objects_new();
        g_autoptr(GHashTable) groups = g_hash_table_new(g_str_hash, g_str_equal);
        int r;

        objects->values = ctl_values_new();
        r = sd_bus_call_method(bus, "org.devpass1", "/org/devpass1", "org.devpass1.Manager", "ListDevices", &error,
                               &reply, NULL);
        if (r < 0) {
                *exit_code = ctl_fail("ListDevices", &error, r);
                return r;
        }
        if ((r = sd_bus_message_enter_container(reply, 'a', "(" DEVICE_ROW ")")) >= 0)
                while ((r = sd_bus_message_enter_container(reply, 'r', DEVICE_ROW)) > 0)
                        if ((r = read_device_row(reply, objects, groups)) < 0 ||
                            (r = sd_bus_message_exit_container(reply)) < 0)
                                break;
        if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0) {
                *exit_code = ctl_fail("cannot read devpassd's devices", NULL, r);
                return r;
        }
        ctl_objects_sort(objects);
        *ret = g_steal_pointer(&objects);
        return 0;
}

char *ctl_label(sd_bus *bus, CtlKind kind, const char *arg) {
        g_autofree char *name = arg[0] == '/' ? ctl_get_name(bus, arg, kind) : NULL;
        return g_strdup(name && name[0] ? name : arg);
}

/* A path of the kind's, else reported. */
static int check_path(CtlKind kind, const char *arg) {
        if (g_str_has_prefix(arg, kinds[kind].prefix) && g_variant_is_object_path(arg))
                return CTL_EXIT_OK;
        g_autofree char *shown = g_strescape(arg, NULL);
        fprintf(stderr, "devpassctl: '%s' is no %s path (%s<id>)\n", shown, kinds[kind].what, kinds[kind].prefix);
        return CTL_EXIT_USAGE;
}

int ctl_resolve(sd_bus *bus, CtlObjects **objects, CtlKind kind, const char *arg, const char **ret_path) {
        g_autofree char *shown = g_strescape(arg, NULL);
        int code = CTL_EXIT_OK;
        guint count;

        /* A path needs no look-up: the daemon says when it is gone. */
        if (arg[0] == '/') {
                if ((code = check_path(kind, arg)) == CTL_EXIT_OK)
                        *ret_path = arg;
                return code;
        }
        if (!*objects && ctl_get_objects(bus, objects, &code) < 0)
                return code;
        const CtlObject *o = ctl_object_lookup(array_of(*objects, kind), arg, &count);
        if (count == 0) {
                fprintf(stderr, "devpassctl: no %s is named '%s' (see devpassctl %s)\n", kinds[kind].what, shown,
                        kinds[kind].listing);
                return CTL_EXIT_NOT_FOUND;
        }
        if (count > 1) {
                fprintf(stderr, "devpassctl: %u %ss are named '%s': name one by its path (see devpassctl %s --json)\n",
                        count, kinds[kind].what, shown, kinds[kind].listing);
                return CTL_EXIT_USAGE;
        }
        *ret_path = o->path;
        return CTL_EXIT_OK;
}

int ctl_resolve_object(sd_bus *bus, CtlObjects **objects, CtlKind kind, const char *arg, const CtlObject **ret) {
        const char *path;
        int code = CTL_EXIT_OK;

        if (!*objects && ctl_get_objects(bus, objects, &code) < 0)
                return code;
        if ((code = ctl_resolve(bus, objects, kind, arg, &path)) != CTL_EXIT_OK)
                return code;
        *ret = ctl_object_by_path(array_of(*objects, kind), path);
        if (!*ret) {
                g_autofree char *shown = g_strescape(path, NULL);
                fprintf(stderr, "devpassctl: there is no %s %s (see devpassctl %s)\n", kinds[kind].what, shown,
                        kinds[kind].listing);
                return CTL_EXIT_NOT_FOUND;
        }
        return CTL_EXIT_OK;
}

int ctl_resolve_attachment(sd_bus *bus, CtlObjects **objects, const char *machine, const char *arg,
                           const CtlObject **ret) {
        g_autofree char *shown = g_strescape(arg, NULL);
        int code = CTL_EXIT_OK;
        guint count;

        if (arg[0] == '/' && (code = check_path(CTL_KIND_ATTACHMENT, arg)) != CTL_EXIT_OK)
                return code;
        /* A path too is looked up: it must be this machine's. */
        if (!*objects && ctl_get_objects(bus, objects, &code) < 0)
                return code;
        const CtlObject *o = ctl_attachment_lookup((*objects)->attachments, machine, arg, &count);
        if (count == 0) {
                fprintf(stderr, "devpassctl: %s has no attachment %s%s%s (see devpassctl attachments %s)\n", machine,
                        arg[0] == '/' ? "" : "named '", shown, arg[0] == '/' ? "" : "'", machine);
                return CTL_EXIT_NOT_FOUND;
        }
        if (count > 1) {
                fprintf(stderr, "devpassctl: %u attachments of %s are named '%s': name one by its path "
                                "(see devpassctl attachments %s --json)\n", count, machine, shown, machine);
                return CTL_EXIT_USAGE;
        }
        const char *owner = ctl_props_str(o->props, "Machine");
        if (!g_str_equal(owner, machine)) {
                g_autofree char *owner_shown = g_strescape(owner, NULL);
                fprintf(stderr, "devpassctl: %s is an attachment of %s, not of %s\n", shown, owner_shown, machine);
                return CTL_EXIT_NOT_FOUND;
        }
        *ret = o;
        return CTL_EXIT_OK;
}
