/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A single node becoming a member (doc/cluster.md, "Joining"). A node
 * whose replica never read etcd and whose store holds groups, rules,
 * attachments, claims, holds or MACs of its own is "unjoined": its first
 * read would mix the cluster's rows with its own, so it reads nothing,
 * answers reads from its own rows and refuses changes until JoinCluster.
 * The join reads the cluster's keys, refuses every conflict naming each,
 * gives the node's rows new cluster-wide ids, records them in the store
 * and writes the rows in one guarded etcd transaction, with the node's
 * member key naming the revision it read; then the store takes the new
 * ids in one SQLite transaction, and the node comes up as any member
 * does. A node that stopped (or whose store failed) in between finds its
 * member key naming a join it recorded, at its next start or join, and
 * takes the ids then. */
#include <string.h>
#include <gio/gio.h>

#include "cluster-private.h"

static const StoreTable id_tables[] = { STORE_TABLE_GROUPS, STORE_TABLE_RULES, STORE_TABLE_ATTACHMENTS };
static const char *const id_kinds[] = { "group", "rule", "attachment" };

bool cluster_join_needed(Cluster *c, bool *needed, GError **error) {
        g_autofree char *member = cluster_key_of(c, CLUSTER_KEY_NODE, 0, NULL, c->node);
        int64_t revision, known = 0;
        bool rows = false;

        /* A node whose join its store took knows its member key, even
         * before its first read. */
        if (!store_replica_revision(c->store, c->shared, &revision, error) ||
            !store_replica_key(c->store, member, &known, NULL, error))
                return false;
        if (revision == 0 && known == 0 && !store_holds_shared_rows(c->store, &rows, error))
                return false;
        *needed = rows;
        return true;
}

bool cluster_unjoined_error(Cluster *c, GError **error) {
        g_set_error(error, CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "Node %s is not a member of the cluster yet: "
                    "its own groups, rules and claims are shown as they were; run 'devpassctl cluster join' to "
                    "move them into the cluster, then change them", c->node);
        return false;
}

bool cluster_join(Cluster *c, GError **error) {
        if (!c->unjoined)
                return true;   /* a member already: nothing to move */
        if (!c->lease)
                return g_set_error(error, CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "etcd has not answered node %s "
                                   "yet: call again when 'devpassctl status' shows the cluster", c->node), false;
        if (c->busy)
                return g_set_error(error, CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "Node %s is joining the cluster "
                                   "already: 'devpassctl status' shows when it is up", c->node), false;
        c->join_asked = true;
        return true;
}

/* ---- what the cluster holds ---- */

typedef struct {
        Cluster *c;
        EtcdClient *client;
        GCancellable *cancel;
        ClusterDone done;
        void *data;
        bool resume;                      /* only finish a join etcd took: cluster_join_resume() */
        gint64 revision;                  /* of the read */
        GHashTable *mods;                 /* key -> mod_revision (gint64*), every shared key read */
        GHashTable *values;               /* key -> value, the machines', the ids' and this node's member key */
        GHashTable *ids[3];               /* old -> new (gint64*), by id_tables */
        EtcdTxn *txn;
        GString *conflicts;
} Join;

static void join_free(Join *j) {
        etcd_client_unref(j->client);
        g_object_unref(j->cancel);
        g_clear_pointer(&j->mods, g_hash_table_unref);
        g_clear_pointer(&j->values, g_hash_table_unref);
        for (size_t i = 0; i < G_N_ELEMENTS(j->ids); i++)
                g_clear_pointer(&j->ids[i], g_hash_table_unref);
        g_clear_pointer(&j->txn, etcd_txn_free);
        if (j->conflicts)
                g_string_free(j->conflicts, TRUE);
        g_free(j);
}

static void join_finish(Join *j, const GError *error) {
        if (!g_cancellable_is_cancelled(j->cancel)) {
                j->c->busy = false;
                if (j->resume && error)
                        g_message("Cluster: node %s cannot finish the join it sent (%s): it stays unjoined until "
                                  "'devpassctl cluster join'", j->c->node, error->message);
        }
        if (j->done)
                j->done(error, j->data);
        join_free(j);
}

static int64_t mod_of(Join *j, const char *key) {
        gint64 *mod = g_hash_table_lookup(j->mods, key);
        return mod ? *mod : 0;
}

