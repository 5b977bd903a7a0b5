/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's bus access: connect, read properties, report failures (as
 * the program that runs: devpass-libvirt shares it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int ctl_bus_open(sd_bus **ret) {
        /* Honours DBUS_SYSTEM_BUS_ADDRESS. */
        int r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "%s: cannot reach the system bus: %s\n", program_invocation_short_name, strerror(-r));
                return ctl_exit_code_for_error(NULL, r);
        }
        /* Reads answer at once from a daemon that is well: a short wait
         * before saying it does not (changes wait longer, ctl_call);
         * $SYSTEMD_BUS_TIMEOUT, as sd-bus reads it, wins. */
        r = getenv("SYSTEMD_BUS_TIMEOUT") ? 0 : sd_bus_set_method_call_timeout(*ret, CTL_READ_TIMEOUT_USEC);
        if (r < 0) {
                *ret = sd_bus_flush_close_unref(*ret);
                return ctl_fail("cannot set up the bus", NULL, r);
        }
        return CTL_EXIT_OK;
}

int ctl_fail(const char *what, const sd_bus_error *error, int r) {
        const char *name = error && sd_bus_error_is_set(error) ? error->name : NULL;
        g_autofree char *line = ctl_error_text(what, name, name ? error->message : NULL, r);

        fprintf(stderr, "%s: %s\n", program_invocation_short_name, line);
        return ctl_exit_code_for_error(name, r);
}

/* "a(sss)" and the like: structs of strings and paths only. */
static bool is_string_tuples(const char *contents) {
        size_t n = strlen(contents);

        if (n < 4 || contents[0] != 'a' || contents[1] != '(' || contents[n - 1] != ')')
                return false;
        return strspn(contents + 2, "so") == n - 3;
}

int ctl_read_tuples(sd_bus_message *m, const char *types, GPtrArray **ret) {
        g_autofree char *signature = g_strdup_printf("(%s)", types);
        g_autoptr(GPtrArray) tuples = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
        size_t n = strlen(types);
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', signature)) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', types)) > 0) {
                char **t = g_new0(char *, n + 1);
                g_ptr_array_add(tuples, t);
                for (size_t i = 0; i < n; i++) {
                        const char *s;
                        if ((r = sd_bus_message_read_basic(m, types[i], &s)) < 0)
                                return r;
                        t[i] = g_strdup(s);
                }
                if ((r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        *ret = g_steal_pointer(&tuples);
        return 0;
}

int ctl_read_number(sd_bus_message *m, char t, int64_t *ret) {
        union {
                int b;
                uint8_t y;
                uint16_t q;
                uint32_t u;
                int32_t i;
        } x;
        int r = sd_bus_message_read_basic(m, t, &x);

        if (r < 0)
                return r;
        switch (t) {
        case 'b': *ret = x.b; break;
        case 'y': *ret = x.y; break;
        case 'q': *ret = x.q; break;
        case 'u': *ret = x.u; break;
        default: *ret = x.i; break;
        }
        return r;
}

/* A group's Nodes, a{s(uu)}: tuples of the node's name and its two
 * numbers in decimal. */
static int read_units(sd_bus_message *m, CtlValue *v) {
        g_autoptr(GPtrArray) tuples = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
        const char *node;
        uint32_t total, free;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "{s(uu)}")) < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{s(uu)}", &node, &total, &free)) > 0) {
                char **t = g_new0(char *, 4);
                t[0] = g_strdup(node);
                t[1] = g_strdup_printf("%u", total);
                t[2] = g_strdup_printf("%u", free);
                g_ptr_array_add(tuples, t);
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        v->type = 'r';
        v->tuple_types = g_strdup("suu");
        v->tuples = g_steal_pointer(&tuples);
        return 0;
}

static bool is_number(const char *contents) {
        return contents[0] && contents[1] == '\0' && strchr("byqui", contents[0]);
}

