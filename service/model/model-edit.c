/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Changes of settings. Each writes one store transaction first and
 * touches memory only after the commit, so a failure leaves both as they
 * were. */
#include <gio/gio.h>

#include "assign.h"
#include "model-private.h"
#include "rules.h"


static bool group_name_free(Model *m, const char *name, const ModelGroup *self, GError **error) {
        ModelGroup *other = model_group_by_name(m, name);

        if (other && other != self)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                                   "A group named '%s' exists already (%s): choose another name", name, other->path),
                       false;
        return true;
}

static bool rule_name_free(Model *m, const char *name, const ModelRule *self, GError **error) {
        ModelRule *other = model_rule_by_name(m, name);

        if (other && other != self)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                                   "A rule named '%s' exists already (%s): choose another name", name, other->path),
                       false;
        return true;
}

/* A condition's bytes on the bus, near enough: its three strings, each
 * with its length and NUL, in a struct aligned to 8. */
#define CONDITION_FRAME_BYTES 24

size_t model_conditions_bytes(GPtrArray *conditions) {
        size_t n = 0;

        for (guint i = 0; i < conditions->len; i++) {
                const StoreCondition *c = conditions->pdata[i];
                n += CONDITION_FRAME_BYTES + strlen(c->field) + strlen(c->op) + strlen(c->value);
        }
        return n;
}

/* Room for rules (StoreRule*) more, instead of self's conditions when
 * self is not NULL: MODEL_MAX_RULES, MODEL_MAX_CONDITION_BYTES. */
static bool rules_room_check(Model *m, const ModelRule *self, const StoreRule *const *rules, guint n,
                             GError **error) {
        size_t have = 0, adding = 0;
        GHashTableIter it;
        gpointer value;

        for (guint i = 0; i < n; i++)
                adding += model_conditions_bytes(rules[i]->conditions);
        /* Only growth is refused: a store an earlier version filled
         * further stays as valid as it was. */
        if (self ? adding <= model_conditions_bytes(self->settings->conditions) : n == 0)
                return true;
        if (!self && !model_room_check(g_hash_table_size(m->rules), n, MODEL_MAX_RULES, "rules", error))
                return false;
        g_hash_table_iter_init(&it, m->rules);
        while (g_hash_table_iter_next(&it, NULL, &value))
                if (value != self)
                        have += model_conditions_bytes(((const ModelRule *) value)->settings->conditions);
        if (have + adding <= MODEL_MAX_CONDITION_BYTES)
                return true;
        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "The rules' conditions would take %zu KiB, more "
                           "than the %u KiB devpassd keeps: delete rules, or use shorter conditions (a range or "
                           "glob of addresses, not a list)", (have + adding + 1023) / 1024,
                           MODEL_MAX_CONDITION_BYTES / 1024), false;
}

bool model_rule_check(Model *m, const ModelRule *self, const StoreRule *next, GError **error) {
        return rules_room_check(m, self, &next, 1, error) &&
               (!next->name || !*next->name || rule_name_free(m, next->name, self, error));
}

/* "base", else "base 2", "base 3", ... */
static char *rule_name_unique(Model *m, const char *base) {
        char *name = g_strdup(base);

        for (unsigned n = 2; model_rule_by_name(m, name); n++) {
                g_free(name);
                name = g_strdup_printf("%s %u", base, n);
        }
        return name;
}

void model_rule_forget(Model *m, ModelRule *r) {
        g_ptr_array_remove(r->group->rules, r);
        model_mark(m->changes->groups, r->group, PROP_BIT(GROUP_PROP_RULES));
        g_hash_table_remove(m->changes->rules, r);
        model_mark_removed(m, r->path, MODEL_OBJECT_RULE);
        g_hash_table_remove(m->rule_paths, r->path);
        g_hash_table_remove(m->rule_names, r->settings->name);
        g_hash_table_remove(m->rules, &r->id);
}

bool model_group_name_check(Model *m, const char *name, GError **error) {
        return model_room_check(g_hash_table_size(m->groups), 1, MODEL_MAX_GROUPS, "groups", error) &&
               group_name_free(m, name, NULL, error);
}

ModelGroup *model_group_create(Model *m, StoreGroup *settings, GError **error) {
        g_autoptr(StoreGroup) s = settings;

        if (!model_group_name_check(m, s->name, error) || !store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_group_insert(m->store, s, error), error))
                return NULL;
        ModelGroup *g = model_group_new(m, g_steal_pointer(&s));
        model_group_add(m, g);
        g_ptr_array_add(m->changes->added, g_strdup(g->path));
        return g;
}

