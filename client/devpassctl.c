/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl: the command-line client of devpassd. */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "build-config.h"
#include "ctl.h"

typedef int (*VerbRun)(sd_bus *bus, int argc, char **argv, bool json);

/* A verb, its help (usage lines, then what it does), and the section
 * --help lists it under; an alias names the verb it stands for. */
static const struct {
        const char *name;
        VerbRun run;
        const char *section;
        const char *help;
        const char *alias_of;
} verbs[] = {
        { "status", verb_status, "Devices",
          "status\n"
          "The daemon, the node, its devices and pending reboot at a glance" },
        { "devices", verb_devices, NULL,
          "devices [--class CLASS] [--group GROUP] [--state STATE] [--numa N]\n"
          "Every PCI function of the node, a row each; or those whose class name\n"
          "contains CLASS (any case) or whose class code begins with it in hex (03),\n"
          "of GROUP, in STATE (host, passthrough, ...), on NUMA node N" },
        { "device", verb_device, NULL,
          "device ADDRESS\n"
          "Every property of one function (e.g. 0000:17:00.0 or 17:00.0)" },
        { "monitor", verb_monitor, NULL,
          "monitor\n"
          "Print devices added (+), removed (-) and changed (~) until interrupted" },
        { "groups", verb_groups, "Groups",
          "groups\n"
          "Every resource group, a row each" },
        { "group", verb_group, NULL,
          "group GROUP\n"
          "Every property of one group, its rules by name, its devices" },
        { "create-group", verb_create_group, NULL,
          "create-group NAME [--type pci|sriov-nic] [--class CLASS] [--description TEXT]\n"
          "Create a group; prints its name and path" },
        { "update-group", verb_update_group, NULL,
          "update-group GROUP [--name NAME] [--type TYPE] [--class CLASS] [--description TEXT]\n"
          "Change the settings given (--type only while it has no devices)" },
        { "delete-group", verb_delete_group, NULL,
          "delete-group GROUP [--release]\n"
          "Delete a group and its rules; --release first gives its passed-through\n"
          "devices back to the host" },
        { "rules", verb_rules, "Rules",
          "rules [GROUP]\n"
          "Every rule (of GROUP), its conditions, and conflicts between groups" },
        { "rule", verb_rule, NULL,
          "rule RULE\n"
          "Every property of one rule" },
        { "create-rule", verb_create_rule, NULL,
          "create-rule GROUP --match FIELD OP VALUE [--match ...] [--name NAME] [--node NODE] [--disabled]\n"
          "Create a rule putting the devices that meet all its conditions in GROUP;\n"
          "prints its name and path" },
        { "update-rule", verb_update_rule, NULL,
          "update-rule RULE [--match FIELD OP VALUE ...] [--name NAME] [--node NODE]\n"
          "            [--enable|--disable] [--group GROUP]\n"
          "Change the settings given; --match replaces all conditions" },
        { "delete-rule", verb_delete_rule, NULL,
          "delete-rule RULE\n"
          "Delete a rule" },
        { "check", verb_check, "Passthrough",
          "check ADDRESS...\n"
          "What the host would lose by passing the devices through" },
        { "passthrough", verb_passthrough, NULL,
          "passthrough ADDRESS... (--group GROUP | --new-group NAME [--type TYPE] [--class CLASS]\n"
          "            [--description TEXT]) [--force]\n"
          "Put the devices in a group, a rule each, and bind them to vfio-pci; --force\n"
          "passes them even when check has findings, but never a bridge or a PF whose\n"
          "VFs are in use. Prints the group's name and path, and \"Reboot required: ...\"\n"
          "when the node must be rebooted to finish" },
        { "give-back", verb_give_back, NULL,
          "give-back ADDRESS...\n"
          "Give the devices back to their host drivers (their rules stay);\n"
          "\"release\" is its old name" },
        { "release", verb_give_back, NULL, NULL, "give-back" },
        { "sriov", verb_sriov, NULL,
          "sriov ADDRESS COUNT\n"
          "Enable COUNT SR-IOV virtual functions on a physical function (0: none)" },
        { "attachments", verb_attachments, "Machines",
          "attachments [MACHINE]\n"
          "Every attachment (of MACHINE): the devices a machine gets at its start" },
        { "attachment", verb_attachment, NULL,
          "attachment MACHINE ATTACHMENT\n"
          "Every property of one of the machine's attachments" },
        { "attach", verb_attach, NULL,
          "attach MACHINE --group GROUP [--count N] [--name NAME] [--mac MAC] [--optional]\n"
          "       [--description TEXT] [--tenant TENANT]\n"
          "Give MACHINE N devices of GROUP (default 1) from its next claim on; --mac for\n"
          "an sriov-nic's one device (made up when not given), --optional: the machine\n"
          "starts without it when none is free, --tenant: a tenant's machine, drawing\n"
          "from its groups only. Prints the attachment's name and path" },
        { "update-attachment", verb_update_attachment, NULL,
          "update-attachment MACHINE ATTACHMENT [--count N] [--name NAME] [--mac MAC]\n"
          "                  [--optional|--required] [--description TEXT] [--group GROUP]\n"
          "Change the settings given; a running machine gets them at its next start" },
        { "detach", verb_detach, NULL,
          "detach MACHINE ATTACHMENT\n"
          "Delete one of the machine's attachments" },
        { "claim", verb_claim, NULL,
          "claim MACHINE [--numa-node N] [--tenant-node NODE] [--qemu]\n"
          "As the machine starts: take free devices for all its attachments, or none\n"
          "(NUMA node N first; --tenant-node: where a tenant's machine runs); prints\n"
          "each device's address, IOMMU group, /dev/vfio node and MAC. Count is in\n"
          "units: a GPU with its audio function is one. --qemu: QEMU's -device\n"
          "arguments instead, one a line" },
        { "release-machine", verb_release_machine, NULL,
          "release-machine MACHINE\n"
          "As the machine stops: the devices it holds are free again (give-back is\n"
          "another thing: devices back to the host); \"unclaim\" is its old name" },
        { "unclaim", verb_release_machine, NULL, NULL, "release-machine" },
        { "hostdev-xml", verb_hostdev_xml, NULL,
          "hostdev-xml MACHINE [--guest-bus N]\n"
          "The libvirt <hostdev> and <interface type='hostdev'> elements of the devices\n"
          "the machine holds since its claim, a line each, for its domain XML\n"
          "(managed='no': devpassd binds vfio-pci); the functions of one unit (a GPU\n"
          "and its audio) share one guest slot on bus N (default 16), the next unit\n"
          "on bus N+1" },
        { "tenants", verb_tenants, "Tenants",
          "tenants [TENANT]\n"
          "Every group held for a tenant's node (of TENANT), a row each" },
        { "tenant", verb_tenants, NULL,
          "tenant TENANT\n"
          "The groups held for TENANT's nodes" },
        { "tenant-pass", verb_tenant_pass, NULL,
          "tenant-pass TENANT NODE --group GROUP [--count N] [--name NAME] [--mac MAC]\n"
          "            [--description TEXT]\n"
          "Hold N devices of GROUP (default 1) for the tenant's node NODE, in a new group\n"
          "the tenant owns; prints its name and path (delete-group gives them back)" },
        { "nodes", verb_nodes, "Cluster",
          "nodes\n"
          "The members of the cluster: state, devices, units, reboot required" },
        { "cluster", verb_cluster, NULL,
          "cluster join\n"
          "Move this node's own groups, rules, attachments, MACs and claims into its\n"
          "cluster ([Cluster] in devpassd.conf) and make it a member: refused, naming\n"
          "each, when a name or MAC is taken there or a machine is claimed on another\n"
          "node. The objects get the cluster's ids: their paths change once" },
        { "help", NULL, "Help",
          "help [COMMAND]\n"
          "This help, or the help of one command (as COMMAND --help)" },
};

