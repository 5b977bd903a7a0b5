/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a GDBusObjectManagerClient (Cockpit, desktop frontends) sees of
 * devpassd: objects come with InterfacesAdded and go with
 * InterfacesRemoved naming every interface they came with, so no ghost
 * stays behind. */
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

static void test_no_ghosts(void **state) {
        Fixture *f = *state;

        g_autofree char *a = create_group(f, "A");
        wait_object(f, a, true);
        g_autoptr(GVariant) r = calls_ok(f->h, a, "org.devpass1.Group", "Delete",
                                         calls_parse("(a{sv})", "(@a{sv} {},)"));
        wait_object(f, a, false);

        /* A device that goes leaves no ghost either. */
        g_autofree char *vf = calls_path_of("0000:3b:02.3");
        wait_object(f, vf, true);
        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, "0000:3b:02.3");
        fakekernel_unlock(f->fk);
        wait_object(f, vf, false);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_ghosts, setup, teardown),
        };
        return cmocka_run_group_tests_name("object-manager", tests, NULL, NULL);
}
