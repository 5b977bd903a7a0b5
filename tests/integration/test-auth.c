/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The auth room against the real polkitd: a service in this process
 * guards a method with auth_verify() (the call dispatched again when
 * polkit has answered); clients are gdbus run as root, as a user a
 * rules.d file grants one action, and as nobody. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "bus-source.h"
#include "harness.h"

/* daemon may manage groups, and tenants only for acme. */
static const char rules[] =
        "polkit.addRule(function(action, subject) {\n"
        "    if (subject.user != 'daemon') return polkit.Result.NOT_HANDLED;\n"
        "    if (action.id == 'org.devpass1.manage-groups') return polkit.Result.YES;\n"
        "    if (action.id == 'org.devpass1.manage-tenants' && action.lookup('tenant') == 'acme')\n"
        "        return polkit.Result.YES;\n"
        "    return polkit.Result.NOT_HANDLED;\n"
        "});\n";

typedef struct {
        Harness *h;
        Auth *auth;
        sd_bus *service;
        GSource *source;
        char *name;
        guint checks;
        AuthCaller caller;         /* the last allowed call's */
        bool interactive;          /* call_as() allows interactive authorization */
} Fixture;

static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fixture *f = userdata;
        const char *action, *tenant;
        AuthCaller caller;

        int r = sd_bus_message_read(m, "ss", &action, &tenant);
        if (r < 0)
                return r;
        /* "a+b": both actions, in turn. */
        g_auto(GStrv) actions = g_strsplit(action, "+", -1);
        r = auth_verify(f->auth, m, (const char *const *) actions, (const char *const[]) { "tenant", tenant, NULL },
                        &caller, NULL, error);
        if (r == 0)
                return 1;   /* asked: the call comes back with the answer */
        f->checks++;
        if (r < 0)
                return r;
        /* The bus told who the caller is, beside polkit. */
        assert_true(caller.uid >= 0 && caller.pid > 0);
        f->caller = caller;
        return sd_bus_reply_method_return(m, "b", 1);
}

static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Check", "ss", "b", method_check, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        const char *unique;

        f->h = harness_prepare(NULL);
        harness_polkit_start(f->h, rules);
        assert_true(sd_bus_open_system(&f->service) >= 0);
        f->auth = auth_new(f->service);
        assert_true(sd_bus_add_object_vtable(f->service, NULL, "/test", "org.devpass1.Test", vtable, f) >= 0);
        assert_true(sd_bus_get_unique_name(f->service, &unique) >= 0);
        f->name = g_strdup(unique);
        f->source = bus_source_new(f->service, NULL, NULL);
        g_source_attach(f->source, NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        g_source_destroy(f->source);
        g_source_unref(f->source);
        auth_free(f->auth);
        sd_bus_flush_close_unref(f->service);
        harness_free(f->h);
        g_free(f->name);
        g_free(f);
        return 0;
}

typedef struct {
        bool done;
        int status;
} Child;

static void on_child(GPid pid, gint status, gpointer userdata) {
        Child *c = userdata;
        c->status = status;
        c->done = true;
        g_spawn_close_pid(pid);
}

