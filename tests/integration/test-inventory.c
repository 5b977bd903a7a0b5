/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every property of every fixture device over D-Bus, checked against lspci
 * (the independent reader of the same tree) and against the fixtures'
 * documented layout (tests/fixtures/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define DEV(a) "/org/devpass1/devices/" a

/* lspci -D -vmm -nn -k: records of "Key:\tValue" lines. */
static GPtrArray *lspci_records(void) {
        const char *argv[] = { "lspci", "-D", "-vmm", "-nn", "-k", "-O", "hwdb.disable=1",
                               "-i", harness_path("DEVPASS_PCI_IDS"), NULL };
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        int status;

        assert_true(g_spawn_sync(NULL, (char **) argv, NULL, HARNESS_SPAWN | G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &out, NULL, &status, &error));
        assert_int_equal(status, 0);

        GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify) g_hash_table_unref);
        g_auto(GStrv) blocks = g_strsplit(out, "\n\n", -1);
        for (char **b = blocks; *b; b++) {
                if (!strstr(*b, "Slot:"))
                        continue;
                GHashTable *r = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                g_auto(GStrv) lines = g_strsplit(*b, "\n", -1);
                for (char **l = lines; *l; l++) {
                        char *tab = strchr(*l, '\t');
                        if (tab && tab > *l && tab[-1] == ':')
                                g_hash_table_insert(r, g_strndup(*l, (gsize) (tab - *l - 1)), g_strdup(tab + 1));
                }
                g_ptr_array_add(records, r);
        }
        return records;
}

/* "NVIDIA Corporation [10de]" -> name and id; a bare "[10de]" has no name. */
static void split_name_id(const char *s, char **name, unsigned *id) {
        const char *open = strrchr(s, '[');
        assert_non_null(open);
        *id = (unsigned) strtoul(open + 1, NULL, 16);
        *name = g_strstrip(g_strndup(s, (gsize) (open - s)));
}

static void assert_name_id(GVariant *props, const char *lspci_value, const char *name_prop,
                           const char *id_prop) {
        g_autofree char *name = NULL;
        unsigned id;
        guint16 got_id;
        const char *got_name;

        split_name_id(lspci_value, &name, &id);
        assert_true(g_variant_lookup(props, id_prop, "q", &got_id));
        assert_int_equal(got_id, id);
        assert_true(g_variant_lookup(props, name_prop, "&s", &got_name));
        /* lspci prints "Device" when pci.ids has no name; we print "". */
        if (!g_str_equal(name, "Device"))
                assert_string_equal(got_name, name);
}

static bool objv_contains(GVariant *props, const char *name, const char *path) {
        g_autoptr(GVariant) v = g_variant_lookup_value(props, name, G_VARIANT_TYPE("ao"));
        g_autofree const char **paths = g_variant_get_objv(v, NULL);
        return g_strv_contains(paths, path);
}

/* The links between devices agree with each other and with lspci: the
 * members of each IOMMU group are exactly the others lspci puts in it, and
 * every VF is listed by the PF it names. */
static void check_links(GVariant *objects, GPtrArray *records) {
        for (guint i = 0; i < records->len; i++) {
                const char *slot = g_hash_table_lookup(records->pdata[i], "Slot");
                const char *group = g_hash_table_lookup(records->pdata[i], "IOMMUGroup");
                g_autoptr(GVariant) props = harness_device_props(objects, slot);
                g_autoptr(GVariant) members = g_variant_lookup_value(props, "IommuGroupMembers", G_VARIANT_TYPE("ao"));
                gsize expected = 0;

                for (guint j = 0; j < records->len; j++) {
                        const char *other = g_hash_table_lookup(records->pdata[j], "Slot");
                        const char *other_group = g_hash_table_lookup(records->pdata[j], "IOMMUGroup");
                        if (j == i || !group || !other_group || !g_str_equal(group, other_group))
                                continue;
                        g_autofree char *other_path = calls_path_of(other);
                        if (!objv_contains(props, "IommuGroupMembers", other_path))
                                fail_msg("%s: IommuGroupMembers lacks %s", slot, other);
                        expected++;
                }
                assert_int_equal(g_variant_n_children(members), expected);

                const char *pf;
                assert_true(g_variant_lookup(props, "PhysicalFunction", "&o", &pf));
                if (!g_str_equal(pf, "/")) {
                        g_autofree char *pf_address = g_strdup(pf + strlen("/org/devpass1/devices/"));
                        g_strdelimit(pf_address, "_", ':');
                        pf_address[strlen(pf_address) - 2] = '.';
                        g_autoptr(GVariant) pf_props = harness_device_props(objects, pf_address);
                        g_autofree char *path = calls_path_of(slot);
                        assert_non_null(pf_props);
                        if (!objv_contains(pf_props, "VirtualFunctions", path))
                                fail_msg("%s names PF %s, which does not list it", slot, pf_address);
                }
        }
}

