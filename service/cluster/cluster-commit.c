/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A transaction's changes as one etcd transaction (doc/cluster.md, "What
 * each transaction guards"). The store's commit hook reads which rows the
 * model's transaction changed, writes their keys, and guards every key
 * it writes with the revision the replica knows of it: a key another
 * node changed meanwhile fails the compare, and the call is checked
 * again. Rows only this node has (intents, VF counts, overrides) are
 * committed here; what they say of the groups this node uses goes to
 * etcd as the group's users. */
#include <string.h>
#include <gio/gio.h>

#include "cluster-private.h"
#include "text.h"

typedef struct {
        Cluster *c;
        Store *s;
        ClusterPending *p;
        GPtrArray *changes;       /* the transaction's (StoreRowChange*) */
        int64_t next_id[3];       /* groups, rules, attachments: past the ids made, 0: none */
        GHashTable *machines;     /* touched: machine -> itself */
        GHashTable *tenants;
        bool users;               /* what the node uses may have changed */
} Build;

static void write_free(ClusterWrite *w) {
        g_free(w->key);
        g_free(w->value);
        g_free(w);
}

void cluster_pending_free(ClusterPending *p) {
        if (!p)
                return;
        etcd_txn_free(p->txn);
        g_clear_pointer(&p->local, g_bytes_unref);
        g_hash_table_unref(p->writes);
        g_ptr_array_unref(p->order);
        g_free(p);
}

static ClusterPending *pending_new(void) {
        ClusterPending *p = g_new0(ClusterPending, 1);
        p->txn = etcd_txn_new();
        p->writes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) write_free);
        p->order = g_ptr_array_new();
        return p;
}

char *cluster_key_of(Cluster *c, ClusterKeyKind kind, int64_t id, const char *name, const char *node) {
        ClusterKey k = { .kind = kind, .id = id, .name = (char *) name, .node = (char *) node };
        return cluster_key_build(c->prefix, &k);
}

/* The compare that makes the transaction fail when another node changed
 * the key since the replica saw it (0: it must still not exist). */
static bool guard(Build *b, const char *key, GError **error) {
        int64_t mod;

        if (!store_replica_key(b->s, key, &mod, NULL, error))
                return false;
        etcd_txn_compare(b->p->txn, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod);
        return true;
}

/* One op per key: etcd refuses a transaction that names a key twice. */
static void put(Build *b, char *key, char *value) {
        ClusterWrite *w = g_hash_table_lookup(b->p->writes, key);

        if (!w) {
                w = g_new0(ClusterWrite, 1);
                w->key = key;
                g_hash_table_insert(b->p->writes, w->key, w);
                g_ptr_array_add(b->p->order, w->key);
        } else {
                g_free(key);
                g_free(w->value);
        }
        w->value = value;
}

static bool guarded_put(Build *b, char *key, char *value, GError **error) {
        if (!guard(b, key, error)) {
                g_free(key);
                g_free(value);
                return false;
        }
        put(b, key, value);
        return true;
}

/* A key that must not exist in the cluster, whatever the replica knew
 * of it (a new name, a MAC given out). */
static void absent_put(Build *b, char *key, char *value) {
        etcd_txn_compare(b->p->txn, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, 0);
        put(b, key, value);
}

static char *encode(ClusterKeyKind kind, void *row) {
        ClusterRow r = { .key.kind = kind };

        switch (kind) {
        case CLUSTER_KEY_GROUP:
                r.group = row;
                break;
        case CLUSTER_KEY_RULE:
                r.rule = row;
                break;
        case CLUSTER_KEY_ATTACHMENT:
                r.attachment = row;
                break;
        default:
                g_assert_not_reached();
        }
        return cluster_row_encode(&r);
}

static char *encode_id(ClusterKeyKind kind, int64_t id) {
        ClusterRow r = { .key.kind = kind, .id = id };
        return cluster_row_encode(&r);
}

/* ---- groups, rules, attachments: a key each, and their names ---- */

static const ClusterKeyKind name_kinds[] = {
        [STORE_TABLE_GROUPS] = CLUSTER_KEY_GROUP_NAME,
        [STORE_TABLE_RULES] = CLUSTER_KEY_RULE_NAME,
};

static const ClusterKeyKind object_kinds[] = {
        [STORE_TABLE_GROUPS] = CLUSTER_KEY_GROUP,
        [STORE_TABLE_RULES] = CLUSTER_KEY_RULE,
        [STORE_TABLE_ATTACHMENTS] = CLUSTER_KEY_ATTACHMENT,
};

