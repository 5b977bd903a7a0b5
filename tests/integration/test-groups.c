/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Groups and rules through the bus, as root on the GPU server: a rule puts
 * the devices it matches into its group (and hotplugged ones as they
 * come), conflicts between groups, node scoping, Enabled, Update and
 * Delete with their signals, persistence across a restart, object paths
 * never given twice, a damaged store refused at start, and a smoke test
 * of the fields and operators end to end. Real polkitd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "calls.h"

#define ROOT "/org/devpass1"
#define MANAGER_IF "org.devpass1.Manager"
#define DEVICE_IF "org.devpass1.Device"
#define GROUP_IF "org.devpass1.Group"
#define RULE_IF "org.devpass1.Rule"
#define WAIT_MS 20000

#define VF0 "0000:3b:02.0"
#define VF1 "0000:3b:02.1"
#define VF2 "0000:3b:02.2"
#define VF3 "0000:3b:02.3"
#define PF0 "0000:3b:00.0"
#define PF1 "0000:3b:00.1"
#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define NVME "0000:5e:00.0"
#define VFS VF0, VF1, VF2, VF3

/* The rule of the 'X710 VFs' group: the 4 VFs of port 0. */
#define VF_RULE "{'Name': <'x710-vfs'>, 'Conditions': <[('vendor', 'eq', '8086'), ('device', 'eq', '154c')]>}"

