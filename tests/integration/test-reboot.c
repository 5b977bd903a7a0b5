/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Across reboots: the VF count asked for comes back, VFs passed through
 * come back on vfio-pci and never on a host VF driver, a new count on a
 * PF whose VFs are passed through, and claims that belong to the boot
 * they were made in. Real polkitd (root may do everything), a fake kernel
 * whose reboot forgets VF counts, resets sriov_drivers_autoprobe to 1 and
 * makes a new boot id; its i40e PFs' VFs get iavf when autoprobe is 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define GROUP "org.devpass1.Group"
#define ATTACHMENT "org.devpass1.Attachment"
#define PF1 "0000:3b:00.1"
/* PF1's VFs: routing ID 1 + sriov_offset 79 + index (sriov_stride 1). */
#define VF0 "0000:3b:0a.0"
#define VF1 "0000:3b:0a.1"
#define VF2 "0000:3b:0a.2"
#define VF3 "0000:3b:0a.3"
#define GPU "0000:17:00.0"
#define GPU_AUDIO "0000:17:00.1"

typedef struct {
        Harness *h;
        FakeKernel *fk;
} Fixture;

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
        g_free(f);
        return 0;
}

static GVariant *set_vfs(Fixture *f, guint32 count, GError **error) {
        g_autofree char *pf = calls_path_of(PF1);

        return harness_call(f->h, pf, DEVICE, "SetVirtualFunctions", g_variant_new("(u)", count), error);
}

static void set_vfs_ok(Fixture *f, guint32 count) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = set_vfs(f, count, &error);
        g_autofree char *pf = calls_path_of(PF1);
        g_autofree char *want = g_strdup_printf("%u", count);

        g_assert_no_error(error);
        calls_wait_prop(f->h, pf, DEVICE, "SriovNumVfs", want);
}

/* A machine with an attachment of count devices of group, claimed. */
static char *attach_and_claim(Fixture *f, const char *machine, const char *group, guint32 count) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "Group", g_variant_new_object_path(group));
        g_variant_builder_add(&b, "{sv}", "Count", g_variant_new_uint32(count));
        char *attachment = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateAttachment",
                                         g_variant_new("(s@a{sv})", machine, g_variant_builder_end(&b)));
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_autoptr(GVariant) r = calls_ok(f->h, "/org/devpass1", MANAGER, "Claim",
                                         g_variant_new("(s@a{sv})", machine, g_variant_builder_end(&b)));
        return attachment;
}

static void assert_contains(const char *text, const char *want) {
        if (!strstr(text, want))
                fail_msg("'%s' not in:\n%s", want, text);
}

static void assert_lacks(const char *text, const char *unwanted) {
        if (strstr(text, unwanted))
                fail_msg("'%s' in:\n%s", unwanted, text);
}

/* The count asked for is the node's again after a reboot; the host's VFs
 * get their host driver as before, and a restart writes nothing. */
static void test_count_restored(void **state) {
        Fixture *f = *state;

        set_vfs_ok(f, 4);
        calls_reboot(f->h, f->fk);
        g_autofree char *pf = calls_path_of(PF1);
        calls_wait_prop(f->h, pf, DEVICE, "SriovNumVfs", "4");
        calls_wait_driver(f->h, VF3, "iavf");
        g_autofree char *numvfs = calls_sysfs_attr(f->h, f->fk, PF1, "sriov_numvfs");
        assert_string_equal(numvfs, "4");
        g_autofree char *autoprobe = calls_sysfs_attr(f->h, f->fk, PF1, "sriov_drivers_autoprobe");
        assert_string_equal(autoprobe, "1");
        g_autofree char *log = harness_daemon_log(f->h);
        assert_contains(log, "Setting 4 VFs on " PF1 " again (it has 0)");

        /* A restart finds the count as asked: nothing to do. */
        fakekernel_clear_writes(f->fk);
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        calls_wait_driver(f->h, VF0, "iavf");
        g_autofree char *writes = calls_writes(f->fk);
        assert_string_equal(writes, "");
}

