/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bad input for the methods of machines and tenants: CreateAttachment(s),
 * Claim, Release, PassToTenant and the Attachment objects. Each call is
 * refused with a named error whose message names what is wrong, and
 * changes nothing (GetManagedObjects before and after, which also shows
 * the daemon alive); teardown asserts a clean exit. Real polkitd, a fake
 * kernel; root may do everything, so a refusal is the input's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"

#define ROOT "/org/devpass1"
#define MANAGER_IF "org.devpass1.Manager"
#define ATTACHMENT_IF "org.devpass1.Attachment"
#define GROUP_IF "org.devpass1.Group"
#define DEV(a) ROOT "/devices/" a

#define INVALID "org.devpass1.Error.InvalidArgument"
#define NOT_FOUND "org.devpass1.Error.NotFound"
/* A call on an object that is not there, and arguments of the wrong types:
 * the standard errors. */
#define UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define BUSY "org.devpass1.Error.Busy"

#define NOGROUP ROOT "/groups/999"
#define NOATT ROOT "/attachments/999"
#define TAKEN "02:00:5e:00:00:01"

/* "VFs" (sriov-nic: the 4 VFs of 3b:00.0, one passed to tenant acme),
 * "GPUs" (pci: 17:00.0 and .1), "acme VFs" (acme's, on acme-node1, 1 VF),
 * and machine vm1's attachment "nic" on VFs with the MAC TAKEN. Their
 * paths replace $VFS, $GPUS, $ACME, $ATT in the calls below. */
typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *vfs, *gpus, *acme, *att;
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        const char *const vfs[] = { "0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3", NULL };

        f->h = calls_gpu_server(NULL, &f->fk);
        f->vfs = calls_passthrough_group(f->h, vfs, "VFs", "sriov-nic", "nic");
        f->gpus = calls_ok_path(f->h, ROOT, MANAGER_IF, "MakePassthrough",
                                g_variant_new_parsed("([objectpath '" DEV("0000_17_00_0") "', '" DEV("0000_17_00_1")
                                                     "'], {'Name': <'GPUs'>, 'Class': <'gpu'>})"));
        f->acme = calls_ok_path(f->h, ROOT, MANAGER_IF, "PassToTenant",
                                g_variant_new_parsed("('acme', 'acme-node1', {'Group': <%o>})", f->vfs));
        f->att = calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateAttachment",
                               g_variant_new_parsed("('vm1', {'Group': <%o>, 'Name': <'nic'>, 'Mac': <%s>})", f->vfs,
                                                    TAKEN));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        /* Alive, and a clean exit (under the sanitizers: no leaks). */
        calls_stop(f->h, f->fk);
        g_free(f->vfs);
        g_free(f->gpus);
        g_free(f->acme);
        g_free(f->att);
        g_free(f);
        return 0;
}

/* $VFS, $GPUS, $ACME, $ATT: the fixture's paths. */
static void refused_all(Fixture *f, const CallsBad *calls, size_t n) {
        const char *const pairs[] = { "$VFS", f->vfs, "$GPUS", f->gpus, "$ACME", f->acme, "$ATT", f->att, NULL };

        calls_refused_table(f->h, calls, n, pairs);
}

/* ---- machine and tenant names, on every call that takes one ---- */

