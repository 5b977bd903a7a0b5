/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "etcd-cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define MEMBERS_MAX 3
#define START_MS 30000

typedef struct {
        char *name, *data_dir, *log;
        char *client_url, *peer_url;
        GSubprocess *process;
        EtcdClient *probe;       /* this member alone: its health, compaction */
} Member;

struct EtcdCluster {
        char *dir;
        guint n;
        Member members[MEMBERS_MAX];
        char *initial_cluster;
        const char *endpoints[MEMBERS_MAX + 1];
        bool tls;
        char *ca, *cert, *key, *server_cert, *server_key;
        EtcdTls client_tls;
};

static void run(const char *const *argv) {
        g_autoptr(GError) error = NULL;
        g_autofree char *err = NULL;
        int status;

        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                          NULL, &err, &status, &error) ||
            !g_spawn_check_wait_status(status, &error)) {
                fprintf(stderr, "etcd-cluster: %s failed: %s\n%s", argv[0], error->message, err ?: "");
                abort();
        }
}

/* A certificate for 127.0.0.1 signed by the cluster's CA (ca.crt, ca.key),
 * with usage: serverAuth or clientAuth. */
static void certificate_make(EtcdCluster *c, const char *name, const char *usage) {
        g_autofree char *key = g_strdup_printf("%s/%s.key", c->dir, name);
        g_autofree char *csr = g_strdup_printf("%s/%s.csr", c->dir, name);
        g_autofree char *crt = g_strdup_printf("%s/%s.crt", c->dir, name);
        g_autofree char *ext = g_strdup_printf("%s/%s.ext", c->dir, name);
        g_autofree char *ext_text = g_strdup_printf("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n", usage);
        g_autofree char *subject = g_strdup_printf("/CN=devpass-test-%s", name);

        g_assert_true(g_file_set_contents(ext, ext_text, -1, NULL));
        run((const char *const[]) { "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                    "-nodes", "-keyout", key, "-out", csr, "-subj", subject, NULL });
        run((const char *const[]) { "openssl", "x509", "-req", "-in", csr, "-CA", c->ca, "-CAkey", c->key,
                                    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt, NULL });
}

static void certificates_make(EtcdCluster *c) {
        g_autofree char *ca_key = g_build_filename(c->dir, "ca.key", NULL);

        c->ca = g_build_filename(c->dir, "ca.crt", NULL);
        /* certificate_make signs with c->key: the CA's until the client's is made. */
        c->key = g_steal_pointer(&ca_key);
        run((const char *const[]) { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", c->key, "-out", c->ca,
                                    "-days", "2", "-subj", "/CN=devpass-test-ca", NULL });
        /* etcd's gateway dials etcd's gRPC with the server's certificate. */
        certificate_make(c, "server", "serverAuth,clientAuth");
        certificate_make(c, "client", "clientAuth");
        g_free(c->key);
        c->server_cert = g_build_filename(c->dir, "server.crt", NULL);
        c->server_key = g_build_filename(c->dir, "server.key", NULL);
        c->cert = g_build_filename(c->dir, "client.crt", NULL);
        c->key = g_build_filename(c->dir, "client.key", NULL);
        c->client_tls = (EtcdTls) { .ca_file = c->ca, .cert_file = c->cert, .key_file = c->key };
}

/* n distinct free loopback ports: all bound at once, then released. */
static void free_ports(guint n, guint16 *ports) {
        int fds[MEMBERS_MAX * 2];

        g_assert_cmpuint(n, <=, G_N_ELEMENTS(fds));
        for (guint i = 0; i < n; i++) {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                socklen_t len = sizeof(a);
                fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                g_assert_cmpint(fds[i], >=, 0);
                g_assert_cmpint(bind(fds[i], (struct sockaddr *) &a, sizeof(a)), ==, 0);
                g_assert_cmpint(getsockname(fds[i], (struct sockaddr *) &a, &len), ==, 0);
                ports[i] = ntohs(a.sin_port);
        }
        for (guint i = 0; i < n; i++)
                close(fds[i]);
}

/* The members die with the test, whatever ends it. */
static void child_setup(gpointer data) {
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void etcd_cluster_start(EtcdCluster *c, guint member) {
        Member *m = &c->members[member];
        g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autoptr(GError) error = NULL;

        g_assert_null(m->process);
        g_ptr_array_add(argv, "etcd");
        /* Elections within a second: a member's loss shows quickly. */
        const char *const common[] = {
                "--name", m->name, "--data-dir", m->data_dir,
                "--listen-client-urls", m->client_url, "--advertise-client-urls", m->client_url,
                "--listen-peer-urls", m->peer_url, "--initial-advertise-peer-urls", m->peer_url,
                "--initial-cluster", c->initial_cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "devpass-test", "--heartbeat-interval", "50",
                "--election-timeout", "500", "--logger", "zap", "--log-level", "warn",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(common); i++)
                g_ptr_array_add(argv, (char *) common[i]);
        if (c->tls) {
                const char *const tls[] = { "--cert-file", c->server_cert, "--key-file", c->server_key,
                                            "--trusted-ca-file", c->ca, "--client-cert-auth" };
                for (size_t i = 0; i < G_N_ELEMENTS(tls); i++)
                        g_ptr_array_add(argv, (char *) tls[i]);
        }
        g_ptr_array_add(argv, NULL);
        g_subprocess_launcher_set_child_setup(launcher, child_setup, NULL, NULL);
        /* Not under the benchmark's umockdev preload: etcd is no client of /sys. */
        g_subprocess_launcher_unsetenv(launcher, "LD_PRELOAD");
        /* Appended to: a restarted member's log follows its first life's. */
        int fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        g_assert_cmpint(fd, >=, 0);
        g_subprocess_launcher_take_stdout_fd(launcher, fd);
        m->process = g_subprocess_launcher_spawnv(launcher, (const char *const *) argv->pdata, &error);
        g_assert_no_error(error);
}

EtcdCluster *etcd_cluster_new(guint members, bool tls) {
        EtcdCluster *c = g_new0(EtcdCluster, 1);
        g_autoptr(GString) initial = g_string_new(NULL);
        g_autoptr(GError) error = NULL;
        guint16 ports[MEMBERS_MAX * 2];

        g_assert_true(members >= 1 && members <= MEMBERS_MAX);
        c->n = members;
        c->tls = tls;
        c->dir = g_dir_make_tmp("devpass-etcd-XXXXXX", &error);
        g_assert_no_error(error);
        if (tls)
                certificates_make(c);
        free_ports(members * 2, ports);
        for (guint i = 0; i < members; i++) {
                Member *m = &c->members[i];
                m->name = g_strdup_printf("m%u", i);
                m->data_dir = g_strdup_printf("%s/%s.etcd", c->dir, m->name);
                m->log = g_strdup_printf("%s/%s.log", c->dir, m->name);
                m->client_url = g_strdup_printf("%s://127.0.0.1:%u", tls ? "https" : "http", ports[2 * i]);
                m->peer_url = g_strdup_printf("http://127.0.0.1:%u", ports[2 * i + 1]);
                g_string_append_printf(initial, "%s%s=%s", i ? "," : "", m->name, m->peer_url);
                c->endpoints[i] = m->client_url;
                const char *const one[] = { m->client_url, NULL };
                EtcdTimeouts t = { .request_ms = 1000 };
                m->probe = etcd_client_new(one, tls ? &c->client_tls : NULL, &t, &error);
                g_assert_no_error(error);
        }
        c->initial_cluster = g_string_free(g_steal_pointer(&initial), FALSE);
        for (guint i = 0; i < members; i++)
                etcd_cluster_start(c, i);
        for (guint i = 0; i < members; i++)
                if (!etcd_cluster_wait_healthy(c, i, START_MS)) {
                        g_autofree char *log = NULL;
                        (void) g_file_get_contents(c->members[i].log, &log, NULL, NULL);
                        fprintf(stderr, "etcd-cluster: member %u did not become healthy:\n%s\n", i, log ?: "");
                        abort();
                }
        return c;
}

void etcd_cluster_kill(EtcdCluster *c, guint member) {
        Member *m = &c->members[member];

        g_assert_nonnull(m->process);
        g_subprocess_send_signal(m->process, SIGKILL);
        g_assert_true(g_subprocess_wait(m->process, NULL, NULL));
        g_clear_object(&m->process);
}

void etcd_cluster_free(EtcdCluster *c) {
        if (!c)
                return;
        for (guint i = 0; i < c->n; i++) {
                Member *m = &c->members[i];
                if (m->process)
                        etcd_cluster_kill(c, i);
                etcd_client_unref(m->probe);
                g_free(m->name);
                g_free(m->data_dir);
                g_free(m->log);
                g_free(m->client_url);
                g_free(m->peer_url);
        }
        harness_remove_tree(c->dir);
        g_free(c->dir);
        g_free(c->initial_cluster);
        g_free(c->ca);
        g_free(c->cert);
        g_free(c->key);
        g_free(c->server_cert);
        g_free(c->server_key);
        g_free(c);
}

const char *const *etcd_cluster_endpoints(EtcdCluster *c) {
        return c->endpoints;
}

const char *etcd_cluster_endpoint(EtcdCluster *c, guint member) {
        return c->endpoints[member];
}

const EtcdTls *etcd_cluster_tls(EtcdCluster *c) {
        return c->tls ? &c->client_tls : NULL;
}

char *etcd_cluster_config(EtcdCluster *c, const char *node) {
        GString *conf = g_string_new("[Cluster]\nEndpoints=");
        const char *const *endpoints = etcd_cluster_endpoints(c);
        const EtcdTls *tls = etcd_cluster_tls(c);

        for (size_t e = 0; endpoints[e]; e++)
                g_string_append_printf(conf, "%s%s", e ? " " : "", endpoints[e]);
        g_string_append_printf(conf, "\nNode=%s\nLeaseSeconds=2\n", node);
        if (tls)
                g_string_append_printf(conf, "CertificateAuthority=%s\nCertificate=%s\nPrivateKey=%s\n", tls->ca_file,
                                       tls->cert_file, tls->key_file);
        return g_string_free(conf, FALSE);
}

void etcd_cluster_got(GObject *source, GAsyncResult *res, gpointer result) {
        *(GAsyncResult **) result = g_object_ref(res);
}

static bool result_set(gpointer data) {
        return *(GAsyncResult **) data != NULL;
}

GAsyncResult *etcd_cluster_await(GAsyncResult **result, unsigned timeout_ms) {
        if (!etcd_cluster_loop_until(result_set, result, timeout_ms)) {
                fprintf(stderr, "etcd-cluster: no answer within %u ms\n", timeout_ms);
                abort();
        }
        return *result;
}

static gboolean timed_out(gpointer data) {
        *(bool *) data = true;
        return G_SOURCE_REMOVE;
}

bool etcd_cluster_loop_until(bool (*done)(gpointer data), gpointer data, unsigned timeout_ms) {
        bool expired = false;
        guint timer = g_timeout_add(timeout_ms, timed_out, &expired);

        while (!done(data) && !expired)
                g_main_context_iteration(NULL, TRUE);
        if (!expired)
                g_source_remove(timer);
        return done(data);
}

/* A linearizable read answers only where there is a leader and a quorum. */
bool etcd_cluster_wait_healthy(EtcdCluster *c, guint member, unsigned timeout_ms) {
        gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        for (;;) {
                g_autoptr(GAsyncResult) res = NULL;
                g_autoptr(EtcdRangeResult) r = NULL;
                bool expired = false;

                etcd_kv_range_async(c->members[member].probe, "health", NULL, 0, 1, NULL, etcd_cluster_got, &res);
                r = etcd_kv_range_finish(c->members[member].probe, etcd_cluster_await(&res, 10000), NULL);
                if (r)
                        return true;
                if (g_get_monotonic_time() >= end)
                        return false;
                /* A bounded pause between polls, the loop turning. */
                g_timeout_add(50, timed_out, &expired);
                while (!expired)
                        g_main_context_iteration(NULL, TRUE);
        }
}

void etcd_cluster_compact(EtcdCluster *c, guint member, gint64 revision) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;

        etcd_kv_compact_async(c->members[member].probe, revision, NULL, etcd_cluster_got, &res);
        g_assert_true(etcd_kv_compact_finish(c->members[member].probe, etcd_cluster_await(&res, 10000), &error));
        g_assert_no_error(error);
}

void etcd_cluster_snapshot(EtcdCluster *c, const char *path) {
        g_assert_false(c->tls);
        run((const char *const[]) { "etcdctl", "--endpoints", c->endpoints[0], "snapshot", "save", path, NULL });
}

void etcd_cluster_restore(EtcdCluster *c, const char *path) {
        for (guint i = 0; i < c->n; i++) {
                Member *m = &c->members[i];
                if (m->process)
                        etcd_cluster_kill(c, i);
                harness_remove_tree(m->data_dir);
                run((const char *const[]) { "etcdctl", "snapshot", "restore", path, "--name", m->name, "--data-dir",
                                            m->data_dir, "--initial-cluster", c->initial_cluster,
                                            "--initial-cluster-token", "devpass-test",
                                            "--initial-advertise-peer-urls", m->peer_url, NULL });
        }
        for (guint i = 0; i < c->n; i++)
                etcd_cluster_start(c, i);
        for (guint i = 0; i < c->n; i++)
                g_assert_true(etcd_cluster_wait_healthy(c, i, START_MS));
}
