/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check of a store before devpassd trusts it: the file is anyone's
 * to edit (the sqlite3 shell runs with foreign keys off, another version
 * may write what this one does not know), and a row the model would
 * choke on must stop devpassd with a message, not crash it. Every row is
 * checked as a call's arguments would be, with the same validators. */
#include "store-private.h"

#include <inttypes.h>
#include <gio/gio.h>

#include "address.h"
#include "settings.h"

/* Text validators of one argument, from the callers' ones. */
static bool group_name(const char *v, GError **error) {
        return settings_name_valid("group", v, error);
}

static bool rule_name(const char *v, GError **error) {
        return settings_name_valid("rule", v, error);
}

static bool attachment_name(const char *v, GError **error) {
        return settings_name_valid("attachment", v, error);
}

static bool machine_name(const char *v, GError **error) {
        return settings_machine_valid(v, error);
}

static bool tenant_name(const char *v, GError **error) {
        return settings_tenant_valid("tenant", v, error);
}

/* "" for the host's own. */
static bool tenant_or_host(const char *v, GError **error) {
        return !*v || tenant_name(v, error);
}

static bool tenant_node(const char *v, GError **error) {
        return !*v || settings_tenant_valid("tenant node", v, error);
}

/* As devpassd writes it: canonical, so that one function has one key. */
static bool address_stored(const char *v, GError **error) {
        DpAddress a;
        char canonical[DP_ADDRESS_MAX];

        if (address_parse(v, &a)) {
                address_format(&a, canonical);
                if (g_str_equal(canonical, v))
                        return true;
        }
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "not a PCI address as devpassd writes it (dddd:bb:ss.f, lower case)");
        return false;
}

static bool mac_stored(const char *v, GError **error) {
        g_autofree char *mac = settings_mac_parse(v, error);

        if (mac && !g_str_equal(mac, v))
                g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not in lower case");
        return mac && g_str_equal(mac, v);
}

static bool mac_or_none(const char *v, GError **error) {
        return !*v || mac_stored(v, error);
}

static bool boot_id(const char *v, GError **error) {
        if (!*v || g_uuid_string_is_valid(v))
                return true;
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a boot id");
        return false;
}

/* As devpassd writes it: lower case, or "" for none. */
static bool uuid_or_none(const char *v, GError **error) {
        g_autofree char *lower = g_ascii_strdown(v, -1);

        if (!*v || (settings_uuid_valid(v, error) && g_str_equal(lower, v)))
                return true;
        if (error && !*error)
                g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not in lower case");
        return false;
}

/* Conditions are the model's to judge (model_store_check()): text here. */
static bool any_text(const char *v, GError **error) {
        return true;
}

/* A column: text a validator accepts, or an integer in [min, max]. */
typedef struct {
        const char *name;
        bool (*text)(const char *value, GError **error);
        int64_t min, max;
        bool nullable;
} Column;

#define TEXT(n, f) { .name = n, .text = f }
#define INT(n, lo, hi) { .name = n, .min = lo, .max = hi }
#define ID(n) INT(n, 1, INT64_MAX)
#define ID_OR_NULL(n) { .name = n, .min = 1, .max = INT64_MAX, .nullable = true }
#define FLAG(n) INT(n, 0, 1)

/* A query whose rows are the keys of bad rows, and what is wrong with them. */
typedef struct {
        const char *sql;
        const char *problem;
} Rule;

typedef struct {
        const char *name;
        const char *key;          /* SQL naming a row in messages */
        Column columns[12];
        Rule rules[3];            /* what the schema forbids, should a hand edit have made it */
} Table;

