/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for devpassd's bus work: a bare sd-bus service that exports N
 * objects with the same property signatures as org.devpass1.Device (static
 * values, the same fallback-vtable mechanism), and a trivial method.
 *
 * And the floor for a mutating call (Manager.CreateGroup): /manager's
 * CreateGroup reads the same a{sv}, asks polkit CheckAuthorization of
 * org.devpass1.manage-groups for the caller's bus name with the same
 * details (group, node), emits the new group's InterfacesAdded (the
 * Group interface with every property, as devpassd's) and replies with a
 * path. The polkit call is a plain synchronous sd-bus call on the
 * service's own connection: the least any service can do to ask polkit.
 * CreateGroupDurable does the same and then appends what a SQLite WAL
 * commit of one group appends (three 4 KiB pages with their frame
 * headers) to a file in --state-dir and fdatasync()s it. With --glib, the
 * service runs a GLib main loop instead (under the name
 * org.devpass1.BareGlib), and CreateGroupGio asks polkit as devpassd
 * does, asynchronously through polkit-gobject (GDBus, its own connection
 * and I/O thread): not a floor, a breakdown of where devpassd's time goes.
 *
 * CreateGroupStored, with --db=FILE (a database with devpassd's schema),
 * writes the group's row as devpassd's store does, in one durable SQLite
 * transaction (WAL, synchronous=FULL): the floor for the same durable
 * transaction.
 *
 * And the floor for Manager.Claim, with --db=FILE (a copy of
 * devpassd's database): /manager's Claim asks polkit CheckAuthorization
 * of org.devpass1.claim with the details devpassd passes (group, machine,
 * node), commits the rows a claim of one device writes in one durable
 * SQLite transaction (WAL, synchronous=FULL, as the store: the claims row,
 * the attachment's claimed generation) and replies as devpassd does;
 * Release deletes the machine's claims. What the caller says (the group,
 * the device, the attachment) is taken on trust: no model, no choice.
 *
 * Usage: bench-bare-service N [--manager] [--state-dir=DIR] [--glib] [--db=FILE]
 * (/manager is there only with --manager, so that the other floors'
 * GetManagedObjects stay as they were.) */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <polkit/polkit.h>
#include <sqlite3.h>
#include <systemd/sd-bus.h>

typedef struct {
        char *s;
        uint16_t q;
        uint32_t u;
        int32_t i;
        uint8_t y;
        int b;
        char *o;
        char **as;
} Bare;

static Bare bare = { .s = "0000:00:00.0", .o = "/", .q = 0x10de, .u = 0x030000, .i = -1 };
static char *empty_strv[] = { NULL };
static unsigned n_objects;

static int get_ao(sd_bus *bus, const char *path, const char *interface, const char *property,
                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "ao", 0);
}

static int method_ping(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

static int wal_fd = -1;
static unsigned n_groups;

/* What a new group shows of the settings: its name (also polkit's
 * detail), type and class; devpassd's defaults for the rest. */
typedef struct {
        const char *name, *type, *class_name;
} Settings;

static int read_settings(sd_bus_message *m, Settings *s) {
        const char *key;
        int r;

        *s = (Settings) { "", "pci", "" };
        if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                if ((r = sd_bus_message_read(m, "s", &key)) < 0)
                        return r;
                const char **to = strcmp(key, "Name") == 0    ? &s->name
                                  : strcmp(key, "Type") == 0  ? &s->type
                                  : strcmp(key, "Class") == 0 ? &s->class_name
                                                              : NULL;
                r = to ? sd_bus_message_read(m, "v", "s", to) : sd_bus_message_skip(m, "v");
                if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* The new group's InterfacesAdded, as devpassd's: the Group interface
 * with every property, a new group's values (no rules, no devices, no
 * units on this node). Part of the call's contract, so of the floor. */
static int emit_added(sd_bus *bus, const char *path, const Settings *s) {
        return sd_bus_emit_signal(bus, "/bare", "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                  "oa{sa{sv}}", path, 1, "org.devpass1.Group", 11, "Name", "s", s->name, "Type", "s",
                                  s->type, "Description", "s", "", "Class", "s", s->class_name, "Tenant", "s", "",
                                  "TenantNode", "s", "", "Rules", "ao", 0, "Devices", "ao", 0, "Total", "u", 0,
                                  "Free", "u", 0, "Nodes", "a{s(uu)}", 1, "testnode", 0, 0);
}

/* A new group: its path, its InterfacesAdded, the reply. */
static int group_added(sd_bus_message *m, const Settings *s) {
        char path[64];
        int r;

        snprintf(path, sizeof(path), "/bare/groups/%u", ++n_groups);
        if ((r = emit_added(sd_bus_message_get_bus(m), path, s)) < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", path);
}

/* A synchronous CheckAuthorization of action for the caller; machine:
 * NULL for none, else a detail as devpassd gives it. */
static int polkit_check(sd_bus_message *m, const char *action, const char *group, const char *machine,
                        sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        int authorized = 0, challenge = 0;
        int r = machine ? sd_bus_call_method(sd_bus_message_get_bus(m), "org.freedesktop.PolicyKit1",
                                             "/org/freedesktop/PolicyKit1/Authority",
                                             "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", error,
                                             &reply, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                             sd_bus_message_get_sender(m), action, 3, "group", group, "machine",
                                             machine, "node", "testnode", 0u, "")
                        : sd_bus_call_method(sd_bus_message_get_bus(m), "org.freedesktop.PolicyKit1",
                                             "/org/freedesktop/PolicyKit1/Authority",
                                             "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", error,
                                             &reply, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                             sd_bus_message_get_sender(m), action, 2, "group", group, "node",
                                             "testnode", 0u, "");
        if (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "bba{ss}")) >= 0 &&
            (r = sd_bus_message_read(reply, "bb", &authorized, &challenge)) >= 0)
                r = sd_bus_message_skip(reply, "a{ss}");
        sd_bus_message_unref(reply);
        if (r < 0)
                return r;
        if (!authorized)
                return sd_bus_error_set(error, "org.devpass1.Error.NotAuthorized", "not authorized");
        return 0;
}

/* --db: the statements of a claim and of a new group, prepared once as
 * the store keeps its own. */
static sqlite3 *db;
static sqlite3_stmt *db_begin, *claim_insert, *claim_update, *db_commit, *db_rollback, *claim_release, *group_insert;

static int sql_step(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return rc == SQLITE_DONE ? 0 : -EIO;
}

static int sql_prepare(const char *sql, sqlite3_stmt **st) {
        return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int db_open(const char *path) {
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
                         NULL, NULL, NULL) != SQLITE_OK ||
            sql_prepare("BEGIN IMMEDIATE", &db_begin) < 0 ||
            sql_prepare("INSERT INTO claims (address, holder, attachment_id, mac) VALUES (?, ?, ?, ?)",
                        &claim_insert) < 0 ||
            sql_prepare("UPDATE attachments SET claimed_generation = generation WHERE id = ?", &claim_update) < 0 ||
            sql_prepare("COMMIT", &db_commit) < 0 || sql_prepare("ROLLBACK", &db_rollback) < 0 ||
            sql_prepare("DELETE FROM claims WHERE holder = ?", &claim_release) < 0 ||
            sql_prepare("INSERT INTO groups (name, type, description, class, tenant, tenant_node) "
                        "VALUES (?, ?, '', ?, '', '')", &group_insert) < 0) {
                fprintf(stderr, "bare-service: %s: %s\n", path, sqlite3_errmsg(db));
                return -EIO;
        }
        return 0;
}

