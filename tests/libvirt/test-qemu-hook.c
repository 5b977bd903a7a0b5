/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The qemu hook under the real libvirtd from Debian (QEMU, TCG): a domain
 * naming a device another machine holds does not start and says who holds
 * it; one naming a free device of its group gets it claimed, and when the
 * start then fails (no such device on this host) the release hook frees
 * it; managed='yes' on a devpass device fails the start; devpass-libvirt
 * start defines and starts a domain through it; a domain without devpass
 * devices starts and stops without devpassd hearing of it.
 *
 * libvirtd runs in this test's mount namespace (tests/isolated) with
 * tmpfs over its run, state, cache, log and config directories, the
 * build's hook as /etc/libvirt/hooks/qemu.d/devpass, and the private bus
 * at the system bus's path: libvirt clears its hooks' environment. It
 * runs without umockdev's preload (which it does not survive): it sees
 * the host's /sys, where the fixture's devices are not. A missing
 * libvirtd fails the test (.ci/deps installs it). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl-helpers.h"
#include "ctl.h"
#include "domains.h"

#define LIBVIRTD "/usr/sbin/libvirtd"
#define SYSTEM_BUS_SOCKET "/run/dbus/system_bus_socket"

typedef struct {
        CtlFixture *ctl;
        char *dir;
        pid_t libvirtd;
        int libvirtd_fd;   /* a pidfd: libvirtd forks into the background */
        virConnectPtr conn;
} Fixture;

static void mount_or_fail(const char *source, const char *target, const char *type, unsigned long flags) {
        if (mount(source, target, type, flags, type ? "mode=0755" : NULL) < 0)
                fail_msg("mount %s on %s: %s", source, target, strerror(errno));
}

static char *write_file(const char *dir, const char *name, const char *content) {
        g_autoptr(GError) error = NULL;
        char *path = g_build_filename(dir, name, NULL);

        if (!g_file_set_contents(path, content, -1, &error))
                fail_msg("%s", error->message);
        return path;
}

static const char *const libvirt_dirs[] = { "/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt",
                                            "/var/log/libvirt", "/etc/libvirt/qemu", "/run/dbus" };
static const char *const libvirt_files[] = { "/etc/libvirt/hooks", "/etc/libvirt/qemu.conf", SYSTEM_BUS_SOCKET };

/* libvirtd's directories, the hook and the bus, as libvirtd will see them. */
static void mount_libvirt(Fixture *f) {
        const char *const *dirs = libvirt_dirs;
        g_autofree char *hooks = g_build_filename(f->dir, "hooks", NULL);
        g_autofree char *hooks_d = g_build_filename(hooks, "qemu.d", NULL);
        g_autofree char *hook = g_build_filename(hooks_d, "devpass", NULL);
        g_autofree char *socket = g_build_filename(f->ctl->h->tmpdir, "system_bus_socket", NULL);
        /* No virtlogd here (systemd starts it on a real host): QEMU's
         * output goes to a file. */
        g_autofree char *qemu_conf = write_file(f->dir, "qemu.conf", "stdio_handler = \"file\"\n");

        for (size_t i = 0; i < G_N_ELEMENTS(libvirt_dirs); i++) {
                g_assert_cmpint(g_mkdir_with_parents(dirs[i], 0755), ==, 0);
                mount_or_fail("devpass-test", dirs[i], "tmpfs", 0);
        }
        g_assert_cmpint(g_mkdir_with_parents(hooks_d, 0755), ==, 0);
        g_assert_cmpint(symlink(harness_path("DEVPASS_QEMU_HOOK"), hook), ==, 0);
        mount_or_fail(hooks, "/etc/libvirt/hooks", NULL, MS_BIND);
        mount_or_fail(qemu_conf, "/etc/libvirt/qemu.conf", NULL, MS_BIND);
        g_autofree char *target = write_file("/run/dbus", "system_bus_socket", "");
        mount_or_fail(socket, target, NULL, MS_BIND);
}