static const Table tables[] = {
        { "groups", "'id ' || id",
          { ID("id"), TEXT("name", group_name), TEXT("type", settings_group_type_valid),
            TEXT("description", settings_description_valid), TEXT("class", settings_group_class_valid),
            TEXT("tenant", tenant_or_host), TEXT("tenant_node", tenant_node) },
          { { "SELECT 'name ' || name FROM groups GROUP BY name HAVING count(*) > 1",
              "two groups have this name" } } },
        { "rules", "'id ' || id",
          { ID("id"), ID("group_id"), TEXT("name", rule_name), TEXT("node", settings_node_valid),
            FLAG("enabled") },
          { { "SELECT 'name ' || name FROM rules GROUP BY name HAVING count(*) > 1",
              "two rules have this name" } } },
        { "conditions", "'rule_id ' || rule_id || ', position ' || position",
          { ID("rule_id"), INT("position", 0, INT32_MAX), TEXT("field", any_text), TEXT("op", any_text),
            TEXT("value", any_text) },
          { { "SELECT 'rule_id ' || rule_id || ', position ' || position FROM conditions "
              "GROUP BY rule_id, position HAVING count(*) > 1", "two conditions have this place" } } },
        { "passthrough", "'address ' || address",
          { TEXT("address", address_stored), ID("group_id"), INT("vendor_id", 0, 0xffff),
            INT("device_id", 0, 0xffff), INT("subsystem_vendor_id", 0, 0xffff),
            INT("subsystem_device_id", 0, 0xffff), INT("class_code", 0, 0xffffff), INT("revision", 0, 0xff) },
          { { "SELECT 'address ' || address FROM passthrough GROUP BY address HAVING count(*) > 1",
              "the function is passed through twice" } } },
        { "attachments", "'id ' || id",
          { ID("id"), TEXT("machine", machine_name), TEXT("name", attachment_name),
            TEXT("type", settings_group_type_valid), TEXT("description", settings_description_valid),
            TEXT("tenant", tenant_or_host), ID("group_id"), INT("count", 1, UINT32_MAX), FLAG("optional"),
            INT("generation", 1, INT64_MAX), INT("claimed_generation", 0, INT64_MAX) },
          { { "SELECT 'machine ' || machine || ', name ' || name FROM attachments GROUP BY machine, name "
              "HAVING count(*) > 1", "the machine has two attachments of this name" } } },
        { "claims", "'address ' || address",
          { TEXT("address", address_stored), TEXT("holder", machine_name), ID_OR_NULL("attachment_id"),
            TEXT("mac", mac_or_none), TEXT("boot_id", boot_id), TEXT("uuid", uuid_or_none) },
          { { "SELECT 'address ' || address FROM claims GROUP BY address HAVING count(*) > 1",
              "the function is claimed twice, and one machine at a time may hold it" },
            { "SELECT 'holder ' || holder FROM claims GROUP BY holder HAVING count(DISTINCT uuid) > 1",
              "the machine's claims name two domain UUIDs, and a claim is one domain's" } } },
        { "tenant_holds", "'address ' || address",
          { TEXT("address", address_stored), TEXT("tenant", tenant_name), ID("group_id"),
            TEXT("mac", mac_or_none) },
          { { "SELECT 'address ' || address FROM tenant_holds GROUP BY address HAVING count(*) > 1",
              "the function is held twice, and one tenant at a time may hold it" } } },
        { "macs", "'mac ' || mac",
          { TEXT("mac", mac_stored), ID_OR_NULL("attachment_id"), ID_OR_NULL("group_id"),
            INT("position", 0, INT32_MAX) },
          { { "SELECT 'mac ' || mac FROM macs GROUP BY mac HAVING count(*) > 1", "the MAC is given out twice" },
            { "SELECT 'mac ' || mac FROM macs WHERE (attachment_id IS NULL) = (group_id IS NULL)",
              "the MAC belongs to no attachment and no group, or to both" } } },
        { "sriov", "'address ' || address",
          { TEXT("address", address_stored), INT("numvfs", 0, 0xffff) },
          { { "SELECT 'address ' || address FROM sriov GROUP BY address HAVING count(*) > 1",
              "two VF counts for one function" } } },
        { "overrides", "'address ' || address",
          { TEXT("address", address_stored) },
          { { "SELECT 'address ' || address FROM overrides GROUP BY address HAVING count(*) > 1",
              "the function is listed twice" } } },
};

bool store_damaged(const Store *s, const char *table, const char *row, const char *problem, GError **error) {
        /* The key is a value of the row itself: shown printable and short. */
        g_autofree char *valid = table ? g_utf8_make_valid(row, -1) : NULL;
        g_autofree char *cut = valid ? g_utf8_substring(valid, 0, MIN(g_utf8_strlen(valid, -1), 80)) : NULL;
        g_autofree char *shown = cut ? g_strescape(cut, NULL) : NULL;
        g_autofree char *where = table ? g_strdup_printf("table %s, row %s: ", table, shown) : g_strdup("");

        g_set_error(error, STORE_ERROR, STORE_ERROR_DAMAGED, "%s is damaged: %s%s. devpassd left it as it is: "
                    "restore a backup, or fix the row with sqlite3 and start again", s->path, where, problem);
        return false;
}

/* The first row of a query's first column as text, NULL when none. */
static bool first_row(Store *s, const char *sql, char **ret, GError **error) {
        sqlite3_stmt *st = store_prepare(s, sql, error);
        if (!st)
                return false;
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? store_column_text(st, 0) : NULL;
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE || store_fail(s, rc, "Cannot read", error);
}

