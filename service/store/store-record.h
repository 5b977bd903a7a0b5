/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A transaction's changed rows, netted per row (store-record.c): the
 * store's record of changes for a cluster node. */

#include <stdbool.h>
#include <glib.h>
#include <sqlite3.h>

typedef struct StoreRecord StoreRecord;

StoreRecord *store_record_new(void);
void store_record_free(StoreRecord *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreRecord, store_record_free)

/* One row of table as SQLite is about to change it: call from the
 * pre-update hook with its db and op. False when it cannot be read. */
bool store_record_row(StoreRecord *r, sqlite3 *db, int op, const char *table);

/* Each row the transaction changed (no-op updates left out), in no
 * order: its columns before (NULL: it is new) and after (NULL: it went). */
typedef void (*StoreRecordFunc)(const char *table, sqlite3_value *const *before, sqlite3_value *const *after,
                                int columns, void *data);
void store_record_foreach(StoreRecord *r, StoreRecordFunc func, void *data);

/* A column's value as a GVariant (floating), and bound back to a
 * statement's parameter i. */
GVariant *store_record_value(sqlite3_value *v);
int store_record_bind(sqlite3_stmt *st, int i, GVariant *v);
