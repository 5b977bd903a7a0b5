/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Changes for machines and tenants: claims, releases, tenant passes
 * (attachments: model-attachments.c). The store's transaction comes
 * first; memory follows the commit, so a failure leaves both as they
 * were. */
#include <gio/gio.h>

#include "allocator.h"
#include "model-private.h"

/* ---- claims ---- */

static ModelClaimed *claimed_new(ModelAttachment *a) {
        ModelClaimed *c = g_new0(ModelClaimed, 1);
        c->attachment = a;
        c->devices = g_ptr_array_new();
        c->macs = g_ptr_array_new_with_free_func(g_free);
        return c;
}

/* What the machine holds now, per attachment: the answer to a repeated claim. */
static GPtrArray *claim_current(Model *m, GPtrArray *attachments) {
        GPtrArray *result = g_ptr_array_new_with_free_func((GDestroyNotify) model_claimed_free);

        for (guint i = 0; i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                ModelClaimed *c = claimed_new(a);
                for (guint j = 0; j < a->devices->len; j++) {
                        Device *d = a->devices->pdata[j];
                        const StoreClaim *claim = g_hash_table_lookup(m->claims, d->address_str);
                        g_ptr_array_add(c->devices, d);
                        g_ptr_array_add(c->macs, g_strdup(claim ? claim->mac : ""));
                }
                g_ptr_array_add(result, c);
        }
        return result;
}

static guint machine_claims(Model *m, const char *machine) {
        GHashTableIter it;
        gpointer value;
        guint n = 0;

        g_hash_table_iter_init(&it, m->claims);
        while (g_hash_table_iter_next(&it, NULL, &value))
                n += g_str_equal(((StoreClaim *) value)->holder, machine);
        return n;
}

/* Devices of each physical function in use, for spreading VFs. */
static GHashTable *pf_use(Model *m) {
        GHashTable *use = g_hash_table_new(g_str_hash, g_str_equal);
        GHashTableIter it;
        gpointer key;

        g_hash_table_iter_init(&it, m->claims);
        while (g_hash_table_iter_next(&it, &key, NULL)) {
                DpAddress a;
                Device *d = address_parse(key, &a) ? inventory_lookup(m->inventory, &a) : NULL;
                if (d && device_is_vf(d))
                        g_hash_table_insert(use, d->physfn_path,
                                            GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(use, d->physfn_path)) + 1));
        }
        return use;
}

/* The first function of each unit: what the allocator chooses among. */
static GPtrArray *unit_heads(GPtrArray *units) {
        GPtrArray *heads = g_ptr_array_sized_new(units->len);

        for (guint i = 0; i < units->len; i++)
                g_ptr_array_add(heads, ((GPtrArray *) units->pdata[i])->pdata[0]);
        return heads;
}

/* The unit each chosen head stands for, in the order chosen. */
static GPtrArray *units_of_heads(GPtrArray *units, GPtrArray *heads) {
        GPtrArray *chosen = g_ptr_array_sized_new(heads->len);

        for (guint i = 0; i < heads->len; i++)
                for (guint j = 0; j < units->len; j++)
                        if (((GPtrArray *) units->pdata[j])->pdata[0] == heads->pdata[i])
                                g_ptr_array_add(chosen, units->pdata[j]);
        return chosen;
}

static bool unit_taken(GPtrArray *unit, GHashTable *taken) {
        for (guint i = 0; i < unit->len; i++)
                if (g_hash_table_contains(taken, ((Device *) unit->pdata[i])->address_str))
                        return true;
        return false;
}

/* The free units one attachment may get, or NULL with why in *why. */
static GPtrArray *claim_candidates(Model *m, ModelAttachment *a, const char *tenant_node, GHashTable *taken,
                                   char **why) {
        ModelGroup *g = a->group;

        if (!g) {
                *why = g_strdup_printf("attachment %s of machine %s: its group is gone", a->settings->name,
                                       a->settings->machine);
                return NULL;
        }
        if (*g->settings->tenant && g_strcmp0(g->settings->tenant_node, tenant_node) != 0) {
                *why = g_strdup_printf("attachment %s of machine %s: group %s holds devices for tenant node %s, "
                                       "and the machine runs on %s", a->settings->name, a->settings->machine,
                                       g->settings->name, g->settings->tenant_node,
                                       tenant_node && *tenant_node ? tenant_node : "no tenant node");
                return NULL;
        }
        GPtrArray *free = model_group_free_units(m, g, NULL);
        for (guint i = free->len; i-- > 0;)
                if (unit_taken(free->pdata[i], taken))
                        g_ptr_array_remove_index(free, i);
        return free;
}

