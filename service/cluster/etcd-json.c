/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* etcd's JSON, read as hostile: every member checked for its type and
 * range. Protobuf's JSON leaves out members at their default (0, false,
 * empty), so a missing member is that default. */
#include "etcd-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static GError *bad(const char *member, const char *what) {
        return g_error_new(ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's answer has a %s that is not %s", member, what);
}

static JsonNode *member_node(JsonObject *o, const char *member) {
        JsonNode *n = json_object_get_member(o, member);

        return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

bool etcd_json_int(JsonObject *o, const char *member, gint64 *ret, GError **error) {
        JsonNode *n = member_node(o, member);

        *ret = 0;
        if (!n)
                return true;
        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64) {
                *ret = json_node_get_int(n);
                return true;
        }
        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
                const char *s = json_node_get_string(n);
                char *end = NULL;
                errno = 0;
                gint64 v = g_ascii_strtoll(s, &end, 10);
                if (*s && !g_ascii_isspace(*s) && end && *end == '\0' && errno == 0) {
                        *ret = v;
                        return true;
                }
        }
        g_propagate_error(error, bad(member, "a 64-bit integer"));
        return false;
}

bool etcd_json_bool(JsonObject *o, const char *member, bool *ret, GError **error) {
        JsonNode *n = member_node(o, member);

        *ret = false;
        if (!n)
                return true;
        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN) {
                *ret = json_node_get_boolean(n);
                return true;
        }
        g_propagate_error(error, bad(member, "true or false"));
        return false;
}

static bool base64_valid(const char *s) {
        size_t n = strlen(s), pad = 0;

        if (n % 4)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '=' && i >= n - 2) {
                        pad++;
                        continue;
                }
                if (pad || !(g_ascii_isalnum(s[i]) || s[i] == '+' || s[i] == '/'))
                        return false;
        }
        return true;
}

bool etcd_json_bytes(JsonObject *o, const char *member, char **ret, gsize *len, GError **error) {
        JsonNode *n = member_node(o, member);
        gsize l = 0;

        *ret = NULL;
        if (!n) {
                *ret = g_strdup("");
        } else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
                   base64_valid(json_node_get_string(n))) {
                /* Decoded into one byte more, for the NUL. */
                const char *s = json_node_get_string(n);
                guchar *data = g_malloc(strlen(s) / 4 * 3 + 4);
                gint state = 0;
                guint save = 0;
                l = g_base64_decode_step(s, strlen(s), data, &state, &save);
                data[l] = '\0';
                *ret = (char *) data;
        } else {
                g_propagate_error(error, bad(member, "base64"));
                return false;
        }
        if (len)
                *len = l;
        return true;
}

bool etcd_json_object(JsonObject *o, const char *member, JsonObject **ret, GError **error) {
        JsonNode *n = member_node(o, member);

        *ret = NULL;
        if (!n)
                return true;
        if (JSON_NODE_HOLDS_OBJECT(n)) {
                *ret = json_node_get_object(n);
                return true;
        }
        g_propagate_error(error, bad(member, "an object"));
        return false;
}

bool etcd_json_array(JsonObject *o, const char *member, JsonArray **ret, GError **error) {
        JsonNode *n = member_node(o, member);

        *ret = NULL;
        if (!n)
                return true;
        if (JSON_NODE_HOLDS_ARRAY(n)) {
                *ret = json_node_get_array(n);
                return true;
        }
        g_propagate_error(error, bad(member, "an array"));
        return false;
}

bool etcd_json_revision(JsonObject *answer, gint64 *ret, GError **error) {
        JsonObject *header;

        *ret = 0;
        if (!etcd_json_object(answer, "header", &header, error))
                return false;
        if (header && !etcd_json_int(header, "revision", ret, error))
                return false;
        if (*ret < 0) {
                g_propagate_error(error, bad("revision", "positive"));
                return false;
        }
        return true;
}

void etcd_kv_free(EtcdKv *kv) {
        if (!kv)
                return;
        g_free(kv->key);
        g_free(kv->value);
        g_free(kv);
}