bool model_group_update_check(Model *m, ModelGroup *g, const StoreGroup *next, GError **error) {
        if (!group_name_free(m, next->name, g, error))
                return false;
        /* A group's devices were chosen for its type. */
        if (!g_str_equal(next->type, g->settings->type) && g->devices->len > 0)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Group %s has devices: its type can only "
                                   "change while it has none", g->settings->name), false;
        return true;
}

guint model_group_settings_set(Model *m, ModelGroup *g, const StoreGroup *next) {
        StoreGroup *old = g->settings;
        guint bits = 0;

        /* The name index holds the old name's string: out before it goes. */
        g_hash_table_remove(m->group_names, old->name);
#define SWAP(field, prop)                                             \
        if (g_strcmp0(old->field, next->field) != 0) {                \
                g_free(old->field);                                   \
                old->field = g_strdup(next->field);                   \
                bits |= PROP_BIT(prop);                               \
        }
        SWAP(name, GROUP_PROP_NAME);
        SWAP(type, GROUP_PROP_TYPE);
        SWAP(description, GROUP_PROP_DESCRIPTION);
        SWAP(class_name, GROUP_PROP_CLASS);
        SWAP(tenant, GROUP_PROP_TENANT);
        SWAP(tenant_node, GROUP_PROP_TENANT_NODE);
#undef SWAP
        g_hash_table_insert(m->group_names, old->name, g);
        model_mark(m->changes->groups, g, bits);
        return bits;
}

bool model_group_update(Model *m, ModelGroup *g, const StoreGroup *settings, GError **error) {
        StoreGroup next = *settings;
        next.id = g->id;

        if (!model_group_update_check(m, g, &next, error) || !store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_group_update(m->store, &next, error), error))
                return false;
        /* Names show in devices' blockers. */
        if (model_group_settings_set(m, g, &next) & PROP_BIT(GROUP_PROP_NAME))
                model_refresh(m);
        return true;
}

static guint group_intents(Model *m, ModelGroup *g, GString *addresses) {
        g_autoptr(GPtrArray) all = model_intent_addresses(m);
        guint n = 0;

        for (guint i = 0; i < all->len; i++)
                if (model_intent(m, all->pdata[i]) == g && n++ < 4)
                        g_string_append_printf(addresses, "%s%s", n > 1 ? ", " : "", (char *) all->pdata[i]);
        return n;
}

/* No machine's attachment draws from it, no machine holds what a tenant
 * holds in it. */
static bool group_unused(Model *m, ModelGroup *g, GError **error) {
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->attachments);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const ModelAttachment *a = value;
                if (a->group == g)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Attachment %s of machine %s draws "
                                           "from group %s: delete or move it first", a->settings->name,
                                           a->settings->machine, g->settings->name), false;
        }
        g_autoptr(GPtrArray) intents = model_intent_addresses(m);
        for (guint i = 0; i < intents->len; i++) {
                const char *address = intents->pdata[i];
                const StoreClaim *held = g_hash_table_lookup(m->claims, address) ?: g_hash_table_lookup(m->holds, address);
                if (model_intent(m, address) == g && held)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s of group %s is held by %s: it "
                                           "cannot leave the group until released", address, g->settings->name,
                                           held->holder), false;
        }
        g_hash_table_iter_init(&it, m->holds);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const StoreClaim *hold = value, *claim = g_hash_table_lookup(m->claims, hold->address);
                if (hold->group_id == g->id && claim)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "Machine %s of tenant %s holds %s "
                                           "of group %s: release the machine first", claim->holder, hold->holder,
                                           hold->address, g->settings->name), false;
        }
        return true;
}

bool model_group_delete_check(Model *m, ModelGroup *g, bool release, GError **error) {
        g_autoptr(GString) addresses = g_string_new(NULL);
        guint n = group_intents(m, g, addresses);

        if (n > 0 && !release)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
                                   "Group %s still has %u device%s passed through (%s%s): release them first, "
                                   "or delete it with Release",
                                   g->settings->name, n, n == 1 ? "" : "s", addresses->str, n > 4 ? ", ..." : ""),
                       false;
        return group_unused(m, g, error);
}

