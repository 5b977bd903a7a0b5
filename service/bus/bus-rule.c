/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-rule.h"

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-group.h"
#include "mutation.h"
#include "settings.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelRule *r = userdata;

        if (g_str_equal(property, "Name"))
                return sd_bus_message_append_basic(reply, 's', r->settings->name);
        if (g_str_equal(property, "Group"))
                return sd_bus_message_append_basic(reply, 'o', r->group->path);
        if (g_str_equal(property, "Node"))
                return sd_bus_message_append_basic(reply, 's', r->settings->node ?: "");
        return sd_bus_message_append(reply, "b", r->settings->enabled);
}

static int property_get_conditions(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelRule *r = userdata;
        int k = sd_bus_message_open_container(reply, 'a', "(sss)");

        for (guint i = 0; k >= 0 && i < r->settings->conditions->len; i++) {
                const StoreCondition *c = r->settings->conditions->pdata[i];
                k = sd_bus_message_append(reply, "(sss)", c->field, c->op, c->value);
        }
        return k < 0 ? k : sd_bus_message_close_container(reply);
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelRule *r = userdata;
        return bus_append_object_paths(reply, r->devices, offsetof(Device, path));
}

static int property_get_conflicts(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelRule *r = userdata;
        int k = sd_bus_message_open_container(reply, 'a', "(oo)");

        for (guint i = 0; k >= 0 && i < r->conflicts->len; i++) {
                const ModelConflict *c = &g_array_index(r->conflicts, ModelConflict, i);
                k = sd_bus_message_append(reply, "(oo)", c->device->path, c->other->path);
        }
        return k < 0 ? k : sd_bus_message_close_container(reply);
}

int bus_rule_settings_check(const BusSettings *s, bool creating, GPtrArray **conditions, sd_bus_error *error) {
        g_autoptr(GError) e = NULL;

        if ((s->present & BUS_SETTING_NAME) && (*s->name || !creating) && !settings_name_valid("rule", s->name, &e))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        if ((s->present & BUS_SETTING_NODE) && !settings_node_valid(s->node, &e))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        if (!(s->present & BUS_SETTING_CONDITIONS)) {
                if (creating)
                        return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                                "A rule needs Conditions: (field, operator, value), e.g. "
                                                "(\"vendor\", \"eq\", \"10de\")");
                return 0;
        }
        if (s->conditions->len == 0)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                        "A rule needs at least one condition: a rule without any would match nothing");
        *conditions = model_conditions_compile(s->conditions, &e);
        if (!*conditions)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        return 0;
}

void bus_rule_args_clear(BusRuleArgs *a) {
        bus_settings_clear(&a->settings);
        g_clear_pointer(&a->conditions, g_ptr_array_unref);
        g_clear_pointer(&a->next, store_rule_free);
}

bool bus_rule_ask(MutationCall *c, const ModelRule *r, ModelGroup *target, MutationAsk *ask, GError **error) {
        BusRuleArgs *a = c->args;
        g_autoptr(GPtrArray) scope = model_rule_scope(c->d->model, r, target, a->next, a->conditions);

        ask->actions[0] = "org.devpass1.manage-groups";
        for (guint i = 0; i < scope->len; i++)
                mutation_ask_group(ask, ((ModelGroup *) scope->pdata[i])->settings->name);
        return model_rule_check(c->d->model, r, a->next, error);
}

/* ---- Update ---- */

static int update_parse(MutationCall *c, sd_bus_error *error) {
        BusRuleArgs *a = c->args;
        int k;

        if ((k = bus_settings_read(c->m, BUS_SETTINGS_RULE | BUS_SETTING_GROUP, &a->settings, error)) < 0 ||
            (k = bus_rule_settings_check(&a->settings, false, &a->conditions, error)) < 0)
                return k;
        return 0;
}

/* The rule as the call would leave it, in a->next (and its conditions
 * compiled in a->conditions); its group in *target. */
