/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Persistence faults. The state directory goes read-only or fills up
 * under a running devpassd: every call that changes settings fails with
 * Failed, and memory, sysfs and the disk stay as they were. devpassd is
 * killed (SIGKILL) at each sysfs step of MakePassthrough: after a restart
 * the devices are fully passed through and the store agrees with sysfs.
 * Real polkitd, a fake kernel; run as root in a private mount namespace
 * (meson runs it under unshare --mount), where the state directory gets a
 * file system of its own. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"
#include "store.h"

#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define MANAGER "org.devpass1.Manager"

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *state;       /* the state directory */
        bool mounted;      /* something of ours is mounted on it */
} Fixture;

static const char *const gpu_pair[] = { GPU, GPU_AUDIO, NULL };

/* A harness without devpassd yet: the test mounts on the state directory first. */
static Fixture *fixture_prepare(void) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = harness_prepare("gpu-server.umockdev");
        harness_polkit_start(f->h, NULL);
        f->state = harness_state_dir(f->h);
        assert_int_equal(g_mkdir_with_parents(f->state, 0700), 0);
        return f;
}

static void fixture_start(Fixture *f) {
        harness_daemon_start(f->h, NULL);
        f->fk = fakekernel_new(f->h->testbed);
        fakekernel_load_vfio(f->fk, true);
}

static int setup(void **state) {
        Fixture *f = fixture_prepare();
        fixture_start(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        if (!f)
                return 0;
        /* Detached even while the daemon still holds files there; then
         * harness_free() removes the directory beneath. */
        if (f->mounted)
                (void) umount2(f->state, MNT_DETACH);
        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f->state);
        g_free(f);
        return 0;
}

/* ---- helpers ---- */

static GVariant *make_new(Fixture *f, const char *name, GError **error) {
        return calls_make_passthrough_new(f->h, gpu_pair, name, NULL, "gpu", false, error);
}

static GVariant *create_group(Fixture *f, const char *name, GError **error) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "Name", g_variant_new_string(name));
        return harness_call(f->h, "/org/devpass1", MANAGER, "CreateGroup", g_variant_new("(@a{sv})",
                            g_variant_builder_end(&b)), error);
}

static GVariant *create_rule(Fixture *f, const char *group, const char *name, GError **error) {
        GVariantBuilder b, c;

        g_variant_builder_init(&c, G_VARIANT_TYPE("a(sss)"));
        /* No device of the node's (no conflict with MakePassthrough's rules). */
        g_variant_builder_add(&c, "(sss)", "vendor", "eq", "1234");
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "Name", g_variant_new_string(name));
        g_variant_builder_add(&b, "{sv}", "Conditions", g_variant_builder_end(&c));
        return harness_call(f->h, "/org/devpass1", MANAGER, "CreateRule",
                            g_variant_new("(o@a{sv})", group, g_variant_builder_end(&b)), error);
}

/* The driver in the testbed (sysfs itself, not the daemon's view): "" for none. */
static char *writes_text(Fixture *f) {
        fakekernel_sync(f->fk);
        g_auto(GStrv) writes = fakekernel_writes(f->fk);
        return g_strjoinv("\n", writes);
}

static bool never(Harness *h, void *data) {
        return false;
}

/* A program from the host, without umockdev's preload: it must see the real /sys. */
static bool run_host(const char *const *argv, char **out) {
        g_auto(GStrv) env = g_environ_unsetenv(g_get_environ(), "LD_PRELOAD");
        g_autofree char *err = NULL;
        int status;

        if (!g_spawn_sync(NULL, (char **) argv, env, HARNESS_SPAWN | G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err, &status, NULL))
                return false;
        if (!g_spawn_check_wait_status(status, NULL)) {
                fprintf(stderr, "%s: %s", argv[0], err ?: "");
                return false;
        }
        return true;
}

/* ---- a read-only or full state directory ---- */

#define GPU2 "0000:b1:00.0"
#define GPU2_AUDIO "0000:b1:00.1"
#define VF0 "0000:3b:02.0"
#define PF1 "/org/devpass1/devices/0000_3b_00_1"

/* The objects the calls below change, made while the store takes writes:
 * a group with a rule, two passthrough groups (one unit each), machine
 * vm1 holding the first, vm2 attached to the second. Returned as the
 * placeholders of the table ("$G", "$R", "$P2", "$A2"). */
