/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Machines and tenants: attachments (what a machine gets at its next
 * start), claims (what it holds), tenants' holds (thick: what a tenant
 * owns), and the MACs given out. Every change is one store transaction
 * first; memory follows the commit. */
#include <gio/gio.h>

#include "allocator.h"
#include "model-private.h"

/* ---- objects ---- */

ModelAttachment *model_attachment_new(Model *m, StoreAttachment *settings) {
        ModelAttachment *a = g_new0(ModelAttachment, 1);
        a->id = settings->id;
        a->path = g_strdup_printf("%s/%" G_GINT64_FORMAT, m->attachment_prefix, a->id);
        a->settings = settings;
        a->group = g_hash_table_lookup(m->groups, &settings->group_id);
        a->devices = g_ptr_array_new();
        a->state = "restart-required";
        a->state_reason = g_strdup("");
        a->machine_uuid = g_strdup("");
        return a;
}

void model_attachment_free(ModelAttachment *a) {
        g_free(a->path);
        store_attachment_free(a->settings);
        g_ptr_array_unref(a->devices);
        g_strfreev(a->device_macs);
        g_free(a->state_reason);
        g_free(a->claim_error);
        g_free(a->machine_uuid);
        g_free(a);
}

void model_claimed_free(ModelClaimed *c) {
        g_ptr_array_unref(c->devices);
        g_ptr_array_unref(c->macs);
        g_free(c);
}

char *model_attachment_owner(const StoreAttachment *a) {
        return g_strdup_printf("attachment %s of machine %s", a->name, a->machine);
}

void model_macs_own(Model *m, char **macs, const char *owner) {
        for (size_t i = 0; macs && macs[i]; i++)
                g_hash_table_insert(m->macs, g_strdup(macs[i]), g_strdup(owner));
}

void model_macs_disown(Model *m, char **macs) {
        for (size_t i = 0; macs && macs[i]; i++)
                g_hash_table_remove(m->macs, macs[i]);
}

void model_machine_index(Model *m, ModelAttachment *a) {
        GHashTable *names = g_hash_table_lookup(m->machines, a->settings->machine);

        if (!names) {
                names = g_hash_table_new(g_str_hash, g_str_equal);
                g_hash_table_insert(m->machines, g_strdup(a->settings->machine), names);
        }
        g_hash_table_insert(names, a->settings->name, a);
}

void model_machine_unindex(Model *m, ModelAttachment *a) {
        GHashTable *names = g_hash_table_lookup(m->machines, a->settings->machine);

        if (names && g_hash_table_remove(names, a->settings->name) && g_hash_table_size(names) == 0)
                g_hash_table_remove(m->machines, a->settings->machine);
}

void model_attachment_add(Model *m, ModelAttachment *a) {
        g_autofree char *owner = model_attachment_owner(a->settings);
        g_hash_table_insert(m->attachments, model_id_new(a->id), a);
        g_hash_table_insert(m->attachment_paths, a->path, a);
        model_machine_index(m, a);
        model_macs_own(m, a->settings->macs, owner);
}

void model_attachment_remove(Model *m, ModelAttachment *a) {
        model_macs_disown(m, a->settings->macs);
        model_machine_unindex(m, a);
        g_hash_table_remove(m->attachment_paths, a->path);
        g_hash_table_remove(m->attachments, &a->id);
}

static void tenant_mac_own(Model *m, const char *mac, const char *tenant) {
        g_hash_table_insert(m->macs, g_strdup(mac), g_strdup_printf("a device of tenant %s", tenant));
}

void model_group_macs_own(Model *m, GHashTable *macs) {
        GHashTableIter it;
        gpointer mac, tenant;

        g_hash_table_iter_init(&it, macs);
        while (g_hash_table_iter_next(&it, &mac, &tenant))
                tenant_mac_own(m, mac, tenant);
}

void model_claim_take(Model *m, StoreClaim *c) {
        if (c->tenant && *c->mac)
                tenant_mac_own(m, c->mac, c->holder);
        if (c->tenant)
                g_hash_table_insert(m->holds, c->address, c);
        else
                model_claim_add(m, c);
}

