/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Make passthrough, the reference's flow, on the GPU server: the group and
 * rules that appear, the sysfs writes in order, the states, a restart, the
 * safety guard, a driver that will not let go, and a reboot. Real polkitd,
 * a fake kernel answering the binder's writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"
#include "store.h"

typedef struct {
        Harness *h;
        FakeKernel *fk;
} Fixture;

#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define DEV(a) "/org/devpass1/devices/" a

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(NULL, &f->fk);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f);
        return 0;
}

/* MakePassthrough into a new group of that name; the reply or NULL with *error. */
static GVariant *make_new(Fixture *f, const char *const *addresses, const char *name, bool force, GError **error) {
        return calls_make_passthrough_new(f->h, addresses, name, "pci", "gpu", force, error);
}

static char *override_of(Fixture *f, const char *address) {
        fakekernel_lock(f->fk);
        char *v = testbed_read_attr(f->h->testbed, address, "driver_override");
        fakekernel_unlock(f->fk);
        return v;
}

/* The kernel shows no override as "(null)". */
static bool override_none(const char *v) {
        return !v || !*v || g_str_equal(v, "(null)");
}

static void assert_writes(Fixture *f, const char *const *want) {
        g_auto(GStrv) writes = fakekernel_writes(f->fk);
        g_autofree char *got = g_strjoinv("\n", writes);
        g_autofree char *expected = g_strjoinv("\n", (char **) want);
        assert_string_equal(got, expected);
}

static void test_flow(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { GPU, GPU_AUDIO, NULL };
        g_autoptr(GError) error = NULL;
        const char *group;
        gboolean reboot;

        g_autoptr(GVariant) r = make_new(f, gpu, "PCI GPUs", false, &error);
        g_assert_no_error(error);
        g_variant_get(r, "(&ob)", &group, &reboot);
        assert_false(reboot);
        calls_wait_driver(f->h, GPU, "vfio-pci");
        calls_wait_driver(f->h, GPU_AUDIO, "vfio-pci");
        fakekernel_sync(f->fk);
        const char *want[] = {
                "driver_override " GPU " vfio-pci", "unbind " GPU, "drivers_probe " GPU,
                "driver_override " GPU_AUDIO " vfio-pci", "unbind " GPU_AUDIO, "drivers_probe " GPU_AUDIO, NULL,
        };
        assert_writes(f, want);

        /* The group, its two rules, the devices' view. */
        g_autofree char *name = calls_prop_string(f->h, group, "org.devpass1.Group", "Name");
        assert_string_equal(name, "PCI GPUs");
        /* One unit: the GPU and its audio function share IOMMU group 8. */
        assert_int_equal(calls_prop_uint(f->h, group, "org.devpass1.Group", "Total"), 1);
        assert_int_equal(calls_prop_uint(f->h, group, "org.devpass1.Group", "Free"), 1);
        g_autoptr(GVariant) rules = calls_prop(f->h, group, "org.devpass1.Group", "Rules");
        assert_int_equal(g_variant_n_children(rules), 2);
        const char *rule;
        g_variant_get_child(rules, 0, "&o", &rule);
        g_autoptr(GVariant) conditions = calls_prop(f->h, rule, "org.devpass1.Rule", "Conditions");
        g_autofree char *text = g_variant_print(conditions, FALSE);
        assert_string_equal(text, "[('vendor', 'eq', '10de'), ('device', 'eq', '2230'), ('address', 'eq', '" GPU "')]");
        g_autofree char *node = calls_prop_string(f->h, rule, "org.devpass1.Rule", "Node");
        assert_string_equal(node, "testnode");
        for (size_t i = 0; gpu[i]; i++) {
                g_autofree char *st = calls_device_string(f->h, gpu[i], "State");
                assert_string_equal(st, "passthrough");
                g_autofree char *g = calls_device_string(f->h, gpu[i], "Group");
                assert_string_equal(g, group);
        }
        g_autofree char *other = calls_device_string(f->h, "0000:b1:00.0", "Group");
        assert_string_equal(other, "/");

        /* Restart: everything as it was, and nothing written again. */
        g_autofree char *group_path = g_strdup(group);
        fakekernel_clear_writes(f->fk);
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        assert_int_equal(calls_prop_uint(f->h, group_path, "org.devpass1.Group", "Free"), 1);
        g_autofree char *st = calls_device_string(f->h, GPU, "State");
        assert_string_equal(st, "passthrough");
        fakekernel_sync(f->fk);
        g_auto(GStrv) none = fakekernel_writes(f->fk);
        assert_null(none[0]);

        /* The boot-time list names both. */
        g_autofree char *dir = harness_state_dir(f->h);
        g_autofree char *list = calls_boot_list(dir);
        assert_non_null(strstr(list, "\n" GPU "\n" GPU_AUDIO "\n"));

        /* Back to the host: override cleared, host drivers back, rules stay. */
        g_autoptr(GVariant) back = harness_call(f->h, "/org/devpass1", "org.devpass1.Manager", "RemovePassthrough",
                                                g_variant_new("(@ao)", calls_paths_variant(gpu)), &error);
        g_assert_no_error(error);
        calls_wait_driver(f->h, GPU, "nvidia");
        calls_wait_driver(f->h, GPU_AUDIO, "snd_hda_intel");
        g_autofree char *cleared = override_of(f, GPU);
        assert_true(override_none(cleared));
        g_autofree char *host = calls_device_string(f->h, GPU, "State");
        assert_string_equal(host, "host");
        assert_int_equal(calls_prop_uint(f->h, group_path, "org.devpass1.Group", "Free"), 0);
        assert_int_equal(calls_prop_uint(f->h, group_path, "org.devpass1.Group", "Total"), 1);
}

