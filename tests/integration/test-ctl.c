/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl against a running devpassd: the table, the JSON, one device,
 * monitor, and its exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "harness.h"

static void assert_ctl_fails(Harness *h, const char *const *args, int want_status, const char *in_err);

static char *ctl_ok(Harness *h, const char *const *args) {
        char *out = NULL;
        g_autofree char *err = NULL;
        int status = harness_ctl(h, &out, &err, args);
        if (status != 0)
                fail_msg("devpassctl %s: exit %d: %s", args[0], status, err);
        return out;
}

static void test_devices_table(void **state) {
        Harness *h = *state;
        g_autofree char *out = ctl_ok(h, (const char *const[]) { "devices", NULL });
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        g_autoptr(GVariant) objects = harness_managed_objects(h);

        /* A header, then one row per function in address order. */
        guint rows = g_strv_length(lines) - (out[strlen(out) - 1] == '\n');
        assert_int_equal(rows, harness_count_devices(objects) + 1);
        const char *header = lines[0];
        const char *columns[] = { "ADDRESS", "NAME", "DRIVER", "IOMMU", "NUMA", "STATE", "GROUP" };
        for (size_t i = 0; i < G_N_ELEMENTS(columns); i++)
                if (!strstr(header, columns[i]))
                        fail_msg("header '%s' has no %s", header, columns[i]);

        /* Aligned: every row has its driver where the header says. */
        size_t driver_col = (size_t) (strstr(header, "DRIVER") - header);
        char previous[32] = "";
        for (guint i = 1; i < rows; i++) {
                char address[32];
                assert_int_equal(sscanf(lines[i], "%31s", address), 1);
                g_autoptr(GVariant) props = harness_device_props(objects, address);
                if (!props)
                        fail_msg("row %u names %s, which is no device", i, address);
                assert_true(strcmp(previous, address) < 0);
                g_strlcpy(previous, address, sizeof(previous));

                const char *driver;
                assert_true(g_variant_lookup(props, "Driver", "&s", &driver));
                assert_true(strlen(lines[i]) > driver_col);
                if (driver[0] && strncmp(lines[i] + driver_col, driver, strlen(driver)) != 0)
                        fail_msg("row '%s': driver %s not at column %zu", lines[i], driver, driver_col);
        }
        assert_non_null(strstr(out, "0000:17:00.0"));
        assert_non_null(strstr(out, "nvidia"));
        assert_non_null(strstr(out, "[10de:2230]"));
}

/* A device path as devpassctl's JSON gives it: the address. */
static void assert_json_path(JsonNode *n, const char *path) {
        if (g_str_equal(path, "/")) {
                assert_true(JSON_NODE_HOLDS_NULL(n));
                return;
        }
        const char *want = path;
        g_autofree char *address = NULL;
        if (g_str_has_prefix(path, "/org/devpass1/devices/")) {
                /* /org/devpass1/devices/0000_17_00_0 -> 0000:17:00.0 */
                address = g_strdup(path + strlen("/org/devpass1/devices/"));
                address[4] = ':';
                address[7] = ':';
                address[10] = '.';
                want = address;
        }
        assert_string_equal(json_node_get_string(n), want);
}

/* JSON carries every property under its lower-case key, with null for
 * none ("", "/", a -1 number). */
