/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl device ADDRESS: every property of one function. */
#include <stdio.h>

#include "ctl.h"

/* The name of the group or rule at path, into into; nothing when it has
 * none to read: the path then stands for it. */
static void add_named(sd_bus *bus, GPtrArray *into, const char *path, CtlKind kind) {
        if (!path[0] || g_str_equal(path, "/"))
                return;
        char *name = ctl_get_name(bus, path, kind);
        if (!name)
                return;
        CtlValue *v = g_new0(CtlValue, 1);
        v->name = g_strdup("Name");
        v->type = 's';
        v->str = name;
        CtlObject *o = g_new0(CtlObject, 1);
        o->path = g_strdup(path);
        o->props = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_value_free);
        g_ptr_array_add(o->props, v);
        g_ptr_array_add(into, o);
}

int verb_device(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = ctl_objects_new();
        g_autoptr(GPtrArray) paths = NULL;
        CtlObject device = {};
        int code = CTL_EXIT_OK;

        if (argc != 2)
                return ctl_usage("device takes one address, e.g. devpassctl device 0000:17:00.0");
        if ((code = ctl_device_paths(argv + 1, 1, &paths)) != CTL_EXIT_OK)
                return code;
        device.path = paths->pdata[0];
        if (ctl_get_all(bus, device.path, "org.devpass1.Device", &device.props, &code) < 0)
                return code;
        g_autoptr(GPtrArray) props = device.props;

        /* Names say more than paths: two more calls, when it has them. */
        if (!json) {
                add_named(bus, objects->groups, ctl_props_str(props, "Group"), CTL_KIND_GROUP);
                add_named(bus, objects->rules, ctl_props_str(props, "Rule"), CTL_KIND_RULE);
        }
        return ctl_print_one(&device, objects, ctl_devices_table);
}
