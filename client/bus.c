/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's bus access: connect, read properties, report failures. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "ctl.h"

int ctl_bus_open(sd_bus **ret) {
        /* Honours DBUS_SYSTEM_BUS_ADDRESS. */
        int r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "devpassctl: cannot reach the system bus: %s\n", strerror(-r));
                return ctl_exit_code_for_error(NULL, r);
        }
        return CTL_EXIT_OK;
}

int ctl_fail(const char *what, const sd_bus_error *error, int r) {
        const char *name = error && sd_bus_error_is_set(error) ? error->name : NULL;
        int code = ctl_exit_code_for_error(name, r);

        if (code == CTL_EXIT_NOT_RUNNING)
                fprintf(stderr, "devpassctl: devpassd is not running on the system bus "
                                "(start it: systemctl start devpassd)\n");
        else if (name && error->message)
                fprintf(stderr, "devpassctl: %s\n", error->message);
        else
                fprintf(stderr, "devpassctl: %s: %s\n", what, strerror(-r));
        return code;
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
                /* A type this client does not know: shown as nothing. */
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

static gint compare_devices(gconstpointer a, gconstpointer b) {
        const CtlProps *x = *(CtlProps *const *) a, *y = *(CtlProps *const *) b;
        DpAddress p, q;

        if (!address_parse(ctl_props_str(x, "Address"), &p) || !address_parse(ctl_props_str(y, "Address"), &q))
                return strcmp(ctl_props_str(x, "Address"), ctl_props_str(y, "Address"));
        return address_compare(&p, &q);
}

int ctl_get_devices(sd_bus *bus, GPtrArray **ret, int *exit_code) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        const char *path, *iface;
        int r;

        r = sd_bus_call_method(bus, "org.devpass1", "/org/devpass1", "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0) {
                *exit_code = ctl_fail("GetManagedObjects", &error, r);
                sd_bus_error_free(&error);
                return r;
        }
        if ((r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}")) < 0)
                goto bad;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                if ((r = sd_bus_message_read(reply, "o", &path)) < 0 ||
                    (r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}")) < 0)
                        goto bad;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        if ((r = sd_bus_message_read(reply, "s", &iface)) < 0)
                                goto bad;
                        if (g_str_equal(iface, "org.devpass1.Device")) {
                                CtlProps *props;
                                if ((r = ctl_read_props(reply, &props)) < 0)
                                        goto bad;
                                g_ptr_array_add(devices, props);
                        } else if ((r = sd_bus_message_skip(reply, "a{sv}")) < 0)
                                goto bad;
                        if ((r = sd_bus_message_exit_container(reply)) < 0)
                                goto bad;
                }
                if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0 ||
                    (r = sd_bus_message_exit_container(reply)) < 0)
                        goto bad;
        }
        if (r < 0)
                goto bad;
        sd_bus_message_unref(reply);
        g_ptr_array_sort(devices, compare_devices);
        *ret = g_steal_pointer(&devices);
        return 0;
bad:
        sd_bus_message_unref(reply);
        *exit_code = ctl_fail("cannot read the devices", NULL, r);
        return r;
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