static const char help_arguments[] =
        "Arguments:\n"
        "  ADDRESS           A PCI function, dddd:bb:ss.f or bb:ss.f (domain 0000)\n"
        "  GROUP, RULE       A name, or an object path (/org/devpass1/groups/ID, /org/devpass1/rules/ID)\n"
        "  MACHINE           Its name as its VM manager has it: 1-255 bytes of UTF-8 without\n"
        "                    control characters (quote one with spaces)\n"
        "  TENANT            A name: 1 to 64 of A-Z a-z 0-9 . _ -\n"
        "  ATTACHMENT        Its name among the machine's, or its path (/org/devpass1/attachments/ID)\n"
        "  NODE              The one node a rule applies to, \"\" (the default) for every node;\n"
        "                    the node of a tenant that devices are held for\n"
        "  --match FIELD OP VALUE\n"
        "                    One condition: three words, or one quoted word 'FIELD OP VALUE' whose\n"
        "                    VALUE is all after OP. Conditions print in this form, quoted for the\n"
        "                    shell, e.g. --match vendor eq 10de --match device-name contains 'RTX 4090'\n"
        "                    FIELD: address vendor device subsystem-vendor subsystem-device class\n"
        "                    driver vendor-name device-name physical-function numa-node iommu-group\n"
        "                    OP: eq ne lt le gt ge prefix suffix contains icontains regex in\n"
        "                    (in: addresses separated by commas, for address and physical-function)\n"
        "                    (devpassd checks them; ids and classes are hex)\n\n";