static void conflict(Join *j, const char *format, ...) G_GNUC_PRINTF(2, 3);
static void conflict(Join *j, const char *format, ...) {
        va_list ap;

        if (j->conflicts->len)
                g_string_append(j->conflicts, "; ");
        va_start(ap, format);
        g_string_append_vprintf(j->conflicts, format, ap);
        va_end(ap);
}

static ClusterRow *row_of(Join *j, const char *key) {
        const char *value = g_hash_table_lookup(j->values, key);
        return value ? cluster_row_decode(j->c->prefix, key, strlen(key), value, strlen(value), NULL) : NULL;
}

/* ---- the node's rows, with the cluster's ids ---- */

static int64_t new_id(Join *j, StoreTable table, int64_t old) {
        gint64 *id = old ? g_hash_table_lookup(j->ids[table], &old) : NULL;
        return id ? *id : 0;
}

/* The next ids of the cluster, and the ones the node's rows take. */
static void ids_give(Join *j, StoreTable table, GPtrArray *rows) {
        g_autofree char *key = cluster_key_of(j->c, CLUSTER_KEY_IDS, 0, id_kinds[table], NULL);
        g_autoptr(ClusterRow) next = row_of(j, key);
        int64_t id = next ? next->id : 1;

        j->ids[table] = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
        for (guint i = 0; i < rows->len; i++) {
                /* Every row type starts with its id. */
                int64_t old = *(int64_t *) rows->pdata[i];
                g_hash_table_insert(j->ids[table], g_memdup2(&old, sizeof(old)), g_memdup2(&id, sizeof(id)));
                id++;
        }
        etcd_txn_compare(j->txn, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod_of(j, key));
        if (rows->len) {
                ClusterRow r = { .key.kind = CLUSTER_KEY_IDS, .id = id };
                g_autofree char *value = cluster_row_encode(&r);
                etcd_txn_put(j->txn, true, key, value, strlen(value), 0);
        }
}

/* A key that must not exist in the cluster; what it is when it does. */
static bool absent(Join *j, const char *key) {
        etcd_txn_compare(j->txn, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, 0);
        return mod_of(j, key) == 0;
}

static void put_row(Join *j, const char *key, const ClusterRow *row, gint64 lease) {
        g_autofree char *value = cluster_row_encode(row);
        etcd_txn_put(j->txn, true, key, value, strlen(value), lease);
}

static void put_named(Join *j, ClusterKeyKind kind, ClusterKeyKind name_kind, int64_t id, const char *name,
                      const ClusterRow *row, const char *what) {
        g_autofree char *key = cluster_key_of(j->c, kind, id, NULL, NULL);
        g_autofree char *name_key = cluster_key_of(j->c, name_kind, 0, name, NULL);
        ClusterRow r = { .key.kind = name_kind, .id = id };

        if (!absent(j, name_key))
                conflict(j, "%s '%s' is the name of another %s in the cluster", what, name, what);
        put_row(j, key, row, 0);
        put_row(j, name_key, &r, 0);
}

/* A node a rule names must be a member, and still one when etcd takes
 * the join (this node is one by then); guarded: the member keys compared
 * already. (A tenant's group's TenantNode names the tenant's own node.) */
static void node_member(Join *j, GHashTable *guarded, const char *node, const char *rule) {
        if (!*node || g_str_equal(node, j->c->node))
                return;
        g_autofree char *key = cluster_key_of(j->c, CLUSTER_KEY_NODE, 0, NULL, node);
        if (mod_of(j, key) == 0) {
                conflict(j, "rule '%s' names node %s, which is not a member of the cluster ('devpassctl nodes' lists "
                         "them)", rule, node);
                return;
        }
        if (g_hash_table_contains(guarded, key))
                return;
        etcd_txn_compare(j->txn, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod_of(j, key));
        g_hash_table_add(guarded, g_steal_pointer(&key));
}

