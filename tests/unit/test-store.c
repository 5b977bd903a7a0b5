/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store: modes, pragmas, round trips, constraints, rollback, versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static int setup(void **state) {
        g_autoptr(GError) error = NULL;
        char *dir = g_dir_make_tmp("devpass-store-XXXXXX", &error);
        assert_non_null(dir);
        /* A state directory that does not exist yet, as on a new host. */
        *state = g_build_filename(dir, "var-lib-devpass", NULL);
        g_free(dir);
        return 0;
}

static int teardown(void **state) {
        g_autofree char *dir = *state;
        g_autofree char *db = g_build_filename(dir, "devpass.db", NULL);
        g_autofree char *wal = g_strconcat(db, "-wal", NULL);
        g_autofree char *shm = g_strconcat(db, "-shm", NULL);
        g_autofree char *parent = g_path_get_dirname(dir);
        (void) remove(wal);
        (void) remove(shm);
        (void) remove(db);
        (void) remove(dir);
        (void) remove(parent);
        return 0;
}

static Store *open_ok(const char *dir) {
        g_autoptr(GError) error = NULL;
        Store *s = store_open(dir, &error);
        if (!s)
                fail_msg("store_open: %s", error->message);
        return s;
}

static StoreGroup *group(const char *name) {
        StoreGroup *g = g_new0(StoreGroup, 1);
        g->name = g_strdup(name);
        g->type = g_strdup("pci");
        g->description = g_strdup("GPUs for ML");
        g->class_name = g_strdup("gpu");
        return g;
}

