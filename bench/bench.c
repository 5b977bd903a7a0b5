/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpass benchmark: each figure is measured in the same run as its floor
 * and printed as a ratio. Runs under umockdev-wrapper on generated nodes
 * (tests/nodegen.c) with a private bus (tests/harness.c), and for the
 * mutating call with the real polkitd, in a mount namespace of its own
 * (bench/run). The rules' re-evaluation is in bench-rules.c, the boot
 * storm in bench-storm.c. Not a test: it prints, it does not judge; the
 * README records its figures. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "harness.h"
#include "nodegen.h"
#include "store.h"

#define RUNS 5
/* The X710 port with no VFs; its TotalVFs is raised to 256 for the burst. */
#define BENCH_BURST_PF "0000:3b:00.1"

double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), cmp_double);
        return v[n / 2];
}

double percentile(double *v, size_t n, double p) {
        size_t rank = (size_t) (p * (double) n + 0.999999);
        qsort(v, n, sizeof(double), cmp_double);
        return v[MIN(MAX(rank, 1u), n) - 1];
}

GPid bench_bare_start(Harness *h, unsigned n, const char *const *options) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        const char *name = "org.devpass1.Bare";
        g_autoptr(GError) error = NULL;
        GPid pid;

        g_ptr_array_add(argv, g_strdup(harness_path("DEVPASS_BENCH_BARE")));
        g_ptr_array_add(argv, g_strdup_printf("%u", n));
        for (size_t i = 0; options && options[i]; i++) {
                g_ptr_array_add(argv, g_strdup(options[i]));
                if (g_str_equal(options[i], "--glib"))
                        name = "org.devpass1.BareGlib";
        }
        g_ptr_array_add(argv, NULL);
        /* On h's bus, also when another harness was made since. */
        g_auto(GStrv) env = harness_environ(h);
        g_assert_true(g_spawn_async(NULL, (char **) argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                    &pid, &error));
        for (int i = 0; i < 1000; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                if (sd_bus_call_method(h->bus, name, "/bare/0", "org.devpass1.Bare", "Ping", &e, NULL, NULL) >= 0)
                        return pid;
                sd_bus_error_free(&e);
                g_usleep(10000);
        }
        g_error("bare-service did not start");
}

void bench_bare_stop(GPid pid) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
}

long status_kib(GPid pid, const char *key) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
        g_autofree char *s = NULL;
        g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
        const char *p = strstr(s, key);
        g_assert_nonnull(p);
        return strtol(p + strlen(key) + 1, NULL, 10);
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

/* ---- A mutating call: Manager.CreateGroup against its floor ----
 *
 * devpassd on the GPU server with the real polkitd on the private bus
 * (harness_polkit_start: hence unshare in bench/run), called by this
 * process as root. Root is the strictest case for the ratio: polkitd says
 * yes to uid 0 without running rules.d JavaScript, so the polkit part of
 * both sides is as small as it gets and devpassd's own overhead shows.
 * The floor is the bare service's CreateGroupStored: the same a{sv}
 * read, a synchronous CheckAuthorization of org.devpass1.manage-groups for
 * the caller with the same details, the group's row written as the
 * store writes it in one SQLite transaction (WAL, synchronous=FULL) in a
 * database of devpassd's schema on the same file system, the new group's
 * InterfacesAdded (the same interface and properties, which this client
 * receives from both as any client watching would), a path back: the
 * call's contract, so the floor's work too, as for Claim's floor. The
 * same without the transaction, and on disk with a raw write of the WAL
 * frames instead, are printed for reference.
 *
 * The fsync: with the state on tmpfs (the default: TMPDIR=/dev/shm) it
 * costs next to nothing. With the state on a disk it costs what the disk
 * takes to make a write durable (a fraction of a millisecond on a VM disk
 * with a write-back cache, milliseconds on one that honours flushes),
 * which no service that keeps durable state escapes once per change; the
 * floor's transaction pays it on the same disk, and the output says
 * whether the fsync alone (what SQLite's WAL gets for one group: three
 * pages with their frame headers, appended, then fdatasync(), as strace
 * shows devpassd doing)
 * dominates. The sections "where the time goes" are no floors: polkit
 * alone, the bare service asking polkit through polkit-gobject (as
 * devpassd once did; its auth.c now asks on its own sd-bus connection,
 * as the floor does), the services' CPU time per call, and the store's
 * transaction alone. Calls to devpassd and the floors alternate, each
 * first in turn, so that drift hits all alike. */

