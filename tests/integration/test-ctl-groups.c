/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The administrator's path of the reference, entirely with devpassctl
 * against the real daemon on the GPU server: check, passthrough, the
 * group and its rules, the devices' view, status with and without a
 * pending reboot, release, rules and groups edited, SR-IOV, deleting a
 * busy group, and the exit codes of names, addresses and polkit. Real
 * polkitd (root holds every action), a fake kernel answering the binder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "ctl-helpers.h"

typedef CtlFixture Fixture;

#define GROUPS_HEADER "NAME      TYPE  CLASS  TOTAL  FREE  RULES  DESCRIPTION\n"
#define RULES_17 \
        "NAME                    GROUP     NODE      ENABLED  DEVICES  CONFLICTS  CONDITIONS\n" \
        "0000:17:00.0 10de:2230  PCI GPUs  testnode  yes      1        -          " \
        "vendor eq 10de, device eq 2230, address eq 0000:17:00.0\n" \
        "0000:17:00.1 10de:1aef  PCI GPUs  testnode  yes      1        -          " \
        "vendor eq 10de, device eq 1aef, address eq 0000:17:00.1\n"
#define NOT_AUTHORIZED "devpassctl: Not authorized for org.devpass1."

static char *status_text(const char *devices, const char *groups, const char *reboot) {
        return g_strdup_printf("        Version: %s\n"
                               "           Node: testnode\n"
                               "          IOMMU: enabled\n"
                               "        Devices: %s\n"
                               "         Groups: %s\n"
                               "Reboot required: %s\n",
                               harness_path("DEVPASS_VERSION"), devices, groups, reboot);
}

