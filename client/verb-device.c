/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl device ADDRESS: every property of one function. */
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "ctl.h"

int verb_device(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(GPtrArray) props = NULL;
        char path[DP_DEVICE_PATH_MAX];
        int code = CTL_EXIT_OK;
        DpAddress a;

        if (argc != 2) {
                fprintf(stderr, "devpassctl: device takes one address, e.g. devpassctl device 0000:17:00.0\n");
                return CTL_EXIT_USAGE;
        }
        if (!address_parse(argv[1], &a)) {
                g_autofree char *shown = g_strescape(argv[1], NULL);
                fprintf(stderr, "devpassctl: '%s' is not a PCI address: use dddd:bb:ss.f, e.g. 0000:17:00.0\n", shown);
                return CTL_EXIT_USAGE;
        }
        address_to_path(&a, path);
        if (ctl_get_all(bus, path, "org.devpass1.Device", &props, &code) < 0)
                return code;

        if (json) {
                g_autofree char *o = ctl_props_to_json(props);
                printf("%s\n", o);
                return CTL_EXIT_OK;
        }
        size_t width = 0;
        for (guint i = 0; i < props->len; i++)
                width = MAX(width, strlen(((CtlValue *) props->pdata[i])->name));
        for (guint i = 0; i < props->len; i++) {
                const CtlValue *v = props->pdata[i];
                g_autofree char *text = ctl_value_to_text(v);
                printf("%*s: %s\n", (int) width, v->name, text);
        }
        return CTL_EXIT_OK;
}
