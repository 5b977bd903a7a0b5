/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PCI addresses as callers, sysfs link names and object paths spell them:
 * what address_parse() accepts formats back to an address it accepts, the
 * same; paths round-trip exactly; the 64-bit key keeps the order. */
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

static void same(const DpAddress *a, const DpAddress *b) {
        if (address_compare(a, b) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        g_autofree char *s = fuzz_string(data, size);
        char text[DP_ADDRESS_MAX], path[DP_DEVICE_PATH_MAX];
        DpAddress a, b;

        if (address_parse(s, &a)) {
                address_format(&a, text);
                if (!address_parse(text, &b))
                        abort();
                same(&a, &b);
                address_to_path(&a, path);
                if (!address_from_path(path, &b))
                        abort();
                same(&a, &b);
                b = address_from_key(address_to_key(&a));
                same(&a, &b);
        }
        if (address_from_path(s, &a)) {
                address_to_path(&a, path);
                if (strcmp(path, s) != 0)   /* one path per device */
                        abort();
        }
        /* Two addresses from one input: key order is address order. */
        size_t half = size / 2;
        g_autofree char *x = fuzz_string(data, half), *y = fuzz_string(data + half, size - half);
        if (address_parse(x, &a) && address_parse(y, &b)) {
                uint64_t ka = address_to_key(&a), kb = address_to_key(&b);
                int c = address_compare(&a, &b);
                if ((c < 0) != (ka < kb) || (c == 0) != (ka == kb))
                        abort();
        }
        return 0;
}
