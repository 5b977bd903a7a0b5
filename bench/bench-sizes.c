/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How big GetManagedObjects gets: the largest state devpassd keeps
 * (MODEL_MAX_GROUPS groups; MODEL_MAX_RULES rules as Make Passthrough
 * writes them, vendor, device and a set of addresses, whose conditions
 * take MODEL_MAX_CONDITION_BYTES together; MODEL_MAX_ATTACHMENTS
 * attachments) on a generated node of 16,384 functions, read by the real
 * inventory and model in this process, and devpassd on that node and that
 * store, its limit and the bus's raised to 128 MiB for this once. It
 * prints GetManagedObjects' bytes as the bus carries them against the
 * bus's 32 MiB, those of each kind of object (a GDBus message of that
 * kind's entries alone) beside model_bus_size()'s estimate of them, which
 * devpassd checks before a reply (never below the real size, less than
 * a tenth above: test-object-manager), and the bytes of each device
 * property, largest first: where a smaller reply would come from. */
#include <stdio.h>
#include <string.h>
#include <gio/gio.h>

#include "bench.h"
#include "inventory.h"
#include "model-private.h"
#include "nodegen.h"
#include "service.h"
#include "store.h"

#define SIZES_FUNCTIONS 16384
/* The harness names devpassd's node so. */
#define SIZES_NODE "testnode"

static void sizes_store(Store *s, Inventory *inv) {
        GPtrArray *devices = inventory_sorted(inv);
        g_autoptr(GArray) groups = g_array_new(FALSE, FALSE, sizeof(int64_t));
        g_autoptr(GError) error = NULL;

        g_assert_true(store_begin(s, &error));
        for (unsigned k = 0; k < MODEL_MAX_GROUPS; k++) {
                g_autofree char *name = g_strdup_printf("group %04u", k);
                StoreGroup g = { .name = name, .type = "pci", .description = "", .class_name = "gpu", .tenant = "" };
                g_assert_true(store_group_insert(s, &g, &error));
                g_array_append_val(groups, g.id);
        }
        /* Each rule its share of the devices, none in two rules (rules
         * of two groups matching a device put it in conflict, a state of
         * its own), and its share of the conditions' bytes: the rest of
         * its set names functions the node lacks (domain ffff). */
        size_t share = MODEL_MAX_CONDITION_BYTES / MODEL_MAX_RULES, total = 0;
        guint per = MAX(devices->len / MODEL_MAX_RULES, 1), absent = 0;
        for (unsigned k = 0; k < MODEL_MAX_RULES; k++) {
                const Device *d = devices->pdata[k * per % devices->len];
                g_autoptr(StoreRule) r = store_rule_new();
                char vendor[8], device[8];
                g_snprintf(vendor, sizeof(vendor), "%04x", d->vendor_id);
                g_snprintf(device, sizeof(device), "%04x", d->device_id);
                r->node = g_strdup(SIZES_NODE);
                r->enabled = true;
                r->group_id = g_array_index(groups, int64_t, k % MODEL_MAX_GROUPS);
                g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", vendor));
                g_ptr_array_add(r->conditions, store_condition_new("device", "eq", device));
                g_ptr_array_add(r->conditions, store_condition_new("address", "in", ""));
                size_t room = share - model_conditions_bytes(r->conditions);
                GString *set = g_string_new(NULL);
                guint i;
                for (i = 0;; i++) {
                        char address[DP_ADDRESS_MAX];
                        if (i < per) {
                                g_strlcpy(address, ((const Device *) devices->pdata[(k * per + i) % devices->len])
                                                           ->address_str, sizeof(address));
                        } else {
                                DpAddress a = { .domain = 0xffff, .bus = absent >> 8, .slot = (absent >> 3) & 0x1f,
                                                .function = absent & 7 };
                                address_format(&a, address);
                                absent++;
                        }
                        if (set->len && set->len + 1 + strlen(address) > room)
                                break;
                        g_string_append_printf(set, "%s%s", set->len ? "," : "", address);
                }
                StoreCondition *c = r->conditions->pdata[2];
                g_free(c->value);
                c->value = g_string_free(set, FALSE);
                r->name = g_strdup_printf("%s +%u %s:%s", d->address_str, i - 1, vendor, device);
                total += model_conditions_bytes(r->conditions);
                g_assert_true(store_rule_insert(s, r, &error));
        }
        g_assert_cmpuint(total, <=, MODEL_MAX_CONDITION_BYTES);
        for (unsigned k = 0; k < MODEL_MAX_ATTACHMENTS; k++) {
                g_autofree char *machine = g_strdup_printf("vm%05u", k);
                StoreAttachment a = { .machine = machine, .name = "PCI GPUs 1", .type = "pci", .description = "",
                                      .tenant = "", .group_id = g_array_index(groups, int64_t, 0), .count = 1,
                                      .generation = 1 };
                g_assert_true(store_attachment_insert(s, &a, &error));
        }
        g_assert_true(store_commit(s, &error));
}

