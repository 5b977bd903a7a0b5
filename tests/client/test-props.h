/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Property values made by hand, as devpassctl reads them from the bus. */

#include "ctl.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlValue, ctl_value_free)

static inline CtlValue *val(const char *name, char type, const char *str, int64_t num) {
        CtlValue *v = g_new0(CtlValue, 1);
        v->name = g_strdup(name);
        v->type = type;
        v->str = g_strdup(str);
        v->num = num;
        return v;
}

/* An as/ao value from words split at spaces ("" for none). */
static inline CtlValue *val_strv(const char *name, const char *words) {
        CtlValue *v = val(name, 'a', NULL, 0);
        v->strv = words[0] ? g_strsplit(words, " ", -1) : g_new0(char *, 1);
        return v;
}

/* An array of structs: members split at '|', structs at ';' ("" for none). */
static inline CtlValue *val_tuples(const char *name, const char *types, const char *text) {
        CtlValue *v = val(name, 'r', NULL, 0);
        g_auto(GStrv) structs = text[0] ? g_strsplit(text, ";", -1) : g_new0(char *, 1);
        v->tuple_types = g_strdup(types);
        v->tuples = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
        for (size_t i = 0; structs[i]; i++)
                g_ptr_array_add(v->tuples, g_strsplit(structs[i], "|", -1));
        return v;
}

static inline CtlProps *props_new(void) {
        return g_ptr_array_new_with_free_func((GDestroyNotify) ctl_value_free);
}

/* An object of path, with no properties yet, added to into. */
static inline CtlObject *object(GPtrArray *into, const char *path) {
        CtlObject *o = g_new0(CtlObject, 1);
        o->path = g_strdup(path);
        o->props = props_new();
        g_ptr_array_add(into, o);
        return o;
}

static inline void add(CtlObject *o, CtlValue *v) {
        g_ptr_array_add(o->props, v);
}

/* A table's shown cells, a line per row, one space apart (spaces in
 * cells as \x20): to compare rows in one go. */
static inline char *table_text(const CtlTable *t) {
        CtlTextOptions o = { .no_headings = true, .raw = true };
        return ctl_table_text(t, &o);
}
