/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reconcile, both ways, at start and on driver events: a host driver
 * that takes a passthrough device gets it taken back (once: a driver that
 * will not let go is a reboot reason, not a loop), a release the kernel
 * refused or that devpassd died in is finished at the next start, and an
 * override written by hand is left alone and shown. Real polkitd (root
 * may do everything), a fake kernel. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define NVME "0000:5e:00.0"
#define BY_HAND "by hand (driver_override not written by devpass): devpass leaves it alone"

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *group;
} Fixture;

static const char *const gpu_pair[] = { GPU, GPU_AUDIO, NULL };

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(NULL, &f->fk);
        f->h->connection = harness_connect(f->h);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        calls_stop(f->h, f->fk);
        g_free(f->group);
        g_free(f);
        return 0;
}

static void pass_gpu(Fixture *f) {
        f->group = calls_passthrough_group(f->h, gpu_pair, "PCI GPUs", "pci", "gpu");
        /* Every write of the passthrough handled: a test's writes start after. */
        fakekernel_sync(f->fk);
}

static GVariant *remove_gpu(Fixture *f, GError **error) {
        return harness_call(f->h, "/org/devpass1", MANAGER, "RemovePassthrough",
                            g_variant_new("(@ao)", calls_paths_variant(gpu_pair)), error);
}

static char *blockers_of(Fixture *f, const char *address) {
        g_autofree char *path = calls_path_of(address);
        g_autoptr(GVariant) v = calls_prop(f->h, path, DEVICE, "Blockers");
        return g_variant_print(v, FALSE);
}

/* A host driver takes a device: its override cleared (devpass's keeps
 * any other driver off), unbound, bound to driver, as a reprobe does. */
static void kernel_rebind(Fixture *f, const char *address, const char *driver) {
        fakekernel_lock(f->fk);
        testbed_set_attr(f->h->testbed, address, "driver_override", "(null)");
        testbed_unbind(f->h->testbed, address);
        testbed_bind(f->h->testbed, address, driver);
        fakekernel_unlock(f->fk);
}

static void assert_override_none(Fixture *f, const char *address) {
        g_autofree char *v = calls_sysfs_attr(f->h, f->fk, address, "driver_override");
        if (*v && !g_str_equal(v, "(null)"))
                fail_msg("%s still has driver_override '%s'", address, v);
}

typedef struct {
        FakeKernel *fk;
        const char *want;
} WritesWait;

static bool writes_contain(Harness *h, void *data) {
        WritesWait *w = data;
        g_auto(GStrv) writes = fakekernel_writes(w->fk);
        g_autofree char *text = g_strjoinv("\n", writes);

        return strstr(text, w->want) != NULL;
}

/* Until the fake kernel has handled a write (the daemon's, after an event). */
static void wait_write(Fixture *f, const char *want) {
        WritesWait w = { f->fk, want };

        if (!harness_wait(f->h, writes_contain, &w, 5000)) {
                g_autofree char *writes = calls_writes(f->fk);
                g_autofree char *log = harness_daemon_log(f->h);
                fail_msg("no write '%s' in:\n%s\ndevpassd's log:\n%s", want, writes, log);
        }
}

static void assert_contains(const char *text, const char *want) {
        if (!strstr(text, want))
                fail_msg("'%s' not in:\n%s", want, text);
}

/* A host driver takes a passthrough device while devpassd runs: bound
 * back to vfio-pci at once. When its driver then will not let go, that
 * is one reboot reason, and the next driver events try nothing. */
static void test_host_driver_grabs(void **state) {
        Fixture *f = *state;

        pass_gpu(f);
        fakekernel_clear_writes(f->fk);
        kernel_rebind(f, GPU, "nvidia");
        wait_write(f, "unbind " GPU);
        calls_wait_driver(f->h, GPU, "vfio-pci");
        g_autofree char *writes = calls_writes(f->fk);
        g_autofree char *override = calls_sysfs_attr(f->h, f->fk, GPU, "driver_override");
        assert_string_equal(override, "vfio-pci");
        assert_true(g_str_has_prefix(writes, "driver_override " GPU " vfio-pci\n"));
        assert_true(g_str_has_suffix(writes, "unbind " GPU "\ndrivers_probe " GPU));
        /* One unit: the GPU and its audio function share an IOMMU group. */
        calls_wait_prop(f->h, f->group, "org.devpass1.Group", "Free", "1");

        fakekernel_refuse_unbind(f->fk, "nvidia");
        fakekernel_clear_writes(f->fk);
        kernel_rebind(f, GPU, "nvidia");
        wait_write(f, "unbind " GPU);
        calls_wait_prop(f->h, "/org/devpass1", MANAGER, "RebootRequired", "true");
        g_autofree char *tried = calls_writes(f->fk);
        assert_true(g_str_has_suffix(tried, "unbind " GPU));
        g_autofree char *blockers = blockers_of(f, GPU);
        assert_contains(blockers, "its driver nvidia did not let go");

        /* More driver events of the device: no attempt. */
        fakekernel_clear_writes(f->fk);
        fakekernel_lock(f->fk);
        testbed_unbind(f->h->testbed, GPU);
        fakekernel_unlock(f->fk);
        calls_wait_driver(f->h, GPU, "");
        fakekernel_lock(f->fk);
        testbed_bind(f->h->testbed, GPU, "nvidia");
        fakekernel_unlock(f->fk);
        calls_wait_driver(f->h, GPU, "nvidia");
        g_autofree char *none = calls_writes(f->fk);
        assert_string_equal(none, "");

        /* The driver lets go at last and vfio-pci gets it: the reason is gone. */
        fakekernel_lock(f->fk);
        testbed_unbind(f->h->testbed, GPU);
        testbed_bind(f->h->testbed, GPU, "vfio-pci");
        fakekernel_unlock(f->fk);
        calls_wait_prop(f->h, "/org/devpass1", MANAGER, "RebootRequired", "false");
        g_autofree char *cleared = blockers_of(f, GPU);
        assert_string_equal(cleared, "[]");
}

