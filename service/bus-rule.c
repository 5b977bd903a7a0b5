/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-rule.h"

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-group.h"
#include "settings.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelRule *r = userdata;

        if (g_str_equal(property, "Name"))
                return sd_bus_message_append(reply, "s", r->settings->name);
        if (g_str_equal(property, "Group"))
                return sd_bus_message_append(reply, "o", r->group->path);
        if (g_str_equal(property, "Node"))
                return sd_bus_message_append(reply, "s", r->settings->node ?: "");
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

/* After polkit answered: the rule, or NULL when the call is refused or the
 * rule went meanwhile (and the error is sent). */
static ModelRule *request_rule(Daemon *d, const char *path, sd_bus_message *m, bool allowed, const char *action,
                               const char *reason) {
        if (auth_refused(m, allowed, action, reason))
                return NULL;
        ModelRule *r = model_rule_by_path(d->model, path);
        if (!r)
                (void) sd_bus_reply_method_errorf(m, DP_ERROR_NOT_FOUND, "Rule %s was deleted meanwhile", path);
        return r;
}

/* A group named by its path in a call. */
ModelGroup *bus_rule_group_arg(Daemon *d, const char *path, sd_bus_error *error) {
        char quoted[80];
        ModelGroup *g = model_group_by_path(d->model, path);

        if (!g)
                sd_bus_error_setf(error, DP_ERROR_NOT_FOUND, "No group at %s: 'devpassctl groups' lists them",
                                  bus_quote(path, quoted));
        return g;
}

typedef struct {
        Daemon *d;
        char *path;
        BusSettings settings;
        GPtrArray *conditions;
} Request;

static void request_free(Request *q) {
        bus_settings_clear(&q->settings);
        if (q->conditions)
                g_ptr_array_unref(q->conditions);
        g_free(q->path);
        g_free(q);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Request, request_free);

static void on_update_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        ModelRule *r;
        ModelGroup *g;

        if (!(r = request_rule(q->d, q->path, m, allowed, action, reason)))
                return;
        g = r->group;
        if ((q->settings.present & BUS_SETTING_GROUP) && !(g = bus_rule_group_arg(q->d, q->settings.group, &error))) {
                sd_bus_reply_method_error(m, &error);
                sd_bus_error_free(&error);
                return;
        }
        StoreRule *next = store_rule_new();
        const BusSettings *s = &q->settings;
        next->name = g_strdup(s->present & BUS_SETTING_NAME ? s->name : r->settings->name);
        next->node = g_strdup(s->present & BUS_SETTING_NODE ? s->node : r->settings->node);
        next->enabled = s->present & BUS_SETTING_ENABLED ? s->enabled : r->settings->enabled;
        GPtrArray *from = s->present & BUS_SETTING_CONDITIONS ? s->conditions : r->settings->conditions;
        for (guint i = 0; i < from->len; i++) {
                const StoreCondition *c = from->pdata[i];
                g_ptr_array_add(next->conditions, store_condition_new(c->field, c->op, c->value));
        }
        GPtrArray *conditions = q->conditions ? g_steal_pointer(&q->conditions) :
                                                model_conditions_compile(next->conditions, NULL);
        if (!conditions)  /* a stored rule a newer devpass wrote */
                conditions = g_ptr_array_new();
        daemon_reply_change(q->d, m, model_rule_update(q->d->model, r, g, next, conditions, &e), &e);
}

static const char *const *rule_details(Daemon *d, const ModelRule *r, const char **buf) {
        buf[0] = "group";
        buf[1] = r->group->settings->name;
        buf[2] = "rule";
        buf[3] = r->settings->name;
        buf[4] = "node";
        buf[5] = d->config.node;
        buf[6] = NULL;
        return buf;
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ModelRule *r = userdata;
        Daemon *d = daemon_of_call(m);
        g_autoptr(Request) q = g_new0(Request, 1);
        const char *details[7];
        int k;

        q->d = d;
        q->path = g_strdup(r->path);
        if ((k = bus_settings_read(m, BUS_SETTINGS_RULE | BUS_SETTING_GROUP, &q->settings, error)) < 0 ||
            (k = bus_rule_settings_check(&q->settings, false, &q->conditions, error)) < 0)
                return k;
        if ((q->settings.present & BUS_SETTING_GROUP) && !bus_rule_group_arg(d, q->settings.group, error))
                return -ENOENT;
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-groups", NULL },
                   rule_details(d, r, details), on_update_auth, g_steal_pointer(&q));
        return 1;
}

static void on_delete_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        ModelRule *r;

        if (!(r = request_rule(q->d, q->path, m, allowed, action, reason)))
                return;
        daemon_reply_change(q->d, m, model_rule_delete(q->d->model, r, &e), &e);
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ModelRule *r = userdata;
        Daemon *d = daemon_of_call(m);
        Request *q = g_new0(Request, 1);
        const char *details[7];

        q->d = d;
        q->path = g_strdup(r->path);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-groups", NULL },
                   rule_details(d, r, details), on_delete_auth, q);
        return 1;
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
        Daemon *d = userdata;
        char quoted[80];

        ModelRule *r = model_rule_by_path(d->model, path);
        if (r) {
                *found = r;
                return 1;
        }
        if (!g_str_has_prefix(path, DP_RULES_PATH "/"))
                return 0;
        return sd_bus_error_setf(error, DP_ERROR_NOT_FOUND, "No rule at %s: 'devpassctl rules' lists them",
                                 bus_quote(path, quoted));
}

static int rule_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        Daemon *d = userdata;
        *ret_nodes = model_rule_paths(d->model);
        return 0;
}

int bus_rule_register(sd_bus *bus, Daemon *d) {
        int r;

        if ((r = sd_bus_add_fallback_vtable(bus, NULL, DP_RULES_PATH, DP_RULE_INTERFACE, bus_rule_vtable, rule_find,
                                            d)) < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, DP_RULES_PATH, rule_enumerate, d);
}
