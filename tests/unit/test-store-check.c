/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A store as another version or a hand edit leaves it: migrated with its
 * data from schema 1, ids never reused, and every kind of damage refused
 * by name with the file left byte for byte as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "model.h"
#include "store-private.h"

typedef struct {
        char *dir;
        char *db;
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        f->dir = g_dir_make_tmp("devpass-store-check-XXXXXX", NULL);
        assert_non_null(f->dir);
        f->db = g_build_filename(f->dir, "devpass.db", NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        const char *suffixes[] = { "-wal", "-shm", "" };

        for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
                g_autofree char *path = g_strconcat(f->db, suffixes[i], NULL);
                (void) remove(path);
        }
        (void) remove(f->dir);
        g_free(f->dir);
        g_free(f->db);
        g_free(f);
        return 0;
}

/* SQL run as the sqlite3 shell would: foreign keys off. */
static void shell(const char *path, const char *sql) {
        sqlite3 *db;
        char *message = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK)
                fail_msg("%s: %s", sql, message);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t query_int(const char *path, const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static char *checksum(const char *path) {
        g_autofree char *data = NULL;
        gsize len;

        assert_true(g_file_get_contents(path, &data, &len, NULL));
        return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/* A database as the devpassd of that schema left it: version 1 with
 * groups, rules and intent, then version 2 with machines and tenants.
 * Group 3000000000 has an id past 32 bits. */
static void build_schema_2(const char *path) {
        g_autofree char *v1 = g_strdup_printf("%s PRAGMA user_version = 1;", store_migrations[0]);
        shell(path, v1);
        shell(path, "INSERT INTO groups (id, name, type, description, class) VALUES "
                    "  (1, 'PCI GPUs', 'pci', 'for ML', 'gpu'), (2, 'NICs', 'sriov-nic', '', 'nic'), "
                    "  (3000000000, 'Storage', 'pci', '', 'storage');"
                    "INSERT INTO rules (id, group_id, name, node, enabled) VALUES "
                    "  (1, 1, 'PCI GPUs: node1 10de:2230', 'node1', 1), (7, 3000000000, 'NVMe', '', 0);"
                    "INSERT INTO conditions (rule_id, position, field, op, value) VALUES "
                    "  (1, 0, 'vendor', 'eq', '10de'), (1, 1, 'address', 'eq', '0000:17:00.0'), "
                    "  (7, 0, 'class', 'eq', '0108');"
                    "INSERT INTO passthrough (address, group_id) VALUES ('0000:17:00.0', 1), ('0000:17:00.1', 1);");
        g_autofree char *v2 = g_strdup_printf("%s PRAGMA user_version = 2;", store_migrations[1]);
        shell(path, v2);
        shell(path, "UPDATE groups SET tenant = 'acme', tenant_node = 'acme-1' WHERE id = 2;"
                    "INSERT INTO attachments (id, machine, name, type, group_id, count, optional, generation, "
                    "  claimed_generation) VALUES (5, 'vm1', 'gpu', 'pci', 1, 1, 0, 3, 3), "
                    "  (6, 'vm2', 'nic', 'sriov-nic', 2, 1, 1, 1, 0);"
                    "INSERT INTO claims (address, holder, attachment_id, mac) VALUES ('0000:17:00.0', 'vm1', 5, '');"
                    "INSERT INTO tenant_holds (address, tenant, group_id, mac) VALUES "
                    "  ('0000:3b:02.0', 'acme', 2, '02:00:5e:10:00:01');"
                    "INSERT INTO macs (mac, attachment_id, group_id, position) VALUES "
                    "  ('02:00:5e:10:00:02', 6, NULL, 0), ('02:00:5e:10:00:01', NULL, 2, 0);");
}

static void test_migrate_from_schema_1(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        build_schema_2(f->db);
        g_autoptr(Store) s = store_open(f->dir, &error);
        g_assert_no_error(error);
        assert_int_equal(query_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

        g_autoptr(GPtrArray) groups = store_groups_load(s, &error);
        g_assert_no_error(error);
        assert_int_equal(groups->len, 3);
        StoreGroup *nics = groups->pdata[1], *storage = groups->pdata[2];
        assert_string_equal(((StoreGroup *) groups->pdata[0])->description, "for ML");
        assert_string_equal(nics->tenant, "acme");
        assert_string_equal(nics->tenant_node, "acme-1");
        assert_true(storage->id == INT64_C(3000000000));

        g_autoptr(GPtrArray) rules = store_rules_load(s, &error);
        g_assert_no_error(error);
        assert_int_equal(rules->len, 2);
        StoreRule *gpu = rules->pdata[0], *nvme = rules->pdata[1];
        assert_string_equal(gpu->node, "node1");
        assert_int_equal(gpu->conditions->len, 2);
        assert_string_equal(((StoreCondition *) gpu->conditions->pdata[1])->value, "0000:17:00.0");
        assert_int_equal(nvme->id, 7);
        assert_true(nvme->group_id == INT64_C(3000000000));
        assert_false(nvme->enabled);

        g_autoptr(GHashTable) intent = store_passthrough_load(s, &error);
        g_autoptr(GHashTable) overrides = store_overrides_load(s, &error);
        g_assert_no_error(error);
        assert_int_equal(g_hash_table_size(intent), 2);
        assert_int_equal(((StorePassthrough *) g_hash_table_lookup(intent, "0000:17:00.1"))->group_id, 1);
        assert_int_equal(g_hash_table_size(overrides), 2);

        g_autoptr(GPtrArray) attachments = store_attachments_load(s, &error);
        g_assert_no_error(error);
        assert_int_equal(attachments->len, 2);
        StoreAttachment *vm1 = attachments->pdata[0], *vm2 = attachments->pdata[1];
        assert_int_equal(vm1->id, 5);
        assert_int_equal(vm1->generation, 3);
        assert_int_equal(vm1->claimed_generation, 3);
        assert_true(vm2->optional);
        assert_string_equal(vm2->macs[0], "02:00:5e:10:00:02");

        g_autoptr(GPtrArray) claims = store_claims_load(s, &error);
        g_assert_no_error(error);
        assert_int_equal(claims->len, 2);
        StoreClaim *claim = claims->pdata[0], *hold = claims->pdata[1];
        assert_string_equal(claim->holder, "vm1");
        assert_int_equal(claim->attachment_id, 5);
        assert_true(hold->tenant);
        assert_int_equal(hold->group_id, 2);
        assert_string_equal(hold->mac, "02:00:5e:10:00:01");

        /* The foreign keys survived the tables' rebuild: a group's rules
         * go with it, an attachment's MACs with it. */
        assert_int_equal(query_int(f->db, "SELECT count(*) FROM pragma_foreign_key_list('rules') "
                                          "WHERE \"table\" = 'groups' AND on_delete = 'CASCADE'"), 1);
        assert_int_equal(query_int(f->db, "SELECT count(*) FROM pragma_foreign_key_list('macs') "
                                          "WHERE \"table\" = 'attachments'"), 1);
        assert_int_equal(query_int(f->db, "SELECT count(*) FROM pragma_index_list('rules') "
                                          "WHERE name = 'rules_group'"), 1);

        /* New ids go on upward, and one given out is never given again. */
        g_autoptr(StoreGroup) g = g_new0(StoreGroup, 1);
        g->name = g_strdup("New");
        g->type = g_strdup("pci");
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, g, &error));
        assert_true(store_group_delete(s, g->id, &error));
        assert_true(store_commit(s, &error));
        assert_true(g->id == INT64_C(3000000001));
        int64_t deleted = g->id;
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, g, &error));
        assert_true(store_commit(s, &error));
        assert_true(g->id > deleted);
}

