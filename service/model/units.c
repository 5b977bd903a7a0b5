/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "units.h"

Units *units_new(GPtrArray *devices) {
        Units *u = g_new0(Units, 1);
        g_autoptr(GHashTable) by_iommu = g_hash_table_new(NULL, NULL);

        u->list = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        u->index = g_hash_table_new(NULL, NULL);
        for (guint i = 0; i < devices->len; i++) {
                Device *d = devices->pdata[i];
                /* Without an IOMMU group (no IOMMU), a function is a unit of its own. */
                gpointer at = d->iommu_group >= 0 ? g_hash_table_lookup(by_iommu, GINT_TO_POINTER(d->iommu_group))
                                                  : NULL;
                if (!at) {
                        g_ptr_array_add(u->list, g_ptr_array_new());
                        at = GUINT_TO_POINTER(u->list->len);
                        if (d->iommu_group >= 0)
                                g_hash_table_insert(by_iommu, GINT_TO_POINTER(d->iommu_group), at);
                }
                g_ptr_array_add(u->list->pdata[GPOINTER_TO_UINT(at) - 1], d);
                g_hash_table_insert(u->index, d, at);
        }
        u->available = g_new0(bool, u->list->len);
        return u;
}

void units_free(Units *u) {
        if (!u)
                return;
        g_ptr_array_unref(u->list);
        g_hash_table_unref(u->index);
        g_free(u->available);
        g_free(u);
}

int units_find(const Units *u, const Device *d) {
        return (int) GPOINTER_TO_UINT(g_hash_table_lookup(u->index, d)) - 1;
}

bool units_set_available(Units *u, guint i, bool available) {
        g_return_val_if_fail(i < u->list->len, false);
        if (u->available[i] == available)
                return false;
        u->available[i] = available;
        if (available)
                u->n_available++;
        else
                u->n_available--;
        return true;
}

GPtrArray *units_available(const Units *u) {
        GPtrArray *list = g_ptr_array_new_full(u->n_available, (GDestroyNotify) g_ptr_array_unref);

        for (guint i = 0; i < u->list->len; i++)
                if (u->available[i])
                        g_ptr_array_add(list, g_ptr_array_ref(u->list->pdata[i]));
        return list;
}