/* A value of the column's type: text (UTF-8, NUL-terminated) or number. */
static char *value_problem(const Column *c, const char *text, int64_t number) {
        g_autoptr(GError) e = NULL;

        if (c->text)
                return c->text(text, &e) ? NULL : g_strdup_printf("%s: %s", c->name, e->message);
        if (number < c->min || number > c->max)
                return g_strdup_printf("%s is %" PRId64 ", not in %" PRId64 "..%" PRId64, c->name, number, c->min,
                                       c->max);
        return NULL;
}

static char *column_problem(sqlite3_stmt *st, int i, const Column *c) {
        int type = sqlite3_column_type(st, i);

        if (type == SQLITE_NULL)
                return c->nullable ? NULL : g_strdup_printf("%s is NULL", c->name);
        if (c->text) {
                const char *v = (const char *) sqlite3_column_text(st, i);
                if (type != SQLITE_TEXT || !g_utf8_validate(v, sqlite3_column_bytes(st, i), NULL) ||
                    strlen(v) != (size_t) sqlite3_column_bytes(st, i))
                        return g_strdup_printf("%s is not text", c->name);
                return value_problem(c, v, 0);
        }
        if (type != SQLITE_INTEGER)
                return g_strdup_printf("%s is not an integer", c->name);
        return value_problem(c, NULL, sqlite3_column_int64(st, i));
}

bool store_value_check(const char *table, const char *column, const char *text, int64_t number, GError **error) {
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++) {
                if (!g_str_equal(tables[i].name, table))
                        continue;
                for (const Column *c = tables[i].columns; c->name; c++) {
                        if (!g_str_equal(c->name, column))
                                continue;
                        g_return_val_if_fail(!c->text == !text, false);
                        g_autofree char *problem = value_problem(c, text, number);
                        if (problem)
                                g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, problem);
                        return !problem;
                }
        }
        g_return_val_if_reached(false);
}

static bool table_check(Store *s, const Table *t, GError **error) {
        g_autoptr(GString) sql = g_string_new(NULL);
        const Column *c;

        g_string_printf(sql, "SELECT coalesce(%s, 'rowid ' || rowid)", t->key);
        for (c = t->columns; c->name; c++)
                g_string_append_printf(sql, ", %s", c->name);
        g_string_append_printf(sql, " FROM %s", t->name);
        sqlite3_stmt *st = store_prepare(s, sql->str, error);
        if (!st)
                return false;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                for (c = t->columns; c->name; c++) {
                        g_autofree char *problem = column_problem(st, (int) (c - t->columns) + 1, c);
                        if (problem) {
                                g_autofree char *row = store_column_text(st, 0);
                                sqlite3_reset(st);
                                return store_damaged(s, t->name, row, problem, error);
                        }
                }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return store_fail(s, rc, "Cannot read", error);
        for (const Rule *r = t->rules; r->sql; r++) {
                g_autofree char *row = NULL;
                if (!first_row(s, r->sql, &row, error))
                        return false;
                if (row)
                        return store_damaged(s, t->name, row, r->problem, error);
        }
        return true;
}

/* A reference to a row that is not there (foreign keys are off in the
 * sqlite3 shell): named by the referring row's key. */
static bool references_check(Store *s, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "PRAGMA foreign_key_check", error);
        if (!st)
                return false;
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                sqlite3_reset(st);
                return rc == SQLITE_DONE || store_fail(s, rc, "Cannot read", error);
        }
        g_autofree char *table = store_column_text(st, 0);
        int64_t rowid = sqlite3_column_int64(st, 1);
        g_autofree char *parent = store_column_text(st, 2);
        sqlite3_reset(st);
        g_autofree char *problem = g_strdup_printf("it refers to a row of table %s that is not there", parent);
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++) {
                if (!g_str_equal(tables[i].name, table))
                        continue;
                g_autofree char *sql = g_strdup_printf("SELECT coalesce(%s, 'rowid ' || rowid) FROM %s WHERE rowid = %" PRId64, tables[i].key,
                                                       table, rowid);
                g_autofree char *row = NULL;
                if (!first_row(s, sql, &row, error))
                        return false;
                return store_damaged(s, table, row, problem, error);
        }
        g_autofree char *row = g_strdup_printf("rowid %" PRId64, rowid);
        return store_damaged(s, table, row, problem, error);
}

/* Rows first, named; then what only SQLite's own check sees (an index
 * that disagrees with its table). */
bool store_check(Store *s, GError **error) {
        g_autofree char *integrity = NULL;

        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
                if (!table_check(s, &tables[i], error))
                        return false;
        if (!references_check(s, error) || !first_row(s, "PRAGMA integrity_check", &integrity, error))
                return false;
        if (integrity && !g_str_equal(integrity, "ok")) {
                g_autofree char *problem = g_strdup_printf("SQLite's integrity check says \"%s\"", integrity);
                return store_damaged(s, NULL, NULL, problem, error);
        }
        return true;
}