static void test_names(void **state) {
        Fixture *f = *state;
        g_autofree char *long65 = g_strnfill(65, 'a');
        g_autofree char *quoted65 = g_strdup_printf("'%.40s...'", long65);
        g_autofree char *long256 = g_strnfill(256, 'a');
        g_autofree char *quoted256 = g_strdup_printf("'%.40s...'", long256);
        /* Machines are the VM manager's names: NULL where a machine may
         * have the name and only a tenant may not. */
        const struct {
                const char *name, *quoted, *machine, *tenant;
        } names[] = {
                { "", "''", "must be 1 to 255 bytes long", "must be 1 to 64 characters long" },
                { long65, quoted65, NULL, "must be 1 to 64 characters long" },
                { long256, quoted256, "must be 1 to 255 bytes long", "must be 1 to 64 characters long" },
                { "vm one", "'vm one'", NULL, "may hold only A-Z a-z 0-9 . _ -" },
                { "vm/one", "'vm/one'", NULL, "may hold only" },
                { "vm\none", "'vm\\none'", "is not UTF-8 or holds control characters", "may hold only" },
                { "vm\x7f", "'vm\\177'", "is not UTF-8 or holds control characters", "may hold only" },
                { "vm\xc2\x9b", "'vm\\302\\233'", "is not UTF-8 or holds control characters", "may hold only" },
                { "vm\xc3\xa9", "'vm\\303\\251'", NULL, "may hold only" },
                { "%n", "'%n'", NULL, "may hold only" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                const char *n = names[i].name;
                g_autofree char *what = g_strescape(n, NULL);
                g_autofree char *machine = g_strdup_printf("The machine name %s %s", names[i].quoted,
                                                           names[i].machine ?: "");
                g_autofree char *tenant = g_strdup_printf("The tenant name %s %s", names[i].quoted, names[i].tenant);
                g_autofree char *node = g_strdup_printf("The tenant node name %s %s", names[i].quoted,
                                                        names[i].tenant);

                Harness *h = f->h;

                if (names[i].machine) {
                        calls_refused(h, what, ROOT, MANAGER_IF, "CreateAttachment",
                                      g_variant_new_parsed("(%s, {'Group': <%o>})", n, f->vfs), INVALID, machine);
                        calls_refused(h, what, ROOT, MANAGER_IF, "CreateAttachments",
                                      g_variant_new_parsed("([('vm2', {'Group': <%o>}), (%s, {'Group': <%o>})],)",
                                                           f->vfs, n, f->vfs),
                                      INVALID, machine);
                        calls_refused(h, what, ROOT, MANAGER_IF, "Claim", g_variant_new_parsed("(%s, @a{sv} {})", n),
                                      INVALID, machine);
                        calls_refused(h, what, ROOT, MANAGER_IF, "ClaimDevices",
                                      g_variant_new_parsed("(%s, ['0000:17:00.0'], @a{sv} {})", n), INVALID, machine);
                        calls_refused(h, what, ROOT, MANAGER_IF, "Release", g_variant_new("(s)", n), INVALID,
                                      machine);
                }
                calls_refused(h, what, ROOT, MANAGER_IF, "Claim",
                              g_variant_new_parsed("('vm1', {'TenantNode': <%s>})", n), INVALID, node);
                calls_refused(h, what, ROOT, MANAGER_IF, "PassToTenant",
                              g_variant_new_parsed("(%s, 'acme-node1', {'Group': <%o>})", n, f->vfs), INVALID, tenant);
                calls_refused(h, what, ROOT, MANAGER_IF, "PassToTenant",
                              g_variant_new_parsed("('globex', %s, {'Group': <%o>})", n, f->vfs), INVALID, node);
                /* "" is the host's: a good Tenant. */
                if (*n)
                        calls_refused(h, what, ROOT, MANAGER_IF, "CreateAttachment",
                                      g_variant_new_parsed("('vm2', {'Group': <%o>, 'Tenant': <%s>})", f->acme, n),
                                      INVALID, tenant);
        }
}

/* Claim's and ClaimDevices' Uuid, and ClaimDevices' addresses. */
static void test_claim_options(void **state) {
        Fixture *f = *state;
        Harness *h = f->h;
        const char *bad_uuids[] = { "nope", "4dea22b31d52d8f32516782e98ab3fa0", "4dea22b3-1d52-d8f3-2516-782e98ab3fa",
                                    "4dea22b3-1d52-d8f3-2516-782e98ab3fa0\n" };

        for (size_t i = 0; i < G_N_ELEMENTS(bad_uuids); i++) {
                g_autofree char *what = g_strescape(bad_uuids[i], NULL);
                calls_refused(h, what, ROOT, MANAGER_IF, "Claim",
                              g_variant_new_parsed("('vm1', {'Uuid': <%s>})", bad_uuids[i]), INVALID, "is not a UUID");
                calls_refused(h, what, ROOT, MANAGER_IF, "ClaimDevices",
                              g_variant_new_parsed("('vm1', ['0000:17:00.0'], {'Uuid': <%s>})", bad_uuids[i]),
                              INVALID, "is not a UUID");
        }
        calls_refused(h, "no address", ROOT, MANAGER_IF, "ClaimDevices",
                      g_variant_new_parsed("('vm1', @as [], @a{sv} {})"), INVALID, "Name at least one PCI address");
        calls_refused(h, "bad address", ROOT, MANAGER_IF, "ClaimDevices",
                      g_variant_new_parsed("('vm1', ['0000:17:00.0', '17:00'], @a{sv} {})"), INVALID,
                      "'17:00' is not a PCI address");
        calls_refused(h, "Uuid as a number", ROOT, MANAGER_IF, "ClaimDevices",
                      g_variant_new_parsed("('vm1', ['0000:17:00.0'], {'Uuid': <1>})"), INVALID, "Uuid");
}

/* ---- MACs ---- */

static void test_macs(void **state) {
        Fixture *f = *state;
        const struct {
                const char *mac, *message;
        } macs[] = {
                { "01:00:5e:00:00:01", "'01:00:5e:00:00:01' is a multicast address" },
                { "ff:ff:ff:ff:ff:ff", "'ff:ff:ff:ff:ff:ff' is a multicast address" },
                { "00:00:00:00:00:00", "'00:00:00:00:00:00' is all zero" },
                { "zz:00:5e:00:00:01", "'zz:00:5e:00:00:01' is not a MAC address" },
                { "02:00:5e:00:01", "'02:00:5e:00:01' is not a MAC address" },
                { "02:00:5e:00:00:01:02", "'02:00:5e:00:00:01:02' is not a MAC address" },
                { "0200.5e00.0001", "'0200.5e00.0001' is not a MAC address" },
                { "02:00:5e:00:00:01x", "'02:00:5e:00:00:01x' is not a MAC address" },
                { "02:00:5e:00:00:1", "'02:00:5e:00:00:1' is not a MAC address" },
                { "02-00-5e-00-00-01", "'02-00-5e-00-00-01' is not a MAC address" },
                { "+2:00:5e:00:00:01", "'+2:00:5e:00:00:01' is not a MAC address" },
                { " 2:00:5e:00:00:01", "' 2:00:5e:00:00:01' is not a MAC address" },
                { "02:00:5e:00:00:0\n", "'02:00:5e:00:00:0\\n' is not a MAC address" },
                { "%n:%n:%n:%n:%n:%n", "'%n:%n:%n:%n:%n:%n' is not a MAC address" },
                { TAKEN, "MAC " TAKEN " is taken by attachment nic of machine vm1" },
                { "02:00:5E:00:00:01", "MAC " TAKEN " is taken by attachment nic of machine vm1" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(macs); i++) {
                const char *mac = macs[i].mac, *msg = macs[i].message;
                bool taken = g_str_has_prefix(msg, "MAC ");
                const char *error = taken ? BUSY : INVALID;
                g_autofree char *what = g_strescape(mac, NULL);

                Harness *h = f->h;

                calls_refused(h, what, ROOT, MANAGER_IF, "CreateAttachment",
                              g_variant_new_parsed("('vm2', {'Group': <%o>, 'Mac': <%s>})", f->vfs, mac), error, msg);
                calls_refused(h, what, ROOT, MANAGER_IF, "CreateAttachments",
                              g_variant_new_parsed("([('vm2', {'Group': <%o>}), "
                                                   "('vm3', {'Group': <%o>, 'Mac': <%s>})],)", f->vfs, f->vfs, mac),
                              error, msg);
                if (taken)      /* TAKEN is vm1's own: its Update may keep it; PassToTenant: pass_calls */
                        continue;
                calls_refused(h, what, f->att, ATTACHMENT_IF, "Update", g_variant_new_parsed("({'Mac': <%s>},)", mac),
                              INVALID, msg);
                calls_refused(h, what, ROOT, MANAGER_IF, "PassToTenant",
                              g_variant_new_parsed("('globex', 'globex-node1', {'Group': <%o>, 'Mac': <%s>})", f->vfs,
                                                   mac),
                              INVALID, msg);
        }
}

/* ---- everything else, one table per method ---- */

#define CA(settings) "('vm2', " settings ")"
static const CallsBad create_calls[] = {
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Count': <uint32 0>}"), INVALID, "Count 0 is out of range: group VFs holds 4 devices" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Count': <uint32 5>}"), INVALID, "Count 5 is out of range: group VFs holds 4 devices" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Count': <uint32 4294967295>}"), INVALID, "Count 4294967295 is out of range" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$ACME'>, 'Tenant': <'acme'>, 'Count': <uint32 2>}"), INVALID, "Count 2 is out of range: group acme VFs holds 1 device" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$GPUS'>, 'Mac': <'02:00:5e:00:00:02'>}"), INVALID, "group GPUs is pci" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Count': <uint32 2>, 'Mac': <'02:00:5e:00:00:02'>}"), INVALID, "A Mac can be given for Count 1 only" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Type': <'pci'>}"), INVALID, "Type 'pci' does not match group VFs, which is sriov-nic" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$GPUS'>, 'Type': <'sriov-nic'>}"), INVALID, "Type 'sriov-nic' does not match group GPUs, which is pci" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Type': <'vm'>}"), INVALID, "Type 'vm' does not match group VFs" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$ACME'>}"), INVALID, "Group acme VFs is tenant acme's: a machine of the host cannot draw from it" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$ACME'>, 'Tenant': <'globex'>}"), INVALID, "Group acme VFs is tenant acme's: a machine of tenant globex cannot" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Tenant': <'acme'>}"), INVALID, "Group VFs is the host's: a machine of tenant acme cannot" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Colour': <'red'>}"), INVALID, "Unknown setting 'Colour': this call takes" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'NumaNode': <1>}"), INVALID, "Unknown setting 'NumaNode'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Count': <'2'>}"), INVALID, "Setting Count must be of type 'u', not 's'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Count': <2>}"), INVALID, "Setting Count must be of type 'u', not 'i'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Optional': <'yes'>}"), INVALID, "Setting Optional must be of type 'b', not 's'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <'$VFS'>}"), INVALID, "Setting Group must be of type 'o', not 's'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Tenant': <true>}"), INVALID, "Setting Tenant must be of type 's', not 'b'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '" NOGROUP "'>}"), NOT_FOUND, "No group at '" NOGROUP "'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '/'>}"), NOT_FOUND, "No group at '/'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$ATT'>}"), NOT_FOUND, "No group at '$ATT'" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Count': <uint32 1>}"), INVALID, "machine vm2" },
        { ROOT, MANAGER_IF, "CreateAttachment", "('vm1', {'Group': <objectpath '$VFS'>, 'Name': <'nic'>})", BUSY, "Machine vm1 has an attachment named 'nic' already" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Name': <' nic'>}"), INVALID, "The attachment name ' nic' starts or ends with a space" },
        { ROOT, MANAGER_IF, "CreateAttachment", CA("{'Group': <objectpath '$VFS'>, 'Name': <'two\\nlines'>}"), INVALID, "The attachment name 'two\\nlines' has characters" },
        { ROOT, MANAGER_IF, "CreateAttachment", "('vm2',)", INVALID_ARGS, "CreateAttachment takes arguments of type 'sa{sv}', not 's'" },
        /* All or nothing: one bad entry, none made. */
        { ROOT, MANAGER_IF, "CreateAttachments", "([('vm2', {'Group': <objectpath '$VFS'>}), ('vm3', {'Group': <objectpath '$VFS'>, 'Count': <uint32 0>}), ('vm4', {'Group': <objectpath '$GPUS'>})],)", INVALID, "Count 0 is out of range: group VFs" },
        { ROOT, MANAGER_IF, "CreateAttachments", "([('vm2', {'Group': <objectpath '$VFS'>}), ('vm3', {'Group': <objectpath '" NOGROUP "'>})],)", NOT_FOUND, "No group at '" NOGROUP "'" },
        { ROOT, MANAGER_IF, "CreateAttachments", "([('vm2', {'Group': <objectpath '$VFS'>, 'Name': <'a'>}), ('vm2', {'Group': <objectpath '$VFS'>, 'Name': <'a'>})],)", BUSY, "Machine vm2 has an attachment named 'a' already" },
        { ROOT, MANAGER_IF, "CreateAttachments", "([('vm2', {'Group': <objectpath '$VFS'>, 'Mac': <'02:00:5e:00:00:02'>}), ('vm3', {'Group': <objectpath '$VFS'>, 'Mac': <'02:00:5e:00:00:02'>})],)", BUSY, "MAC 02:00:5e:00:00:02 is taken by this same call" },
        { ROOT, MANAGER_IF, "CreateAttachments", "([('vm2', {'Group': <objectpath '$VFS'>}), ('vm3', {'Group': <objectpath '$ACME'>})],)", INVALID, "Group acme VFs is tenant acme's" },
        { ROOT, MANAGER_IF, "CreateAttachments", "(@a(sa{sv}) [],)", INVALID, "Give at least one (machine, settings) entry" },
        { ROOT, MANAGER_IF, "CreateAttachments", "([('vm2', {'Group': <objectpath '$VFS'>})], 'x')", INVALID_ARGS, "CreateAttachments takes arguments of type 'a(sa{sv})'" },
};

