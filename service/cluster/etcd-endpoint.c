/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An endpoint's syntax: GLib only, for devpassd's config as for the client. */
#include "etcd-client.h"

#include <string.h>

bool etcd_endpoint_valid(const char *url, bool have_ca, GError **error) {
        g_autoptr(GUri) uri = url ? g_uri_parse(url, G_URI_FLAGS_NONE, NULL) : NULL;
        const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
        const char *host = uri ? g_uri_get_host(uri) : NULL;
        const char *path = uri ? g_uri_get_path(uri) : NULL;

        if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || !host || !*host ||
            g_uri_get_query(uri) || g_uri_get_fragment(uri) || g_uri_get_userinfo(uri) ||
            (*path && strcmp(path, "/") != 0)) {
                g_autofree char *shown = g_strescape(url ?: "", NULL);
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "etcd endpoint \"%s\" is not valid: use http://HOST:PORT or https://HOST:PORT", shown);
                return false;
        }
        if (strcmp(scheme, "https") == 0 && !have_ca) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "etcd endpoint %s is https: give the certificate authority to verify it with", url);
                return false;
        }
        return true;
}
