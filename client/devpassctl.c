/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl: the command-line client of devpassd. */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "build-config.h"
#include "ctl.h"

static const struct {
        const char *name;
        int (*run)(sd_bus *bus, int argc, char **argv, bool json);
} verbs[] = {
        { "status", verb_status },
        { "devices", verb_devices },
        { "device", verb_device },
        { "monitor", verb_monitor },
        { "groups", verb_groups },
        { "group", verb_group },
        { "create-group", verb_create_group },
        { "update-group", verb_update_group },
        { "delete-group", verb_delete_group },
        { "rules", verb_rules },
        { "create-rule", verb_create_rule },
        { "update-rule", verb_update_rule },
        { "delete-rule", verb_delete_rule },
        { "check", verb_check },
        { "passthrough", verb_passthrough },
        { "release", verb_release },
        { "sriov", verb_sriov },
        { "attachments", verb_attachments },
        { "attach", verb_attach },
        { "detach", verb_detach },
        { "update-attachment", verb_update_attachment },
        { "claim", verb_claim },
        { "unclaim", verb_unclaim },
        { "hostdev-xml", verb_hostdev_xml },
        { "tenant-pass", verb_tenant_pass },
        { "tenants", verb_tenants },
};

static void help(void) {
        printf("devpassctl [OPTIONS] COMMAND ...\n\n"
               "Query and configure devpassd, the PCI passthrough service.\n\n"
               "Devices:\n"
               "  status            The daemon, the node, its devices and pending reboot at a glance\n"
               "  devices           Every PCI function of the node, a row each\n"
               "  device ADDRESS    Every property of one function (e.g. 0000:17:00.0 or 17:00.0)\n"
               "  monitor           Print devices added (+), removed (-) and changed (~) until interrupted\n\n"
               "Groups:\n"
               "  groups            Every resource group, a row each\n"
               "  group GROUP       Every property of one group, its rules by name, its devices\n"
               "  create-group NAME [--type pci|sriov-nic] [--class CLASS] [--description TEXT]\n"
               "                    Create a group; prints its name and path\n"
               "  update-group GROUP [--name NAME] [--type TYPE] [--class CLASS] [--description TEXT]\n"
               "                    Change the settings given (--type only while it has no devices)\n"
               "  delete-group GROUP [--release]\n"
               "                    Delete a group and its rules; --release first gives its\n"
               "                    passed-through devices back to the host\n\n"
               "Rules:\n"
               "  rules [GROUP]     Every rule (of GROUP), its conditions, and conflicts between groups\n"
               "  create-rule GROUP --match FIELD OP VALUE [--match ...] [--name NAME] [--node NODE] [--disabled]\n"
               "                    Create a rule putting the devices that meet all its conditions\n"
               "                    in GROUP; prints its name and path\n"
               "  update-rule RULE [--match FIELD OP VALUE ...] [--name NAME] [--node NODE]\n"
               "                   [--enable|--disable] [--group GROUP]\n"
               "                    Change the settings given; --match replaces all conditions\n"
               "  delete-rule RULE  Delete a rule\n\n"
               "Passthrough:\n"
               "  check ADDRESS...  What the host would lose by passing the devices through\n"
               "  passthrough ADDRESS... (--group GROUP | --new-group NAME [--type TYPE] [--class CLASS]\n"
               "                    [--description TEXT]) [--force]\n"
               "                    Put the devices in a group, a rule each, and bind them to vfio-pci;\n"
               "                    --force passes them even when check has findings, but never a\n"
               "                    bridge or a PF whose VFs are in use. Prints the group's name and\n"
               "                    path, and \"Reboot required: ...\" when the node must be rebooted\n"
               "                    to finish\n"
               "  release ADDRESS...\n"
               "                    Give the devices back to their host drivers (their rules stay)\n"
               "  sriov ADDRESS COUNT\n"
               "                    Enable COUNT SR-IOV virtual functions on a physical function (0: none)\n\n"
               "Machines:\n"
               "  attachments [MACHINE]\n"
               "                    Every attachment (of MACHINE): the devices a machine gets at its start\n"
               "  attach MACHINE --group GROUP [--count N] [--name NAME] [--mac MAC] [--optional]\n"
               "                [--description TEXT] [--tenant TENANT]\n"
               "                    Give MACHINE N devices of GROUP (default 1) from its next claim on;\n"
               "                    --mac for an sriov-nic's one device (made up when not given),\n"
               "                    --optional: the machine starts without it when none is free,\n"
               "                    --tenant: a tenant's machine, drawing from its groups only.\n"
               "                    Prints the attachment's name and path\n"
               "  update-attachment MACHINE ATTACHMENT [--count N] [--name NAME] [--mac MAC]\n"
               "                    [--optional|--required] [--description TEXT] [--group GROUP]\n"
               "                    Change the settings given; a running machine gets them at its next start\n"
               "  detach MACHINE ATTACHMENT\n"
               "                    Delete one of the machine's attachments\n"
               "  claim MACHINE [--numa-node N] [--tenant-node NODE] [--qemu]\n"
               "                    As the machine starts: take free devices for all its attachments, or\n"
               "                    none (NUMA node N first; --tenant-node: where a tenant's machine runs);\n"
               "                    prints each device's address, IOMMU group, /dev/vfio node and MAC;\n"
               "                    Count is in units: a GPU with its audio function is one; --qemu:\n"
               "                    QEMU's -device arguments instead, one a line\n"
               "  unclaim MACHINE   As the machine stops: its devices are free again (Manager.Release;\n"
               "                    release ADDRESS... is another thing: devices back to the host)\n"
               "  hostdev-xml MACHINE [--guest-bus N]\n"
               "                    The libvirt <hostdev> and <interface type='hostdev'> elements of the\n"
               "                    devices the machine holds since its claim, a line each, for its domain\n"
               "                    XML (managed='no': devpassd binds vfio-pci); the functions of one unit\n"
               "                    (a GPU and its audio) share one guest slot on bus N (default 16), the\n"
               "                    next unit on bus N+1\n\n"
               "Tenants:\n"
               "  tenants           Every group held for a tenant's node, a row each\n"
               "  tenant-pass TENANT NODE --group GROUP [--count N] [--name NAME] [--mac MAC]\n"
               "              [--description TEXT]\n"
               "                    Hold N devices of GROUP (default 1) for the tenant's node NODE, in a new\n"
               "                    group the tenant owns; prints its name and path (delete-group gives\n"
               "                    them back)\n\n"
               "Arguments:\n"
               "  ADDRESS           A PCI function, dddd:bb:ss.f or bb:ss.f (domain 0000)\n"
               "  GROUP, RULE       A name, or an object path (/org/devpass1/groups/ID, /org/devpass1/rules/ID)\n"
               "  MACHINE, TENANT   A name: 1 to 64 of A-Z a-z 0-9 . _ -\n"
               "  ATTACHMENT        Its name among the machine's, or its path (/org/devpass1/attachments/ID)\n"
               "  NODE              The one node a rule applies to, \"\" (the default) for every node;\n"
               "                    the node of a tenant that devices are held for\n"
               "  --match FIELD OP VALUE\n"
               "                    One condition: three words, or one quoted word 'FIELD OP VALUE' whose\n"
               "                    VALUE is all after OP. Conditions print in this form, quoted for the\n"
               "                    shell, e.g. --match vendor eq 10de --match device-name contains 'RTX 4090'\n"
               "                    FIELD: address vendor device subsystem-vendor subsystem-device class\n"
               "                    driver vendor-name device-name physical-function numa-node iommu-group\n"
               "                    OP: eq ne lt le gt ge prefix suffix contains icontains regex\n"
               "                    (devpassd checks them; ids and classes are hex)\n\n"
               "Options:\n"
               "  -j --json         Machine-readable output (JSON; monitor: one object per line)\n"
               "  -h --help         Show this help\n"
               "     --version      Show the version\n\n"
               "Changes may ask a polkit agent for a password.\n\n"
               "Exit status:\n"
               "  0 success (a reboot still required included), 1 other failure,\n"
               "  2 bad usage or malformed argument, 3 no such device, group, rule or attachment,\n"
               "  4 devpassd not running, 5 not authorized,\n"
               "  6 unsafe: check has findings, or passthrough was refused (see --force)\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        bool json = false;
        int c;

        setlocale(LC_ALL, "");
        /* '+': options end at the verb, as in systemctl. */
        while ((c = getopt_long(argc, argv, "+jh", options, NULL)) >= 0) {
                switch (c) {
                case 'j': json = true; break;
                case 'h': help(); return CTL_EXIT_OK;
                case 'V': printf("devpassctl %s\n", PACKAGE_VERSION); return CTL_EXIT_OK;
                default: return CTL_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "devpassctl: a command is needed; see devpassctl --help\n");
                return CTL_EXIT_USAGE;
        }

        /* Options may also follow the verb ("devices --json"). */
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        for (int i = optind; i < argc; i++) {
                if (g_str_equal(argv[i], "--json") || g_str_equal(argv[i], "-j"))
                        json = true;
                else
                        g_ptr_array_add(args, argv[i]);
        }
        g_ptr_array_add(args, NULL);
        char **verb_argv = (char **) args->pdata;

        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                if (!g_str_equal(verbs[i].name, verb_argv[0]))
                        continue;
                sd_bus *bus = NULL;
                int code = ctl_bus_open(&bus);
                if (code != CTL_EXIT_OK)
                        return code;
                /* Each verb parses its own options from scratch, and reports
                 * bad ones itself (ctl_getopt). */
                optind = 0;
                opterr = 0;
                code = verbs[i].run(bus, (int) args->len - 1, verb_argv, json);
                sd_bus_flush_close_unref(bus);
                return code;
        }
        g_autofree char *shown = g_strescape(verb_argv[0], NULL);
        fprintf(stderr, "devpassctl: unknown command '%s'; see devpassctl --help\n", shown);
        return CTL_EXIT_USAGE;
}
