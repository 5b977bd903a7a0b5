/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What devices, groups and rules show: recomputed as a whole, compared
 * with what they showed, and only the differences recorded. One pass over
 * devices x active rules; nothing here writes. */
#include <string.h>

#include "assign.h"
#include "model-private.h"
#include "rules.h"


/* The rules that can match here: enabled, for this node, not empty. */
static GArray *active_rules(Model *m) {
        GArray *rules = g_array_new(FALSE, FALSE, sizeof(AssignRule));
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->rules);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                ModelRule *r = value;
                if (r->settings->enabled && r->conditions->len > 0 &&
                    assign_rule_applies(r->settings->node, m->node))
                        g_array_append_val(rules, ((AssignRule) { r->id, r->group->id, r->conditions }));
        }
        return rules;
}

static gint assign_rule_compare(gconstpointer a, gconstpointer b) {
        const AssignRule *x = a, *y = b;
        return (x->id > y->id) - (x->id < y->id);
}

typedef struct {
        GHashTable *group_devices;   /* ModelGroup* -> GPtrArray of Device* */
        GHashTable *rule_devices;    /* ModelRule* -> GPtrArray of Device* */
        GHashTable *rule_conflicts;  /* ModelRule* -> GArray of ModelConflict */
} Next;

static GPtrArray *next_list(GHashTable *table, gpointer object) {
        GPtrArray *a = g_hash_table_lookup(table, object);
        if (!a) {
                a = g_ptr_array_new();
                g_hash_table_insert(table, object, a);
        }
        return a;
}

static void next_conflict(Next *n, ModelRule *r, const Device *d, const ModelRule *other) {
        GArray *a = g_hash_table_lookup(n->rule_conflicts, r);
        if (!a) {
                a = g_array_new(FALSE, FALSE, sizeof(ModelConflict));
                g_hash_table_insert(n->rule_conflicts, r, a);
        }
        g_array_append_val(a, ((ModelConflict) { d, other }));
}

static ModelRule *rule_by_id(Model *m, int64_t id) {
        return g_hash_table_lookup(m->rules, &(gint64) { id });
}

static void blockers_add_conflict(GPtrArray *blockers, Model *m, GArray *matched) {
        g_autoptr(GString) s = g_string_new("Rules of more than one group match it (");

        for (guint i = 0; i < matched->len; i++) {
                const ModelRule *r = rule_by_id(m, g_array_index(matched, int64_t, i));
                g_string_append_printf(s, "%s%s of group %s", i ? ", " : "", r->settings->name,
                                       r->group->settings->name);
        }
        g_string_append(s, "): it is in neither until one rule is changed");
        g_ptr_array_add(blockers, g_string_free(g_steal_pointer(&s), FALSE));
}

/* Who has a present device: a machine, else a tenant, else the host
 * (passed through or not). */
static DeviceState device_holding(Model *m, const Device *d, const char **holder) {
        const StoreClaim *claim = g_hash_table_lookup(m->claims, d->address_str);
        const StoreClaim *hold = g_hash_table_lookup(m->holds, d->address_str);

        *holder = claim ? claim->holder : hold ? hold->holder : "";
        return claim ? DEVICE_STATE_CLAIMED : hold ? DEVICE_STATE_TENANT :
               model_intent(m, d->address_str) ? DEVICE_STATE_PASSTHROUGH : DEVICE_STATE_HOST;
}

