/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpass-libvirt's verbs against libvirt's test driver (test:///default,
 * in this process) and the real devpassd on the GPU server: a domain named
 * with spaces and non-ASCII letters started with its claimed devices
 * beside the administrator's own, stopped, started again after its
 * attachments changed, a failed define and a failed start that release
 * the claim and keep the definition, and sync. libvirt's calls that fail
 * are this test's own (fail_define, fail_create): the executable's
 * definitions come before libvirt's. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "ctl-helpers.h"
#include "domain-xml.h"
#include "domains.h"

#define NAME "win 11 gämïng"
#define MAC "02:00:5e:10:00:01"
/* The administrator's own: a device devpass does not manage, and a network. */
#define OWN \
        "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x65' " \
        "slot='0x00' function='0x0'/></source></hostdev><interface type='network'><source network='default'/>" \
        "</interface>"

static bool fail_define, fail_create;

virDomainPtr virDomainDefineXML(virConnectPtr conn, const char *xml) {
        static virDomainPtr (*real)(virConnectPtr, const char *);

        if (fail_define)
                return NULL;
        real = real ?: (virDomainPtr (*)(virConnectPtr, const char *)) dlsym(RTLD_NEXT, "virDomainDefineXML");
        return real(conn, xml);
}

int virDomainCreate(virDomainPtr dom) {
        static int (*real)(virDomainPtr);

        if (fail_create)
                return -1;
        real = real ?: (int (*)(virDomainPtr)) dlsym(RTLD_NEXT, "virDomainCreate");
        return real(dom);
}

typedef struct {
        CtlFixture *ctl;
        virConnectPtr conn;
        sd_bus *bus;
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        ctl_setup((void **) &f->ctl);
        dpl_quiet_libvirt();
        f->conn = virConnectOpen("test:///default");
        assert_non_null(f->conn);
        /* The harness exported the private bus's address. */
        assert_int_equal(ctl_bus_open(&f->bus), CTL_EXIT_OK);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        fail_define = fail_create = false;
        /* The test driver's state lives as long as a connection does: a
         * failed test may leave a domain object, and so the connection. */
        g_autoptr(virDomain) dom = virDomainLookupByName(f->conn, NAME);
        if (dom) {
                (void) virDomainDestroy(dom);
                (void) virDomainUndefine(dom);
        }
        sd_bus_flush_close_unref(f->bus);
        virConnectClose(f->conn);
        ctl_teardown((void **) &f->ctl);
        g_free(f);
        return 0;
}

/* Both GPU pairs as "PCI GPUs", two VFs of 0000:3b:00.1 as "VFs"; the
 * domain attached to one of each, and defined in libvirt, shut off. */
static virDomainPtr setup_domain(Fixture *f) {
        CtlFixture *c = f->ctl;

        ctl_succeeds(c, ARGS("passthrough", "17:00.0", "17:00.1", "b1:00.0", "b1:00.1", "--new-group", "PCI GPUs"));
        ctl_quiet(c, ARGS("sriov", "0000:3b:00.1", "2"));
        wait_device(c, "0000:3b:0a.1", "PhysicalFunction: 0000:3b:00.1");
        ctl_succeeds(c, ARGS("passthrough", "3b:0a.0", "3b:0a.1", "--new-group", "VFs", "--type", "sriov-nic"));
        wait_device(c, "0000:b1:00.1", "Driver: vfio-pci");
        wait_device(c, "0000:3b:0a.1", "Driver: vfio-pci");
        ctl_succeeds(c, ARGS("attach", NAME, "--group", "PCI GPUs"));
        ctl_succeeds(c, ARGS("attach", NAME, "--group", "VFs", "--mac", MAC));

        g_autofree char *xml = g_markup_printf_escaped(
                "<domain type='test'><name>%s</name><memory>1048576</memory><os><type arch='x86_64' "
                "machine='q35'>hvm</type></os><devices>" OWN "</devices></domain>", NAME);
        virDomainPtr dom = virDomainDefineXML(f->conn, xml);
        assert_non_null(dom);
        return dom;
}

