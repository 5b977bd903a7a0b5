/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(devpass-store-error-quark, store_error)


const char *const store_migrations[] = {
        "CREATE TABLE groups ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  type TEXT NOT NULL CHECK (type IN ('pci', 'sriov-nic')),"
        "  description TEXT NOT NULL DEFAULT '',"
        "  class TEXT NOT NULL DEFAULT 'other',"
        "  tenant TEXT NOT NULL DEFAULT '');"
        "CREATE TABLE rules ("
        "  id INTEGER PRIMARY KEY,"
        "  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  node TEXT NOT NULL DEFAULT '',"
        "  enabled INTEGER NOT NULL DEFAULT 1);"
        "CREATE TABLE conditions ("
        "  rule_id INTEGER NOT NULL REFERENCES rules(id) ON DELETE CASCADE,"
        "  position INTEGER NOT NULL,"
        "  field TEXT NOT NULL,"
        "  op TEXT NOT NULL,"
        "  value TEXT NOT NULL,"
        "  PRIMARY KEY (rule_id, position));"
        "CREATE TABLE passthrough ("
        "  address TEXT PRIMARY KEY,"
        "  group_id INTEGER NOT NULL REFERENCES groups(id));"
        "CREATE INDEX rules_group ON rules(group_id);",
        /* 2: machines' attachments and claims, tenants' groups and holds. */
        "ALTER TABLE groups ADD COLUMN tenant_node TEXT NOT NULL DEFAULT '';"
        "CREATE TABLE attachments ("
        "  id INTEGER PRIMARY KEY,"
        "  machine TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  type TEXT NOT NULL CHECK (type IN ('pci', 'sriov-nic')),"
        "  description TEXT NOT NULL DEFAULT '',"
        "  tenant TEXT NOT NULL DEFAULT '',"
        "  group_id INTEGER NOT NULL REFERENCES groups(id),"
        "  count INTEGER NOT NULL CHECK (count >= 1),"
        "  optional INTEGER NOT NULL DEFAULT 0,"
        "  generation INTEGER NOT NULL DEFAULT 1,"
        "  claimed_generation INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (machine, name));"
        /* One machine per device, ever: the key is the exclusivity. */
        "CREATE TABLE claims ("
        "  address TEXT PRIMARY KEY,"
        "  holder TEXT NOT NULL,"
        "  attachment_id INTEGER REFERENCES attachments(id) ON DELETE SET NULL,"
        "  mac TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX claims_holder ON claims(holder);"
        /* One tenant per device; its group goes, the holds go. */
        "CREATE TABLE tenant_holds ("
        "  address TEXT PRIMARY KEY,"
        "  tenant TEXT NOT NULL,"
        "  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
        "  mac TEXT NOT NULL DEFAULT '');"
        /* Every MAC devpass gave out, unique among attachments and tenant passes. */
        "CREATE TABLE macs ("
        "  mac TEXT PRIMARY KEY,"
        "  attachment_id INTEGER REFERENCES attachments(id) ON DELETE CASCADE,"
        "  group_id INTEGER REFERENCES groups(id) ON DELETE CASCADE,"
        "  position INTEGER NOT NULL DEFAULT 0);",
        /* 3: VF counts kept across reboots, claims that belong to one boot,
         * and the last known facts of a passed-through device (shown while
         * it is missing). */
        "CREATE TABLE sriov ("
        "  address TEXT PRIMARY KEY,"
        "  numvfs INTEGER NOT NULL CHECK (numvfs >= 0));"
        "ALTER TABLE claims ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';"
        /* The functions whose driver_override devpass wrote: written with
         * the intent, forgotten only when the host driver has the function
         * back, so that an override left behind (a release the kernel
         * refused, a crash) is told from one an administrator wrote. Every
         * intent of before had its override written by devpass. */
        "CREATE TABLE overrides ("
        "  address TEXT PRIMARY KEY);"
        "INSERT INTO overrides (address) SELECT address FROM passthrough;"
        "ALTER TABLE passthrough ADD COLUMN vendor_id INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE passthrough ADD COLUMN device_id INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE passthrough ADD COLUMN subsystem_vendor_id INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE passthrough ADD COLUMN subsystem_device_id INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE passthrough ADD COLUMN class_code INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE passthrough ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;"
        /* Ids never used twice (AUTOINCREMENT), so that a client's stale
         * object path never names another object: the tables are made
         * again, as SQLite's "other kinds of table schema changes" says
         * (foreign keys are off while migrating). */
        "CREATE TABLE groups_new ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  name TEXT NOT NULL UNIQUE,"
        "  type TEXT NOT NULL CHECK (type IN ('pci', 'sriov-nic')),"
        "  description TEXT NOT NULL DEFAULT '',"
        "  class TEXT NOT NULL DEFAULT 'other',"
        "  tenant TEXT NOT NULL DEFAULT '',"
        "  tenant_node TEXT NOT NULL DEFAULT '');"
        "INSERT INTO groups_new SELECT id, name, type, description, class, tenant, tenant_node FROM groups;"
        "DROP TABLE groups;"
        "ALTER TABLE groups_new RENAME TO groups;"
        "CREATE TABLE rules_new ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  node TEXT NOT NULL DEFAULT '',"
        "  enabled INTEGER NOT NULL DEFAULT 1);"
        "INSERT INTO rules_new SELECT id, group_id, name, node, enabled FROM rules;"
        "DROP TABLE rules;"
        "ALTER TABLE rules_new RENAME TO rules;"
        "CREATE INDEX rules_group ON rules(group_id);"
        "CREATE TABLE attachments_new ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  machine TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  type TEXT NOT NULL CHECK (type IN ('pci', 'sriov-nic')),"
        "  description TEXT NOT NULL DEFAULT '',"
        "  tenant TEXT NOT NULL DEFAULT '',"
        "  group_id INTEGER NOT NULL REFERENCES groups(id),"
        "  count INTEGER NOT NULL CHECK (count >= 1),"
        "  optional INTEGER NOT NULL DEFAULT 0,"
        "  generation INTEGER NOT NULL DEFAULT 1,"
        "  claimed_generation INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (machine, name));"
        "INSERT INTO attachments_new SELECT id, machine, name, type, description, tenant, group_id, count, optional, "
        "  generation, claimed_generation FROM attachments;"
        "DROP TABLE attachments;"
        "ALTER TABLE attachments_new RENAME TO attachments;",
        /* 4: the UUID of the domain a claim was made for, beside its name
         * ('' when the caller gave none). */
        "ALTER TABLE claims ADD COLUMN uuid TEXT NOT NULL DEFAULT '';",
        /* 5: a cluster node's replica: the etcd revision its rows reflect,
         * and each key's last revision (empty on a single node). */
        "CREATE TABLE replica ("
        "  prefix TEXT PRIMARY KEY,"
        "  revision INTEGER NOT NULL CHECK (revision >= 0));"
        "CREATE TABLE replica_keys ("
        "  key TEXT PRIMARY KEY,"
        "  mod_revision INTEGER NOT NULL CHECK (mod_revision > 0),"
        "  value BLOB NOT NULL DEFAULT x'');",
        /* 6: a node's join sent to etcd, kept until the node knows etcd
         * took it: the ids the cluster gives its rows, by the revision
         * of etcd the join read (empty but while joining). */
        "CREATE TABLE joins ("
        "  revision INTEGER PRIMARY KEY CHECK (revision > 0));"
        "CREATE TABLE join_ids ("
        "  revision INTEGER NOT NULL REFERENCES joins(revision) ON DELETE CASCADE,"
        "  tbl TEXT NOT NULL CHECK (tbl IN ('groups', 'rules', 'attachments')),"
        "  old INTEGER NOT NULL CHECK (old > 0),"
        "  new INTEGER NOT NULL CHECK (new > 0),"
        "  PRIMARY KEY (revision, tbl, old));",
};
G_STATIC_ASSERT(G_N_ELEMENTS(store_migrations) == STORE_SCHEMA_VERSION);

