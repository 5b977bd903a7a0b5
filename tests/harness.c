/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *harness_path(const char *env_name) {
        const char *p = getenv(env_name);

        if (!p) {
                fprintf(stderr, "harness: %s is not set: run the tests with 'meson test'\n", env_name);
                abort();
        }
        return p;
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void signal_free(HarnessSignal *s) {
        g_free(s->kind);
        g_free(s->path);
        if (s->properties)
                g_ptr_array_unref(s->properties);
        g_free(s);
}

char **harness_environ(Harness *h) {
        char **env = g_get_environ();

        if (h->bus_address)
                env = g_environ_setenv(env, "DBUS_SYSTEM_BUS_ADDRESS", h->bus_address, TRUE);
        g_autofree char *root = g_path_get_dirname(testbed_sys_dir(h->testbed));
        return g_environ_setenv(env, "UMOCKDEV_DIR", root, TRUE);
}

static void bus_start(Harness *h) {
        g_autofree char *template = NULL, *config = NULL, *config_path = NULL, *socket = NULL;
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(harness_path("DEVPASS_TEST_BUS_CONFIG"), &template, &len, &error));
        socket = g_build_filename(h->tmpdir, "system_bus_socket", NULL);
        g_auto(GStrv) parts = g_strsplit(template, "@SOCKET@", -1);
        config = g_strjoinv(socket, parts);
        config_path = g_build_filename(h->tmpdir, "system-bus.conf", NULL);
        g_assert_true(g_file_set_contents(config_path, config, -1, &error));

        const char *argv[] = { "dbus-daemon", "--config-file", config_path, "--fork",
                               "--print-pid", "--print-address", NULL };
        int status;
        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, HARNESS_SPAWN | G_SPAWN_SEARCH_PATH, NULL, NULL,
                                   &out, NULL, &status, &error));
        g_assert_cmpint(status, ==, 0);
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        g_assert_nonnull(lines[0]);
        g_assert_nonnull(lines[1]);
        h->bus_address = g_strdup(lines[0]);
        h->bus_pid = atoi(lines[1]);
        g_assert_cmpint(h->bus_pid, >, 0);
        /* From here on anything in this process (and its children) that
         * asks for the system bus gets the private one. */
        g_setenv("DBUS_SYSTEM_BUS_ADDRESS", h->bus_address, TRUE);
}

/* Appends the names of an a{sv}, skipping the values. */
static void read_prop_names(sd_bus_message *m, GPtrArray *names) {
        const char *name;

        g_assert_cmpint(sd_bus_message_enter_container(m, 'a', "{sv}"), >=, 0);
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                g_assert_cmpint(sd_bus_message_read(m, "s", &name), >=, 0);
                g_ptr_array_add(names, g_strdup(name));
                g_assert_cmpint(sd_bus_message_skip(m, "v"), >=, 0);
                g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
        }
        g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Harness *h = userdata;
        HarnessSignal *s = g_new0(HarnessSignal, 1);
        const char *member = sd_bus_message_get_member(m);

        s->properties = g_ptr_array_new_with_free_func(g_free);
        if (g_str_equal(member, "InterfacesAdded") || g_str_equal(member, "InterfacesRemoved")) {
                const char *path;
                g_assert_cmpint(sd_bus_message_read(m, "o", &path), >=, 0);
                s->kind = g_strdup(g_str_equal(member, "InterfacesAdded") ? "+" : "-");
                s->path = g_strdup(path);
                if (s->kind[0] == '+') {
                        /* a{sa{sv}}: record the property names of org.devpass1.Device */
                        g_assert_cmpint(sd_bus_message_enter_container(m, 'a', "{sa{sv}}"), >=, 0);
                        while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                                const char *iface;
                                g_assert_cmpint(sd_bus_message_read(m, "s", &iface), >=, 0);
                                read_prop_names(m, s->properties);
                                g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
                        }
                }
        } else {
                s->kind = g_strdup("~");
                s->path = g_strdup(sd_bus_message_get_path(m));
                g_assert_cmpint(sd_bus_message_skip(m, "s"), >=, 0);
                read_prop_names(m, s->properties);
        }
        g_ptr_array_add(h->signals, s);
        return 0;
}