static void check_against_lspci(const char *fixture, guint expected_count) {
        g_autoptr(Harness) h = harness_new(fixture, NULL);
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GPtrArray) records = lspci_records();

        assert_int_equal(records->len, expected_count);
        assert_int_equal(harness_count_devices(objects), expected_count);

        for (guint i = 0; i < records->len; i++) {
                GHashTable *r = records->pdata[i];
                const char *slot = g_hash_table_lookup(r, "Slot");
                g_autoptr(GVariant) props = harness_device_props(objects, slot);
                if (!props)
                        fail_msg("lspci lists %s, devpassd does not", slot);

                const char *s;
                assert_true(g_variant_lookup(props, "Address", "&s", &s));
                assert_string_equal(s, slot);

                assert_name_id(props, g_hash_table_lookup(r, "Vendor"), "VendorName", "VendorId");
                assert_name_id(props, g_hash_table_lookup(r, "Device"), "DeviceName", "DeviceId");
                if (g_hash_table_lookup(r, "SVendor"))
                        assert_name_id(props, g_hash_table_lookup(r, "SVendor"),
                                       "SubsystemVendorName", "SubsystemVendorId");
                if (g_hash_table_lookup(r, "SDevice"))
                        assert_name_id(props, g_hash_table_lookup(r, "SDevice"),
                                       "SubsystemName", "SubsystemDeviceId");

                g_autofree char *class_name = NULL;
                unsigned class16;
                guint32 class_code;
                split_name_id(g_hash_table_lookup(r, "Class"), &class_name, &class16);
                assert_true(g_variant_lookup(props, "Class", "u", &class_code));
                assert_int_equal(class_code >> 8, class16);
                assert_true(g_variant_lookup(props, "ClassName", "&s", &s));
                assert_string_equal(s, class_name);

                const char *rev = g_hash_table_lookup(r, "Rev");
                guint8 revision;
                assert_true(g_variant_lookup(props, "Revision", "y", &revision));
                assert_int_equal(revision, rev ? strtoul(rev, NULL, 16) : 0);

                const char *driver = g_hash_table_lookup(r, "Driver");
                assert_true(g_variant_lookup(props, "Driver", "&s", &s));
                assert_string_equal(s, driver ?: "");

                const char *numa = g_hash_table_lookup(r, "NUMANode");
                gint32 n;
                assert_true(g_variant_lookup(props, "NumaNode", "i", &n));
                assert_int_equal(n, numa ? atoi(numa) : -1);

                const char *group = g_hash_table_lookup(r, "IOMMUGroup");
                assert_true(g_variant_lookup(props, "IommuGroup", "i", &n));
                assert_int_equal(n, group ? atoi(group) : -1);

                assert_true(g_variant_lookup(props, "State", "&s", &s));
                assert_string_equal(s, "host");
        }
        check_links(objects, records);
}

static void test_gpu_server_matches_lspci(void **state) {
        check_against_lspci("gpu-server.umockdev", GPU_SERVER_FUNCTIONS);
}

static void test_workstation_matches_lspci(void **state) {
        check_against_lspci("workstation.umockdev", WORKSTATION_FUNCTIONS);
}

