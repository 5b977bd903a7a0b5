/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* etcd's keys into the store: each value decoded as hostile (a value no
 * devpassd could have written, or a row the store refuses, is logged and
 * left out, never applied),
 * its row put or deleted with the cluster's ids, the key's revision and
 * value kept for the next transaction's guards; one SQLite transaction a
 * batch, foreign keys checked at its end when they must be (a batch's
 * keys come in key order, an attachment before its group). */
#include <string.h>
#include <gio/gio.h>

#include "cluster-private.h"
#include "log.h"

static const StoreTable id_tables[] = { STORE_TABLE_GROUPS, STORE_TABLE_RULES, STORE_TABLE_ATTACHMENTS };

static bool id_floor(Cluster *c, const ClusterRow *row, GError **error) {
        static const char *const kinds[] = { "group", "rule", "attachment" };

        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                if (g_str_equal(row->key.name, kinds[i]))
                        return store_replica_id_floor(c->store, id_tables[i], row->id, error);
        return true;
}

/* Another node's claims never come: the watch of this node's keys. */
static bool own(Cluster *c, const ClusterKey *k) {
        return g_strcmp0(k->node, c->node) == 0;
}

static bool row_put(Cluster *c, ClusterRow *row, GError **error) {
        switch (row->key.kind) {
        case CLUSTER_KEY_IDS:
                return id_floor(c, row, error);
        case CLUSTER_KEY_GROUP:
                row->group->id = row->key.id;
                return store_group_put(c->store, row->group, error);
        case CLUSTER_KEY_RULE:
                row->rule->id = row->key.id;
                return store_rule_put(c->store, row->rule, error);
        case CLUSTER_KEY_ATTACHMENT:
                row->attachment->id = row->key.id;
                return store_attachment_put(c->store, row->attachment, error);
        case CLUSTER_KEY_CLAIMS:
                return !own(c, &row->key) || store_holder_put(c->store, row->key.name, false,
                                                              row->claims.devices, error);
        case CLUSTER_KEY_HOLDS:
                return !own(c, &row->key) || store_holder_put(c->store, row->key.name, true, row->holds, error);
        case CLUSTER_KEY_MAC:
                /* A tenant's group's MACs are known on every node, so that
                 * none gives one out again; an attachment's are its row's. */
                return !row->mac.group_id || store_group_mac_put(c->store, row->key.name, row->mac.group_id, error);
        default:
                /* Names, machines, users, nodes: the replica's keys say it. */
                return true;
        }
}

/* known: the revision the replica had of the key. */
static bool row_delete(Cluster *c, const ClusterKey *k, int64_t known, GError **error) {
        switch (k->kind) {
        case CLUSTER_KEY_GROUP:
                return store_group_delete(c->store, k->id, error);
        case CLUSTER_KEY_RULE:
                return store_rule_delete(c->store, k->id, error);
        case CLUSTER_KEY_ATTACHMENT:
                return store_attachment_delete(c->store, k->id, error);
        case CLUSTER_KEY_CLAIMS:
                /* Not this node's own release: its lease expired (it was
                 * cut off, or stopped for long). The machines may still
                 * run here: their devices stay until the new lease claims
                 * them again or finds them claimed elsewhere
                 * (cluster_claims_reassert()). */
                if (own(c, k) && known > 0 && !c->applying_own)
                        return true;
                return !own(c, k) || store_holder_put(c->store, k->name, false, NULL, error);
        case CLUSTER_KEY_HOLDS:
                return !own(c, k) || store_holder_put(c->store, k->name, true, NULL, error);
        case CLUSTER_KEY_MAC:
                return store_group_mac_delete(c->store, k->name, error);
        default:
                return true;
        }
}

/* A member's keys: what cluster_members() reads. */
static void members_touch(Cluster *c, const char *key) {
        static const char *const kinds[] = { "nodes/", "alive/", "state/" };

        if (!g_str_has_prefix(key, c->shared))
                return;
        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                if (g_str_has_prefix(key + strlen(c->shared), kinds[i]))
                        c->members_serial++;
}

/* One key: false only when the store fails; a value that does not decode
 * is logged and skipped. */
static bool apply_one(Cluster *c, const ClusterKeyValue *kv, GError **error) {
        g_autofree char *key = g_strndup(kv->key, kv->key_len);
        g_autoptr(GError) bad = NULL;
        int64_t known;

        if (strlen(key) != kv->key_len) {
                g_autofree char *q = cluster_quote(kv->key, kv->key_len);
                g_warning("Cluster: ignoring the key %s, which holds a NUL", q);
                return true;
        }
        if (!store_replica_key(c->store, key, &known, NULL, error))
                return false;
        /* What the replica has is as new or newer: this node's own write,
         * taken when etcd answered, comes back through the watch, and so
         * may a deletion before it (a full read's deletions have no
         * revision: they always apply). Unless the replica's revision is
         * one etcd's history cannot have: newer than etcd's key at a full
         * read's revision, yet not after it (etcd was restored from a
         * backup), or the read is below the replica (the same, seen). */
        bool other = c->reading && kv->value && known > kv->mod_revision && known <= c->reading;
        c->other_history += other;
        if (!c->rewinding && !other &&
            (kv->value ? known >= kv->mod_revision : kv->mod_revision > 0 && known > kv->mod_revision))
                return true;
        members_touch(c, key);
        if (!kv->value) {
                g_auto(ClusterKey) k = { 0 };
                if (!cluster_key_parse(c->prefix, kv->key, kv->key_len, &k, &bad)) {
                        g_warning("Cluster: ignoring the deletion of %s", bad->message);
                        return true;
                }
                return row_delete(c, &k, known, error) && store_replica_set_key(c->store, key, 0, NULL, error);
        }
        g_autoptr(ClusterRow) row = cluster_row_decode(c->prefix, kv->key, kv->key_len, kv->value, kv->value_len, &bad);
        if (!row) {
                g_warning("Cluster: ignoring %s", bad->message);
                return true;
        }
        g_autofree char *value = g_strndup(kv->value, kv->value_len);
        return row_put(c, row, error) && store_replica_set_key(c->store, key, kv->mod_revision, value, error);
}

