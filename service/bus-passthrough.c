/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Make passthrough and its kin: the calls that change drivers. Each
 * validates (including the safety guard), asks polkit, commits the intent,
 * then lets the binder touch sysfs, and replies when the kernel has
 * answered. */
#include "bus-passthrough.h"

#include <gio/gio.h>

#include "bus-device.h"
#include "bus-errors.h"
#include "bus-group.h"
#include "bus-manager.h"
#include "bus-rule.h"
#include "safety.h"

typedef struct {
        Daemon *d;
        sd_bus_message *m;
        GPtrArray *paths;         /* the devices' object paths, as asked */
        BusSettings options;
        char *group;              /* the group's path, once known */
        unsigned count;           /* SetVirtualFunctions */
        bool unsafe_asked;        /* MakePassthrough: polkit was asked for the unsafe action too */
} Request;

static Request *request_new(Daemon *d) {
        Request *q = g_new0(Request, 1);
        q->d = d;
        q->paths = g_ptr_array_new_with_free_func(g_free);
        return q;
}

static void request_free(Request *q) {
        g_ptr_array_unref(q->paths);
        bus_settings_clear(&q->options);
        g_free(q->group);
        if (q->m)
                sd_bus_message_unref(q->m);
        g_free(q);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Request, request_free);

/* The devices of an "ao": present ones, and with allow_missing those the
 * store knows and the node lacks. Duplicates count once. */
static int devices_resolve(Daemon *d, GPtrArray *paths, bool allow_missing, GPtrArray **ret, sd_bus_error *error) {
        g_autoptr(GPtrArray) devices = g_ptr_array_new();
        char quoted[80];

        if (paths->len == 0)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                        "Name at least one device, e.g. /org/devpass1/devices/0000_17_00_0");
        for (guint i = 0; i < paths->len; i++) {
                const char *path = paths->pdata[i];
                Device *dev = inventory_lookup_path(d->inventory, path);
                if (!dev && allow_missing)
                        dev = model_missing_by_path(d->model, path);
                if (dev) {
                        if (!g_ptr_array_find(devices, dev, NULL))
                                g_ptr_array_add(devices, dev);
                        continue;
                }
                DpAddress a;
                if (!g_str_has_prefix(path, DP_DEVICES_PATH "/") || !address_from_path(path, &a))
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT,
                                                 "%s does not name a device: paths are " DP_DEVICES_PATH
                                                 "/dddd_bb_ss_f", bus_quote(path, quoted));
                char address[DP_ADDRESS_MAX];
                address_format(&a, address);
                return sd_bus_error_setf(error, DP_ERROR_NOT_FOUND,
                                         "No PCI function %s on this node: 'devpassctl devices' lists them", address);
        }
        *ret = g_steal_pointer(&devices);
        return 0;
}

