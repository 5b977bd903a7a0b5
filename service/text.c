/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *text_sanitize(const char *s, gsize len, bool *changed) {
        g_autofree char *valid = g_utf8_make_valid(s, (gssize) len);
        bool dirty = strlen(valid) != len || memcmp(valid, s, len) != 0;

        for (char *p = valid; *p; p++) {
                /* ASCII control characters only: multi-byte sequences never
                 * contain bytes below 0x80. */
                if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                        *p = '?';
                        dirty = true;
                }
        }
        if (changed)
                *changed = dirty;
        return g_steal_pointer(&valid);
}

char *text_quote(const char *s) {
        if (!g_utf8_validate(s, -1, NULL))
                return g_strdup("(not UTF-8)");
        glong len = g_utf8_strlen(s, -1);
        g_autofree char *cut = g_utf8_substring(s, 0, MIN(len, 40));
        g_autofree char *escaped = g_strescape(cut, NULL);
        return g_strdup_printf("'%s%s'", escaped, len > 40 ? "..." : "");
}

void text_strip_newline(char *s) {
        size_t n = strlen(s);

        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = '\0';
}

bool text_parse_hex_u32(const char *s, guint32 *ret) {
        char *end;

        /* Digits only after the one "0x": strtoull() would take a second
         * ("0x0x10de"), white space or a sign. */
        if (!s || strncmp(s, "0x", 2) != 0 || !s[2] || strspn(s + 2, "0123456789abcdefABCDEF") != strlen(s + 2))
                return false;
        errno = 0;
        unsigned long long v = strtoull(s + 2, &end, 16);
        if (errno != 0 || *end != '\0' || v > G_MAXUINT32)
                return false;
        *ret = (guint32) v;
        return true;
}

bool text_parse_int(const char *s, gint64 min, gint64 max, gint64 *ret) {
        char *end;

        if (!s || !(g_ascii_isdigit(s[0]) || (s[0] == '-' && g_ascii_isdigit(s[1]))))
                return false;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return false;
        *ret = v;
        return true;
}

static gint text_compare(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

GPtrArray *text_keys_sorted(GHashTable *table) {
        GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(table));
        GHashTableIter it;
        gpointer key;

        g_hash_table_iter_init(&it, table);
        while (g_hash_table_iter_next(&it, &key, NULL))
                g_ptr_array_add(a, key);
        g_ptr_array_sort(a, text_compare);
        return a;
}
