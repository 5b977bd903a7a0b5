/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cluster node's store is a replica of what etcd holds: rows written
 * with the ids the cluster gave them, and the etcd revision they reflect,
 * with each key's last revision for the next transaction's guards. */
#include <string.h>

#include "store-private.h"

bool store_group_put(Store *s, const StoreGroup *g, GError **error) {
        /* An upsert, not a replace: a replace deletes first, and the
         * group's rules and holds would go with it. */
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO groups (id, name, type, description, class, tenant, "
                                            "tenant_node) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                                            "SET name = excluded.name, type = excluded.type, "
                                            "description = excluded.description, class = excluded.class, "
                                            "tenant = excluded.tenant, tenant_node = excluded.tenant_node", error);
        if (!st)
                return false;
        int bound = sqlite3_bind_int64(st, 1, g->id) ?:
                    store_bind_text(st, 2, g->name) ?:
                    store_bind_text(st, 3, g->type) ?:
                    store_bind_text(st, 4, g->description) ?:
                    store_bind_text(st, 5, g->class_name) ?:
                    store_bind_text(st, 6, g->tenant) ?:
                    store_bind_text(st, 7, g->tenant_node);
        return store_step_done(s, st, bound, error);
}

bool store_rule_put(Store *s, const StoreRule *r, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO rules (id, group_id, name, node, enabled) "
                                            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                                            "SET group_id = excluded.group_id, name = excluded.name, "
                                            "node = excluded.node, enabled = excluded.enabled", error);
        if (!st)
                return false;
        int bound = sqlite3_bind_int64(st, 1, r->id) ?:
                    sqlite3_bind_int64(st, 2, r->group_id) ?:
                    store_bind_text(st, 3, r->name) ?:
                    store_bind_text(st, 4, r->node) ?:
                    sqlite3_bind_int(st, 5, r->enabled);
        return store_step_done(s, st, bound, error) && store_conditions_write(s, r, error);
}

bool store_attachment_put(Store *s, const StoreAttachment *a, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO attachments (id, machine, name, type, description, "
                                            "tenant, group_id, count, optional, generation, claimed_generation) "
                                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                                            "SET machine = excluded.machine, name = excluded.name, "
                                            "type = excluded.type, description = excluded.description, "
                                            "tenant = excluded.tenant, group_id = excluded.group_id, "
                                            "count = excluded.count, optional = excluded.optional, "
                                            "generation = excluded.generation, "
                                            "claimed_generation = excluded.claimed_generation", error);
        if (!st)
                return false;
        int bound = sqlite3_bind_int64(st, 1, a->id) ?:
                    store_bind_text(st, 2, a->machine) ?:
                    store_bind_text(st, 3, a->name) ?:
                    store_bind_text(st, 4, a->type) ?:
                    store_bind_text(st, 5, a->description) ?:
                    store_bind_text(st, 6, a->tenant) ?:
                    sqlite3_bind_int64(st, 7, a->group_id) ?:
                    sqlite3_bind_int64(st, 8, a->count) ?:
                    sqlite3_bind_int(st, 9, a->optional) ?:
                    sqlite3_bind_int64(st, 10, a->generation) ?:
                    sqlite3_bind_int64(st, 11, a->claimed_generation);
        return store_step_done(s, st, bound, error) &&
               store_macs_write(s, "attachment_id", a->id, a->macs, error);
}

bool store_group_mac_put(Store *s, const char *mac, int64_t group_id, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO macs (mac, group_id) VALUES (?, ?) ON CONFLICT (mac) "
                                            "DO UPDATE SET group_id = excluded.group_id WHERE attachment_id IS NULL",
                                         error);

        return st && store_step_done(s, st, store_bind_text(st, 1, mac) ?: sqlite3_bind_int64(st, 2, group_id),
                                     error);
}

bool store_group_mac_delete(Store *s, const char *mac, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "DELETE FROM macs WHERE mac = ? AND group_id IS NOT NULL", error);

        return st && store_step_done(s, st, store_bind_text(st, 1, mac), error);
}

bool store_holder_put(Store *s, const char *holder, bool tenant, GPtrArray *claims, GError **error) {
        sqlite3_stmt *st = store_prepare(s, tenant ? "DELETE FROM tenant_holds WHERE tenant = ?" :
                                                     "DELETE FROM claims WHERE holder = ?", error);
        if (!st || !store_step_done(s, st, store_bind_text(st, 1, holder), error))
                return false;
        for (guint i = 0; claims && i < claims->len; i++)
                if (!store_claim_insert(s, claims->pdata[i], error))
                        return false;
        return true;
}