bool store_fail(Store *s, int rc, const char *what, GError **error) {
        bool damaged = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
        /* devpass's schema has no triggers: what one refuses is no
         * fault of the row's. */
        int code = (rc & 0xff) == SQLITE_CONSTRAINT &&
                   sqlite3_extended_errcode(s->db) != SQLITE_CONSTRAINT_TRIGGER ? STORE_ERROR_CONSTRAINT :
                   damaged ? STORE_ERROR_DAMAGED : STORE_ERROR_IO;
        /* SQLite's "disk I/O error" hides the cause ("Read-only file system"). */
        int sys = sqlite3_system_errno(s->db);
        g_set_error(error, STORE_ERROR, code, "%s %s: %s%s%s%s%s", what, s->path, sqlite3_errmsg(s->db),
                    sys ? " (" : "", sys ? g_strerror(sys) : "", sys ? ")" : "",
                    damaged ? ": restore a backup" : "");
        return false;
}

bool store_exec(Store *s, const char *sql, GError **error) {
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK || store_fail(s, rc, "Cannot write", error);
}

/* Statements are prepared once and kept: parsing SQL was a tenth of a
 * call's time. They are reset, not freed, after each use. */
sqlite3_stmt *store_prepare(Store *s, const char *sql, GError **error) {
        sqlite3_stmt *st = g_hash_table_lookup(s->statements, sql);

        if (st) {
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                return st;
        }
        int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
                store_fail(s, rc, "Cannot read", error);
                return NULL;
        }
        g_hash_table_insert(s->statements, g_strdup(sql), st);
        return st;
}

