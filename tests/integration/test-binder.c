/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The binder against the GPU server's fake /sys, with a fake kernel that
 * acts on what the binder writes (tests/fakekernel.h): what ends up bound,
 * what was written in which order, and what the binder says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "binder.h"
#include "fakekernel.h"
#include "testbed.h"

#define SETTLE_MS 500
#define ASYNC_TIMEOUT_S 10

#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define GPU2 "0000:b1:00.0"
#define PF0 "0000:3b:00.0"      /* 4 VFs */
#define PF1 "0000:3b:00.1"      /* no VFs; its VFs start at 3b:0a.0 */
#define VMD_REGS "0000:00:05.0" /* no driver */

typedef struct {
        Testbed *tb;
        FakeKernel *fk;
        Binder *binder;
        char *tmpdir;
        char *modprobe_log;
} Fixture;

/* A fake modprobe: records its arguments, then runs body. */
static char *modprobe_write(Fixture *fx, const char *name, const char *body) {
        char *path = g_build_filename(fx->tmpdir, name, NULL);
        g_autofree char *script = g_strdup_printf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\n%s\n",
                                                  fx->modprobe_log, body);

        assert_true(g_file_set_contents(path, script, -1, NULL));
        assert_int_equal(chmod(path, 0755), 0);
        return path;
}

static int setup(void **state) {
        Fixture *fx = g_new0(Fixture, 1);
        g_autofree char *fixture = g_build_filename(getenv("DEVPASS_FIXTURES"), "gpu-server.umockdev", NULL);

        fx->tb = testbed_new();
        testbed_load(fx->tb, fixture);
        fx->fk = fakekernel_new(fx->tb);
        fakekernel_load_vfio(fx->fk, true);
        fx->tmpdir = g_dir_make_tmp("devpass-binder-XXXXXX", NULL);
        assert_non_null(fx->tmpdir);
        fx->modprobe_log = g_build_filename(fx->tmpdir, "modprobe.log", NULL);
        g_autofree char *modprobe = modprobe_write(fx, "modprobe", "exit 0");
        fx->binder = binder_new("/sys", modprobe, SETTLE_MS);
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        Fixture *fx = *state;

        binder_free(fx->binder);
        fakekernel_free(fx->fk);
        testbed_free(fx->tb);
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", fx->tmpdir);
        assert_int_equal(system(cmd), 0);
        g_free(fx->tmpdir);
        g_free(fx->modprobe_log);
        g_free(fx);
        return 0;
}

static char *driver_of(Fixture *fx, const char *address) {
        fakekernel_lock(fx->fk);
        g_autofree char *dir = testbed_device_dir(fx->tb, address);
        g_autofree char *link = dir ? g_build_filename(dir, "driver", NULL) : NULL;
        g_autofree char *target = link ? g_file_read_link(link, NULL) : NULL;
        fakekernel_unlock(fx->fk);
        assert_non_null(dir);
        return target ? g_path_get_basename(target) : g_strdup("");
}

static char *attr_of(Fixture *fx, const char *address, const char *name) {
        fakekernel_lock(fx->fk);
        char *value = testbed_read_attr(fx->tb, address, name);
        fakekernel_unlock(fx->fk);
        return value;
}

static bool device_exists(Fixture *fx, const char *address) {
        fakekernel_lock(fx->fk);
        g_autofree char *dir = testbed_device_dir(fx->tb, address);
        fakekernel_unlock(fx->fk);
        return dir != NULL;
}

#define assert_driver(fx, address, expected)                       \
        do {                                                       \
                g_autofree char *_d = driver_of(fx, address);      \
                assert_string_equal(_d, expected);                 \
        } while (0)

#define assert_attr(fx, address, name, expected)                   \
        do {                                                       \
                g_autofree char *_v = attr_of(fx, address, name);  \
                assert_non_null(_v);                               \
                assert_string_equal(_v, expected);                 \
        } while (0)

/* The fake kernel's log of writes, once it has seen them all, one a line. */
static void assert_writes(Fixture *fx, const char *expected) {
        fakekernel_sync(fx->fk);
        g_auto(GStrv) writes = fakekernel_writes(fx->fk);
        g_autofree char *joined = g_strjoinv("\n", writes);
        assert_string_equal(joined, expected);
}

static const BindResult *result_at(GPtrArray *results, guint i) {
        assert_true(i < results->len);
        return results->pdata[i];
}

