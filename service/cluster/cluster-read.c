/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The full read: the first, and every one after etcd compacted what a
 * watch needs or went back to an older revision. Both prefixes are read
 * in pages, every page after the first pinned at the first's revision,
 * kept in memory, and applied once the last is in, as one snapshot at
 * that revision: nothing half read reaches the store or the bus, and no
 * SQLite transaction waits for etcd. */
#include <string.h>
#include <gio/gio.h>

#include "cluster-private.h"

/* Keys of one page. An answer is bounded in bytes (the client's
 * max_response, 16 MiB), etcd's range only in keys. doc/cluster.md's
 * 64-node sizing averages about 200 bytes a key: 10,000 keys are about
 * 3 MB of answer, and the 280,000 keys of shared/ take 28 pages (etcd
 * 3.4 walks the rest of the range's index for every page, so fewer and
 * larger pages cost it less). A page above the bound (values far larger
 * than devpass writes) is asked again with half the keys. */
#define READ_PAGE_KEYS 10000

struct ClusterRead {
        Cluster *c;               /* not touched once cancelled */
        EtcdClient *client;
        GCancellable *cancel;
        gint64 reached;           /* the replica's revision when the read began */
        gint64 revision;          /* the first page's; 0 before it */
        guint prefix;             /* 0: shared, 1: this node's own */
        char *from;               /* the next page's first key, from_len bytes; NULL: the prefix */
        gsize from_len;
        gint64 limit;
        GPtrArray *kvs[2];        /* EtcdKv*, each prefix's, in key order */
};

static void read_free(ClusterRead *r) {
        etcd_client_unref(r->client);
        g_object_unref(r->cancel);
        g_free(r->from);
        for (size_t i = 0; i < G_N_ELEMENTS(r->kvs); i++)
                g_ptr_array_unref(r->kvs[i]);
        g_free(r);
}

static const char *read_prefix(ClusterRead *r) {
        return r->prefix == 0 ? r->c->shared : r->c->own;
}

/* From the first page of the first prefix, at the latest revision. */
static void read_reset(ClusterRead *r) {
        r->revision = 0;
        r->prefix = 0;
        g_clear_pointer(&r->from, g_free);
        for (size_t i = 0; i < G_N_ELEMENTS(r->kvs); i++)
                g_ptr_array_set_size(r->kvs[i], 0);
}

static void on_page(GObject *source, GAsyncResult *result, gpointer data);

/* Keys are bytes, compared as etcd compares them. */
static int key_compare(const char *a, gsize a_len, const char *b, gsize b_len) {
        int r = memcmp(a, b, MIN(a_len, b_len));
        return r ? r : (a_len > b_len) - (a_len < b_len);
}

/* A page has keys when there are more, none before where it was asked
 * from: an answer otherwise would have the read go round forever. */
static bool page_valid(ClusterRead *r, const EtcdRangeResult *page, GError **error) {
        const EtcdKv *first = page->kvs->len ? page->kvs->pdata[0] : NULL;

        if (page->more && !first)
                return g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's answer says there are more keys, "
                                   "and has none"), false;
        if (first && r->from && key_compare(first->key, first->key_len, r->from, r->from_len) < 0)
                return g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's answer has keys before the one "
                                   "asked from"), false;
        return true;
}

static void read_page(ClusterRead *r) {
        const char *prefix = read_prefix(r);
        g_autofree char *end = etcd_prefix_end(prefix);

        etcd_kv_range_from_async(r->client, r->from ?: prefix, r->from ? r->from_len : strlen(prefix), end,
                                 r->revision, r->limit, r->cancel, on_page, r);
}

/* The range's keys as puts, and the replica's keys etcd no longer has
 * as deletions at the read's revision: a key this node wrote after it,
 * while the pages came, stays. */
static bool read_apply(Cluster *c, const char *prefix, GPtrArray *kvs, gint64 revision, GError **error) {
        g_autoptr(GHashTable) present = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < kvs->len; i++)
                g_hash_table_add(present, ((EtcdKv *) kvs->pdata[i])->key);
        g_autoptr(GPtrArray) gone = cluster_replica_gone(c, prefix, present, error);
        if (!gone)
                return false;
        g_autofree ClusterKeyValue *all = g_new0(ClusterKeyValue, gone->len + kvs->len);
        guint n = 0;
        for (guint i = 0; i < gone->len; i++)
                all[n++] = (ClusterKeyValue) { .key = gone->pdata[i], .key_len = strlen(gone->pdata[i]),
                                               .mod_revision = revision };
        for (guint i = 0; i < kvs->len; i++) {
                const EtcdKv *kv = kvs->pdata[i];
                all[n++] = (ClusterKeyValue) { kv->key, kv->key_len, kv->value, kv->value_len, kv->mod_revision };
        }
        return cluster_replica_apply(c, all, n, prefix, revision, NULL, error);
}

/* The highest revision the replica reflects under prefix: the watch's,
 * or a key's (this node's own changes, taken when etcd answered, leave
 * the watch's as it was). */
