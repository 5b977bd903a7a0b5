/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's pure parts about machines, attachments and tenants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "test-props.h"

#define ATTACHMENTS "/org/devpass1/attachments/"
#define DEVICES "/org/devpass1/devices/"

static CtlObject *attachment(CtlObjects *all, const char *id, const char *machine, const char *name) {
        g_autofree char *path = g_strconcat(ATTACHMENTS, id, NULL);
        CtlObject *o = object(all->attachments, path);
        add(o, val("Name", 's', name, 0));
        add(o, val("Machine", 's', machine, 0));
        return o;
}

static CtlObject *group(CtlObjects *all, const char *id, const char *name, const char *tenant, const char *node) {
        g_autofree char *path = g_strconcat("/org/devpass1/groups/", id, NULL);
        CtlObject *o = object(all->groups, path);
        add(o, val("Name", 's', name, 0));
        add(o, val("Tenant", 's', tenant, 0));
        add(o, val("TenantNode", 's', node, 0));
        return o;
}

static void test_name_valid(void **state) {
        const char *good[] = { "vm1", "a", "A.b_c-9", "-", "web-01.example.com", "..", };
        const char *bad[] = { "", "vm 1", "vm/1", "vm:1", "vm1\n", "gerät", "vm*", "'vm'", };

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
                if (!ctl_name_valid(good[i]))
                        fail_msg("'%s' refused", good[i]);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                if (ctl_name_valid(bad[i]))
                        fail_msg("'%s' taken", bad[i]);

        /* 64 at most. */
        char name[66];
        memset(name, 'x', 65);
        name[65] = '\0';
        assert_false(ctl_name_valid(name));
        name[64] = '\0';
        assert_true(ctl_name_valid(name));
}

static void test_sort_and_lookup(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        attachment(all, "4", "vm2", "gpu 1");
        attachment(all, "3", "vm1", "nic");
        attachment(all, "1", "vm1", "gpu 1");
        attachment(all, "2", "vm10", "a");
        ctl_objects_sort(all);

        /* By machine, then name. */
        const char *order[] = { "1", "3", "2", "4" };
        for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
                g_autofree char *path = g_strconcat(ATTACHMENTS, order[i], NULL);
                assert_string_equal(((CtlObject *) all->attachments->pdata[i])->path, path);
        }

        g_autoptr(GPtrArray) vm1 = ctl_machine_attachments(all->attachments, "vm1");
        assert_int_equal(vm1->len, 2);
        assert_string_equal(((CtlObject *) vm1->pdata[1])->path, ATTACHMENTS "3");
        g_autoptr(GPtrArray) none = ctl_machine_attachments(all->attachments, "vm");
        assert_int_equal(none->len, 0);

        guint count = 99;
        /* A name is the machine's own: vm2 has a "gpu 1" too. */
        const CtlObject *o = ctl_attachment_lookup(all->attachments, "vm2", "gpu 1", &count);
        assert_int_equal(count, 1);
        assert_string_equal(o->path, ATTACHMENTS "4");
        assert_null(ctl_attachment_lookup(all->attachments, "vm2", "nic", &count));
        assert_int_equal(count, 0);
        /* A path is found whoever's it is: the caller compares Machine. */
        o = ctl_attachment_lookup(all->attachments, "vm2", ATTACHMENTS "3", &count);
        assert_int_equal(count, 1);
        assert_string_equal(ctl_props_str(o->props, "Machine"), "vm1");
        assert_null(ctl_attachment_lookup(all->attachments, "vm1", ATTACHMENTS "9", &count));
        assert_int_equal(count, 0);
}