static int64_t pragma(const char *dir, const char *name) {
        g_autofree char *path = g_build_filename(dir, "devpass.db", NULL);
        g_autofree char *sql = g_strdup_printf("PRAGMA %s", name);
        sqlite3 *db;
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t v = g_str_equal(name, "journal_mode") ?
                g_str_equal((const char *) sqlite3_column_text(st, 0), "wal") : sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void test_open_modes(void **state) {
        const char *dir = *state;
        g_autoptr(Store) s = open_ok(dir);
        g_autofree char *db = g_build_filename(dir, "devpass.db", NULL);
        struct stat st;

        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(stat(db, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(pragma(dir, "user_version"), STORE_SCHEMA_VERSION);
        assert_int_equal(pragma(dir, "journal_mode"), 1);
}

static void test_groups_and_rules(void **state) {
        const char *dir = *state;
        g_autoptr(GError) error = NULL;
        {
                g_autoptr(Store) s = open_ok(dir);
                g_autoptr(StoreGroup) g = group("PCI GPUs");
                g_autoptr(StoreRule) r = store_rule_new();

                assert_true(store_begin(s, &error));
                assert_true(store_group_insert(s, g, &error));
                assert_true(g->id > 0);
                r->group_id = g->id;
                r->name = g_strdup("PCI GPUs: node1 10de:2230");
                r->node = g_strdup("node1");
                g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", "10de"));
                g_ptr_array_add(r->conditions, store_condition_new("device", "eq", "2230"));
                g_ptr_array_add(r->conditions, store_condition_new("address", "eq", "0000:17:00.*"));
                assert_true(store_rule_insert(s, r, &error));
                StorePassthrough p = { .group_id = g->id, .vendor_id = 0x10de, .device_id = 0x2230,
                                       .subsystem_vendor_id = 0x10de, .subsystem_device_id = 0x1459,
                                       .class_code = 0x030200, .revision = 0xa1 };
                assert_true(store_passthrough_set(s, "0000:17:00.0", &p, &error));
                assert_true(store_commit(s, &error));
        }
        /* Reopened: everything as it was, conditions in order. */
        g_autoptr(Store) s = open_ok(dir);
        g_autoptr(GPtrArray) groups = store_groups_load(s, &error);
        g_autoptr(GPtrArray) rules = store_rules_load(s, &error);
        g_autoptr(GHashTable) intent = store_passthrough_load(s, &error);
        assert_int_equal(groups->len, 1);
        StoreGroup *g = groups->pdata[0];
        assert_string_equal(g->name, "PCI GPUs");
        assert_string_equal(g->class_name, "gpu");
        assert_string_equal(g->tenant, "");
        assert_int_equal(rules->len, 1);
        StoreRule *r = rules->pdata[0];
        assert_int_equal(r->group_id, g->id);
        assert_string_equal(r->node, "node1");
        assert_true(r->enabled);
        assert_int_equal(r->conditions->len, 3);
        assert_string_equal(((StoreCondition *) r->conditions->pdata[2])->value, "0000:17:00.*");
        const StorePassthrough *p = g_hash_table_lookup(intent, "0000:17:00.0");
        assert_non_null(p);
        assert_int_equal(p->group_id, g->id);
        assert_int_equal(p->vendor_id, 0x10de);
        assert_int_equal(p->device_id, 0x2230);
        assert_int_equal(p->subsystem_vendor_id, 0x10de);
        assert_int_equal(p->subsystem_device_id, 0x1459);
        assert_int_equal(p->class_code, 0x030200);
        assert_int_equal(p->revision, 0xa1);

        /* Set again, the row is replaced; cleared, it is gone. */
        StorePassthrough other = { .group_id = g->id, .vendor_id = 0x8086, .device_id = 0x154c };
        assert_true(store_begin(s, &error));
        assert_true(store_passthrough_set(s, "0000:17:00.0", &other, &error));
        assert_true(store_passthrough_set(s, "0000:3b:02.0", &other, &error));
        assert_true(store_passthrough_clear(s, "0000:3b:02.0", &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GHashTable) replaced = store_passthrough_load(s, &error);
        assert_int_equal(g_hash_table_size(replaced), 1);
        const StorePassthrough *q = g_hash_table_lookup(replaced, "0000:17:00.0");
        assert_int_equal(q->vendor_id, 0x8086);
        assert_int_equal(q->revision, 0);

        /* Update a rule: its conditions are replaced, not added to. */
        g_ptr_array_set_size(r->conditions, 1);
        r->enabled = false;
        assert_true(store_begin(s, &error));
        assert_true(store_rule_update(s, r, &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GPtrArray) rules2 = store_rules_load(s, &error);
        assert_int_equal(((StoreRule *) rules2->pdata[0])->conditions->len, 1);
        assert_false(((StoreRule *) rules2->pdata[0])->enabled);

        /* Deleting the group takes its rules, conditions and intent along. */
        assert_true(store_begin(s, &error));
        assert_true(store_group_delete(s, g->id, &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GPtrArray) rules3 = store_rules_load(s, &error);
        g_autoptr(GHashTable) intent3 = store_passthrough_load(s, &error);
        assert_int_equal(rules3->len, 0);
        assert_int_equal(g_hash_table_size(intent3), 0);
}

static void test_constraints_and_rollback(void **state) {
        g_autoptr(Store) s = open_ok(*state);
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) a = group("NICs");
        g_autoptr(StoreGroup) b = group("NICs");

        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, a, &error));
        assert_true(store_commit(s, &error));

        /* A taken name fails, and the whole transaction goes with it. */
        g_autoptr(StoreGroup) c = group("Storage");
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, c, &error));
        assert_false(store_group_insert(s, b, &error));
        assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONSTRAINT));
        store_rollback(s);
        g_autoptr(GPtrArray) groups = store_groups_load(s, NULL);
        assert_int_equal(groups->len, 1);

        /* A rule for a group that does not exist, a bad type: refused. */
        g_clear_error(&error);
        g_autoptr(StoreRule) r = store_rule_new();
        r->group_id = 999;
        r->name = g_strdup("orphan");
        assert_true(store_begin(s, &error));
        assert_false(store_rule_insert(s, r, &error));
        assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONSTRAINT));
        store_rollback(s);
        g_clear_error(&error);
        g_autoptr(StoreGroup) bad = group("Bad");
        g_free(bad->type);
        bad->type = g_strdup("usb");
        assert_true(store_begin(s, &error));
        assert_false(store_group_insert(s, bad, &error));
        store_rollback(s);
}

