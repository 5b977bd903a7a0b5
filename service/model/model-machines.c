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
        GPtrArray *held = model_machine_claims(m, machine);
        return held ? held->len : 0;
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

/* The unit (of g) each chosen head stands for, in the order chosen. */
static GPtrArray *units_of_heads(ModelGroup *g, GPtrArray *heads) {
        GPtrArray *chosen = g_ptr_array_sized_new(heads->len);

        for (guint i = 0; i < heads->len; i++)
                g_ptr_array_add(chosen, g->units->list->pdata[units_find(g->units, heads->pdata[i])]);
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
        GPtrArray *free = model_group_free_units(g);
        for (guint i = free->len; g_hash_table_size(taken) > 0 && i-- > 0;)
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

/* Records given (ModelClaimed*) as the machine's, with uuid, and marks
 * attachments as claimed at their generation, their claim_error from
 * left_out (a -> why; NULL: none): one transaction, then memory. */
static bool claims_commit(Model *m, const char *machine, const char *uuid, GPtrArray *given, GPtrArray *attachments,
                          GHashTable *left_out, GError **error) {
        bool ok = store_begin(m->store, error);
        if (!ok)
                return false;
        for (guint i = 0; ok && i < given->len; i++) {
                ModelClaimed *c = given->pdata[i];
                for (guint j = 0; ok && j < c->devices->len; j++) {
                        StoreClaim claim = { .address = ((Device *) c->devices->pdata[j])->address_str,
                                             .holder = (char *) machine, .attachment_id = c->attachment->id,
                                             .mac = c->macs->pdata[j], .uuid = (char *) uuid };
                        ok = store_claim_insert(m->store, &claim, error);
                }
        }
        for (guint i = 0; ok && i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                ok = store_attachment_set_claimed(m->store, a->id, a->settings->generation, error);
        }
        if (!model_commit_or_rollback(m, ok, error))
                return false;

        g_autoptr(GPtrArray) changed = g_ptr_array_new();
        for (guint i = 0; i < given->len; i++) {
                ModelClaimed *c = given->pdata[i];
                for (guint j = 0; j < c->devices->len; j++) {
                        g_ptr_array_add(changed, ((Device *) c->devices->pdata[j])->address_str);
                        StoreClaim *claim = g_new0(StoreClaim, 1);
                        claim->address = g_strdup(((Device *) c->devices->pdata[j])->address_str);
                        claim->holder = g_strdup(machine);
                        claim->attachment_id = c->attachment->id;
                        claim->mac = g_strdup(c->macs->pdata[j]);
                        claim->uuid = g_strdup(uuid);
                        model_claim_add(m, claim);
                }
        }
        for (guint i = 0; i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                a->settings->claimed_generation = a->settings->generation;
                g_free(a->claim_error);
                a->claim_error = left_out ? g_strdup(g_hash_table_lookup(left_out, a)) : NULL;
        }
        model_refresh_holders(m, changed, machine);
        return true;
}

const char *model_machine_uuid(Model *m, const char *machine) {
        GPtrArray *held = model_machine_claims(m, machine);

        /* Its claims all agree: new ones take its UUID (model_claim_devices()). */
        return held ? ((StoreClaim *) held->pdata[0])->uuid : NULL;
}

/* A claim is one domain's: a machine's name reused by another domain
 * while the first holds the devices is refused. */
bool model_machine_uuid_check(Model *m, const char *machine, const char *uuid, GError **error) {
        const char *held = model_machine_uuid(m, machine);

        if (!uuid || !*uuid || !held || !*held || g_str_equal(held, uuid))
                return true;
        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Machine '%s' holds devices claimed for the domain "
                           "of UUID %s, and this call is for UUID %s: another domain of that name holds them; stop "
                           "it, or release machine '%s'", machine, held, uuid, machine), false;
}