static int paths_read(sd_bus_message *m, GPtrArray *paths) {
        const char *path;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "o")) < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 'o', &path)) > 0)
                g_ptr_array_add(paths, g_strdup(path));
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* "0000:17:00.0, 0000:17:00.1": for polkit's details and messages. */
static char *devices_list(GPtrArray *devices) {
        g_autoptr(GString) s = g_string_new(NULL);

        for (guint i = 0; i < devices->len; i++)
                g_string_append_printf(s, "%s%s", i ? ", " : "", ((Device *) devices->pdata[i])->address_str);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static char **devices_addresses(GPtrArray *devices) {
        char **a = g_new0(char *, devices->len + 1);
        for (guint i = 0; i < devices->len; i++)
                a[i] = g_strdup(((Device *) devices->pdata[i])->address_str);
        return a;
}

static int busy_check(Daemon *d, GPtrArray *devices, sd_bus_error *error) {
        for (guint i = 0; i < devices->len; i++) {
                const Device *dev = devices->pdata[i];
                if (g_hash_table_contains(d->binding, dev->address_str))
                        return sd_bus_error_setf(error, DP_ERROR_BUSY,
                                                 "A driver change of %s is under way: try again when it is done",
                                                 dev->address_str);
        }
        return 0;
}

static void reply_error(sd_bus_message *m, sd_bus_error *error) {
        sd_bus_reply_method_error(m, error);
        sd_bus_error_free(error);
}

/* The guard asks the model who uses the VFs of a PF it checks. */
static char *device_use(const char *address, void *userdata) {
        return model_device_use(userdata, address);
}

static GPtrArray *guard_check(Daemon *d, GPtrArray *devices) {
        return safety_check(d->config.root, devices, device_use, d->model);
}

/* ---- CheckPassthrough ---- */

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
        Daemon *d = userdata;
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) devices = NULL;
        sd_bus_message *reply = NULL;
        int r;

        if ((r = paths_read(m, paths)) < 0 || (r = devices_resolve(d, paths, false, &devices, error)) < 0)
                return r;
        g_autoptr(GPtrArray) findings = guard_check(d, devices);
        if ((r = sd_bus_message_new_method_return(m, &reply)) >= 0 && (r = findings_append(reply, findings)) >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

/* ---- MakePassthrough ---- */

/* Everything that can be refused without asking anyone; *findings gets
 * what the guard found. */
static int make_validate(Request *q, GPtrArray **ret_devices, GPtrArray **findings, sd_bus_error *error) {
        Daemon *d = q->d;
        g_autoptr(GPtrArray) devices = NULL;
        const BusSettings *o = &q->options;
        const char *type;
        int r;

        if ((r = devices_resolve(d, q->paths, false, &devices, error)) < 0 || (r = busy_check(d, devices, error)) < 0)
                return r;
        if (o->present & BUS_SETTING_GROUP) {
                if (o->present & BUS_SETTINGS_GROUP)
                        return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                                "Give either Group (an existing group) or the Name, Type, Class and "
                                                "Description of a new one, not both");
                ModelGroup *g = bus_rule_group_arg(d, o->group, error);
                if (!g)
                        return -ENOENT;
                type = g->settings->type;
        } else {
                if (!(o->present & BUS_SETTING_NAME))
                        return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                                "Name the group: Group (an existing one), or Name (a new one)");
                if ((r = bus_group_settings_check(o, error)) < 0)
                        return r;
                ModelGroup *other = model_group_by_name(d->model, o->name);
                if (other)
                        return sd_bus_error_setf(error, DP_ERROR_BUSY, "A group named '%s' exists already: pass "
                                                 "Group=%s to use it", o->name, other->path);
                type = o->present & BUS_SETTING_TYPE ? o->type : "pci";
        }
        for (guint i = 0; i < devices->len; i++) {
                const Device *dev = devices->pdata[i];
                ModelGroup *held = model_intent(d->model, dev->address_str);
                if (held && !((o->present & BUS_SETTING_GROUP) && g_str_equal(held->path, o->group)))
                        return sd_bus_error_setf(error, DP_ERROR_BUSY, "%s is passed through for group %s already: "
                                                 "release it first", dev->address_str, held->settings->name);
                if (dev->iommu_group < 0)
                        return sd_bus_error_setf(error, DP_ERROR_UNSAFE, "%s has no IOMMU group: turn the IOMMU on "
                                                 "(intel_iommu=on or amd_iommu=on) before passing it through",
                                                 dev->address_str);
                if (g_str_equal(type, "sriov-nic") && !device_is_vf(dev))
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "%s is not an SR-IOV virtual "
                                                 "function: a sriov-nic group holds VFs", dev->address_str);
        }
        g_autoptr(GError) e = NULL;
        ModelGroup *target = o->present & BUS_SETTING_GROUP ? model_group_by_path(d->model, o->group) : NULL;
        if (!model_passthrough_check(d->model, target, devices, &e))
                return sd_bus_error_set(error, bus_error_name_for(e), e->message);
        *findings = guard_check(d, devices);
        g_autoptr(GString) never = g_string_new(NULL);
        for (guint i = 0; i < (*findings)->len; i++) {
                const SafetyFinding *f = (*findings)->pdata[i];
                if (!safety_finding_forceable(f))
                        g_string_append_printf(never, "%s%s", never->len ? "; " : "", f->message);
        }
        if (never->len > 0)
                return sd_bus_error_setf(error, DP_ERROR_UNSAFE, "Refused even with Force: %s", never->str);
        if ((*findings)->len > 0 && !o->force) {
                g_autoptr(GString) s = g_string_new("Refused, the host would lose what it uses: ");
                for (guint i = 0; i < (*findings)->len; i++)
                        g_string_append_printf(s, "%s%s", i ? "; " : "",
                                               ((SafetyFinding *) (*findings)->pdata[i])->message);
                g_string_append(s, ". Pass the devices the guard names along, or Force (needs "
                                   "org.devpass1.make-passthrough-unsafe)");
                return sd_bus_error_set(error, DP_ERROR_UNSAFE, s->str);
        }
        *ret_devices = g_steal_pointer(&devices);
        return 0;
}

/* The end of a driver change: the devices are free again, what the binder
 * found is recorded and told. Returns whether a reboot is needed. */
static bool binding_done(Request *q, GPtrArray *results, char **failed) {
        bool reboot = daemon_bind_results(q->d, results, failed);

        daemon_binding_end(q->d, results);
        g_ptr_array_unref(results);
        daemon_emit(q->d);
        return reboot;
}