/* The rule of a call names its devices: VFs of one PF go to two groups
 * by two calls, each group's rule holding exactly its own (none steals a
 * sibling), one rule for the call's three VFs; after a restart too. */
static void test_vfs_two_groups(void **state) {
        Fixture *f = *state;
        const char *to_a[] = { "0000:3b:02.2", "0000:3b:02.0", "0000:3b:02.1", NULL };
        const char *to_b[] = { "0000:3b:02.3", NULL };

        g_autofree char *a = calls_passthrough_group(f->h, to_a, "Tenant A", "sriov-nic", "nic");
        g_autofree char *b = calls_passthrough_group(f->h, to_b, "Tenant B", "sriov-nic", "nic");
        for (int restart = 0; restart < 2; restart++) {
                g_autoptr(GVariant) rules = calls_prop(f->h, a, "org.devpass1.Group", "Rules");
                assert_int_equal(g_variant_n_children(rules), 1);
                const char *rule;
                g_variant_get_child(rules, 0, "&o", &rule);
                g_autofree char *name = calls_prop_string(f->h, rule, "org.devpass1.Rule", "Name");
                assert_string_equal(name, "0000:3b:02.0 +2 8086:154c");
                g_autoptr(GVariant) conditions = calls_prop(f->h, rule, "org.devpass1.Rule", "Conditions");
                g_autofree char *text = g_variant_print(conditions, FALSE);
                assert_string_equal(text, "[('vendor', 'eq', '8086'), ('device', 'eq', '154c'), "
                                          "('address', 'in', '0000:3b:02.0,0000:3b:02.1,0000:3b:02.2')]");
                g_autoptr(GVariant) devices = calls_prop(f->h, rule, "org.devpass1.Rule", "Devices");
                assert_int_equal(g_variant_n_children(devices), 3);
                assert_int_equal(calls_prop_uint(f->h, a, "org.devpass1.Group", "Total"), 3);
                assert_int_equal(calls_prop_uint(f->h, b, "org.devpass1.Group", "Total"), 1);
                for (size_t i = 0; to_a[i]; i++) {
                        g_autofree char *g = calls_device_string(f->h, to_a[i], "Group");
                        assert_string_equal(g, a);
                }
                g_autofree char *g = calls_device_string(f->h, to_b[0], "Group");
                assert_string_equal(g, b);
                harness_daemon_stop(f->h);
                harness_daemon_start(f->h, NULL);
        }
}

