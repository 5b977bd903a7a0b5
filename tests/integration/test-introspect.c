/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The contract holds: what devpassd introspects, on every object of every
 * kind, is dbus/org.devpass1.xml, interface by interface: methods with
 * their arguments in order (signature, direction, name), properties
 * (signature, access, whether they emit PropertiesChanged) and signals.
 * No devpass interface lives on the bus that the XML lacks, and none of
 * the XML is missing from the bus. Other annotations are left out: sd-bus
 * adds its own (org.freedesktop.systemd1.Privileged), which are no part
 * of the contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define IFACE_PREFIX "org.devpass1."

typedef struct {
        Harness *h;
        FakeKernel *fk;
        GDBusNodeInfo *contract;
        GHashTable *seen;          /* interface name -> the first path it was seen on */
        GHashTable *paths;         /* path -> GPtrArray of its devpass interfaces */
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;
        const char *gpu[] = { "0000:17:00.0", "0000:17:00.1", NULL };

        g_assert_true(g_file_get_contents(harness_path("DEVPASS_API_XML"), &xml, NULL, &error));
        f->contract = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        f->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        f->paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);

        /* An object of every kind: the group and its rules come with the
         * passthrough, the attachment is made for them. */
        f->h = calls_gpu_server(NULL, &f->fk);
        f->h->connection = harness_connect(f->h);
        g_autofree char *group = calls_passthrough_group(f->h, gpu, "GPUs", "pci", "gpu");
        g_autofree char *attachment = calls_attach(f->h, "vm1", group, 1);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        calls_stop(f->h, f->fk);
        g_dbus_node_info_unref(f->contract);
        g_hash_table_unref(f->seen);
        g_hash_table_unref(f->paths);
        g_free(f);
        return 0;
}

/* "in s address, out o device": a method's or signal's arguments. */
static void append_args(GString *s, const char *direction, GDBusArgInfo **args) {
        for (size_t i = 0; args && args[i]; i++)
                g_string_append_printf(s, "%s%s %s %s", s->str[s->len - 1] == '(' ? "" : ", ", direction,
                                       args[i]->signature, args[i]->name);
}

static const char *emits_changed(GDBusPropertyInfo *p) {
        const char *v = g_dbus_annotation_info_lookup(p->annotations, "org.freedesktop.DBus.Property.EmitsChangedSignal");
        return v ?: "true";
}

/* One line per member, sorted: members' order is no part of the contract,
 * arguments' order is. */
static GPtrArray *interface_lines(GDBusInterfaceInfo *iface) {
        GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
        static const char *const access[] = { "none", "read", "write", "readwrite" };

        for (size_t i = 0; iface->methods && iface->methods[i]; i++) {
                GDBusMethodInfo *m = iface->methods[i];
                GString *s = g_string_new(NULL);
                g_string_append_printf(s, "method %s(", m->name);
                append_args(s, "in", m->in_args);
                append_args(s, "out", m->out_args);
                g_string_append_c(s, ')');
                g_ptr_array_add(lines, g_string_free(s, FALSE));
        }
        for (size_t i = 0; iface->properties && iface->properties[i]; i++) {
                GDBusPropertyInfo *p = iface->properties[i];
                g_ptr_array_add(lines, g_strdup_printf("property %s %s %s emits-changed=%s", p->name, p->signature,
                                                       access[p->flags & 3], emits_changed(p)));
        }
        for (size_t i = 0; iface->signals && iface->signals[i]; i++) {
                GDBusSignalInfo *sig = iface->signals[i];
                GString *s = g_string_new(NULL);
                g_string_append_printf(s, "signal %s(", sig->name);
                append_args(s, "", sig->args);
                g_string_append_c(s, ')');
                g_ptr_array_add(lines, g_string_free(s, FALSE));
        }
        g_ptr_array_sort(lines, calls_compare_strings);
        return lines;
}

static bool has_line(GPtrArray *lines, const char *line) {
        return g_ptr_array_find_with_equal_func(lines, line, g_str_equal, NULL);
}

/* Fails naming every member that differs, both ways. */
static void assert_same_interface(GDBusInterfaceInfo *want, GDBusInterfaceInfo *got, const char *path) {
        g_autoptr(GPtrArray) w = interface_lines(want);
        g_autoptr(GPtrArray) g = interface_lines(got);
        g_autoptr(GString) diff = g_string_new(NULL);

        for (guint i = 0; i < w->len; i++)
                if (!has_line(g, w->pdata[i]))
                        g_string_append_printf(diff, "\n  only in the XML:  %s", (char *) w->pdata[i]);
        for (guint i = 0; i < g->len; i++)
                if (!has_line(w, g->pdata[i]))
                        g_string_append_printf(diff, "\n  only on the bus:  %s", (char *) g->pdata[i]);
        if (diff->len)
                fail_msg("%s on %s differs from org.devpass1.xml:%s", got->name, path, diff->str);
}

