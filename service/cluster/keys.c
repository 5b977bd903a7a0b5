/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "keys.h"

#include <inttypes.h>
#include <string.h>
#include <gio/gio.h>

#include "config.h"
#include "settings.h"
#include "store.h"
#include "text.h"

G_DEFINE_QUARK(cluster-codec-error-quark, cluster_codec_error)

/* Components of a key: at most four ("node/N/claims/M"). */
#define PARTS_MAX 4

/* Each kind's components after the prefix: literals, and the parts in
 * braces. A part's checks are the ones a call's argument gets. */
static const char *const layouts[_CLUSTER_KEY_MAX][PARTS_MAX + 1] = {
        [CLUSTER_KEY_IDS] = { "shared", "ids", "{kind}" },
        [CLUSTER_KEY_GROUP] = { "shared", "groups", "{id}" },
        [CLUSTER_KEY_GROUP_NAME] = { "shared", "group-names", "{group}" },
        [CLUSTER_KEY_GROUP_USER] = { "shared", "group-users", "{id}", "{node}" },
        [CLUSTER_KEY_RULE] = { "shared", "rules", "{id}" },
        [CLUSTER_KEY_RULE_NAME] = { "shared", "rule-names", "{rule}" },
        [CLUSTER_KEY_ATTACHMENT] = { "shared", "attachments", "{id}" },
        [CLUSTER_KEY_MAC] = { "shared", "macs", "{mac}" },
        [CLUSTER_KEY_MACHINE] = { "shared", "machines", "{machine}" },
        [CLUSTER_KEY_NODE] = { "shared", "nodes", "{node}" },
        [CLUSTER_KEY_ALIVE] = { "shared", "alive", "{node}" },
        [CLUSTER_KEY_STATE] = { "shared", "state", "{node}" },
        [CLUSTER_KEY_CLAIMS] = { "node", "{node}", "claims", "{machine}" },
        [CLUSTER_KEY_HOLDS] = { "node", "{node}", "holds", "{tenant}" },
};

void cluster_key_clear(ClusterKey *k) {
        g_clear_pointer(&k->name, g_free);
        g_clear_pointer(&k->node, g_free);
}

static bool escaped(unsigned char c) {
        return c == '%' || c == '/' || c < 0x20 || c == 0x7f;
}

static void append_escaped(GString *s, const char *part) {
        for (const unsigned char *p = (const unsigned char *) part; *p; p++)
                if (escaped(*p))
                        g_string_append_printf(s, "%%%02X", *p);
                else
                        g_string_append_c(s, (char) *p);
}

static void append_id(GString *s, int64_t id) {
        g_string_append_printf(s, "%" PRId64, id);
}

char *cluster_key_build(const char *prefix, const ClusterKey *k) {
        g_return_val_if_fail(k->kind < _CLUSTER_KEY_MAX, NULL);
        const char *const *parts = layouts[k->kind];
        g_autoptr(GString) s = g_string_new(prefix);

        for (size_t i = 0; parts[i]; i++) {
                const char *p = parts[i];
                if (i > 0)
                        g_string_append_c(s, '/');
                if (p[0] != '{')
                        g_string_append(s, p);
                else if (g_str_equal(p, "{id}"))
                        append_id(s, k->id);
                else {
                        const char *v = g_str_equal(p, "{node}") ? k->node : k->name;
                        g_return_val_if_fail(v && *v, NULL);
                        append_escaped(s, v);
                }
        }
        return g_string_free(g_steal_pointer(&s), false);
}

char *cluster_quote(const char *data, gsize len) {
        g_autofree char *text = text_sanitize(data, len, NULL);
        return text_quote(text);
}

static bool key_invalid(const char *key, gsize len, GError **error, const char *format, ...) G_GNUC_PRINTF(4, 5);
static bool key_invalid(const char *key, gsize len, GError **error, const char *format, ...) {
        g_autofree char *q = cluster_quote(key, len);
        va_list ap;

        va_start(ap, format);
        g_autofree char *problem = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_set_error(error, CLUSTER_CODEC_ERROR, CLUSTER_CODEC_ERROR_KEY, "The etcd key %s is not devpass's: %s", q,
                    problem);
        return false;
}

/* One component without its escapes; NULL when it is not the one
 * spelling of a name (the caller says which). */
static char *unescape(const char *p, gsize len) {
        g_autoptr(GString) s = g_string_sized_new(len);

        for (gsize i = 0; i < len; i++) {
                unsigned char c = (unsigned char) p[i];
                if (c == '%') {
                        if (len - i < 3)
                                return NULL;
                        int hi = g_ascii_xdigit_value(p[i + 1]), lo = g_ascii_xdigit_value(p[i + 2]);
                        if (hi < 0 || lo < 0 || g_ascii_islower(p[i + 1]) || g_ascii_islower(p[i + 2]))
                                return NULL;
                        c = (unsigned char) (hi << 4 | lo);
                        if (!escaped(c) || c == '\0')
                                return NULL;
                        i += 2;
                } else if (escaped(c))
                        return NULL;
                g_string_append_c(s, (char) c);
        }
        return g_string_free(g_steal_pointer(&s), false);
}

