/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Cockpit page on a node: devpassd on the GPU server (a umockdev
 * testbed with a fake kernel that has vfio-pci), the real polkitd, and two
 * real cockpit-ws sessions on loopback ports whose bridge takes the
 * private bus for the system bus: one as root (administrative access) and
 * one as nobody (none). Runs under tests/isolated and umockdev-wrapper.
 *
 *   cockpit-node                  the demo: prints the page's URL, runs
 *                                 until Ctrl-C
 *   cockpit-node COMMAND ARGS...  runs COMMAND (the browser suite) with
 *                                 DEVPASS_COCKPIT_URL, DEVPASS_COCKPIT_URL_NOBODY
 *                                 and, on fd 3, a socket that takes the
 *                                 kernel's part ("remove ADDRESS",
 *                                 "refuse-unbind DRIVER",
 *                                 "sriov PF TOTAL N" -> "ok", with the
 *                                 burst's time to a D-Bus client) and
 *                                 times GetManagedObjects ("gmo" -> "ok MS");
 *                                 exits with its status
 *
 * DEVPASS_COCKPIT_NODE=nodegen:N runs a generated node of N functions
 * instead of the GPU server (bench/cockpit).
 *
 * cockpit-ws, its bridge and COMMAND run without the umockdev preload:
 * none of them reads /sys for devpass, and Chromium must not see a fake
 * /dev. */
#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "calls.h"
#include "nodegen.h"

#define COCKPIT_WS "/usr/lib/cockpit/cockpit-ws"

typedef struct {
        Harness *h;
        FakeKernel *fk;
        GMainLoop *loop;
        int status;
} Node;

/* A socket listening on a free loopback port, for cockpit-ws to take
 * (socket activation): it accepts from the start, nothing waits for the
 * server to come up. */
static int listener_new(unsigned *port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &a, sizeof(a)), ==, 0);
        g_assert_cmpint(listen(fd, SOMAXCONN), ==, 0);
        g_assert_cmpint(getsockname(fd, (struct sockaddr *) &a, &len), ==, 0);
        *port = ntohs(a.sin_port);
        return fd;
}

/* The environment of everything started here: the private bus as the
 * system bus, the page found through XDG_DATA_DIRS, no preload. */
static char **child_env(const char *share) {
        char **env = g_get_environ();

        env = g_environ_unsetenv(env, "LD_PRELOAD");
        env = g_environ_unsetenv(env, "UMOCKDEV_DIR");
        env = g_environ_setenv(env, "XDG_DATA_DIRS", share, TRUE);
        return env;
}

static void ws_stop(GPid pid) {
        if (pid <= 0)
                return;
        kill(pid, SIGTERM);
        g_spawn_close_pid(pid);
}

/* cockpit-ws as user:group (NULL: this one) on a loopback port of its
 * own (*port), with its bridge for a session without login; 0 when it
 * cannot be started. */
static GPid ws_start(const char *share, const char *home, const char *user, const char *group, unsigned *port) {
        g_autofree char *reuid = user ? g_strdup_printf("--reuid=%s", user) : NULL;
        g_autofree char *regid = user ? g_strdup_printf("--regid=%s", group) : NULL;
        g_autofree char *cache = home ? g_build_filename(home, ".cache", NULL) : NULL;
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_auto(GStrv) env = child_env(share);
        g_autoptr(GError) error = NULL;
        GPid pid;

        /* sd_listen_fds() wants LISTEN_PID: the shell's pid is cockpit-ws's
         * once it execs (setpriv execs too). */
        const char *sh[] = { "/bin/sh", "-c", "export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$@\"", "sh", NULL };
        for (size_t i = 0; sh[i]; i++)
                g_ptr_array_add(argv, (char *) sh[i]);
        if (user) {
                const char *setpriv[] = { "setpriv", reuid, regid, "--clear-groups", NULL };
                for (size_t i = 0; setpriv[i]; i++)
                        g_ptr_array_add(argv, (char *) setpriv[i]);
                env = g_environ_setenv(env, "HOME", home, TRUE);
                env = g_environ_setenv(env, "XDG_CACHE_HOME", cache, TRUE);
        }
        const char *ws[] = { COCKPIT_WS, "--no-tls", "--local-session=/usr/bin/cockpit-bridge", NULL };
        for (size_t i = 0; ws[i]; i++)
                g_ptr_array_add(argv, (char *) ws[i]);
        g_ptr_array_add(argv, NULL);

        int fd = listener_new(port);
        int source_fds[] = { fd }, target_fds[] = { 3 };
        bool ok = g_spawn_async_with_pipes_and_fds(NULL, (const char *const *) argv->pdata, (const char *const *) env,
                                                   G_SPAWN_SEARCH_PATH | HARNESS_SPAWN, NULL, NULL, -1, -1, -1,
                                                   source_fds, target_fds, 1, &pid, NULL, NULL, NULL, &error);
        close(fd);
        if (!ok) {
                fprintf(stderr, "cockpit-node: cannot start %s: %s (install cockpit-ws: .ci/deps)\n", COCKPIT_WS,
                        error->message);
                return 0;
        }
        return pid;
}

