/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "allocator.h"

static guint pf_load(GHashTable *pf_use, const Device *d) {
        /* Nothing in use (a quiet node): no path hashed per candidate. */
        if (g_hash_table_size(pf_use) == 0 || !device_is_vf(d))
                return 0;
        return GPOINTER_TO_UINT(g_hash_table_lookup(pf_use, d->physfn_path));
}

/* Is a (its PF's load la) a better choice than b (lb)? */
static bool better(const Device *a, guint la, const Device *b, guint lb, int numa_node) {
        if (numa_node >= 0 && (a->numa_node == numa_node) != (b->numa_node == numa_node))
                return a->numa_node == numa_node;
        if (la != lb)
                return la < lb;
        return address_compare(&a->address, &b->address) < 0;
}

GPtrArray *allocator_choose(GPtrArray *free, guint count, int numa_node, GHashTable *pf_use) {
        if (free->len < count)
                return NULL;
        /* Borrowed pointers: not a copy, which would take free's free function. */
        g_autoptr(GPtrArray) left = g_ptr_array_sized_new(free->len);
        g_ptr_array_extend(left, free, NULL, NULL);
        g_autofree guint *load = g_new(guint, free->len);
        GPtrArray *chosen = g_ptr_array_sized_new(count);

        /* One at a time: each choice changes the PFs' load. */
        while (chosen->len < count) {
                guint best = 0;
                for (guint i = 0; i < left->len; i++)
                        load[i] = pf_load(pf_use, left->pdata[i]);
                for (guint i = 1; i < left->len; i++)
                        if (better(left->pdata[i], load[i], left->pdata[best], load[best], numa_node))
                                best = i;
                const Device *d = g_ptr_array_steal_index_fast(left, best);
                g_ptr_array_add(chosen, (gpointer) d);
                if (device_is_vf(d))
                        g_hash_table_insert(pf_use, d->physfn_path, GUINT_TO_POINTER(pf_load(pf_use, d) + 1));
        }
        return chosen;
}