/* Runs a statement that returns no rows, unless binding failed: a
 * parameter left unbound is NULL, and would be written as such. */
bool store_step_done(Store *s, sqlite3_stmt *st, int bound, GError **error) {
        int rc = bound == SQLITE_OK ? sqlite3_step(st) : bound;
        sqlite3_reset(st);
        return rc == SQLITE_DONE || store_fail(s, rc, "Cannot write", error);
}

static bool store_version(Store *s, int *version, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "PRAGMA user_version", error);
        if (!st)
                return false;
        int rc = sqlite3_step(st);
        *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
                return store_fail(s, rc, "Cannot read", error);
        if (*version < 0)
                return store_damaged(s, NULL, NULL, "its schema version is below 0", error);
        if (*version > STORE_SCHEMA_VERSION) {
                g_set_error(error, STORE_ERROR, STORE_ERROR_NEWER,
                            "%s has schema version %d, newer than this devpassd knows (%d): "
                            "run the newer devpassd, or restore a backup", s->path, *version,
                            STORE_SCHEMA_VERSION);
                return false;
        }
        return true;
}

/* Each step in a transaction of its own, with foreign keys off (tables
 * are made again; SQLite ignores the pragma inside a transaction). The
 * rows were checked before, on a migrated copy. */
static bool store_migrate(Store *s, int version, GError **error) {
        if (!store_exec(s, "PRAGMA foreign_keys = OFF", error))
                return false;
        for (; version < STORE_SCHEMA_VERSION; version++) {
                g_autofree char *bump = g_strdup_printf("PRAGMA user_version = %d", version + 1);
                if (!store_begin(s, error))
                        return false;
                if (!store_exec(s, store_migrations[version], error) || !store_exec(s, bump, error)) {
                        store_rollback(s);
                        return false;
                }
                if (!store_commit(s, error))
                        return false;
        }
        return store_exec(s, "PRAGMA foreign_keys = ON", error);
}

static void statement_free(gpointer st) {
        (void) sqlite3_finalize(st);
}

static Store *store_new(const char *path) {
        Store *s = g_new0(Store, 1);
        s->statements = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, statement_free);
        s->path = g_strdup(path);
        return s;
}

static bool store_connect(Store *s, const char *filename, int flags, GError **error) {
        /* One thread uses a connection (the loop's): no mutex on each call. */
        int rc = sqlite3_open_v2(filename, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                if (!s->db)
                        return g_set_error(error, STORE_ERROR, STORE_ERROR_IO, "Cannot open %s", s->path), false;
                return store_fail(s, rc, "Cannot open", error);
        }
        sqlite3_extended_result_codes(s->db, 1);
        /* A writer that finds the database busy waits a little, not forever. */
        sqlite3_busy_timeout(s->db, 5000);
        return true;
}