static void assert_result(GPtrArray *results, guint i, const char *address, BindOutcome outcome,
                          const char *driver) {
        const BindResult *r = result_at(results, i);
        assert_string_equal(r->address, address);
        assert_int_equal(r->outcome, outcome);
        assert_string_equal(r->driver, driver);
        if (outcome == BIND_DONE)
                assert_null(r->reason);
        else
                assert_non_null(r->reason);
}

static GPtrArray *bind_sync(Fixture *fx, const char *const *addresses, BindTarget target) {
        GPtrArray *results = binder_bind_sync(fx->binder, (char **) addresses, target);
        assert_non_null(results);
        assert_int_equal(results->len, g_strv_length((char **) addresses));
        return results;
}

/* Moves a device the way the test wants it, before the binder looks. */
static void device_rebind(Fixture *fx, const char *address, const char *driver) {
        fakekernel_lock(fx->fk);
        testbed_unbind(fx->tb, address);
        testbed_bind(fx->tb, address, driver);
        fakekernel_unlock(fx->fk);
}

/* The GPU and its audio: override, unbind, probe, one device at a time. */
static void test_gpu_to_vfio(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, GPU_AUDIO, NULL };

        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU, BIND_DONE, "vfio-pci");
        assert_result(results, 1, GPU_AUDIO, BIND_DONE, "vfio-pci");
        assert_driver(fx, GPU, "vfio-pci");
        assert_driver(fx, GPU_AUDIO, "vfio-pci");
        assert_attr(fx, GPU, "driver_override", "vfio-pci");
        assert_attr(fx, GPU_AUDIO, "driver_override", "vfio-pci");
        assert_writes(fx, "driver_override 0000:17:00.0 vfio-pci\n"
                          "unbind 0000:17:00.0\n"
                          "drivers_probe 0000:17:00.0\n"
                          "driver_override 0000:17:00.1 vfio-pci\n"
                          "unbind 0000:17:00.1\n"
                          "drivers_probe 0000:17:00.1");
        /* The other GPU is not touched, and vfio-pci was there already. */
        assert_driver(fx, GPU2, "nvidia");
        assert_false(g_file_test(fx->modprobe_log, G_FILE_TEST_EXISTS));
}

static void test_already_on_vfio(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, NULL };

        device_rebind(fx, GPU, "vfio-pci");
        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU, BIND_DONE, "vfio-pci");
        assert_driver(fx, GPU, "vfio-pci");
        assert_writes(fx, "");
        /* Not written: still what the fixture has. */
        assert_attr(fx, GPU, "driver_override", "(null)");
}

static void test_refusing_driver_then_reboot(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, NULL };

        fakekernel_refuse_unbind(fx->fk, "nvidia");
        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU, BIND_REBOOT_REQUIRED, "nvidia");
        assert_string_equal(result_at(results, 0)->reason,
                            "0000:17:00.0: its driver nvidia did not let go; it comes up on vfio-pci after a reboot");
        assert_driver(fx, GPU, "nvidia");
        assert_attr(fx, GPU, "driver_override", "vfio-pci");
        /* No probe: the device is still bound. */
        assert_writes(fx, "driver_override 0000:17:00.0 vfio-pci\n"
                          "unbind 0000:17:00.0");

        const char *const boot_vfio[] = { GPU, NULL };
        fakekernel_reboot(fx->fk, boot_vfio);
        assert_driver(fx, GPU, "vfio-pci");
        assert_attr(fx, GPU, "driver_override", "(null)");
        assert_driver(fx, GPU_AUDIO, "snd_hda_intel");
        assert_driver(fx, GPU2, "nvidia");
}

/* One refusing device does not stop the others, nor is it retried. */
static void test_refusing_one_device(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU2, GPU, NULL };

        fakekernel_refuse_unbind(fx->fk, GPU2);
        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU2, BIND_REBOOT_REQUIRED, "nvidia");
        assert_non_null(strstr(result_at(results, 0)->reason, "0000:b1:00.0: its driver nvidia did not let go"));
        assert_result(results, 1, GPU, BIND_DONE, "vfio-pci");
        assert_driver(fx, GPU2, "nvidia");
        assert_driver(fx, GPU, "vfio-pci");
}