static const char help_options[] =
        "Options (before or after the command):\n"
        "  -j --json         JSON: {\"devices\": [{...}]} for a list, the object for one;\n"
        "                    lower-case keys, null for none (monitor: an object a line)\n"
        "  -o --output COLS  The columns to show, e.g. address,driver,state (--json too);\n"
        "                    an unknown one lists those there are\n"
        "     --no-headings  Tables without their headings\n"
        "     --raw          Tables with one space between cells, never cut\n"
        "     --no-pager     Never pipe output into a pager ($DEVPASS_PAGER, $PAGER, less)\n"
        "     --no-ask-password\n"
        "                    Never start a text polkit agent to ask for a password\n"
        "  -h --help         Show this help (COMMAND --help: that command's)\n"
        "     --version      Show the version\n\n";

static const char help_exit[] =
        "Exit status:\n"
        "  0 success (a reboot still required included), 1 other failure,\n"
        "  2 bad usage or malformed argument, 3 no such device, group, rule or attachment,\n"
        "  4 devpassd not running or not answering, 5 not authorized,\n"
        "  6 unsafe: check has findings, or passthrough was refused (see --force)\n";

/* One verb's help: its usage (the first line, and those that go on with
 * a space), then its description, indented under it. */
static void help_verb(GString *out, const char *text) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        bool usage = true;

        for (size_t i = 0; lines[i]; i++) {
                /* A short usage alone has its description beside it. */
                if (i == 0 && lines[1] && lines[1][0] != ' ' && strlen(lines[0]) < 16) {
                        g_string_append_printf(out, "  %-16s  %s\n", lines[0], lines[1]);
                        i++;
                        usage = false;
                        continue;
                }
                usage = usage && (i == 0 || lines[i][0] == ' ');
                g_string_append_printf(out, usage ? "  %s\n" : "                    %s\n", lines[i]);
        }
}

static int help(const char *verb) {
        g_autoptr(GString) out = g_string_new(NULL);

        if (verb) {
                for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                        if (!g_str_equal(verbs[i].name, verb))
                                continue;
                        const char *name = verbs[i].alias_of ? verbs[i].alias_of : verb;
                        for (size_t j = 0; j < G_N_ELEMENTS(verbs); j++)
                                if (g_str_equal(verbs[j].name, name) && verbs[j].help)
                                        help_verb(out, verbs[j].help);
                        g_string_append_printf(out, "\n%s%s", help_options, help_exit);
                        ctl_pager_open();
                        fputs(out->str, stdout);
                        return CTL_EXIT_OK;
                }
                g_autofree char *shown = ctl_escape(verb);
                return ctl_usage("help: no command '%s'", shown);
        }
        g_string_append(out, "devpassctl [OPTIONS] COMMAND ...\n\n"
                             "Query and configure devpassd, the PCI passthrough service.\n");
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                if (verbs[i].section)
                        g_string_append_printf(out, "\n%s:\n", verbs[i].section);
                if (verbs[i].help)
                        help_verb(out, verbs[i].help);
        }
        g_string_append_printf(out, "\n%s%s", help_arguments, help_options);
        g_string_append(out, "A change asks polkit; on a terminal, a text agent asks for a password.\n\n");
        g_string_append(out, help_exit);
        ctl_pager_open();
        fputs(out->str, stdout);
        return CTL_EXIT_OK;
}

