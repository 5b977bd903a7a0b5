/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client and its transport: endpoints, TLS, one request with its
 * deadline and failover. */
#include "etcd-private.h"

#include <string.h>

G_DEFINE_QUARK(etcd-error-quark, etcd_error)

#define REQUEST_MS_DEFAULT 3000
#define RETRY_MS_DEFAULT 200
#define MAX_RESPONSE_DEFAULT (16u << 20)
#define READ_CHUNK 65536
/* A request's answer before a watch's news, which come at the same time
 * for a change of this node's own: else the answer waits behind the
 * change's echo. Answers are one per request: nothing starves. */
#define CALL_PRIORITY G_PRIORITY_HIGH

static bool client_tls(EtcdClient *c, const EtcdTls *tls, GError **error) {
        g_autoptr(GTlsDatabase) db = NULL;

        if (!tls->ca_file) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "etcd over TLS needs the certificate authority's file");
                return false;
        }
        db = g_tls_file_database_new(tls->ca_file, error);
        if (!db) {
                g_prefix_error(error, "etcd certificate authority %s: ", tls->ca_file);
                return false;
        }
        soup_session_set_tls_database(c->session, db);
        if (!tls->cert_file != !tls->key_file) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "etcd client certificate and private key go together: give both or neither");
                return false;
        }
        if (tls->cert_file) {
                c->client_cert = g_tls_certificate_new_from_files(tls->cert_file, tls->key_file, error);
                if (!c->client_cert) {
                        g_prefix_error(error, "etcd client certificate %s (key %s): ", tls->cert_file, tls->key_file);
                        return false;
                }
        }
        return true;
}

EtcdClient *etcd_client_new(const char *const *endpoints, const EtcdTls *tls, const EtcdTimeouts *timeouts,
                            GError **error) {
        g_autoptr(EtcdClient) c = g_new0(EtcdClient, 1);
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

        c->ref_count = 1;
        c->context = g_main_context_ref_thread_default();
        /* Every watch holds a connection for as long as it runs: do not let
         * them queue the requests. No I/O timeout: a watch may be quiet for
         * long, and requests have a deadline of their own. GIO's default
         * proxy resolver stays: without it LeakSanitizer's thread scan
         * crashed at exit in the TLS test (its dynamic TLS handling). */
        c->session = soup_session_new_with_options("max-conns", 64, "max-conns-per-host", 32, "timeout", 0,
                                                   "idle-timeout", 60, NULL);
        c->request_ms = timeouts && timeouts->request_ms ? timeouts->request_ms : REQUEST_MS_DEFAULT;
        c->retry_ms = timeouts && timeouts->retry_ms ? timeouts->retry_ms : RETRY_MS_DEFAULT;
        c->max_response = timeouts && timeouts->max_response ? timeouts->max_response : MAX_RESPONSE_DEFAULT;
        if (tls && !client_tls(c, tls, error))
                return NULL;
        for (size_t i = 0; endpoints && endpoints[i]; i++) {
                if (!etcd_endpoint_valid(endpoints[i], tls != NULL, error))
                        return NULL;
                size_t n = strlen(endpoints[i]);
                g_ptr_array_add(list, g_strndup(endpoints[i], endpoints[i][n - 1] == '/' ? n - 1 : n));
        }
        g_ptr_array_add(list, NULL);
        c->endpoints = (GStrv) g_ptr_array_free(g_steal_pointer(&list), FALSE);
        if (!c->endpoints[0]) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "etcd needs at least one endpoint");
                return NULL;
        }
        return g_steal_pointer(&c);
}

EtcdClient *etcd_client_ref(EtcdClient *c) {
        g_atomic_int_inc(&c->ref_count);
        return c;
}

void etcd_client_unref(EtcdClient *c) {
        if (!c || !g_atomic_int_dec_and_test(&c->ref_count))
                return;
        if (c->session)
                soup_session_abort(c->session);
        g_clear_object(&c->session);
        g_clear_object(&c->client_cert);
        g_strfreev(c->endpoints);
        g_main_context_unref(c->context);
        g_free(c);
}

const char *etcd_client_endpoint(EtcdClient *c) {
        return c->endpoints[c->current];
}

SoupMessage *etcd_client_message(EtcdClient *c, guint endpoint, const char *path, const char *body) {
        g_autofree char *url = g_strconcat(c->endpoints[endpoint], path, NULL);
        SoupMessage *m = soup_message_new("POST", url);
        g_autoptr(GBytes) bytes = g_bytes_new(body, strlen(body));

        soup_message_set_request_body_from_bytes(m, "application/json", bytes);
        /* etcd's gateway takes everything as POST, which libsoup sends on
         * a new connection each time unless told otherwise: a connect per
         * request, and the idle ones piling up, each probed before the
         * next request. A request libsoup sends again because a kept
         * connection closed under it is one etcd did not answer: a
         * transaction's compares refuse it if the first did reach etcd. */
        soup_message_add_flags(m, SOUP_MESSAGE_IDEMPOTENT);
        if (c->client_cert)
                soup_message_set_tls_client_certificate(m, c->client_cert);
        return m;
}

