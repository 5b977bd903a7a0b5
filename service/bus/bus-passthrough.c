/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Make passthrough and its kin: the calls that change drivers. Each is a
 * mutation (mutation.h) whose effect is the binder's driver change; it
 * replies when the kernel has answered. */
#include "bus-passthrough.h"

#include <gio/gio.h>

#include "bus-device.h"
#include "bus-errors.h"
#include "bus-group.h"
#include "bus-manager.h"
#include "mutation.h"
#include "safety.h"

/* A node has at most a few thousand functions: more paths in one call
 * are a mistake or an attack, refused before anything is looked up. */
#define BUS_PASSTHROUGH_MAX_DEVICES 4096

typedef struct {
        GPtrArray *paths;         /* the devices' object paths, as asked */
        BusSettings options;
        GPtrArray *devices;       /* Device*, resolved by check */
        char *group;              /* MakePassthrough: the group's path, once applied */
        uint32_t count;           /* SetVirtualFunctions */
} Args;

static void args_clear(void *p) {
        Args *a = p;

        g_clear_pointer(&a->paths, g_ptr_array_unref);
        g_clear_pointer(&a->devices, g_ptr_array_unref);
        bus_settings_clear(&a->options);
        g_free(a->group);
}

/* The "ao" of devices, bounded. */
static int paths_read(sd_bus_message *m, GPtrArray **ret, sd_bus_error *error) {
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
        const char *path;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "o")) < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 'o', &path)) > 0)
                if (paths->len == BUS_PASSTHROUGH_MAX_DEVICES)
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "At most %d devices in one call: "
                                                 "split the call", BUS_PASSTHROUGH_MAX_DEVICES);
                else
                        g_ptr_array_add(paths, g_strdup(path));
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        if (paths->len == 0)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                        "Name at least one device, e.g. /org/devpass1/devices/0000_17_00_0");
        *ret = g_steal_pointer(&paths);
        return 0;
}

static int args_paths_read(MutationCall *c, sd_bus_error *error) {
        return paths_read(c->m, &((Args *) c->args)->paths, error);
}

/* The devices paths name: present ones, and with allow_missing those the
 * store knows and the node lacks. Duplicates count once. */
static GPtrArray *devices_resolve(Service *d, GPtrArray *paths, bool allow_missing, GError **error) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new();
        g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
        char quoted[80];

        for (guint i = 0; i < paths->len; i++) {
                const char *path = paths->pdata[i];
                Device *dev = inventory_lookup_path(d->inventory, path);
                if (!dev && allow_missing)
                        dev = model_missing_by_path(d->model, path);
                if (dev) {
                        if (g_hash_table_add(seen, dev))
                                g_ptr_array_add(devices, dev);
                        continue;
                }
                DpAddress addr;
                char address[DP_ADDRESS_MAX];
                if (!g_str_has_prefix(path, DP_DEVICES_PATH "/") || !address_from_path(path, &addr))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s does not name a "
                                           "device: paths are " DP_DEVICES_PATH "/dddd_bb_ss_f",
                                           bus_quote(path, quoted)), NULL;
                address_format(&addr, address);
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No PCI function %s on this node: "
                                   "'devpassctl devices' lists them", address), NULL;
        }
        return g_steal_pointer(&devices);
}

/* check's part: the call's devices as the node has them now. */
static bool args_devices_resolve(MutationCall *c, bool allow_missing, GError **error) {
        Args *a = c->args;

        g_clear_pointer(&a->devices, g_ptr_array_unref);
        a->devices = devices_resolve(c->d, a->paths, allow_missing, error);
        return a->devices != NULL;
}

/* A driver change under way (the daemon's, not the model's): try later. */
static bool devices_idle(MutationCall *c, GError **error) {
        Args *a = c->args;

        for (guint i = 0; i < a->devices->len; i++) {
                const Device *dev = a->devices->pdata[i];
                if (g_hash_table_contains(c->d->binding, dev->address_str))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "A driver change of %s is under way: "
                                           "try again when it is done", dev->address_str), false;
        }
        return true;
}

