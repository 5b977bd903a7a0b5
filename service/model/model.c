/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "model.h"

#include <string.h>
#include <gio/gio.h>

#include "model-private.h"
#include "rules.h"
#include "text.h"

/* ---- changes ---- */

static void removed_free(gpointer p) {
        ModelRemoved *r = p;

        g_free(r->path);
        g_free(r);
}

static ModelChanges *changes_new(void) {
        ModelChanges *c = g_new0(ModelChanges, 1);
        c->devices = g_hash_table_new(NULL, NULL);
        c->groups = g_hash_table_new(NULL, NULL);
        c->rules = g_hash_table_new(NULL, NULL);
        c->attachments = g_hash_table_new(NULL, NULL);
        c->added = g_ptr_array_new_with_free_func(g_free);
        c->removed = g_ptr_array_new_with_free_func(removed_free);
        return c;
}

void model_changes_free(ModelChanges *c) {
        if (!c)
                return;
        g_hash_table_unref(c->devices);
        g_hash_table_unref(c->groups);
        g_hash_table_unref(c->rules);
        g_hash_table_unref(c->attachments);
        g_ptr_array_unref(c->added);
        g_ptr_array_unref(c->removed);
        g_free(c);
}

bool model_room_check(guint have, guint adding, guint max, const char *what, GError **error) {
        if (have + adding <= max)
                return true;
        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "devpassd keeps at most %u %s, and has %u: delete "
                           "some first", max, what, have), false;
}

void model_mark(GHashTable *table, gpointer object, guint bits) {
        if (bits)
                g_hash_table_insert(table, object,
                                    GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(table, object)) | bits));
}

void model_mark_removed(Model *m, const char *path, ModelObjectKind kind) {
        ModelRemoved *r = g_new0(ModelRemoved, 1);

        r->path = g_strdup(path);
        r->kind = kind;
        g_ptr_array_add(m->changes->removed, r);
}

ModelChanges *model_take_changes(Model *m) {
        ModelChanges *c = m->changes;
        m->changes = changes_new();
        return c;
}

bool model_commit_or_rollback(Model *m, bool ok, GError **error) {
        if (ok && store_commit(m->store, error))
                return true;
        store_rollback(m->store);
        return false;
}

/* ---- objects ---- */

ModelGroup *model_group_new(Model *m, StoreGroup *settings) {
        ModelGroup *g = g_new0(ModelGroup, 1);
        g->id = settings->id;
        g->path = g_strdup_printf("%s/%" G_GINT64_FORMAT, m->group_prefix, g->id);
        g->settings = settings;
        g->rules = g_ptr_array_new();
        g->devices = g_ptr_array_new();
        g->units = units_new(g->devices);
        g->node = m->node;
        g->elsewhere = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return g;
}

void model_group_free(ModelGroup *g) {
        g_free(g->path);
        store_group_free(g->settings);
        g_ptr_array_unref(g->rules);
        g_ptr_array_unref(g->devices);
        units_free(g->units);
        g_hash_table_unref(g->elsewhere);
        g_free(g);
}

ModelRule *model_rule_new(Model *m, StoreRule *settings, GPtrArray *conditions, ModelGroup *g) {
        ModelRule *r = g_new0(ModelRule, 1);
        r->id = settings->id;
        r->path = g_strdup_printf("%s/%" G_GINT64_FORMAT, m->rule_prefix, r->id);
        r->settings = settings;
        r->conditions = conditions;
        r->group = g;
        r->devices = g_ptr_array_new();
        r->conflicts = g_array_new(FALSE, FALSE, sizeof(ModelConflict));
        return r;
}

void model_rule_free(ModelRule *r) {
        g_free(r->path);
        store_rule_free(r->settings);
        g_ptr_array_unref(r->conditions);
        g_ptr_array_unref(r->devices);
        g_array_unref(r->conflicts);
        g_free(r);
}

gint64 *model_id_new(int64_t id) {
        return g_memdup2(&(gint64) { id }, sizeof(gint64));
}

static gint by_id(gconstpointer a, gconstpointer b) {
        const ModelRule *x = *(ModelRule *const *) a, *y = *(ModelRule *const *) b;
        return (x->id > y->id) - (x->id < y->id);
}

void model_group_add(Model *m, ModelGroup *g) {
        g_hash_table_insert(m->groups, model_id_new(g->id), g);
        g_hash_table_insert(m->group_paths, g->path, g);
        g_hash_table_insert(m->group_names, g->settings->name, g);
}