bool model_group_delete(Model *m, ModelGroup *g, bool release, GError **error) {
        if (!model_group_delete_check(m, g, release, error))
                return false;
        if (!store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_group_delete(m->store, g->id, error), error))
                return false;
        /* The store dropped the group's intents and a tenant's holds with it. */
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, m->holds);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                StoreClaim *hold = value;
                if (hold->group_id != g->id)
                        continue;
                if (*hold->mac)
                        g_hash_table_remove(m->macs, hold->mac);
                g_hash_table_iter_remove(&it);
        }
        g_autoptr(GPtrArray) all = model_intent_addresses(m);
        for (guint i = 0; i < all->len; i++)
                if (model_intent(m, all->pdata[i]) == g)
                        g_hash_table_remove(m->intents, all->pdata[i]);
        model_group_forget(m, g);
        model_refresh(m);
        return true;
}

void model_group_forget(Model *m, ModelGroup *g) {
        while (g->rules->len > 0)
                model_rule_forget(m, g->rules->pdata[0]);
        g_hash_table_remove(m->changes->groups, g);
        model_mark_removed(m, g->path, MODEL_OBJECT_GROUP);
        g_hash_table_remove(m->group_paths, g->path);
        g_hash_table_remove(m->group_names, g->settings->name);
        g_hash_table_remove(m->groups, &g->id);
}

ModelRule *model_rule_create(Model *m, ModelGroup *g, StoreRule *settings, GPtrArray *conditions,
                             GError **error) {
        g_autoptr(StoreRule) s = settings;
        g_autoptr(GPtrArray) c = conditions;

        s->group_id = g->id;
        if (!s->name || !*s->name) {
                g_autofree char *base = g_strdup_printf("%s rule", g->settings->name);
                g_free(s->name);
                s->name = rule_name_unique(m, base);
        }
        if (!model_rule_check(m, NULL, s, error) || !store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_rule_insert(m->store, s, error), error))
                return NULL;
        ModelRule *r = model_rule_new(m, g_steal_pointer(&s), g_steal_pointer(&c), g);
        model_rule_add(m, r);
        g_ptr_array_add(m->changes->added, g_strdup(r->path));
        model_mark(m->changes->groups, g, PROP_BIT(GROUP_PROP_RULES));
        model_refresh(m);
        return r;
}

bool model_conditions_equal(GPtrArray *a, GPtrArray *b) {
        if (a->len != b->len)
                return false;
        for (guint i = 0; i < a->len; i++) {
                const StoreCondition *x = a->pdata[i], *y = b->pdata[i];
                if (!g_str_equal(x->field, y->field) || !g_str_equal(x->op, y->op) || !g_str_equal(x->value, y->value))
                        return false;
        }
        return true;
}

bool model_rule_update(Model *m, ModelRule *r, ModelGroup *g, StoreRule *settings, GPtrArray *conditions,
                       GError **error) {
        g_autoptr(StoreRule) s = settings;
        g_autoptr(GPtrArray) c = conditions;

        s->id = r->id;
        s->group_id = g->id;
        if (!model_rule_check(m, r, s, error) || !store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_rule_update(m->store, s, error), error))
                return false;
        model_rule_settings_set(m, r, g, g_steal_pointer(&s), g_steal_pointer(&c));
        model_refresh(m);
        return true;
}

guint model_rule_settings_set(Model *m, ModelRule *r, ModelGroup *g, StoreRule *s, GPtrArray *conditions) {
        guint bits = 0;

        if (!g_str_equal(r->settings->name, s->name))
                bits |= PROP_BIT(RULE_PROP_NAME);
        if (!g_str_equal(r->settings->node, s->node))
                bits |= PROP_BIT(RULE_PROP_NODE);
        if (r->settings->enabled != s->enabled)
                bits |= PROP_BIT(RULE_PROP_ENABLED);
        if (!model_conditions_equal(r->settings->conditions, s->conditions))
                bits |= PROP_BIT(RULE_PROP_CONDITIONS);
        if (r->group != g) {
                g_ptr_array_remove(r->group->rules, r);
                model_mark(m->changes->groups, r->group, PROP_BIT(GROUP_PROP_RULES));
                model_rule_attach(r, g);
                model_mark(m->changes->groups, g, PROP_BIT(GROUP_PROP_RULES));
                bits |= PROP_BIT(RULE_PROP_GROUP);
        }
        g_hash_table_remove(m->rule_names, r->settings->name);
        store_rule_free(r->settings);
        r->settings = s;
        g_hash_table_insert(m->rule_names, r->settings->name, r);
        g_ptr_array_unref(r->conditions);
        r->conditions = conditions;
        model_mark(m->changes->rules, r, bits);
        return bits;
}