static void test_back_to_host(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, GPU_AUDIO, NULL };

        g_autoptr(GPtrArray) to_vfio = bind_sync(fx, addresses, BIND_TO_VFIO);
        assert_driver(fx, GPU, "vfio-pci");
        assert_driver(fx, GPU_AUDIO, "vfio-pci");
        fakekernel_sync(fx->fk);
        fakekernel_clear_writes(fx->fk);

        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_HOST);

        assert_result(results, 0, GPU, BIND_DONE, "nvidia");
        assert_result(results, 1, GPU_AUDIO, BIND_DONE, "snd_hda_intel");
        assert_driver(fx, GPU, "nvidia");
        assert_driver(fx, GPU_AUDIO, "snd_hda_intel");
        assert_writes(fx, "driver_override 0000:17:00.0 (null)\n"
                          "unbind 0000:17:00.0\n"
                          "drivers_probe 0000:17:00.0\n"
                          "driver_override 0000:17:00.1 (null)\n"
                          "unbind 0000:17:00.1\n"
                          "drivers_probe 0000:17:00.1");
        assert_attr(fx, GPU, "driver_override", "(null)");
        assert_attr(fx, GPU_AUDIO, "driver_override", "(null)");
}

/* A device that no host driver wants is fine unbound. */
static void test_host_without_driver(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { VMD_REGS, NULL };

        g_autoptr(GPtrArray) to_vfio = bind_sync(fx, addresses, BIND_TO_VFIO);
        assert_result(to_vfio, 0, VMD_REGS, BIND_DONE, "vfio-pci");

        gint64 start = g_get_monotonic_time();
        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_HOST);
        gint64 took_ms = (g_get_monotonic_time() - start) / 1000;

        assert_result(results, 0, VMD_REGS, BIND_DONE, "");
        assert_driver(fx, VMD_REGS, "");
        assert_attr(fx, VMD_REGS, "driver_override", "(null)");
        /* It waited for a driver that might have come, but not for ever. */
        assert_true(took_ms >= SETTLE_MS);
        assert_true(took_ms < SETTLE_MS + 2000);
}

/* A device held on the host with a stale override (a bind that needed a
 * reboot, then given back): only the override goes. */
static void test_host_clears_stale_override(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, NULL };

        fakekernel_refuse_unbind(fx->fk, "nvidia");
        g_autoptr(GPtrArray) to_vfio = bind_sync(fx, addresses, BIND_TO_VFIO);
        assert_result(to_vfio, 0, GPU, BIND_REBOOT_REQUIRED, "nvidia");
        fakekernel_sync(fx->fk);
        fakekernel_clear_writes(fx->fk);

        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_HOST);

        assert_result(results, 0, GPU, BIND_DONE, "nvidia");
        assert_writes(fx, "driver_override 0000:17:00.0 (null)");
        assert_attr(fx, GPU, "driver_override", "(null)");
}

/* Already on the host with no override: nothing to write. */
static void test_host_already_on_host(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU2, "0000:3b:00.0", NULL };

        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_HOST);

        assert_result(results, 0, GPU2, BIND_DONE, "nvidia");
        assert_result(results, 1, PF0, BIND_DONE, "i40e");
        assert_writes(fx, "");
}

/* A driver's name comes from a link in sysfs: shown without its control
 * characters, in the driver and in the reason. */
static void test_hostile_driver_name(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, NULL };
        const char *evil = "nv\nidia\x1b[2J";

        device_rebind(fx, GPU, evil);
        fakekernel_refuse_unbind(fx->fk, evil);
        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU, BIND_REBOOT_REQUIRED, "nv?idia?[2J");
        assert_string_equal(result_at(results, 0)->reason, "0000:17:00.0: its driver nv?idia?[2J did not let go; "
                                                           "it comes up on vfio-pci after a reboot");
}

typedef struct {
        GMainLoop *loop;
        GPtrArray *results;
        GThread *thread;        /* where done ran */
        GMainContext *context;  /* its thread-default context then (no reference) */
        bool context_owned;
} AsyncWait;

static void on_done(GPtrArray *results, void *userdata) {
        AsyncWait *w = userdata;

        assert_null(w->results);
        w->results = results;
        g_autoptr(GMainContext) context = g_main_context_ref_thread_default();
        w->thread = g_thread_self();
        w->context = context;
        w->context_owned = g_main_context_is_owner(context);
        g_main_loop_quit(w->loop);
}

static gboolean on_timeout(gpointer userdata) {
        fail_msg("the binder did not answer within %d s", ASYNC_TIMEOUT_S);
        return G_SOURCE_REMOVE;
}