void model_rule_attach(ModelRule *r, ModelGroup *g) {
        r->group = g;
        g_ptr_array_add(g->rules, r);
        g_ptr_array_sort(g->rules, by_id);
}

void model_rule_add(Model *m, ModelRule *r) {
        g_hash_table_insert(m->rules, model_id_new(r->id), r);
        g_hash_table_insert(m->rule_paths, r->path, r);
        g_hash_table_insert(m->rule_names, r->settings->name, r);
        model_rule_attach(r, r->group);
}

GPtrArray *model_conditions_compile(GPtrArray *stored, GError **error) {
        g_autoptr(GPtrArray) conditions = g_ptr_array_new_with_free_func((GDestroyNotify) rule_condition_free);

        /* Every bound first, in time linear in the input: nothing is
         * compiled for a call that is refused anyway. */
        if (!rule_conditions_count_check(stored->len, error))
                return NULL;
        for (guint i = 0; i < stored->len; i++) {
                const StoreCondition *c = stored->pdata[i];
                if (!rule_condition_check(c->field, c->op, c->value, error))
                        return NULL;
        }
        for (guint i = 0; i < stored->len; i++) {
                const StoreCondition *c = stored->pdata[i];
                RuleCondition *rc = rule_condition_new(c->field, c->op, c->value, error);
                if (!rc)
                        return NULL;
                g_ptr_array_add(conditions, rc);
        }
        return g_steal_pointer(&conditions);
}

static bool load(Model *m, GError **error) {
        g_autoptr(GPtrArray) groups = store_groups_load(m->store, error);
        if (!groups)
                return false;
        g_autoptr(GPtrArray) rules = store_rules_load(m->store, error);
        if (!rules)
                return false;
        g_autoptr(GHashTable) intents = store_passthrough_load(m->store, error);
        if (!intents)
                return false;

        for (guint i = 0; i < groups->len; i++)
                model_group_add(m, model_group_new(m, g_steal_pointer(&groups->pdata[i])));
        for (guint i = 0; i < rules->len; i++) {
                StoreRule *s = g_steal_pointer(&rules->pdata[i]);
                ModelGroup *g = g_hash_table_lookup(m->groups, &s->group_id);
                /* model_store_check() has refused a store where this fails. */
                GPtrArray *conditions = model_conditions_compile(s->conditions, error);
                if (!conditions) {
                        store_rule_free(s);
                        return false;
                }
                model_rule_add(m, model_rule_new(m, s, conditions, g));
        }
        m->intents = g_steal_pointer(&intents);
        return true;
}

/* More rows than devpassd keeps: written by hand, or by another devpass. */
static bool store_count_check(Store *store, const char *table, guint have, guint max, GError **error) {
        g_autofree char *what = g_strdup_printf("%u rows, more than the %u devpassd keeps", have, max);

        return have <= max || store_damaged(store, table, "(all)", what, error);
}

bool model_store_check(Store *store, GError **error) {
        g_autoptr(GPtrArray) rules = store_rules_load(store, error);
        if (!rules)
                return false;
        g_autoptr(GPtrArray) groups = store_groups_load(store, error);
        if (!groups)
                return false;
        g_autoptr(GPtrArray) attachments = store_attachments_load(store, error);
        if (!attachments || !store_count_check(store, "groups", groups->len, MODEL_MAX_GROUPS, error) ||
            !store_count_check(store, "rules", rules->len, MODEL_STORED_MAX_RULES, error) ||
            !store_count_check(store, "attachments", attachments->len, MODEL_STORED_MAX_ATTACHMENTS, error))
                return false;
        for (guint i = 0; i < rules->len; i++) {
                const StoreRule *r = rules->pdata[i];
                g_autoptr(GError) local = NULL;
                g_autoptr(GPtrArray) conditions = model_conditions_compile(r->conditions, &local);
                if (!conditions) {
                        g_autofree char *row = g_strdup_printf("rule_id %" G_GINT64_FORMAT, r->id);
                        return store_damaged(store, "conditions", row, local->message, error);
                }
        }
        return true;
}