static void test_newer_schema_refused(void **state) {
        const char *dir = *state;
        { g_autoptr(Store) s = open_ok(dir); }
        g_autofree char *path = g_build_filename(dir, "devpass.db", NULL);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        g_autoptr(GError) error = NULL;
        g_autoptr(Store) s = store_open(dir, &error);
        assert_null(s);
        assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_NEWER));
        assert_non_null(strstr(error->message, "99"));
}

static void claim_insert(Store *s, const char *address, const char *holder, bool tenant, int64_t group_id) {
        g_autoptr(GError) error = NULL;
        StoreClaim c = { .address = (char *) address, .holder = (char *) holder, .tenant = tenant,
                         .group_id = group_id, .mac = (char *) "" };

        assert_true(store_begin(s, &error));
        assert_true(store_claim_insert(s, &c, &error));
        assert_true(store_commit(s, &error));
}

/* "address holder" of each claim or hold left, and of each released. */
static char *claims_text(GPtrArray *claims) {
        g_autoptr(GString) t = g_string_new(NULL);

        for (guint i = 0; i < claims->len; i++) {
                const StoreClaim *c = claims->pdata[i];
                g_string_append_printf(t, "%s%s %s", i ? ", " : "", c->address, c->holder);
        }
        return g_string_free(g_steal_pointer(&t), FALSE);
}

static char *release_stale(Store *s) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) stale = store_claims_release_stale(s, &error);

        g_assert_no_error(error);
        return claims_text(stale);
}

static char *claims_left(Store *s) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) claims = store_claims_load(s, &error);

        g_assert_no_error(error);
        return claims_text(claims);
}

/* A claim belongs to the boot it was made in; one made before boots were
 * recorded is taken into the boot that first sees it; tenants' holds
 * belong to no boot. */
static void test_claims_of_a_boot(void **state) {
        const char *dir = *state;
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) g = group("Tenant GPUs");

        {
                g_autoptr(Store) s = open_ok(dir);
                assert_true(store_begin(s, &error));
                assert_true(store_group_insert(s, g, &error));
                assert_true(store_commit(s, &error));
                /* No boot known: as a devpassd of schema 2 wrote it. */
                claim_insert(s, "0000:17:00.0", "vm0", false, 0);
                g_autofree char *none = release_stale(s);
                assert_string_equal(none, "");

                store_set_boot_id(s, "0f6e3c1a-0000-4000-8000-000000000001");
                claim_insert(s, "0000:17:00.1", "vm1", false, 0);
                claim_insert(s, "0000:b1:00.0", "acme", true, g->id);
                g_autofree char *adopted = release_stale(s);
                assert_string_equal(adopted, "");
                g_autofree char *all = claims_left(s);
                assert_string_equal(all, "0000:17:00.0 vm0, 0000:17:00.1 vm1, 0000:b1:00.0 acme");
        }
        {
                /* The same boot again (a restart): nothing goes. */
                g_autoptr(Store) s = open_ok(dir);
                store_set_boot_id(s, "0f6e3c1a-0000-4000-8000-000000000001");
                g_autofree char *same = release_stale(s);
                assert_string_equal(same, "");
        }
        g_autoptr(Store) s = open_ok(dir);
        store_set_boot_id(s, "0f6e3c1a-0000-4000-8000-000000000002");
        g_autofree char *released = release_stale(s);
        assert_string_equal(released, "0000:17:00.0 vm0, 0000:17:00.1 vm1");
        g_autofree char *left = claims_left(s);
        assert_string_equal(left, "0000:b1:00.0 acme");
}

/* VF counts and the overrides devpass wrote: set, replaced, forgotten. */
static void test_node_records(void **state) {
        const char *dir = *state;
        g_autoptr(GError) error = NULL;
        g_autoptr(Store) s = open_ok(dir);

        assert_true(store_begin(s, &error));
        assert_true(store_sriov_set(s, "0000:3b:00.1", 4, &error));
        assert_true(store_sriov_set(s, "0000:3b:00.1", 8, &error));
        assert_true(store_sriov_set(s, "0000:3b:00.0", 0, &error));
        assert_true(store_override_set(s, "0000:17:00.0", true, &error));
        assert_true(store_override_set(s, "0000:17:00.0", true, &error));
        assert_true(store_override_set(s, "0000:17:00.1", true, &error));
        assert_true(store_override_set(s, "0000:17:00.1", false, &error));
        assert_true(store_commit(s, &error));

        g_autoptr(GHashTable) counts = store_sriov_load(s, &error);
        assert_int_equal(g_hash_table_size(counts), 2);
        assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(counts, "0000:3b:00.1")), 8);
        assert_true(g_hash_table_contains(counts, "0000:3b:00.0"));
        g_autoptr(GHashTable) overrides = store_overrides_load(s, &error);
        assert_int_equal(g_hash_table_size(overrides), 1);
        assert_true(g_hash_table_contains(overrides, "0000:17:00.0"));
}

