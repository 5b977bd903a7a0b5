/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <gio/gio.h>

#include "cluster.h"

static const sd_bus_error_map dp_error_map[] = {
        SD_BUS_ERROR_MAP(DP_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(DP_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(DP_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(DP_ERROR_UNSAFE, EPERM),
        SD_BUS_ERROR_MAP(DP_ERROR_NOT_AUTHORIZED, EACCES),
        SD_BUS_ERROR_MAP(DP_ERROR_REBOOT_REQUIRED, EAGAIN),
        SD_BUS_ERROR_MAP(DP_ERROR_FAILED, EIO),
        SD_BUS_ERROR_MAP(DP_ERROR_CLUSTER_UNAVAILABLE, EHOSTUNREACH),
        SD_BUS_ERROR_MAP_END
};

static const sd_bus_vtable *vtable_find_method(const sd_bus_vtable *v, const char *member) {
        for (; v->type != _SD_BUS_VTABLE_END; v++)
                if (v->type == _SD_BUS_VTABLE_METHOD && strcmp(v->x.method.member, member) == 0)
                        return v;
        return NULL;
}

static int signature_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const BusInterface *interfaces = userdata;
        const char *interface = sd_bus_message_get_interface(m);
        const char *member = sd_bus_message_get_member(m);

        if (!sd_bus_message_is_method_call(m, NULL, NULL) || !interface || !member)
                return 0;
        for (const BusInterface *i = interfaces; i->interface; i++) {
                if (strcmp(i->interface, interface) != 0)
                        continue;
                const sd_bus_vtable *v = vtable_find_method(i->vtable, member);
                if (!v)
                        return 0;
                /* SD_BUS_METHOD() without arguments leaves the signature NULL. */
                const char *want = v->x.method.signature ?: "";
                if (sd_bus_message_has_signature(m, want))
                        return 0;
                sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS,
                                           "%s.%s takes arguments of type '%s', not '%s': see the API in org.devpass1.xml",
                                           interface, member, want, sd_bus_message_get_signature(m, true));
                return 1;
        }
        return 0;
}

int bus_errors_install(sd_bus *bus, const BusInterface *interfaces) {
        int r = sd_bus_error_add_map(dp_error_map);
        if (r < 0)
                return r;
        return sd_bus_add_filter(bus, NULL, signature_filter, (void *) interfaces);
}

const char *bus_quote(const char *s, char buf[static 80]) {
        const char *p = s ?: "", *end = p + strlen(p);
        size_t n = 0;

        /* Whole characters only, and only valid UTF-8: the bus refuses a
         * message that is not, and the caller would wait for ever. */
        /* One step writes at most 16 bytes (a 4-byte character escaped):
         * stopping at 56 leaves room for the step, "..." and the quote. */
        buf[n++] = '\'';
        while (*p && n < 56) {
                gunichar c = g_utf8_get_char_validated(p, end - p);
                const char *next = c == (gunichar) -1 || c == (gunichar) -2 ? p + 1 : g_utf8_next_char(p);
                bool control = c < 0x20 || (c >= 0x7f && c < 0xa0);   /* C0, DEL, C1: terminal escapes */
                if (c == (gunichar) -1 || c == (gunichar) -2 || control || c == '\\' || c == '\'') {
                        /* byte by byte: an escape's bytes, or a bad one */
                        for (const char *b = p; b < next; b++)
                                n += (size_t) snprintf(buf + n, 80 - n, "\\x%02x", (unsigned char) *b);
                } else {
                        memcpy(buf + n, p, (size_t) (next - p));
                        n += (size_t) (next - p);
                }
                p = next;
        }
        if (*p)
                n += (size_t) snprintf(buf + n, 80 - n, "...");
        buf[n++] = '\'';
        buf[n] = '\0';
        return buf;
}

const char *bus_error_name_for(const GError *e) {
        if (e->domain == G_IO_ERROR) {
                switch (e->code) {
                case G_IO_ERROR_EXISTS:
                case G_IO_ERROR_BUSY:
                        return DP_ERROR_BUSY;
                case G_IO_ERROR_INVALID_ARGUMENT:
                        return DP_ERROR_INVALID_ARGUMENT;
                case G_IO_ERROR_NOT_FOUND:
                        return DP_ERROR_NOT_FOUND;
                case G_IO_ERROR_PERMISSION_DENIED:   /* the host would lose what it runs on */
                        return DP_ERROR_UNSAFE;
                case G_IO_ERROR_NO_SPACE:            /* devpassd's limits on what it keeps, etcd's on a transaction */
                        return SD_BUS_ERROR_LIMITS_EXCEEDED;
                default:
                        break;
                }
        }
        if (e->domain == CLUSTER_ERROR)
                return e->code == CLUSTER_ERROR_UNAVAILABLE ? DP_ERROR_CLUSTER_UNAVAILABLE : DP_ERROR_BUSY;
        return DP_ERROR_FAILED;
}