/* The options every command takes, wherever they are on the line: taken
 * out of args. False after reporting a bad one. */
static bool take_common_options(GPtrArray *args, bool *ret_help) {
        for (guint i = 1; i < args->len; i++) {
                const char *a = args->pdata[i];
                bool take_next = false;
                if (g_str_equal(a, "--"))
                        break;
                if (g_str_equal(a, "--json") || g_str_equal(a, "-j"))
                        ctl_args.json = true;
                else if (g_str_equal(a, "--no-headings"))
                        ctl_args.no_headings = true;
                else if (g_str_equal(a, "--raw"))
                        ctl_args.raw = true;
                else if (g_str_equal(a, "--no-pager"))
                        ctl_args.no_pager = true;
                else if (g_str_equal(a, "--no-ask-password"))
                        ctl_args.no_ask_password = true;
                else if (g_str_equal(a, "--help") || g_str_equal(a, "-h"))
                        *ret_help = true;
                else if (g_str_has_prefix(a, "--output="))
                        ctl_args.output = a + strlen("--output=");
                else if (g_str_equal(a, "--output") || g_str_equal(a, "-o")) {
                        if (i + 1 >= args->len) {
                                ctl_usage("%s needs a list of columns, e.g. --output address,driver", a);
                                return false;
                        }
                        ctl_args.output = args->pdata[i + 1];
                        take_next = true;
                } else
                        continue;
                g_ptr_array_remove_range(args, i, take_next ? 2 : 1);
                i--;
        }
        return true;
}

static int run(int argc, char *argv[]) {
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        bool want_help = false;

        for (int i = 0; i < argc; i++)
                g_ptr_array_add(args, argv[i]);
        if (argc == 2 && g_str_equal(argv[1], "--version")) {
                printf("devpassctl %s\n", PACKAGE_VERSION);
                return CTL_EXIT_OK;
        }
        if (!take_common_options(args, &want_help))
                return CTL_EXIT_USAGE;
        if (args->len > 1 && ((const char *) args->pdata[1])[0] == '-') {
                g_autofree char *shown = ctl_escape(args->pdata[1]);
                return ctl_usage("unknown option '%s'", shown);
        }
        if (args->len < 2) {
                if (want_help)
                        return help(NULL);
                fprintf(stderr, "devpassctl: a command is needed; see devpassctl --help\n");
                return CTL_EXIT_USAGE;
        }
        g_ptr_array_remove_index(args, 0);
        g_ptr_array_add(args, NULL);
        char **verb_argv = (char **) args->pdata;
        int verb_argc = (int) args->len - 1;

        if (g_str_equal(verb_argv[0], "help")) {
                if (verb_argc > 2)
                        return ctl_usage("help takes at most one COMMAND");
                return help(verb_argc == 2 ? verb_argv[1] : NULL);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                if (!g_str_equal(verbs[i].name, verb_argv[0]))
                        continue;
                if (want_help)
                        return help(verb_argv[0]);
                sd_bus *bus = NULL;
                int code = ctl_bus_open(&bus);
                if (code != CTL_EXIT_OK)
                        return code;
                /* Each verb parses its own options from scratch, and reports
                 * bad ones itself (ctl_getopt). */
                optind = 0;
                opterr = 0;
                ctl_tables_want(ctl_args.json, ctl_args.output);
                code = verbs[i].run(bus, verb_argc, verb_argv, ctl_args.json);
                sd_bus_flush_close_unref(bus);
                return code;
        }
        g_autofree char *shown = ctl_escape(verb_argv[0]);
        fprintf(stderr, "devpassctl: unknown command '%s'; see devpassctl --help\n", shown);
        return CTL_EXIT_USAGE;
}

int main(int argc, char *argv[]) {
        setlocale(LC_ALL, "");
        int code = run(argc, argv);
        /* The agent is done; the pager has the last of stdout to show. */
        ctl_agent_close();
        ctl_pager_close();
        return code;
}
