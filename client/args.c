/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's command lines and terminal: options, addresses, names,
 * group and attachment settings, tables and JSON arrays. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "address.h"
#include "ctl.h"
#include "machine-name.h"

int ctl_usage(const char *format, ...) {
        va_list ap;

        fputs("devpassctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("; see devpassctl --help\n", stderr);
        return CTL_EXIT_USAGE;
}

int ctl_getopt(int argc, char **argv, const struct option *options) {
        /* ':' first: a missing value comes back as ':', not as '?'. */
        int c = getopt_long(argc, argv, ":", options, NULL);

        if (c == '?' || c == ':') {
                g_autofree char *shown = g_strescape(argv[optind - 1], NULL);
                ctl_usage(c == ':' ? "%s: option '%s' needs a value" : "%s: unknown option '%s'", argv[0], shown);
                return '?';
        }
        return c;
}

bool ctl_group_option(int c, const char *arg, CtlGroupSettings *s) {
        switch (c) {
        case CTL_OPT_NAME: s->name = arg; return true;
        case CTL_OPT_TYPE: s->type = arg; return true;
        case CTL_OPT_CLASS: s->klass = arg; return true;
        case CTL_OPT_DESCRIPTION: s->description = arg; return true;
        default: return false;
        }
}

bool ctl_group_settings_any(const CtlGroupSettings *s) {
        return s->name || s->type || s->klass || s->description;
}

bool ctl_attach_option(int c, const char *verb, const char *arg, CtlAttachSettings *s) {
        switch (c) {
        case CTL_OPT_GROUP: s->group = arg; return true;
        case CTL_OPT_COUNT: return ctl_parse_int(verb, "--count", arg, 1, G_MAXUINT32, &s->count) == CTL_EXIT_OK;
        case CTL_OPT_NAME: s->name = arg; return true;
        case CTL_OPT_DESCRIPTION: s->description = arg; return true;
        case CTL_OPT_MAC: s->mac = arg; return true;
        case CTL_OPT_OPTIONAL: s->optional = 1; return true;
        case CTL_OPT_REQUIRED: s->optional = 0; return true;
        case CTL_OPT_TENANT: s->tenant = arg; return true;
        default: return false;
        }
}

int ctl_check_name(const char *what, const char *name) {
        bool machine = g_str_equal(what, "machine");

        if (machine ? machine_name_valid(name) : ctl_name_valid(name))
                return CTL_EXIT_OK;
        g_autofree char *shown = g_strescape(name, NULL);
        fprintf(stderr, "devpassctl: '%s' is no %s name: use %s\n", shown, what,
                machine ? "1-255 bytes of UTF-8 without control characters" : "1-64 of A-Z a-z 0-9 . _ -");
        return CTL_EXIT_USAGE;
}

int ctl_parse_int(const char *verb, const char *option, const char *arg, int64_t min, int64_t max,
                  int64_t *ret) {
        gint64 v;

        if (!g_ascii_string_to_signed(arg, 10, min, max, &v, NULL)) {
                g_autofree char *shown = g_strescape(arg, NULL);
                return ctl_usage("%s: %s takes a number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ", not '%s'",
                                 verb, option, min, max, shown);
        }
        *ret = v;
        return CTL_EXIT_OK;
}

int ctl_device_paths(char *const *addresses, int n, GPtrArray **ret) {
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

        for (int i = 0; i < n; i++) {
                char path[DP_DEVICE_PATH_MAX];
                DpAddress a;
                if (!address_parse(addresses[i], &a)) {
                        g_autofree char *shown = g_strescape(addresses[i], NULL);
                        fprintf(stderr, "devpassctl: '%s' is not a PCI address: use dddd:bb:ss.f or bb:ss.f, "
                                        "e.g. 0000:17:00.0\n", shown);
                        return CTL_EXIT_USAGE;
                }
                address_to_path(&a, path);
                g_ptr_array_add(paths, g_strdup(path));
        }
        *ret = g_steal_pointer(&paths);
        return CTL_EXIT_OK;
}

guint ctl_terminal_width(void) {
        struct winsize ws = {};
        return isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

void ctl_print_table(GPtrArray *rows, guint cut_col) {
        /* Cut a column only for a terminal that is too narrow. */
        g_autofree char *table = ctl_table_format(rows, cut_col, ctl_terminal_width());
        fputs(table, stdout);
}

GPtrArray *ctl_row_new(const char *const *cells) {
        GPtrArray *row = g_ptr_array_new_with_free_func(g_free);

        for (size_t i = 0; cells && cells[i]; i++)
                g_ptr_array_add(row, g_strdup(cells[i]));
        return row;
}

void ctl_print_json_array(const GPtrArray *objects) {
        printf("[");
        for (guint i = 0; i < objects->len; i++) {
                g_autofree char *o = ctl_object_to_json(objects->pdata[i]);
                printf("%s\n  %s", i ? "," : "", o);
        }
        printf("%s]\n", objects->len ? "\n" : "");
}

void ctl_print_created(const char *name, const char *path, bool json) {
        if (json) {
                g_autofree char *n = ctl_json_escape(name), *p = ctl_json_escape(path);
                printf("{\"Name\": %s, \"Path\": %s}\n", n, p);
        } else
                printf("%s %s\n", name, path);
}