static char *definition(virDomainPtr dom) {
        char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        assert_non_null(xml);
        return xml;
}

/* The host addresses of the definition's PCI host devices, in order,
 * joined by spaces; devpass's metadata in *managed. */
static char *hostdevs_of(virDomainPtr dom, char **managed) {
        g_autofree char *xml = definition(dom), *error = NULL;
        g_autoptr(xmlDoc) doc = dpl_domain_parse(xml, &error);
        g_autoptr(GArray) hostdevs = dpl_domain_hostdevs(doc), ours = dpl_domain_managed(doc);
        g_autoptr(GString) out = g_string_new(NULL), listed = g_string_new(NULL);
        char text[DP_ADDRESS_MAX];

        for (guint i = 0; i < hostdevs->len; i++) {
                const DplHostdev *h = &g_array_index(hostdevs, DplHostdev, i);
                address_format(&h->address, text);
                g_string_append_printf(out, "%s%s%s", i ? " " : "", text, h->managed ? "(managed)" : "");
        }
        for (guint i = 0; i < ours->len; i++) {
                address_format(&g_array_index(ours, DpAddress, i), text);
                g_string_append_printf(listed, "%s%s", i ? " " : "", text);
        }
        *managed = g_string_free(g_steal_pointer(&listed), FALSE);
        return g_string_free(g_steal_pointer(&out), FALSE);
}

static void assert_hostdevs(virDomainPtr dom, const char *want, const char *want_managed) {
        g_autofree char *managed = NULL, *got = hostdevs_of(dom, &managed);

        assert_string_equal(got, want);
        assert_string_equal(managed, want_managed);
}

static void test_start_stop(void **state) {
        Fixture *f = *state;
        g_autoptr(virDomain) dom = setup_domain(f);
        char uuid[VIR_UUID_STRING_BUFLEN];

        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_OK);
        assert_int_equal(virDomainIsActive(dom), 1);
        /* libvirt writes interfaces first; the administrator's device
         * comes before devpass's unit, as it was. */
        assert_hostdevs(dom, "0000:3b:0a.0 0000:65:00.0(managed) 0000:17:00.0 0000:17:00.1",
                        "0000:17:00.0 0000:17:00.1 0000:3b:0a.0");
        g_autofree char *xml = definition(dom);
        assert_non_null(strstr(xml, "<interface type='network'>"));
        assert_non_null(strstr(xml, "<mac address='" MAC "'/>\n      <source>\n        <address type='pci' "
                                    "domain='0x0000' bus='0x3b' slot='0x0a' function='0x0'/>"));
        /* One guest slot, past every bus a device sits on. */
        assert_non_null(strstr(xml, "function='0x0'/>\n      </source>\n      <address type='pci' domain='0x0000' "
                                    "bus='0x01' slot='0x00' function='0x0' multifunction='on'/>"));
        assert_non_null(strstr(xml, "function='0x1'/>\n      </source>\n      <address type='pci' domain='0x0000' "
                                    "bus='0x01' slot='0x00' function='0x1'/>"));
        assert_holder(f->ctl, "0000:17:00.1", "claimed", NAME);
        assert_holder(f->ctl, "0000:3b:0a.0", "claimed", NAME);
        assert_holder(f->ctl, "0000:b1:00.0", "passthrough", "-");
        assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
        g_autofree char *json = ctl_ok(f->ctl, ARGS("--json", "attachments", NAME));
        g_autofree char *uuid_json = g_strdup_printf("\"MachineUuid\": \"%s\"", uuid);
        assert_non_null(strstr(json, uuid_json));

        /* Running: start refuses, and claims nothing more. */
        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_FAILURE);
        assert_holder(f->ctl, "0000:17:00.0", "claimed", NAME);

        assert_int_equal(dpl_stop(f->conn, f->bus, NAME, false, 5), CTL_EXIT_OK);
        assert_int_equal(virDomainIsActive(dom), 0);
        assert_holder(f->ctl, "0000:17:00.0", "passthrough", "-");
        assert_holder(f->ctl, "0000:3b:0a.0", "passthrough", "-");
        /* The definition keeps its devices for the next start (the hook's). */
        assert_hostdevs(dom, "0000:3b:0a.0 0000:65:00.0(managed) 0000:17:00.0 0000:17:00.1",
                        "0000:17:00.0 0000:17:00.1 0000:3b:0a.0");
        assert_int_equal(dpl_stop(f->conn, f->bus, "no such domain", false, 5), CTL_EXIT_NOT_FOUND);
}