typedef struct {
        Harness *h;
        FakeKernel *fk;
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(NULL, NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        /* Alive, and a clean exit (under the sanitizers: no leaks). */
        calls_stop(f->h, f->fk);
        g_free(f);
        return 0;
}

/* ---- helpers ---- */

static char *create_group(Harness *h, const char *settings) {
        return calls_ok_path(h, ROOT, MANAGER_IF, "CreateGroup",
                             g_variant_new("(@a{sv})", calls_parse("a{sv}", settings)));
}

static char *create_rule(Harness *h, const char *group, const char *settings) {
        return calls_ok_path(h, ROOT, MANAGER_IF, "CreateRule",
                             g_variant_new("(o@a{sv})", group, calls_parse("a{sv}", settings)));
}

static void update(Harness *h, const char *path, const char *iface, const char *settings) {
        g_autoptr(GVariant) r = calls_ok(h, path, iface, "Update",
                                         g_variant_new("(@a{sv})", calls_parse("a{sv}", settings)));
}

static char *dev_prop_text(Harness *h, const char *address, const char *name) {
        g_autofree char *path = calls_path_of(address);
        g_autoptr(GVariant) v = calls_prop(h, path, DEVICE_IF, name);
        return g_variant_print(v, FALSE);
}

/* An "ao" of devices, by address. */
#define DEVICES(...) calls_paths_variant((const char *const[]) { __VA_ARGS__, NULL })
#define NO_DEVICES calls_paths_variant((const char *const[]) { NULL })

typedef struct {
        const char *path, *iface, *name;
        GVariant *want;
        char *last;
} PropWait;

static bool prop_is(Harness *h, void *data) {
        PropWait *w = data;
        g_autoptr(GVariant) v = calls_prop(h, w->path, w->iface, w->name);
        g_free(w->last);
        w->last = g_variant_print(v, TRUE);
        return g_variant_equal(v, w->want);
}

/* Waits until the property equals want (floating, consumed). */
static void assert_prop(Harness *h, const char *path, const char *iface, const char *name, GVariant *want) {
        PropWait w = { path, iface, name, g_variant_ref_sink(want), NULL };

        if (!harness_wait(h, prop_is, &w, WAIT_MS)) {
                g_autofree char *text = g_variant_print(w.want, TRUE);
                fail_msg("%s %s.%s is %s, want %s", path, iface, name, w.last, text);
        }
        g_free(w.last);
        g_variant_unref(w.want);
}

static void assert_dev(Harness *h, const char *address, const char *name, GVariant *want) {
        g_autofree char *path = calls_path_of(address);
        assert_prop(h, path, DEVICE_IF, name, want);
}

static void assert_dev_group(Harness *h, const char *const *addresses, const char *group) {
        for (size_t i = 0; addresses[i]; i++)
                assert_dev(h, addresses[i], "Group", g_variant_new_object_path(group));
}

typedef struct {
        const char *kind, *path;
        const char *const *props;
} SignalWait;

/* A signal of kind for path; for "~", the union of their property names
 * holds every one of props. */
static bool signalled(Harness *h, void *data) {
        SignalWait *w = data;
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        bool seen = false;

        for (guint i = 0; i < h->signals->len; i++) {
                HarnessSignal *s = h->signals->pdata[i];
                if (!g_str_equal(s->kind, w->kind) || !g_str_equal(s->path, w->path))
                        continue;
                seen = true;
                g_ptr_array_extend(names, s->properties, NULL, NULL);
        }
        for (size_t i = 0; seen && w->props && w->props[i]; i++)
                if (!g_ptr_array_find_with_equal_func(names, w->props[i], g_str_equal, NULL))
                        return false;
        return seen;
}

static void wait_signal(Harness *h, const char *kind, const char *path, const char *const *props) {
        SignalWait w = { kind, path, props };
        if (!harness_wait(h, signalled, &w, WAIT_MS))
                fail_msg("no '%s' signal for %s%s", kind, path, props ? " with every property expected" : "");
}
#define PROPS(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* Was a property named in any "~" signal for path? */
static bool changed(Harness *h, const char *path, const char *name) {
        SignalWait w = { "~", path, PROPS(name) };
        return signalled(h, &w);
}

/* ---- (1) a rule puts the devices it matches into its group ---- */

static void test_rule_joins(void **state) {
        Harness *h = ((Fixture *) *state)->h;
        const char *vfs[] = { VFS, NULL };

        harness_clear_signals(h);
        g_autofree char *group = create_group(h, "{'Name': <'X710 VFs'>, 'Type': <'sriov-nic'>, 'Class': <'nic'>}");
        wait_signal(h, "+", group, PROPS("Name", "Type", "Class", "Total", "Free"));
        assert_prop(h, group, GROUP_IF, "Type", g_variant_new_string("sriov-nic"));
        assert_prop(h, group, GROUP_IF, "Class", g_variant_new_string("nic"));
        assert_prop(h, group, GROUP_IF, "Total", g_variant_new_uint32(0));

        harness_clear_signals(h);
        g_autofree char *rule = create_rule(h, group, VF_RULE);
        wait_signal(h, "+", rule, PROPS("Name", "Conditions", "Devices"));
        assert_prop(h, rule, RULE_IF, "Devices", DEVICES(VFS));
        assert_prop(h, rule, RULE_IF, "Group", g_variant_new_object_path(group));
        assert_prop(h, rule, RULE_IF, "Enabled", g_variant_new_boolean(TRUE));
        assert_prop(h, rule, RULE_IF, "Node", g_variant_new_string(""));
        assert_prop(h, rule, RULE_IF, "Conflicts", calls_parse("a(oo)", "@a(oo) []"));
        assert_prop(h, group, GROUP_IF, "Rules", g_variant_new_objv((const char *const[]) { rule }, 1));
        assert_prop(h, group, GROUP_IF, "Devices", DEVICES(VFS));
        assert_prop(h, group, GROUP_IF, "Total", g_variant_new_uint32(4));
        assert_prop(h, group, GROUP_IF, "Free", g_variant_new_uint32(0));
        for (size_t i = 0; vfs[i]; i++) {
                g_autofree char *p = calls_path_of(vfs[i]);
                assert_dev(h, vfs[i], "Group", g_variant_new_object_path(group));
                assert_dev(h, vfs[i], "Rule", g_variant_new_object_path(rule));
                assert_dev(h, vfs[i], "Blockers", g_variant_new_strv(NULL, 0));
                wait_signal(h, "~", p, PROPS("Group", "Rule"));
        }
        wait_signal(h, "~", group, PROPS("Rules", "Devices", "Total"));
        /* Not passed through: Free did not move, and nothing else joined. */
        assert_false(changed(h, group, "Free"));
        g_autofree char *pf = calls_path_of(PF0);
        assert_false(changed(h, pf, "Group"));
        assert_dev(h, PF0, "Group", g_variant_new_object_path("/"));
        assert_dev(h, VF0, "State", g_variant_new_string("host"));
}

/* ---- (2) hotplug: matching devices join as they come and leave ---- */

/* InterfacesAdded of devices: path -> the Group they came with. */
static int on_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        GHashTable *groups = userdata;
        const char *path, *iface, *name, *group;

        if (sd_bus_message_read(m, "o", &path) < 0 || sd_bus_message_enter_container(m, 'a', "{sa{sv}}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                g_assert_cmpint(sd_bus_message_read(m, "s", &iface), >=, 0);
                g_assert_cmpint(sd_bus_message_enter_container(m, 'a', "{sv}"), >=, 0);
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        g_assert_cmpint(sd_bus_message_read(m, "s", &name), >=, 0);
                        if (g_str_equal(iface, DEVICE_IF) && g_str_equal(name, "Group")) {
                                g_assert_cmpint(sd_bus_message_read(m, "v", "o", &group), >=, 0);
                                g_hash_table_insert(groups, g_strdup(path), g_strdup(group));
                        } else
                                g_assert_cmpint(sd_bus_message_skip(m, "v"), >=, 0);
                        g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
                }
                g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
                g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
        }
        return 0;
}