bool model_rule_delete(Model *m, ModelRule *r, GError **error) {
        if (!store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_rule_delete(m->store, r->id, error), error))
                return false;
        model_rule_forget(m, r);
        model_refresh(m);
        return true;
}

/* Does an enabled rule of g that applies here already match d? */
static bool group_matches(Model *m, ModelGroup *g, const Device *d) {
        for (guint i = 0; g && i < g->rules->len; i++) {
                const ModelRule *r = g->rules->pdata[i];
                if (r->settings->enabled && assign_rule_applies(r->settings->node, m->node) &&
                    rule_conditions_match(r->conditions, d))
                        return true;
        }
        return false;
}

/* A rule Make Passthrough writes, as the reference does for one device:
 * this node, the vendor and device ids (ids is vendor << 16 | device),
 * and the addresses: "address eq" for one, "address in" for more. Named
 * after the first address; names in taken (rules of the same call) count
 * as used. */
static StoreRule *passthrough_rule(Model *m, uint32_t ids, const uint64_t *keys, size_t n, GPtrArray *taken) {
        StoreRule *r = store_rule_new();
        char vendor[8], device[8], first[DP_ADDRESS_MAX];
        DpAddress a = address_from_key(keys[0]);

        address_format(&a, first);
        g_snprintf(vendor, sizeof(vendor), "%04x", ids >> 16);
        g_snprintf(device, sizeof(device), "%04x", ids & 0xffff);
        g_autofree char *more = n > 1 ? g_strdup_printf(" +%zu", n - 1) : g_strdup("");
        g_autofree char *base = g_strdup_printf("%s%s %s:%s", first, more, vendor, device);
        r->name = rule_name_unique(m, base);
        for (unsigned k = 2; g_ptr_array_find_with_equal_func(taken, r->name, g_str_equal, NULL); k++) {
                g_free(r->name);
                r->name = g_strdup_printf("%s %u", base, k);
        }
        r->node = g_strdup(m->node);
        r->enabled = true;
        g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", vendor));
        g_ptr_array_add(r->conditions, store_condition_new("device", "eq", device));
        if (n == 1) {
                g_ptr_array_add(r->conditions, store_condition_new("address", "eq", first));
        } else {
                g_autofree char *set = rule_set_format(keys, n);
                g_ptr_array_add(r->conditions, store_condition_new("address", "in", set));
        }
        return r;
}

/* The rules Make Passthrough writes for devices into g (NULL: a new
 * group): none for a device an enabled rule of g matches here already;
 * the others by vendor and device ids (a unit such as a GPU and its audio
 * function has two pairs), one rule per pair and as many more as
 * RULE_SET_MAX needs. A rule names its devices by address, so it matches
 * exactly these and no sibling a later call passes to another group.
 * StoreRule*, to insert. */
static GPtrArray *passthrough_rules(Model *m, ModelGroup *g, GPtrArray *devices) {
        g_autoptr(GHashTable) by_ids = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
        g_autoptr(GArray) order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        GPtrArray *rules = g_ptr_array_new_with_free_func((GDestroyNotify) store_rule_free);
        g_autoptr(GPtrArray) taken = g_ptr_array_new();

        for (guint i = 0; i < devices->len; i++) {
                const Device *d = devices->pdata[i];
                uint32_t ids = (uint32_t) d->vendor_id << 16 | d->device_id;
                uint64_t key = address_to_key(&d->address);
                if (group_matches(m, g, d))
                        continue;
                GArray *keys = g_hash_table_lookup(by_ids, GUINT_TO_POINTER(ids));
                if (!keys) {
                        keys = g_array_new(FALSE, FALSE, sizeof(uint64_t));
                        g_hash_table_insert(by_ids, GUINT_TO_POINTER(ids), keys);
                        g_array_append_val(order, ids);
                }
                g_array_append_val(keys, key);
        }
        for (guint i = 0; i < order->len; i++) {
                uint32_t ids = g_array_index(order, uint32_t, i);
                GArray *keys = g_hash_table_lookup(by_ids, GUINT_TO_POINTER(ids));
                g_array_set_size(keys, (guint) rule_keys_sort_unique((uint64_t *) (void *) keys->data, keys->len));
                for (guint from = 0, n; from < keys->len; from += n) {
                        const uint64_t *rest = &g_array_index(keys, uint64_t, from);
                        n = (guint) rule_set_fit(rest, keys->len - from);
                        StoreRule *r = passthrough_rule(m, ids, rest, n, taken);
                        g_ptr_array_add(rules, r);
                        g_ptr_array_add(taken, r->name);
                }
        }
        return rules;
}