/* The view of one present device; records its rule matches in next. */
static void device_refresh(Model *m, Device *d, const GArray *rules, GArray *matched, Next *n) {
        g_autoptr(GPtrArray) blockers = g_ptr_array_new_with_free_func(g_free);

        g_array_set_size(matched, 0);
        Assignment a = assign_device((const AssignRule *) (void *) rules->data, rules->len, d, matched);
        for (guint i = 0; i < matched->len; i++) {
                ModelRule *r = rule_by_id(m, g_array_index(matched, int64_t, i));
                g_ptr_array_add(next_list(n->rule_devices, r), d);
                for (guint j = 0; a.conflict && j < matched->len; j++) {
                        const ModelRule *other = rule_by_id(m, g_array_index(matched, int64_t, j));
                        if (other->group != r->group)
                                next_conflict(n, r, d, other);
                }
        }
        ModelGroup *g = a.group_id ? g_hash_table_lookup(m->groups, &(gint64) { a.group_id }) : NULL;
        if (g)
                g_ptr_array_add(next_list(n->group_devices, g), d);
        /* A tenant's group holds exactly what the tenant holds. */
        const StoreClaim *hold = g_hash_table_lookup(m->holds, d->address_str);
        ModelGroup *tg = hold ? g_hash_table_lookup(m->groups, &(gint64) { hold->group_id }) : NULL;
        if (tg)
                g_ptr_array_add(next_list(n->group_devices, tg), d);
        if (a.conflict)
                blockers_add_conflict(blockers, m, matched);

        ModelGroup *intent = model_intent(m, d->address_str);
        if (intent && intent != g)
                g_ptr_array_add(blockers, g_strdup_printf("Passed through for group %s, but no rule of that group "
                                                          "matches it: add a rule, or release it",
                                                          intent->settings->name));
        if (intent || hold) {
                char *blocker = model_unit_blocker(d);
                if (blocker)
                        g_ptr_array_add(blockers, blocker);
        }
        char *by_hand = model_by_hand_blocker(m, d);
        if (by_hand)
                g_ptr_array_add(blockers, by_hand);
        const char *reason = g_hash_table_lookup(m->bind_errors, d->address_str);
        if (reason)
                g_ptr_array_add(blockers, g_strdup(reason));
        reason = g_hash_table_lookup(m->reboot, d->address_str);
        if (reason)
                g_ptr_array_add(blockers, g_strdup(reason));
        g_ptr_array_add(blockers, NULL);

        const char *holder;
        DeviceState state = device_holding(m, d, &holder);
        model_mark(m->changes->devices, d,
                   device_set_view(d, state, g ? g->path : "/", a.rule_id ? rule_by_id(m, a.rule_id)->path : "/",
                                   (char **) blockers->pdata, holder));
}

/* A device the node lost, as it was when last seen: ids and names when
 * known (an intent stored before schema 3 has none until the device is
 * seen again; vendor 0000 is a name in pci.ids, so zeros get none). */
static Device *ghost_new(Model *m, const DpAddress *a, const StorePassthrough *p) {
        Device *ghost = device_new(a);

        ghost->vendor_id = p->vendor_id;
        ghost->device_id = p->device_id;
        ghost->subsystem_vendor_id = p->subsystem_vendor_id;
        ghost->subsystem_device_id = p->subsystem_device_id;
        ghost->class_code = p->class_code;
        ghost->revision = p->revision;
        if (p->vendor_id)
                names_fill(inventory_names(m->inventory), ghost);
        return ghost;
}

/* Devices the store passes through and the node does not have. */
static void missing_refresh(Model *m) {
        GHashTableIter it;
        gpointer key, value;

        /* Ghosts of devices that are back, or no longer wanted, go. */
        g_hash_table_iter_init(&it, m->missing);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                Device *ghost = value;
                if (inventory_lookup(m->inventory, &ghost->address) || !model_intent(m, ghost->address_str)) {
                        model_mark_removed(m, ghost->path, MODEL_OBJECT_DEVICE);
                        g_hash_table_remove(m->changes->devices, ghost);
                        g_hash_table_iter_remove(&it);
                }
        }
        g_hash_table_iter_init(&it, m->intents);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                DpAddress a;
                if (!address_parse(key, &a) || inventory_lookup(m->inventory, &a))
                        continue;
                char path[DP_DEVICE_PATH_MAX];
                address_to_path(&a, path);
                Device *ghost = g_hash_table_lookup(m->missing, path);
                if (!ghost) {
                        ghost = ghost_new(m, &a, value);
                        g_hash_table_insert(m->missing, ghost->path, ghost);
                        g_ptr_array_add(m->changes->added, g_strdup(ghost->path));
                }
                ModelGroup *g = model_intent(m, key);
                g_autofree char *blocker = g_strdup_printf("%s is passed through for group %s but not present on "
                                                           "this node: put it back, or release it",
                                                           ghost->address_str, g ? g->settings->name : "?");
                char *blockers[] = { blocker, NULL };
                model_mark(m->changes->devices, ghost,
                           device_set_view(ghost, DEVICE_STATE_MISSING, g ? g->path : "/", "/", blockers,
                                           model_holder(m, key) ?: ""));
        }
}

