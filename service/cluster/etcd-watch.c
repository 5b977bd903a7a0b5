/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A watch (/v3/watch): one streamed POST per connection, resumed from the
 * last revision delivered + 1 on the next endpoint when the stream ends.
 * The gateway writes one JSON object per line. */
#include "etcd-private.h"

#include <string.h>

#define READ_CHUNK 65536
#define RETRY_MS_MAX 2000

/* Referenced by itself and by its stream's read in flight, so that an
 * answer after etcd_watch_free() finds it stopped, not freed. */
struct EtcdWatch {
        gint ref_count;
        EtcdClient *client;
        char *key, *range_end;
        bool prev_kv;
        EtcdWatchFuncs funcs;
        gpointer user_data;
        gint64 revision;         /* everything up to it was delivered */
        gint64 seen;             /* etcd had reached it, from another answer */
        bool stopped, connected;
        guint endpoint;
        guint retry_ms;          /* the wait before the next connection */
        GCancellable *cancellable;  /* this connection's */
        SoupMessage *message;
        GInputStream *stream;
        GByteArray *buffer;      /* what came after the last whole line */
        GSource *retry;
        GSource *deadline;       /* for etcd to confirm the watch */
};

static void source_clear(GSource **s) {
        if (!*s)
                return;
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
}

static EtcdWatch *watch_ref(EtcdWatch *w) {
        g_atomic_int_inc(&w->ref_count);
        return w;
}

static void watch_unref(EtcdWatch *w) {
        if (!g_atomic_int_dec_and_test(&w->ref_count))
                return;
        etcd_client_unref(w->client);
        g_free(w->key);
        g_free(w->range_end);
        g_byte_array_unref(w->buffer);
        g_free(w);
}

/* Ends this connection; the next one, if any, gets a fresh cancellable. */
static void watch_disconnect(EtcdWatch *w) {
        w->connected = false;
        if (w->cancellable) {
                g_cancellable_cancel(w->cancellable);
                g_clear_object(&w->cancellable);
        }
        g_clear_object(&w->message);
        g_clear_object(&w->stream);
        g_byte_array_set_size(w->buffer, 0);
        source_clear(&w->deadline);
}

static void watch_connect(EtcdWatch *w);

static gboolean watch_retry(gpointer data) {
        EtcdWatch *w = data;

        g_clear_pointer(&w->retry, g_source_unref);
        watch_connect(w);
        return G_SOURCE_REMOVE;
}

/* The stream ended or misbehaved: again after a wait that doubles, on the
 * next endpoint. */
static void watch_lost(EtcdWatch *w, const GError *error) {
        bool was = w->connected;

        g_debug("etcd watch on %s lost (%s); resuming from revision %" G_GINT64_FORMAT " in %u ms",
                w->client->endpoints[w->endpoint], error ? error->message : "the stream ended", w->revision + 1,
                w->retry_ms);
        watch_disconnect(w);
        etcd_client_failed(w->client, w->endpoint);
        source_clear(&w->retry);
        w->retry = etcd_client_timeout(w->client, w->retry_ms, watch_retry, w);
        w->retry_ms = MIN(w->retry_ms * 2, RETRY_MS_MAX);
        if (was && w->funcs.connected)
                w->funcs.connected(w, false, w->user_data);
}

static void event_free(EtcdEvent *e) {
        etcd_kv_free(e->kv);
        etcd_kv_free(e->prev_kv);
        g_free(e);
}

static EtcdEvent *event_parse(JsonNode *node, GError **error) {
        g_autoptr(GError) local = NULL;
        EtcdEvent *e = g_new0(EtcdEvent, 1);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
        JsonNode *type = o ? json_object_get_member(o, "type") : NULL;
        const char *name = type && JSON_NODE_HOLDS_VALUE(type) && json_node_get_value_type(type) == G_TYPE_STRING
                ? json_node_get_string(type) : NULL;

        /* PUT is the default, left out. */
        if (o && (!type || (name && (strcmp(name, "PUT") == 0 || strcmp(name, "DELETE") == 0)))) {
                e->type = name && strcmp(name, "DELETE") == 0 ? ETCD_EVENT_DELETE : ETCD_EVENT_PUT;
                JsonNode *kv = json_object_get_member(o, "kv");
                JsonNode *prev = json_object_get_member(o, "prev_kv");
                if (kv && (e->kv = etcd_json_kv(kv, &local)) && e->kv->mod_revision > 0 &&
                    (!prev || JSON_NODE_HOLDS_NULL(prev) || (e->prev_kv = etcd_json_kv(prev, &local))))
                        return e;
        }
        event_free(e);
        g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's watch sent an event it does not send%s%s",
                    local ? ": " : "", local ? local->message : "");
        return NULL;
}

