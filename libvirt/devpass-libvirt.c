/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpass-libvirt: libvirt domains started and stopped with the devices
 * devpass claims for them. */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "build-config.h"
#include "ctl.h"
#include "domains.h"


static void help(void) {
        printf("devpass-libvirt [--connect URI] COMMAND ...\n\n"
               "Start and stop libvirt domains with the devices devpass claims for them:\n"
               "the domain's name is its machine's in devpass (devpassctl attach NAME ...).\n\n"
               "  start DOMAIN      Claim the domain's devices, put them in its definition in\n"
               "                    place of those devpass put there before (the domain's own\n"
               "                    host devices stay), define it and start it; on a failure\n"
               "                    the claim is released and the definition stays as it was\n"
               "  stop DOMAIN [--force] [--timeout SECONDS]\n"
               "                    Shut the domain down (--force: destroy it), wait for it\n"
               "                    (120 s), release its devices\n"
               "  sync              Release the devices of every domain libvirt has shut off\n\n"
               "Options:\n"
               "  -c, --connect URI  libvirt's URI (default: libvirt's own, qemu:///system as root)\n"
               "  -h, --help         This text\n"
               "      --version      devpass's version\n\n"
               "Exit codes: 0 done, 1 failed, 2 bad command line, 3 no such domain,\n"
               "4 devpassd not running, 5 not authorized.\n");
}

static int usage(const char *message) {
        fprintf(stderr, "devpass-libvirt: %s; see devpass-libvirt --help\n", message);
        return CTL_EXIT_USAGE;
}

int main(int argc, char **argv) {
        enum { OPT_VERSION = 0x100, OPT_FORCE, OPT_TIMEOUT };
        static const struct option options[] = {
                { "connect", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { "force", no_argument, NULL, OPT_FORCE },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                {}
        };
        const char *uri = NULL;
        bool force = false;
        guint64 timeout = 120;
        int c;

        setlocale(LC_ALL, "");
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        uri = optarg;
                        break;
                case 'h':
                        help();
                        return CTL_EXIT_OK;
                case OPT_VERSION:
                        printf("devpass-libvirt %s\n", PACKAGE_VERSION);
                        return CTL_EXIT_OK;
                case OPT_FORCE:
                        force = true;
                        break;
                case OPT_TIMEOUT:
                        if (!g_ascii_string_to_unsigned(optarg, 10, 1, 24 * 3600, &timeout, NULL))
                                return usage("--timeout takes 1 to 86400 seconds");
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        }
        const char *verb = optind < argc ? argv[optind] : NULL;
        int n_args = argc - optind - 1;
        if (!verb)
                return usage("no command");
        if (g_str_equal(verb, "sync") ? n_args != 0 : n_args != 1)
                return usage(g_str_equal(verb, "sync") ? "sync takes no DOMAIN" : "start and stop take one DOMAIN");
        if (!g_str_equal(verb, "start") && !g_str_equal(verb, "stop") && !g_str_equal(verb, "sync"))
                return usage("unknown command");
        if ((force || timeout != 120) && !g_str_equal(verb, "stop"))
                return usage("--force and --timeout are stop's");

        g_autoptr(sd_bus) bus = NULL;
        int code = ctl_bus_open(&bus);
        if (code != CTL_EXIT_OK)
                return code;
        dpl_quiet_libvirt();
        g_autoptr(virConnect) conn = virConnectOpen(uri);
        if (!conn) {
                fprintf(stderr, "devpass-libvirt: cannot connect to libvirt%s%s: %s\n", uri ? " at " : "", uri ?: "",
                        virGetLastErrorMessage());
                return CTL_EXIT_NOT_RUNNING;
        }
        if (g_str_equal(verb, "start"))
                return dpl_start(conn, bus, argv[optind + 1]);
        if (g_str_equal(verb, "stop"))
                return dpl_stop(conn, bus, argv[optind + 1], force, (unsigned) timeout);
        return dpl_sync(conn, bus);
}