static void on_bound(GPtrArray *results, void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autofree char *failed = NULL;
        bool reboot = binding_done(q, results, &failed);

        if (failed)
                sd_bus_reply_method_errorf(q->m, DP_ERROR_FAILED, "%s (the devices stay marked for passthrough; "
                                           "'devpassctl release' gives them back)", failed);
        else
                sd_bus_reply_method_return(q->m, "ob", q->group, reboot);
}

static void on_make_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason, void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GPtrArray) devices = NULL, findings = NULL;
        g_autoptr(GError) e = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        if (auth_refused(m, allowed, action, reason))
                return;
        /* The node may have changed while polkit was asked. */
        if (make_validate(q, &devices, &findings, &error) < 0) {
                reply_error(m, &error);
                return;
        }
        /* Found unsafe only now: Force was not authorized for that. */
        if (findings->len > 0 && !q->unsafe_asked) {
                sd_bus_reply_method_errorf(m, DP_ERROR_UNSAFE, "%s changed while authorization was asked: %s; call "
                                           "again", ((SafetyFinding *) findings->pdata[0])->address,
                                           ((SafetyFinding *) findings->pdata[0])->message);
                return;
        }
        ModelGroup *g = q->options.group ? model_group_by_path(q->d->model, q->options.group) : NULL;
        g = model_passthrough_add(q->d->model, g, g ? NULL : bus_manager_group_from(&q->options), devices, &e);
        if (!g) {
                bus_reply_gerror(m, e);
                return;
        }
        q->group = g_strdup(g->path);
        q->m = sd_bus_message_ref(m);
        daemon_emit(q->d);
        g_auto(GStrv) addresses = devices_addresses(devices);
        daemon_binding_begin(q->d, (const char *const *) addresses);
        Binder *binder = q->d->binder;
        binder_bind(binder, addresses, BIND_TO_VFIO, on_bound, g_steal_pointer(&q));
}

int bus_passthrough_method_make(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = request_new(d);
        g_autoptr(GPtrArray) devices = NULL, findings = NULL;
        int r;

        if ((r = paths_read(m, q->paths)) < 0 ||
            (r = bus_settings_read(m, BUS_SETTINGS_GROUP | BUS_SETTING_GROUP | BUS_SETTING_FORCE, &q->options,
                                   error)) < 0 ||
            (r = make_validate(q, &devices, &findings, error)) < 0)
                return r;
        g_autofree char *list = devices_list(devices);
        ModelGroup *g = q->options.group ? model_group_by_path(d->model, q->options.group) : NULL;
        const char *actions[] = { "org.devpass1.make-passthrough",
                                  findings->len > 0 ? "org.devpass1.make-passthrough-unsafe" : NULL, NULL };
        q->unsafe_asked = findings->len > 0;
        /* Arguments are evaluated in any order: nothing of q's after the steal. */
        const char *group = g ? g->settings->name : q->options.name;
        auth_check(d->auth, m, actions,
                   (const char *const[]) { "device", list, "group", group, "node", d->config.node, NULL },
                   on_make_auth, g_steal_pointer(&q));
        return 1;
}

/* ---- RemovePassthrough ---- */

static int remove_validate(Request *q, GPtrArray **ret_devices, sd_bus_error *error) {
        g_autoptr(GPtrArray) devices = NULL;
        int r;

        if ((r = devices_resolve(q->d, q->paths, true, &devices, error)) < 0 ||
            (r = busy_check(q->d, devices, error)) < 0)
                return r;
        for (guint i = 0; i < devices->len; i++) {
                const Device *dev = devices->pdata[i];
                if (!model_intent(q->d->model, dev->address_str))
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT,
                                                 "%s is not passed through: nothing to release", dev->address_str);
                const char *holder = model_holder(q->d->model, dev->address_str);
                if (holder)
                        return sd_bus_error_setf(error, DP_ERROR_BUSY, "%s is held by %s: release the machine (or "
                                                 "take it back from the tenant) first", dev->address_str, holder);
        }
        *ret_devices = g_steal_pointer(&devices);
        return 0;
}

static void on_released(GPtrArray *results, void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autofree char *failed = NULL;
        bool reboot = binding_done(q, results, &failed);

        if (failed)
                sd_bus_reply_method_errorf(q->m, DP_ERROR_FAILED, "Released, but: %s", failed);
        else
                sd_bus_reply_method_return(q->m, "b", reboot);
}

