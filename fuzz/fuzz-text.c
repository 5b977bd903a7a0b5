/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text helpers every sysfs and pci.ids string goes through: a
 * sanitized string is UTF-8 without control characters, the same when
 * sanitized again; a quote is short printable ASCII; the number parsers
 * accept only what prints back to the same digits. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

static void sanitized(const uint8_t *data, size_t size) {
        bool changed, again_changed;
        g_autofree char *clean = text_sanitize((const char *) data, size, &changed);

        if (!g_utf8_validate(clean, -1, NULL))
                abort();
        for (const char *p = clean; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        abort();
        if (!changed && (strlen(clean) != size || memcmp(clean, data, size) != 0))
                abort();
        g_autofree char *again = text_sanitize(clean, strlen(clean), &again_changed);
        if (again_changed || strcmp(again, clean) != 0)
                abort();
}

static void quoted(const char *s) {
        g_autofree char *q = text_quote(s);

        /* 40 characters of up to 4 bytes, each byte up to 4 when escaped */
        if (strlen(q) > 2 + 40 * 4 * 4 + 3)
                abort();
        for (const char *p = q; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                        abort();
}

static void numbers(const char *s) {
        guint32 x;
        gint64 n;

        if (text_parse_hex_u32(s, &x)) {
                /* "0x" and hex digits only: leading zeros, either case */
                if (strspn(s + 2, "0123456789abcdefABCDEF") != strlen(s + 2) ||
                    g_ascii_strtoull(s + 2, NULL, 16) != x)
                        abort();
        }
        if (text_parse_int(s, -1, G_MAXINT32, &n)) {
                if (n < -1 || n > G_MAXINT32 || g_ascii_strtoll(s, NULL, 10) != n)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        g_autofree char *s = fuzz_string(data, size);
        g_autofree char *stripped = g_strdup(s);

        sanitized(data, size);
        quoted(s);
        numbers(s);
        text_strip_newline(stripped);
        size_t n = strlen(stripped);
        if (n > strlen(s) || strncmp(stripped, s, n) != 0 || (n && strchr("\n \t", stripped[n - 1])))
                abort();
        return 0;
}
