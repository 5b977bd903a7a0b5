/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd.conf's [Cluster]: absent, nothing changes; present, every key
 * checked, and every refusal names the key and says what is right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "config.h"

static bool load(Config *c, const char *text, GError **error) {
        config_clear(c);
        c->config_path = g_strdup("/etc/devpass/devpassd.conf");
        return config_load_data(c, text, strlen(text), error);
}

static void assert_refused(const char *text, const char *in_message) {
        g_auto(Config) c = { 0 };
        g_autoptr(GError) error = NULL;

        assert_false(load(&c, text, &error));
        assert_true(g_error_matches(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE));
        if (!strstr(error->message, in_message) || !strstr(error->message, "[Cluster] in /etc/devpass/devpassd.conf"))
                fail_msg("'%s' does not mention '%s' and the file", error->message, in_message);
}

static void test_absent(void **state) {
        g_auto(Config) c = { 0 };
        g_autoptr(GError) error = NULL;

        assert_true(load(&c, "[Daemon]\nNode=node1\n", &error));
        assert_null(c.cluster.endpoints);
        assert_null(c.cluster.node);
        assert_true(load(&c, "", &error));
        assert_null(c.cluster.endpoints);
}

static void test_plain(void **state) {
        g_auto(Config) c = { 0 };
        g_autoptr(GError) error = NULL;

        assert_true(load(&c, "[Daemon]\nNode=gpu-1\n[Cluster]\nEndpoints=http://10.0.0.1:2379, http://10.0.0.2:2379/\n",
                         &error));
        assert_int_equal(g_strv_length(c.cluster.endpoints), 2);
        assert_string_equal(c.cluster.endpoints[1], "http://10.0.0.2:2379/");
        /* [Daemon] Node= is the default. */
        assert_string_equal(c.cluster.node, "gpu-1");
        assert_int_equal(c.cluster.lease_seconds, 10);
        assert_null(c.cluster.ca_file);
}

static void test_tls(void **state) {
        g_auto(Config) c = { 0 };
        g_autoptr(GError) error = NULL;

        assert_true(load(&c, "[Cluster]\nEndpoints=https://a:2379 https://b:2379 https://c:2379\n"
                             "CertificateAuthority=/etc/devpass/etcd-ca.pem\nCertificate=/etc/devpass/node.pem\n"
                             "PrivateKey=/etc/devpass/node.key\nNode=rack-3\nLeaseSeconds=30\n", &error));
        g_assert_no_error(error);
        assert_int_equal(g_strv_length(c.cluster.endpoints), 3);
        assert_string_equal(c.cluster.ca_file, "/etc/devpass/etcd-ca.pem");
        assert_string_equal(c.cluster.cert_file, "/etc/devpass/node.pem");
        assert_string_equal(c.cluster.key_file, "/etc/devpass/node.key");
        assert_string_equal(c.cluster.node, "rack-3");
        assert_int_equal(c.cluster.lease_seconds, 30);
}

static void test_refused(void **state) {
        assert_refused("[Cluster]\n", "Endpoints= is missing");
        assert_refused("[Cluster]\nEndpoints= , ;\n", "Endpoints= is missing");
        assert_refused("[Cluster]\nEndpoints=10.0.0.1:2379\n", "http://HOST:PORT");
        assert_refused("[Cluster]\nEndpoints=ftp://a:2379\n", "\"ftp://a:2379\" is not valid");
        assert_refused("[Cluster]\nEndpoints=http://a:2379/v3\n", "is not valid");
        assert_refused("[Cluster]\nEndpoints=http://user@a:2379\n", "is not valid");
        assert_refused("[Cluster]\nEndpoints=https://a:2379\n", "give the certificate authority");
        assert_refused("[Cluster]\nEndpoints=http://a:1 http://b:2 http://c:3 http://d:4 http://e:5 http://f:6 "
                       "http://g:7 http://h:8 http://i:9 http://j:10 http://k:11 http://l:12 http://m:13 "
                       "http://n:14 http://o:15 http://p:16 http://q:17\n", "more than 16");
        assert_refused("[Cluster]\nEndpoints=http://a:2379\nCertificateAuthority=/ca.pem\n", "mixes http://");
        assert_refused("[Cluster]\nEndpoints=https://a:2379 http://b:2379\nCertificateAuthority=/ca.pem\n",
                       "mixes http://");
        assert_refused("[Cluster]\nEndpoints=https://a:2379\nCertificateAuthority=ca.pem\n",
                       "CertificateAuthority='ca.pem' is not an absolute path");
        assert_refused("[Cluster]\nEndpoints=https://a:2379\nCertificateAuthority=/ca.pem\nCertificate=/c.pem\n",
                       "go together");
        assert_refused("[Cluster]\nEndpoints=http://a:2379\nCertificate=/c.pem\nPrivateKey=/k.pem\n",
                       "needs CertificateAuthority=");
        assert_refused("[Cluster]\nEndpoints=http://a:2379\nLeaseSeconds=1\n", "2 to 3600");
        assert_refused("[Cluster]\nEndpoints=http://a:2379\nLeaseSeconds=ten\n", "2 to 3600");
        assert_refused("[Cluster]\nEndpoints=http://a:2379\nNode=Node_1\n", "'Node_1' is not valid");
        /* The default is [Daemon]'s, which allows more than a DNS label. */
        assert_refused("[Daemon]\nNode=gpu.1\n[Cluster]\nEndpoints=http://a:2379\n", "'gpu.1' is not valid");
}

static void test_node_names(void **state) {
        g_autofree char *longest = g_strnfill(63, 'a');
        g_autofree char *too_long = g_strnfill(64, 'a');

        assert_true(config_cluster_node_valid("a"));
        assert_true(config_cluster_node_valid("node-1"));
        assert_true(config_cluster_node_valid("0"));
        assert_true(config_cluster_node_valid(longest));
        assert_false(config_cluster_node_valid(too_long));
        assert_false(config_cluster_node_valid(""));
        assert_false(config_cluster_node_valid(NULL));
        assert_false(config_cluster_node_valid("-a"));
        assert_false(config_cluster_node_valid("a-"));
        assert_false(config_cluster_node_valid("A"));
        assert_false(config_cluster_node_valid("a.b"));
        assert_false(config_cluster_node_valid("a_b"));
        assert_false(config_cluster_node_valid("a\nb"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent),
                cmocka_unit_test(test_plain),
                cmocka_unit_test(test_tls),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_node_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