/* A repeated claim answers what the machine holds, unless that is less
 * than a required attachment needs: a machine must not start short. */
static bool claim_current_check(Model *m, const char *machine, GPtrArray *attachments, GError **error) {
        for (guint i = 0; i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                if (a->settings->claimed_generation != a->settings->generation)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Machine %s holds devices of an "
                                           "earlier setting of its attachment %s: release the machine first",
                                           machine, a->settings->name), false;
                if (!a->settings->optional && g_str_equal(a->state, "degraded"))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Cannot start: attachment %s of "
                                           "machine %s is degraded (%s): put the devices back, or release the "
                                           "machine and claim again", a->settings->name, machine,
                                           a->state_reason), false;
        }
        return true;
}

/* The MAC function k of the j-th unit of a claim carries: a tenant's VF
 * keeps the one it was passed with; else the attachment's j-th, on the
 * unit's first function (a VF is a unit of its own wherever its IOMMU
 * group can go to a machine). */
static const char *claim_mac(Model *m, ModelAttachment *a, const Device *d, guint j, guint k) {
        const StoreClaim *hold = g_hash_table_lookup(m->holds, d->address_str);

        if (hold && *hold->mac)
                return hold->mac;
        return k == 0 && a->settings->macs && j < g_strv_length(a->settings->macs) ? a->settings->macs[j] : "";
}

GPtrArray *model_claim(Model *m, const char *machine, int numa_node, const char *tenant_node, GError **error) {
        g_autoptr(GPtrArray) attachments = model_machine_attachments(m, machine);
        g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func((GDestroyNotify) model_claimed_free);
        g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) use = pf_use(m);
        g_autoptr(GHashTable) left_out = g_hash_table_new_full(NULL, NULL, NULL, g_free);

        if (machine_claims(m, machine) > 0)
                return claim_current_check(m, machine, attachments, error) ? claim_current(m, attachments) : NULL;
        for (guint i = 0; i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                g_autofree char *why = NULL;
                g_autoptr(GPtrArray) free = claim_candidates(m, a, tenant_node, taken, &why);
                g_autoptr(GPtrArray) heads = free ? unit_heads(free) : NULL;
                g_autoptr(GPtrArray) chosen_heads = heads ? allocator_choose(heads, a->settings->count, numa_node, use)
                                                          : NULL;
                g_autoptr(GPtrArray) chosen = chosen_heads ? units_of_heads(free, chosen_heads) : NULL;
                if (free && !chosen)
                        why = g_strdup_printf("attachment %s of machine %s wants %u device%s of group %s, and %u %s "
                                              "free", a->settings->name, machine, a->settings->count,
                                              a->settings->count == 1 ? "" : "s", a->group->settings->name,
                                              free->len, free->len == 1 ? "is" : "are");
                if (!chosen) {
                        if (!a->settings->optional)
                                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Cannot start: %s", why),
                                       NULL;
                        g_hash_table_insert(left_out, a, g_steal_pointer(&why));
                        /* Listed without devices, as a repeated claim lists it. */
                        g_ptr_array_add(result, claimed_new(a));
                        continue;
                }
                ModelClaimed *c = claimed_new(a);
                for (guint j = 0; j < chosen->len; j++) {
                        GPtrArray *unit = chosen->pdata[j];
                        for (guint k = 0; k < unit->len; k++) {
                                Device *d = unit->pdata[k];
                                g_hash_table_add(taken, d->address_str);
                                g_ptr_array_add(c->devices, d);
                                g_ptr_array_add(c->macs, g_strdup(claim_mac(m, a, d, j, k)));
                        }
                }
                g_ptr_array_add(result, c);
        }

        /* One transaction: the machine holds all of it, or nothing. */
        bool ok = store_begin(m->store, error);
        if (!ok)
                return NULL;
        for (guint i = 0; ok && i < result->len; i++) {
                ModelClaimed *c = result->pdata[i];
                for (guint j = 0; ok && j < c->devices->len; j++) {
                        StoreClaim claim = { .address = ((Device *) c->devices->pdata[j])->address_str,
                                             .holder = (char *) machine, .attachment_id = c->attachment->id,
                                             .mac = c->macs->pdata[j] };
                        ok = store_claim_insert(m->store, &claim, error);
                }
        }
        for (guint i = 0; ok && i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                ok = store_attachment_set_claimed(m->store, a->id, a->settings->generation, error);
        }
        if (!model_commit_or_rollback(m, ok, error))
                return NULL;

        g_autoptr(GPtrArray) changed = g_ptr_array_new();
        for (guint i = 0; i < result->len; i++) {
                ModelClaimed *c = result->pdata[i];
                for (guint j = 0; j < c->devices->len; j++) {
                        g_ptr_array_add(changed, ((Device *) c->devices->pdata[j])->address_str);
                        StoreClaim *claim = g_new0(StoreClaim, 1);
                        claim->address = g_strdup(((Device *) c->devices->pdata[j])->address_str);
                        claim->holder = g_strdup(machine);
                        claim->attachment_id = c->attachment->id;
                        claim->mac = g_strdup(c->macs->pdata[j]);
                        g_hash_table_insert(m->claims, claim->address, claim);
                }
        }
        for (guint i = 0; i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                a->settings->claimed_generation = a->settings->generation;
                g_free(a->claim_error);
                a->claim_error = g_strdup(g_hash_table_lookup(left_out, a));
        }
        model_refresh_holders(m, changed, machine);
        return g_steal_pointer(&result);
}

