/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorization of every mutating method, against the real polkitd: root
 * may do everything; a rules.d file grants 'daemon' manage-groups only and
 * 'bin' make-passthrough only (not the unsafe one); 'nobody' may do
 * nothing; with polkitd gone nobody, root included, may do anything.
 * Every refusal must be NotAuthorized naming the refused action, and must
 * leave everything as it was: the bus objects, the store's files, the
 * drivers, overrides and VF counts in sysfs, and no sysfs write at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakekernel.h"
#include "harness.h"

#define DEV(a) "/org/devpass1/devices/" a
#define MANAGER "org.devpass1.Manager"

static const char rules[] =
        "polkit.addRule(function(action, subject) {\n"
        "    if (subject.user == 'daemon' && action.id == 'org.devpass1.manage-groups')\n"
        "        return polkit.Result.YES;\n"
        "    if (subject.user == 'bin' && action.id == 'org.devpass1.make-passthrough')\n"
        "        return polkit.Result.YES;\n"
        "    return polkit.Result.NOT_HANDLED;\n"
        "});\n";

/* Actions, as bits: what a call asks for and what a caller holds. */
enum { MG = 1 << 0, MP = 1 << 1, MPU = 1 << 2, ALL = MG | MP | MPU };

static const char *action_name(unsigned bit) {
        switch (bit) {
        case MG: return "org.devpass1.manage-groups";
        case MP: return "org.devpass1.make-passthrough";
        case MPU: return "org.devpass1.make-passthrough-unsafe";
        default: return "?";
        }
}

/* One mutating call, as gdbus arguments. "@group", "@rule" and "@vfgroup"
 * stand for the objects root made in setup(). The witness shows that an
 * allowed call did its work: "+text" appears in the snapshot (and was not
 * there before), "-text" disappears. The calls run in this order, each on
 * what the ones before left when they were allowed. */
typedef struct {
        const char *what;
        const char *path;
        const char *method;
        const char *args[3];
        unsigned actions[3];    /* asked in this order, 0-terminated */
        const char *witness;
} Call;

static const Call calls[] = {
        { "CreateGroup", "/org/devpass1", MANAGER ".CreateGroup",
          { "{'Name': <'New group'>}" }, { MG }, "+'New group'" },
        { "CreateRule", "/org/devpass1", MANAGER ".CreateRule",
          { "'@group'", "{'Name': <'New rule'>, 'Conditions': <[('vendor', 'eq', 'abcd')]>}" }, { MG },
          "+'New rule'" },
        { "Group.Update", "@group", "org.devpass1.Group.Update",
          { "{'Description': <'Updated'>}" }, { MG }, "+'Updated'" },
        { "Rule.Update", "@rule", "org.devpass1.Rule.Update",
          { "{'Conditions': <[('vendor', 'eq', 'beef')]>}" }, { MG }, "+'beef'" },
        { "Rule.Delete", "@rule", "org.devpass1.Rule.Delete", {}, { MG }, "-'Spare rule'" },
        { "Group.Delete", "@group", "org.devpass1.Group.Delete", { "{}" }, { MG }, "-'Spare'" },
        /* A group with a device passed through: Release needs both. */
        { "Group.Delete with Release", "@vfgroup", "org.devpass1.Group.Delete",
          { "{'Release': <true>}" }, { MG, MP }, "+0000:3b:02.0 driver iavf\n" },
        { "MakePassthrough", "/org/devpass1", MANAGER ".MakePassthrough",
          { "['" DEV("0000_b1_00_0") "', '" DEV("0000_b1_00_1") "']", "{'Name': <'B1 GPUs'>}" }, { MP },
          "+0000:b1:00.0 driver vfio-pci\n" },
        { "RemovePassthrough", "/org/devpass1", MANAGER ".RemovePassthrough",
          { "['" DEV("0000_17_00_0") "', '" DEV("0000_17_00_1") "']" }, { MP },
          "+0000:17:00.0 driver nvidia\n" },
        { "SetVirtualFunctions", DEV("0000_3b_00_1"), "org.devpass1.Device.SetVirtualFunctions",
          { "2" }, { MP }, "+0000:3b:00.1 sriov_numvfs 2\n" },
        /* The boot VGA: unsafe, so Force, which needs the unsafe action too. */
        { "MakePassthrough with Force", "/org/devpass1", MANAGER ".MakePassthrough",
          { "['" DEV("0000_04_00_0") "']", "{'Name': <'Console'>, 'Force': <true>}" }, { MP, MPU },
          "+0000:04:00.0 driver vfio-pci\n" },
};

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *group;      /* "Spare", with the rule "Spare rule" */
        char *rule;
        char *vfgroup;    /* "VFs", 0000:3b:02.0 passed through for it */
} Fixture;

