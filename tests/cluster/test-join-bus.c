/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A node that ran alone joining a cluster, through D-Bus and devpassctl:
 * node1 is a member of a 1-member etcd with group "gpus"; node2 ran
 * alone with groups "gpus" and "spare" and is started again with
 * [Cluster]. Each devpassd on its own umockdev GPU server, private bus
 * and real polkitd (root may do everything). A cmocka filter picks a
 * test (meson runs each alone, under tests/isolated). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"
#include "etcd-cluster.h"

#define ROOT "/org/devpass1"
#define MANAGER "org.devpass1.Manager"
#define UNAVAILABLE "org.devpass1.Error.ClusterUnavailable"
#define WAIT_MS 20000

typedef struct {
        EtcdCluster *etcd;
        Harness *h1, *h2;
} Fixture;

static Harness *node_new(const char *node) {
        Harness *h = harness_prepare("gpu-server.umockdev");

        g_free(h->node);
        h->node = g_strdup(node);
        return h;
}

static void node_up(Harness *h) {
        harness_daemon_start(h, NULL);
        harness_polkit_start(h, NULL);
        g_clear_object(&h->connection);
        h->connection = harness_connect(h);
}

static GVariant *group_settings(const char *name) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "Name", g_variant_new_string(name));
        return g_variant_new("(@a{sv})", g_variant_builder_end(&b));
}

static char *group_make(Harness *h, const char *name) {
        return calls_ok_path(h, ROOT, MANAGER, "CreateGroup", group_settings(name));
}

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->etcd = etcd_cluster_new(1, false);
        f->h1 = node_new("node1");
        g_autofree char *conf1 = etcd_cluster_config(f->etcd, "node1");
        harness_config_add(f->h1, conf1);
        node_up(f->h1);
        calls_wait_prop(f->h1, ROOT, MANAGER, "ClusterState", "up");
        g_free(group_make(f->h1, "gpus"));

        /* node2 alone first, then in the cluster. */
        f->h2 = node_new("node2");
        node_up(f->h2);
        g_free(group_make(f->h2, "gpus"));
        g_free(group_make(f->h2, "spare"));
        harness_polkit_stop(f->h2);
        harness_daemon_stop(f->h2);
        g_autofree char *conf2 = etcd_cluster_config(f->etcd, "node2");
        harness_config_add(f->h2, conf2);
        node_up(f->h2);
        calls_wait_prop(f->h2, ROOT, MANAGER, "ClusterState", "unjoined");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        Harness *hs[] = { f->h2, f->h1 };

        for (size_t i = 0; i < G_N_ELEMENTS(hs); i++) {
                if (hs[i]->daemon_pid > 0)
                        harness_daemon_stop(hs[i]);
                harness_free(hs[i]);
        }
        etcd_cluster_free(f->etcd);
        g_free(f);
        return 0;
}

static int ctl(Harness *h, char **out, char **err, const char *const *args) {
        g_autofree char *ignored = NULL;
        return harness_ctl(h, out, err ? err : &ignored, args);
}

/* The groups a node shows, "name path" a line. */
static char *groups_text(Harness *h) {
        char *out = NULL;

        if (ctl(h, &out, NULL, (const char *const[]) { "groups", "-o", "name,path", "--no-headings", "--raw",
                                                       NULL }) != 0)
                g_clear_pointer(&out, g_free);
        return out;
}

static bool groups_are(Harness *h, void *want) {
        g_autofree char *got = groups_text(h);
        return g_strcmp0(got, want) == 0;
}

static bool nodes_are(Harness *h, void *want) {
        g_autofree char *out = NULL;

        return ctl(h, &out, NULL, (const char *const[]) { "nodes", "-o", "name,state", "--no-headings", "--raw",
                                                          NULL }) == 0 && g_strcmp0(out, want) == 0;
}

/* Unjoined: its own groups shown, a change refused saying how to join;
 * JoinCluster as a user polkit does not allow: refused, nothing moved. */
static void test_unjoined(void **state) {
        Fixture *f = *state;
        g_autofree char *out = NULL, *err = NULL;

        calls_refused(f->h2, "CreateGroup while unjoined", ROOT, MANAGER, "CreateGroup", group_settings("more"),
                      UNAVAILABLE, "devpassctl cluster join");
        g_assert_cmpint(ctl(f->h2, &out, NULL, (const char *const[]) { "status", NULL }), ==, 0);
        g_assert_nonnull(strstr(out, "Cluster: unjoined"));
        g_clear_pointer(&out, g_free);
        g_assert_cmpint(ctl(f->h2, &out, NULL, (const char *const[]) { "groups", "-o", "name", "--no-headings",
                                                                        NULL }), ==, 0);
        g_assert_cmpstr(out, ==, "gpus\nspare\n");

        g_autofree char *before = calls_snapshot_settings(f->h2);
        int status = calls_as(f->h2, "daemon", ROOT, MANAGER ".JoinCluster", (const char *const[]) { "@a{sv} {}",
                              NULL }, NULL, &err);
        calls_assert_not_authorized("JoinCluster", "daemon", status, err, "org.devpass1.manage-cluster", NULL);
        g_autofree char *after = calls_snapshot_settings(f->h2);
        calls_assert_unchanged(before, after, "JoinCluster as daemon");
        calls_wait_prop(f->h2, ROOT, MANAGER, "ClusterState", "unjoined");
}

