/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tenants, end to end on the GPU server: 12 X710 VFs (the 4 of 3b:00.0 and
 * 8 made on 3b:00.1) passed through into the host group "VFs"; 4 passed
 * to tenant acme, 2 to globex. A host machine cannot get the tenants'
 * devices, acme's machine can on acme's node only; acme's group goes only
 * when no machine holds its devices, and gives them back. The example
 * polkit rule (polkit/50-devpass-tenant-admins.rules.example, its Unix
 * group made "games") lets user games attach from acme's group, and
 * nothing else. Real polkitd, a fake kernel; root may do everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "calls.h"

#define ROOT "/org/devpass1"
#define MANAGER_IF "org.devpass1.Manager"
#define DEVICE_IF "org.devpass1.Device"
#define GROUP_IF "org.devpass1.Group"
#define ATTACHMENT_IF "org.devpass1.Attachment"
#define INVALID "org.devpass1.Error.InvalidArgument"
#define BUSY "org.devpass1.Error.Busy"
#define WAIT_MS 10000

static const char *const vf_addresses[] = {
        "0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3",
        "0000:3b:0a.0", "0000:3b:0a.1", "0000:3b:0a.2", "0000:3b:0a.3",
        "0000:3b:0a.4", "0000:3b:0a.5", "0000:3b:0a.6", "0000:3b:0a.7", NULL,
};

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *vfs;      /* the host group "VFs", sriov-nic, all 12 */
} Fixture;

/* ---- calls and properties ---- */

/* A property of type ao, as addresses (devices) or paths, sorted, joined by ' '. */
static char *prop_paths(Fixture *f, const char *path, const char *iface, const char *name) {
        g_autoptr(GVariant) v = calls_prop(f->h, path, iface, name);
        g_autofree const char **paths = g_variant_get_objv(v, NULL);
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; paths[i]; i++)
                g_ptr_array_add(out, g_strdup(paths[i]));
        g_ptr_array_sort(out, calls_compare_strings);
        g_ptr_array_add(out, NULL);
        return g_strjoinv(" ", (char **) out->pdata);
}

static bool has_device(Harness *h, void *data) {
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) props = harness_device_props(objects, data);
        return props != NULL;
}

/* ---- set-up ---- */

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autofree char *rules = calls_tenant_admin_rules("games");

        f->h = calls_gpu_server(rules, &f->fk);

        /* 8 VFs on the second port, then all 12 into "VFs". */
        g_autofree char *pf1 = calls_path_of("0000:3b:00.1");
        g_autoptr(GVariant) set = calls_ok(f->h, pf1, DEVICE_IF, "SetVirtualFunctions", g_variant_new("(u)", 8));
        for (size_t i = 0; vf_addresses[i]; i++)
                if (!harness_wait(f->h, has_device, (void *) vf_addresses[i], WAIT_MS))
                        fail_msg("%s did not come", vf_addresses[i]);
        f->vfs = calls_passthrough_group(f->h, vf_addresses, "VFs", "sriov-nic", "nic");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        calls_stop(f->h, f->fk);
        g_free(f->vfs);
        g_free(f);
        return 0;
}

static char *pass(Fixture *f, const char *tenant, const char *node, guint32 count) {
        return calls_ok_path(f->h, ROOT, MANAGER_IF, "PassToTenant",
                             g_variant_new_parsed("(%s, %s, {'Group': <%o>, 'Count': <%u>})", tenant, node, f->vfs,
                                                  count));
}

static char *attach(Fixture *f, const char *machine, const char *group, const char *tenant, guint32 count) {
        return calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateAttachment",
                             g_variant_new_parsed("(%s, {'Group': <%o>, 'Tenant': <%s>, 'Count': <%u>})", machine,
                                                  group, tenant, count));
}

/* ---- the store: the MACs of a tenant's holds ---- */

static GPtrArray *held_macs(Fixture *f, const char *tenant) {
        g_autofree char *dir = harness_state_dir(f->h);
        g_autofree char *db_path = g_build_filename(dir, "devpass.db", NULL);
        GPtrArray *macs = g_ptr_array_new_with_free_func(g_free);
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT h.mac FROM tenant_holds h JOIN macs m ON m.mac = h.mac "
                                                "AND m.group_id = h.group_id WHERE h.tenant = ? ORDER BY h.address",
                                            -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW)
                g_ptr_array_add(macs, g_strdup((const char *) sqlite3_column_text(st, 0)));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return macs;
}