static bool build_objects(Join *j, GError **error) {
        Store *s = j->c->store;
        g_autoptr(GPtrArray) groups = store_groups_load(s, error);
        g_autoptr(GPtrArray) rules = groups ? store_rules_load(s, error) : NULL;
        g_autoptr(GPtrArray) attachments = rules ? store_attachments_load(s, error) : NULL;
        g_autoptr(GHashTable) guarded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        if (!attachments)
                return false;
        ids_give(j, STORE_TABLE_GROUPS, groups);
        ids_give(j, STORE_TABLE_RULES, rules);
        ids_give(j, STORE_TABLE_ATTACHMENTS, attachments);
        for (guint i = 0; i < groups->len; i++) {
                StoreGroup *g = groups->pdata[i];
                ClusterRow r = { .key.kind = CLUSTER_KEY_GROUP, .group = g };
                put_named(j, CLUSTER_KEY_GROUP, CLUSTER_KEY_GROUP_NAME, new_id(j, STORE_TABLE_GROUPS, g->id), g->name,
                          &r, "group");
        }
        for (guint i = 0; i < rules->len; i++) {
                StoreRule *rule = rules->pdata[i];
                ClusterRow r = { .key.kind = CLUSTER_KEY_RULE, .rule = rule };
                node_member(j, guarded, rule->node, rule->name);
                rule->group_id = new_id(j, STORE_TABLE_GROUPS, rule->group_id);
                put_named(j, CLUSTER_KEY_RULE, CLUSTER_KEY_RULE_NAME, new_id(j, STORE_TABLE_RULES, rule->id),
                          rule->name, &r, "rule");
        }
        for (guint i = 0; i < attachments->len; i++) {
                StoreAttachment *a = attachments->pdata[i];
                ClusterRow r = { .key.kind = CLUSTER_KEY_ATTACHMENT, .attachment = a };
                g_autofree char *key = cluster_key_of(j->c, CLUSTER_KEY_ATTACHMENT,
                                                      new_id(j, STORE_TABLE_ATTACHMENTS, a->id), NULL, NULL);
                a->group_id = new_id(j, STORE_TABLE_GROUPS, a->group_id);
                put_row(j, key, &r, 0);
        }
        return true;
}

static bool build_macs(Join *j, GError **error) {
        g_autoptr(GPtrArray) macs = store_macs_all(j->c->store, error);

        if (!macs)
                return false;
        for (guint i = 0; i < macs->len; i++) {
                const char *mac = macs->pdata[i];
                ClusterRow r = { .key.kind = CLUSTER_KEY_MAC };
                g_autofree char *key = cluster_key_of(j->c, CLUSTER_KEY_MAC, 0, mac, NULL);
                if (!store_mac_owner(j->c->store, mac, &r.mac.attachment_id, &r.mac.group_id, error))
                        return false;
                r.mac.attachment_id = new_id(j, STORE_TABLE_ATTACHMENTS, r.mac.attachment_id);
                r.mac.group_id = new_id(j, STORE_TABLE_GROUPS, r.mac.group_id);
                if (!absent(j, key))
                        conflict(j, "MAC %s is in use in the cluster", mac);
                put_row(j, key, &r, 0);
        }
        return true;
}

/* A machine's claims, on the node's lease, and the machine's key. */
static bool build_machine(Join *j, const char *machine, GPtrArray *devices, GError **error) {
        g_autofree char *key = cluster_key_of(j->c, CLUSTER_KEY_MACHINE, 0, machine, NULL);
        g_autofree char *claims_key = cluster_key_of(j->c, CLUSTER_KEY_CLAIMS, 0, machine, j->c->node);
        g_autoptr(ClusterRow) owner = row_of(j, key);
        g_autoptr(GArray) generations = g_array_new(FALSE, FALSE, sizeof(ClusterGeneration));
        g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
        const StoreClaim *first = devices->pdata[0];

        if (owner && !g_str_equal(owner->machine.node, j->c->node))
                conflict(j, "machine '%s' is claimed on node %s", machine, owner->machine.node);
        etcd_txn_compare(j->txn, key, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod_of(j, key));
        for (guint i = 0; i < devices->len; i++) {
                StoreClaim *d = devices->pdata[i];
                int64_t old = d->attachment_id;
                if (!old || !g_hash_table_add(seen, &d->attachment_id))
                        continue;
                g_autoptr(StoreAttachment) a = store_attachment_get(j->c->store, old, error);
                if (!a && error && *error)
                        return false;
                if (a)
                        g_array_append_val(generations, ((ClusterGeneration) {
                                new_id(j, STORE_TABLE_ATTACHMENTS, old), a->claimed_generation }));
        }
        for (guint i = 0; i < devices->len; i++) {
                StoreClaim *d = devices->pdata[i];
                d->attachment_id = new_id(j, STORE_TABLE_ATTACHMENTS, d->attachment_id);
        }
        ClusterRow claims = { .key.kind = CLUSTER_KEY_CLAIMS,
                              .claims = { .uuid = first->uuid, .devices = devices, .generations = generations } };
        ClusterRow machine_row = { .key.kind = CLUSTER_KEY_MACHINE,
                                   .machine = { .node = j->c->node, .uuid = first->uuid } };
        put_row(j, claims_key, &claims, j->c->lease);
        put_row(j, key, &machine_row, j->c->lease);
        return true;
}

