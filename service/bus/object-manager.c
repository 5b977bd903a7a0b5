/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "object-manager.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "bus-errors.h"

#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"

static const BusKind *kind_of(const BusObjects *o, const char *path) {
        for (const BusKind *const *k = o->kinds; *k; k++) {
                size_t n = strlen((*k)->prefix);
                if (strncmp(path, (*k)->prefix, n) == 0 && path[n] == '/')
                        return *k;
        }
        return NULL;
}

/* One property's value, as sd-bus's Properties.GetAll gives it: the
 * getter with the object's field, or the field itself. */
static int append_value(BusObjects *o, sd_bus_message *m, const BusKind *k, const sd_bus_vtable *v, const char *path,
                        void *object, sd_bus_error *error) {
        void *field = (uint8_t *) object + v->x.property.offset;
        char sig = v->x.property.signature[0];
        const void *p = field;
        int r;

        if (v->x.property.get) {
                r = v->x.property.get(o->bus, path, k->interface, v->x.property.member, m, field, error);
                return r < 0 ? r : sd_bus_error_is_set(error) ? -sd_bus_error_get_errno(error) : r;
        }
        if (strcmp(v->x.property.signature, "as") == 0)
                return sd_bus_message_append_strv(m, *(char ***) field);
        if (sig == SD_BUS_TYPE_STRING || sig == SD_BUS_TYPE_SIGNATURE)
                p = *(const char **) field ?: "";
        else if (sig == SD_BUS_TYPE_OBJECT_PATH && !(p = *(const char **) field))
                return -EINVAL;
        return sd_bus_message_append_basic(m, sig, p);
}

/* A property a generic dump shows (sd-bus's rules: not hidden, not
 * explicit, not invalidation-only). */
static bool property_listed(const sd_bus_vtable *v) {
        return (v->type == _SD_BUS_VTABLE_PROPERTY || v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) &&
               !(v->flags & (SD_BUS_VTABLE_HIDDEN | SD_BUS_VTABLE_PROPERTY_EXPLICIT |
                             SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION));
}

/* a{sa{sv}}: the kind's interface with every property listed. */
static int append_interfaces(BusObjects *o, sd_bus_message *m, const BusKind *k, const char *path, void *object,
                             sd_bus_error *error) {
        int r;

        if ((r = sd_bus_message_open_container(m, 'a', "{sa{sv}}")) < 0 ||
            (r = sd_bus_message_open_container(m, 'e', "sa{sv}")) < 0 ||
            (r = sd_bus_message_append_basic(m, 's', k->interface)) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0)
                return r;
        for (const sd_bus_vtable *v = k->vtable + 1; v->type != _SD_BUS_VTABLE_END; v++) {
                if (!property_listed(v))
                        continue;
                if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
                    (r = sd_bus_message_append_basic(m, 's', v->x.property.member)) < 0 ||
                    (r = sd_bus_message_open_container(m, 'v', v->x.property.signature)) < 0 ||
                    (r = append_value(o, m, k, v, path, object, error)) < 0 ||
                    (r = sd_bus_message_close_container(m)) < 0 ||
                    (r = sd_bus_message_close_container(m)) < 0)
                        return r;
        }
        if ((r = sd_bus_message_close_container(m)) < 0 || (r = sd_bus_message_close_container(m)) < 0)
                return r;
        return sd_bus_message_close_container(m);
}

/* The object at path, through its kind's find; 0 when there is none. */
static int object_find(BusObjects *o, const BusKind *k, const char *path, void **object, sd_bus_error *error) {
        int r = k->find(o->bus, path, k->interface, o->userdata, object, error);

        return r < 0 ? r : sd_bus_error_is_set(error) ? -sd_bus_error_get_errno(error) : r;
}

static int append_kind(BusObjects *o, sd_bus_message *m, const BusKind *k, sd_bus_error *error) {
        g_auto(GStrv) paths = NULL;
        int r = k->enumerate(o->bus, k->prefix, o->userdata, &paths, error);

        for (char **p = paths; r >= 0 && p && *p; p++) {
                void *object;
                if ((r = object_find(o, k, *p, &object, error)) <= 0)
                        continue;
                if ((r = sd_bus_message_open_container(m, 'e', "oa{sa{sv}}")) < 0 ||
                    (r = sd_bus_message_append_basic(m, 'o', *p)) < 0 ||
                    (r = append_interfaces(o, m, k, *p, object, error)) < 0)
                        break;
                r = sd_bus_message_close_container(m);
        }
        return r;
}

