/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a change touches beyond the object it is made on: the groups whose
 * devices a rule change takes or puts into conflict. The bus names them
 * all to polkit, so an administrator scoped to one group cannot reach
 * into another's through a rule. Reads only; linear in the node. */
#include "assign.h"
#include "model-private.h"
#include "rules.h"

/* device -> the groups of every rule but skip that matches it now. */
static GHashTable *groups_by_device(Model *m, const ModelRule *skip) {
        GHashTable *index = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify) g_hash_table_unref);
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->rules);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const ModelRule *r = value;
                if (r == skip)
                        continue;
                for (guint i = 0; i < r->devices->len; i++) {
                        GHashTable *groups = g_hash_table_lookup(index, r->devices->pdata[i]);
                        if (!groups) {
                                groups = g_hash_table_new(NULL, NULL);
                                g_hash_table_insert(index, r->devices->pdata[i], groups);
                        }
                        g_hash_table_add(groups, r->group);
                }
        }
        return index;
}

GPtrArray *model_rule_scope(Model *m, const ModelRule *r, ModelGroup *target, const StoreRule *next,
                            GPtrArray *conditions) {
        g_autoptr(GHashTable) groups = g_hash_table_new(NULL, NULL);

        g_hash_table_add(groups, target);
        /* What it matches now leaves its group, or settles a conflict. */
        if (r) {
                g_hash_table_add(groups, r->group);
                for (guint i = 0; i < r->conflicts->len; i++)
                        g_hash_table_add(groups, (gpointer) g_array_index(r->conflicts, ModelConflict, i).other->group);
        }
        /* What it would match joins it, or is in conflict with its group. */
        if (next && next->enabled && conditions && conditions->len > 0 && assign_rule_applies(next->node, m->node)) {
                g_autoptr(GHashTable) index = groups_by_device(m, r);
                GPtrArray *devices = inventory_sorted(m->inventory);
                for (guint i = 0; i < devices->len; i++) {
                        GHashTable *others = g_hash_table_lookup(index, devices->pdata[i]);
                        if (!others || !rule_conditions_match(conditions, devices->pdata[i]))
                                continue;
                        GHashTableIter it;
                        gpointer key;
                        g_hash_table_iter_init(&it, others);
                        while (g_hash_table_iter_next(&it, &key, NULL))
                                g_hash_table_add(groups, key);
                }
        }
        GPtrArray *list = g_ptr_array_new();
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, groups);
        while (g_hash_table_iter_next(&it, &key, NULL))
                g_ptr_array_add(list, key);
        return list;
}