static const CallsBad claim_calls[] = {
        { ROOT, MANAGER_IF, "Claim", "('vm1', {'Count': <uint32 1>})", INVALID, "Unknown setting 'Count': this call takes NumaNode, TenantNode" },
        { ROOT, MANAGER_IF, "Claim", "('vm1', {'NumaNode': <uint32 1>})", INVALID, "Setting NumaNode must be of type 'i', not 'u'" },
        { ROOT, MANAGER_IF, "Claim", "('vm1', {'TenantNode': <true>})", INVALID, "Setting TenantNode must be of type 's', not 'b'" },
        { ROOT, MANAGER_IF, "Claim", "('vm1',)", INVALID_ARGS, "Claim takes arguments of type 'sa{sv}', not 's'" },
        { ROOT, MANAGER_IF, "Release", "('vm1', 'now')", INVALID_ARGS, "Release takes arguments of type 's', not 'ss'" },
};

#define PT(settings) "('globex', 'globex-node1', " settings ")"
static const CallsBad pass_calls[] = {
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Count': <uint32 0>}"), INVALID, "Count 0 is out of range: group VFs holds 4" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Count': <uint32 5>}"), INVALID, "Count 5 is out of range: group VFs holds 4" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Count': <uint32 4>}"), BUSY, "Tenant globex wants 4 devices of group VFs, and 3 are free" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$ACME'>}"), INVALID, "Group acme VFs is tenant acme's: pass from a host group" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Type': <'pci'>}"), INVALID, "Type 'pci' does not match group VFs, which is sriov-nic" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$GPUS'>, 'Type': <'sriov-nic'>}"), INVALID, "Type 'sriov-nic' does not match group GPUs, which is pci" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$GPUS'>, 'Mac': <'02:00:5e:00:00:02'>}"), INVALID, "group GPUs" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Count': <uint32 2>, 'Mac': <'02:00:5e:00:00:02'>}"), INVALID, "group VFs" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Mac': <'" TAKEN "'>}"), BUSY, "MAC " TAKEN " is taken by attachment nic of machine vm1" },
        { ROOT, MANAGER_IF, "PassToTenant", "('acme', 'acme-node1', {'Group': <objectpath '$VFS'>})", BUSY, "A group named 'acme VFs' exists already" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Name': <'GPUs'>}"), BUSY, "A group named 'GPUs' exists already" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Name': <'trailing '>}"), INVALID, "The group name 'trailing ' starts or ends with a space" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '" NOGROUP "'>}"), NOT_FOUND, "No group at '" NOGROUP "'" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Count': <uint32 1>}"), INVALID, "Name the host group to take the devices from" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Tenant': <'acme'>}"), INVALID, "Unknown setting 'Tenant'" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Optional': <true>}"), INVALID, "Unknown setting 'Optional'" },
        { ROOT, MANAGER_IF, "PassToTenant", PT("{'Group': <objectpath '$VFS'>, 'Count': <'1'>}"), INVALID, "Setting Count must be of type 'u', not 's'" },
        { ROOT, MANAGER_IF, "PassToTenant", "('globex', {'Group': <objectpath '$VFS'>})", INVALID_ARGS, "PassToTenant takes arguments of type 'ssa{sv}', not 'sa{sv}'" },
};

