/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus face of attachments: Manager.CreateAttachment(s) and the
 * org.devpass1.Attachment objects. */
#include "bus-attachment.h"

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-group.h"
#include "settings.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelAttachment *a = userdata;
        const StoreAttachment *s = a->settings;

        if (g_str_equal(property, "Name"))
                return sd_bus_message_append(reply, "s", s->name);
        if (g_str_equal(property, "Machine"))
                return sd_bus_message_append(reply, "s", s->machine);
        if (g_str_equal(property, "Tenant"))
                return sd_bus_message_append(reply, "s", s->tenant);
        if (g_str_equal(property, "Type"))
                return sd_bus_message_append(reply, "s", s->type);
        if (g_str_equal(property, "Description"))
                return sd_bus_message_append(reply, "s", s->description);
        if (g_str_equal(property, "Group"))
                return sd_bus_message_append(reply, "o", a->group ? a->group->path : "/");
        if (g_str_equal(property, "Count"))
                return sd_bus_message_append(reply, "u", s->count);
        if (g_str_equal(property, "Macs"))
                return sd_bus_message_append_strv(reply, s->macs ?: (char *[]) { NULL });
        if (g_str_equal(property, "Optional"))
                return sd_bus_message_append(reply, "b", s->optional);
        if (g_str_equal(property, "State"))
                return sd_bus_message_append(reply, "s", a->state);
        if (g_str_equal(property, "StateReason"))
                return sd_bus_message_append(reply, "s", a->state_reason);
        if (g_str_equal(property, "DeviceMacs"))
                return sd_bus_message_append_strv(reply, a->device_macs ?: (char *[]) { NULL });
        return bus_append_object_paths(reply, a->devices, offsetof(Device, path));
}

/* Builds a machine's attachment from its settings, checking everything a
 * caller could get wrong; base: the attachment being updated, or NULL. */
int bus_attachment_settings(Daemon *d, const char *machine, const BusSettings *s, const StoreAttachment *base,
                            StoreAttachment **ret, sd_bus_error *error) {
        g_autoptr(StoreAttachment) a = g_new0(StoreAttachment, 1);
        g_autoptr(GError) e = NULL;
        char quoted[80];

        if (!settings_machine_valid("machine", machine, &e) ||
            ((s->present & BUS_SETTING_TENANT) && *s->tenant && !settings_machine_valid("tenant", s->tenant, &e)) ||
            ((s->present & BUS_SETTING_NAME) && (*s->name || base) && !settings_name_valid("attachment", s->name, &e)) ||
            ((s->present & BUS_SETTING_DESCRIPTION) && !settings_description_valid(s->description, &e)))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        const char *group = s->present & BUS_SETTING_GROUP ? s->group : NULL;
        ModelGroup *g = group ? model_group_by_path(d->model, group) : base ? model_attachment_group(d->model, base) : NULL;
        if (!g)
                return group ? sd_bus_error_setf(error, DP_ERROR_NOT_FOUND, "No group at %s: 'devpassctl groups' "
                                                 "lists them", bus_quote(group, quoted))
                             : sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "The attachment of machine %s "
                                                 "needs a Group to draw its devices from", machine);

        a->machine = g_strdup(machine);
        a->group_id = g->id;
        a->name = g_strdup(s->present & BUS_SETTING_NAME ? s->name : base ? base->name : "");
        a->description = g_strdup(s->present & BUS_SETTING_DESCRIPTION ? s->description : base ? base->description : "");
        a->tenant = g_strdup(s->present & BUS_SETTING_TENANT ? s->tenant : base ? base->tenant : "");
        a->type = g_strdup(s->present & BUS_SETTING_TYPE ? s->type : g->settings->type);
        a->count = s->present & BUS_SETTING_COUNT ? s->count : base ? base->count : 1;
        a->optional = s->present & BUS_SETTING_OPTIONAL ? s->optional : base && base->optional;
        a->generation = 1;

        if (!g_str_equal(a->type, g->settings->type))
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "Type %s does not match group %s, which "
                                         "is %s", bus_quote(a->type, quoted), g->settings->name, g->settings->type);
        if (!g_str_equal(a->tenant, g->settings->tenant ?: ""))
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "Group %s is %s%s%s: a machine %s%s "
                                         "cannot draw from it", g->settings->name,
                                         *g->settings->tenant ? "tenant " : "the host's",
                                         g->settings->tenant, *g->settings->tenant ? "'s" : "",
                                         *a->tenant ? "of tenant " : "of the host", a->tenant);
        if (a->count < 1 || a->count > g->total)
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "Count %u is out of range: group %s holds "
                                         "%u device%s", a->count, g->settings->name, g->total,
                                         g->total == 1 ? "" : "s");
        if ((s->present & BUS_SETTING_MAC) && *s->mac) {
                if (*g->settings->tenant)
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "Group %s is tenant %s's: its "
                                                 "VFs keep the MACs they were passed with, give none",
                                                 g->settings->name, g->settings->tenant);
                if (!g_str_equal(a->type, "sriov-nic"))
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "A Mac is for sriov-nic "
                                                 "attachments only: group %s is %s", g->settings->name, a->type);
                if (a->count != 1)
                        return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, "A Mac can be given for Count 1 "
                                                "only: leave it blank and one is made for each device");
                g_autofree char *mac = settings_mac_parse(s->mac, &e);
                if (!mac)
                        return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
                a->macs = g_new0(char *, 2);
                a->macs[0] = g_steal_pointer(&mac);
        } else if (base && base->macs && !(s->present & BUS_SETTING_MAC) && a->count == base->count &&
                   g_str_equal(a->type, base->type))
                a->macs = g_strdupv(base->macs);
        *ret = g_steal_pointer(&a);
        return 0;
}