void harness_watch_sender(Harness *h, const char *sender) {
        g_assert_cmpint(sd_bus_match_signal(h->bus, NULL, sender, NULL, "org.freedesktop.DBus.ObjectManager", NULL,
                                            on_signal, h), >=, 0);
        g_assert_cmpint(sd_bus_match_signal(h->bus, NULL, sender, NULL, "org.freedesktop.DBus.Properties",
                                            "PropertiesChanged", on_signal, h), >=, 0);
}

static void client_connect(Harness *h) {
        g_assert_cmpint(sd_bus_open_system(&h->bus), >=, 0);
        harness_watch_sender(h, "org.devpass1");
}

static int on_name_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old_owner, *new_owner;
        bool *owned = userdata;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0)
                *owned = new_owner[0] != '\0';
        return 0;
}

static bool name_owned(Harness *h, void *data) {
        if (*(bool *) data)
                return true;
        /* A daemon that died will not own it: say so at once. */
        int status;
        if (waitpid(h->daemon_pid, &status, WNOHANG) == h->daemon_pid) {
                g_autofree char *log = harness_daemon_log(h);
                fprintf(stderr, "harness: devpassd exited (status 0x%x) before owning org.devpass1; its log:\n%s\n",
                        status, log);
                abort();
        }

        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int owned = 0;

        if (sd_bus_call_method(h->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "NameHasOwner", &error, &reply, "s",
                               "org.devpass1") >= 0)
                (void) sd_bus_message_read(reply, "b", &owned);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return owned;
}

/* devpassd's command line on the harness's node and bus (argv borrows
 * the strings). */
static GPtrArray *daemon_argv(Harness *h, const char *config, const char *state, const char *boot,
                              const char *root, const char *const *extra_args) {
        GPtrArray *argv = g_ptr_array_new();

        g_ptr_array_add(argv, (char *) harness_path("DEVPASSD"));
        g_ptr_array_add(argv, "--config");
        g_ptr_array_add(argv, (char *) config);
        g_ptr_array_add(argv, "--node");
        g_ptr_array_add(argv, h->node);
        /* The store and the boot-time list in the test's directory, the safety guard's proc/ and
         * dev/ beside the testbed's sys/, and a fake kernel that answers
         * in milliseconds. */
        g_ptr_array_add(argv, "--state-dir");
        g_ptr_array_add(argv, (char *) state);
        g_ptr_array_add(argv, "--boot-dir");
        g_ptr_array_add(argv, (char *) boot);
        g_ptr_array_add(argv, "--root");
        g_ptr_array_add(argv, (char *) root);
        g_ptr_array_add(argv, "--settle-ms");
        g_ptr_array_add(argv, "500");
        for (size_t i = 0; extra_args && extra_args[i]; i++)
                g_ptr_array_add(argv, (char *) extra_args[i]);
        g_ptr_array_add(argv, NULL);
        return argv;
}

void harness_daemon_start(Harness *h, const char *const *extra_args) {
        g_autoptr(GError) error = NULL;
        g_autofree char *config = g_build_filename(h->tmpdir, "devpassd.conf", NULL);
        g_autofree char *state = harness_state_dir(h);
        g_autofree char *root = g_path_get_dirname(testbed_sys_dir(h->testbed));
        /* Tables that exist also keep umockdev's preload from counting a
         * failed open under /dev (TMPDIR is /dev/shm) in a table it never
         * frees. */
        testbed_host_skeleton(h->testbed);

        g_assert_cmpint(h->daemon_pid, ==, 0);
        g_autofree char *boot = g_build_filename(state, HARNESS_BOOT_DIR, NULL);
        g_autoptr(GPtrArray) argv = daemon_argv(h, config, state, boot, root, extra_args);

        /* Its log goes to a file the test can read (harness_daemon_log). */
        g_autofree char *log_path = g_build_filename(h->tmpdir, "devpassd.log", NULL);
        int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        g_assert_cmpint(log_fd, >=, 0);
        g_auto(GStrv) env = harness_environ(h);
        g_assert_true(g_spawn_async_with_fds(NULL, (char **) argv->pdata, env, HARNESS_SPAWN | G_SPAWN_DO_NOT_REAP_CHILD,
                                             NULL, NULL, &h->daemon_pid, -1, log_fd, log_fd, &error));
        close(log_fd);
        /* Woken by NameOwnerChanged, not by polling: the benchmark times this. */
        sd_bus_slot *slot = NULL;
        bool owned = false;
        g_assert_cmpint(sd_bus_add_match(h->bus, &slot,
                                         "type='signal',sender='org.freedesktop.DBus',"
                                         "member='NameOwnerChanged',arg0='org.devpass1'",
                                         on_name_owner, &owned), >=, 0);
        bool ok = harness_wait(h, name_owned, &owned, 60000);
        sd_bus_slot_unref(slot);
        if (!ok) {
                g_autofree char *log = harness_daemon_log(h);
                fprintf(stderr, "harness: devpassd did not own org.devpass1 within 60 s; its log:\n%s\n", log);
                abort();
        }
}

