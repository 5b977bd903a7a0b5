/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The running service as the bus faces see it: the signals that follow
 * the model, the driver changes under way, and the reconcile that keeps
 * the drivers with the settings, at start and on every driver event. */
#include "service.h"

#include <string.h>

#include "boot-dir.h"
#include "bus-attachment.h"
#include "bus-device.h"
#include "bus-group.h"
#include "bus-manager.h"
#include "bus-node.h"
#include "bus-rule.h"

#define VFIO_DRIVER "vfio-pci"

Service *service_of_call(sd_bus_message *m) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(m)));
}

/* The boot-time list the udev rule reads (boot-dir.h): passthrough
 * devices come up on vfio-pci after a reboot, before a host driver can
 * take them. Written whenever what the store says changes; a failure is
 * tried again at the next change of anything. */
void service_boot_list_sync(Service *s) {
        g_autoptr(GPtrArray) addresses = model_intent_addresses(s->model);
        g_autoptr(GError) error = NULL;
        g_autoptr(GString) list = g_string_new(NULL);

        for (guint i = 0; i < addresses->len; i++)
                g_string_append_printf(list, "%s\n", (char *) addresses->pdata[i]);
        if (g_strcmp0(s->boot_list, list->str) == 0)
                return;
        if (!boot_dir_sync(s->config.boot_dir, addresses, &error)) {
                g_warning("%s (devices may boot on their host drivers)", error->message);
                g_clear_pointer(&s->boot_list, g_free);
                return;
        }
        g_free(s->boot_list);
        s->boot_list = g_string_free(g_steal_pointer(&list), FALSE);
}

ModelBusBytes service_bus_fixed(void) {
        return (ModelBusBytes) {
                .device = bus_kind_fixed_bytes(&bus_device_kind),
                .group = bus_kind_fixed_bytes(&bus_group_kind),
                .rule = bus_kind_fixed_bytes(&bus_rule_kind),
                .attachment = bus_kind_fixed_bytes(&bus_attachment_kind),
        };
}

size_t service_objects_size(void *userdata) {
        Service *s = userdata;
        ModelBusBytes fixed = service_bus_fixed();

        return model_bus_size(s->model, &fixed, NULL);
}

static void emit_removed(Service *s, ModelChanges *c) {
        for (guint i = 0; i < c->removed->len; i++)
                (void) bus_objects_emit_removed(&s->objects, ((ModelRemoved *) c->removed->pdata[i])->path);
}

static void emit_rest(Service *s, ModelChanges *c, GHashTable *skip) {
        GHashTableIter it;
        gpointer key, value;

        for (guint i = 0; i < c->added->len; i++)
                (void) bus_objects_emit_added(&s->objects, c->added->pdata[i]);
        g_hash_table_iter_init(&it, c->devices);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!skip || !g_hash_table_contains(skip, key))
                        bus_device_emit_properties(s->bus, key, GPOINTER_TO_UINT(value));
        g_hash_table_iter_init(&it, c->groups);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                g_autofree const char **names = bus_group_prop_names(GPOINTER_TO_UINT(value));
                (void) sd_bus_emit_properties_changed_strv(s->bus, ((ModelGroup *) key)->path, DP_GROUP_INTERFACE,
                                                           (char **) names);
        }
        g_hash_table_iter_init(&it, c->rules);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                g_autofree const char **names = bus_rule_prop_names(GPOINTER_TO_UINT(value));
                (void) sd_bus_emit_properties_changed_strv(s->bus, ((ModelRule *) key)->path, DP_RULE_INTERFACE,
                                                           (char **) names);
        }
        g_hash_table_iter_init(&it, c->attachments);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                g_autofree const char **names = bus_attachment_prop_names(GPOINTER_TO_UINT(value));
                (void) sd_bus_emit_properties_changed_strv(s->bus, ((ModelAttachment *) key)->path,
                                                           DP_ATTACHMENT_INTERFACE, (char **) names);
        }
        if (c->reboot_changed)
                bus_manager_emit_reboot(s->bus);
        /* Intents change only with a refresh; a claim's changes leave the list be. */
        if (c->refreshed || !s->boot_list)
                service_boot_list_sync(s);
}