void etcd_client_failed(EtcdClient *c, guint endpoint) {
        guint n = g_strv_length(c->endpoints);

        /* Another request may have moved on already. */
        if (c->current == endpoint)
                c->current = (endpoint + 1) % n;
}

GSource *etcd_client_timeout(EtcdClient *c, guint ms, GSourceFunc func, gpointer data) {
        GSource *s = g_timeout_source_new(ms);

        g_source_set_callback(s, func, data, NULL);
        g_source_attach(s, c->context);
        return s;
}

char *etcd_prefix_end(const char *prefix) {
        size_t n = strlen(prefix);
        g_autofree char *end = g_strdup(prefix);

        /* The prefix with its last byte below 0xff incremented; none: ""
         * (to the end of the keys). */
        while (n > 0 && (guchar) end[n - 1] == 0xff)
                n--;
        if (n == 0)
                return g_strdup("");
        end[n - 1]++;
        end[n] = '\0';
        return g_steal_pointer(&end);
}

/* gRPC's codes, as the gateway passes them on. */
enum {
        GRPC_INVALID_ARGUMENT = 3,
        GRPC_DEADLINE_EXCEEDED = 4,
        GRPC_NOT_FOUND = 5,
        GRPC_RESOURCE_EXHAUSTED = 8,
        GRPC_OUT_OF_RANGE = 11,
        GRPC_UNAVAILABLE = 14,
};

/* etcd's limits on one request, by their code first: etcd's own refusals
 * for --max-txn-ops and --max-request-bytes are INVALID_ARGUMENT, as is a
 * request it cannot take at all (an empty or duplicate key); gRPC's of a
 * message well above the latter is RESOURCE_EXHAUSTED, as are etcd's
 * space quota and its rate limit. Within the code, the words tell which
 * (etcd's api/v3rpc/rpctypes, grpc-go's). */
static bool limit_of(gint64 code, const char *message) {
        if (code == GRPC_INVALID_ARGUMENT)
                return g_str_equal(message, "etcdserver: too many operations in txn request") ||
                       g_str_equal(message, "etcdserver: request is too large");
        return code == GRPC_RESOURCE_EXHAUSTED && g_str_has_prefix(message, "grpc: received message ") &&
               strstr(message, " larger than max ");
}

GError *etcd_error_from_answer(JsonObject *answer, guint http_status, EtcdRetry *retry) {
        gint64 code = 0;
        g_autofree char *message = NULL;
        const char *m = NULL;

        *retry = ETCD_RETRY_NONE;
        if (answer && json_object_has_member(answer, "message")) {
                JsonNode *n = json_object_get_member(answer, "message");
                if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
                        m = json_node_get_string(n);
        }
        /* A unary answer's "code", a stream's "grpc_code". */
        if (!answer || !etcd_json_int(answer, json_object_has_member(answer, "code") ? "code" : "grpc_code", &code, NULL) ||
            !m) {
                *retry = http_status >= 500 ? ETCD_RETRY_IDEMPOTENT : ETCD_RETRY_NONE;
                return g_error_new(ETCD_ERROR, http_status >= 500 ? ETCD_ERROR_UNAVAILABLE : ETCD_ERROR_PROTOCOL,
                                   "etcd answered HTTP %u without an error etcd gives", http_status);
        }
        /* Its text may be anything: at most a line of printable ASCII. */
        message = g_strndup(m, 200);
        for (char *p = message; *p; p++)
                if (!g_ascii_isprint(*p))
                        *p = '?';
        switch (code) {
        case GRPC_UNAVAILABLE:
        case GRPC_DEADLINE_EXCEEDED:
                /* Only these say the request was not proposed; "request
                 * timed out" or "leader changed" may follow a commit. */
                *retry = strstr(message, "no leader") || strstr(message, "not capable") ? ETCD_RETRY_SAFE
                                                                                         : ETCD_RETRY_IDEMPOTENT;
                return g_error_new(ETCD_ERROR, ETCD_ERROR_UNAVAILABLE, "etcd is unavailable: %s", message);
        case GRPC_OUT_OF_RANGE:
                if (strstr(message, "compacted"))
                        return g_error_new(ETCD_ERROR, ETCD_ERROR_COMPACTED, "%s", message);
                if (strstr(message, "future revision"))
                        return g_error_new(ETCD_ERROR, ETCD_ERROR_FUTURE, "%s", message);
                break;
        case GRPC_NOT_FOUND:
                if (strstr(message, "lease not found"))
                        return g_error_new(ETCD_ERROR, ETCD_ERROR_LEASE_NOT_FOUND, "%s", message);
                break;
        case GRPC_INVALID_ARGUMENT:
        case GRPC_RESOURCE_EXHAUSTED:
                if (limit_of(code, message))
                        return g_error_new(ETCD_ERROR, ETCD_ERROR_LIMIT, "%s", message);
                break;
        default:
                break;
        }
        return g_error_new(ETCD_ERROR, ETCD_ERROR_FAILED, "etcd refused the request: %s (code %" G_GINT64_FORMAT ")",
                           message, code);
}

