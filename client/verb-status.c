/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl status: the daemon, the node, and how its devices stand. */
#include <stdio.h>

#include "ctl.h"

int verb_status(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(GPtrArray) manager = NULL, devices = NULL;
        int code = CTL_EXIT_OK;

        if (ctl_get_all(bus, "/org/devpass1", "org.devpass1.Manager", &manager, &code) < 0 ||
            ctl_get_devices(bus, &devices, &code) < 0)
                return code;

        /* Counts per state, in the order states first appear. */
        g_autoptr(GPtrArray) states = g_ptr_array_new();
        g_autoptr(GHashTable) counts = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < devices->len; i++) {
                const char *state = ctl_props_str(devices->pdata[i], "State");
                guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, state));
                if (n == 0)
                        g_ptr_array_add(states, (gpointer) state);
                g_hash_table_insert(counts, (gpointer) state, GUINT_TO_POINTER(n + 1));
        }

        if (json) {
                g_autofree char *m = ctl_props_to_json(manager);
                GString *c = g_string_new("{");
                for (guint i = 0; i < states->len; i++) {
                        g_autofree char *k = ctl_json_escape(states->pdata[i]);
                        g_string_append_printf(c, "%s%s: %u", i ? ", " : "", k,
                                               GPOINTER_TO_UINT(g_hash_table_lookup(counts, states->pdata[i])));
                }
                g_string_append_c(c, '}');
                printf("{\"Manager\": %s, \"Devices\": %u, \"States\": %s}\n", m, devices->len, c->str);
                g_string_free(c, TRUE);
                return CTL_EXIT_OK;
        }

        printf("     Version: %s\n", ctl_props_str(manager, "Version"));
        printf("        Node: %s\n", ctl_props_str(manager, "Node"));
        printf("       IOMMU: %s\n", ctl_props_num(manager, "IommuEnabled") > 0 ? "enabled" :
               "not enabled (enable VT-d/AMD-Vi in the firmware and intel_iommu=on or amd_iommu=on)");
        printf("     Devices: %u", devices->len);
        for (guint i = 0; i < states->len; i++)
                printf("%s%u %s", i ? ", " : " (", GPOINTER_TO_UINT(g_hash_table_lookup(counts, states->pdata[i])),
                       (char *) states->pdata[i]);
        printf("%s\n", states->len ? ")" : "");
        return CTL_EXIT_OK;
}