static GPtrArray *objects_make(Fixture *f) {
        static const char *const pair2[] = { GPU2, GPU2_AUDIO, NULL };
        GPtrArray *pairs = g_ptr_array_new_with_free_func(g_free);
        Harness *h = f->h;

        g_autofree char *g = calls_ok_path(h, "/org/devpass1", MANAGER, "CreateGroup",
                                           calls_parse("(a{sv})", "({'Name': <'Before'>},)"));
        g_autofree char *rule_args = g_strdup_printf("(objectpath '%s', {'Conditions': <[('vendor', 'eq', '1234')]>})",
                                                     g);
        g_autofree char *r = calls_ok_path(h, "/org/devpass1", MANAGER, "CreateRule", calls_parse(NULL, rule_args));
        g_autofree char *p1 = calls_passthrough_group(h, gpu_pair, "First GPUs", NULL, "gpu");
        g_autofree char *p2 = calls_passthrough_group(h, pair2, "Second GPUs", NULL, "gpu");
        g_autofree char *a1_args = g_strdup_printf("('vm1', {'Group': <objectpath '%s'>})", p1);
        g_autofree char *a1 = calls_ok_path(h, "/org/devpass1", MANAGER, "CreateAttachment",
                                            calls_parse(NULL, a1_args));
        g_autoptr(GVariant) claimed = calls_ok(h, "/org/devpass1", MANAGER, "Claim",
                                               calls_parse(NULL, "('vm1', @a{sv} {})"));
        g_autofree char *a2_args = g_strdup_printf("('vm2', {'Group': <objectpath '%s'>})", p2);
        char *a2 = calls_ok_path(h, "/org/devpass1", MANAGER, "CreateAttachment", calls_parse(NULL, a2_args));
        const char *names[] = { "$G", "$R", "$P2", "$A2" };
        char *paths[] = { g_steal_pointer(&g), g_steal_pointer(&r), g_steal_pointer(&p2), a2 };
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_ptr_array_add(pairs, g_strdup(names[i]));
                g_ptr_array_add(pairs, paths[i]);
        }
        g_ptr_array_add(pairs, NULL);
        return pairs;
}

/* Every mutating method, each call one that a writable store would take. */
static const CallsBad writes[] = {
        { "/org/devpass1", MANAGER, "CreateGroup", "({'Name': <'Lost group'>},)" },
        { "/org/devpass1", MANAGER, "CreateRule", "(objectpath '$G', {'Name': <'Lost rule'>, "
          "'Conditions': <[('vendor', 'eq', '4321')]>})" },
        { "$G", "org.devpass1.Group", "Update", "({'Description': <'Lost'>},)" },
        { "$G", "org.devpass1.Group", "Delete", "(@a{sv} {},)" },
        { "$R", "org.devpass1.Rule", "Update", "({'Enabled': <false>},)" },
        { "$R", "org.devpass1.Rule", "Delete", NULL },
        { "/org/devpass1", MANAGER, "MakePassthrough", "([objectpath '/org/devpass1/devices/0000_3b_02_0'], "
          "{'Name': <'Lost VFs'>, 'Type': <'sriov-nic'>})" },
        { "/org/devpass1", MANAGER, "RemovePassthrough", "([objectpath '/org/devpass1/devices/0000_b1_00_0', "
          "objectpath '/org/devpass1/devices/0000_b1_00_1'],)" },
        { PF1, "org.devpass1.Device", "SetVirtualFunctions", "(uint32 2,)" },
        { "/org/devpass1", MANAGER, "CreateAttachment", "('vm3', {'Group': <objectpath '$P2'>})" },
        { "/org/devpass1", MANAGER, "CreateAttachments", "([('vm4', {'Group': <objectpath '$P2'>})],)" },
        { "$A2", "org.devpass1.Attachment", "Update", "({'Description': <'Lost'>},)" },
        { "$A2", "org.devpass1.Attachment", "Delete", NULL },
        { "/org/devpass1", MANAGER, "Claim", "('vm2', @a{sv} {})" },
        { "/org/devpass1", MANAGER, "ClaimDevices", "('vm2', ['" GPU2 "'], @a{sv} {})" },
        { "/org/devpass1", MANAGER, "Release", "('vm1',)" },
        { "/org/devpass1", MANAGER, "PassToTenant", "('acme', 'acme-1', {'Group': <objectpath '$P2'>, "
          "'Name': <'Lost tenant GPUs'>})" },
};

/* Each mutating call fails with Failed and a message naming the store
 * and why; nothing changes: the objects and their properties, sysfs (not
 * one write), the signals (none); and the daemon is still there. */
