/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "claim-floor.h"

#include <stdio.h>
#include <glib.h>

#include "bench.h"

char *floor_machine_name(unsigned i) {
        return g_strdup_printf("storm-%03u", i);
}

void sql_ok(sqlite3 *db, int rc, const char *what) {
        if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
                g_error("floor: %s: %s", what, sqlite3_errmsg(db));
}

void sql_exec(sqlite3 *db, const char *sql) {
        sql_ok(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

sqlite3_stmt *sql_prepare(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        sql_ok(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), sql);
        return st;
}

void sql_run(sqlite3 *db, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        sql_ok(db, rc == SQLITE_DONE ? SQLITE_OK : rc, sqlite3_sql(st));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
}

/* A copy of devpassd's database (state_dir/devpass.db, read as it is now,
 * through SQLite's backup) in dir, claims cleared, opened as the store
 * opens its own: WAL, synchronous=FULL, foreign keys. */
Floor *floor_new(const char *state_dir, const char *dir) {
        g_autofree char *src_path = g_build_filename(state_dir, "devpass.db", NULL);
        g_autofree char *path = g_build_filename(dir, "floor.db", NULL);
        Floor *f = g_new0(Floor, 1);
        sqlite3 *src = NULL;

        g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
        sql_ok(NULL, sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL), src_path);
        sql_ok(NULL, sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), path);
        sqlite3_backup *b = sqlite3_backup_init(f->db, "main", src, "main");
        g_assert_nonnull(b);
        g_assert_cmpint(sqlite3_backup_step(b, -1), ==, SQLITE_DONE);
        g_assert_cmpint(sqlite3_backup_finish(b), ==, SQLITE_OK);
        sqlite3_close(src);
        sql_exec(f->db, "PRAGMA journal_mode = WAL");
        sql_exec(f->db, "PRAGMA synchronous = FULL");
        sql_exec(f->db, "PRAGMA foreign_keys = ON");
        sql_exec(f->db, "DELETE FROM claims");

        sqlite3_stmt *st = sql_prepare(f->db, "SELECT a.id, a.machine, m.mac, a.name FROM attachments a "
                                              "LEFT JOIN macs m ON m.attachment_id = a.id AND m.position = 0");
        unsigned n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
                unsigned i;
                if (sscanf((const char *) sqlite3_column_text(st, 1), "storm-%u", &i) != 1 || i >= FLOOR_MACHINES)
                        continue;
                f->attachment[i] = sqlite3_column_int64(st, 0);
                f->mac[i] = g_strdup((const char *) sqlite3_column_text(st, 2) ?: "");
                f->name[i] = g_strdup((const char *) sqlite3_column_text(st, 3));
                n++;
        }
        sqlite3_finalize(st);
        g_assert_cmpuint(n, ==, FLOOR_MACHINES);
        f->begin = sql_prepare(f->db, "BEGIN IMMEDIATE");
        f->insert = sql_prepare(f->db, "INSERT INTO claims (address, holder, attachment_id, mac) VALUES (?, ?, ?, ?)");
        f->update = sql_prepare(f->db, "UPDATE attachments SET claimed_generation = generation WHERE id = ?");
        f->commit = sql_prepare(f->db, "COMMIT");
        f->release = sql_prepare(f->db, "DELETE FROM claims WHERE holder = ?");
        f->path = g_steal_pointer(&path);
        return f;
}

void floor_free(Floor *f) {
        sqlite3_finalize(f->begin);
        sqlite3_finalize(f->insert);
        sqlite3_finalize(f->update);
        sqlite3_finalize(f->commit);
        sqlite3_finalize(f->release);
        sqlite3_close(f->db);
        for (unsigned i = 0; i < FLOOR_MACHINES; i++) {
                g_free(f->mac[i]);
                g_free(f->name[i]);
        }
        g_free(f->path);
        g_free(f);
}

double floor_claim(Floor *f, unsigned i, const char *address) {
        g_autofree char *machine = floor_machine_name(i);

        double t0 = now_ms();
        sql_run(f->db, f->begin);
        sqlite3_bind_text(f->insert, 1, address, -1, SQLITE_STATIC);
        sqlite3_bind_text(f->insert, 2, machine, -1, SQLITE_STATIC);
        sqlite3_bind_int64(f->insert, 3, f->attachment[i]);
        sqlite3_bind_text(f->insert, 4, f->mac[i], -1, SQLITE_STATIC);
        sql_run(f->db, f->insert);
        sqlite3_bind_int64(f->update, 1, f->attachment[i]);
        sql_run(f->db, f->update);
        sql_run(f->db, f->commit);
        double ms = now_ms() - t0;

        sql_run(f->db, f->begin);
        sqlite3_bind_text(f->release, 1, machine, -1, SQLITE_STATIC);
        sql_run(f->db, f->release);
        sql_run(f->db, f->commit);
        return ms;
}