/* VFs passed through and claimed, then a reboot: the count comes back
 * with autoprobe off, the VFs come up unbound and go to vfio-pci (never
 * through iavf: no unbind of theirs), the claims of the old boot are
 * released, and the units are free again. */
static void test_passthrough_vfs_reboot(void **state) {
        Fixture *f = *state;
        const char *const vfs[] = { VF0, VF1, NULL };

        set_vfs_ok(f, 4);
        calls_wait_driver(f->h, VF1, "iavf");
        g_autofree char *group = calls_passthrough_group(f->h, vfs, "VFs", "sriov-nic", "nic");
        g_autofree char *attachment = attach_and_claim(f, "vm1", group, 2);
        calls_assert_device_state(f->h, VF0, "claimed vm1");

        fakekernel_clear_writes(f->fk);
        calls_reboot(f->h, f->fk);
        calls_wait_driver(f->h, VF0, "vfio-pci");
        calls_wait_driver(f->h, VF1, "vfio-pci");
        calls_wait_prop(f->h, group, GROUP, "Free", "2");
        calls_assert_device_state(f->h, VF0, "passthrough ");
        calls_assert_device_state(f->h, VF1, "passthrough ");
        /* Released as Release does: not degraded, nothing held. */
        g_autofree char *st = calls_prop_string(f->h, attachment, ATTACHMENT, "State");
        assert_string_equal(st, "attached");
        g_autoptr(GVariant) held = calls_prop(f->h, attachment, ATTACHMENT, "Devices");
        assert_int_equal(g_variant_n_children(held), 0);
        g_autoptr(GVariant) reboot = calls_prop(f->h, "/org/devpass1", MANAGER, "RebootRequired");
        assert_false(g_variant_get_boolean(reboot));

        /* The VFs the host keeps come up without a driver: autoprobe is off. */
        calls_wait_driver(f->h, VF2, "");
        g_autofree char *autoprobe = calls_sysfs_attr(f->h, f->fk, PF1, "sriov_drivers_autoprobe");
        assert_string_equal(autoprobe, "0");
        g_autofree char *writes = calls_writes(f->fk);
        assert_contains(writes, "sriov_drivers_autoprobe " PF1 " 0\nsriov_numvfs " PF1 " 4\n");
        assert_contains(writes, "driver_override " VF0 " vfio-pci\ndrivers_probe " VF0);
        assert_lacks(writes, "unbind " VF0);
        assert_lacks(writes, "unbind " VF1);
        g_autofree char *log = harness_daemon_log(f->h);
        assert_contains(log, "Released the claim of machine vm1 on " VF0 ", " VF1 ": it was made in an earlier boot");

        /* Free means claimable. */
        g_autoptr(GVariant) r = calls_ok(f->h, "/org/devpass1", MANAGER, "Claim",
                                         calls_parse("(sa{sv})", "('vm1', {})"));
        calls_assert_device_state(f->h, VF0, "claimed vm1");
}

/* A claim belongs to its boot: a restart keeps it, a reboot releases it;
 * a tenant's hold is no claim and stays. */