static void assert_mac_good(const char *mac, GHashTable *seen) {
        unsigned b[6];
        int end = 0;

        if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
            end != 17 || mac[17])
                fail_msg("'%s' is not a MAC", mac);
        if (b[0] & 1)
                fail_msg("%s is multicast", mac);
        if (!(b[0] & 2))
                fail_msg("%s is not locally administered", mac);
        if (!g_hash_table_add(seen, g_strdup(mac)))
                fail_msg("%s is given twice", mac);
}

/* ---- tests ---- */

static void test_pass_to_tenant(void **state) {
        Fixture *f = *state;

        g_autofree char *acme = pass(f, "acme", "acme-node1", 4);
        g_autofree char *name = calls_prop_string(f->h, acme, GROUP_IF, "Name");
        assert_string_equal(name, "acme VFs");
        g_autofree char *tenant = calls_prop_string(f->h, acme, GROUP_IF, "Tenant");
        assert_string_equal(tenant, "acme");
        g_autofree char *node = calls_prop_string(f->h, acme, GROUP_IF, "TenantNode");
        assert_string_equal(node, "acme-node1");
        g_autofree char *type = calls_prop_string(f->h, acme, GROUP_IF, "Type");
        assert_string_equal(type, "sriov-nic");
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Total"), 4);
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Free"), 4);
        g_autofree char *host_tenant = calls_prop_string(f->h, f->vfs, GROUP_IF, "Tenant");
        assert_string_equal(host_tenant, "");
        assert_int_equal(calls_prop_uint(f->h, f->vfs, GROUP_IF, "Free"), 8);

        /* Its devices are VFs of the host group, held by acme. */
        g_autoptr(GVariant) devices = calls_prop(f->h, acme, GROUP_IF, "Devices");
        g_autofree const char **paths = g_variant_get_objv(devices, NULL);
        assert_int_equal(g_strv_length((char **) paths), 4);
        g_autoptr(GHashTable) acme_paths = g_hash_table_new(g_str_hash, g_str_equal);
        for (size_t i = 0; vf_addresses[i]; i++) {
                g_autofree char *p = calls_path_of(vf_addresses[i]);
                bool held = g_strv_contains(paths, p);
                calls_assert_device_state(f->h, vf_addresses[i], held ? "tenant acme" : "passthrough ");
                if (held)
                        g_hash_table_add(acme_paths, (gpointer) g_intern_string(p));
        }
        assert_int_equal(g_hash_table_size(acme_paths), 4);

        /* A second tenant: its own group, other devices. */
        g_autofree char *globex = pass(f, "globex", "globex-node1", 2);
        assert_string_not_equal(globex, acme);
        g_autofree char *gname = calls_prop_string(f->h, globex, GROUP_IF, "Name");
        assert_string_equal(gname, "globex VFs");
        g_autofree char *gtenant = calls_prop_string(f->h, globex, GROUP_IF, "Tenant");
        assert_string_equal(gtenant, "globex");
        assert_int_equal(calls_prop_uint(f->h, globex, GROUP_IF, "Free"), 2);
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Free"), 4);
        assert_int_equal(calls_prop_uint(f->h, f->vfs, GROUP_IF, "Free"), 6);
        g_autoptr(GVariant) gdevices = calls_prop(f->h, globex, GROUP_IF, "Devices");
        g_autofree const char **gpaths = g_variant_get_objv(gdevices, NULL);
        assert_int_equal(g_strv_length((char **) gpaths), 2);
        for (size_t i = 0; gpaths[i]; i++) {
                assert_false(g_hash_table_contains(acme_paths, gpaths[i]));
                g_autofree char *holder = calls_prop_string(f->h, gpaths[i], DEVICE_IF, "Holder");
                assert_string_equal(holder, "globex");
        }

        /* One MAC per held VF: unicast, locally administered, none twice. */
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) acme_macs = held_macs(f, "acme");
        g_autoptr(GPtrArray) globex_macs = held_macs(f, "globex");
        assert_int_equal(acme_macs->len, 4);
        assert_int_equal(globex_macs->len, 2);
        for (guint i = 0; i < acme_macs->len; i++)
                assert_mac_good(acme_macs->pdata[i], seen);
        for (guint i = 0; i < globex_macs->len; i++)
                assert_mac_good(globex_macs->pdata[i], seen);

        /* All of it survives a restart. */
        g_autofree char *before = calls_snapshot(f->h);
        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);
        g_autofree char *after = calls_snapshot(f->h);
        assert_string_equal(before, after);
}

