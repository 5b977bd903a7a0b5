/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Machines' attachments and claims, tenants' holds, and the MACs given
 * out. Exclusivity and MAC uniqueness are keys of the database itself, so
 * they hold across restarts and crashes whatever the daemon believes. */
#include "store-private.h"

void store_attachment_free(StoreAttachment *a) {
        if (!a)
                return;
        g_free(a->machine);
        g_free(a->name);
        g_free(a->type);
        g_free(a->description);
        g_free(a->tenant);
        g_strfreev(a->macs);
        g_free(a);
}

void store_claim_free(StoreClaim *c) {
        if (!c)
                return;
        g_free(c->address);
        g_free(c->holder);
        g_free(c->mac);
        g_free(c->uuid);
        g_free(c);
}

static int bind_id_or_null(sqlite3_stmt *st, int i, int64_t id) {
        return id > 0 ? sqlite3_bind_int64(st, i, id) : sqlite3_bind_null(st, i);
}

/* The MACs of one owner (an attachment, or a tenant's group), in order. */
bool store_macs_write(Store *s, const char *owner_column, int64_t owner, char **macs, GError **error) {
        g_autofree char *del = g_strdup_printf("DELETE FROM macs WHERE %s = ?", owner_column);
        g_autofree char *ins = g_strdup_printf("INSERT INTO macs (mac, %s, position) VALUES (?, ?, ?)", owner_column);

        if (!store_delete_by_id(s, del, owner, error))
                return false;
        for (size_t i = 0; macs && macs[i]; i++) {
                sqlite3_stmt *st = store_prepare(s, ins, error);
                if (!st)
                        return false;
                int bound = store_bind_text(st, 1, macs[i]) ?:
                            sqlite3_bind_int64(st, 2, owner) ?:
                            sqlite3_bind_int(st, 3, (int) i);
                if (!store_step_done(s, st, bound, error))
                        return false;
        }
        return true;
}

static int attachment_bind(sqlite3_stmt *st, const StoreAttachment *a) {
        return store_bind_text(st, 1, a->machine) ?:
               store_bind_text(st, 2, a->name) ?:
               store_bind_text(st, 3, a->type) ?:
               store_bind_text(st, 4, a->description) ?:
               store_bind_text(st, 5, a->tenant) ?:
               sqlite3_bind_int64(st, 6, a->group_id) ?:
               sqlite3_bind_int64(st, 7, a->count) ?:
               sqlite3_bind_int(st, 8, a->optional) ?:
               sqlite3_bind_int64(st, 9, a->generation) ?:
               sqlite3_bind_int64(st, 10, a->claimed_generation);
}

bool store_attachment_insert(Store *s, StoreAttachment *a, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "INSERT INTO attachments (machine, name, type, description, tenant, "
                                            "group_id, count, optional, generation, claimed_generation) "
                                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
        if (!st)
                return false;
        if (!store_step_done(s, st, attachment_bind(st, a), error))
                return false;
        a->id = sqlite3_last_insert_rowid(s->db);
        return store_macs_write(s, "attachment_id", a->id, a->macs, error);
}

bool store_attachment_update(Store *s, const StoreAttachment *a, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "UPDATE attachments SET machine = ?, name = ?, type = ?, "
                                            "description = ?, tenant = ?, group_id = ?, count = ?, optional = ?, "
                                            "generation = ?, claimed_generation = ? WHERE id = ?", error);
        if (!st)
                return false;
        int bound = attachment_bind(st, a) ?: sqlite3_bind_int64(st, 11, a->id);
        return store_step_done(s, st, bound, error) && store_macs_write(s, "attachment_id", a->id, a->macs, error);
}

bool store_attachment_set_claimed(Store *s, int64_t id, int64_t generation, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "UPDATE attachments SET claimed_generation = ? WHERE id = ?", error);
        if (!st)
                return false;
        int bound = sqlite3_bind_int64(st, 1, generation) ?:
                    sqlite3_bind_int64(st, 2, id);
        return store_step_done(s, st, bound, error);
}