static bool devices_equal(GPtrArray *a, GPtrArray *b) {
        guint la = a ? a->len : 0, lb = b ? b->len : 0;

        if (la != lb)
                return false;
        for (guint i = 0; i < la; i++)
                if (a->pdata[i] != b->pdata[i])
                        return false;
        return true;
}

/* Makes current what next says (NULL: none); returns bit when it changed. */
static guint devices_swap(GPtrArray *current, GPtrArray *next, guint bit) {
        if (devices_equal(current, next))
                return 0;
        g_ptr_array_set_size(current, 0);
        if (next)
                g_ptr_array_extend(current, next, NULL, NULL);
        return bit;
}

static bool conflicts_equal(GArray *a, GArray *b) {
        guint la = a ? a->len : 0, lb = b ? b->len : 0;

        return la == lb && (la == 0 || memcmp(a->data, b->data, la * sizeof(ModelConflict)) == 0);
}

static void groups_swap(Model *m, Next *n) {
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->groups);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                ModelGroup *g = value;
                model_mark(m->changes->groups, g, devices_swap(g->devices, g_hash_table_lookup(n->group_devices, g),
                                                               PROP_BIT(GROUP_PROP_DEVICES)));
                /* Drivers, IOMMU groups and holds may have changed too: every unit. */
                model_group_judge(m, g);
        }
}

static void rules_swap(Model *m, Next *n) {
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->rules);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                ModelRule *r = value;
                GArray *conflicts = g_hash_table_lookup(n->rule_conflicts, r);
                guint bits = devices_swap(r->devices, g_hash_table_lookup(n->rule_devices, r),
                                          PROP_BIT(RULE_PROP_DEVICES));
                if (!conflicts_equal(r->conflicts, conflicts)) {
                        g_array_set_size(r->conflicts, 0);
                        if (conflicts)
                                g_array_append_vals(r->conflicts, conflicts->data, conflicts->len);
                        bits |= PROP_BIT(RULE_PROP_CONFLICTS);
                }
                model_mark(m->changes->rules, r, bits);
        }
}

/* Rules a regex of which gave up in this pass (its match limits: rules.h)
 * and matches nothing from now on; each is told of once. True when any
 * was new: devices matched before it gave up must be assigned again. */
static bool rules_exhausted_report(Model *m) {
        GHashTableIter it;
        gpointer value;
        bool any = false;

        g_hash_table_iter_init(&it, m->rules);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                ModelRule *r = value;
                if (rule_conditions_take_exhausted(r->conditions)) {
                        g_warning("Rule '%s' matches nothing: a regex of it is too costly to match (more than %d "
                                  "steps): simplify it with Rule.Update",
                                  r->settings->name, RULE_REGEX_MATCH_LIMIT);
                        any = true;
                }
        }
        return any;
}

