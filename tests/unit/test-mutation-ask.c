/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The objects a call names, as its messages say them (a change refused
 * Busy after other nodes' changes): by kind, sorted, quoted (names are
 * the callers'), the first few of a bulk call's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mutation.h"

static void test_names(void **state) {
        g_auto(MutationAsk) ask = { 0 };

        assert_null(mutation_ask_names(&ask));
        mutation_ask_machine(&ask, "vm1");
        mutation_ask_group(&ask, "nics\n\033[31m");
        mutation_ask_group(&ask, "gpus");
        g_autofree char *names = mutation_ask_names(&ask);
        assert_string_equal(names, "group 'gpus', group 'nics\\n\\033[31m', machine 'vm1'");
}

static void test_names_bounded(void **state) {
        g_auto(MutationAsk) ask = { 0 };

        for (int i = 0; i < 1000; i++) {
                g_autofree char *address = g_strdup_printf("0000:%02x:%02x.0", i / 32, i % 32);
                mutation_ask_device(&ask, address);
        }
        mutation_ask_tenant(&ask, "acme");
        g_autofree char *names = mutation_ask_names(&ask);
        assert_string_equal(names, "device '0000:00:00.0', device '0000:00:01.0', device '0000:00:02.0', "
                            "device '0000:00:03.0' and 997 more");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_names_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
