/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The peer with the same job: libvirt's node-device driver on the same
 * generated node. libvirtd (monolithic, as Debian starts it) runs as root
 * under the umockdev preload, its state on tmpfs over /run/libvirt and
 * the rest in this benchmark's mount namespace (bench/run), with
 * netlink-shim.c before umockdev's preload so that its libnl takes
 * umockdev's stand-in for the uevent socket. Measured: from its start to
 * a `virsh nodedev-list --cap pci` of every function; that listing; and
 * `virsh nodedev-dumpxml` of every function in one virsh session (a
 * listing with every detail, as `devpassctl --json devices` is). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "bench.h"

#define LIBVIRTD "/usr/sbin/libvirtd"
#define URI "qemu:///system"
#define XML_RUNS 3

static const char *const libvirt_dirs[] = { "/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt",
                                            "/var/log/libvirt", "/etc/libvirt/qemu" };

/* The PCI functions virsh lists (pci_0000_00_00_0 ...), or NULL when it cannot. */
static GPtrArray *virsh_pci_devices(const char *virsh) {
        /* virsh has no timeout of its own: a libvirtd that does not
         * answer must not hang the benchmark. */
        const char *argv[] = { "timeout", "-k", "5", "60", virsh, "-q", "-c", URI, "nodedev-list", "--cap", "pci",
                               NULL };
        g_autofree char *out = NULL;
        int status;

        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                          &out, NULL, &status, NULL) || !g_spawn_check_wait_status(status, NULL))
                return NULL;
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(g_strstrip(*l), "pci_"))
                        g_ptr_array_add(names, g_strdup(*l));
        return names;
}

static bool libvirt_mount(void) {
        for (size_t i = 0; i < G_N_ELEMENTS(libvirt_dirs); i++)
                if (g_mkdir_with_parents(libvirt_dirs[i], 0755) < 0 ||
                    mount("bench", libvirt_dirs[i], "tmpfs", 0, NULL) < 0)
                        return false;
        return true;
}

static void libvirt_unmount(void) {
        for (size_t i = G_N_ELEMENTS(libvirt_dirs); i > 0; i--)
                (void) umount2(libvirt_dirs[i - 1], MNT_DETACH);
}

/* Every libvirtd started with this benchmark's pid file: the one the
 * file names may not be the one that runs on (seen: the file named a
 * process gone, and the daemon, one pid on, was never stopped and hung
 * the next size's virsh). */
static GArray *libvirtd_pids(Harness *h) {
        g_autofree char *pid_file = g_build_filename(h->tmpdir, "libvirtd.pid", NULL);
        g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
        GArray *pids = g_array_new(FALSE, FALSE, sizeof(GPid));
        const char *name;

        while (proc && (name = g_dir_read_name(proc))) {
                g_autofree char *path = g_build_filename("/proc", name, "cmdline", NULL);
                g_autofree char *cmdline = NULL;
                gsize len;
                if (!g_ascii_isdigit(name[0]) || !g_file_get_contents(path, &cmdline, &len, NULL) ||
                    !g_str_equal(cmdline, LIBVIRTD))
                        continue;
                for (gsize i = 0; i < len; i += strlen(cmdline + i) + 1)
                        if (g_str_equal(cmdline + i, pid_file)) {
                                GPid pid = (GPid) atoi(name);
                                g_array_append_val(pids, pid);
                                break;
                        }
        }
        return pids;
}

/* libvirtd --daemon (it returns once it listens) with the shim; the pid
 * it runs on, found as libvirtd_stop() finds it (its pid file can name
 * another). */
static GPid libvirtd_start(Harness *h) {
        g_autofree char *pid_file = g_build_filename(h->tmpdir, "libvirtd.pid", NULL);
        const char *argv[] = { LIBVIRTD, "--daemon", "--pid-file", pid_file, NULL };
        g_auto(GStrv) env = g_get_environ();
        const char *preload = g_environ_getenv(env, "LD_PRELOAD");
        g_autofree char *both = g_strdup_printf("%s%s%s", harness_path("DEVPASS_BENCH_NETLINK_SHIM"),
                                                preload ? ":" : "", preload ?: "");
        int status;

        env = g_environ_setenv(env, "LD_PRELOAD", both, TRUE);
        if (!g_spawn_sync(NULL, (char **) argv, env, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                          NULL, NULL, NULL, &status, NULL) || !g_spawn_check_wait_status(status, NULL))
                return 0;
        g_autoptr(GArray) pids = libvirtd_pids(h);
        return pids->len ? g_array_index(pids, GPid, 0) : 0;
}

