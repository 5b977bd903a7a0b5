/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's side of a fixture (tests/fixtures/README.md): what the
 * safety guard reads beside the testbed's sys/, from the node's .host
 * file, and the verdicts that file documents. */
#include "testbed.h"

#include <errno.h>
#include <string.h>

/* <fixture without .umockdev>.host */
static char *host_file_path(const char *fixture) {
        g_autofree char *base = g_str_has_suffix(fixture, ".umockdev")
                                        ? g_strndup(fixture, strlen(fixture) - strlen(".umockdev"))
                                        : g_strdup(fixture);
        return g_strconcat(base, ".host", NULL);
}

/* The fixture's .host file, parsed; aborts when it is missing. */
static GKeyFile *host_file_load(const char *fixture) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *path = host_file_path(fixture);

        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error))
                g_error("testbed: cannot load %s: %s", path, error->message);
        return g_steal_pointer(&kf);
}

/* <testbed root>/rel, with its parents. */
static char *host_path(Testbed *tb, const char *rel) {
        g_autofree char *root = g_path_get_dirname(testbed_sys_dir(tb));
        char *path = g_build_filename(root, rel, NULL);
        g_autofree char *dir = g_path_get_dirname(path);

        if (g_mkdir_with_parents(dir, 0755) < 0)
                g_error("testbed: cannot make %s: %s", dir, g_strerror(errno));
        return path;
}

void testbed_load_host(Testbed *tb, const char *fixture) {
        g_autofree char *host = host_file_path(fixture);
        if (!g_file_test(host, G_FILE_TEST_EXISTS))   /* a node of one's own (the demo's argument) */
                return;

        g_autoptr(GKeyFile) kf = host_file_load(fixture);
        g_auto(GStrv) tables = g_key_file_get_keys(kf, "proc", NULL, NULL);

        for (size_t i = 0; tables && tables[i]; i++) {
                g_autoptr(GError) error = NULL;
                if (strstr(tables[i], ".."))
                        g_error("testbed: %s: %s is not below /proc", fixture, tables[i]);
                g_autofree char *contents = g_key_file_get_string(kf, "proc", tables[i], &error);
                g_autofree char *rel = g_build_filename("proc", tables[i], NULL);
                g_autofree char *path = host_path(tb, rel);
                if (!contents || !g_file_set_contents(path, contents, -1, &error))
                        g_error("testbed: %s: %s: %s", fixture, tables[i], error->message);
        }
}

void testbed_host_skeleton(Testbed *tb) {
        static const struct {
                const char *path;
                const char *contents;   /* NULL: a directory */
        } files[] = {
                { "proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\t"
                                    "Window\tIRTT\n" },
                { "proc/net/if_inet6", "" },
                { "proc/net/ipv6_route", "" },
                { "proc/self/mountinfo", "" },
                { "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" },
                /* the boot claims belong to; fakekernel_reboot() makes a new one */
                { "proc/sys/kernel/random/boot_id", "5a1e0e2c-7d43-4b59-9a1f-3c0de0b1a7e1\n" },
                /* the guard fails closed on a class it cannot list */
                { "sys/class/block", NULL },
                { "sys/class/net", NULL },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
                g_autofree char *path = host_path(tb, files[i].path);
                g_autoptr(GError) error = NULL;
                if (!files[i].contents) {
                        if (g_mkdir_with_parents(path, 0755) < 0)
                                g_error("testbed: cannot make %s: %s", path, g_strerror(errno));
                } else if (!g_file_test(path, G_FILE_TEST_EXISTS) &&
                           !g_file_set_contents(path, files[i].contents, -1, &error))
                        g_error("testbed: %s", error->message);
        }
}

GHashTable *testbed_guard_verdicts(const char *fixture) {
        g_autoptr(GKeyFile) kf = host_file_load(fixture);
        g_auto(GStrv) addresses = g_key_file_get_keys(kf, "guard", NULL, NULL);
        GHashTable *verdicts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

        for (size_t i = 0; addresses && addresses[i]; i++)
                g_hash_table_insert(verdicts, g_strdup(addresses[i]),
                                    g_key_file_get_string(kf, "guard", addresses[i], NULL));
        return verdicts;
}