static void test_guard_iommu_sibling(void **state) {
        Fixture *f = *state;
        const char *alone[] = { GPU, NULL };
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r = make_new(f, alone, "PCI GPUs", false, &error);
        assert_null(r);
        calls_assert_remote_error(error, "org.devpass1.Error.Unsafe", GPU_AUDIO, NULL);
        g_autofree char *driver = calls_device_string(f->h, GPU, "Driver");
        assert_string_equal(driver, "nvidia");
        g_autofree char *ov = override_of(f, GPU);
        assert_true(override_none(ov));
        /* Nothing was created either. */
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autofree char *text = g_variant_print(objects, FALSE);
        assert_null(strstr(text, "org.devpass1.Group"));
}

static void test_guard_boot_vga(void **state) {
        Fixture *f = *state;
        const char *vga[] = { "0000:04:00.0", NULL };
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r = make_new(f, vga, "Console", false, &error);
        assert_null(r);
        calls_assert_remote_error(error, "org.devpass1.Error.Unsafe", "boot VGA", NULL);

        /* With Force, as root (who holds every action): done. */
        g_clear_error(&error);
        g_autoptr(GVariant) forced = make_new(f, vga, "Console", true, &error);
        g_assert_no_error(error);
        calls_wait_driver(f->h, "0000:04:00.0", "vfio-pci");
}

/* What the host uses, as the guard reads it under devpassd's --root (the
 * testbed's root: its sys/ is the testbed, its proc/ the test's). */
static void host_uses(Fixture *f) {
        g_autofree char *root = g_path_get_dirname(testbed_sys_dir(f->h->testbed));
        g_autoptr(GError) error = NULL;

        fakekernel_lock(f->fk);
        g_autofree char *nic = testbed_device_dir(f->h->testbed, "0000:3b:00.1");
        g_autofree char *nvme = testbed_device_dir(f->h->testbed, "0000:5e:00.0");
        fakekernel_unlock(f->fk);

        /* The second port carries the default route. */
        g_autofree char *sys = g_build_filename(root, "sys", NULL);
        g_autofree char *ifdir = g_build_filename(nic, "net", "ens1f1", NULL);
        assert_int_equal(g_mkdir_with_parents(ifdir, 0755), 0);
        g_autofree char *if_target = g_strconcat("../..", ifdir + strlen(sys), NULL);
        g_autofree char *if_link = g_build_filename(sys, "class", "net", "ens1f1", NULL);
        assert_int_equal(symlink(if_target, if_link), 0);
        g_autofree char *route = g_build_filename(root, "proc", "net", "route", NULL);
        assert_true(g_file_set_contents(route,
                                        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\t"
                                        "Window\tIRTT\n"
                                        "ens1f1\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
                                        -1, &error));

        /* The NVMe's second partition is the root filesystem. */
        g_autofree char *part = g_build_filename(nvme, "nvme", "nvme0", "nvme0n1", "nvme0n1p2", NULL);
        assert_int_equal(g_mkdir_with_parents(part, 0755), 0);
        g_autofree char *dev = g_build_filename(part, "dev", NULL);
        assert_true(g_file_set_contents(dev, "259:2\n", -1, &error));
        g_autofree char *block = g_build_filename(root, "sys", "class", "block", NULL);
        assert_int_equal(g_mkdir_with_parents(block, 0755), 0);
        g_autofree char *target = g_strconcat("../..", part + strlen(sys), NULL);
        g_autofree char *link = g_build_filename(block, "nvme0n1p2", NULL);
        assert_int_equal(symlink(target, link), 0);
        g_autofree char *mountinfo = g_build_filename(root, "proc", "self", "mountinfo", NULL);
        assert_true(g_file_set_contents(mountinfo, "29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n",
                                        -1, &error));
}