static void assert_changes_refused(Fixture *f, GPtrArray *pairs, const char *why) {
        g_autofree char *before = calls_snapshot(f->h);

        fakekernel_clear_writes(f->fk);
        /* Those of the calls before (the group's InterfacesAdded) first. */
        (void) harness_wait(f->h, never, NULL, 200);
        harness_clear_signals(f->h);
        for (size_t i = 0; i < G_N_ELEMENTS(writes); i++) {
                const CallsBad *c = &writes[i];
                const char *const *p = (const char *const *) pairs->pdata;
                g_autofree char *path = calls_substitute(c->path, p);
                g_autofree char *args = calls_substitute(c->args, p);
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r = harness_call(f->h, path, c->iface, c->method,
                                                     args ? calls_parse(NULL, args) : NULL, &error);
                g_autofree char *name = error ? g_dbus_error_get_remote_error(error) : NULL;
                if (r || g_strcmp0(name, "org.devpass1.Error.Failed") != 0)
                        fail_msg("%s.%s: want org.devpass1.Error.Failed, got %s", c->iface, c->method,
                                 error ? error->message : "success");
                calls_assert_remote_error(error, "org.devpass1.Error.Failed", "Cannot write", "devpass.db", why,
                                          NULL);
        }
        g_autofree char *after = calls_snapshot(f->h);
        calls_assert_unchanged(before, after, "a call on a store that takes no writes");
        assert_null(strstr(after, "Lost"));
        g_autofree char *writes_done = writes_text(f);
        assert_string_equal(writes_done, "");
        (void) harness_wait(f->h, never, NULL, 200);
        assert_int_equal(f->h->signals->len, 0);
        assert_int_equal(waitpid(f->h->daemon_pid, NULL, WNOHANG), 0);
}

/* The way a state directory goes read-only under a running daemon: its
 * file system hits an error and errors=remount-ro takes it. A read-only
 * bind mount, or "mount -o remount,ro", is no such fault: the first leaves
 * the files SQLite holds open writable, the second is refused (EBUSY)
 * while they are open. So: ext4 on a loop device, and the kernel's own
 * error trigger (/sys/fs/ext4/<dev>/trigger_fs_error). */
static bool ext4_mount(Fixture *f, const char *image) {
        const char *argv[] = { "mount", "-o", "loop,errors=remount-ro", image, f->state, NULL };
        f->mounted = run_host(argv, NULL);
        return f->mounted;
}

static void test_read_only(void **state) {
        Fixture *f = fixture_prepare();
        *state = f;
        g_autofree char *image = g_build_filename(f->h->tmpdir, "state.ext4", NULL);
        int fd = open(image, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 8 << 20), 0);
        close(fd);
        const char *mkfs[] = { "mkfs.ext4", "-q", "-F", image, NULL };
        if (access("/dev/loop-control", F_OK) < 0 || !run_host(mkfs, NULL) || !ext4_mount(f, image)) {
                fail_msg("no ext4 on a loop device here (mkfs.ext4, /dev/loop-control): the test needs one");
        }
        fixture_start(f);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) pairs = objects_make(f);
        const char *group = pairs->pdata[1];

        /* The file system's error: from now on it takes no write. */
        g_autofree char *source = NULL;
        const char *findmnt[] = { "findmnt", "-n", "-o", "SOURCE", "--mountpoint", f->state, NULL };
        assert_true(run_host(findmnt, &source));
        g_autofree char *dev = g_path_get_basename(g_strstrip(source));
        g_autofree char *script = g_strdup_printf("echo devpass-test > /sys/fs/ext4/%s/trigger_fs_error", dev);
        const char *trigger[] = { "sh", "-c", script, NULL };
        assert_true(run_host(trigger, NULL));
        g_autofree char *probe = g_build_filename(f->state, "probe", NULL);
        int probe_fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), probe_errno = errno;
        assert_int_equal(probe_fd, -1);
        assert_int_equal(probe_errno, EROFS);

        assert_changes_refused(f, pairs, "I/O error");

        /* The file system back (the daemon's files on it are lost to it:
         * a restart): what was committed before is there, nothing of the
         * refused calls, and a change goes through again. */
        harness_daemon_stop(f->h);
        assert_int_equal(umount2(f->state, 0), 0);
        f->mounted = false;
        assert_true(ext4_mount(f, image));
        harness_daemon_start(f->h, NULL);
        g_autofree char *name = calls_prop_string(f->h, group, "org.devpass1.Group", "Name");
        assert_string_equal(name, "Before");
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autofree char *text = g_variant_print(objects, FALSE);
        assert_null(strstr(text, "Lost"));
        calls_assert_device_state(f->h, GPU, "claimed vm1");
        g_autoptr(GVariant) after = create_group(f, "After", &error);
        g_assert_no_error(error);
}

