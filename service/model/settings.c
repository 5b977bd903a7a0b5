/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "settings.h"

#include <stdio.h>
#include <string.h>
#include <gio/gio.h>

#include "config.h"
#include "machine-name.h"
#include "text.h"

static const char *const group_types[] = { "pci", "sriov-nic", NULL };
static const char *const group_classes[] = { "gpu", "nic", "storage", "usb", "accelerator", "other", NULL };

static bool invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);
static bool invalid(GError **error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        g_autofree char *message = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, message);
        return false;
}

static bool printable(const char *s) {
        for (const char *p = s; *p; p = g_utf8_next_char(p))
                if (!g_unichar_isprint(g_utf8_get_char(p)))
                        return false;
        return true;
}

bool settings_name_valid(const char *what, const char *name, GError **error) {
        g_autofree char *q = NULL;   /* quoted only for a refusal: names are checked on every call */

        if (!g_utf8_validate(name, -1, NULL) || !printable(name))
                return invalid(error, "The %s name %s has characters that cannot be shown: use printable ones", what,
                               (q = text_quote(name)));
        glong len = g_utf8_strlen(name, -1);
        if (len < 1 || len > SETTINGS_NAME_MAX)
                return invalid(error, "The %s name %s must be 1 to %d characters long", what, (q = text_quote(name)),
                               SETTINGS_NAME_MAX);
        if (g_unichar_isspace(g_utf8_get_char(name)) ||
            g_unichar_isspace(g_utf8_get_char(g_utf8_prev_char(name + strlen(name)))))
                return invalid(error, "The %s name %s starts or ends with a space: remove it", what, (q = text_quote(name)));
        return true;
}

bool settings_description_valid(const char *description, GError **error) {
        if (!g_utf8_validate(description, -1, NULL) || !printable(description))
                return invalid(error, "The description has characters that cannot be shown (newlines, control "
                                      "characters): use printable ones");
        if (g_utf8_strlen(description, -1) > SETTINGS_DESCRIPTION_MAX)
                return invalid(error, "The description is longer than %d characters", SETTINGS_DESCRIPTION_MAX);
        return true;
}

static bool one_of(const char *what, const char *value, const char *const *allowed, GError **error) {
        if (g_strv_contains(allowed, value))
                return true;
        g_autofree char *q = text_quote(value);
        g_autofree char *list = g_strjoinv(", ", (char **) allowed);
        return invalid(error, "%s is not a group %s: use one of %s", q, what, list);
}

bool settings_group_type_valid(const char *type, GError **error) {
        return one_of("type", type, group_types, error);
}

bool settings_group_class_valid(const char *class_name, GError **error) {
        return one_of("class", class_name, group_classes, error);
}

bool settings_node_valid(const char *node, GError **error) {
        if (!*node || config_node_name_valid(node))
                return true;
        g_autofree char *q = text_quote(node);
        return invalid(error, "%s is not a node name: use \"\" for every node, or 1-64 of A-Z a-z 0-9 . _ -", q);
}

bool settings_tenant_valid(const char *what, const char *name, GError **error) {
        size_t n = strlen(name);
        g_autofree char *q = NULL;   /* quoted only for a refusal: names are checked on every call */

        if (n == 0 || n > 64)
                return invalid(error, "The %s name %s must be 1 to 64 characters long", what, (q = text_quote(name)));
        for (size_t i = 0; i < n; i++)
                if (!g_ascii_isalnum(name[i]) && !strchr("._-", name[i]))
                        return invalid(error, "The %s name %s may hold only A-Z a-z 0-9 . _ -", what,
                                       (q = text_quote(name)));
        return true;
}

bool settings_machine_valid(const char *name, GError **error) {
        if (machine_name_valid(name))
                return true;
        g_autofree char *q = text_quote(name);
        size_t n = strlen(name);
        if (n == 0 || n > MACHINE_NAME_MAX)
                return invalid(error, "The machine name %s must be 1 to %d bytes long", q, MACHINE_NAME_MAX);
        return invalid(error, "The machine name %s is not UTF-8 or holds control characters: use the domain's "
                       "name as the VM manager shows it", q);
}

bool settings_uuid_valid(const char *uuid, GError **error) {
        if (g_uuid_string_is_valid(uuid))
                return true;
        g_autofree char *q = text_quote(uuid);
        return invalid(error, "%s is not a UUID: give the domain's as libvirt shows it "
                       "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", q);
}

char *settings_mac_parse(const char *mac, GError **error) {
        g_autofree char *q = text_quote(mac);
        unsigned b[6];
        int end = 0;

        if (strlen(mac) != 17 ||
            sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
            end != 17)
                return invalid(error, "%s is not a MAC address: use six hex octets, e.g. 02:00:5e:10:00:01", q),
                       NULL;
        for (size_t i = 0; i < 17; i++)
                if (i % 3 == 2 ? mac[i] != ':' : !g_ascii_isxdigit(mac[i]))
                        return invalid(error, "%s is not a MAC address: use six hex octets, e.g. "
                                              "02:00:5e:10:00:01", q), NULL;
        if (b[0] & 1)
                return invalid(error, "%s is a multicast address: a VF needs a unicast one (first octet even)", q),
                       NULL;
        if (!(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
                return invalid(error, "%s is all zero: give a real address, or none for a generated one", q), NULL;
        return g_ascii_strdown(mac, -1);
}
