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

#include "calls.h"

#define DEV(a) "/org/devpass1/devices/" a
#define MANAGER "org.devpass1.Manager"

static const char rules[] =
        "polkit.addRule(function(action, subject) {\n"
        "    if (subject.user == 'daemon' && action.id == 'org.devpass1.manage-groups')\n"
        "        return polkit.Result.YES;\n"
        "    if (subject.user == 'bin' && action.id == 'org.devpass1.make-passthrough')\n"
        "        return polkit.Result.YES;\n"
        "    if (subject.user == 'games' && action.id == 'org.devpass1.make-passthrough-unsafe')\n"
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
        const char *args[CALLS_AS_ARGS];
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
        /* The boot VGA: unsafe, so Force, which needs the unsafe action,
         * asked first: it implies make-passthrough (one password prompt). */
        { "MakePassthrough with Force", "/org/devpass1", MANAGER ".MakePassthrough",
          { "['" DEV("0000_04_00_0") "']", "{'Name': <'Console'>, 'Force': <true>}" }, { MPU, MP },
          "+0000:04:00.0 driver vfio-pci\n" },
};

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *group;      /* "Spare", with the rule "Spare rule" */
        char *rule;
        char *vfgroup;    /* "VFs", 0000:3b:02.0 passed through for it */
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(rules, &f->fk);

        /* What the calls work on, made by root. */
        f->group = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateGroup",
                                 g_variant_new_parsed("({'Name': <'Spare'>},)"));
        f->rule = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateRule",
                                g_variant_new_parsed("(%o, {'Name': <'Spare rule'>, 'Conditions': "
                                                     "<[('vendor', 'eq', 'abcd')]>})", f->group));
        g_autofree char *gpus = calls_ok_path(f->h, "/org/devpass1", MANAGER, "MakePassthrough",
                                              g_variant_new_parsed("([objectpath '" DEV("0000_17_00_0") "', '"
                                                                   DEV("0000_17_00_1") "'], {'Name': <'GPUs'>})"));
        f->vfgroup = calls_ok_path(f->h, "/org/devpass1", MANAGER, "MakePassthrough",
                                   g_variant_new_parsed("([objectpath '" DEV("0000_3b_02_0") "'], {'Name': <'VFs'>})"));
        /* A fresh daemon on that state: each safety check leaks slots of the
         * umockdev preload's fd map in devpassd (failed opens of --root's
         * proc files, under /dev/shm), which aborts it after about ten. */
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
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
        g_autoptr(GPtrArray) lines = calls_object_lines(f->h);

        g_autofree char *state_dir = harness_state_dir(f->h);
        const char *files[] = { "devpass.db", "devpass.db-wal", NULL };
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
        g_autofree char *boot_list = calls_boot_list(state_dir);
        g_ptr_array_add(lines, g_strdup_printf("boot list:%s", boot_list));

        /* The devices the kernel has now (new VFs would show). */
        fakekernel_lock(f->fk);
        g_autofree char *devices_dir = g_build_filename(testbed_sys_dir(f->h->testbed), "bus/pci/devices", NULL);
        g_autoptr(GDir) dir = g_dir_open(devices_dir, 0, NULL);
        assert_non_null(dir);
        g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while ((name = g_dir_read_name(dir)))
                g_ptr_array_add(addresses, g_strdup(name));
        g_ptr_array_sort(addresses, calls_compare_strings);
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

/* ---- Calls ---- */

static int call_as(Fixture *f, const char *user, const Call *c, char **err) {
        const char *const pairs[] = { "@vfgroup", f->vfgroup, "@group", f->group, "@rule", f->rule, NULL };

        return calls_as(f->h, user, c->path, c->method, c->args, pairs, err);
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

/* A snapshot once two taken 30 ms apart agree: an allowed call's uevents
 * may still be on their way when it has replied, and a refused call that
 * started anything would show it here. */
static char *settled_snapshot(Fixture *f) {
        char *s = snapshot(f);

        for (int i = 0; i < 100; i++) {
                g_usleep(30000);
                g_autofree char *again = snapshot(f);
                if (g_str_equal(s, again))
                        return s;
                g_free(s);
                s = g_steal_pointer(&again);
        }
        fail_msg("the state did not settle within 3 s");
        return s;
}

/* Every call of the table in turn, as that caller. */
static void run_calls(Fixture *f, const Caller *who) {
        g_autofree char *now = settled_snapshot(f);

        for (size_t i = 0; i < G_N_ELEMENTS(calls); i++) {
                const Call *c = &calls[i];
                unsigned action = refused_action(c, who->granted);
                g_autofree char *before = g_steal_pointer(&now);
                g_autofree char *err = NULL;

                fakekernel_clear_writes(f->fk);
                int status = call_as(f, who->user, c, &err);
                if (!action) {
                        now = settled_snapshot(f);
                        calls_assert_allowed(c->what, who->user, status, err, c->witness, before, now);
                        continue;
                }
                calls_assert_not_authorized(c->what, who->user, status, err, action_name(action), who->reason);
                /* Nothing written into sysfs, then nothing changed at all. */
                fakekernel_sync(f->fk);
                g_auto(GStrv) writes = fakekernel_writes(f->fk);
                if (writes[0])
                        fail_msg("%s as %s was refused but wrote '%s'", c->what, who->user, writes[0]);
                now = settled_snapshot(f);
                g_autofree char *refused = g_strdup_printf("%s as %s (refused)", c->what, who->user);
                calls_assert_unchanged(before, now, refused);
        }
        /* The daemon took all that in its stride: it stops cleanly (under
         * the sanitizers: nothing leaked on these paths either). */
        harness_daemon_stop(f->h);
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

/* make-passthrough-unsafe only: the policy says it implies
 * make-passthrough, so every driver change is allowed, the group calls
 * are not. */
static void test_unsafe_implies_user(void **state) {
        Caller games = { "games", MP | MPU, "authentication is required" };
        run_calls(*state, &games);
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
                cmocka_unit_test_setup_teardown(test_unsafe_implies_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nobody_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit_gone_refuses_root, setup, teardown),
        };
        return cmocka_run_group_tests_name("authz", tests, NULL, NULL);
}