GPtrArray *etcd_parse_events(JsonArray *list, gint64 after, GError **error) {
        g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func((GDestroyNotify) event_free);
        gint64 last = after;

        for (guint i = 0; list && i < json_array_get_length(list); i++) {
                EtcdEvent *e = event_parse(json_array_get_element(list, i), error);
                if (!e)
                        return NULL;
                if (e->kv->mod_revision <= after) {
                        event_free(e);
                        continue;
                }
                if (e->kv->mod_revision < last) {
                        event_free(e);
                        g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's watch sent events out of order");
                        return NULL;
                }
                last = e->kv->mod_revision;
                g_ptr_array_add(events, e);
        }
        return g_steal_pointer(&events);
}

/* One message; false when the watch cannot go on with this stream (*error
 * set) or was stopped. */
static bool watch_message(EtcdWatch *w, const char *line, gsize len, GError **error) {
        g_autoptr(JsonObject) message = etcd_json_parse(line, len, error);
        JsonObject *result, *failed;
        gint64 revision, compact;
        bool created, canceled;
        EtcdRetry retry;
        JsonArray *list;

        if (!message || !etcd_json_object(message, "error", &failed, error))
                return false;
        if (failed) {
                g_propagate_error(error, etcd_error_from_answer(failed, 500, &retry));
                return false;
        }
        if (!etcd_json_object(message, "result", &result, error) || !result ||
            !etcd_json_revision(result, &revision, error) || !etcd_json_bool(result, "created", &created, error) ||
            !etcd_json_bool(result, "canceled", &canceled, error) ||
            !etcd_json_int(result, "compact_revision", &compact, error) ||
            !etcd_json_array(result, "events", &list, error)) {
                if (error && !*error)
                        g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's watch sent no result");
                return false;
        }
        if (compact > 0) {
                w->stopped = true;
                watch_disconnect(w);
                if (w->funcs.compacted)
                        w->funcs.compacted(w, compact, w->user_data);
                return false;
        }
        /* A store behind what was delivered or seen (its confirmation's
         * or a progress notification's revision): etcd would wait,
         * silent, until it passes that revision again, with other
         * changes. */
        if ((created || !list) && revision < MAX(w->revision, w->seen)) {
                w->stopped = true;
                watch_disconnect(w);
                if (w->funcs.rewound)
                        w->funcs.rewound(w, revision, w->user_data);
                return false;
        }
        if (canceled) {
                g_set_error(error, ETCD_ERROR, ETCD_ERROR_FAILED, "etcd cancelled the watch");
                return false;
        }
        if (created) {
                bool was = w->connected;
                w->connected = true;
                w->retry_ms = w->client->retry_ms;
                source_clear(&w->deadline);
                /* Watching from now on: now is the store's revision. */
                if (w->revision < 0)
                        w->revision = revision;
                if (!was && w->funcs.connected)
                        w->funcs.connected(w, true, w->user_data);
                return !w->stopped;
        }
        g_autoptr(GPtrArray) events = etcd_parse_events(list, w->revision, error);
        if (!events)
                return false;
        if (events->len == 0) {
                /* A progress notification: nothing up to its revision is left out. */
                if (!list && revision > w->revision)
                        w->revision = revision;
                return true;
        }
        w->revision = ((EtcdEvent *) events->pdata[events->len - 1])->kv->mod_revision;
        if (w->funcs.events)
                w->funcs.events(w, events, w->user_data);
        return !w->stopped;
}

static void watch_read(GObject *source, GAsyncResult *res, gpointer data);

/* Every whole line in the buffer; false when the stream is done with. */
static bool watch_lines(EtcdWatch *w, GError **error) {
        guint8 *nl;

        while ((nl = memchr(w->buffer->data, '\n', w->buffer->len))) {
                gsize len = (gsize) (nl - w->buffer->data);
                bool ok = len == 0 || watch_message(w, (const char *) w->buffer->data, len, error);
                if (!ok || w->stopped)
                        return false;
                g_byte_array_remove_range(w->buffer, 0, (guint) len + 1);
        }
        if (w->buffer->len > w->client->max_response) {
                g_set_error(error, ETCD_ERROR, ETCD_ERROR_PROTOCOL, "etcd's watch sent a message of more than %"
                            G_GSIZE_FORMAT " bytes", w->client->max_response);
                return false;
        }
        return true;
}