/* The group's row in one durable SQLite transaction, as devpassd's store
 * writes it. */
static int group_store(const Settings *s, sd_bus_error *error) {
        int r;

        if (!db)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "started without --db");
        if ((r = sql_step(db_begin)) < 0)
                return r;
        sqlite3_bind_text(group_insert, 1, s->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(group_insert, 2, s->type, -1, SQLITE_STATIC);
        sqlite3_bind_text(group_insert, 3, s->class_name, -1, SQLITE_STATIC);
        if ((r = sql_step(group_insert)) < 0 || (r = sql_step(db_commit)) < 0) {
                sql_step(db_rollback);
                return sd_bus_error_set(error, "org.devpass1.Error.Failed", sqlite3_errmsg(db));
        }
        return 0;
}

typedef enum {
        KEEP_NOTHING,
        KEEP_FRAMES,              /* the bytes of a WAL commit, and fdatasync() */
        KEEP_ROW,                 /* the row, in a SQLite transaction */
} Keep;

static int create_group(sd_bus_message *m, Keep keep, sd_bus_error *error) {
        static char frames[3 * (24 + 4096)];
        Settings s;
        int r;

        if ((r = read_settings(m, &s)) < 0 ||
            (r = polkit_check(m, "org.devpass1.manage-groups", s.name, NULL, error)) < 0)
                return r;
        if (keep == KEEP_FRAMES) {
                if (wal_fd < 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "started without --state-dir");
                if (write(wal_fd, frames, sizeof(frames)) != (ssize_t) sizeof(frames) || fdatasync(wal_fd) < 0)
                        return -errno;
        }
        if (keep == KEEP_ROW && (r = group_store(&s, error)) < 0)
                return r;
        return group_added(m, &s);
}