/* Every MAC devpassd gave out (a host attachment's, its claim's, a
 * tenant hold's, a tenant machine's claim's) is the same after a restart,
 * and none is given again: asking for one by name is refused, naming its
 * holder, as it was before the restart. */
static void test_macs_restart(void **state) {
        Fixture *f = *state;
        g_autofree char *host = attach(f, "host-vm", f->vfs, "", 2);
        g_autofree char *acme = pass(f, "acme", "acme-node1", 2);
        g_autofree char *acme_nic = attach(f, "acme-vm", acme, "acme", 1);
        g_autoptr(GVariant) host_claim = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                                  calls_parse(NULL, "('host-vm', @a{sv} {})"));
        g_autoptr(GVariant) acme_claim = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                                  calls_parse(NULL, "('acme-vm', {'TenantNode': <'acme-node1'>})"));
        const struct {
                const char **path;
                const char *name;
        } props[] = { { (const char **) &host, "Macs" }, { (const char **) &host, "DeviceMacs" },
                      { (const char **) &acme_nic, "DeviceMacs" } };
        g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        for (size_t i = 0; i < G_N_ELEMENTS(props); i++) {
                g_autoptr(GVariant) v = calls_prop(f->h, *props[i].path, ATTACHMENT_IF, props[i].name);
                g_ptr_array_add(before, g_variant_print(v, FALSE));
                if (!strchr(before->pdata[i], ':'))
                        fail_msg("%s of %s holds no MAC: %s", props[i].name, *props[i].path, (char *) before->pdata[i]);
        }
        g_autoptr(GPtrArray) held = held_macs(f, "acme");
        assert_int_equal(held->len, 2);
        /* acme's machine got the MAC of the hold it claimed. */
        g_autoptr(GVariant) acme_macs = calls_prop(f->h, acme_nic, ATTACHMENT_IF, "DeviceMacs");
        g_autofree char *acme_mac = NULL;
        g_variant_get_child(acme_macs, 0, "s", &acme_mac);
        assert_true(g_ptr_array_find_with_equal_func(held, acme_mac, g_str_equal, NULL));
        /* The host machine's two, and acme's two holds: four MACs. */
        g_autoptr(GVariant) host_macs = calls_prop(f->h, host, ATTACHMENT_IF, "Macs");
        assert_int_equal(g_variant_n_children(host_macs), 2);
        for (gsize i = 0; i < 2; i++) {
                g_autofree char *mac = NULL;
                g_variant_get_child(host_macs, i, "s", &mac);
                assert_mac_good(mac, seen);
                assert_mac_good(held->pdata[i], seen);
        }

        harness_daemon_stop(f->h);
        harness_daemon_start(f->h, NULL);

        for (size_t i = 0; i < G_N_ELEMENTS(props); i++) {
                g_autoptr(GVariant) v = calls_prop(f->h, *props[i].path, ATTACHMENT_IF, props[i].name);
                g_autofree char *after = g_variant_print(v, FALSE);
                if (!g_str_equal(before->pdata[i], after))
                        fail_msg("%s of %s was %s, after the restart %s", props[i].name, *props[i].path,
                                 (char *) before->pdata[i], after);
        }
        g_autoptr(GPtrArray) held_after = held_macs(f, "acme");
        assert_int_equal(held_after->len, 2);
        for (guint i = 0; i < 2; i++)
                assert_string_equal(held_after->pdata[i], held->pdata[i]);
        /* A claim made again hands out the same MACs. */
        g_autoptr(GVariant) host_again = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                                  calls_parse(NULL, "('host-vm', @a{sv} {})"));
        g_autofree char *host_text = g_variant_print(host_claim, FALSE), *again_text = g_variant_print(host_again,
                                                                                                      FALSE);
        assert_string_equal(again_text, host_text);

        /* None is given again, by name. */
        for (gsize i = 0; i < 2; i++) {
                const char *mac = held->pdata[i];
                g_autofree char *host_mac = NULL;
                g_variant_get_child(host_macs, i, "s", &host_mac);
                calls_refused(f->h, "an attachment with host-vm's MAC", ROOT, MANAGER_IF, "CreateAttachment",
                              g_variant_new_parsed("('other-vm', {'Group': <%o>, 'Mac': <%s>})", f->vfs, host_mac),
                              BUSY, "of machine host-vm");
                calls_refused(f->h, "a tenant pass with acme's MAC", ROOT, MANAGER_IF, "PassToTenant",
                              g_variant_new_parsed("('globex', 'globex-node1', {'Group': <%o>, 'Mac': <%s>})",
                                                   f->vfs, mac),
                              BUSY, "tenant acme");
        }
}