int harness_daemon_terminate(Harness *h) {
        int status = -1;

        g_assert_cmpint(h->daemon_pid, >, 0);
        g_assert_cmpint(kill(h->daemon_pid, SIGTERM), ==, 0);
        for (int i = 0; i < 1000; i++) {
                pid_t r = waitpid(h->daemon_pid, &status, WNOHANG);
                if (r == h->daemon_pid)
                        break;
                status = -1;
                g_usleep(5000);
        }
        if (status == -1) {
                /* Hung: not left behind for the next test. */
                (void) kill(h->daemon_pid, SIGKILL);
                (void) waitpid(h->daemon_pid, NULL, 0);
        }
        h->daemon_pid = 0;
        return status;
}

void harness_daemon_stop(Harness *h) {
        int status = harness_daemon_terminate(h);

        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                /* A leak found by LeakSanitizer is an exit status too. */
                g_autofree char *log = harness_daemon_log(h);
                fprintf(stderr, "harness: devpassd did not exit cleanly (status 0x%x); its log:\n%s\n", status, log);
                abort();
        }
}

void harness_daemon_kill(Harness *h) {
        g_assert_cmpint(h->daemon_pid, >, 0);
        g_assert_cmpint(kill(h->daemon_pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(h->daemon_pid, NULL, 0), ==, h->daemon_pid);
        h->daemon_pid = 0;
}

void harness_config_add(Harness *h, const char *text) {
        g_autofree char *path = g_build_filename(h->tmpdir, "devpassd.conf", NULL);
        g_autofree char *old = NULL;
        g_autoptr(GError) error = NULL;

        g_assert_true(g_file_get_contents(path, &old, NULL, &error));
        g_autofree char *joined = g_strconcat(old, text, NULL);
        g_assert_true(g_file_set_contents(path, joined, -1, &error));
}

typedef struct {
        GPid pid;
        int status;
} OtherDaemon;

static bool other_exited(Harness *h, void *data) {
        OtherDaemon *o = data;
        return waitpid(o->pid, &o->status, WNOHANG) == o->pid;
}

int harness_daemon_run_other(Harness *h, const char *state_dir, char **log, unsigned timeout_ms) {
        g_autoptr(GError) error = NULL;
        g_autofree char *config = g_build_filename(h->tmpdir, "devpassd.conf", NULL);
        g_autofree char *state = state_dir ? g_strdup(state_dir) : harness_state_dir(h);
        g_autofree char *root = g_path_get_dirname(testbed_sys_dir(h->testbed));
        g_autofree char *log_path = g_build_filename(h->tmpdir, "devpassd-other.log", NULL);
        g_autofree char *boot = g_build_filename(state, HARNESS_BOOT_DIR, NULL);
        g_autoptr(GPtrArray) argv = daemon_argv(h, config, state, boot, root, NULL);
        OtherDaemon o = { 0, -1 };

        int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint(log_fd, >=, 0);
        g_auto(GStrv) env = harness_environ(h);
        g_assert_true(g_spawn_async_with_fds(NULL, (char **) argv->pdata, env, HARNESS_SPAWN | G_SPAWN_DO_NOT_REAP_CHILD,
                                             NULL, NULL, &o.pid, -1, log_fd, log_fd, &error));
        close(log_fd);
        int result = -1;
        if (harness_wait(h, other_exited, &o, timeout_ms))
                result = WIFEXITED(o.status) ? WEXITSTATUS(o.status) : 128 + WTERMSIG(o.status);
        else {
                /* Still running: the very thing it must not do. */
                (void) kill(o.pid, SIGKILL);
                (void) waitpid(o.pid, NULL, 0);
        }
        g_assert_true(g_file_get_contents(log_path, log, NULL, NULL));
        return result;
}

Harness *harness_new(const char *fixture, const char *const *extra_args) {
        Harness *h = harness_prepare(fixture);

        harness_daemon_start(h, extra_args);
        return h;
}

Harness *harness_prepare(const char *fixture) {
        Harness *h = g_new0(Harness, 1);
        g_autoptr(GError) error = NULL;

        h->testbed = testbed_new();
        if (fixture) {
                g_autofree char *path = g_build_filename(harness_path("DEVPASS_FIXTURES"), fixture, NULL);
                testbed_load(h->testbed, path);
                testbed_load_host(h->testbed, path);
        }
        h->tmpdir = g_dir_make_tmp("devpass-test-XXXXXX", &error);
        g_assert_no_error(error);
        /* Other users (polkitd, the users a test runs clients as) reach
         * the bus socket inside it. */
        g_assert_cmpint(chmod(h->tmpdir, 0755), ==, 0);
        h->signals = g_ptr_array_new_with_free_func((GDestroyNotify) signal_free);
        h->node = g_strdup("testnode");
        /* Never the host's modprobe: a test that needs vfio-pci loads it
         * in the testbed (fakekernel_load_vfio). */
        g_autofree char *config = g_build_filename(h->tmpdir, "devpassd.conf", NULL);
        g_assert_true(g_file_set_contents(config, "[Daemon]\nModprobe=/bin/false\n", -1, &error));
        bus_start(h);
        client_connect(h);
        return h;
}

int harness_call_as(Harness *h, const char *user, const char *const *gdbus_args, char **err) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        int status;

        g_ptr_array_add(argv, g_strdup("setpriv"));
        g_ptr_array_add(argv, g_strdup_printf("--reuid=%s", user));
        g_ptr_array_add(argv, g_strdup_printf("--regid=%s", g_str_equal(user, "nobody") ? "nogroup" : user));
        g_ptr_array_add(argv, g_strdup("--clear-groups"));
        const char *head[] = { "gdbus", "call", "--system", "--dest", "org.devpass1", NULL };
        for (size_t i = 0; head[i]; i++)
                g_ptr_array_add(argv, g_strdup(head[i]));
        for (size_t i = 0; gdbus_args[i]; i++)
                g_ptr_array_add(argv, g_strdup(gdbus_args[i]));
        g_ptr_array_add(argv, NULL);
        g_auto(GStrv) env = harness_environ(h);
        g_assert_true(g_spawn_sync(NULL, (char **) argv->pdata, env, HARNESS_SPAWN | G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                                   NULL, NULL, NULL, err, &status, &error));
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void polkit_unmount(Harness *h);

void harness_remove_tree(const char *path) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;

        while (dir && (name = g_dir_read_name(dir))) {
                g_autofree char *child = g_build_filename(path, name, NULL);
                if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
                        harness_remove_tree(child);
                else
                        (void) unlink(child);
        }
        (void) rmdir(path);
}

