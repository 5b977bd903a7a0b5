/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rule conditions as callers send them (CreateRule, Rule.Update) and as
 * the store gives them back: field, operator, value; an accepted one is
 * matched against devices, one of them named by the value itself (a regex
 * against its own text). The first two bytes pick the field and the
 * operator, so that most inputs reach the value parsers; when either is
 * 0xff the rest is "field\nop\nvalue", any text. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "rules.h"
#include "store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

static Device *device(const char *address, const char *name, const char *physfn) {
        DpAddress a;
        if (!address_parse(address, &a))
                abort();
        Device *d = device_new(&a);
        d->vendor_name = g_strdup(name);
        d->device_name = g_strdup(name);
        d->driver = g_strdup(name);
        if (physfn) {
                g_free(d->physfn_path);
                d->physfn_path = g_strdup(physfn);
        }
        return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        g_autofree char *text = fuzz_string(data + 2, size - 2);
        g_auto(GStrv) parts = NULL;
        const char *field, *op, *value;

        if (data[0] == 0xff || data[1] == 0xff) {
                parts = g_strsplit(text, "\n", 3);
                field = parts[0];
                op = field ? parts[1] : NULL;
                value = op ? parts[2] : NULL;
        } else {
                field = rule_field_to_string((RuleField) (data[0] % _RULE_FIELD_MAX));
                op = rule_op_to_string((RuleOp) (data[1] % _RULE_OP_MAX));
                value = text;
        }

        /* Through the path callers and the loader share. */
        g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func((GDestroyNotify) store_condition_free);
        g_ptr_array_add(stored, store_condition_new(field ?: "", op ?: "", value ?: ""));
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) conditions = model_conditions_compile(stored, &error);
        if (!conditions) {
                fuzz_assert_message(error->message, 1024);
                return 0;
        }

        g_autoptr(Device) gpu = device("0000:17:00.0", "NVIDIA Corporation", NULL);
        g_autoptr(Device) vf = device("0000:3b:02.1", "Ethernet Virtual Function", DP_DEVICES_PATH "/0000_3b_00_0");
        g_autoptr(Device) own = device("ffffffff:ff:1f.7", value ?: "", NULL);
        /* Twice: the second round reads the regex's remembered results. */
        for (int round = 0; round < 2; round++) {
                (void) rule_conditions_match(conditions, gpu);
                (void) rule_conditions_match(conditions, vf);
                (void) rule_conditions_match(conditions, own);
        }
        (void) rule_conditions_take_exhausted(conditions);
        return 0;
}
