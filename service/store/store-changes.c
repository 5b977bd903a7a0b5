/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which rows a transaction changed, cascades and foreign-key actions
 * included: what a node of a cluster turns into one etcd transaction.
 * The pre-update hook sees each row as SQLite changes it; the record
 * (store-record.c) nets them per row, from store_begin() to the commit
 * or rollback. */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

#include "store-private.h"
#include "store-record.h"

/* The tables a cluster shares or mirrors, in StoreTable's order. A rule's
 * conditions are part of their rule. */
static const char *const tables[] = {
        [STORE_TABLE_GROUPS] = "groups",
        [STORE_TABLE_RULES] = "rules",
        [STORE_TABLE_ATTACHMENTS] = "attachments",
        [STORE_TABLE_MACS] = "macs",
        [STORE_TABLE_CLAIMS] = "claims",
        [STORE_TABLE_HOLDS] = "tenant_holds",
        [STORE_TABLE_PASSTHROUGH] = "passthrough",
};

/* Recorded too: the conditions as their rule's, and the rows only this
 * node has, which a change etcd takes must bring along (store_local_*). */
static const char *const local_tables[] = { "conditions", "sriov", "overrides" };
static const char *const node_tables[] = { "passthrough", "sriov", "overrides" };

void store_row_change_free(StoreRowChange *c) {
        if (!c)
                return;
        g_free(c->key);
        g_free(c->old_name);
        g_free(c->old_holder);
        g_free(c);
}

void store_record_changes(Store *s, bool on) {
        s->record_changes = on;
        s->dirty = STORE_DIRTY_ALL;
}

static void on_preupdate(void *data, sqlite3 *db, int op, const char *schema, const char *name, sqlite3_int64 old_key,
                         sqlite3_int64 new_key);

bool store_session_begin(Store *s, bool dirty_only, GError **error) {
        if (!s->record_changes)
                return true;
        store_record_free(s->record);
        s->record = dirty_only ? NULL : store_record_new();
        sqlite3_preupdate_hook(s->db, on_preupdate, s);
        s->recording = true;
        return true;
}

static int table_of(const char *name) {
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
                if (g_str_equal(tables[i], name))
                        return (int) i;
        return g_str_equal(name, "conditions") ? STORE_TABLE_RULES : -1;
}

/* The table's name as the record keeps it (static), when it is recorded. */
static const char *recorded_name(const char *name) {
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
                if (g_str_equal(tables[i], name))
                        return tables[i];
        for (size_t i = 0; i < G_N_ELEMENTS(local_tables); i++)
                if (g_str_equal(local_tables[i], name))
                        return local_tables[i];
        return NULL;
}

static bool recorded(const char *name) {
        return recorded_name(name) != NULL;
}

static guint dirty_bit(const char *name) {
        int table = table_of(name);

        if (table >= 0)
                return STORE_DIRTY_TABLE(table);
        return g_str_equal(name, "sriov") ? STORE_DIRTY_SRIOV : STORE_DIRTY_OVERRIDES;
}

/* A changed row of groups, rules or conditions (its rule's), or
 * attachments: its id (column 0 of each, key; NULL when it could not be
 * read) into s->dirty_ids. */
static void dirty_key(Store *s, const char *name, int rc, sqlite3_value *key) {
        int table = table_of(name);

        if (table < 0 || table > STORE_TABLE_ATTACHMENTS)
                return;
        if (rc != SQLITE_OK || !key) {
                s->dirty = STORE_DIRTY_ALL;
                return;
        }
        if (!s->dirty_ids[table])
                s->dirty_ids[table] = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
        g_hash_table_add(s->dirty_ids[table], g_memdup2(&(gint64) { sqlite3_value_int64(key) }, sizeof(gint64)));
}

/* Each row a transaction changes, as SQLite is about to change it: what
 * it dirties, and with a record, the row itself. A row the record cannot
 * read makes store_changes() fail, so the change is refused whole. */
