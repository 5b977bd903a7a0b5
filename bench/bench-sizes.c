/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How big GetManagedObjects gets: the largest state devpassd keeps
 * (MODEL_MAX_GROUPS groups, MODEL_MAX_RULES rules of the three conditions
 * Make Passthrough writes, MODEL_MAX_ATTACHMENTS attachments) on a
 * generated node of 16,384 functions, read by the real inventory and
 * model in this process. It prints model_bus_size(), the estimate
 * devpassd checks before a reply (never below the real size, at most
 * 1.75x it: test-object-manager), against the bus's 32 MiB. */
#include <stdio.h>

#include "bench.h"
#include "inventory.h"
#include "model-private.h"
#include "nodegen.h"
#include "service.h"
#include "store.h"

#define SIZES_FUNCTIONS 16384

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
        for (unsigned k = 0; k < MODEL_MAX_RULES; k++) {
                const Device *d = devices->pdata[k % devices->len];
                g_autoptr(StoreRule) r = store_rule_new();
                char vendor[8], device[8];
                g_snprintf(vendor, sizeof(vendor), "%04x", d->vendor_id);
                g_snprintf(device, sizeof(device), "%04x", d->device_id);
                r->name = g_strdup_printf("%s %s:%s", d->address_str, vendor, device);
                r->node = g_strdup("node");
                r->enabled = true;
                r->group_id = g_array_index(groups, int64_t, k % MODEL_MAX_GROUPS);
                g_ptr_array_add(r->conditions, store_condition_new("vendor", "eq", vendor));
                g_ptr_array_add(r->conditions, store_condition_new("device", "eq", device));
                g_ptr_array_add(r->conditions, store_condition_new("address", "eq", d->address_str));
                g_assert_true(store_rule_insert(s, r, &error));
        }
        for (unsigned k = 0; k < MODEL_MAX_ATTACHMENTS; k++) {
                g_autofree char *machine = g_strdup_printf("vm%05u", k);
                StoreAttachment a = { .machine = machine, .name = "PCI GPUs 1", .type = "pci", .description = "",
                                      .tenant = "", .group_id = g_array_index(groups, int64_t, 0), .count = 1,
                                      .generation = 1 };
                g_assert_true(store_attachment_insert(s, &a, &error));
        }
        g_assert_true(store_commit(s, &error));
}

void bench_sizes(void) {
        g_autoptr(Names) names = names_new(harness_path("DEVPASS_PCI_IDS"));
        g_autofree char *sys_dir = g_dir_make_tmp("devpass-sizes-XXXXXX", NULL);
        g_autofree char *state_dir = g_dir_make_tmp("devpass-sizes-XXXXXX", NULL);
        g_autoptr(GError) error = NULL;

        nodegen_write(sys_dir, SIZES_FUNCTIONS);
        g_autoptr(Inventory) inv = inventory_new(sys_dir, names);
        g_autoptr(Coalescer) queue = coalescer_new();
        inventory_queue_all(inv, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        inventory_changes_free(inventory_apply(inv, entries));

        g_autoptr(Store) store = store_open(state_dir, &error);
        g_assert_no_error(error);
        g_autoptr(Model) empty = model_new(store, inv, "node", &DP_MODEL_PATHS, &error);
        g_assert_no_error(error);
        size_t devices = model_bus_size(empty);
        g_clear_pointer(&empty, model_free);
        double t0 = now_ms();
        sizes_store(store, inv);
        g_autoptr(Model) full = model_new(store, inv, "node", &DP_MODEL_PATHS, &error);
        g_assert_no_error(error);
        size_t all = model_bus_size(full);
        double limit = 32.0 * 1024 * 1024;

        printf("\nGetManagedObjects of the largest state devpassd keeps, %u functions (set up in %.0f ms)\n",
               SIZES_FUNCTIONS, now_ms() - t0);
        printf("  %-46s %7.1f MiB   %3.0f%% of the bus's 32 MiB\n", "the devices alone (estimate)",
               (double) devices / (1 << 20), 100.0 * (double) devices / limit);
        printf("  %-46s %7.1f MiB   %3.0f%% of the bus's 32 MiB  %s\n",
               "+ 1,024 groups, 16,384 rules, 16,384 attachments", (double) all / (1 << 20),
               100.0 * (double) all / limit, all <= limit / 8 * 7 ? "sent" : "refused (LimitsExceeded)");
        remove_dir(sys_dir);
        remove_dir(state_dir);
}