static void assert_json_matches(JsonObject *o, GVariant *props) {
        GVariantIter it;
        const char *name;
        GVariant *value;

        g_variant_iter_init(&it, props);
        while (g_variant_iter_next(&it, "{&sv}", &name, &value)) {
                g_autoptr(GVariant) v = value;
                /* IommuGroupMembers -> iommu_group_members */
                g_autoptr(GString) key = g_string_new(NULL);
                for (const char *p = name; *p; p++)
                        g_string_append_printf(key, "%s%c", g_ascii_isupper(*p) && p != name ? "_" : "",
                                               g_ascii_tolower(*p));
                if (!json_object_has_member(o, key->str))
                        fail_msg("JSON has no %s", key->str);
                JsonNode *n = json_object_get_member(o, key->str);
                if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING)) {
                        const char *s = g_variant_get_string(v, NULL);
                        if (s[0])
                                assert_string_equal(json_node_get_string(n), s);
                        else
                                assert_true(JSON_NODE_HOLDS_NULL(n));
                } else if (g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH))
                        assert_json_path(n, g_variant_get_string(v, NULL));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
                        assert_int_equal(json_node_get_boolean(n), g_variant_get_boolean(v));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT16))
                        assert_int_equal(json_node_get_int(n), g_variant_get_uint16(v));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
                        assert_int_equal(json_node_get_int(n), g_variant_get_uint32(v));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT32)) {
                        if (g_variant_get_int32(v) < 0)
                                assert_true(JSON_NODE_HOLDS_NULL(n));
                        else
                                assert_int_equal(json_node_get_int(n), g_variant_get_int32(v));
                } else if (g_variant_is_of_type(v, G_VARIANT_TYPE_BYTE))
                        assert_int_equal(json_node_get_int(n), g_variant_get_byte(v));
                else if (g_variant_is_container(v)) {
                        JsonArray *a = json_node_get_array(n);
                        assert_non_null(a);
                        assert_int_equal(json_array_get_length(a), g_variant_n_children(v));
                        for (guint i = 0; i < json_array_get_length(a); i++) {
                                g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
                                assert_json_path(json_array_get_element(a, i), g_variant_get_string(child, NULL));
                        }
                } else
                        fail_msg("property %s has an unexpected type", name);
        }
}

static void test_devices_json(void **state) {
        Harness *h = *state;
        g_autofree char *out = ctl_ok(h, (const char *const[]) { "devices", "--json", NULL });
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) objects = harness_managed_objects(h);

        if (!json_parser_load_from_data(parser, out, -1, &error))
                fail_msg("not JSON: %s", error->message);
        JsonArray *a = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)), "devices");
        assert_non_null(a);
        assert_int_equal(json_array_get_length(a), harness_count_devices(objects));
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonObject *o = json_array_get_object_element(a, i);
                const char *address = json_object_get_string_member(o, "address");
                g_autoptr(GVariant) props = harness_device_props(objects, address);
                assert_non_null(props);
                assert_json_matches(o, props);
        }

        /* One device: the same object alone. */
        g_autofree char *one = ctl_ok(h, (const char *const[]) { "device", "0000:17:00.0", "--json", NULL });
        g_autoptr(JsonParser) p1 = json_parser_new();
        assert_true(json_parser_load_from_data(p1, one, -1, NULL));
        g_autoptr(GVariant) props = harness_device_props(objects, "0000:17:00.0");
        assert_json_matches(json_node_get_object(json_parser_get_root(p1)), props);
}

/* Every line of out at most width characters. */
static void assert_fits(const char *out, guint width) {
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

        for (size_t i = 0; lines[i]; i++)
                if ((guint) g_utf8_strlen(lines[i], -1) > width)
                        fail_msg("line %zu is wider than %u:\n%s", i, width, out);
}

/* The table fits the terminal ($COLUMNS stands for it), every row there. */
static void test_devices_fit(void **state) {
        Harness *h = *state;
        g_autofree char *whole = ctl_ok(h, (const char *const[]) { "devices", NULL });
        g_auto(GStrv) whole_lines = g_strsplit(whole, "\n", -1);

        const guint widths[] = { 80, 100 };
        for (size_t i = 0; i < G_N_ELEMENTS(widths); i++) {
                g_autofree char *columns = g_strdup_printf("%u", widths[i]);
                g_setenv("COLUMNS", columns, TRUE);
                g_autofree char *out = ctl_ok(h, (const char *const[]) { "devices", NULL });
                g_unsetenv("COLUMNS");
                assert_fits(out, widths[i]);
                g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
                assert_int_equal(g_strv_length(lines), g_strv_length(whole_lines));
                assert_non_null(strstr(out, "0000:17:00.0"));
                assert_non_null(strstr(out, "nvidia"));
        }
}

