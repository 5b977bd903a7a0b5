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
        assert_int_equal(rows, g_variant_n_children(objects) + 1);
        const char *header = lines[0];
        const char *columns[] = { "ADDRESS", "CLASS", "DRIVER", "IOMMU", "NUMA", "SR-IOV", "STATE" };
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

/* JSON carries every property with its D-Bus type. */
static void assert_json_matches(JsonObject *o, GVariant *props) {
        GVariantIter it;
        const char *name;
        GVariant *value;

        g_variant_iter_init(&it, props);
        while (g_variant_iter_next(&it, "{&sv}", &name, &value)) {
                g_autoptr(GVariant) v = value;
                if (!json_object_has_member(o, name))
                        fail_msg("JSON has no %s", name);
                JsonNode *n = json_object_get_member(o, name);
                if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ||
                    g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH))
                        assert_string_equal(json_node_get_string(n), g_variant_get_string(v, NULL));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
                        assert_int_equal(json_node_get_boolean(n), g_variant_get_boolean(v));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT16))
                        assert_int_equal(json_node_get_int(n), g_variant_get_uint16(v));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
                        assert_int_equal(json_node_get_int(n), g_variant_get_uint32(v));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT32))
                        assert_int_equal(json_node_get_int(n), g_variant_get_int32(v));
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE_BYTE))
                        assert_int_equal(json_node_get_int(n), g_variant_get_byte(v));
                else if (g_variant_is_container(v)) {
                        JsonArray *a = json_node_get_array(n);
                        assert_non_null(a);
                        assert_int_equal(json_array_get_length(a), g_variant_n_children(v));
                        for (guint i = 0; i < json_array_get_length(a); i++) {
                                g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
                                assert_string_equal(json_array_get_string_element(a, i),
                                                    g_variant_get_string(child, NULL));
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
        JsonArray *a = json_node_get_array(json_parser_get_root(parser));
        assert_non_null(a);
        assert_int_equal(json_array_get_length(a), g_variant_n_children(objects));
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonObject *o = json_array_get_object_element(a, i);
                const char *address = json_object_get_string_member(o, "Address");
                g_autoptr(GVariant) props = harness_device_props(objects, address);
                assert_non_null(props);
                assert_json_matches(o, props);
        }
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
                cmocka_unit_test_setup_teardown(test_device, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_status, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_monitor, harness_setup_gpu_server, harness_teardown),
                cmocka_unit_test_setup_teardown(test_exit_codes, harness_setup_gpu_server, harness_teardown),
        };
        return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