static void *row_get(Build *b, StoreTable table, int64_t id, GError **error) {
        switch (table) {
        case STORE_TABLE_GROUPS:
                return store_group_get(b->s, id, error);
        case STORE_TABLE_RULES:
                return store_rule_get(b->s, id, error);
        default:
                return store_attachment_get(b->s, id, error);
        }
}

static void row_free(StoreTable table, void *row) {
        if (table == STORE_TABLE_GROUPS)
                store_group_free(row);
        else if (table == STORE_TABLE_RULES)
                store_rule_free(row);
        else
                store_attachment_free(row);
}

static const char *row_name(StoreTable table, void *row) {
        return table == STORE_TABLE_GROUPS ? ((StoreGroup *) row)->name : ((StoreRule *) row)->name;
}

/* A rule may name only a member of the cluster (or none: every node),
 * and one still a member when etcd takes the change: its member key is
 * guarded. A tenant's group's TenantNode is not one: it names the
 * tenant's own node, where the tenant's machines run. */
static bool rule_node_check(Build *b, const StoreRule *r, GError **error) {
        int64_t mod;

        if (!*r->node || g_str_equal(r->node, b->c->node))
                return true;
        g_autofree char *key = cluster_key_of(b->c, CLUSTER_KEY_NODE, 0, NULL, r->node);
        if (!store_replica_key(b->s, key, &mod, NULL, error))
                return false;
        if (mod == 0)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Node %s is not a member of the "
                                   "cluster: 'devpassctl nodes' lists them (an empty Node means every node)",
                                   r->node), false;
        etcd_txn_compare(b->p->txn, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod);
        return true;
}

/* Nobody else may pass devices through into a group that is going, or
 * hold or claim in it. */
static bool group_unused_elsewhere(Build *b, int64_t id, const char *name, GError **error) {
        g_autofree char *users = cluster_key_group_users(b->c->prefix, id);
        g_autoptr(GPtrArray) keys = store_replica_keys(b->s, users, error);

        if (!keys)
                return false;
        for (guint i = 0; i < keys->len; i++) {
                const char *node = ((StoreReplicaKey *) keys->pdata[i])->key + strlen(users);
                if (!g_str_equal(node, b->c->node))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Group %s is in use on node %s "
                                           "(devices passed through, held or claimed there): release them there "
                                           "first", name ?: "", node), false;
        }
        return true;
}

/* The group a rule or attachment is in must still be there, and a
 * deletion of it on a replica that does not know this one yet must fail:
 * the group's key is written again (same value, new revision). */
static bool touch_group(Build *b, int64_t id, GError **error) {
        g_autoptr(StoreGroup) g = store_group_get(b->s, id, error);

        return g && guarded_put(b, cluster_key_of(b->c, CLUSTER_KEY_GROUP, id, NULL, NULL),
                                encode(CLUSTER_KEY_GROUP, g), error);
}

/* Whether a rule or attachment (key) starts to be in group_id: new, or
 * in another group in the replica. A claim's new claimed_generation
 * leaves the group be, so that claims of one group do not all write its
 * key and refuse each other. */
static bool group_entered(Build *b, const char *key, int64_t group_id) {
        g_autofree char *value = NULL;
        int64_t mod = 0;

        if (!store_replica_key(b->s, key, &mod, &value, NULL) || mod == 0)
                return true;
        g_autoptr(ClusterRow) was = cluster_row_decode(b->c->prefix, key, strlen(key), value, strlen(value), NULL);
        if (!was)
                return true;
        int64_t before = was->key.kind == CLUSTER_KEY_RULE ? was->rule->group_id : was->attachment->group_id;
        return before != group_id;
}

/* Whether the object a name key names is one this node has, or had
 * until this transaction deleted it. */
static bool name_owner_known(Build *b, StoreTable table, const char *value) {
        int64_t id;

        if (!cluster_id_parse(value, &id))
                return false;
        for (guint i = 0; i < b->changes->len; i++) {
                const StoreRowChange *ch = b->changes->pdata[i];
                if (ch->table == table && ch->id == id && ch->op == STORE_ROW_DELETE)
                        return true;
        }
        void *row = row_get(b, table, id, NULL);
        if (row)
                row_free(table, row);
        return row != NULL;
}

/* A new name: nobody's in the cluster. The model checked the names of
 * the objects this node has; a name key another holds is one that this
 * transaction frees (renamed or deleted: guarded as that change is), or
 * one whose object this node could not read (a newer devpassd's row),
 * refused here; etcd refuses one the replica does not know yet. */
