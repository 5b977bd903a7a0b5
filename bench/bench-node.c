/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd on generated nodes of 1,000, 4,096 and 16,384 functions, each
 * figure against its floor or its peers measured in the same run, and
 * the per-function slope of each from the smallest node to the largest.
 *
 * - Start-up: devpassd from exec to its name owned with every object
 *   exported, wall and CPU, against a plain libpci scan and fill of the
 *   same tree (libpci-floor.c). And the syscalls of a scan per function,
 *   counted by strace: the inventory alone (this program run with
 *   --scan, the code devpassd runs at start) against the libpci floor.
 * - GetManagedObjects against the bare sd-bus service exporting as many
 *   objects with the same signatures; one property's Get against the bare
 *   service's own Properties.Get (its Ping, unprivileged as devpassd's
 *   methods are, printed beside it).
 * - Listing: `devpassctl devices` against its peers, run the same way
 *   (stdout to /dev/null, names from the same pci.ids, hwdb off): `lspci
 *   -D` and `lspci -D -vmm -k -nn`; wall, CPU and peak memory of each
 *   client (the bus and devpassd do their part of devpassctl's wall
 *   time). And libvirt's node-device driver (bench-libvirt.c) where
 *   libvirtd runs here: its start to a complete listing, `virsh
 *   nodedev-list --cap pci`, and every device's XML against
 *   `devpassctl --json devices`.
 * - devpassd's resident memory. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "coalesce.h"
#include "inventory.h"
#include "names.h"
#include "nodegen.h"

#define RUNS 5
#define GET_RUNS 25
static const unsigned sizes[] = { 1000, 4096, 16384 };
#define N_SIZES G_N_ELEMENTS(sizes)

/* The syscalls of one process run, as strace -c counts them. */
typedef struct {
        double opens, failed_opens, reads, readlinks, dirs;
} Calls;

typedef struct {
        Run floor_scan, start;
        Calls scan_calls, floor_calls;
        double gmo, gmo_floor, get, get_floor, ping;
        Run ctl, ctl_json, lspci, lspci_vmm;
        long rss_start_kib, rss_kib, hwm_kib;
        LibvirtFigures libvirt;
} NodeFigures;

/* target 0: a peer, no target. */
static void report(const char *what, double value, double floor, const char *floor_name, double target) {
        double ratio = value / floor;
        printf("  %-38s %9.3f ms   %-30s %9.3f ms   ratio %5.2f", what, value, floor_name, floor, ratio);
        if (target > 0)
                printf("   target <= %.1f  %s", target, ratio <= target ? "met" : "MISSED");
        printf("\n");
}

Run bench_run(const char *const *argv) {
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL;
        Run r = { 0 };
        int status;

        g_ptr_array_add(args, (char *) harness_path("DEVPASS_BENCH_RUSAGE"));
        for (size_t i = 0; argv[i]; i++)
                g_ptr_array_add(args, (char *) argv[i]);
        g_ptr_array_add(args, NULL);
        if (!g_spawn_sync(NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                          &error) ||
            !g_spawn_check_wait_status(status, NULL) ||
            sscanf(out, "%lf %lf %ld", &r.wall, &r.cpu, &r.rss_kib) != 3)
                g_error("%s failed", argv[0]);
        return r;
}

void bench_run_turns(const char *const *const *argvs, Run *runs, size_t n) {
        double wall[8][RUNS], cpu[8][RUNS];

        g_assert_cmpuint(n, <=, G_N_ELEMENTS(wall));
        for (size_t k = 0; k < n; k++)
                bench_run(argvs[k]);   /* warm */
        for (int i = 0; i < RUNS; i++)
                for (size_t j = 0; j < n; j++) {
                        size_t k = (i + j) % n;
                        Run r = bench_run(argvs[k]);
                        wall[k][i] = r.wall, cpu[k][i] = r.cpu;
                        runs[k].rss_kib = MAX(runs[k].rss_kib, r.rss_kib);
                }
        for (size_t k = 0; k < n; k++) {
                runs[k].wall = median(wall[k], RUNS);
                runs[k].cpu = median(cpu[k], RUNS);
        }
}