/* The file as a migrated copy in memory: what devpassd would run on,
 * checked before the file itself is written (a damaged store at an older
 * version is not migrated). */
static Store *store_copy(Store *s, int version, GError **error) {
        g_autoptr(Store) copy = store_new(s->path);

        if (!store_connect(copy, ":memory:", SQLITE_OPEN_READWRITE, error))
                return NULL;
        sqlite3_backup *b = sqlite3_backup_init(copy->db, "main", s->db, "main");
        int rc = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(copy->db);
        int finished = sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE || finished != SQLITE_OK) {
                store_fail(s, rc != SQLITE_DONE ? rc : finished, "Cannot read", error);
                return NULL;
        }
        g_autoptr(GError) local = NULL;
        if (!store_migrate(copy, version, &local)) {
                store_damaged(s, NULL, NULL, local->message, error);
                return NULL;
        }
        return g_steal_pointer(&copy);
}

Store *store_open_checked(const char *dir, StoreCheck check, GError **error) {
        if (g_mkdir_with_parents(dir, 0700) < 0 || chmod(dir, 0700) < 0) {
                g_set_error(error, STORE_ERROR, STORE_ERROR_IO, "Cannot create the state directory %s: %s",
                            dir, g_strerror(errno));
                return NULL;
        }
        g_autofree char *path = g_build_filename(dir, "devpass.db", NULL);
        g_autoptr(Store) s = store_new(path);
        /* Create it 0600 ourselves: SQLite would follow the umask. */
        int fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                g_set_error(error, STORE_ERROR, STORE_ERROR_IO, "Cannot open %s: %s", s->path, g_strerror(errno));
                return NULL;
        }
        close(fd);

        /* Nothing is written before the rows are checked: not the journal
         * mode (a header byte), not a migration, not the checkpoint SQLite
         * makes when the last connection closes. */
        int version;
        if (!store_connect(s, s->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, error) ||
            sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK ||
            !store_version(s, &version, error))
                return NULL;
        {
                g_autoptr(Store) copy = store_copy(s, version, error);
                if (!copy || !store_check(copy, error) || (check && !check(copy, error)))
                        return NULL;
        }
        if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL) != SQLITE_OK ||
            !store_exec(s, "PRAGMA journal_mode = WAL", error) ||
            !store_exec(s, "PRAGMA synchronous = FULL", error) ||
            !store_migrate(s, version, error))
                return NULL;
        return g_steal_pointer(&s);
}

Store *store_open(const char *dir, GError **error) {
        return store_open_checked(dir, NULL, error);
}

void store_close(Store *s) {
        if (!s)
                return;
        store_session_end(s);
        for (size_t i = 0; i < G_N_ELEMENTS(s->dirty_ids); i++)
                g_clear_pointer(&s->dirty_ids[i], g_hash_table_unref);
        if (s->statements)
                g_hash_table_unref(s->statements);
        sqlite3_close(s->db);
        g_free(s->path);
        g_free(s->boot_id);
        g_free(s);
}

bool store_begin_recorded(Store *s, bool dirty_only, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "BEGIN IMMEDIATE", error);
        if (!st || !store_step_done(s, st, SQLITE_OK, error))
                return false;
        if (store_session_begin(s, dirty_only, error))
                return true;
        store_rollback(s);
        return false;
}

bool store_begin(Store *s, GError **error) {
        return store_begin_recorded(s, false, error);
}

bool store_commit(Store *s, GError **error) {
        if (s->hook && !s->hook_off) {
                StoreCommit how = s->hook(s, s->hook_data, error);
                if (how != STORE_COMMIT_HERE) {
                        store_rollback(s);
                        return how == STORE_COMMIT_DEFERRED;
                }
        }
        sqlite3_stmt *st = store_prepare(s, "COMMIT", error);
        if (st && store_step_done(s, st, SQLITE_OK, error)) {
                store_session_end(s);
                return true;
        }
        store_rollback(s);
        return false;
}