static void on_preupdate(void *data, sqlite3 *db, int op, const char *schema, const char *name, sqlite3_int64 old_key,
                         sqlite3_int64 new_key) {
        Store *s = data;
        sqlite3_value *key = NULL;

        if (!g_str_equal(schema, "main") || !recorded(name))
                return;
        s->dirty |= dirty_bit(name);
        if (op != SQLITE_INSERT) {
                int rc = sqlite3_preupdate_old(db, 0, &key);
                dirty_key(s, name, rc, key);
        }
        if (op != SQLITE_DELETE) {
                int rc = sqlite3_preupdate_new(db, 0, &key);
                dirty_key(s, name, rc, key);
        }
        if (s->record && !store_record_row(s->record, db, op, recorded_name(name)))
                s->record_failed = true;
}

/* Bumped by another connection's commit only; -1 when it cannot be read. */
static sqlite3_int64 others_version(Store *s) {
        sqlite3_stmt *st = store_prepare(s, "PRAGMA data_version", NULL);
        sqlite3_int64 v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;

        if (st)
                sqlite3_reset(st);
        return v;
}

static void dirty_seen(Store *s) {
        s->changes_seen = sqlite3_total_changes64(s->db);
        s->others_seen = others_version(s);
}

void store_session_end(Store *s) {
        if (s->recording) {
                sqlite3_preupdate_hook(s->db, NULL, NULL);
                s->recording = false;
        }
        g_clear_pointer(&s->record, store_record_free);
        s->record_failed = false;
        if (s->record_changes)
                dirty_seen(s);
}

guint store_dirty(Store *s) {
        bool known = s->record_changes && sqlite3_total_changes64(s->db) == s->changes_seen &&
                     s->others_seen >= 0 && others_version(s) == s->others_seen;
        return known ? s->dirty : STORE_DIRTY_ALL;
}

static gint id_compare(gconstpointer a, gconstpointer b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return x < y ? -1 : x > y;
}

GArray *store_dirty_ids(Store *s, StoreTable table) {
        GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
        GHashTableIter it;
        gpointer id;

        g_return_val_if_fail(table <= STORE_TABLE_ATTACHMENTS, NULL);
        if (store_dirty(s) == STORE_DIRTY_ALL)
                return g_array_unref(ids), NULL;
        if (s->dirty_ids[table]) {
                g_hash_table_iter_init(&it, s->dirty_ids[table]);
                while (g_hash_table_iter_next(&it, &id, NULL))
                        g_array_append_val(ids, *(int64_t *) id);
        }
        g_array_sort(ids, id_compare);
        return ids;
}

void store_dirty_clear(Store *s) {
        for (size_t i = 0; i < G_N_ELEMENTS(s->dirty_ids); i++)
                g_clear_pointer(&s->dirty_ids[i], g_hash_table_unref);
        s->dirty = 0;
        dirty_seen(s);
}

static char *value_text(sqlite3_value *v) {
        const unsigned char *t = v ? sqlite3_value_text(v) : NULL;
        return t ? g_strdup((const char *) t) : NULL;
}

/* The name (column 1 of groups, 2 of rules) or holder (column 1 of
 * claims and tenant_holds) a changed row had, when it went or changed. */
static char *change_old_text(int table, sqlite3_value *const *before, sqlite3_value *const *after, int columns) {
        int column = table == STORE_TABLE_RULES ? 2 : 1;
        bool named = table == STORE_TABLE_GROUPS || table == STORE_TABLE_RULES || table == STORE_TABLE_CLAIMS ||
                     table == STORE_TABLE_HOLDS;

        if (!named || !before || column >= columns)
                return NULL;
        if (after && g_strcmp0((const char *) sqlite3_value_text(before[column]),
                               (const char *) sqlite3_value_text(after[column])) == 0)
                return NULL;
        return value_text(before[column]);
}

/* Column 0 is every table's key: the id, the address or the MAC; for
 * conditions, the rule's id (any change of them is their rule's update). */