/* check, passthrough, the group, its rules, the devices, status, release. */
static void test_admin_path(void **state) {
        Fixture *f = *state;

        /* The audio function shares the IOMMU group: exit 6, naming it. */
        g_autofree char *out = NULL, *err = NULL;
        assert_int_equal(harness_ctl(f->h, &out, &err, ARGS("check", "17:00.0")), 6);
        assert_string_equal(out, "ADDRESS       KIND         MESSAGE\n"
                                 "0000:17:00.0  iommu-group  0000:17:00.0 shares IOMMU group 8 with 0000:17:00.1 "
                                 "(snd_hda_intel), which stays with the host: pass them through together\n");
        assert_string_equal(err, "");
        g_autofree char *safe = ctl_ok(f, ARGS("check", "0000:17:00.0", "0000:17:00.1"));
        assert_string_equal(safe, "Safe: passing 0000:17:00.0 0000:17:00.1 through takes nothing from the host\n");

        g_autofree char *made = ctl_ok(f, ARGS("passthrough", "0000:17:00.0", "0000:17:00.1", "--new-group",
                                               "PCI GPUs", "--type", "pci", "--class", "gpu"));
        g_autofree char *group = created_path(made, "PCI GPUs", "groups");
        wait_device(f, "0000:17:00.0", "Driver: vfio-pci");
        wait_device(f, "0000:17:00.1", "Driver: vfio-pci");

        g_autofree char *groups = ctl_ok(f, ARGS("groups"));
        assert_string_equal(groups, GROUPS_HEADER "PCI GPUs  pci   gpu    1      1     2      -\n");

        g_autofree char *json = ctl_ok(f, ARGS("groups", "--json"));
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) error = NULL;
        if (!json_parser_load_from_data(parser, json, -1, &error))
                fail_msg("not JSON: %s\n%s", error->message, json);
        JsonObject *root = json_node_get_object(json_parser_get_root(parser));
        assert_non_null(root);
        assert_int_equal(json_object_get_size(root), 1);
        JsonArray *a = json_object_get_array_member(root, "groups");
        assert_non_null(a);
        assert_int_equal(json_array_get_length(a), 1);
        JsonObject *o = json_array_get_object_element(a, 0);
        /* Lower-case keys, null for none, devices by address. */
        assert_string_equal(json_object_get_string_member(o, "name"), "PCI GPUs");
        assert_string_equal(json_object_get_string_member(o, "type"), "pci");
        assert_string_equal(json_object_get_string_member(o, "class"), "gpu");
        assert_true(json_object_get_null_member(o, "description"));
        assert_int_equal(json_object_get_int_member(o, "total"), 1);
        assert_int_equal(json_object_get_int_member(o, "free"), 1);
        assert_int_equal(json_array_get_length(json_object_get_array_member(o, "rules")), 2);
        JsonArray *devices = json_object_get_array_member(o, "devices");
        assert_int_equal(json_array_get_length(devices), 2);
        assert_string_equal(json_array_get_string_element(devices, 0), "0000:17:00.0");
        assert_string_equal(json_array_get_string_element(devices, 1), "0000:17:00.1");
        assert_string_equal(json_object_get_string_member(o, "path"), group);

        /* Rules by name, devices by address. */
        g_autofree char *details = ctl_ok(f, ARGS("group", "PCI GPUs"));
        g_autofree char *want = g_strdup_printf("       Path: %s\n"
                                                "       Name: PCI GPUs\n"
                                                "       Type: pci\n"
                                                "Description: -\n"
                                                "      Class: gpu\n"
                                                "     Tenant: -\n"
                                                " TenantNode: -\n"
                                                "      Rules: 0000:17:00.0 10de:2230, 0000:17:00.1 10de:1aef\n"
                                                "    Devices: 0000:17:00.0 0000:17:00.1\n"
                                                "      Total: 1\n"
                                                "       Free: 1\n"
                                                "      Nodes: testnode: 1 of 1 free\n", group);
        assert_string_equal(details, want);
        g_autofree char *by_path = ctl_ok(f, ARGS("group", group));
        assert_string_equal(by_path, want);

        g_autofree char *rules = ctl_ok(f, ARGS("rules"));
        assert_string_equal(rules, RULES_17);
        g_autofree char *rules_of = ctl_ok(f, ARGS("rules", "PCI GPUs"));
        assert_string_equal(rules_of, RULES_17);

        g_autofree char *device = ctl_ok(f, ARGS("device", "0000:17:00.0"));
        assert_line(device, "State: passthrough");
        assert_line(device, "Group: PCI GPUs");
        assert_line(device, "Rule: 0000:17:00.0 10de:2230");
        assert_line(device, "Blockers: -");

        /* devices: the group's name in GROUP, "-" for the rest. */
        g_autofree char *table = ctl_ok(f, ARGS("devices"));
        g_autofree char *header = g_strndup(table, strcspn(table, "\n"));
        assert_true(g_str_has_prefix(header, "ADDRESS "));
        assert_true(g_str_has_suffix(header, "  STATE        GROUP"));
        const char *const rows[][3] = {
                { "0000:17:00.0", "PCI GPUs", "passthrough" }, { "0000:17:00.1", "PCI GPUs", "passthrough" },
                { "0000:b1:00.0", "-", "host" }, { "0000:3b:02.0", "-", "host" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
                g_autofree char *g = devices_cell(table, rows[i][0], "GROUP");
                g_autofree char *st = devices_cell(table, rows[i][0], "STATE");
                assert_string_equal(g, rows[i][1]);
                assert_string_equal(st, rows[i][2]);
        }

        g_autofree char *status = ctl_ok(f, ARGS("status"));
        g_autofree char *status_want = status_text("22 (20 host, 2 passthrough)", "1 (2 rules)", "no");
        assert_string_equal(status, status_want);

        /* Back to the host drivers; the rules (and so the group) stay. */
        ctl_says(f, "Given back to the host: 0000:17:00.0 0000:17:00.1", ARGS("give-back", "0000:17:00.0", "17:00.1"));
        wait_device(f, "0000:17:00.0", "Driver: nvidia");
        wait_device(f, "0000:17:00.1", "Driver: snd_hda_intel");
        g_autofree char *host = ctl_ok(f, ARGS("device", "17:00.0"));
        assert_line(host, "State: host");
        assert_line(host, "Group: PCI GPUs");
        g_autofree char *after = ctl_ok(f, ARGS("groups"));
        assert_string_equal(after, GROUPS_HEADER "PCI GPUs  pci   gpu    1      0     2      -\n");
        g_autofree char *status_host = ctl_ok(f, ARGS("status"));
        g_autofree char *host_want = status_text("22 (22 host)", "1 (2 rules)", "no");
        assert_string_equal(status_host, host_want);
}