static int read_value(sd_bus_message *m, CtlValue *v) {
        const char *contents;
        char type;
        int r;

        if ((r = sd_bus_message_peek_type(m, &type, &contents)) < 0)
                return r;
        if ((r = sd_bus_message_enter_container(m, 'v', contents)) < 0)
                return r;
        v->type = contents[0];
        if (is_number(contents)) {
                if ((r = ctl_read_number(m, contents[0], &v->num)) < 0)
                        return r;
        } else if (g_str_equal(contents, "s") || g_str_equal(contents, "o")) {
                const char *s;
                if ((r = sd_bus_message_read_basic(m, contents[0], &s)) < 0)
                        return r;
                v->str = g_strdup(s);
        } else if (g_str_equal(contents, "as") || g_str_equal(contents, "ao")) {
                if ((r = sd_bus_message_read_strv(m, &v->strv)) < 0)
                        return r;
        } else if (g_str_equal(contents, "a{s(uu)}")) {
                if ((r = read_units(m, v)) < 0)
                        return r;
        } else if (is_string_tuples(contents)) {
                v->type = 'r';
                v->tuple_types = g_strndup(contents + 2, strlen(contents) - 3);
                if ((r = ctl_read_tuples(m, v->tuple_types, &v->tuples)) < 0)
                        return r;
        } else {
                /* A type this client does not know: "?", and null in JSON. */
                v->type = '?';
                if ((r = sd_bus_message_skip(m, contents)) < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

int ctl_read_props(sd_bus_message *m, CtlProps **ret) {
        g_autoptr(GPtrArray) props = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_value_free);
        const char *name;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                CtlValue *v = g_new0(CtlValue, 1);
                g_ptr_array_add(props, v);
                if ((r = sd_bus_message_read(m, "s", &name)) < 0)
                        return r;
                v->name = g_strdup(name);
                if ((r = read_value(m, v)) < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        *ret = g_steal_pointer(&props);
        return 0;
}

/* The items of an as or ao in the message, NULL-terminated in items. */
static int read_items(sd_bus_message *m, char type, GPtrArray *items) {
        const char *s;
        int r;

        g_ptr_array_set_size(items, 0);
        if ((r = sd_bus_message_enter_container(m, 'a', type == 's' ? "s" : "o")) < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, type, &s)) > 0)
                g_ptr_array_add(items, (char *) s);
        g_ptr_array_add(items, NULL);
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

/* A value as read_value() reads it, as one of values': strings, numbers
 * and arrays of them are read in place and looked up; anything else is
 * read as it is and kept. */
static int read_value_shared(sd_bus_message *m, const char *name, CtlValues *values, GPtrArray *items,
                             const CtlValue **ret) {
        const char *contents, *s;
        int64_t num;
        char type;
        int r;

        if ((r = sd_bus_message_peek_type(m, &type, &contents)) < 0)
                return r;
        bool str = g_str_equal(contents, "s") || g_str_equal(contents, "o");
        bool strv = g_str_equal(contents, "as") || g_str_equal(contents, "ao");
        if (!str && !strv && !is_number(contents)) {
                CtlValue *v = g_new0(CtlValue, 1);
                v->name = g_strdup(name);
                *ret = ctl_values_own(values, v);
                return read_value(m, v);
        }
        if ((r = sd_bus_message_enter_container(m, 'v', contents)) < 0)
                return r;
        if (str) {
                if ((r = sd_bus_message_read_basic(m, contents[0], &s)) < 0)
                        return r;
                *ret = ctl_values_str(values, name, contents[0], s);
        } else if (strv) {
                if ((r = read_items(m, contents[1], items)) < 0)
                        return r;
                *ret = ctl_values_strv(values, name, (char *const *) items->pdata);
        } else {
                if ((r = ctl_read_number(m, contents[0], &num)) < 0)
                        return r;
                *ret = ctl_values_num(values, name, contents[0], num);
        }
        return sd_bus_message_exit_container(m);
}

int ctl_read_props_shared(sd_bus_message *m, CtlValues *values, CtlProps **ret) {
        g_autoptr(GPtrArray) props = g_ptr_array_new();
        g_autoptr(GPtrArray) items = g_ptr_array_new();
        const char *name;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const CtlValue *v;
                if ((r = sd_bus_message_read_basic(m, 's', &name)) < 0 ||
                    (r = read_value_shared(m, name, values, items, &v)) < 0 ||
                    (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
                g_ptr_array_add(props, (CtlValue *) v);
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        *ret = g_steal_pointer(&props);
        return 0;
}

int ctl_get_all(sd_bus *bus, const char *path, const char *interface, CtlProps **ret, int *exit_code) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        int r = sd_bus_call_method(bus, "org.devpass1", path, "org.freedesktop.DBus.Properties", "GetAll",
                                   &error, &reply, "s", interface);
        if (r < 0) {
                *exit_code = ctl_fail("GetAll", &error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = ctl_read_props(reply, ret);
        sd_bus_message_unref(reply);
        if (r < 0)
                *exit_code = ctl_fail("cannot read the properties", NULL, r);
        return r;
}

char *ctl_get_name(sd_bus *bus, const char *path, CtlKind kind) {
        g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
        char *name = NULL;

        if (sd_bus_get_property_string(bus, "org.devpass1", path, ctl_kind_interface(kind), "Name", &error,
                                       &name) < 0)
                return NULL;
        /* sd-bus allocates with malloc(); the callers free with g_free(). */
        char *copy = g_strdup(name);
        free(name);
        return copy;
}
