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
#include "text.h"

/* ---- order ---- */

/* The order of lists of functions: address_compare(), as the bus lists
 * them (text order puts 10000:00:00.0 before 0001:00:00.0). */
static int address_order(const char *a, const char *b) {
        DpAddress x, y;

        if (address_parse(a, &x) && address_parse(b, &y))
                return address_compare(&x, &y);
        return strcmp(a, b);
}

static gint claim_order(gconstpointer a, gconstpointer b) {
        return address_order((*(StoreClaim *const *) a)->address, (*(StoreClaim *const *) b)->address);
}

static gint address_ptr_order(gconstpointer a, gconstpointer b) {
        return address_order(*(const char *const *) a, *(const char *const *) b);
}

/* Pairs and structs ordered by their first member: a string, an id. */
static gint pair_order(gconstpointer a, gconstpointer b) {
        return address_order(**(const char *const *const *) a, **(const char *const *const *) b);
}

static gint id_order(gconstpointer a, gconstpointer b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return (x > y) - (x < y);
}

static GPtrArray *claims_sorted(GPtrArray *claims) {
        GPtrArray *sorted = g_ptr_array_sized_new(claims->len);   /* borrowed: not a copy, which frees them */

        g_ptr_array_extend(sorted, claims, NULL, NULL);
        g_ptr_array_sort(sorted, claim_order);
        return sorted;
}

static GArray *ids_sorted(GArray *a) {
        GArray *sorted = g_array_copy(a);
        g_array_sort(sorted, id_order);
        return sorted;
}

static GPtrArray *addresses_sorted(GHashTable *table) {
        GPtrArray *keys = text_keys_sorted(table);
        g_ptr_array_sort(keys, address_ptr_order);
        return keys;
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

static void encode_group(GString *s, const StoreGroup *g) {
        out_text(s, "class", g->class_name);
        out_text(s, "description", g->description);
        out_text(s, "name", g->name);
        out_text(s, "tenant", g->tenant);
        out_text(s, "tenant_node", g->tenant_node);
        out_text(s, "type", g->type);
}

static void encode_rule(GString *s, const StoreRule *r) {
        cluster_json_key(s, "conditions");
        cluster_json_open(s, '[');
        for (guint i = 0; r->conditions && i < r->conditions->len; i++) {
                const StoreCondition *c = r->conditions->pdata[i];
                cluster_json_open(s, '{');
                out_text(s, "field", c->field);
                out_text(s, "op", c->op);
                out_text(s, "value", c->value);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
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

static void encode_state(GString *s, const ClusterState *st) {
        out_int(s, "devices", st->devices);
        cluster_json_key(s, "free");
        cluster_json_open(s, '[');
        g_autoptr(GArray) free = ids_sorted(st->free);
        for (guint i = 0; i < free->len; i++) {
                const ClusterFree *f = &g_array_index(free, ClusterFree, i);
                cluster_json_open(s, '{');
                out_int(s, "group", f->group_id);
                out_int(s, "units", f->units);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
        cluster_json_key(s, "reboot_reasons");
        cluster_json_open(s, '[');
        g_autoptr(GPtrArray) pairs = g_ptr_array_new();
        for (guint i = 0; i + 1 < st->reboot_reasons->len; i += 2)
                g_ptr_array_add(pairs, &st->reboot_reasons->pdata[i]);
        g_ptr_array_sort(pairs, pair_order);
        for (guint i = 0; i < pairs->len; i++) {
                char **pair = pairs->pdata[i];
                cluster_json_open(s, '{');
                out_text(s, "address", pair[0]);
                out_text(s, "reason", pair[1]);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
        out_int(s, "units", st->units);
}

static void encode_claims(GString *s, const ClusterClaims *c) {
        cluster_json_key(s, "attachments");
        cluster_json_open(s, '[');
        g_autoptr(GArray) generations = ids_sorted(c->generations);
        for (guint i = 0; i < generations->len; i++) {
                const ClusterGeneration *g = &g_array_index(generations, ClusterGeneration, i);
                cluster_json_open(s, '{');
                out_int(s, "generation", g->generation);
                out_int(s, "id", g->attachment_id);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
        cluster_json_key(s, "devices");
        cluster_json_open(s, '[');
        g_autoptr(GPtrArray) devices = claims_sorted(c->devices);
        for (guint i = 0; i < devices->len; i++) {
                const StoreClaim *d = devices->pdata[i];
                cluster_json_open(s, '{');
                out_text(s, "address", d->address);
                cluster_json_key(s, "attachment_id");
                if (d->attachment_id)
                        cluster_json_int(s, d->attachment_id);
                else
                        cluster_json_null(s);
                out_text(s, "mac", d->mac);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
        out_text(s, "uuid", c->uuid);
}

static void encode_holds(GString *s, GPtrArray *holds) {
        g_autoptr(GPtrArray) devices = claims_sorted(holds);

        cluster_json_key(s, "devices");
        cluster_json_open(s, '[');
        for (guint i = 0; i < devices->len; i++) {
                const StoreClaim *d = devices->pdata[i];
                cluster_json_open(s, '{');
                out_text(s, "address", d->address);
                out_int(s, "group_id", d->group_id);
                out_text(s, "mac", d->mac);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
}

static void encode_intents(GString *s, const ClusterIntents *in) {
        g_autoptr(GPtrArray) overrides = addresses_sorted(in->overrides);
        g_autoptr(GPtrArray) passthrough = addresses_sorted(in->passthrough);
        g_autoptr(GPtrArray) sriov = addresses_sorted(in->sriov);

        cluster_json_key(s, "overrides");
        cluster_json_open(s, '[');
        for (guint i = 0; i < overrides->len; i++)
                cluster_json_string(s, overrides->pdata[i]);
        cluster_json_close(s, ']');
        cluster_json_key(s, "passthrough");
        cluster_json_open(s, '[');
        for (guint i = 0; i < passthrough->len; i++) {
                const StorePassthrough *p = g_hash_table_lookup(in->passthrough, passthrough->pdata[i]);
                cluster_json_open(s, '{');
                out_text(s, "address", passthrough->pdata[i]);
                out_int(s, "class_code", p->class_code);
                out_int(s, "device_id", p->device_id);
                out_int(s, "group_id", p->group_id);
                out_int(s, "revision", p->revision);
                out_int(s, "subsystem_device_id", p->subsystem_device_id);
                out_int(s, "subsystem_vendor_id", p->subsystem_vendor_id);
                out_int(s, "vendor_id", p->vendor_id);
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
        cluster_json_key(s, "sriov");
        cluster_json_open(s, '[');
        for (guint i = 0; i < sriov->len; i++) {
                cluster_json_open(s, '{');
                out_text(s, "address", sriov->pdata[i]);
                out_int(s, "numvfs", GPOINTER_TO_UINT(g_hash_table_lookup(in->sriov, sriov->pdata[i])));
                cluster_json_close(s, '}');
        }
        cluster_json_close(s, ']');
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
        case CLUSTER_KEY_HOLDS: encode_holds(s, row->holds); break;
        case CLUSTER_KEY_INTENTS: encode_intents(s, &row->intents); break;
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
        case CLUSTER_KEY_INTENTS:
                g_clear_pointer(&row->intents.passthrough, g_hash_table_unref);
                g_clear_pointer(&row->intents.sriov, g_hash_table_unref);
                g_clear_pointer(&row->intents.overrides, g_hash_table_unref);
                break;
        default: break;
        }
        cluster_key_clear(&row->key);
        g_free(row);
}