/* A driver that will not let go: the reboot line, and status says so. */
static void test_reboot_required(void **state) {
        Fixture *f = *state;

        fakekernel_refuse_unbind(f->fk, "nvidia");
        g_autofree char *out = ctl_ok(f, ARGS("passthrough", "0000:b1:00.0", "0000:b1:00.1", "--new-group",
                                              "Node 1 GPUs", "--class", "gpu"));
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        assert_int_equal(g_strv_length(lines), 3);
        assert_string_equal(lines[2], "");
        g_autofree char *first = g_strconcat(lines[0], "\n", NULL);
        g_autofree char *group = created_path(first, "Node 1 GPUs", "groups");
        /* Only 0000:b1:00.0 waits (its audio function went to vfio-pci),
         * and the reason names the driver. */
        const char *reboot = lines[1];
        assert_true(g_str_has_prefix(reboot, "Reboot required: reboot node testnode to finish 0000:b1:00.0 ("));
        assert_non_null(strstr(reboot, "its driver nvidia did not let go; it comes up on vfio-pci after a reboot)"));
        assert_null(strstr(reboot, "0000:b1:00.1"));
        assert_true(g_str_has_suffix(reboot, ")"));
        wait_device(f, "0000:b1:00.1", "Driver: vfio-pci");

        g_autofree char *device = ctl_ok(f, ARGS("device", "b1:00.0"));
        assert_line(device, "Driver: nvidia");
        assert_line(device, "State: passthrough");
        assert_line(device, "Group: Node 1 GPUs");

        g_autofree char *status = ctl_ok(f, ARGS("status"));
        g_autofree char *head = status_text("22 (20 host, 2 passthrough)", "1 (2 rules)", "yes (1 device)");
        assert_true(g_str_has_prefix(status, head));
        const char *rest = status + strlen(head);
        assert_true(g_str_has_prefix(rest, "                 0000:b1:00.0: "));
        assert_non_null(strstr(rest, "nvidia did not let go"));
        assert_true(g_str_has_suffix(rest, "after a reboot\n"));
        assert_ptr_equal(strchr(rest, '\n'), rest + strlen(rest) - 1);

        /* Released while the override waits: nothing waits any more. */
        /* The old name of give-back still works. */
        ctl_says(f, "Given back to the host: 0000:b1:00.0 0000:b1:00.1", ARGS("release", "b1:00.0", "b1:00.1"));
        g_autofree char *status_after = ctl_ok(f, ARGS("status"));
        g_autofree char *after_want = status_text("22 (22 host)", "1 (2 rules)", "no");
        assert_string_equal(status_after, after_want);
}

/* create/update/delete of groups and rules, --match both ways, conflicts.
 * Names sort alike in every locale (devpassctl collates them). */