/* share/cockpit/devpass: the page from the source tree, as installed:
 * copied, not linked, so that the unprivileged user's bridge reads it
 * whatever the checkout's own directories allow (mktemp -d: 0700). */
static char *share_make(Harness *h) {
        g_autofree char *page = g_build_filename(h->tmpdir, "share", "cockpit", "devpass", NULL);
        const char *source = harness_path("DEVPASS_COCKPIT_PAGE");
        g_autoptr(GDir) dir = g_dir_open(source, 0, NULL);
        const char *name;

        g_assert_nonnull(dir);
        g_assert_cmpint(g_mkdir_with_parents(page, 0755), ==, 0);
        while ((name = g_dir_read_name(dir))) {
                g_autofree char *from = g_build_filename(source, name, NULL);
                g_autofree char *to = g_build_filename(page, name, NULL);
                g_autofree char *contents = NULL;
                gsize len;
                if (!g_file_test(from, G_FILE_TEST_IS_REGULAR))
                        continue;
                g_assert_true(g_file_get_contents(from, &contents, &len, NULL));
                g_assert_true(g_file_set_contents_full(to, contents, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0644,
                                                       NULL));
        }
        return g_strdup_printf("%s/share:/usr/local/share:/usr/share", h->tmpdir);
}

/* A home of the user's own for its bridge (its runtime directory). */
static char *home_make(Harness *h, const char *user) {
        char *home = g_build_filename(h->tmpdir, "home", NULL);
        struct passwd *pw = getpwnam(user);

        g_assert_nonnull(pw);
        g_assert_cmpint(g_mkdir_with_parents(home, 0700), ==, 0);
        g_assert_cmpint(chown(home, pw->pw_uid, pw->pw_gid), ==, 0);
        return home;
}

/* The median of 5 GetManagedObjects round trips, ms. */
static double gmo_ms(Harness *h) {
        double v[5];

        g_autoptr(GVariant) warm = harness_managed_objects(h);
        for (int i = 0; i < 5; i++) {
                gint64 t0 = g_get_monotonic_time();
                g_autoptr(GVariant) objects = harness_managed_objects(h);
                v[i] = (g_get_monotonic_time() - t0) / 1000.0;
        }
        for (int i = 1; i < 5; i++)
                for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
                        double t = v[j];
                        v[j] = v[j - 1];
                        v[j - 1] = t;
                }
        return v[2];
}

/* "sriov PF TOTAL N": the PF's sriov_totalvfs raised to TOTAL, then N VFs
 * enabled as the kernel would; *ms: from the kernel's part to the last of
 * the N InterfacesAdded at this process's own client (the floor of the
 * same burst), 0 for N = 0. */
static bool sriov_run(Node *n, const char *args, double *ms) {
        char pf[32];
        unsigned total, count;

        if (sscanf(args, "%31s %u %u", pf, &total, &count) != 3)
                return false;
        g_autofree char *total_s = g_strdup_printf("%u", total);
        harness_wait_signals(n->h, "+", 0, 0);  /* what came before, read */
        harness_clear_signals(n->h);
        gint64 t0 = g_get_monotonic_time();
        fakekernel_lock(n->fk);
        testbed_set_attr(n->h->testbed, pf, "sriov_totalvfs", total_s);
        testbed_sriov_set(n->h->testbed, pf, count);
        fakekernel_unlock(n->fk);
        if (count > 0 && !harness_wait_signals(n->h, "+", count, 60000))
                return false;
        *ms = count > 0 ? (g_get_monotonic_time() - t0) / 1000.0 : 0;
        return true;
}

/* One command of the suite, one line: the kernel's part. */
static const char *command_run(Node *n, const char *line) {
        static char answer[64];

        if (g_str_equal(line, "gmo")) {
                g_snprintf(answer, sizeof(answer), "ok %.3f\n", gmo_ms(n->h));
                return answer;
        }
        double ms;
        if (g_str_has_prefix(line, "sriov ")) {
                if (!sriov_run(n, line + 6, &ms))
                        return "error usage: sriov PF TOTAL N, or the VFs did not come\n";
                g_snprintf(answer, sizeof(answer), "ok %.3f\n", ms);
                return answer;
        }
        if (g_str_has_prefix(line, "remove ")) {
                fakekernel_lock(n->fk);
                g_autofree char *dir = testbed_device_dir(n->h->testbed, line + 7);
                if (dir)
                        testbed_remove(n->h->testbed, line + 7);
                fakekernel_unlock(n->fk);
                return dir ? "ok\n" : "error no such device\n";
        }
        if (g_str_has_prefix(line, "refuse-unbind ")) {
                fakekernel_refuse_unbind(n->fk, line + 14);
                return "ok\n";
        }
        return "error unknown command\n";
}

