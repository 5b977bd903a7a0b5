/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd.conf as an administrator (or a broken package) writes it: a
 * file that loads gives a valid node name and every default; one that
 * does not gives a one-line UTF-8 message. */
#include <stdlib.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        g_auto(Config) c = { .config_path = g_strdup("/etc/devpass/devpassd.conf") };
        g_autoptr(GError) error = NULL;

        if (!config_load_data(&c, (const char *) data, size, &error)) {
                /* GKeyFile's own messages quote the line as it is. */
                if (!error)
                        abort();
                return 0;
        }
        if (!config_node_name_valid(c.node) || !c.modprobe || !c.pci_ids || !c.sysfs_root || !c.root ||
            !c.state_dir || c.settle_ms <= 0 || c.max_message_size == 0)
                abort();
        return 0;
}