GPtrArray *model_claim(Model *m, const char *machine, const char *uuid, int numa_node, const char *tenant_node,
                       GError **error) {
        g_autoptr(GPtrArray) attachments = model_machine_attachments(m, machine);
        g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func((GDestroyNotify) model_claimed_free);
        g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) use = pf_use(m);
        g_autoptr(GHashTable) left_out = g_hash_table_new_full(NULL, NULL, NULL, g_free);

        if (!model_machine_uuid_check(m, machine, uuid, error))
                return NULL;
        uuid = uuid ?: "";
        if (machine_claims(m, machine) > 0)
                return claim_current_check(m, machine, attachments, error) ? claim_current(m, attachments) : NULL;
        for (guint i = 0; i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                g_autofree char *why = NULL;
                g_autoptr(GPtrArray) free = claim_candidates(m, a, tenant_node, taken, &why);
                g_autoptr(GPtrArray) heads = free ? unit_heads(free) : NULL;
                g_autoptr(GPtrArray) chosen_heads = heads ? allocator_choose(heads, a->settings->count, numa_node, use)
                                                          : NULL;
                g_autoptr(GPtrArray) chosen = chosen_heads ? units_of_heads(a->group, chosen_heads) : NULL;
                if (free && !chosen)
                        why = g_strdup_printf("attachment %s of machine %s wants %u device%s of group %s, and %u %s "
                                              "free", a->settings->name, machine, a->settings->count,
                                              a->settings->count == 1 ? "" : "s", a->group->settings->name,
                                              free->len, free->len == 1 ? "is" : "are");
                if (chosen && !model_units_check(m, a->group, chosen, error))
                        return NULL;
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

        return claims_commit(m, machine, uuid, result, attachments, left_out, error) ? g_steal_pointer(&result)
                                                                                     : NULL;
}

/* ---- claims by address: a VM manager's hook ---- */

/* What one attachment of the machine may still get from its group. */
typedef struct {
        ModelAttachment *attachment;
        guint held;               /* units its claim holds */
        guint adding;             /* units this call adds */
        ModelClaimed *given;      /* what this call adds (in the plan's list), NULL while none */
} Draw;

/* What ClaimDevices adds: ModelClaimed* (new devices only), and every
 * group and device it touches, for polkit. */
typedef struct {
        GPtrArray *given;
        GPtrArray *groups;        /* ModelGroup*, distinct */
        GPtrArray *devices;       /* Device*, distinct: the addresses, and the units' functions */
        GPtrArray *marked;        /* ModelAttachment* that held nothing before: now claimed */
} DevicesPlan;

static void devices_plan_clear(DevicesPlan *p) {
        g_clear_pointer(&p->given, g_ptr_array_unref);
        g_clear_pointer(&p->groups, g_ptr_array_unref);
        g_clear_pointer(&p->devices, g_ptr_array_unref);
        g_clear_pointer(&p->marked, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DevicesPlan, devices_plan_clear);

static void add_distinct(GPtrArray *list, gpointer item) {
        if (!g_ptr_array_find(list, item, NULL))
                g_ptr_array_add(list, item);
}

static GPtrArray *unit_of(ModelGroup *g, const Device *d) {
        int i = units_find(g->units, d);
        return i >= 0 ? g->units->list->pdata[i] : NULL;
}

/* How many of units the attachment's claim holds. */
static guint units_held(Model *m, const ModelAttachment *a, GPtrArray *units) {
        guint n = 0;

        for (guint i = 0; i < units->len; i++) {
                GPtrArray *unit = units->pdata[i];
                for (guint k = 0; k < unit->len; k++) {
                        const StoreClaim *c = g_hash_table_lookup(m->claims, ((Device *) unit->pdata[k])->address_str);
                        if (c && c->attachment_id == a->id) {
                                n++;
                                break;
                        }
                }
        }
        return n;
}

/* Why a unit of d that is not free cannot be had, as a GError. */
static void unit_refusal(Model *m, const Device *d, GError **error) {
        g_autofree char *blocker = model_unit_blocker(d);
        guint n = d->iommu_peers ? d->iommu_peers->len : 0;

        for (guint i = 0; i < n; i++) {
                const Device *p = d->iommu_peers->pdata[i];
                const char *holder = model_holder(m, p->address_str);
                if (holder && p != d) {
                        g_autofree char *use = model_device_use(m, p->address_str);
                        g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Device %s shares IOMMU group %d with %s, "
                                    "%s, and VFIO gives a group to one holder whole: stop that machine or take "
                                    "device %s out of the domain", d->address_str, d->iommu_group, p->address_str,
                                    use, d->address_str);
                        return;
                }
        }
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Device %s cannot be claimed now: %s", d->address_str,
                    blocker ?: "it is not on vfio-pci yet (see devpassctl device)");
}

