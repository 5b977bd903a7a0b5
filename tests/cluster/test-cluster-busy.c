/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A change that other nodes' changes refuse ten times in a row, through
 * D-Bus: one devpassd on a 1-member etcd, and the test's own client
 * writing under the group's key a value no devpassd could have written.
 * The replica leaves it out and keeps the key's old revision, so every
 * Update of the group is refused by etcd's compare: after the tenth the
 * caller hears Busy, naming the call and the group, and what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"
#include "etcd-cluster.h"

#define ROOT "/org/devpass1"
#define MANAGER "org.devpass1.Manager"

static void test_busy_named(void **state) {
        g_autoptr(EtcdCluster) etcd = etcd_cluster_new(1, false);
        g_autoptr(GError) error = NULL;
        g_autoptr(EtcdClient) client = etcd_client_new(etcd_cluster_endpoints(etcd), NULL, NULL, &error);
        g_autoptr(GAsyncResult) res = NULL;
        Harness *h = harness_prepare("gpu-server.umockdev");
        g_autofree char *conf = etcd_cluster_config(etcd, h->node);

        harness_config_add(h, conf);
        harness_daemon_start(h, NULL);
        harness_polkit_start(h, NULL);
        h->connection = harness_connect(h);
        calls_wait_prop(h, ROOT, MANAGER, "ClusterState", "up");
        g_autofree char *group = calls_ok_path(h, ROOT, MANAGER, "CreateGroup",
                                               g_variant_new("(@a{sv})", calls_dict("Name",
                                                                                    g_variant_new_string("nics"),
                                                                                    NULL)));
        g_autofree char *key = g_strconcat("/devpass/v1/shared/groups/", strrchr(group, '/') + 1, NULL);
        etcd_kv_put_async(client, key, "{not json", 9, 0, NULL, etcd_cluster_got, &res);
        assert_true(etcd_kv_put_finish(client, etcd_cluster_await(&res, 10000), &error) > 0);

        calls_refused(h, "an Update etcd refuses every time", group, "org.devpass1.Group", "Update",
                      g_variant_new("(@a{sv})", calls_dict("Description", g_variant_new_string("x"), NULL)),
                      "org.devpass1.Error.Busy", "Update of group 'nics': other nodes changed what it reads each "
                      "of the 10 times it was checked; nothing changed: call it again");
        harness_daemon_stop(h);
        harness_free(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_busy_named),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