/* Ids are never reused, whatever was deleted last. */
static void test_ids_not_reused(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        g_autoptr(Store) s = store_open(f->dir, &error);
        g_autoptr(StoreGroup) g = g_new0(StoreGroup, 1);
        g_autoptr(StoreRule) r = store_rule_new();
        g_autoptr(StoreAttachment) a = g_new0(StoreAttachment, 1);
        int64_t first[3];

        g->name = g_strdup("A");
        g->type = g_strdup("pci");
        r->name = g_strdup("A rule");
        a->machine = g_strdup("vm1");
        a->name = g_strdup("gpu");
        a->type = g_strdup("pci");
        a->count = 1;
        a->generation = 1;
        for (int round = 0; round < 2; round++) {
                assert_true(store_begin(s, &error));
                assert_true(store_group_insert(s, g, &error));
                r->group_id = a->group_id = g->id;
                assert_true(store_rule_insert(s, r, &error));
                assert_true(store_attachment_insert(s, a, &error));
                assert_true(store_commit(s, &error));
                if (round == 0) {
                        first[0] = g->id, first[1] = r->id, first[2] = a->id;
                        assert_true(store_begin(s, &error));
                        assert_true(store_attachment_delete(s, a->id, &error));
                        assert_true(store_rule_delete(s, r->id, &error));
                        assert_true(store_group_delete(s, g->id, &error));
                        assert_true(store_commit(s, &error));
                }
        }
        g_assert_no_error(error);
        assert_true(g->id > first[0]);
        assert_true(r->id > first[1]);
        assert_true(a->id > first[2]);
}