/* One call: its attempts, one endpoint at a time, within one deadline.
 * The chain of attempts holds a reference on the task; the deadline
 * returns the task without waiting for it (libsoup does not always end a
 * cancelled request), and the chain, when it ends, finds it done. */
typedef struct {
        EtcdClient *client;
        const EtcdCallSpec *spec;
        char *body;
        GCancellable *caller;    /* the caller's, may be NULL */
        gulong caller_id;
        GCancellable *attempt;   /* cancelled by the deadline or the caller */
        GSource *deadline;
        bool done;
        guint endpoint, tried;
        GString *endpoints;      /* those tried, for the error */
        SoupMessage *message;
        GInputStream *stream;
        GByteArray *answer;
} Call;

static void call_free(Call *call) {
        if (call->caller_id)
                g_cancellable_disconnect(call->caller, call->caller_id);
        g_clear_object(&call->caller);
        if (call->deadline) {
                g_source_destroy(call->deadline);
                g_source_unref(call->deadline);
        }
        g_clear_object(&call->attempt);
        g_clear_object(&call->message);
        g_clear_object(&call->stream);
        g_clear_pointer(&call->answer, g_byte_array_unref);
        g_string_free(call->endpoints, TRUE);
        etcd_client_unref(call->client);
        g_free(call->body);
        g_free(call);
}

/* The call's outcome, once: result, or error (consumed). */
static void call_return(GTask *task, gpointer result, GError *error) {
        Call *call = g_task_get_task_data(task);

        if (call->done) {
                g_clear_error(&error);
                return;
        }
        call->done = true;
        if (call->deadline) {
                g_source_destroy(call->deadline);
                g_clear_pointer(&call->deadline, g_source_unref);
        }
        g_cancellable_cancel(call->attempt);
        if (result) {
                g_task_return_pointer(task, result, call->spec->free_result);
        } else if (call->caller && g_cancellable_is_cancelled(call->caller)) {
                g_error_free(error);
                g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The etcd request was cancelled");
        } else {
                g_task_return_error(task, error);
        }
}

/* The chain of attempts ends here. */
static void call_end(GTask *task, gpointer result, GError *error) {
        call_return(task, result, error);
        g_object_unref(task);
}

/* At the start of every step of the chain: whether the deadline returned
 * the task meanwhile (the chain's reference is dropped then). */
static bool call_over(GTask *task) {
        Call *call = g_task_get_task_data(task);

        if (!call->done)
                return false;
        g_object_unref(task);
        return true;
}

static void call_attempt(GTask *task);

/* This endpoint did not answer: the next one, while any is left and the
 * request may be sent again. */
static void call_next(GTask *task, GError *error, EtcdRetry retry) {
        Call *call = g_task_get_task_data(task);
        guint n = g_strv_length(call->client->endpoints);

        g_clear_object(&call->message);
        g_clear_object(&call->stream);
        etcd_client_failed(call->client, call->endpoint);
        if (retry == ETCD_RETRY_IDEMPOTENT && !call->spec->idempotent) {
                call_end(task, NULL, g_error_new(ETCD_ERROR, ETCD_ERROR_UNAVAILABLE,
                                                 "etcd at %s did not say whether the change was made: %s",
                                                 call->client->endpoints[call->endpoint], error->message));
                g_error_free(error);
                return;
        }
        if ((call->caller && g_cancellable_is_cancelled(call->caller)) || ++call->tried >= n) {
                call_end(task, NULL, g_error_new(ETCD_ERROR, ETCD_ERROR_UNAVAILABLE,
                                                 "No etcd member answered (tried %s; the last: %s)",
                                                 call->endpoints->str, error->message));
                g_error_free(error);
                return;
        }
        g_error_free(error);
        call_attempt(task);
}

static void call_answered(GTask *task) {
        Call *call = g_task_get_task_data(task);
        guint status = soup_message_get_status(call->message);
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonObject) answer = etcd_json_parse((const char *) call->answer->data, call->answer->len, &error);
        EtcdRetry retry;

        if (status != SOUP_STATUS_OK) {
                GError *e = etcd_error_from_answer(answer, status, &retry);
                if (retry != ETCD_RETRY_NONE)
                        call_next(task, e, retry);
                else
                        call_end(task, NULL, e);
                return;
        }
        gpointer result = answer ? call->spec->parse(answer, &error) : NULL;
        call_end(task, result, result ? NULL : g_steal_pointer(&error));
}

