/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "bus-attachment.h"
#include "bus-device.h"
#include "bus-errors.h"
#include "bus-group.h"
#include "bus-manager.h"
#include "bus-rule.h"
#include "bus-source.h"
#include "text.h"

/* The D-Bus specification's RequestName reply; sd-bus does not name it. */
#define DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER 1u
#define VFIO_DRIVER "vfio-pci"
/* How long a stop waits for the driver change in progress. A driver whose
 * unbind never returns must not hold the stop until systemd kills us
 * (TimeoutStopSec, 90 s by default): the change is committed before any
 * write, and the next start's reconcile finishes it. */
#define DAEMON_STOP_BINDER_MS 5000

static const BusInterface bus_interfaces[] = {
        { DP_MANAGER_INTERFACE, bus_manager_vtable },
        { DP_DEVICE_INTERFACE, bus_device_vtable },
        { DP_GROUP_INTERFACE, bus_group_vtable },
        { DP_RULE_INTERFACE, bus_rule_vtable },
        { DP_ATTACHMENT_INTERFACE, bus_attachment_vtable },
        {}
};

Daemon *daemon_of_call(sd_bus_message *m) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(m)));
}

/* The boot-time list the udev rule reads: passthrough devices come up on
 * vfio-pci after a reboot, before a host driver can take them. Written
 * whole (temporary file, fsync, rename) whenever it changes. */
static void daemon_boot_list_sync(Daemon *d) {
        g_autoptr(GPtrArray) addresses = model_intent_addresses(d->model);
        g_autoptr(GString) s = g_string_new("# Written by devpassd: devices that boot on vfio-pci.\n");
        g_autoptr(GError) error = NULL;

        for (guint i = 0; i < addresses->len; i++)
                g_string_append_printf(s, "%s\n", (char *) addresses->pdata[i]);
        if (g_strcmp0(d->boot_list, s->str) == 0)
                return;
        g_autofree char *path = g_build_filename(d->config.state_dir, DP_BOOT_LIST, NULL);
        if (!g_file_set_contents_full(path, s->str, s->len,
                                      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &error)) {
                g_warning("Cannot write %s (devices may boot on their host drivers): %s", path, error->message);
                return;
        }
        g_free(d->boot_list);
        d->boot_list = g_string_free(g_steal_pointer(&s), FALSE);
}

static void emit_removed(Daemon *d, ModelChanges *c) {
        static const char *const interfaces[] = {
                [MODEL_OBJECT_DEVICE] = DP_DEVICE_INTERFACE,
                [MODEL_OBJECT_GROUP] = DP_GROUP_INTERFACE,
                [MODEL_OBJECT_RULE] = DP_RULE_INTERFACE,
                [MODEL_OBJECT_ATTACHMENT] = DP_ATTACHMENT_INTERFACE,
        };

        for (guint i = 0; i < c->removed->len; i++) {
                const ModelRemoved *r = c->removed->pdata[i];
                (void) bus_emit_object_removed(d->bus, r->path, interfaces[r->kind]);
        }
}

static void emit_rest(Daemon *d, ModelChanges *c, GHashTable *skip) {
        GHashTableIter it;
        gpointer key, value;

        for (guint i = 0; i < c->added->len; i++)
                (void) sd_bus_emit_object_added(d->bus, c->added->pdata[i]);
        g_hash_table_iter_init(&it, c->devices);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!skip || !g_hash_table_contains(skip, key))
                        bus_device_emit_properties(d->bus, key, GPOINTER_TO_UINT(value));
        g_hash_table_iter_init(&it, c->groups);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                g_autofree const char **names = bus_group_prop_names(GPOINTER_TO_UINT(value));
                (void) sd_bus_emit_properties_changed_strv(d->bus, ((ModelGroup *) key)->path, DP_GROUP_INTERFACE,
                                                           (char **) names);
        }
        g_hash_table_iter_init(&it, c->rules);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                g_autofree const char **names = bus_rule_prop_names(GPOINTER_TO_UINT(value));
                (void) sd_bus_emit_properties_changed_strv(d->bus, ((ModelRule *) key)->path, DP_RULE_INTERFACE,
                                                           (char **) names);
        }
        g_hash_table_iter_init(&it, c->attachments);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                g_autofree const char **names = bus_attachment_prop_names(GPOINTER_TO_UINT(value));
                (void) sd_bus_emit_properties_changed_strv(d->bus, ((ModelAttachment *) key)->path,
                                                           DP_ATTACHMENT_INTERFACE, (char **) names);
        }
        if (c->reboot_changed)
                bus_manager_emit_reboot(d->bus);
        daemon_boot_list_sync(d);
}