static bool name_put(Build *b, const StoreRowChange *ch, const char *name, GError **error) {
        char *key = cluster_key_of(b->c, name_kinds[ch->table], 0, name, NULL);
        char *value = encode_id(name_kinds[ch->table], ch->id);
        g_autofree char *owner = NULL;
        int64_t mod = 0;

        if (!store_replica_key(b->s, key, &mod, &owner, error)) {
                g_free(key);
                g_free(value);
                return false;
        }
        if (mod > 0 && name_owner_known(b, ch->table, owner))
                return guarded_put(b, key, value, error);
        if (mod > 0) {
                g_autofree char *q = text_quote(name);
                g_free(key);
                g_free(value);
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "The name %s is another %s's in the "
                                   "cluster, one this node cannot read (made by a newer devpassd?): choose another "
                                   "name", q, ch->table == STORE_TABLE_GROUPS ? "group" : "rule"), false;
        }
        absent_put(b, key, value);
        return true;
}

static bool build_object(Build *b, const StoreRowChange *ch, GError **error) {
        ClusterKeyKind kind = object_kinds[ch->table];
        char *key = cluster_key_of(b->c, kind, ch->id, NULL, NULL);
        bool named = ch->table != STORE_TABLE_ATTACHMENTS;

        if (ch->op == STORE_ROW_DELETE) {
                if (ch->table == STORE_TABLE_GROUPS && !group_unused_elsewhere(b, ch->id, ch->old_name, error)) {
                        g_free(key);
                        return false;
                }
                if (!guarded_put(b, key, NULL, error))
                        return false;
                return !named || guarded_put(b, cluster_key_of(b->c, name_kinds[ch->table], 0, ch->old_name, NULL),
                                             NULL, error);
        }
        void *row = row_get(b, ch->table, ch->id, error);
        if (!row) {
                g_free(key);
                return !(error && *error);
        }
        bool ok = ch->table != STORE_TABLE_RULES || rule_node_check(b, row, error);
        if (ok && ch->table != STORE_TABLE_GROUPS) {
                int64_t group_id = ch->table == STORE_TABLE_RULES ? ((StoreRule *) row)->group_id :
                                                                   ((StoreAttachment *) row)->group_id;
                if (group_entered(b, key, group_id))
                        ok = touch_group(b, group_id, error);
        }
        if (ok)
                ok = guarded_put(b, key, encode(kind, row), error);
        else
                g_free(key);
        if (ok && named && ch->old_name)
                ok = guarded_put(b, cluster_key_of(b->c, name_kinds[ch->table], 0, ch->old_name, NULL), NULL, error);
        if (ok && named && (ch->op == STORE_ROW_INSERT || ch->old_name))
                ok = name_put(b, ch, row_name(ch->table, row), error);
        if (ch->op == STORE_ROW_INSERT)
                b->next_id[ch->table] = MAX(b->next_id[ch->table], ch->id + 1);
        row_free(ch->table, row);
        return ok;
}

static bool build_ids(Build *b, GError **error) {
        static const char *const kinds[] = { "group", "rule", "attachment" };

        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                if (b->next_id[i] &&
                    !guarded_put(b, cluster_key_of(b->c, CLUSTER_KEY_IDS, 0, kinds[i], NULL),
                                 encode_id(CLUSTER_KEY_IDS, b->next_id[i]), error))
                        return false;
        return true;
}

/* ---- MACs: one key each, so that a MAC is unique in the cluster ---- */

static bool build_mac(Build *b, const StoreRowChange *ch, GError **error) {
        ClusterRow r = { .key.kind = CLUSTER_KEY_MAC };

        if (!store_mac_owner(b->s, ch->key, &r.mac.attachment_id, &r.mac.group_id, error))
                return false;
        bool owned = r.mac.attachment_id || r.mac.group_id;
        char *key = cluster_key_of(b->c, CLUSTER_KEY_MAC, 0, ch->key, NULL);
        if (ch->op == STORE_ROW_INSERT) {
                absent_put(b, key, cluster_row_encode(&r));
                return true;
        }
        return guarded_put(b, key, owned ? cluster_row_encode(&r) : NULL, error);
}

/* ---- claims and holds: per machine and tenant, under this node ---- */

static void touch(Build *b, const StoreRowChange *ch, GError **error) {
        bool tenant = ch->table == STORE_TABLE_HOLDS;
        GHashTable *set = tenant ? b->tenants : b->machines;
        char *holder = NULL;

        if (ch->old_holder)
                g_hash_table_add(set, g_strdup(ch->old_holder));
        if (store_address_holder(b->s, ch->key, tenant, &holder, error) && holder)
                g_hash_table_add(set, holder);
        b->users = true;
}

