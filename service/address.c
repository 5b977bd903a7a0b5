/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "address.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Reads exactly [min,max] hex digits, stops at the first non-digit. */
static const char *parse_hex(const char *s, size_t min, size_t max, uint32_t *ret) {
        uint32_t v = 0;
        size_t n = 0;

        for (; n < max && hexval(s[n]) >= 0; n++)
                v = v << 4 | (uint32_t) hexval(s[n]);
        if (n < min || hexval(s[n]) >= 0)
                return NULL;
        *ret = v;
        return s + n;
}

/* The separators between fields, in order; '_' in paths, ':' and '.' in addresses. */
static bool parse_fields(const char *s, const char sep[3], bool short_ok, DpAddress *ret) {
        uint32_t domain = 0, bus, slot, function;
        const char *p = s;

        if (!s)
                return false;
        /* "bb:ss.f" is 7 characters, any form with a domain at least 12. */
        bool is_short = short_ok && strlen(s) == 7;
        if (!is_short) {
                p = parse_hex(p, 4, 8, &domain);
                if (!p || *p++ != sep[0])
                        return false;
        }
        p = parse_hex(p, 2, 2, &bus);
        if (!p || *p++ != sep[1])
                return false;
        p = parse_hex(p, 2, 2, &slot);
        if (!p || *p++ != sep[2] || slot > 0x1f)
                return false;
        p = parse_hex(p, 1, 1, &function);
        if (!p || *p != '\0' || function > 7)
                return false;

        *ret = (DpAddress) {
                .domain = domain,
                .bus = (uint8_t) bus,
                .slot = (uint8_t) slot,
                .function = (uint8_t) function,
        };
        return true;
}

bool address_parse(const char *s, DpAddress *ret) {
        return parse_fields(s, "::.", true, ret);
}

void address_format(const DpAddress *a, char buf[static DP_ADDRESS_MAX]) {
        snprintf(buf, DP_ADDRESS_MAX, "%04x:%02x:%02x.%u",
                 a->domain, a->bus, a->slot, (unsigned) a->function);
}

void address_to_path(const DpAddress *a, char buf[static DP_DEVICE_PATH_MAX]) {
        snprintf(buf, DP_DEVICE_PATH_MAX, DP_DEVICES_PATH "/%04x_%02x_%02x_%u",
                 a->domain, a->bus, a->slot, (unsigned) a->function);
}

bool address_from_path(const char *path, DpAddress *ret) {
        static const char prefix[] = DP_DEVICES_PATH "/";
        DpAddress a;

        if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
                return false;
        if (!parse_fields(path + sizeof(prefix) - 1, "___", false, &a))
                return false;
        /* Only the canonical spelling names an object: one path per device. */
        char canonical[DP_DEVICE_PATH_MAX];
        address_to_path(&a, canonical);
        if (strcmp(canonical, path) != 0)
                return false;
        *ret = a;
        return true;
}

int address_compare(const DpAddress *a, const DpAddress *b) {
        if (a->domain != b->domain)
                return a->domain < b->domain ? -1 : 1;
        if (a->bus != b->bus)
                return a->bus < b->bus ? -1 : 1;
        if (a->slot != b->slot)
                return a->slot < b->slot ? -1 : 1;
        if (a->function != b->function)
                return a->function < b->function ? -1 : 1;
        return 0;
}

bool address_vf(const DpAddress *pf, unsigned offset, unsigned stride, unsigned index, DpAddress *ret) {
        uint64_t rid = ((uint64_t) pf->bus << 8 | (uint64_t) pf->slot << 3 | pf->function) + offset +
                       (uint64_t) stride * index;

        if (rid > 0xffff)
                return false;
        *ret = (DpAddress) {
                .domain = pf->domain,
                .bus = (uint8_t) (rid >> 8),
                .slot = (uint8_t) ((rid >> 3) & 0x1f),
                .function = (uint8_t) (rid & 7),
        };
        return true;
}
