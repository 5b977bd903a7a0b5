/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A value is decoded by reading exactly the members devpass writes, each
 * of its JSON type, and checking each as a call's argument would be
 * (store_value_check() runs the store's own check of the same column;
 * rule conditions get the bounds of rules.h); then it is encoded again
 * and must be the very bytes it came as. That last step refuses what the
 * readers let through without a word of their own: white space, another
 * order of members or of a list, a duplicate member (json-glib keeps the
 * last), another spelling of a number or string.
 *
 * A member devpass does not know is refused, not ignored: only devpassd
 * writes under the prefix, and the prefix names the format ("v1"), so an
 * unknown member is a newer devpass's, or a hand's, and its meaning is
 * not this one's to guess (the SQLite store refuses a newer schema too).
 * A row this node cannot read is left unapplied, logged with its key. */
#include "rows.h"

#include <inttypes.h>
#include <string.h>
#include <gio/gio.h>

#include "rows-json.h"
#include "rules.h"
#include "settings.h"

/* A text member checked as the store checks table.column; copied. */
static bool in_text(JsonObject *o, const char *member, const char *table, const char *column, char **ret,
                    GError **error) {
        const char *v;

        if (!cluster_json_get_string(o, member, &v, error) || !store_value_check(table, column, v, 0, error))
                return false;
        *ret = g_strdup(v);
        return true;
}

/* An integer member checked as the store checks table.column. */
static bool in_int(JsonObject *o, const char *member, const char *table, const char *column, int64_t *ret,
                   GError **error) {
        return cluster_json_get_int(o, member, INT64_MIN, INT64_MAX, ret, error) &&
               store_value_check(table, column, NULL, *ret, error);
}

/* An id where the store has no column of that name to check it by. */
static bool in_id(JsonObject *o, const char *member, int64_t *ret, GError **error) {
        return cluster_json_get_int(o, member, 1, INT64_MAX, ret, error);
}

/* A list's elements: objects with exactly these members, each read by
 * read(element, data, error); the error names the element. */
typedef bool (*ElementRead)(JsonObject *o, void *data, GError **error);

static bool in_list(JsonObject *o, const char *member, const char *const *names, ElementRead read, void *data,
                    GError **error) {
        JsonArray *a = cluster_json_get_array(o, member, error);

        for (guint i = 0; a && i < json_array_get_length(a); i++) {
                JsonObject *e = cluster_json_object_at(a, i, error);
                if (!e || !cluster_json_members(e, names, error) || !read(e, data, error)) {
                        g_prefix_error(error, "%s[%u]: ", member, i);
                        return false;
                }
        }
        return a;
}

/* Each address or id once in a list: the canonical check would not see
 * a duplicate once sorted. */
static bool once(GHashTable *seen, char *k, GError **error) {
        if (g_hash_table_add(seen, k))
                return true;
        return cluster_value_invalid(error, "%s is listed twice", k);
}

