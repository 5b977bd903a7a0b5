/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One devpassd per state directory and per bus: a second one, on either,
 * exits at once with a message that names what is in the way, and the
 * first goes on serving as if nothing happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"

/* The first daemon still owns the name, answers, and has no complaint. */
static void assert_first_serves(Harness *h) {
        g_autofree char *node = calls_prop_string(h, "/org/devpass1", MANAGER, "Node");
        assert_string_equal(node, "testnode");
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusConnection) bus = harness_connect(h);
        g_autoptr(GVariant) pid = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                              "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                                              g_variant_new("(s)", "org.devpass1"),
                                                              G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                                              NULL, &error);
        g_assert_no_error(error);
        guint32 p;
        g_variant_get(pid, "(u)", &p);
        assert_int_equal(p, h->daemon_pid);
        g_autofree char *log = harness_daemon_log(h);
        assert_null(strstr(log, "warning"));
        assert_null(strstr(log, "critical"));
        g_autofree char *state = calls_device_string(h, "0000:17:00.0", "State");
        assert_string_equal(state, "host");
}

/* Same state directory, same bus: the lock says who has it. */
static void test_same_state(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        g_autofree char *log = NULL;
        g_autofree char *dir = harness_state_dir(h);

        int status = harness_daemon_run_other(h, NULL, &log, 10000);
        assert_int_equal(status, 1);
        g_autofree char *want = g_strdup_printf("Another devpassd (pid %d) uses %s", (int) h->daemon_pid, dir);
        if (!strstr(log, want))
                fail_msg("no '%s' in the second devpassd's log:\n%s", want, log);
        assert_null(strstr(log, "Serving"));
        assert_null(strstr(log, "critical"));
        assert_first_serves(h);
        harness_daemon_stop(h);
}

/* Another state directory on the same bus: the name is taken. */
static void test_same_bus(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        g_autofree char *log = NULL;
        g_autofree char *other = g_build_filename(h->tmpdir, "other-state", NULL);

        int status = harness_daemon_run_other(h, other, &log, 10000);
        assert_int_equal(status, 1);
        g_autofree char *want = g_strdup_printf("org.devpass1 is owned by another process (pid %d) on this bus",
                                                (int) h->daemon_pid);
        if (!strstr(log, want))
                fail_msg("no '%s' in the second devpassd's log:\n%s", want, log);
        assert_null(strstr(log, "Serving"));
        assert_null(strstr(log, "critical"));
        assert_first_serves(h);

        /* Its lock went with it: the directory is free for the next. */
        harness_daemon_stop(h);
        g_autofree char *lock = g_build_filename(other, "devpassd.lock", NULL);
        assert_true(g_file_test(lock, G_FILE_TEST_EXISTS));
        harness_daemon_start(h, (const char *const[]) { "--state-dir", other, NULL });
        harness_daemon_stop(h);
}

/* A bus whose policy does not let devpassd own its name (org.devpass1.conf
 * not installed where dbus-daemon reads it): the message says so and what
 * to do, not that another devpassd is in the way. */
static void test_no_bus_policy(void **state) {
        g_autofree char *template = NULL, *log = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *orig = g_strdup(harness_path("DEVPASS_TEST_BUS_CONFIG"));

        assert_true(g_file_get_contents(orig, &template, NULL, &error));
        g_auto(GStrv) parts = g_strsplit(template, "<allow own=\"*\"/>", -1);
        assert_int_equal(g_strv_length(parts), 2);
        g_autofree char *denying = g_strjoinv("<allow own=\"*\"/><deny own=\"org.devpass1\"/>", parts);
        g_autofree char *dir = g_dir_make_tmp("devpass-policy-XXXXXX", &error);
        g_assert_no_error(error);
        g_autofree char *path = g_build_filename(dir, "system-bus.conf.in", NULL);
        assert_true(g_file_set_contents(path, denying, -1, &error));
        g_setenv("DEVPASS_TEST_BUS_CONFIG", path, TRUE);
        g_autoptr(Harness) h = harness_prepare("gpu-server.umockdev");
        g_setenv("DEVPASS_TEST_BUS_CONFIG", orig, TRUE);

        int status = harness_daemon_run_other(h, NULL, &log, 10000);
        assert_int_equal(status, 1);
        if (!strstr(log, "The system bus does not let devpassd own org.devpass1: its bus policy is missing") ||
            !strstr(log, "systemctl reload dbus"))
                fail_msg("no missing-policy message in devpassd's log:\n%s", log);
        assert_null(strstr(log, "another"));
        assert_null(strstr(log, "Serving"));
        (void) unlink(path);
        (void) rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_state),
                cmocka_unit_test(test_same_bus),
                cmocka_unit_test(test_no_bus_policy),
        };
        return cmocka_run_group_tests_name("instances", tests, NULL, NULL);
}