bool model_claims_load(Model *m, GError **error) {
        m->attachments = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) model_attachment_free);
        m->attachment_paths = g_hash_table_new(g_str_hash, g_str_equal);
        m->machines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
        m->claims = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) store_claim_free);
        m->holds = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) store_claim_free);
        m->held_by = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
        m->macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

        g_autoptr(GPtrArray) attachments = store_attachments_load(m->store, error);
        if (!attachments)
                return false;
        g_autoptr(GPtrArray) claims = store_claims_load(m->store, error);
        if (!claims)
                return false;
        g_autoptr(GHashTable) group_macs = store_group_macs_load(m->store, error);
        if (!group_macs)
                return false;
        for (guint i = 0; i < attachments->len; i++)
                model_attachment_add(m, model_attachment_new(m, g_steal_pointer(&attachments->pdata[i])));
        for (guint i = 0; i < claims->len; i++)
                model_claim_take(m, g_steal_pointer(&claims->pdata[i]));
        model_group_macs_own(m, group_macs);
        return true;
}

void model_claims_free(Model *m) {
        g_clear_pointer(&m->machines, g_hash_table_unref);
        g_clear_pointer(&m->attachment_paths, g_hash_table_unref);
        g_clear_pointer(&m->attachments, g_hash_table_unref);
        g_clear_pointer(&m->held_by, g_hash_table_unref);
        g_clear_pointer(&m->claims, g_hash_table_unref);
        g_clear_pointer(&m->holds, g_hash_table_unref);
        g_clear_pointer(&m->macs, g_hash_table_unref);
}

void model_claim_add(Model *m, StoreClaim *c) {
        GPtrArray *held = g_hash_table_lookup(m->held_by, c->holder);

        if (!held) {
                held = g_ptr_array_new();
                g_hash_table_insert(m->held_by, g_strdup(c->holder), held);
        }
        g_ptr_array_add(held, c);
        g_hash_table_insert(m->claims, c->address, c);
}

GPtrArray *model_machine_claims(Model *m, const char *machine) {
        return g_hash_table_lookup(m->held_by, machine);
}

ModelAttachment *model_attachment_by_path(Model *m, const char *path) {
        return g_hash_table_lookup(m->attachment_paths, path);
}

ModelGroup *model_attachment_group(Model *m, const StoreAttachment *s) {
        return g_hash_table_lookup(m->groups, &s->group_id);
}

ModelAttachment *model_attachment_by_name(Model *m, const char *machine, const char *name) {
        GHashTable *names = g_hash_table_lookup(m->machines, machine);
        return names ? g_hash_table_lookup(names, name) : NULL;
}

static gint attachment_by_id(gconstpointer a, gconstpointer b) {
        const ModelAttachment *x = *(ModelAttachment *const *) a, *y = *(ModelAttachment *const *) b;
        return (x->id > y->id) - (x->id < y->id);
}

GPtrArray *model_machine_attachments(Model *m, const char *machine) {
        GHashTable *names = g_hash_table_lookup(m->machines, machine);
        GPtrArray *list = g_ptr_array_new();
        GHashTableIter it;
        gpointer value;

        if (names) {
                g_hash_table_iter_init(&it, names);
                while (g_hash_table_iter_next(&it, NULL, &value))
                        g_ptr_array_add(list, value);
        }
        g_ptr_array_sort(list, attachment_by_id);
        return list;
}

const char *model_machine_tenant(Model *m, const char *machine) {
        GHashTable *names = g_hash_table_lookup(m->machines, machine);
        GHashTableIter it;
        gpointer value;

        if (!names)
                return NULL;
        /* Its attachments all agree (model_attachments_settle() sees to it). */
        g_hash_table_iter_init(&it, names);
        return g_hash_table_iter_next(&it, NULL, &value) ? ((ModelAttachment *) value)->settings->tenant : NULL;
}