/* GIO keeps one shared system bus connection per process (polkit's, in
 * tests that link the auth room), and raises SIGTERM when its bus dies.
 * Close it while this test's bus is still up, so that the next test gets
 * a fresh one and this one dies quietly. */
static void gio_bus_close(void) {
        g_autoptr(GDBusConnection) c = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, NULL);

        if (!c)
                return;
        g_dbus_connection_set_exit_on_close(c, FALSE);
        (void) g_dbus_connection_close_sync(c, NULL, NULL);
}

void harness_free(Harness *h) {
        if (!h)
                return;
        if (h->connection) {
                (void) g_dbus_connection_close_sync(h->connection, NULL, NULL);
                g_object_unref(h->connection);
        }
        /* Stopped as systemd would, so that every test also checks a clean
         * exit (and, sanitized, that nothing leaked). */
        if (h->daemon_pid > 0)
                harness_daemon_stop(h);
        harness_polkit_stop(h);
        polkit_unmount(h);
        sd_bus_flush_close_unref(h->bus);
        if (h->bus_pid > 0) {
                gio_bus_close();
                kill(h->bus_pid, SIGTERM);
        }
        g_ptr_array_unref(h->signals);
        if (h->tmpdir)
                harness_remove_tree(h->tmpdir);
        g_free(h->tmpdir);
        g_free(h->bus_address);
        g_free(h->node);
        testbed_free(h->testbed);
        g_unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
        g_free(h);
}