/* Each key alone (a savepoint each), in rounds: a key the store refuses
 * waits for the next round (its group may come later in the batch), until
 * a round takes none; what is still refused then is a row no devpassd
 * could have written (a name another group has, a rule of no group), and
 * is logged and left out, so that one bad key does not stall the rest. */
static bool apply_each(Cluster *c, const ClusterKeyValue *kvs, guint n, GError **error) {
        g_autoptr(GArray) left = g_array_sized_new(FALSE, FALSE, sizeof(guint), n);
        g_autoptr(GPtrArray) why = g_ptr_array_new_with_free_func((GDestroyNotify) g_error_free);

        for (guint i = 0; i < n; i++)
                g_array_append_val(left, i);
        for (guint before = n + 1; left->len > 0 && left->len < before;) {
                g_autoptr(GArray) refused = g_array_new(FALSE, FALSE, sizeof(guint));
                before = left->len;
                g_ptr_array_set_size(why, 0);
                for (guint j = 0; j < left->len; j++) {
                        guint i = g_array_index(left, guint, j);
                        GError *local = NULL;
                        if (!store_key_begin(c->store, error))
                                return false;
                        bool ok = apply_one(c, &kvs[i], &local);
                        if (!store_key_end(c->store, ok, error) ||
                            (!ok && !g_error_matches(local, STORE_ERROR, STORE_ERROR_CONSTRAINT))) {
                                if (local)
                                        g_propagate_error(error, local);
                                return false;
                        }
                        if (!ok) {
                                g_array_append_val(refused, i);
                                g_ptr_array_add(why, local);
                        }
                }
                g_array_unref(g_steal_pointer(&left));
                left = g_steal_pointer(&refused);
        }
        for (guint j = 0; j < left->len; j++) {
                const ClusterKeyValue *kv = &kvs[g_array_index(left, guint, j)];
                g_autofree char *q = cluster_quote(kv->key, kv->key_len);
                g_warning("Cluster: ignoring the key %s, whose row node %s's store refuses (%s)", q, c->node,
                          ((GError *) why->pdata[j])->message);
        }
        return true;
}

/* mode: 0, the keys in one go, foreign keys checked at once; 1, checked
 * at the commit; 2, each key alone. */
static bool replica_write(Cluster *c, const ClusterKeyValue *kvs, guint n, const char *prefix, gint64 revision,
                          GBytes *local, int mode, GError **error) {
        c->other_history = 0;
        if (!store_begin_here(c->store, mode == 1, error))
                return false;
        bool ok = !local || store_local_apply(c->store, local, error);
        if (ok && mode == 2)
                ok = apply_each(c, kvs, n, error);
        for (guint i = 0; ok && mode != 2 && i < n; i++)
                ok = apply_one(c, &kvs[i], error);
        if (ok && revision > 0)
                ok = store_replica_set_revision(c->store, prefix, revision, error);
        if (!ok) {
                store_rollback(c->store);
                return false;
        }
        return store_commit_here(c->store, error);
}

/* Most batches come in an order their references allow (one change: a
 * group before its rules), and are written with the foreign keys checked
 * at once: the pragma that defers them to the commit makes SQLite prepare
 * every statement the store keeps again, a good part of a change's time.
 * A batch that needs it (an attachment's key before its new group's) is
 * written again, deferred; one the store still refuses, of etcd's keys,
 * key by key (this node's own change, which its model checked, fails). */
bool cluster_replica_apply(Cluster *c, const ClusterKeyValue *kvs, guint n, const char *prefix, gint64 revision,
                           GBytes *local, GError **error) {
        for (int mode = 0;; mode++) {
                g_autoptr(GError) e = NULL;
                if (replica_write(c, kvs, n, prefix, revision, local, mode, &e))
                        return true;
                if (!g_error_matches(e, STORE_ERROR, STORE_ERROR_CONSTRAINT) || mode == 2 ||
                    (mode == 1 && (local || c->applying_own))) {
                        g_propagate_error(error, g_steal_pointer(&e));
                        return false;
                }
        }
}

bool cluster_replica_news(Cluster *c, const ClusterKeyValue *kvs, guint n) {
        for (guint i = 0; i < n; i++) {
                g_autofree char *key = g_strndup(kvs[i].key, kvs[i].key_len);
                int64_t known = 0;
                /* Cannot tell: news, applied as such. */
                if (!store_replica_key(c->store, key, &known, NULL, NULL))
                        return true;
                if (kvs[i].value ? known < kvs[i].mod_revision : known > 0)
                        return true;
        }
        return false;
}

GPtrArray *cluster_replica_gone(Cluster *c, const char *prefix, GHashTable *present, GError **error) {
        g_autoptr(GPtrArray) known = store_replica_keys(c->store, prefix, error);
        GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);

        if (!known)
                return g_ptr_array_unref(gone), NULL;
        for (guint i = 0; i < known->len; i++) {
                const StoreReplicaKey *k = known->pdata[i];
                if (!g_hash_table_contains(present, k->key))
                        g_ptr_array_add(gone, g_strdup(k->key));
        }
        return gone;
}
