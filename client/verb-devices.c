/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl devices: every PCI function of the node, a row each. */
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ctl.h"

static GPtrArray *row_new(void) {
        return g_ptr_array_new_with_free_func(g_free);
}

static char *num_or_dash(int64_t v) {
        return v < 0 ? g_strdup("-") : g_strdup_printf("%" G_GINT64_FORMAT, v);
}

int verb_devices(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(GPtrArray) devices = NULL;
        int code = CTL_EXIT_OK;

        if (argc > 1) {
                fprintf(stderr, "devpassctl: devices takes no arguments\n");
                return CTL_EXIT_USAGE;
        }
        if (ctl_get_devices(bus, &devices, &code) < 0)
                return code;

        if (json) {
                printf("[");
                for (guint i = 0; i < devices->len; i++) {
                        g_autofree char *o = ctl_props_to_json(devices->pdata[i]);
                        printf("%s\n  %s", i ? "," : "", o);
                }
                printf("%s]\n", devices->len ? "\n" : "");
                return CTL_EXIT_OK;
        }

        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        GPtrArray *header = row_new();
        const char *titles[] = { "ADDRESS", "NAME", "CLASS", "DRIVER", "IOMMU", "NUMA", "SR-IOV", "STATE" };
        for (size_t i = 0; i < G_N_ELEMENTS(titles); i++)
                g_ptr_array_add(header, g_strdup(titles[i]));
        g_ptr_array_add(rows, header);

        for (guint i = 0; i < devices->len; i++) {
                const CtlProps *p = devices->pdata[i];
                const char *driver = ctl_props_str(p, "Driver");
                GPtrArray *row = row_new();
                g_ptr_array_add(row, g_strdup(ctl_props_str(p, "Address")));
                g_ptr_array_add(row, ctl_device_name(p));
                g_ptr_array_add(row, g_strdup(ctl_props_str(p, "ClassName")[0] ? ctl_props_str(p, "ClassName") : "-"));
                g_ptr_array_add(row, g_strdup(driver[0] ? driver : "-"));
                g_ptr_array_add(row, num_or_dash(ctl_props_num(p, "IommuGroup")));
                g_ptr_array_add(row, num_or_dash(ctl_props_num(p, "NumaNode")));
                g_ptr_array_add(row, ctl_sriov_text(p));
                g_ptr_array_add(row, g_strdup(ctl_props_str(p, "State")));
                g_ptr_array_add(rows, row);
        }

        /* Cut the name column only for a terminal that is too narrow. */
        struct winsize ws = {};
        guint width = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
        g_autofree char *table = ctl_table_format(rows, 1, width);
        fputs(table, stdout);
        return CTL_EXIT_OK;
}
