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
#include "bus-node.h"
#include "bus-rule.h"
#include "bus-source.h"
#include "mutation.h"
#include "text.h"

/* The D-Bus specification's RequestName reply; sd-bus does not name it. */
#define DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER 1u
/* How long a stop waits for the driver change in progress. A driver whose
 * unbind never returns must not hold the stop until systemd kills us
 * (TimeoutStopSec, 90 s by default): the change is committed before any
 * write, and the next start's reconcile finishes it. */
#define DAEMON_STOP_BINDER_MS 5000
/* How long READY=1 waits for the start-up reconcile. A driver whose
 * unbind hangs must not keep devpassd from starting (systemd would kill
 * it at TimeoutStartSec= and start it again, into the same hang): past
 * this, devpassd is ready with the bind still under way. */
#define DAEMON_READY_MAX_S 60

/* The objects under the ObjectManager, in the order GetManagedObjects
 * lists them. */
static const BusKind *const bus_kinds[] = {
        &bus_device_kind, &bus_group_kind, &bus_rule_kind, &bus_attachment_kind, &bus_node_kind, NULL,
};

static const BusInterface bus_interfaces[] = {
        { DP_MANAGER_INTERFACE, bus_manager_vtable },
        { DP_DEVICE_INTERFACE, bus_device_vtable },
        { DP_GROUP_INTERFACE, bus_group_vtable },
        { DP_RULE_INTERFACE, bus_rule_vtable },
        { DP_ATTACHMENT_INTERFACE, bus_attachment_vtable },
        { DP_NODE_INTERFACE, bus_node_vtable },
        {}
};

/* The kernel's id of this boot, which claims record; "" when unknown. */
static char *daemon_boot_id(const Daemon *d) {
        g_autofree char *path = g_build_filename(d->service.config.root, "proc", "sys", "kernel", "random", "boot_id", NULL);
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

/* Whether the members' keys moved since the nodes were read. */
static bool daemon_nodes_moved(Daemon *d) {
        return !d->service.nodes || cluster_members_serial(d->service.cluster) != d->service.nodes_serial;
}

/* Another node's change, or this node's own once etcd has it. */
static void daemon_on_replica_changed(void *userdata) {
        Daemon *d = userdata;
        g_autoptr(GError) error = NULL;

        if (!model_resync(d->service.model, &error))
                g_warning("Cannot follow the cluster's changes: %s", error->message);
        /* The members and what they show are the replica's too, and a
         * resync that refreshes nothing does not touch them: read again
         * when their keys moved, unless the emission did. A group new
         * here has no units elsewhere yet: a member counts it in a later
         * revision, which moves its keys. */
        if (!service_emit(&d->service) && daemon_nodes_moved(d))
                service_nodes_sync(&d->service);
}

/* Up, stale, or the members changed. */
static void daemon_on_cluster_state(void *userdata) {
        Daemon *d = userdata;

        bus_manager_emit_cluster_state(d->service.bus);
        service_nodes_sync(&d->service);
}

static const ClusterFuncs daemon_cluster_funcs = {
        .replica_changed = daemon_on_replica_changed,
        .state_changed = daemon_on_cluster_state,
};

/* With [Cluster], the store becomes a replica of etcd's (doc/cluster.md). */
static bool daemon_cluster_join(Daemon *d, GError **error) {
        const Config *config = &d->service.config;

        if (!config->cluster.endpoints)
                return true;
        if (!g_str_equal(config->cluster.node, config->node))
                return g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "[Cluster] Node=%s is not "
                                   "this node's name %s (--node or [Daemon] Node=): rules name nodes by one name, "
                                   "make them the same", config->cluster.node, config->node), false;
        d->service.cluster = cluster_new(&config->cluster, config->node, d->store, &daemon_cluster_funcs, d, error);
        return d->service.cluster != NULL;
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
        (void) sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        g_main_loop_quit(d->loop);
        return G_SOURCE_CONTINUE;
}

