/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An answer from the network, as etcd (or whatever listens at its
 * address) might send it, through every parser of the cluster room: the
 * unary answers, a watch message's events and an error answer. A refusal
 * is ETCD_ERROR with a one-line UTF-8 message; what is accepted holds
 * what the callers rely on. */
#include <stdlib.h>

#include "etcd-private.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

static void refused(GError *error) {
        if (!error || error->domain != ETCD_ERROR)
                abort();
        fuzz_assert_message(error->message, 1024);
        g_error_free(error);
}

static void kvs_valid(GPtrArray *kvs) {
        for (guint i = 0; kvs && i < kvs->len; i++) {
                EtcdKv *kv = kvs->pdata[i];
                if (kv->key_len == 0 || kv->key[kv->key_len] || kv->value[kv->value_len] || kv->mod_revision < 0)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        GError *error = NULL;
        g_autoptr(JsonObject) answer = etcd_json_parse((const char *) data, size, &error);
        JsonArray *events;
        EtcdRetry retry;

        if (!answer) {
                refused(error);
                return 0;
        }
        g_autoptr(EtcdRangeResult) range = etcd_parse_range(answer, &error);
        if (range)
                kvs_valid(range->kvs);
        else
                refused(g_steal_pointer(&error));
        g_autoptr(EtcdTxnResult) txn = etcd_parse_txn(answer, &error);
        if (txn)
                for (guint i = 0; i < txn->responses->len; i++)
                        kvs_valid(((EtcdOpResponse *) txn->responses->pdata[i])->kvs);
        else
                refused(g_steal_pointer(&error));
        g_autofree gint64 *grant = etcd_parse_grant(answer, &error);
        if (grant ? grant[0] == 0 || grant[1] <= 0 : (refused(g_steal_pointer(&error)), false))
                abort();
        g_autofree gint64 *ttl = etcd_parse_keepalive(answer, &error);
        if (ttl ? *ttl <= 0 : (refused(g_steal_pointer(&error)), false))
                abort();
        if (etcd_json_array(answer, "events", &events, &error)) {
                g_autoptr(GPtrArray) list = etcd_parse_events(events, 5, &error);
                gint64 last = 5;
                for (guint i = 0; list && i < list->len; i++) {
                        EtcdEvent *e = list->pdata[i];
                        if (e->kv->mod_revision <= 5 || e->kv->mod_revision < last)
                                abort();
                        last = e->kv->mod_revision;
                }
                if (!list)
                        refused(g_steal_pointer(&error));
        } else {
                refused(g_steal_pointer(&error));
        }
        refused(etcd_error_from_answer(answer, 500, &retry));
        return 0;
}
