/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

char *fuzz_string(const uint8_t *data, size_t size) {
        return g_strndup((const char *) data, size);
}

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer userdata) {
        if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
                fprintf(stderr, "fuzz: %s\n", message);
                abort();
        }
}

void fuzz_logs_quiet(void) {
        g_log_set_default_handler(quiet, NULL);
}

void fuzz_assert_message(const char *message, size_t max) {
        if (!message || !g_utf8_validate(message, -1, NULL) || strchr(message, '\n') || strlen(message) > max) {
                fprintf(stderr, "fuzz: a message that is not one line of UTF-8 up to %zu bytes\n", max);
                abort();
        }
}

static char *temp_root;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void temp_remove(void) {
        if (temp_root)
                nftw(temp_root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *fuzz_temp_dir(void) {
        g_autofree char *tmpl = g_build_filename(g_get_tmp_dir(), "devpass-fuzz-XXXXXX", NULL);
        if (!g_mkdtemp(tmpl))
                abort();
        if (!temp_root) {
                temp_root = g_strdup(tmpl);
                atexit(temp_remove);
        }
        return g_steal_pointer(&tmpl);
}

void fuzz_write(const char *dir, const char *rel, const void *data, size_t len) {
        g_autofree char *path = g_build_filename(dir, rel, NULL);
        g_autofree char *parent = g_path_get_dirname(path);

        if (g_mkdir_with_parents(parent, 0700) < 0 || !g_file_set_contents(path, data, (gssize) len, NULL))
                abort();
}

void fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t n) {
        size_t i = 0;
        const uint8_t *p = data, *end = data + size;

        for (; i < n && p <= end && size > 0; i++) {
                const uint8_t *nul = memchr(p, 0, (size_t) (end - p));
                parts[i] = p;
                lens[i] = (size_t) ((nul ?: end) - p);
                if (!nul)
                        p = end + 1;
                else
                        p = nul + 1;
        }
        for (; i < n; i++) {
                parts[i] = NULL;
                lens[i] = 0;
        }
}