static void libvirtd_stop(Harness *h) {
        g_autoptr(GArray) pids = libvirtd_pids(h);

        for (guint i = 0; i < pids->len; i++) {
                GPid pid = g_array_index(pids, GPid, i);
                if (kill(pid, SIGTERM) < 0)
                        continue;
                for (int t = 0; t < 3000 && kill(pid, 0) == 0; t++)
                        g_usleep(10000);
                if (kill(pid, 0) == 0)
                        (void) kill(pid, SIGKILL);
        }
}

static void libvirt_measure(Harness *h, unsigned n, const char *virsh, GPid pid, double t0, LibvirtFigures *ret) {
        g_autoptr(GPtrArray) names = NULL;

        /* Enumeration goes on after libvirtd listens: five minutes at most. */
        for (double end = now_ms() + 300000; now_ms() < end;) {
                g_clear_pointer(&names, g_ptr_array_unref);
                names = virsh_pci_devices(virsh);
                if (names && names->len >= n)
                        break;
                g_usleep(20000);
        }
        if (!names || names->len < n) {
                printf("  %-38s libvirtd listed %u of the %u functions: not measured\n", "virsh nodedev-list",
                       names ? names->len : 0, n);
                return;
        }
        ret->start_ms = now_ms() - t0;
        ret->rss_kib = status_kib(pid, "VmRSS:");

        const char *list[] = { virsh, "-q", "-c", URI, "nodedev-list", "--cap", "pci", NULL };
        const char *const *argvs[] = { list };
        bench_run_turns(argvs, &ret->list, 1);

        /* One virsh session: a command a line on its standard input. */
        g_autofree char *commands = g_build_filename(h->tmpdir, "virsh-commands", NULL);
        GString *text = g_string_new(NULL);
        for (guint i = 0; i < names->len; i++)
                g_string_append_printf(text, "nodedev-dumpxml %s\n", (char *) names->pdata[i]);
        g_assert_true(g_file_set_contents(commands, text->str, (gssize) text->len, NULL));
        g_string_free(text, TRUE);
        g_autofree char *script = g_strdup_printf("exec %s -q -c %s < %s", virsh, URI, commands);
        const char *xml[] = { "/bin/sh", "-c", script, NULL };
        double wall[XML_RUNS], cpu[XML_RUNS];
        for (int i = 0; i < XML_RUNS; i++) {
                Run r = bench_run(xml);
                wall[i] = r.wall, cpu[i] = r.cpu;
                ret->xml.rss_kib = MAX(ret->xml.rss_kib, r.rss_kib);
        }
        ret->xml.wall = median(wall, XML_RUNS);
        ret->xml.cpu = median(cpu, XML_RUNS);
        ret->ran = true;
}

void bench_libvirt(Harness *h, unsigned n, LibvirtFigures *ret) {
        g_autofree char *virsh = g_find_program_in_path("virsh");

        *ret = (LibvirtFigures) { 0 };
        if (!virsh || !g_file_test(LIBVIRTD, G_FILE_TEST_IS_EXECUTABLE)) {
                printf("  %-38s not measured: libvirtd or virsh is not installed\n", "libvirt's node devices");
                return;
        }
        if (!libvirt_mount()) {
                printf("  %-38s not measured: cannot mount tmpfs over libvirt's directories\n",
                       "libvirt's node devices");
                libvirt_unmount();
                return;
        }
        double t0 = now_ms();
        GPid pid = libvirtd_start(h);
        if (pid > 0)
                libvirt_measure(h, n, virsh, pid, t0, ret);
        else
                printf("  %-38s not measured: libvirtd did not start here\n", "libvirt's node devices");
        libvirtd_stop(h);
        libvirt_unmount();
}