bool store_attachment_delete(Store *s, int64_t id, GError **error) {
        return store_delete_by_id(s, "DELETE FROM attachments WHERE id = ?", id, error);
}

bool store_group_macs_set(Store *s, int64_t group_id, char **macs, GError **error) {
        return store_macs_write(s, "group_id", group_id, macs, error);
}

static void group_mac_row(sqlite3_stmt *st, void *data) {
        g_hash_table_insert(data, store_column_text(st, 0), store_column_text(st, 1));
}

GHashTable *store_group_macs_load(Store *s, GError **error) {
        g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        sqlite3_stmt *st = store_prepare(s, "SELECT m.mac, g.tenant FROM macs m JOIN groups g ON g.id = m.group_id",
                                         error);

        if (!st || !store_step_rows(s, st, group_mac_row, macs, error))
                return NULL;
        return g_steal_pointer(&macs);
}

bool store_claim_insert(Store *s, const StoreClaim *c, GError **error) {
        sqlite3_stmt *st = c->tenant ?
                store_prepare(s, "INSERT INTO tenant_holds (address, tenant, group_id, mac) VALUES (?, ?, ?, ?)",
                              error) :
                store_prepare(s, "INSERT INTO claims (address, holder, attachment_id, mac, boot_id, uuid) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, c->address) ?:
                    store_bind_text(st, 2, c->holder) ?:
                    bind_id_or_null(st, 3, c->tenant ? c->group_id : c->attachment_id) ?:
                    store_bind_text(st, 4, c->mac) ?:
                    (c->tenant ? SQLITE_OK : store_bind_text(st, 5, s->boot_id) ?:
                                             store_bind_text(st, 6, c->uuid ?: ""));
        return store_step_done(s, st, bound, error);
}

bool store_claim_delete(Store *s, const char *address, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "DELETE FROM claims WHERE address = ?", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, address);
        return store_step_done(s, st, bound, error);
}

bool store_claims_release(Store *s, const char *machine, GError **error) {
        sqlite3_stmt *st = store_prepare(s, "DELETE FROM claims WHERE holder = ?", error);
        if (!st)
                return false;
        int bound = store_bind_text(st, 1, machine);
        return store_step_done(s, st, bound, error);
}

static void attachment_row(sqlite3_stmt *st, void *data) {
        StoreAttachment *a = g_new0(StoreAttachment, 1);
        a->id = sqlite3_column_int64(st, 0);
        a->machine = store_column_text(st, 1);
        a->name = store_column_text(st, 2);
        a->type = store_column_text(st, 3);
        a->description = store_column_text(st, 4);
        a->tenant = store_column_text(st, 5);
        a->group_id = sqlite3_column_int64(st, 6);
        a->count = (uint32_t) sqlite3_column_int64(st, 7);
        a->optional = sqlite3_column_int(st, 8) != 0;
        a->generation = sqlite3_column_int64(st, 9);
        a->claimed_generation = sqlite3_column_int64(st, 10);
        g_ptr_array_add(data, a);
}

typedef struct {
        GPtrArray *attachments;
        GHashTable *macs;          /* attachment id -> GPtrArray of MACs */
} MacRows;

static void mac_row(sqlite3_stmt *st, void *data) {
        MacRows *rows = data;
        int64_t id = sqlite3_column_int64(st, 0);
        GPtrArray *list = g_hash_table_lookup(rows->macs, &id);

        if (!list) {
                list = g_ptr_array_new_with_free_func(g_free);
                g_hash_table_insert(rows->macs, g_memdup2(&id, sizeof(id)), list);
        }
        g_ptr_array_add(list, store_column_text(st, 1));
}

#define ATTACHMENT_COLUMNS "SELECT id, machine, name, type, description, tenant, group_id, count, optional, " \
                           "generation, claimed_generation FROM attachments "