void daemon_emit(Daemon *d) {
        g_autoptr(ModelChanges) c = model_take_changes(d->model);

        emit_removed(d, c);
        emit_rest(d, c, NULL);
}

void daemon_binding_begin(Daemon *d, const char *const *addresses) {
        for (size_t i = 0; addresses[i]; i++)
                g_hash_table_add(d->binding, g_strdup(addresses[i]));
}

void daemon_set_vfs(Daemon *d, const Device *pf, unsigned count, BinderFunc done, void *userdata) {
        daemon_binding_begin(d, (const char *const[]) { pf->address_str, NULL });
        binder_set_vfs(d->binder, pf->address_str, count, model_pf_vfs_passed_through(d->model, pf), done,
                       userdata);
}

static void daemon_override_forget(Daemon *d, const char *address) {
        g_autoptr(GError) error = NULL;

        if (!model_override_forget(d->model, address, &error))
                g_warning("%s is back with its host driver, but the record that devpass overrode it stays: %s",
                          address, error->message);
}

bool daemon_bind_results(Daemon *d, GPtrArray *results, char **failed) {
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
                model_set_reboot_reason(d->model, r->address, r->outcome == BIND_REBOOT_REQUIRED ? text : NULL);
                model_set_bind_error(d->model, r->address, r->outcome == BIND_FAILED ? text : NULL);
                /* Given back: the override devpass wrote is gone. */
                if (r->outcome == BIND_DONE && !model_intent(d->model, r->address) &&
                    !g_str_equal(r->driver, VFIO_DRIVER))
                        daemon_override_forget(d, r->address);
                if (r->outcome == BIND_REBOOT_REQUIRED) {
                        g_message("%s", r->reason);
                        reboot = true;
                } else if (r->outcome == BIND_FAILED) {
                        g_warning("%s", r->reason);
                        g_string_append_printf(f, "%s%s", f->len ? "; " : "", r->reason);
                }
        }
        model_refresh(d->model);
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
static void daemon_on_reconciled(GPtrArray *results, void *userdata) {
        Daemon *d = userdata;

        daemon_bind_results(d, results, NULL);
        daemon_binding_end(d, results);
        g_ptr_array_unref(results);
        daemon_emit(d);
}

static void daemon_reconcile_queue(Daemon *d, GPtrArray *addresses, BindTarget target) {
        if (addresses->len == 0)
                return;
        g_message("Binding %u device%s %s", addresses->len, addresses->len == 1 ? "" : "s",
                  target == BIND_TO_VFIO ? "to vfio-pci again" : "back to their host drivers");
        g_ptr_array_add(addresses, NULL);
        daemon_binding_begin(d, (const char *const *) addresses->pdata);
        binder_bind(d->binder, (char **) addresses->pdata, target, daemon_on_reconciled, d);
}

/* devices: Device*. A device whose last driver change failed is tried
 * again only with retry (at start, or when it is new): one failure is
 * one reboot reason, not a bind attempt on every event. */