void model_refresh(Model *m) {
        GPtrArray *devices = inventory_sorted(m->inventory);
        g_autoptr(GArray) rules = active_rules(m);
        g_autoptr(GArray) matched = g_array_new(FALSE, FALSE, sizeof(int64_t));
        Next n = {
                .group_devices = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref),
                .rule_devices = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref),
                .rule_conflicts = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify) g_array_unref),
        };

        g_array_sort(rules, assign_rule_compare);
        for (guint i = 0; i < devices->len; i++)
                device_refresh(m, devices->pdata[i], rules, matched, &n);
        missing_refresh(m);
        groups_swap(m, &n);
        rules_swap(m, &n);
        model_attachments_refresh(m, NULL);
        m->changes->refreshed = true;
        g_hash_table_unref(n.group_devices);
        g_hash_table_unref(n.rule_devices);
        g_hash_table_unref(n.rule_conflicts);
        /* At most once more per rule: a regex gives up only once. */
        if (rules_exhausted_report(m))
                model_refresh(m);
}

/* The units of d's IOMMU group judged again, in every group that may
 * count one of its functions: its rule's group, and its tenant's. */
static void units_judge(Model *m, const Device *d) {
        guint n;
        const Device *const *peers = model_unit_peers(&d, &n);

        for (guint i = 0; i < n; i++) {
                const Device *p = peers[i];
                const StoreClaim *hold = g_hash_table_lookup(m->holds, p->address_str);
                ModelGroup *rule_group = model_group_by_path(m, p->group_path);
                ModelGroup *tenant_group = hold ? g_hash_table_lookup(m->groups, &(gint64) { hold->group_id }) : NULL;
                if (rule_group)
                        model_group_judge_device(m, rule_group, p);
                if (tenant_group && tenant_group != rule_group)
                        model_group_judge_device(m, tenant_group, p);
        }
}

/* A machine may be released while a device it held is missing. */
static void ghost_holder_refresh(Model *m, const DpAddress *a) {
        char path[DP_DEVICE_PATH_MAX];

        address_to_path(a, path);
        Device *ghost = g_hash_table_lookup(m->missing, path);
        if (ghost)
                model_mark(m->changes->devices, ghost,
                           device_set_view(ghost, ghost->state, ghost->group_path, ghost->rule_path, ghost->blockers,
                                           model_holder(m, ghost->address_str) ?: ""));
}

void model_refresh_holders(Model *m, GPtrArray *addresses, const char *machine) {
        /* Only who holds these devices changed: no rule is matched again
         * (every device against every rule: most of a full refresh), and
         * only the units of their IOMMU groups are judged
         * again (a unit is not free while another holder has a function
         * of its IOMMU group). */
        for (guint i = 0; i < addresses->len; i++) {
                DpAddress a;
                if (!address_parse(addresses->pdata[i], &a))
                        continue;
                Device *d = inventory_lookup(m->inventory, &a);
                if (!d) {
                        ghost_holder_refresh(m, &a);
                        continue;
                }
                const char *holder;
                DeviceState state = device_holding(m, d, &holder);
                model_mark(m->changes->devices, d,
                           device_set_view(d, state, d->group_path, d->rule_path, d->blockers, holder));
                units_judge(m, d);
        }
        model_attachments_refresh(m, machine);
}

/* ---- how big the whole view is on the bus ---- */

/* An element of an array of strings or paths, or a field of a struct:
 * length, the string, NUL, and after the first the padding to 4 before
 * it. After the first struct of an array, the padding to 8 before one. */
#define ELEMENT_BYTES(s, i) (((i) ? 3 : 0) + 4 + strlen(s) + 1)
#define STRUCT_BYTES(i) ((i) ? 7 : 0)

static size_t strings_bytes(const char *const *v) {
        size_t n = 0;

        for (size_t i = 0; v[i]; i++)
                n += strlen(v[i]);
        return n;
}

static size_t elements_bytes(const char *const *v) {
        size_t n = 0;

        for (size_t i = 0; v && v[i]; i++)
                n += ELEMENT_BYTES(v[i], i);
        return n;
}

static size_t paths_bytes(GPtrArray *objects, size_t path_offset) {
        size_t n = 0;

        for (guint i = 0; i < objects->len; i++)
                n += ELEMENT_BYTES(*(const char **) ((const char *) objects->pdata[i] + path_offset), i);
        return n;
}