#define CALLS 200
#define WARMUP 20
/* What one SQLite WAL commit of a new group writes: three 4 KiB pages
 * (the table's, the unique name index's, and sqlite_sequence's: ids are
 * AUTOINCREMENT, never given twice, as object paths must not be) with
 * their 24-byte frame headers. */
#define WAL_COMMIT_BYTES (3 * (24 + 4096))

typedef struct {
        const char *dest, *path, *interface, *method;
        GPid pid;                 /* the service, for its CPU time */
        double v[CALLS];
        double cpu;               /* the service's CPU time per call, ms, all threads */
} Target;

double process_cpu_ms(GPid pid) {
        g_autofree char *dir = g_strdup_printf("/proc/%d/task", pid);
        g_autoptr(GDir) tasks = g_dir_open(dir, 0, NULL);
        const char *task;
        double ms = 0;

        while (tasks && (task = g_dir_read_name(tasks))) {
                g_autofree char *path = g_strdup_printf("%s/%s/schedstat", dir, task);
                g_autofree char *s = NULL;
                if (g_file_get_contents(path, &s, NULL, NULL))
                        ms += (double) g_ascii_strtoull(s, NULL, 10) / 1e6;
        }
        return ms;
}

static unsigned group_seq;

static double create_group_ms(Harness *h, const Target *t) {
        g_autofree char *name = g_strdup_printf("bench group %u", ++group_seq);
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        g_assert_cmpint(sd_bus_message_new_method_call(h->bus, &m, t->dest, t->path, t->interface, t->method), >=, 0);
        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 3, "Name", "s", name, "Type", "s", "pci", "Class", "s",
                                              "gpu"), >=, 0);
        double t0 = now_ms();
        int r = sd_bus_call(h->bus, m, 0, &error, &reply);
        double ms = now_ms() - t0;
        if (r < 0)
                g_error("%s.%s: %s", t->interface, t->method, error.message);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        /* The InterfacesAdded that came with it, outside the timing. */
        while (sd_bus_process(h->bus, NULL) > 0)
                ;
        harness_clear_signals(h);
        return ms;
}

static void time_targets(Harness *h, Target *targets, size_t n) {
        double cpu0[8];

        g_assert_cmpuint(n, <=, G_N_ELEMENTS(cpu0));
        for (unsigned i = 0; i < WARMUP + CALLS; i++) {
                if (i == WARMUP)
                        for (size_t k = 0; k < n; k++)
                                cpu0[k] = process_cpu_ms(targets[k].pid);
                for (size_t k = 0; k < n; k++) {
                        Target *t = &targets[(i + k) % n];
                        double ms = create_group_ms(h, t);
                        if (i >= WARMUP)
                                t->v[i - WARMUP] = ms;
                }
        }
        for (size_t k = 0; k < n; k++)
                targets[k].cpu = (process_cpu_ms(targets[k].pid) - cpu0[k]) / CALLS;
}

