/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encoding: each row's members written in the order of their names,
 * its lists sorted, whatever order the caller's arrays and tables are
 * in. */
#include "rows.h"

#include <inttypes.h>
#include <string.h>
#include <gio/gio.h>

#include "address.h"
#include "rows-json.h"

/* ---- order ---- */

/* Lists of functions go in address_compare()'s order, as the bus lists
 * them (text order puts 10000:00:00.0 before 0001:00:00.0); the others
 * in the order of their ids. Each element's key is computed once. */
typedef uint64_t (*KeyOf)(gconstpointer element);

typedef struct {
        uint64_t key;
        gpointer element;
} Keyed;

static gint keyed_order(gconstpointer a, gconstpointer b) {
        uint64_t x = ((const Keyed *) a)->key, y = ((const Keyed *) b)->key;
        return (x > y) - (x < y);
}

/* The elements, borrowed (a g_ptr_array_copy() would free them too). */
static GPtrArray *borrowed(GPtrArray *elements) {
        GPtrArray *a = g_ptr_array_sized_new(elements->len);

        g_ptr_array_extend(a, elements, NULL, NULL);
        return a;
}

static GPtrArray *sorted(GPtrArray *elements, KeyOf key_of) {
        g_autoptr(GArray) keyed = g_array_sized_new(false, false, sizeof(Keyed), elements->len);
        GPtrArray *a = g_ptr_array_sized_new(elements->len);

        for (guint i = 0; i < elements->len; i++)
                g_array_append_val(keyed, ((Keyed) { key_of(elements->pdata[i]), elements->pdata[i] }));
        g_array_sort(keyed, keyed_order);
        for (guint i = 0; i < keyed->len; i++)
                g_ptr_array_add(a, g_array_index(keyed, Keyed, i).element);
        return a;
}

static uint64_t address_key(const char *address) {
        DpAddress a;

        return address_parse(address, &a) ? address_to_key(&a) : UINT64_MAX;
}

static uint64_t claim_key(gconstpointer element) {
        return address_key(((const StoreClaim *) element)->address);
}

/* A pair of model_reboot_reasons(): its address. */
static uint64_t pair_key(gconstpointer element) {
        return address_key(*(char *const *) element);
}

/* A struct whose first member is a (positive) id. */
static uint64_t id_key(gconstpointer element) {
        return (uint64_t) *(const int64_t *) element;
}

static GPtrArray *structs_sorted(GArray *elements) {
        g_autoptr(GPtrArray) a = g_ptr_array_sized_new(elements->len);

        for (guint i = 0; i < elements->len; i++)
                g_ptr_array_add(a, elements->data + i * g_array_get_element_size(elements));
        return sorted(a, id_key);
}

static GPtrArray *pairs_sorted(GPtrArray *pairs) {
        g_autoptr(GPtrArray) a = g_ptr_array_sized_new(pairs->len / 2);

        for (guint i = 0; i + 1 < pairs->len; i += 2)
                g_ptr_array_add(a, &pairs->pdata[i]);
        return sorted(a, pair_key);
}

/* ---- encoding ---- */

static void out_text(GString *s, const char *key, const char *v) {
        cluster_json_key(s, key);
        cluster_json_string(s, v);
}

static void out_int(GString *s, const char *key, int64_t v) {
        cluster_json_key(s, key);
        cluster_json_int(s, v);
}

static void out_bool(GString *s, const char *key, bool v) {
        cluster_json_key(s, key);
        cluster_json_bool(s, v);
}

/* A list of objects, each written by write(s, element, data); the
 * elements array is taken. */
typedef void (*ElementWrite)(GString *s, const void *element, const void *data);

