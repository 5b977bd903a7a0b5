/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Changed while polkit was asked, for every mutating method but the
 * attachment calls (test-scope.c): a first call changes what a second one
 * touches after the second asked polkit and before polkit answered it
 * (calls_race). The second is
 * refused, as stale (what polkit was asked about changed) or by the
 * model's check run again (a named error), and is never applied: the
 * objects afterwards are exactly those of the first call made alone on
 * another devpassd with the same state.
 *
 * The node (GPU server, root, the real polkitd): group A (sriov-nic)
 * holds 3b:02.0 and rule ra (matching nothing), B (sriov-nic) holds
 * 3b:02.1 and machine vm1's attachment, E (pci) is empty; 3b:02.2,
 * 3b:02.3 and 5e:00.0 are free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define ROOT "/org/devpass1"
#define MANAGER_IF "org.devpass1.Manager"
#define GROUP_IF "org.devpass1.Group"
#define RULE_IF "org.devpass1.Rule"
#define DEVICE_IF "org.devpass1.Device"
#define STALE "org.devpass1.Error.Busy", "changed while authorization was asked"

/* A call of a race, with placeholders ($A, $B, $E, $RA, $VM1, and
 * devices as $D followed by bus, slot and function: $D3b020). */
typedef struct {
        const char *path, *iface, *method;
        const char *args; /* GVariant text, or NULL for none */
} RaceText;

typedef struct {
        const char *what;
        RaceText prep;          /* made before either (method NULL: none) */
        RaceText first, second;
        const char *error, *message; /* how the second is refused */
        /* The device whose driver the first changes, and to what: it
         * settles before the objects are compared. */
        const char *settle_address, *settle_driver;
} Race;

#define MAKE_5E_INTO_E \
        { ROOT, MANAGER_IF, "MakePassthrough", "([objectpath '$D5e000'], {'Group': <objectpath '$E'>})" }
#define RENAME_A { "$A", GROUP_IF, "Update", "({'Name': <'A2'>},)" }
#define RENAME_E { "$E", GROUP_IF, "Update", "({'Name': <'E2'>},)" }
#define RA_INTO_B { "$RA", RULE_IF, "Update", "({'Group': <objectpath '$B'>},)" }
#define VM1_INTO_A { ROOT, MANAGER_IF, "CreateAttachment", "('vm1', {'Group': <objectpath '$A'>})" }

