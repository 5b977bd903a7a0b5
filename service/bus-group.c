/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-group.h"

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-settings.h"
#include "settings.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelGroup *g = userdata;
        const StoreGroup *s = g->settings;

        if (g_str_equal(property, "Name"))
                return sd_bus_message_append(reply, "s", s->name);
        if (g_str_equal(property, "Type"))
                return sd_bus_message_append(reply, "s", s->type);
        if (g_str_equal(property, "Description"))
                return sd_bus_message_append(reply, "s", s->description ?: "");
        if (g_str_equal(property, "Class"))
                return sd_bus_message_append(reply, "s", s->class_name);
        if (g_str_equal(property, "Tenant"))
                return sd_bus_message_append(reply, "s", s->tenant ?: "");
        if (g_str_equal(property, "TenantNode"))
                return sd_bus_message_append(reply, "s", s->tenant_node ?: "");
        if (g_str_equal(property, "Total"))
                return sd_bus_message_append(reply, "u", g->total);
        return sd_bus_message_append(reply, "u", g->free);
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

/* ---- Update ---- */

typedef struct {
        Daemon *d;
        char *path;
        BusSettings settings;
        bool release_asked;       /* Delete: polkit was asked for make-passthrough too */
} Request;

static Request *request_new(Daemon *d, const char *path) {
        Request *q = g_new0(Request, 1);
        q->d = d;
        q->path = g_strdup(path);
        return q;
}

static void request_free(Request *q) {
        bus_settings_clear(&q->settings);
        g_free(q->path);
        g_free(q);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Request, request_free);

/* After polkit answered: the group, or NULL when the call is refused or
 * the group went meanwhile (and the error is sent). */
static ModelGroup *request_group(Request *q, sd_bus_message *m, bool allowed, const char *action,
                                 const char *reason) {
        if (auth_refused(m, allowed, action, reason))
                return NULL;
        ModelGroup *g = model_group_by_path(q->d->model, q->path);
        if (!g)
                (void) sd_bus_reply_method_errorf(m, DP_ERROR_NOT_FOUND, "Group %s was deleted meanwhile", q->path);
        return g;
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

static void on_update_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        ModelGroup *g = request_group(q, m, allowed, action, reason);

        if (!g)
                return;
        StoreGroup next = *g->settings;
#define TAKE(bit, field) if (q->settings.present & (bit)) next.field = q->settings.field
        TAKE(BUS_SETTING_NAME, name);
        TAKE(BUS_SETTING_TYPE, type);
        TAKE(BUS_SETTING_DESCRIPTION, description);
        TAKE(BUS_SETTING_CLASS, class_name);
#undef TAKE
        daemon_reply_change(q->d, m, model_group_update(q->d->model, g, &next, &e), &e);
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ModelGroup *g = userdata;
        Daemon *d = daemon_of_call(m);
        g_autoptr(Request) q = request_new(d, g->path);
        int r;

        if ((r = bus_settings_read(m, BUS_SETTINGS_GROUP, &q->settings, error)) < 0 ||
            (r = bus_group_settings_check(&q->settings, error)) < 0)
                return r;
        if ((q->settings.present & BUS_SETTING_TYPE) && !g_str_equal(q->settings.type, g->settings->type) &&
            g->total > 0)
                return sd_bus_error_setf(error, DP_ERROR_BUSY,
                                         "Group %s has devices: its type can only change while it has none",
                                         g->settings->name);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-groups", NULL },
                   (const char *const[]) { "group", g->settings->name, "node", d->config.node, NULL },
                   on_update_auth, g_steal_pointer(&q));
        return 1;
}

/* ---- Delete ---- */

typedef struct {
        Daemon *d;
        sd_bus_message *m;
} Pending;