static const CallsBad attachment_calls[] = {
        { NOATT, ATTACHMENT_IF, "Update", "({'Count': <uint32 1>},)", UNKNOWN_OBJECT, "'" NOATT "'" },
        { NOATT, ATTACHMENT_IF, "Delete", NULL, UNKNOWN_OBJECT, "'" NOATT "'" },
        { ROOT "/attachments/x_1", ATTACHMENT_IF, "Delete", NULL, UNKNOWN_OBJECT, "'" ROOT "/attachments/x_1" "'" },
        { ROOT "/attachments/0", ATTACHMENT_IF, "Update", "(@a{sv} {},)", UNKNOWN_OBJECT, "'" ROOT "/attachments/0" "'" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Count': <uint32 0>},)", INVALID, "Count 0 is out of range: group VFs holds 4" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Count': <uint32 2>, 'Mac': <'02:00:5e:00:00:02'>},)", INVALID, "A Mac can be given for Count 1 only" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Group': <objectpath '" NOGROUP "'>},)", NOT_FOUND, "No group at '" NOGROUP "'" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Group': <objectpath '$ACME'>},)", INVALID, "Group acme VFs is tenant acme's" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Group': <objectpath '$GPUS'>, 'Type': <'sriov-nic'>},)", INVALID, "Type 'sriov-nic' does not match group GPUs" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Group': <objectpath '$GPUS'>, 'Mac': <'02:00:5e:00:00:02'>},)", INVALID, "group GPUs is pci" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Type': <'pci'>},)", INVALID, "Type 'pci' does not match group VFs" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Tenant': <'acme'>},)", INVALID, "Unknown setting 'Tenant'" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Optional': <1>},)", INVALID, "Setting Optional must be of type 'b', not 'i'" },
        { "$ATT", ATTACHMENT_IF, "Update", "({'Name': <'bad\\tname'>},)", INVALID, "The attachment name 'bad\\tname' has characters" },
        { "$ATT", ATTACHMENT_IF, "Delete", "('now',)", INVALID_ARGS, "Delete takes arguments of type ''" },
};

