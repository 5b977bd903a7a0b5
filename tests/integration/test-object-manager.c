/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a GDBusObjectManagerClient (Cockpit, desktop frontends) sees of
 * devpassd: objects come with InterfacesAdded and go with
 * InterfacesRemoved naming the one interface they came with, so no ghost
 * stays behind; GetManagedObjects gives each object's own interface with
 * what Properties.GetAll gives; a reply the bus would refuse is refused;
 * what devpassd keeps is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"

typedef struct {
        Harness *h;
        FakeKernel *fk;
        GDBusObjectManager *client;
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autoptr(GError) error = NULL;

        f->h = calls_gpu_server(NULL, &f->fk);
        f->h->connection = harness_connect(f->h);
        f->client = g_dbus_object_manager_client_new_sync(f->h->connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE,
                                                          "org.devpass1", "/org/devpass1", NULL, NULL, NULL, NULL,
                                                          &error);
        g_assert_no_error(error);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        g_object_unref(f->client);
        calls_stop(f->h, f->fk);
        g_free(f);
        return 0;
}

static gboolean on_timeout(gpointer data) {
        *(bool *) data = true;
        return G_SOURCE_REMOVE;
}

/* Runs the client's context until the object at path is there (or not)
 * as the client sees it; 10 s at most. */
static void wait_object(Fixture *f, const char *path, bool present) {
        bool timed_out = false;
        guint timeout = g_timeout_add_seconds(10, on_timeout, &timed_out);

        for (;;) {
                g_autoptr(GDBusObject) o = g_dbus_object_manager_get_object(f->client, path);
                if ((o != NULL) == present)
                        break;
                if (timed_out)
                        fail_msg("%s is %s the object manager client's, want %s", path, o ? "still" : "not",
                                 present ? "there" : "gone");
                g_main_context_iteration(NULL, TRUE);
        }
        g_source_remove(timeout);
}

static char *create_group(Fixture *f, const char *name) {
        g_autofree char *settings = g_strdup_printf("{'Name': <'%s'>}", name);
        return calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateGroup",
                             g_variant_new("(@a{sv})", calls_parse("a{sv}", settings)));
}

/* The client knows the object at path by its own interface alone (the
 * standard ones answer on every object and are no news). */
static void assert_one_interface(Fixture *f, const char *path, const char *interface) {
        g_autoptr(GDBusObject) o = g_dbus_object_manager_get_object(f->client, path);
        GList *interfaces = g_dbus_object_get_interfaces(o);

        assert_int_equal(g_list_length(interfaces), 1);
        assert_string_equal(g_dbus_proxy_get_interface_name(interfaces->data), interface);
        g_list_free_full(interfaces, g_object_unref);
}

static void test_no_ghosts(void **state) {
        Fixture *f = *state;

        g_autofree char *a = create_group(f, "A");
        wait_object(f, a, true);
        assert_one_interface(f, a, "org.devpass1.Group");
        g_autoptr(GVariant) r = calls_ok(f->h, a, "org.devpass1.Group", "Delete",
                                         calls_parse("(a{sv})", "(@a{sv} {},)"));
        wait_object(f, a, false);

        /* A device that goes leaves no ghost either. */
        g_autofree char *vf = calls_path_of("0000:3b:02.3");
        wait_object(f, vf, true);
        assert_one_interface(f, vf, "org.devpass1.Device");
        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, "0000:3b:02.3");
        fakekernel_unlock(f->fk);
        wait_object(f, vf, false);
}

/* Each object of every kind once, with its own interface only, whose
 * values are those Properties.GetAll gives (sd-bus's, from the same
 * vtable). */
