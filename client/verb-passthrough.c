/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl check, passthrough, give-back, sriov: the verbs that move
 * devices between the host and vfio-pci. */
#include <stdio.h>

#include "ctl.h"

/* A call of the Manager method member on the devices of addresses, ready
 * for more arguments; the addresses checked before anything is sent. */
static int device_call(sd_bus *bus, const char *verb, const char *member, char *const *addresses, int n,
                       sd_bus_message **ret) {
        g_autoptr(GPtrArray) paths = NULL;
        int r, code;

        if (n < 1)
                return ctl_usage("%s takes one or more ADDRESS", verb);
        if ((code = ctl_device_paths(addresses, n, &paths)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", member, ret)) != CTL_EXIT_OK)
                return code;
        if ((r = ctl_append_paths(*ret, paths)) < 0)
                return ctl_fail(member, NULL, r);
        return CTL_EXIT_OK;
}

static void print_reboot_json(int reboot) {
        printf("\"reboot_required\": %s}\n", reboot ? "true" : "false");
}

int verb_check(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        g_autoptr(GPtrArray) findings = NULL;
        int r, code;

        /* A read: no password to ask for. */
        if ((code = device_call(bus, argv[0], "CheckPassthrough", argv + 1, argc - 1, &m)) != CTL_EXIT_OK ||
            (code = ctl_call_timeout(bus, m, 0, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = ctl_read_tuples(reply, "ssss", &findings)) < 0)
                return ctl_fail("CheckPassthrough", NULL, r);

        g_autoptr(CtlTable) table = ctl_findings_table(findings);
        if (!json && !findings->len) {
                g_autofree char *list = g_strjoinv(" ", argv + 1);
                printf("Safe: passing %s through takes nothing from the host\n", list);
        } else if ((code = ctl_table_show(table)) != CTL_EXIT_OK)
                return code;
        return findings->len ? CTL_EXIT_UNSAFE : CTL_EXIT_OK;
}

int verb_passthrough(sd_bus *bus, int argc, char **argv, bool json) {
        enum { OPT_GROUP = CTL_OPT_PRIVATE, OPT_NEW_GROUP, OPT_FORCE };
        static const struct option options[] = {
                { "group", required_argument, NULL, OPT_GROUP },
                { "new-group", required_argument, NULL, OPT_NEW_GROUP },
                CTL_GROUP_OPTIONS,
                { "force", no_argument, NULL, OPT_FORCE },
                {}
        };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        CtlGroupSettings s = {};
        const char *group_arg = NULL, *group = NULL, *path;
        int c, r, code, force = -1, reboot;

        while ((c = ctl_getopt(argc, argv, options)) >= 0) {
                if (c == OPT_GROUP)
                        group_arg = optarg;
                else if (c == OPT_NEW_GROUP)
                        s.name = optarg;
                else if (c == OPT_FORCE)
                        force = 1;
                else if (!ctl_group_option(c, optarg, &s))
                        return CTL_EXIT_USAGE;
        }
        if (!group_arg == !s.name)
                return ctl_usage("passthrough needs either --group NAME|PATH or --new-group NAME");
        if (group_arg && ctl_group_settings_any(&s))
                return ctl_usage("passthrough: --type, --class and --description go with --new-group");

        char **addresses = argv + optind;
        if ((code = device_call(bus, argv[0], "MakePassthrough", addresses, argc - optind, &m)) != CTL_EXIT_OK ||
            (group_arg && (code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, group_arg, &group)) != CTL_EXIT_OK))
                return code;
        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_path(m, "Group", group)) < 0 ||
            (r = ctl_append_group_settings(m, &s)) < 0 ||
            (r = ctl_append_bool(m, "Force", force)) < 0 ||
            (r = sd_bus_message_close_container(m)) < 0)
                return ctl_fail("MakePassthrough", NULL, r);
        if ((code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_read(reply, "ob", &path, &reboot)) < 0)
                return ctl_fail("MakePassthrough", NULL, r);

        /* The group by name, as for create-group; a path asks for it. */
        g_autofree char *name = s.name ? g_strdup(s.name) :
                                group_arg[0] != '/' ? g_strdup(group_arg) : ctl_get_name(bus, path, CTL_KIND_GROUP);
        if (json) {
                g_autofree char *n = ctl_json_escape(name ? name : ""), *p = ctl_json_escape(path);
                printf("{\"name\": %s, \"path\": %s, ", n, p);
                print_reboot_json(reboot);
                return CTL_EXIT_OK;
        }
        ctl_print_created(name ? name : "-", path, false);
        if (reboot)
                ctl_print_reboot(bus, addresses);
        return CTL_EXIT_OK;
}

int verb_give_back(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        int r, code, reboot;

        if ((code = device_call(bus, argv[0], "RemovePassthrough", argv + 1, argc - 1, &m)) != CTL_EXIT_OK ||
            (code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_read(reply, "b", &reboot)) < 0)
                return ctl_fail("RemovePassthrough", NULL, r);
        if (json) {
                printf("{");
                print_reboot_json(reboot);
                return CTL_EXIT_OK;
        }
        printf("Given back to the host:");
        for (int i = 1; i < argc; i++) {
                g_autofree char *address = ctl_short_address(argv[i]);
                printf(" %s", address);
        }
        printf("\n");
        if (reboot)
                ctl_print_reboot(bus, argv + 1);
        return CTL_EXIT_OK;
}

int verb_sriov(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(GPtrArray) paths = NULL;
        g_autoptr(sd_bus_message) m = NULL;
        guint64 count;
        int r, code;

        if (argc != 3)
                return ctl_usage("sriov takes ADDRESS COUNT, e.g. devpassctl sriov 3b:00.0 4");
        if ((code = ctl_device_paths(argv + 1, 1, &paths)) != CTL_EXIT_OK)
                return code;
        if (!g_ascii_string_to_unsigned(argv[2], 10, 0, G_MAXUINT32, &count, NULL)) {
                g_autofree char *shown = g_strescape(argv[2], NULL);
                return ctl_usage("sriov: '%s' is not a count of virtual functions (0 disables them)", shown);
        }
        if ((code = ctl_new_call(bus, paths->pdata[0], "org.devpass1.Device", "SetVirtualFunctions", &m)) !=
            CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 'u', &(uint32_t) { (uint32_t) count })) < 0)
                return ctl_fail("SetVirtualFunctions", NULL, r);
        g_autofree char *address = ctl_short_address(paths->pdata[0]);
        return ctl_call_done(bus, m, "%s has %" G_GUINT64_FORMAT " virtual function%s", address, count,
                             count == 1 ? "" : "s");
}