static void test_create(void **state) {
        Fixture *f = *state;

        refused_all(f, create_calls, G_N_ELEMENTS(create_calls));

        /* A name given wins over one devpass makes, wherever it comes in the call. */
        g_autoptr(GVariant) made = calls_ok(f->h, ROOT, MANAGER_IF, "CreateAttachments",
                                            g_variant_new_parsed("([('vm2', {'Group': <%o>}), ('vm2', {'Group': <%o>, "
                                                                 "'Name': <'VFs 1'>})],)", f->vfs, f->gpus));
        g_autofree const char **paths = NULL;
        g_variant_get(made, "(^a&o)", &paths);
        assert_int_equal(g_strv_length((char **) paths), 2);
        g_autofree char *blank = calls_prop_string(f->h, paths[0], ATTACHMENT_IF, "Name");
        g_autofree char *given = calls_prop_string(f->h, paths[1], ATTACHMENT_IF, "Name");
        assert_string_equal(blank, "VFs 2");
        assert_string_equal(given, "VFs 1");
}

/* CreateAttachments of n distinct machines, each one unit of group. */
static GVariant *bulk_args(const char *group, guint n) {
        GVariantBuilder entries;

        g_variant_builder_init(&entries, G_VARIANT_TYPE("a(sa{sv})"));
        for (guint i = 0; i < n; i++) {
                g_autofree char *machine = g_strdup_printf("bulk-%05u", i);
                g_variant_builder_add_parsed(&entries, "(%s, {'Group': <%o>})", machine, group);
        }
        return g_variant_new("(a(sa{sv}))", &entries);
}