static void test_objects_as_get_all(void **state) {
        Fixture *f = *state;

        g_autofree char *group = calls_passthrough_group(f->h, (const char *const[]) { "0000:3b:02.3", NULL },
                                                         "vfs", "sriov-nic", "nic");
        g_free(calls_attach(f->h, "vm1", group, 1));
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autoptr(GHashTable) kinds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        GVariantIter it;
        const char *path;
        GVariant *ifaces;

        g_variant_iter_init(&it, objects);
        while (g_variant_iter_loop(&it, "{&o@a{sa{sv}}}", &path, &ifaces)) {
                const char *interface;
                g_autoptr(GVariant) props = NULL;
                assert_int_equal(g_variant_n_children(ifaces), 1);
                g_variant_get_child(ifaces, 0, "{&s@a{sv}}", &interface, &props);
                g_autoptr(GVariant) all = calls_ok(f->h, path, "org.freedesktop.DBus.Properties", "GetAll",
                                                   g_variant_new("(s)", interface));
                g_autoptr(GVariant) want = g_variant_get_child_value(all, 0);
                if (!g_variant_equal(props, want))
                        fail_msg("%s: GetManagedObjects says %s, GetAll %s", path, g_variant_print(props, FALSE),
                                 g_variant_print(want, FALSE));
                g_hash_table_add(kinds, g_strdup(interface));
        }
        assert_int_equal(g_hash_table_size(kinds), 5);   /* devices, groups, rules, attachments, nodes */
}

/* ListDevices gives every device, in address order, with the values of
 * the properties its columns are named after, the group's name with its
 * path; to anyone. */
static void test_list_devices(void **state) {
        static const char *const columns[] = { "Address", "VendorId", "DeviceId", "VendorName", "DeviceName",
                                               "ClassName", "Driver", "IommuGroup", "NumaNode", "PhysicalFunction",
                                               "SriovNumVfs", "SriovTotalVfs", "State", "Group", NULL, "Holder" };
        Fixture *f = *state;

        g_autofree char *group = calls_passthrough_group(f->h, (const char *const[]) { "0000:3b:02.3", NULL },
                                                         "vfs", "sriov-nic", "nic");
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autoptr(GVariant) reply = calls_ok(f->h, "/org/devpass1", MANAGER, "ListDevices", NULL);
        g_autoptr(GVariant) rows = g_variant_get_child_value(reply, 0);
        assert_string_equal(g_variant_get_type_string(rows), "a(sqqssssiiouusoss)");
        g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func(g_free);
        guint grouped = 0;

        for (gsize i = 0; i < g_variant_n_children(rows); i++) {
                g_autoptr(GVariant) row = g_variant_get_child_value(rows, i);
                g_autoptr(GVariant) address = g_variant_get_child_value(row, 0);
                g_autoptr(GVariant) props = harness_device_props(objects, g_variant_get_string(address, NULL));
                assert_non_null(props);
                g_ptr_array_add(addresses, g_variant_dup_string(address, NULL));
                for (gsize k = 0; k < G_N_ELEMENTS(columns); k++) {
                        g_autoptr(GVariant) cell = g_variant_get_child_value(row, k);
                        g_autoptr(GVariant) want = columns[k] ? g_variant_lookup_value(props, columns[k], NULL) : NULL;
                        if (columns[k]) {
                                if (!g_variant_equal(cell, want))
                                        fail_msg("%s: ListDevices says %s %s, GetManagedObjects %s",
                                                 (char *) addresses->pdata[i], columns[k], g_variant_print(cell, TRUE),
                                                 g_variant_print(want, TRUE));
                                continue;
                        }
                        g_autoptr(GVariant) in = g_variant_lookup_value(props, "Group", NULL);
                        bool mine = g_str_equal(g_variant_get_string(in, NULL), group);
                        assert_string_equal(g_variant_get_string(cell, NULL), mine ? "vfs" : "");
                        grouped += mine;
                }
        }
        assert_int_equal(grouped, 1);
        /* The fixture's addresses are all of one width. */
        for (guint i = 1; i < addresses->len; i++)
                assert_true(strcmp(addresses->pdata[i - 1], addresses->pdata[i]) < 0);
        guint devices = 0;
        for (gsize i = 0; i < g_variant_n_children(objects); i++) {
                const char *path;
                g_variant_get_child(objects, i, "{&o@a{sa{sv}}}", &path, NULL);
                devices += g_str_has_prefix(path, "/org/devpass1/devices/");
        }
        assert_int_equal(addresses->len, devices);

        const char *const args[] = { NULL };
        g_autofree char *err = NULL;
        assert_int_equal(calls_as(f->h, "nobody", "/org/devpass1", MANAGER ".ListDevices", args, NULL, &err), 0);
}