#define RAISED_LIMIT (128u << 20)

/* The bytes a D-Bus message of this body takes, header and all. */
static gsize message_bytes(GVariant *body) {
        g_autoptr(GDBusMessage) m = g_dbus_message_new_method_call("org.devpass1", "/org/devpass1",
                                                                   "org.freedesktop.DBus.ObjectManager",
                                                                   "GetManagedObjects");
        g_autoptr(GError) error = NULL;
        gsize size = 0;

        g_dbus_message_set_body(m, body);
        g_autofree guchar *blob = g_dbus_message_to_blob(m, &size, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
        g_assert_no_error(error);
        return size;
}

/* The bytes of entries (of a{oa{sa{sv}}}) alone in a reply. */
static gsize entries_bytes(GPtrArray *entries) {
        static gsize empty;

        if (!empty)
                empty = message_bytes(g_variant_new("(@a{oa{sa{sv}}})",
                                                    g_variant_new_array(G_VARIANT_TYPE("{oa{sa{sv}}}"), NULL, 0)));
        return message_bytes(g_variant_new("(@a{oa{sa{sv}}})",
                                           g_variant_new_array(G_VARIANT_TYPE("{oa{sa{sv}}}"),
                                                               (GVariant **) entries->pdata, entries->len))) - empty;
}

typedef struct {
        const char *prefix, *what;
        size_t estimate;          /* model_bus_size()'s, of every object of the kind */
        GPtrArray *entries;
} Kind;

/* Each device property's bytes in the reply (its {sv} entry), largest first. */
static void print_device_properties(GPtrArray *devices, gsize total) {
        g_autoptr(GHashTable) bytes = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GVariant) first_ifaces = g_variant_get_child_value(devices->pdata[0], 1);
        g_autoptr(GVariant) first = g_variant_lookup_value(first_ifaces, "org.devpass1.Device", NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        GVariantIter it;
        const char *name;

        g_variant_iter_init(&it, first);
        while (g_variant_iter_next(&it, "{&sv}", &name, NULL))
                g_ptr_array_add(names, (char *) name);
        gsize empty = message_bytes(g_variant_new("(@a{sv})", g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)));
        g_autoptr(GArray) sizes = g_array_new(FALSE, FALSE, sizeof(gsize));
        for (guint k = 0; k < names->len; k++) {
                g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
                for (guint i = 0; i < devices->len; i++) {
                        g_autoptr(GVariant) ifaces = g_variant_get_child_value(devices->pdata[i], 1);
                        g_autoptr(GVariant) props = g_variant_lookup_value(ifaces, "org.devpass1.Device", NULL);
                        g_autoptr(GVariant) v = g_variant_lookup_value(props, names->pdata[k], NULL);
                        if (v)
                                g_ptr_array_add(values, g_variant_ref_sink(g_variant_new("{sv}", names->pdata[k], v)));
                }
                gsize b = message_bytes(g_variant_new("(@a{sv})", g_variant_new_array(G_VARIANT_TYPE("{sv}"),
                                                      (GVariant **) values->pdata, values->len))) - empty;
                g_array_append_val(sizes, b);
        }
        printf("  device properties, bytes per device (name, signature and value, aligned), largest first:\n   ");
        for (guint shown = 0; shown < names->len; shown++) {
                guint best = 0;
                for (guint k = 1; k < names->len; k++)
                        if (g_array_index(sizes, gsize, k) > g_array_index(sizes, gsize, best))
                                best = k;
                gsize b = g_array_index(sizes, gsize, best);
                printf(" %s %.0f%s", (char *) names->pdata[best], (double) b / devices->len,
                       shown + 1 < names->len ? "," : "\n");
                if (shown % 8 == 7)
                        printf("\n   ");
                g_array_index(sizes, gsize, best) = 0;
        }
        printf("  (of %.0f bytes per device in all)\n", (double) total / devices->len);
}

