/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl claim, release-machine, hostdev-xml: what a VM manager does as a
 * machine starts and stops. */
#include <stdio.h>

#include "ctl.h"

/* One attachment's devices: a(siss). */
static int read_claim_devices(sd_bus_message *m, GPtrArray *devices) {
        const char *address, *vfio, *mac;
        int32_t group;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "(siss)")) < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(siss)", &address, &group, &vfio, &mac)) > 0) {
                CtlClaimDevice *d = g_new0(CtlClaimDevice, 1);
                d->address = g_strdup(address);
                d->iommu_group = group;
                d->vfio = g_strdup(vfio);
                d->mac = g_strdup(mac);
                g_ptr_array_add(devices, d);
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Claim's reply: a(osa(siss)). */
static int read_claims(sd_bus_message *m, GPtrArray **ret) {
        g_autoptr(GPtrArray) claims = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        const char *path, *name;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "(osa(siss))")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "osa(siss)")) > 0) {
                CtlClaim *c = g_new0(CtlClaim, 1);
                c->devices = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_device_free);
                g_ptr_array_add(claims, c);
                if ((r = sd_bus_message_read(m, "os", &path, &name)) < 0)
                        return r;
                c->path = g_strdup(path);
                c->name = g_strdup(name);
                if ((r = read_claim_devices(m, c->devices)) < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        *ret = g_steal_pointer(&claims);
        return 0;
}

int verb_claim(sd_bus *bus, int argc, char **argv, bool json) {
        enum { OPT_NUMA_NODE = CTL_OPT_PRIVATE, OPT_TENANT_NODE, OPT_QEMU };
        static const struct option options[] = {
                { "numa-node", required_argument, NULL, OPT_NUMA_NODE },
                { "tenant-node", required_argument, NULL, OPT_TENANT_NODE },
                { "qemu", no_argument, NULL, OPT_QEMU },
                {}
        };
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        g_autoptr(GPtrArray) claims = NULL;
        const char *tenant_node = NULL;
        int64_t numa_node = -1;
        bool qemu = false;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0) {
                if (c == OPT_NUMA_NODE) {
                        if ((code = ctl_parse_int(argv[0], "--numa-node", optarg, 0, G_MAXINT32, &numa_node)) !=
                            CTL_EXIT_OK)
                                return code;
                } else if (c == OPT_TENANT_NODE)
                        tenant_node = optarg;
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
        /* A bad --output is said before anything is claimed. */
        g_autoptr(GPtrArray) none = g_ptr_array_new();
        g_autoptr(CtlTable) empty = ctl_claims_table(none);
        if ((code = ctl_check_name("machine", machine)) != CTL_EXIT_OK ||
            (code = ctl_table_setup(empty)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "Claim", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 's', machine)) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_int32(m, "NumaNode", numa_node)) < 0 ||
            (r = ctl_append_string(m, "TenantNode", tenant_node)) < 0 ||
            (r = sd_bus_message_close_container(m)) < 0)
                return ctl_fail("Claim", NULL, r);
        if ((code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = read_claims(reply, &claims)) < 0)
                return ctl_fail("Claim", NULL, r);

        if (qemu) {
                g_autofree char *args = NULL, *error = NULL;
                if (!ctl_claim_qemu(claims, CTL_GUEST_BUS_DEFAULT, &args, &error)) {
                        g_autofree char *shown = ctl_escape(error);
                        fprintf(stderr, "devpassctl: %s: %s\n", machine, shown);
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
        g_autoptr(CtlTable) table = ctl_claims_table(claims);
        return ctl_table_show(table);
}

int verb_release_machine(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(sd_bus_message) m = NULL;
        int r, code;

        if (argc != 2)
                return ctl_usage("%s takes one MACHINE", argv[0]);
        if ((code = ctl_check_name("machine", argv[1])) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "Release", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 's', argv[1])) < 0)
                return ctl_fail("Release", NULL, r);
        return ctl_call_done(bus, m, "Machine '%s' released: the devices it held are free", argv[1]);
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
                g_autofree char *shown = ctl_escape(error);
                fprintf(stderr, "devpassctl: %s: %s\n", machine, shown);
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