static void test_rules_edit(void **state) {
        Fixture *f = *state;

        g_autofree char *nics_out = ctl_ok(f, ARGS("create-group", "nics", "--type", "sriov-nic", "--class", "nic",
                                                   "--description", "X710 VFs"));
        g_autofree char *nics = created_path(nics_out, "nics", "groups");
        g_autofree char *gpus_out = ctl_ok(f, ARGS("create-group", "GPUs"));
        g_autofree char *gpus = created_path(gpus_out, "GPUs", "groups");
        g_autofree char *dup = g_strdup_printf("devpassctl: A group named 'GPUs' exists already (%s): "
                                               "choose another name\n", gpus);
        ctl_fails(f, 1, dup, ARGS("create-group", "GPUs"));
        ctl_fails(f, 2, "devpassctl: 'bogus' is not a group type: use one of pci, sriov-nic\n",
                  ARGS("create-group", "Other", "--type", "bogus"));

        /* Three words, and one word whose VALUE is all after OP. */
        g_autofree char *vfs_out = ctl_ok(f, ARGS("create-rule", "nics", "--match", "vendor", "eq", "8086", "--match",
                                                  "device-name contains Virtual Function", "--name", "vfs"));
        g_autofree char *vfs = created_path(vfs_out, "vfs", "rules");
        g_autofree char *gen_out = ctl_ok(f, ARGS("create-rule", "nics", "--match", "address eq 0000:3b:02.*"));
        g_autofree char *gen = created_path(gen_out, "nics rule", "rules");
        g_autofree char *vga_out = ctl_ok(f, ARGS("create-rule", gpus, "--match", "vendor", "eq", "10de", "--match",
                                                  "class", "eq", "03", "--name", "nvidia-vga"));
        g_autofree char *vga = created_path(vga_out, "nvidia-vga", "rules");
        /* The short address lspci prints without -D names the same function. */
        g_autofree char *grab_out = ctl_ok(f, ARGS("create-rule", "nics", "--match", "address eq b1:00.0",
                                                   "--name", "grab", "--node", "testnode"));
        g_autofree char *grab = created_path(grab_out, "grab", "rules");

        g_autofree char *of_nics = ctl_ok(f, ARGS("rules", "nics"));
        assert_string_equal(of_nics,
                "NAME       GROUP  NODE      ENABLED  DEVICES  CONFLICTS  CONDITIONS\n"
                "grab       nics   testnode  yes      1        1          address eq b1:00.0\n"
                "nics rule  nics   *         yes      4        -          address eq '0000:3b:02.*'\n"
                "vfs        nics   *         yes      4        -          vendor eq 8086, device-name contains "
                "'Virtual Function'\n"
                "\n"
                "Conflict: rule 'grab' of group 'nics' and rule 'nvidia-vga' of group 'GPUs' both match "
                "0000:b1:00.0, which is in neither group\n");
        g_autofree char *all = ctl_ok(f, ARGS("rules"));
        assert_string_equal(all,
                "NAME        GROUP  NODE      ENABLED  DEVICES  CONFLICTS  CONDITIONS\n"
                "nvidia-vga  GPUs   *         yes      2        1          vendor eq 10de, class eq 03\n"
                "grab        nics   testnode  yes      1        1          address eq b1:00.0\n"
                "nics rule   nics   *         yes      4        -          address eq '0000:3b:02.*'\n"
                "vfs         nics   *         yes      4        -          vendor eq 8086, device-name contains "
                "'Virtual Function'\n"
                "\n"
                "Conflict: rule 'nvidia-vga' of group 'GPUs' and rule 'grab' of group 'nics' both match "
                "0000:b1:00.0, which is in neither group\n");
        g_autofree char *conflicted = ctl_ok(f, ARGS("device", "0000:b1:00.0"));
        assert_line(conflicted, "Group: -");

        /* The printed conditions, pasted after --match, are the same rule. */
        g_auto(GStrv) words = NULL;
        assert_true(g_shell_parse_argv("device-name contains 'Virtual Function'", NULL, &words, NULL));
        assert_int_equal(g_strv_length(words), 3);
        ctl_says(f, "Rule 'vf-rule' updated", ARGS("update-rule", "vfs", "--match", words[0], words[1], words[2], "--disable", "--name",
                       "vf-rule", "--node", "testnode"));
        ctl_says(f, "Rule 'grab' updated", ARGS("update-rule", grab, "--group", "GPUs"));
        g_autofree char *edited = ctl_ok(f, ARGS("rules", nics));
        assert_string_equal(edited,
                "NAME       GROUP  NODE      ENABLED  DEVICES  CONFLICTS  CONDITIONS\n"
                "nics rule  nics   *         yes      4        -          address eq '0000:3b:02.*'\n"
                "vf-rule    nics   testnode  no       0        -          device-name contains 'Virtual Function'\n");
        g_autofree char *moved = ctl_ok(f, ARGS("device", "0000:b1:00.0"));
        assert_line(moved, "Group: GPUs");
        ctl_fails(f, 2, "devpassctl: update-rule needs --match, --name, --node, --enable, --disable or --group",
                  ARGS("update-rule", "vf-rule"));
        ctl_fails(f, 2, "devpassctl: create-rule: --match 'vendor eq' has no VALUE, e.g. --match 'vendor eq 10de'; "
                        "see devpassctl --help\n", ARGS("create-rule", "nics", "--match", "vendor eq"));
        ctl_fails(f, 2, "devpassctl: create-rule: --match vendor needs OP and VALUE, e.g. --match vendor eq 10de; "
                        "see devpassctl --help\n", ARGS("create-rule", "nics", "--match", "vendor", "eq"));
        ctl_fails(f, 2, "devpassctl: Unknown field 'colour': use one of address, ",
                  ARGS("create-rule", "nics", "--match", "colour eq red"));

        ctl_says(f, "Group 'Intel NICs' updated", ARGS("update-group", "nics", "--name", "Intel NICs", "--description", "The VFs", "--class",
                          "other"));
        g_autofree char *groups = ctl_ok(f, ARGS("groups"));
        assert_string_equal(groups,
                "NAME        TYPE       CLASS  TOTAL  FREE  RULES  DESCRIPTION\n"
                "GPUs        pci        other  2      0     2      -\n"
                "Intel NICs  sriov-nic  other  4      0     2      The VFs\n");
        ctl_fails(f, 1, "devpassctl: Group Intel NICs has devices: its type can only change while it has none\n",
                  ARGS("update-group", "Intel NICs", "--type", "pci"));
        ctl_fails(f, 3, "devpassctl: no group is named 'nics' (see devpassctl groups)\n",
                  ARGS("update-group", "nics", "--class", "nic"));

        ctl_says(f, "Rule 'vf-rule' deleted", ARGS("delete-rule", "vf-rule"));
        g_autofree char *gen_name = ctl_ok(f, ARGS("rule", gen, "--output", "name", "--no-headings"));
        g_autofree char *gen_done = g_strdup_printf("Rule '%s' deleted", g_strstrip(gen_name));
        ctl_says(f, gen_done, ARGS("delete-rule", gen));
        ctl_says(f, "Rule 'nvidia-vga' deleted", ARGS("delete-rule", vga));
        g_autofree char *left = ctl_ok(f, ARGS("rules"));
        assert_string_equal(left,
                "NAME  GROUP  NODE      ENABLED  DEVICES  CONFLICTS  CONDITIONS\n"
                "grab  GPUs   testnode  yes      1        -          address eq b1:00.0\n");
        ctl_fails(f, 3, "devpassctl: no rule is named 'vf-rule' (see devpassctl rules)\n",
                  ARGS("delete-rule", "vf-rule"));
        g_autofree char *gone = g_strdup_printf("devpassctl: No rule at '%s' ('devpassctl rules' lists them)\n", vfs);
        ctl_fails(f, 3, gone, ARGS("delete-rule", vfs));
        ctl_says(f, "Group 'Intel NICs' deleted, with its rules", ARGS("delete-group", "Intel NICs"));
        g_autofree char *one = ctl_ok(f, ARGS("groups"));
        assert_string_equal(one, "NAME  TYPE  CLASS  TOTAL  FREE  RULES  DESCRIPTION\n"
                                 "GPUs  pci   other  1      0     1      -\n");
}