static void test_host_machine(void **state) {
        Fixture *f = *state;
        g_autofree char *acme = pass(f, "acme", "acme-node1", 4);
        g_autofree char *acme_devices = prop_paths(f, acme, GROUP_IF, "Devices");

        /* The host's machine cannot draw from acme's group, nor acme's from the host's. */
        calls_refused(f->h, "host machine on acme's group", ROOT, MANAGER_IF, "CreateAttachment",
                      g_variant_new_parsed("('host-vm', {'Group': <%o>})", acme), INVALID,
                      "Group acme VFs is tenant acme's: a machine of the host cannot draw from it");
        calls_refused(f->h, "acme machine on the host group", ROOT, MANAGER_IF, "CreateAttachment",
                      g_variant_new_parsed("('acme-vm1', {'Group': <%o>, 'Tenant': <'acme'>})", f->vfs), INVALID,
                      "Group VFs is the host's: a machine of tenant acme cannot draw from it");

        /* From "VFs" it cannot get acme's devices: 9 wanted, 8 free. */
        g_autofree char *a = attach(f, "host-vm", f->vfs, "", 9);
        calls_refused(f->h, "Claim of 9", ROOT, MANAGER_IF, "Claim", g_variant_new_parsed("('host-vm', @a{sv} {})"),
                      BUSY, "attachment VFs 1 of machine host-vm wants 9 devices of group VFs, and 8 are free");
        g_autoptr(GVariant) upd = calls_ok(f->h, a, ATTACHMENT_IF, "Update",
                                           g_variant_new_parsed("({'Count': <uint32 8>},)"));
        g_autoptr(GVariant) r = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                         g_variant_new_parsed("('host-vm', @a{sv} {})"));
        guint n;
        g_autofree char *got = calls_claimed(r, &n);
        assert_int_equal(n, 1);
        for (size_t i = 0; vf_addresses[i]; i++) {
                g_autofree char *p = calls_path_of(vf_addresses[i]);
                bool acmes = strstr(acme_devices, p) != NULL;
                calls_assert_device_state(f->h, vf_addresses[i], acmes ? "tenant acme" : "claimed host-vm");
                assert_true((strstr(got, vf_addresses[i]) != NULL) == !acmes);
        }
        assert_int_equal(calls_prop_uint(f->h, f->vfs, GROUP_IF, "Free"), 0);
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Free"), 4);
        g_autofree char *st = calls_prop_string(f->h, a, ATTACHMENT_IF, "State");
        assert_string_equal(st, "attached");
}