/* Bounded before polkit is asked: 30,000 entries are refused while
 * parsing; 4096, the most one call takes, would pass the 4096 attachments
 * devpassd keeps (the fixture has one); 4095 are made. */
static void test_bulk(void **state) {
        Fixture *f = *state;

        calls_refused(f->h, "CreateAttachments of 30000", ROOT, MANAGER_IF, "CreateAttachments",
                      bulk_args(f->vfs, 30000), INVALID, "One call creates at most 4096 attachments: split the call");
        calls_refused(f->h, "CreateAttachments of 4097", ROOT, MANAGER_IF, "CreateAttachments",
                      bulk_args(f->vfs, 4097), INVALID, "at most 4096");
        calls_refused(f->h, "CreateAttachments of 4096", ROOT, MANAGER_IF, "CreateAttachments",
                      bulk_args(f->vfs, 4096), "org.freedesktop.DBus.Error.LimitsExceeded",
                      "devpassd keeps at most 4096 attachments, and has 1");
        g_autoptr(GVariant) made = calls_ok(f->h, ROOT, MANAGER_IF, "CreateAttachments", bulk_args(f->vfs, 4095));
        g_autoptr(GVariant) paths = g_variant_get_child_value(made, 0);
        assert_int_equal(g_variant_n_children(paths), 4095);
}