char *cluster_claims_value(Cluster *c, GPtrArray *devices) {
        const StoreClaim *first = devices->pdata[0];
        g_autoptr(GArray) generations = g_array_new(FALSE, FALSE, sizeof(ClusterGeneration));
        g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);

        for (guint i = 0; i < devices->len; i++) {
                const StoreClaim *d = devices->pdata[i];
                if (!d->attachment_id || !g_hash_table_add(seen, (gpointer) &d->attachment_id))
                        continue;
                g_autoptr(StoreAttachment) a = store_attachment_get(c->store, d->attachment_id, NULL);
                if (a)
                        g_array_append_val(generations, ((ClusterGeneration) { a->id, a->claimed_generation }));
        }
        ClusterRow claims = { .key.kind = CLUSTER_KEY_CLAIMS,
                              .claims = { .uuid = first->uuid, .devices = devices, .generations = generations } };
        return cluster_row_encode(&claims);
}

char *cluster_owner_value(Cluster *c, GPtrArray *devices) {
        ClusterRow owner = { .key.kind = CLUSTER_KEY_MACHINE,
                             .machine = { .node = c->node, .uuid = ((StoreClaim *) devices->pdata[0])->uuid } };
        return cluster_row_encode(&owner);
}

/* The machine must not be claimed on another node. */
static bool machine_here(Build *b, const char *machine, const char *key, GError **error) {
        g_autofree char *value = NULL;
        int64_t mod;

        if (!store_replica_key(b->s, key, &mod, &value, error))
                return false;
        if (mod == 0)
                return true;
        g_autoptr(GError) local = NULL;
        g_autoptr(ClusterRow) row = cluster_row_decode(b->c->prefix, key, strlen(key), value, strlen(value), &local);
        if (row && !g_str_equal(row->machine.node, b->c->node))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Machine %s is claimed on node %s: release "
                                   "it there first, or wait until node %s is down", machine, row->machine.node,
                                   row->machine.node), false;
        return true;
}

static bool build_machine(Build *b, const char *machine, GError **error) {
        char *claims_key = cluster_key_of(b->c, CLUSTER_KEY_CLAIMS, 0, machine, b->c->node);
        char *machine_key = cluster_key_of(b->c, CLUSTER_KEY_MACHINE, 0, machine, NULL);
        g_autoptr(GPtrArray) devices = store_holder_claims(b->s, machine, false, error);

        if (!devices || !machine_here(b, machine, machine_key, error)) {
                g_free(claims_key);
                g_free(machine_key);
                return false;
        }
        if (devices->len == 0)
                return guarded_put(b, claims_key, NULL, error) && guarded_put(b, machine_key, NULL, error);
        return guarded_put(b, claims_key, cluster_claims_value(b->c, devices), error) &&
               guarded_put(b, machine_key, cluster_owner_value(b->c, devices), error);
}

static bool build_tenant(Build *b, const char *tenant, GError **error) {
        g_autoptr(GPtrArray) holds = store_holder_claims(b->s, tenant, true, error);
        ClusterRow row = { .key.kind = CLUSTER_KEY_HOLDS, .holds = holds };

        return holds && guarded_put(b, cluster_key_of(b->c, CLUSTER_KEY_HOLDS, 0, tenant, b->c->node),
                                    holds->len ? cluster_row_encode(&row) : NULL, error);
}

/* ---- the groups this node uses ---- */

/* A new user of a group writes the group again too (touch_group()). */
static bool build_users(Build *b, GError **error) {
        g_autoptr(GHashTable) used = store_groups_used(b->s, error);
        g_autofree char *users_prefix = g_strconcat(b->c->shared, "group-users/", NULL);
        g_autoptr(GPtrArray) known = used ? store_replica_keys(b->s, users_prefix, error) : NULL;
        g_autoptr(GHashTable) have = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);

        if (!known)
                return false;
        for (guint i = 0; i < known->len; i++) {
                const StoreReplicaKey *k = known->pdata[i];
                g_auto(ClusterKey) parsed = { 0 };
                if (cluster_key_parse(b->c->prefix, k->key, strlen(k->key), &parsed, NULL) &&
                    g_str_equal(parsed.node, b->c->node))
                        g_hash_table_add(have, g_memdup2(&parsed.id, sizeof(parsed.id)));
        }
        GHashTableIter it;
        gpointer id;
        g_hash_table_iter_init(&it, used);
        while (g_hash_table_iter_next(&it, &id, NULL)) {
                if (g_hash_table_contains(have, id))
                        continue;
                int64_t group_id = *(int64_t *) id;
                if (!guarded_put(b, cluster_key_of(b->c, CLUSTER_KEY_GROUP_USER, group_id, NULL, b->c->node),
                                 g_strdup("{}"), error) ||
                    !touch_group(b, group_id, error))
                        return false;
        }
        g_hash_table_iter_init(&it, have);
        while (g_hash_table_iter_next(&it, &id, NULL))
                if (!g_hash_table_contains(used, id) &&
                    !guarded_put(b, cluster_key_of(b->c, CLUSTER_KEY_GROUP_USER, *(int64_t *) id, NULL, b->c->node),
                                 NULL, error))
                        return false;
        return true;
}