/* gdbus call as user (NULL: root); returns its exit status, *err_out its stderr. */
static int call_as(Fixture *f, const char *user, const char *action, const char *tenant, char **err_out) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        Child c = {};
        GPid pid;
        int err_fd;

        if (user) {
                g_ptr_array_add(argv, g_strdup("setpriv"));
                g_ptr_array_add(argv, g_strdup_printf("--reuid=%s", user));
                g_ptr_array_add(argv, g_strdup_printf("--regid=%s", g_str_equal(user, "nobody") ? "nogroup" : user));
                g_ptr_array_add(argv, g_strdup("--clear-groups"));
        }
        const char *rest[] = { "gdbus", "call", "--system", "--dest", f->name, "--object-path", "/test",
                               "--method", "org.devpass1.Test.Check", action, tenant, NULL };
        for (size_t i = 0; rest[i]; i++)
                g_ptr_array_add(argv, g_strdup(rest[i]));
        if (f->interactive)
                g_ptr_array_insert(argv, (gint) argv->len - 2, g_strdup("--interactive"));
        g_ptr_array_add(argv, NULL);

        /* Our service answers from this loop: run it while the client waits. */
        assert_true(g_spawn_async_with_pipes(NULL, (char **) argv->pdata, NULL, HARNESS_SPAWN | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
                                             G_SPAWN_STDOUT_TO_DEV_NULL,
                                             NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
        g_child_watch_add(pid, on_child, &c);
        for (int i = 0; !c.done && i < 2000; i++)
                g_main_context_iteration(NULL, TRUE);
        assert_true(c.done);

        char buf[1024] = "";
        ssize_t n = read(err_fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        close(err_fd);
        if (err_out)
                *err_out = g_strdup(buf);
        return WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
}

static void test_root_allowed(void **state) {
        Fixture *f = *state;

        assert_int_equal(call_as(f, NULL, "org.devpass1.make-passthrough", "", NULL), 0);
        assert_int_equal(call_as(f, NULL, "org.devpass1.manage-tenants", "other", NULL), 0);
}

static void test_rule_grants_one_action(void **state) {
        Fixture *f = *state;
        g_autofree char *err = NULL;

        assert_int_equal(call_as(f, "daemon", "org.devpass1.manage-groups", "", NULL), 0);
        assert_int_not_equal(call_as(f, "daemon", "org.devpass1.make-passthrough", "", &err), 0);
        /* polkit would ask for a password, and the call did not allow it. */
        assert_non_null(strstr(err, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired: Interactive "
                                    "authentication is required for org.devpass1.make-passthrough"));
        /* Details reach the rules: acme yes, another tenant no. */
        assert_int_equal(call_as(f, "daemon", "org.devpass1.manage-tenants", "acme", NULL), 0);
        assert_int_not_equal(call_as(f, "daemon", "org.devpass1.manage-tenants", "globex", NULL), 0);
}

static void test_all_actions_needed(void **state) {
        Fixture *f = *state;
        g_autofree char *err = NULL;

        /* daemon may manage groups, not make passthrough: the second is named. */
        assert_int_not_equal(call_as(f, "daemon", "org.devpass1.manage-groups+org.devpass1.make-passthrough", "",
                                     &err), 0);
        assert_non_null(strstr(err, "authentication is required for org.devpass1.make-passthrough"));
        assert_int_equal(call_as(f, NULL, "org.devpass1.manage-groups+org.devpass1.make-passthrough", "", NULL), 0);
}

static void test_nobody_denied(void **state) {
        Fixture *f = *state;
        g_autofree char *err = NULL;

        assert_int_not_equal(call_as(f, "nobody", "org.devpass1.manage-groups", "", &err), 0);
        assert_non_null(strstr(err, "InteractiveAuthorizationRequired"));
        assert_non_null(strstr(err, "authentication is required"));

        /* Allowed to ask, with no agent to ask: a plain no. */
        g_clear_pointer(&err, g_free);
        f->interactive = true;
        assert_int_not_equal(call_as(f, "nobody", "org.devpass1.manage-groups", "", &err), 0);
        assert_non_null(strstr(err, "org.devpass1.Error.NotAuthorized: Not authorized for org.devpass1.manage-groups"));
}

static void test_unknown_action_denied(void **state) {
        Fixture *f = *state;

        assert_int_not_equal(call_as(f, "daemon", "org.devpass1.no-such-action", "", NULL), 0);
}

typedef struct {
        guint allowed;
        guint failed;
} Storm;

static int on_storm_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Storm *storm = userdata;
        if (sd_bus_message_is_method_error(m, NULL))
                storm->failed++;
        else
                storm->allowed++;
        return 0;
}

/* More checks at once than a connection may await replies for (128 on a
 * system bus): every one is answered, none refused for the limit. */
static void test_storm_queued(void **state) {
        Fixture *f = *state;
        enum { CLIENTS = 4, CALLS = 75 };
        sd_bus *clients[CLIENTS];
        GSource *sources[CLIENTS];
        Storm storm = {};

        for (int i = 0; i < CLIENTS; i++) {
                assert_true(sd_bus_open_system(&clients[i]) >= 0);
                sources[i] = bus_source_new(clients[i], NULL, NULL);
                g_source_attach(sources[i], NULL);
                for (int j = 0; j < CALLS; j++)
                        assert_true(sd_bus_call_method_async(clients[i], NULL, f->name, "/test", "org.devpass1.Test",
                                                             "Check", on_storm_reply, &storm, "ss",
                                                             "org.devpass1.claim", "") >= 0);
        }
        for (int i = 0; i < 20000 && storm.allowed + storm.failed < CLIENTS * CALLS; i++)
                g_main_context_iteration(NULL, TRUE);
        assert_int_equal(storm.failed, 0);
        assert_int_equal(storm.allowed, CLIENTS * CALLS);
        assert_int_equal(f->checks, CLIENTS * CALLS);
        for (int i = 0; i < CLIENTS; i++) {
                g_source_destroy(sources[i]);
                g_source_unref(sources[i]);
                sd_bus_flush_close_unref(clients[i]);
        }
}

static int on_stopping_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        char **message = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        *message = g_strdup_printf("%s: %s", e ? e->name : "allowed", e ? e->message : "");
        return 0;
}