/* The table as attachments prints it: the rows, laid out. */
static void test_rows(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        group(all, "1", "PCI GPUs", "", "");
        group(all, "2", "X710 VFs", "", "");

        CtlObject *gpu = attachment(all, "1", "vm1", "gpu 1");
        add(gpu, val("Type", 's', "pci", 0));
        add(gpu, val("Group", 'o', "/org/devpass1/groups/1", 0));
        add(gpu, val("Count", 'u', NULL, 2));
        add(gpu, val("State", 's', "attached", 0));
        add(gpu, val_strv("Devices", DEVICES "0000_17_00_0 " DEVICES "0000_65_00_0"));
        add(gpu, val_strv("Macs", ""));
        add(gpu, val("Optional", 'b', NULL, 0));
        CtlObject *nic = attachment(all, "2", "vm1", "nic");
        add(nic, val("Type", 's', "sriov-nic", 0));
        add(nic, val("Group", 'o', "/org/devpass1/groups/2", 0));
        add(nic, val("Count", 'u', NULL, 1));
        add(nic, val("State", 's', "restart-required", 0));
        add(nic, val_strv("Devices", ""));
        add(nic, val_strv("Macs", "02:5e:00:00:00:01"));
        add(nic, val("Optional", 'b', NULL, 1));
        /* A group that is gone stands as its path; a bare object as dashes. */
        CtlObject *gone = attachment(all, "3", "vm2", "");
        add(gone, val("Group", 'o', "/org/devpass1/groups/9", 0));

        g_autoptr(CtlTable) t = ctl_attachments_table(all->attachments, all);
        CtlTextOptions o = {};
        g_autofree char *table = ctl_table_text(t, &o);
        assert_string_equal(table,
                "MACHINE  NAME   TYPE       GROUP                   COUNT  STATE             "
                "DEVICES                    MACS               OPTIONAL\n"
                "vm1      gpu 1  pci        PCI GPUs                2      attached          "
                "0000:17:00.0 0000:65:00.0  -                  no\n"
                "vm1      nic    sriov-nic  X710 VFs                1      restart-required  "
                "-                          02:5e:00:00:00:01  yes\n"
                "vm2      -      -          /org/devpass1/groups/9  -      -                 "
                "-                          -                  -\n");
        g_autofree char *json = ctl_table_row_json(t, 2);
        assert_string_equal(json, "{\"machine\": \"vm2\", \"name\": null, \"type\": null, "
                                  "\"group\": \"/org/devpass1/groups/9\", \"count\": null, \"state\": null, "
                                  "\"devices\": null, \"macs\": null, \"optional\": null, \"tenant\": null, "
                                  "\"machine_uuid\": null, \"description\": null, \"state_reason\": null, \"device_macs\": null, "
                                  "\"path\": \"/org/devpass1/attachments/3\"}");
}

static void test_reasons(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        CtlObject *ok = attachment(all, "1", "vm1", "gpu 1");
        add(ok, val("State", 's', "attached", 0));
        add(ok, val("StateReason", 's', "", 0));
        CtlObject *degraded = attachment(all, "2", "vm1", "nic");
        add(degraded, val("State", 's', "degraded", 0));
        add(degraded, val("StateReason", 's', "0000:3b:02.1 is gone", 0));
        CtlObject *error = attachment(all, "3", "vm2", "gpu 1");
        add(error, val("State", 's', "error", 0));
        add(error, val("StateReason", 's', "its group was deleted", 0));

        g_autofree char *text = ctl_attachment_reasons_text(all->attachments);
        assert_string_equal(text, "Degraded: attachment 'nic' of vm1: 0000:3b:02.1 is gone\n"
                                  "Error: attachment 'gpu 1' of vm2: its group was deleted\n");
        g_ptr_array_remove_range(all->attachments, 1, 2);
        g_autofree char *none = ctl_attachment_reasons_text(all->attachments);
        assert_string_equal(none, "");
}

static void test_tenants(void **state) {
        g_autoptr(CtlObjects) all = ctl_objects_new();
        group(all, "1", "PCI GPUs", "", "");
        CtlObject *b = group(all, "2", "acme PCI GPUs", "acme", "node-b");
        CtlObject *a = group(all, "3", "acme X710", "acme", "node-a");
        group(all, "4", "beta GPUs", "beta", "node-a");
        group(all, "5", "acme A100", "acme", "node-b");
        add(b, val("Type", 's', "pci", 0));
        add(b, val("Total", 'u', NULL, 2));
        add(b, val("Free", 'u', NULL, 1));
        add(b, val_strv("Devices", DEVICES "0000_17_00_0 " DEVICES "0000_65_00_0"));
        add(a, val_strv("Devices", ""));

        /* Host groups are left out; by tenant, its node, then name. */
        g_autoptr(GPtrArray) tenants = ctl_tenant_groups(all->groups, NULL);
        const char *order[] = { "3", "5", "2", "4" };
        assert_int_equal(tenants->len, G_N_ELEMENTS(order));
        for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
                g_autofree char *path = g_strconcat("/org/devpass1/groups/", order[i], NULL);
                assert_string_equal(((CtlObject *) tenants->pdata[i])->path, path);
        }

        g_autoptr(GPtrArray) rows = g_ptr_array_new();
        g_ptr_array_add(rows, b);
        g_ptr_array_add(rows, a);
        g_autoptr(CtlTable) t = ctl_tenants_table(rows);
        g_autofree char *text = table_text(t);
        assert_string_equal(text, "acme node-b acme\\x20PCI\\x20GPUs pci 2 1 0000:17:00.0\\x200000:65:00.0\n"
                                  "acme node-a acme\\x20X710 - - - -\n");
        /* One tenant's groups only. */
        g_autoptr(GPtrArray) beta = ctl_tenant_groups(all->groups, "beta");
        assert_int_equal(beta->len, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_name_valid),
                cmocka_unit_test(test_sort_and_lookup),
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_reasons),
                cmocka_unit_test(test_tenants),
        };
        return cmocka_run_group_tests_name("client-attachments", tests, NULL, NULL);
}
