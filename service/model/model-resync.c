/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory brought to what the store holds, with every difference marked as
 * the change functions mark it. A node of a cluster takes in this way what
 * other nodes changed (its store is the replica that etcd's watch writes),
 * and takes back a change that etcd refused after the model had made it. */
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
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Rows, rows_clear);

/* Ids present in rows (each row starts with its int64 id). */
static GHashTable *ids_of(GPtrArray *rows) {
        GHashTable *ids = g_hash_table_new(g_int64_hash, g_int64_equal);

        for (guint i = 0; i < rows->len; i++)
                g_hash_table_add(ids, rows->pdata[i]);
        return ids;
}

/* Everything read, and every rule that needs it compiled, before memory
 * is touched: a failure here leaves the model as it was. */
static bool rows_load(Model *m, Rows *r, GError **error) {
        if (!(r->groups = store_groups_load(m->store, error)) || !(r->rules = store_rules_load(m->store, error)) ||
            !(r->attachments = store_attachments_load(m->store, error)) ||
            !(r->claims = store_claims_load(m->store, error)) ||
            !(r->group_macs = store_group_macs_load(m->store, error)) ||
            !(r->intents = store_passthrough_load(m->store, error)) || !(r->sriov = store_sriov_load(m->store, error)) ||
            !(r->overrides = store_overrides_load(m->store, error)))
                return false;
        r->conditions = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
        for (guint i = 0; i < r->rules->len; i++) {
                const StoreRule *s = r->rules->pdata[i];
                const ModelRule *old = g_hash_table_lookup(m->rules, &s->id);
                if (old && model_conditions_equal(old->settings->conditions, s->conditions))
                        continue;
                GPtrArray *conditions = model_conditions_compile(s->conditions, error);
                if (!conditions)
                        return false;
                g_hash_table_insert(r->conditions, model_id_new(s->id), conditions);
        }
        return true;
}

/* Objects the store no longer has go, attachments and rules before the
 * groups they point at. */
static void forget_gone(Model *m, const Rows *r) {
        g_autoptr(GHashTable) groups = ids_of(r->groups);
        g_autoptr(GHashTable) rules = ids_of(r->rules);
        g_autoptr(GHashTable) attachments = ids_of(r->attachments);
        g_autoptr(GPtrArray) gone = g_ptr_array_new();
        GHashTableIter it;
        gpointer key, value;

        g_hash_table_iter_init(&it, m->attachments);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!g_hash_table_contains(attachments, key))
                        g_ptr_array_add(gone, value);
        for (guint i = 0; i < gone->len; i++)
                model_attachment_forget(m, gone->pdata[i]);
        g_ptr_array_set_size(gone, 0);
        g_hash_table_iter_init(&it, m->rules);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!g_hash_table_contains(rules, key))
                        g_ptr_array_add(gone, value);
        for (guint i = 0; i < gone->len; i++)
                model_rule_forget(m, gone->pdata[i]);
        g_ptr_array_set_size(gone, 0);
        g_hash_table_iter_init(&it, m->groups);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!g_hash_table_contains(groups, key))
                        g_ptr_array_add(gone, value);
        for (guint i = 0; i < gone->len; i++)
                model_group_forget(m, gone->pdata[i]);
}

static void groups_take(Model *m, GPtrArray *rows) {
        for (guint i = 0; i < rows->len; i++) {
                StoreGroup *s = rows->pdata[i];
                ModelGroup *g = g_hash_table_lookup(m->groups, &s->id);
                if (g) {
                        model_group_settings_set(m, g, s);
                        continue;
                }
                g = model_group_new(m, g_steal_pointer(&rows->pdata[i]));
                model_group_add(m, g);
                g_ptr_array_add(m->changes->added, g_strdup(g->path));
        }
}

static void rules_take(Model *m, Rows *r) {
        for (guint i = 0; i < r->rules->len; i++) {
                StoreRule *s = r->rules->pdata[i];
                ModelGroup *g = g_hash_table_lookup(m->groups, &s->group_id);
                ModelRule *rule = g_hash_table_lookup(m->rules, &s->id);
                gpointer key = NULL, conditions = NULL;

                if (g_hash_table_steal_extended(r->conditions, &s->id, &key, &conditions))
                        g_free(key);
                else
                        conditions = g_ptr_array_ref(rule->conditions);
                if (rule) {
                        model_rule_settings_set(m, rule, g, g_steal_pointer(&r->rules->pdata[i]), conditions);
                        continue;
                }
                rule = model_rule_new(m, g_steal_pointer(&r->rules->pdata[i]), conditions, g);
                model_rule_add(m, rule);
                g_ptr_array_add(m->changes->added, g_strdup(rule->path));
                model_mark(m->changes->groups, g, PROP_BIT(GROUP_PROP_RULES));
        }
}

static void attachments_take(Model *m, GPtrArray *rows) {
        for (guint i = 0; i < rows->len; i++) {
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

/* Claims and holds as the store has them; the MACs they, the
 * attachments and tenants' groups own, again. */
static void claims_take(Model *m, GPtrArray *rows, GHashTable *group_macs) {
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
}

static void table_take(GHashTable **table, GHashTable **rows) {
        g_hash_table_unref(*table);
        *table = g_steal_pointer(rows);
}

bool model_resync(Model *m, GError **error) {
        g_auto(Rows) rows = { 0 };

        if (!rows_load(m, &rows, error))
                return false;
        forget_gone(m, &rows);
        groups_take(m, rows.groups);
        rules_take(m, &rows);
        attachments_take(m, rows.attachments);
        claims_take(m, rows.claims, rows.group_macs);
        table_take(&m->intents, &rows.intents);
        table_take(&m->sriov, &rows.sriov);
        table_take(&m->overrides, &rows.overrides);
        model_passthrough_facts_sync(m);
        model_refresh(m);
        return true;
}