/* ---- Update, Delete ---- */

typedef struct {
        Daemon *d;
        char *path;
        StoreAttachment *next;
} Request;

static void request_free(Request *q) {
        store_attachment_free(q->next);
        g_free(q->path);
        g_free(q);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Request, request_free);

static ModelAttachment *request_attachment(Request *q, sd_bus_message *m, bool allowed, const char *action,
                                           const char *reason) {
        if (auth_refused(m, allowed, action, reason))
                return NULL;
        ModelAttachment *a = model_attachment_by_path(q->d->model, q->path);
        if (!a)
                (void) sd_bus_reply_method_errorf(m, DP_ERROR_NOT_FOUND, "Attachment %s was deleted meanwhile",
                                                  q->path);
        return a;
}

static void on_update_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        ModelAttachment *a = request_attachment(q, m, allowed, action, reason);

        if (!a)
                return;
        daemon_reply_change(q->d, m, model_attachment_update(q->d->model, a, g_steal_pointer(&q->next), &e), &e);
}

static const char *const *details(Daemon *d, const StoreAttachment *s, const char **buf) {
        ModelGroup *g = model_attachment_group(d->model, s);
        const char *const v[] = { "machine", s->machine, "group", g ? g->settings->name : "", "tenant", s->tenant,
                                  "node", d->config.node, NULL };
        memcpy(buf, v, sizeof(v));
        return buf;
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ModelAttachment *a = userdata;
        Daemon *d = daemon_of_call(m);
        g_auto(BusSettings) s = {};
        g_autoptr(Request) q = g_new0(Request, 1);
        const char *buf[9];
        int r;

        q->d = d;
        q->path = g_strdup(a->path);
        if ((r = bus_settings_read(m, BUS_SETTINGS_ATTACHMENT & ~BUS_SETTING_TENANT, &s, error)) < 0 ||
            (r = bus_attachment_settings(d, a->settings->machine, &s, a->settings, &q->next, error)) < 0)
                return r;
        /* Arguments are evaluated in any order: nothing of q's after the steal. */
        const char *const *detail = details(d, q->next, buf);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-attachments", NULL }, detail,
                   on_update_auth, g_steal_pointer(&q));
        return 1;
}

static void on_delete_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        ModelAttachment *a = request_attachment(q, m, allowed, action, reason);

        if (!a)
                return;
        daemon_reply_change(q->d, m, model_attachment_delete(q->d->model, a, &e), &e);
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ModelAttachment *a = userdata;
        Daemon *d = daemon_of_call(m);
        Request *q = g_new0(Request, 1);
        const char *buf[9];

        q->d = d;
        q->path = g_strdup(a->path);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-attachments", NULL },
                   details(d, a->settings, buf), on_delete_auth, q);
        return 1;
}

const sd_bus_vtable bus_attachment_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Machine", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Tenant", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Type", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Description", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Group", "o", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Count", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Macs", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Optional", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateReason", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Devices", "ao", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DeviceMacs", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Delete", "", "", method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const char **bus_attachment_prop_names(unsigned bits) {
        static const char *const names[_ATTACHMENT_PROP_MAX] = {
                "Name", "Machine", "Tenant", "Type", "Description", "Group", "Count", "Macs", "Optional",
                "State", "StateReason", "Devices", "DeviceMacs",
        };
        return bus_prop_names(names, _ATTACHMENT_PROP_MAX, bits);
}

static int attachment_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                           sd_bus_error *error) {
        Daemon *d = userdata;
        ModelAttachment *a = model_attachment_by_path(d->model, path);

        /* Not there (gone, or never): sd-bus answers UnknownObject, as for
         * any path. */
        *found = a;
        return a != NULL;
}

static int attachment_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                                sd_bus_error *error) {
        Daemon *d = userdata;
        *ret_nodes = model_attachment_paths(d->model);
        return 0;
}

int bus_attachment_register(sd_bus *bus, Daemon *d) {
        int r;

        if ((r = sd_bus_add_fallback_vtable(bus, NULL, DP_ATTACHMENTS_PATH, DP_ATTACHMENT_INTERFACE,
                                            bus_attachment_vtable, attachment_find, d)) < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, DP_ATTACHMENTS_PATH, attachment_enumerate, d);
}
