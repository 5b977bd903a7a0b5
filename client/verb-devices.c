/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl devices: every PCI function of the node, a row each, or those
 * of a class, group, state or NUMA node. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

typedef struct {
        const char *klass, *state;
        const CtlObject *group;
        int64_t numa;
} DeviceFilter;

/* --class: a class name containing the text (any case), or a class code
 * beginning with the hex digits ("03", "0300"). */
static bool class_matches(const CtlProps *p, const char *klass) {
        g_autofree char *code = g_strdup_printf("%06" G_GINT64_MODIFIER "x", MAX(ctl_props_num(p, "Class"), 0));
        g_autofree char *name = g_utf8_casefold(ctl_props_str(p, "ClassName"), -1);
        g_autofree char *want = g_utf8_casefold(klass, -1);

        return strstr(name, want) || (klass[0] && g_str_has_prefix(code, want));
}

static bool device_matches(const CtlObject *device, const DeviceFilter *f) {
        const CtlProps *p = device->props;

        return (!f->klass || class_matches(p, f->klass)) &&
               (!f->state || g_str_equal(ctl_props_str(p, "State"), f->state)) &&
               (!f->group || g_str_equal(ctl_props_str(p, "Group"), f->group->path)) &&
               (f->numa < 0 || ctl_props_num(p, "NumaNode") == f->numa);
}

int verb_devices(sd_bus *bus, int argc, char **argv, bool json) {
        enum { OPT_STATE = CTL_OPT_PRIVATE, OPT_NUMA };
        static const struct option options[] = {
                { "class", required_argument, NULL, CTL_OPT_CLASS },
                { "group", required_argument, NULL, CTL_OPT_GROUP },
                { "state", required_argument, NULL, OPT_STATE },
                { "numa", required_argument, NULL, OPT_NUMA },
                {}
        };
        g_autoptr(CtlObjects) objects = NULL;
        DeviceFilter f = { .numa = -1 };
        const char *group = NULL;
        int c, code = CTL_EXIT_OK;

        while ((c = ctl_getopt(argc, argv, options)) >= 0) {
                switch (c) {
                case CTL_OPT_CLASS: f.klass = optarg; break;
                case CTL_OPT_GROUP: group = optarg; break;
                case OPT_STATE: f.state = optarg; break;
                case OPT_NUMA:
                        if ((code = ctl_parse_int(argv[0], "--numa", optarg, 0, G_MAXINT32, &f.numa)) != CTL_EXIT_OK)
                                return code;
                        break;
                default: return CTL_EXIT_USAGE;
                }
        }
        if (optind < argc)
                return ctl_usage("devices takes no arguments but --class, --group, --state and --numa");
        /* The default table needs a few properties (ListDevices); JSON,
         * --output, a class code and a group's name need them all. */
        bool all = ctl_args.json || ctl_args.output || f.klass || group;
        if ((all ? ctl_get_objects(bus, &objects, &code) : ctl_get_devices(bus, &objects, &code)) < 0 ||
            (group && (code = ctl_resolve_object(bus, &objects, CTL_KIND_GROUP, group, &f.group)) != CTL_EXIT_OK))
                return code;

        g_autoptr(GPtrArray) devices = g_ptr_array_new();
        for (guint i = 0; i < objects->devices->len; i++)
                if (device_matches(objects->devices->pdata[i], &f))
                        g_ptr_array_add(devices, objects->devices->pdata[i]);
        g_autoptr(CtlTable) table = ctl_devices_table(devices, objects);
        /* The table holds its cells: smartcols lays them out in the
         * memory the objects free, not beside it. */
        g_clear_pointer(&devices, g_ptr_array_unref);
        g_clear_pointer(&objects, ctl_objects_free);
        return ctl_table_show(table);
}
