/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A transaction's changed rows, as SQLite is about to change each (the
 * pre-update hook: cascades and foreign-key actions included), netted
 * per row: what SQLite's session extension gives, without the statements
 * a session prepares again for every changeset (about 140k instructions
 * a table, on the way of every cluster change). */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <string.h>

#include "store-record.h"

typedef struct {
        const char *table;        /* the caller's, static */
        int columns;
        sqlite3_value **before;   /* the row when the transaction began; NULL: not there */
        sqlite3_value **after;    /* the row now; NULL: gone */
} RecordRow;

struct StoreRecord {
        GHashTable *rows;         /* "table\x1fkey" -> RecordRow */
};

static void image_free(sqlite3_value **image, int columns) {
        if (!image)
                return;
        for (int i = 0; i < columns; i++)
                sqlite3_value_free(image[i]);
        g_free(image);
}

static void row_free(RecordRow *row) {
        image_free(row->before, row->columns);
        image_free(row->after, row->columns);
        g_free(row);
}

StoreRecord *store_record_new(void) {
        StoreRecord *r = g_new0(StoreRecord, 1);
        r->rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) row_free);
        return r;
}

void store_record_free(StoreRecord *r) {
        if (!r)
                return;
        g_hash_table_unref(r->rows);
        g_free(r);
}

static sqlite3_value **image_read(sqlite3 *db, int columns, int (*read)(sqlite3 *, int, sqlite3_value **)) {
        sqlite3_value **image = g_new0(sqlite3_value *, columns);

        for (int i = 0; i < columns; i++) {
                sqlite3_value *v = NULL;
                if (read(db, i, &v) != SQLITE_OK || !(image[i] = sqlite3_value_dup(v))) {
                        image_free(image, columns);
                        return NULL;
                }
        }
        return image;
}

static void key_append(GString *key, sqlite3_value *v) {
        g_string_append_c(key, '\x1f');
        if (sqlite3_value_type(v) == SQLITE_INTEGER)
                g_string_append_printf(key, "%" G_GINT64_FORMAT, (gint64) sqlite3_value_int64(v));
        else if (sqlite3_value_bytes(v) > 0)
                g_string_append_len(key, (const char *) sqlite3_value_blob(v), sqlite3_value_bytes(v));
}

/* A row is named by its table and primary key: column 0, and 1 too for
 * a rule's conditions (rule, position). */
static char *row_key(const char *table, sqlite3_value **image, int columns) {
        GString *key = g_string_new(table);

        key_append(key, image[0]);
        if (g_str_equal(table, "conditions") && columns > 1)
                key_append(key, image[1]);
        return g_string_free(key, FALSE);
}

/* The row named by image's key steps from was (its first change only:
 * what it was before the transaction) to now. Takes both images. */
static void row_step(StoreRecord *r, const char *table, int columns, sqlite3_value **key_image, sqlite3_value **was,
                     sqlite3_value **now) {
        char *key = row_key(table, key_image, columns);
        RecordRow *row = g_hash_table_lookup(r->rows, key);

        if (!row) {
                row = g_new0(RecordRow, 1);
                row->table = table;
                row->columns = columns;
                row->before = was;
                g_hash_table_insert(r->rows, key, row);
        } else {
                g_free(key);
                image_free(was, columns);
        }
        image_free(row->after, row->columns);
        row->after = now;
}

bool store_record_row(StoreRecord *r, sqlite3 *db, int op, const char *table) {
        int columns = sqlite3_preupdate_count(db);
        sqlite3_value **old = NULL, **new = NULL;

        if (op != SQLITE_INSERT && !(old = image_read(db, columns, sqlite3_preupdate_old)))
                return false;
        if (op != SQLITE_DELETE && !(new = image_read(db, columns, sqlite3_preupdate_new)))
                return image_free(old, columns), false;
        if (old && new) {
                g_autofree char *old_key = row_key(table, old, columns);
                g_autofree char *new_key = row_key(table, new, columns);
                if (!g_str_equal(old_key, new_key)) {
                        /* A new primary key: the old row goes, a new one comes. */
                        row_step(r, table, columns, old, old, NULL);
                        row_step(r, table, columns, new, NULL, new);
                        return true;
                }
        }
        row_step(r, table, columns, old ?: new, old, new);
        return true;
}

static bool value_same(sqlite3_value *a, sqlite3_value *b) {
        int type = sqlite3_value_type(a);

        if (type != sqlite3_value_type(b))
                return false;
        switch (type) {
        case SQLITE_NULL:
                return true;
        case SQLITE_INTEGER:
                return sqlite3_value_int64(a) == sqlite3_value_int64(b);
        case SQLITE_FLOAT:
                return sqlite3_value_double(a) == sqlite3_value_double(b);
        default: {
                int n = sqlite3_value_bytes(a);
                /* An empty text or blob has no bytes to compare (NULL). */
                return n == sqlite3_value_bytes(b) &&
                       (n == 0 || memcmp(sqlite3_value_blob(a), sqlite3_value_blob(b), (size_t) n) == 0);
        }
        }
}

static bool row_changed(const RecordRow *row) {
        if (!row->before || !row->after)
                return row->before || row->after;
        for (int i = 0; i < row->columns; i++)
                if (!value_same(row->before[i], row->after[i]))
                        return true;
        return false;
}

void store_record_foreach(StoreRecord *r, StoreRecordFunc func, void *data) {
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, r->rows);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const RecordRow *row = value;
                if (row_changed(row))
                        func(row->table, row->before, row->after, row->columns, data);
        }
}

/* ---- rows carried to a later transaction ---- */

/* TEXT as a bytestring: a row's text need not be UTF-8. */
GVariant *store_record_value(sqlite3_value *v) {
        switch (sqlite3_value_type(v)) {
        case SQLITE_NULL:
                return g_variant_new("()");
        case SQLITE_INTEGER:
                return g_variant_new_int64(sqlite3_value_int64(v));
        case SQLITE_FLOAT:
                return g_variant_new_double(sqlite3_value_double(v));
        case SQLITE_TEXT:
                return g_variant_new_bytestring((const char *) sqlite3_value_text(v));
        default:
                return g_variant_new("(@ay)", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, sqlite3_value_blob(v),
                                                                        (gsize) sqlite3_value_bytes(v), 1));
        }
}

int store_record_bind(sqlite3_stmt *st, int i, GVariant *v) {
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT64))
                return sqlite3_bind_int64(st, i, g_variant_get_int64(v));
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_DOUBLE))
                return sqlite3_bind_double(st, i, g_variant_get_double(v));
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_BYTESTRING))
                return sqlite3_bind_text(st, i, g_variant_get_bytestring(v), -1, SQLITE_TRANSIENT);
        if (g_variant_is_of_type(v, G_VARIANT_TYPE("(ay)"))) {
                g_autoptr(GVariant) bytes = g_variant_get_child_value(v, 0);
                gsize size;
                const void *data = g_variant_get_fixed_array(bytes, &size, 1);
                return sqlite3_bind_blob(st, i, data, (int) size, SQLITE_TRANSIENT);
        }
        return sqlite3_bind_null(st, i);
}