static void daemon_reconcile(Daemon *d, GPtrArray *devices, bool retry) {
        g_autoptr(GPtrArray) to_vfio = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) to_host = g_ptr_array_new_with_free_func(g_free);
        bool settled = false;

        for (guint i = 0; i < devices->len; i++) {
                const Device *dev = devices->pdata[i];
                const char *address = dev->address_str;
                bool on_vfio = g_str_equal(dev->driver, VFIO_DRIVER);
                bool overridden = dev->driver_override && dev->driver_override[0];

                /* Seen again when the change under way is over. */
                if (g_hash_table_contains(d->binding, address)) {
                        g_hash_table_add(d->recheck, g_strdup(address));
                        continue;
                }
                /* A driver that let go at last, or someone who finished the
                 * job: the reboot reason or error is out of date. */
                if (model_intent(d->model, address) && on_vfio && model_bind_failed(d->model, address)) {
                        model_set_reboot_reason(d->model, address, NULL);
                        model_set_bind_error(d->model, address, NULL);
                        settled = true;
                }
                if (!retry && model_bind_failed(d->model, address))
                        continue;
                if (model_intent(d->model, address)) {
                        if (!on_vfio)
                                g_ptr_array_add(to_vfio, g_strdup(address));
                } else if (model_override_recorded(d->model, address)) {
                        /* Unbound too: a release cut short between unbind and probe. */
                        if (on_vfio || overridden || !dev->driver[0])
                                g_ptr_array_add(to_host, g_strdup(address));
                        else
                                daemon_override_forget(d, address);
                } else if (on_vfio || g_strcmp0(dev->driver_override, VFIO_DRIVER) == 0)
                        g_message("%s is bound to vfio-pci by hand (driver_override not written by devpass): "
                                  "devpass leaves it alone", address);
        }
        daemon_reconcile_queue(d, to_vfio, BIND_TO_VFIO);
        daemon_reconcile_queue(d, to_host, BIND_TO_HOST);
        if (settled) {
                model_refresh(d->model);
                daemon_emit(d);
        }
}

void daemon_binding_end(Daemon *d, GPtrArray *results) {
        g_autoptr(GPtrArray) again = g_ptr_array_new();

        for (guint i = 0; i < results->len; i++) {
                const char *address = ((BindResult *) results->pdata[i])->address;
                DpAddress a;
                Device *dev = address_parse(address, &a) ? inventory_lookup(d->inventory, &a) : NULL;
                g_hash_table_remove(d->binding, address);
                if (g_hash_table_remove(d->recheck, address) && dev)
                        g_ptr_array_add(again, dev);
        }
        daemon_reconcile(d, again, false);
}

static void daemon_on_changes(InventoryChanges *changes, void *userdata) {
        Daemon *d = userdata;
        g_autoptr(GPtrArray) driven = g_ptr_array_new();
        GHashTableIter it;
        gpointer key, value;

        /* Devices that came are announced with their group already; a
         * passed-through one that came back has its facts kept. */
        model_passthrough_facts_sync(d->model);
        model_refresh(d->model);
        g_autoptr(ModelChanges) c = model_take_changes(d->model);
        emit_removed(d, c);
        bus_device_emit_changes(d->bus, changes);
        bus_manager_emit_changes(d->bus, changes);
        emit_rest(d, c, changes->added_set);

        /* Each device that came, and each whose driver changed (bind,
         * unbind), is reconciled; the rest are as they were. */
        daemon_reconcile(d, changes->added, true);
        g_hash_table_iter_init(&it, changes->changed);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (GPOINTER_TO_UINT(value) & DEVICE_PROP_BIT(DEVICE_PROP_DRIVER))
                        g_ptr_array_add(driven, key);
        daemon_reconcile(d, driven, false);
}

static void daemon_on_vfs_restored(GPtrArray *results, void *userdata) {
        Daemon *d = userdata;
        const BindResult *r = results->pdata[0];

        daemon_binding_end(d, results);
        if (r->outcome != BIND_DONE)
                g_warning("Cannot set the VF count asked for again: %s", r->reason);
        g_ptr_array_unref(results);
}