/* The pid of whoever owns the name, 0 when the bus will not say. */
static uint32_t daemon_name_owner_pid(Daemon *d) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        uint32_t pid = 0;

        if (sd_bus_call_method(d->service.bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionUnixProcessID", &error, &reply, "s", DP_BUS_NAME) < 0 ||
            sd_bus_message_read(reply, "u", &pid) < 0)
                pid = 0;
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return pid;
}

/* READY=1 once both the name is owned and the start-up reconcile is
 * over: units ordered after devpassd (libvirtd, virtqemud) start with
 * the passthrough devices on vfio-pci. */
static void daemon_ready(Daemon *d) {
        if (!d->name_owned || !d->reconciled || !g_main_loop_is_running(d->loop))
                return;
        g_autoptr(GPtrArray) intents = model_intent_addresses(d->service.model);
        (void) sd_notifyf(0, "READY=1\nSTATUS=Serving %u PCI functions, %u passed through",
                          inventory_size(d->service.inventory), intents->len);
}

static void daemon_on_reconciled(void *userdata) {
        Daemon *d = userdata;

        g_clear_handle_id(&d->ready_source, g_source_remove);
        d->reconciled = true;
        daemon_ready(d);
}

static gboolean daemon_on_ready_late(gpointer userdata) {
        Daemon *d = userdata;

        g_warning("The drivers of passthrough devices are still changing after %d s: ready before they are",
                  DAEMON_READY_MAX_S);
        d->ready_source = 0;
        d->reconciled = true;
        daemon_ready(d);
        return G_SOURCE_REMOVE;
}

/* systemd's WatchdogSec=: a ping from the main loop, so that a loop that
 * stopped turning (a blocking call where none must be) is restarted. */
static gboolean daemon_on_watchdog(gpointer userdata) {
        (void) sd_notify(0, "WATCHDOG=1");
        return G_SOURCE_CONTINUE;
}

static int daemon_on_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Daemon *d = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        uint32_t reply = 0;

        /* The bus's policy (org.devpass1.conf) names who may own the name:
         * without it, or before dbus-daemon reloads it, the answer is
         * AccessDenied, and the fix is the install, not another process. */
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED)) {
                g_warning("The system bus does not let devpassd own %s: its bus policy is missing, or dbus has not "
                          "read it yet. Install it as %s (meson setup --prefix=/usr), then: systemctl reload dbus. "
                          "(%s)", DP_BUS_NAME, DEVPASS_BUS_POLICY_PATH, e->message);
                daemon_fail(d);
                return 0;
        }
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
        g_message("Serving %u PCI functions of node %s as %s", inventory_size(d->service.inventory),
                  d->service.config.node, DP_BUS_NAME);
        d->name_owned = true;
        daemon_ready(d);
        return 0;
}