/* Its netdevs, disks and consoles are no PCI functions. */
static void test_virt_host_matches_lspci(void **state) {
        check_against_lspci("virt-host.umockdev", VIRT_HOST_FUNCTIONS);
}

static void assert_paths(GVariant *props, const char *name, const char *const *want) {
        g_autofree const char **got = NULL;
        g_autoptr(GVariant) v = g_variant_lookup_value(props, name, G_VARIANT_TYPE("ao"));

        assert_non_null(v);
        got = g_variant_get_objv(v, NULL);
        assert_true(g_strv_equal((const char *const *) got, want));
}

static void assert_prop_str(GVariant *props, const char *name, const char *want) {
        const char *s;
        assert_true(g_variant_lookup(props, name, "&s", &s));
        assert_string_equal(s, want);
}

/* What lspci does not show: IOMMU peers, SR-IOV links, boot VGA, resets. */
static void test_gpu_server_topology(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        guint32 u;
        gboolean b;

        g_autoptr(GVariant) gpu = harness_device_props(objects, "0000:17:00.0");
        assert_paths(gpu, "IommuGroupMembers", (const char *const[]) { DEV("0000_17_00_1"), NULL });
        assert_paths(gpu, "VirtualFunctions", (const char *const[]) { NULL });
        { const char *o; assert_true(g_variant_lookup(gpu, "PhysicalFunction", "&o", &o)); assert_string_equal(o, "/"); }
        assert_true(g_variant_lookup(gpu, "BootVga", "b", &b));
        assert_false(b);
        g_autoptr(GVariant) audio = harness_device_props(objects, "0000:17:00.1");
        assert_paths(audio, "IommuGroupMembers", (const char *const[]) { DEV("0000_17_00_0"), NULL });

        g_autoptr(GVariant) pf0 = harness_device_props(objects, "0000:3b:00.0");
        assert_true(g_variant_lookup(pf0, "SriovTotalVfs", "u", &u));
        assert_int_equal(u, 64);
        assert_true(g_variant_lookup(pf0, "SriovNumVfs", "u", &u));
        assert_int_equal(u, 4);
        assert_paths(pf0, "VirtualFunctions", (const char *const[]) {
                DEV("0000_3b_02_0"), DEV("0000_3b_02_1"), DEV("0000_3b_02_2"), DEV("0000_3b_02_3"), NULL });
        assert_paths(pf0, "IommuGroupMembers", (const char *const[]) { NULL });

        g_autoptr(GVariant) pf1 = harness_device_props(objects, "0000:3b:00.1");
        assert_true(g_variant_lookup(pf1, "SriovNumVfs", "u", &u));
        assert_int_equal(u, 0);
        assert_paths(pf1, "VirtualFunctions", (const char *const[]) { NULL });

        g_autoptr(GVariant) vf = harness_device_props(objects, "0000:3b:02.1");
        { const char *o; assert_true(g_variant_lookup(vf, "PhysicalFunction", "&o", &o)); assert_string_equal(o, DEV("0000_3b_00_0")); }
        assert_true(g_variant_lookup(vf, "SriovTotalVfs", "u", &u));
        assert_int_equal(u, 0);
        g_autoptr(GVariant) resets = g_variant_lookup_value(vf, "ResetMethods", G_VARIANT_TYPE("as"));
        g_autofree const char **r = g_variant_get_strv(resets, NULL);
        assert_true(g_strv_equal(r, (const char *const[]) { "flr", NULL }));

        g_autoptr(GVariant) gpu_resets_v = g_variant_lookup_value(gpu, "ResetMethods", G_VARIANT_TYPE("as"));
        g_autofree const char **gr = g_variant_get_strv(gpu_resets_v, NULL);
        assert_true(g_strv_length((char **) gr) >= 1);

        g_autoptr(GVariant) vga = harness_device_props(objects, "0000:04:00.0");
        assert_true(g_variant_lookup(vga, "BootVga", "b", &b));
        assert_true(b);
        assert_paths(vga, "IommuGroupMembers", (const char *const[]) { DEV("0000_03_00_0"), NULL });

        g_autoptr(GVariant) gpu2 = harness_device_props(objects, "0000:b1:00.0");
        gint32 numa;
        assert_true(g_variant_lookup(gpu2, "NumaNode", "i", &numa));
        assert_int_equal(numa, 1);

        /* The Manager. */
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) all = harness_call(h, "/org/devpass1", "org.freedesktop.DBus.Properties",
                                               "GetAll", g_variant_new("(s)", "org.devpass1.Manager"), &error);
        assert_null(error);
        g_autoptr(GVariant) mprops = g_variant_get_child_value(all, 0);
        assert_prop_str(mprops, "Node", "testnode");
        assert_prop_str(mprops, "Version", harness_path("DEVPASS_VERSION"));
        assert_true(g_variant_lookup(mprops, "IommuEnabled", "b", &b));
        assert_true(b);

        g_autoptr(GVariant) path = harness_call(h, "/org/devpass1", "org.devpass1.Manager", "GetDevice",
                                                g_variant_new("(s)", "3b:02.1"), &error);
        assert_null(error);
        const char *p;
        g_variant_get(path, "(&o)", &p);
        assert_string_equal(p, DEV("0000_3b_02_1"));
}