/* Nodes: a dict entry each (at most 7 bytes to align it to 8), its name
 * and two u. */
static size_t nodes_bytes(const ModelGroup *g) {
        GHashTableIter it;
        gpointer key;
        size_t n = STRUCT_BYTES(1) + ELEMENT_BYTES(g->node, 1) + 8;

        g_hash_table_iter_init(&it, g->elsewhere);
        while (g_hash_table_iter_next(&it, &key, NULL))
                n += STRUCT_BYTES(1) + ELEMENT_BYTES((const char *) key, 1) + 8;
        return n;
}

static size_t group_bus_size(const ModelGroup *g) {
        const StoreGroup *s = g->settings;

        return strings_bytes((const char *const[]) { g->path, s->name, s->type, s->description ?: "", s->class_name,
                                                     s->tenant ?: "", s->tenant_node ?: "", NULL }) +
               paths_bytes(g->rules, offsetof(ModelRule, path)) + paths_bytes(g->devices, offsetof(Device, path)) +
               nodes_bytes(g);
}

static size_t rule_bus_size(const ModelRule *r) {
        size_t n = strings_bytes((const char *const[]) { r->path, r->settings->name, r->group->path,
                                                         r->settings->node ?: "", NULL }) +
                   paths_bytes(r->devices, offsetof(Device, path));

        for (guint i = 0; i < r->settings->conditions->len; i++) {
                const StoreCondition *c = r->settings->conditions->pdata[i];
                n += STRUCT_BYTES(i) + elements_bytes((const char *const[]) { c->field, c->op, c->value, NULL });
        }
        for (guint i = 0; i < r->conflicts->len; i++) {
                const ModelConflict *c = &g_array_index(r->conflicts, ModelConflict, i);
                n += STRUCT_BYTES(i) + elements_bytes((const char *const[]) { c->device->path, c->other->path, NULL });
        }
        return n;
}

static size_t attachment_bus_size(const ModelAttachment *a) {
        const StoreAttachment *s = a->settings;

        return strings_bytes((const char *const[]) { a->path, s->name, s->machine, s->tenant, s->type,
                                                     s->description, a->group ? a->group->path : "/", a->state,
                                                     a->state_reason, a->machine_uuid, NULL }) +
               paths_bytes(a->devices, offsetof(Device, path)) + elements_bytes((const char *const *) s->macs) +
               elements_bytes((const char *const *) a->device_macs);
}

/* Each kind: its objects' fixed bytes, and their strings and elements. */
static size_t table_bus_size(GHashTable *objects, size_t fixed, size_t (*size)(gconstpointer object)) {
        GHashTableIter it;
        gpointer value;
        size_t n = 0;

        g_hash_table_iter_init(&it, objects);
        while (g_hash_table_iter_next(&it, NULL, &value))
                n += fixed + size(value);
        return n;
}

size_t model_bus_size(Model *m, const ModelBusBytes *fixed, ModelBusBytes *kinds) {
        GPtrArray *devices = inventory_sorted(m->inventory);
        ModelBusBytes k = {
                .device = table_bus_size(m->missing, fixed->device, (size_t (*)(gconstpointer)) device_bus_size),
                .group = table_bus_size(m->groups, fixed->group, (size_t (*)(gconstpointer)) group_bus_size),
                .rule = table_bus_size(m->rules, fixed->rule, (size_t (*)(gconstpointer)) rule_bus_size),
                .attachment = table_bus_size(m->attachments, fixed->attachment,
                                             (size_t (*)(gconstpointer)) attachment_bus_size),
        };

        for (guint i = 0; i < devices->len; i++)
                k.device += fixed->device + device_bus_size(devices->pdata[i]);
        if (kinds)
                *kinds = k;
        return k.device + k.group + k.rule + k.attachment;
}