GPtrArray *model_machine_groups(Model *m, const char *machine) {
        g_autoptr(GPtrArray) attachments = model_machine_attachments(m, machine);
        g_autoptr(GHashTable) groups = g_hash_table_new(NULL, NULL);
        GHashTableIter it;
        gpointer value;

        for (guint i = 0; i < attachments->len; i++)
                if (((ModelAttachment *) attachments->pdata[i])->group)
                        g_hash_table_add(groups, ((ModelAttachment *) attachments->pdata[i])->group);
        /* What it holds of attachments deleted since: a tenant's, or a host group's. */
        GPtrArray *held = model_machine_claims(m, machine);
        for (guint i = 0; held && i < held->len; i++) {
                const StoreClaim *c = held->pdata[i];
                const StoreClaim *hold = g_hash_table_lookup(m->holds, c->address);
                ModelGroup *g = hold ? g_hash_table_lookup(m->groups, &hold->group_id) : model_intent(m, c->address);
                if (g)
                        g_hash_table_add(groups, g);
        }
        GPtrArray *list = g_ptr_array_new();
        g_hash_table_iter_init(&it, groups);
        while (g_hash_table_iter_next(&it, &value, NULL))
                g_ptr_array_add(list, value);
        return list;
}

char **model_attachment_paths(Model *m) {
        g_autofree char **keys = (char **) g_hash_table_get_keys_as_array(m->attachment_paths, NULL);
        return g_strdupv(keys);
}

const char *model_holder(Model *m, const char *address) {
        const StoreClaim *c = g_hash_table_lookup(m->claims, address) ?: g_hash_table_lookup(m->holds, address);
        return c ? c->holder : NULL;
}

const char *model_mac_owner(Model *m, const char *mac) {
        return g_hash_table_lookup(m->macs, mac);
}

char *model_mac_generate(Model *m, GHashTable *taken) {
        for (;;) {
                guint8 b[6];
                for (size_t i = 0; i < sizeof(b); i++)
                        b[i] = (guint8) g_random_int_range(0, 256);
                /* Locally administered, unicast. */
                b[0] = (guint8) ((b[0] & 0xfc) | 0x02);
                char *mac = g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
                if (!g_hash_table_contains(m->macs, mac) && !(taken && g_hash_table_contains(taken, mac)))
                        return mac;
                g_free(mac);
        }
}

/* ---- units: what a group has, and has free ---- */

static gint device_by_address(gconstpointer a, gconstpointer b) {
        const Device *x = *(Device *const *) a, *y = *(Device *const *) b;
        return address_compare(&x->address, &y->address);
}

/* Bridges and ports stay with the host by design: VFIO does not need
 * them, and vfio-pci does not drive them. */
static bool device_is_bridge(const Device *d) {
        return d->class_code >> 16 == 0x06;
}

const Device *const *model_unit_peers(const Device *const *d, guint *n) {
        if ((*d)->iommu_peers && (*d)->iommu_peers->len > 0) {
                *n = (*d)->iommu_peers->len;
                return (const Device *const *) (*d)->iommu_peers->pdata;
        }
        *n = 1;
        return d;
}

char *model_unit_blocker(const Device *d) {
        guint n;
        const Device *const *peers = model_unit_peers(&d, &n);

        for (guint i = 0; i < n; i++) {
                const Device *p = peers[i];
                if (device_is_bridge(p) || g_str_equal(p->driver ?: "", "vfio-pci"))
                        continue;
                if (p == d)
                        return NULL;   /* not on vfio-pci itself: the binder's reasons say why */
                return g_strdup_printf("IOMMU group %" G_GINT32_FORMAT " is not viable: %s (%s) is not on vfio-pci, "
                                       "and VFIO gives a group to one machine whole: pass %s through too, or release "
                                       "this one", d->iommu_group, p->address_str, *p->driver ? p->driver : "no driver",
                                       p->address_str);
        }
        return NULL;
}