/* The first row of a query with one text parameter: its columns 0 and
 * 1 (NULL and 0 when there is no row). */
static bool first_row(Store *s, const char *sql, const char *param, char **text, int64_t *numbers, int n,
                      GError **error) {
        sqlite3_stmt *st = store_prepare(s, sql, error);
        int rc;

        if (!st)
                return false;
        if ((rc = store_bind_text(st, 1, param)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot read", error);
        rc = sqlite3_step(st);
        if (text)
                *text = rc == SQLITE_ROW ? store_column_text(st, 0) : NULL;
        for (int i = 0; i < n; i++)
                numbers[i] = rc == SQLITE_ROW ? sqlite3_column_int64(st, i) : 0;
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE || store_fail(s, rc, "Cannot read", error);
}

bool store_replica_revision(Store *s, const char *prefix, int64_t *revision, GError **error) {
        return first_row(s, "SELECT revision FROM replica WHERE prefix = ?", prefix, NULL, revision, 1, error);
}

bool store_replica_set_revision(Store *s, const char *prefix, int64_t revision, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT OR REPLACE INTO replica (prefix, revision) VALUES (?, ?)", error);
        return st && store_step_done(s, st, store_bind_text(st, 1, prefix) ?: sqlite3_bind_int64(st, 2, revision),
                                     error);
}

static char *column_blob(sqlite3_stmt *st, int i) {
        const void *v = sqlite3_column_blob(st, i);
        int len = sqlite3_column_bytes(st, i);
        char *copy = g_malloc(len + 1);

        if (len > 0)
                memcpy(copy, v, len);
        copy[len] = '\0';
        return copy;
}

bool store_replica_key(Store *s, const char *key, int64_t *mod_revision, char **value, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "SELECT mod_revision, value FROM replica_keys WHERE key = ?", error);
        int rc;

        if (!st)
                return false;
        if ((rc = store_bind_text(st, 1, key)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot read", error);
        rc = sqlite3_step(st);
        *mod_revision = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        if (value)
                *value = rc == SQLITE_ROW ? column_blob(st, 1) : NULL;
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE || store_fail(s, rc, "Cannot read", error);
}

bool store_replica_set_key(Store *s, const char *key, int64_t mod_revision, const char *value, GError **error) {
        if (mod_revision <= 0) {
                sqlite3_stmt *st = store_prepare(s, "DELETE FROM replica_keys WHERE key = ?", error);
                return st && store_step_done(s, st, store_bind_text(st, 1, key), error);
        }
        sqlite3_stmt *st = store_prepare(s, "INSERT OR REPLACE INTO replica_keys (key, mod_revision, value) "
                                            "VALUES (?, ?, ?)", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, key) ?: sqlite3_bind_int64(st, 2, mod_revision) ?:
                    sqlite3_bind_blob(st, 3, value ?: "", value ? (int) strlen(value) : 0, SQLITE_TRANSIENT);
        return store_step_done(s, st, bound, error);
}

void store_replica_key_free(StoreReplicaKey *k) {
        if (!k)
                return;
        g_free(k->key);
        g_free(k->value);
        g_free(k);
}

static void replica_key_row(sqlite3_stmt *st, void *data) {
        StoreReplicaKey *k = g_new0(StoreReplicaKey, 1);

        k->key = store_column_text(st, 0);
        k->mod_revision = sqlite3_column_int64(st, 1);
        k->value = column_blob(st, 2);
        g_ptr_array_add(data, k);
}

/* The least string after every one that starts with prefix, as SQLite
 * orders text (bytes, unsigned); NULL when there is none. */
static char *prefix_end(const char *prefix) {
        g_autofree char *end = g_strdup(prefix);

        for (size_t n = strlen(end); n > 0; n--)
                if ((unsigned char) end[n - 1] < 0xff) {
                        end[n - 1]++;
                        end[n] = '\0';
                        return g_steal_pointer(&end);
                }
        return NULL;
}

GPtrArray *store_replica_keys(Store *s, const char *prefix, GError **error) {
        g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func((GDestroyNotify) store_replica_key_free);
        g_autofree char *end = prefix_end(prefix);
        /* A range on the key, not LIKE: a prefix may hold '%' and '_'. Its
         * end bounds the index's scan to the prefix's keys. */
        sqlite3_stmt *st = end ? store_prepare(s, "SELECT key, mod_revision, value FROM replica_keys "
                                                  "WHERE key >= ?1 AND key < ?2 ORDER BY key", error) :
                                 store_prepare(s, "SELECT key, mod_revision, value FROM replica_keys "
                                                  "WHERE key >= ?1 ORDER BY key", error);
        int rc;

        if (!st)
                return NULL;
        if ((rc = store_bind_text(st, 1, prefix) ?: (end ? store_bind_text(st, 2, end) : SQLITE_OK)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot read", error), NULL;
        if (!store_step_rows(s, st, replica_key_row, keys, error))
                return NULL;
        return g_steal_pointer(&keys);
}

static void holder_row(sqlite3_stmt *st, void *data) {
        g_ptr_array_add(data, store_column_text(st, 0));
}

GPtrArray *store_claim_holders(Store *s, GError **error) {
        g_autoptr(GPtrArray) holders = g_ptr_array_new_with_free_func(g_free);
        sqlite3_stmt *st = store_prepare(s, "SELECT DISTINCT holder FROM claims ORDER BY holder", error);

        if (!st || !store_step_rows(s, st, holder_row, holders, error))
                return NULL;
        return g_steal_pointer(&holders);
}

bool store_address_holder(Store *s, const char *address, bool tenant, char **holder, GError **error) {
        return first_row(s, tenant ? "SELECT tenant FROM tenant_holds WHERE address = ?" :
                                     "SELECT holder FROM claims WHERE address = ?", address, holder, NULL, 0, error);
}

bool store_mac_owner(Store *s, const char *mac, int64_t *attachment_id, int64_t *group_id, GError **error) {
        int64_t owner[2] = { 0 };

        if (!first_row(s, "SELECT ifnull(attachment_id, 0), ifnull(group_id, 0) FROM macs WHERE mac = ?", mac, NULL,
                       owner, 2, error))
                return false;
        *attachment_id = owner[0];
        *group_id = owner[1];
        return true;
}

static void group_used_row(sqlite3_stmt *st, void *data) {
        g_hash_table_add(data, g_memdup2(&(gint64) { sqlite3_column_int64(st, 0) }, sizeof(gint64)));
}

GHashTable *store_groups_used(Store *s, GError **error) {
        g_autoptr(GHashTable) used = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
        sqlite3_stmt *st = store_prepare(s, "SELECT group_id FROM passthrough UNION SELECT group_id FROM tenant_holds "
                                            "UNION SELECT a.group_id FROM claims c JOIN attachments a "
                                            "ON a.id = c.attachment_id", error);
        if (!st || !store_step_rows(s, st, group_used_row, used, error))
                return NULL;
        return g_steal_pointer(&used);
}

void store_set_commit_hook(Store *s, StoreCommitHook hook, void *data) {
        s->hook = hook;
        s->hook_data = data;
}

static bool begin_replica(Store *s, bool dirty_only, bool deferred, GError **error) {
        if (!store_begin_recorded(s, dirty_only, error))
                return false;
        if (!deferred || store_exec(s, "PRAGMA defer_foreign_keys = ON", error))
                return true;
        store_rollback(s);
        return false;
}

bool store_begin_deferred(Store *s, GError **error) {
        return begin_replica(s, false, true, error);
}

bool store_begin_here(Store *s, bool deferred, GError **error) {
        return begin_replica(s, true, deferred, error);
}

bool store_commit_here(Store *s, GError **error) {
        s->hook_off = true;
        bool ok = store_commit(s, error);
        s->hook_off = false;
        return ok;
}

bool store_key_begin(Store *s, GError **error) {
        return store_exec(s, "SAVEPOINT replica_key", error);
}

bool store_key_end(Store *s, bool keep, GError **error) {
        return store_exec(s, keep ? "RELEASE replica_key" : "ROLLBACK TO replica_key; RELEASE replica_key", error);
}

bool store_replica_id_floor(Store *s, StoreTable table, int64_t next, GError **error) {
        static const char *const names[] = {
                [STORE_TABLE_GROUPS] = "groups",
                [STORE_TABLE_RULES] = "rules",
                [STORE_TABLE_ATTACHMENTS] = "attachments",
        };

        g_return_val_if_fail(table < G_N_ELEMENTS(names) && names[table], false);
        /* AUTOINCREMENT gives max(seq, largest id) + 1: a row of the
         * table always has its sqlite_sequence row once one was inserted. */
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 WHERE NOT EXISTS "
                                            "(SELECT 1 FROM sqlite_sequence WHERE name = ?1)", error);
        if (!st || !store_step_done(s, st, store_bind_text(st, 1, names[table]) ?:
                                           sqlite3_bind_int64(st, 2, next - 1), error))
                return false;
        st = store_prepare(s, "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1", error);
        return st && store_step_done(s, st, store_bind_text(st, 1, names[table]) ?:
                                            sqlite3_bind_int64(st, 2, next - 1), error);
}
