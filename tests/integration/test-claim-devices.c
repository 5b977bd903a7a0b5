/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.ClaimDevices: what a VM manager's hook calls with the PCI
 * addresses a starting domain names. All or nothing, whole units, counted
 * against the machine's attachments; devices of other holders, of groups
 * the machine is not attached to and those not passed through are
 * refused with nothing changed. Machine names as libvirt has them, and
 * the domain's UUID beside the name. On the GPU server (two A6000 units
 * of GPU and HDMI audio, an X710 with VFs), real polkitd (root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define ROOT "/org/devpass1"
#define MANAGER_IF "org.devpass1.Manager"
#define ATTACHMENT_IF "org.devpass1.Attachment"
#define BUSY "org.devpass1.Error.Busy"
#define INVALID "org.devpass1.Error.InvalidArgument"
#define GPU1 "0000:17:00.0"
#define GPU1_AUDIO "0000:17:00.1"
#define GPU2 "0000:b1:00.0"
#define GPU2_AUDIO "0000:b1:00.1"
#define NVME "0000:5e:00.0"
#define GAMING "win 11 gaming"
#define BUERO "B\xc3\xbcro-VM"
#define UUID1 "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
#define UUID2 "8f9c2a6e-0000-4c1e-9d7a-2b3c4d5e6f70"

/* User daemon may claim for "win 11 gaming" exactly the unit of GPU2,
 * of group "PCI GPUs": polkit's details name the machine as it is, the
 * group and every function the call claims. */
static const char rules[] =
        "polkit.addRule(function(action, subject) {\n"
        "    if (subject.user == 'daemon' && action.id == 'org.devpass1.claim' &&\n"
        "        action.lookup('machine') == '" GAMING "' && action.lookup('group') == 'PCI GPUs' &&\n"
        "        action.lookup('device') == '" GPU2 "\\n" GPU2_AUDIO "' && action.lookup('tenant') == undefined)\n"
        "        return polkit.Result.YES;\n"
        "    return polkit.Result.NOT_HANDLED;\n"
        "});\n";

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *gpus;               /* "PCI GPUs": both A6000 units */
        char *disks;              /* "Disks": the NVMe */
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        static const char *const gpus[] = { GPU1, GPU1_AUDIO, GPU2, GPU2_AUDIO, NULL };
        static const char *const disks[] = { NVME, NULL };

        f->h = calls_gpu_server(rules, &f->fk);
        f->gpus = calls_passthrough_group(f->h, gpus, "PCI GPUs", "pci", "gpu");
        f->disks = calls_passthrough_group(f->h, disks, "Disks", "pci", "storage");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        calls_stop(f->h, f->fk);
        g_free(f->gpus);
        g_free(f->disks);
        g_free(f);
        return 0;
}

/* ClaimDevices(machine, addresses, {Uuid: uuid} or {}): the reply's addresses. */
static char *claim_devices(Fixture *f, const char *machine, const char *const *addresses, const char *uuid) {
        GVariantBuilder o;

        g_variant_builder_init(&o, G_VARIANT_TYPE("a{sv}"));
        if (uuid)
                g_variant_builder_add(&o, "{sv}", "Uuid", g_variant_new_string(uuid));
        g_autoptr(GVariant) r = calls_ok(f->h, ROOT, MANAGER_IF, "ClaimDevices",
                                         g_variant_new("(s^as@a{sv})", machine, addresses, g_variant_builder_end(&o)));
        return calls_claimed(r, NULL);
}

static void refused(Fixture *f, const char *machine, const char *const *addresses, const char *uuid,
                    const char *error, const char *message) {
        GVariantBuilder o;

        g_variant_builder_init(&o, G_VARIANT_TYPE("a{sv}"));
        if (uuid)
                g_variant_builder_add(&o, "{sv}", "Uuid", g_variant_new_string(uuid));
        calls_refused(f->h, message, ROOT, MANAGER_IF, "ClaimDevices",
                      g_variant_new("(s^as@a{sv})", machine, addresses, g_variant_builder_end(&o)), error, message);
}

#define ADDRESSES(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* One function named: its whole unit comes, counted once; named again
 * (in its short form too) it passes; one more unit is past the Count. */