bool model_release(Model *m, const char *machine, GError **error) {
        if (machine_claims(m, machine) == 0)
                return true;
        if (!store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_claims_release(m->store, machine, error), error))
                return false;
        g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, m->claims);
        while (g_hash_table_iter_next(&it, NULL, &value))
                if (g_str_equal(((StoreClaim *) value)->holder, machine)) {
                        g_ptr_array_add(changed, g_strdup(((StoreClaim *) value)->address));
                        g_hash_table_iter_remove(&it);
                }
        g_autoptr(GPtrArray) attachments = model_machine_attachments(m, machine);
        for (guint i = 0; i < attachments->len; i++)
                g_clear_pointer(&((ModelAttachment *) attachments->pdata[i])->claim_error, g_free);
        model_refresh_holders(m, changed, machine);
        return true;
}

/* ---- tenants ---- */

/* The name the tenant's new group gets. */
static char *tenant_group_name(ModelGroup *from, const ModelTenantPass *p) {
        return p->name && *p->name ? g_strdup(p->name) : g_strdup_printf("%s %s", p->tenant, from->settings->name);
}

bool model_tenant_pass_check(Model *m, ModelGroup *from, const ModelTenantPass *p, GError **error) {
        const StoreGroup *f = from->settings;

        if (*f->tenant)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Group %s is tenant %s's: pass "
                                   "from a host group", f->name, f->tenant), false;
        if (p->type && !g_str_equal(p->type, f->type))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Type '%s' does not match group "
                                   "%s, which is %s", p->type, f->name, f->type), false;
        if (p->count < 1 || p->count > from->total)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Count %u is out of range: group "
                                   "%s holds %u", p->count, f->name, from->total), false;
        if (p->mac && (!g_str_equal(f->type, "sriov-nic") || p->count != 1))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "A Mac is for a sriov-nic pass "
                                   "of Count 1 only: group %s is %s, Count %u", f->name, f->type, p->count), false;
        if (p->mac && model_mac_owner(m, p->mac))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "MAC %s is taken by %s: leave Mac blank "
                                   "for a new one", p->mac, model_mac_owner(m, p->mac)), false;
        g_autofree char *name = tenant_group_name(from, p);
        return model_group_name_check(m, name, error);
}

