/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl status: the daemon, the node, and how its devices stand. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* "yes (2 devices)" and a line per reason, or "no". */
static char *reboot_text(const CtlProps *manager) {
        GPtrArray *reasons = ctl_props_tuples(manager, "RebootReasons");

        if (ctl_props_num(manager, "RebootRequired") <= 0 && (!reasons || reasons->len == 0))
                return g_strdup("no");
        g_autoptr(GHashTable) devices = g_hash_table_new(g_str_hash, g_str_equal);
        GString *lines = g_string_new(NULL);
        for (guint i = 0; reasons && i < reasons->len; i++) {
                char **r = reasons->pdata[i];
                g_autofree char *address = ctl_short_address(r[0]);
                g_hash_table_add(devices, r[0]);
                g_string_append_printf(lines, "\n%s: %s", address, r[1]);
        }
        guint n = g_hash_table_size(devices);
        g_autofree char *body = g_string_free(lines, FALSE);
        if (n == 0)
                return g_strdup("yes");
        return g_strdup_printf("yes (%u device%s)%s", n, n == 1 ? "" : "s", body);
}

static void add(GPtrArray *rows, const char *label, char *text) {
        g_ptr_array_add(rows, g_strdup(label));
        g_ptr_array_add(rows, text);
}

int verb_status(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(GPtrArray) manager = NULL;
        g_autoptr(CtlObjects) objects = NULL;
        int code = CTL_EXIT_OK;

        if (argc > 1)
                return ctl_usage("status takes no arguments");
        if (ctl_get_all(bus, "/org/devpass1", "org.devpass1.Manager", &manager, &code) < 0 ||
            ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        GPtrArray *devices = objects->devices;

        /* Counts per state, in the order states first appear. */
        g_autoptr(GPtrArray) states = g_ptr_array_new();
        g_autoptr(GHashTable) counts = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < devices->len; i++) {
                const char *state = ctl_props_str(((CtlObject *) devices->pdata[i])->props, "State");
                guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, state));
                if (n == 0)
                        g_ptr_array_add(states, (gpointer) state);
                g_hash_table_insert(counts, (gpointer) state, GUINT_TO_POINTER(n + 1));
        }

        if (json) {
                /* The manager's properties, and the counts. */
                g_autofree char *m = ctl_props_to_json(manager);
                GString *c = g_string_new("{");
                for (guint i = 0; i < states->len; i++) {
                        g_autofree char *k = ctl_json_escape(states->pdata[i]);
                        g_string_append_printf(c, "%s%s: %u", i ? ", " : "", k,
                                               GPOINTER_TO_UINT(g_hash_table_lookup(counts, states->pdata[i])));
                }
                g_string_append_c(c, '}');
                m[strlen(m) - 1] = '\0';
                printf("%s%s\"devices\": %u, \"states\": %s, \"groups\": %u, \"rules\": %u}\n", m,
                       manager->len ? ", " : "", devices->len, c->str, objects->groups->len, objects->rules->len);
                g_string_free(c, TRUE);
                return CTL_EXIT_OK;
        }

        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
        add(rows, "Version", g_strdup(ctl_props_str(manager, "Version")));
        add(rows, "Node", g_strdup(ctl_props_str(manager, "Node")));
        /* A node of its own says nothing of clusters. */
        const char *cluster = ctl_props_str(manager, "ClusterState");
        if (*cluster && !g_str_equal(cluster, "none"))
                add(rows, "Cluster", g_str_equal(cluster, "unjoined") ?
                                     g_strdup("unjoined: its own settings, changes refused until 'devpassctl "
                                              "cluster join'") : ctl_escape(cluster));
        add(rows, "IOMMU", g_strdup(ctl_props_num(manager, "IommuEnabled") > 0 ? "enabled" :
                "not enabled (enable VT-d/AMD-Vi in the firmware and intel_iommu=on or amd_iommu=on)"));
        GString *d = g_string_new(NULL);
        g_string_append_printf(d, "%u", devices->len);
        for (guint i = 0; i < states->len; i++)
                g_string_append_printf(d, "%s%u %s", i ? ", " : " (",
                                       GPOINTER_TO_UINT(g_hash_table_lookup(counts, states->pdata[i])),
                                       (char *) states->pdata[i]);
        g_string_append(d, states->len ? ")" : "");
        add(rows, "Devices", g_string_free(d, FALSE));
        add(rows, "Groups", g_strdup_printf("%u (%u rule%s)", objects->groups->len, objects->rules->len,
                                            objects->rules->len == 1 ? "" : "s"));
        add(rows, "Reboot required", reboot_text(manager));
        g_autofree char *text = ctl_details_format(rows);
        fputs(text, stdout);
        return CTL_EXIT_OK;
}