EtcdKv *etcd_json_kv(JsonNode *node, GError **error) {
        g_autoptr(EtcdKv) kv = g_new0(EtcdKv, 1);
        JsonObject *o;

        if (!JSON_NODE_HOLDS_OBJECT(node)) {
                g_propagate_error(error, bad("key-value", "an object"));
                return NULL;
        }
        o = json_node_get_object(node);
        if (!etcd_json_bytes(o, "key", &kv->key, &kv->key_len, error) ||
            !etcd_json_bytes(o, "value", &kv->value, &kv->value_len, error) ||
            !etcd_json_int(o, "create_revision", &kv->create_revision, error) ||
            !etcd_json_int(o, "mod_revision", &kv->mod_revision, error) ||
            !etcd_json_int(o, "version", &kv->version, error) || !etcd_json_int(o, "lease", &kv->lease, error))
                return NULL;
        if (kv->key_len == 0 || kv->create_revision < 0 || kv->mod_revision < 0 || kv->version < 0) {
                g_propagate_error(error, bad("key-value", "a key with revisions"));
                return NULL;
        }
        return g_steal_pointer(&kv);
}

bool etcd_json_kvs(JsonObject *o, const char *member, GPtrArray *kvs, GError **error) {
        JsonArray *a;

        if (!etcd_json_array(o, member, &a, error))
                return false;
        for (guint i = 0; a && i < json_array_get_length(a); i++) {
                EtcdKv *kv = etcd_json_kv(json_array_get_element(a, i), error);
                if (!kv)
                        return false;
                g_ptr_array_add(kvs, kv);
        }
        return true;
}

/* json-glib's parser recurses: bound the nesting before it reads. etcd's
 * deepest answer (a txn's responses' kvs) is 5 levels deep. */
#define NESTING_MAX 32

static bool nesting_bounded(const char *text, gsize len) {
        unsigned depth = 0;
        bool string = false;

        for (gsize i = 0; i < len; i++) {
                char ch = text[i];
                if (string) {
                        if (ch == '\\')
                                i++;
                        else if (ch == '"')
                                string = false;
                } else if (ch == '"') {
                        string = true;
                } else if (ch == '[' || ch == '{') {
                        if (++depth > NESTING_MAX)
                                return false;
                } else if ((ch == ']' || ch == '}') && depth > 0) {
                        depth--;
                }
        }
        return true;
}

JsonObject *etcd_json_parse(const char *text, gsize len, GError **error) {
        g_autoptr(JsonParser) parser = json_parser_new_immutable();
        g_autoptr(GError) local = NULL;
        JsonNode *root;

        /* json-glib wants text without NULs; the length is bounded by the reader. */
        if (len == 0 || memchr(text, '\0', len) || !nesting_bounded(text, len) ||
            !json_parser_load_from_data(parser, text, (gssize) len, &local)) {
                g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's answer is not JSON%s%s",
                            local ? ": " : "", local ? local->message : "");
                return NULL;
        }
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
                g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's answer is not a JSON object");
                return NULL;
        }
        return json_object_ref(json_node_get_object(root));
}

void etcd_json_add_bytes(JsonBuilder *b, const char *member, const void *data, gsize len) {
        g_autofree char *s = g_base64_encode(data, len);

        json_builder_set_member_name(b, member);
        json_builder_add_string_value(b, s);
}

void etcd_json_add_key(JsonBuilder *b, const char *member, const char *key) {
        /* An empty range end is etcd's "\0": every key from the start on. */
        if (!*key && strcmp(member, "range_end") == 0)
                etcd_json_add_bytes(b, member, "", 1);
        else
                etcd_json_add_bytes(b, member, key, strlen(key));
}

void etcd_json_add_int(JsonBuilder *b, const char *member, gint64 value) {
        g_autofree char *s = g_strdup_printf("%" G_GINT64_FORMAT, value);

        json_builder_set_member_name(b, member);
        json_builder_add_string_value(b, s);
}
