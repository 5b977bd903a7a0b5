/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "build-config.h"
#include "text.h"

void config_clear(Config *c) {
        g_clear_pointer(&c->config_path, g_free);
        g_clear_pointer(&c->node, g_free);
        g_clear_pointer(&c->pci_ids, g_free);
        g_clear_pointer(&c->sysfs_root, g_free);
        g_clear_pointer(&c->root, g_free);
        g_clear_pointer(&c->state_dir, g_free);
        g_clear_pointer(&c->boot_dir, g_free);
        g_clear_pointer(&c->modprobe, g_free);
}

bool config_node_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!g_ascii_isalnum(name[i]) && !strchr("._-", name[i]))
                        return false;
        return true;
}

/* The file's settings, then the defaults, for what the command line left
 * unset. kf: NULL when there is no file. */
static bool config_fill(Config *c, GKeyFile *kf, GError **error) {
        if (kf) {
                if (!c->node)
                        c->node = g_key_file_get_string(kf, "Daemon", "Node", NULL);
                if (!c->boot_dir)
                c->boot_dir = g_strdup(DEVPASS_BOOT_DIR);
        if (!c->modprobe)
                        c->modprobe = g_key_file_get_string(kf, "Daemon", "Modprobe", NULL);
                if (g_key_file_has_key(kf, "Daemon", "MaxMessageSize", NULL)) {
                        g_autoptr(GError) local = NULL;
                        c->max_message_size = g_key_file_get_uint64(kf, "Daemon", "MaxMessageSize", &local);
                        if (local || c->max_message_size == 0) {
                                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                            "MaxMessageSize= in %s takes a number of bytes, e.g. 33554432",
                                            c->config_path);
                                return false;
                        }
                }
        }
        if (!c->node) {
                /* Only the first label: node names are short ids, not FQDNs. */
                g_auto(GStrv) labels = g_strsplit(g_get_host_name(), ".", 2);
                c->node = g_strdup(labels[0]);
        }
        if (!config_node_name_valid(c->node)) {
                /* Quoted: the file may hold anything, and the hostname be empty. */
                g_autofree char *q = text_quote(c->node ?: "");
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "Node name %s is not valid: use 1-64 characters of A-Z a-z 0-9 . _ - "
                            "(Node= in %s)", q, c->config_path);
                return false;
        }
        if (!c->pci_ids)
                c->pci_ids = g_strdup(PCI_IDS_PATH);
        if (!c->sysfs_root)
                c->sysfs_root = g_strdup("/sys");
        if (!c->root)
                c->root = g_strdup("/");
        if (!c->state_dir) {
                /* systemd's StateDirectory=; a list when several are set. */
                const char *env = g_getenv("STATE_DIRECTORY");
                g_auto(GStrv) dirs = env && *env ? g_strsplit(env, ":", 2) : NULL;
                c->state_dir = g_strdup(dirs ? dirs[0] : DEVPASS_STATE_DIR);
        }
        if (!c->modprobe)
                c->modprobe = g_strdup("/sbin/modprobe");
        if (c->settle_ms <= 0)
                c->settle_ms = 2000;
        if (!c->max_message_size)
                c->max_message_size = 32u << 20;
        return true;
}

bool config_load(Config *c, GError **error) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) local = NULL;

        if (!c->config_path)
                c->config_path = g_strdup(DEVPASS_CONFIG_PATH);
        if (g_key_file_load_from_file(kf, c->config_path, G_KEY_FILE_NONE, &local))
                return config_fill(c, kf, error);
        if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                g_propagate_prefixed_error(error, g_steal_pointer(&local), "%s: ", c->config_path);
                return false;
        }
        return config_fill(c, NULL, error);
}

bool config_load_data(Config *c, const char *data, gsize len, GError **error) {
        g_autoptr(GKeyFile) kf = g_key_file_new();

        if (!c->config_path)
                c->config_path = g_strdup(DEVPASS_CONFIG_PATH);
        if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, error)) {
                g_prefix_error(error, "%s: ", c->config_path);
                return false;
        }
        return config_fill(c, kf, error);
}