static void report_dist(const char *what, Target *t, Target *floor, const char *floor_name, double target) {
        g_autofree char *m_what = g_strdup_printf("%s: median", what);
        g_autofree char *p_what = g_strdup_printf("%s: p90", what);
        double m = median(t->v, CALLS), p = percentile(t->v, CALLS, 0.9);
        double fm = median(floor->v, CALLS), fp = percentile(floor->v, CALLS, 0.9);

        if (target > 0)
                printf("  %-42s %7.3f ms   floor %7.3f ms (%s)   ratio %5.2f   target <= %.2f  %s\n", m_what, m, fm,
                       floor_name, m / fm, target, m / fm <= target ? "met" : "MISSED");
        else
                printf("  %-42s %7.3f ms   floor %7.3f ms (%s)   ratio %5.2f\n", m_what, m, fm, floor_name, m / fm);
        printf("  %-42s %7.3f ms   floor %7.3f ms (%s)   ratio %5.2f\n", p_what, p, fp, floor_name, p / fp);
}

/* A CheckAuthorization from this process for itself: polkit's part alone. */
static void time_polkit_alone(Harness *h, double *v) {
        const char *me;

        g_assert_cmpint(sd_bus_get_unique_name(h->bus, &me), >=, 0);
        for (unsigned i = 0; i < WARMUP + CALLS; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                double t0 = now_ms();
                int r = sd_bus_call_method(h->bus, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", &error,
                                           &reply, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", me,
                                           "org.devpass1.manage-groups", 2, "group", "g", "node", "testnode", 0u, "");
                double ms = now_ms() - t0;
                if (r < 0)
                        g_error("CheckAuthorization: %s", error.message);
                sd_bus_message_unref(reply);
                if (i >= WARMUP)
                        v[i - WARMUP] = ms;
        }
}

/* The durable write alone, in dir. */
static void time_fsync_alone(const char *dir, double *v) {
        static char frames[WAL_COMMIT_BYTES];
        g_autofree char *path = g_build_filename(dir, "fsync-alone", NULL);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);

        g_assert_cmpint(fd, >=, 0);
        for (unsigned i = 0; i < WARMUP + CALLS; i++) {
                double t0 = now_ms();
                g_assert_cmpint(write(fd, frames, sizeof(frames)), ==, sizeof(frames));
                g_assert_cmpint(fdatasync(fd), ==, 0);
                if (i >= WARMUP)
                        v[i - WARMUP] = now_ms() - t0;
        }
        close(fd);
        unlink(path);
}

