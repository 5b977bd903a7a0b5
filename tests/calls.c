/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define DEVICES "/org/devpass1/devices/"
#define PROPERTIES_IF "org.freedesktop.DBus.Properties"

/* ---- set-up ---- */

Harness *calls_gpu_server(const char *rules, FakeKernel **fk) {
        return calls_node("gpu-server.umockdev", rules, fk);
}

Harness *calls_node(const char *fixture, const char *rules, FakeKernel **fk) {
        Harness *h = harness_new(fixture, NULL);

        harness_polkit_start(h, rules);
        if (fk) {
                *fk = fakekernel_new(h->testbed);
                fakekernel_load_vfio(*fk, true);
        }
        return h;
}

void calls_stop(Harness *h, FakeKernel *fk) {
        harness_daemon_stop(h);
        fakekernel_free(fk);
        harness_free(h);
}

/* ---- paths ---- */

char *calls_path_of(const char *address) {
        char *p = g_strconcat(DEVICES, address, NULL);

        g_strdelimit(p + strlen(DEVICES), ":.", '_');
        return p;
}

GVariant *calls_paths_variant(const char *const *addresses) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("ao"));
        for (size_t i = 0; addresses[i]; i++) {
                g_autofree char *p = calls_path_of(addresses[i]);
                g_variant_builder_add(&b, "o", p);
        }
        return g_variant_builder_end(&b);
}

/* ---- calls ---- */

GVariant *calls_dict(const char *key, ...) {
        GVariantBuilder b;
        va_list ap;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        va_start(ap, key);
        for (; key; key = va_arg(ap, const char *))
                g_variant_builder_add(&b, "{sv}", key, va_arg(ap, GVariant *));
        va_end(ap);
        return g_variant_builder_end(&b);
}

GVariant *calls_parse(const char *type, const char *text) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) v = g_variant_parse(type ? G_VARIANT_TYPE(type) : NULL, text, NULL, NULL, &error);

        if (!v)
                fail_msg("cannot parse %s: %s", text, error->message);
        /* g_variant_parse() gives a non-floating reference. */
        g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes(v);
        return g_variant_new_from_bytes(g_variant_get_type(v), bytes, TRUE);
}

GVariant *calls_ok(Harness *h, const char *path, const char *iface, const char *method, GVariant *args) {
        g_autoptr(GError) error = NULL;
        GVariant *r = harness_call(h, path, iface, method, args, &error);

        if (!r)
                fail_msg("%s.%s on %s: %s", iface, method, path, error->message);
        return r;
}

char *calls_ok_path(Harness *h, const char *path, const char *iface, const char *method, GVariant *args) {
        g_autoptr(GVariant) r = calls_ok(h, path, iface, method, args);
        char *made;

        g_variant_get_child(r, 0, "o", &made);
        return made;
}

GVariant *calls_make_passthrough_new(Harness *h, const char *const *addresses, const char *name, const char *type,
                                     const char *class_name, bool force, GError **error) {
        GVariantBuilder o;

        g_variant_builder_init(&o, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&o, "{sv}", "Name", g_variant_new_string(name));
        if (type)
                g_variant_builder_add(&o, "{sv}", "Type", g_variant_new_string(type));
        if (class_name)
                g_variant_builder_add(&o, "{sv}", "Class", g_variant_new_string(class_name));
        if (force)
                g_variant_builder_add(&o, "{sv}", "Force", g_variant_new_boolean(TRUE));
        return harness_call(h, "/org/devpass1", "org.devpass1.Manager", "MakePassthrough",
                            g_variant_new("(@ao@a{sv})", calls_paths_variant(addresses), g_variant_builder_end(&o)),
                            error);
}

