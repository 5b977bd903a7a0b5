/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's tables and views, printed as the options say (--output,
 * --no-headings, --raw, --json). */
#include <stdio.h>

#include "ctl.h"

int ctl_table_setup(CtlTable *t) {
        g_autofree char *error = NULL;

        if (ctl_args.output && !ctl_table_select(t, ctl_args.output, &error))
                return ctl_usage("%s", error);
        return CTL_EXIT_OK;
}

int ctl_table_show(CtlTable *t) {
        int code = ctl_table_setup(t);

        if (code != CTL_EXIT_OK)
                return code;
        if (ctl_args.json) {
                g_autofree char *text = ctl_table_json(t);
                fputs(text, stdout);
                return CTL_EXIT_OK;
        }
        ctl_pager_open();
        CtlTextOptions o = {
                .width = ctl_args.width ? ctl_args.width : ctl_terminal_width(),
                .no_headings = ctl_args.no_headings,
                .raw = ctl_args.raw,
        };
        /* Straight to stdout: a listing of thousands is no string first. */
        ctl_table_print(t, &o, stdout);
        return CTL_EXIT_OK;
}

int ctl_print_one(const CtlObject *o, const CtlObjects *all, CtlTableOf table_of) {
        g_autoptr(GPtrArray) one = g_ptr_array_new();
        g_ptr_array_add(one, (gpointer) o);
        g_autoptr(CtlTable) t = table_of(one, all);

        /* --output asks for columns: the table of one row. */
        if (!ctl_args.json && ctl_args.output)
                return ctl_table_show(t);
        int code = ctl_table_setup(t);
        if (code != CTL_EXIT_OK)
                return code;
        g_autofree char *text = ctl_args.json ? ctl_table_row_json(t, 0) : ctl_object_details(o, all);
        if (!ctl_args.json)
                ctl_pager_open();
        printf(ctl_args.json ? "%s\n" : "%s", text);
        return CTL_EXIT_OK;
}