bool harness_wait(Harness *h, bool (*pred)(Harness *h, void *data), void *data, unsigned timeout_ms) {
        uint64_t end = now_ms() + timeout_ms;

        for (;;) {
                while (sd_bus_process(h->bus, NULL) > 0)
                        ;
                if (pred(h, data))
                        return true;
                uint64_t now = now_ms();
                if (now >= end)
                        return false;
                (void) sd_bus_wait(h->bus, MIN(end - now, 50) * 1000);
        }
}

guint harness_count_signals(Harness *h, const char *kind, const char *path) {
        guint n = 0;

        for (guint i = 0; i < h->signals->len; i++) {
                HarnessSignal *s = h->signals->pdata[i];
                if (g_str_equal(s->kind, kind) && (!path || g_str_equal(s->path, path)))
                        n++;
        }
        return n;
}

typedef struct {
        const char *kind;
        guint count;
} SignalCount;

static bool enough_signals(Harness *h, void *data) {
        SignalCount *c = data;
        return harness_count_signals(h, c->kind, NULL) >= c->count;
}

bool harness_wait_signals(Harness *h, const char *kind, guint count, unsigned timeout_ms) {
        SignalCount c = { kind, count };
        return harness_wait(h, enough_signals, &c, timeout_ms);
}

void harness_clear_signals(Harness *h) {
        g_ptr_array_set_size(h->signals, 0);
}

int harness_ctl(Harness *h, char **out, char **err, const char *const *args) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autoptr(GError) error = NULL;
        int status;

        g_ptr_array_add(argv, (char *) harness_path("DEVPASSCTL"));
        for (size_t i = 0; args && args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);
        g_auto(GStrv) env = harness_environ(h);
        g_assert_true(g_spawn_sync(NULL, (char **) argv->pdata, env, HARNESS_SPAWN, NULL, NULL,
                                   out, err, &status, &error));
        g_assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static GDBusConnection *connect_bus(Harness *h, GError **error) {
        return g_dbus_connection_new_for_address_sync(
                h->bus_address,
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, error);
}

GDBusConnection *harness_connect(Harness *h) {
        g_autoptr(GError) error = NULL;
        GDBusConnection *c = connect_bus(h, &error);

        g_assert_no_error(error);
        return c;
}

GVariant *harness_call(Harness *h, const char *path, const char *interface, const char *method,
                       GVariant *args, GError **error) {
        g_autoptr(GDBusConnection) fresh = NULL;
        GDBusConnection *c = h->connection;

        if (!c && !(c = fresh = connect_bus(h, error)))
                return NULL;
        return g_dbus_connection_call_sync(c, "org.devpass1", path, interface, method, args, NULL,
                                           G_DBUS_CALL_FLAGS_NO_AUTO_START, 30000, NULL, error);
}

GVariant *harness_managed_objects(Harness *h) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = harness_call(h, "/org/devpass1", "org.freedesktop.DBus.ObjectManager",
                                                 "GetManagedObjects", NULL, &error);
        g_assert_no_error(error);
        return g_variant_get_child_value(reply, 0);
}

guint harness_count_devices(GVariant *objects) {
        GVariantIter it;
        const char *path;
        guint n = 0;

        g_variant_iter_init(&it, objects);
        while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &path, NULL))
                n += g_str_has_prefix(path, "/org/devpass1/devices/");
        return n;
}

GVariant *harness_device_props(GVariant *objects, const char *address) {
        g_autofree char *path = g_strdup_printf("/org/devpass1/devices/%s", address);
        g_autoptr(GVariant) ifaces = NULL;

        g_strdelimit(path + strlen("/org/devpass1/devices/"), ":.", '_');
        ifaces = g_variant_lookup_value(objects, path, G_VARIANT_TYPE("a{sa{sv}}"));
        if (!ifaces)
                return NULL;
        return g_variant_lookup_value(ifaces, "org.devpass1.Device", G_VARIANT_TYPE("a{sv}"));
}

char *harness_state_dir(Harness *h) {
        return g_build_filename(h->tmpdir, "state", NULL);
}

char *harness_daemon_log(Harness *h) {
        g_autofree char *path = g_build_filename(h->tmpdir, "devpassd.log", NULL);
        char *contents = NULL;

        if (!g_file_get_contents(path, &contents, NULL, NULL))
                return g_strdup("");
        return contents;
}

int harness_setup_gpu_server(void **state) {
        *state = harness_new("gpu-server.umockdev", NULL);
        return 0;
}

int harness_teardown(void **state) {
        harness_free(*state);
        return 0;
}