char *calls_passthrough_group(Harness *h, const char *const *addresses, const char *name, const char *type,
                              const char *class_name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = calls_make_passthrough_new(h, addresses, name, type, class_name, false, &error);
        char *group;
        gboolean reboot;

        if (!r)
                fail_msg("MakePassthrough into %s: %s", name, error->message);
        g_variant_get(r, "(ob)", &group, &reboot);
        assert_false(reboot);
        /* Free counts units: the functions of one IOMMU group are one. */
        g_autoptr(GHashTable) units = g_hash_table_new(NULL, NULL);
        for (const char *const *a = addresses; *a; a++) {
                g_autofree char *path = calls_path_of(*a);
                g_autoptr(GVariant) iommu = calls_prop(h, path, "org.devpass1.Device", "IommuGroup");
                g_hash_table_add(units, GINT_TO_POINTER(g_variant_get_int32(iommu)));
        }
        g_autofree char *all = g_strdup_printf("%u", g_hash_table_size(units));
        calls_wait_prop(h, group, "org.devpass1.Group", "Free", all);
        return group;
}

/* The error is want, and its message mentions in_message (NULL: anything);
 * the failures begin with what, when not NULL. */
static void check_error(const char *what, const GError *error, const char *want, const char *in_message) {
        const char *sep = what ? ": " : "";

        what = what ?: "";
        if (!error)
                fail_msg("%s%sthe call succeeded, want %s", what, sep, want);
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        if (!remote || !g_str_equal(remote, want))
                fail_msg("%s%sgot %s (%s), want %s", what, sep, remote ?: "no remote error", error->message, want);
        if (in_message && !strstr(error->message, in_message))
                fail_msg("%s%smessage '%s' does not mention '%s'", what, sep, error->message, in_message);
}

void calls_assert_remote_error(const GError *error, const char *name, ...) {
        const char *missing = NULL;
        va_list ap;

        check_error(NULL, error, name, NULL);
        va_start(ap, name);
        for (const char *m; !missing && (m = va_arg(ap, const char *));)
                if (!strstr(error->message, m))
                        missing = m;
        va_end(ap);
        if (missing)
                fail_msg("message '%s' does not mention '%s'", error->message, missing);
}

/* The call, which must fail as check_error() says. */
static void call_fails(Harness *h, const char *what, const char *path, const char *iface, const char *method,
                       GVariant *args, const char *want, const char *in_message) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = harness_call(h, path, iface, method, args, &error);

        if (r)
                fail_msg("%s: %s.%s on %s succeeded, want %s", what, iface, method, path, want);
        check_error(what, error, want, in_message);
}

void calls_assert_error(Harness *h, const char *path, const char *iface, const char *method, GVariant *args,
                        const char *want, const char *in_message) {
        g_autofree char *what = g_strdup_printf("%s.%s on %s", iface, method, path);

        call_fails(h, what, path, iface, method, args, want, in_message);
}

void calls_refused(Harness *h, const char *what, const char *path, const char *iface, const char *method,
                   GVariant *args, const char *want, const char *in_message) {
        g_autofree char *before = calls_snapshot(h);

        call_fails(h, what, path, iface, method, args, want, in_message);
        g_autofree char *after = calls_snapshot(h);
        g_autofree char *refused = g_strdup_printf("%s (refused)", what);
        calls_assert_unchanged(before, after, refused);
}

/* ---- properties ---- */

GVariant *calls_prop(Harness *h, const char *path, const char *iface, const char *name) {
        g_autoptr(GVariant) r = calls_ok(h, path, PROPERTIES_IF, "Get", g_variant_new("(ss)", iface, name));
        GVariant *v;

        g_variant_get(r, "(v)", &v);
        return v;
}

char *calls_prop_string(Harness *h, const char *path, const char *iface, const char *name) {
        g_autoptr(GVariant) v = calls_prop(h, path, iface, name);
        return g_variant_dup_string(v, NULL);
}

guint32 calls_prop_uint(Harness *h, const char *path, const char *iface, const char *name) {
        g_autoptr(GVariant) v = calls_prop(h, path, iface, name);
        return g_variant_get_uint32(v);
}

char *calls_device_string(Harness *h, const char *address, const char *name) {
        g_autofree char *path = calls_path_of(address);
        return calls_prop_string(h, path, "org.devpass1.Device", name);
}

char *calls_device_state(Harness *h, const char *address) {
        g_autofree char *state = calls_device_string(h, address, "State");
        g_autofree char *holder = calls_device_string(h, address, "Holder");
        return g_strdup_printf("%s %s", state, holder);
}