static GVariant *root_call(Fixture *f, const char *path, const char *interface, const char *method,
                           GVariant *args) {
        g_autoptr(GError) error = NULL;
        GVariant *r = harness_call(f->h, path, interface, method, args, &error);
        g_assert_no_error(error);
        return r;
}

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = harness_new("gpu-server.umockdev", NULL);
        harness_polkit_start(f->h, rules);
        f->fk = fakekernel_new(f->h->testbed);
        fakekernel_load_vfio(f->fk, true);

        /* What the calls work on, made by root. */
        g_autoptr(GVariant) g = root_call(f, "/org/devpass1", MANAGER, "CreateGroup",
                                          g_variant_new_parsed("({'Name': <'Spare'>},)"));
        g_variant_get(g, "(o)", &f->group);
        g_autoptr(GVariant) r = root_call(f, "/org/devpass1", MANAGER, "CreateRule",
                                          g_variant_new_parsed("(%o, {'Name': <'Spare rule'>, 'Conditions': "
                                                               "<[('vendor', 'eq', 'abcd')]>})", f->group));
        g_variant_get(r, "(o)", &f->rule);
        g_autoptr(GVariant) gpus = root_call(f, "/org/devpass1", MANAGER, "MakePassthrough",
                                             g_variant_new_parsed("([objectpath '" DEV("0000_17_00_0") "', '"
                                                                  DEV("0000_17_00_1") "'], "
                                                                  "{'Name': <'GPUs'>})"));
        g_autoptr(GVariant) vfs = root_call(f, "/org/devpass1", MANAGER, "MakePassthrough",
                                            g_variant_new_parsed("([objectpath '" DEV("0000_3b_02_0") "'], "
                                                                 "{'Name': <'VFs'>})"));
        g_variant_get(vfs, "(ob)", &f->vfgroup, NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f->group);
        g_free(f->rule);
        g_free(f->vfgroup);
        g_free(f);
        return 0;
}

/* ---- The snapshot: everything a refused call must leave alone ---- */