/* --output, --no-headings, --raw and the filters. */
static void test_devices_output(void **state) {
        Harness *h = *state;

        g_autofree char *two = ctl_ok(h, (const char *const[]) { "devices", "--output", "address,driver",
                                                                 "--no-headings", "--class", "VGA", NULL });
        assert_string_equal(two, "0000:04:00.0  ast\n0000:17:00.0  nvidia\n0000:b1:00.0  nvidia\n");
        g_autofree char *raw = ctl_ok(h, (const char *const[]) { "devices", "-o", "ADDRESS,vendor_id", "--raw",
                                                                 "--class", "0300", NULL });
        assert_string_equal(raw, "ADDRESS VENDOR_ID\n0000:04:00.0 0x1a03\n0000:17:00.0 0x10de\n0000:b1:00.0 0x10de\n");
        g_autofree char *numa = ctl_ok(h, (const char *const[]) { "devices", "--numa", "1", "--state", "host",
                                                                  "--output=address", "--no-headings", NULL });
        assert_non_null(strstr(numa, "0000:b1:00.0\n"));
        assert_null(strstr(numa, "0000:17:00.0"));
        g_autofree char *json = ctl_ok(h, (const char *const[]) { "devices", "--json", "--output", "address,numa_node",
                                                                  "--class", "VGA", NULL });
        assert_string_equal(json, "{\"devices\": [\n  {\"address\": \"0000:04:00.0\", \"numa_node\": 0},\n"
                                  "  {\"address\": \"0000:17:00.0\", \"numa_node\": 0},\n"
                                  "  {\"address\": \"0000:b1:00.0\", \"numa_node\": 1}\n]}\n");
        assert_ctl_fails(h, (const char *const[]) { "devices", "--output", "address,colour", NULL }, 2,
                         "'colour' is no column of devices: use address name driver iommu_group");
        assert_ctl_fails(h, (const char *const[]) { "devices", "--group", "nope", NULL }, 3, "nope");
        assert_ctl_fails(h, (const char *const[]) { "devices", "--numa", "x", NULL }, 2, "--numa");
}

/* help, help VERB and VERB --help need no daemon. */
static void test_help(void **state) {
        Harness *h = *state;

        harness_daemon_stop(h);
        g_autofree char *all = ctl_ok(h, (const char *const[]) { "help", NULL });
        assert_non_null(strstr(all, "\n  give-back ADDRESS...\n"));
        assert_non_null(strstr(all, "--no-ask-password"));
        g_autofree char *dash = ctl_ok(h, (const char *const[]) { "--help", NULL });
        assert_string_equal(all, dash);
        g_autofree char *claim = ctl_ok(h, (const char *const[]) { "claim", "--help", NULL });
        assert_true(g_str_has_prefix(claim, "  claim MACHINE [--numa-node N] [--tenant-node NODE] [--qemu]\n"));
        assert_null(strstr(claim, "hostdev-xml"));
        g_autofree char *also = ctl_ok(h, (const char *const[]) { "help", "claim", NULL });
        assert_string_equal(claim, also);
        /* An old name shows the new one's help. */
        g_autofree char *old = ctl_ok(h, (const char *const[]) { "help", "unclaim", NULL });
        assert_true(g_str_has_prefix(old, "  release-machine MACHINE\n"));
        assert_ctl_fails(h, (const char *const[]) { "help", "frob", NULL }, 2, "no command 'frob'");
}

/* A devpassd that does not answer is named as such, not "timed out". */
static void test_hung(void **state) {
        Harness *h = *state;

        g_setenv("SYSTEMD_BUS_TIMEOUT", "0.3", TRUE);
        kill(h->daemon_pid, SIGSTOP);
        assert_ctl_fails(h, (const char *const[]) { "devices", NULL }, 4,
                         "devpassd does not answer: is it hung? systemctl status devpassd");
        kill(h->daemon_pid, SIGCONT);
        g_unsetenv("SYSTEMD_BUS_TIMEOUT");
        g_autofree char *out = ctl_ok(h, (const char *const[]) { "status", NULL });
        assert_non_null(strstr(out, "testnode"));
}

static void test_device(void **state) {
        Harness *h = *state;
        g_autofree char *out = ctl_ok(h, (const char *const[]) { "device", "0000:3b:00.0", NULL });

        const char *want[] = { "0000:3b:00.0", "i40e", "0x8086", "0x1572", "Intel Corporation",
                               "VirtualFunctions", "0000:3b:02.3", "SriovTotalVfs", "64", "host" };
        for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
                if (!strstr(out, want[i]))
                        fail_msg("'devpassctl device' output lacks '%s':\n%s", want[i], out);

        /* The short form names the same device. */
        g_autofree char *short_out = ctl_ok(h, (const char *const[]) { "device", "3b:00.0", NULL });
        assert_string_equal(out, short_out);
}