static void test_hotplug(void **state) {
        Harness *h = ((Fixture *) *state)->h;
        g_autoptr(GHashTable) added = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        sd_bus_slot *slot = NULL;

        g_autofree char *group = create_group(h, "{'Name': <'X710 VFs'>, 'Type': <'sriov-nic'>, 'Class': <'nic'>}");
        g_autofree char *rule = create_rule(h, group, VF_RULE);
        assert_prop(h, group, GROUP_IF, "Total", g_variant_new_uint32(4));
        assert_true(sd_bus_match_signal(h->bus, &slot, "org.devpass1", NULL, "org.freedesktop.DBus.ObjectManager",
                                        "InterfacesAdded", on_added, added) >= 0);

        /* No fake kernel runs here: the test is the kernel. */
        harness_clear_signals(h);
        testbed_sriov_set(h->testbed, PF1, 2);
        g_autofree char *new0 = calls_path_of("0000:3b:0a.0");
        g_autofree char *new1 = calls_path_of("0000:3b:0a.1");
        wait_signal(h, "+", new0, NULL);
        wait_signal(h, "+", new1, NULL);
        assert_prop(h, group, GROUP_IF, "Total", g_variant_new_uint32(6));
        assert_prop(h, group, GROUP_IF, "Devices", DEVICES(VFS, "0000:3b:0a.0", "0000:3b:0a.1"));
        assert_prop(h, rule, RULE_IF, "Devices", DEVICES(VFS, "0000:3b:0a.0", "0000:3b:0a.1"));
        wait_signal(h, "~", group, PROPS("Devices", "Total"));
        /* They were announced in the group, not put there afterwards. */
        assert_string_equal(g_hash_table_lookup(added, new0) ?: "(none)", group);
        assert_string_equal(g_hash_table_lookup(added, new1) ?: "(none)", group);
        assert_false(changed(h, new0, "Group"));

        /* A VF goes, then a PF with its 4 VFs. */
        testbed_remove(h->testbed, "0000:3b:0a.1");
        wait_signal(h, "-", new1, NULL);
        assert_prop(h, group, GROUP_IF, "Total", g_variant_new_uint32(5));
        testbed_remove(h->testbed, PF0);
        assert_prop(h, group, GROUP_IF, "Total", g_variant_new_uint32(1));
        assert_prop(h, group, GROUP_IF, "Devices", DEVICES("0000:3b:0a.0"));
        assert_prop(h, rule, RULE_IF, "Devices", DEVICES("0000:3b:0a.0"));
        sd_bus_slot_unref(slot);
}

/* ---- (3) rules of two groups match the same devices ---- */