static void build_holds(Join *j, const char *tenant, GPtrArray *holds) {
        g_autofree char *key = cluster_key_of(j->c, CLUSTER_KEY_HOLDS, 0, tenant, j->c->node);
        ClusterRow r = { .key.kind = CLUSTER_KEY_HOLDS, .holds = holds };

        for (guint i = 0; i < holds->len; i++) {
                StoreClaim *h = holds->pdata[i];
                h->group_id = new_id(j, STORE_TABLE_GROUPS, h->group_id);
        }
        put_row(j, key, &r, 0);
}

static bool build_claims(Join *j, GError **error) {
        g_autoptr(GPtrArray) claims = store_claims_load(j->c->store, error);
        g_autoptr(GHashTable) machines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                               (GDestroyNotify) g_ptr_array_unref);
        g_autoptr(GHashTable) tenants = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                              (GDestroyNotify) g_ptr_array_unref);
        GHashTable *holders[2] = { machines, tenants };
        GHashTableIter it;
        gpointer holder, rows;

        if (!claims)
                return false;
        for (guint i = 0; i < claims->len; i++) {
                const StoreClaim *cl = claims->pdata[i];
                GPtrArray *of = g_hash_table_lookup(holders[cl->tenant], cl->holder);
                if (!of)
                        g_hash_table_insert(holders[cl->tenant], cl->holder, of = g_ptr_array_new());
                g_ptr_array_add(of, claims->pdata[i]);
        }
        g_hash_table_iter_init(&it, machines);
        while (g_hash_table_iter_next(&it, &holder, &rows))
                if (!build_machine(j, holder, rows, error))
                        return false;
        g_hash_table_iter_init(&it, tenants);
        while (g_hash_table_iter_next(&it, &holder, &rows))
                build_holds(j, holder, rows);
        return true;
}

/* The groups the node uses, and the node a member. */
static bool build_node(Join *j, GError **error) {
        g_autoptr(GHashTable) used = store_groups_used(j->c->store, error);
        g_autofree char *member = cluster_key_of(j->c, CLUSTER_KEY_NODE, 0, NULL, j->c->node);
        ClusterRow joined = { .key.kind = CLUSTER_KEY_NODE, .joined = j->revision };
        GHashTableIter it;
        gpointer id;

        if (!used)
                return false;
        g_hash_table_iter_init(&it, used);
        while (g_hash_table_iter_next(&it, &id, NULL)) {
                g_autofree char *key = cluster_key_of(j->c, CLUSTER_KEY_GROUP_USER,
                                                      new_id(j, STORE_TABLE_GROUPS, *(gint64 *) id), NULL, j->c->node);
                etcd_txn_put(j->txn, true, key, "{}", 2, 0);
        }
        etcd_txn_compare(j->txn, member, ETCD_TARGET_MOD, ETCD_RESULT_EQUAL, mod_of(j, member));
        put_row(j, member, &joined, 0);
        return true;
}

static bool join_build(Join *j, GError **error) {
        j->txn = etcd_txn_new();
        j->conflicts = g_string_new(NULL);
        if (!build_objects(j, error) || !build_macs(j, error) || !build_claims(j, error) || !build_node(j, error))
                return false;
        if (j->conflicts->len)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "Node %s cannot join the cluster: %s. "
                                   "Rename or delete them in the cluster (or here, with [Cluster] taken out of "
                                   "devpassd.conf), then join again; nothing was changed", j->c->node,
                                   j->conflicts->str), false;
        return true;
}

