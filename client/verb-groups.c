/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl groups, group, create-group, update-group, delete-group. */
#include <stdio.h>

#include "ctl.h"

int verb_groups(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        int code = CTL_EXIT_OK;

        if (argc > 1)
                return ctl_usage("groups takes no arguments");
        if (ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        g_autoptr(CtlTable) table = ctl_groups_table(objects->groups, objects);
        return ctl_table_show(table);
}

int verb_group(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        const CtlObject *group;
        int code;

        if (argc != 2)
                return ctl_usage("group takes one NAME or PATH");
        /* All objects at once: the group, and the names of its rules. */
        if ((code = ctl_resolve_object(bus, &objects, CTL_KIND_GROUP, argv[1], &group)) != CTL_EXIT_OK)
                return code;
        return ctl_print_one(group, objects, ctl_groups_table);
}

int verb_create_group(sd_bus *bus, int argc, char **argv, bool json) {
        static const struct option options[] = { CTL_GROUP_OPTIONS, {} };
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        CtlGroupSettings s = {};
        const char *path;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0)
                if (!ctl_group_option(c, optarg, &s))
                        return CTL_EXIT_USAGE;
        if (argc - optind != 1)
                return ctl_usage("create-group takes one NAME");
        s.name = argv[optind];

        if ((code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "CreateGroup", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_group_settings(m, &s)) < 0 ||
            (r = sd_bus_message_close_container(m)) < 0)
                return ctl_fail("CreateGroup", NULL, r);
        if ((code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_read(reply, "o", &path)) < 0)
                return ctl_fail("CreateGroup", NULL, r);
        ctl_print_created(s.name, path, json);
        return CTL_EXIT_OK;
}

int verb_update_group(sd_bus *bus, int argc, char **argv, bool json) {
        static const struct option options[] = {
                { "name", required_argument, NULL, CTL_OPT_NAME },
                CTL_GROUP_OPTIONS,
                {}
        };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL;
        CtlGroupSettings s = {};
        const char *path;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0)
                if (!ctl_group_option(c, optarg, &s))
                        return CTL_EXIT_USAGE;
        if (argc - optind != 1)
                return ctl_usage("update-group takes one NAME or PATH");
        if (!ctl_group_settings_any(&s))
                return ctl_usage("update-group needs --name, --type, --class or --description");

        if ((code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, argv[optind], &path)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, path, "org.devpass1.Group", "Update", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_group_settings(m, &s)) < 0 ||
            (r = sd_bus_message_close_container(m)) < 0)
                return ctl_fail("Update", NULL, r);
        g_autofree char *label = s.name ? g_strdup(s.name) : ctl_label(bus, CTL_KIND_GROUP, argv[optind]);
        return ctl_call_done(bus, m, "Group '%s' updated", label);
}

int verb_delete_group(sd_bus *bus, int argc, char **argv, bool json) {
        enum { OPT_RELEASE = CTL_OPT_PRIVATE };
        static const struct option options[] = {
                { "release", no_argument, NULL, OPT_RELEASE },
                {}
        };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL;
        const char *path;
        int c, r, code, release = -1;

        while ((c = ctl_getopt(argc, argv, options)) >= 0) {
                if (c != OPT_RELEASE)
                        return CTL_EXIT_USAGE;
                release = 1;
        }
        if (argc - optind != 1)
                return ctl_usage("delete-group takes one NAME or PATH");

        if ((code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, argv[optind], &path)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, path, "org.devpass1.Group", "Delete", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_bool(m, "Release", release)) < 0 ||
            (r = sd_bus_message_close_container(m)) < 0)
                return ctl_fail("Delete", NULL, r);
        g_autofree char *label = ctl_label(bus, CTL_KIND_GROUP, argv[optind]);
        return ctl_call_done(bus, m, "Group '%s' deleted, with its rules%s", label,
                             release > 0 ? "; its devices went back to the host" : "");
}