void service_take_back(Service *s) {
        g_autoptr(GError) error = NULL;

        if (!model_resync(s->model, &error))
                g_warning("Cannot take back a change etcd does not have yet: %s", error->message);
        model_changes_free(model_take_changes(s->model));
}

/* What the nodes show of this one changed: its devices and its groups'
 * units (a refresh), its reboot reasons; in a cluster a group's free
 * units too, which the others count. */
static bool nodes_touched(Service *s, ModelChanges *c) {
        GHashTableIter it;
        gpointer bits;

        if (c->refreshed || c->reboot_changed)
                return true;
        if (!s->cluster)
                return false;
        g_hash_table_iter_init(&it, c->groups);
        while (g_hash_table_iter_next(&it, NULL, &bits))
                if (GPOINTER_TO_UINT(bits) & (PROP_BIT(GROUP_PROP_TOTAL) | PROP_BIT(GROUP_PROP_FREE)))
                        return true;
        return false;
}

void service_nodes_sync(Service *s) {
        bus_nodes_sync(s);
        /* The groups whose units elsewhere changed. */
        g_autoptr(ModelChanges) c = model_take_changes(s->model);
        emit_rest(s, c, NULL);
}

bool service_emit(Service *s) {
        g_autoptr(ModelChanges) c = model_take_changes(s->model);

        emit_removed(s, c);
        emit_rest(s, c, NULL);
        if (!nodes_touched(s, c))
                return false;
        service_nodes_sync(s);
        return true;
}

void service_binding_begin(Service *s, const char *const *addresses) {
        for (size_t i = 0; addresses[i]; i++)
                g_hash_table_add(s->binding, g_strdup(addresses[i]));
}

void service_set_vfs(Service *s, const Device *pf, unsigned count, BinderFunc done, void *userdata) {
        service_binding_begin(s, (const char *const[]) { pf->address_str, NULL });
        binder_set_vfs(s->binder, pf->address_str, count, model_pf_vfs_passed_through(s->model, pf), done,
                       userdata);
}

static void service_override_forget(Service *s, const char *address) {
        g_autoptr(GError) error = NULL;

        if (!model_override_forget(s->model, address, &error))
                g_warning("%s is back with its host driver, but the record that devpass overrode it stays: %s",
                          address, error->message);
}

bool service_bind_results(Service *s, GPtrArray *results, char **failed) {
        g_autoptr(GString) f = g_string_new(NULL);
        bool reboot = false;

        for (guint i = 0; i < results->len; i++) {
                const BindResult *r = results->pdata[i];
                /* The binder's reasons name the device, as log lines must; on
                 * the device and beside its address in RebootReasons, that
                 * would say it twice. */
                const char *text = r->reason;
                if (text && g_str_has_prefix(text, r->address) && g_str_has_prefix(text + strlen(r->address), ": "))
                        text += strlen(r->address) + 2;
                model_set_reboot_reason(s->model, r->address, r->outcome == BIND_REBOOT_REQUIRED ? text : NULL);
                model_set_bind_error(s->model, r->address, r->outcome == BIND_FAILED ? text : NULL);
                /* Given back: the override devpass wrote is gone. */
                if (r->outcome == BIND_DONE && !model_intent(s->model, r->address) &&
                    !g_str_equal(r->driver, VFIO_DRIVER))
                        service_override_forget(s, r->address);
                if (r->outcome == BIND_REBOOT_REQUIRED) {
                        g_message("%s", r->reason);
                        reboot = true;
                } else if (r->outcome == BIND_FAILED) {
                        g_warning("%s", r->reason);
                        g_string_append_printf(f, "%s%s", f->len ? "; " : "", r->reason);
                }
        }
        model_refresh(s->model);
        if (failed)
                *failed = f->len ? g_string_free(g_steal_pointer(&f), FALSE) : NULL;
        return reboot;
}

