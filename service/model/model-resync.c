/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory brought to what the store holds, with every difference marked as
 * the change functions mark it. A node of a cluster takes in this way what
 * other nodes changed (its store is the replica that etcd's watch writes),
 * and takes back a change that etcd refused after the model had made it.
 *
 * Only the tables changed since the last resync are read again, and of
 * groups, rules and attachments only the rows changed (the store knows
 * them from the changes it records: store_dirty()), and devices
 * are matched against the rules again (model_refresh()) only when
 * something that decides where a device belongs differs, as the change
 * functions do: a rule, a group's settings but its description, a group
 * with devices gone, an intent, a VF count, an override, a tenant's hold
 * (its group holds exactly what it holds). A new group, an attachment or
 * a claim alone is judged as the change functions judge it: the devices
 * whose holder changed, and the attachments. Most changes a cluster
 * carries are such (a group made, a claim), and a full refresh is most
 * of a resync on a large node. */
#include <string.h>
#include <gio/gio.h>

#include "model-private.h"

typedef struct {
        GPtrArray *groups;         /* StoreGroup* */
        GPtrArray *rules;          /* StoreRule* */
        GPtrArray *attachments;    /* StoreAttachment* */
        GPtrArray *claims;         /* StoreClaim* */
        GHashTable *group_macs;    /* store_group_macs_load() */
        GHashTable *intents;
        GHashTable *sriov;
        GHashTable *overrides;
        GHashTable *conditions;    /* rule id -> compiled conditions, for rules new or changed */
        GArray *ids[STORE_TABLE_ATTACHMENTS + 1];  /* the ids read of groups, rules, attachments; NULL: all */
} Rows;

static void rows_clear(Rows *r) {
        g_clear_pointer(&r->groups, g_ptr_array_unref);
        g_clear_pointer(&r->rules, g_ptr_array_unref);
        g_clear_pointer(&r->attachments, g_ptr_array_unref);
        g_clear_pointer(&r->claims, g_ptr_array_unref);
        g_clear_pointer(&r->group_macs, g_hash_table_unref);
        g_clear_pointer(&r->intents, g_hash_table_unref);
        g_clear_pointer(&r->sriov, g_hash_table_unref);
        g_clear_pointer(&r->overrides, g_hash_table_unref);
        g_clear_pointer(&r->conditions, g_hash_table_unref);
        for (size_t i = 0; i < G_N_ELEMENTS(r->ids); i++)
                g_clear_pointer(&r->ids[i], g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Rows, rows_clear);

/* Ids present in rows (each row starts with its int64 id). */
static GHashTable *ids_of(GPtrArray *rows) {
        GHashTable *ids = g_hash_table_new(g_int64_hash, g_int64_equal);

        for (guint i = 0; i < rows->len; i++)
                g_hash_table_add(ids, rows->pdata[i]);
        return ids;
}

/* What the claims take again: the MACs, the attachments' and the tenants'
 * groups' (named after them), are owned anew with them. */
#define DIRTY_CLAIMS                                                                            \
        (STORE_DIRTY_TABLE(STORE_TABLE_CLAIMS) | STORE_DIRTY_TABLE(STORE_TABLE_HOLDS) |         \
         STORE_DIRTY_TABLE(STORE_TABLE_MACS) | STORE_DIRTY_TABLE(STORE_TABLE_ATTACHMENTS) |    \
         STORE_DIRTY_TABLE(STORE_TABLE_GROUPS))

static void *group_get(Store *s, int64_t id, GError **error) {
        return store_group_get(s, id, error);
}

static void *rule_get(Store *s, int64_t id, GError **error) {
        return store_rule_get(s, id, error);
}

static void *attachment_get(Store *s, int64_t id, GError **error) {
        return store_attachment_get(s, id, error);
}

static const struct {
        GPtrArray *(*load)(Store *s, GError **error);
        void *(*get)(Store *s, int64_t id, GError **error);
        GDestroyNotify free;
} tables[] = {
        [STORE_TABLE_GROUPS] = { store_groups_load, group_get, (GDestroyNotify) store_group_free },
        [STORE_TABLE_RULES] = { store_rules_load, rule_get, (GDestroyNotify) store_rule_free },
        [STORE_TABLE_ATTACHMENTS] = { store_attachments_load, attachment_get, (GDestroyNotify) store_attachment_free },
};

/* The rows of a table of objects: of the ids changed alone when the
 * store knows them (*ids), else every row; NULL on an error. */
static GPtrArray *objects_read(Store *s, StoreTable table, GArray **ids, GError **error) {
        if (!(*ids = store_dirty_ids(s, table)))
                return tables[table].load(s, error);
        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(tables[table].free);
        for (guint i = 0; i < (*ids)->len; i++) {
                GError *e = NULL;
                void *row = tables[table].get(s, g_array_index(*ids, int64_t, i), &e);
                if (e)
                        return g_propagate_error(error, e), NULL;
                if (row)
                        g_ptr_array_add(rows, row);
        }
        return g_steal_pointer(&rows);
}

/* The tables changed since the last resync read (store_dirty()), and
 * every rule that needs it compiled, before memory is touched: a failure
 * here leaves the model as it was. A table not read stays NULL. */
static bool rows_load(Model *m, Rows *r, guint dirty, GError **error) {
        Store *s = m->store;

        GArray **ids = r->ids;

        if (((dirty & STORE_DIRTY_TABLE(STORE_TABLE_GROUPS)) &&
             !(r->groups = objects_read(s, STORE_TABLE_GROUPS, &ids[STORE_TABLE_GROUPS], error))) ||
            ((dirty & STORE_DIRTY_TABLE(STORE_TABLE_RULES)) &&
             !(r->rules = objects_read(s, STORE_TABLE_RULES, &ids[STORE_TABLE_RULES], error))) ||
            ((dirty & STORE_DIRTY_TABLE(STORE_TABLE_ATTACHMENTS)) &&
             !(r->attachments = objects_read(s, STORE_TABLE_ATTACHMENTS, &ids[STORE_TABLE_ATTACHMENTS], error))) ||
            ((dirty & DIRTY_CLAIMS) && (!(r->claims = store_claims_load(s, error)) ||
                                        !(r->group_macs = store_group_macs_load(s, error)))) ||
            ((dirty & STORE_DIRTY_TABLE(STORE_TABLE_PASSTHROUGH)) && !(r->intents = store_passthrough_load(s, error))) ||
            ((dirty & STORE_DIRTY_SRIOV) && !(r->sriov = store_sriov_load(s, error))) ||
            ((dirty & STORE_DIRTY_OVERRIDES) && !(r->overrides = store_overrides_load(s, error))))
                return false;
        r->conditions = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
        for (guint i = 0; r->rules && i < r->rules->len; i++) {
                const StoreRule *rule = r->rules->pdata[i];
                const ModelRule *old = g_hash_table_lookup(m->rules, &rule->id);
                if (old && model_conditions_equal(old->settings->conditions, rule->conditions))
                        continue;
                GPtrArray *conditions = model_conditions_compile(rule->conditions, error);
                if (!conditions)
                        return false;
                g_hash_table_insert(r->conditions, model_id_new(rule->id), conditions);
        }
        return true;
}

/* The objects (by id) that rows, when read, no longer has: of those
 * read (read, when not NULL), or of all. */
static GPtrArray *gone_of(GHashTable *objects, GPtrArray *rows, GArray *read) {
        g_autoptr(GHashTable) present = rows ? ids_of(rows) : NULL;
        GPtrArray *gone = g_ptr_array_new();
        GHashTableIter it;
        gpointer key, value;

        if (!rows)
                return gone;
        for (guint i = 0; read && i < read->len; i++) {
                int64_t *id = &g_array_index(read, int64_t, i);
                if (!g_hash_table_contains(present, id) && (value = g_hash_table_lookup(objects, id)))
                        g_ptr_array_add(gone, value);
        }
        g_hash_table_iter_init(&it, objects);
        while (!read && g_hash_table_iter_next(&it, &key, &value))
                if (!g_hash_table_contains(present, key))
                        g_ptr_array_add(gone, value);
        return gone;
}

/* Objects the store no longer has go, attachments and rules before the
 * groups they point at. Whether devices must find their group again. */
static bool forget_gone(Model *m, const Rows *r) {
        g_autoptr(GPtrArray) attachments = gone_of(m->attachments, r->attachments, r->ids[STORE_TABLE_ATTACHMENTS]);
        bool refresh;

        for (guint i = 0; i < attachments->len; i++)
                model_attachment_forget(m, attachments->pdata[i]);
        g_autoptr(GPtrArray) rules = gone_of(m->rules, r->rules, r->ids[STORE_TABLE_RULES]);
        for (guint i = 0; i < rules->len; i++)
                model_rule_forget(m, rules->pdata[i]);
        refresh = rules->len > 0;
        g_autoptr(GPtrArray) groups = gone_of(m->groups, r->groups, r->ids[STORE_TABLE_GROUPS]);
        for (guint i = 0; i < groups->len; i++) {
                ModelGroup *g = groups->pdata[i];
                refresh |= g->devices->len > 0;
                model_group_forget(m, g);
        }
        return refresh;
}

/* Whether a group's settings changed beyond its description (a name
 * shows in devices' blockers, a type and a tenant decide its devices). */
static bool groups_take(Model *m, GPtrArray *rows) {
        bool refresh = false;

        for (guint i = 0; rows && i < rows->len; i++) {
                StoreGroup *s = rows->pdata[i];
                ModelGroup *g = g_hash_table_lookup(m->groups, &s->id);
                if (g) {
                        refresh |= (model_group_settings_set(m, g, s) & ~PROP_BIT(GROUP_PROP_DESCRIPTION)) != 0;
                        continue;
                }
                g = model_group_new(m, g_steal_pointer(&rows->pdata[i]));
                model_group_add(m, g);
                g_ptr_array_add(m->changes->added, g_strdup(g->path));
        }
        return refresh;
}

/* Whether a rule is new or changed. */
static bool rules_take(Model *m, Rows *r) {
        bool refresh = false;

        for (guint i = 0; r->rules && i < r->rules->len; i++) {
                StoreRule *s = r->rules->pdata[i];
                ModelGroup *g = g_hash_table_lookup(m->groups, &s->group_id);
                ModelRule *rule = g_hash_table_lookup(m->rules, &s->id);
                gpointer key = NULL, conditions = NULL;

                if (g_hash_table_steal_extended(r->conditions, &s->id, &key, &conditions))
                        g_free(key);
                else
                        conditions = g_ptr_array_ref(rule->conditions);
                if (rule) {
                        refresh |= model_rule_settings_set(m, rule, g, g_steal_pointer(&r->rules->pdata[i]),
                                                           conditions) != 0;
                        continue;
                }
                rule = model_rule_new(m, g_steal_pointer(&r->rules->pdata[i]), conditions, g);
                model_rule_add(m, rule);
                g_ptr_array_add(m->changes->added, g_strdup(rule->path));
                model_mark(m->changes->groups, g, PROP_BIT(GROUP_PROP_RULES));
                refresh = true;
        }
        return refresh;
}

static void attachments_take(Model *m, GPtrArray *rows) {
        for (guint i = 0; rows && i < rows->len; i++) {
                StoreAttachment *s = rows->pdata[i];
                ModelAttachment *a = g_hash_table_lookup(m->attachments, &s->id);
                if (a) {
                        model_attachment_settings_set(m, a, g_steal_pointer(&rows->pdata[i]));
                        continue;
                }
                a = model_attachment_new(m, g_steal_pointer(&rows->pdata[i]));
                model_attachment_add(m, a);
                g_ptr_array_add(m->changes->added, g_strdup(a->path));
        }
}

/* Who holds each device, a machine and a tenant's group: address ->
 * "machine\ntenant\ngroup id" ("machine\n" for a claim alone). */
static GHashTable *holders_of(Model *m) {
        GHashTable *holders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        GHashTableIter it;
        gpointer key, value;

        g_hash_table_iter_init(&it, m->claims);
        while (g_hash_table_iter_next(&it, &key, &value))
                g_hash_table_insert(holders, g_strdup(key), g_strconcat(((StoreClaim *) value)->holder, "\n", NULL));
        g_hash_table_iter_init(&it, m->holds);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                const StoreClaim *hold = value;
                const char *machine = g_hash_table_lookup(holders, key);
                g_hash_table_insert(holders, g_strdup(key), g_strdup_printf("%s%s\n%" G_GINT64_FORMAT, machine ?: "\n",
                                                                            hold->holder, hold->group_id));
        }
        return holders;
}

/* The tenant's part of a holders_of() value ("" for none). */
static const char *holders_tenant(const char *holders) {
        const char *nl = holders ? strchr(holders, '\n') : NULL;
        return nl ? nl + 1 : "";
}

/* The addresses of a whose holders b has otherwise, or not at all. */
static void holders_diff(GHashTable *a, GHashTable *b, GPtrArray *changed) {
        GHashTableIter it;
        gpointer key, value;

        g_hash_table_iter_init(&it, a);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (g_strcmp0(value, g_hash_table_lookup(b, key)) != 0)
                        g_ptr_array_add(changed, g_strdup(key));
}

/* Claims and holds as the store has them; the MACs they, the
 * attachments and tenants' groups own, again. The addresses whose holder
 * changed; *holds_moved: whether a tenant's hold did (a tenant's group
 * holds exactly what the tenant holds: its devices are laid out again). */
static GPtrArray *claims_take(Model *m, GPtrArray *rows, GHashTable *group_macs, bool *holds_moved) {
        g_autoptr(GHashTable) before = holders_of(m);
        GPtrArray *changed = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer value;

        g_hash_table_remove_all(m->held_by);
        g_hash_table_remove_all(m->claims);
        g_hash_table_remove_all(m->holds);
        g_hash_table_remove_all(m->macs);
        for (guint i = 0; i < rows->len; i++)
                model_claim_take(m, g_steal_pointer(&rows->pdata[i]));
        g_hash_table_iter_init(&it, m->attachments);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const ModelAttachment *a = value;
                g_autofree char *owner = model_attachment_owner(a->settings);
                model_macs_own(m, a->settings->macs, owner);
        }
        model_group_macs_own(m, group_macs);
        g_autoptr(GHashTable) after = holders_of(m);
        holders_diff(after, before, changed);
        /* Released: in before alone. */
        g_hash_table_iter_init(&it, before);
        gpointer key;
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (!g_hash_table_contains(after, key))
                        g_ptr_array_add(changed, g_strdup(key));
        for (guint i = 0; i < changed->len; i++)
                *holds_moved |= !g_str_equal(holders_tenant(g_hash_table_lookup(before, changed->pdata[i])),
                                             holders_tenant(g_hash_table_lookup(after, changed->pdata[i])));
        return changed;
}