/* Full: a small tmpfs of its own, filled to the last page once the store
 * is there. */
static void test_full(void **state) {
        Fixture *f = fixture_prepare();
        *state = f;
        assert_int_equal(mount("tmpfs", f->state, "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0700"), 0);
        f->mounted = true;
        fixture_start(f);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) pairs = objects_make(f);
        const char *group = pairs->pdata[1];

        g_autofree char *filler = g_build_filename(f->state, "filler", NULL);
        int fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        static const char zeros[4096];
        size_t filled = 0;
        ssize_t n;
        while ((n = write(fd, zeros, sizeof(zeros))) > 0)
                filled += (size_t) n;
        int full_errno = errno;
        assert_int_equal(n, -1);
        assert_int_equal(full_errno, ENOSPC);
        assert_true(filled > 0);
        close(fd);

        assert_changes_refused(f, pairs, "full");

        /* Room again: the same daemon takes changes, down to sysfs. */
        assert_int_equal(unlink(filler), 0);
        g_autoptr(GVariant) rule = create_rule(f, group, "Kept rule", &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) made = calls_make_passthrough_new(f->h, (const char *const[]) { VF0, NULL }, "Kept VFs",
                                                              "sriov-nic", NULL, false, &error);
        g_assert_no_error(error);
        calls_wait_driver(f->h, VF0, "vfio-pci");

        /* And on disk: what went through, nothing of what did not. */
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autofree char *text = g_variant_print(objects, FALSE);
        assert_null(strstr(text, "Lost"));
        assert_non_null(strstr(text, "'Kept rule'"));
        assert_non_null(strstr(text, "'Kept VFs'"));
        g_autofree char *st = calls_device_string(f->h, VF0, "State");
        assert_string_equal(st, "passthrough");
}

/* ---- SIGKILL in the middle of MakePassthrough ----
 *
 * MakePassthrough commits the group, its rules and the intent in one
 * transaction, writes the boot-time list, and only then lets the binder
 * touch sysfs: driver_override, unbind, drivers_probe, per device. So a
 * kill at any sysfs write finds the intent committed, and the restart's
 * reconcile has to finish the job: "fully passed through". "Fully back"
 * is what a kill before the commit leaves (nothing committed, nothing
 * written); that moment has no sysfs write to hook, so the earliest kill
 * here is the first driver_override write. */

static const char *const flow[] = {
        "driver_override " GPU " vfio-pci", "unbind " GPU, "drivers_probe " GPU,
        "driver_override " GPU_AUDIO " vfio-pci", "unbind " GPU_AUDIO, "drivers_probe " GPU_AUDIO, NULL,
};

/* What binding to vfio-pci writes for a device with this driver. */
static void expect_bind(GString *want, const char *address, const char *driver) {
        if (g_str_equal(driver, "vfio-pci"))
                return;
        g_string_append_printf(want, "driver_override %s vfio-pci\n", address);
        if (driver[0])
                g_string_append_printf(want, "unbind %s\n", address);
        g_string_append_printf(want, "drivers_probe %s\n", address);
}