static void test_tenant_machine(void **state) {
        Fixture *f = *state;
        g_autofree char *acme = pass(f, "acme", "acme-node1", 4);
        g_autofree char *acme_devices = prop_paths(f, acme, GROUP_IF, "Devices");
        g_autofree char *a = attach(f, "acme-vm1", acme, "acme", 2);
        g_autofree char *tenant = calls_prop_string(f->h, a, ATTACHMENT_IF, "Tenant");
        assert_string_equal(tenant, "acme");
        g_autofree char *st = calls_prop_string(f->h, a, ATTACHMENT_IF, "State");
        assert_string_equal(st, "restart-required");

        /* Only on acme's node. */
        calls_refused(f->h, "Claim on other-node", ROOT, MANAGER_IF, "Claim",
                      g_variant_new_parsed("('acme-vm1', {'TenantNode': <'other-node'>})"), BUSY,
                      "group acme VFs holds devices for tenant node acme-node1, and the machine runs on other-node");
        calls_refused(f->h, "Claim on no tenant node", ROOT, MANAGER_IF, "Claim",
                      g_variant_new_parsed("('acme-vm1', @a{sv} {})"), BUSY, "the machine runs on no tenant node");
        g_autoptr(GVariant) r = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                         g_variant_new_parsed("('acme-vm1', {'TenantNode': <'acme-node1'>})"));
        guint n;
        g_autofree char *got = calls_claimed(r, &n);
        assert_int_equal(n, 1);
        g_auto(GStrv) addresses = g_strsplit(got, " ", -1);
        assert_int_equal(g_strv_length(addresses), 2);
        for (size_t i = 0; addresses[i]; i++) {
                g_autofree char *p = calls_path_of(addresses[i]);
                assert_non_null(strstr(acme_devices, p));
                calls_assert_device_state(f->h, addresses[i], "claimed acme-vm1");
        }
        /* Each VF comes with the MAC the tenant was given it with. */
        g_autoptr(GPtrArray) passed_macs = held_macs(f, "acme");
        g_autoptr(GVariant) entries = g_variant_get_child_value(r, 0);
        g_autoptr(GVariant) first = g_variant_get_child_value(entries, 0);
        g_autoptr(GVariant) first_devices = g_variant_get_child_value(first, 2);
        for (gsize i = 0; i < g_variant_n_children(first_devices); i++) {
                const char *mac;
                g_variant_get_child(first_devices, i, "(&si&s&s)", NULL, NULL, NULL, &mac);
                assert_true(g_ptr_array_find_with_equal_func(passed_macs, mac, g_str_equal, NULL));
        }
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Free"), 2);
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Total"), 4);
        assert_int_equal(calls_prop_uint(f->h, f->vfs, GROUP_IF, "Free"), 8);
        g_autofree char *attached = calls_prop_string(f->h, a, ATTACHMENT_IF, "State");
        assert_string_equal(attached, "attached");
        g_autofree char *held = prop_paths(f, a, ATTACHMENT_IF, "Devices");
        g_autofree char *p0 = calls_path_of(addresses[0]), *p1 = calls_path_of(addresses[1]);
        g_autofree char *want = g_strcmp0(p0, p1) < 0 ? g_strdup_printf("%s %s", p0, p1)
                                                      : g_strdup_printf("%s %s", p1, p0);
        assert_string_equal(held, want);

        /* acme's group stays while a machine draws from it or holds its devices. */
        calls_refused(f->h, "Delete with an attachment", acme, GROUP_IF, "Delete", g_variant_new_parsed("(@a{sv} {},)"),
                      BUSY, "Attachment acme VFs 1 of machine acme-vm1 draws from group acme VFs");
        g_autoptr(GVariant) del = calls_ok(f->h, a, ATTACHMENT_IF, "Delete", NULL);
        calls_assert_device_state(f->h, addresses[0], "claimed acme-vm1");
        calls_refused(f->h, "Delete while held", acme, GROUP_IF, "Delete", g_variant_new_parsed("(@a{sv} {},)"), BUSY,
                      "Machine acme-vm1 of tenant acme holds");
        g_autoptr(GVariant) rel = calls_ok(f->h, ROOT, MANAGER_IF, "Release", g_variant_new("(s)", "acme-vm1"));
        calls_assert_device_state(f->h, addresses[0], "tenant acme");
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Free"), 4);

        /* Released: it goes, and the devices are the host group's again. */
        g_autoptr(GVariant) gone = calls_ok(f->h, acme, GROUP_IF, "Delete", g_variant_new_parsed("(@a{sv} {},)"));
        g_autofree char *text = calls_snapshot(f->h);
        assert_null(strstr(text, acme));
        for (size_t i = 0; vf_addresses[i]; i++)
                calls_assert_device_state(f->h, vf_addresses[i], "passthrough ");
        assert_int_equal(calls_prop_uint(f->h, f->vfs, GROUP_IF, "Free"), 12);
        g_autoptr(GPtrArray) macs = held_macs(f, "acme");
        assert_int_equal(macs->len, 0);
}

/* ---- the example rule: user games, in Unix group games ---- */

typedef struct {
        const char *what, *path, *method;
        const char *args[CALLS_AS_ARGS];    /* $ACME, $GLOBEX, $VFS: the groups' paths */
        const char *action;     /* refused for it; NULL: allowed */
        const char *witness;    /* allowed: "+text", text appears in the objects */
} GamesCall;