void remove_dir(const char *dir) {
        g_autofree char *argv0 = g_find_program_in_path("rm");
        const char *argv[] = { argv0, "-rf", "--", dir, NULL };
        g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* One group's store transaction in this process, the store in dir: the
 * same calls model_group_create() makes. */
static void time_store_alone(const char *dir, double *v) {
        g_autoptr(GError) error = NULL;
        g_autoptr(Store) store = store_open(dir, &error);

        g_assert_no_error(error);
        for (unsigned i = 0; i < WARMUP + CALLS; i++) {
                g_autofree char *name = g_strdup_printf("store group %u", i);
                StoreGroup g = { .name = name, .type = "pci", .description = "", .class_name = "gpu", .tenant = "" };
                double t0 = now_ms();
                g_assert_true(store_begin(store, &error));
                g_assert_true(store_group_insert(store, &g, &error));
                g_assert_true(store_commit(store, &error));
                if (i >= WARMUP)
                        v[i - WARMUP] = now_ms() - t0;
        }
}

static void print_alone(const char *what, double *v, const char *note) {
        double m = median(v, CALLS), p = percentile(v, CALLS, 0.9);
        printf("  %-42s %7.3f ms   p90 %7.3f ms%s%s\n", what, m, p, note ? "   " : "", note ?: "");
}

/* A database with devpassd's schema in dir/devpass.db, for the floor's
 * transaction: "--db=" it. */
static char *floor_db(const char *dir) {
        g_autoptr(GError) error = NULL;
        g_autoptr(Store) store = store_open(dir, &error);

        g_assert_no_error(error);
        return g_strdup_printf("--db=%s/devpass.db", dir);
}

static void bench_create_group(void) {
        g_autoptr(Harness) h = harness_prepare("gpu-server.umockdev");
        const char *disk_parent = g_getenv("DEVPASS_BENCH_DISK_DIR") ?: "/var/tmp";
        g_autofree char *disk_tmpl = g_build_filename(disk_parent, "devpass-bench-XXXXXX", NULL);
        char *disk = g_mkdtemp(disk_tmpl);
        g_autofree char *disk_state = g_build_filename(disk, "state", NULL);
        g_autofree char *disk_store = g_build_filename(disk, "store", NULL);
        g_autofree char *disk_floor = g_build_filename(disk, "floor", NULL);
        g_autofree char *tmpfs_store = g_build_filename(h->tmpdir, "store", NULL);
        g_autofree char *tmpfs_floor = g_build_filename(h->tmpdir, "floor", NULL);
        const Target daemon = { "org.devpass1", "/org/devpass1", "org.devpass1.Manager", "CreateGroup" };
        const Target stored = { "org.devpass1.Bare", "/manager", "org.devpass1.Bare.Manager", "CreateGroupStored" };
        const Target bare = { "org.devpass1.Bare", "/manager", "org.devpass1.Bare.Manager", "CreateGroup" };
        const Target durable = { "org.devpass1.Bare", "/manager", "org.devpass1.Bare.Manager", "CreateGroupDurable" };
        const Target gio = { "org.devpass1.BareGlib", "/manager", "org.devpass1.Bare.Manager", "CreateGroupGio" };
        static double polkit[CALLS], store_tmpfs[CALLS], store_disk[CALLS], fsync_alone[CALLS];
        char note[128];

        g_assert_nonnull(disk);
        harness_polkit_start(h, NULL);
        g_autofree char *tmpfs_db = floor_db(tmpfs_floor);
        g_autofree char *disk_db = floor_db(disk_floor);
        g_autofree char *disk_option = g_strdup_printf("--state-dir=%s", disk);
        GPid bare_pid = bench_bare_start(h, 1, (const char *const[]) { "--manager", tmpfs_db, NULL });
        GPid gio_pid = bench_bare_start(h, 1, (const char *const[]) { "--manager", "--glib", NULL });
        harness_watch_sender(h, "org.devpass1.Bare");
        harness_watch_sender(h, "org.devpass1.BareGlib");
        printf("\nmutating call: Manager.CreateGroup on the GPU server, caller root, the real polkitd;\n"
               "%d calls each after %d warm-up, devpassd and the floors in turn\n", CALLS, WARMUP);

        harness_daemon_start(h, NULL);
        Target on_tmpfs[] = { daemon, stored, bare, gio };
        on_tmpfs[0].pid = h->daemon_pid, on_tmpfs[1].pid = on_tmpfs[2].pid = bare_pid, on_tmpfs[3].pid = gio_pid;
        time_targets(h, on_tmpfs, G_N_ELEMENTS(on_tmpfs));
        harness_daemon_stop(h);
        g_autofree char *what = g_strdup_printf("CreateGroup, state on tmpfs (%s)", g_get_tmp_dir());
        report_dist(what, &on_tmpfs[0], &on_tmpfs[1], "the same + the same SQLite transaction", 1.15);
        report_dist(what, &on_tmpfs[0], &on_tmpfs[2], "bare method + polkit + signal", 0);

        bench_bare_stop(bare_pid);
        bare_pid = bench_bare_start(h, 1, (const char *const[]) { "--manager", disk_option, disk_db, NULL });
        harness_daemon_start(h, (const char *const[]) { "--state-dir", disk_state, NULL });
        Target on_disk[] = { daemon, stored, durable, bare };
        on_disk[0].pid = h->daemon_pid, on_disk[1].pid = on_disk[2].pid = on_disk[3].pid = bare_pid;
        time_targets(h, on_disk, G_N_ELEMENTS(on_disk));
        harness_daemon_stop(h);
        g_free(what);
        what = g_strdup_printf("CreateGroup, state on disk (%s)", disk_parent);
        report_dist(what, &on_disk[0], &on_disk[1], "the same + the same SQLite transaction", 1.15);
        report_dist(what, &on_disk[0], &on_disk[2], "bare + polkit + signal + 12 KiB write, fdatasync", 0);
        report_dist(what, &on_disk[0], &on_disk[3], "bare method + polkit + signal", 0);

        time_polkit_alone(h, polkit);
        time_store_alone(tmpfs_store, store_tmpfs);
        time_store_alone(disk_store, store_disk);
        time_fsync_alone(disk, fsync_alone);
        double base = median(on_tmpfs[2].v, CALLS), dm = median(on_disk[0].v, CALLS);
        printf("  where the time goes (not floors):\n");
        print_alone("polkit CheckAuthorization alone: median", polkit, NULL);
        snprintf(note, sizeof(note), "%+.3f ms over the sd-bus floor",
                 median(on_tmpfs[3].v, CALLS) - base);
        print_alone("bare, polkit via polkit-gobject: median", on_tmpfs[3].v, note);
        /* The bare service's two methods share its process: their sum. */
        printf("  %-42s %7.3f ms   bare %.3f ms with and without the transaction together, with polkit-gobject "
               "%.3f ms (all threads)\n", "CPU time per call, state on tmpfs: devpassd", on_tmpfs[0].cpu,
               on_tmpfs[1].cpu, on_tmpfs[3].cpu);
        print_alone("one group's store transaction, tmpfs", store_tmpfs, "(in this process)");
        print_alone("one group's store transaction, disk", store_disk, "(in this process)");
        double fm = median(fsync_alone, CALLS);
        snprintf(note, sizeof(note), "%.0f%% of devpassd's median on disk%s", 100 * fm / dm,
                 fm > dm / 2 ? ": the fsync dominates" : ": the fsync does not dominate");
        print_alone("12 KiB write + fdatasync on disk: median", fsync_alone, note);

        bench_bare_stop(bare_pid);
        bench_bare_stop(gio_pid);
        remove_dir(disk);
}

/* Sections by name on the command line (node, burst, create-group,
 * rules, hostile-rules, boot-storm, flood, sizes, hook, etcd, cluster); none:
 * all of them. */
static bool wanted(int argc, char *argv[], const char *section) {
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], section) == 0)
                        return true;
        return argc < 2;
}