static void test_guard_host_uses(void **state) {
        Fixture *f = *state;
        const char *nic[] = { "0000:3b:00.1", NULL };
        const char *nvme[] = { "0000:5e:00.0", NULL };
        g_autoptr(GError) error = NULL;

        host_uses(f);
        g_autoptr(GVariant) r = make_new(f, nic, "NICs", false, &error);
        assert_null(r);
        calls_assert_remote_error(error, "org.devpass1.Error.Unsafe", "ens1f1", "default route", NULL);
        g_clear_error(&error);
        g_autoptr(GVariant) r2 = make_new(f, nvme, "Disks", false, &error);
        assert_null(r2);
        calls_assert_remote_error(error, "org.devpass1.Error.Unsafe", "nvme0n1p2", "mounted on /", NULL);

        /* Nothing written, nothing made. */
        fakekernel_sync(f->fk);
        g_auto(GStrv) writes = fakekernel_writes(f->fk);
        assert_null(writes[0]);
        g_autofree char *driver = calls_device_string(f->h, "0000:5e:00.0", "Driver");
        assert_string_equal(driver, "nvme");

        /* The report says the same, kind by kind. */
        const char *both[] = { "0000:3b:00.1", "0000:5e:00.0", NULL };
        g_autoptr(GVariant) report = calls_ok(f->h, "/org/devpass1", "org.devpass1.Manager", "CheckPassthrough",
                                              g_variant_new("(@ao)", calls_paths_variant(both)));
        g_autofree char *text = g_variant_print(report, FALSE);
        assert_non_null(strstr(text, "'0000:3b:00.1', 'default-route', 'ens1f1'"));
        assert_non_null(strstr(text, "'0000:5e:00.0', 'mounted', '/'"));
}

static void test_check_reports(void **state) {
        Fixture *f = *state;
        const char *both[] = { GPU, "0000:04:00.0", NULL };
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r = harness_call(f->h, "/org/devpass1", "org.devpass1.Manager", "CheckPassthrough",
                                             g_variant_new("(@ao)", calls_paths_variant(both)), &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) findings = g_variant_get_child_value(r, 0);
        assert_int_equal(g_variant_n_children(findings), 2);
        const char *address, *kind, *subject, *message;
        g_variant_get_child(findings, 0, "(&s&s&s&s)", &address, &kind, &subject, &message);
        assert_string_equal(address, GPU);
        assert_string_equal(kind, "iommu-group");
        assert_string_equal(subject, GPU_AUDIO);
        g_variant_get_child(findings, 1, "(&s&s&s&s)", &address, &kind, &subject, &message);
        assert_string_equal(kind, "boot-vga");
        /* A dry run: nothing written. */
        fakekernel_sync(f->fk);
        g_auto(GStrv) writes = fakekernel_writes(f->fk);
        assert_null(writes[0]);
}

static void test_driver_refuses(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { GPU, GPU_AUDIO, NULL };
        g_autoptr(GError) error = NULL;
        gboolean reboot;

        fakekernel_refuse_unbind(f->fk, "nvidia");
        g_autoptr(GVariant) r = make_new(f, gpu, "PCI GPUs", false, &error);
        g_assert_no_error(error);
        g_variant_get(r, "(&ob)", NULL, &reboot);
        assert_true(reboot);
        calls_wait_driver(f->h, GPU_AUDIO, "vfio-pci");
        g_autofree char *driver = calls_device_string(f->h, GPU, "Driver");
        assert_string_equal(driver, "nvidia");
        g_autofree char *ov = override_of(f, GPU);
        assert_string_equal(ov, "vfio-pci");
        g_autofree char *st = calls_device_string(f->h, GPU, "State");
        assert_string_equal(st, "passthrough");
        g_autoptr(GVariant) required = calls_prop(f->h, "/org/devpass1", "org.devpass1.Manager", "RebootRequired");
        assert_true(g_variant_get_boolean(required));
        g_autoptr(GVariant) reasons = calls_prop(f->h, "/org/devpass1", "org.devpass1.Manager", "RebootReasons");
        g_autofree char *text = g_variant_print(reasons, FALSE);
        assert_non_null(strstr(text, "'" GPU "'"));
        assert_non_null(strstr(text, "nvidia"));
        g_autofree char *path = calls_path_of(GPU);
        g_autoptr(GVariant) blockers = calls_prop(f->h, path, "org.devpass1.Device", "Blockers");
        assert_int_equal(g_variant_n_children(blockers), 1);

        /* A reboot with the boot-time list: it comes up on vfio-pci. */
        harness_daemon_stop(f->h);
        g_autofree char *dir = harness_state_dir(f->h);
        g_autofree char *list = calls_boot_list(dir);
        g_auto(GStrv) lines = g_strsplit(list, "\n", -1);
        g_autoptr(GPtrArray) addresses = g_ptr_array_new();
        for (size_t i = 0; lines[i]; i++)
                if (*lines[i] && lines[i][0] != '#')
                        g_ptr_array_add(addresses, lines[i]);
        g_ptr_array_add(addresses, NULL);
        fakekernel_reboot(f->fk, (const char *const *) addresses->pdata);
        harness_daemon_start(f->h, NULL);
        g_autofree char *after = calls_device_string(f->h, GPU, "Driver");
        assert_string_equal(after, "vfio-pci");
        g_autoptr(GVariant) cleared = calls_prop(f->h, "/org/devpass1", "org.devpass1.Manager", "RebootRequired");
        assert_false(g_variant_get_boolean(cleared));
}

