/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "coalesce.h"

static DpAddress addr(const char *s) {
        DpAddress a;
        assert_true(address_parse(s, &a));
        return a;
}

static void test_first_schedules(void **state) {
        g_autoptr(Coalescer) c = coalescer_new();
        DpAddress a = addr("0000:3b:02.0"), b = addr("0000:3b:02.1");

        assert_true(coalescer_add(c, &a, "add"));       /* empty -> schedule */
        assert_false(coalescer_add(c, &a, "change"));   /* already pending */
        assert_false(coalescer_add(c, &b, "add"));
        assert_int_equal(coalescer_pending(c), 2);

        g_autoptr(GArray) e = coalescer_take(c);
        assert_int_equal(e->len, 2);
        assert_int_equal(coalescer_pending(c), 0);
        assert_true(coalescer_add(c, &a, "bind"));       /* empty again */
}

static void test_last_action_wins(void **state) {
        g_autoptr(Coalescer) c = coalescer_new();
        DpAddress a = addr("0000:3b:02.0"), b = addr("0000:3b:02.1"), x = addr("0000:17:00.0");

        coalescer_add(c, &a, "add");
        coalescer_add(c, &b, "remove");
        coalescer_add(c, &x, "unbind");
        coalescer_add(c, &a, "remove");
        coalescer_add(c, &b, "add");
        coalescer_add(c, &x, "bind");

        g_autoptr(GArray) e = coalescer_take(c);
        assert_int_equal(e->len, 3);
        /* first-seen order, last action */
        CoalesceEntry *v = (CoalesceEntry *) e->data;
        assert_int_equal(address_compare(&v[0].address, &a), 0);
        assert_int_equal(v[0].action, COALESCE_REMOVE);
        assert_int_equal(address_compare(&v[1].address, &b), 0);
        assert_int_equal(v[1].action, COALESCE_REPLACE);   /* removed, then a new one */
        assert_int_equal(address_compare(&v[2].address, &x), 0);
        assert_int_equal(v[2].action, COALESCE_REREAD);
}

static void test_replace(void **state) {
        g_autoptr(Coalescer) c = coalescer_new();
        DpAddress a = addr("0000:3b:02.0");

        coalescer_add(c, &a, "remove");
        coalescer_add(c, &a, "add");
        coalescer_add(c, &a, "bind");     /* still a replacement */
        g_autoptr(GArray) e = coalescer_take(c);
        assert_int_equal(g_array_index(e, CoalesceEntry, 0).action, COALESCE_REPLACE);

        coalescer_add(c, &a, "remove");
        coalescer_add(c, &a, "add");
        coalescer_add(c, &a, "remove");   /* gone in the end */
        g_autoptr(GArray) f = coalescer_take(c);
        assert_int_equal(g_array_index(f, CoalesceEntry, 0).action, COALESCE_REMOVE);
}

static void test_unknown_actions_reread(void **state) {
        g_autoptr(Coalescer) c = coalescer_new();
        DpAddress a = addr("0000:00:14.0");

        coalescer_add(c, &a, NULL);
        coalescer_add(c, &a, "online");
        g_autoptr(GArray) e = coalescer_take(c);
        assert_int_equal(e->len, 1);
        assert_int_equal(g_array_index(e, CoalesceEntry, 0).action, COALESCE_REREAD);
}

/* A burst much larger than any node: one entry per function, in order. */
static void test_big_burst(void **state) {
        g_autoptr(Coalescer) c = coalescer_new();
        const unsigned n = 65536;

        for (unsigned round = 0; round < 2; round++)
                for (unsigned i = 0; i < n; i++) {
                        DpAddress a = { .domain = i >> 8, .bus = (uint8_t) i, .slot = 2, .function = 0 };
                        coalescer_add(c, &a, round ? "bind" : "add");
                }
        g_autoptr(GArray) e = coalescer_take(c);
        assert_int_equal(e->len, n);
        for (unsigned i = 0; i < n; i++) {
                const CoalesceEntry *v = &g_array_index(e, CoalesceEntry, i);
                assert_int_equal(v->address.domain, i >> 8);
                assert_int_equal(v->address.bus, (uint8_t) i);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_schedules),
                cmocka_unit_test(test_last_action_wins),
                cmocka_unit_test(test_replace),
                cmocka_unit_test(test_unknown_actions_reread),
                cmocka_unit_test(test_big_burst),
        };
        return cmocka_run_group_tests_name("coalesce", tests, NULL, NULL);
}
