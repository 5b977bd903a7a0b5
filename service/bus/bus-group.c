/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-group.h"

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-settings.h"
#include "mutation.h"
#include "settings.h"
#include "text.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelGroup *g = userdata;
        const StoreGroup *s = g->settings;

        if (g_str_equal(property, "Name"))
                return sd_bus_message_append_basic(reply, 's', s->name);
        if (g_str_equal(property, "Type"))
                return sd_bus_message_append_basic(reply, 's', s->type);
        if (g_str_equal(property, "Description"))
                return sd_bus_message_append_basic(reply, 's', s->description ?: "");
        if (g_str_equal(property, "Class"))
                return sd_bus_message_append_basic(reply, 's', s->class_name);
        if (g_str_equal(property, "Tenant"))
                return sd_bus_message_append_basic(reply, 's', s->tenant ?: "");
        if (g_str_equal(property, "TenantNode"))
                return sd_bus_message_append_basic(reply, 's', s->tenant_node ?: "");
        uint32_t total, free;
        model_group_units_all(g, &total, &free);
        return sd_bus_message_append_basic(reply, 'u', g_str_equal(property, "Total") ? &total : &free);
}

static int append_units(sd_bus_message *reply, const char *node, uint32_t total, uint32_t free) {
        int r = sd_bus_message_open_container(reply, 'e', "s(uu)");
        if (r < 0 || (r = sd_bus_message_append_basic(reply, 's', node)) < 0 ||
            (r = sd_bus_message_open_container(reply, 'r', "uu")) < 0 ||
            (r = sd_bus_message_append_basic(reply, 'u', &total)) < 0 ||
            (r = sd_bus_message_append_basic(reply, 'u', &free)) < 0 || (r = sd_bus_message_close_container(reply)) < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* This node's units, then the other nodes' by name. */
static int property_get_nodes(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelGroup *g = userdata;
        g_autoptr(GPtrArray) nodes = text_keys_sorted(g->elsewhere);
        int r = sd_bus_message_open_container(reply, 'a', "{s(uu)}");

        if (r < 0 || (r = append_units(reply, g->node, g->total, g->free)) < 0)
                return r;
        for (guint i = 0; i < nodes->len; i++) {
                const ModelUnits *u = g_hash_table_lookup(g->elsewhere, nodes->pdata[i]);
                if ((r = append_units(reply, nodes->pdata[i], u->total, u->free)) < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

int bus_append_object_paths(sd_bus_message *reply, GPtrArray *objects, size_t path_offset) {
        int r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (guint i = 0; i < objects->len; i++) {
                const char *path = *(const char **) ((const char *) objects->pdata[i] + path_offset);
                if ((r = sd_bus_message_append_basic(reply, 'o', path)) < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_rules(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelGroup *g = userdata;
        return bus_append_object_paths(reply, g->rules, offsetof(ModelRule, path));
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelGroup *g = userdata;
        return bus_append_object_paths(reply, g->devices, offsetof(Device, path));
}

int bus_group_settings_check(const BusSettings *s, sd_bus_error *error) {
        g_autoptr(GError) e = NULL;

        if (((s->present & BUS_SETTING_NAME) && !settings_name_valid("group", s->name, &e)) ||
            ((s->present & BUS_SETTING_TYPE) && !settings_group_type_valid(s->type, &e)) ||
            ((s->present & BUS_SETTING_CLASS) && !settings_group_class_valid(s->class_name, &e)) ||
            ((s->present & BUS_SETTING_DESCRIPTION) && !settings_description_valid(s->description, &e)))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        return 0;
}

/* ---- Update ---- */

static int update_parse(MutationCall *c, sd_bus_error *error) {
        BusSettings *s = c->args;
        int r;

        if ((r = bus_settings_read(c->m, BUS_SETTINGS_GROUP, s, error)) < 0)
                return r;
        return bus_group_settings_check(s, error);
}

/* The group as the call would leave it (strings borrowed). */
static StoreGroup update_next(const ModelGroup *g, const BusSettings *s) {
        StoreGroup next = *g->settings;

#define TAKE(bit, field) if (s->present & (bit)) next.field = s->field
        TAKE(BUS_SETTING_NAME, name);
        TAKE(BUS_SETTING_TYPE, type);
        TAKE(BUS_SETTING_DESCRIPTION, description);
        TAKE(BUS_SETTING_CLASS, class_name);
#undef TAKE
        return next;
}

static bool update_check(MutationCall *c, MutationAsk *ask, GError **error) {
        ModelGroup *g = c->object;
        StoreGroup next = update_next(g, c->args);

        ask->actions[0] = "org.devpass1.manage-groups";
        mutation_ask_group(ask, g->settings->name);
        mutation_ask_group(ask, next.name);
        return model_group_update_check(c->d->model, g, &next, error);
}

static bool update_apply(MutationCall *c, GError **error) {
        ModelGroup *g = c->object;
        StoreGroup next = update_next(g, c->args);

        mutation_log(c, "Changed group '%s'", g->settings->name);
        return model_group_update(c->d->model, g, &next, error);
}

static const MutationSpec update_spec = {
        .member = "Update",
        .args_size = sizeof(BusSettings),
        .args_clear = (void (*)(void *)) bus_settings_clear,
        .parse = update_parse,
        .check = update_check,
        .apply = update_apply,
};

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&update_spec, m, userdata, error);
}

/* ---- Delete ---- */

static int delete_parse(MutationCall *c, sd_bus_error *error) {
        return bus_settings_read(c->m, BUS_SETTING_RELEASE, c->args, error);
}

static bool delete_check(MutationCall *c, MutationAsk *ask, GError **error) {
        ModelGroup *g = c->object;
        const BusSettings *s = c->args;
        g_autoptr(GPtrArray) held = bus_group_intents(c->d, g);

        /* Releasing its devices changes their drivers: that too is asked. */
        ask->actions[0] = "org.devpass1.manage-groups";
        ask->actions[1] = held->len > 0 && s->release ? "org.devpass1.make-passthrough" : NULL;
        mutation_ask_group(ask, g->settings->name);
        for (guint i = 0; i < held->len; i++)
                mutation_ask_device(ask, held->pdata[i]);
        return model_group_delete_check(c->d->model, g, s->release, error);
}

static bool delete_apply(MutationCall *c, GError **error) {
        ModelGroup *g = c->object;
        const BusSettings *s = c->args;
        g_autoptr(GPtrArray) held = bus_group_intents(c->d, g);

        mutation_log(c, "Deleted group '%s'%s", g->settings->name, held->len ? ", its devices given back" : "");
        if (!model_group_delete(c->d->model, g, s->release, error))
                return false;
        /* Missing devices have no driver to give back. */
        for (guint i = held->len; i-- > 0;) {
                DpAddress a;
                if (!address_parse(held->pdata[i], &a) || !inventory_lookup(c->d->inventory, &a))
                        g_ptr_array_remove_index(held, i);
        }
        if (held->len > 0) {
                g_ptr_array_add(held, NULL);
                mutation_effect_bind(c, (char **) held->pdata, BIND_TO_HOST);
        }
        return true;
}

static bool delete_released(MutationCall *c, GPtrArray *results, GError **error) {
        g_autofree char *failed = NULL;

        service_bind_results(c->d, results, &failed);
        if (failed)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "The group is deleted, but: %s", failed),
                       false;
        return true;
}

static const MutationSpec delete_spec = {
        .member = "Delete",
        .args_size = sizeof(BusSettings),
        .args_clear = (void (*)(void *)) bus_settings_clear,
        .parse = delete_parse,
        .check = delete_check,
        .apply = delete_apply,
        .effect_done = delete_released,
};

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&delete_spec, m, userdata, error);
}

GPtrArray *bus_group_intents(Service *d, ModelGroup *g) {
        g_autoptr(GPtrArray) all = model_intent_addresses(d->model);
        GPtrArray *held = g_ptr_array_new_with_free_func(g_free);

        for (guint i = 0; i < all->len; i++)
                if (model_intent(d->model, all->pdata[i]) == g)
                        g_ptr_array_add(held, g_strdup(all->pdata[i]));
        return held;
}

const sd_bus_vtable bus_group_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Type", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Description", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Class", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Tenant", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TenantNode", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Rules", "ao", property_get_rules, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Devices", "ao", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Total", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Free", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Nodes", "a{s(uu)}", property_get_nodes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_delete,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const char **bus_prop_names(const char *const *table, unsigned n_table, unsigned bits) {
        const char **names = g_new0(const char *, n_table + 1);
        size_t n = 0;
        for (unsigned p = 0; p < n_table; p++)
                if (bits & PROP_BIT(p))
                        names[n++] = table[p];
        return names;
}

const char **bus_group_prop_names(unsigned bits) {
        static const char *const names[_GROUP_PROP_MAX] = {
                "Name", "Type", "Description", "Class", "Tenant", "TenantNode", "Rules", "Devices", "Total", "Free",
                "Nodes",
        };
        return bus_prop_names(names, _GROUP_PROP_MAX, bits);
}

static int group_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        Service *d = userdata;
        ModelGroup *g = model_group_by_path(d->model, path);

        /* Not there (gone, or never): sd-bus answers UnknownObject, as for
         * any path. */
        *found = g;
        return g != NULL;
}

static int group_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        Service *d = userdata;
        *ret_nodes = model_group_paths(d->model);
        return 0;
}

const BusKind bus_group_kind = {
        DP_GROUPS_PATH, DP_GROUP_INTERFACE, bus_group_vtable, group_find, group_enumerate,
};