void store_rollback(Store *s) {
        store_session_end(s);
        if (!sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

bool store_bind_id(Store *s, sqlite3_stmt *st, int64_t id, GError **error) {
        int rc = sqlite3_bind_int64(st, 1, id);
        return rc == SQLITE_OK || store_fail(s, rc, "Cannot read", error);
}

int store_bind_text(sqlite3_stmt *st, int i, const char *v) {
        return sqlite3_bind_text(st, i, v ?: "", -1, SQLITE_TRANSIENT);
}

bool store_group_insert(Store *s, StoreGroup *g, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO groups (name, type, description, class, tenant, tenant_node) "
                                      "VALUES (?, ?, ?, ?, ?, ?)", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, g->name) ?:
                    store_bind_text(st, 2, g->type) ?:
                    store_bind_text(st, 3, g->description) ?:
                    store_bind_text(st, 4, g->class_name) ?:
                    store_bind_text(st, 5, g->tenant) ?:
                    store_bind_text(st, 6, g->tenant_node);
        if (!store_step_done(s, st, bound, error))
                return false;
        g->id = sqlite3_last_insert_rowid(s->db);
        return true;
}

bool store_group_update(Store *s, const StoreGroup *g, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "UPDATE groups SET name = ?, type = ?, description = ?, class = ?, "
                                      "tenant = ? WHERE id = ?", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, g->name) ?:
                    store_bind_text(st, 2, g->type) ?:
                    store_bind_text(st, 3, g->description) ?:
                    store_bind_text(st, 4, g->class_name) ?:
                    store_bind_text(st, 5, g->tenant) ?:
                    sqlite3_bind_int64(st, 6, g->id);
        return store_step_done(s, st, bound, error);
}

bool store_delete_by_id(Store *s, const char *sql, int64_t id, GError **error) {
        sqlite3_stmt *st = store_prepare(s, sql, error);
        if (!st)
                return false;
        int bound = sqlite3_bind_int64(st, 1, id);
        return store_step_done(s, st, bound, error);
}

bool store_group_delete(Store *s, int64_t id, GError **error) {
        return store_delete_by_id(s, "DELETE FROM passthrough WHERE group_id = ?", id, error) &&
               store_delete_by_id(s, "DELETE FROM groups WHERE id = ?", id, error);
}

bool store_conditions_write(Store *s, const StoreRule *r, GError **error) {
        if (!store_delete_by_id(s, "DELETE FROM conditions WHERE rule_id = ?", r->id, error))
                return false;
        for (guint i = 0; r->conditions && i < r->conditions->len; i++) {
                const StoreCondition *c = r->conditions->pdata[i];
                sqlite3_stmt *st = store_prepare(s, "INSERT INTO conditions (rule_id, position, field, op, value) "
                                              "VALUES (?, ?, ?, ?, ?)", error);
                if (!st)
                        return false;
                int bound = sqlite3_bind_int64(st, 1, r->id) ?:
                            sqlite3_bind_int(st, 2, (int) i) ?:
                            store_bind_text(st, 3, c->field) ?:
                            store_bind_text(st, 4, c->op) ?:
                            store_bind_text(st, 5, c->value);
                if (!store_step_done(s, st, bound, error))
                        return false;
        }
        return true;
}

bool store_rule_insert(Store *s, StoreRule *r, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO rules (group_id, name, node, enabled) VALUES (?, ?, ?, ?)", error);
        if (!st)
                return false;
        int bound = sqlite3_bind_int64(st, 1, r->group_id) ?:
                    store_bind_text(st, 2, r->name) ?:
                    store_bind_text(st, 3, r->node) ?:
                    sqlite3_bind_int(st, 4, r->enabled);
        if (!store_step_done(s, st, bound, error))
                return false;
        r->id = sqlite3_last_insert_rowid(s->db);
        return store_conditions_write(s, r, error);
}

bool store_rule_update(Store *s, const StoreRule *r, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "UPDATE rules SET group_id = ?, name = ?, node = ?, enabled = ? "
                                      "WHERE id = ?", error);
        if (!st)
                return false;
        int bound = sqlite3_bind_int64(st, 1, r->group_id) ?:
                    store_bind_text(st, 2, r->name) ?:
                    store_bind_text(st, 3, r->node) ?:
                    sqlite3_bind_int(st, 4, r->enabled) ?:
                    sqlite3_bind_int64(st, 5, r->id);
        return store_step_done(s, st, bound, error) && store_conditions_write(s, r, error);
}