/* Reconcile: a passthrough device not on vfio-pci (after a reboot, a
 * crash between commit and bind, a host driver that took it) is bound
 * again; a device devpass overrode and released that is still on
 * vfio-pci or still overridden (a release the kernel refused, a crash
 * mid-way) goes back to its host driver; what cannot be becomes a reboot
 * reason or an error on the device. */
static void service_on_reconciled(GPtrArray *results, void *userdata) {
        Service *s = userdata;

        service_bind_results(s, results, NULL);
        service_binding_end(s, results);
        g_ptr_array_unref(results);
        service_emit(s);
}

static void service_reconcile_queue(Service *s, GPtrArray *addresses, BindTarget target) {
        if (addresses->len == 0)
                return;
        g_message("Binding %u device%s %s", addresses->len, addresses->len == 1 ? "" : "s",
                  target == BIND_TO_VFIO ? "to vfio-pci again" : "back to their host drivers");
        g_ptr_array_add(addresses, NULL);
        service_binding_begin(s, (const char *const *) addresses->pdata);
        binder_bind(s->binder, (char **) addresses->pdata, target, service_on_reconciled, s);
}

/* devices: Device*. A device whose last driver change failed is tried
 * again only with retry (at start, or when it is new): one failure is
 * one reboot reason, not a bind attempt on every event. */
static void service_reconcile(Service *s, GPtrArray *devices, bool retry) {
        g_autoptr(GPtrArray) to_vfio = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) to_host = g_ptr_array_new_with_free_func(g_free);
        bool settled = false;

        for (guint i = 0; i < devices->len; i++) {
                const Device *dev = devices->pdata[i];
                const char *address = dev->address_str;
                bool on_vfio = g_str_equal(dev->driver, VFIO_DRIVER);
                bool overridden = dev->driver_override && dev->driver_override[0];

                /* Seen again when the change under way is over. */
                if (g_hash_table_contains(s->binding, address)) {
                        g_hash_table_add(s->recheck, g_strdup(address));
                        continue;
                }
                /* A driver that let go at last, or someone who finished the
                 * job: the reboot reason or error is out of date. */
                if (model_intent(s->model, address) && on_vfio && model_bind_failed(s->model, address)) {
                        model_set_reboot_reason(s->model, address, NULL);
                        model_set_bind_error(s->model, address, NULL);
                        settled = true;
                }
                if (!retry && model_bind_failed(s->model, address))
                        continue;
                if (model_intent(s->model, address)) {
                        if (!on_vfio)
                                g_ptr_array_add(to_vfio, g_strdup(address));
                } else if (model_override_recorded(s->model, address)) {
                        /* Unbound too: a release cut short between unbind and probe. */
                        if (on_vfio || overridden || !dev->driver[0])
                                g_ptr_array_add(to_host, g_strdup(address));
                        else
                                service_override_forget(s, address);
                } else if (on_vfio || g_strcmp0(dev->driver_override, VFIO_DRIVER) == 0)
                        g_message("%s is bound to vfio-pci by hand (driver_override not written by devpass): "
                                  "devpass leaves it alone", address);
        }
        service_reconcile_queue(s, to_vfio, BIND_TO_VFIO);
        service_reconcile_queue(s, to_host, BIND_TO_HOST);
        if (settled) {
                model_refresh(s->model);
                service_emit(s);
        }
}

void service_binding_end(Service *s, GPtrArray *results) {
        g_autoptr(GPtrArray) again = g_ptr_array_new();

        for (guint i = 0; i < results->len; i++) {
                const char *address = ((BindResult *) results->pdata[i])->address;
                DpAddress a;
                Device *dev = address_parse(address, &a) ? inventory_lookup(s->inventory, &a) : NULL;
                g_hash_table_remove(s->binding, address);
                if (g_hash_table_remove(s->recheck, address) && dev)
                        g_ptr_array_add(again, dev);
        }
        service_reconcile(s, again, false);
}