/* ---- the node's store takes the cluster's ids ---- */

static const ClusterKeyKind object_kinds[] = { CLUSTER_KEY_GROUP, CLUSTER_KEY_RULE, CLUSTER_KEY_ATTACHMENT };

/* A group's, rule's or attachment's key, and its value. */
static ClusterRow object_row(StoreTable table, void *row) {
        ClusterRow r = { .key.kind = object_kinds[table] };

        if (table == STORE_TABLE_GROUPS)
                r.group = row;
        else if (table == STORE_TABLE_RULES)
                r.rule = row;
        else
                r.attachment = row;
        return r;
}

/* The replica knows the keys of the node's objects, as the join wrote
 * them, at the revision etcd wrote them: the full read that follows
 * brings what other nodes changed or deleted since. */
static bool objects_known(Cluster *c, int64_t written, GError **error) {
        g_autoptr(GPtrArray) groups = store_groups_load(c->store, error);
        g_autoptr(GPtrArray) rules = groups ? store_rules_load(c->store, error) : NULL;
        g_autoptr(GPtrArray) attachments = rules ? store_attachments_load(c->store, error) : NULL;
        GPtrArray *rows[] = { groups, rules, attachments };

        if (!attachments)
                return false;
        for (size_t t = 0; t < G_N_ELEMENTS(id_tables); t++)
                for (guint i = 0; i < rows[t]->len; i++) {
                        ClusterRow r = object_row(id_tables[t], rows[t]->pdata[i]);
                        /* Every row type starts with its id. */
                        g_autofree char *key = cluster_key_of(c, r.key.kind, *(int64_t *) rows[t]->pdata[i], NULL,
                                                              NULL);
                        g_autofree char *value = cluster_row_encode(&r);
                        if (!store_replica_set_key(c->store, key, written, value, error))
                                return false;
                }
        return true;
}

/* etcd took the join that read revision, at written: the store takes
 * its ids, the replica the node's keys and its member key, in one
 * SQLite transaction; then the node is a member, and comes up. */
static bool join_take(Cluster *c, int64_t revision, int64_t written, GError **error) {
        g_autofree char *member = cluster_key_of(c, CLUSTER_KEY_NODE, 0, NULL, c->node);
        ClusterRow joined = { .key.kind = CLUSTER_KEY_NODE, .joined = revision };
        g_autofree char *value = cluster_row_encode(&joined);

        if (!store_begin_deferred(c->store, error))
                return false;
        if (!store_join_finish(c->store, revision, error) || !objects_known(c, written, error) ||
            !store_replica_set_key(c->store, member, written, value, error)) {
                store_rollback(c->store);
                return false;
        }
        if (!store_commit_here(c->store, error))
                return false;
        g_message("Cluster: node %s joined the cluster at revision %" G_GINT64_FORMAT, c->node, written);
        c->unjoined = false;
        c->funcs.replica_changed(c->data);
        cluster_node_up(c);
        return true;
}

/* The store cannot take ids etcd has: the node stays unjoined, and
 * takes them at its next start or join. */
static void join_untaken(Join *j, const GError *why) {
        g_autoptr(GError) e = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "etcd has node %s's rows, but its store "
                                          "cannot take the cluster's ids (%s): the node takes them at its next "
                                          "start, or at the next 'devpassctl cluster join'", j->c->node,
                                          why->message);
        join_finish(j, e);
}

static void on_sent(GObject *source, GAsyncResult *result, gpointer data) {
        Join *j = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdTxnResult) r = etcd_txn_finish(j->client, result, &error);

        if (g_cancellable_is_cancelled(j->cancel)) {
                g_autoptr(GError) stopping = g_error_new(CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "devpassd is "
                                                         "stopping: call again when it is back");
                join_finish(j, stopping);
                return;
        }
        if (!r) {
                g_autofree char *what = g_strdup_printf("node %s's join", j->c->node);
                g_autoptr(GError) e = cluster_change_error(error, what, "the node's rows go in one transaction: "
                                                           "raise them to join");
                join_finish(j, e);
                return;
        }
        if (!r->succeeded) {
                g_autoptr(GError) e = g_error_new(CLUSTER_ERROR, CLUSTER_ERROR_CONFLICT, "The cluster changed while "
                                                  "node %s joined: check it again", j->c->node);
                join_finish(j, e);
                return;
        }
        if (!join_take(j->c, j->revision, r->revision, &error)) {
                join_untaken(j, error);
                return;
        }
        join_finish(j, NULL);
}