static void call_read(GObject *source, GAsyncResult *res, gpointer data) {
        GTask *task = data;
        Call *call = g_task_get_task_data(task);
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);

        if (call_over(task))
                return;
        if (!chunk) {
                call_next(task, g_steal_pointer(&error), ETCD_RETRY_IDEMPOTENT);
                return;
        }
        if (g_bytes_get_size(chunk) == 0) {
                call_answered(task);
                return;
        }
        if (call->answer->len + g_bytes_get_size(chunk) > call->client->max_response) {
                call_end(task, NULL, g_error_new(ETCD_ERROR, ETCD_ERROR_TOO_LARGE,
                                                 "etcd's answer from %s is larger than %" G_GSIZE_FORMAT " bytes",
                                                 call->client->endpoints[call->endpoint], call->client->max_response));
                return;
        }
        g_byte_array_append(call->answer, g_bytes_get_data(chunk, NULL), g_bytes_get_size(chunk));
        g_input_stream_read_bytes_async(call->stream, READ_CHUNK, CALL_PRIORITY, call->attempt, call_read, task);
}

/* A request that failed before its answer: nothing was done when the
 * connection or its TLS handshake failed. */
static EtcdRetry call_retry_unsent(const GError *error) {
        if (error->domain == G_TLS_ERROR || error->domain == G_RESOLVER_ERROR ||
            g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
            g_error_matches(error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
            g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
                return ETCD_RETRY_SAFE;
        return ETCD_RETRY_IDEMPOTENT;
}

static void call_sent(GObject *source, GAsyncResult *res, gpointer data) {
        GTask *task = data;
        Call *call = g_task_get_task_data(task);
        GError *error = NULL;
        GInputStream *stream = soup_session_send_finish(SOUP_SESSION(source), res, &error);

        if (call_over(task)) {
                g_clear_object(&stream);
                g_clear_error(&error);
                return;
        }
        if (!stream) {
                call_next(task, error, call_retry_unsent(error));
                return;
        }
        call->stream = stream;
        g_byte_array_set_size(call->answer, 0);
        g_input_stream_read_bytes_async(call->stream, READ_CHUNK, CALL_PRIORITY, call->attempt, call_read, task);
}

static void call_attempt(GTask *task) {
        Call *call = g_task_get_task_data(task);

        call->endpoint = call->client->current;
        g_string_append_printf(call->endpoints, "%s%s", call->endpoints->len ? " " : "",
                               call->client->endpoints[call->endpoint]);
        call->message = etcd_client_message(call->client, call->endpoint, call->spec->path, call->body);
        soup_session_send_async(call->client->session, call->message, CALL_PRIORITY, call->attempt, call_sent, task);
}

static gboolean call_deadline(gpointer data) {
        GTask *task = data;
        Call *call = g_task_get_task_data(task);

        /* The endpoint that did not answer in time is not the next one's first. */
        etcd_client_failed(call->client, call->endpoint);
        call_return(task, NULL, g_error_new(ETCD_ERROR, ETCD_ERROR_UNAVAILABLE,
                                            "No etcd member answered within %u ms (tried %s)",
                                            call->client->request_ms, call->endpoints->str));
        return G_SOURCE_REMOVE;
}

static void call_cancelled(GCancellable *caller, gpointer data) {
        g_cancellable_cancel(data);
}

void etcd_call_async(EtcdClient *c, const EtcdCallSpec *spec, JsonNode *body, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data) {
        GTask *task = g_task_new(NULL, cancellable, callback, user_data);
        Call *call = g_new0(Call, 1);

        g_task_set_source_tag(task, etcd_call_async);
        /* The callback runs from the loop even when the answer is at hand. */
        g_task_set_check_cancellable(task, FALSE);
        call->client = etcd_client_ref(c);
        call->spec = spec;
        call->body = json_to_string(body, FALSE);
        json_node_unref(body);
        call->attempt = g_cancellable_new();
        call->answer = g_byte_array_new();
        call->endpoints = g_string_new(NULL);
        g_task_set_task_data(task, call, (GDestroyNotify) call_free);
        call->deadline = etcd_client_timeout(c, c->request_ms, call_deadline, task);
        if (cancellable) {
                call->caller = g_object_ref(cancellable);
                call->caller_id = g_cancellable_connect(cancellable, G_CALLBACK(call_cancelled),
                                                        g_object_ref(call->attempt), g_object_unref);
        }
        call_attempt(task);
}

gpointer etcd_call_finish(EtcdClient *c, GAsyncResult *result, GError **error) {
        g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}