static void test_conflict(void **state) {
        Harness *h = ((Fixture *) *state)->h;
        const char *vfs[] = { VFS, NULL };
        const char *pfs[] = { PF0, PF1, NULL };

        g_autofree char *a = create_group(h, "{'Name': <'X710 VFs'>, 'Type': <'sriov-nic'>, 'Class': <'nic'>}");
        g_autofree char *ra = create_rule(h, a, VF_RULE);
        g_autofree char *b = create_group(h, "{'Name': <'Ethernet'>, 'Class': <'nic'>}");
        harness_clear_signals(h);
        g_autofree char *rb = create_rule(h, b, "{'Name': <'ethernet'>, 'Conditions': <[('class', 'eq', '0x0200')]>}");

        /* The VFs are in neither group; the PFs (rb alone) are in b. */
        assert_dev_group(h, vfs, "/");
        assert_dev_group(h, pfs, b);
        for (size_t i = 0; vfs[i]; i++) {
                g_autofree char *blockers = dev_prop_text(h, vfs[i], "Blockers");
                const char *names[] = { "x710-vfs", "X710 VFs", "ethernet", "Ethernet" };
                for (size_t j = 0; j < G_N_ELEMENTS(names); j++)
                        if (!strstr(blockers, names[j]))
                                fail_msg("%s: blockers %s do not name %s", vfs[i], blockers, names[j]);
                g_autofree char *p = calls_path_of(vfs[i]);
                wait_signal(h, "~", p, PROPS("Group", "Blockers"));
        }
        g_autofree char *vf0 = calls_path_of(VF0);
        g_autoptr(GVariant) one = calls_prop(h, vf0, DEVICE_IF, "Blockers");
        assert_int_equal(g_variant_n_children(one), 1);
        assert_prop(h, a, GROUP_IF, "Total", g_variant_new_uint32(0));
        assert_prop(h, a, GROUP_IF, "Devices", NO_DEVICES);
        assert_prop(h, b, GROUP_IF, "Total", g_variant_new_uint32(2));
        assert_prop(h, rb, RULE_IF, "Devices", DEVICES(PF0, PF1, VFS));
        assert_prop(h, ra, RULE_IF, "Devices", DEVICES(VFS));

        /* Each rule names the devices and the other rule. */
        for (int k = 0; k < 2; k++) {
                const char *self = k ? rb : ra, *other = k ? ra : rb;
                GVariantBuilder c;
                g_variant_builder_init(&c, G_VARIANT_TYPE("a(oo)"));
                for (size_t i = 0; vfs[i]; i++) {
                        g_autofree char *p = calls_path_of(vfs[i]);
                        g_variant_builder_add(&c, "(oo)", p, other);
                }
                assert_prop(h, self, RULE_IF, "Conflicts", g_variant_builder_end(&c));
                wait_signal(h, "~", self, PROPS("Conflicts"));
        }

        /* Deleting one rule settles it. */
        harness_clear_signals(h);
        g_autoptr(GVariant) r = calls_ok(h, rb, RULE_IF, "Delete", NULL);
        wait_signal(h, "-", rb, NULL);
        assert_dev_group(h, vfs, a);
        assert_dev_group(h, pfs, "/");
        assert_dev(h, VF0, "Blockers", g_variant_new_strv(NULL, 0));
        assert_prop(h, ra, RULE_IF, "Conflicts", calls_parse("a(oo)", "@a(oo) []"));
        assert_prop(h, a, GROUP_IF, "Total", g_variant_new_uint32(4));
        assert_prop(h, b, GROUP_IF, "Total", g_variant_new_uint32(0));
        assert_prop(h, b, GROUP_IF, "Rules", g_variant_new_objv(NULL, 0));
}

/* ---- (4) node scoping, (5) Enabled ---- */

static void test_node_scope(void **state) {
        Harness *h = ((Fixture *) *state)->h;

        assert_prop(h, ROOT, MANAGER_IF, "Node", g_variant_new_string("testnode"));
        g_autofree char *g = create_group(h, "{'Name': <'NVMe'>, 'Class': <'storage'>}");
        g_autofree char *r = create_rule(h, g, "{'Node': <'othernode'>, "
                                               "'Conditions': <[('address', 'eq', '" NVME "')]>}");
        assert_prop(h, r, RULE_IF, "Node", g_variant_new_string("othernode"));
        /* A blank Name is generated from the group's. */
        assert_prop(h, r, RULE_IF, "Name", g_variant_new_string("NVMe rule"));
        assert_prop(h, r, RULE_IF, "Devices", NO_DEVICES);
        assert_dev(h, NVME, "Group", g_variant_new_object_path("/"));

        harness_clear_signals(h);
        update(h, r, RULE_IF, "{'Node': <''>}");
        assert_prop(h, r, RULE_IF, "Devices", DEVICES(NVME));
        assert_dev(h, NVME, "Group", g_variant_new_object_path(g));
        wait_signal(h, "~", r, PROPS("Node", "Devices"));

        update(h, r, RULE_IF, "{'Node': <'testnode'>}");
        assert_prop(h, r, RULE_IF, "Node", g_variant_new_string("testnode"));
        assert_prop(h, r, RULE_IF, "Devices", DEVICES(NVME));
        assert_prop(h, g, GROUP_IF, "Total", g_variant_new_uint32(1));

        update(h, r, RULE_IF, "{'Node': <'othernode'>}");
        assert_prop(h, r, RULE_IF, "Devices", NO_DEVICES);
        assert_prop(h, g, GROUP_IF, "Total", g_variant_new_uint32(0));
}