Model *model_new(Store *store, Inventory *inventory, const char *node, const ModelPaths *paths, GError **error) {
        g_autoptr(Model) m = g_new0(Model, 1);

        m->group_prefix = g_strdup(paths->groups);
        m->rule_prefix = g_strdup(paths->rules);
        m->attachment_prefix = g_strdup(paths->attachments);
        m->store = store;
        m->inventory = inventory;
        m->node = g_strdup(node);
        m->groups = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) model_group_free);
        m->rules = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) model_rule_free);
        m->group_paths = g_hash_table_new(g_str_hash, g_str_equal);
        m->rule_paths = g_hash_table_new(g_str_hash, g_str_equal);
        m->group_names = g_hash_table_new(g_str_hash, g_str_equal);
        m->rule_names = g_hash_table_new(g_str_hash, g_str_equal);
        m->missing = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) device_free);
        m->reboot = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        m->bind_errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        m->changes = changes_new();
        if (!load(m, error) || !model_claims_load(m, error) || !model_node_load(m, error))
                return NULL;
        model_passthrough_facts_sync(m);
        model_refresh(m);
        model_changes_free(model_take_changes(m));
        return g_steal_pointer(&m);
}

void model_free(Model *m) {
        if (!m)
                return;
        /* Attachments and rules point at groups: those first. */
        model_claims_free(m);
        model_node_free(m);
        g_clear_pointer(&m->rule_paths, g_hash_table_unref);
        g_clear_pointer(&m->rule_names, g_hash_table_unref);
        g_clear_pointer(&m->group_names, g_hash_table_unref);
        g_clear_pointer(&m->rules, g_hash_table_unref);
        g_clear_pointer(&m->group_paths, g_hash_table_unref);
        g_clear_pointer(&m->groups, g_hash_table_unref);
        g_clear_pointer(&m->intents, g_hash_table_unref);
        g_clear_pointer(&m->missing, g_hash_table_unref);
        g_clear_pointer(&m->reboot, g_hash_table_unref);
        g_clear_pointer(&m->bind_errors, g_hash_table_unref);
        model_changes_free(m->changes);
        g_free(m->node);
        g_free(m->group_prefix);
        g_free(m->rule_prefix);
        g_free(m->attachment_prefix);
        g_free(m);
}

/* ---- lookups ---- */

ModelGroup *model_group_by_path(Model *m, const char *path) {
        return g_hash_table_lookup(m->group_paths, path);
}

ModelGroup *model_group_arg(Model *m, const char *path, GError **error) {
        ModelGroup *g = model_group_by_path(m, path);

        /* An object path is ASCII: cut as bus_quote() cuts. */
        if (!g)
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No group at '%.56s%s': 'devpassctl groups' "
                            "lists them", path, strlen(path) > 56 ? "..." : "");
        return g;
}

ModelRule *model_rule_by_path(Model *m, const char *path) {
        return g_hash_table_lookup(m->rule_paths, path);
}

ModelGroup *model_group_by_name(Model *m, const char *name) {
        return g_hash_table_lookup(m->group_names, name);
}

ModelRule *model_rule_by_name(Model *m, const char *name) {
        return g_hash_table_lookup(m->rule_names, name);
}

Device *model_missing_by_path(Model *m, const char *path) {
        return g_hash_table_lookup(m->missing, path);
}

/* Paths end in numbers: shorter first keeps /rules/9 before /rules/10. */
static int path_compare(const void *a, const void *b) {
        const char *x = *(char *const *) a, *y = *(char *const *) b;
        size_t lx = strlen(x), ly = strlen(y);
        return lx != ly ? (lx > ly) - (lx < ly) : strcmp(x, y);
}

static char **sorted_keys(GHashTable *table) {
        g_autofree char **keys = (char **) g_hash_table_get_keys_as_array(table, NULL);
        char **copy = g_strdupv(keys);
        qsort(copy, g_strv_length(copy), sizeof(char *), path_compare);
        return copy;
}

char **model_group_paths(Model *m) {
        return sorted_keys(m->group_paths);
}

char **model_rule_paths(Model *m) {
        return sorted_keys(m->rule_paths);
}

char **model_missing_paths(Model *m) {
        return sorted_keys(m->missing);
}

const char *model_node(Model *m) {
        return m->node;
}

ModelGroup *model_intent(Model *m, const char *address) {
        const StorePassthrough *p = g_hash_table_lookup(m->intents, address);
        return p ? g_hash_table_lookup(m->groups, &p->group_id) : NULL;
}

char *model_device_use(Model *m, const char *address) {
        const StoreClaim *c;

        if ((c = g_hash_table_lookup(m->claims, address)))
                return g_strdup_printf("claimed by machine %s", c->holder);
        if ((c = g_hash_table_lookup(m->holds, address)))
                return g_strdup_printf("held by tenant %s", c->holder);
        ModelGroup *g = model_intent(m, address);
        return g ? g_strdup_printf("passed through for group %s", g->settings->name) : NULL;
}

