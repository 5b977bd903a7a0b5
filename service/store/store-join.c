/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A single node's store becoming a cluster's replica (doc/cluster.md,
 * "Joining"): whether it holds rows the cluster shares, and its ids
 * rewritten to the ones the cluster gave them, references included. */
#include "store-private.h"

bool store_holds_shared_rows(Store *s, bool *any, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "SELECT EXISTS (SELECT 1 FROM groups) OR EXISTS (SELECT 1 FROM rules) "
                                            "OR EXISTS (SELECT 1 FROM attachments) OR EXISTS (SELECT 1 FROM claims) "
                                            "OR EXISTS (SELECT 1 FROM tenant_holds) OR EXISTS (SELECT 1 FROM macs)",
                                         error);
        if (!st)
                return false;
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                sqlite3_reset(st);
                return store_fail(s, rc, "Cannot read", error);
        }
        *any = sqlite3_column_int(st, 0) != 0;
        sqlite3_reset(st);
        return true;
}

static void mac_row(sqlite3_stmt *st, void *data) {
        g_ptr_array_add(data, store_column_text(st, 0));
}

GPtrArray *store_macs_all(Store *s, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "SELECT mac FROM macs ORDER BY mac", error);
        g_autoptr(GPtrArray) macs = g_ptr_array_new_with_free_func(g_free);

        if (!st || !store_step_rows(s, st, mac_row, macs, error))
                return NULL;
        return g_steal_pointer(&macs);
}

/* The tables' ids and the columns that refer to them. */
static const struct {
        const char *table;
        const char *column;
} id_columns[][6] = {
        [STORE_TABLE_GROUPS] = { { "groups", "id" }, { "rules", "group_id" }, { "attachments", "group_id" },
                                 { "passthrough", "group_id" }, { "tenant_holds", "group_id" }, { "macs", "group_id" } },
        [STORE_TABLE_RULES] = { { "rules", "id" }, { "conditions", "rule_id" } },
        [STORE_TABLE_ATTACHMENTS] = { { "attachments", "id" }, { "claims", "attachment_id" },
                                      { "macs", "attachment_id" } },
};

/* In two steps, through the negative ids, so that an id taken by another
 * row until it moves itself never collides. */
static bool column_remap(Store *s, const char *table, const char *column, GError **error) {
        g_autofree char *out = g_strdup_printf("UPDATE %s SET %s = -(SELECT new FROM temp.join_ids WHERE old = %s) "
                                               "WHERE %s IN (SELECT old FROM temp.join_ids)",
                                               table, column, column, column);
        g_autofree char *back = g_strdup_printf("UPDATE %s SET %s = -%s WHERE %s < 0", table, column, column, column);

        return store_exec(s, out, error) && store_exec(s, back, error);
}

bool store_ids_remap(Store *s, StoreTable table, GHashTable *ids, GError **error) {
        GHashTableIter it;
        gpointer old, new;

        g_return_val_if_fail(table < G_N_ELEMENTS(id_columns), false);
        if (!store_exec(s, "CREATE TEMP TABLE IF NOT EXISTS join_ids (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)",
                        error) ||
            !store_exec(s, "DELETE FROM temp.join_ids", error))
                return false;
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO temp.join_ids (old, new) VALUES (?, ?)", error);
        if (!st)
                return false;
        g_hash_table_iter_init(&it, ids);
        while (g_hash_table_iter_next(&it, &old, &new))
                if (!store_step_done(s, st, sqlite3_bind_int64(st, 1, *(gint64 *) old) ?:
                                            sqlite3_bind_int64(st, 2, *(gint64 *) new), error))
                        return false;
        for (size_t i = 0; i < G_N_ELEMENTS(id_columns[table]) && id_columns[table][i].table; i++)
                if (!column_remap(s, id_columns[table][i].table, id_columns[table][i].column, error))
                        return false;
        return store_exec(s, "DELETE FROM temp.join_ids", error);
}