bool model_passthrough_check(Model *m, ModelGroup *g, const char *type, GPtrArray *devices, GError **error) {
        GHashTableIter it;
        gpointer value;

        g_autoptr(GPtrArray) rules = passthrough_rules(m, g, devices);
        if (!rules_room_check(m, NULL, (const StoreRule *const *) rules->pdata, rules->len, error))
                return false;
        for (guint i = 0; i < devices->len; i++) {
                const Device *d = devices->pdata[i];
                ModelGroup *held = model_intent(m, d->address_str);
                if (held && held != g)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s is passed through for group %s "
                                           "already: release it first", d->address_str, held->settings->name), false;
                if (d->iommu_group < 0)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "%s has no IOMMU group: "
                                           "turn the IOMMU on (intel_iommu=on or amd_iommu=on) before passing it "
                                           "through", d->address_str), false;
                if (g_str_equal(type, "sriov-nic") && !device_is_vf(d))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s is not an SR-IOV "
                                           "virtual function: a sriov-nic group holds VFs", d->address_str), false;
                g_hash_table_iter_init(&it, m->rules);
                while (g_hash_table_iter_next(&it, NULL, &value)) {
                        const ModelRule *r = value;
                        if (r->group == g || !r->settings->enabled || r->conditions->len == 0 ||
                            !assign_rule_applies(r->settings->node, m->node) || !rule_conditions_match(r->conditions, d))
                                continue;
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s is matched by rule %s of group "
                                           "%s: in %s as well it would be in neither group. Change or disable rule "
                                           "%s, or pass it through for group %s", d->address_str, r->settings->name,
                                           r->group->settings->name, g ? g->settings->name : "a new group",
                                           r->settings->name, r->group->settings->name), false;
                }
        }
        return true;
}

/* The intent of d for a group, with what d is now. */
static StorePassthrough passthrough_of(const Device *d, int64_t group_id) {
        return (StorePassthrough) {
                .group_id = group_id,
                .vendor_id = d->vendor_id,
                .device_id = d->device_id,
                .subsystem_vendor_id = d->subsystem_vendor_id,
                .subsystem_device_id = d->subsystem_device_id,
                .class_code = d->class_code,
                .revision = d->revision,
        };
}

bool model_passthrough_equal(const StorePassthrough *a, const StorePassthrough *b) {
        return a->group_id == b->group_id && a->vendor_id == b->vendor_id && a->device_id == b->device_id &&
               a->subsystem_vendor_id == b->subsystem_vendor_id &&
               a->subsystem_device_id == b->subsystem_device_id && a->class_code == b->class_code &&
               a->revision == b->revision;
}

void model_passthrough_facts_sync(Model *m) {
        g_autoptr(GPtrArray) addresses = g_ptr_array_new();
        g_autoptr(GArray) fresh = g_array_new(FALSE, FALSE, sizeof(StorePassthrough));
        g_autoptr(GError) error = NULL;
        GHashTableIter it;
        gpointer key, value;

        g_hash_table_iter_init(&it, m->intents);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                const StorePassthrough *old = value;
                DpAddress a;
                const Device *d = address_parse(key, &a) ? inventory_lookup(m->inventory, &a) : NULL;
                /* Vendor ffff (or 0, unreadable) is a device falling off
                 * the bus, not what it is: keep what it was. */
                if (!d || d->vendor_id == 0xffff || d->vendor_id == 0)
                        continue;
                StorePassthrough p = passthrough_of(d, old->group_id);
                if (model_passthrough_equal(&p, old))
                        continue;
                g_ptr_array_add(addresses, key);
                g_array_append_val(fresh, p);
        }
        if (addresses->len == 0)
                return;
        bool ok = store_begin(m->store, &error);
        for (guint i = 0; ok && i < addresses->len; i++)
                ok = store_passthrough_set(m->store, addresses->pdata[i], &g_array_index(fresh, StorePassthrough, i),
                                           &error);
        if (!model_commit_or_rollback(m, ok, &error)) {
                g_warning("Cannot record the ids of %u passed-through device%s (shown while missing): %s",
                          addresses->len, addresses->len == 1 ? "" : "s", error->message);
                return;
        }
        for (guint i = 0; i < addresses->len; i++)
                *(StorePassthrough *) g_hash_table_lookup(m->intents, addresses->pdata[i]) =
                        g_array_index(fresh, StorePassthrough, i);
}