GPtrArray *model_intent_addresses(Model *m) {
        return text_keys_sorted(m->intents);
}

GPtrArray *model_reboot_reasons(Model *m) {
        GPtrArray *a = text_keys_sorted(m->reboot);
        GPtrArray *pairs = g_ptr_array_new();

        for (guint i = 0; i < a->len; i++) {
                g_ptr_array_add(pairs, a->pdata[i]);
                g_ptr_array_add(pairs, g_hash_table_lookup(m->reboot, a->pdata[i]));
        }
        g_ptr_array_unref(a);
        return pairs;
}

void model_set_reboot_reason(Model *m, const char *address, const char *reason) {
        const char *old = g_hash_table_lookup(m->reboot, address);

        if (g_strcmp0(old, reason) == 0)
                return;
        if (reason)
                g_hash_table_insert(m->reboot, g_strdup(address), g_strdup(reason));
        else
                g_hash_table_remove(m->reboot, address);
        m->changes->reboot_changed = true;
}

bool model_bind_failed(Model *m, const char *address) {
        return g_hash_table_contains(m->reboot, address) || g_hash_table_contains(m->bind_errors, address);
}

void model_set_bind_error(Model *m, const char *address, const char *reason) {
        if (reason)
                g_hash_table_insert(m->bind_errors, g_strdup(address), g_strdup(reason));
        else
                g_hash_table_remove(m->bind_errors, address);
}

/* ---- a cluster's other nodes ---- */

static bool units_same(GHashTable *a, GHashTable *b) {
        GHashTableIter it;
        gpointer key, value;

        if (g_hash_table_size(a) != g_hash_table_size(b))
                return false;
        g_hash_table_iter_init(&it, a);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                const ModelUnits *x = value, *y = g_hash_table_lookup(b, key);
                if (!y || x->total != y->total || x->free != y->free)
                        return false;
        }
        return true;
}

void model_units_elsewhere(Model *m, GHashTable *nodes) {
        g_autoptr(GHashTable) next = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                                           (GDestroyNotify) g_hash_table_unref);
        GHashTableIter it, git;
        gpointer key, value;

        g_hash_table_iter_init(&it, nodes);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                GArray *units = value;
                for (guint i = 0; i < units->len; i++) {
                        const ModelUnits *u = &g_array_index(units, ModelUnits, i);
                        ModelGroup *g = g_hash_table_lookup(m->groups, &u->group_id);
                        if (!g || g_str_equal(key, m->node))
                                continue;
                        GHashTable *by_node = g_hash_table_lookup(next, &g->id);
                        if (!by_node) {
                                by_node = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                                g_hash_table_insert(next, &g->id, by_node);
                        }
                        g_hash_table_insert(by_node, g_strdup(key), g_memdup2(u, sizeof(*u)));
                }
        }
        g_hash_table_iter_init(&git, m->groups);
        while (g_hash_table_iter_next(&git, NULL, &value)) {
                ModelGroup *g = value;
                gpointer by_node = NULL;
                if (!g_hash_table_steal_extended(next, &g->id, NULL, &by_node)) {
                        /* Most groups are nowhere else: nothing to make. */
                        if (g_hash_table_size(g->elsewhere) == 0)
                                continue;
                        by_node = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                }
                if (units_same(g->elsewhere, by_node)) {
                        g_hash_table_unref(by_node);
                        continue;
                }
                g_hash_table_unref(g->elsewhere);
                g->elsewhere = by_node;
                model_mark(m->changes->groups, g, PROP_BIT(GROUP_PROP_TOTAL) | PROP_BIT(GROUP_PROP_FREE) |
                                                  PROP_BIT(GROUP_PROP_NODES));
        }
}

void model_group_units_all(const ModelGroup *g, uint32_t *total, uint32_t *free) {
        GHashTableIter it;
        gpointer value;

        *total = g->total;
        *free = g->free;
        g_hash_table_iter_init(&it, g->elsewhere);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                *total += ((const ModelUnits *) value)->total;
                *free += ((const ModelUnits *) value)->free;
        }
}

GArray *model_units_here(Model *m) {
        GArray *units = g_array_new(FALSE, FALSE, sizeof(ModelUnits));
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->groups);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const ModelGroup *g = value;
                if (g->total)
                        g_array_append_val(units, ((ModelUnits) { g->id, g->total, g->free }));
        }
        return units;
}