/* Runs the loop until done, and drops it; returns the results. */
static GPtrArray *async_wait(AsyncWait *w) {
        g_autoptr(GSource) timeout = g_timeout_source_new_seconds(ASYNC_TIMEOUT_S);

        g_source_set_callback(timeout, on_timeout, NULL, NULL);
        g_source_attach(timeout, g_main_loop_get_context(w->loop));
        g_main_loop_run(w->loop);
        g_source_destroy(timeout);
        g_clear_pointer(&w->loop, g_main_loop_unref);
        assert_non_null(w->results);
        return w->results;
}

static GPtrArray *set_vfs(Fixture *fx, const char *address, unsigned count) {
        AsyncWait w = { .loop = g_main_loop_new(NULL, FALSE) };

        binder_set_vfs(fx->binder, address, count, false, on_done, &w);
        GPtrArray *results = async_wait(&w);
        assert_int_equal(results->len, 1);
        return results;
}

static void test_vfs(void **state) {
        Fixture *fx = *state;

        g_autoptr(GPtrArray) up = set_vfs(fx, PF1, 4);
        assert_result(up, 0, PF1, BIND_DONE, "i40e");
        assert_int_equal(result_at(up, 0)->numvfs, 4);
        assert_attr(fx, PF1, "sriov_numvfs", "4");
        assert_true(device_exists(fx, "0000:3b:0a.3"));
        assert_false(device_exists(fx, "0000:3b:0a.4"));
        assert_writes(fx, "sriov_numvfs 0000:3b:00.1 4");

        /* The kernel takes no other count but 0 while VFs exist. */
        fakekernel_clear_writes(fx->fk);
        g_autoptr(GPtrArray) down = set_vfs(fx, PF1, 2);
        assert_result(down, 0, PF1, BIND_DONE, "i40e");
        assert_int_equal(result_at(down, 0)->numvfs, 2);
        assert_attr(fx, PF1, "sriov_numvfs", "2");
        assert_true(device_exists(fx, "0000:3b:0a.1"));
        assert_false(device_exists(fx, "0000:3b:0a.2"));
        assert_writes(fx, "sriov_numvfs 0000:3b:00.1 0\n"
                          "sriov_numvfs 0000:3b:00.1 2");

        fakekernel_clear_writes(fx->fk);
        g_autoptr(GPtrArray) same = set_vfs(fx, PF1, 2);
        assert_result(same, 0, PF1, BIND_DONE, "i40e");
        assert_int_equal(result_at(same, 0)->numvfs, 2);
        assert_writes(fx, "");

        g_autoptr(GPtrArray) off = set_vfs(fx, PF0, 0);
        assert_result(off, 0, PF0, BIND_DONE, "i40e");
        assert_int_equal(result_at(off, 0)->numvfs, 0);
        assert_false(device_exists(fx, "0000:3b:02.0"));
        assert_writes(fx, "sriov_numvfs 0000:3b:00.0 0");
}

static void test_vfs_not_a_pf(void **state) {
        Fixture *fx = *state;

        g_autoptr(GPtrArray) results = set_vfs(fx, GPU, 2);
        assert_result(results, 0, GPU, BIND_FAILED, "nvidia");
        assert_string_equal(result_at(results, 0)->reason, "0000:17:00.0: not an SR-IOV physical function");
        assert_writes(fx, "");
}

/* A PF whose driver is gone: the kernel refuses VFs (ENOENT; the fake
 * kernel leaves the count), and the binder says it did not happen. */
static void test_vfs_refused(void **state) {
        Fixture *fx = *state;

        fakekernel_lock(fx->fk);
        testbed_unbind(fx->tb, PF1);
        fakekernel_unlock(fx->fk);
        g_autoptr(GPtrArray) results = set_vfs(fx, PF1, 4);

        assert_result(results, 0, PF1, BIND_FAILED, "");
        assert_int_equal(result_at(results, 0)->numvfs, 0);
        assert_non_null(strstr(result_at(results, 0)->reason, "0000:3b:00.1: asked for 4 VFs"));
        assert_attr(fx, PF1, "sriov_numvfs", "0");
        assert_false(device_exists(fx, "0000:3b:0a.0"));
}