/* devpassd on the node and the store, GetManagedObjects' real bytes
 * against the estimate's. */
static void sizes_real(Harness *h, const ModelBusBytes *estimate) {
        g_autoptr(GError) error = NULL;
        g_autofree char *config = g_build_filename(h->tmpdir, "devpassd.conf", NULL);
        g_autofree char *text = g_strdup_printf("[Daemon]\nModprobe=/bin/false\nMaxMessageSize=%u\n", RAISED_LIMIT);

        g_assert_true(g_file_set_contents(config, text, -1, &error));
        harness_daemon_start(h, NULL);
        g_autoptr(GDBusConnection) c = harness_connect(h);
        g_autoptr(GDBusMessage) call = g_dbus_message_new_method_call("org.devpass1", "/org/devpass1",
                                                                      "org.freedesktop.DBus.ObjectManager",
                                                                      "GetManagedObjects");
        double t0 = now_ms();
        g_autoptr(GDBusMessage) reply = g_dbus_connection_send_message_with_reply_sync(
                c, call, G_DBUS_SEND_MESSAGE_FLAGS_NONE, 600000, NULL, NULL, &error);
        double ms = now_ms() - t0;
        g_assert_no_error(error);
        g_assert_false(g_dbus_message_to_gerror(reply, &error));
        gsize size = 0;
        g_autofree guchar *blob = g_dbus_message_to_blob(reply, &size, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
        g_assert_no_error(error);
        size_t all = estimate->device + estimate->group + estimate->rule + estimate->attachment;
        printf("  %-34s %7.1f MiB   %3.0f%% of the bus's 32 MiB  (limits raised to 128 MiB for this; %.0f ms)\n",
               "the real reply, everything", (double) size / (1 << 20), 100.0 * (double) size / (32 << 20), ms);
        printf("  %-34s %7.1f MiB   %5.3fx the real size, devpassd would %s\n", "the estimate (model_bus_size)",
               (double) all / (1 << 20), (double) all / (double) size,
               all <= (32u << 20) / 8 * 7 ? "send it" : "refuse it (LimitsExceeded)");

        Kind kinds[] = {
                { "/org/devpass1/devices/", "devices", estimate->device },
                { "/org/devpass1/groups/", "groups", estimate->group },
                { "/org/devpass1/rules/", "rules", estimate->rule },
                { "/org/devpass1/attachments/", "attachments", estimate->attachment },
        };
        for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++)
                kinds[k].entries = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
        GVariant *body = g_dbus_message_get_body(reply);
        g_autoptr(GVariant) objects = g_variant_get_child_value(body, 0);
        for (gsize i = 0; i < g_variant_n_children(objects); i++) {
                GVariant *entry = g_variant_get_child_value(objects, i);
                const char *path;
                g_variant_get_child(entry, 0, "&o", &path);
                size_t k = 0;
                while (k < G_N_ELEMENTS(kinds) && !g_str_has_prefix(path, kinds[k].prefix))
                        k++;
                if (k < G_N_ELEMENTS(kinds))
                        g_ptr_array_add(kinds[k].entries, entry);
                else
                        g_variant_unref(entry);
        }
        gsize device_bytes = 0;
        for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
                GPtrArray *e = kinds[k].entries;
                if (e->len == 0)
                        continue;
                gsize b = entries_bytes(e);
                printf("  %-12s %6u objects %7.1f MiB (%2.0f%%)  %5.0f bytes each, estimate %5.0f (%5.3fx)\n",
                       kinds[k].what, e->len, (double) b / (1 << 20), 100.0 * (double) b / (double) size,
                       (double) b / e->len, (double) kinds[k].estimate / e->len, (double) kinds[k].estimate / b);
                if (k == 0)
                        device_bytes = b;
        }
        print_device_properties(kinds[0].entries, device_bytes);
        for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++)
                g_ptr_array_unref(kinds[k].entries);
        harness_daemon_stop(h);
}

