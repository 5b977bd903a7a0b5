/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl claim, unclaim, hostdev-xml: what a VM manager does as a
 * machine starts and stops. */
#include <stdio.h>

#include "ctl.h"

int verb_claim(sd_bus *bus, int argc, char **argv, bool json) {
        enum { OPT_NUMA_NODE = CTL_OPT_PRIVATE, OPT_TENANT_NODE, OPT_QEMU };
        static const struct option options[] = {
                { "numa-node", required_argument, NULL, OPT_NUMA_NODE },
                { "tenant-node", required_argument, NULL, OPT_TENANT_NODE },
                { "qemu", no_argument, NULL, OPT_QEMU },
                {}
        };
        CtlClaimOptions claim = CTL_CLAIM_OPTIONS_INIT;
        g_autoptr(GPtrArray) claims = NULL;
        bool qemu = false;
        int c, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0) {
                if (c == OPT_NUMA_NODE) {
                        if ((code = ctl_parse_int(argv[0], "--numa-node", optarg, 0, G_MAXINT32, &claim.numa_node)) !=
                            CTL_EXIT_OK)
                                return code;
                } else if (c == OPT_TENANT_NODE)
                        claim.tenant_node = optarg;
                else if (c == OPT_QEMU)
                        qemu = true;
                else
                        return CTL_EXIT_USAGE;
        }
        if (argc - optind != 1)
                return ctl_usage("claim takes one MACHINE");
        if (qemu && json)
                return ctl_usage("claim: --qemu and --json exclude each other");
        const char *machine = argv[optind];
        if ((code = ctl_check_name("machine", machine)) != CTL_EXIT_OK ||
            (code = ctl_claim(bus, machine, &claim, &claims)) != CTL_EXIT_OK)
                return code;

        if (qemu) {
                g_autofree char *args = NULL, *error = NULL;
                if (!ctl_claim_qemu(claims, CTL_GUEST_BUS_DEFAULT, &args, &error)) {
                        fprintf(stderr, "devpassctl: %s: %s\n", machine, error);
                        return CTL_EXIT_FAILURE;
                }
                /* As hostdev-xml: a wrapper must not start QEMU without devices. */
                if (!*args) {
                        fprintf(stderr, "devpassctl: machine '%s' got no devices: it has no attachments, or only "
                                "Optional ones that could not be met (devpassctl attachments)\n", machine);
                        return CTL_EXIT_NOT_FOUND;
                }
                fputs(args, stdout);
                return CTL_EXIT_OK;
        }
        if (json) {
                g_autofree char *text = ctl_claim_to_json(claims);
                printf("%s\n", text);
                return CTL_EXIT_OK;
        }
        g_autoptr(GPtrArray) rows = ctl_claim_rows(claims);
        ctl_print_table(rows, 0);
        return CTL_EXIT_OK;
}

int verb_unclaim(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(sd_bus_message) m = NULL;
        int r, code;

        if (argc != 2)
                return ctl_usage("unclaim takes one MACHINE");
        if ((code = ctl_check_name("machine", argv[1])) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "Release", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 's', argv[1])) < 0)
                return ctl_fail("Release", NULL, r);
        return ctl_call(bus, m, NULL);
}

int verb_hostdev_xml(sd_bus *bus, int argc, char **argv, bool json) {
        enum { OPT_GUEST_BUS = CTL_OPT_PRIVATE };
        static const struct option options[] = {
                { "guest-bus", required_argument, NULL, OPT_GUEST_BUS },
                {}
        };
        g_autoptr(CtlObjects) objects = NULL;
        g_autofree char *xml = NULL, *error = NULL;
        int64_t guest_bus = CTL_GUEST_BUS_DEFAULT;
        int c, code = CTL_EXIT_OK;

        while ((c = ctl_getopt(argc, argv, options)) >= 0) {
                if (c != OPT_GUEST_BUS)
                        return CTL_EXIT_USAGE;
                if ((code = ctl_parse_int(argv[0], "--guest-bus", optarg, 1, 0xff, &guest_bus)) != CTL_EXIT_OK)
                        return code;
        }
        if (argc - optind != 1)
                return ctl_usage("hostdev-xml takes one MACHINE");
        const char *machine = argv[optind];
        if ((code = ctl_check_name("machine", machine)) != CTL_EXIT_OK)
                return code;
        if (ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        /* What the attachments hold now, not a new claim: reading needs no
         * authorization. Nothing held fails, so that a script does not
         * start the machine without its devices. */
        g_autoptr(GPtrArray) attachments = ctl_machine_attachments(objects->attachments, machine);
        if (!ctl_hostdev_xml(attachments, objects->devices, (unsigned) guest_bus, &xml, &error)) {
                fprintf(stderr, "devpassctl: %s: %s\n", machine, error);
                return CTL_EXIT_FAILURE;
        }
        if (!*xml) {   /* the name is checked: printable */
                fprintf(stderr, "devpassctl: machine '%s' holds no devices: %s\n", machine,
                        attachments->len ? "claim them first (devpassctl claim)"
                                         : "it has no attachments (devpassctl attach), then claim them");
                return CTL_EXIT_NOT_FOUND;
        }
        fputs(xml, stdout);
        return CTL_EXIT_OK;
}