static void test_malformed_addresses(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { "0000:17:00.0\n", "../../../../etc", "17:00.0/../..", "", "0000:17:00.8",
                                          "0000:99:00.0", NULL };

        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);

        for (guint i = 0; i < results->len; i++) {
                const BindResult *r = result_at(results, i);
                assert_int_equal(r->outcome, BIND_FAILED);
                assert_non_null(r->reason);
                for (const char *c = r->address; *c; c++)
                        assert_true((unsigned char) *c >= 0x20);
                for (const char *c = r->reason; *c; c++)
                        assert_true((unsigned char) *c >= 0x20);
        }
        assert_string_equal(result_at(results, 0)->address, "0000:17:00.0?");
        assert_non_null(strstr(result_at(results, 1)->reason, "not a PCI address"));
        assert_string_equal(result_at(results, 5)->reason, "0000:99:00.0: no such device");
        assert_writes(fx, "");
        assert_driver(fx, GPU, "nvidia");
        assert_attr(fx, GPU, "driver_override", "(null)");
}

/* The short form is the same device; results use the canonical form. */
static void test_short_address(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { "17:00.1", NULL };

        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);
        assert_result(results, 0, GPU_AUDIO, BIND_DONE, "vfio-pci");
        assert_driver(fx, GPU_AUDIO, "vfio-pci");
}

static void test_async_on_callers_context(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, GPU_AUDIO, NULL };
        g_autoptr(GMainContext) context = g_main_context_new();
        AsyncWait w = { 0 };

        g_main_context_push_thread_default(context);
        w.loop = g_main_loop_new(context, FALSE);
        binder_bind(fx->binder, (char **) addresses, BIND_TO_VFIO, on_done, &w);
        g_autoptr(GPtrArray) results = async_wait(&w);
        g_main_context_pop_thread_default(context);

        assert_int_equal(results->len, 2);
        assert_result(results, 0, GPU, BIND_DONE, "vfio-pci");
        assert_result(results, 1, GPU_AUDIO, BIND_DONE, "vfio-pci");
        assert_ptr_equal(w.thread, g_thread_self());
        assert_ptr_equal(w.context, context);
        assert_true(w.context_owned);
}

/* The answer waits for the caller's loop, even on the global default
 * context that no thread owns while the loop is not running. */
static void test_async_waits_for_the_loop(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, NULL };
        AsyncWait w = { .loop = g_main_loop_new(NULL, FALSE) };

        binder_bind(fx->binder, (char **) addresses, BIND_TO_VFIO, on_done, &w);
        for (int i = 0; i < 400; i++) {
                g_autofree char *driver = driver_of(fx, GPU);
                if (g_str_equal(driver, "vfio-pci"))
                        break;
                g_usleep(10 * 1000);
        }
        assert_driver(fx, GPU, "vfio-pci");
        g_usleep(100 * 1000);
        assert_null(w.results);

        g_autoptr(GPtrArray) results = async_wait(&w);
        assert_result(results, 0, GPU, BIND_DONE, "vfio-pci");
        assert_ptr_equal(w.thread, g_thread_self());
        assert_ptr_equal(w.context, g_main_context_default());
}

/* Jobs run one after another, in the order asked. */
static void test_async_in_order(void **state) {
        Fixture *fx = *state;
        const char *const first[] = { GPU, NULL };
        const char *const second[] = { GPU, NULL };
        AsyncWait a = { .loop = g_main_loop_new(NULL, FALSE) };
        AsyncWait b = { .loop = g_main_loop_new(NULL, FALSE) };

        binder_bind(fx->binder, (char **) first, BIND_TO_VFIO, on_done, &a);
        binder_bind(fx->binder, (char **) second, BIND_TO_HOST, on_done, &b);
        g_autoptr(GPtrArray) ra = async_wait(&a);
        g_autoptr(GPtrArray) rb = async_wait(&b);

        assert_result(ra, 0, GPU, BIND_DONE, "vfio-pci");
        assert_result(rb, 0, GPU, BIND_DONE, "nvidia");
        assert_driver(fx, GPU, "nvidia");
        assert_writes(fx, "driver_override 0000:17:00.0 vfio-pci\n"
                          "unbind 0000:17:00.0\n"
                          "drivers_probe 0000:17:00.0\n"
                          "driver_override 0000:17:00.0 (null)\n"
                          "unbind 0000:17:00.0\n"
                          "drivers_probe 0000:17:00.0");
}

/* After a stop nothing is written: a job asked for gets, through the
 * loop as ever, a stopped result for each address it can name. */