static bool replica_reached(Cluster *c, const char *prefix, int64_t *reached, GError **error) {
        g_autoptr(GPtrArray) keys = store_replica_keys(c->store, prefix, error);

        if (!keys || !store_replica_revision(c->store, prefix, reached, error))
                return false;
        for (guint i = 0; i < keys->len; i++)
                *reached = MAX(*reached, ((StoreReplicaKey *) keys->pdata[i])->mod_revision);
        return true;
}

static void read_done(ClusterRead *r) {
        g_autoptr(GError) error = NULL;
        Cluster *c = r->c;
        const char *prefixes[] = { c->shared, c->own };
        guint other = 0;
        bool ok = true;

        /* etcd went back below what the replica had before the read
         * began (it was restored from a backup): what it has now is the
         * truth, whatever the revisions the replica's keys have. */
        if (r->reached > r->revision)
                g_warning("Cluster: etcd is at revision %" G_GINT64_FORMAT ", below the %" G_GINT64_FORMAT " node %s's "
                          "replica reached (etcd was restored from a backup?): taking etcd's keys as they are",
                          r->revision, r->reached, c->node);
        c->rewinding = r->reached > r->revision;
        c->reading = r->revision;
        for (size_t i = 0; ok && i < G_N_ELEMENTS(prefixes); i++) {
                ok = read_apply(c, prefixes[i], r->kvs[i], r->revision, &error);
                other += c->other_history;
        }
        if (ok && other)
                g_warning("Cluster: %u keys of node %s's replica were of a history etcd no longer has (it was restored "
                          "from a backup?): taken as etcd has them", other, c->node);
        c->reading = 0;
        c->rewinding = false;
        c->read = NULL;
        if (!ok) {
                g_warning("Cluster: cannot write the replica: %s", error->message);
                cluster_retry_later(c, CLUSTER_RETRY_READ);
        } else
                cluster_read_done(c, r->revision);
        read_free(r);
}

static void on_page(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(GError) error = NULL;
        ClusterRead *r = data;
        g_autoptr(EtcdRangeResult) page = etcd_kv_range_finish(r->client, result, &error);

        if (g_cancellable_is_cancelled(r->cancel)) {
                read_free(r);
                return;
        }
        if (!page && g_error_matches(error, ETCD_ERROR, ETCD_ERROR_TOO_LARGE) && r->limit > 1) {
                r->limit /= 2;
                read_page(r);
                return;
        }
        /* The revision the pages are pinned at is gone, or etcd went
         * back below it: from the start, at the latest. */
        if (!page && r->revision && (g_error_matches(error, ETCD_ERROR, ETCD_ERROR_COMPACTED) ||
                                     g_error_matches(error, ETCD_ERROR, ETCD_ERROR_FUTURE))) {
                g_message("Cluster: etcd no longer has revision %" G_GINT64_FORMAT " (%s): reading everything again",
                          r->revision, error->message);
                read_reset(r);
                read_page(r);
                return;
        }
        if (!page || !page_valid(r, page, &error)) {
                g_message("Cluster: cannot read etcd (%s): trying again", error->message);
                r->c->read = NULL;
                cluster_retry_later(r->c, CLUSTER_RETRY_READ);
                read_free(r);
                return;
        }
        if (!r->revision)
                r->revision = page->revision;
        GPtrArray *kvs = r->kvs[r->prefix];
        g_ptr_array_extend_and_steal(kvs, g_steal_pointer(&page->kvs));
        page->kvs = g_ptr_array_new();
        g_clear_pointer(&r->from, g_free);
        if (page->more && kvs->len > 0) {
                /* The smallest key after the page's last: it and a NUL. */
                const EtcdKv *last = kvs->pdata[kvs->len - 1];
                r->from = g_malloc0(last->key_len + 1);
                memcpy(r->from, last->key, last->key_len);
                r->from_len = last->key_len + 1;
        } else if (++r->prefix == G_N_ELEMENTS(r->kvs)) {
                read_done(r);
                return;
        }
        read_page(r);
}

void cluster_read(Cluster *c) {
        g_autoptr(GError) error = NULL;
        ClusterRead *r = g_new0(ClusterRead, 1);
        const char *prefixes[] = { c->shared, c->own };

        /* A read under way may be at a revision the caller knows too old. */
        cluster_read_stop(c);
        for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
                int64_t reached = 0;
                if (!replica_reached(c, prefixes[i], &reached, &error)) {
                        /* The read's own write will fail the same, and tell. */
                        g_debug("Cluster: cannot read the replica's revision: %s", error->message);
                        g_clear_error(&error);
                }
                r->reached = MAX(r->reached, reached);
        }
        r->c = c;
        r->client = etcd_client_ref(c->client);
        r->cancel = g_cancellable_new();
        r->limit = READ_PAGE_KEYS;
        for (size_t i = 0; i < G_N_ELEMENTS(r->kvs); i++)
                r->kvs[i] = g_ptr_array_new_with_free_func((GDestroyNotify) etcd_kv_free);
        c->read = r;
        read_page(r);
}

void cluster_read_stop(Cluster *c) {
        if (c->read)
                g_cancellable_cancel(g_steal_pointer(&c->read)->cancel);
}
