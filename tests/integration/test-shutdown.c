/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stopping devpassd while its binder works: a driver change in progress
 * and one queued behind it. The queued one is dropped and its caller told
 * so; the one in progress gets a bounded time, and when its sysfs write
 * never returns devpassd exits anyway and its caller is told so too; the
 * next start makes both changes. Real polkitd, a fake kernel, and the
 * nvidia driver's unbind file made a full FIFO, so that the binder's write
 * to it blocks. */
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define FAILED "org.devpass1.Error.Failed"
#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"
#define GPU2 "0000:b1:00.0"
#define GPU2_AUDIO "0000:b1:00.1"
/* devpassd's DAEMON_STOP_BINDER_MS, and room for a slow (sanitized) exit. */
#define STOP_BOUND_MS 5000
#define STOP_MARGIN_MS 3000

static const char *const gpu_pair[] = { GPU, GPU_AUDIO, NULL };
static const char *const gpu2_pair[] = { GPU2, GPU2_AUDIO, NULL };

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *unbind;           /* the unbind file a FIFO stands in for */
        int fifo_fd;            /* the FIFO, open for reading and writing; -1 when none */
} Fixture;

/* A MakePassthrough in flight. */
typedef struct {
        GVariant *reply;
        GError *error;
        bool done;
} Pending;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(NULL, &f->fk);
        f->h->connection = harness_connect(f->h);
        f->unbind = g_build_filename(testbed_sys_dir(f->h->testbed), "bus", "pci", "drivers", "nvidia", "unbind",
                                     NULL);
        f->fifo_fd = -1;
        *state = f;
        return 0;
}

/* ---- a write that blocks ---- */

/* The binder's write to nvidia's unbind blocks: the file becomes a FIFO
 * whose buffer is full. The test holds it open for reading, so that the
 * binder's open() returns: umockdev's preload holds one lock across every
 * open(), and a blocked open would stop every thread of devpassd. */
static void unbind_hang(Fixture *f) {
        g_autofree char *fifo = g_strconcat(f->unbind, ".fifo", NULL);
        char block[4096] = { 0 };

        assert_int_equal(mkfifo(fifo, 0600), 0);
        /* Reader and writer at once: Linux opens a FIFO so without waiting. */
        f->fifo_fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        assert_true(f->fifo_fd >= 0);
        /* Whole pages (writes of PIPE_BUF are all or nothing): a full pipe
         * takes no byte more. */
        while (write(f->fifo_fd, block, sizeof(block)) == (ssize_t) sizeof(block))
                ;
        assert_int_equal(errno, EAGAIN);
        assert_int_equal(rename(fifo, f->unbind), 0);
}

/* A plain unbind file again: the binder's open one stays the FIFO. The
 * fake kernel reads the file by its name when the binder's closes. */
static void unbind_restore(Fixture *f) {
        struct stat st;

        if (lstat(f->unbind, &st) == 0 && S_ISREG(st.st_mode))
                return;
        g_autofree char *file = g_strconcat(f->unbind, ".new", NULL);
        assert_true(g_file_set_contents(file, "", 0, NULL));
        assert_int_equal(rename(file, f->unbind), 0);
}

/* Empties the FIFO, so that a write blocked in it returns, and lets it go. */
static void fifo_release(Fixture *f) {
        char block[4096];

        if (f->fifo_fd < 0)
                return;
        unbind_restore(f);
        while (read(f->fifo_fd, block, sizeof(block)) > 0)
                ;
        close(f->fifo_fd);
        f->fifo_fd = -1;
}

static int teardown(void **state) {
        Fixture *f = *state;

        /* A failed test may leave the binder in the write: devpassd must stop. */
        fifo_release(f);
        if (f->h->daemon_pid > 0)
                harness_daemon_stop(f->h);
        fakekernel_free(f->fk);
        harness_free(f->h);
        g_free(f->unbind);
        g_free(f);
        return 0;
}

/* devpassd holds the FIFO open: its binder is in the write, or just
 * before it. */
static bool daemon_holds_fifo(Harness *h, void *data) {
        Fixture *f = data;
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) h->daemon_pid);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        struct stat fifo, st;

        assert_int_equal(fstat(f->fifo_fd, &fifo), 0);
        for (const char *name; d && (name = g_dir_read_name(d));) {
                g_autofree char *path = g_build_filename(dir, name, NULL);
                if (stat(path, &st) == 0 && st.st_dev == fifo.st_dev && st.st_ino == fifo.st_ino)
                        return true;
        }
        return false;
}

/* ---- calls in flight ---- */

static void on_reply(GObject *source, GAsyncResult *result, gpointer userdata) {
        Pending *p = userdata;

        p->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &p->error);
        p->done = true;
}

/* MakePassthrough of addresses into a new group, not waiting for the reply. */
static void make_send(Fixture *f, const char *const *addresses, const char *name, Pending *p) {
        GVariantBuilder o;

        g_variant_builder_init(&o, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&o, "{sv}", "Name", g_variant_new_string(name));
        g_variant_builder_add(&o, "{sv}", "Type", g_variant_new_string("pci"));
        g_dbus_connection_call(f->h->connection, "org.devpass1", "/org/devpass1", MANAGER, "MakePassthrough",
                               g_variant_new("(@ao@a{sv})", calls_paths_variant(addresses), g_variant_builder_end(&o)),
                               NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, 60000, NULL, on_reply, p);
}

/* The reply, which came before devpassd exited: the bus answers a call
 * left unanswered at once when its peer goes. */
static void pending_wait(Pending *p) {
        while (!p->done)
                g_main_context_iteration(NULL, TRUE);
}

