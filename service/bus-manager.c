/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"

#include <stddef.h>

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-claim.h"
#include "bus-group.h"
#include "bus-passthrough.h"
#include "bus-rule.h"

static int property_get_iommu_enabled(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply,
                                      void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        return sd_bus_message_append(reply, "b", inventory_iommu_enabled(d->inventory));
}

static int method_get_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        const char *s;
        char quoted[80];
        DpAddress a;

        int r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        if (!address_parse(s, &a))
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT,
                                         "%s is not a PCI address: use dddd:bb:ss.f, e.g. 0000:17:00.0",
                                         bus_quote(s, quoted));
        Device *dev = inventory_lookup(d->inventory, &a);
        if (!dev) {
                char address[DP_ADDRESS_MAX];
                address_format(&a, address);
                return sd_bus_error_setf(error, DP_ERROR_NOT_FOUND,
                                         "No PCI function %s on this node: 'devpassctl devices' lists them",
                                         address);
        }
        return sd_bus_reply_method_return(m, "o", dev->path);
}

static int property_get_reboot(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(GPtrArray) pairs = model_reboot_reasons(d->model);
        int r;

        if (g_str_equal(property, "RebootRequired"))
                return sd_bus_message_append(reply, "b", pairs->len > 0);
        if ((r = sd_bus_message_open_container(reply, 'a', "(ss)")) < 0)
                return r;
        for (guint i = 0; i + 1 < pairs->len; i += 2)
                if ((r = sd_bus_message_append(reply, "(ss)", pairs->pdata[i], pairs->pdata[i + 1])) < 0)
                        return r;
        return sd_bus_message_close_container(reply);
}

/* ---- CreateGroup, CreateRule ---- */

typedef struct {
        Daemon *d;
        BusSettings settings;
        char *group;              /* CreateRule: the group's path */
        GPtrArray *conditions;    /* CreateRule: compiled */
} Request;

static void request_free(Request *q) {
        bus_settings_clear(&q->settings);
        g_free(q->group);
        if (q->conditions)
                g_ptr_array_unref(q->conditions);
        g_free(q);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Request, request_free);

StoreGroup *bus_manager_group_from(const BusSettings *s) {
        StoreGroup *g = g_new0(StoreGroup, 1);
        g->name = g_strdup(s->name);
        g->type = g_strdup(s->present & BUS_SETTING_TYPE ? s->type : "pci");
        g->description = g_strdup(s->present & BUS_SETTING_DESCRIPTION ? s->description : "");
        g->class_name = g_strdup(s->present & BUS_SETTING_CLASS ? s->class_name : "other");
        g->tenant = g_strdup("");
        g->tenant_node = g_strdup("");
        return g;
}

static void on_create_group_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                                 void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;

        if (auth_refused(m, allowed, action, reason))
                return;
        ModelGroup *g = model_group_create(q->d->model, bus_manager_group_from(&q->settings), &e);
        if (!g) {
                bus_reply_gerror(m, e);
                return;
        }
        daemon_emit(q->d);
        sd_bus_reply_method_return(m, "o", g->path);
}

static int method_create_group(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = g_new0(Request, 1);
        int r;

        q->d = d;
        if ((r = bus_settings_read(m, BUS_SETTINGS_GROUP, &q->settings, error)) < 0 ||
            (r = bus_group_settings_check(&q->settings, error)) < 0)
                return r;
        if (!(q->settings.present & BUS_SETTING_NAME))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                        "A group needs a Name, e.g. 'PCI GPUs'");
        ModelGroup *other = model_group_by_name(d->model, q->settings.name);
        if (other)
                return sd_bus_error_setf(error, DP_ERROR_BUSY, "A group named '%s' exists already (%s): choose "
                                         "another name", q->settings.name, other->path);
        /* Arguments are evaluated in any order: nothing of q's after the steal. */
        const char *name = q->settings.name;
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-groups", NULL },
                   (const char *const[]) { "group", name, "node", d->config.node, NULL },
                   on_create_group_auth, g_steal_pointer(&q));
        return 1;
}