static void out_list(GString *s, const char *key, GPtrArray *elements, ElementWrite write, const void *data) {
        g_autoptr(GPtrArray) a = elements;

        cluster_json_key(s, key);
        cluster_json_open(s, '[');
        for (guint i = 0; i < a->len; i++) {
                cluster_json_open(s, '{');
                write(s, a->pdata[i], data);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
}

static void encode_group(GString *s, const StoreGroup *g) {
        out_text(s, "class", g->class_name);
        out_text(s, "description", g->description);
        out_text(s, "name", g->name);
        out_text(s, "tenant", g->tenant);
        out_text(s, "tenant_node", g->tenant_node);
        out_text(s, "type", g->type);
}

static void condition_write(GString *s, const void *element, const void *data) {
        const StoreCondition *c = element;

        out_text(s, "field", c->field);
        out_text(s, "op", c->op);
        out_text(s, "value", c->value);
}

static void encode_rule(GString *s, const StoreRule *r) {
        /* In their order: the rule's conditions are a list, not a set. */
        out_list(s, "conditions", borrowed(r->conditions), condition_write, NULL);
        out_bool(s, "enabled", r->enabled);
        out_int(s, "group_id", r->group_id);
        out_text(s, "name", r->name);
        out_text(s, "node", r->node);
}

static void encode_attachment(GString *s, const StoreAttachment *a) {
        out_int(s, "claimed_generation", a->claimed_generation);
        out_int(s, "count", a->count);
        out_text(s, "description", a->description);
        out_int(s, "generation", a->generation);
        out_int(s, "group_id", a->group_id);
        out_text(s, "machine", a->machine);
        cluster_json_key(s, "macs");
        cluster_json_open(s, '[');
        for (size_t i = 0; a->macs && a->macs[i]; i++)
                cluster_json_string(s, a->macs[i]);
        cluster_json_close(s, ']');
        out_text(s, "name", a->name);
        out_bool(s, "optional", a->optional);
        out_text(s, "tenant", a->tenant);
        out_text(s, "type", a->type);
}

static void free_write(GString *s, const void *element, const void *data) {
        const ClusterFree *f = element;

        out_int(s, "group", f->group_id);
        out_int(s, "total", f->total);
        out_int(s, "units", f->units);
}

static void reason_write(GString *s, const void *element, const void *data) {
        char *const *pair = element;

        out_text(s, "address", pair[0]);
        out_text(s, "reason", pair[1]);
}

static void encode_state(GString *s, const ClusterState *st) {
        out_int(s, "devices", st->devices);
        out_list(s, "free", structs_sorted(st->free), free_write, NULL);
        out_list(s, "reboot_reasons", pairs_sorted(st->reboot_reasons), reason_write, NULL);
        out_int(s, "units", st->units);
}

static void generation_write(GString *s, const void *element, const void *data) {
        const ClusterGeneration *g = element;

        out_int(s, "generation", g->generation);
        out_int(s, "id", g->attachment_id);
}

static void claim_write(GString *s, const void *element, const void *data) {
        const StoreClaim *c = element;

        out_text(s, "address", c->address);
        cluster_json_key(s, "attachment_id");
        if (c->attachment_id)
                cluster_json_int(s, c->attachment_id);
        else
                cluster_json_null(s);
        out_text(s, "mac", c->mac);
}

static void encode_claims(GString *s, const ClusterClaims *c) {
        out_list(s, "attachments", structs_sorted(c->generations), generation_write, NULL);
        out_list(s, "devices", sorted(c->devices, claim_key), claim_write, NULL);
        out_text(s, "uuid", c->uuid);
}

static void hold_write(GString *s, const void *element, const void *data) {
        const StoreClaim *c = element;

        out_text(s, "address", c->address);
        out_int(s, "group_id", c->group_id);
        out_text(s, "mac", c->mac);
}

char *cluster_row_encode(const ClusterRow *row) {
        g_autoptr(GString) s = g_string_new(NULL);

        switch (row->key.kind) {
        case CLUSTER_KEY_IDS:
        case CLUSTER_KEY_GROUP_NAME:
        case CLUSTER_KEY_RULE_NAME:
                /* The id alone, in decimal: a JSON number too. */
                cluster_json_int(s, row->id);
                return g_string_free(g_steal_pointer(&s), false);
        default:
                break;
        }
        cluster_json_open(s, '{');
        switch (row->key.kind) {
        case CLUSTER_KEY_GROUP: encode_group(s, row->group); break;
        case CLUSTER_KEY_RULE: encode_rule(s, row->rule); break;
        case CLUSTER_KEY_ATTACHMENT: encode_attachment(s, row->attachment); break;
        case CLUSTER_KEY_MAC:
                if (row->mac.attachment_id)
                        out_int(s, "attachment", row->mac.attachment_id);
                else
                        out_int(s, "group", row->mac.group_id);
                break;
        case CLUSTER_KEY_MACHINE:
                out_text(s, "node", row->machine.node);
                out_text(s, "uuid", row->machine.uuid);
                break;
        case CLUSTER_KEY_NODE: out_int(s, "joined", row->joined); break;
        case CLUSTER_KEY_ALIVE:
                out_text(s, "boot", row->alive.boot_id);
                out_int(s, "since", row->alive.since);
                break;
        case CLUSTER_KEY_STATE: encode_state(s, &row->state); break;
        case CLUSTER_KEY_CLAIMS: encode_claims(s, &row->claims); break;
        case CLUSTER_KEY_HOLDS: out_list(s, "devices", sorted(row->holds, claim_key), hold_write, NULL); break;
        default: break;   /* a group's user: {} */
        }
        cluster_json_close(s, '}');
        return g_string_free(g_steal_pointer(&s), false);
}

void cluster_row_free(ClusterRow *row) {
        if (!row)
                return;
        switch (row->key.kind) {
        case CLUSTER_KEY_GROUP: store_group_free(row->group); break;
        case CLUSTER_KEY_RULE: store_rule_free(row->rule); break;
        case CLUSTER_KEY_ATTACHMENT: store_attachment_free(row->attachment); break;
        case CLUSTER_KEY_MACHINE:
                g_free(row->machine.node);
                g_free(row->machine.uuid);
                break;
        case CLUSTER_KEY_ALIVE: g_free(row->alive.boot_id); break;
        case CLUSTER_KEY_STATE:
                g_clear_pointer(&row->state.free, g_array_unref);
                g_clear_pointer(&row->state.reboot_reasons, g_ptr_array_unref);
                break;
        case CLUSTER_KEY_CLAIMS:
                g_free(row->claims.uuid);
                g_clear_pointer(&row->claims.devices, g_ptr_array_unref);
                g_clear_pointer(&row->claims.generations, g_array_unref);
                break;
        case CLUSTER_KEY_HOLDS: g_clear_pointer(&row->holds, g_ptr_array_unref); break;
                break;
        default: break;
        }
        cluster_key_clear(&row->key);
        g_free(row);
}