bool store_rule_delete(Store *s, int64_t id, GError **error) {
        return store_delete_by_id(s, "DELETE FROM rules WHERE id = ?", id, error);
}

bool store_passthrough_set(Store *s, const char *address, const StorePassthrough *p, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT OR REPLACE INTO passthrough (address, group_id, vendor_id, "
                                         "device_id, subsystem_vendor_id, subsystem_device_id, class_code, revision) "
                                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, address) ?:
                    sqlite3_bind_int64(st, 2, p->group_id) ?:
                    sqlite3_bind_int(st, 3, p->vendor_id) ?:
                    sqlite3_bind_int(st, 4, p->device_id) ?:
                    sqlite3_bind_int(st, 5, p->subsystem_vendor_id) ?:
                    sqlite3_bind_int(st, 6, p->subsystem_device_id) ?:
                    sqlite3_bind_int64(st, 7, p->class_code) ?:
                    sqlite3_bind_int(st, 8, p->revision);
        return store_step_done(s, st, bound, error);
}

bool store_passthrough_clear(Store *s, const char *address, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "DELETE FROM passthrough WHERE address = ?", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, address);
        return store_step_done(s, st, bound, error);
}

char *store_column_text(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);
        return g_strdup(t ? (const char *) t : "");
}

/* Steps through a query; false with error set on failure. */
bool store_step_rows(Store *s, sqlite3_stmt *st, void (*row)(sqlite3_stmt *st, void *data), void *data,
                      GError **error) {
        int rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                row(st, data);
        sqlite3_reset(st);
        return rc == SQLITE_DONE || store_fail(s, rc, "Cannot read", error);
}

static void group_row(sqlite3_stmt *st, void *data) {
        StoreGroup *g = g_new0(StoreGroup, 1);
        g->id = sqlite3_column_int64(st, 0);
        g->name = store_column_text(st, 1);
        g->type = store_column_text(st, 2);
        g->description = store_column_text(st, 3);
        g->class_name = store_column_text(st, 4);
        g->tenant = store_column_text(st, 5);
        g->tenant_node = store_column_text(st, 6);
        g_ptr_array_add(data, g);
}

#define GROUP_COLUMNS "SELECT id, name, type, description, class, tenant, tenant_node FROM groups "

GPtrArray *store_groups_load(Store *s, GError **error) {
        g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func((GDestroyNotify) store_group_free);
        sqlite3_stmt *st = store_prepare(s, GROUP_COLUMNS "ORDER BY id", error);
        if (!st || !store_step_rows(s, st, group_row, groups, error))
                return NULL;
        return g_steal_pointer(&groups);
}

StoreGroup *store_group_get(Store *s, int64_t id, GError **error) {
        g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func((GDestroyNotify) store_group_free);
        sqlite3_stmt *st = store_prepare(s, GROUP_COLUMNS "WHERE id = ?", error);
        if (!st || !store_bind_id(s, st, id, error) || !store_step_rows(s, st, group_row, groups, error))
                return NULL;
        return groups->len ? g_ptr_array_steal_index(groups, 0) : NULL;
}

typedef struct {
        GPtrArray *rules;
        GHashTable *by_id;
} RuleRows;

static void rule_row(sqlite3_stmt *st, void *data) {
        RuleRows *rows = data;
        StoreRule *r = store_rule_new();
        r->id = sqlite3_column_int64(st, 0);
        r->group_id = sqlite3_column_int64(st, 1);
        r->name = store_column_text(st, 2);
        r->node = store_column_text(st, 3);
        r->enabled = sqlite3_column_int(st, 4) != 0;
        g_ptr_array_add(rows->rules, r);
        g_hash_table_insert(rows->by_id, &r->id, r);
}

static void condition_row(sqlite3_stmt *st, void *data) {
        RuleRows *rows = data;
        int64_t id = sqlite3_column_int64(st, 0);
        StoreRule *r = g_hash_table_lookup(rows->by_id, &id);
        if (r)
                g_ptr_array_add(r->conditions, store_condition_new((const char *) sqlite3_column_text(st, 1),
                                                                   (const char *) sqlite3_column_text(st, 2),
                                                                   (const char *) sqlite3_column_text(st, 3)));
}

