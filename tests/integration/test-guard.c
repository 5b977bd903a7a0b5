/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety guard end to end: on the virtual host (tests/fixtures/
 * virt-host) CheckPassthrough names what the host uses and MakePassthrough
 * refuses it, a root port even with Force; on the GPU server a PF is
 * refused once its VFs are passed through, held by a tenant, claimed. Real
 * polkitd (root may do everything), a fake kernel answering the binder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"
#define VIRTIO_NIC "0000:01:00.0"
#define BRIDGED_NIC "0000:02:00.0"
#define ROOT_PORT "0000:00:02.0"
#define CONSOLE_GPU "0000:00:01.0"
#define XHCI "0000:06:00.0"
#define PF "0000:3b:00.0"
#define VF "0000:3b:02.0"
#define VF1 "0000:3b:02.1"

typedef struct {
        Harness *h;
        FakeKernel *fk;
} Fixture;

static int setup_node(void **state, const char *fixture) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_node(fixture, NULL, &f->fk);
        *state = f;
        return 0;
}

static int setup_virt_host(void **state) {
        return setup_node(state, "virt-host.umockdev");
}

static int setup_gpu_server(void **state) {
        return setup_node(state, "gpu-server.umockdev");
}

static int teardown(void **state) {
        Fixture *f = *state;

        calls_stop(f->h, f->fk);
        g_free(f);
        return 0;
}