/* Whether two tables have the same keys, and the same values by equal
 * (NULL: sets, keys alone). */
static bool tables_equal(GHashTable *a, GHashTable *b, GEqualFunc equal) {
        GHashTableIter it;
        gpointer key, value, other;

        if (g_hash_table_size(a) != g_hash_table_size(b))
                return false;
        g_hash_table_iter_init(&it, a);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!g_hash_table_lookup_extended(b, key, NULL, &other) || (equal && !equal(value, other)))
                        return false;
        return true;
}

static gboolean intents_equal(gconstpointer a, gconstpointer b) {
        return model_passthrough_equal(a, b);
}

/* Replaces *table by *rows when read; whether they differed. */
static bool table_take(GHashTable **table, GHashTable **rows, GEqualFunc equal) {
        if (!*rows)
                return false;
        bool same = tables_equal(*table, *rows, equal);

        g_hash_table_unref(*table);
        *table = g_steal_pointer(rows);
        return !same;
}

bool model_resync(Model *m, GError **error) {
        g_auto(Rows) rows = { 0 };
        bool refresh = false;

        if (!rows_load(m, &rows, store_dirty(m->store), error))
                return false;
        store_dirty_clear(m->store);
        refresh |= forget_gone(m, &rows);
        refresh |= groups_take(m, rows.groups);
        refresh |= rules_take(m, &rows);
        attachments_take(m, rows.attachments);
        bool holds_moved = false;
        g_autoptr(GPtrArray) held = rows.claims ? claims_take(m, rows.claims, rows.group_macs, &holds_moved)
                                                : g_ptr_array_new();
        refresh |= holds_moved;
        refresh |= table_take(&m->intents, &rows.intents, intents_equal);
        refresh |= table_take(&m->sriov, &rows.sriov, g_direct_equal);
        refresh |= table_take(&m->overrides, &rows.overrides, NULL);
        model_passthrough_facts_sync(m);
        if (refresh)
                model_refresh(m);
        else
                model_refresh_holders(m, held, NULL);
        return true;
}