/* ---- damage ---- */

/* A good store of this version: the rows that the damages below spoil. */
static void build_current(Fixture *f) {
        g_autoptr(GError) error = NULL;
        { g_autoptr(Store) s = store_open(f->dir, &error); g_assert_no_error(error); }
        shell(f->db, "INSERT INTO groups (id, name, type, class) VALUES (1, 'GPUs', 'pci', 'gpu'), "
                     "  (2, 'acme GPUs', 'pci', 'gpu'), (3, 'NICs', 'sriov-nic', 'nic');"
                     "UPDATE groups SET tenant = 'acme', tenant_node = 'acme-1' WHERE id = 2;"
                     "INSERT INTO rules (id, group_id, name) VALUES (1, 1, 'GPUs rule'), (2, 3, 'NICs rule');"
                     "INSERT INTO conditions VALUES (1, 0, 'vendor', 'eq', '10de'), (2, 0, 'class', 'eq', '0200');"
                     "INSERT INTO passthrough (address, group_id) VALUES ('0000:17:00.0', 1);"
                     "INSERT INTO attachments (id, machine, name, type, group_id, count) VALUES "
                     "  (1, 'vm1', 'gpu', 'pci', 1, 1);"
                     "INSERT INTO claims (address, holder, attachment_id) VALUES ('0000:17:00.0', 'vm1', 1);"
                     "INSERT INTO tenant_holds VALUES ('0000:65:00.0', 'acme', 2, '02:00:5e:10:00:01');"
                     "INSERT INTO macs (mac, group_id) VALUES ('02:00:5e:10:00:01', 2);"
                     "INSERT INTO sriov VALUES ('0000:3b:00.0', 4);"
                     "INSERT INTO overrides VALUES ('0000:17:00.0');");
}

typedef struct {
        const char *sql;       /* the damage, as the sqlite3 shell makes it */
        const char *where;     /* "table T, row K" in the message */
        const char *what;      /* and what is wrong */
} Damage;