/* RemovePassthrough whose host bind the kernel refuses: State says host,
 * the device stays on vfio-pci and the error shows on it. The next start
 * gives it back, the override cleared. */
static void test_remove_refused(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;

        pass_gpu(f);
        fakekernel_refuse_unbind(f->fk, GPU);
        g_autoptr(GVariant) r = remove_gpu(f, &error);
        assert_null(r);
        calls_assert_remote_error(error, "org.devpass1.Error.Failed", "vfio-pci did not let go", NULL);
        calls_wait_driver(f->h, GPU_AUDIO, "snd_hda_intel");
        calls_assert_device_state(f->h, GPU, "host ");
        g_autofree char *driver = calls_device_string(f->h, GPU, "Driver");
        assert_string_equal(driver, "vfio-pci");
        g_autofree char *blockers = blockers_of(f, GPU);
        assert_contains(blockers, "vfio-pci did not let go");
        assert_true(strstr(blockers, BY_HAND) == NULL);

        fakekernel_allow_unbind(f->fk, GPU);
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        calls_wait_driver(f->h, GPU, "nvidia");
        assert_override_none(f, GPU);
        g_autofree char *after = blockers_of(f, GPU);
        assert_string_equal(after, "[]");

        /* Given back for good: the next start touches nothing. */
        fakekernel_clear_writes(f->fk);
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        g_autofree char *writes = calls_writes(f->fk);
        assert_string_equal(writes, "");
}

/* devpassd killed in the middle of RemovePassthrough: the intent is gone,
 * the function is still on vfio-pci. The next start finishes the release. */
static void test_killed_mid_remove(void **state) {
        Fixture *f = *state;
        g_autoptr(GError) error = NULL;
        int status;

        pass_gpu(f);
        fakekernel_set_kill_on_write(f->fk, "unbind", f->h->daemon_pid);
        g_autoptr(GVariant) r = remove_gpu(f, &error);
        assert_null(r);
        assert_int_equal(waitpid(f->h->daemon_pid, &status, 0), f->h->daemon_pid);
        f->h->daemon_pid = 0;
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        harness_daemon_start(f->h, NULL);
        calls_wait_driver(f->h, GPU, "nvidia");
        calls_wait_driver(f->h, GPU_AUDIO, "snd_hda_intel");
        calls_assert_device_state(f->h, GPU, "host ");
        assert_override_none(f, GPU);
        assert_override_none(f, GPU_AUDIO);
        g_autofree char *log = harness_daemon_log(f->h);
        assert_contains(log, "Binding 2 devices back to their host drivers");
}

/* An administrator binds the NVMe to vfio-pci with an override of their
 * own: devpass writes nothing, says so on the device and in its log, at
 * once and after a restart. */
static void test_by_hand(void **state) {
        Fixture *f = *state;

        fakekernel_lock(f->fk);
        testbed_set_attr(f->h->testbed, NVME, "driver_override", "vfio-pci");
        testbed_unbind(f->h->testbed, NVME);
        testbed_bind(f->h->testbed, NVME, "vfio-pci");
        fakekernel_unlock(f->fk);
        calls_wait_driver(f->h, NVME, "vfio-pci");
        fakekernel_clear_writes(f->fk);

        g_autofree char *blockers = blockers_of(f, NVME);
        assert_contains(blockers, BY_HAND);
        calls_assert_device_state(f->h, NVME, "host ");

        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        g_autofree char *again = blockers_of(f, NVME);
        assert_contains(again, BY_HAND);
        g_autofree char *driver = calls_device_string(f->h, NVME, "Driver");
        assert_string_equal(driver, "vfio-pci");
        g_autofree char *writes = calls_writes(f->fk);
        assert_string_equal(writes, "");
        g_autofree char *log = harness_daemon_log(f->h);
        assert_contains(log, NVME " is bound to vfio-pci " BY_HAND);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_host_driver_grabs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_killed_mid_remove, setup, teardown),
                cmocka_unit_test_setup_teardown(test_by_hand, setup, teardown),
        };
        return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}