/* The kernel forgets VF counts at a reboot: those asked for come back
 * before the reconcile (the binder runs jobs in order), and their VFs
 * are reconciled as they appear. */
static void daemon_sriov_restore(Daemon *d) {
        g_autoptr(GPtrArray) pfs = model_sriov_addresses(d->model);

        for (guint i = 0; i < pfs->len; i++) {
                const char *address = pfs->pdata[i];
                unsigned count = model_sriov_count(d->model, address);
                DpAddress a;
                const Device *pf = address_parse(address, &a) ? inventory_lookup(d->inventory, &a) : NULL;

                if (!pf)
                        g_message("%s was asked for %u VFs but is not on this node", address, count);
                else if (count > pf->sriov_total_vfs)
                        g_warning("%s was asked for %u VFs but supports %u now: left as it is", address, count,
                                  pf->sriov_total_vfs);
                else if (pf->sriov_num_vfs != count) {
                        g_message("Setting %u VFs on %s again (it has %u)", count, address, pf->sriov_num_vfs);
                        daemon_set_vfs(d, pf, count, daemon_on_vfs_restored, d);
                }
        }
}

static void daemon_start_reconcile(Daemon *d) {
        g_autoptr(GPtrArray) intents = model_intent_addresses(d->model);

        for (guint i = 0; i < intents->len; i++) {
                DpAddress a;
                if (!address_parse(intents->pdata[i], &a) || !inventory_lookup(d->inventory, &a))
                        g_message("%s is passed through but not present on this node (yet)",
                                  (char *) intents->pdata[i]);
        }
        daemon_sriov_restore(d);
        daemon_reconcile(d, inventory_sorted(d->inventory), true);
}

/* The kernel's id of this boot, which claims record; "" when unknown. */
static char *daemon_boot_id(const Daemon *d) {
        g_autofree char *path = g_build_filename(d->config.root, "proc", "sys", "kernel", "random", "boot_id", NULL);
        g_autofree char *text = NULL;
        g_autoptr(GError) error = NULL;

        if (!g_file_get_contents(path, &text, NULL, &error)) {
                g_warning("Cannot read the boot id: %s; claims of earlier boots are kept", error->message);
                return g_strdup("");
        }
        g_strstrip(text);
        if (!g_uuid_string_is_valid(text)) {
                g_autofree char *shown = text_sanitize(text, strlen(text), NULL);
                g_warning("%s holds no boot id (\"%.40s\"); claims of earlier boots are kept", path, shown);
                return g_strdup("");
        }
        return g_steal_pointer(&text);
}

/* No machine of an earlier boot runs: its claims go before the model
 * loads them, one line per machine. */
static bool daemon_claims_release_stale(Daemon *d, GError **error) {
        g_autofree char *boot_id = daemon_boot_id(d);

        store_set_boot_id(d->store, boot_id);
        g_autoptr(GPtrArray) stale = store_claims_release_stale(d->store, error);
        if (!stale)
                return false;
        for (guint i = 0; i < stale->len;) {
                const char *machine = ((StoreClaim *) stale->pdata[i])->holder;
                g_autoptr(GString) list = g_string_new(NULL);
                for (; i < stale->len && g_str_equal(((StoreClaim *) stale->pdata[i])->holder, machine); i++)
                        g_string_append_printf(list, "%s%s", list->len ? ", " : "",
                                               ((StoreClaim *) stale->pdata[i])->address);
                g_info("Released the claim of machine %s on %s: it was made in an earlier boot", machine, list->str);
        }
        return true;
}

static void daemon_fail(Daemon *d) {
        d->exit_status = 1;
        g_main_loop_quit(d->loop);
}

static void daemon_on_bus_lost(void *userdata) {
        daemon_fail(userdata);
}

