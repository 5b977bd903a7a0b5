/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The values of many objects, each distinct value kept once: the devices
 * of a node share most of theirs (vendor, names, driver, state, group),
 * so a listing of thousands keeps a few values per device, not dozens,
 * and no copy of a value it has seen. Pure: no I/O. */
#include <string.h>

#include "ctl.h"

struct CtlValues {
        GStringChunk *strings;   /* names, strings and items, each once */
        GHashTable *shared;      /* CtlValue* -> itself */
        GPtrArray *owned;        /* values kept as they are (tuples, unknown types) */
};

static guint value_hash(gconstpointer p) {
        const CtlValue *v = p;
        guint h = g_str_hash(v->name) * 31 + (guint) v->type;

        if (v->str)
                return h * 31 + g_str_hash(v->str);
        if (v->strv) {
                for (char **s = v->strv; *s; s++)
                        h = h * 31 + g_str_hash(*s);
                return h;
        }
        return h * 31 + (guint) v->num;
}

static bool strv_equal(char *const *a, char *const *b) {
        for (; *a && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return !*a && !*b;
}

static gboolean value_equal(gconstpointer pa, gconstpointer pb) {
        const CtlValue *a = pa, *b = pb;

        if (a->type != b->type || a->num != b->num || strcmp(a->name, b->name) != 0 || !a->str != !b->str ||
            !a->strv != !b->strv)
                return FALSE;
        if (a->str)
                return strcmp(a->str, b->str) == 0;
        return !a->strv || strv_equal(a->strv, b->strv);
}

/* A shared value: its strings live in the chunk, its array alone is its own. */
static void shared_free(CtlValue *v) {
        g_free(v->strv);
        g_free(v);
}

CtlValues *ctl_values_new(void) {
        CtlValues *v = g_new0(CtlValues, 1);

        v->strings = g_string_chunk_new(64 * 1024);
        v->shared = g_hash_table_new_full(value_hash, value_equal, (GDestroyNotify) shared_free, NULL);
        v->owned = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_value_free);
        return v;
}

void ctl_values_free(CtlValues *v) {
        if (!v)
                return;
        g_hash_table_unref(v->shared);
        g_ptr_array_unref(v->owned);
        g_string_chunk_free(v->strings);
        g_free(v);
}

/* The one value equal to key (whose strings may be anyone's): a copy of
 * key the first time. */
static const CtlValue *values_intern(CtlValues *v, const CtlValue *key) {
        CtlValue *found = g_hash_table_lookup(v->shared, key);

        if (found)
                return found;
        found = g_new0(CtlValue, 1);
        found->name = g_string_chunk_insert_const(v->strings, key->name);
        found->type = key->type;
        found->num = key->num;
        if (key->str)
                found->str = g_string_chunk_insert_const(v->strings, key->str);
        if (key->strv) {
                guint n = g_strv_length(key->strv);
                found->strv = g_new(char *, n + 1);
                for (guint i = 0; i < n; i++)
                        found->strv[i] = g_string_chunk_insert_const(v->strings, key->strv[i]);
                found->strv[n] = NULL;
        }
        g_hash_table_add(v->shared, found);
        return found;
}

const CtlValue *ctl_values_str(CtlValues *v, const char *name, char type, const char *s) {
        const CtlValue key = { .name = (char *) name, .type = type, .str = (char *) s };
        return values_intern(v, &key);
}

const CtlValue *ctl_values_num(CtlValues *v, const char *name, char type, int64_t num) {
        const CtlValue key = { .name = (char *) name, .type = type, .num = num };
        return values_intern(v, &key);
}

const CtlValue *ctl_values_strv(CtlValues *v, const char *name, char *const *items) {
        const CtlValue key = { .name = (char *) name, .type = 'a', .strv = (char **) items };
        return values_intern(v, &key);
}

const CtlValue *ctl_values_own(CtlValues *v, CtlValue *value) {
        g_ptr_array_add(v->owned, value);
        return value;
}