static void watch_read(GObject *source, GAsyncResult *res, gpointer data) {
        EtcdWatch *w = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);

        if (w->stopped || G_INPUT_STREAM(source) != w->stream) {
                /* Stopped, or this connection was given up already. */
        } else if (!chunk || g_bytes_get_size(chunk) == 0) {
                watch_lost(w, error);
        } else {
                g_byte_array_append(w->buffer, g_bytes_get_data(chunk, NULL), g_bytes_get_size(chunk));
                if (watch_lines(w, &error))
                        g_input_stream_read_bytes_async(w->stream, READ_CHUNK, G_PRIORITY_DEFAULT, w->cancellable,
                                                        watch_read, watch_ref(w));
                else if (!w->stopped)
                        watch_lost(w, error);
        }
        watch_unref(w);
}

static void watch_sent(GObject *source, GAsyncResult *res, gpointer data) {
        EtcdWatch *w = data;
        g_autoptr(GError) error = NULL;
        bool current = soup_session_get_async_result_message(SOUP_SESSION(source), res) == w->message;
        GInputStream *stream = soup_session_send_finish(SOUP_SESSION(source), res, &error);

        if (w->stopped || !current) {
                g_clear_object(&stream);
        } else if (!stream) {
                watch_lost(w, error);
        } else if (soup_message_get_status(w->message) != SOUP_STATUS_OK) {
                g_object_unref(stream);
                error = g_error_new(ETCD_ERROR, ETCD_ERROR_UNAVAILABLE, "etcd answered the watch with HTTP %u",
                                    soup_message_get_status(w->message));
                watch_lost(w, error);
        } else {
                w->stream = stream;
                g_input_stream_read_bytes_async(w->stream, READ_CHUNK, G_PRIORITY_DEFAULT, w->cancellable, watch_read,
                                                watch_ref(w));
        }
        watch_unref(w);
}

static gboolean watch_deadline(gpointer data) {
        EtcdWatch *w = data;
        g_autoptr(GError) error = g_error_new(ETCD_ERROR, ETCD_ERROR_UNAVAILABLE,
                                              "etcd did not confirm the watch within %u ms", w->client->request_ms);

        g_clear_pointer(&w->deadline, g_source_unref);
        watch_lost(w, error);
        return G_SOURCE_REMOVE;
}

static char *watch_body(EtcdWatch *w) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "create_request");
        json_builder_begin_object(b);
        etcd_json_add_key(b, "key", w->key);
        if (w->range_end)
                etcd_json_add_key(b, "range_end", w->range_end);
        if (w->revision >= 0)
                etcd_json_add_int(b, "start_revision", w->revision + 1);
        json_builder_set_member_name(b, "prev_kv");
        json_builder_add_boolean_value(b, w->prev_kv);
        json_builder_set_member_name(b, "progress_notify");
        json_builder_add_boolean_value(b, TRUE);
        json_builder_end_object(b);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        return json_to_string(root, FALSE);
}

static void watch_connect(EtcdWatch *w) {
        g_autofree char *body = watch_body(w);

        w->endpoint = w->client->current;
        w->cancellable = g_cancellable_new();
        w->message = etcd_client_message(w->client, w->endpoint, "/v3/watch", body);
        /* gRPC metadata through the gateway: a member that loses its leader
         * ends the watch (clientv3's WithRequireLeader), so that it resumes
         * on a member that still hears the others. */
        soup_message_headers_append(soup_message_get_request_headers(w->message), "Grpc-Metadata-hasleader", "true");
        w->deadline = etcd_client_timeout(w->client, w->client->request_ms, watch_deadline, w);
        soup_session_send_async(w->client->session, w->message, G_PRIORITY_DEFAULT, w->cancellable, watch_sent,
                                watch_ref(w));
}

EtcdWatch *etcd_watch_new(EtcdClient *c, const char *key, const char *range_end, gint64 start_revision,
                          bool prev_kv, const EtcdWatchFuncs *funcs, gpointer user_data) {
        EtcdWatch *w = g_new0(EtcdWatch, 1);

        w->ref_count = 1;
        w->client = etcd_client_ref(c);
        w->key = g_strdup(key);
        w->range_end = g_strdup(range_end);
        w->prev_kv = prev_kv;
        w->funcs = *funcs;
        w->user_data = user_data;
        /* -1: from now on, learnt when etcd confirms the watch. */
        w->revision = start_revision > 0 ? start_revision - 1 : -1;
        w->retry_ms = c->retry_ms;
        w->buffer = g_byte_array_new();
        watch_connect(w);
        return w;
}

void etcd_watch_free(EtcdWatch *w) {
        if (!w)
                return;
        w->stopped = true;
        watch_disconnect(w);
        source_clear(&w->retry);
        watch_unref(w);
}

gint64 etcd_watch_revision(EtcdWatch *w) {
        return w->revision;
}

void etcd_watch_seen(EtcdWatch *w, gint64 revision) {
        w->seen = MAX(w->seen, revision);
}

bool etcd_watch_connected(EtcdWatch *w) {
        return w->connected;
}