static void kill_at(Fixture *f, const char *step) {
        g_autoptr(GError) error = NULL;

        fakekernel_set_kill_on_write(f->fk, step, f->h->daemon_pid);
        g_autoptr(GVariant) r = make_new(f, "PCI GPUs", &error);
        assert_null(r);
        if (!g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY))
                fail_msg("want NoReply, got %s", error->message);
        int status = 0;
        pid_t got = 0;
        for (int i = 0; i < 1000 && got == 0; i++)
                if ((got = waitpid(f->h->daemon_pid, &status, WNOHANG)) == 0)
                        g_usleep(5000);
        assert_int_equal(got, f->h->daemon_pid);
        f->h->daemon_pid = 0;
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);

        /* It died at that write: the flow up to it, and at most the next
         * write, which the binder makes without waiting for the kernel
         * (after driver_override, the unbind often gets out too). */
        g_autofree char *at_kill = writes_text(f);
        g_auto(GStrv) lines = g_strsplit(at_kill, "\n", -1);
        guint n = g_strv_length(lines), k = 0;
        while (flow[k] && !g_str_has_prefix(flow[k], step))
                k++;
        assert_true(n == k + 1 || (n == k + 2 && g_str_equal(step, "driver_override")));
        for (guint i = 0; i < n; i++)
                assert_string_equal(lines[i], flow[i]);

        /* The intent is committed: the boot-time list has both (the
         * store's WAL, which the restart recovers, is checked below). */
        g_autofree char *wal = g_build_filename(f->state, "devpass.db-wal", NULL);
        assert_true(g_file_test(wal, G_FILE_TEST_EXISTS));
        g_autofree char *list = calls_boot_list(f->state);
        assert_non_null(strstr(list, "\n" GPU "\n" GPU_AUDIO "\n"));

        /* The restart binds what is not on vfio-pci yet, and only that. */
        g_autoptr(GString) want = g_string_new(NULL);
        for (size_t i = 0; gpu_pair[i]; i++) {
                g_autofree char *driver = calls_sysfs_driver(f->h, f->fk, gpu_pair[i]);
                expect_bind(want, gpu_pair[i], driver);
        }
        fakekernel_clear_writes(f->fk);
        harness_daemon_start(f->h, NULL);
        calls_wait_driver(f->h, GPU, "vfio-pci");
        calls_wait_driver(f->h, GPU_AUDIO, "vfio-pci");
        g_autofree char *redone = writes_text(f);
        if (want->len)
                g_string_truncate(want, want->len - 1);
        assert_string_equal(redone, want->str);

        /* Fully passed through: sysfs, the daemon's view, its group. */
        const char *group = NULL;
        for (size_t i = 0; gpu_pair[i]; i++) {
                g_autofree char *driver = calls_sysfs_driver(f->h, f->fk, gpu_pair[i]);
                assert_string_equal(driver, "vfio-pci");
                fakekernel_lock(f->fk);
                g_autofree char *ov = testbed_read_attr(f->h->testbed, gpu_pair[i], "driver_override");
                fakekernel_unlock(f->fk);
                assert_string_equal(g_strstrip(ov), "vfio-pci");
                g_autofree char *st = calls_device_string(f->h, gpu_pair[i], "State");
                assert_string_equal(st, "passthrough");
                g_autofree char *g = calls_device_string(f->h, gpu_pair[i], "Group");
                assert_string_not_equal(g, "/");
                if (!group)
                        group = g_intern_string(g);
                assert_string_equal(g, group);
        }
        g_autofree char *name = calls_prop_string(f->h, group, "org.devpass1.Group", "Name");
        assert_string_equal(name, "PCI GPUs");
        g_autoptr(GVariant) rules = calls_prop(f->h, group, "org.devpass1.Group", "Rules");
        assert_int_equal(g_variant_n_children(rules), 2);
        assert_int_equal(calls_prop_uint(f->h, group, "org.devpass1.Group", "Free"), 1);
        g_autoptr(GVariant) reboot = calls_prop(f->h, "/org/devpass1", MANAGER, "RebootRequired");
        assert_false(g_variant_get_boolean(reboot));

        /* And the store says what sysfs shows: one group, its two rules,
         * both devices passed through for it. */
        harness_daemon_stop(f->h);
        g_autoptr(GError) e = NULL;
        g_autoptr(Store) s = store_open(f->state, &e);
        g_assert_no_error(e);
        g_autoptr(GPtrArray) groups = store_groups_load(s, &e);
        g_autoptr(GPtrArray) stored_rules = store_rules_load(s, &e);
        g_autoptr(GHashTable) intent = store_passthrough_load(s, &e);
        g_assert_no_error(e);
        assert_int_equal(groups->len, 1);
        StoreGroup *g = groups->pdata[0];
        assert_string_equal(g->name, "PCI GPUs");
        assert_int_equal(stored_rules->len, 2);
        assert_int_equal(g_hash_table_size(intent), 2);
        for (size_t i = 0; gpu_pair[i]; i++)
                assert_int_equal(((StorePassthrough *) g_hash_table_lookup(intent, gpu_pair[i]))->group_id, g->id);
}

static void test_kill_at_driver_override(void **state) {
        kill_at(*state, "driver_override");
}

static void test_kill_at_unbind(void **state) {
        kill_at(*state, "unbind");
}

static void test_kill_at_drivers_probe(void **state) {
        kill_at(*state, "drivers_probe");
}

static int no_setup(void **state) {
        *state = NULL;
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_read_only, no_setup, teardown),
                cmocka_unit_test_setup_teardown(test_full, no_setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill_at_driver_override, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill_at_unbind, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill_at_drivers_probe, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
