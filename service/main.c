/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd: the devpass system service. All of it lives in libdevpassd. */

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "build-config.h"
#include "daemon.h"
#include "log.h"

int main(int argc, char *argv[]) {
        g_auto(Config) config = {};
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(Daemon) daemon = NULL;
        gboolean version = FALSE;
        const GOptionEntry options[] = {
                { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config.config_path,
                  "Configuration file (default " DEVPASS_CONFIG_PATH ")", "FILE" },
                { "node", 'n', 0, G_OPTION_ARG_STRING, &config.node,
                  "This node's name (default: Node= in the configuration, else the hostname)", "NAME" },
                { "pci-ids", 0, 0, G_OPTION_ARG_FILENAME, &config.pci_ids,
                  "The pci.ids file device names come from (default " PCI_IDS_PATH ")", "FILE" },
                { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &config.state_dir,
                  "Where devpass.db lives (default $STATE_DIRECTORY, else " DEVPASS_STATE_DIR ")", "DIR" },
                { "boot-dir", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &config.boot_dir,
                  "Where the udev rule learns which functions boot on vfio-pci (default " DEVPASS_BOOT_DIR ")", "DIR" },
                { "root", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &config.root,
                  "Read proc/, sys/ and dev/ for the safety guard under DIR (tests)", "DIR" },
                { "settle-ms", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &config.settle_ms,
                  "How long a driver change may take to show in sysfs (default 2000)", "MS" },
                { "verbose", 'v', 0, G_OPTION_ARG_NONE, &config.verbose, "Log debug messages", NULL },
                { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
                {}
        };

        setlocale(LC_ALL, "");
        context = g_option_context_new("- the devpass PCI passthrough service");
        g_option_context_add_main_entries(context, options, NULL);
        if (!g_option_context_parse(context, &argc, &argv, &error)) {
                fprintf(stderr, "devpassd: %s\n", error->message);
                return EXIT_FAILURE;
        }
        if (version) {
                printf("devpassd %s\n", PACKAGE_VERSION);
                return EXIT_SUCCESS;
        }
        log_setup(config.verbose);

        if (!config_load(&config, &error) || !(daemon = daemon_new(&config, &error))) {
                g_warning("%s", error->message);
                return EXIT_FAILURE;
        }
        return daemon_run(daemon);
}