static gint by_text(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* "table op id-or-key old-name-or-holder" of each change, sorted. */
static char *changes_text(Store *s) {
        static const char *const tables[] = { "groups", "rules", "attachments", "macs", "claims", "holds", "passthrough" };
        static const char *const ops[] = { "insert", "update", "delete" };
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) changes = store_changes(s, &error);
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);

        g_assert_no_error(error);
        for (guint i = 0; i < changes->len; i++) {
                const StoreRowChange *c = changes->pdata[i];
                g_autofree char *id = c->key ? g_strdup(c->key) : g_strdup_printf("%" G_GINT64_FORMAT, c->id);
                const char *old = c->old_name ?: c->old_holder;
                g_ptr_array_add(lines, g_strdup_printf("%s %s %s%s%s", tables[c->table], ops[c->op], id,
                                                       old ? " " : "", old ?: ""));
        }
        g_ptr_array_sort(lines, by_text);
        g_ptr_array_add(lines, NULL);
        return g_strjoinv(", ", (char **) lines->pdata);
}

/* Each transaction's changed rows, cascades included, for a cluster
 * node's replica; nothing when changes are not recorded. */
static void test_changes_recorded(void **state) {
        g_autoptr(Store) s = open_ok(*state);
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) g = group("gpus");
        g_autoptr(StoreRule) r = store_rule_new();

        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, g, &error));
        g_autofree char *none = changes_text(s);
        assert_string_equal(none, "");
        store_rollback(s);

        store_record_changes(s, true);
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, g, &error));
        r->group_id = g->id;
        r->name = g_strdup("nvidia");
        r->node = g_strdup("");
        g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", "10de"));
        assert_true(store_rule_insert(s, r, &error));
        g_autofree char *made = changes_text(s);
        g_autofree char *want_made = g_strdup_printf("groups insert %" G_GINT64_FORMAT ", rules insert %"
                                                     G_GINT64_FORMAT, g->id, r->id);
        assert_string_equal(made, want_made);
        assert_true(store_commit(s, &error));

        /* A rename names the old name; new conditions are the rule's update. */
        assert_true(store_begin(s, &error));
        g_free(g->name);
        g->name = g_strdup("accelerators");
        assert_true(store_group_update(s, g, &error));
        g_ptr_array_add(r->conditions, store_condition_new("device", "eq", "2230"));
        assert_true(store_rule_update(s, r, &error));
        g_autofree char *changed = changes_text(s);
        g_autofree char *want_changed = g_strdup_printf("groups update %" G_GINT64_FORMAT " gpus, rules update %"
                                                        G_GINT64_FORMAT, g->id, r->id);
        assert_string_equal(changed, want_changed);
        assert_true(store_commit(s, &error));

        /* The group's rules and holds go with it (foreign keys). */
        claim_insert(s, "0000:17:00.0", "acme", true, g->id);
        assert_true(store_begin(s, &error));
        assert_true(store_group_delete(s, g->id, &error));
        g_autofree char *gone = changes_text(s);
        g_autofree char *want_gone = g_strdup_printf("groups delete %" G_GINT64_FORMAT " accelerators, holds "
                                                     "delete 0000:17:00.0 acme, rules delete %" G_GINT64_FORMAT
                                                     " nvidia", g->id, r->id);
        assert_string_equal(gone, want_gone);
        store_rollback(s);

        /* A rollback leaves nothing recorded for the next transaction. */
        assert_true(store_begin(s, &error));
        g_autofree char *after = changes_text(s);
        assert_string_equal(after, "");
        store_rollback(s);
}