/* The first of the machine's attachments to g with a unit left, NULL
 * with why. */
static Draw *draw_for(Model *m, const char *machine, const char *tenant_node, GArray *draws, ModelGroup *g,
                      const Device *d, GError **error) {
        Draw *last = NULL;

        for (guint i = 0; i < draws->len; i++) {
                Draw *w = &g_array_index(draws, Draw, i);
                if (w->attachment->group != g)
                        continue;
                last = w;
                if (w->held + w->adding < w->attachment->settings->count)
                        break;
        }
        if (!last)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Machine '%s' has no attachment "
                                   "to group %s, which device %s is passed through for: attach the group to the "
                                   "machine first (devpassctl attach)", machine, g->settings->name, d->address_str),
                       NULL;
        if (*g->settings->tenant && g_strcmp0(g->settings->tenant_node, tenant_node) != 0)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Group %s holds devices for "
                                   "tenant node %s, and machine '%s' runs on %s", g->settings->name,
                                   g->settings->tenant_node, machine,
                                   tenant_node && *tenant_node ? tenant_node : "no tenant node"), NULL;
        if (last->held + last->adding >= last->attachment->settings->count)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Attachment '%s' of machine '%s' has all "
                                   "the %u unit%s of group %s its Count gives, and device %s would be one more: "
                                   "raise its Count (devpassctl update-attachment --count), or take the device out "
                                   "of the domain", last->attachment->settings->name, machine,
                                   last->attachment->settings->count, last->attachment->settings->count == 1 ? "" : "s",
                                   g->settings->name, d->address_str), NULL;
        return last;
}

/* The machine's attachments that have a group, with what they hold. */
static GArray *draws_new(Model *m, const char *machine) {
        g_autoptr(GPtrArray) attachments = model_machine_attachments(m, machine);
        GArray *draws = g_array_new(FALSE, TRUE, sizeof(Draw));

        for (guint i = 0; i < attachments->len; i++) {
                ModelAttachment *a = attachments->pdata[i];
                if (!a->group)
                        continue;
                Draw w = { .attachment = a, .held = units_held(m, a, a->group->units->list) };
                g_array_append_val(draws, w);
        }
        return draws;
}

/* The group one address names, or NULL with why: it must be a devpass
 * passthrough device on this node, held by nobody else (*mine: by the
 * machine already). */
static ModelGroup *address_group(Model *m, const char *machine, const char *address, Device **ret, bool *mine,
                                 GError **error) {
        DpAddress addr;
        Device *d = address_parse(address, &addr) ? inventory_lookup(m->inventory, &addr) : NULL;
        const StoreClaim *hold = g_hash_table_lookup(m->holds, address);
        const StoreClaim *claim = g_hash_table_lookup(m->claims, address);
        ModelGroup *g = hold ? g_hash_table_lookup(m->groups, &hold->group_id) : model_intent(m, address);

        *ret = d;
        if (!g)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Device %s is not passed through "
                                   "by devpass: pass it through and attach its group to machine '%s' "
                                   "(devpassctl passthrough, attach), or take it out of the domain", address,
                                   machine), NULL;
        if (!d)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Device %s, passed through for group %s, "
                                   "is not on this node: put it back, or take it out of the domain", address,
                                   g->settings->name), NULL;
        *mine = claim && g_str_equal(claim->holder, machine);
        if (claim && !*mine)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Device %s is held by machine '%s': stop that "
                                   "machine (or devpassctl release-machine it) first, or take the device out of this "
                                   "domain", address, claim->holder), NULL;
        if (hold && g_strcmp0(model_machine_tenant(m, machine), hold->holder) != 0)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Device %s is held by tenant '%s', and machine "
                                   "'%s' is not the tenant's: take the device out of the domain", address,
                                   hold->holder, machine), NULL;
        return g;
}

