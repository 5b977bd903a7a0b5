/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keys and values of a cluster's etcd, as a node's watch receives
 * them from any other node or a hand (cluster_key_parse(),
 * cluster_row_decode()). The first byte picks the key's kind, whose
 * value the rest is; one past the last kind: the rest is a key. What is
 * accepted encodes again to the very same bytes and decodes again; what
 * is refused is told in one line of UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rows.h"

#define PREFIX "/devpass/v1/"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

static void key(const char *data, size_t size) {
        g_auto(ClusterKey) k = { 0 };
        g_autoptr(GError) error = NULL;

        if (!cluster_key_parse(PREFIX, data, size, &k, &error)) {
                fuzz_assert_message(error->message, 1024);
                return;
        }
        g_autofree char *again = cluster_key_build(PREFIX, &k);
        if (strlen(again) != size || memcmp(again, data, size) != 0)
                abort();
}

static void value(ClusterKeyKind kind, const char *data, size_t size) {
        ClusterKey k = { .kind = kind, .id = 7, .name = kind == CLUSTER_KEY_IDS ? "group" : "vm", .node = "n1" };
        if (kind == CLUSTER_KEY_MAC)
                k.name = "02:00:00:00:00:01";
        g_autofree char *name = cluster_key_build(PREFIX, &k);
        g_autoptr(GError) error = NULL;
        g_autoptr(ClusterRow) row = cluster_row_decode(PREFIX, name, strlen(name), data, size, &error);

        if (!row) {
                fuzz_assert_message(error->message, 2048);
                return;
        }
        g_autofree char *again = cluster_row_encode(row);
        if (strlen(again) != size || memcmp(again, data, size) != 0)
                abort();
        g_autoptr(ClusterRow) twice = cluster_row_decode(PREFIX, name, strlen(name), again, size, NULL);
        if (!twice)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        unsigned pick = data[0] % (_CLUSTER_KEY_MAX + 1);
        if (pick == _CLUSTER_KEY_MAX)
                key((const char *) data + 1, size - 1);
        else
                value((ClusterKeyKind) pick, (const char *) data + 1, size - 1);
        return 0;
}
