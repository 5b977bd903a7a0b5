/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "coalesce.h"

#include <string.h>

struct Coalescer {
        GArray *entries;     /* CoalesceEntry, in first-seen order */
        GHashTable *index;   /* address key -> position + 1 in entries */
};

Coalescer *coalescer_new(void) {
        Coalescer *c = g_new0(Coalescer, 1);

        c->entries = g_array_new(FALSE, FALSE, sizeof(CoalesceEntry));
        c->index = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
        return c;
}

void coalescer_free(Coalescer *c) {
        if (!c)
                return;
        g_array_unref(c->entries);
        g_hash_table_unref(c->index);
        g_free(c);
}

static bool coalescer_put(Coalescer *c, const DpAddress *address, CoalesceAction action) {
        gint64 key = (gint64) address_to_key(address);
        bool was_empty = c->entries->len == 0;

        gpointer pos = g_hash_table_lookup(c->index, &key);
        if (pos) {
                CoalesceEntry *e = &g_array_index(c->entries, CoalesceEntry, GPOINTER_TO_UINT(pos) - 1);
                bool was_removed = e->action == COALESCE_REMOVE || e->action == COALESCE_REPLACE;
                e->action = action == COALESCE_REREAD && was_removed ? COALESCE_REPLACE : action;
                return false;
        }
        CoalesceEntry e = { .address = *address, .action = action };
        g_array_append_val(c->entries, e);
        g_hash_table_insert(c->index, g_memdup2(&key, sizeof(key)), GUINT_TO_POINTER(c->entries->len));
        return was_empty;
}

bool coalescer_add(Coalescer *c, const DpAddress *address, const char *action) {
        CoalesceAction a = g_strcmp0(action, "remove") == 0 ? COALESCE_REMOVE : COALESCE_REREAD;
        return coalescer_put(c, address, a);
}

bool coalescer_add_reread(Coalescer *c, const DpAddress *address) {
        return coalescer_put(c, address, COALESCE_REREAD);
}

GArray *coalescer_take(Coalescer *c) {
        GArray *taken = c->entries;

        c->entries = g_array_new(FALSE, FALSE, sizeof(CoalesceEntry));
        g_hash_table_remove_all(c->index);
        return taken;
}

guint coalescer_pending(const Coalescer *c) {
        return c->entries->len;
}