/* A group with devices passed through: Busy, then --release. */
static void test_delete_group(void **state) {
        Fixture *f = *state;

        g_autofree char *made = ctl_ok(f, ARGS("passthrough", "17:00.0", "17:00.1", "--new-group", "PCI GPUs",
                                               "--class", "gpu"));
        g_autofree char *group = created_path(made, "PCI GPUs", "groups");
        wait_device(f, "0000:17:00.0", "Driver: vfio-pci");
        wait_device(f, "0000:17:00.1", "Driver: vfio-pci");

        ctl_fails(f, 1, "devpassctl: Group PCI GPUs still has 2 devices passed through (0000:17:00.0, 0000:17:00.1): "
                        "give them back first (devpassctl give-back), or delete it with --release\n",
                  ARGS("delete-group", "PCI GPUs"));
        g_autofree char *still = ctl_ok(f, ARGS("groups"));
        assert_string_equal(still, GROUPS_HEADER "PCI GPUs  pci   gpu    1      1     2      -\n");
        g_autofree char *bound = ctl_ok(f, ARGS("device", "17:00.0"));
        assert_line(bound, "Driver: vfio-pci");

        ctl_says(f, "Group 'PCI GPUs' deleted, with its rules; its devices went back to the host",
                 ARGS("delete-group", "PCI GPUs", "--release"));
        g_autofree char *none = ctl_ok(f, ARGS("groups"));
        assert_string_equal(none, "");
        g_autofree char *no_rules = ctl_ok(f, ARGS("rules"));
        assert_string_equal(no_rules, "");
        g_autofree char *json = ctl_ok(f, ARGS("--json", "groups"));
        assert_string_equal(json, "{\"groups\": []}\n");
        wait_device(f, "0000:17:00.0", "Driver: nvidia");
        wait_device(f, "0000:17:00.1", "Driver: snd_hda_intel");
        g_autofree char *host = ctl_ok(f, ARGS("device", "0000:17:00.1"));
        assert_line(host, "State: host");
        assert_line(host, "Group: -");
        g_autofree char *path_gone = g_strdup_printf("devpassctl: there is no group %s (see devpassctl groups)\n",
                                                     group);
        ctl_fails(f, 3, path_gone, ARGS("group", group));
}