void calls_assert_device_state(Harness *h, const char *address, const char *want) {
        g_autofree char *got = calls_device_state(h, address);

        if (!g_str_equal(got, want))
                fail_msg("%s: '%s', want '%s'", address, got, want);
}

typedef struct {
        const char *path, *iface, *name, *want;
} PropWait;

static char *prop_text(Harness *h, const char *path, const char *iface, const char *name) {
        g_autoptr(GVariant) v = calls_prop(h, path, iface, name);
        bool string = g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ||
                      g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH);

        return string ? g_variant_dup_string(v, NULL) : g_variant_print(v, FALSE);
}

static bool prop_is(Harness *h, void *data) {
        PropWait *w = data;
        g_autofree char *text = prop_text(h, w->path, w->iface, w->name);

        return g_str_equal(text, w->want);
}

static void wait_prop(Harness *h, const char *path, const char *iface, const char *name, const char *want,
                      unsigned timeout_ms) {
        PropWait w = { path, iface, name, want };

        if (!harness_wait(h, prop_is, &w, timeout_ms)) {
                g_autofree char *now = prop_text(h, path, iface, name);
                fail_msg("%s %s.%s is %s, want %s", path, iface, name, now, want);
        }
}

void calls_wait_prop(Harness *h, const char *path, const char *iface, const char *name, const char *want) {
        wait_prop(h, path, iface, name, want, 10000);
}

typedef struct {
        const char *address, *driver;
} DriverWait;

/* Through GetManagedObjects: a device that is not there yet is no error. */
static bool driver_is(Harness *h, void *data) {
        DriverWait *w = data;
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, w->address);
        const char *driver;

        return props && g_variant_lookup(props, "Driver", "&s", &driver) && g_str_equal(driver, w->driver);
}

void calls_wait_driver(Harness *h, const char *address, const char *driver) {
        DriverWait w = { address, driver };

        if (!harness_wait(h, driver_is, &w, 5000)) {
                g_autoptr(GVariant) objects = harness_managed_objects(h);
                g_autoptr(GVariant) props = harness_device_props(objects, address);
                const char *now = "(no such device)";
                if (props)
                        g_variant_lookup(props, "Driver", "&s", &now);
                fail_msg("%s is on '%s', want '%s'", address, now, driver);
        }
}

/* ---- the node ---- */