/* Rows changed and changed back are no change; a row deleted and made
 * again is an update; the node's own rows come back in a later
 * transaction as they were, unless written again meanwhile. */
static void test_changes_netted(void **state) {
        g_autoptr(Store) s = open_ok(*state);
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) g = group("gpus");
        g_autoptr(StoreGroup) gone = group("for a moment");
        const StorePassthrough intent = { .vendor_id = 0x10de, .device_id = 0x2230, .class_code = 0x030000 };

        store_record_changes(s, true);
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, g, &error));
        assert_true(store_commit(s, &error));

        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, gone, &error));
        assert_true(store_group_delete(s, gone->id, &error));
        assert_true(store_group_update(s, g, &error));
        g_autofree char *none = changes_text(s);
        assert_string_equal(none, "");
        g_autoptr(GBytes) nothing_local = store_local_changes(s, &error);
        assert_int_equal(g_bytes_get_size(nothing_local), 0);
        store_rollback(s);

        assert_true(store_begin(s, &error));
        ((StorePassthrough *) &intent)->group_id = g->id;
        assert_true(store_passthrough_set(s, "0000:17:00.0", &intent, &error));
        assert_true(store_passthrough_set(s, "0000:17:00.0", &intent, &error));
        assert_true(store_sriov_set(s, "0000:3b:00.1", 4, &error));
        assert_true(store_override_set(s, "0000:17:00.0", true, &error));
        g_autofree char *made = changes_text(s);
        assert_string_equal(made, "passthrough insert 0000:17:00.0");
        g_autoptr(GBytes) local = store_local_changes(s, &error);
        assert_non_null(local);
        store_rollback(s);
        g_autoptr(GHashTable) before = store_passthrough_load(s, &error);
        assert_int_equal(g_hash_table_size(before), 0);

        assert_true(store_begin(s, &error));
        assert_true(store_local_apply(s, local, &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GHashTable) intents = store_passthrough_load(s, &error);
        const StorePassthrough *back = g_hash_table_lookup(intents, "0000:17:00.0");
        assert_non_null(back);
        assert_int_equal(back->group_id, g->id);
        assert_int_equal(back->device_id, 0x2230);
        assert_int_equal(back->class_code, 0x030000);
        g_autoptr(GHashTable) counts = store_sriov_load(s, &error);
        assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(counts, "0000:3b:00.1")), 4);
        g_autoptr(GHashTable) overrides = store_overrides_load(s, &error);
        assert_true(g_hash_table_contains(overrides, "0000:17:00.0"));

        /* Deleted and made again: an update; a row gone comes back gone. */
        assert_true(store_begin(s, &error));
        assert_true(store_passthrough_clear(s, "0000:17:00.0", &error));
        assert_true(store_passthrough_set(s, "0000:17:00.0", &(StorePassthrough) { .group_id = g->id }, &error));
        assert_true(store_sriov_set(s, "0000:3b:00.1", 0, &error));
        assert_true(store_override_set(s, "0000:17:00.0", false, &error));
        g_autofree char *again = changes_text(s);
        assert_string_equal(again, "passthrough update 0000:17:00.0");
        g_autoptr(GBytes) undo = store_local_changes(s, &error);
        store_rollback(s);
        assert_true(store_begin(s, &error));
        assert_true(store_local_apply(s, undo, &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GHashTable) cleared = store_overrides_load(s, &error);
        assert_int_equal(g_hash_table_size(cleared), 0);
        g_autoptr(GHashTable) intents2 = store_passthrough_load(s, &error);
        assert_int_equal(((const StorePassthrough *) g_hash_table_lookup(intents2, "0000:17:00.0"))->device_id, 0);

        /* A row this node wrote again meanwhile keeps the newer write. */
        assert_true(store_begin(s, &error));
        assert_true(store_sriov_set(s, "0000:3b:00.1", 2, &error));
        g_autoptr(GBytes) stale = store_local_changes(s, &error);
        store_rollback(s);
        assert_true(store_begin(s, &error));
        assert_true(store_sriov_set(s, "0000:3b:00.1", 6, &error));
        assert_true(store_commit(s, &error));
        assert_true(store_begin(s, &error));
        assert_true(store_local_apply(s, stale, &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GHashTable) newer = store_sriov_load(s, &error);
        assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(newer, "0000:3b:00.1")), 6);
}