static gboolean daemon_on_signal(gpointer userdata) {
        Daemon *d = userdata;

        g_message("Stopping on signal");
        (void) sd_notify(0, "STOPPING=1");
        g_main_loop_quit(d->loop);
        return G_SOURCE_CONTINUE;
}

/* The pid of whoever owns the name, 0 when the bus will not say. */
static uint32_t daemon_name_owner_pid(Daemon *d) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        uint32_t pid = 0;

        if (sd_bus_call_method(d->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionUnixProcessID", &error, &reply, "s", DP_BUS_NAME) < 0 ||
            sd_bus_message_read(reply, "u", &pid) < 0)
                pid = 0;
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return pid;
}

static int daemon_on_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Daemon *d = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        uint32_t reply = 0;

        if (e) {
                g_warning("Cannot own %s on the system bus: %s", DP_BUS_NAME, e->message);
                daemon_fail(d);
                return 0;
        }
        /* Not queued (sd-bus asks DO_NOT_QUEUE): anything but primary
         * owner means another process serves the name, and a second
         * devpassd would answer nothing while looking alive. */
        if (sd_bus_message_read(m, "u", &reply) < 0 || reply != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
                uint32_t pid = daemon_name_owner_pid(d);
                g_autofree char *who = pid ? g_strdup_printf(" (pid %u)", pid) : g_strdup("");
                g_warning("%s is owned by another process%s on this bus: stop it first; exiting", DP_BUS_NAME,
                          who);
                daemon_fail(d);
                return 0;
        }
        g_message("Serving %u PCI functions of node %s as %s", inventory_size(d->inventory),
                  d->config.node, DP_BUS_NAME);
        (void) sd_notifyf(0, "READY=1\nSTATUS=Serving %u PCI functions", inventory_size(d->inventory));
        return 0;
}

static bool daemon_connect(Daemon *d, GError **error) {
        int r;

        /* sd_bus_open_system() honours DBUS_SYSTEM_BUS_ADDRESS: the tests'
         * private bus. */
        if ((r = sd_bus_open_system(&d->bus)) < 0 ||
            (r = bus_errors_install(d->bus, bus_interfaces)) < 0 ||
            (r = bus_manager_register(d->bus, d)) < 0 ||
            (r = bus_device_register(d->bus, d)) < 0 ||
            (r = bus_group_register(d->bus, d)) < 0 ||
            (r = bus_rule_register(d->bus, d)) < 0 ||
            (r = bus_attachment_register(d->bus, d)) < 0 ||
            (r = sd_bus_request_name_async(d->bus, NULL, DP_BUS_NAME, 0, daemon_on_name, d)) < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r),
                            "Cannot serve on the system bus: %s", g_strerror(-r));
                return false;
        }
        d->bus_source = bus_source_new(d->bus, daemon_on_bus_lost, d);
        g_source_attach(d->bus_source, NULL);
        return true;
}

/* The pid written in the lock file by the daemon that holds it; 0 when
 * unreadable (it may be writing it now). */
static unsigned lock_holder_pid(int fd) {
        char buf[16] = "";
        gint64 pid;

        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        text_strip_newline(buf);
        return text_parse_int(buf, 1, G_MAXINT32, &pid) ? (unsigned) pid : 0;
}

/* One daemon per state directory, whatever bus each is on: the lock is
 * held from before the database is opened until the process ends (the
 * kernel drops it when a crashed daemon's fd closes). */