/* The bytes of GetManagedObjects's reply, as the bus carries it. */
static gsize objects_reply_size(Fixture *f, GError **error) {
        g_autoptr(GDBusMessage) call = g_dbus_message_new_method_call("org.devpass1", "/org/devpass1",
                                                                      "org.freedesktop.DBus.ObjectManager",
                                                                      "GetManagedObjects");
        g_autoptr(GDBusMessage) reply = g_dbus_connection_send_message_with_reply_sync(
                f->h->connection, call, G_DBUS_SEND_MESSAGE_FLAGS_NONE, 10000, NULL, NULL, error);
        gsize size = 0;

        if (!reply || g_dbus_message_to_gerror(reply, error))
                return 0;
        g_autofree guchar *blob = g_dbus_message_to_blob(reply, &size, G_DBUS_CAPABILITY_FLAGS_NONE, error);
        return blob ? size : 0;
}

static void restart_with_limit(Fixture *f, guint64 max_message_size) {
        g_autoptr(GError) error = NULL;
        g_autofree char *config = g_build_filename(f->h->tmpdir, "devpassd.conf", NULL);
        g_autofree char *text = g_strdup_printf("[Daemon]\nModprobe=/bin/false\nMaxMessageSize=%" G_GUINT64_FORMAT
                                                "\n", max_message_size);

        harness_daemon_stop(f->h);
        assert_true(g_file_set_contents(config, text, -1, &error));
        harness_daemon_start(f->h, NULL);
}

/* A reply the bus would refuse (it would drop devpassd's connection with
 * it) is refused instead, and devpassd goes on; the size is estimated
 * high, never low, and less than a tenth high. */
static void test_reply_too_big(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        g_free(create_group(f, "A"));
        gsize size = objects_reply_size(f, &error);
        g_assert_no_error(error);
        assert_true(size > 10000);

        restart_with_limit(f, (size - 1) / 7 * 8);
        assert_int_equal(objects_reply_size(f, &error), 0);
        g_assert_true(g_dbus_error_is_remote_error(error));
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        assert_string_equal(remote, "org.freedesktop.DBus.Error.LimitsExceeded");
        assert_non_null(strstr(error->message, "Properties.GetAll"));
        g_clear_error(&error);
        g_autoptr(GVariant) alive = calls_ok(f->h, "/org/devpass1", MANAGER, "GetDevice",
                                             g_variant_new("(s)", "0000:17:00.0"));

        /* devpassd sends up to 7/8 of the limit. */
        restart_with_limit(f, ((guint64) size * 11 / 10 / 7 + 1) * 8);
        assert_int_equal(objects_reply_size(f, &error), size);
        g_assert_no_error(error);
}

/* What devpassd keeps is bounded: the group past the limit is refused
 * with the standard error, naming the limit. */
static void test_groups_bounded(void **state) {
        Fixture *f = *state;

        for (int i = 0; i < 1024; i++) {
                g_autofree char *name = g_strdup_printf("g%04d", i);
                g_free(create_group(f, name));
        }
        calls_refused(f->h, "CreateGroup past the limit", "/org/devpass1", MANAGER, "CreateGroup",
                      calls_parse("(a{sv})", "({'Name': <'one more'>},)"), "org.freedesktop.DBus.Error.LimitsExceeded",
                      "at most 1024 groups");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_ghosts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_objects_as_get_all, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_devices, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reply_too_big, setup, teardown),
                cmocka_unit_test_setup_teardown(test_groups_bounded, setup, teardown),
        };
        return cmocka_run_group_tests_name("object-manager", tests, NULL, NULL);
}