static void test_whole_units(void **state) {
        Fixture *f = *state;

        g_autofree char *att = calls_attach(f->h, GAMING, f->gpus, 1);
        g_autofree char *got = claim_devices(f, GAMING, ADDRESSES(GPU1_AUDIO), UUID1);
        assert_string_equal(got, GPU1 " " GPU1_AUDIO);
        calls_assert_device_state(f->h, GPU1, "claimed " GAMING);
        calls_assert_device_state(f->h, GPU1_AUDIO, "claimed " GAMING);
        calls_wait_prop(f->h, att, ATTACHMENT_IF, "State", "attached");
        g_autofree char *uuid = calls_prop_string(f->h, att, ATTACHMENT_IF, "MachineUuid");
        assert_string_equal(uuid, UUID1);

        g_autofree char *again = claim_devices(f, GAMING, ADDRESSES("17:00.0", GPU1_AUDIO), NULL);
        assert_string_equal(again, GPU1 " " GPU1_AUDIO);
        refused(f, GAMING, ADDRESSES(GPU1, GPU2), UUID1, BUSY,
                "Attachment 'PCI GPUs 1' of machine '" GAMING "' has all the 1 unit of group PCI GPUs its Count "
                "gives, and device " GPU2 " would be one more");

        /* Count 2: the second unit comes, and the reply is the whole claim. */
        g_autofree char *second = calls_attach(f->h, GAMING, f->gpus, 1);
        g_autofree char *both = claim_devices(f, GAMING, ADDRESSES(GPU2), UUID1);
        assert_string_equal(both, GPU1 " " GPU1_AUDIO " " GPU2 " " GPU2_AUDIO);

        g_autoptr(GVariant) r = calls_ok(f->h, ROOT, MANAGER_IF, "Release", g_variant_new("(s)", GAMING));
        calls_assert_device_state(f->h, GPU1, "passthrough ");
        calls_wait_prop(f->h, att, ATTACHMENT_IF, "MachineUuid", "");
}

/* Each refusal names the holder, the group or the device, and leaves
 * everything as it was: the addresses before it are not claimed either. */
static void test_refusals(void **state) {
        Fixture *f = *state;

        g_free(calls_attach(f->h, "vm1", f->gpus, 1));
        g_free(calls_attach(f->h, "vm2", f->gpus, 2));
        g_autofree char *got = claim_devices(f, "vm1", ADDRESSES(GPU1), UUID1);
        assert_string_equal(got, GPU1 " " GPU1_AUDIO);

        refused(f, "vm2", ADDRESSES(GPU2, GPU1), NULL, BUSY, "Device " GPU1 " is held by machine 'vm1'");
        refused(f, "vm2", ADDRESSES(GPU2, "0000:3b:00.0"), NULL, INVALID,
                "Device 0000:3b:00.0 is not passed through by devpass");
        refused(f, "vm2", ADDRESSES(GPU2, "0000:99:00.0"), NULL, INVALID,
                "Device 0000:99:00.0 is not passed through by devpass");
        refused(f, "vm2", ADDRESSES(GPU2, NVME), NULL, INVALID,
                "Machine 'vm2' has no attachment to group Disks, which device " NVME " is passed through for: attach");
        refused(f, "vm3", ADDRESSES(GPU2), NULL, INVALID, "Machine 'vm3' has no attachment to group PCI GPUs");
        /* Another domain of the same name while vm1 holds its devices. */
        refused(f, "vm1", ADDRESSES(GPU1), UUID2, BUSY, "for the domain of UUID " UUID1 ", and this call is for "
                "UUID " UUID2);
        calls_assert_error(f->h, ROOT, MANAGER_IF, "Claim",
                           g_variant_new_parsed("('vm1', {'Uuid': <%s>})", UUID2), BUSY, "UUID " UUID2);
        calls_assert_device_state(f->h, GPU2, "passthrough ");

        /* A unit held by a tenant. */
        g_autoptr(GVariant) r = calls_ok(f->h, ROOT, MANAGER_IF, "Release", g_variant_new("(s)", "vm1"));
        g_autofree char *acme = calls_ok_path(f->h, ROOT, MANAGER_IF, "PassToTenant",
                                              g_variant_new_parsed("('acme', 'acme-node1', {'Group': <%o>})",
                                                                   f->gpus));
        g_autofree char *held = calls_device_state(f->h, GPU1);
        const char *taken = g_str_equal(held, "tenant acme") ? GPU1 : GPU2;
        g_autofree char *message = g_strdup_printf("Device %s is held by tenant 'acme'", taken);
        refused(f, "vm2", ADDRESSES(taken), NULL, BUSY, message);

        /* The tenant's own machine gets it on its tenant node. */
        g_autofree char *args = g_strdup_printf("('acme-vm', {'Group': <objectpath '%s'>, 'Tenant': <'acme'>})", acme);
        g_free(calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateAttachment", calls_parse(NULL, args)));
        GVariantBuilder o;
        g_variant_builder_init(&o, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&o, "{sv}", "TenantNode", g_variant_new_string("acme-node1"));
        g_autoptr(GVariant) mine = calls_ok(f->h, ROOT, MANAGER_IF, "ClaimDevices",
                                            g_variant_new("(s^as@a{sv})", "acme-vm", ADDRESSES(taken),
                                                          g_variant_builder_end(&o)));
        calls_assert_device_state(f->h, taken, "claimed acme-vm");
}

/* Names as libvirt has them, through every call that takes a machine. */
static void test_names(void **state) {
        Fixture *f = *state;
        const char *const names[] = { GAMING, BUERO, " spaced ", "a/b'c\"d" };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                const char *n = names[i];
                g_autofree char *att = calls_attach(f->h, n, f->gpus, 1);
                g_autofree char *machine = calls_prop_string(f->h, att, ATTACHMENT_IF, "Machine");
                assert_string_equal(machine, n);
                g_autoptr(GVariant) claimed = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                                       g_variant_new_parsed("(%s, @a{sv} {})", n));
                g_autofree char *holder = calls_device_string(f->h, GPU1, "Holder");
                assert_string_equal(holder, n);
                g_autoptr(GVariant) r1 = calls_ok(f->h, ROOT, MANAGER_IF, "Release", g_variant_new("(s)", n));
                g_autofree char *got = claim_devices(f, n, ADDRESSES(GPU1), NULL);
                assert_string_equal(got, GPU1 " " GPU1_AUDIO);
                g_autoptr(GVariant) r2 = calls_ok(f->h, ROOT, MANAGER_IF, "Release", g_variant_new("(s)", n));
                g_autoptr(GVariant) gone = calls_ok(f->h, att, ATTACHMENT_IF, "Delete", NULL);
        }
}