static bool daemon_state_lock(Daemon *d, GError **error) {
        const char *dir = d->config.state_dir;

        if (g_mkdir_with_parents(dir, 0700) < 0) {
                int err = errno;
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                            "Cannot create the state directory %s: %s", dir, g_strerror(err));
                return false;
        }
        g_autofree char *path = g_build_filename(dir, DP_LOCK_FILE, NULL);
        d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (d->lock_fd < 0) {
                int err = errno;
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot open %s: %s", path,
                            g_strerror(err));
                return false;
        }
        if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                int err = errno;
                unsigned pid = err == EWOULDBLOCK ? lock_holder_pid(d->lock_fd) : 0;
                g_autofree char *who = pid ? g_strdup_printf(" (pid %u)", pid) : g_strdup("");
                if (err == EWOULDBLOCK)
                        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST, "Another devpassd%s uses %s: "
                                    "stop it first, or give this one another --state-dir", who, dir);
                else
                        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot lock %s: %s",
                                    path, g_strerror(err));
                return false;
        }
        g_autofree char *pid = g_strdup_printf("%ld\n", (long) getpid());
        if (ftruncate(d->lock_fd, 0) < 0 || pwrite(d->lock_fd, pid, strlen(pid), 0) < 0)
                g_message("Cannot write the pid into %s (the lock holds): %s", path, g_strerror(errno));
        return true;
}

Daemon *daemon_new(Config *config, GError **error) {
        g_autoptr(Daemon) d = g_new0(Daemon, 1);

        d->config = *config;
        *config = (Config) {};
        d->lock_fd = -1;
        d->version = g_strdup(PACKAGE_VERSION);
        d->loop = g_main_loop_new(NULL, FALSE);
        if (!daemon_state_lock(d, error))
                return NULL;
        d->names = names_new(d->config.pci_ids);
        d->inventory = inventory_new(d->config.sysfs_root, d->names);
        d->hotplug = hotplug_new(d->inventory, daemon_on_changes, d, error);
        if (!d->hotplug)
                return NULL;
        inventory_changes_free(hotplug_rescan(d->hotplug));
        d->store = store_open_checked(d->config.state_dir, model_store_check, error);
        if (!d->store || !daemon_claims_release_stale(d, error))
                return NULL;
        d->model = model_new(d->store, d->inventory, d->config.node, error);
        if (!d->model)
                return NULL;
        d->binder = binder_new(d->config.sysfs_root, d->config.modprobe, (unsigned) d->config.settle_ms);
        d->binding = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        d->recheck = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        daemon_boot_list_sync(d);

        if (!daemon_connect(d, error))
                return NULL;
        d->auth = auth_new(d->bus);
        daemon_start_reconcile(d);
        d->signal_sources[0] = g_unix_signal_add(SIGTERM, daemon_on_signal, d);
        d->signal_sources[1] = g_unix_signal_add(SIGINT, daemon_on_signal, d);
        return g_steal_pointer(&d);
}

void daemon_free(Daemon *d) {
        if (!d)
                return;
        for (size_t i = 0; i < G_N_ELEMENTS(d->signal_sources); i++)
                if (d->signal_sources[i])
                        g_source_remove(d->signal_sources[i]);
        if (d->bus_source) {
                g_source_destroy(d->bus_source);
                g_source_unref(d->bus_source);
        }
        /* Callers of driver changes are answered while the bus is open:
         * the binder's results (stopped ones for what it dropped) reach
         * their callbacks here, as no new call comes in any more. */
        if (d->binder) {
                binder_stop(d->binder, DAEMON_STOP_BINDER_MS);
                while (g_main_context_iteration(NULL, FALSE))
                        ;
        }
        /* Calls still waiting for polkit are refused. */
        auth_free(d->auth);
        sd_bus_flush_close_unref(d->bus);
        binder_free(d->binder);
        model_free(d->model);
        store_close(d->store);
        if (d->binding)
                g_hash_table_unref(d->binding);
        if (d->recheck)
                g_hash_table_unref(d->recheck);
        g_free(d->boot_list);
        hotplug_free(d->hotplug);
        inventory_free(d->inventory);
        names_free(d->names);
        g_main_loop_unref(d->loop);
        g_free(d->version);
        config_clear(&d->config);
        /* Last: nothing of the state is in use any more. */
        if (d->lock_fd >= 0)
                close(d->lock_fd);
        g_free(d);
}

int daemon_run(Daemon *d) {
        g_main_loop_run(d->loop);
        return d->exit_status;
}
