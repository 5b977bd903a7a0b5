/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"

#include <stddef.h>

#include <gio/gio.h>

#include "bus-errors.h"
#include "bus-claim.h"
#include "bus-group.h"
#include "bus-passthrough.h"
#include "bus-rule.h"
#include "mutation.h"

static int property_get_iommu_enabled(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply,
                                      void *userdata, sd_bus_error *error) {
        Service *d = userdata;
        return sd_bus_message_append(reply, "b", inventory_iommu_enabled(d->inventory));
}

static int method_get_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Service *d = userdata;
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

/* ListDevices: the devices table's columns, a struct per function, in
 * address order: for a frontend's or devpassctl's listing, a fifth of
 * GetManagedObjects' bytes for the node's functions. */
#define DEVICE_ROW "sqqssssiiouusoss"

static gint device_compare(gconstpointer a, gconstpointer b) {
        return address_compare(&(*(Device *const *) a)->address, &(*(Device *const *) b)->address);
}

/* The present functions and the missing ones the model keeps, by address. */
static GPtrArray *devices_all(Service *d) {
        GPtrArray *present = inventory_sorted(d->inventory);
        g_auto(GStrv) missing = model_missing_paths(d->model);
        GPtrArray *all = g_ptr_array_sized_new(present->len + g_strv_length(missing));

        for (guint i = 0; i < present->len; i++)
                g_ptr_array_add(all, present->pdata[i]);
        for (char **p = missing; *p; p++)
                g_ptr_array_add(all, model_missing_by_path(d->model, *p));
        if (missing[0])
                g_ptr_array_sort(all, device_compare);
        return all;
}

static int method_list_devices(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Service *d = userdata;
        g_autoptr(sd_bus_message) reply = NULL;
        g_autoptr(GPtrArray) devices = devices_all(d);
        int r;

        if ((r = sd_bus_message_new_method_return(m, &reply)) < 0 ||
            (r = sd_bus_message_open_container(reply, 'a', "(" DEVICE_ROW ")")) < 0)
                return r;
        for (guint i = 0; i < devices->len; i++) {
                const Device *v = devices->pdata[i];
                const ModelGroup *g = model_group_by_path(d->model, v->group_path);
                r = sd_bus_message_append(reply, "(" DEVICE_ROW ")", v->address_str, v->vendor_id, v->device_id,
                                          v->vendor_name, v->device_name, v->class_name, v->driver, v->iommu_group,
                                          v->numa_node, v->physfn_path, v->sriov_num_vfs, v->sriov_total_vfs,
                                          v->state_str, v->group_path, g ? g->settings->name : "", v->holder);
                if (r < 0)
                        return r;
        }
        if ((r = sd_bus_message_close_container(reply)) < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_reboot(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Service *d = userdata;
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

static int create_group_parse(MutationCall *c, sd_bus_error *error) {
        BusSettings *s = c->args;
        int r;

        if ((r = bus_settings_read(c->m, BUS_SETTINGS_GROUP, s, error)) < 0 ||
            (r = bus_group_settings_check(s, error)) < 0)
                return r;
        if (!(s->present & BUS_SETTING_NAME))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, "A group needs a Name, e.g. 'PCI GPUs'");
        return 0;
}

static bool create_group_check(MutationCall *c, MutationAsk *ask, GError **error) {
        const BusSettings *s = c->args;

        ask->actions[0] = "org.devpass1.manage-groups";
        mutation_ask_group(ask, s->name);
        return model_group_name_check(c->d->model, s->name, error);
}

static bool create_group_apply(MutationCall *c, GError **error) {
        const BusSettings *s = c->args;
        ModelGroup *g = model_group_create(c->d->model, bus_manager_group_from(s), error);

        mutation_log(c, "Created group '%s'", s->name);
        return g && sd_bus_message_append(c->reply, "o", g->path) >= 0;
}

static const MutationSpec create_group_spec = {
        .member = "CreateGroup",
        .args_size = sizeof(BusSettings),
        .args_clear = (void (*)(void *)) bus_settings_clear,
        .parse = create_group_parse,
        .check = create_group_check,
        .apply = create_group_apply,
};

static int method_create_group(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&create_group_spec, m, userdata, error);
}

static int create_rule_parse(MutationCall *c, sd_bus_error *error) {
        BusRuleArgs *a = c->args;
        const char *group;
        int r;

        if ((r = sd_bus_message_read(c->m, "o", &group)) < 0 ||
            (r = bus_settings_read(c->m, BUS_SETTINGS_RULE, &a->settings, error)) < 0 ||
            (r = bus_rule_settings_check(&a->settings, true, &a->conditions, error)) < 0)
                return r;
        /* The group travels as the first argument, kept with the settings. */
        a->settings.group = g_strdup(group);
        a->next = store_rule_new();
        a->next->name = g_strdup(a->settings.name ?: "");
        a->next->node = g_strdup(a->settings.node ?: "");
        a->next->enabled = a->settings.present & BUS_SETTING_ENABLED ? a->settings.enabled : true;
        g_ptr_array_extend_and_steal(a->next->conditions, g_steal_pointer(&a->settings.conditions));
        return 0;
}

static ModelGroup *create_rule_group(MutationCall *c, GError **error) {
        const BusRuleArgs *a = c->args;

        return model_group_arg(c->d->model, a->settings.group, error);
}

static bool create_rule_check(MutationCall *c, MutationAsk *ask, GError **error) {
        ModelGroup *g = create_rule_group(c, error);

        return g && bus_rule_ask(c, NULL, g, ask, error);
}

static bool create_rule_apply(MutationCall *c, GError **error) {
        BusRuleArgs *a = c->args;
        ModelGroup *g = create_rule_group(c, error);
        if (!g)
                return false;
        ModelRule *r = model_rule_create(c->d->model, g, g_steal_pointer(&a->next), g_steal_pointer(&a->conditions),
                                         error);
        if (!r)
                return false;
        mutation_log(c, "Created rule '%s' of group '%s'", r->settings->name, g->settings->name);
        return sd_bus_message_append(c->reply, "o", r->path) >= 0;
}

static const MutationSpec create_rule_spec = {
        .member = "CreateRule",
        .args_size = sizeof(BusRuleArgs),
        .args_clear = (void (*)(void *)) bus_rule_args_clear,
        .parse = create_rule_parse,
        .check = create_rule_check,
        .apply = create_rule_apply,
};

static int method_create_rule(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&create_rule_spec, m, userdata, error);
}