static void assert_ctl_fails(Harness *h, const char *const *args, int want_status, const char *in_err) {
        g_autofree char *out = NULL, *err = NULL;
        int status = harness_ctl(h, &out, &err, args);

        if (status != want_status)
                fail_msg("devpassctl %s: exit %d, want %d (%s)", args[0], status, want_status, err);
        /* One line, saying what is wrong. */
        assert_non_null(strchr(err, '\n'));
        assert_int_equal(strchr(err, '\n') - err, strlen(err) - 1);
        if (in_err && !strstr(err, in_err))
                fail_msg("stderr '%s' does not mention '%s'", err, in_err);
        assert_string_equal(out, "");
}

static void test_exit_codes(void **state) {
        Harness *h = *state;

        assert_ctl_fails(h, (const char *const[]) { "device", "zz:zz", NULL }, 2, "zz:zz");
        assert_ctl_fails(h, (const char *const[]) { "device", "0000:99:00.0", NULL }, 3, "0000:99:00.0");
        assert_ctl_fails(h, (const char *const[]) { "no-such-verb", NULL }, 2, NULL);
        harness_daemon_stop(h);
        assert_ctl_fails(h, (const char *const[]) { "status", NULL }, 4, "devpassd");
        assert_ctl_fails(h, (const char *const[]) { "devices", NULL }, 4, NULL);
}

static void test_status(void **state) {
        Harness *h = *state;
        g_autofree char *out = ctl_ok(h, (const char *const[]) { "status", NULL });

        assert_non_null(strstr(out, "testnode"));
        assert_non_null(strstr(out, harness_path("DEVPASS_VERSION")));
}

/* Reads the monitor's output until needle shows up (or 10 s pass). */
static void read_until(int fd, GString *text, const char *needle) {
        for (int i = 0; i < 200 && !strstr(text->str, needle); i++) {
                char buf[4096];
                fd_set fds;
                struct timeval tv = { 0, 50000 };
                FD_ZERO(&fds);
                FD_SET(fd, &fds);
                if (select(fd + 1, &fds, NULL, NULL, &tv) > 0) {
                        ssize_t n = read(fd, buf, sizeof(buf));
                        if (n > 0)
                                g_string_append_len(text, buf, n);
                }
        }
        if (!strstr(text->str, needle))
                fail_msg("monitor never printed '%s'; it printed:\n%s", needle, text->str);
}

/* monitor prints each change as it happens, and stops on SIGINT. */
static void test_monitor(void **state) {
        Harness *h = *state;
        const char *argv[] = { harness_path("DEVPASSCTL"), "monitor", NULL };
        g_autoptr(GError) error = NULL;
        GPid pid;
        int out_fd;

        assert_true(g_spawn_async_with_pipes(NULL, (char **) argv, NULL, HARNESS_SPAWN | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                             NULL, &pid, NULL, &out_fd, NULL, &error));
        g_usleep(300000); /* let it subscribe */

        /* One change at a time: each is printed before the next happens. */
        g_autoptr(GString) text = g_string_new(NULL);
        testbed_unbind(h->testbed, "0000:5e:00.0");
        read_until(out_fd, text, "~ 0000:5e:00.0 Driver=-");
        testbed_sriov_set(h->testbed, "0000:3b:00.1", 2);
        read_until(out_fd, text, "+ 0000:3b:0a.1 ");
        testbed_remove(h->testbed, "0000:00:14.0");
        read_until(out_fd, text, "- 0000:00:14.0");
        kill(pid, SIGINT);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(out_fd);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* Whole lines: the PF's change names its new VFs, and the added VF
         * comes with its ids and driver. */
        assert_non_null(strstr(text->str, "~ 0000:3b:00.1 "));
        assert_non_null(strstr(text->str, "[8086:154c] iavf\n"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_devices_table, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_devices_json, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_devices_fit, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_devices_output, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_help, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_hung, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_device, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_status, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_monitor, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_exit_codes, harness_setup_gpu_server, harness_teardown),
        };
        return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