char *calls_boot_list(const char *state_dir) {
        g_autofree char *path = g_build_filename(state_dir, HARNESS_BOOT_DIR, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;

        while (dir && (name = g_dir_read_name(dir)))
                g_ptr_array_add(names, g_strdup(name));
        if (names->len == 0)
                return g_strdup("");
        g_ptr_array_sort(names, calls_compare_strings);
        g_autoptr(GString) list = g_string_new("\n");
        for (guint i = 0; i < names->len; i++)
                g_string_append_printf(list, "%s\n", (char *) names->pdata[i]);
        return g_string_free(g_steal_pointer(&list), FALSE);
}

void calls_reboot(Harness *h, FakeKernel *fk) {
        g_autofree char *dir = harness_state_dir(h);

        harness_daemon_stop(h);
        g_autofree char *list = calls_boot_list(dir);
        g_auto(GStrv) lines = g_strsplit(list, "\n", -1);
        g_autoptr(GPtrArray) addresses = g_ptr_array_new();
        for (size_t i = 0; lines[i]; i++)
                if (*lines[i] && lines[i][0] != '#')
                        g_ptr_array_add(addresses, lines[i]);
        g_ptr_array_add(addresses, NULL);
        fakekernel_reboot(fk, (const char *const *) addresses->pdata);
        harness_daemon_start(h, NULL);
}

char *calls_writes(FakeKernel *fk) {
        fakekernel_sync(fk);
        g_auto(GStrv) writes = fakekernel_writes(fk);
        return g_strjoinv("\n", writes);
}

char *calls_sysfs_attr(Harness *h, FakeKernel *fk, const char *address, const char *name) {
        fakekernel_lock(fk);
        char *v = testbed_read_attr(h->testbed, address, name);
        fakekernel_unlock(fk);
        return v ?: g_strdup("");
}

char *calls_sysfs_driver(Harness *h, FakeKernel *fk, const char *address) {
        fakekernel_lock(fk);
        g_autofree char *dir = testbed_device_dir(h->testbed, address);
        g_autofree char *link = g_build_filename(dir, "driver", NULL);
        g_autofree char *target = g_file_read_link(link, NULL);
        fakekernel_unlock(fk);
        return target ? g_path_get_basename(target) : g_strdup("");
}

/* ---- nothing changed ---- */

int calls_compare_strings(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

GPtrArray *calls_object_lines(Harness *h) {
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
        GVariantIter it;
        const char *path;
        GVariant *ifaces;

        g_variant_iter_init(&it, objects);
        while (g_variant_iter_loop(&it, "{&o@a{sa{sv}}}", &path, &ifaces)) {
                g_autofree char *text = g_variant_print(ifaces, FALSE);
                g_ptr_array_add(lines, g_strdup_printf("%s %s", path, text));
        }
        g_ptr_array_sort(lines, calls_compare_strings);
        return lines;
}

char *calls_snapshot(Harness *h) {
        g_autoptr(GPtrArray) lines = calls_object_lines(h);

        g_ptr_array_add(lines, NULL);
        return g_strjoinv("\n", (char **) lines->pdata);
}

char *calls_snapshot_settings(Harness *h) {
        g_autoptr(GPtrArray) lines = calls_object_lines(h);
        g_autoptr(GPtrArray) kept = g_ptr_array_new();

        for (guint i = 0; i < lines->len; i++) {
                const char *line = lines->pdata[i];
                if (!g_str_has_prefix(line, "/org/devpass1/nodes/") && !g_str_has_prefix(line, "/org/devpass1 "))
                        g_ptr_array_add(kept, (char *) line);
        }
        g_ptr_array_add(kept, NULL);
        return g_strjoinv("\n", (char **) kept->pdata);
}

void calls_assert_unchanged(const char *before, const char *after, const char *what) {
        if (g_str_equal(before, after))
                return;
        g_auto(GStrv) b = g_strsplit(before, "\n", -1);
        g_auto(GStrv) a = g_strsplit(after, "\n", -1);
        size_t i = 0, k = 0;
        while (b[i] && a[i] && g_str_equal(b[i], a[i]))
                i++;
        const char *bl = b[i] ?: "(end)", *al = a[i] ?: "(end)";
        while (bl[k] && bl[k] == al[k])
                k++;
        size_t from = k > 60 ? k - 60 : 0;
        g_autofree char *head = g_strndup(bl, strcspn(bl, " "));
        fail_msg("%s changed %s:\n  before: ...%.160s\n  after:  ...%.160s", what, head, bl + from, al + from);
}

/* ---- tables of refused calls ---- */

char *calls_substitute(const char *s, const char *const *pairs) {
        if (!s)
                return NULL;
        char *out = g_strdup(s);
        for (size_t i = 0; pairs && pairs[i]; i += 2) {
                g_auto(GStrv) parts = g_strsplit(out, pairs[i], -1);
                g_free(out);
                out = g_strjoinv(pairs[i + 1], parts);
        }
        return out;
}

void calls_refused_table(Harness *h, const CallsBad *calls, size_t n, const char *const *pairs) {
        for (size_t i = 0; i < n; i++) {
                const CallsBad *c = &calls[i];
                g_autofree char *path = calls_substitute(c->path, pairs);
                g_autofree char *args = calls_substitute(c->args, pairs);
                g_autofree char *message = calls_substitute(c->message, pairs);
                g_autofree char *what = g_strdup_printf("%s%s", c->method, args ?: "()");
                GVariant *v = args ? calls_parse(NULL, args) : NULL;

                calls_refused(h, what, path, c->iface, c->method, v, c->error, message);
        }
}

/* ---- calls as another user ---- */

int calls_as(Harness *h, const char *user, const char *path, const char *method, const char *const *args,
             const char *const *pairs, char **err) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

        g_ptr_array_add(argv, g_strdup("--object-path"));
        g_ptr_array_add(argv, calls_substitute(path, pairs));
        g_ptr_array_add(argv, g_strdup("--method"));
        g_ptr_array_add(argv, g_strdup(method));
        for (size_t i = 0; i < CALLS_AS_ARGS && args[i]; i++)
                g_ptr_array_add(argv, calls_substitute(args[i], pairs));
        g_ptr_array_add(argv, NULL);
        return harness_call_as(h, user, (const char *const *) argv->pdata, err);
}

void calls_assert_allowed(const char *what, const char *user, int status, const char *err, const char *witness,
                          const char *before, const char *after) {
        bool appears = witness[0] == '+';
        const char *text = witness + 1;

        if (status != 0)
                fail_msg("%s as %s: refused: %s", what, user, err);
        if ((strstr(before, text) != NULL) != !appears || (strstr(after, text) != NULL) != appears) {
                g_autofree char *shown = g_strchomp(g_strdup(text));
                fail_msg("%s as %s succeeded, but '%s' did not %s", what, user, shown, appears ? "appear" : "disappear");
        }
}

void calls_assert_not_authorized(const char *what, const char *user, int status, const char *err, const char *action,
                                 const char *reason) {
        g_autofree char *want = g_strdup_printf("org.devpass1.Error.NotAuthorized: Not authorized for %s: ", action);
        /* Where a password would do and the call did not allow asking. */
        g_autofree char *interactive = g_strdup_printf("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired: "
                                                       "Interactive authentication is required for %s: ", action);

        if (status == 0)
                fail_msg("%s as %s: allowed, want refused for %s", what, user, action);
        if (!strstr(err, want) && !strstr(err, interactive)) {
                g_autofree char *shown = g_strchomp(g_strdup(err));
                fail_msg("%s as %s: '%s', want '%s'", what, user, shown, want);
        }
        if (reason && !strstr(err, reason))
                fail_msg("%s as %s: '%s' does not say '%s'", what, user, err, reason);
}

char *calls_tenant_admin_rules(const char *unix_group) {
        g_autofree char *dir = g_path_get_dirname(harness_path("DEVPASS_POLKIT_POLICY"));
        g_autofree char *file = g_build_filename(dir, "50-devpass-tenant-admins.rules.example", NULL);
        g_autofree char *text = NULL;
        g_autoptr(GError) error = NULL;

        if (!g_file_get_contents(file, &text, NULL, &error))
                fail_msg("%s", error->message);
        assert_non_null(strstr(text, "subject.isInGroup(\"acme-admins\")"));
        g_auto(GStrv) parts = g_strsplit(text, "\"acme-admins\"", -1);
        g_autofree char *quoted = g_strdup_printf("\"%s\"", unix_group);
        return g_strjoinv(quoted, parts);
}

/* ---- claims ---- */

char *calls_claimed(GVariant *reply, guint *attachments) {
        g_autoptr(GVariantIter) entries = NULL;
        g_autoptr(GString) s = g_string_new(NULL);
        GVariantIter *devices;
        const char *address;

        g_variant_get(reply, "(a(osa(siss)))", &entries);
        if (attachments)
                *attachments = (guint) g_variant_iter_n_children(entries);
        while (g_variant_iter_next(entries, "(&o&sa(siss))", NULL, NULL, &devices)) {
                while (g_variant_iter_next(devices, "(&sis&s)", &address, NULL, NULL, NULL))
                        g_string_append_printf(s, "%s%s", s->len ? " " : "", address);
                g_variant_iter_free(devices);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

char *calls_attach(Harness *h, const char *machine, const char *group, guint count) {
        GVariantBuilder s;

        g_variant_builder_init(&s, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&s, "{sv}", "Group", g_variant_new_object_path(group));
        g_variant_builder_add(&s, "{sv}", "Count", g_variant_new_uint32(count));
        return calls_ok_path(h, "/org/devpass1", "org.devpass1.Manager", "CreateAttachment",
                             g_variant_new("(s@a{sv})", machine, g_variant_builder_end(&s)));
}

/* ---- many clients ---- */

int calls_clients_setup(void **state) {
        CallsClients *f = g_new0(CallsClients, 1);

        f->h = calls_gpu_server(NULL, &f->fk);
        for (int i = 0; i < CALLS_CLIENTS; i++)
                f->c[i] = harness_connect(f->h);
        f->h->connection = g_object_ref(f->c[0]);
        *state = f;
        return 0;
}

int calls_clients_teardown(void **state) {
        CallsClients *f = *state;

        for (int i = 0; i < CALLS_CLIENTS; i++) {
                g_dbus_connection_close_sync(f->c[i], NULL, NULL);
                g_object_unref(f->c[i]);
        }
        calls_stop(f->h, f->fk);
        g_free(f);
        return 0;
}

/* ---- calls in flight ---- */

static void on_pending_reply(GObject *source, GAsyncResult *res, gpointer data) {
        CallsPending *p = data;

        p->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &p->error);
        (*p->pending)--;
}

void calls_send_call(GDBusConnection *c, const char *path, const char *iface, const char *method, GVariant *args,
                     CallsPending *p) {
        (*p->pending)++;
        g_dbus_connection_call(c, "org.devpass1", path, iface, method, args, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                               30000, NULL, on_pending_reply, p);
}

void calls_send_async(GDBusConnection *c, const char *method, const char *machine, CallsPending *p) {
        GVariant *args = g_str_equal(method, "Claim") ? g_variant_new("(s@a{sv})", machine,
                                                                      g_variant_new_array(G_VARIANT_TYPE("{sv}"),
                                                                                          NULL, 0))
                                                      : g_variant_new("(s)", machine);
        calls_send_call(c, "/org/devpass1", "org.devpass1.Manager", method, args, p);
}

void calls_wait_pending(guint *pending) {
        while (*pending > 0)
                g_main_context_iteration(NULL, TRUE);
}

void calls_pending_clear(CallsPending *p) {
        g_clear_pointer(&p->reply, g_variant_unref);
        g_clear_error(&p->error);
}

/* ---- changed while polkit was asked ---- */

/* Sends c on connection, then pings devpassd on the same connection:
 * devpassd reads a connection's messages in order, so once the ping
 * answers, c has asked polkit. */
static void race_send(GDBusConnection *connection, const CallsCall *c, CallsPending *p) {
        g_autoptr(GError) error = NULL;

        calls_send_call(connection, c->path, c->iface, c->method, c->args, p);
        g_autoptr(GVariant) pong = g_dbus_connection_call_sync(connection, "org.devpass1", "/org/devpass1",
                                                               "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                                                               G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
        if (!pong)
                fail_msg("%s.%s: devpassd did not answer a Ping after it: %s", c->iface, c->method, error->message);
}

void calls_race(Harness *h, const CallsCall *first, CallsPending *first_result, const CallsCall *second,
                CallsPending *second_result) {
        g_autoptr(GDBusConnection) c1 = harness_connect(h);
        g_autoptr(GDBusConnection) c2 = harness_connect(h);

        assert_int_equal(kill(h->polkit_pid, SIGSTOP), 0);
        race_send(c1, first, first_result);
        race_send(c2, second, second_result);
        assert_int_equal(kill(h->polkit_pid, SIGCONT), 0);
        calls_wait_pending(first_result->pending);
        calls_wait_pending(second_result->pending);
}

void calls_assert_stale(const CallsPending *p, const char *what) {
        if (!p->error)
                fail_msg("%s was applied on an answer about objects that had changed", what);
        calls_assert_remote_error(p->error, "org.devpass1.Error.Busy", "changed while authorization was asked", NULL);
}

char *calls_store_digest(Harness *h) {
        g_autofree char *dir = harness_state_dir(h);
        g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);

        for (const char *const *name = (const char *const[]) { "devpass.db", "devpass.db-wal", NULL }; *name; name++) {
                g_autofree char *path = g_build_filename(dir, *name, NULL);
                g_autofree char *contents = NULL;
                gsize len = 0;
                if (g_file_get_contents(path, &contents, &len, NULL))
                        g_checksum_update(sum, (const guchar *) contents, (gssize) len);
                g_checksum_update(sum, (const guchar *) "|", 1);
        }
        return g_strdup(g_checksum_get_string(sum));
}
