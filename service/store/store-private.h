/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The store's insides, shared by store.c (groups, rules, intent) and
 * store-vm.c (attachments, claims, MACs). */

#include <sqlite3.h>

#include "store.h"

struct Store {
        sqlite3 *db;
        char *path;
        GHashTable *statements;    /* SQL -> its prepared statement, kept */
        char *boot_id;             /* the boot new claims belong to; "" unknown */
        bool record_changes;       /* store_record_changes() */
        StoreCommitHook hook;      /* store_set_commit_hook() */
        void *hook_data;
        bool hook_off;             /* store_commit_here() */
        bool recording;            /* the pre-update hook is on (store-changes.c) */
        struct StoreRecord *record;        /* the transaction's rows; NULL: only what it dirties */
        bool record_failed;        /* a row could not be read: store_changes() fails */
        guint dirty;               /* store_dirty() */
        GHashTable *dirty_ids[STORE_TABLE_ATTACHMENTS + 1];  /* store_dirty_ids(): gint64* sets */
        sqlite3_int64 changes_seen;        /* sqlite3_total_changes64() when the last record ended */
        sqlite3_int64 others_seen;         /* PRAGMA data_version then: other connections' commits */
};

/* Forward migrations: entry N takes a database from version N to N + 1
 * (the tests build old databases with them). */
extern const char *const store_migrations[STORE_SCHEMA_VERSION];
/* Every row checked as a call's arguments would be, the references
 * between tables, duplicates, and the file's integrity (store-check.c). */
bool store_check(Store *s, GError **error);
/* A transaction's record of changes, when asked for (store-changes.c):
 * begun after BEGIN, ended at its commit or rollback; dirty_only: only
 * the tables and rows it dirties (store_dirty()), no store_changes(). */
bool store_changes_begin(Store *s, bool dirty_only, GError **error);
/* BEGIN IMMEDIATE, and the record of its changes (store_changes_begin()). */
bool store_begin_recorded(Store *s, bool dirty_only, GError **error);
void store_changes_end(Store *s);
/* Sets error from the last SQLite failure; returns false. */
bool store_fail(Store *s, int rc, const char *what, GError **error);
bool store_exec(Store *s, const char *sql, GError **error);
/* A prepared statement, reset and unbound; the store keeps it: never
 * finalize it. */
sqlite3_stmt *store_prepare(Store *s, const char *sql, GError **error);
/* Runs a statement that returns no rows (and resets it); bound is the
 * first failure of binding its parameters (SQLITE_OK: none), which fails
 * it unrun. Chain binds with ?: to get it. */
bool store_step_done(Store *s, sqlite3_stmt *st, int bound, GError **error);
/* Runs a query, calling row for each; resets it. */
bool store_step_rows(Store *s, sqlite3_stmt *st, void (*row)(sqlite3_stmt *st, void *data), void *data,
                     GError **error);
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Binds id to parameter 1; false with error set when it cannot. */
bool store_bind_id(Store *s, sqlite3_stmt *st, int64_t id, GError **error);
char *store_column_text(sqlite3_stmt *st, int i);
/* A rule's conditions, and the MACs of one owner (owner_column
 * "attachment_id" or "group_id"), written again in order. */
bool store_conditions_write(Store *s, const StoreRule *r, GError **error);
bool store_macs_write(Store *s, const char *owner_column, int64_t owner, char **macs, GError **error);
/* A statement with one id parameter. */
bool store_delete_by_id(Store *s, const char *sql, int64_t id, GError **error);