/* A unit is free when each of its functions is the group's to give (a
 * host group's: passed through for it, held by no tenant; a tenant's:
 * held by the tenant for it), on vfio-pci, and nobody else holds any
 * function of its IOMMU group, whatever the group. */
bool model_unit_free(Model *m, ModelGroup *g, GPtrArray *unit) {
        bool tenant = *g->settings->tenant;

        for (guint i = 0; i < unit->len; i++) {
                const Device *d = unit->pdata[i];
                const StoreClaim *hold = g_hash_table_lookup(m->holds, d->address_str);
                if (tenant ? !(hold && hold->group_id == g->id) : (hold || model_intent(m, d->address_str) != g))
                        return false;
        }
        const Device *first = unit->pdata[0];
        guint n;
        const Device *const *peers = model_unit_peers(&first, &n);
        for (guint i = 0; i < n; i++) {
                const Device *p = peers[i];
                const StoreClaim *hold = g_hash_table_lookup(m->holds, p->address_str);
                if (g_hash_table_contains(m->claims, p->address_str) || (hold && hold->group_id != g->id))
                        return false;
                if (!device_is_bridge(p) && !g_str_equal(p->driver ?: "", "vfio-pci"))
                        return false;
        }
        return true;
}

static void group_counts_mark(Model *m, ModelGroup *g) {
        guint bits = 0;

        if (g->total != g->units->list->len) {
                g->total = g->units->list->len;
                bits |= PROP_BIT(GROUP_PROP_TOTAL);
        }
        if (g->free != g->units->n_available) {
                g->free = g->units->n_available;
                bits |= PROP_BIT(GROUP_PROP_FREE);
        }
        model_mark(m->changes->groups, g, bits);
}

void model_group_judge(Model *m, ModelGroup *g) {
        units_free(g->units);
        g->units = units_new(g->devices);
        for (guint i = 0; i < g->units->list->len; i++)
                units_set_available(g->units, i, model_unit_free(m, g, g->units->list->pdata[i]));
        group_counts_mark(m, g);
}

void model_group_judge_device(Model *m, ModelGroup *g, const Device *d) {
        int i = units_find(g->units, d);

        if (i < 0)
                return;
        units_set_available(g->units, (guint) i, model_unit_free(m, g, g->units->list->pdata[i]));
        group_counts_mark(m, g);
}

GPtrArray *model_group_free_units(ModelGroup *g) {
        return units_available(g->units);
}

bool model_units_check(Model *m, ModelGroup *g, GPtrArray *units, GError **error) {
        for (guint i = 0; i < units->len; i++) {
                GPtrArray *unit = units->pdata[i];
                if (model_unit_free(m, g, unit))
                        continue;
                /* Judged free and not: what changed went by without a
                 * refresh. The whole group is judged again for the next call. */
                g_warning("Group %s counted the unit of %s free, and it is not: judging the group again",
                          g->settings->name, ((Device *) unit->pdata[0])->address_str);
                model_group_judge(m, g);
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Device %s of group %s is no longer free: "
                                   "call again", ((Device *) unit->pdata[0])->address_str, g->settings->name), false;
        }
        return true;
}

/* ---- the attachments' view ---- */