/* All or nothing: every address judged before anything is planned to change. */
static bool devices_plan(Model *m, const char *machine, const char *tenant_node, char **addresses, DevicesPlan *p,
                         GError **error) {
        g_autoptr(GArray) draws = draws_new(m, machine);
        g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);
        bool ok = true;

        p->given = g_ptr_array_new_with_free_func((GDestroyNotify) model_claimed_free);
        p->groups = g_ptr_array_new();
        p->devices = g_ptr_array_new();
        p->marked = g_ptr_array_new();
        for (size_t i = 0; ok && addresses[i]; i++) {
                Device *d;
                bool mine;
                ModelGroup *g = address_group(m, machine, addresses[i], &d, &mine, error);
                if (!(ok = g != NULL))
                        continue;
                add_distinct(p->groups, g);
                add_distinct(p->devices, d);
                if (mine || g_hash_table_contains(taken, d->address_str))
                        continue;
                Draw *w = draw_for(m, machine, tenant_node, draws, g, d, error);
                GPtrArray *unit = w ? unit_of(g, d) : NULL;
                if (w && (!unit || !model_unit_free(m, g, unit))) {
                        unit_refusal(m, d, error);
                        w = NULL;
                }
                if (!(ok = w != NULL))
                        continue;
                if (!w->given) {
                        w->given = claimed_new(w->attachment);
                        g_ptr_array_add(p->given, w->given);
                        if (w->held == 0)
                                g_ptr_array_add(p->marked, w->attachment);
                }
                for (guint k = 0; k < unit->len; k++) {
                        Device *f = unit->pdata[k];
                        g_hash_table_add(taken, f->address_str);
                        add_distinct(p->devices, f);
                        g_ptr_array_add(w->given->devices, f);
                        g_ptr_array_add(w->given->macs, g_strdup(claim_mac(m, w->attachment, f, w->held + w->adding,
                                                                           k)));
                }
                w->adding++;
        }
        return ok;
}

bool model_claim_devices_check(Model *m, const char *machine, const char *uuid, const char *tenant_node,
                               char **addresses, GPtrArray **groups, GPtrArray **devices, GError **error) {
        g_auto(DevicesPlan) p = {};

        if (!model_machine_uuid_check(m, machine, uuid, error) ||
            !devices_plan(m, machine, tenant_node, addresses, &p, error))
                return false;
        *groups = g_steal_pointer(&p.groups);
        *devices = g_steal_pointer(&p.devices);
        return true;
}

GPtrArray *model_claim_devices(Model *m, const char *machine, const char *uuid, const char *tenant_node,
                               char **addresses, GError **error) {
        g_auto(DevicesPlan) p = {};

        if (!model_machine_uuid_check(m, machine, uuid, error) ||
            !devices_plan(m, machine, tenant_node, addresses, &p, error))
                return NULL;
        const char *held = model_machine_uuid(m, machine);
        /* Nothing new: what it holds passes, and nothing is written. */
        if (p.given->len > 0 &&
            !claims_commit(m, machine, held ?: uuid ?: "", p.given, p.marked, NULL, error))
                return NULL;
        g_autoptr(GPtrArray) attachments = model_machine_attachments(m, machine);
        return claim_current(m, attachments);
}


bool model_release(Model *m, const char *machine, GError **error) {
        if (machine_claims(m, machine) == 0)
                return true;
        if (!store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_claims_release(m->store, machine, error), error))
                return false;
        g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *key = NULL;
        g_autoptr(GPtrArray) held = NULL;
        g_hash_table_steal_extended(m->held_by, machine, (gpointer *) &key, (gpointer *) &held);
        for (guint i = 0; i < held->len; i++) {
                const StoreClaim *c = held->pdata[i];
                g_ptr_array_add(changed, g_strdup(c->address));
                g_hash_table_remove(m->claims, c->address);
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
        g_autoptr(GPtrArray) free = model_group_free_units(from);
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
        g_autoptr(GPtrArray) units = units_of_heads(from, chosen_heads);
        if (!model_units_check(m, from, units, error))
                return NULL;
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
