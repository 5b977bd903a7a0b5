/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus face of attachments: Manager.CreateAttachment(s) and the
 * org.devpass1.Attachment objects. */
#include "bus-attachment.h"

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-group.h"
#include "mutation.h"
#include "settings.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ModelAttachment *a = userdata;
        const StoreAttachment *s = a->settings;

        if (g_str_equal(property, "Name"))
                return sd_bus_message_append_basic(reply, 's', s->name);
        if (g_str_equal(property, "Machine"))
                return sd_bus_message_append_basic(reply, 's', s->machine);
        if (g_str_equal(property, "Tenant"))
                return sd_bus_message_append_basic(reply, 's', s->tenant);
        if (g_str_equal(property, "Type"))
                return sd_bus_message_append_basic(reply, 's', s->type);
        if (g_str_equal(property, "Description"))
                return sd_bus_message_append_basic(reply, 's', s->description);
        if (g_str_equal(property, "Group"))
                return sd_bus_message_append_basic(reply, 'o', a->group ? a->group->path : "/");
        if (g_str_equal(property, "Count"))
                return sd_bus_message_append(reply, "u", s->count);
        if (g_str_equal(property, "Macs"))
                return sd_bus_message_append_strv(reply, s->macs ?: (char *[]) { NULL });
        if (g_str_equal(property, "Optional"))
                return sd_bus_message_append(reply, "b", s->optional);
        if (g_str_equal(property, "State"))
                return sd_bus_message_append_basic(reply, 's', a->state);
        if (g_str_equal(property, "StateReason"))
                return sd_bus_message_append_basic(reply, 's', a->state_reason);
        if (g_str_equal(property, "MachineUuid"))
                return sd_bus_message_append_basic(reply, 's', a->machine_uuid);
        if (g_str_equal(property, "DeviceMacs"))
                return sd_bus_message_append_strv(reply, a->device_macs ?: (char *[]) { NULL });
        return bus_append_object_paths(reply, a->devices, offsetof(Device, path));
}

int bus_attachment_settings_check(const char *machine, BusSettings *s, bool creating, sd_bus_error *error) {
        g_autoptr(GError) e = NULL;

        if ((machine && !settings_machine_valid(machine, &e)) ||
            ((s->present & BUS_SETTING_TENANT) && *s->tenant && !settings_tenant_valid("tenant", s->tenant, &e)) ||
            ((s->present & BUS_SETTING_NAME) && (*s->name || !creating) &&
             !settings_name_valid("attachment", s->name, &e)) ||
            ((s->present & BUS_SETTING_TYPE) && !settings_name_valid("type", s->type, &e)) ||
            ((s->present & BUS_SETTING_DESCRIPTION) && !settings_description_valid(s->description, &e)))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        return bus_attachment_mac_parse(s, error);
}

int bus_attachment_mac_parse(BusSettings *s, sd_bus_error *error) {
        g_autoptr(GError) e = NULL;

        if (!(s->present & BUS_SETTING_MAC) || !*s->mac)
                return 0;
        char *mac = settings_mac_parse(s->mac, &e);
        if (!mac)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        g_free(s->mac);
        s->mac = mac;
        return 0;
}

ModelAttachmentChange bus_attachment_change(const char *machine, const BusSettings *s) {
#define GIVEN(bit, field) (s->present & (bit) ? s->field : NULL)
        return (ModelAttachmentChange) {
                .machine = machine,
                .group = GIVEN(BUS_SETTING_GROUP, group),
                .name = GIVEN(BUS_SETTING_NAME, name),
                .type = GIVEN(BUS_SETTING_TYPE, type),
                .description = GIVEN(BUS_SETTING_DESCRIPTION, description),
                .tenant = GIVEN(BUS_SETTING_TENANT, tenant),
                .mac = GIVEN(BUS_SETTING_MAC, mac),
                .has_count = s->present & BUS_SETTING_COUNT,
                .count = s->count,
                .has_optional = s->present & BUS_SETTING_OPTIONAL,
                .optional = s->optional,
        };
#undef GIVEN
}