/* argv under strace -c: the calls that read sysfs. */
static Calls count_calls(Harness *h, const char *const *argv) {
        g_autofree char *out = g_build_filename(h->tmpdir, "strace.out", NULL);
        g_autofree char *strace = g_find_program_in_path("strace");
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        g_autofree char *text = NULL;
        Calls c = { 0 };

        if (!strace)
                return (Calls) { -1, -1, -1, -1, -1 };
        const char *prefix[] = { strace, "-f", "-qq", "-c", "-U", "calls,errors,name", "-o", out, "-e",
                                 "trace=open,openat,read,pread64,readlink,readlinkat,getdents64", NULL };
        for (size_t i = 0; prefix[i]; i++)
                g_ptr_array_add(args, (char *) prefix[i]);
        for (size_t i = 0; argv[i]; i++)
                g_ptr_array_add(args, (char *) argv[i]);
        g_ptr_array_add(args, NULL);
        bench_run((const char *const *) args->pdata);
        g_assert_true(g_file_get_contents(out, &text, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
                double calls = 0, errors = 0;
                char name[64];
                /* "calls errors name", errors blank when none. */
                if (sscanf(*l, "%lf %lf %63s", &calls, &errors, name) != 3) {
                        errors = 0;
                        if (sscanf(*l, "%lf %63s", &calls, name) != 2)
                                continue;
                }
                if (g_str_equal(name, "open") || g_str_equal(name, "openat"))
                        c.opens += calls, c.failed_opens += errors;
                else if (g_str_equal(name, "read") || g_str_equal(name, "pread64"))
                        c.reads += calls;
                else if (g_str_equal(name, "readlink") || g_str_equal(name, "readlinkat"))
                        c.readlinks += calls;
                else if (g_str_equal(name, "getdents64"))
                        c.dirs += calls;
        }
        return c;
}

typedef struct {
        const char *dest, *path, *interface, *method;
        const char *sig, *arg0, *arg1;    /* sig NULL or "ss" */
} Call;

static void call_once(sd_bus *bus, const Call *c) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, c->dest, c->path, c->interface, c->method), >=, 0);
        if (c->sig)
                g_assert_cmpint(sd_bus_message_append(m, c->sig, c->arg0, c->arg1), >=, 0);
        if (sd_bus_call(bus, m, 0, &error, &reply) < 0)
                g_error("%s.%s: %s", c->interface, c->method, error.message);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
}

/* The calls in turn, each first in its turn: runs batches of repeat
 * calls of each; the median time of a call in a batch, in ms. */
static void time_calls(sd_bus *bus, const Call *calls, double *ret, size_t n, unsigned runs, unsigned repeat) {
        g_autofree double *v = g_new0(double, n * runs);

        for (size_t k = 0; k < n; k++)
                call_once(bus, &calls[k]);   /* warm */
        for (unsigned i = 0; i < runs; i++)
                for (size_t j = 0; j < n; j++) {
                        size_t k = (i + j) % n;
                        double t0 = now_ms();
                        for (unsigned r = 0; r < repeat; r++)
                                call_once(bus, &calls[k]);
                        v[k * runs + i] = (now_ms() - t0) / repeat;
                }
        for (size_t k = 0; k < n; k++)
                ret[k] = median(v + k * runs, runs);
}

/* devpassd's start, wall to its name owned and its CPU time by then, in
 * turn with the libpci floor. */
static void time_start(Harness *h, NodeFigures *f) {
        const char *floor[] = { harness_path("DEVPASS_BENCH_FLOOR"), harness_path("DEVPASS_PCI_IDS"), NULL };
        double wall[RUNS], cpu[RUNS], floor_wall[RUNS], floor_cpu[RUNS];

        bench_run(floor);
        for (int i = 0; i < RUNS; i++) {
                Run r = bench_run(floor);
                floor_wall[i] = r.wall, floor_cpu[i] = r.cpu;
                double t0 = now_ms();
                harness_daemon_start(h, NULL);
                wall[i] = now_ms() - t0;
                cpu[i] = process_cpu_ms(h->daemon_pid);
                if (i < RUNS - 1)
                        harness_daemon_stop(h);
        }
        f->start = (Run) { median(wall, RUNS), median(cpu, RUNS), 0 };
        f->floor_scan = (Run) { median(floor_wall, RUNS), median(floor_cpu, RUNS), 0 };
}