/* CheckPassthrough's findings, one "address kind subject" line each. */
static char *check(Fixture *f, const char *const *addresses) {
        g_autoptr(GVariant) r = calls_ok(f->h, "/org/devpass1", MANAGER, "CheckPassthrough",
                                         g_variant_new("(@ao)", calls_paths_variant(addresses)));
        g_autoptr(GVariant) findings = g_variant_get_child_value(r, 0);
        g_autoptr(GString) s = g_string_new(NULL);

        for (gsize i = 0; i < g_variant_n_children(findings); i++) {
                const char *address, *kind, *subject, *message;
                g_variant_get_child(findings, i, "(&s&s&s&s)", &address, &kind, &subject, &message);
                g_string_append_printf(s, "%s %s %s\n", address, kind, subject);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* MakePassthrough of one device into a new group, which must be refused
 * with Unsafe mentioning the parts (NULL-terminated); nothing changes. */
G_GNUC_NULL_TERMINATED
static void refused(Fixture *f, const char *address, bool force, ...) {
        const char *one[] = { address, NULL };
        g_autoptr(GError) error = NULL;
        va_list ap;

        fakekernel_sync(f->fk);
        fakekernel_clear_writes(f->fk);
        g_autofree char *before = calls_snapshot(f->h);

        g_autoptr(GVariant) r = calls_make_passthrough_new(f->h, one, "Guarded", "pci", "other", force, &error);
        assert_null(r);
        assert_non_null(error);
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        assert_string_equal(remote, "org.devpass1.Error.Unsafe");
        va_start(ap, force);
        for (const char *part; (part = va_arg(ap, const char *));)
                if (!strstr(error->message, part)) {
                        va_end(ap);
                        fail_msg("MakePassthrough %s: '%s' does not mention '%s'", address, error->message, part);
                }
        va_end(ap);
        g_autofree char *after = calls_snapshot(f->h);
        calls_assert_unchanged(before, after, "a refused MakePassthrough");
        fakekernel_sync(f->fk);
        g_auto(GStrv) writes = fakekernel_writes(f->fk);
        assert_null(writes[0]);
}

static void test_virt_host_report(void **state) {
        Fixture *f = *state;
        const char *all[] = { VIRTIO_NIC, BRIDGED_NIC, ROOT_PORT, CONSOLE_GPU, XHCI, NULL };

        g_autofree char *report = check(f, all);
        assert_string_equal(report,
                            VIRTIO_NIC " default-route enp1s0\n"
                            BRIDGED_NIC " network br0\n"
                            ROOT_PORT " bridge \n"
                            ROOT_PORT " default-route enp1s0\n"
                            CONSOLE_GPU " boot-vga \n"
                            CONSOLE_GPU " console fb0\n"
                            CONSOLE_GPU " console card0-Virtual-1\n");
        const char *xhci[] = { XHCI, NULL };
        g_autofree char *none = check(f, xhci);
        assert_string_equal(none, "");
}

static void test_virt_host_refused(void **state) {
        Fixture *f = *state;

        refused(f, VIRTIO_NIC, false, VIRTIO_NIC " backs enp1s0, which carries the default route", "Force", NULL);
        refused(f, BRIDGED_NIC, false, BRIDGED_NIC " backs enp2s0, enslaved to br0, which carries addresses", NULL);
        refused(f, ROOT_PORT, false, "Force cannot help", "vfio-pci does not drive bridges", NULL);
        refused(f, ROOT_PORT, true, "Refused even with Force", ROOT_PORT " is a PCI-to-PCI bridge",
                "Force cannot help", NULL);
        refused(f, "0000:00:00.0", true, "is a host bridge", "Force cannot help", NULL);

        /* What Force may pass, it passes. */
        const char *nic[] = { BRIDGED_NIC, NULL };
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = calls_make_passthrough_new(f->h, nic, "Forced", "pci", "nic", true, &error);
        g_assert_no_error(error);
        calls_wait_driver(f->h, BRIDGED_NIC, "vfio-pci");
}

/* A table the guard cannot read refuses what it would otherwise pass,
 * until Force. */
static void test_unreadable_needs_force(void **state) {
        Fixture *f = *state;
        const char *xhci[] = { XHCI, NULL };
        g_autofree char *root = g_path_get_dirname(testbed_sys_dir(f->h->testbed));
        g_autofree char *route = g_build_filename(root, "proc", "net", "route", NULL);

        assert_int_equal(remove(route), 0);
        g_autofree char *report = check(f, xhci);
        assert_string_equal(report, XHCI " unreadable /proc/net/route\n");
        refused(f, XHCI, false, "/proc/net/route cannot be read (No such file or directory)", NULL);

        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = calls_make_passthrough_new(f->h, xhci, "Unchecked", "pci", "usb", true, &error);
        g_assert_no_error(error);
        calls_wait_driver(f->h, XHCI, "vfio-pci");
}

/* Unbinding a PF destroys its VFs: once they are passed through, held
 * by a tenant or claimed by a machine, the PF is refused, Force or not. */
static void test_pf_with_vfs_in_use(void **state) {
        Fixture *f = *state;
        const char *pf[] = { PF, NULL };
        const char *pf_and_vfs[] = { PF, VF, VF1, NULL };
        const char *vfs[] = { VF, VF1, NULL };

        g_autofree char *free_report = check(f, pf);
        assert_string_equal(free_report, "");

        g_autofree char *group = calls_passthrough_group(f->h, vfs, "VFs", "sriov-nic", "nic");
        g_autofree char *report = check(f, pf);
        assert_string_equal(report, PF " vfs-in-use " VF "\n" PF " vfs-in-use " VF1 "\n");
        refused(f, PF, true, PF " is the physical function of " VF ", which is passed through for group VFs",
                "unbinding the PF destroys its VFs", "Force cannot help", NULL);
        /* selected along, the VFs are the caller's to give */
        g_autofree char *all = check(f, pf_and_vfs);
        assert_string_equal(all, "");

        /* one held by a tenant, the other claimed by a machine */
        g_autofree char *acme = calls_ok_path(f->h, "/org/devpass1", MANAGER, "PassToTenant",
                                              g_variant_new_parsed("('acme', 'acme-node1', "
                                                                   "{'Group': <%o>, 'Count': <uint32 1>})", group));
        g_autofree char *attachment = calls_ok_path(f->h, "/org/devpass1", MANAGER, "CreateAttachment",
                                                    g_variant_new_parsed("('vm1', {'Group': <%o>, "
                                                                         "'Count': <uint32 1>})", group));
        g_autoptr(GVariant) claimed = calls_ok(f->h, "/org/devpass1", MANAGER, "Claim",
                                               g_variant_new_parsed("('vm1', @a{sv} {})"));
        refused(f, PF, true, "which is held by tenant acme", "which is claimed by machine vm1", "Force cannot help",
                NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_virt_host_report, setup_virt_host, teardown),
                cmocka_unit_test_setup_teardown(test_virt_host_refused, setup_virt_host, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_needs_force, setup_virt_host, teardown),
                cmocka_unit_test_setup_teardown(test_pf_with_vfs_in_use, setup_gpu_server, teardown),
        };
        return cmocka_run_group_tests_name("guard", tests, NULL, NULL);
}