static void unmount_libvirt(void) {
        for (size_t i = G_N_ELEMENTS(libvirt_files); i > 0; i--)
                (void) umount2(libvirt_files[i - 1], MNT_DETACH);
        for (size_t i = G_N_ELEMENTS(libvirt_dirs); i > 0; i--)
                (void) umount2(libvirt_dirs[i - 1], MNT_DETACH);
}

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autoptr(GError) error = NULL;
        g_autofree char *err = NULL;
        int status;

        if (!g_file_test(LIBVIRTD, G_FILE_TEST_IS_EXECUTABLE))
                fail_msg(LIBVIRTD " is missing: install libvirt-daemon-system and qemu-system-x86 (.ci/deps does)");
        ctl_setup((void **) &f->ctl);
        f->dir = g_build_filename(f->ctl->h->tmpdir, "libvirt", NULL);
        g_assert_cmpint(g_mkdir_with_parents(f->dir, 0755), ==, 0);
        mount_libvirt(f);

        /* Without the test's environment: no umockdev, no bus address. */
        g_autofree char *pid_file = g_build_filename(f->dir, "libvirtd.pid", NULL);
        const char *argv[] = { LIBVIRTD, "--daemon", "--pid-file", pid_file, NULL };
        const char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        /* --daemon returns once libvirtd listens. */
        if (!g_spawn_sync(NULL, (char **) argv, (char **) envp, HARNESS_SPAWN, NULL, NULL, NULL, &err, &status,
                          &error) || !g_spawn_check_wait_status(status, NULL))
                fail_msg("libvirtd did not start: %s%s", error ? error->message : "", err ?: "");
        g_autofree char *pid = NULL;
        g_assert_true(g_file_get_contents(pid_file, &pid, NULL, NULL));
        f->libvirtd = (pid_t) atoi(pid);
        f->libvirtd_fd = (int) syscall(SYS_pidfd_open, f->libvirtd, 0);
        g_assert_cmpint(f->libvirtd_fd, >=, 0);
        dpl_quiet_libvirt();
        f->conn = virConnectOpen("qemu:///system");
        assert_non_null(f->conn);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        virDomainPtr *domains = NULL;
        struct pollfd pfd = { .fd = f->libvirtd_fd, .events = POLLIN };

        /* QEMU would outlive libvirtd: no domain stays running. */
        int n = virConnectListAllDomains(f->conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        for (int i = 0; i < n; i++) {
                (void) virDomainDestroy(domains[i]);
                virDomainFree(domains[i]);
        }
        free(domains);
        virConnectClose(f->conn);
        g_assert_cmpint(kill(f->libvirtd, SIGTERM), ==, 0);
        if (poll(&pfd, 1, 30000) != 1) {
                (void) kill(f->libvirtd, SIGKILL);
                fail_msg("libvirtd did not stop within 30 s of SIGTERM");
        }
        close(f->libvirtd_fd);
        unmount_libvirt();
        ctl_teardown((void **) &f->ctl);
        g_free(f->dir);
        g_free(f);
        return 0;
}

/* A QEMU domain (TCG) with the given devices, defined. */
static virDomainPtr define(Fixture *f, const char *name, const char *devices) {
        g_autofree char *escaped = g_markup_escape_text(name, -1);
        g_autofree char *xml = g_strdup_printf(
                "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><os><type arch='x86_64' "
                "machine='q35'>hvm</type></os><devices>%s<controller type='usb' model='none'/>"
                "<memballoon model='none'/></devices></domain>", escaped, devices);
        virDomainPtr dom = virDomainDefineXML(f->conn, xml);

        if (!dom)
                fail_msg("cannot define %s: %s", name, virGetLastErrorMessage());
        return dom;
}

/* Both GPU pairs passed through as "PCI GPUs". */
static void setup_group(Fixture *f) {
        ctl_succeeds(f->ctl, ARGS("passthrough", "17:00.0", "17:00.1", "b1:00.0", "b1:00.1", "--new-group",
                                  "PCI GPUs"));
        wait_device(f->ctl, "0000:b1:00.1", "Driver: vfio-pci");
}

/* A domain attached to "PCI GPUs" whose definition names function 0 of
 * the GPU on bus, with managed as given. */
static virDomainPtr define_attached(Fixture *f, const char *name, const char *bus, const char *managed) {
        ctl_succeeds(f->ctl, ARGS("attach", name, "--group", "PCI GPUs"));
        g_autofree char *dev = g_strdup_printf("<hostdev mode='subsystem' type='pci' managed='%s'><source><address "
                                               "domain='0x0000' bus='%s' slot='0x00' function='0x0'/></source>"
                                               "</hostdev>", managed, bus);
        return define(f, name, dev);
}

/* virDomainCreate fails; libvirt's message, which carries the hook's line. */
static char *start_fails(virDomainPtr dom) {
        assert_int_equal(virDomainCreate(dom), -1);
        char *message = g_strdup(virGetLastErrorMessage());
        assert_int_equal(virDomainIsActive(dom), 0);
        return message;
}

