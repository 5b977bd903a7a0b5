/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rows-json.h"

#include <inttypes.h>
#include <string.h>
#include <gio/gio.h>

#include "keys.h"
#include "text.h"

static void sep(GString *s) {
        char last = s->len ? s->str[s->len - 1] : '{';

        if (last != '{' && last != '[' && last != ':')
                g_string_append_c(s, ',');
}

void cluster_json_open(GString *s, char bracket) {
        sep(s);
        g_string_append_c(s, bracket);
}

void cluster_json_close(GString *s, char bracket) {
        g_string_append_c(s, bracket);
}

/* One spelling per string: '"' and '\\' escaped, the control bytes as
 * \u00XX (no \n shorthand), every other byte as it is. */
static void quoted(GString *s, const char *v) {
        g_string_append_c(s, '"');
        for (const unsigned char *p = (const unsigned char *) v; *p; p++)
                if (*p == '"' || *p == '\\')
                        g_string_append_printf(s, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        g_string_append_printf(s, "\\u%04x", *p);
                else
                        g_string_append_c(s, (char) *p);
        g_string_append_c(s, '"');
}

void cluster_json_key(GString *s, const char *name) {
        sep(s);
        quoted(s, name);
        g_string_append_c(s, ':');
}

void cluster_json_string(GString *s, const char *v) {
        sep(s);
        quoted(s, v);
}

void cluster_json_int(GString *s, int64_t v) {
        sep(s);
        g_string_append_printf(s, "%" PRId64, v);
}

void cluster_json_bool(GString *s, bool v) {
        sep(s);
        g_string_append(s, v ? "true" : "false");
}

void cluster_json_null(GString *s) {
        sep(s);
        g_string_append(s, "null");
}

static bool invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);
static bool invalid(GError **error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        g_autofree char *message = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_set_error_literal(error, CLUSTER_CODEC_ERROR, CLUSTER_CODEC_ERROR_VALUE, message);
        return false;
}

/* json-glib's parser recurses once per level: the nesting is counted
 * first, outside strings, so that no value can exhaust the stack. */
static bool depth_check(const char *v, gsize len, unsigned max) {
        unsigned depth = 0;
        bool in_string = false;

        for (gsize i = 0; i < len; i++) {
                if (in_string) {
                        if (v[i] == '\\')
                                i++;
                        else if (v[i] == '"')
                                in_string = false;
                } else if (v[i] == '"')
                        in_string = true;
                else if (v[i] == '{' || v[i] == '[') {
                        if (++depth > max)
                                return false;
                } else if ((v[i] == '}' || v[i] == ']') && depth > 0)
                        depth--;
        }
        return true;
}

JsonNode *cluster_json_parse(const char *value, gsize len, gsize max, unsigned depth, GError **error) {
        g_autoptr(JsonParser) parser = json_parser_new_immutable();
        g_autoptr(GError) e = NULL;

        if (len > max)
                return invalid(error, "longer than %zu bytes", max), NULL;
        if (memchr(value, '\0', len))
                return invalid(error, "it holds a NUL byte"), NULL;
        if (!g_utf8_validate(value, (gssize) len, NULL))
                return invalid(error, "not UTF-8"), NULL;
        if (!depth_check(value, len, depth))
                return invalid(error, "nested deeper than %u", depth), NULL;
        if (!json_parser_load_from_data(parser, value, (gssize) len, &e)) {
                /* json-glib's message may quote the value's bytes. */
                g_autofree char *why = text_sanitize(e->message, strlen(e->message), NULL);
                return invalid(error, "not JSON (%s)", why), NULL;
        }
        JsonNode *root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return invalid(error, "not a JSON object"), NULL;
        return json_node_ref(root);
}

bool cluster_json_members(JsonObject *o, const char *const *names, GError **error) {
        g_autoptr(GList) members = json_object_get_members(o);

        for (GList *l = members; l; l = l->next)
                if (!g_strv_contains(names, l->data)) {
                        g_autofree char *q = cluster_quote(l->data, strlen(l->data));
                        return invalid(error, "it has a member %s that devpass does not write", q);
                }
        for (size_t i = 0; names[i]; i++)
                if (!json_object_has_member(o, names[i]))
                        return invalid(error, "it has no member %s", names[i]);
        return true;
}

/* The member, holding a value of type (G_TYPE_INVALID: null). */
static JsonNode *member(JsonObject *o, const char *name, GType type, const char *what, GError **error) {
        JsonNode *n = json_object_get_member(o, name);

        if (n && (type == G_TYPE_INVALID ? JSON_NODE_HOLDS_NULL(n)
                                         : JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type))
                return n;
        invalid(error, "%s is not %s", name, what);
        return NULL;
}

bool cluster_json_get_string(JsonObject *o, const char *name, const char **ret, GError **error) {
        JsonNode *n = member(o, name, G_TYPE_STRING, "a string", error);

        if (n)
                *ret = json_node_get_string(n);
        return n;
}

bool cluster_json_get_int(JsonObject *o, const char *name, int64_t min, int64_t max, int64_t *ret, GError **error) {
        JsonNode *n = member(o, name, G_TYPE_INT64, "an integer", error);

        if (!n)
                return false;
        int64_t v = json_node_get_int(n);
        if (v < min || v > max)
                return invalid(error, "%s is %" PRId64 ", not in %" PRId64 "..%" PRId64, name, v, min, max);
        *ret = v;
        return true;
}

bool cluster_json_get_int_or_null(JsonObject *o, const char *name, int64_t min, int64_t max, int64_t *ret,
                         GError **error) {
        if (member(o, name, G_TYPE_INVALID, "null", NULL)) {
                *ret = 0;
                return true;
        }
        return cluster_json_get_int(o, name, min, max, ret, error);
}

bool cluster_json_get_bool(JsonObject *o, const char *name, bool *ret, GError **error) {
        JsonNode *n = member(o, name, G_TYPE_BOOLEAN, "true or false", error);

        if (n)
                *ret = json_node_get_boolean(n);
        return n;
}

JsonArray *cluster_json_get_array(JsonObject *o, const char *name, GError **error) {
        JsonNode *n = json_object_get_member(o, name);

        if (n && JSON_NODE_HOLDS_ARRAY(n))
                return json_node_get_array(n);
        invalid(error, "%s is not a list", name);
        return NULL;
}

JsonObject *cluster_json_object_at(JsonArray *a, guint i, GError **error) {
        JsonNode *n = json_array_get_element(a, i);

        if (JSON_NODE_HOLDS_OBJECT(n))
                return json_node_get_object(n);
        invalid(error, "not an object");
        return NULL;
}

const char *cluster_json_string_at(JsonArray *a, guint i, GError **error) {
        JsonNode *n = json_array_get_element(a, i);

        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
                return json_node_get_string(n);
        invalid(error, "not a string");
        return NULL;
}