static void on_released(GPtrArray *results, void *userdata) {
        Pending *p = userdata;
        g_autofree char *failed = NULL;

        daemon_bind_results(p->d, results, &failed);
        g_ptr_array_unref(results);
        daemon_emit(p->d);
        if (failed)
                sd_bus_reply_method_errorf(p->m, DP_ERROR_FAILED, "The group is deleted, but: %s", failed);
        else
                sd_bus_reply_method_return(p->m, NULL);
        sd_bus_message_unref(p->m);
        g_free(p);
}

static void on_delete_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        ModelGroup *g = request_group(q, m, allowed, action, reason);

        if (!g)
                return;
        g_autoptr(GPtrArray) held = bus_group_intents(q->d, g);
        /* Passed through only now: releasing them was not authorized. */
        if (held->len > 0 && !q->release_asked) {
                sd_bus_reply_method_errorf(m, DP_ERROR_BUSY, "Devices of group %s were passed through while "
                                           "authorization was asked: call again", g->settings->name);
                return;
        }
        if (!model_group_delete(q->d->model, g, q->settings.release, &e)) {
                bus_reply_gerror(m, e);
                return;
        }
        daemon_emit(q->d);
        /* Missing devices have no driver to give back. */
        for (guint i = held->len; i-- > 0;) {
                DpAddress a;
                if (!address_parse(held->pdata[i], &a) || !inventory_lookup(q->d->inventory, &a))
                        g_ptr_array_remove_index(held, i);
        }
        if (held->len == 0) {
                sd_bus_reply_method_return(m, NULL);
                return;
        }
        Pending *p = g_new0(Pending, 1);
        p->d = q->d;
        p->m = sd_bus_message_ref(m);
        g_ptr_array_add(held, NULL);
        binder_bind(q->d->binder, (char **) held->pdata, BIND_TO_HOST, on_released, p);
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ModelGroup *g = userdata;
        Daemon *d = daemon_of_call(m);
        g_autoptr(Request) q = request_new(d, g->path);
        int r;

        if ((r = bus_settings_read(m, BUS_SETTING_RELEASE, &q->settings, error)) < 0)
                return r;
        g_autoptr(GPtrArray) held = bus_group_intents(d, g);
        if (held->len > 0 && !q->settings.release)
                return sd_bus_error_setf(error, DP_ERROR_BUSY,
                                         "Group %s still has %u device%s passed through (%s, ...): release them "
                                         "first, or delete it with Release",
                                         g->settings->name, held->len, held->len == 1 ? "" : "s",
                                         (char *) held->pdata[0]);
        const char *actions[] = { "org.devpass1.manage-groups",
                                  held->len > 0 ? "org.devpass1.make-passthrough" : NULL, NULL };
        q->release_asked = held->len > 0;
        auth_check(d->auth, m, actions, (const char *const[]) { "group", g->settings->name, "node", d->config.node, NULL },
                   on_delete_auth, g_steal_pointer(&q));
        return 1;
}

GPtrArray *bus_group_intents(Daemon *d, ModelGroup *g) {
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
        };
        return bus_prop_names(names, _GROUP_PROP_MAX, bits);
}

static int group_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        Daemon *d = userdata;
        char quoted[80];

        ModelGroup *g = model_group_by_path(d->model, path);
        if (g) {
                *found = g;
                return 1;
        }
        if (!g_str_has_prefix(path, DP_GROUPS_PATH "/"))
                return 0;
        return sd_bus_error_setf(error, DP_ERROR_NOT_FOUND, "No group at %s: 'devpassctl groups' lists them",
                                 bus_quote(path, quoted));
}

static int group_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        Daemon *d = userdata;
        *ret_nodes = model_group_paths(d->model);
        return 0;
}

int bus_group_register(sd_bus *bus, Daemon *d) {
        int r;

        if ((r = sd_bus_add_fallback_vtable(bus, NULL, DP_GROUPS_PATH, DP_GROUP_INTERFACE, bus_group_vtable,
                                            group_find, d)) < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, DP_GROUPS_PATH, group_enumerate, d);
}