/* A replica's rows are written with the cluster's ids: an upsert keeps a
 * group's rules, one row reads back as written, the revisions are kept,
 * and ids the cluster gave out are never given again here. */
static void test_replica(void **state) {
        g_autoptr(Store) s = open_ok(*state);
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) g = group("gpus");
        g_autoptr(StoreRule) r = store_rule_new();
        int64_t revision = -1;

        g->id = 40;
        g->tenant = g_strdup("");
        g->tenant_node = g_strdup("");
        r->id = 41;
        r->group_id = 40;
        r->name = g_strdup("nvidia");
        r->node = g_strdup("node2");
        r->enabled = true;
        g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", "10de"));
        assert_true(store_begin(s, &error));
        assert_true(store_group_put(s, g, &error));
        assert_true(store_rule_put(s, r, &error));
        g_free(g->name);
        g->name = g_strdup("accelerators");
        assert_true(store_group_put(s, g, &error));
        assert_true(store_replica_set_revision(s, "shared/", 17, &error));
        assert_true(store_replica_set_key(s, "shared/groups/40", 17, "{}", &error));
        assert_true(store_replica_set_key(s, "shared/group-users/40/node1", 15, "{}", &error));
        assert_true(store_replica_id_floor(s, STORE_TABLE_GROUPS, 100, &error));
        assert_true(store_commit(s, &error));

        g_autoptr(StoreGroup) back = store_group_get(s, 40, &error);
        assert_string_equal(back->name, "accelerators");
        g_autoptr(StoreRule) rule = store_rule_get(s, 41, &error);
        assert_non_null(rule);
        assert_int_equal(rule->group_id, 40);
        assert_string_equal(((StoreCondition *) rule->conditions->pdata[0])->value, "10de");
        assert_null(store_group_get(s, 99, &error));
        assert_null(error);
        assert_true(store_replica_revision(s, "shared/", &revision, &error));
        assert_int_equal(revision, 17);
        g_autofree char *value = NULL;
        assert_true(store_replica_key(s, "shared/groups/40", &revision, &value, &error));
        assert_int_equal(revision, 17);
        assert_string_equal(value, "{}");
        assert_true(store_replica_key(s, "shared/groups/41", &revision, NULL, &error));
        assert_int_equal(revision, 0);
        g_autoptr(GPtrArray) keys = store_replica_keys(s, "shared/group", &error);
        assert_int_equal(keys->len, 2);
        assert_string_equal(((StoreReplicaKey *) keys->pdata[0])->key, "shared/group-users/40/node1");
        g_autoptr(GPtrArray) none = store_replica_keys(s, "shared/group%", &error);
        assert_int_equal(none->len, 0);
        /* The range ends where the prefix does, also past a last 0xff. */
        g_autoptr(GPtrArray) users = store_replica_keys(s, "shared/group-", &error);
        assert_int_equal(users->len, 1);
        assert_true(store_replica_set_key(s, "shared/a\xff\xff", 3, "", &error));
        assert_true(store_replica_set_key(s, "shared/b", 3, "", &error));
        g_autoptr(GPtrArray) high = store_replica_keys(s, "shared/a\xff", &error);
        assert_int_equal(high->len, 1);
        assert_true(store_replica_set_key(s, "shared/a\xff\xff", 0, NULL, &error));
        assert_true(store_replica_set_key(s, "shared/b", 0, NULL, &error));

        g_autoptr(StoreGroup) next = group("nics");
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, next, &error));
        assert_int_equal(next->id, 100);
        assert_true(store_replica_set_key(s, "shared/groups/40", 0, NULL, &error));
        assert_true(store_commit(s, &error));
        assert_true(store_replica_key(s, "shared/groups/40", &revision, NULL, &error));
        assert_int_equal(revision, 0);

        /* A machine's claims replaced as a whole. */
        StoreClaim a = { .address = (char *) "0000:17:00.0", .holder = (char *) "vm1", .mac = (char *) "" };
        StoreClaim b = { .address = (char *) "0000:18:00.0", .holder = (char *) "vm1", .mac = (char *) "" };
        g_autoptr(GPtrArray) claims = g_ptr_array_new();
        g_ptr_array_add(claims, &a);
        g_ptr_array_add(claims, &b);
        assert_true(store_begin(s, &error));
        assert_true(store_holder_put(s, "vm1", false, claims, &error));
        g_ptr_array_remove_index(claims, 0);
        assert_true(store_holder_put(s, "vm1", false, claims, &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GPtrArray) held = store_holder_claims(s, "vm1", false, &error);
        g_autofree char *text = claims_text(held);
        assert_string_equal(text, "0000:18:00.0 vm1");

        /* The groups this node uses: here, its passthrough intent's. */
        StorePassthrough p = { .group_id = 40 };
        assert_true(store_begin(s, &error));
        assert_true(store_passthrough_set(s, "0000:17:00.0", &p, &error));
        assert_true(store_commit(s, &error));
        g_autoptr(GHashTable) used = store_groups_used(s, &error);
        assert_int_equal(g_hash_table_size(used), 1);
        assert_true(g_hash_table_contains(used, &(gint64) { 40 }));

        /* etcd's keys into the replica record only the rows they dirty
         * (a rule's conditions as their rule), no changes for a hook,
         * and nothing for the replica's own keys. */
        store_record_changes(s, true);
        store_dirty_clear(s);
        assert_true(store_begin_here(s, false, &error));
        assert_true(store_rule_delete(s, 41, &error));
        assert_true(store_replica_set_key(s, "shared/rules/41", 0, NULL, &error));
        g_autoptr(GPtrArray) none_for_hook = store_changes(s, &error);
        assert_int_equal(none_for_hook->len, 0);
        assert_true(store_commit_here(s, &error));
        assert_int_equal(store_dirty(s), STORE_DIRTY_TABLE(STORE_TABLE_RULES));
        g_autoptr(GArray) rules = store_dirty_ids(s, STORE_TABLE_RULES);
        assert_int_equal(rules->len, 1);
        assert_int_equal(g_array_index(rules, int64_t, 0), 41);
        store_dirty_clear(s);
        assert_true(store_begin_here(s, true, &error));
        assert_true(store_replica_set_key(s, "shared/rules/41", 20, "{}", &error));
        assert_true(store_commit_here(s, &error));
        assert_int_equal(store_dirty(s), 0);
}