/* A bus like the harness's, whose messages may be as big as limit. */
static char *bus_config_raised(const char *dir, unsigned limit) {
        g_autofree char *template = NULL;
        g_autoptr(GError) error = NULL;

        g_assert_true(g_file_get_contents(harness_path("DEVPASS_TEST_BUS_CONFIG"), &template, NULL, &error));
        g_autofree char *limits = g_strdup_printf("  <limit name=\"max_message_size\">%u</limit>\n</busconfig>", limit);
        g_auto(GStrv) parts = g_strsplit(template, "</busconfig>", 2);
        g_autofree char *config = g_strjoinv(limits, parts);
        char *path = g_build_filename(dir, "system-bus-raised.conf.in", NULL);
        g_assert_true(g_file_set_contents(path, config, -1, &error));
        return path;
}

void bench_sizes(void) {
        g_autoptr(Names) names = names_new(harness_path("DEVPASS_PCI_IDS"));
        g_autofree char *conf_dir = g_dir_make_tmp("devpass-sizes-XXXXXX", NULL);
        g_autofree char *bus_template = g_strdup(harness_path("DEVPASS_TEST_BUS_CONFIG"));
        g_autofree char *raised = bus_config_raised(conf_dir, RAISED_LIMIT);
        g_autoptr(GError) error = NULL;

        g_setenv("DEVPASS_TEST_BUS_CONFIG", raised, TRUE);
        g_autoptr(Harness) h = harness_prepare(NULL);
        g_setenv("DEVPASS_TEST_BUS_CONFIG", bus_template, TRUE);
        const char *sys_dir = testbed_sys_dir(h->testbed);
        g_autofree char *state_dir = harness_state_dir(h);
        g_assert_cmpint(g_mkdir_with_parents(state_dir, 0700), ==, 0);

        nodegen_write(sys_dir, SIZES_FUNCTIONS);
        g_autoptr(Inventory) inv = inventory_new(sys_dir, names);
        g_autoptr(Coalescer) queue = coalescer_new();
        inventory_queue_all(inv, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        inventory_changes_free(inventory_apply(inv, entries));

        g_autoptr(Store) store = store_open(state_dir, &error);
        g_assert_no_error(error);
        g_autoptr(Model) empty = model_new(store, inv, SIZES_NODE, &DP_MODEL_PATHS, &error);
        g_assert_no_error(error);
        ModelBusBytes fixed = service_bus_fixed(), estimate;
        size_t devices = model_bus_size(empty, &fixed, NULL);
        g_clear_pointer(&empty, model_free);
        double t0 = now_ms();
        sizes_store(store, inv);
        g_autoptr(Model) full = model_new(store, inv, SIZES_NODE, &DP_MODEL_PATHS, &error);
        g_assert_no_error(error);
        model_bus_size(full, &fixed, &estimate);
        g_clear_pointer(&full, model_free);
        g_clear_pointer(&store, store_close);

        printf("\nGetManagedObjects of the largest state devpassd keeps, %u functions (set up in %.0f ms)\n",
               SIZES_FUNCTIONS, now_ms() - t0);
        printf("  %-34s %7.1f MiB   %3.0f%% of the bus's 32 MiB\n", "the devices alone (estimate)",
               (double) devices / (1 << 20), 100.0 * (double) devices / (32 << 20));
        printf("  with %u groups, %u rules, %u attachments:\n", MODEL_MAX_GROUPS, MODEL_MAX_RULES,
               MODEL_MAX_ATTACHMENTS);
        sizes_real(h, &estimate);
        remove_dir(conf_dir);
}
