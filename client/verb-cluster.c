/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl nodes, cluster join. */
#include "ctl.h"

int verb_nodes(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        int code = CTL_EXIT_OK;

        if (argc > 1)
                return ctl_usage("nodes takes no arguments");
        if (ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        g_autoptr(CtlTable) table = ctl_nodes_table(objects->nodes);
        return ctl_table_show(table);
}

static int cluster_join(sd_bus *bus) {
        g_autoptr(sd_bus_message) m = NULL;
        int r, code;

        if ((code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "JoinCluster", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 || (r = sd_bus_message_close_container(m)) < 0)
                return ctl_fail("JoinCluster", NULL, r);
        return ctl_call_done(bus, m, "This node is a member of the cluster; its groups, rules and attachments "
                                     "have the cluster's paths ('devpassctl nodes' lists the members)");
}

int verb_cluster(sd_bus *bus, int argc, char **argv, bool json) {
        if (argc != 2 || !g_str_equal(argv[1], "join"))
                return ctl_usage("cluster takes one command: join");
        return cluster_join(bus);
}