static void test_sriov(void **state) {
        Fixture *f = *state;

        ctl_says(f, "0000:3b:00.1 has 2 virtual functions", ARGS("sriov", "0000:3b:00.1", "2"));
        wait_device(f, "0000:3b:00.1", "VirtualFunctions: 0000:3b:0a.0 0000:3b:0a.1");
        g_autofree char *pf = ctl_ok(f, ARGS("device", "0000:3b:00.1"));
        assert_line(pf, "SriovNumVfs: 2");
        g_autofree char *table = ctl_ok(f, ARGS("devices", "--output", "address,sriov,driver"));
        const char *vfs[] = { "0000:3b:0a.0", "0000:3b:0a.1" };
        for (size_t i = 0; i < G_N_ELEMENTS(vfs); i++) {
                g_autofree char *sriov = devices_cell(table, vfs[i], "SR-IOV");
                assert_string_equal(sriov, "VF of 0000:3b:00.1");
        }
        g_autofree char *pf_cell = devices_cell(table, "0000:3b:00.1", "SR-IOV");
        assert_string_equal(pf_cell, "PF 2/64");
        assert_null(strstr(table, "0000:3b:0a.2"));

        ctl_fails(f, 2, "devpassctl: 0000:3b:00.1 supports at most 64 virtual functions, not 65\n",
                  ARGS("sriov", "0000:3b:00.1", "65"));
        ctl_fails(f, 2, "devpassctl: 0000:17:00.0 is not an SR-IOV physical function\n",
                  ARGS("sriov", "0000:17:00.0", "1"));
        ctl_fails(f, 2, "devpassctl: sriov: 'two' is not a count of virtual functions (0 disables them); "
                        "see devpassctl --help\n", ARGS("sriov", "3b:00.1", "two"));
        g_autofree char *unchanged = ctl_ok(f, ARGS("device", "3b:00.1"));
        assert_line(unchanged, "SriovNumVfs: 2");
        g_autofree char *gpu = ctl_ok(f, ARGS("device", "17:00.0"));
        assert_line(gpu, "Driver: nvidia");
}

/* Unknown names exit 3, malformed addresses 2, and without polkit every
 * change exits 5, changing nothing, while reading goes on. */
