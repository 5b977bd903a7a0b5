/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the model keeps of the node itself: the VF counts asked for, and
 * which driver overrides devpass wrote (the one record that tells an
 * override devpass left behind from one an administrator wrote). */
#include <gio/gio.h>

#include "model-private.h"
#include "text.h"

#define VFIO_DRIVER "vfio-pci"

bool model_node_load(Model *m, GError **error) {
        m->sriov = store_sriov_load(m->store, error);
        if (!m->sriov)
                return false;
        m->overrides = store_overrides_load(m->store, error);
        return m->overrides != NULL;
}

void model_node_free(Model *m) {
        g_clear_pointer(&m->sriov, g_hash_table_unref);
        g_clear_pointer(&m->overrides, g_hash_table_unref);
}

bool model_sriov_set(Model *m, const char *pf, unsigned count, GError **error) {
        if (!store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_sriov_set(m->store, pf, count, error), error))
                return false;
        g_hash_table_insert(m->sriov, g_strdup(pf), GUINT_TO_POINTER(count));
        return true;
}

GPtrArray *model_sriov_addresses(Model *m) {
        return text_keys_sorted(m->sriov);
}

unsigned model_sriov_count(Model *m, const char *pf) {
        return GPOINTER_TO_UINT(g_hash_table_lookup(m->sriov, pf));
}

bool model_pf_vfs_passed_through(Model *m, const Device *pf) {
        char address[DP_ADDRESS_MAX];

        for (unsigned i = 0; device_vf_address(pf, i, address); i++)
                if (model_intent(m, address))
                        return true;
        return false;
}

bool model_sriov_check(Model *m, const Device *pf, unsigned count, GError **error) {
        char vf[DP_ADDRESS_MAX];

        if (pf->sriov_total_vfs == 0)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   "%s is not an SR-IOV physical function", pf->address_str), false;
        if (count > pf->sriov_total_vfs)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   "%s supports at most %u virtual functions, not %u", pf->address_str,
                                   pf->sriov_total_vfs, count), false;
        for (unsigned i = 0; count != pf->sriov_num_vfs && device_vf_address(pf, i, vf); i++) {
                if (!model_intent(m, vf))
                        continue;
                const char *holder = model_holder(m, vf);
                if (holder)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "VF %s of %s is held by %s, and a "
                                           "new count takes every VF away for a moment: release it first", vf,
                                           pf->address_str, holder), false;
                if (i >= count)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "VF %s of %s is passed through, and "
                                           "%u VFs would leave it out: release it first", vf, pf->address_str,
                                           count), false;
        }
        return true;
}

bool model_override_recorded(Model *m, const char *address) {
        return g_hash_table_contains(m->overrides, address);
}

bool model_override_forget(Model *m, const char *address, GError **error) {
        if (!model_override_recorded(m, address))
                return true;
        if (!store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_override_set(m->store, address, false, error), error))
                return false;
        g_hash_table_remove(m->overrides, address);
        return true;
}

char *model_by_hand_blocker(Model *m, const Device *d) {
        if (model_intent(m, d->address_str) || model_override_recorded(m, d->address_str))
                return NULL;
        if (g_strcmp0(d->driver, VFIO_DRIVER) != 0 && g_strcmp0(d->driver_override, VFIO_DRIVER) != 0)
                return NULL;
        return g_strdup("Bound to vfio-pci by hand (driver_override not written by devpass): devpass leaves it "
                        "alone; pass it through to have devpass manage it");
}
