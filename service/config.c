/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "build-config.h"
#include "etcd-client.h"
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
        g_clear_pointer(&c->cluster.endpoints, g_strfreev);
        g_clear_pointer(&c->cluster.ca_file, g_free);
        g_clear_pointer(&c->cluster.cert_file, g_free);
        g_clear_pointer(&c->cluster.key_file, g_free);
        g_clear_pointer(&c->cluster.node, g_free);
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

bool config_cluster_node_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > 63 || name[0] == '-' || name[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!g_ascii_islower(name[i]) && !g_ascii_isdigit(name[i]) && name[i] != '-')
                        return false;
        return true;
}

static bool cluster_invalid(Config *c, GError **error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* A refusal that names the file: "[Cluster] ... in PATH". */
static bool cluster_invalid(Config *c, GError **error, const char *fmt, ...) {
        g_autofree char *what = NULL;
        va_list ap;

        va_start(ap, fmt);
        what = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "[Cluster] in %s: %s", c->config_path,
                    what);
        return false;
}

/* A file's path: absolute. */
static bool cluster_path(Config *c, GKeyFile *kf, const char *key, char **ret, GError **error) {
        *ret = g_key_file_get_string(kf, "Cluster", key, NULL);
        if (*ret && !g_path_is_absolute(*ret)) {
                g_autofree char *q = text_quote(*ret);
                return cluster_invalid(c, error, "%s=%s is not an absolute path", key, q);
        }
        return true;
}

static bool cluster_endpoints(Config *c, GKeyFile *kf, GError **error) {
        g_autofree char *text = g_key_file_get_string(kf, "Cluster", "Endpoints", NULL);
        g_auto(GStrv) words = g_strsplit_set(text ?: "", " \t,;", -1);
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
        bool https = false, http = false;

        for (size_t i = 0; words[i]; i++) {
                g_autoptr(GError) local = NULL;
                if (!*words[i])
                        continue;
                if (list->len == CONFIG_CLUSTER_ENDPOINTS_MAX)
                        return cluster_invalid(c, error, "Endpoints= lists more than %d endpoints",
                                               CONFIG_CLUSTER_ENDPOINTS_MAX);
                if (!etcd_endpoint_valid(words[i], c->cluster.ca_file != NULL, &local))
                        return cluster_invalid(c, error, "%s (Endpoints=)", local->message);
                https |= g_str_has_prefix(words[i], "https:");
                http |= g_str_has_prefix(words[i], "http:");
                g_ptr_array_add(list, g_strdup(words[i]));
        }
        if (list->len == 0)
                return cluster_invalid(c, error, "Endpoints= is missing: list etcd's client URLs, e.g. "
                                       "Endpoints=https://10.0.0.1:2379 https://10.0.0.2:2379 https://10.0.0.3:2379");
        if (http && (https || c->cluster.ca_file))
                return cluster_invalid(c, error, "Endpoints= mixes http:// with TLS: use https:// for every endpoint "
                                       "when CertificateAuthority= is set");
        g_ptr_array_add(list, NULL);
        c->cluster.endpoints = (char **) g_ptr_array_free(g_steal_pointer(&list), FALSE);
        return true;
}

/* [Cluster], when the file has it. */
static bool config_fill_cluster(Config *c, GKeyFile *kf, GError **error) {
        ConfigCluster *k = &c->cluster;

        if (!cluster_path(c, kf, "CertificateAuthority", &k->ca_file, error) ||
            !cluster_path(c, kf, "Certificate", &k->cert_file, error) ||
            !cluster_path(c, kf, "PrivateKey", &k->key_file, error) || !cluster_endpoints(c, kf, error))
                return false;
        if (!k->cert_file != !k->key_file)
                return cluster_invalid(c, error, "Certificate= and PrivateKey= go together: set both or neither");
        if (k->cert_file && !k->ca_file)
                return cluster_invalid(c, error, "Certificate= needs CertificateAuthority= (and https:// endpoints)");
        k->node = g_key_file_get_string(kf, "Cluster", "Node", NULL);
        if (!k->node)
                k->node = g_strdup(c->node);
        if (!config_cluster_node_valid(k->node)) {
                g_autofree char *q = text_quote(k->node);
                return cluster_invalid(c, error, "node name %s is not valid: use 1-63 characters of a-z 0-9 -, "
                                       "not starting or ending with - (Node=)", q);
        }
        k->lease_seconds = 10;
        if (g_key_file_has_key(kf, "Cluster", "LeaseSeconds", NULL)) {
                g_autoptr(GError) local = NULL;
                guint64 v = g_key_file_get_uint64(kf, "Cluster", "LeaseSeconds", &local);
                if (local || v < CONFIG_LEASE_SECONDS_MIN || v > CONFIG_LEASE_SECONDS_MAX)
                        return cluster_invalid(c, error, "LeaseSeconds= takes %d to %d seconds, e.g. 10",
                                               CONFIG_LEASE_SECONDS_MIN, CONFIG_LEASE_SECONDS_MAX);
                k->lease_seconds = (unsigned) v;
        }
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
        /* After [Daemon]: its Node= is the cluster node's default. */
        if (kf && g_key_file_has_group(kf, "Cluster"))
                return config_fill_cluster(c, kf, error);
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