/* Every rule (id 0), or the one of id. */
static GPtrArray *rules_select(Store *s, int64_t id, GError **error) {
        g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func((GDestroyNotify) store_rule_free);
        g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
        RuleRows rows = { rules, by_id };

        /* Two spellings, so that one rule is found by its key. */
        sqlite3_stmt *st = store_prepare(s, id ? "SELECT id, group_id, name, node, enabled FROM rules WHERE id = ?1" :
                                                 "SELECT id, group_id, name, node, enabled FROM rules WHERE ?1 = 0 "
                                                 "ORDER BY id", error);
        if (!st || !store_bind_id(s, st, id, error) || !store_step_rows(s, st, rule_row, &rows, error))
                return NULL;
        st = store_prepare(s, id ? "SELECT rule_id, field, op, value FROM conditions WHERE rule_id = ?1 "
                                   "ORDER BY position" :
                                   "SELECT rule_id, field, op, value FROM conditions WHERE ?1 = 0 "
                                   "ORDER BY rule_id, position", error);
        if (!st || !store_bind_id(s, st, id, error) || !store_step_rows(s, st, condition_row, &rows, error))
                return NULL;
        return g_steal_pointer(&rules);
}

GPtrArray *store_rules_load(Store *s, GError **error) {
        return rules_select(s, 0, error);
}

StoreRule *store_rule_get(Store *s, int64_t id, GError **error) {
        g_autoptr(GPtrArray) rules = rules_select(s, id, error);
        return rules && rules->len ? g_ptr_array_steal_index(rules, 0) : NULL;
}

/* The ranges were checked at open (store-check.c): the casts only narrow. */
static void passthrough_row(sqlite3_stmt *st, void *data) {
        StorePassthrough *p = g_new0(StorePassthrough, 1);
        p->group_id = sqlite3_column_int64(st, 1);
        p->vendor_id = (uint16_t) sqlite3_column_int64(st, 2);
        p->device_id = (uint16_t) sqlite3_column_int64(st, 3);
        p->subsystem_vendor_id = (uint16_t) sqlite3_column_int64(st, 4);
        p->subsystem_device_id = (uint16_t) sqlite3_column_int64(st, 5);
        p->class_code = (uint32_t) sqlite3_column_int64(st, 6) & 0xffffff;
        p->revision = (uint8_t) sqlite3_column_int64(st, 7);
        g_hash_table_insert(data, store_column_text(st, 0), p);
}

GHashTable *store_passthrough_load(Store *s, GError **error) {
        g_autoptr(GHashTable) intent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        sqlite3_stmt *st = store_prepare(s, "SELECT address, group_id, vendor_id, device_id, subsystem_vendor_id, "
                                         "subsystem_device_id, class_code, revision FROM passthrough", error);
        if (!st || !store_step_rows(s, st, passthrough_row, intent, error))
                return NULL;
        return g_steal_pointer(&intent);
}

void store_group_free(StoreGroup *g) {
        if (!g)
                return;
        g_free(g->name);
        g_free(g->type);
        g_free(g->description);
        g_free(g->class_name);
        g_free(g->tenant);
        g_free(g->tenant_node);
        g_free(g);
}

StoreCondition *store_condition_new(const char *field, const char *op, const char *value) {
        StoreCondition *c = g_new0(StoreCondition, 1);
        c->field = g_strdup(field ?: "");
        c->op = g_strdup(op ?: "");
        c->value = g_strdup(value ?: "");
        return c;
}

void store_condition_free(StoreCondition *c) {
        if (!c)
                return;
        g_free(c->field);
        g_free(c->op);
        g_free(c->value);
        g_free(c);
}

StoreRule *store_rule_new(void) {
        StoreRule *r = g_new0(StoreRule, 1);
        r->enabled = true;
        r->conditions = g_ptr_array_new_with_free_func((GDestroyNotify) store_condition_free);
        return r;
}

void store_rule_free(StoreRule *r) {
        if (!r)
                return;
        g_free(r->name);
        g_free(r->node);
        g_ptr_array_unref(r->conditions);
        g_free(r);
}