/* ---- a driver change that fails ---- */

static void vfio_unload(Fixture *f, const char *address) {
        fakekernel_load_vfio(f->fk, false);
}

static void vfio_load(Fixture *f, const char *address) {
        fakekernel_load_vfio(f->fk, true);
}

/* A directory where driver_override was: its write fails (EISDIR). */
static void override_unwritable(Fixture *f, const char *address) {
        fakekernel_lock(f->fk);
        g_autofree char *dir = testbed_device_dir(f->h->testbed, address);
        g_autofree char *path = g_build_filename(dir, "driver_override", NULL);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        fakekernel_unlock(f->fk);
}

static void override_writable(Fixture *f, const char *address) {
        fakekernel_lock(f->fk);
        g_autofree char *dir = testbed_device_dir(f->h->testbed, address);
        g_autofree char *path = g_build_filename(dir, "driver_override", NULL);
        assert_int_equal(rmdir(path), 0);
        assert_true(g_file_set_contents(path, "(null)\n", -1, NULL));
        fakekernel_unlock(f->fk);
}

static const struct {
        const char *what;
        const char *address, *driver; /* a device the guard passes, and its host driver */
        void (*cause)(Fixture *f, const char *address), (*mend)(Fixture *f, const char *address);
        const char *reason; /* in the error and on the device's Blockers */
} bind_failures[] = {
        /* The harness's config has Modprobe=/bin/false. */
        { "vfio-pci missing, modprobe fails", "0000:5e:00.0", "nvme", vfio_unload, vfio_load,
          "vfio-pci is not available: /bin/false vfio-pci failed" },
        { "driver_override cannot be written", "0000:00:14.0", "xhci_hcd", override_unwritable, override_writable,
          "cannot write driver_override: Is a directory" },
};

/* A write that fails (not a driver that will not let go): the caller gets
 * Failed naming the device and what to do, the device's Blockers say
 * why, and the intent stays: the next start, the fault mended, binds it. */