/* A check still waiting for polkit when the daemon stops is refused, not
 * left unanswered (and its request freed: LeakSanitizer would tell). */
static void test_stopping_refuses(void **state) {
        Fixture *f = *state;
        g_autofree char *message = NULL;
        sd_bus *client = NULL;
        GSource *source;

        assert_int_equal(kill(f->h->polkit_pid, SIGSTOP), 0);
        assert_true(sd_bus_open_system(&client) >= 0);
        source = bus_source_new(client, NULL, NULL);
        g_source_attach(source, NULL);
        assert_true(sd_bus_call_method_async(client, NULL, f->name, "/test", "org.devpass1.Test", "Check",
                                             on_stopping_reply, &message, "ss", "org.devpass1.claim", "") >= 0);
        /* The call reaches the service, whose check waits on polkit. */
        for (int i = 0; i < 50; i++)
                g_main_context_iteration(NULL, FALSE), g_usleep(2000);
        assert_null(message);
        assert_int_equal(f->checks, 0);
        g_clear_pointer(&f->auth, auth_free);
        for (int i = 0; i < 2000 && !message; i++)
                g_main_context_iteration(NULL, FALSE), g_usleep(1000);
        assert_int_equal(kill(f->h->polkit_pid, SIGCONT), 0);
        assert_non_null(message);
        assert_non_null(strstr(message, "org.devpass1.Error.NotAuthorized"));
        assert_non_null(strstr(message, "devpassd is stopping"));
        g_source_destroy(source);
        g_source_unref(source);
        sd_bus_flush_close_unref(client);
}

static void test_polkit_gone_denies(void **state) {
        Fixture *f = *state;
        g_autofree char *err = NULL;

        assert_int_equal(call_as(f, NULL, "org.devpass1.manage-groups", "", NULL), 0);
        harness_polkit_stop(f->h);
        assert_int_not_equal(call_as(f, NULL, "org.devpass1.manage-groups", "", &err), 0);
        assert_non_null(strstr(err, "Not authorized"));
        assert_int_equal(f->checks, 2);
}

static int on_checked_reply(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        int *answered = userdata;

        *answered = sd_bus_message_is_method_error(reply, NULL) ? -1 : 1;
        return 0;
}

/* Calls on one connection from this process: each names this process as
 * its caller, the later ones from what the bus told for the first. */
static void test_caller_kept(void **state) {
        Fixture *f = *state;
        sd_bus *client = NULL;

        assert_true(sd_bus_open_system(&client) >= 0);
        GSource *source = bus_source_new(client, NULL, NULL);
        g_source_attach(source, NULL);
        for (int k = 0; k < 3; k++) {
                sd_bus_slot *slot = NULL;
                int answered = 0;
                f->caller = (AuthCaller) { -1, -1 };
                assert_true(sd_bus_call_method_async(client, &slot, f->name, "/test", "org.devpass1.Test", "Check",
                                                     on_checked_reply, &answered, "ss", "org.devpass1.claim", "") >= 0);
                for (int i = 0; answered == 0 && i < 2000; i++)
                        g_main_context_iteration(NULL, TRUE);
                sd_bus_slot_unref(slot);
                assert_int_equal(answered, 1);
                assert_int_equal(f->caller.uid, (int64_t) getuid());
                assert_int_equal(f->caller.pid, (int64_t) getpid());
        }
        assert_int_equal(f->checks, 3);
        g_source_destroy(source);
        g_source_unref(source);
        sd_bus_flush_close_unref(client);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_root_allowed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rule_grants_one_action, setup, teardown),
                cmocka_unit_test_setup_teardown(test_all_actions_needed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nobody_denied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_action_denied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_storm_queued, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stopping_refuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit_gone_denies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_caller_kept, setup, teardown),
        };
        return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