static void pending_clear(Pending *p) {
        g_clear_pointer(&p->reply, g_variant_unref);
        g_clear_error(&p->error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Pending, pending_clear)

/* Refused because devpassd stopped first, naming the device and why. */
static void assert_stopped(const Pending *p, const char *address, const char *why) {
        if (p->reply)
                fail_msg("MakePassthrough of %s succeeded, want it refused by the stop", address);
        calls_assert_remote_error(p->error, FAILED, "devpassd is stopping", "the change is recorded",
                                  "its next start makes it", address, why, NULL);
}

/* ---- the stop ---- */

static bool log_has(Harness *h, void *data) {
        g_autofree char *log = harness_daemon_log(h);

        return strstr(log, data) != NULL;
}

/* Waits, polling, for devpassd's exit, which must be clean and within the
 * bound and margin; the time since start. */
static gint64 daemon_wait_exit(Harness *h, gint64 start) {
        gint64 end = start + (STOP_BOUND_MS + STOP_MARGIN_MS) * G_TIME_SPAN_MILLISECOND;
        int status = 0;
        pid_t got;

        while ((got = waitpid(h->daemon_pid, &status, WNOHANG)) == 0 && g_get_monotonic_time() < end)
                g_usleep(5000);
        gint64 ms = (g_get_monotonic_time() - start) / G_TIME_SPAN_MILLISECOND;
        if (got != h->daemon_pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                g_autofree char *log = harness_daemon_log(h);
                fail_msg("devpassd did not exit cleanly within %d ms (%s, status 0x%x); its log:\n%s",
                         STOP_BOUND_MS + STOP_MARGIN_MS, got == 0 ? "still running" : "exited", status, log);
        }
        h->daemon_pid = 0;
        print_message("devpassd stopped in %" G_GINT64_FORMAT " ms\n", ms);
        return ms;
}

/* The first MakePassthrough (the GPU pair) blocked in nvidia's unbind,
 * the second (the other GPU pair) committed and queued behind it. */
static void binder_busy(Fixture *f, Pending *first, Pending *second) {
        unbind_hang(f);
        make_send(f, gpu_pair, "PCI GPUs", first);
        assert_true(harness_wait(f->h, daemon_holds_fifo, f, 10000));
        unbind_restore(f);
        make_send(f, gpu2_pair, "More GPUs", second);
        g_autofree char *path = calls_path_of(GPU2);
        calls_wait_prop(f->h, path, DEVICE, "State", "passthrough");
}

/* The next start's reconcile makes what was committed. */
static void assert_next_start_binds(Fixture *f) {
        harness_daemon_start(f->h, NULL);
        calls_wait_driver(f->h, GPU, "vfio-pci");
        calls_wait_driver(f->h, GPU_AUDIO, "vfio-pci");
        calls_wait_driver(f->h, GPU2, "vfio-pci");
        calls_wait_driver(f->h, GPU2_AUDIO, "vfio-pci");
}

/* A write that never returns: devpassd waits the bound and exits; both
 * callers are answered, the queued pair was never written. */
static void test_hung_write(void **state) {
        Fixture *f = *state;
        g_auto(Pending) first = {};
        g_auto(Pending) second = {};

        binder_busy(f, &first, &second);
        gint64 start = g_get_monotonic_time();
        assert_int_equal(kill(f->h->daemon_pid, SIGTERM), 0);
        gint64 ms = daemon_wait_exit(f->h, start);
        /* It gave the write its time. */
        assert_true(ms >= STOP_BOUND_MS);

        pending_wait(&first);
        pending_wait(&second);
        assert_stopped(&first, GPU, "a sysfs write had not returned after 5.0 s");
        assert_stopped(&second, GPU2, "devpassd stopped before changing its driver");
        g_autofree char *writes = calls_writes(f->fk);
        assert_string_equal(writes, "driver_override " GPU " vfio-pci");

        fifo_release(f);
        assert_next_start_binds(f);
}

/* A slow write that returns within the bound: its caller gets its own
 * answer, the queued pair is dropped, and devpassd exits without waiting
 * for more. */
static void test_queued_dropped(void **state) {
        Fixture *f = *state;
        g_auto(Pending) first = {};
        g_auto(Pending) second = {};
        const char *group;
        gboolean reboot;

        binder_busy(f, &first, &second);
        gint64 start = g_get_monotonic_time();
        assert_int_equal(kill(f->h->daemon_pid, SIGTERM), 0);
        /* The queue is dropped before the write is let go. */
        assert_true(harness_wait(f->h, log_has, "Binder: stopping; waiting up to 5.0 s for the driver change of "
                                 GPU ", " GPU_AUDIO, 10000));
        fifo_release(f);
        gint64 ms = daemon_wait_exit(f->h, start);
        assert_true(ms < STOP_BOUND_MS);

        pending_wait(&first);
        pending_wait(&second);
        /* The unbind went into the FIFO, not to the fake kernel: nvidia
         * kept the GPU. */
        g_assert_no_error(first.error);
        g_variant_get(first.reply, "(&ob)", &group, &reboot);
        assert_true(reboot);
        assert_stopped(&second, GPU2, "devpassd stopped before changing its driver");
        g_autofree char *writes = calls_writes(f->fk);
        assert_null(strstr(writes, "0000:b1:00"));
        assert_non_null(strstr(writes, "drivers_probe " GPU_AUDIO));

        assert_next_start_binds(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_hung_write, setup, teardown),
                cmocka_unit_test_setup_teardown(test_queued_dropped, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