static const Damage damages[] = {
        { "UPDATE conditions SET value = '' WHERE rule_id = 1", "table conditions, row rule_id 1", "vendor" },
        { "UPDATE conditions SET field = 'colour' WHERE rule_id = 2", "table conditions, row rule_id 2", "colour" },
        { "DELETE FROM groups WHERE id = 3", "table rules, row id 2", "table groups that is not there" },
        /* Out of WAL mode: switching back would write the header. */
        { "PRAGMA journal_mode = DELETE; DELETE FROM groups WHERE id = 3", "table rules, row id 2", "groups" },
        { "DELETE FROM attachments", "table claims, row address 0000:17:00.0", "attachments that is not there" },
        { "CREATE TABLE c AS SELECT * FROM claims; DROP TABLE claims; ALTER TABLE c RENAME TO claims;"
          "INSERT INTO claims VALUES ('0000:17:00.0', 'vm2', NULL, '', '', '')",
          "table claims, row address 0000:17:00.0", "claimed twice" },
        { "UPDATE groups SET name = '' WHERE id = 1", "table groups, row id 1", "1 to 64 characters" },
        { "PRAGMA ignore_check_constraints = ON; UPDATE groups SET type = 'usb' WHERE id = 3",
          "table groups, row id 3", "not a group type" },
        { "UPDATE rules SET enabled = 'yes' WHERE id = 1", "table rules, row id 1", "enabled is not an integer" },
        { "UPDATE rules SET name = 'GPUs rule' WHERE id = 2", "table rules, row name GPUs rule", "two rules" },
        { "UPDATE rules SET node = 'no/de' WHERE id = 2", "table rules, row id 2", "not a node name" },
        { "UPDATE passthrough SET address = '17:00.0'", "table passthrough, row address 17:00.0", "PCI address" },
        { "UPDATE passthrough SET vendor_id = 65536", "table passthrough, row address 0000:17:00.0", "65536" },
        { "UPDATE attachments SET machine = 'vm' || char(9) || '1'", "table attachments, row id 1",
          "control characters" },
        { "UPDATE attachments SET tenant = 'ac me'", "table attachments, row id 1", "A-Z a-z 0-9" },
        { "PRAGMA ignore_check_constraints = ON; UPDATE attachments SET count = 0", "table attachments, row id 1", "count is 0" },
        { "UPDATE claims SET holder = X'00ff'", "table claims, row address 0000:17:00.0", "holder is not text" },
        { "UPDATE tenant_holds SET mac = '01:00:5e:10:00:01'; UPDATE macs SET mac = '01:00:5e:10:00:01'",
          "table tenant_holds, row address 0000:65:00.0", "multicast" },
        { "UPDATE macs SET mac = '02:00:5E:10:00:01'", "table macs, row mac 02:00:5E:10:00:01", "lower case" },
        { "UPDATE macs SET attachment_id = 1", "table macs, row mac 02:00:5e:10:00:01", "or to both" },
        { "PRAGMA ignore_check_constraints = ON; UPDATE sriov SET numvfs = -1", "table sriov, row address 0000:3b:00.0", "numvfs is -1" },
        { "UPDATE overrides SET address = NULL", "table overrides, row rowid 1", "address is NULL" },
        { "UPDATE claims SET boot_id = 'yesterday'", "table claims, row address 0000:17:00.0", "boot id" },
        { "INSERT INTO claims (address, holder, attachment_id, uuid) VALUES ('0000:17:00.1', 'vm1', 1, "
          "'4dea22b3-1d52-d8f3-2516-782e98ab3fa0')", "table claims, row holder vm1", "two domain UUIDs" },
        { "UPDATE claims SET uuid = 'tomorrow'", "table claims, row address 0000:17:00.0", "not a UUID" },
        { "UPDATE claims SET uuid = '4DEA22B3-1D52-D8F3-2516-782E98AB3FA0'", "table claims, row address "
          "0000:17:00.0", "lower case" },
        /* More than devpassd keeps (1,024 groups). */
        { "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1030) "
          "INSERT INTO groups (name, type) SELECT 'g' || i, 'pci' FROM n", "table groups, row (all)",
          "more than the 1024 devpassd keeps" },
        /* An index that no longer says what its table holds. */
        { "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE INDEX claims_holder ON claims(mac)' "
          "WHERE name = 'claims_holder'", "devpass.db is damaged: SQLite's integrity check says", "claims_holder" },
};

/* Each damage alone: refused by table, row and what is wrong, with what
 * to do, and the file as it was. */