static void test_errors(void **state) {
        Fixture *f = *state;
        const char *no_group = "devpassctl: no group is named 'Nope' (see devpassctl groups)\n";
        const char *no_rule = "devpassctl: no rule is named 'nope' (see devpassctl rules)\n";
        const char *bad = "devpassctl: '17:00' is not a PCI address: use dddd:bb:ss.f or bb:ss.f, e.g. 0000:17:00.0\n";

        ctl_fails(f, 3, no_group, ARGS("group", "Nope"));
        ctl_fails(f, 3, no_group, ARGS("rules", "Nope"));
        ctl_fails(f, 3, no_group, ARGS("update-group", "Nope", "--class", "gpu"));
        ctl_fails(f, 3, no_group, ARGS("delete-group", "Nope"));
        ctl_fails(f, 3, no_group, ARGS("create-rule", "Nope", "--match", "vendor", "eq", "10de"));
        ctl_fails(f, 3, no_group, ARGS("passthrough", "17:00.0", "17:00.1", "--group", "Nope"));
        ctl_fails(f, 3, no_rule, ARGS("update-rule", "nope", "--disable"));
        ctl_fails(f, 3, no_rule, ARGS("delete-rule", "nope"));
        ctl_fails(f, 3, "devpassctl: No PCI function 0000:99:00.0 on this node", ARGS("check", "0000:99:00.0"));

        ctl_fails(f, 2, bad, ARGS("check", "17:00"));
        ctl_fails(f, 2, bad, ARGS("passthrough", "17:00", "--new-group", "X"));
        ctl_fails(f, 2, bad, ARGS("release", "17:00"));
        ctl_fails(f, 2, bad, ARGS("sriov", "17:00", "1"));
        ctl_fails(f, 2, bad, ARGS("device", "17:00"));
        ctl_fails(f, 2, "devpassctl: passthrough needs either --group NAME|PATH or --new-group NAME; "
                        "see devpassctl --help\n", ARGS("passthrough", "17:00.0", "17:00.1"));
        ctl_fails(f, 2, "devpassctl: 0000:b1:00.0 is not passed through: nothing to give back\n",
                  ARGS("release", "b1:00.0"));
        g_autofree char *none = ctl_ok(f, ARGS("groups"));
        assert_string_equal(none, "");

        /* Something to change: groups, rules, two devices passed through. */
        g_autofree char *made = ctl_ok(f, ARGS("passthrough", "17:00.0", "17:00.1", "--new-group", "PCI GPUs",
                                               "--class", "gpu"));
        g_autofree char *group = created_path(made, "PCI GPUs", "groups");
        wait_device(f, "0000:17:00.0", "Driver: vfio-pci");
        wait_device(f, "0000:17:00.1", "Driver: vfio-pci");
        g_autofree char *spare_out = ctl_ok(f, ARGS("create-group", "Spare"));
        g_autofree char *spare = created_path(spare_out, "Spare", "groups");
        g_autofree char *groups = ctl_ok(f, ARGS("groups"));
        assert_string_equal(groups, "NAME      TYPE  CLASS  TOTAL  FREE  RULES  DESCRIPTION\n"
                                    "PCI GPUs  pci   gpu    1      1     2      -\n"
                                    "Spare     pci   other  0      0     0      -\n");
        g_autofree char *rules = ctl_ok(f, ARGS("rules"));
        assert_string_equal(rules, RULES_17);

        harness_polkit_stop(f->h);
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("create-group", "X"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("update-group", "PCI GPUs", "--description", "x"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("delete-group", spare));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("delete-group", "PCI GPUs", "--release"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("create-rule", "PCI GPUs", "--match", "vendor eq 10de"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("update-rule", "0000:17:00.0 10de:2230", "--disable"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("delete-rule", "0000:17:00.1 10de:1aef"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("passthrough", "b1:00.0", "b1:00.1", "--group", group));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("passthrough", "b1:00.0", "b1:00.1", "--new-group", "Y"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("release", "17:00.0", "17:00.1"));
        ctl_fails(f, 5, NOT_AUTHORIZED, ARGS("sriov", "3b:00.1", "2"));

        g_autofree char *groups_after = ctl_ok(f, ARGS("groups"));
        assert_string_equal(groups_after, groups);
        g_autofree char *rules_after = ctl_ok(f, ARGS("rules"));
        assert_string_equal(rules_after, RULES_17);
        g_autofree char *device = ctl_ok(f, ARGS("device", "17:00.0"));
        assert_line(device, "Driver: vfio-pci");
        g_autofree char *pf = ctl_ok(f, ARGS("device", "3b:00.1"));
        assert_line(pf, "SriovNumVfs: 0");
        g_autofree char *safe = ctl_ok(f, ARGS("check", "b1:00.0", "b1:00.1"));
        assert_string_equal(safe, "Safe: passing b1:00.0 b1:00.1 through takes nothing from the host\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_admin_path, ctl_setup, ctl_teardown),
                cmocka_unit_test_setup_teardown(test_reboot_required, ctl_setup, ctl_teardown),
                cmocka_unit_test_setup_teardown(test_rules_edit, ctl_setup, ctl_teardown),
                cmocka_unit_test_setup_teardown(test_delete_group, ctl_setup, ctl_teardown),
                cmocka_unit_test_setup_teardown(test_sriov, ctl_setup, ctl_teardown),
                cmocka_unit_test_setup_teardown(test_errors, ctl_setup, ctl_teardown),
        };
        return cmocka_run_group_tests_name("ctl-groups", tests, NULL, NULL);
}