static void test_held_elsewhere(void **state) {
        Fixture *f = *state;

        setup_group(f);
        ctl_succeeds(f->ctl, ARGS("attach", "other vm", "--group", "PCI GPUs"));
        ctl_succeeds(f->ctl, ARGS("claim", "other vm"));
        g_autoptr(virDomain) dom = define_attached(f, "intruder", "0x17", "no");

        g_autofree char *message = start_fails(dom);
        if (!strstr(message, "devpass: ") || !strstr(message, "'other vm'"))
                fail_msg("libvirt's error does not name the holder: %s", message);
        assert_holder(f->ctl, "0000:17:00.0", "claimed", "other vm");
        assert_holder(f->ctl, "0000:b1:00.0", "passthrough", "-");
}

static void test_claimed_then_released(void **state) {
        Fixture *f = *state;

        setup_group(f);
        g_autoptr(virDomain) dom = define_attached(f, "gamer", "0xb1", "no");
        g_autofree char *before = harness_daemon_log(f->ctl->h);

        /* Past the hook, libvirt refuses: this host has no IOMMU (nor the GPU). */
        g_autofree char *message = start_fails(dom);
        if (strstr(message, "devpass") || !strstr(message, "host doesn't support passthrough of host PCI devices"))
                fail_msg("not libvirt's refusal after the hook: %s", message);
        g_autofree char *log = harness_daemon_log(f->ctl->h);
        const char *since = log + strlen(before);
        if (!strstr(since, "ClaimDevices") || !strstr(since, "gamer") || !strstr(since, "Release"))
                fail_msg("devpassd did not claim and release for gamer:\n%s", since);
        assert_holder(f->ctl, "0000:b1:00.0", "passthrough", "-");
        assert_holder(f->ctl, "0000:b1:00.1", "passthrough", "-");
}

static void test_managed(void **state) {
        Fixture *f = *state;

        setup_group(f);
        g_autoptr(virDomain) dom = define_attached(f, "managed", "0xb1", "yes");

        g_autofree char *message = start_fails(dom);
        if (!strstr(message, "devpass: 0000:b1:00.0 is passed through by devpass, and domain 'managed' has it with "
                             "managed='yes'"))
                fail_msg("libvirt's error: %s", message);
        assert_holder(f->ctl, "0000:b1:00.0", "passthrough", "-");
}

/* devpass-libvirt start against libvirtd: the definition with two units
 * on guest buses of their own is accepted (libvirt adds their root
 * ports), the hook lets the domain's own claim pass, and when the start
 * fails here (no IOMMU) the definition is as it was and the claim gone. */
static void test_devpass_libvirt(void **state) {
        Fixture *f = *state;
        const char *name = "win 11 gämïng";
        g_autoptr(sd_bus) bus = NULL;

        setup_group(f);
        ctl_succeeds(f->ctl, ARGS("attach", name, "--group", "PCI GPUs", "--count", "2"));
        g_autoptr(virDomain) dom = define(f, name, "");
        g_autofree char *before = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        assert_int_equal(ctl_bus_open(&bus), CTL_EXIT_OK);

        /* What it says goes to stderr: into a file for the test. */
        g_autofree char *err_path = g_build_filename(f->dir, "stderr", NULL);
        int saved = dup(STDERR_FILENO), fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(saved >= 0 && fd >= 0 && dup2(fd, STDERR_FILENO) == STDERR_FILENO);
        int code = dpl_start(f->conn, bus, name);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(fd);
        close(saved);
        g_autofree char *err = NULL;
        g_assert_true(g_file_get_contents(err_path, &err, NULL, NULL));

        assert_int_equal(code, CTL_EXIT_FAILURE);
        if (!g_str_has_prefix(err, "test-qemu-hook: win 11 gämïng: cannot start the domain: unsupported "
                                   "configuration: host doesn't support passthrough of host PCI devices\n"))
                fail_msg("devpass-libvirt start: %s", err);
        g_autofree char *after = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        assert_string_equal(after, before);
        assert_holder(f->ctl, "0000:17:00.0", "passthrough", "-");
        assert_holder(f->ctl, "0000:b1:00.1", "passthrough", "-");
}

static void test_untouched(void **state) {
        Fixture *f = *state;
        g_autoptr(virDomain) dom = define(f, "plain", "");
        g_autofree char *before = harness_daemon_log(f->ctl->h);

        if (virDomainCreate(dom) < 0)
                fail_msg("plain did not start: %s", virGetLastErrorMessage());
        assert_int_equal(virDomainIsActive(dom), 1);
        assert_int_equal(virDomainDestroy(dom), 0);
        assert_int_equal(virDomainIsActive(dom), 0);
        g_autofree char *after = harness_daemon_log(f->ctl->h);
        assert_string_equal(after, before);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_held_elsewhere, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claimed_then_released, setup, teardown),
                cmocka_unit_test_setup_teardown(test_managed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_devpass_libvirt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_untouched, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