static const Race races[] = {
        { "CreateGroup C while A was renamed C", {}, { "$A", GROUP_IF, "Update", "({'Name': <'C'>},)" },
          { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'C'>},)" }, "org.devpass1.Error.Busy",
          "A group named 'C' exists already" },
        { "Group.Update{Type} of E while it got a device", {}, MAKE_5E_INTO_E,
          { "$E", GROUP_IF, "Update", "({'Type': <'sriov-nic'>},)" }, "org.devpass1.Error.Busy",
          "Group E has devices: its type can only change while it has none",
          "0000:5e:00.0", "vfio-pci" },
        { "Group.Update of A while A was renamed", {}, RENAME_A,
          { "$A", GROUP_IF, "Update", "({'Description': <'mine'>},)" }, STALE },
        { "Group.Delete of E while E was renamed", {}, RENAME_E, { "$E", GROUP_IF, "Delete", "(@a{sv} {},)" },
          STALE },
        { "Group.Delete of E while it got a device", {}, MAKE_5E_INTO_E, { "$E", GROUP_IF, "Delete", "(@a{sv} {},)" },
          "org.devpass1.Error.Busy", "Group E still has 1 device passed through (0000:5e:00.0)", "0000:5e:00.0",
          "vfio-pci" },
        { "Group.Delete{Release} of A while its device was given back", {},
          { ROOT, MANAGER_IF, "RemovePassthrough", "([objectpath '$D3b020'],)" },
          { "$A", GROUP_IF, "Delete", "({'Release': <true>},)" }, STALE, "0000:3b:02.0", "iavf" },
        { "CreateRule in A while A was renamed", {}, RENAME_A,
          { ROOT, MANAGER_IF, "CreateRule",
            "(objectpath '$A', {'Name': <'r2'>, 'Conditions': <[('vendor', 'eq', 'abce')]>})" }, STALE },
        { "Rule.Update of ra while it moved from A to B", {}, RA_INTO_B,
          { "$RA", RULE_IF, "Update", "({'Name': <'rb'>},)" }, STALE },
        { "Rule.Delete of ra while it moved from A to B", {}, RA_INTO_B, { "$RA", RULE_IF, "Delete", NULL }, STALE },
        { "MakePassthrough into E while E was deleted", {}, { "$E", GROUP_IF, "Delete", "(@a{sv} {},)" },
          MAKE_5E_INTO_E, "org.devpass1.Error.NotFound", "No group at" },
        { "MakePassthrough into E while E was renamed", {}, RENAME_E, MAKE_5E_INTO_E, STALE },
        { "RemovePassthrough of A's device while A was renamed", {}, RENAME_A,
          { ROOT, MANAGER_IF, "RemovePassthrough", "([objectpath '$D3b020'],)" }, STALE },
        { "SetVirtualFunctions(3) of 3b:00.0 while its VF 3 was passed through", {},
          { ROOT, MANAGER_IF, "MakePassthrough", "([objectpath '$D3b023'], {'Group': <objectpath '$B'>})" },
          { "$D3b000", DEVICE_IF, "SetVirtualFunctions", "(uint32 3,)" }, "org.devpass1.Error.Busy",
          "VF 0000:3b:02.3 of 0000:3b:00.0 is passed through", "0000:3b:02.3", "vfio-pci" },
        { "Claim of vm1 while it got an attachment in A", {}, VM1_INTO_A,
          { ROOT, MANAGER_IF, "Claim", "('vm1', @a{sv} {})" }, STALE },
        { "Claim of vm1 while its attachment moved from B to A", {},
          { "$VM1", "org.devpass1.Attachment", "Update", "({'Group': <objectpath '$A'>},)" },
          { ROOT, MANAGER_IF, "Claim", "('vm1', @a{sv} {})" }, STALE },
        { "ClaimDevices of vm1 while it got an attachment in A", {}, VM1_INTO_A,
          { ROOT, MANAGER_IF, "ClaimDevices", "('vm1', ['0000:3b:02.1'], @a{sv} {})" }, STALE },
        { "ClaimDevices of 3b:02.1 for vm1 while vm2 claimed it",
          { ROOT, MANAGER_IF, "CreateAttachment", "('vm2', {'Group': <objectpath '$B'>})" },
          { ROOT, MANAGER_IF, "Claim", "('vm2', @a{sv} {})" },
          { ROOT, MANAGER_IF, "ClaimDevices", "('vm1', ['0000:3b:02.1'], @a{sv} {})" },
          "org.devpass1.Error.Busy", "Device 0000:3b:02.1 is held by machine 'vm2'" },
        { "Release of vm1 while it got an attachment in A", { ROOT, MANAGER_IF, "Claim", "('vm1', @a{sv} {})" },
          VM1_INTO_A, { ROOT, MANAGER_IF, "Release", "('vm1',)" }, STALE },
        { "PassToTenant of A while its unit was claimed",
          { ROOT, MANAGER_IF, "CreateAttachment", "('vm2', {'Group': <objectpath '$A'>})" },
          { ROOT, MANAGER_IF, "Claim", "('vm2', @a{sv} {})" },
          { ROOT, MANAGER_IF, "PassToTenant", "('acme', 'acme-node1', {'Group': <objectpath '$A'>})" },
          "org.devpass1.Error.Busy", "Tenant acme wants 1 device of group A, and 0 are free" },
        { "PassToTenant of A while A was renamed", {}, RENAME_A,
          { ROOT, MANAGER_IF, "PassToTenant", "('acme', 'acme-node1', {'Group': <objectpath '$A'>})" }, STALE },
};

/* The devices the calls name: $D and bus, slot, function. */
static const char *const race_devices[] = { "0000:3b:00.0", "0000:3b:02.0", "0000:3b:02.3", "0000:5e:00.0" };

typedef struct {
        Harness *h;
        FakeKernel *fk;
        /* $A, $B, $E, $RA, $VM1 and the devices, each with its value; NULL. */
        char *pairs[2 * 5 + 2 * G_N_ELEMENTS(race_devices) + 1];
} Fixture;