/* ---- the hook ---- */

static bool build_change(Build *b, const StoreRowChange *ch, GError **error) {
        switch (ch->table) {
        case STORE_TABLE_GROUPS:
        case STORE_TABLE_RULES:
        case STORE_TABLE_ATTACHMENTS:
                return build_object(b, ch, error);
        case STORE_TABLE_MACS:
                return build_mac(b, ch, error);
        case STORE_TABLE_CLAIMS:
        case STORE_TABLE_HOLDS:
                touch(b, ch, error);
                return !(error && *error);
        case STORE_TABLE_PASSTHROUGH:
                b->users = true;
                return true;
        }
        return true;
}

static bool build(Build *b, GPtrArray *changes, GError **error) {
        GHashTableIter it;
        gpointer name;

        for (guint i = 0; i < changes->len; i++)
                if (!build_change(b, changes->pdata[i], error))
                        return false;
        if (!build_ids(b, error))
                return false;
        g_hash_table_iter_init(&it, b->machines);
        while (g_hash_table_iter_next(&it, &name, NULL))
                if (!build_machine(b, name, error))
                        return false;
        g_hash_table_iter_init(&it, b->tenants);
        while (g_hash_table_iter_next(&it, &name, NULL))
                if (!build_tenant(b, name, error))
                        return false;
        return !b->users || build_users(b, error);
}

static void ops_add(Cluster *c, ClusterPending *p) {
        for (guint i = 0; i < p->order->len; i++) {
                const ClusterWrite *w = g_hash_table_lookup(p->writes, p->order->pdata[i]);
                /* A machine's claims and its owner key live as long as the node. */
                g_auto(ClusterKey) k = { 0 };
                bool leased = cluster_key_parse(c->prefix, w->key, strlen(w->key), &k, NULL) &&
                              (k.kind == CLUSTER_KEY_CLAIMS || k.kind == CLUSTER_KEY_MACHINE);
                if (w->value)
                        etcd_txn_put(p->txn, true, w->key, w->value, strlen(w->value), leased ? c->lease : 0);
                else
                        etcd_txn_delete(p->txn, true, w->key, NULL);
        }
}

StoreCommit cluster_commit_hook(Store *s, void *data, GError **error) {
        Cluster *c = data;
        g_autoptr(GPtrArray) changes = store_changes(s, error);

        if (!changes)
                return STORE_COMMIT_REFUSED;
        if (changes->len == 0)
                return STORE_COMMIT_HERE;
        g_autoptr(ClusterPending) p = pending_new();
        Build b = {
                .c = c,
                .s = s,
                .p = p,
                .changes = changes,
                .machines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                .tenants = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        };
        bool ok = build(&b, changes, error);
        g_hash_table_unref(b.machines);
        g_hash_table_unref(b.tenants);
        if (!ok)
                return STORE_COMMIT_REFUSED;
        /* Only this node's own rows: nothing for etcd. */
        if (p->order->len == 0)
                return STORE_COMMIT_HERE;
        if (c->unjoined)
                return cluster_unjoined_error(c, error), STORE_COMMIT_REFUSED;
        if (c->pending || c->busy || !c->synced || !c->lease)
                return g_set_error(error, CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "The cluster cannot take a "
                                   "change now (%s): call again", c->pending || c->busy ? "another change is on its "
                                   "way" : "etcd has not answered yet"), STORE_COMMIT_REFUSED;
        if (!(p->local = store_local_changes(s, error)))
                return STORE_COMMIT_REFUSED;
        ops_add(c, p);
        c->pending = g_steal_pointer(&p);
        return STORE_COMMIT_DEFERRED;
}