static void test_enabled(void **state) {
        Harness *h = ((Fixture *) *state)->h;

        g_autofree char *g = create_group(h, "{'Name': <'NVMe'>, 'Class': <'storage'>}");
        g_autofree char *r = create_rule(h, g, "{'Enabled': <false>, "
                                               "'Conditions': <[('vendor', 'eq', '144d')]>}");
        assert_prop(h, r, RULE_IF, "Enabled", g_variant_new_boolean(FALSE));
        assert_prop(h, r, RULE_IF, "Devices", NO_DEVICES);
        assert_dev(h, NVME, "Group", g_variant_new_object_path("/"));

        harness_clear_signals(h);
        update(h, r, RULE_IF, "{'Enabled': <true>}");
        assert_prop(h, r, RULE_IF, "Devices", DEVICES(NVME));
        assert_dev(h, NVME, "Group", g_variant_new_object_path(g));
        wait_signal(h, "~", r, PROPS("Enabled", "Devices"));

        update(h, r, RULE_IF, "{'Enabled': <false>}");
        assert_prop(h, r, RULE_IF, "Devices", NO_DEVICES);
        assert_dev(h, NVME, "Group", g_variant_new_object_path("/"));
        assert_dev(h, NVME, "Rule", g_variant_new_object_path("/"));
}

/* ---- (6) Update and Delete ---- */

static void test_update_delete(void **state) {
        Harness *h = ((Fixture *) *state)->h;

        g_autofree char *g = create_group(h, "{'Name': <'GPUs'>, 'Class': <'gpu'>}");
        g_autofree char *r1 = create_rule(h, g, "{'Conditions': <[('vendor', 'eq', '10de'), ('device', 'eq', '2230')]>}");
        g_autofree char *r2 = create_rule(h, g, "{'Conditions': <[('vendor', 'eq', '10de'), ('device', 'eq', '1aef')]>}");
        assert_prop(h, r2, RULE_IF, "Name", g_variant_new_string("GPUs rule 2"));
        /* Units: each A6000 with its audio function is one. */
        assert_prop(h, g, GROUP_IF, "Total", g_variant_new_uint32(2));

        harness_clear_signals(h);
        update(h, g, GROUP_IF, "{'Name': <'Display'>, 'Description': <'The A6000s'>, 'Class': <'accelerator'>}");
        assert_prop(h, g, GROUP_IF, "Name", g_variant_new_string("Display"));
        assert_prop(h, g, GROUP_IF, "Description", g_variant_new_string("The A6000s"));
        assert_prop(h, g, GROUP_IF, "Class", g_variant_new_string("accelerator"));
        assert_prop(h, g, GROUP_IF, "Type", g_variant_new_string("pci"));
        wait_signal(h, "~", g, PROPS("Name", "Description", "Class"));
        assert_false(changed(h, g, "Type"));
        assert_false(changed(h, g, "Total"));

        /* Moving a rule to another group takes its devices along. */
        g_autofree char *other = create_group(h, "{'Name': <'Audio'>}");
        g_autofree char *to_other = g_strdup_printf("{'Group': <objectpath '%s'>}", other);
        g_autofree char *to_g = g_strdup_printf("{'Group': <objectpath '%s'>}", g);
        update(h, r2, RULE_IF, to_other);
        assert_prop(h, r2, RULE_IF, "Group", g_variant_new_object_path(other));
        assert_prop(h, other, GROUP_IF, "Devices", DEVICES(GPU_AUDIO, "0000:b1:00.1"));
        assert_prop(h, g, GROUP_IF, "Rules", g_variant_new_objv((const char *const[]) { r1 }, 1));
        update(h, r2, RULE_IF, to_g);

        /* Delete takes the rules along. */
        harness_clear_signals(h);
        g_autoptr(GVariant) d = calls_ok(h, g, GROUP_IF, "Delete", calls_parse("(a{sv})", "(@a{sv} {},)"));
        wait_signal(h, "-", g, NULL);
        wait_signal(h, "-", r1, NULL);
        wait_signal(h, "-", r2, NULL);
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        assert_false(g_variant_lookup(objects, g, "a{sa{sv}}", NULL));
        assert_false(g_variant_lookup(objects, r1, "a{sa{sv}}", NULL));
        assert_false(g_variant_lookup(objects, r2, "a{sa{sv}}", NULL));
        assert_true(g_variant_lookup(objects, other, "a{sa{sv}}", NULL));
        assert_dev(h, GPU, "Group", g_variant_new_object_path("/"));
        assert_dev(h, GPU, "Rule", g_variant_new_object_path("/"));
        g_autofree char *gpu = calls_path_of(GPU);
        wait_signal(h, "~", gpu, PROPS("Group", "Rule"));
        calls_assert_error(h, g, GROUP_IF, "Update", calls_parse("(a{sv})", "({'Name': <'again'>},)"),
                           "org.freedesktop.DBus.Error.UnknownObject", g);
}

