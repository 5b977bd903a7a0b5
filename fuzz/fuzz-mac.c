/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller's settings that are parsed by hand: MAC addresses (Mac of
 * attachments) and the names of groups, rules, machines, tenants and
 * nodes. A MAC accepted is 17 characters, lower case, unicast, not zero,
 * and parses to itself; every refusal is a one-line UTF-8 message. The
 * first byte picks the validator. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

static void mac(const char *s) {
        g_autoptr(GError) error = NULL;
        g_autofree char *m = settings_mac_parse(s, &error);

        if (!m) {
                fuzz_assert_message(error->message, 1024);
                return;
        }
        g_autofree char *again = settings_mac_parse(m, NULL);
        if (strlen(m) != 17 || !again || strcmp(again, m) != 0)
                abort();
        for (const char *p = m; *p; p++)
                if (g_ascii_isupper(*p))
                        abort();
        if (g_ascii_xdigit_value(m[1]) & 1 || strcmp(m, "00:00:00:00:00:00") == 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        g_autofree char *s = fuzz_string(data + 1, size - 1);
        g_autoptr(GError) error = NULL;
        bool ok;

        switch (data[0] % 8) {
        case 0: mac(s); return 0;
        case 1: ok = settings_name_valid("group", s, &error); break;
        case 2: ok = settings_description_valid(s, &error); break;
        case 3: ok = settings_node_valid(s, &error); break;
        case 4: ok = settings_machine_valid(s, &error); break;
        case 5: ok = settings_tenant_valid("tenant", s, &error); break;
        case 6: ok = settings_uuid_valid(s, &error); break;
        default: ok = settings_group_type_valid(s, &error) && settings_group_class_valid(s, &error); break;
        }
        if (!ok)
                fuzz_assert_message(error->message, 1024);
        return 0;
}