/* Both GPUs and no VF now: devpass's devices are replaced, once each. */
static void test_restart_changed(void **state) {
        Fixture *f = *state;
        g_autoptr(virDomain) dom = setup_domain(f);

        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_OK);
        assert_int_equal(dpl_stop(f->conn, f->bus, NAME, true, 5), CTL_EXIT_OK);
        ctl_quiet(f->ctl, ARGS("update-attachment", NAME, "PCI GPUs 1", "--count", "2"));
        ctl_quiet(f->ctl, ARGS("detach", NAME, "VFs 1"));

        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_OK);
        assert_hostdevs(dom, "0000:65:00.0(managed) 0000:17:00.0 0000:17:00.1 0000:b1:00.0 0000:b1:00.1",
                        "0000:17:00.0 0000:17:00.1 0000:b1:00.0 0000:b1:00.1");
        g_autofree char *xml = definition(dom);
        /* A bus each, the first where the old unit was. */
        assert_non_null(strstr(xml, "bus='0xb1' slot='0x00' function='0x1'/>\n      </source>\n      <address "
                                    "type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x1'/>"));
        assert_non_null(strstr(xml, "bus='0x17' slot='0x00' function='0x0'/>\n      </source>\n      <address "
                                    "type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0' "
                                    "multifunction='on'/>"));
        assert_null(strstr(xml, "bus='0x3b'"));
        assert_holder(f->ctl, "0000:b1:00.1", "claimed", NAME);
        assert_holder(f->ctl, "0000:3b:0a.0", "passthrough", "-");
}

/* A define or a start that fails releases the claim; the definition stays. */
static void test_failures(void **state) {
        Fixture *f = *state;
        g_autoptr(virDomain) dom = setup_domain(f);
        g_autofree char *before = definition(dom);

        fail_define = true;
        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_FAILURE);
        fail_define = false;
        g_autofree char *after_define = definition(dom);
        assert_string_equal(after_define, before);
        assert_int_equal(virDomainIsActive(dom), 0);
        assert_holder(f->ctl, "0000:17:00.0", "passthrough", "-");
        assert_holder(f->ctl, "0000:3b:0a.0", "passthrough", "-");

        fail_create = true;
        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_FAILURE);
        fail_create = false;
        g_autofree char *after_create = definition(dom);
        assert_string_equal(after_create, before);
        assert_holder(f->ctl, "0000:17:00.0", "passthrough", "-");

        /* The administrator added a device devpass gives: refused, released. */
        char uuid[VIR_UUID_STRING_BUFLEN];
        assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
        g_autofree char *own = g_markup_printf_escaped(
                "<domain type='test'><name>%s</name><uuid>%s</uuid><memory>1048576</memory><os><type>hvm</type></os>"
                "<devices>"
                "<hostdev mode='subsystem' "
                "type='pci'><source><address domain='0' bus='0x17' slot='0' function='1'/></source></hostdev>"
                "</devices></domain>", NAME, uuid);
        g_autoptr(virDomain) redefined = virDomainDefineXML(f->conn, own);
        assert_non_null(redefined);
        g_autofree char *before_own = definition(dom);
        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_FAILURE);
        g_autofree char *after_own = definition(dom);
        assert_string_equal(after_own, before_own);
        assert_holder(f->ctl, "0000:17:00.1", "passthrough", "-");
        assert_int_equal(dpl_start(f->conn, f->bus, "no such domain"), CTL_EXIT_NOT_FOUND);
}