static void test_claims_boot(void **state) {
        Fixture *f = *state;
        const char *const gpus[] = { "0000:17:00.0", "0000:17:00.1", "0000:b1:00.0", "0000:b1:00.1", NULL };

        /* Two units: each GPU with its audio function. */
        g_autofree char *group = calls_passthrough_group(f->h, gpus, "PCI GPUs", "pci", "gpu");
        g_autofree char *attachment = attach_and_claim(f, "vm1", group, 1);
        g_autofree char *tenant = calls_ok_path(f->h, "/org/devpass1", MANAGER, "PassToTenant",
                                                g_variant_new_parsed("(%s, %s, {'Group': <%o>, 'Count': <%u>})",
                                                                     "acme", "acme-1", group, (guint32) 1));
        calls_assert_device_state(f->h, "0000:17:00.0", "claimed vm1");
        calls_assert_device_state(f->h, "0000:b1:00.0", "tenant acme");

        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        calls_assert_device_state(f->h, "0000:17:00.0", "claimed vm1");
        g_autofree char *kept = calls_prop_string(f->h, attachment, ATTACHMENT, "State");
        assert_string_equal(kept, "attached");
        g_autofree char *log = harness_daemon_log(f->h);
        assert_lacks(log, "Released the claim");

        calls_reboot(f->h, f->fk);
        calls_wait_driver(f->h, "0000:17:00.0", "vfio-pci");
        calls_assert_device_state(f->h, "0000:17:00.0", "passthrough ");
        calls_assert_device_state(f->h, "0000:17:00.1", "passthrough ");
        calls_assert_device_state(f->h, "0000:b1:00.0", "tenant acme");
        calls_assert_device_state(f->h, "0000:b1:00.1", "tenant acme");
        g_autofree char *after = harness_daemon_log(f->h);
        assert_contains(after, "Released the claim of machine vm1 on 0000:17:00.0, 0000:17:00.1: it was made in an "
                               "earlier boot");
        assert_int_equal(calls_prop_uint(f->h, group, GROUP, "Free"), 1);
}

/* A new count on a PF whose VFs are passed through: through 0 with
 * autoprobe off; the VFs passed through come back on vfio-pci as they
 * appear. A count that would leave one out, or take one from its
 * machine, is refused. */
static void test_count_change(void **state) {
        Fixture *f = *state;
        const char *const vfs[] = { VF0, VF1, NULL };
        g_autoptr(GError) error = NULL;

        set_vfs_ok(f, 2);
        calls_wait_driver(f->h, VF1, "iavf");
        g_autofree char *group = calls_passthrough_group(f->h, vfs, "VFs", "sriov-nic", "nic");

        fakekernel_clear_writes(f->fk);
        set_vfs_ok(f, 4);
        calls_wait_driver(f->h, VF0, "vfio-pci");
        calls_wait_driver(f->h, VF1, "vfio-pci");
        calls_wait_driver(f->h, VF3, "");
        calls_wait_prop(f->h, group, GROUP, "Free", "2");
        g_autofree char *writes = calls_writes(f->fk);
        assert_contains(writes, "sriov_drivers_autoprobe " PF1 " 0\nsriov_numvfs " PF1 " 0\nsriov_numvfs " PF1 " 4");
        assert_lacks(writes, "unbind " VF0);

        g_autoptr(GVariant) fewer = set_vfs(f, 1, &error);
        assert_null(fewer);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", VF1, "1 VFs would leave it out", NULL);
        g_clear_error(&error);

        g_autofree char *attachment = attach_and_claim(f, "vm1", group, 1);
        g_autoptr(GVariant) held = set_vfs(f, 8, &error);
        assert_null(held);
        calls_assert_remote_error(error, "org.devpass1.Error.Busy", VF0, "held by vm1", NULL);
        g_autofree char *pf = calls_path_of(PF1);
        assert_int_equal(calls_prop_uint(f->h, pf, DEVICE, "SriovNumVfs"), 4);
        calls_assert_device_state(f->h, VF0, "claimed vm1");
}

/* VFs made again behind devpass's back (autoprobe on: iavf takes them as
 * they come): the one passed through is taken back at once and is free. */