void bus_attachment_ask(Model *m, const StoreAttachment *s, MutationAsk *ask) {
        ModelGroup *g = model_attachment_group(m, s);

        ask->actions[0] = "org.devpass1.manage-attachments";
        mutation_ask_machine(ask, s->machine);
        /* Whose the machine is, as the model knows it (its group's tenant
         * is the machine's: model_attachments_settle()), never as the call
         * says: a tenant's admin reaches no other machine. */
        mutation_ask_tenant(ask, model_machine_tenant(m, s->machine));
        if (g) {
                mutation_ask_group(ask, g->settings->name);
                mutation_ask_tenant(ask, g->settings->tenant);
        }
}

/* ---- Update ---- */

typedef struct {
        BusSettings settings;
        StoreAttachment *next;    /* check's verdict, which apply commits */
} UpdateArgs;

static void update_args_clear(UpdateArgs *a) {
        bus_settings_clear(&a->settings);
        g_clear_pointer(&a->next, store_attachment_free);
}

static int update_parse(MutationCall *c, sd_bus_error *error) {
        UpdateArgs *a = c->args;
        int r;

        if ((r = bus_settings_read(c->m, BUS_SETTINGS_ATTACHMENT & ~BUS_SETTING_TENANT, &a->settings, error)) < 0)
                return r;
        return bus_attachment_settings_check(NULL, &a->settings, false, error);
}

/* The attachment before and after: moved to another group, both are asked. */
static bool update_check(MutationCall *c, MutationAsk *ask, GError **error) {
        UpdateArgs *a = c->args;
        ModelAttachment *at = c->object;
        ModelAttachmentChange change = bus_attachment_change(at->settings->machine, &a->settings);

        g_clear_pointer(&a->next, store_attachment_free);
        if (!(a->next = model_attachment_settle(c->d->model, at, &change, error)))
                return false;
        bus_attachment_ask(c->d->model, at->settings, ask);
        bus_attachment_ask(c->d->model, a->next, ask);
        return true;
}

static bool update_apply(MutationCall *c, GError **error) {
        UpdateArgs *a = c->args;
        ModelAttachment *at = c->object;

        mutation_log(c, "Changed attachment '%s' of machine %s", at->settings->name, at->settings->machine);
        return model_attachment_update(c->d->model, at, g_steal_pointer(&a->next), error);
}

static const MutationSpec update_spec = {
        .member = "Update",
        .args_size = sizeof(UpdateArgs),
        .args_clear = (void (*)(void *)) update_args_clear,
        .parse = update_parse,
        .check = update_check,
        .apply = update_apply,
};

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&update_spec, m, userdata, error);
}

/* ---- Delete ---- */

static bool delete_check(MutationCall *c, MutationAsk *ask, GError **error) {
        ModelAttachment *at = c->object;

        bus_attachment_ask(c->d->model, at->settings, ask);
        return true;
}

static bool delete_apply(MutationCall *c, GError **error) {
        ModelAttachment *at = c->object;

        mutation_log(c, "Deleted attachment '%s' of machine %s", at->settings->name, at->settings->machine);
        return model_attachment_delete(c->d->model, at, error);
}

static const MutationSpec delete_spec = {
        .member = "Delete",
        .check = delete_check,
        .apply = delete_apply,
};

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&delete_spec, m, userdata, error);
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
        SD_BUS_PROPERTY("MachineUuid", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Delete", "", "", method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const char **bus_attachment_prop_names(unsigned bits) {
        static const char *const names[_ATTACHMENT_PROP_MAX] = {
                "Name", "Machine", "Tenant", "Type", "Description", "Group", "Count", "Macs", "Optional",
                "State", "StateReason", "Devices", "DeviceMacs", "MachineUuid",
        };
        return bus_prop_names(names, _ATTACHMENT_PROP_MAX, bits);
}

static int attachment_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                           sd_bus_error *error) {
        Service *d = userdata;
        ModelAttachment *a = model_attachment_by_path(d->model, path);

        /* Not there (gone, or never): sd-bus answers UnknownObject, as for
         * any path. */
        *found = a;
        return a != NULL;
}

static int attachment_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                                sd_bus_error *error) {
        Service *d = userdata;
        *ret_nodes = model_attachment_paths(d->model);
        return 0;
}

const BusKind bus_attachment_kind = {
        DP_ATTACHMENTS_PATH, DP_ATTACHMENT_INTERFACE, bus_attachment_vtable, attachment_find, attachment_enumerate,
};