static void on_create_rule_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                                void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        if (auth_refused(m, allowed, action, reason))
                return;
        ModelGroup *g = bus_rule_group_arg(q->d, q->group, &error);
        if (!g) {
                sd_bus_reply_method_error(m, &error);
                sd_bus_error_free(&error);
                return;
        }
        StoreRule *s = store_rule_new();
        s->name = g_strdup(q->settings.name ?: "");
        s->node = g_strdup(q->settings.node ?: "");
        s->enabled = q->settings.present & BUS_SETTING_ENABLED ? q->settings.enabled : true;
        g_ptr_array_extend_and_steal(s->conditions, g_steal_pointer(&q->settings.conditions));
        ModelRule *r = model_rule_create(q->d->model, g, s, g_steal_pointer(&q->conditions), &e);
        if (!r) {
                bus_reply_gerror(m, e);
                return;
        }
        daemon_emit(q->d);
        sd_bus_reply_method_return(m, "o", r->path);
}

static int method_create_rule(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = g_new0(Request, 1);
        const char *group;
        int r;

        q->d = d;
        if ((r = sd_bus_message_read(m, "o", &group)) < 0 ||
            (r = bus_settings_read(m, BUS_SETTINGS_RULE, &q->settings, error)) < 0 ||
            (r = bus_rule_settings_check(&q->settings, true, &q->conditions, error)) < 0)
                return r;
        ModelGroup *g = bus_rule_group_arg(d, group, error);
        if (!g)
                return -ENOENT;
        q->group = g_strdup(group);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-groups", NULL },
                   (const char *const[]) { "group", g->settings->name, "node", d->config.node, NULL },
                   on_create_rule_auth, g_steal_pointer(&q));
        return 1;
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Daemon, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Node", "s", NULL, offsetof(Daemon, config.node), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IommuEnabled", "b", property_get_iommu_enabled, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RebootRequired", "b", property_get_reboot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RebootReasons", "a(ss)", property_get_reboot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", address), SD_BUS_RESULT("o", device),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateGroup", SD_BUS_ARGS("a{sv}", settings), SD_BUS_RESULT("o", group),
                                method_create_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateRule", SD_BUS_ARGS("o", group, "a{sv}", settings), SD_BUS_RESULT("o", rule),
                                method_create_rule, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateAttachment", SD_BUS_ARGS("s", machine, "a{sv}", settings),
                                SD_BUS_RESULT("o", attachment), bus_claim_method_create_attachment,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateAttachments", SD_BUS_ARGS("a(sa{sv})", entries),
                                SD_BUS_RESULT("ao", attachments), bus_claim_method_create_attachments,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Claim", SD_BUS_ARGS("s", machine, "a{sv}", options),
                                SD_BUS_RESULT("a(osa(siss))", devices), bus_claim_method_claim,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("s", machine), SD_BUS_NO_RESULT, bus_claim_method_release,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PassToTenant", SD_BUS_ARGS("s", tenant, "s", tenant_node, "a{sv}", settings),
                                SD_BUS_RESULT("o", group), bus_claim_method_pass_to_tenant,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CheckPassthrough", SD_BUS_ARGS("ao", devices), SD_BUS_RESULT("a(ssss)", findings),
                                bus_passthrough_method_check, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MakePassthrough", SD_BUS_ARGS("ao", devices, "a{sv}", options),
                                SD_BUS_RESULT("o", group, "b", reboot_required),
                                bus_passthrough_method_make, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemovePassthrough", SD_BUS_ARGS("ao", devices), SD_BUS_RESULT("b", reboot_required),
                                bus_passthrough_method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int bus_manager_register(sd_bus *bus, Daemon *d) {
        int r = sd_bus_add_object_vtable(bus, NULL, DP_ROOT_PATH, DP_MANAGER_INTERFACE,
                                         bus_manager_vtable, d);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(bus, NULL, DP_ROOT_PATH);
}

void bus_manager_emit_reboot(sd_bus *bus) {
        (void) sd_bus_emit_properties_changed(bus, DP_ROOT_PATH, DP_MANAGER_INTERFACE, "RebootRequired",
                                              "RebootReasons", NULL);
}

void bus_manager_emit_changes(sd_bus *bus, InventoryChanges *changes) {
        if (changes->iommu_changed)
                (void) sd_bus_emit_properties_changed(bus, DP_ROOT_PATH, DP_MANAGER_INTERFACE,
                                                      "IommuEnabled", NULL);
}
