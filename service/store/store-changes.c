/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which rows a transaction changed, cascades and foreign-key actions
 * included: what a node of a cluster turns into one etcd transaction.
 * SQLite's session extension records it (Debian builds SQLite with it);
 * a session lives from store_begin() to the commit or rollback. */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

#include "store-private.h"

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
        int rc;

        if (!s->record_changes)
                return true;
        if (dirty_only) {
                sqlite3_preupdate_hook(s->db, on_preupdate, s);
                s->recording_dirty = true;
                return true;
        }
        if ((rc = sqlite3session_create(s->db, "main", &s->session)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot record the changes of", error);
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
                if ((rc = sqlite3session_attach(s->session, tables[i])) != SQLITE_OK)
                        return store_fail(s, rc, "Cannot record the changes of", error);
        for (size_t i = 0; i < G_N_ELEMENTS(local_tables); i++)
                if ((rc = sqlite3session_attach(s->session, local_tables[i])) != SQLITE_OK)
                        return store_fail(s, rc, "Cannot record the changes of", error);
        return true;
}

static int table_of(const char *name) {
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
                if (g_str_equal(tables[i], name))
                        return (int) i;
        return g_str_equal(name, "conditions") ? STORE_TABLE_RULES : -1;
}

/* Whether a session records the table. */
static bool recorded(const char *name) {
        for (size_t i = 0; i < G_N_ELEMENTS(local_tables); i++)
                if (g_str_equal(local_tables[i], name))
                        return true;
        return table_of(name) >= 0;
}

static guint dirty_bit(const char *name) {
        int table = table_of(name);

        if (table >= 0)
                return STORE_DIRTY_TABLE(table);
        return g_str_equal(name, "sriov") ? STORE_DIRTY_SRIOV : STORE_DIRTY_OVERRIDES;
}

/* The session's changeset, made once for the transaction as it stands:
 * the commit hook, the local rows and the tables changed read it, and
 * making it walks every change. Borrowed. */
static GBytes *session_changeset(Store *s, GError **error) {
        sqlite3_int64 now = sqlite3_total_changes64(s->db);
        void *blob = NULL;
        int size = 0, rc;

        if (s->changeset && s->changeset_at == now)
                return s->changeset;
        g_clear_pointer(&s->changeset, g_bytes_unref);
        if ((rc = sqlite3session_changeset(s->session, &size, &blob)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot read the changes of", error), NULL;
        s->changeset = g_bytes_new_with_free_func(blob, size, sqlite3_free, blob);
        s->changeset_at = now;
        return s->changeset;
}

static int changeset_start(GBytes *changeset, sqlite3_changeset_iter **it) {
        gsize size;
        const void *data = g_bytes_get_data(changeset, &size);

        return sqlite3changeset_start(it, (int) size, (void *) data);
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

static void dirty_id(Store *s, sqlite3_changeset_iter *it, const char *name, int op) {
        sqlite3_value *key = NULL;
        int rc = op == SQLITE_INSERT ? sqlite3changeset_new(it, 0, &key) : sqlite3changeset_old(it, 0, &key);

        dirty_key(s, name, rc, key);
}

/* A transaction that records only what it dirties: each row a session
 * would record, as SQLite is about to change it (cascades included). A
 * session's changeset would prepare its statements again each time. */
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
}

/* The tables the session recorded into s->dirty; all when it cannot say. */
static void session_dirty(Store *s) {
        sqlite3_changeset_iter *it = NULL;
        GBytes *changeset;

        if (sqlite3session_isempty(s->session))
                return;
        if (!(changeset = session_changeset(s, NULL)) || changeset_start(changeset, &it) != SQLITE_OK) {
                s->dirty = STORE_DIRTY_ALL;
        } else {
                const char *name;
                int columns, op, indirect;
                while (sqlite3changeset_next(it) == SQLITE_ROW)
                        if (sqlite3changeset_op(it, &name, &columns, &op, &indirect) == SQLITE_OK) {
                                s->dirty |= dirty_bit(name);
                                dirty_id(s, it, name, op);
                        }
                if (sqlite3changeset_finalize(it) != SQLITE_OK)
                        s->dirty = STORE_DIRTY_ALL;
        }
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
        if (s->session)
                session_dirty(s);
        if (s->recording_dirty) {
                sqlite3_preupdate_hook(s->db, NULL, NULL);
                s->recording_dirty = false;
        }
        g_clear_pointer(&s->changeset, g_bytes_unref);
        g_clear_pointer(&s->session, sqlite3session_delete);
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

/* Column 0 is every table's key: the id, the address or the MAC; for
 * conditions, the rule's id. The name is column 1 of groups, 2 of rules;
 * the holder column 1 of claims and tenant_holds. */
static StoreRowChange *change_read(sqlite3_changeset_iter *it, const char *name, int op) {
        int table = table_of(name);
        sqlite3_value *key = NULL, *old = NULL;
        StoreRowChange *c;

        if (table < 0)
                return NULL;
        c = g_new0(StoreRowChange, 1);
        c->table = table;
        c->op = op == SQLITE_INSERT ? STORE_ROW_INSERT : op == SQLITE_DELETE ? STORE_ROW_DELETE : STORE_ROW_UPDATE;
        if (op == SQLITE_INSERT)
                sqlite3changeset_new(it, 0, &key);
        else
                sqlite3changeset_old(it, 0, &key);
        if (g_str_equal(name, "conditions"))
                c->op = STORE_ROW_UPDATE;
        if (table == STORE_TABLE_GROUPS || table == STORE_TABLE_RULES || table == STORE_TABLE_ATTACHMENTS)
                c->id = sqlite3_value_int64(key);
        else
                c->key = value_text(key);
        if (op != SQLITE_INSERT && !g_str_equal(name, "conditions")) {
                int column = table == STORE_TABLE_GROUPS ? 1 : table == STORE_TABLE_RULES ? 2 : 1;
                if (table == STORE_TABLE_GROUPS || table == STORE_TABLE_RULES) {
                        sqlite3changeset_old(it, column, &old);
                        c->old_name = value_text(old);
                } else if (table == STORE_TABLE_CLAIMS || table == STORE_TABLE_HOLDS) {
                        sqlite3changeset_old(it, column, &old);
                        c->old_holder = value_text(old);
                }
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

GPtrArray *store_changes(Store *s, GError **error) {
        g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify) store_row_change_free);
        sqlite3_changeset_iter *it = NULL;
        GBytes *changeset;
        int rc;

        if (!s->session)
                return g_steal_pointer(&all);
        if (!(changeset = session_changeset(s, error)))
                return NULL;
        if ((rc = changeset_start(changeset, &it)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot read the changes of", error), NULL;
        while ((rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
                const char *name;
                int columns, op, indirect;
                sqlite3changeset_op(it, &name, &columns, &op, &indirect);
                StoreRowChange *c = change_read(it, name, op);
                if (c)
                        changes_add(all, c);
        }
        sqlite3changeset_finalize(it);
        if (rc != SQLITE_DONE)
                return store_fail(s, rc, "Cannot read the changes of", error), NULL;
        return g_steal_pointer(&all);
}

static int local_only(void *ctx, const char *table) {
        for (size_t i = 0; i < G_N_ELEMENTS(node_tables); i++)
                if (g_str_equal(table, node_tables[i]))
                        return 1;
        return 0;
}

/* Whether the changeset changes a row only this node has. */
static bool changeset_local(Store *s, GBytes *changeset, GError **error) {
        sqlite3_changeset_iter *it = NULL;
        bool local = false;
        int rc;

        if ((rc = changeset_start(changeset, &it)) != SQLITE_OK)
                return store_fail(s, rc, "Cannot read the changes of", error);
        while (!local && (rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
                const char *name;
                int columns, op, indirect;
                sqlite3changeset_op(it, &name, &columns, &op, &indirect);
                local = local_only(NULL, name);
        }
        rc = sqlite3changeset_finalize(it);
        return rc == SQLITE_OK ? local : store_fail(s, rc, "Cannot read the changes of", error);
}

GBytes *store_local_changes(Store *s, GError **error) {
        g_autoptr(GError) local_error = NULL;
        GBytes *changeset;

        if (!s->session)
                return g_bytes_new(NULL, 0);
        if (!(changeset = session_changeset(s, error)))
                return NULL;
        /* None: nothing to apply later. Applying a changeset sets
         * defer_foreign_keys, which makes SQLite prepare every statement
         * the store keeps again. */
        if (changeset_local(s, changeset, &local_error))
                return g_bytes_ref(changeset);
        if (local_error)
                return g_propagate_error(error, g_steal_pointer(&local_error)), NULL;
        return g_bytes_new(NULL, 0);
}

/* The node's own rows are only ever written here: whatever is in the
 * way is this node's older write, and goes. */
static int replace_on_conflict(void *ctx, int conflict, sqlite3_changeset_iter *it) {
        return conflict == SQLITE_CHANGESET_DATA || conflict == SQLITE_CHANGESET_CONFLICT ? SQLITE_CHANGESET_REPLACE :
                                                                                             SQLITE_CHANGESET_OMIT;
}

bool store_local_apply(Store *s, GBytes *changes, GError **error) {
        gsize size;
        const void *data = g_bytes_get_data(changes, &size);
        int rc;

        if (size == 0)
                return true;
        rc = sqlite3changeset_apply(s->db, (int) size, (void *) data, local_only, replace_on_conflict, NULL);
        return rc == SQLITE_OK || store_fail(s, rc, "Cannot write", error);
}