static void test_delete_passed_through(void **state) {
        Fixture *f = *state;
        Harness *h = f->h;

        f->fk = fakekernel_new(h->testbed);
        fakekernel_load_vfio(f->fk, true);
        g_autofree char *group = calls_ok_path(h, ROOT, MANAGER_IF, "MakePassthrough",
                                               g_variant_new("(@ao@a{sv})", DEVICES(GPU, GPU_AUDIO),
                                                             calls_parse("a{sv}", "{'Name': <'PCI GPUs'>, "
                                                                                  "'Class': <'gpu'>}")));
        assert_dev(h, GPU, "Driver", g_variant_new_string("vfio-pci"));
        assert_dev(h, GPU_AUDIO, "Driver", g_variant_new_string("vfio-pci"));
        assert_prop(h, group, GROUP_IF, "Free", g_variant_new_uint32(1));
        g_autoptr(GVariant) rules = calls_prop(h, group, GROUP_IF, "Rules");
        assert_int_equal(g_variant_n_children(rules), 2);

        calls_refused(h, "Delete", group, GROUP_IF, "Delete", calls_parse("(a{sv})", "(@a{sv} {},)"),
                      "org.devpass1.Error.Busy", "PCI GPUs");
        calls_refused(h, "Delete without Release", group, GROUP_IF, "Delete",
                      calls_parse("(a{sv})", "({'Release': <false>},)"), "org.devpass1.Error.Busy", GPU);

        harness_clear_signals(h);
        g_autoptr(GVariant) r = calls_ok(h, group, GROUP_IF, "Delete",
                                         calls_parse("(a{sv})", "({'Release': <true>},)"));
        assert_dev(h, GPU, "Driver", g_variant_new_string("nvidia"));
        assert_dev(h, GPU_AUDIO, "Driver", g_variant_new_string("snd_hda_intel"));
        assert_dev(h, GPU, "State", g_variant_new_string("host"));
        assert_dev(h, GPU, "Group", g_variant_new_object_path("/"));
        wait_signal(h, "-", group, NULL);
        for (gsize i = 0; i < g_variant_n_children(rules); i++) {
                const char *rule;
                g_variant_get_child(rules, i, "&o", &rule);
                wait_signal(h, "-", rule, NULL);
        }
}

/* ---- (7) persistence ---- */