static bool update_next(MutationCall *c, ModelGroup **target, GError **error) {
        BusRuleArgs *a = c->args;
        const ModelRule *r = c->object;
        const BusSettings *s = &a->settings;

        *target = r->group;
        if ((s->present & BUS_SETTING_GROUP) && !(*target = model_group_arg(c->d->model, s->group, error)))
                return false;
        g_clear_pointer(&a->next, store_rule_free);
        a->next = store_rule_new();
        a->next->name = g_strdup(s->present & BUS_SETTING_NAME ? s->name : r->settings->name);
        a->next->node = g_strdup(s->present & BUS_SETTING_NODE ? s->node : r->settings->node);
        a->next->enabled = s->present & BUS_SETTING_ENABLED ? s->enabled : r->settings->enabled;
        GPtrArray *from = s->present & BUS_SETTING_CONDITIONS ? s->conditions : r->settings->conditions;
        for (guint i = 0; i < from->len; i++) {
                const StoreCondition *cond = from->pdata[i];
                g_ptr_array_add(a->next->conditions, store_condition_new(cond->field, cond->op, cond->value));
        }
        if (!a->conditions)
                /* Unchanged; NULL only for a stored rule a newer devpass wrote. */
                a->conditions = model_conditions_compile(a->next->conditions, NULL) ?: g_ptr_array_new();
        return true;
}

static bool update_check(MutationCall *c, MutationAsk *ask, GError **error) {
        ModelGroup *target;

        return update_next(c, &target, error) && bus_rule_ask(c, c->object, target, ask, error);
}

static bool update_apply(MutationCall *c, GError **error) {
        BusRuleArgs *a = c->args;
        ModelRule *r = c->object;
        ModelGroup *target;

        if (!update_next(c, &target, error))
                return false;
        mutation_log(c, "Changed rule '%s' of group '%s'", r->settings->name, target->settings->name);
        return model_rule_update(c->d->model, r, target, g_steal_pointer(&a->next), g_steal_pointer(&a->conditions),
                                 error);
}

static const MutationSpec update_spec = {
        .member = "Update",
        .args_size = sizeof(BusRuleArgs),
        .args_clear = (void (*)(void *)) bus_rule_args_clear,
        .parse = update_parse,
        .check = update_check,
        .apply = update_apply,
};

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&update_spec, m, userdata, error);
}

/* ---- Delete ---- */

static bool delete_check(MutationCall *c, MutationAsk *ask, GError **error) {
        ModelRule *r = c->object;
        g_autoptr(GPtrArray) scope = model_rule_scope(c->d->model, r, r->group, NULL, NULL);

        ask->actions[0] = "org.devpass1.manage-groups";
        for (guint i = 0; i < scope->len; i++)
                mutation_ask_group(ask, ((ModelGroup *) scope->pdata[i])->settings->name);
        return true;
}

static bool delete_apply(MutationCall *c, GError **error) {
        ModelRule *r = c->object;

        mutation_log(c, "Deleted rule '%s' of group '%s'", r->settings->name, r->group->settings->name);
        return model_rule_delete(c->d->model, r, error);
}

static const MutationSpec delete_spec = {
        .member = "Delete",
        .check = delete_check,
        .apply = delete_apply,
};

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&delete_spec, m, userdata, error);
}

const sd_bus_vtable bus_rule_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Group", "o", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Node", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Conditions", "a(sss)", property_get_conditions, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Devices", "ao", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Conflicts", "a(oo)", property_get_conflicts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Delete", NULL, NULL, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const char **bus_rule_prop_names(unsigned bits) {
        static const char *const names[_RULE_PROP_MAX] = {
                "Name", "Group", "Node", "Conditions", "Enabled", "Devices", "Conflicts",
        };
        return bus_prop_names(names, _RULE_PROP_MAX, bits);
}

static int rule_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        Service *d = userdata;
        ModelRule *r = model_rule_by_path(d->model, path);

        /* Not there (gone, or never): sd-bus answers UnknownObject, as for
         * any path. */
        *found = r;
        return r != NULL;
}

static int rule_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        Service *d = userdata;
        *ret_nodes = model_rule_paths(d->model);
        return 0;
}

const BusKind bus_rule_kind = {
        DP_RULES_PATH, DP_RULE_INTERFACE, bus_rule_vtable, rule_find, rule_enumerate,
};