static void fixture_start(Fixture *f) {
        const char *const a_vfs[] = { "0000:3b:02.0", NULL };
        const char *const b_vfs[] = { "0000:3b:02.1", NULL };
        size_t k = 0;

        f->h = calls_gpu_server(NULL, &f->fk);
        char *a = calls_passthrough_group(f->h, a_vfs, "A", "sriov-nic", "nic");
        char *b = calls_passthrough_group(f->h, b_vfs, "B", "sriov-nic", "nic");
        char *e = calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateGroup", calls_parse(NULL, "({'Name': <'E'>},)"));
        char *ra = calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateRule",
                                 g_variant_new_parsed("(%o, {'Name': <'ra'>, 'Conditions': "
                                                      "<[('vendor', 'eq', 'abcd')]>})", a));
        char *vm1 = calls_attach(f->h, "vm1", b, 1);
        /* The values go to pairs, which owns them. No placeholder is
         * another's prefix: their order does not matter. */
        char *const named[] = { "$A", a, "$B", b, "$E", e, "$RA", ra, "$VM1", vm1 };
        for (size_t i = 0; i < G_N_ELEMENTS(named); i += 2) {
                f->pairs[k++] = g_strdup(named[i]);
                f->pairs[k++] = named[i + 1];
        }
        for (size_t i = 0; i < G_N_ELEMENTS(race_devices); i++) {
                unsigned bus, slot, fn;
                assert_int_equal(sscanf(race_devices[i], "0000:%2x:%2x.%1x", &bus, &slot, &fn), 3);
                f->pairs[k++] = g_strdup_printf("$D%02x%02x%x", bus, slot, fn);
                f->pairs[k++] = calls_path_of(race_devices[i]);
        }
        g_assert_cmpuint(k, ==, G_N_ELEMENTS(f->pairs) - 1);
        f->pairs[k] = NULL;
}

static void fixture_stop(Fixture *f) {
        calls_stop(f->h, f->fk);
        for (size_t i = 0; f->pairs[i]; i++)
                g_free(f->pairs[i]);
}

static CallsCall call_of(const Fixture *f, const RaceText *t, char **path) {
        g_autofree char *args = calls_substitute(t->args, (const char *const *) f->pairs);

        *path = calls_substitute(t->path, (const char *const *) f->pairs);
        return (CallsCall) { *path, t->iface, t->method, args ? calls_parse(NULL, args) : NULL };
}

static void call_ok(const Fixture *f, const RaceText *t) {
        g_autofree char *path = NULL;
        CallsCall c = call_of(f, t, &path);

        g_autoptr(GVariant) reply = calls_ok(f->h, c.path, c.iface, c.method, c.args);
}

/* The objects once the first call's driver change settled, with every
 * MAC as "MAC": two devpassd make different ones. */
static char *objects(const Fixture *f, const Race *r) {
        if (r->settle_address)
                calls_wait_driver(f->h, r->settle_address, r->settle_driver);
        g_autofree char *s = calls_snapshot(f->h);
        g_autoptr(GRegex) mac = g_regex_new("[0-9a-f]{2}(:[0-9a-f]{2}){5}", 0, 0, NULL);
        return g_regex_replace_literal(mac, s, -1, 0, "MAC", 0, NULL);
}

static void test_race(void **state) {
        const Race *r = *state;
        Fixture alone = { 0 }, raced = { 0 };
        guint pending = 0;
        CallsPending first = { .pending = &pending }, second = { .pending = &pending };

        /* What the first call alone leaves. */
        fixture_start(&alone);
        if (r->prep.method)
                call_ok(&alone, &r->prep);
        call_ok(&alone, &r->first);
        g_autofree char *want = objects(&alone, r);
        fixture_stop(&alone);

        fixture_start(&raced);
        if (r->prep.method)
                call_ok(&raced, &r->prep);
        g_autofree char *path1 = NULL, *path2 = NULL;
        const CallsCall c1 = call_of(&raced, &r->first, &path1), c2 = call_of(&raced, &r->second, &path2);
        calls_race(raced.h, &c1, &first, &c2, &second);
        if (first.error)
                fail_msg("%s: the first call failed: %s", r->what, first.error->message);
        if (!second.error)
                fail_msg("%s: the second call was applied", r->what);
        calls_assert_remote_error(second.error, r->error, r->message, NULL);
        g_autofree char *got = objects(&raced, r);
        calls_assert_unchanged(want, got, r->what);
        fixture_stop(&raced);
        calls_pending_clear(&first);
        calls_pending_clear(&second);
}

int main(void) {
        struct CMUnitTest tests[G_N_ELEMENTS(races)];

        for (size_t i = 0; i < G_N_ELEMENTS(races); i++)
                tests[i] = (struct CMUnitTest) { .name = races[i].what, .test_func = test_race,
                                                 .initial_state = (void *) &races[i] };
        return cmocka_run_group_tests_name("races", tests, NULL, NULL);
}