static void test_bind_fails(void **state) {
        Fixture *f = *state;

        for (size_t i = 0; i < G_N_ELEMENTS(bind_failures); i++) {
                const char *address = bind_failures[i].address;
                const char *devices[] = { address, NULL };
                g_autofree char *path = calls_path_of(address);
                g_autoptr(GError) error = NULL;
                g_autofree char *name = g_strdup_printf("group %zu", i);

                bind_failures[i].cause(f, address);
                g_autoptr(GVariant) r = calls_make_passthrough_new(f->h, devices, name, "pci", "other", false, &error);
                if (r)
                        fail_msg("%s: MakePassthrough succeeded", bind_failures[i].what);
                calls_assert_remote_error(error, "org.devpass1.Error.Failed", address, bind_failures[i].reason,
                                          "'devpassctl give-back' returns them", NULL);
                g_autoptr(GVariant) blockers = calls_prop(f->h, path, "org.devpass1.Device", "Blockers");
                g_autofree char *text = g_variant_print(blockers, FALSE);
                if (!strstr(text, bind_failures[i].reason))
                        fail_msg("%s: Blockers %s do not say why", bind_failures[i].what, text);
                g_autofree char *driver = calls_device_string(f->h, address, "Driver");
                assert_string_equal(driver, bind_failures[i].driver);
                g_autofree char *st = calls_device_string(f->h, address, "State");
                assert_string_equal(st, "passthrough");
                g_autofree char *group = calls_device_string(f->h, address, "Group");
                g_autofree char *group_name = calls_prop_string(f->h, group, "org.devpass1.Group", "Name");
                assert_string_equal(group_name, name);

                /* Mended, the next start makes the change. */
                bind_failures[i].mend(f, address);
                harness_daemon_stop(f->h);
                harness_daemon_start(f->h, NULL);
                calls_wait_driver(f->h, address, "vfio-pci");
                calls_wait_prop(f->h, path, "org.devpass1.Device", "Blockers", "[]");
        }
}

static bool has_object(Fixture *f, const char *path) {
        g_autoptr(GVariant) objects = harness_managed_objects(f->h);
        g_autoptr(GVariant) v = g_variant_lookup_value(objects, path, NULL);
        return v != NULL;
}

static bool device_missing(Harness *h, void *address) {
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, address);
        const char *st = NULL;

        return props && g_variant_lookup(props, "State", "&s", &st) && g_str_equal(st, "missing");
}