bool cluster_id_parse(const char *s, int64_t *ret) {
        gint64 v;

        if (s[0] < '1' || s[0] > '9' || !text_parse_int(s, 1, INT64_MAX, &v))
                return false;
        *ret = v;
        return true;
}

static bool id_kind_valid(const char *v, GError **error) {
        if (g_strv_contains((const char *const[]) { "group", "rule", "attachment", NULL }, v))
                return true;
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not group, rule or attachment");
        return false;
}

static bool node_valid(const char *v, GError **error) {
        if (*v)
                return settings_node_valid(v, error);
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the node name is empty");
        return false;
}

static bool part_check(const char *part, const char *v, GError **error) {
        if (g_str_equal(part, "{kind}"))
                return id_kind_valid(v, error);
        if (g_str_equal(part, "{group}"))
                return settings_name_valid("group", v, error);
        if (g_str_equal(part, "{rule}"))
                return settings_name_valid("rule", v, error);
        if (g_str_equal(part, "{mac}"))
                return store_value_check("macs", "mac", v, 0, error);
        if (g_str_equal(part, "{machine}"))
                return settings_machine_valid(v, error);
        if (g_str_equal(part, "{tenant}"))
                return settings_tenant_valid("tenant", v, error);
        return node_valid(v, error);
}

/* Splits the len bytes after the prefix at '/' into at most PARTS_MAX
 * (start, length) pairs; n is their count, PARTS_MAX + 1 when more. */
static size_t split(const char *s, gsize len, const char *starts[PARTS_MAX], gsize lens[PARTS_MAX]) {
        size_t n = 0;
        gsize begin = 0;

        for (gsize i = 0; i <= len; i++) {
                if (i < len && s[i] != '/')
                        continue;
                if (n == PARTS_MAX)
                        return PARTS_MAX + 1;
                starts[n] = s + begin;
                lens[n++] = i - begin;
                begin = i + 1;
        }
        return n;
}

/* Matches the components against one layout; false (no error) when its
 * literals differ, false with error when a part is wrong. */
static bool layout_match(ClusterKeyKind kind, const char *const *starts, const gsize *lens, size_t n,
                         ClusterKey *k, bool *matched, GError **error) {
        const char *const *parts = layouts[kind];

        *matched = false;
        if (g_strv_length((char **) parts) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (parts[i][0] != '{' && (strlen(parts[i]) != lens[i] || memcmp(parts[i], starts[i], lens[i]) != 0))
                        return false;
        *matched = true;
        k->kind = kind;
        for (size_t i = 0; i < n; i++) {
                if (parts[i][0] != '{')
                        continue;
                g_autofree char *v = unescape(starts[i], lens[i]);
                if (!v) {
                        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                    "component %zu is not escaped as devpass escapes it", i + 1);
                        return false;
                }
                if (g_str_equal(parts[i], "{id}")) {
                        if (!cluster_id_parse(v, &k->id)) {
                                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                            "component %zu is not an id (1 to 9223372036854775807, in decimal)",
                                            i + 1);
                                return false;
                        }
                        continue;
                }
                if (!part_check(parts[i], v, error))
                        return false;
                char **slot = g_str_equal(parts[i], "{node}") ? &k->node : &k->name;
                g_free(*slot);
                *slot = g_steal_pointer(&v);
        }
        return true;
}

bool cluster_key_parse(const char *prefix, const char *key, gsize len, ClusterKey *ret, GError **error) {
        g_auto(ClusterKey) k = { 0 };
        const char *starts[PARTS_MAX];
        gsize lens[PARTS_MAX], plen = strlen(prefix);

        if (len > CLUSTER_KEY_MAX)
                return key_invalid(key, len, error, "longer than %d bytes", CLUSTER_KEY_MAX);
        if (len < plen || memcmp(key, prefix, plen) != 0) {
                g_autofree char *q = text_quote(prefix);
                return key_invalid(key, len, error, "not under the prefix %s", q);
        }
        size_t n = split(key + plen, len - plen, starts, lens);
        if (n > PARTS_MAX)
                return key_invalid(key, len, error, "more than %d components", PARTS_MAX);
        for (ClusterKeyKind kind = 0; kind < _CLUSTER_KEY_MAX; kind++) {
                g_autoptr(GError) e = NULL;
                bool matched;
                if (layout_match(kind, starts, lens, n, &k, &matched, &e)) {
                        *ret = k;
                        k = (ClusterKey) { 0 };
                        return true;
                }
                if (matched)
                        return key_invalid(key, len, error, "%s", e->message);
        }
        return key_invalid(key, len, error, "no key of devpass has these components");
}

char *cluster_key_shared(const char *prefix) {
        return g_strconcat(prefix, "shared/", NULL);
}

char *cluster_key_node(const char *prefix, const char *node) {
        return g_strconcat(prefix, "node/", node, "/", NULL);
}

char *cluster_key_group_users(const char *prefix, int64_t group_id) {
        return g_strdup_printf("%sshared/group-users/%" PRId64 "/", prefix, group_id);
}

GBytes *cluster_key_range_end(const char *key, gsize len) {
        for (gsize i = len; i > 0; i--)
                if ((unsigned char) key[i - 1] < 0xff) {
                        char *end = g_memdup2(key, i);
                        end[i - 1]++;
                        return g_bytes_new_take(end, i);
                }
        return g_bytes_new("", 1);
}