static void test_workstation_no_iommu(void **state) {
        g_autoptr(Harness) h = harness_new("workstation.umockdev", NULL);
        g_autoptr(GError) error = NULL;
        gboolean b;

        g_autoptr(GVariant) v = harness_call(h, "/org/devpass1", "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new("(ss)", "org.devpass1.Manager", "IommuEnabled"),
                                             &error);
        assert_null(error);
        g_autoptr(GVariant) inner = NULL;
        g_variant_get(v, "(v)", &inner);
        g_variant_get(inner, "b", &b);
        assert_false(b);

        g_autoptr(GVariant) objects = harness_managed_objects(h);
        GVariantIter it;
        const char *path;
        GVariant *ifaces;
        g_variant_iter_init(&it, objects);
        while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &path, &ifaces)) {
                g_autoptr(GVariant) props = g_variant_lookup_value(ifaces, "org.devpass1.Device", NULL);
                gint32 group, numa;
                if (!props) {   /* the node's own object */
                        g_variant_unref(ifaces);
                        continue;
                }
                assert_true(g_variant_lookup(props, "IommuGroup", "i", &group));
                assert_int_equal(group, -1);
                assert_true(g_variant_lookup(props, "NumaNode", "i", &numa));
                assert_int_equal(numa, -1);
                assert_paths(props, "IommuGroupMembers", (const char *const[]) { NULL });
                g_variant_unref(ifaces);
        }
}

static bool pf0_lists_3_vfs(Harness *h, void *data G_GNUC_UNUSED) {
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) pf = harness_device_props(objects, "0000:3b:00.0");
        g_autoptr(GVariant) v = pf ? g_variant_lookup_value(pf, "VirtualFunctions", G_VARIANT_TYPE("ao")) : NULL;

        return v && g_variant_n_children(v) == 3;
}

/* A VF the kernel took away leaves a gap in the PF's virtfnN links: the
 * VFs after it are still listed, in VF order, live and after a restart. */
