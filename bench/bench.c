/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpass benchmark: each figure is measured in the same run as its floor
 * and printed as a ratio. Runs under umockdev-wrapper on generated nodes
 * (tests/nodegen.c) with a private bus (tests/harness.c). Not a test: it
 * prints, it does not judge; the README records its figures. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "nodegen.h"

#define RUNS 5
/* The X710 port with no VFs; its TotalVFs is raised to 256 for the burst. */
#define BENCH_BURST_PF "0000:3b:00.1"

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), cmp_double);
        return v[n / 2];
}

static void report(const char *what, double value, double floor, const char *floor_name, double target) {
        double ratio = value / floor;
        printf("  %-34s %9.3f ms   floor %9.3f ms (%s)   ratio %5.2f   target <= %.1f  %s\n",
               what, value, floor, floor_name, ratio, target, ratio <= target ? "met" : "MISSED");
}

static double time_libpci_floor(void) {
        const char *argv[] = { harness_path("DEVPASS_BENCH_FLOOR"), harness_path("DEVPASS_PCI_IDS"), NULL };
        double v[RUNS];

        for (int i = 0; i < RUNS; i++) {
                g_autoptr(GError) error = NULL;
                int status;
                double t0 = now_ms();
                g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                           NULL, NULL, &status, &error));
                v[i] = now_ms() - t0;
                g_assert_cmpint(status, ==, 0);
        }
        return median(v, RUNS);
}

static double time_daemon_start(Harness *h) {
        double v[RUNS];

        for (int i = 0; i < RUNS; i++) {
                double t0 = now_ms();
                harness_daemon_start(h, NULL);
                v[i] = now_ms() - t0;
                if (i < RUNS - 1)
                        harness_daemon_stop(h);
        }
        return median(v, RUNS);
}

static double time_call(sd_bus *bus, const char *dest, const char *path, const char *iface,
                        const char *method, unsigned repeat, const char *sig, ...) {
        double v[RUNS];

        for (int i = 0; i < RUNS; i++) {
                double t0 = now_ms();
                for (unsigned j = 0; j < repeat; j++) {
                        sd_bus_message *m = NULL, *reply = NULL;
                        sd_bus_error error = SD_BUS_ERROR_NULL;
                        va_list ap;
                        g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, dest, path, iface, method), >=, 0);
                        va_start(ap, sig);
                        if (sig)
                                g_assert_cmpint(sd_bus_message_appendv(m, sig, ap), >=, 0);
                        va_end(ap);
                        int r = sd_bus_call(bus, m, 0, &error, &reply);
                        if (r < 0)
                                g_error("%s.%s: %s", iface, method, error.message);
                        sd_bus_message_unref(m);
                        sd_bus_message_unref(reply);
                }
                v[i] = (now_ms() - t0) / repeat;
        }
        return median(v, RUNS);
}

static GPid start_bare(Harness *h, unsigned n) {
        g_autofree char *count = g_strdup_printf("%u", n);
        const char *argv[] = { harness_path("DEVPASS_BENCH_BARE"), count, NULL };
        g_autoptr(GError) error = NULL;
        GPid pid;

        g_assert_true(g_spawn_async(NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                    &pid, &error));
        for (int i = 0; i < 1000; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                if (sd_bus_call_method(h->bus, "org.devpass1.Bare", "/bare/0", "org.devpass1.Bare", "Ping",
                                       &e, NULL, NULL) >= 0)
                        return pid;
                sd_bus_error_free(&e);
                g_usleep(10000);
        }
        g_error("bare-service did not start");
}

static long status_kib(GPid pid, const char *key) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
        g_autofree char *s = NULL;
        g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
        const char *p = strstr(s, key);
        g_assert_nonnull(p);
        return strtol(p + strlen(key) + 1, NULL, 10);
}

static void bench_node(unsigned n) {
        g_autoptr(Harness) h = harness_prepare(NULL);
        double t0 = now_ms();
        nodegen_write(testbed_sys_dir(h->testbed), n);
        printf("\nnode of %u functions (generated in %.0f ms)\n", n, now_ms() - t0);

        double floor_scan = time_libpci_floor();
        double start = time_daemon_start(h);
        report("start to name owned, all exported", start, floor_scan, "libpci scan+fill", 2.0);

        GPid bare = start_bare(h, n);
        /* warm both */
        time_call(h->bus, "org.devpass1", "/org/devpass1", "org.freedesktop.DBus.ObjectManager",
                  "GetManagedObjects", 1, NULL);
        double gmo = time_call(h->bus, "org.devpass1", "/org/devpass1", "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", 3, NULL);
        double gmo_floor = time_call(h->bus, "org.devpass1.Bare", "/", "org.freedesktop.DBus.ObjectManager",
                                     "GetManagedObjects", 3, NULL);
        report("GetManagedObjects round trip", gmo, gmo_floor, "bare sd-bus service", 1.3);

        double get = time_call(h->bus, "org.devpass1", "/org/devpass1/devices/0000_00_00_0",
                               "org.freedesktop.DBus.Properties", "Get", 2000, "ss",
                               "org.devpass1.Device", "Driver");
        double ping = time_call(h->bus, "org.devpass1.Bare", "/bare/0", "org.devpass1.Bare", "Ping", 2000, NULL);
        report("Get of one device property", get, ping, "bare sd-bus method", 1.2);

        printf("  %-34s %6ld KiB now, %ld KiB peak   target <= 24 MiB  %s\n", "devpassd resident memory",
               status_kib(h->daemon_pid, "VmRSS:"), status_kib(h->daemon_pid, "VmHWM:"),
               status_kib(h->daemon_pid, "VmHWM:") <= 24 * 1024 ? "met" : "MISSED");
        kill(bare, SIGTERM);
        waitpid(bare, NULL, 0);
        harness_daemon_stop(h);
}

/* From the first uevent to the last InterfacesAdded at a client. */
static double burst_ms(unsigned vfs) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        double v[RUNS];

        testbed_set_attr(h->testbed, BENCH_BURST_PF, "sriov_totalvfs", "256");
        for (int i = 0; i < RUNS; i++) {
                harness_clear_signals(h);
                double t0 = now_ms();
                testbed_sriov_set(h->testbed, BENCH_BURST_PF, vfs);
                if (!harness_wait_signals(h, "+", vfs, 60000))
                        g_error("burst of %u: only %u InterfacesAdded", vfs, harness_count_signals(h, "+", NULL));
                v[i] = now_ms() - t0;
                testbed_sriov_set(h->testbed, BENCH_BURST_PF, 0);
                g_assert_true(harness_wait_signals(h, "-", vfs, 60000));
        }
        return median(v, RUNS);
}

int main(int argc, char *argv[]) {
        printf("devpass benchmark: medians of %d runs; floors measured in this run\n", RUNS);
        bench_node(1000);
        bench_node(4096);

        double b64 = burst_ms(64), b256 = burst_ms(256);
        printf("\nhotplug burst (SR-IOV VFs appearing; includes the test's own kernel part)\n");
        printf("  %-34s %9.3f ms\n", "64 VFs: last InterfacesAdded", b64);
        printf("  %-34s %9.3f ms\n", "256 VFs: last InterfacesAdded", b256);
        printf("  %-34s %9.2f (linear: 4.0)\n", "256/64 ratio", b256 / b64);
        return 0;
}