static void test_async_after_stop(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, "17:00.0x", NULL };
        AsyncWait w = { .loop = g_main_loop_new(NULL, FALSE) };

        assert_true(binder_stop(fx->binder, 1000));
        binder_bind(fx->binder, (char **) addresses, BIND_TO_VFIO, on_done, &w);
        assert_null(w.results);
        g_autoptr(GPtrArray) results = async_wait(&w);

        assert_result(results, 0, GPU, BIND_FAILED, "");
        assert_true(result_at(results, 0)->stopped);
        assert_string_equal(result_at(results, 0)->reason, GPU ": devpassd stopped before changing its driver");
        assert_false(result_at(results, 1)->stopped);
        assert_non_null(strstr(result_at(results, 1)->reason, "not a PCI address"));
        assert_writes(fx, "");
        assert_driver(fx, GPU, "nvidia");
}

static Binder *binder_with_modprobe(Fixture *fx, const char *body) {
        g_autofree char *modprobe = modprobe_write(fx, "modprobe-test", body);

        return binder_new("/sys", modprobe, SETTLE_MS);
}

static char *modprobe_calls(Fixture *fx) {
        char *log = NULL;

        if (!g_file_get_contents(fx->modprobe_log, &log, NULL, NULL))
                return g_strdup("");
        return log;
}

/* modprobe says it worked, but vfio-pci does not come. */
static void test_vfio_missing(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, GPU_AUDIO, NULL };

        fakekernel_load_vfio(fx->fk, false);
        g_autoptr(GPtrArray) results = bind_sync(fx, addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU, BIND_FAILED, "nvidia");
        assert_result(results, 1, GPU_AUDIO, BIND_FAILED, "snd_hda_intel");
        const char *reason = result_at(results, 0)->reason;
        assert_true(g_str_has_prefix(reason, "0000:17:00.0: vfio-pci is not available: "));
        /* Asked once for the whole job. */
        g_autofree char *calls = modprobe_calls(fx);
        assert_string_equal(calls, "vfio-pci\n");
        assert_writes(fx, "");
        assert_driver(fx, GPU, "nvidia");
        assert_attr(fx, GPU, "driver_override", "(null)");
}

static void test_modprobe_fails(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, NULL };

        fakekernel_load_vfio(fx->fk, false);
        g_autoptr(Binder) binder = binder_with_modprobe(
                fx, "echo 'modprobe: FATAL: Module vfio-pci not found in directory /lib/modules/6.1.0' >&2\nexit 1");
        g_autoptr(GPtrArray) results = binder_bind_sync(binder, (char **) addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU, BIND_FAILED, "nvidia");
        const char *reason = result_at(results, 0)->reason;
        assert_true(g_str_has_prefix(reason, "0000:17:00.0: vfio-pci is not available: "));
        assert_non_null(strstr(reason, "vfio-pci failed: modprobe: FATAL: Module vfio-pci not found"));
        assert_non_null(strstr(reason, "exit status 1"));
        g_autofree char *calls = modprobe_calls(fx);
        assert_string_equal(calls, "vfio-pci\n");
        assert_writes(fx, "");
}

/* modprobe loads it (the script makes the driver's directory). */
static void test_modprobe_loads(void **state) {
        Fixture *fx = *state;
        const char *const addresses[] = { GPU, NULL };

        fakekernel_load_vfio(fx->fk, false);
        g_autoptr(Binder) binder = binder_with_modprobe(
                fx, "d=\"$UMOCKDEV_DIR/sys/bus/pci/drivers/vfio-pci\"\n"
                    "mkdir \"$d\" && : > \"$d/bind\" && : > \"$d/unbind\"");
        g_autoptr(GPtrArray) results = binder_bind_sync(binder, (char **) addresses, BIND_TO_VFIO);

        assert_result(results, 0, GPU, BIND_DONE, "vfio-pci");
        assert_driver(fx, GPU, "vfio-pci");
        g_autofree char *calls = modprobe_calls(fx);
        assert_string_equal(calls, "vfio-pci\n");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                TEST(test_gpu_to_vfio), TEST(test_already_on_vfio), TEST(test_refusing_driver_then_reboot),
                TEST(test_refusing_one_device), TEST(test_back_to_host), TEST(test_host_without_driver),
                TEST(test_host_clears_stale_override), TEST(test_host_already_on_host),
                TEST(test_hostile_driver_name), TEST(test_vfs), TEST(test_vfs_not_a_pf),
                TEST(test_vfs_refused), TEST(test_malformed_addresses), TEST(test_short_address),
                TEST(test_async_on_callers_context), TEST(test_async_waits_for_the_loop),
                TEST(test_async_in_order), TEST(test_async_after_stop), TEST(test_vfio_missing), TEST(test_modprobe_fails),
                TEST(test_modprobe_loads),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