static int compare_strings(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Only files that exist are opened: under umockdev 0.17 every failed open
 * of a /dev/... path (the testbed and the state live in /dev/shm) leaks a
 * slot of the preload's 50-entry fd map, and the 51st aborts the test. */
static bool exists(const char *path) {
        return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* Called under the fake kernel's lock. */
static char *read_attr(Fixture *f, const char *dev_dir, const char *address, const char *name) {
        g_autofree char *path = g_build_filename(dev_dir, name, NULL);
        return exists(path) ? testbed_read_attr(f->h->testbed, address, name) : NULL;
}

/* One line per bus object (sorted: the order of GetManagedObjects is not
 * the point), one per state file (its checksum), and one per device
 * attribute in sysfs. */
static char *snapshot(Fixture *f) {
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        GVariantIter it;
        const char *path;
        GVariant *ifaces;

        g_variant_iter_init(&it, objects);
        while (g_variant_iter_loop(&it, "{&o@a{sa{sv}}}", &path, &ifaces)) {
                g_autofree char *text = g_variant_print(ifaces, FALSE);
                g_ptr_array_add(lines, g_strdup_printf("%s %s", path, text));
        }
        g_ptr_array_sort(lines, compare_strings);

        g_autofree char *state_dir = harness_state_dir(f->h);
        const char *files[] = { "devpass.db", "devpass.db-wal", "vfio-pci.list", NULL };
        for (size_t i = 0; files[i]; i++) {
                g_autofree char *file = g_build_filename(state_dir, files[i], NULL);
                g_autofree char *bytes = NULL;
                gsize len;
                if (!exists(file)) {
                        g_ptr_array_add(lines, g_strdup_printf("%s absent", files[i]));
                        continue;
                }
                assert_true(g_file_get_contents(file, &bytes, &len, NULL));
                g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *) bytes, len);
                g_ptr_array_add(lines, g_strdup_printf("%s %zu bytes sha256 %s", files[i], len, sum));
        }

        /* The devices the kernel has now (new VFs would show). */
        fakekernel_lock(f->fk);
        g_autofree char *devices_dir = g_build_filename(testbed_sys_dir(f->h->testbed), "bus/pci/devices", NULL);
        g_autoptr(GDir) dir = g_dir_open(devices_dir, 0, NULL);
        assert_non_null(dir);
        g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while ((name = g_dir_read_name(dir)))
                g_ptr_array_add(addresses, g_strdup(name));
        g_ptr_array_sort(addresses, compare_strings);
        for (guint i = 0; i < addresses->len; i++) {
                const char *a = addresses->pdata[i];
                g_autofree char *dev_dir = testbed_device_dir(f->h->testbed, a);
                g_autofree char *link = g_build_filename(dev_dir, "driver", NULL);
                g_autofree char *target = g_file_read_link(link, NULL);
                g_autofree char *driver = target ? g_path_get_basename(target) : g_strdup("(none)");
                g_autofree char *override = read_attr(f, dev_dir, a, "driver_override");
                g_autofree char *numvfs = read_attr(f, dev_dir, a, "sriov_numvfs");
                g_ptr_array_add(lines, g_strdup_printf("%s driver %s", a, driver));
                g_ptr_array_add(lines, g_strdup_printf("%s driver_override %s", a, override ?: "(absent)"));
                if (numvfs)
                        g_ptr_array_add(lines, g_strdup_printf("%s sriov_numvfs %s", a, numvfs));
        }
        fakekernel_unlock(f->fk);

        GString *s = g_string_new(NULL);
        for (guint i = 0; i < lines->len; i++)
                g_string_append_printf(s, "%s\n", (char *) lines->pdata[i]);
        return g_string_free(s, FALSE);
}

/* Fails naming the first line that differs. */
static void assert_same(const char *before, const char *after, const char *what, const char *user) {
        if (g_str_equal(before, after))
                return;
        g_auto(GStrv) b = g_strsplit(before, "\n", -1);
        g_auto(GStrv) a = g_strsplit(after, "\n", -1);
        size_t i = 0;
        while (b[i] && a[i] && g_str_equal(b[i], a[i]))
                i++;
        fail_msg("%s as %s was refused but changed the state:\n  before: %s\n  after:  %s", what, user,
                 b[i] ?: "(end)", a[i] ?: "(end)");
}

static void assert_witness(const Call *c, const char *before, const char *after, const char *user) {
        bool appears = c->witness[0] == '+';
        const char *text = c->witness + 1;

        if ((strstr(before, text) != NULL) != !appears || (strstr(after, text) != NULL) != appears)
                fail_msg("%s as %s succeeded, but '%s' did not %s", c->what, user, g_strchomp(g_strdup(text)),
                         appears ? "appear" : "disappear");
}

/* gdbus's stderr names the error and the action:
 * "GDBus.Error:org.devpass1.Error.NotAuthorized: Not authorized for ACTION: REASON ..." */
static void assert_not_authorized(const Call *c, const char *user, int status, const char *err,
                                  const char *action, const char *reason) {
        g_autofree char *want = g_strdup_printf("org.devpass1.Error.NotAuthorized: Not authorized for %s: ", action);

        if (status == 0)
                fail_msg("%s as %s: allowed, want refused for %s", c->what, user, action);
        if (!strstr(err, want))
                fail_msg("%s as %s: '%s', want '%s'", c->what, user, g_strchomp((char *) err), want);
        if (!strstr(err, reason))
                fail_msg("%s as %s: '%s' does not say '%s'", c->what, user, err, reason);
}