/* A node joining a cluster records the ids the cluster gives its rows,
 * then takes them: ones the node's other rows still have (1 -> 2 while
 * 2 -> 3) never collide, every row that refers to them follows, a rule's
 * conditions and a hold included, and no join is recorded after. */
static void test_join_ids(void **state) {
        const char *dir = *state;
        g_autoptr(GError) error = NULL;
        g_autoptr(Store) s = open_ok(dir);
        int64_t ids[3];

        assert_true(store_begin(s, &error));
        for (int i = 0; i < 3; i++) {
                g_autofree char *name = g_strdup_printf("g%d", i);
                g_autoptr(StoreGroup) g = group(name);
                g_autoptr(StoreRule) r = store_rule_new();
                assert_true(store_group_insert(s, g, &error));
                ids[i] = g->id;
                r->group_id = g->id;
                r->name = g_strdup(name);
                r->node = g_strdup("");
                g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", "10de"));
                g_ptr_array_add(r->conditions, store_condition_new("device", "eq", "2230"));
                assert_true(store_rule_insert(s, r, &error));
        }
        StorePassthrough p = { .group_id = ids[0] };
        assert_true(store_passthrough_set(s, "0000:17:00.0", &p, &error));
        assert_true(store_commit(s, &error));
        claim_insert(s, "0000:17:00.0", "acme", true, ids[1]);

        /* Each to the next: 1 -> 2, 2 -> 3, 3 -> 4 (groups and rules
         * alike), read at revision 7; another join, at 5, gave others. */
        GHashTable *maps[3], *others[3];
        for (StoreTable t = STORE_TABLE_GROUPS; t <= STORE_TABLE_ATTACHMENTS; t++) {
                maps[t] = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
                others[t] = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
                for (int i = 0; t != STORE_TABLE_ATTACHMENTS && i < 3; i++) {
                        int64_t next = ids[i] + 1, far = ids[i] + 100;
                        g_hash_table_insert(maps[t], g_memdup2(&ids[i], sizeof(int64_t)), g_memdup2(&next, sizeof(next)));
                        g_hash_table_insert(others[t], g_memdup2(&ids[i], sizeof(int64_t)), g_memdup2(&far, sizeof(far)));
                }
        }
        bool recorded = true;
        assert_true(store_join_recorded(s, 0, &recorded, &error));
        assert_false(recorded);
        assert_true(store_join_record(s, 5, others, &error));
        assert_true(store_join_record(s, 7, maps, &error));
        /* Recorded again at one revision: replaced, not added to. */
        assert_true(store_join_record(s, 7, maps, &error));
        for (StoreTable t = STORE_TABLE_GROUPS; t <= STORE_TABLE_ATTACHMENTS; t++) {
                g_hash_table_unref(maps[t]);
                g_hash_table_unref(others[t]);
        }
        assert_true(store_join_recorded(s, 7, &recorded, &error));
        assert_true(recorded);
        assert_true(store_join_recorded(s, 6, &recorded, &error));
        assert_false(recorded);
        assert_true(store_begin_deferred(s, &error));
        assert_true(store_join_finish(s, 7, &error));
        assert_true(store_commit_here(s, &error));
        assert_true(store_join_recorded(s, 0, &recorded, &error));
        assert_false(recorded);

        g_autoptr(GPtrArray) groups = store_groups_load(s, &error);
        g_autoptr(GPtrArray) rules = store_rules_load(s, &error);
        assert_int_equal(groups->len, 3);
        for (int i = 0; i < 3; i++) {
                const StoreGroup *g = groups->pdata[i];
                const StoreRule *r = rules->pdata[i];
                g_autofree char *name = g_strdup_printf("g%d", i);
                assert_string_equal(g->name, name);
                assert_int_equal(g->id, ids[i] + 1);
                assert_int_equal(r->id, ids[i] + 1);
                assert_int_equal(r->group_id, g->id);
                assert_int_equal(r->conditions->len, 2);
        }
        g_autoptr(GHashTable) intents = store_passthrough_load(s, &error);
        assert_int_equal(((StorePassthrough *) g_hash_table_lookup(intents, "0000:17:00.0"))->group_id, ids[0] + 1);
        g_autoptr(GPtrArray) holds = store_holder_claims(s, "acme", true, &error);
        assert_int_equal(holds->len, 1);
        assert_int_equal(((StoreClaim *) holds->pdata[0])->group_id, ids[1] + 1);
}

static StoreCommit hook_defer(Store *s, void *data, GError **error) {
        (*(int *) data)++;
        return STORE_COMMIT_DEFERRED;
}

/* A hook that hands the transaction on: nothing is committed here,
 * store_commit() says it went well; store_commit_here() commits. */
static void test_commit_hook(void **state) {
        g_autoptr(Store) s = open_ok(*state);
        g_autoptr(GError) error = NULL;
        g_autoptr(StoreGroup) g = group("gpus");
        int calls = 0;

        store_set_commit_hook(s, hook_defer, &calls);
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, g, &error));
        assert_true(store_commit(s, &error));
        assert_int_equal(calls, 1);
        g_autoptr(GPtrArray) groups = store_groups_load(s, &error);
        assert_int_equal(groups->len, 0);
        assert_true(store_begin(s, &error));
        assert_true(store_group_insert(s, g, &error));
        assert_true(store_commit_here(s, &error));
        assert_int_equal(calls, 1);
        g_autoptr(GPtrArray) after = store_groups_load(s, &error);
        assert_int_equal(after->len, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_groups_and_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_constraints_and_rollback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claims_of_a_boot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_node_records, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changes_recorded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changes_netted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replica, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commit_hook, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join_ids, setup, teardown),
        };
        return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