static void test_vfs_recreated(void **state) {
        Fixture *f = *state;
        const char *const vfs[] = { VF0, NULL };

        set_vfs_ok(f, 2);
        calls_wait_driver(f->h, VF0, "iavf");
        g_autofree char *group = calls_passthrough_group(f->h, vfs, "VFs", "sriov-nic", "nic");
        fakekernel_lock(f->fk);
        testbed_sriov_set(f->h->testbed, PF1, 0);
        fakekernel_unlock(f->fk);
        calls_wait_prop(f->h, group, GROUP, "Free", "0");
        calls_assert_device_state(f->h, VF0, "missing ");

        fakekernel_clear_writes(f->fk);
        fakekernel_lock(f->fk);
        testbed_sriov_set(f->h->testbed, PF1, 2);
        fakekernel_unlock(f->fk);
        calls_wait_driver(f->h, VF0, "vfio-pci");
        calls_wait_prop(f->h, group, GROUP, "Free", "1");
        calls_assert_device_state(f->h, VF0, "passthrough ");
        calls_wait_driver(f->h, VF1, "iavf");
        /* Taken from iavf (the test made the VFs: the fake kernel may not
         * have seen the override written yet, sysfs has it). */
        g_autofree char *writes = calls_writes(f->fk);
        assert_true(g_str_has_suffix(writes, "unbind " VF0 "\ndrivers_probe " VF0));
        g_autofree char *override = calls_sysfs_attr(f->h, f->fk, VF0, "driver_override");
        assert_string_equal(override, "vfio-pci");
}

/* The next sd_notify message devpassd sends to sock, within 10 s. */
static char *notify_next(int sock) {
        struct pollfd p = { .fd = sock, .events = POLLIN };
        char buf[4096];

        if (poll(&p, 1, 10000) != 1)
                fail_msg("no sd_notify message from devpassd within 10 s");
        ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        return g_strdup(buf);
}

/* What systemd sees of a start after a reboot where the boot-time list
 * did not help (a host driver built in): READY=1 only once the start-up
 * reconcile has bound the passthrough devices, so that libvirtd, ordered
 * after devpassd, never finds them on their host drivers; STATUS= before
 * and with it; then watchdog pings from the main loop. */
static void test_ready_after_reconcile(void **state) {
        Fixture *f = *state;
        const char *const gpu[] = { GPU, GPU_AUDIO, NULL };

        g_autofree char *group = calls_passthrough_group(f->h, gpu, "GPUs", "pci", "gpu");
        harness_daemon_stop(f->h);
        fakekernel_reboot(f->fk, NULL);
        g_autofree char *before = calls_sysfs_driver(f->h, f->fk, GPU);
        assert_string_equal(before, "nvidia");

        int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(sock >= 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_autofree char *path = g_build_filename(f->h->tmpdir, "notify", NULL);
        g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
        assert_int_equal(bind(sock, (struct sockaddr *) &sa, sizeof(sa)), 0);
        g_setenv("NOTIFY_SOCKET", path, TRUE);
        g_setenv("WATCHDOG_USEC", "200000", TRUE);
        harness_daemon_start(f->h, NULL);
        g_unsetenv("NOTIFY_SOCKET");
        g_unsetenv("WATCHDOG_USEC");

        g_autofree char *first = notify_next(sock);
        assert_string_equal(first, "STATUS=Binding passthrough devices to vfio-pci");
        g_autofree char *ready = NULL;
        while (!ready) {
                g_autofree char *m = notify_next(sock);
                if (g_str_has_prefix(m, "READY=1"))
                        ready = g_steal_pointer(&m);
        }
        /* Read before anything else turns: the binds are done by now. */
        for (size_t i = 0; gpu[i]; i++) {
                g_autofree char *driver = calls_sysfs_driver(f->h, f->fk, gpu[i]);
                if (!g_str_equal(driver, "vfio-pci"))
                        fail_msg("READY=1 came while %s was on %s", gpu[i], driver);
        }
        assert_true(g_str_has_prefix(ready, "READY=1\nSTATUS=Serving "));
        assert_true(g_str_has_suffix(ready, " PCI functions, 2 passed through"));
        for (int pings = 0; pings < 2;) {
                g_autofree char *m = notify_next(sock);
                pings += g_str_equal(m, "WATCHDOG=1");
        }
        close(sock);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_count_restored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_passthrough_vfs_reboot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claims_boot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_count_change, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vfs_recreated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ready_after_reconcile, setup, teardown),
        };
        return cmocka_run_group_tests_name("reboot", tests, NULL, NULL);
}