/* The revision read by the join of this node's that etcd took, as its
 * member key names it, when the node recorded that join (written: the
 * key's revision); else 0. */
static int64_t join_taken(Join *j, int64_t *written, GError **error) {
        g_autofree char *member = cluster_key_of(j->c, CLUSTER_KEY_NODE, 0, NULL, j->c->node);
        g_autoptr(ClusterRow) joined = row_of(j, member);
        bool recorded = false;

        if (!joined || !store_join_recorded(j->c->store, joined->joined, &recorded, error) || !recorded)
                return 0;
        *written = mod_of(j, member);
        return joined->joined;
}

static void on_read(GObject *source, GAsyncResult *result, gpointer data) {
        Join *j = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdTxnResult) r = etcd_txn_finish(j->client, result, &error);

        GPtrArray *kvs = r && !g_cancellable_is_cancelled(j->cancel) ? etcd_txn_result_range(r, 0, &error) : NULL;

        if (!kvs) {
                g_autoptr(GError) e = g_error_new(CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "Cannot read the cluster "
                                                  "(%s): join again when it answers",
                                                  error ? error->message : "devpassd is stopping");
                join_finish(j, e);
                return;
        }
        j->revision = r->revision;
        for (guint i = 0; i < kvs->len; i++) {
                const EtcdKv *kv = kvs->pdata[i];
                if (strlen(kv->key) != kv->key_len)
                        continue;
                g_auto(ClusterKey) k = { 0 };
                g_hash_table_insert(j->mods, g_strdup(kv->key), g_memdup2(&kv->mod_revision, sizeof(gint64)));
                /* Only these are read again: the machines' owners, the
                 * next ids, and whether this node's join is in. */
                if (cluster_key_parse(j->c->prefix, kv->key, kv->key_len, &k, NULL) &&
                    (k.kind == CLUSTER_KEY_MACHINE || k.kind == CLUSTER_KEY_IDS ||
                     (k.kind == CLUSTER_KEY_NODE && g_str_equal(k.node, j->c->node))))
                        g_hash_table_insert(j->values, g_strdup(kv->key), g_strndup(kv->value, kv->value_len));
        }
        int64_t written = 0, taken = join_taken(j, &written, &error);
        if (error) {
                join_finish(j, error);
                return;
        }
        if (taken) {
                if (!join_take(j->c, taken, written, &error))
                        join_untaken(j, error);
                else
                        join_finish(j, NULL);
                return;
        }
        if (j->resume) {
                g_message("Cluster: the join node %s sent did not reach etcd: it stays unjoined until "
                          "'devpassctl cluster join'", j->c->node);
                join_finish(j, NULL);
                return;
        }
        if (!join_build(j, &error) || !store_join_record(j->c->store, j->revision, j->ids, &error)) {
                join_finish(j, error);
                return;
        }
        etcd_txn_async(j->client, j->txn, j->cancel, on_sent, j);
}

static void join_start(Cluster *c, bool resume, ClusterDone done, void *data) {
        Join *j = g_new0(Join, 1);
        g_autoptr(EtcdTxn) t = etcd_txn_new();
        g_autofree char *end = etcd_prefix_end(c->shared);

        j->c = c;
        j->client = etcd_client_ref(c->client);
        j->cancel = g_object_ref(c->cancel);
        j->resume = resume;
        j->done = done;
        j->data = data;
        j->mods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        j->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        c->busy = true;
        etcd_txn_range(t, true, c->shared, end);
        etcd_txn_async(c->client, t, c->cancel, on_read, j);
}

void cluster_join_run(Cluster *c, ClusterDone done, void *data) {
        join_start(c, false, done, data);
}

void cluster_join_resume(Cluster *c) {
        g_autoptr(GError) error = NULL;
        bool recorded = false;

        if (c->busy)
                return;
        if (!store_join_recorded(c->store, 0, &recorded, &error))
                g_warning("Cluster: cannot read node %s's store: %s", c->node, error->message);
        if (recorded)
                join_start(c, true, NULL, NULL);
}