static char **devices_addresses(GPtrArray *devices) {
        char **list = g_new0(char *, devices->len + 1);

        for (guint i = 0; i < devices->len; i++)
                list[i] = g_strdup(((Device *) devices->pdata[i])->address_str);
        return list;
}

static void ask_devices(MutationAsk *ask, GPtrArray *devices) {
        for (guint i = 0; i < devices->len; i++)
                mutation_ask_device(ask, ((Device *) devices->pdata[i])->address_str);
}

/* The guard asks the model who uses the VFs of a PF it checks. */
static char *device_use(const char *address, void *userdata) {
        return model_device_use(userdata, address);
}

static GPtrArray *guard_check(Service *d, GPtrArray *devices) {
        return safety_check(d->config.root, devices, device_use, d->model);
}

/* ---- CheckPassthrough (reads only) ---- */

static int findings_append(sd_bus_message *reply, GPtrArray *findings) {
        int r = sd_bus_message_open_container(reply, 'a', "(ssss)");

        for (guint i = 0; r >= 0 && i < findings->len; i++) {
                const SafetyFinding *f = findings->pdata[i];
                r = sd_bus_message_append(reply, "(ssss)", f->address, safety_kind_to_string(f->kind), f->subject,
                                          f->message);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

int bus_passthrough_method_check(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Service *d = userdata;
        g_autoptr(sd_bus_message) reply = NULL;
        g_autoptr(GPtrArray) paths = NULL, devices = NULL;
        g_autoptr(GError) e = NULL;
        int r;

        if ((r = paths_read(m, &paths, error)) < 0)
                return r;
        if (!(devices = devices_resolve(d, paths, false, &e)))
                return sd_bus_error_set(error, bus_error_name_for(e), e->message);
        g_autoptr(GPtrArray) findings = guard_check(d, devices);
        if ((r = sd_bus_message_new_method_return(m, &reply)) < 0 || (r = findings_append(reply, findings)) < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- MakePassthrough ---- */

static int make_parse(MutationCall *c, sd_bus_error *error) {
        Args *a = c->args;
        const BusSettings *o = &a->options;
        int r;

        if ((r = args_paths_read(c, error)) < 0 ||
            (r = bus_settings_read(c->m, BUS_SETTINGS_GROUP | BUS_SETTING_GROUP | BUS_SETTING_FORCE, &a->options,
                                   error)) < 0)
                return r;
        if ((o->present & BUS_SETTING_GROUP) && (o->present & BUS_SETTINGS_GROUP))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, "Give either Group (an existing group) or "
                                        "the Name, Type, Class and Description of a new one, not both");
        if (!(o->present & (BUS_SETTING_GROUP | BUS_SETTING_NAME)))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                        "Name the group: Group (an existing one), or Name (a new one)");
        return bus_group_settings_check(o, error);
}

/* The group the devices go to: an existing one (*g), or a new one. */
static bool make_target(MutationCall *c, ModelGroup **g, const char **name, const char **type, GError **error) {
        const BusSettings *o = &((Args *) c->args)->options;
        char quoted[80];

        *g = NULL;
        if (o->present & BUS_SETTING_GROUP) {
                if (!(*g = model_group_by_path(c->d->model, o->group)))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No group at %s: 'devpassctl "
                                           "groups' lists them", bus_quote(o->group, quoted)), false;
                *name = (*g)->settings->name;
                *type = (*g)->settings->type;
                return true;
        }
        *name = o->name;
        *type = o->present & BUS_SETTING_TYPE ? o->type : "pci";
        return model_group_name_check(c->d->model, o->name, error);
}

/* What the guard says decides the actions: a finding Force cannot pass
 * refuses, others need Force and make-passthrough-unsafe. That action
 * implies make-passthrough (the policy says so): asked first, it makes
 * one password prompt. */
static bool make_guard(MutationCall *c, MutationAsk *ask, GError **error) {
        const Args *a = c->args;
        g_autoptr(GPtrArray) findings = guard_check(c->d, a->devices);
        g_autoptr(GString) never = g_string_new(NULL), all = g_string_new(NULL);

        for (guint i = 0; i < findings->len; i++) {
                const SafetyFinding *f = findings->pdata[i];
                if (!safety_finding_forceable(f))
                        g_string_append_printf(never, "%s%s", never->len ? "; " : "", f->message);
                g_string_append_printf(all, "%s%s", all->len ? "; " : "", f->message);
        }
        if (never->len > 0)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "Refused even with Force: %s",
                                   never->str), false;
        if (findings->len > 0 && !a->options.force)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "Refused, the host would lose "
                                   "what it uses: %s. Pass the devices the guard names along, or Force (needs "
                                   "org.devpass1.make-passthrough-unsafe)", all->str), false;
        ask->actions[0] = findings->len > 0 ? "org.devpass1.make-passthrough-unsafe" : "org.devpass1.make-passthrough";
        ask->actions[1] = findings->len > 0 ? "org.devpass1.make-passthrough" : NULL;
        return true;
}