ModelGroup *model_passthrough_add(Model *m, ModelGroup *g, StoreGroup *new_group, GPtrArray *devices,
                                  GError **error) {
        g_autoptr(StoreGroup) ng = new_group;
        g_autoptr(GPtrArray) rules = NULL;
        bool ok = true;

        g_return_val_if_fail(!g != !ng, NULL);
        if ((ng && !model_group_name_check(m, ng->name, error)) ||
            !model_passthrough_check(m, g, (g ? g->settings : ng)->type, devices, error))
                return NULL;
        if (!store_begin(m->store, error))
                return NULL;
        if (ng)
                ok = store_group_insert(m->store, ng, error);
        int64_t group_id = g ? g->id : ng->id;
        rules = passthrough_rules(m, g, devices);
        for (guint i = 0; ok && i < rules->len; i++) {
                StoreRule *r = rules->pdata[i];
                r->group_id = group_id;
                ok = store_rule_insert(m->store, r, error);
        }
        for (guint i = 0; ok && i < devices->len; i++) {
                const Device *d = devices->pdata[i];
                StorePassthrough p = passthrough_of(d, group_id);
                ok = ok && store_passthrough_set(m->store, d->address_str, &p, error) &&
                     store_override_set(m->store, d->address_str, true, error);
        }
        if (!model_commit_or_rollback(m, ok, error))
                return NULL;

        if (ng) {
                g = model_group_new(m, g_steal_pointer(&ng));
                model_group_add(m, g);
                g_ptr_array_add(m->changes->added, g_strdup(g->path));
        }
        for (guint i = 0; i < rules->len; i++) {
                StoreRule *s = g_steal_pointer(&rules->pdata[i]);
                /* Built from valid ids and addresses: cannot fail. */
                GPtrArray *conditions = model_conditions_compile(s->conditions, NULL);
                ModelRule *r = model_rule_new(m, s, conditions, g);
                model_rule_add(m, r);
                g_ptr_array_add(m->changes->added, g_strdup(r->path));
                model_mark(m->changes->groups, g, PROP_BIT(GROUP_PROP_RULES));
        }
        for (guint i = 0; i < devices->len; i++) {
                const Device *d = devices->pdata[i];
                StorePassthrough p = passthrough_of(d, g->id);
                g_hash_table_insert(m->intents, g_strdup(d->address_str), g_memdup2(&p, sizeof(p)));
                g_hash_table_add(m->overrides, g_strdup(d->address_str));
                model_set_bind_error(m, d->address_str, NULL);
        }
        model_refresh(m);
        return g;
}

bool model_passthrough_remove_check(Model *m, char **addresses, GError **error) {
        for (size_t i = 0; addresses[i]; i++) {
                if (!model_intent(m, addresses[i]))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s is not passed "
                                           "through: nothing to release", addresses[i]), false;
                const char *holder = model_holder(m, addresses[i]);
                if (holder)
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s is held by %s: release the "
                                           "machine (or take it back from the tenant) first", addresses[i], holder),
                               false;
        }
        return true;
}

bool model_passthrough_remove(Model *m, char **addresses, GError **error) {
        bool ok = true;

        if (!model_passthrough_remove_check(m, addresses, error))
                return false;
        if (!store_begin(m->store, error))
                return false;
        for (size_t i = 0; ok && addresses[i]; i++)
                ok = store_passthrough_clear(m->store, addresses[i], error);
        if (!model_commit_or_rollback(m, ok, error))
                return false;
        for (size_t i = 0; addresses[i]; i++) {
                g_hash_table_remove(m->intents, addresses[i]);
                model_set_bind_error(m, addresses[i], NULL);
        }
        model_refresh(m);
        return true;
}