static void print_calls(const char *what, const Calls *c, unsigned n) {
        if (c->opens < 0) {
                printf("  %-38s (strace is not installed)\n", what);
                return;
        }
        printf("  %-38s %5.2f opens (%4.2f failed), %5.2f reads, %4.2f readlinks, %4.2f getdents per function\n",
               what, c->opens / n, c->failed_opens / n, c->reads / n, c->readlinks / n, c->dirs / n);
}

static void print_client(const char *what, const Run *r, const Run *ref) {
        if (ref)
                printf("  %-38s %9.3f ms   CPU %8.3f ms   peak %6ld KiB   devpassctl / this: wall %4.2f, "
                       "CPU %4.2f, memory %4.2f\n", what, r->wall, r->cpu, r->rss_kib, ref->wall / r->wall, ref->cpu / r->cpu,
                       (double) ref->rss_kib / (double) r->rss_kib);
        else
                printf("  %-38s %9.3f ms   CPU %8.3f ms   peak %6ld KiB\n", what, r->wall, r->cpu, r->rss_kib);
}

static void listing(Harness *h, NodeFigures *f) {
        const char *ids = harness_path("DEVPASS_PCI_IDS");
        const char *ctl[] = { harness_path("DEVPASSCTL"), "devices", NULL };
        const char *ctl_json[] = { harness_path("DEVPASSCTL"), "--json", "devices", NULL };
        g_autofree char *lspci_bin = g_find_program_in_path("lspci");
        const char *lspci[] = { lspci_bin, "-D", "-i", ids, "-O", "hwdb.disable=1", NULL };
        const char *vmm[] = { lspci_bin, "-D", "-vmm", "-k", "-nn", "-i", ids, "-O", "hwdb.disable=1", NULL };
        const char *const *argvs[] = { ctl, ctl_json, lspci, vmm };
        Run runs[G_N_ELEMENTS(argvs)] = { 0 };

        bench_run_turns(argvs, runs, lspci_bin ? G_N_ELEMENTS(argvs) : 2);
        f->ctl = runs[0], f->ctl_json = runs[1], f->lspci = runs[2], f->lspci_vmm = runs[3];
        print_client("devpassctl devices", &f->ctl, NULL);
        print_client("devpassctl --json devices", &f->ctl_json, NULL);
        if (!lspci_bin) {
                printf("  lspci is not installed: the listing has no peers\n");
                return;
        }
        print_client("lspci -D", &f->lspci, &f->ctl);
        print_client("lspci -D -vmm -k -nn", &f->lspci_vmm, &f->ctl);
        report("  devpassctl devices / lspci -D", f->ctl.wall, f->lspci.wall, "lspci -D", 1.0);
        report("  devpassctl devices / lspci -vmm", f->ctl.wall, f->lspci_vmm.wall, "lspci -D -vmm -k -nn", 0.8);
        printf("  %-38s %9.2fx lspci -D's   target <= 2.0  %s\n", "  devpassctl devices, peak memory",
               (double) f->ctl.rss_kib / (double) f->lspci.rss_kib,
               f->ctl.rss_kib <= 2 * f->lspci.rss_kib ? "met" : "MISSED");
}