int main(int argc, char *argv[]) {
        if (!g_getenv("DEVPASS_BENCH_QUIET"))
                printf("devpass benchmark: medians of %d runs unless said; floors measured in this run\n", RUNS);
        if (argc == 3 && g_str_equal(argv[1], "--scan"))
                return bench_scan_main(argv[2]);
        if (wanted(argc, argv, "node"))
                bench_nodes();
        if (wanted(argc, argv, "burst")) {
                double b64 = burst_ms(64), b256 = burst_ms(256);
                printf("\nhotplug burst (SR-IOV VFs appearing; includes the test's own kernel part)\n");
                printf("  %-34s %9.3f ms\n", "64 VFs: last InterfacesAdded", b64);
                printf("  %-34s %9.3f ms\n", "256 VFs: last InterfacesAdded", b256);
                printf("  %-34s %9.2f (linear: 4.0)\n", "256/64 ratio", b256 / b64);
        }
        if (wanted(argc, argv, "create-group"))
                bench_create_group();
        if (wanted(argc, argv, "rules"))
                bench_rules();
        if (wanted(argc, argv, "hostile-rules"))
                bench_hostile_rules();
        if (wanted(argc, argv, "boot-storm"))
                bench_boot_storm();
        if (wanted(argc, argv, "flood"))
                bench_flood();
        if (wanted(argc, argv, "sizes"))
                bench_sizes();
        if (wanted(argc, argv, "hook"))
                bench_hook();
        if (wanted(argc, argv, "etcd"))
                bench_etcd();
        if (wanted(argc, argv, "cluster"))
                bench_cluster();
        return 0;
}