/* Changed while polkit was asked: of two claims of one unit, both asked
 * before either was answered, the second is refused by the check run
 * again, naming the first's machine (test-races: refused as stale when
 * the machine's groups changed). */
static void test_changed(void **state) {
        Fixture *f = *state;
        guint pending = 0;
        CallsPending first = { .pending = &pending }, second = { .pending = &pending };

        g_free(calls_attach(f->h, "vm1", f->gpus, 1));
        g_free(calls_attach(f->h, "vm2", f->gpus, 1));
        const CallsCall c1 = { ROOT, MANAGER_IF, "ClaimDevices",
                               g_variant_new_parsed("('vm1', ['" GPU2 "'], @a{sv} {})") };
        const CallsCall c2 = { ROOT, MANAGER_IF, "ClaimDevices",
                               g_variant_new_parsed("('vm2', ['" GPU2_AUDIO "'], @a{sv} {})") };
        calls_race(f->h, &c1, &first, &c2, &second);
        g_assert_no_error(first.error);
        calls_assert_remote_error(second.error, BUSY, "Device " GPU2_AUDIO " is held by machine 'vm1'", NULL);
        calls_assert_device_state(f->h, GPU2_AUDIO, "claimed vm1");
        calls_pending_clear(&first);
        calls_pending_clear(&second);
}

static void test_polkit_details(void **state) {
        Fixture *f = *state;
        const char *const method = MANAGER_IF ".ClaimDevices";
        g_autofree char *err = NULL;

        g_free(calls_attach(f->h, GAMING, f->gpus, 1));
        g_free(calls_attach(f->h, "vm2", f->gpus, 1));
        /* Another machine, or another unit: not what the rule allows. */
        int status = calls_as(f->h, "daemon", ROOT, method,
                              (const char *const[]) { "'vm2'", "['" GPU2 "']", "@a{sv} {}" }, NULL, &err);
        calls_assert_not_authorized("ClaimDevices of vm2", "daemon", status, err, "org.devpass1.claim", NULL);
        g_clear_pointer(&err, g_free);
        status = calls_as(f->h, "daemon", ROOT, method,
                          (const char *const[]) { "'" GAMING "'", "['" GPU1 "']", "@a{sv} {}" }, NULL, &err);
        calls_assert_not_authorized("ClaimDevices of GPU1", "daemon", status, err, "org.devpass1.claim", NULL);
        g_clear_pointer(&err, g_free);
        status = calls_as(f->h, "daemon", ROOT, method,
                          (const char *const[]) { "'" GAMING "'", "['" GPU2_AUDIO "']", "@a{sv} {}" }, NULL, &err);
        if (status != 0)
                fail_msg("ClaimDevices of " GPU2_AUDIO " as daemon: %s", err);
        calls_assert_device_state(f->h, GPU2, "claimed " GAMING);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_whole_units, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit_details, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