void service_on_changes(InventoryChanges *changes, void *userdata) {
        Service *s = userdata;
        g_autoptr(GPtrArray) driven = g_ptr_array_new();
        GHashTableIter it;
        gpointer key, value;

        /* Devices that came are announced with their group already; a
         * passed-through one that came back has its facts kept. */
        model_passthrough_facts_sync(s->model);
        model_refresh(s->model);
        g_autoptr(ModelChanges) c = model_take_changes(s->model);
        emit_removed(s, c);
        bus_device_emit_changes(&s->objects, changes);
        bus_manager_emit_changes(s->bus, changes);
        emit_rest(s, c, changes->added_set);

        /* Each device that came, and each whose driver changed (bind,
         * unbind), is reconciled; the rest are as they were. */
        service_reconcile(s, changes->added, true);
        g_hash_table_iter_init(&it, changes->changed);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (GPOINTER_TO_UINT(value) & DEVICE_PROP_BIT(DEVICE_PROP_DRIVER))
                        g_ptr_array_add(driven, key);
        service_reconcile(s, driven, false);
}

static void service_on_vfs_restored(GPtrArray *results, void *userdata) {
        Service *s = userdata;
        const BindResult *r = results->pdata[0];

        service_binding_end(s, results);
        if (r->outcome != BIND_DONE)
                g_warning("Cannot set the VF count asked for again: %s", r->reason);
        g_ptr_array_unref(results);
}

/* The kernel forgets VF counts at a reboot: those asked for come back
 * before the reconcile (the binder runs jobs in order), and their VFs
 * are reconciled as they appear. */
static void service_sriov_restore(Service *s) {
        g_autoptr(GPtrArray) pfs = model_sriov_addresses(s->model);

        for (guint i = 0; i < pfs->len; i++) {
                const char *address = pfs->pdata[i];
                unsigned count = model_sriov_count(s->model, address);
                DpAddress a;
                const Device *pf = address_parse(address, &a) ? inventory_lookup(s->inventory, &a) : NULL;

                if (!pf)
                        g_message("%s was asked for %u VFs but is not on this node", address, count);
                else if (count > pf->sriov_total_vfs)
                        g_warning("%s was asked for %u VFs but supports %u now: left as it is", address, count,
                                  pf->sriov_total_vfs);
                else if (pf->sriov_num_vfs != count) {
                        g_message("Setting %u VFs on %s again (it has %u)", count, address, pf->sriov_num_vfs);
                        service_set_vfs(s, pf, count, service_on_vfs_restored, s);
                }
        }
}

typedef struct {
        void (*func)(void *userdata);
        void *userdata;
} StartDone;

static void service_on_started(GPtrArray *results, void *userdata) {
        g_autofree StartDone *done = userdata;

        g_ptr_array_unref(results);
        done->func(done->userdata);
}

void service_start_reconcile(Service *s, void (*done)(void *userdata), void *userdata) {
        StartDone *d = g_new(StartDone, 1);
        g_autoptr(GPtrArray) intents = model_intent_addresses(s->model);

        for (guint i = 0; i < intents->len; i++) {
                DpAddress a;
                if (!address_parse(intents->pdata[i], &a) || !inventory_lookup(s->inventory, &a))
                        g_message("%s is passed through but not present on this node (yet)",
                                  (char *) intents->pdata[i]);
        }
        service_sriov_restore(s);
        service_reconcile(s, inventory_sorted(s->inventory), true);
        /* The binder runs jobs in order: this one, of no device, ends
         * after every driver change the start asked for. */
        *d = (StartDone) { done, userdata };
        binder_bind(s->binder, (char *[]) { NULL }, BIND_TO_VFIO, service_on_started, d);
}
