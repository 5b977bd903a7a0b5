/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A single node's store becoming a cluster's replica (doc/cluster.md,
 * "Joining"): whether it holds rows the cluster shares; the ids the
 * cluster gives them, recorded before the join is sent; and, once etcd
 * has it, the rows' ids rewritten to those, references included. */
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

bool store_join_record(Store *s, int64_t revision, GHashTable *const ids[3], GError **error) {
        sqlite3_stmt *st;

        if (!store_begin_deferred(s, error))
                return false;
        /* A record of the same revision goes with its ids (cascade). */
        st = store_prepare(s, "INSERT OR REPLACE INTO joins (revision) VALUES (?)", error);
        bool ok = st && store_step_done(s, st, sqlite3_bind_int64(st, 1, revision), error);
        for (StoreTable t = STORE_TABLE_GROUPS; ok && t <= STORE_TABLE_ATTACHMENTS; t++) {
                GHashTableIter it;
                gpointer old, new;
                g_hash_table_iter_init(&it, ids[t]);
                while (ok && g_hash_table_iter_next(&it, &old, &new)) {
                        st = store_prepare(s, "INSERT INTO join_ids (revision, tbl, old, new) VALUES (?, ?, ?, ?)",
                                           error);
                        ok = st && store_step_done(s, st, sqlite3_bind_int64(st, 1, revision) ?:
                                                          store_bind_text(st, 2, id_columns[t][0].table) ?:
                                                          sqlite3_bind_int64(st, 3, *(gint64 *) old) ?:
                                                          sqlite3_bind_int64(st, 4, *(gint64 *) new), error);
                }
        }
        if (!ok) {
                store_rollback(s);
                return false;
        }
        return store_commit_here(s, error);
}

bool store_join_recorded(Store *s, int64_t revision, bool *recorded, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "SELECT EXISTS (SELECT 1 FROM joins WHERE ?1 IN (0, revision))", error);
        int rc;

        if (!st)
                return false;
        if ((rc = sqlite3_bind_int64(st, 1, revision)) != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW) {
                sqlite3_reset(st);
                return store_fail(s, rc, "Cannot read", error);
        }
        *recorded = sqlite3_column_int(st, 0) != 0;
        sqlite3_reset(st);
        return true;
}

/* In two steps, through the negative ids, so that an id taken by another
 * row until it moves itself never collides. */
static bool column_remap(Store *s, int64_t revision, const char *table, const char *id_table, const char *column,
                         GError **error) {
        g_autofree char *out = g_strdup_printf("UPDATE %s SET %s = -(SELECT new FROM join_ids WHERE revision = ?1 "
                                               "AND tbl = ?2 AND old = %s) WHERE %s IN (SELECT old FROM join_ids "
                                               "WHERE revision = ?1 AND tbl = ?2)", table, column, column, column);
        g_autofree char *back = g_strdup_printf("UPDATE %s SET %s = -%s WHERE %s < 0", table, column, column, column);
        sqlite3_stmt *st = store_prepare(s, out, error);

        return st && store_step_done(s, st, sqlite3_bind_int64(st, 1, revision) ?: store_bind_text(st, 2, id_table),
                                     error) &&
               store_exec(s, back, error);
}

bool store_join_finish(Store *s, int64_t revision, GError **error) {
        for (StoreTable t = STORE_TABLE_GROUPS; t <= STORE_TABLE_ATTACHMENTS; t++)
                for (size_t i = 0; i < G_N_ELEMENTS(id_columns[t]) && id_columns[t][i].table; i++)
                        if (!column_remap(s, revision, id_columns[t][i].table, id_columns[t][0].table,
                                          id_columns[t][i].column, error))
                                return false;
        return store_exec(s, "DELETE FROM joins", error);
}