static StoreRowChange *change_new(const char *name, sqlite3_value *const *before, sqlite3_value *const *after,
                                  int columns) {
        int table = table_of(name);
        bool conditions = g_str_equal(name, "conditions");
        sqlite3_value *key = before ? before[0] : after[0];
        StoreRowChange *c;

        if (table < 0)
                return NULL;
        c = g_new0(StoreRowChange, 1);
        c->table = table;
        c->op = conditions || (before && after) ? STORE_ROW_UPDATE : before ? STORE_ROW_DELETE : STORE_ROW_INSERT;
        if (table == STORE_TABLE_GROUPS || table == STORE_TABLE_RULES || table == STORE_TABLE_ATTACHMENTS)
                c->id = sqlite3_value_int64(key);
        else
                c->key = value_text(key);
        if (!conditions) {
                char *old = change_old_text(table, before, after, columns);
                if (table == STORE_TABLE_CLAIMS || table == STORE_TABLE_HOLDS)
                        c->old_holder = old;
                else
                        c->old_name = old;
        }
        return c;
}

static bool change_same(const StoreRowChange *a, const StoreRowChange *b) {
        return a->table == b->table && a->id == b->id && g_strcmp0(a->key, b->key) == 0;
}

/* A rule and its conditions changed in one transaction are one change:
 * the rule's own op wins over the conditions' update. */
static void changes_add(GPtrArray *all, StoreRowChange *c) {
        for (guint i = 0; i < all->len; i++) {
                StoreRowChange *have = all->pdata[i];
                if (!change_same(have, c))
                        continue;
                if (have->op == STORE_ROW_UPDATE && c->op != STORE_ROW_UPDATE) {
                        have->op = c->op;
                        g_free(have->old_name);
                        have->old_name = g_steal_pointer(&c->old_name);
                } else if (!have->old_name) {
                        have->old_name = g_steal_pointer(&c->old_name);
                }
                store_row_change_free(c);
                return;
        }
        g_ptr_array_add(all, c);
}

static void change_add(const char *table, sqlite3_value *const *before, sqlite3_value *const *after, int columns,
                       void *data) {
        StoreRowChange *c = change_new(table, before, after, columns);

        if (c)
                changes_add(data, c);
}

static bool record_readable(Store *s, GError **error) {
        if (!s->record_failed)
                return true;
        return g_set_error(error, STORE_ERROR, STORE_ERROR_IO, "Cannot read the changes of %s: out of memory "
                           "while a row changed", s->path), false;
}

GPtrArray *store_changes(Store *s, GError **error) {
        g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify) store_row_change_free);

        if (!record_readable(s, error))
                return NULL;
        if (s->record)
                store_record_foreach(s->record, change_add, all);
        return g_steal_pointer(&all);
}

/* ---- the node's own rows, brought into a later transaction ---- */

static bool node_table(const char *table) {
        for (size_t i = 0; i < G_N_ELEMENTS(node_tables); i++)
                if (g_str_equal(table, node_tables[i]))
                        return true;
        return false;
}

static GVariant *image_variant(sqlite3_value *const *image, int columns) {
        GVariantBuilder values;

        g_variant_builder_init(&values, G_VARIANT_TYPE("av"));
        for (int i = 0; image && i < columns; i++)
                g_variant_builder_add(&values, "v", store_record_value(image[i]));
        return g_variant_builder_end(&values);
}

/* (table, key, the row before, the row after; [] where it is not there). */
static void local_add(const char *table, sqlite3_value *const *before, sqlite3_value *const *after, int columns,
                      void *data) {
        if (!node_table(table))
                return;
        g_variant_builder_add(data, "(sv@av@av)", table, store_record_value((before ?: after)[0]),
                              image_variant(before, columns), image_variant(after, columns));
}

#define LOCAL_ROWS "a(svavav)"