static void test_damage_refused(void **state) {
        Fixture *f = *state;

        for (size_t i = 0; i < G_N_ELEMENTS(damages); i++) {
                const Damage *d = &damages[i];
                teardown(state);
                setup(state);
                f = *state;
                build_current(f);
                shell(f->db, d->sql);
                g_autofree char *before = checksum(f->db);
                g_autoptr(GError) error = NULL;
                g_autoptr(Store) s = store_open_checked(f->dir, model_store_check, &error);
                if (s || !g_error_matches(error, STORE_ERROR, STORE_ERROR_DAMAGED) ||
                    !strstr(error->message, d->where) || !strstr(error->message, d->what) ||
                    !strstr(error->message, "restore a backup, or fix the row with sqlite3 and start again"))
                        fail_msg("%s: %s", d->sql, error ? error->message : "opened");
                g_autofree char *after = checksum(f->db);
                assert_string_equal(after, before);
        }
}

/* Damage still in the WAL (a sqlite3 shell killed before it could
 * checkpoint): seen, refused, and not checkpointed into the file when
 * devpassd closes it. */
static void test_damage_in_wal_stays_there(void **state) {
        Fixture *f = *state;
        g_autofree char *wal = g_strconcat(f->db, "-wal", NULL);
        sqlite3 *db;

        build_current(f);
        assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
        assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DELETE FROM groups WHERE id = 3", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        g_autofree char *before = checksum(f->db);
        g_autofree char *wal_before = checksum(wal);

        g_autoptr(GError) error = NULL;
        g_autoptr(Store) s = store_open(f->dir, &error);
        assert_null(s);
        assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_DAMAGED));
        assert_non_null(strstr(error->message, "table rules, row id 2"));
        g_autofree char *after = checksum(f->db);
        g_autofree char *wal_after = checksum(wal);
        assert_string_equal(after, before);
        assert_string_equal(wal_after, wal_before);
}

/* A damaged database of an older version is not migrated. */
static void test_damaged_old_version_untouched(void **state) {
        Fixture *f = *state;

        build_schema_2(f->db);
        shell(f->db, "DELETE FROM groups WHERE id = 3000000000");
        g_autofree char *before = checksum(f->db);
        g_autoptr(GError) error = NULL;
        g_autoptr(Store) s = store_open(f->dir, &error);
        assert_null(s);
        assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_DAMAGED));
        assert_non_null(strstr(error->message, "table rules, row id 7"));
        g_autofree char *after = checksum(f->db);
        assert_string_equal(after, before);
        assert_int_equal(query_int(f->db, "PRAGMA user_version"), 2);
}

/* Not a database at all, or one whose version no devpass wrote: refused
 * as damaged, the file as it was. */
static void test_not_a_store(void **state) {
        Fixture *f = *state;
        g_autofree char *junk = g_strnfill(8192, 'x');

        for (int round = 0; round < 2; round++) {
                if (round == 0)
                        assert_true(g_file_set_contents(f->db, junk, -1, NULL));
                else {
                        assert_int_equal(remove(f->db), 0);
                        build_current(f);
                        shell(f->db, "PRAGMA user_version = -3");
                }
                g_autofree char *before = checksum(f->db);
                g_autoptr(GError) error = NULL;
                g_autoptr(Store) s = store_open(f->dir, &error);
                assert_null(s);
                if (!g_error_matches(error, STORE_ERROR, STORE_ERROR_DAMAGED) ||
                    !strstr(error->message, round == 0 ? "not a database" : "below 0") ||
                    !strstr(error->message, "restore a backup"))
                        fail_msg("round %d: %s", round, error->message);
                g_autofree char *after = checksum(f->db);
                assert_string_equal(after, before);
        }
}

/* The good store of build_current() is taken as it is. */
static void test_good_store_opens(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        build_current(f);
        g_autoptr(Store) s = store_open_checked(f->dir, model_store_check, &error);
        g_assert_no_error(error);
        assert_non_null(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_migrate_from_schema_1, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ids_not_reused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_good_store_opens, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_store, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damage_in_wal_stays_there, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_old_version_untouched, setup, teardown),
        };
        return cmocka_run_group_tests_name("store-check", tests, NULL, NULL);
}