/* What a device shows of itself that a missing one must keep. */
static char *device_facts(Fixture *f, const char *address) {
        static const char *const names[] = { "VendorId", "DeviceId", "SubsystemVendorId", "SubsystemDeviceId",
                                             "Class", "Revision", "VendorName", "DeviceName", "SubsystemName",
                                             "ClassName", "Holder", NULL };
        g_autofree char *path = calls_path_of(address);
        g_autoptr(GString) s = g_string_new(NULL);

        for (size_t i = 0; names[i]; i++) {
                g_autoptr(GVariant) v = calls_prop(f->h, path, "org.devpass1.Device", names[i]);
                g_autofree char *text = g_variant_print(v, FALSE);
                g_string_append_printf(s, "%s=%s\n", names[i], text);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static void test_missing(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { "0000:b1:00.0", "0000:b1:00.1", NULL };
        g_autoptr(GError) error = NULL;

        g_autofree char *group = calls_passthrough_group(f->h, gpu, "PCI GPUs", "pci", "gpu");
        calls_wait_driver(f->h, "0000:b1:00.1", "vfio-pci");
        g_autofree char *attachment = calls_ok_path(
                f->h, "/org/devpass1", "org.devpass1.Manager", "CreateAttachment",
                g_variant_new("(s@a{sv})", "vm1", g_variant_new_parsed("{'Group': <%o>, 'Count': <uint32 1>}", group)));
        g_autoptr(GVariant) claimed = calls_ok(f->h, "/org/devpass1", "org.devpass1.Manager", "Claim",
                                               g_variant_new("(s@a{sv})", "vm1", calls_parse("a{sv}", "{}")));
        g_autofree char *devices = calls_claimed(claimed, NULL);
        assert_string_equal(devices, "0000:b1:00.0 0000:b1:00.1");
        calls_assert_device_state(f->h, "0000:b1:00.1", "claimed vm1");
        g_autofree char *facts = device_facts(f, "0000:b1:00.1");
        g_autofree char *ids = g_strdup_printf("VendorId=%u\nDeviceId=%u\n", 0x10de, 0x1aef);
        assert_true(g_str_has_prefix(facts, ids));
        assert_null(strstr(facts, "VendorName=''"));
        assert_null(strstr(facts, "DeviceName=''"));

        /* The card goes while the daemon runs: its audio function stays
         * known, as missing, not forgotten, and still vm1's. */
        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, "0000:b1:00.1");
        fakekernel_unlock(f->fk);
        g_autofree char *audio = calls_path_of("0000:b1:00.1");
        assert_true(harness_wait(f->h, device_missing, (void *) "0000:b1:00.1", 5000));
        g_autoptr(GVariant) blockers = calls_prop(f->h, audio, "org.devpass1.Device", "Blockers");
        g_autofree char *text = g_variant_print(blockers, FALSE);
        assert_non_null(strstr(text, "not present on this node"));
        g_autofree char *ghost = device_facts(f, "0000:b1:00.1");
        assert_string_equal(ghost, facts);

        /* After a restart too: ids, names, class and holder as they were. */
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        g_autofree char *again = calls_device_string(f->h, "0000:b1:00.1", "State");
        assert_string_equal(again, "missing");
        g_autofree char *restarted = device_facts(f, "0000:b1:00.1");
        assert_string_equal(restarted, facts);
        g_autofree char *out = NULL;
        assert_int_equal(harness_ctl(f->h, &out, NULL, (const char *const[]) { "devices", NULL }), 0);
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        const char *row = NULL;
        for (size_t i = 0; lines[i] && !row; i++)
                if (g_str_has_prefix(lines[i], "0000:b1:00.1"))
                        row = lines[i];
        assert_non_null(row);
        assert_non_null(strstr(row, "[10de:1aef]"));
        assert_non_null(strstr(row, "missing"));

        /* Released by its machine, it shows no holder; released from
         * passthrough, it is forgotten. */
        g_autoptr(GVariant) released = calls_ok(f->h, "/org/devpass1", "org.devpass1.Manager", "Release",
                                                g_variant_new("(s)", "vm1"));
        g_autofree char *holder = calls_device_string(f->h, "0000:b1:00.1", "Holder");
        assert_string_equal(holder, "");
        const char *one[] = { "0000:b1:00.1", NULL };
        g_autoptr(GVariant) back = harness_call(f->h, "/org/devpass1", "org.devpass1.Manager", "RemovePassthrough",
                                                g_variant_new("(@ao)", calls_paths_variant(one)), &error);
        g_assert_no_error(error);
        assert_false(has_object(f, audio));
        g_autofree char *gone = calls_device_string(f->h, "0000:b1:00.0", "State");
        assert_string_equal(gone, "passthrough");
}

/* The ids stored with each intent, by address. */
static GHashTable *stored_intents(Fixture *f) {
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = harness_state_dir(f->h);
        g_autoptr(Store) s = store_open(dir, &error);
        g_assert_no_error(error);
        GHashTable *intents = store_passthrough_load(s, &error);
        g_assert_no_error(error);
        return intents;
}

typedef struct {
        const char *address;
        const char *name;
        const char *want;    /* as g_variant_print() shows it */
} PropWant;

static bool device_prop_is(Harness *h, void *data) {
        const PropWant *w = data;
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, w->address);
        g_autoptr(GVariant) v = props ? g_variant_lookup_value(props, w->name, NULL) : NULL;
        g_autofree char *text = v ? g_variant_print(v, FALSE) : NULL;

        return text && g_str_equal(text, w->want);
}

/* The sysfs attribute changes, and its bytes in config space (offset,
 * little-endian, the value's width: bytes), the kernel says so, devpassd
 * shows it. */
static void device_change(Fixture *f, const char *address, const char *attr, const char *value, size_t offset,
                          size_t bytes, PropWant *shown) {
        g_autofree char *dir = testbed_device_dir(f->h->testbed, address);
        g_autofree char *path = g_build_filename(dir, "config", NULL);
        g_autofree char *config = NULL;
        g_autoptr(GError) error = NULL;
        guint64 v = g_ascii_strtoull(value, NULL, 16);
        gsize len;

        fakekernel_lock(f->fk);
        testbed_set_attr(f->h->testbed, address, attr, value);
        assert_true(g_file_get_contents(path, &config, &len, &error));
        assert_true(offset + bytes <= len);
        for (size_t i = 0; i < bytes; i++)
                config[offset + i] = (char) (v >> (8 * i));
        assert_true(g_file_set_contents(path, config, (gssize) len, &error));
        testbed_uevent(f->h->testbed, address, "change");
        fakekernel_unlock(f->fk);
        assert_true(harness_wait(f->h, device_prop_is, shown, 5000));
}