static int get_managed_objects(BusObjects *o, sd_bus_message *call, sd_bus_error *error) {
        g_autoptr(sd_bus_message) reply = NULL;
        int r;

        if (!sd_bus_message_has_signature(call, ""))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "GetManagedObjects takes no arguments");
        if (o->size) {
                size_t size = o->size(o->userdata);
                if (size > o->max_size) {
                        g_warning("GetManagedObjects refused: its reply would take up to %zu bytes, over the %zu "
                                  "devpassd sends in one message", size, o->max_size);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Every object together would "
                                                 "take up to %zu KiB, more than the bus carries in one message: list "
                                                 "them (busctl tree org.devpass1) and read each with "
                                                 "Properties.GetAll", size >> 10);
                }
        }
        if ((r = sd_bus_message_new_method_return(call, &reply)) < 0 ||
            (r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}")) < 0)
                return r;
        for (const BusKind *const *k = o->kinds; *k; k++)
                if ((r = append_kind(o, reply, *k, error)) < 0)
                        return r;
        if ((r = sd_bus_message_close_container(reply)) < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* A filter, not a vtable: sd-bus keeps the ObjectManager interface to
 * itself (sd_bus_add_object_vtable() refuses it). */
static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusObjects *o = userdata;

        if (!sd_bus_message_is_method_call(m, OBJECT_MANAGER_INTERFACE, "GetManagedObjects") ||
            strcmp(sd_bus_message_get_path(m), o->path) != 0)
                return 0;
        int r = get_managed_objects(o, m, error);
        return r < 0 ? r : 1;
}

/* ---- how big an object is ---- */

#define ALIGN(n, a) (((n) + (a) - 1) / (a) * (a))

/* The alignment and size of a basic type of fixed size; 0 for the rest. */
static size_t fixed_size(char type, size_t *align) {
        static const char types[] = "ybnqiuxtdh";
        static const size_t sizes[] = { 1, 4, 2, 2, 4, 4, 8, 8, 8, 4 };
        const char *t = type ? strchr(types, type) : NULL;

        if (!t)
                return 0;
        *align = sizes[t - types];
        return sizes[t - types];
}

/* What listing one property takes besides its strings and elements. An
 * entry {sv} begins at a multiple of 8, so one of fixed size is known to
 * the byte; a string or an array ends where its value does, and the
 * padding to the next entry is counted at its worst. */
static size_t property_fixed_bytes(const sd_bus_vtable *v) {
        const char *sig = v->x.property.signature;
        size_t n = 4 + strlen(v->x.property.member) + 1 + 1 + strlen(sig) + 1, align;
        size_t size = sig[1] ? 0 : fixed_size(sig[0], &align);

        if (size)
                return ALIGN(ALIGN(n, align) + size, 8);
        /* A string or path: length and NUL; an array: its length, and up
         * to 4 more when its elements align to 8 (structs, dict entries). */
        if (sig[0] != 'a')
                return ALIGN(n, 4) + 4 + 1 + 7;
        return ALIGN(n, 4) + 4 + (strchr("({xtd", sig[1]) ? 4 : 0) + 7;
}

size_t bus_kind_fixed_bytes(const BusKind *k) {
        /* {oa{sa{sv}}}: the path's length and NUL, padding, the array's
         * length, padding; {sa{sv}} at a multiple of 8: the interface,
         * padding, the properties' array length, padding. */
        size_t n = 4 + 1 + 3 + 4 + 4 + ALIGN(ALIGN(4 + strlen(k->interface) + 1, 4) + 4, 8);

        for (const sd_bus_vtable *v = k->vtable + 1; v->type != _SD_BUS_VTABLE_END; v++)
                if (property_listed(v))
                        n += property_fixed_bytes(v);
        return n;
}

int bus_objects_register(BusObjects *o, sd_bus *bus) {
        int r;

        o->bus = bus;
        for (const BusKind *const *k = o->kinds; *k; k++)
                if ((r = sd_bus_add_fallback_vtable(o->bus, NULL, (*k)->prefix, (*k)->interface, (*k)->vtable,
                                                    (*k)->find, o->userdata)) < 0 ||
                    (r = sd_bus_add_node_enumerator(o->bus, NULL, (*k)->prefix, (*k)->enumerate, o->userdata)) < 0)
                        return r;
        if ((r = sd_bus_add_filter(o->bus, NULL, on_message, o)) < 0)
                return r;
        /* sd-bus's own manager stays for Introspect, which names the
         * interface only where one is; the filter answers its one
         * method first. */
        return sd_bus_add_object_manager(o->bus, NULL, o->path);
}

static int signal_new(BusObjects *o, const char *member, const char *path, sd_bus_message **ret) {
        int r = sd_bus_message_new_signal(o->bus, ret, o->path, OBJECT_MANAGER_INTERFACE, member);

        return r < 0 ? r : sd_bus_message_append_basic(*ret, 'o', path);
}

int bus_objects_emit_added(BusObjects *o, const char *path) {
        g_autoptr(sd_bus_message) m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const BusKind *k = kind_of(o, path);
        void *object = NULL;
        int r = k ? object_find(o, k, path, &object, &error) : 0;

        if (r == 0)
                r = -ENOENT;
        if (r > 0 && (r = signal_new(o, "InterfacesAdded", path, &m)) >= 0)
                r = append_interfaces(o, m, k, path, object, &error);
        sd_bus_error_free(&error);
        return r < 0 ? r : sd_bus_send(NULL, m, NULL);
}

int bus_objects_emit_removed(BusObjects *o, const char *path) {
        g_autoptr(sd_bus_message) m = NULL;
        const BusKind *k = kind_of(o, path);
        int r;

        if (!k)
                return -ENOENT;
        if ((r = signal_new(o, "InterfacesRemoved", path, &m)) < 0 ||
            (r = sd_bus_message_append_strv(m, (char **) (const char *const[]) { k->interface, NULL })) < 0)
                return r;
        return sd_bus_send(NULL, m, NULL);
}