static bool make_check(MutationCall *c, MutationAsk *ask, GError **error) {
        Args *a = c->args;
        ModelGroup *g;
        const char *name, *type;

        if (!args_devices_resolve(c, false, error) || !devices_idle(c, error) || !make_target(c, &g, &name, &type, error) ||
            !model_passthrough_check(c->d->model, g, type, a->devices, error) || !make_guard(c, ask, error))
                return false;
        mutation_ask_group(ask, name);
        ask_devices(ask, a->devices);
        return true;
}

static bool make_apply(MutationCall *c, GError **error) {
        Args *a = c->args;
        ModelGroup *g = a->options.present & BUS_SETTING_GROUP ? model_group_by_path(c->d->model, a->options.group)
                                                               : NULL;

        g = model_passthrough_add(c->d->model, g, g ? NULL : bus_manager_group_from(&a->options), a->devices, error);
        if (!g)
                return false;
        a->group = g_strdup(g->path);
        g_auto(GStrv) addresses = devices_addresses(a->devices);
        g_autofree char *list = g_strjoinv(", ", addresses);
        mutation_log(c, "Passed through %s for group '%s'%s", list, g->settings->name,
                     a->options.force ? ", forced past the guard" : "");
        mutation_effect_bind(c, addresses, BIND_TO_VFIO);
        return true;
}

static bool make_bound(MutationCall *c, GPtrArray *results, GError **error) {
        Args *a = c->args;
        g_autofree char *failed = NULL;
        bool reboot = service_bind_results(c->d, results, &failed);

        if (failed)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s (the devices stay marked for "
                                   "passthrough; 'devpassctl give-back' returns them)", failed), false;
        return sd_bus_message_append(c->reply, "ob", a->group, reboot) >= 0;
}

static const MutationSpec make_spec = {
        .member = "MakePassthrough",
        .args_size = sizeof(Args),
        .args_clear = args_clear,
        .parse = make_parse,
        .check = make_check,
        .apply = make_apply,
        .effect_done = make_bound,
};

int bus_passthrough_method_make(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&make_spec, m, userdata, error);
}

/* ---- RemovePassthrough ---- */

static bool remove_check(MutationCall *c, MutationAsk *ask, GError **error) {
        Args *a = c->args;

        if (!args_devices_resolve(c, true, error) || !devices_idle(c, error))
                return false;
        g_auto(GStrv) addresses = devices_addresses(a->devices);
        ask->actions[0] = "org.devpass1.make-passthrough";
        ask_devices(ask, a->devices);
        for (guint i = 0; i < a->devices->len; i++) {
                ModelGroup *g = model_intent(c->d->model, ((Device *) a->devices->pdata[i])->address_str);
                if (g)
                        mutation_ask_group(ask, g->settings->name);
        }
        return model_passthrough_remove_check(c->d->model, addresses, error);
}

