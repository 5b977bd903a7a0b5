/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of devpassctl about machines, their attachments and
 * tenants: names, lookups, rows. */
#include <string.h>

#include "ctl.h"

bool ctl_name_valid(const char *name) {
        size_t n = strlen(name);

        if (n < 1 || n > 64)
                return false;
        for (const char *p = name; *p; p++)
                if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
                        return false;
        return true;
}

static bool of_machine(const CtlObject *attachment, const char *machine) {
        return g_str_equal(ctl_props_str(attachment->props, "Machine"), machine);
}

GPtrArray *ctl_machine_attachments(const GPtrArray *attachments, const char *machine) {
        GPtrArray *mine = g_ptr_array_new();

        for (guint i = 0; i < attachments->len; i++)
                if (of_machine(attachments->pdata[i], machine))
                        g_ptr_array_add(mine, attachments->pdata[i]);
        return mine;
}

const CtlObject *ctl_attachment_lookup(const GPtrArray *attachments, const char *machine, const char *arg,
                                       guint *ret_count) {
        const CtlObject *found = NULL;
        guint count = 0;

        if (arg[0] == '/') {
                found = ctl_object_by_path(attachments, arg);
                *ret_count = found ? 1 : 0;
                return found;
        }
        /* Names are unique per machine only. */
        for (guint i = 0; i < attachments->len; i++) {
                const CtlObject *o = attachments->pdata[i];
                if (of_machine(o, machine) && g_str_equal(ctl_props_str(o->props, "Name"), arg)) {
                        found = found ? found : o;
                        count++;
                }
        }
        *ret_count = count;
        return found;
}

char *ctl_attachment_reasons_text(const GPtrArray *attachments) {
        GString *out = g_string_new(NULL);

        for (guint i = 0; i < attachments->len; i++) {
                const CtlProps *p = ((CtlObject *) attachments->pdata[i])->props;
                const char *reason = ctl_props_str(p, "StateReason");
                if (!reason[0])
                        continue;
                /* "Degraded: attachment 'gpu 1' of vm1: ...", as conflicts are told. */
                g_autofree char *state = ctl_text_or_dash(ctl_props_str(p, "State"));
                state[0] = g_ascii_toupper(state[0]);
                g_string_append_printf(out, "%s: attachment '%s' of %s: %s\n", state, ctl_props_str(p, "Name"),
                                       ctl_props_str(p, "Machine"), reason);
        }
        return g_string_free(out, FALSE);
}

static gint compare_tenant_groups(gconstpointer a, gconstpointer b) {
        const CtlProps *x = (*(CtlObject *const *) a)->props, *y = (*(CtlObject *const *) b)->props;
        static const char *const keys[] = { "Tenant", "TenantNode", "Name" };

        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                int c = g_utf8_collate(ctl_props_str(x, keys[i]), ctl_props_str(y, keys[i]));
                if (c)
                        return c;
        }
        return strcmp((*(CtlObject *const *) a)->path, (*(CtlObject *const *) b)->path);
}

GPtrArray *ctl_tenant_groups(const GPtrArray *groups, const char *tenant) {
        GPtrArray *tenants = g_ptr_array_new();

        for (guint i = 0; i < groups->len; i++) {
                const char *owner = ctl_props_str(((CtlObject *) groups->pdata[i])->props, "Tenant");
                if (owner[0] && (!tenant || g_str_equal(owner, tenant)))
                        g_ptr_array_add(tenants, groups->pdata[i]);
        }
        g_ptr_array_sort(tenants, compare_tenant_groups);
        return tenants;
}