static void bench_node(unsigned n, NodeFigures *f) {
        g_autoptr(Harness) h = harness_prepare(NULL);
        double t0 = now_ms();
        nodegen_write(testbed_sys_dir(h->testbed), n);
        printf("\nnode of %u functions (generated in %.0f ms)\n", n, now_ms() - t0);

        time_start(h, f);
        f->rss_start_kib = status_kib(h->daemon_pid, "VmRSS:");
        report("start to name owned (wall)", f->start.wall, f->floor_scan.wall, "libpci scan+fill", 1.0);
        report("start to name owned (CPU)", f->start.cpu, f->floor_scan.cpu, "libpci scan+fill", 1.0);
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
        const char *scan[] = { self, "--scan", testbed_sys_dir(h->testbed), NULL };
        const char *floor[] = { harness_path("DEVPASS_BENCH_FLOOR"), harness_path("DEVPASS_PCI_IDS"), NULL };
        f->scan_calls = count_calls(h, scan);
        f->floor_calls = count_calls(h, floor);
        print_calls("syscalls: devpassd's inventory scan", &f->scan_calls, n);
        print_calls("syscalls: libpci scan+fill", &f->floor_calls, n);
        printf("  %-38s (umockdev's preload adds a readlink to each *at call and resolves /sys paths)\n", "");

        GPid bare = bench_bare_start(h, n, NULL);
        const Call gmo[] = {
                { "org.devpass1", "/org/devpass1", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects" },
                { "org.devpass1.Bare", "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects" },
        };
        double gmo_ms[G_N_ELEMENTS(gmo)];
        time_calls(h->bus, gmo, gmo_ms, G_N_ELEMENTS(gmo), RUNS, 3);
        f->gmo = gmo_ms[0], f->gmo_floor = gmo_ms[1];
        report("GetManagedObjects round trip", f->gmo, f->gmo_floor, "bare sd-bus service", 1.3);

        const Call get[] = {
                { "org.devpass1", "/org/devpass1/devices/0000_00_00_0", "org.freedesktop.DBus.Properties", "Get",
                  "ss", "org.devpass1.Device", "Driver" },
                { "org.devpass1.Bare", "/bare/0", "org.freedesktop.DBus.Properties", "Get", "ss",
                  "org.devpass1.Bare", "Driver" },
                { "org.devpass1.Bare", "/bare/0", "org.devpass1.Bare", "Ping" },
        };
        double get_ms[G_N_ELEMENTS(get)];
        /* Short batches, many of them: a call takes about 0.1 ms, and on two
         * CPUs a batch can lose its CPU to anything else for a while. */
        time_calls(h->bus, get, get_ms, G_N_ELEMENTS(get), GET_RUNS, 100);
        f->get = get_ms[0], f->get_floor = get_ms[1], f->ping = get_ms[2];
        report("Get of one device property", f->get, f->get_floor, "bare Properties.Get", 1.2);
        printf("  %-38s %9.3f ms   (a method of no arguments, unprivileged)\n", "  bare Ping", f->ping);
        bench_bare_stop(bare);

        listing(h, f);
        bench_libvirt(h, n, &f->libvirt);
        if (f->libvirt.ran) {
                report("  libvirtd start to all listed", f->libvirt.start_ms, f->start.wall, "devpassd start", 0);
                report("  virsh nodedev-list --cap pci", f->libvirt.list.wall, f->ctl.wall, "devpassctl devices", 0);
                report("  virsh nodedev-dumpxml of each", f->libvirt.xml.wall, f->ctl_json.wall,
                       "devpassctl --json devices", 0);
                printf("  %-38s %6ld KiB   devpassd %ld KiB after start\n", "  libvirtd resident memory",
                       f->libvirt.rss_kib, f->rss_start_kib);
        }

        /* What it keeps, and what it takes while it builds a reply of
         * every object for GetManagedObjects (the sizes section has how
         * big that gets). */
        f->rss_kib = status_kib(h->daemon_pid, "VmRSS:");
        f->hwm_kib = status_kib(h->daemon_pid, "VmHWM:");
        long target = n > 4096 ? 32 : 24;
        printf("  %-38s %6ld KiB after start, %ld KiB after the calls   target <= %ld MiB  %s\n",
               "devpassd resident memory", f->rss_start_kib, f->rss_kib, target,
               MAX(f->rss_start_kib, f->rss_kib) <= target * 1024 ? "met" : "MISSED");
        printf("  %-38s %6ld KiB (building GetManagedObjects' reply)\n", "  peak", f->hwm_kib);
        harness_daemon_stop(h);
}

/* A figure at each size and its slope per function, smallest to largest. */
static void print_slope(const char *what, const char *unit, const double *v, double scale) {
        printf("  %-38s", what);
        for (size_t i = 0; i < N_SIZES; i++)
                printf(" %10.2f", v[i]);
        double slope = (v[N_SIZES - 1] - v[0]) / (double) (sizes[N_SIZES - 1] - sizes[0]) * scale;
        printf("   %8.3f %s\n", slope, unit);
}

#define SLOPE(what, field, unit, scale)                                                       \
        do {                                                                                   \
                double v_[N_SIZES];                                                            \
                for (size_t i_ = 0; i_ < N_SIZES; i_++)                                        \
                        v_[i_] = (double) f[i_].field;                                         \
                print_slope(what, unit, v_, scale);                                            \
        } while (0)

void bench_nodes(void) {
        NodeFigures f[N_SIZES] = { 0 };

        for (size_t i = 0; i < N_SIZES; i++)
                bench_node(sizes[i], &f[i]);
        printf("\nscaling (ms, KiB; slope from %u to %u functions)\n  %-38s", sizes[0], sizes[N_SIZES - 1], "");
        for (size_t i = 0; i < N_SIZES; i++)
                printf(" %10u", sizes[i]);
        printf("   per function\n");
        SLOPE("devpassd start (wall)", start.wall, "us", 1e3);
        SLOPE("devpassd start (CPU)", start.cpu, "us", 1e3);
        SLOPE("libpci scan+fill (wall)", floor_scan.wall, "us", 1e3);
        SLOPE("libpci scan+fill (CPU)", floor_scan.cpu, "us", 1e3);
        SLOPE("GetManagedObjects", gmo, "us", 1e3);
        SLOPE("bare GetManagedObjects", gmo_floor, "us", 1e3);
        SLOPE("Get of one property", get, "us", 1e3);
        SLOPE("devpassctl devices (wall)", ctl.wall, "us", 1e3);
        SLOPE("devpassctl devices (CPU)", ctl.cpu, "us", 1e3);
        SLOPE("devpassctl devices (peak KiB)", ctl.rss_kib, "KiB", 1);
        SLOPE("lspci -D (wall)", lspci.wall, "us", 1e3);
        SLOPE("lspci -D (CPU)", lspci.cpu, "us", 1e3);
        SLOPE("lspci -D (peak KiB)", lspci.rss_kib, "KiB", 1);
        SLOPE("lspci -D -vmm -k -nn (wall)", lspci_vmm.wall, "us", 1e3);
        SLOPE("lspci -D -vmm -k -nn (CPU)", lspci_vmm.cpu, "us", 1e3);
        SLOPE("devpassctl --json devices (wall)", ctl_json.wall, "us", 1e3);
        if (f[0].libvirt.ran) {
                SLOPE("libvirtd start to all listed", libvirt.start_ms, "us", 1e3);
                SLOPE("virsh nodedev-list --cap pci (wall)", libvirt.list.wall, "us", 1e3);
                SLOPE("virsh nodedev-dumpxml of each (wall)", libvirt.xml.wall, "us", 1e3);
                SLOPE("libvirtd resident (KiB)", libvirt.rss_kib, "KiB", 1);
        }
        SLOPE("devpassd resident after start (KiB)", rss_start_kib, "KiB", 1);
        SLOPE("devpassd resident after calls (KiB)", rss_kib, "KiB", 1);
        SLOPE("devpassd peak resident (KiB)", hwm_kib, "KiB", 1);
}

/* devpass-bench --scan SYSDIR: the inventory's scan of a node and nothing
 * else, for strace to count. */
int bench_scan_main(const char *sys_dir) {
        g_autoptr(Names) names = names_new(harness_path("DEVPASS_PCI_IDS"));
        g_autoptr(Inventory) inv = inventory_new(sys_dir, names);
        g_autoptr(Coalescer) queue = coalescer_new();

        inventory_queue_all(inv, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        inventory_changes_free(inventory_apply(inv, entries));
        printf("%u\n", inventory_size(inv));
        return 0;
}