static bool daemon_connect(Daemon *d, GError **error) {
        int r;

        /* A reply the bus would refuse would cost devpassd its connection:
         * the estimate errs high, and 7/8 of the limit leaves room for the
         * header. */
        d->service.objects = (BusObjects) { .path = DP_ROOT_PATH, .kinds = bus_kinds, .userdata = &d->service,
                                            .size = service_objects_size,
                                            .max_size = d->service.config.max_message_size / 8 * 7 };
        bus_nodes_init(&d->service);
        /* sd_bus_open_system() honours DBUS_SYSTEM_BUS_ADDRESS: the tests'
         * private bus. */
        if ((r = sd_bus_open_system(&d->service.bus)) < 0 ||
            (r = bus_errors_install(d->service.bus, bus_interfaces)) < 0 ||
            (r = bus_manager_register(d->service.bus, &d->service)) < 0 ||
            (r = bus_objects_register(&d->service.objects, d->service.bus)) < 0 ||
            (r = sd_bus_request_name_async(d->service.bus, NULL, DP_BUS_NAME, 0, daemon_on_name, d)) < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r),
                            "Cannot serve on the system bus: %s", g_strerror(-r));
                return false;
        }
        d->bus_source = bus_source_new(d->service.bus, daemon_on_bus_lost, d);
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
        const char *dir = d->service.config.state_dir;

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

        d->service.config = *config;
        *config = (Config) {};
        d->lock_fd = -1;
        d->service.version = g_strdup(PACKAGE_VERSION);
        d->loop = g_main_loop_new(NULL, FALSE);
        if (!daemon_state_lock(d, error))
                return NULL;
        d->names = names_new(d->service.config.pci_ids);
        d->service.inventory = inventory_new(d->service.config.sysfs_root, d->names);
        d->hotplug = hotplug_new(d->service.inventory, service_on_changes, &d->service, error);
        if (!d->hotplug)
                return NULL;
        inventory_changes_free(hotplug_rescan(d->hotplug));
        d->store = store_open_checked(d->service.config.state_dir, model_store_check, error);
        if (!d->store || !daemon_claims_release_stale(d, error))
                return NULL;
        d->service.model = model_new(d->store, d->service.inventory, d->service.config.node, &DP_MODEL_PATHS, error);
        if (!d->service.model)
                return NULL;
        d->service.binder = binder_new(d->service.config.sysfs_root, d->service.config.modprobe, (unsigned) d->service.config.settle_ms);
        d->service.binding = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        d->service.recheck = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        service_boot_list_sync(&d->service);

        if (!daemon_connect(d, error) || !daemon_cluster_join(d, error))
                return NULL;
        d->service.auth = auth_new(d->service.bus);
        (void) sd_notify(0, "STATUS=Binding passthrough devices to vfio-pci");
        d->ready_source = g_timeout_add_seconds(DAEMON_READY_MAX_S, daemon_on_ready_late, d);
        service_start_reconcile(&d->service, daemon_on_reconciled, d);
        uint64_t watchdog_usec;
        if (sd_watchdog_enabled(false, &watchdog_usec) > 0)
                d->watchdog_source = g_timeout_add(MAX(watchdog_usec / 2000, 1), daemon_on_watchdog, d);
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
        g_clear_handle_id(&d->watchdog_source, g_source_remove);
        /* Cleared: the reconcile's end may still be delivered below. */
        g_clear_handle_id(&d->ready_source, g_source_remove);
        if (d->bus_source) {
                g_source_destroy(d->bus_source);
                g_source_unref(d->bus_source);
        }
        /* Callers of driver changes are answered while the bus is open:
         * the binder's results (stopped ones for what it dropped) reach
         * their callbacks here, as no new call comes in any more. */
        if (d->service.binder) {
                binder_stop(d->service.binder, DAEMON_STOP_BINDER_MS);
                while (g_main_context_iteration(NULL, FALSE))
                        ;
        }
        /* Changes on their way to etcd, or in line for it, are answered (not made). */
        cluster_free(d->service.cluster);
        mutation_line_stop(&d->service);
        /* Calls still waiting for polkit are refused. */
        auth_free(d->service.auth);
        sd_bus_flush_close_unref(d->service.bus);
        binder_free(d->service.binder);
        if (d->service.nodes)
                g_ptr_array_unref(d->service.nodes);
        model_free(d->service.model);
        store_close(d->store);
        if (d->service.binding)
                g_hash_table_unref(d->service.binding);
        if (d->service.recheck)
                g_hash_table_unref(d->service.recheck);
        g_free(d->service.boot_list);
        hotplug_free(d->hotplug);
        inventory_free(d->service.inventory);
        names_free(d->names);
        g_main_loop_unref(d->loop);
        g_free(d->service.version);
        config_clear(&d->service.config);
        /* Last: nothing of the state is in use any more. */
        if (d->lock_fd >= 0)
                close(d->lock_fd);
        g_free(d);
}

int daemon_run(Daemon *d) {
        g_main_loop_run(d->loop);
        return d->exit_status;
}