/* Every attachment (id 0), or the one of id. */
static GPtrArray *attachments_select(Store *s, int64_t id, GError **error) {
        g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func((GDestroyNotify) store_attachment_free);
        g_autoptr(GHashTable) macs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                                           (GDestroyNotify) g_ptr_array_unref);
        MacRows rows = { attachments, macs };

        sqlite3_stmt *st = store_prepare(s, id ? ATTACHMENT_COLUMNS "WHERE id = ?1" :
                                                 ATTACHMENT_COLUMNS "WHERE ?1 = 0 ORDER BY id", error);
        if (!st || !store_bind_id(s, st, id, error) || !store_step_rows(s, st, attachment_row, attachments, error))
                return NULL;
        st = store_prepare(s, id ? "SELECT attachment_id, mac FROM macs WHERE attachment_id = ?1 ORDER BY position" :
                                   "SELECT attachment_id, mac FROM macs WHERE attachment_id IS NOT NULL AND ?1 = 0 "
                                   "ORDER BY attachment_id, position", error);
        if (!st || !store_bind_id(s, st, id, error) || !store_step_rows(s, st, mac_row, &rows, error))
                return NULL;
        for (guint i = 0; i < attachments->len; i++) {
                StoreAttachment *a = attachments->pdata[i];
                GPtrArray *list = g_hash_table_lookup(macs, &a->id);
                if (!list)
                        continue;
                a->macs = g_new0(char *, list->len + 1);
                for (guint j = 0; j < list->len; j++)
                        a->macs[j] = g_strdup(list->pdata[j]);
        }
        return g_steal_pointer(&attachments);
}

GPtrArray *store_attachments_load(Store *s, GError **error) {
        return attachments_select(s, 0, error);
}

StoreAttachment *store_attachment_get(Store *s, int64_t id, GError **error) {
        g_autoptr(GPtrArray) attachments = attachments_select(s, id, error);
        return attachments && attachments->len ? g_ptr_array_steal_index(attachments, 0) : NULL;
}

static void claim_row(sqlite3_stmt *st, void *data) {
        StoreClaim *c = g_new0(StoreClaim, 1);
        c->address = store_column_text(st, 0);
        c->holder = store_column_text(st, 1);
        c->tenant = sqlite3_column_int(st, 2) != 0;
        int64_t id = sqlite3_column_int64(st, 3);
        if (c->tenant)
                c->group_id = id;
        else
                c->attachment_id = id;
        c->mac = store_column_text(st, 4);
        c->uuid = store_column_text(st, 5);
        g_ptr_array_add(data, c);
}

GPtrArray *store_holder_claims(Store *s, const char *holder, bool tenant, GError **error) {
        g_autoptr(GPtrArray) claims = g_ptr_array_new_with_free_func((GDestroyNotify) store_claim_free);
        sqlite3_stmt *st = tenant ?
                store_prepare(s, "SELECT address, tenant, 1, group_id, mac, '' FROM tenant_holds WHERE tenant = ? "
                                 "ORDER BY address", error) :
                store_prepare(s, "SELECT address, holder, 0, attachment_id, mac, uuid FROM claims WHERE holder = ? "
                                 "ORDER BY address", error);
        if (!st)
                return NULL;
        int rc = store_bind_text(st, 1, holder);
        if (rc != SQLITE_OK)
                return store_fail(s, rc, "Cannot read", error), NULL;
        if (!store_step_rows(s, st, claim_row, claims, error))
                return NULL;
        return g_steal_pointer(&claims);
}

GPtrArray *store_claims_load(Store *s, GError **error) {
        g_autoptr(GPtrArray) claims = g_ptr_array_new_with_free_func((GDestroyNotify) store_claim_free);
        sqlite3_stmt *st = store_prepare(s, "SELECT address, holder, 0, attachment_id, mac, uuid FROM claims "
                                            "UNION ALL SELECT address, tenant, 1, group_id, mac, '' "
                                            "FROM tenant_holds "
                                            "ORDER BY 1, 3", error);
        if (!st || !store_step_rows(s, st, claim_row, claims, error))
                return NULL;
        return g_steal_pointer(&claims);
}