/* A domain destroyed behind devpass's back: sync releases it; a machine
 * libvirt does not know keeps its claim. */
static void test_sync(void **state) {
        Fixture *f = *state;
        g_autoptr(virDomain) dom = setup_domain(f);

        assert_int_equal(dpl_start(f->conn, f->bus, NAME), CTL_EXIT_OK);
        ctl_succeeds(f->ctl, ARGS("attach", "plain qemu", "--group", "PCI GPUs"));
        ctl_succeeds(f->ctl, ARGS("claim", "plain qemu"));
        assert_int_equal(dpl_sync(f->conn, f->bus), CTL_EXIT_OK);
        assert_holder(f->ctl, "0000:17:00.0", "claimed", NAME);

        assert_int_equal(virDomainDestroy(dom), 0);
        assert_holder(f->ctl, "0000:17:00.0", "claimed", NAME);
        assert_int_equal(dpl_sync(f->conn, f->bus), CTL_EXIT_OK);
        assert_holder(f->ctl, "0000:17:00.0", "passthrough", "-");
        assert_holder(f->ctl, "0000:3b:0a.0", "passthrough", "-");
        assert_holder(f->ctl, "0000:b1:00.0", "claimed", "plain qemu");
}

/* devpass-libvirt itself, its command line and exit codes, against the
 * test driver's own default node (a fresh one per run). */
static int run_cli(char **err, const char *const *args) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL;
        int status;

        g_ptr_array_add(argv, (char *) harness_path("DEVPASS_LIBVIRT"));
        for (size_t i = 0; args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);
        g_assert_true(g_spawn_sync(NULL, (char **) argv->pdata, NULL, HARNESS_SPAWN, NULL, NULL, &out, err,
                                   &status, &error));
        assert_string_equal(out, "");
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_cli(void **state) {
        Fixture *f = *state;
        g_autofree char *err = NULL;

        assert_int_equal(run_cli(&err, ARGS("--connect", "test:///default", "start", "no such")), CTL_EXIT_NOT_FOUND);
        assert_string_equal(err, "devpass-libvirt: no such: no such domain (virsh list --all lists them)\n");
        g_clear_pointer(&err, g_free);
        assert_int_equal(run_cli(&err, ARGS("start")), CTL_EXIT_USAGE);
        assert_string_equal(err, "devpass-libvirt: start and stop take one DOMAIN; see devpass-libvirt --help\n");
        g_clear_pointer(&err, g_free);
        assert_int_equal(run_cli(&err, ARGS("--force", "sync")), CTL_EXIT_USAGE);
        assert_string_equal(err, "devpass-libvirt: --force and --timeout are stop's; see devpass-libvirt --help\n");
        g_clear_pointer(&err, g_free);
        /* The test driver's running domain "test", held by nothing. */
        assert_int_equal(run_cli(&err, ARGS("--connect", "test:///default", "stop", "test", "--force")), CTL_EXIT_OK);
        assert_string_equal(err, "");
        g_clear_pointer(&err, g_free);
        assert_int_equal(run_cli(&err, ARGS("-c", "test:///default", "sync")), CTL_EXIT_OK);
        assert_string_equal(err, "");
        g_clear_pointer(&err, g_free);
        assert_int_equal(run_cli(&err, ARGS("--connect", "nosuch:///", "sync")), CTL_EXIT_NOT_RUNNING);
        assert_true(g_str_has_prefix(err, "devpass-libvirt: cannot connect to libvirt at nosuch:///: "));
        (void) f;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_start_stop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_changed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