/* ---- Calls ---- */

static char *expand(Fixture *f, const char *arg) {
        const char *from[] = { "@vfgroup", "@group", "@rule" };
        const char *to[] = { f->vfgroup, f->group, f->rule };
        char *s = g_strdup(arg);

        for (size_t i = 0; i < G_N_ELEMENTS(from); i++) {
                g_auto(GStrv) parts = g_strsplit(s, from[i], -1);
                g_free(s);
                s = g_strjoinv(to[i], parts);
        }
        return s;
}

static int call_as(Fixture *f, const char *user, const Call *c, char **err) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

        g_ptr_array_add(argv, g_strdup("--object-path"));
        g_ptr_array_add(argv, expand(f, c->path));
        g_ptr_array_add(argv, g_strdup("--method"));
        g_ptr_array_add(argv, g_strdup(c->method));
        for (size_t i = 0; c->args[i]; i++)
                g_ptr_array_add(argv, expand(f, c->args[i]));
        g_ptr_array_add(argv, NULL);
        return harness_call_as(f->h, user, (const char *const *) argv->pdata, err);
}

/* The first action of the call that the caller lacks; 0 when it has all. */
static unsigned refused_action(const Call *c, unsigned granted) {
        for (size_t i = 0; c->actions[i]; i++)
                if (!(c->actions[i] & granted))
                        return c->actions[i];
        return 0;
}

typedef struct {
        const char *user;
        unsigned granted;     /* the actions polkit says yes to */
        const char *reason;   /* in every refusal's message */
} Caller;

/* Every call of the table in turn, as that caller. */
static void run_calls(Fixture *f, const Caller *who) {
        for (size_t i = 0; i < G_N_ELEMENTS(calls); i++) {
                const Call *c = &calls[i];
                unsigned action = refused_action(c, who->granted);
                g_autofree char *before = snapshot(f);
                g_autofree char *err = NULL;

                fakekernel_clear_writes(f->fk);
                int status = call_as(f, who->user, c, &err);
                if (!action) {
                        if (status != 0)
                                fail_msg("%s as %s: refused: %s", c->what, who->user, err);
                        g_autofree char *after = snapshot(f);
                        assert_witness(c, before, after, who->user);
                        continue;
                }
                assert_not_authorized(c, who->user, status, err, action_name(action), who->reason);
                /* Nothing written into sysfs, then nothing changed at all. */
                fakekernel_sync(f->fk);
                g_auto(GStrv) writes = fakekernel_writes(f->fk);
                if (writes[0])
                        fail_msg("%s as %s was refused but wrote '%s'", c->what, who->user, writes[0]);
                g_autofree char *after = snapshot(f);
                assert_same(before, after, c->what, who->user);
        }
}

static void test_root_allowed(void **state) {
        Caller root = { "root", ALL, "" };
        run_calls(*state, &root);
}

/* manage-groups only: the passthrough calls, and Release, are refused
 * naming make-passthrough. */
static void test_manage_groups_user(void **state) {
        Caller daemon_user = { "daemon", MG, "authentication is required" };
        run_calls(*state, &daemon_user);
}

/* make-passthrough only: a safe pair yes, the boot VGA with Force no
 * (naming make-passthrough-unsafe), the group calls no. */
static void test_make_passthrough_user(void **state) {
        Caller bin = { "bin", MP, "authentication is required" };
        run_calls(*state, &bin);
}

static void test_nobody_refused(void **state) {
        Caller nobody = { "nobody", 0, "authentication is required" };
        run_calls(*state, &nobody);
}

/* No polkitd: no answer is a no, for root too. */
static void test_polkit_gone_refuses_root(void **state) {
        Fixture *f = *state;
        Caller root = { "root", 0, "the authorization service could not be" };

        harness_polkit_stop(f->h);
        run_calls(f, &root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_root_allowed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_manage_groups_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_make_passthrough_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nobody_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit_gone_refuses_root, setup, teardown),
        };
        return cmocka_run_group_tests_name("authz", tests, NULL, NULL);
}