static void test_persistence(void **state) {
        Harness *h = ((Fixture *) *state)->h;

        g_autofree char *a = create_group(h, "{'Name': <'%n%s ünïcødé'>, 'Type': <'sriov-nic'>, 'Class': <'nic'>, "
                                             "'Description': <'VFs for tenants'>}");
        g_autofree char *ra = create_rule(h, a, VF_RULE);
        g_autofree char *rb = create_rule(h, a, "{'Name': <'elsewhere'>, 'Node': <'othernode'>, 'Enabled': <false>, "
                                                "'Conditions': <[('physical-function', 'eq', '" PF1 "'), "
                                                "('device-name', 'regex', '^Ethernet')]>}");
        g_autofree char *b = create_group(h, "{'Name': <'Ethernet'>}");
        g_autofree char *rc = create_rule(h, b, "{'Conditions': <[('class', 'eq', '0x0200')]>}");
        g_autofree char *c = create_group(h, "{'Name': <'Empty'>, 'Class': <'usb'>}");
        assert_dev(h, VF0, "Group", g_variant_new_object_path("/"));
        /* rc conflicts with ra over the VFs: that is kept too. */
        g_autoptr(GVariant) conflicts = calls_prop(h, ra, RULE_IF, "Conflicts");
        assert_int_equal(g_variant_n_children(conflicts), 4);

        g_autoptr(GVariant) before = harness_managed_objects(h);
        g_autofree char *before_text = g_variant_print(before, FALSE);
        harness_daemon_stop(h);
        harness_daemon_start(h, NULL);
        g_autoptr(GVariant) after = harness_managed_objects(h);
        g_autofree char *after_text = g_variant_print(after, FALSE);
        assert_string_equal(after_text, before_text);
        /* And it was not empty. */
        const char *paths[] = { a, ra, rb, b, rc, c };
        for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
                assert_true(g_variant_lookup(after, paths[i], "a{sa{sv}}", NULL));
        assert_prop(h, a, GROUP_IF, "Name", g_variant_new_string("%n%s ünïcødé"));
        assert_prop(h, rb, RULE_IF, "Enabled", g_variant_new_boolean(FALSE));
        assert_prop(h, rb, RULE_IF, "Node", g_variant_new_string("othernode"));
}

/* ---- object paths and a damaged store ---- */

/* create A; delete A; create B never gives B A's path: a client's stale
 * reference must not name another object, across a restart too; and a
 * path past 32 bits names its object. */
static void test_paths_not_reused(void **state) {
        Harness *h = ((Fixture *) *state)->h;
        g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);

        for (int round = 0; round < 3; round++) {
                g_autofree char *g = create_group(h, "{'Name': <'Short-lived'>}");
                g_autofree char *r = create_rule(h, g, "{'Conditions': <[('vendor', 'eq', '10de')]>}");
                for (guint i = 0; i < gone->len; i++) {
                        assert_string_not_equal(g, gone->pdata[i]);
                        assert_string_not_equal(r, gone->pdata[i]);
                }
                g_autoptr(GVariant) d = calls_ok(h, g, GROUP_IF, "Delete", calls_parse("(a{sv})", "(@a{sv} {},)"));
                g_ptr_array_add(gone, g_steal_pointer(&g));
                g_ptr_array_add(gone, g_steal_pointer(&r));
                if (round == 1) {
                        harness_daemon_stop(h);
                        harness_daemon_start(h, NULL);
                }
        }

        /* Ids are 64 bits from the store to the path. */
        g_autofree char *state_dir = harness_state_dir(h);
        g_autofree char *db_path = g_build_filename(state_dir, "devpass.db", NULL);
        sqlite3 *db;
        harness_daemon_stop(h);
        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "UPDATE sqlite_sequence SET seq = 3000000000 WHERE name = 'groups'", NULL,
                                      NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        harness_daemon_start(h, NULL);
        g_autofree char *big = create_group(h, "{'Name': <'Far'>}");
        assert_string_equal(big, ROOT "/groups/3000000001");
        g_autofree char *name = calls_prop_string(h, big, GROUP_IF, "Name");
        assert_string_equal(name, "Far");
}

