/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What devpass keeps about the node beside its settings: the VF counts
 * asked for (applied again at every start, as the kernel forgets them at
 * a reboot), the driver overrides devpass wrote, and the boot that
 * machines' claims belong to. */
#include "store-private.h"

bool store_sriov_set(Store *s, const char *address, unsigned numvfs, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO sriov (address, numvfs) VALUES (?, ?) "
                                            "ON CONFLICT (address) DO UPDATE SET numvfs = excluded.numvfs", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, address) ?:
                    sqlite3_bind_int64(st, 2, numvfs);
        return store_step_done(s, st, bound, error);
}

static void sriov_row(sqlite3_stmt *st, void *data) {
        g_hash_table_insert(data, store_column_text(st, 0), GUINT_TO_POINTER((guint) sqlite3_column_int64(st, 1)));
}

GHashTable *store_sriov_load(Store *s, GError **error) {
        g_autoptr(GHashTable) counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        sqlite3_stmt *st = store_prepare(s, "SELECT address, numvfs FROM sriov", error);

        if (!st || !store_step_rows(s, st, sriov_row, counts, error))
                return NULL;
        return g_steal_pointer(&counts);
}

bool store_override_set(Store *s, const char *address, bool written, GError **error) {
        sqlite3_stmt *st = store_prepare(s, written ? "INSERT OR IGNORE INTO overrides (address) VALUES (?)"
                                                    : "DELETE FROM overrides WHERE address = ?", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, address);
        return store_step_done(s, st, bound, error);
}

static void override_row(sqlite3_stmt *st, void *data) {
        g_hash_table_add(data, store_column_text(st, 0));
}

GHashTable *store_overrides_load(Store *s, GError **error) {
        g_autoptr(GHashTable) set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        sqlite3_stmt *st = store_prepare(s, "SELECT address FROM overrides", error);

        if (!st || !store_step_rows(s, st, override_row, set, error))
                return NULL;
        return g_steal_pointer(&set);
}

void store_set_boot_id(Store *s, const char *boot_id) {
        g_free(s->boot_id);
        s->boot_id = g_strdup(boot_id ?: "");
}

const char *store_boot_id(Store *s) {
        return s->boot_id ?: "";
}

static void stale_row(sqlite3_stmt *st, void *data) {
        StoreClaim *c = g_new0(StoreClaim, 1);
        c->address = store_column_text(st, 0);
        c->holder = store_column_text(st, 1);
        c->attachment_id = sqlite3_column_int64(st, 2);
        c->mac = store_column_text(st, 3);
        g_ptr_array_add(data, c);
}

/* A statement whose one parameter is this boot. */
static sqlite3_stmt *prepare_boot(Store *s, const char *sql, GError **error) {
        sqlite3_stmt *st = store_prepare(s, sql, error);
        int rc;

        if (st && (rc = store_bind_text(st, 1, s->boot_id)) != SQLITE_OK) {
                store_fail(s, rc, "Cannot read", error);
                return NULL;
        }
        return st;
}

GPtrArray *store_claims_release_stale(Store *s, GError **error) {
        g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func((GDestroyNotify) store_claim_free);
        sqlite3_stmt *st;

        if (!s->boot_id || !*s->boot_id)
                return g_steal_pointer(&stale);
        if (!store_begin(s, error))
                return NULL;
        /* A claim without a boot was made before devpass recorded boots:
         * it may be a machine that runs now (devpassd upgraded in place),
         * and releasing it would let a second machine have its device. So
         * it is taken to be of this boot, and goes at the next reboot. */
        bool ok = (st = prepare_boot(s, "SELECT address, holder, attachment_id, mac FROM claims "
                                        "WHERE boot_id != '' AND boot_id != ? ORDER BY holder, address", error)) &&
                  store_step_rows(s, st, stale_row, stale, error) &&
                  (st = prepare_boot(s, "DELETE FROM claims WHERE boot_id != '' AND boot_id != ?", error)) &&
                  store_step_done(s, st, SQLITE_OK, error) &&
                  (st = prepare_boot(s, "UPDATE claims SET boot_id = ? WHERE boot_id = ''", error)) &&
                  store_step_done(s, st, SQLITE_OK, error);
        if (!ok) {
                store_rollback(s);
                return NULL;
        }
        if (!store_commit(s, error))
                return NULL;
        return g_steal_pointer(&stale);
}