static int method_create_group(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return create_group(m, KEEP_NOTHING, error);
}

static int method_create_group_durable(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return create_group(m, KEEP_FRAMES, error);
}

static int method_create_group_stored(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return create_group(m, KEEP_ROW, error);
}

/* Claim(machine, group name, attachment path, name and id, device address, its
 * IOMMU group, MAC): the round trip, polkit, one durable transaction, and
 * devpassd's reply a(osa(siss)) of one attachment of one device. */
static int method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *machine, *group, *attachment, *name, *address, *mac;
        int64_t attachment_id;
        int32_t iommu_group;
        char vfio[32];
        int r;

        if (!db)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "started without --db");
        if ((r = sd_bus_message_read(m, "ssosxsis", &machine, &group, &attachment, &name, &attachment_id, &address,
                                     &iommu_group, &mac)) < 0 ||
            (r = polkit_check(m, "org.devpass1.claim", group, machine, error)) < 0)
                return r;
        if ((r = sql_step(db_begin)) < 0)
                return r;
        sqlite3_bind_text(claim_insert, 1, address, -1, SQLITE_STATIC);
        sqlite3_bind_text(claim_insert, 2, machine, -1, SQLITE_STATIC);
        sqlite3_bind_int64(claim_insert, 3, attachment_id);
        sqlite3_bind_text(claim_insert, 4, mac, -1, SQLITE_STATIC);
        sqlite3_bind_int64(claim_update, 1, attachment_id);
        if ((r = sql_step(claim_insert)) < 0 || (r = sql_step(claim_update)) < 0 || (r = sql_step(db_commit)) < 0) {
                sql_step(db_rollback);
                return sd_bus_error_set(error, "org.devpass1.Error.Failed", sqlite3_errmsg(db));
        }
        snprintf(vfio, sizeof(vfio), "/dev/vfio/%d", iommu_group);
        return sd_bus_reply_method_return(m, "a(osa(siss))", 1, attachment, name, 1, address, iommu_group,
                                          vfio, mac);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *machine;
        int r;

        if (!db)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "started without --db");
        if ((r = sd_bus_message_read(m, "s", &machine)) < 0 || (r = sql_step(db_begin)) < 0)
                return r;
        sqlite3_bind_text(claim_release, 1, machine, -1, SQLITE_STATIC);
        if ((r = sql_step(claim_release)) < 0 || (r = sql_step(db_commit)) < 0) {
                sql_step(db_rollback);
                return r;
        }
        return sd_bus_reply_method_return(m, NULL);
}

static PolkitAuthority *authority;   /* --glib */

static void on_checked(GObject *source, GAsyncResult *res, gpointer userdata) {
        sd_bus_message *m = userdata;
        GError *error = NULL;
        PolkitAuthorizationResult *result =
                polkit_authority_check_authorization_finish(POLKIT_AUTHORITY(source), res, &error);
        Settings s;

        if (result && polkit_authorization_result_get_is_authorized(result)) {
                /* The settings again: the message was read before polkit. */
                if (sd_bus_message_rewind(m, true) < 0 || read_settings(m, &s) < 0 || group_added(m, &s) < 0)
                        sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "the new group's signal or reply");
        } else
                sd_bus_reply_method_errorf(m, "org.devpass1.Error.NotAuthorized", "not authorized: %s",
                                           error ? error->message : "no");
        g_clear_error(&error);
        g_clear_object(&result);
        sd_bus_message_unref(m);
}

static int method_create_group_gio(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Settings s;
        int r;

        if (!authority)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "started without --glib");
        if ((r = read_settings(m, &s)) < 0)
                return r;
        PolkitSubject *subject = polkit_system_bus_name_new(sd_bus_message_get_sender(m));
        PolkitDetails *details = polkit_details_new();
        polkit_details_insert(details, "group", s.name);
        polkit_details_insert(details, "node", "testnode");
        polkit_authority_check_authorization(authority, subject, "org.devpass1.manage-groups", details,
                                             POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE, NULL, on_checked,
                                             sd_bus_message_ref(m));
        g_object_unref(subject);
        g_object_unref(details);
        return 1;
}