static char *file_checksum(const char *path) {
        g_autofree char *data = NULL;
        gsize len;

        assert_true(g_file_get_contents(path, &data, &len, NULL));
        return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/* A group deleted with the sqlite3 shell (foreign keys off there) leaves
 * its rule behind: devpassd stops with a message naming the row and what
 * to do, and does not touch the file. */
static void test_damaged_store_refused(void **state) {
        Harness *h = ((Fixture *) *state)->h;
        g_autofree char *g = create_group(h, "{'Name': <'Doomed'>}");
        g_autofree char *r = create_rule(h, g, "{'Conditions': <[('vendor', 'eq', '10de')]>}");
        g_autofree char *state_dir = harness_state_dir(h);
        g_autofree char *db_path = g_build_filename(state_dir, "devpass.db", NULL);
        sqlite3 *db;

        harness_daemon_stop(h);
        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DELETE FROM groups", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        g_autofree char *before = file_checksum(db_path);

        g_autofree char *log = NULL;
        int status = harness_daemon_run_other(h, NULL, &log, WAIT_MS);
        assert_int_equal(status, 1);
        g_autofree char *row = g_strdup_printf("table rules, row id %s: it refers to a row of table groups that is "
                                               "not there", strrchr(r, '/') + 1);
        if (!strstr(log, row) || !strstr(log, "restore a backup, or fix the row with sqlite3 and start again"))
                fail_msg("want \"%s\" and what to do in the log:\n%s", row, log);
        g_autofree char *after = file_checksum(db_path);
        assert_string_equal(after, before);

        /* Fixed by hand, it starts again, without the rule. */
        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DELETE FROM conditions; DELETE FROM rules", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        harness_daemon_start(h, NULL);
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        assert_false(g_variant_lookup(objects, r, "a{sa{sv}}", NULL));
}

/* ---- fields and operators, end to end ---- */

static void test_fields(void **state) {
        Harness *h = ((Fixture *) *state)->h;
        static const struct {
                const char *field, *op, *value;
                const char *devices[16];
        } cases[] = {
                { "address", "eq", "0000:3b:02.*", { VFS } },
                { "address", "ge", "0000:b0:00.0", { "0000:b0:00.0", "0000:b0:02.0", "0000:b1:00.0", "0000:b1:00.1" } },
                { "class", "eq", "0x02", { PF0, PF1, VFS } },
                { "class", "eq", "0403", { GPU_AUDIO, "0000:b1:00.1" } },
                { "class", "eq", "0x010802", { NVME } },
                { "class", "ne", "0x060000/0xff0000", { "0000:00:05.0", "0000:00:14.0", "0000:04:00.0", GPU, GPU_AUDIO,
                                                        PF0, PF1, VFS, NVME, "0000:b1:00.0", "0000:b1:00.1" } },
                { "device-name", "regex", "^GA102GL .*A6000", { GPU, "0000:b1:00.0" } },
                { "vendor-name", "icontains", "nvidia", { GPU, GPU_AUDIO, "0000:b1:00.0", "0000:b1:00.1" } },
                { "numa-node", "eq", "1", { "0000:b0:00.0", "0000:b0:02.0", "0000:b1:00.0", "0000:b1:00.1" } },
                { "iommu-group", "eq", "8", { GPU, GPU_AUDIO } },
                { "physical-function", "eq", PF0, { VFS } },
                { "driver", "prefix", "snd_", { GPU_AUDIO, "0000:b1:00.1" } },
        };
        g_autofree char *g = create_group(h, "{'Name': <'Smoke'>}");

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *settings = g_strdup_printf("{'Conditions': <[('%s', '%s', '%s')]>}", cases[i].field,
                                                            cases[i].op, cases[i].value);
                g_autofree char *r = create_rule(h, g, settings);
                g_autoptr(GVariant) want = g_variant_ref_sink(calls_paths_variant(cases[i].devices));
                g_autoptr(GVariant) got = calls_prop(h, r, RULE_IF, "Devices");
                if (!g_variant_equal(got, want)) {
                        g_autofree char *gt = g_variant_print(got, FALSE), *wt = g_variant_print(want, FALSE);
                        fail_msg("%s %s %s matches %s, want %s", cases[i].field, cases[i].op, cases[i].value, gt, wt);
                }
                /* Shown back as given. */
                g_autoptr(GVariant) conditions = calls_prop(h, r, RULE_IF, "Conditions");
                const char *value;
                g_variant_get_child(conditions, 0, "(&s&s&s)", NULL, NULL, &value);
                assert_string_equal(value, cases[i].value);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rule_joins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hotplug, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_node_scope, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enabled, setup, teardown),
                cmocka_unit_test_setup_teardown(test_update_delete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_passed_through, setup, teardown),
                cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
                cmocka_unit_test_setup_teardown(test_paths_not_reused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_store_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
        };
        return cmocka_run_group_tests_name("groups", tests, NULL, NULL);
}