/* Intents written before schema 3 have no ids: a missing device shows
 * what is known (zeros, no names: vendor 0000 has one in pci.ids), and a
 * present one has its ids written at the next start, and again when they
 * change, but not when it reads as all ones. */
static void test_facts_unknown(void **state) {
        Fixture *f = *state;
        const char *gpu[] = { "0000:b1:00.0", "0000:b1:00.1", NULL };

        g_autofree char *group = calls_passthrough_group(f->h, gpu, "PCI GPUs", "pci", "gpu");
        calls_wait_driver(f->h, "0000:b1:00.1", "vfio-pci");
        harness_daemon_stop(f->h);
        {
                g_autoptr(GHashTable) before = stored_intents(f);
                const StorePassthrough *p = g_hash_table_lookup(before, "0000:b1:00.0");
                assert_non_null(p);
                assert_int_equal(p->vendor_id, 0x10de);
                assert_int_equal(p->device_id, 0x2230);
                assert_int_equal(p->class_code, 0x030000);
                assert_int_equal(p->revision, 0xa1);

                g_autoptr(GError) error = NULL;
                g_autofree char *dir = harness_state_dir(f->h);
                g_autoptr(Store) s = store_open(dir, &error);
                StorePassthrough old = { .group_id = p->group_id };
                assert_true(store_begin(s, &error));
                for (size_t i = 0; gpu[i]; i++)
                        assert_true(store_passthrough_set(s, gpu[i], &old, &error));
                assert_true(store_commit(s, &error));
        }
        fakekernel_lock(f->fk);
        testbed_remove(f->h->testbed, "0000:b1:00.1");
        fakekernel_unlock(f->fk);
        harness_daemon_start(f->h, NULL);

        g_autofree char *st = calls_device_string(f->h, "0000:b1:00.1", "State");
        assert_string_equal(st, "missing");
        g_autofree char *facts = device_facts(f, "0000:b1:00.1");
        assert_string_equal(facts, "VendorId=0\nDeviceId=0\nSubsystemVendorId=0\nSubsystemDeviceId=0\nClass=0\n"
                                   "Revision=0x00\nVendorName=''\nDeviceName=''\nSubsystemName=''\nClassName=''\n"
                                   "Holder=''\n");

        /* A present one that changes (new firmware) is written again
         * while the daemon runs; one that reads as all ones (falling off
         * the bus) is not. */
        device_change(f, "0000:b1:00.0", "revision", "0xa2", 0x08, 1,
                      &(PropWant) { "0000:b1:00.0", "Revision", "0xa2" });
        device_change(f, "0000:b1:00.0", "vendor", "0xffff", 0x00, 2,
                      &(PropWant) { "0000:b1:00.0", "VendorId", "65535" });
        harness_daemon_stop(f->h);
        g_autoptr(GHashTable) after = stored_intents(f);
        const StorePassthrough *present = g_hash_table_lookup(after, "0000:b1:00.0");
        const StorePassthrough *missing = g_hash_table_lookup(after, "0000:b1:00.1");
        assert_non_null(present);
        assert_non_null(missing);
        assert_int_equal(present->vendor_id, 0x10de);
        assert_int_equal(present->device_id, 0x2230);
        assert_int_equal(present->subsystem_device_id, 0x1459);
        assert_int_equal(present->class_code, 0x030000);
        assert_int_equal(present->revision, 0xa2);
        assert_int_equal(missing->vendor_id, 0);
        harness_daemon_start(f->h, NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_flow, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vfs_two_groups, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guard_iommu_sibling, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guard_boot_vga, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guard_host_uses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_reports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_driver_refuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bind_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_facts_unknown, setup, teardown),
        };
        return cmocka_run_group_tests_name("passthrough", tests, NULL, NULL);
}
