/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machine-name.h"

#include <string.h>
#include <glib.h>

bool machine_name_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > MACHINE_NAME_MAX || !g_utf8_validate(name, (gssize) n, NULL))
                return false;
        for (const char *p = name; *p; p = g_utf8_next_char(p))
                if (g_unichar_iscntrl(g_utf8_get_char(p)))   /* Cc: C0, DEL, C1 */
                        return false;
        return true;
}