static const GamesCall games_calls[] = {
        { "CreateAttachment on acme's group", ROOT, MANAGER_IF ".CreateAttachment",
          { "'acme-vm2'", "{'Group': <objectpath '$ACME'>, 'Tenant': <'acme'>, 'Name': <'games-nic'>}" }, NULL,
          "+'games-nic'" },
        { "CreateAttachment on the host group", ROOT, MANAGER_IF ".CreateAttachment",
          { "'host-vm2'", "{'Group': <objectpath '$VFS'>, 'Tenant': <''>}" }, "org.devpass1.manage-attachments" },
        { "CreateAttachment on the host group, no Tenant", ROOT, MANAGER_IF ".CreateAttachment",
          { "'host-vm2'", "{'Group': <objectpath '$VFS'>}" }, "org.devpass1.manage-attachments" },
        { "CreateAttachment on globex's group", ROOT, MANAGER_IF ".CreateAttachment",
          { "'globex-vm1'", "{'Group': <objectpath '$GLOBEX'>, 'Tenant': <'globex'>}" },
          "org.devpass1.manage-attachments" },
        /* (Two tenants in one call are refused before polkit: test-scope.) */
        { "Claim", ROOT, MANAGER_IF ".Claim", { "'acme-vm2'", "{'TenantNode': <'acme-node1'>}" },
          "org.devpass1.claim" },
        { "Release", ROOT, MANAGER_IF ".Release", { "'acme-vm2'" }, "org.devpass1.claim" },
        { "PassToTenant", ROOT, MANAGER_IF ".PassToTenant",
          { "'acme'", "'acme-node2'", "{'Group': <objectpath '$VFS'>, 'Name': <'more'>}" },
          "org.devpass1.manage-tenants" },
        { "MakePassthrough", ROOT, MANAGER_IF ".MakePassthrough",
          { "[objectpath '" ROOT "/devices/0000_17_00_0', '" ROOT "/devices/0000_17_00_1']", "{'Name': <'GPUs'>}" },
          "org.devpass1.make-passthrough" },
        { "CreateGroup", ROOT, MANAGER_IF ".CreateGroup", { "{'Name': <'games group'>}" },
          "org.devpass1.manage-groups" },
        /* A change the model allows: polkit is what refuses it. */
        { "Group.Update of acme's", "$ACME", GROUP_IF ".Update", { "{'Description': <'mine now'>}" },
          "org.devpass1.manage-groups" },
};

static void test_tenant_admin(void **state) {
        Fixture *f = *state;
        g_autofree char *acme = pass(f, "acme", "acme-node1", 4);
        g_autofree char *globex = pass(f, "globex", "globex-node1", 2);

        const char *const pairs[] = { "$ACME", acme, "$GLOBEX", globex, "$VFS", f->vfs, NULL };

        for (size_t i = 0; i < G_N_ELEMENTS(games_calls); i++) {
                const GamesCall *c = &games_calls[i];
                g_autofree char *before = calls_snapshot(f->h);
                g_autofree char *err = NULL;
                int status = calls_as(f->h, "games", c->path, c->method, c->args, pairs, &err);
                g_autofree char *after = calls_snapshot(f->h);

                if (!c->action) {
                        calls_assert_allowed(c->what, "games", status, err, c->witness, before, after);
                        continue;
                }
                calls_assert_not_authorized(c->what, "games", status, err, c->action, NULL);
                g_autofree char *refused = g_strdup_printf("%s as games (refused)", c->what);
                calls_assert_unchanged(before, after, refused);
        }

        /* games's attachment is acme's, on acme's group; root claims for it. */
        g_autoptr(GVariant) r = calls_ok(f->h, ROOT, MANAGER_IF, "Claim",
                                         g_variant_new_parsed("('acme-vm2', {'TenantNode': <'acme-node1'>})"));
        guint n;
        g_autofree char *got = calls_claimed(r, &n);
        assert_int_equal(n, 1);
        assert_int_equal(calls_prop_uint(f->h, acme, GROUP_IF, "Free"), 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pass_to_tenant, setup, teardown),
                cmocka_unit_test_setup_teardown(test_macs_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_host_machine, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tenant_machine, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tenant_admin, setup, teardown),
        };
        return cmocka_run_group_tests_name("tenants", tests, NULL, NULL);
}