/* The real polkitd reads its actions and rules from compiled-in paths:
 * the test's own files are bind-mounted over them, which is only allowed
 * in a private mount namespace (meson runs these tests under unshare). */
static void assert_private_mount_namespace(void) {
        g_autofree char *parent_ns = g_strdup_printf("/proc/%d/ns/mnt", (int) getppid());
        struct stat self, parent;

        /* unshare(1) execs the test: its parent (the test runner) is still
         * in the namespace the mounts must not reach. */
        if (stat("/proc/self/ns/mnt", &self) < 0 || stat(parent_ns, &parent) < 0 ||
            self.st_ino == parent.st_ino) {
                fprintf(stderr, "harness: polkit tests must run in their own mount namespace "
                                "(unshare --mount --propagation private)\n");
                abort();
        }
}

static const char *const polkit_dirs[] = {
        "/usr/share/polkit-1/actions", "/etc/polkit-1/rules.d", "/usr/share/polkit-1/rules.d",
};

static void bind_over(const char *source, const char *target) {
        if (!g_file_test(target, G_FILE_TEST_IS_DIR))
                return;
        if (mount(source, target, NULL, MS_BIND, NULL) < 0) {
                fprintf(stderr, "harness: cannot bind %s over %s: %s\n", source, target, g_strerror(errno));
                abort();
        }
}

static bool polkit_owned(Harness *h, void *data) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int owned = 0;

        if (sd_bus_call_method(h->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", "org.freedesktop.PolicyKit1") >= 0)
                (void) sd_bus_message_read(reply, "b", &owned);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return owned;
}

void harness_polkit_start(Harness *h, const char *rules) {
        g_autofree char *actions = g_build_filename(h->tmpdir, "polkit-actions", NULL);
        g_autofree char *rules_dir = g_build_filename(h->tmpdir, "polkit-rules", NULL);
        g_autofree char *policy = g_build_filename(actions, "org.devpass1.policy", NULL);
        g_autofree char *rules_file = g_build_filename(rules_dir, "50-test.rules", NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;

        assert_private_mount_namespace();
        g_assert_cmpint(g_mkdir_with_parents(actions, 0755), ==, 0);
        g_assert_cmpint(g_mkdir_with_parents(rules_dir, 0755), ==, 0);
        g_assert_true(g_file_get_contents(harness_path("DEVPASS_POLKIT_POLICY"), &contents, NULL, &error));
        g_assert_true(g_file_set_contents(policy, contents, -1, &error));
        g_assert_true(g_file_set_contents(rules_file, rules ?: "", -1, &error));
        g_assert_cmpint(chmod(policy, 0644), ==, 0);
        g_assert_cmpint(chmod(rules_file, 0644), ==, 0);
        bind_over(actions, polkit_dirs[0]);
        bind_over(rules_dir, polkit_dirs[1]);
        bind_over(rules_dir, polkit_dirs[2]);
        h->polkit_mounted = true;

        const char *argv[] = { "/usr/lib/polkit-1/polkitd", "--no-debug", NULL };
        g_auto(GStrv) env = harness_environ(h);
        g_assert_true(g_spawn_async(NULL, (char **) argv, env, HARNESS_SPAWN | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                    NULL, NULL, &h->polkit_pid, &error));
        /* As long as devpassd gets: under ASan, with three nodes and
         * their etcd members starting at once on two CPUs, polkitd once
         * took more than ten seconds. */
        if (!harness_wait(h, polkit_owned, NULL, 60000)) {
                int status;
                if (waitpid(h->polkit_pid, &status, WNOHANG) == h->polkit_pid) {
                        h->polkit_pid = 0;
                        fprintf(stderr, "harness: polkitd exited before it took its name (status %d)\n", status);
                } else
                        fprintf(stderr, "harness: polkitd did not take its name in 60 s\n");
                abort();
        }
}

void harness_polkit_stop(Harness *h) {
        if (h->polkit_pid > 0) {
                kill(h->polkit_pid, SIGTERM);
                waitpid(h->polkit_pid, NULL, 0);
                h->polkit_pid = 0;
        }
}

static void polkit_unmount(Harness *h) {
        if (!h->polkit_mounted)
                return;
        for (size_t i = 0; i < G_N_ELEMENTS(polkit_dirs); i++)
                (void) umount2(polkit_dirs[i], MNT_DETACH);
        h->polkit_mounted = false;
}
