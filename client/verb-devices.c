/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl devices: every PCI function of the node, a row each. */
#include <stdio.h>

#include "ctl.h"

/* NAME is cut to fit the terminal, down to this, before HOLDER is left out. */
#define NAME_MIN_WIDTH 24

static char *num_or_dash(int64_t v) {
        return v < 0 ? g_strdup("-") : g_strdup_printf("%" G_GINT64_FORMAT, v);
}

/* HOLDER, last, when a device is held and the terminal has room for it. */
static void add_holders(GPtrArray *rows, const GPtrArray *devices, guint width) {
        bool any = false;

        for (guint i = 0; i < devices->len && !any; i++)
                any = ctl_props_str(((CtlObject *) devices->pdata[i])->props, "Holder")[0] != '\0';
        if (!any)
                return;
        g_ptr_array_add(rows->pdata[0], g_strdup("HOLDER"));
        for (guint i = 0; i < devices->len; i++)
                g_ptr_array_add(rows->pdata[i + 1],
                                ctl_text_or_dash(ctl_props_str(((CtlObject *) devices->pdata[i])->props, "Holder")));
        if (ctl_table_fits(rows, 1, NAME_MIN_WIDTH, width))
                return;
        for (guint i = 0; i < rows->len; i++)
                g_ptr_array_remove_index(rows->pdata[i], ((GPtrArray *) rows->pdata[i])->len - 1);
}

int verb_devices(sd_bus *bus, int argc, char **argv, bool json) {
        static const char *const titles[] = { "ADDRESS", "NAME", "CLASS", "DRIVER", "IOMMU", "NUMA", "SR-IOV",
                                              "STATE", "GROUP", NULL };
        g_autoptr(CtlObjects) objects = NULL;
        int code = CTL_EXIT_OK;

        if (argc > 1)
                return ctl_usage("devices takes no arguments");
        /* The table needs a few of the properties; JSON has them all. */
        if ((json ? ctl_get_objects(bus, &objects, &code) : ctl_get_devices(bus, &objects, &code)) < 0)
                return code;
        if (json) {
                ctl_print_json_array(objects->devices);
                return CTL_EXIT_OK;
        }

        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        g_ptr_array_add(rows, ctl_row_new(titles));
        for (guint i = 0; i < objects->devices->len; i++) {
                const CtlProps *p = ((CtlObject *) objects->devices->pdata[i])->props;
                const char *driver = ctl_props_str(p, "Driver"), *klass = ctl_props_str(p, "ClassName");
                GPtrArray *row = ctl_row_new(NULL);
                g_ptr_array_add(row, g_strdup(ctl_props_str(p, "Address")));
                g_ptr_array_add(row, ctl_device_name(p));
                g_ptr_array_add(row, g_strdup(klass[0] ? klass : "-"));
                g_ptr_array_add(row, g_strdup(driver[0] ? driver : "-"));
                g_ptr_array_add(row, num_or_dash(ctl_props_num(p, "IommuGroup")));
                g_ptr_array_add(row, num_or_dash(ctl_props_num(p, "NumaNode")));
                g_ptr_array_add(row, ctl_sriov_text(p));
                g_ptr_array_add(row, g_strdup(ctl_props_str(p, "State")));
                g_ptr_array_add(row, ctl_object_label(objects->groups, ctl_props_str(p, "Group")));
                g_ptr_array_add(rows, row);
        }
        guint width = ctl_terminal_width();
        add_holders(rows, objects->devices, width);
        /* The name is the column to give up when the terminal is narrow. */
        g_autofree char *table = ctl_table_format(rows, 1, width);
        fputs(table, stdout);
        return CTL_EXIT_OK;
}