/* JoinCluster: a node's own rows into the cluster (cluster-join.c). No
 * option is known yet: the a{sv} leaves room for them. */
static int join_cluster_parse(MutationCall *c, sd_bus_error *error) {
        return bus_settings_read(c->m, 0, c->args, error);
}

/* An unjoined node's objects all move: every group, machine and tenant
 * is named to polkit. */
static bool join_cluster_check(MutationCall *c, MutationAsk *ask, GError **error) {
        ask->actions[0] = "org.devpass1.manage-cluster";
        if (!c->d->cluster)
                return g_set_error(error, CLUSTER_ERROR, CLUSTER_ERROR_UNAVAILABLE, "Node %s runs alone: add a "
                                   "[Cluster] section to devpassd.conf and restart devpassd, then join",
                                   c->d->config.node), false;
        if (!g_str_equal(cluster_state(c->d->cluster), "unjoined"))
                return true;
        g_auto(GStrv) groups = model_group_paths(c->d->model);
        for (size_t i = 0; groups[i]; i++) {
                const StoreGroup *g = model_group_by_path(c->d->model, groups[i])->settings;
                mutation_ask_group(ask, g->name);
                mutation_ask_tenant(ask, g->tenant);
        }
        g_auto(GStrv) attachments = model_attachment_paths(c->d->model);
        for (size_t i = 0; attachments[i]; i++)
                mutation_ask_machine(ask, model_attachment_by_path(c->d->model, attachments[i])->settings->machine);
        return true;
}

static bool join_cluster_apply(MutationCall *c, GError **error) {
        bool member = !g_str_equal(cluster_state(c->d->cluster), "unjoined");

        mutation_log(c, member ? "Asked to join the cluster: a member already" : "Joined the cluster");
        return cluster_join(c->d->cluster, error);
}

static const MutationSpec join_cluster_spec = {
        .member = "JoinCluster",
        .args_size = sizeof(BusSettings),
        .args_clear = (void (*)(void *)) bus_settings_clear,
        .parse = join_cluster_parse,
        .check = join_cluster_check,
        .apply = join_cluster_apply,
};

static int method_join_cluster(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&join_cluster_spec, m, userdata, error);
}

/* "none" on a single node; else the cluster's: up, stale, starting, unjoined. */
static int property_get_cluster_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Service *d = userdata;
        return sd_bus_message_append(reply, "s", d->cluster ? cluster_state(d->cluster) : "none");
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Service, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Node", "s", NULL, offsetof(Service, config.node), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IommuEnabled", "b", property_get_iommu_enabled, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RebootRequired", "b", property_get_reboot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RebootReasons", "a(ss)", property_get_reboot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ClusterState", "s", property_get_cluster_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", address), SD_BUS_RESULT("o", device),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(" DEVICE_ROW ")", devices),
                                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
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
        SD_BUS_METHOD_WITH_ARGS("ClaimDevices", SD_BUS_ARGS("s", machine, "as", addresses, "a{sv}", options),
                                SD_BUS_RESULT("a(osa(siss))", devices), bus_claim_method_claim_devices,
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
        SD_BUS_METHOD_WITH_ARGS("JoinCluster", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT,
                                method_join_cluster, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int bus_manager_register(sd_bus *bus, Service *d) {
        return sd_bus_add_object_vtable(bus, NULL, DP_ROOT_PATH, DP_MANAGER_INTERFACE, bus_manager_vtable, d);
}

void bus_manager_emit_cluster_state(sd_bus *bus) {
        (void) sd_bus_emit_properties_changed(bus, DP_ROOT_PATH, DP_MANAGER_INTERFACE, "ClusterState", NULL);
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