static void test_vf_gap(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        const char *const want[] = { DEV("0000_3b_02_0"), DEV("0000_3b_02_2"), DEV("0000_3b_02_3"), NULL };

        testbed_remove(h->testbed, "0000:3b:02.1");
        g_autofree char *dir = testbed_device_dir(h->testbed, "0000:3b:00.0");
        g_autofree char *link = g_build_filename(dir, "virtfn1", NULL);
        assert_false(g_file_test(link, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
        /* The VF's remove event may have the PF read again before its
         * files went: now they are gone, as the kernel says again. */
        testbed_uevent(h->testbed, "0000:3b:00.0", "change");
        assert_true(harness_wait(h, pf0_lists_3_vfs, NULL, 5000));
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autoptr(GVariant) pf = harness_device_props(objects, "0000:3b:00.0");
        assert_paths(pf, "VirtualFunctions", want);

        harness_daemon_stop(h);
        harness_daemon_start(h, NULL);
        g_autoptr(GVariant) again = harness_managed_objects(h);
        g_autoptr(GVariant) pf_again = harness_device_props(again, "0000:3b:00.0");
        assert_paths(pf_again, "VirtualFunctions", want);
}

/* A function's config space as root reads it on a host (4 KiB) in place
 * of the fixture's 64 bytes: its header (vendor and device ids all ones
 * when vf), and an extended capability list of AER and, when sriov,
 * SR-IOV. */
static void config_write(Harness *h, const char *address, bool vf, bool sriov) {
        g_autofree char *dir = testbed_device_dir(h->testbed, address);
        g_autofree char *path = g_build_filename(dir, "config", NULL);
        g_autofree char *header = NULL;
        g_autoptr(GError) error = NULL;
        uint8_t cfg[4096] = { 0 };
        gsize len;

        assert_true(g_file_get_contents(path, &header, &len, &error));
        assert_int_equal(len, 64);
        memcpy(cfg, header, len);
        if (vf)
                memset(cfg, 0xff, 4);
        const uint32_t aer = 0x0001 | 1u << 16 | (sriov ? 0x140u << 20 : 0), sriov_cap = 0x0010 | 1u << 16;
        memcpy(cfg + 0x100, &aer, 4);
        if (sriov)
                memcpy(cfg + 0x140, &sriov_cap, 4);
        assert_true(g_file_set_contents(path, (const char *) cfg, sizeof(cfg), &error));
}

static guint32 prop_uint(GVariant *props, const char *name) {
        g_autoptr(GVariant) v = g_variant_lookup_value(props, name, NULL);
        assert_non_null(v);
        return g_variant_is_of_type(v, G_VARIANT_TYPE_UINT16) ? g_variant_get_uint16(v) : g_variant_get_uint32(v);
}

/* Ids, class and revision come from config space, and the files the
 * kernel has only for SR-IOV PFs are read only where the extended
 * capabilities have SR-IOV: a stray sriov_totalvfs on a function without
 * it means nothing. A VF's ids, all ones in config space, come from its
 * attributes. Every other property is as with the fixture's short config. */
static void test_config_space(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        g_autoptr(GVariant) before = harness_managed_objects(h);

        harness_daemon_stop(h);
        config_write(h, "0000:3b:00.0", false, true);
        config_write(h, "0000:3b:02.0", true, false);
        config_write(h, "0000:17:00.0", false, false);
        testbed_set_attr(h->testbed, "0000:17:00.0", "sriov_totalvfs", "8");
        harness_daemon_start(h, NULL);
        g_autoptr(GVariant) after = harness_managed_objects(h);
        assert_true(g_variant_equal(before, after));

        g_autoptr(GVariant) pf = harness_device_props(after, "0000:3b:00.0");
        g_autoptr(GVariant) vf = harness_device_props(after, "0000:3b:02.0");
        g_autoptr(GVariant) gpu = harness_device_props(after, "0000:17:00.0");
        assert_true(prop_uint(pf, "SriovTotalVfs") > 0);
        assert_int_equal(prop_uint(vf, "VendorId"), 0x8086);
        assert_int_equal(prop_uint(vf, "DeviceId"), 0x154c);
        assert_int_equal(prop_uint(gpu, "SriovTotalVfs"), 0);
}

/* Start, stop, start again: a clean exit each time and the same answer. */
static void test_restart(void **state) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        g_autoptr(GVariant) before = harness_managed_objects(h);

        harness_daemon_stop(h);
        harness_daemon_start(h, NULL);
        g_autoptr(GVariant) after = harness_managed_objects(h);
        assert_true(g_variant_equal(before, after));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gpu_server_matches_lspci),
                cmocka_unit_test(test_workstation_matches_lspci),
                cmocka_unit_test(test_virt_host_matches_lspci),
                cmocka_unit_test(test_gpu_server_topology),
                cmocka_unit_test(test_workstation_no_iommu),
                cmocka_unit_test(test_restart),
                cmocka_unit_test(test_vf_gap),
                cmocka_unit_test(test_config_space),
        };
        return cmocka_run_group_tests_name("inventory", tests, NULL, NULL);
}