static GHashTable *seen_new(void) {
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static bool decode_group(JsonObject *o, const ClusterKey *k, ClusterRow *row, GError **error) {
        static const char *const names[] = { "class", "description", "name", "tenant", "tenant_node", "type", NULL };
        StoreGroup *g = row->group = g_new0(StoreGroup, 1);

        g->id = k->id;
        return cluster_json_members(o, names, error) &&
               in_text(o, "class", "groups", "class", &g->class_name, error) &&
               in_text(o, "description", "groups", "description", &g->description, error) &&
               in_text(o, "name", "groups", "name", &g->name, error) &&
               in_text(o, "tenant", "groups", "tenant", &g->tenant, error) &&
               in_text(o, "tenant_node", "groups", "tenant_node", &g->tenant_node, error) &&
               in_text(o, "type", "groups", "type", &g->type, error);
}

static bool condition_read(JsonObject *o, void *data, GError **error) {
        const char *field, *op, *value;

        if (!cluster_json_get_string(o, "field", &field, error) || !cluster_json_get_string(o, "op", &op, error) ||
            !cluster_json_get_string(o, "value", &value, error) || !rule_condition_check(field, op, value, error))
                return false;
        g_ptr_array_add(data, store_condition_new(field, op, value));
        return true;
}

static bool decode_rule(JsonObject *o, const ClusterKey *k, ClusterRow *row, GError **error) {
        static const char *const names[] = { "conditions", "enabled", "group_id", "name", "node", NULL };
        static const char *const condition[] = { "field", "op", "value", NULL };
        StoreRule *r = row->rule = store_rule_new();

        r->id = k->id;
        return cluster_json_members(o, names, error) &&
               in_list(o, "conditions", condition, condition_read, r->conditions, error) &&
               rule_conditions_count_check(r->conditions->len, error) &&
               cluster_json_get_bool(o, "enabled", &r->enabled, error) &&
               in_int(o, "group_id", "rules", "group_id", &r->group_id, error) &&
               in_text(o, "name", "rules", "name", &r->name, error) &&
               in_text(o, "node", "rules", "node", &r->node, error);
}

/* None (a tenant's, or a pci attachment), or one per device, each once. */
static bool macs_read(JsonObject *o, StoreAttachment *a, GError **error) {
        JsonArray *list = cluster_json_get_array(o, "macs", error);
        g_autoptr(GHashTable) seen = seen_new();

        if (!list)
                return false;
        guint n = json_array_get_length(list);
        if (n == 0)
                return true;
        if (n != a->count)
                return cluster_value_invalid(error, "macs has %u, not none or one per device (%" PRIu32 ")", n,
                                             a->count);
        a->macs = g_new0(char *, n + 1);
        for (guint i = 0; i < n; i++) {
                const char *mac = cluster_json_string_at(list, i, error);
                if (!mac || !store_value_check("macs", "mac", mac, 0, error) || !once(seen, g_strdup(mac), error)) {
                        g_prefix_error(error, "macs[%u]: ", i);
                        return false;
                }
                a->macs[i] = g_strdup(mac);
        }
        return true;
}

static bool decode_attachment(JsonObject *o, const ClusterKey *k, ClusterRow *row, GError **error) {
        static const char *const names[] = { "claimed_generation", "count", "description", "generation", "group_id",
                                             "machine", "macs", "name", "optional", "tenant", "type", NULL };
        StoreAttachment *a = row->attachment = g_new0(StoreAttachment, 1);
        int64_t count;

        a->id = k->id;
        if (!cluster_json_members(o, names, error) ||
            !in_int(o, "claimed_generation", "attachments", "claimed_generation", &a->claimed_generation, error) ||
            !in_int(o, "count", "attachments", "count", &count, error) ||
            !in_text(o, "description", "attachments", "description", &a->description, error) ||
            !in_int(o, "generation", "attachments", "generation", &a->generation, error) ||
            !in_int(o, "group_id", "attachments", "group_id", &a->group_id, error) ||
            !in_text(o, "machine", "attachments", "machine", &a->machine, error) ||
            !in_text(o, "name", "attachments", "name", &a->name, error) ||
            !cluster_json_get_bool(o, "optional", &a->optional, error) ||
            !in_text(o, "tenant", "attachments", "tenant", &a->tenant, error) ||
            !in_text(o, "type", "attachments", "type", &a->type, error))
                return false;
        a->count = (uint32_t) count;
        return macs_read(o, a, error);
}

static bool decode_mac(JsonObject *o, ClusterRow *row, GError **error) {
        static const char *const attachment[] = { "attachment", NULL }, *const group[] = { "group", NULL };

        if (json_object_has_member(o, "attachment"))
                return cluster_json_members(o, attachment, error) &&
                       in_id(o, "attachment", &row->mac.attachment_id, error);
        return cluster_json_members(o, group, error) &&
               in_id(o, "group", &row->mac.group_id, error);
}

/* A node's name: as in devpassd.conf, never "". */
static bool in_node(JsonObject *o, const char *member, char **ret, GError **error) {
        const char *v;

        if (!cluster_json_get_string(o, member, &v, error))
                return false;
        if (!*v)
                return cluster_value_invalid(error, "%s is empty", member);
        if (!settings_node_valid(v, error)) {
                g_prefix_error(error, "%s: ", member);
                return false;
        }
        *ret = g_strdup(v);
        return true;
}

static bool decode_machine(JsonObject *o, ClusterRow *row, GError **error) {
        static const char *const names[] = { "node", "uuid", NULL };

        return cluster_json_members(o, names, error) && in_node(o, "node", &row->machine.node, error) &&
               in_text(o, "uuid", "claims", "uuid", &row->machine.uuid, error);
}

static bool decode_node(JsonObject *o, ClusterRow *row, GError **error) {
        static const char *const names[] = { "joined", NULL };

        /* etcd's revisions start at 1. */
        return cluster_json_members(o, names, error) &&
               cluster_json_get_int(o, "joined", 1, INT64_MAX, &row->joined, error);
}

static bool decode_alive(JsonObject *o, ClusterRow *row, GError **error) {
        static const char *const names[] = { "boot", "since", NULL };

        return cluster_json_members(o, names, error) &&
               in_text(o, "boot", "claims", "boot_id", &row->alive.boot_id, error) &&
               cluster_json_get_int(o, "since", 0, INT64_MAX, &row->alive.since, error);
}

/* The lists of one value: what they fill, and each entry's key once. */
typedef struct {
        ClusterRow *row;
        const ClusterKey *key;
        GHashTable *seen;
} List;

static bool list_read(JsonObject *o, const char *member, const char *const *names, ElementRead read, List *l,
                      GError **error) {
        g_autoptr(GHashTable) seen = seen_new();

        l->seen = seen;
        return in_list(o, member, names, read, l, error);
}

static bool free_read(JsonObject *o, void *data, GError **error) {
        List *l = data;
        ClusterFree f;
        int64_t units, total;

        if (!in_id(o, "group", &f.group_id, error) ||
            !cluster_json_get_int(o, "total", 0, UINT32_MAX, &total, error) ||
            !cluster_json_get_int(o, "units", 0, total, &units, error) ||
            !once(l->seen, g_strdup_printf("group %" PRId64, f.group_id), error))
                return false;
        f.units = (uint32_t) units;
        f.total = (uint32_t) total;
        g_array_append_val(l->row->state.free, f);
        return true;
}

static bool reason_read(JsonObject *o, void *data, GError **error) {
        List *l = data;
        g_autofree char *address = NULL;
        const char *reason;

        if (!in_text(o, "address", "claims", "address", &address, error) ||
            !cluster_json_get_string(o, "reason", &reason, error))
                return false;
        if (!settings_description_valid(reason, error)) {
                g_prefix_error(error, "reason: ");
                return false;
        }
        if (!once(l->seen, g_strdup(address), error))
                return false;
        g_ptr_array_add(l->row->state.reboot_reasons, g_steal_pointer(&address));
        g_ptr_array_add(l->row->state.reboot_reasons, g_strdup(reason));
        return true;
}

static bool decode_state(JsonObject *o, ClusterRow *row, GError **error) {
        static const char *const names[] = { "devices", "free", "reboot_reasons", "units", NULL };
        static const char *const free[] = { "group", "total", "units", NULL }, *const reason[] = { "address", "reason", NULL };
        List l = { row };
        int64_t devices, units;

        row->state.free = g_array_new(false, false, sizeof(ClusterFree));
        row->state.reboot_reasons = g_ptr_array_new_with_free_func(g_free);
        if (!cluster_json_members(o, names, error) ||
            !cluster_json_get_int(o, "devices", 0, UINT32_MAX, &devices, error) ||
            !list_read(o, "free", free, free_read, &l, error) ||
            !list_read(o, "reboot_reasons", reason, reason_read, &l, error) ||
            !cluster_json_get_int(o, "units", 0, UINT32_MAX, &units, error))
                return false;
        row->state.devices = (uint32_t) devices;
        row->state.units = (uint32_t) units;
        return true;
}

static bool generation_read(JsonObject *o, void *data, GError **error) {
        List *l = data;
        ClusterGeneration g;

        if (!in_int(o, "generation", "attachments", "generation", &g.generation, error) ||
            !in_id(o, "id", &g.attachment_id, error) ||
            !once(l->seen, g_strdup_printf("attachment %" PRId64, g.attachment_id), error))
                return false;
        g_array_append_val(l->row->claims.generations, g);
        return true;
}

/* A device's claim or hold: the address once, a MAC or "". */
static StoreClaim *device_read(JsonObject *o, List *l, const char *table, GError **error) {
        g_autoptr(StoreClaim) c = g_new0(StoreClaim, 1);

        if (!in_text(o, "address", table, "address", &c->address, error) ||
            !in_text(o, "mac", table, "mac", &c->mac, error) || !once(l->seen, g_strdup(c->address), error))
                return NULL;
        c->holder = g_strdup(l->key->name);
        return g_steal_pointer(&c);
}

static bool claim_read(JsonObject *o, void *data, GError **error) {
        List *l = data;
        g_autoptr(StoreClaim) c = device_read(o, l, "claims", error);

        if (!c || !cluster_json_get_int_or_null(o, "attachment_id", 1, INT64_MAX, &c->attachment_id, error))
                return false;
        g_ptr_array_add(l->row->claims.devices, g_steal_pointer(&c));
        return true;
}

static bool decode_claims(JsonObject *o, ClusterRow *row, const ClusterKey *k, GError **error) {
        static const char *const names[] = { "attachments", "devices", "uuid", NULL };
        static const char *const generation[] = { "generation", "id", NULL };
        static const char *const device[] = { "address", "attachment_id", "mac", NULL };
        ClusterClaims *c = &row->claims;
        List l = { row, k };

        c->devices = g_ptr_array_new_with_free_func((GDestroyNotify) store_claim_free);
        c->generations = g_array_new(false, false, sizeof(ClusterGeneration));
        if (!cluster_json_members(o, names, error) || !in_text(o, "uuid", "claims", "uuid", &c->uuid, error) ||
            !list_read(o, "attachments", generation, generation_read, &l, error) ||
            !list_read(o, "devices", device, claim_read, &l, error))
                return false;
        for (guint i = 0; i < c->devices->len; i++)
                ((StoreClaim *) c->devices->pdata[i])->uuid = g_strdup(c->uuid);
        return true;
}

static bool hold_read(JsonObject *o, void *data, GError **error) {
        List *l = data;
        g_autoptr(StoreClaim) c = device_read(o, l, "tenant_holds", error);

        if (!c || !in_int(o, "group_id", "tenant_holds", "group_id", &c->group_id, error))
                return false;
        c->tenant = true;
        c->uuid = g_strdup("");
        g_ptr_array_add(l->row->holds, g_steal_pointer(&c));
        return true;
}

static bool decode_holds(JsonObject *o, ClusterRow *row, const ClusterKey *k, GError **error) {
        static const char *const names[] = { "devices", NULL };
        static const char *const device[] = { "address", "group_id", "mac", NULL };
        List l = { row, k };

        row->holds = g_ptr_array_new_with_free_func((GDestroyNotify) store_claim_free);
        return cluster_json_members(o, names, error) && list_read(o, "devices", device, hold_read, &l, error);
}

/* An address of a node's table once: the table's key. */
/* The value's own reading; the caller says which key it is of. */
static bool value_decode(ClusterRow *row, const char *value, gsize len, GError **error) {
        const ClusterKey *k = &row->key;

        switch (k->kind) {
        case CLUSTER_KEY_IDS:
        case CLUSTER_KEY_GROUP_NAME:
        case CLUSTER_KEY_RULE_NAME: {
                g_autofree char *text = len <= 20 && !memchr(value, '\0', len) ? g_strndup(value, len) : NULL;
                if (text && cluster_id_parse(text, &row->id))
                        return true;
                g_set_error_literal(error, CLUSTER_CODEC_ERROR, CLUSTER_CODEC_ERROR_VALUE,
                                    "not an id (1 to 9223372036854775807, in decimal)");
                return false;
        }
        default:
                break;
        }
        g_autoptr(JsonNode) root = cluster_json_parse(value, len, CLUSTER_VALUE_MAX, CLUSTER_VALUE_DEPTH, error);
        if (!root)
                return false;
        JsonObject *o = json_node_get_object(root);
        switch (k->kind) {
        case CLUSTER_KEY_GROUP: return decode_group(o, k, row, error);
        case CLUSTER_KEY_RULE: return decode_rule(o, k, row, error);
        case CLUSTER_KEY_ATTACHMENT: return decode_attachment(o, k, row, error);
        case CLUSTER_KEY_MAC: return decode_mac(o, row, error);
        case CLUSTER_KEY_MACHINE: return decode_machine(o, row, error);
        case CLUSTER_KEY_NODE: return decode_node(o, row, error);
        case CLUSTER_KEY_ALIVE: return decode_alive(o, row, error);
        case CLUSTER_KEY_STATE: return decode_state(o, row, error);
        case CLUSTER_KEY_CLAIMS: return decode_claims(o, row, k, error);
        case CLUSTER_KEY_HOLDS: return decode_holds(o, row, k, error);
        default: return cluster_json_members(o, (const char *const[]) { NULL }, error);
        }
}

ClusterRow *cluster_row_decode(const char *prefix, const char *key, gsize key_len, const char *value,
                               gsize value_len, GError **error) {
        g_autoptr(ClusterRow) row = g_new0(ClusterRow, 1);
        g_autoptr(GError) e = NULL;

        if (!cluster_key_parse(prefix, key, key_len, &row->key, error))
                return NULL;
        if (value_decode(row, value, value_len, &e)) {
                g_autofree char *again = cluster_row_encode(row);
                if (strlen(again) == value_len && memcmp(again, value, value_len) == 0)
                        return g_steal_pointer(&row);
                g_set_error_literal(&e, CLUSTER_CODEC_ERROR, CLUSTER_CODEC_ERROR_VALUE,
                                    "not as devpass writes it (white space, the order of members or of a list, "
                                    "a member twice, or another spelling of a number or string)");
        }
        g_autofree char *k = cluster_key_build("", &row->key);
        cluster_value_invalid(error, "The etcd value of %s is not devpass's: %s", k, e->message);
        return NULL;
}
