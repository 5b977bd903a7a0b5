/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's bus access: connect, read properties, report failures (as
 * the program that runs: devpass-libvirt shares it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "ctl.h"

int ctl_bus_open(sd_bus **ret) {
        /* Honours DBUS_SYSTEM_BUS_ADDRESS. */
        int r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "%s: cannot reach the system bus: %s\n", program_invocation_short_name, strerror(-r));
                return ctl_exit_code_for_error(NULL, r);
        }
        /* Every call may then wait for a polkit agent to ask for a password. */
        r = sd_bus_set_allow_interactive_authorization(*ret, true);
        if (r < 0) {
                *ret = sd_bus_flush_close_unref(*ret);
                return ctl_fail("cannot set up the bus", NULL, r);
        }
        return CTL_EXIT_OK;
}

/* An object that is not there, as a person reads it: sd-bus names only
 * the path. NULL for any other error. */
static char *ctl_unknown_object(const char *name, const char *message) {
        static const struct {
                const char *prefix;
                const char *kind;
                const char *verb;
        } kinds[] = {
                { "/org/devpass1/devices/", "device", "devices" },
                { "/org/devpass1/groups/", "group", "groups" },
                { "/org/devpass1/rules/", "rule", "rules" },
                { "/org/devpass1/attachments/", "attachment", "attachments" },
        };
        const char *open = strchr(message, '\''), *close = open ? strchr(open + 1, '\'') : NULL;

        if (!g_str_equal(name, "org.freedesktop.DBus.Error.UnknownObject") || !close)
                return NULL;
        g_autofree char *path = g_strndup(open + 1, (gsize) (close - open - 1));
        DpAddress a;
        char address[DP_ADDRESS_MAX];
        if (g_str_has_prefix(path, kinds[0].prefix) && address_from_path(path, &a)) {
                address_format(&a, address);
                return g_strdup_printf("No PCI function %s on this node ('devpassctl devices' lists them)", address);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                if (g_str_has_prefix(path, kinds[i].prefix))
                        return g_strdup_printf("No %s at '%s' ('devpassctl %s' lists them)", kinds[i].kind, path,
                                               kinds[i].verb);
        return NULL;
}

int ctl_fail(const char *what, const sd_bus_error *error, int r) {
        const char *name = error && sd_bus_error_is_set(error) ? error->name : NULL;
        int code = ctl_exit_code_for_error(name, r);

        if (code == CTL_EXIT_NOT_RUNNING)
                fprintf(stderr, "%s: devpassd is not running on the system bus (start it: systemctl start "
                                "devpassd)\n", program_invocation_short_name);
        else if (name && error->message) {
                /* One line, whatever the daemon wrote. */
                g_autofree char *line = ctl_unknown_object(name, error->message) ?: g_strdup(error->message);
                g_strdelimit(line, "\n\r", ' ');
                fprintf(stderr, "%s: %s\n", program_invocation_short_name, g_strstrip(line));
        } else
                fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(-r));
        return code;
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

static int read_value(sd_bus_message *m, CtlValue *v) {
        const char *contents;
        char type;
        int r;

        if ((r = sd_bus_message_peek_type(m, &type, &contents)) < 0)
                return r;
        if ((r = sd_bus_message_enter_container(m, 'v', contents)) < 0)
                return r;
        v->type = contents[0];
        switch (contents[0]) {
        case 's':
        case 'o': {
                const char *s;
                if ((r = sd_bus_message_read_basic(m, contents[0], &s)) < 0)
                        return r;
                v->str = g_strdup(s);
                break;
        }
        case 'a':
                if (g_str_equal(contents, "as") || g_str_equal(contents, "ao")) {
                        if ((r = sd_bus_message_read_strv(m, &v->strv)) < 0)
                                return r;
                        break;
                }
                if (is_string_tuples(contents)) {
                        v->type = 'r';
                        v->tuple_types = g_strndup(contents + 2, strlen(contents) - 3);
                        if ((r = ctl_read_tuples(m, v->tuple_types, &v->tuples)) < 0)
                                return r;
                        break;
                }
                /* A type this client does not know: "?", and null in JSON. */
                v->type = '?';
                if ((r = sd_bus_message_skip(m, contents)) < 0)
                        return r;
                break;
        case 'b': {
                int b;
                if ((r = sd_bus_message_read_basic(m, 'b', &b)) < 0)
                        return r;
                v->num = b;
                break;
        }
        case 'y': { uint8_t x; if ((r = sd_bus_message_read_basic(m, 'y', &x)) < 0) return r; v->num = x; break; }
        case 'q': { uint16_t x; if ((r = sd_bus_message_read_basic(m, 'q', &x)) < 0) return r; v->num = x; break; }
        case 'u': { uint32_t x; if ((r = sd_bus_message_read_basic(m, 'u', &x)) < 0) return r; v->num = x; break; }
        case 'i': { int32_t x; if ((r = sd_bus_message_read_basic(m, 'i', &x)) < 0) return r; v->num = x; break; }
        default:
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