static void attachment_refresh(Model *m, ModelAttachment *a, GHashTable *claimed_by, GHashTable *uuids) {
        GPtrArray *held = g_hash_table_lookup(claimed_by, &a->id);
        const char *uuid = g_hash_table_lookup(uuids, a->settings->machine) ?: "";
        g_autoptr(GPtrArray) devices = g_ptr_array_new();
        guint missing = 0;
        guint bits = 0;

        for (guint i = 0; held && i < held->len; i++) {
                DpAddress addr;
                Device *d = address_parse(held->pdata[i], &addr) ? inventory_lookup(m->inventory, &addr) : NULL;
                if (d)
                        g_ptr_array_add(devices, d);
                else
                        missing++;
        }
        g_ptr_array_sort(devices, device_by_address);
        bool same = devices->len == a->devices->len;
        for (guint i = 0; same && i < devices->len; i++)
                same = devices->pdata[i] == a->devices->pdata[i];
        if (!same) {
                g_ptr_array_set_size(a->devices, 0);
                g_ptr_array_extend(a->devices, devices, NULL, NULL);
                bits |= PROP_BIT(ATTACHMENT_PROP_DEVICES);
        }
        /* Each device's own MAC, from its claim: the pairing a VM needs. */
        g_auto(GStrv) macs = g_new0(char *, devices->len + 1);
        for (guint i = 0; i < devices->len; i++) {
                const StoreClaim *c = g_hash_table_lookup(m->claims, ((Device *) devices->pdata[i])->address_str);
                macs[i] = g_strdup(c ? c->mac : "");
        }
        if (!a->device_macs || !g_strv_equal((const char *const *) a->device_macs, (const char *const *) macs)) {
                g_strfreev(a->device_macs);
                a->device_macs = g_steal_pointer(&macs);
                bits |= PROP_BIT(ATTACHMENT_PROP_DEVICE_MACS);
        }

        if (!g_str_equal(uuid, a->machine_uuid)) {
                g_free(a->machine_uuid);
                a->machine_uuid = g_strdup(uuid);
                bits |= PROP_BIT(ATTACHMENT_PROP_MACHINE_UUID);
        }

        g_autofree char *reason = NULL;
        const char *state;
        if (a->claim_error) {
                state = "error";
                reason = g_strdup(a->claim_error);
        } else if (missing > 0) {
                state = "degraded";
                reason = g_strdup_printf("%u claimed device%s gone from the node; it stays the machine's until "
                                         "released", missing, missing == 1 ? " is" : "s are");
        } else if (a->settings->claimed_generation == a->settings->generation)
                state = "attached";
        else
                state = "restart-required";
        if (!g_str_equal(state, a->state)) {
                a->state = state;
                bits |= PROP_BIT(ATTACHMENT_PROP_STATE);
        }
        if (!g_str_equal(reason ?: "", a->state_reason)) {
                g_free(a->state_reason);
                a->state_reason = g_strdup(reason ?: "");
                bits |= PROP_BIT(ATTACHMENT_PROP_STATE_REASON);
        }
        model_mark(m->changes->attachments, a, bits);
}

static GPtrArray *values_of(GHashTable *table) {
        GPtrArray *values = g_ptr_array_sized_new(g_hash_table_size(table));
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, table);
        while (g_hash_table_iter_next(&it, NULL, &value))
                g_ptr_array_add(values, value);
        return values;
}

void model_attachments_refresh(Model *m, const char *machine) {
        g_autoptr(GHashTable) claimed_by = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                                                 (GDestroyNotify) g_ptr_array_unref);
        g_autoptr(GHashTable) uuids = g_hash_table_new(g_str_hash, g_str_equal);   /* machine -> its claim's */
        g_autoptr(GPtrArray) claims = NULL;
        g_autoptr(GPtrArray) attachments = NULL;

        if (machine) {
                /* One machine's, from its indexes: no scan of everyone's. */
                GPtrArray *held = model_machine_claims(m, machine);
                claims = held ? g_ptr_array_ref(held) : g_ptr_array_new();
                attachments = model_machine_attachments(m, machine);
        } else {
                claims = values_of(m->claims);
                attachments = values_of(m->attachments);
        }
        for (guint i = 0; i < claims->len; i++) {
                StoreClaim *c = claims->pdata[i];
                g_hash_table_insert(uuids, c->holder, c->uuid);
                if (!c->attachment_id)
                        continue;
                GPtrArray *list = g_hash_table_lookup(claimed_by, &c->attachment_id);
                if (!list) {
                        list = g_ptr_array_new();
                        g_hash_table_insert(claimed_by, &c->attachment_id, list);
                }
                g_ptr_array_add(list, c->address);
        }
        for (guint i = 0; i < attachments->len; i++)
                attachment_refresh(m, attachments->pdata[i], claimed_by, uuids);
}