static GDBusNodeInfo *introspect(Fixture *f, const char *path) {
        g_autoptr(GVariant) r = calls_ok(f->h, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        g_autoptr(GError) error = NULL;
        const char *xml;

        g_variant_get(r, "(&s)", &xml);
        GDBusNodeInfo *node = g_dbus_node_info_new_for_xml(xml, &error);
        if (!node)
                fail_msg("the introspection of %s does not parse: %s", path, error->message);
        return node;
}

/* Every object below path, depth first, each devpass interface compared
 * with the contract's and recorded. */
static void walk(Fixture *f, const char *path) {
        g_autoptr(GDBusNodeInfo) node = introspect(f, path);
        GPtrArray *mine = g_ptr_array_new_with_free_func(g_free);

        g_hash_table_insert(f->paths, g_strdup(path), mine);
        for (size_t i = 0; node->interfaces && node->interfaces[i]; i++) {
                GDBusInterfaceInfo *got = node->interfaces[i];
                if (!g_str_has_prefix(got->name, IFACE_PREFIX))
                        continue;
                GDBusInterfaceInfo *want = g_dbus_node_info_lookup_interface(f->contract, got->name);
                if (!want)
                        fail_msg("%s on %s is not in org.devpass1.xml", got->name, path);
                assert_same_interface(want, got, path);
                g_ptr_array_add(mine, g_strdup(got->name));
                if (!g_hash_table_contains(f->seen, got->name))
                        g_hash_table_insert(f->seen, g_strdup(got->name), g_strdup(path));
        }
        for (size_t i = 0; node->nodes && node->nodes[i]; i++) {
                g_autofree char *child = g_str_equal(path, "/") ? g_strconcat("/", node->nodes[i]->path, NULL)
                                                                 : g_strconcat(path, "/", node->nodes[i]->path, NULL);
                walk(f, child);
        }
}

/* The object at path carries exactly the one devpass interface want. */
static void assert_kind(Fixture *f, const char *path, const char *want) {
        GPtrArray *ifaces = g_hash_table_lookup(f->paths, path);

        if (!ifaces)
                fail_msg("%s is not in the introspected tree", path);
        if (ifaces->len != 1 || !g_str_equal(ifaces->pdata[0], want))
                fail_msg("%s carries %u devpass interfaces (first %s), want %s alone", path, ifaces->len,
                         ifaces->len ? (char *) ifaces->pdata[0] : "none", want);
}

/* The first path of the kind below prefix (groups/, rules/, ...). */
static const char *first_below(Fixture *f, const char *prefix) {
        GHashTableIter it;
        gpointer path;

        g_hash_table_iter_init(&it, f->paths);
        while (g_hash_table_iter_next(&it, &path, NULL))
                if (g_str_has_prefix(path, prefix) && strlen(path) > strlen(prefix))
                        return path;
        fail_msg("nothing below %s in the introspected tree", prefix);
        return NULL;
}

static void test_live_equals_contract(void **state) {
        Fixture *f = *state;

        walk(f, "/");
        print_message("introspected %u objects, %u devpass interfaces\n", g_hash_table_size(f->paths),
                      g_hash_table_size(f->seen));
        /* Every interface of the contract is live, and each kind of
         * object carries its own. */
        for (size_t i = 0; f->contract->interfaces[i]; i++) {
                const char *name = f->contract->interfaces[i]->name;
                if (!g_hash_table_contains(f->seen, name))
                        fail_msg("%s of org.devpass1.xml is on no object of the bus", name);
        }
        assert_kind(f, "/org/devpass1", IFACE_PREFIX "Manager");
        g_autofree char *gpu = calls_path_of("0000:17:00.0");
        assert_kind(f, gpu, IFACE_PREFIX "Device");
        assert_kind(f, first_below(f, "/org/devpass1/groups/"), IFACE_PREFIX "Group");
        assert_kind(f, first_below(f, "/org/devpass1/rules/"), IFACE_PREFIX "Rule");
        assert_kind(f, first_below(f, "/org/devpass1/attachments/"), IFACE_PREFIX "Attachment");
        /* Every device of the node was reached (the walk follows the
         * children introspection lists). */
        g_autoptr(GPtrArray) objects = calls_object_lines(f->h);
        for (guint i = 0; i < objects->len; i++) {
                g_autofree char *path = g_strndup(objects->pdata[i], strcspn(objects->pdata[i], " "));
                if (!g_hash_table_contains(f->paths, path))
                        fail_msg("%s is a managed object, but introspection does not list it", path);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_live_equals_contract, setup, teardown),
        };
        return cmocka_run_group_tests_name("introspect", tests, NULL, NULL);
}
