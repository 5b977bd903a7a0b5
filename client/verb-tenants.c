/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl tenant-pass, tenants, tenant: devices held for tenants' nodes, as
 * groups the tenants own. */
#include <stdio.h>

#include "ctl.h"

int verb_tenant_pass(sd_bus *bus, int argc, char **argv, bool json) {
        static const struct option options[] = { CTL_ATTACH_OPTIONS, {} };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        CtlAttachSettings s = CTL_ATTACH_SETTINGS_INIT;
        const char *group, *path;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0)
                if (!ctl_attach_option(c, argv[0], optarg, &s))
                        return CTL_EXIT_USAGE;
        if (argc - optind != 2)
                return ctl_usage("tenant-pass takes TENANT and NODE");
        const char *tenant = argv[optind], *node = argv[optind + 1];
        if ((code = ctl_check_name("tenant", tenant)) != CTL_EXIT_OK)
                return code;
        if (!s.group)
                return ctl_usage("tenant-pass needs --group GROUP");

        if ((code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, s.group, &group)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "PassToTenant", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append(m, "ss", tenant, node)) < 0 ||
            (r = ctl_append_attach_settings(m, &s, group)) < 0)
                return ctl_fail("PassToTenant", NULL, r);
        if ((code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_read(reply, "o", &path)) < 0)
                return ctl_fail("PassToTenant", NULL, r);
        /* The tenant's new group, named by the daemon when --name is blank. */
        g_autofree char *name = s.name && s.name[0] ? g_strdup(s.name) : ctl_get_name(bus, path, CTL_KIND_GROUP);
        ctl_print_created(name ? name : "-", path, json);
        return CTL_EXIT_OK;
}

int verb_tenants(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        int code = CTL_EXIT_OK;

        /* tenant TENANT is tenants TENANT. */
        if (g_str_equal(argv[0], "tenant") && argc != 2)
                return ctl_usage("tenant takes one TENANT");
        if (argc > 2)
                return ctl_usage("tenants takes at most one TENANT");
        if (argc == 2 && (code = ctl_check_name("tenant", argv[1])) != CTL_EXIT_OK)
                return code;
        if (ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        g_autoptr(GPtrArray) groups = ctl_tenant_groups(objects->groups, argc == 2 ? argv[1] : NULL);
        g_autoptr(CtlTable) table = ctl_tenants_table(groups);
        return ctl_table_show(table);
}