/* A name the cluster has: refused naming it, nothing changed on either
 * node; once free, node2's groups move to the cluster's paths. */
static void test_join(void **state) {
        Fixture *f = *state;
        g_autofree char *out = NULL, *err = NULL;
        g_autofree char *before1 = calls_snapshot_settings(f->h1);
        g_autofree char *before2 = calls_snapshot_settings(f->h2);

        g_assert_cmpint(ctl(f->h2, NULL, &err, (const char *const[]) { "cluster", "join", NULL }), ==, 1);
        g_assert_nonnull(strstr(err, "group 'gpus' is the name of another group in the cluster"));
        g_assert_null(strstr(err, "spare"));
        g_autofree char *after1 = calls_snapshot_settings(f->h1);
        g_autofree char *after2 = calls_snapshot_settings(f->h2);
        calls_assert_unchanged(before1, after1, "node1 after a refused join");
        calls_assert_unchanged(before2, after2, "node2 after a refused join");

        g_autofree char *paths_before = groups_text(f->h2);
        g_assert_cmpstr(paths_before, ==, "gpus /org/devpass1/groups/1\nspare /org/devpass1/groups/2\n");
        g_assert_cmpint(ctl(f->h1, NULL, NULL, (const char *const[]) { "delete-group", "gpus", NULL }), ==, 0);
        g_assert_cmpint(ctl(f->h2, &out, NULL, (const char *const[]) { "cluster", "join", NULL }), ==, 0);
        g_assert_nonnull(strstr(out, "This node is a member of the cluster"));
        calls_wait_prop(f->h2, ROOT, MANAGER, "ClusterState", "up");

        /* The cluster's next ids (node1's group took 1): the same paths on both nodes. */
        const char *want = "gpus /org/devpass1/groups/2\nspare /org/devpass1/groups/3\n";
        g_assert_true(harness_wait(f->h1, groups_are, (gpointer) want, WAIT_MS));
        g_assert_true(harness_wait(f->h2, groups_are, (gpointer) want, WAIT_MS));

        /* Both members, up; a second join does nothing. */
        g_assert_true(harness_wait(f->h1, nodes_are, (gpointer) "node1 up\nnode2 up\n", WAIT_MS));
        g_clear_pointer(&out, g_free);
        g_assert_cmpint(ctl(f->h1, &out, NULL, (const char *const[]) { "nodes", "--json", "-o",
                                                                        "name,state,reboot_required", NULL }), ==, 0);
        g_assert_cmpstr(out, ==, "{\"nodes\": [\n"
                                 "  {\"name\": \"node1\", \"state\": \"up\", \"reboot_required\": false},\n"
                                 "  {\"name\": \"node2\", \"state\": \"up\", \"reboot_required\": false}\n"
                                 "]}\n");
        g_assert_cmpint(ctl(f->h2, NULL, NULL, (const char *const[]) { "cluster", "join", NULL }), ==, 0);
        g_autofree char *again = groups_text(f->h2);
        g_assert_cmpstr(again, ==, want);
}

/* Two joins at once, both asked of polkit before either is answered:
 * the first moves the rows, the second is refused (joining already, or
 * stale: what polkit was asked no longer holds), and the rows moved once. */
static void test_join_race(void **state) {
        Fixture *f = *state;
        CallsCall join = { ROOT, MANAGER, "JoinCluster", NULL };
        guint pending = 0;
        CallsPending first = { .pending = &pending }, second = { .pending = &pending };

        g_assert_cmpint(ctl(f->h1, NULL, NULL, (const char *const[]) { "delete-group", "gpus", NULL }), ==, 0);
        join.args = g_variant_new_parsed("(@a{sv} {},)");
        CallsCall again = { ROOT, MANAGER, "JoinCluster", g_variant_new_parsed("(@a{sv} {},)") };
        calls_race(f->h2, &join, &first, &again, &second);
        g_assert_no_error(first.error);
        g_assert_nonnull(second.error);
        if (!g_dbus_error_is_remote_error(second.error) ||
            (!strstr(second.error->message, "joining the cluster already") &&
             !strstr(second.error->message, "changed while authorization was asked")))
                fail_msg("the second join: %s", second.error->message);
        calls_pending_clear(&first);
        calls_pending_clear(&second);
        calls_wait_prop(f->h2, ROOT, MANAGER, "ClusterState", "up");
        const char *want = "gpus /org/devpass1/groups/2\nspare /org/devpass1/groups/3\n";
        g_assert_true(harness_wait(f->h1, groups_are, (gpointer) want, WAIT_MS));
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unjoined, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join_race, setup, teardown),
        };
        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