/* The tenant's new group. */
static StoreGroup *tenant_group(ModelGroup *from, const ModelTenantPass *p) {
        StoreGroup *g = g_new0(StoreGroup, 1);

        g->name = tenant_group_name(from, p);
        g->type = g_strdup(from->settings->type);
        g->description = g_strdup(p->description ?: "");
        g->class_name = g_strdup(from->settings->class_name);
        g->tenant = g_strdup(p->tenant);
        g->tenant_node = g_strdup(p->tenant_node);
        return g;
}

ModelGroup *model_tenant_pass(Model *m, ModelGroup *from, const ModelTenantPass *p, GError **error) {
        if (!model_tenant_pass_check(m, from, p, error))
                return NULL;
        g_autoptr(StoreGroup) s = tenant_group(from, p);
        g_autoptr(GPtrArray) free = model_group_free_units(m, from, NULL);
        g_autoptr(GPtrArray) heads = unit_heads(free);
        g_autoptr(GHashTable) use = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) chosen = g_ptr_array_new();   /* Device*, the chosen units' functions */
        g_autoptr(GPtrArray) given = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GHashTable) made = g_hash_table_new(g_str_hash, g_str_equal);

        g_autoptr(GPtrArray) chosen_heads = allocator_choose(heads, p->count, -1, use);
        if (!chosen_heads)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Tenant %s wants %u device%s of group %s, "
                                   "and %u %s free", s->tenant, p->count, p->count == 1 ? "" : "s",
                                   from->settings->name, free->len, free->len == 1 ? "is" : "are"), NULL;
        g_autoptr(GPtrArray) units = units_of_heads(free, chosen_heads);
        for (guint i = 0; i < units->len; i++) {
                GPtrArray *unit = units->pdata[i];
                /* The first unit's first function carries the MAC asked
                 * for, the others (none, for a VF that can be passed
                 * through) new ones. */
                for (guint k = 0; k < unit->len; k++) {
                        char *mac = !g_str_equal(s->type, "sriov-nic") ? g_strdup("") :
                                    p->mac && i == 0 && k == 0 ? g_strdup(p->mac) : model_mac_generate(m, made);
                        g_ptr_array_add(chosen, unit->pdata[k]);
                        g_ptr_array_add(given, mac);
                        g_hash_table_add(made, mac);
                }
        }

        bool ok = store_begin(m->store, error);
        if (!ok)
                return NULL;
        ok = store_group_insert(m->store, s, error);
        for (guint i = 0; ok && i < chosen->len; i++) {
                StoreClaim hold = { .address = ((Device *) chosen->pdata[i])->address_str, .holder = s->tenant,
                                    .tenant = true, .group_id = s->id, .mac = given->pdata[i] };
                ok = store_claim_insert(m->store, &hold, error);
        }
        if (ok && g_str_equal(s->type, "sriov-nic")) {
                g_ptr_array_add(given, NULL);
                ok = store_group_macs_set(m->store, s->id, (char **) given->pdata, error);
                g_ptr_array_remove_index(given, given->len - 1);
        }
        if (!model_commit_or_rollback(m, ok, error))
                return NULL;

        ModelGroup *g = model_group_new(m, g_steal_pointer(&s));
        model_group_add(m, g);
        g_ptr_array_add(m->changes->added, g_strdup(g->path));
        for (guint i = 0; i < chosen->len; i++) {
                StoreClaim *hold = g_new0(StoreClaim, 1);
                hold->address = g_strdup(((Device *) chosen->pdata[i])->address_str);
                hold->holder = g_strdup(g->settings->tenant);
                hold->tenant = true;
                hold->group_id = g->id;
                hold->mac = g_strdup(given->pdata[i]);
                if (*hold->mac)
                        g_hash_table_insert(m->macs, g_strdup(hold->mac),
                                            g_strdup_printf("a device of tenant %s", hold->holder));
                g_hash_table_insert(m->holds, hold->address, hold);
        }
        model_refresh(m);
        return g;
}