static gboolean on_command(GIOChannel *channel, GIOCondition cond, gpointer data) {
        Node *n = data;
        g_autofree char *line = NULL;
        gsize len, written;

        if (g_io_channel_read_line(channel, &line, &len, NULL, NULL) != G_IO_STATUS_NORMAL)
                return G_SOURCE_REMOVE;
        g_strchomp(line);
        const char *answer = command_run(n, line);
        g_io_channel_write_chars(channel, answer, -1, &written, NULL);
        g_io_channel_flush(channel, NULL);
        return G_SOURCE_CONTINUE;
}

static void on_suite_exit(GPid pid, int wait_status, gpointer data) {
        Node *n = data;

        n->status = g_spawn_check_wait_status(wait_status, NULL) ? EXIT_SUCCESS : EXIT_FAILURE;
        g_spawn_close_pid(pid);
        g_main_loop_quit(n->loop);
}

static gboolean on_stop(gpointer data) {
        g_main_loop_quit(((Node *) data)->loop);
        return G_SOURCE_REMOVE;
}

static bool suite_start(Node *n, char **argv, char **env) {
        int pair[2];
        g_autoptr(GError) error = NULL;
        GPid pid;

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
        int source_fds[] = { pair[1] }, target_fds[] = { 3 };
        if (!g_spawn_async_with_pipes_and_fds(NULL, (const char *const *) argv, (const char *const *) env,
                                              G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | HARNESS_SPAWN, NULL,
                                              NULL, -1, -1, -1, source_fds, target_fds, 1, &pid, NULL, NULL, NULL,
                                              &error)) {
                fprintf(stderr, "cockpit-node: cannot run %s: %s (install nodejs: .ci/deps)\n", argv[0],
                        error->message);
                close(pair[0]);
                close(pair[1]);
                return false;
        }
        close(pair[1]);
        GIOChannel *channel = g_io_channel_unix_new(pair[0]);
        g_io_channel_set_close_on_unref(channel, TRUE);
        g_io_add_watch(channel, G_IO_IN | G_IO_HUP, on_command, n);
        g_io_channel_unref(channel);
        g_child_watch_add(pid, on_suite_exit, n);
        return true;
}

/* The GPU server, or a generated node (nodegen:N), with polkitd and a
 * fake kernel that has vfio-pci. */
static void node_start(Node *n) {
        const char *name = g_getenv("DEVPASS_COCKPIT_NODE");

        if (!name || !g_str_has_prefix(name, "nodegen:")) {
                n->h = calls_gpu_server(NULL, &n->fk);
                return;
        }
        n->h = harness_prepare(NULL);
        nodegen_write(testbed_sys_dir(n->h->testbed), (unsigned) strtoul(name + 8, NULL, 10));
        harness_daemon_start(n->h, NULL);
        harness_polkit_start(n->h, NULL);
        n->fk = fakekernel_new(n->h->testbed);
        fakekernel_load_vfio(n->fk, true);
}

int main(int argc, char *argv[]) {
        Node n = { .status = EXIT_FAILURE };

        node_start(&n);
        n.loop = g_main_loop_new(NULL, FALSE);
        g_autofree char *share = share_make(n.h);
        unsigned port = 0, port_nobody = 0;
        GPid ws = ws_start(share, NULL, NULL, NULL, &port);
        g_autofree char *home = home_make(n.h, "nobody");
        GPid ws_nobody = ws ? ws_start(share, home, "nobody", "nogroup", &port_nobody) : 0;
        g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u/cockpit/@localhost/devpass/index.html", port);
        g_autofree char *url_nobody =
                g_strdup_printf("http://127.0.0.1:%u/cockpit/@localhost/devpass/index.html", port_nobody);

        bool run = ws_nobody != 0;
        if (run && argc > 1) {
                g_auto(GStrv) env = child_env(share);
                env = g_environ_setenv(env, "DEVPASS_COCKPIT_URL", url, TRUE);
                env = g_environ_setenv(env, "DEVPASS_COCKPIT_URL_NOBODY", url_nobody, TRUE);
                run = suite_start(&n, argv + 1, env);
        } else if (run) {
                printf("devpassd runs on the GPU-server node, Cockpit serves its page:\n\n"
                       "  %s   (administrative access: root)\n"
                       "  %s   (no administrative access: nobody)\n\n"
                       "From another terminal, change it and watch the page follow:\n"
                       "  DBUS_SYSTEM_BUS_ADDRESS=%s build/client/devpassctl status\n"
                       "Ctrl-C stops everything.\n",
                       url, url_nobody, n.h->bus_address);
                fflush(stdout);
                n.status = EXIT_SUCCESS;
                g_unix_signal_add(SIGINT, on_stop, &n);
                g_unix_signal_add(SIGTERM, on_stop, &n);
        }
        if (run)
                g_main_loop_run(n.loop);

        ws_stop(ws);
        ws_stop(ws_nobody);
        g_main_loop_unref(n.loop);
        calls_stop(n.h, n.fk);
        if (argc == 1)
                printf("Stopped.\n");
        return n.status;
}