static bool remove_apply(MutationCall *c, GError **error) {
        Args *a = c->args;
        g_auto(GStrv) addresses = devices_addresses(a->devices);
        /* Missing devices have no driver to change; their objects go with
         * the intent, so take what is needed of them first. */
        g_autoptr(GPtrArray) present = g_ptr_array_new();

        for (guint i = 0; i < a->devices->len; i++) {
                Device *dev = a->devices->pdata[i];
                if (dev->state != DEVICE_STATE_MISSING)
                        g_ptr_array_add(present, dev);
        }
        g_auto(GStrv) bind = devices_addresses(present);
        if (!model_passthrough_remove(c->d->model, addresses, error))
                return false;
        for (size_t i = 0; addresses[i]; i++)
                model_set_reboot_reason(c->d->model, addresses[i], NULL);
        g_autofree char *list = g_strjoinv(", ", addresses);
        mutation_log(c, "Gave %s back to the host", list);
        if (bind[0])
                mutation_effect_bind(c, bind, BIND_TO_HOST);
        else
                return sd_bus_message_append(c->reply, "b", false) >= 0;
        return true;
}

static bool remove_released(MutationCall *c, GPtrArray *results, GError **error) {
        g_autofree char *failed = NULL;
        bool reboot = service_bind_results(c->d, results, &failed);

        if (failed)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Released, but: %s", failed), false;
        return sd_bus_message_append(c->reply, "b", reboot) >= 0;
}

static const MutationSpec remove_spec = {
        .member = "RemovePassthrough",
        .args_size = sizeof(Args),
        .args_clear = args_clear,
        .parse = args_paths_read,
        .check = remove_check,
        .apply = remove_apply,
        .effect_done = remove_released,
};

int bus_passthrough_method_remove(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&remove_spec, m, userdata, error);
}

/* ---- Device.SetVirtualFunctions ---- */

static int vfs_parse(MutationCall *c, sd_bus_error *error) {
        return sd_bus_message_read(c->m, "u", &((Args *) c->args)->count);
}

static bool vfs_check(MutationCall *c, MutationAsk *ask, GError **error) {
        const Device *pf = c->object;
        uint32_t count = ((Args *) c->args)->count;
        char vf[DP_ADDRESS_MAX];

        ask->actions[0] = "org.devpass1.make-passthrough";
        mutation_ask_device(ask, pf->address_str);
        if (!model_sriov_check(c->d->model, pf, count, error))
                return false;
        /* The daemon's changes under way pass; then it can go. */
        if (g_hash_table_contains(c->d->binding, pf->address_str))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "A change of %s is under way: try again when "
                                   "it is done", pf->address_str), false;
        for (unsigned i = 0; count != pf->sriov_num_vfs && device_vf_address(pf, i, vf); i++)
                if (g_hash_table_contains(c->d->binding, vf))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "A driver change of VF %s is under way: "
                                           "try again when it is done", vf), false;
        return true;
}

static bool vfs_apply(MutationCall *c, GError **error) {
        const Device *pf = c->object;
        uint32_t count = ((Args *) c->args)->count;

        /* Stored first: at every start devpassd asks the kernel again. */
        if (!model_sriov_set(c->d->model, pf->address_str, count, error))
                return false;
        mutation_log(c, "Set %u VFs on %s", count, pf->address_str);
        mutation_effect_set_vfs(c, pf, count);
        return true;
}

static bool vfs_set(MutationCall *c, GPtrArray *results, GError **error) {
        const BindResult *r = results->pdata[0];

        if (r->outcome != BIND_DONE)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s (devpassd sets the count again at its "
                                   "next start)", r->reason), false;
        return true;
}

static const MutationSpec vfs_spec = {
        .member = "SetVirtualFunctions",
        .args_size = sizeof(Args),
        .args_clear = args_clear,
        .parse = vfs_parse,
        .check = vfs_check,
        .apply = vfs_apply,
        .effect_done = vfs_set,
};

int bus_passthrough_method_set_vfs(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&vfs_spec, m, userdata, error);
}
