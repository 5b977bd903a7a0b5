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
};

static void help(void) {
        printf("devpassctl [OPTIONS] COMMAND ...\n\n"
               "Query devpassd, the PCI passthrough service.\n\n"
               "Commands:\n"
               "  status            The daemon, the node and its devices at a glance\n"
               "  devices           Every PCI function of the node, a row each\n"
               "  device ADDRESS    Every property of one function (e.g. 0000:17:00.0 or 17:00.0)\n"
               "  monitor           Print devices added (+), removed (-) and changed (~) until interrupted\n\n"
               "Options:\n"
               "  -j --json         Machine-readable output (JSON; monitor: one object per line)\n"
               "  -h --help         Show this help\n"
               "     --version      Show the version\n\n"
               "Exit status:\n"
               "  0 success, 1 other failure, 2 bad usage or malformed argument,\n"
               "  3 no such device, 4 devpassd not running, 5 not authorized\n");
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
                code = verbs[i].run(bus, (int) args->len - 1, verb_argv, json);
                sd_bus_flush_close_unref(bus);
                return code;
        }
        g_autofree char *shown = g_strescape(verb_argv[0], NULL);
        fprintf(stderr, "devpassctl: unknown command '%s'; see devpassctl --help\n", shown);
        return CTL_EXIT_USAGE;
}