static void on_remove_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GPtrArray) devices = NULL;
        g_autoptr(GError) e = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        if (auth_refused(m, allowed, action, reason))
                return;
        if (remove_validate(q, &devices, &error) < 0) {
                reply_error(m, &error);
                return;
        }
        g_auto(GStrv) addresses = devices_addresses(devices);
        /* Missing devices have no driver to change; their objects go with
         * the intent, so take what is needed of them first. */
        g_autoptr(GPtrArray) present = g_ptr_array_new();
        for (guint i = 0; i < devices->len; i++) {
                Device *dev = devices->pdata[i];
                if (dev->state != DEVICE_STATE_MISSING)
                        g_ptr_array_add(present, dev);
        }
        g_auto(GStrv) bind = devices_addresses(present);
        if (!model_passthrough_remove(q->d->model, addresses, &e)) {
                bus_reply_gerror(m, e);
                return;
        }
        for (size_t i = 0; addresses[i]; i++)
                model_set_reboot_reason(q->d->model, addresses[i], NULL);
        daemon_emit(q->d);
        if (!bind[0]) {
                sd_bus_reply_method_return(m, "b", false);
                return;
        }
        q->m = sd_bus_message_ref(m);
        daemon_binding_begin(q->d, (const char *const *) bind);
        Binder *binder = q->d->binder;
        binder_bind(binder, bind, BIND_TO_HOST, on_released, g_steal_pointer(&q));
}

int bus_passthrough_method_remove(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = request_new(d);
        g_autoptr(GPtrArray) devices = NULL;
        int r;

        if ((r = paths_read(m, q->paths)) < 0 || (r = remove_validate(q, &devices, error)) < 0)
                return r;
        g_autofree char *list = devices_list(devices);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.make-passthrough", NULL },
                   (const char *const[]) { "device", list, "node", d->config.node, NULL }, on_remove_auth,
                   g_steal_pointer(&q));
        return 1;
}

/* ---- Device.SetVirtualFunctions ---- */

/* The model's refusals, then the changes under way (which pass). */
static int vfs_validate(Daemon *d, const Device *pf, unsigned count, sd_bus_error *error) {
        g_autoptr(GError) e = NULL;
        char vf[DP_ADDRESS_MAX];

        if (!model_sriov_check(d->model, pf, count, &e))
                return sd_bus_error_set(error, bus_error_name_for(e), e->message);
        if (g_hash_table_contains(d->binding, pf->address_str))
                return sd_bus_error_setf(error, DP_ERROR_BUSY, "A change of %s is under way: try again when it "
                                         "is done", pf->address_str);
        for (unsigned i = 0; count != pf->sriov_num_vfs && device_vf_address(pf, i, vf); i++)
                if (g_hash_table_contains(d->binding, vf))
                        return sd_bus_error_setf(error, DP_ERROR_BUSY, "A driver change of VF %s is under way: try "
                                                 "again when it is done", vf);
        return 0;
}

static void on_vfs_set(GPtrArray *results, void *userdata) {
        g_autoptr(Request) q = userdata;
        const BindResult *r = results->pdata[0];

        daemon_binding_end(q->d, results);
        if (r->outcome == BIND_DONE)
                sd_bus_reply_method_return(q->m, NULL);
        else
                sd_bus_reply_method_errorf(q->m, DP_ERROR_FAILED, "%s (devpassd sets the count again at its next "
                                           "start)", r->reason);
        g_ptr_array_unref(results);
}

static void on_vfs_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason, void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        if (auth_refused(m, allowed, action, reason))
                return;
        Device *pf = inventory_lookup_path(q->d->inventory, q->paths->pdata[0]);
        if (!pf) {
                sd_bus_reply_method_errorf(m, DP_ERROR_NOT_FOUND, "%s is gone", (char *) q->paths->pdata[0]);
                return;
        }
        if (vfs_validate(q->d, pf, q->count, &error) < 0) {
                reply_error(m, &error);
                return;
        }
        /* Stored first: at every start devpassd asks the kernel again. */
        if (!model_sriov_set(q->d->model, pf->address_str, q->count, &e)) {
                bus_reply_gerror(m, e);
                return;
        }
        q->m = sd_bus_message_ref(m);
        Daemon *d = q->d;
        unsigned count = q->count;
        daemon_set_vfs(d, pf, count, on_vfs_set, g_steal_pointer(&q));
}

int bus_passthrough_method_set_vfs(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Device *pf = userdata;
        Daemon *d = daemon_of_call(m);
        g_autoptr(Request) q = request_new(d);
        uint32_t count;
        int r;

        if ((r = sd_bus_message_read(m, "u", &count)) < 0 || (r = vfs_validate(d, pf, count, error)) < 0)
                return r;
        q->count = count;
        g_ptr_array_add(q->paths, g_strdup(pf->path));
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.make-passthrough", NULL },
                   (const char *const[]) { "device", pf->address_str, "node", d->config.node, NULL }, on_vfs_auth,
                   g_steal_pointer(&q));
        return 1;
}