static void test_claim(void **state) {
        refused_all(*state, claim_calls, G_N_ELEMENTS(claim_calls));
}

static void test_pass(void **state) {
        refused_all(*state, pass_calls, G_N_ELEMENTS(pass_calls));
}

static void test_attachment(void **state) {
        refused_all(*state, attachment_calls, G_N_ELEMENTS(attachment_calls));
}

/* Nothing to do is no error: no answer to change, nothing changed. */
static void test_nothing_to_do(void **state) {
        Fixture *f = *state;
        const char *machines[] = { "vm-none", "vm1", "acme" };

        for (size_t i = 0; i < G_N_ELEMENTS(machines); i++) {
                g_autofree char *before = calls_snapshot(f->h);
                g_autoptr(GVariant) released = calls_ok(f->h, ROOT, MANAGER_IF, "Release",
                                                        g_variant_new("(s)", machines[i]));
                g_autofree char *after = calls_snapshot(f->h);
                g_autofree char *what = g_strdup_printf("Release of %s", machines[i]);
                calls_assert_unchanged(before, after, what);
        }
        g_autofree char *before = calls_snapshot(f->h);
        g_autoptr(GVariant) r = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                         g_variant_new_parsed("('vm-none', @a{sv} {})"));
        g_autofree char *text = g_variant_print(r, TRUE);
        assert_string_equal(text, "(@a(osa(siss)) [],)");
        g_autofree char *after = calls_snapshot(f->h);
        calls_assert_unchanged(before, after, "Claim of vm-none");

        /* A blank Name is devpass's to make ("<group> <n>"), not a bad one. */
        g_autofree char *made = calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateAttachment",
                                              g_variant_new_parsed("('vm1', {'Group': <%o>, 'Name': <''>})", f->vfs));
        g_autofree char *name = calls_prop_string(f->h, made, ATTACHMENT_IF, "Name");
        assert_string_equal(name, "VFs 1");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_options, setup, teardown),
                cmocka_unit_test_setup_teardown(test_macs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pass, setup, teardown),
                cmocka_unit_test_setup_teardown(test_attachment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nothing_to_do, setup, teardown),
        };
        return cmocka_run_group_tests_name("claims-input", tests, NULL, NULL);
}
