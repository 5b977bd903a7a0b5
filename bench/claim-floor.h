/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Claim floor of the boot storm: one durable SQLite transaction of a
 * claim's rows, on a copy of devpassd's database, for machines
 * storm-000 to storm-499 (each with one attachment). */

#include <sqlite3.h>
#include <stdint.h>

#define FLOOR_MACHINES 500

typedef struct {
        sqlite3 *db;
        char *path;
        sqlite3_stmt *begin, *insert, *update, *commit, *release;
        int64_t attachment[FLOOR_MACHINES];
        char *mac[FLOOR_MACHINES];
        char *name[FLOOR_MACHINES];     /* the attachment's */
} Floor;

char *floor_machine_name(unsigned i);
/* A copy of state_dir's database in dir, its claims emptied. */
Floor *floor_new(const char *state_dir, const char *dir);
void floor_free(Floor *f);
/* Machine i claims address: the timed transaction (ms); then its release (untimed). */
double floor_claim(Floor *f, unsigned i, const char *address);

/* SQLite calls that must succeed (the benchmark stops otherwise). */
void sql_ok(sqlite3 *db, int rc, const char *what);
void sql_exec(sqlite3 *db, const char *sql);
sqlite3_stmt *sql_prepare(sqlite3 *db, const char *sql);
void sql_run(sqlite3 *db, sqlite3_stmt *st);