static gboolean on_bus_readable(gint fd, GIOCondition condition, gpointer userdata) {
        sd_bus *bus = userdata;
        int r;

        while ((r = sd_bus_process(bus, NULL)) > 0)
                ;
        if (r < 0)
                exit(0);
        return G_SOURCE_CONTINUE;
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CreateGroup", "a{sv}", "o", method_create_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("CreateGroupDurable", "a{sv}", "o", method_create_group_durable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("CreateGroupStored", "a{sv}", "o", method_create_group_stored, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("CreateGroupGio", "a{sv}", "o", method_create_group_gio, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Claim", "ssosxsis", "a(osa(siss))", method_claim, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Release", "s", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

#define P(name, sig, field) SD_BUS_PROPERTY(name, sig, NULL, offsetof(Bare, field), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", NULL, offsetof(Bare, s), SD_BUS_VTABLE_PROPERTY_CONST),
        P("VendorId", "q", q), P("DeviceId", "q", q), P("SubsystemVendorId", "q", q),
        P("SubsystemDeviceId", "q", q), P("Class", "u", u), P("Revision", "y", y),
        P("VendorName", "s", s), P("DeviceName", "s", s), P("SubsystemVendorName", "s", s),
        P("SubsystemName", "s", s), P("ClassName", "s", s), P("Driver", "s", s),
        P("IommuGroup", "i", i),
        SD_BUS_PROPERTY("IommuGroupMembers", "ao", get_ao, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        P("NumaNode", "i", i), P("PhysicalFunction", "o", o),
        SD_BUS_PROPERTY("VirtualFunctions", "ao", get_ao, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        P("SriovTotalVfs", "u", u), P("SriovNumVfs", "u", u), P("BootVga", "b", b),
        P("ResetMethods", "as", as), P("State", "s", s),
        /* The model's view, as devpassd exports it since groups and claims. */
        P("Group", "o", o), P("Rule", "o", o), P("Blockers", "as", as), P("Holder", "s", s),
        /* Unprivileged, as devpassd's methods are: otherwise sd-bus asks the
         * bus for the caller's credentials on every call. */
        SD_BUS_METHOD("Ping", "", "", method_ping, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error) {
        if (strncmp(path, "/bare/", 6) != 0)
                return 0;
        *found = &bare;
        return 1;
}

static int enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error) {
        char **v = calloc(n_objects + 1, sizeof(char *));
        for (unsigned i = 0; i < n_objects; i++)
                if (asprintf(&v[i], "/bare/%u", i) < 0)
                        return -ENOMEM;
        *nodes = v;
        return 0;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        bool glib = false, manager = false;

        n_objects = argc > 1 ? (unsigned) atoi(argv[1]) : 1000;
        bare.as = empty_strv;
        for (int i = 2; i < argc; i++) {
                if (strncmp(argv[i], "--state-dir=", 12) == 0) {
                        char wal[4096];
                        snprintf(wal, sizeof(wal), "%s/bare.wal", argv[i] + 12);
                        wal_fd = open(wal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
                        if (wal_fd < 0) {
                                fprintf(stderr, "bare-service: cannot open %s: %s\n", wal, strerror(errno));
                                return 1;
                        }
                } else if (strncmp(argv[i], "--db=", 5) == 0) {
                        if (db_open(argv[i] + 5) < 0)
                                return 1;
                } else if (strcmp(argv[i], "--glib") == 0)
                        glib = true;
                else if (strcmp(argv[i], "--manager") == 0)
                        manager = true;
        }
        if (glib && !(authority = polkit_authority_get_sync(NULL, NULL))) {
                fprintf(stderr, "bare-service: cannot reach polkit\n");
                return 1;
        }
        if (sd_bus_open_system(&bus) < 0 ||
            sd_bus_add_fallback_vtable(bus, NULL, "/bare", "org.devpass1.Bare", vtable, find, NULL) < 0 ||
            sd_bus_add_node_enumerator(bus, NULL, "/bare", enumerate, NULL) < 0 ||
            sd_bus_add_object_manager(bus, NULL, "/") < 0 ||
            (manager &&
             sd_bus_add_object_vtable(bus, NULL, "/manager", "org.devpass1.Bare.Manager", manager_vtable, NULL) < 0) ||
            sd_bus_request_name(bus, glib ? "org.devpass1.BareGlib" : "org.devpass1.Bare", 0) < 0) {
                fprintf(stderr, "bare-service: cannot start\n");
                return 1;
        }
        if (glib) {
                g_unix_fd_add(sd_bus_get_fd(bus), G_IO_IN, on_bus_readable, bus);
                on_bus_readable(-1, G_IO_IN, bus);
                g_main_loop_run(g_main_loop_new(NULL, FALSE));
                return 0;
        }
        for (;;) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return 0;
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return 0;
        }
}