GBytes *store_local_changes(Store *s, GError **error) {
        GVariantBuilder rows;

        if (!record_readable(s, error))
                return NULL;
        g_variant_builder_init(&rows, G_VARIANT_TYPE(LOCAL_ROWS));
        if (s->record)
                store_record_foreach(s->record, local_add, &rows);
        g_autoptr(GVariant) all = g_variant_ref_sink(g_variant_builder_end(&rows));
        /* None: nothing to apply later. */
        return g_variant_n_children(all) ? g_variant_get_data_as_bytes(all) : g_bytes_new(NULL, 0);
}

/* The node's own row of table at key as it is now ([]: not there). Their
 * key is column 0, "address". */
static GVariant *local_row_now(Store *s, const char *table, GVariant *key, GError **error) {
        g_autofree char *sql = g_strdup_printf("SELECT * FROM %s WHERE address = ?", table);
        sqlite3_stmt *st = store_prepare(s, sql, error);
        GVariantBuilder values;
        int rc;

        if (!st)
                return NULL;
        if ((rc = store_record_bind(st, 1, key)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot read", error), NULL;
        g_variant_builder_init(&values, G_VARIANT_TYPE("av"));
        if ((rc = sqlite3_step(st)) == SQLITE_ROW)
                for (int i = 0; i < sqlite3_column_count(st); i++) {
                        sqlite3_value *v = sqlite3_value_dup(sqlite3_column_value(st, i));
                        g_variant_builder_add(&values, "v", store_record_value(v));
                        sqlite3_value_free(v);
                }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                g_variant_builder_clear(&values);
                return store_fail(s, rc, "Cannot read", error), NULL;
        }
        return g_variant_ref_sink(g_variant_builder_end(&values));
}

/* The row becomes what the transaction made it, unless this node wrote
 * it again meanwhile (it is no longer as the transaction found it): the
 * newer write stays. */
static bool local_row_apply(Store *s, const char *table, GVariant *key, GVariant *before, GVariant *after,
                            GError **error) {
        gsize n = g_variant_n_children(after);
        g_autofree char *sql = NULL;

        if (!node_table(table) || n > 32)
                return g_set_error(error, STORE_ERROR, STORE_ERROR_DAMAGED, "Cannot write the node's own rows to %s: "
                                   "a row of %zu columns for a table it does not keep", s->path, n), false;
        g_autoptr(GVariant) now = local_row_now(s, table, key, error);
        if (!now)
                return false;
        if (!g_variant_equal(now, before))
                return true;
        if (n > 0) {
                g_autoptr(GString) marks = g_string_new("?");
                for (gsize i = 1; i < n; i++)
                        g_string_append(marks, ", ?");
                sql = g_strdup_printf("INSERT OR REPLACE INTO %s VALUES (%s)", table, marks->str);
        } else {
                sql = g_strdup_printf("DELETE FROM %s WHERE address = ?", table);
        }
        sqlite3_stmt *st = store_prepare(s, sql, error);
        int bound = SQLITE_OK;
        if (!st)
                return false;
        if (n == 0)
                bound = store_record_bind(st, 1, key);
        for (gsize i = 0; i < n && bound == SQLITE_OK; i++) {
                g_autoptr(GVariant) v = g_variant_get_child_value(after, i);
                g_autoptr(GVariant) value = g_variant_get_variant(v);
                bound = store_record_bind(st, (int) i + 1, value);
        }
        return store_step_done(s, st, bound, error);
}

bool store_local_apply(Store *s, GBytes *changes, GError **error) {
        g_autoptr(GVariant) rows = NULL;
        GVariantIter it;
        const char *table;
        GVariant *key, *before, *after;

        if (g_bytes_get_size(changes) == 0)
                return true;
        rows = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(LOCAL_ROWS), changes, FALSE));
        g_variant_iter_init(&it, rows);
        while (g_variant_iter_next(&it, "(&sv@av@av)", &table, &key, &before, &after)) {
                bool ok = local_row_apply(s, table, key, before, after, error);
                g_variant_unref(key);
                g_variant_unref(before);
                g_variant_unref(after);
                if (!ok)
                        return false;
        }
        return true;
}
