/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "ctl-helpers.h"

int ctl_setup(void **state) {
        CtlFixture *f = g_new0(CtlFixture, 1);

        f->h = harness_new("gpu-server.umockdev", NULL);
        harness_polkit_start(f->h, NULL);
        f->fk = fakekernel_new(f->h->testbed);
        fakekernel_load_vfio(f->fk, true);
        *state = f;
        return 0;
}

int ctl_teardown(void **state) {
        CtlFixture *f = *state;

        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f);
        return 0;
}

char *ctl_ok(CtlFixture *f, const char *const *args) {
        char *out = NULL;
        g_autofree char *err = NULL;
        int status = harness_ctl(f->h, &out, &err, args);

        if (status != 0 || err[0])
                fail_msg("devpassctl %s %s: exit %d: %s", args[0], args[1] ?: "", status, err);
        return out;
}

void ctl_succeeds(CtlFixture *f, const char *const *args) {
        g_free(ctl_ok(f, args));
}

void ctl_quiet(CtlFixture *f, const char *const *args) {
        g_autofree char *out = ctl_ok(f, args);

        if (out[0])
                fail_msg("devpassctl %s printed '%s'", args[0], out);
}

void ctl_fails(CtlFixture *f, int code, const char *want, const char *const *args) {
        g_autofree char *out = NULL, *err = NULL;
        int status = harness_ctl(f->h, &out, &err, args);

        if (status != code)
                fail_msg("devpassctl %s %s: exit %d, want %d (%s)", args[0], args[1] ?: "", status, code, err);
        if (out[0])
                fail_msg("devpassctl %s %s printed '%s' besides failing", args[0], args[1] ?: "", out);
        const char *nl = strchr(err, '\n');
        if (!nl || nl[1])
                fail_msg("devpassctl %s: stderr is not one line: '%s'", args[0], err);
        if (!g_str_has_prefix(err, want))
                fail_msg("devpassctl %s: stderr\n  '%s'\nwant\n  '%s'", args[0], err, want);
}

bool has_line(const char *text, const char *line) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

        for (size_t i = 0; lines[i]; i++)
                if (g_str_equal(g_strchug(lines[i]), line))
                        return true;
        return false;
}

void assert_line(const char *text, const char *line) {
        if (!has_line(text, line))
                fail_msg("no line '%s' in:\n%s", line, text);
}

void wait_device(CtlFixture *f, const char *address, const char *line) {
        g_autofree char *out = NULL, *err = NULL;

        for (int i = 0; i < 100; i++) {
                g_clear_pointer(&out, g_free);
                g_clear_pointer(&err, g_free);
                if (harness_ctl(f->h, &out, &err, ARGS("device", address)) == 0 && has_line(out, line))
                        return;
                g_usleep(50000);
        }
        fail_msg("devpassctl device %s never showed '%s':\n%s%s", address, line, out, err);
}

void assert_holder(CtlFixture *f, const char *address, const char *state, const char *holder) {
        g_autofree char *out = ctl_ok(f, ARGS("device", address));
        g_autofree char *state_line = g_strdup_printf("State: %s", state);
        g_autofree char *holder_line = g_strdup_printf("Holder: %s", holder);

        assert_line(out, state_line);
        assert_line(out, holder_line);
}

char *devices_cell(const char *table, const char *first, const char *title) {
        g_auto(GStrv) lines = g_strsplit(table, "\n", -1);
        const char *at = strstr(lines[0], title);

        assert_non_null(at);
        size_t col = (size_t) (at - lines[0]);
        for (size_t i = 1; lines[i]; i++)
                if (g_str_has_prefix(lines[i], first)) {
                        assert_true(strlen(lines[i]) > col);
                        assert_true(lines[i][col - 1] == ' ');
                        const char *end = strstr(lines[i] + col, "  ");
                        return end ? g_strndup(lines[i] + col, end - (lines[i] + col)) : g_strdup(lines[i] + col);
                }
        fail_msg("no row %s in:\n%s", first, table);
        return NULL;
}

char *created_path(const char *out, const char *name, const char *kind) {
        g_autofree char *prefix = g_strdup_printf("%s /org/devpass1/%s/", name, kind);

        if (!g_str_has_prefix(out, prefix) || !g_str_has_suffix(out, "\n") || strchr(out, '\n')[1])
                fail_msg("'%s' is not '%sID'", out, prefix);
        char *path = g_strndup(out + strlen(name) + 1, strlen(out) - strlen(name) - 2);
        assert_true(g_variant_is_object_path(path));
        return path;
}
