/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "address.h"

static void test_parse_canonical(void **state) {
        DpAddress a;
        char buf[DP_ADDRESS_MAX];

        assert_true(address_parse("0000:17:00.1", &a));
        assert_int_equal(a.domain, 0);
        assert_int_equal(a.bus, 0x17);
        assert_int_equal(a.slot, 0);
        assert_int_equal(a.function, 1);
        address_format(&a, buf);
        assert_string_equal(buf, "0000:17:00.1");
}

static void test_parse_forms(void **state) {
        DpAddress a;
        char buf[DP_ADDRESS_MAX];

        /* short form means domain 0, as lspci prints without -D */
        assert_true(address_parse("3b:02.3", &a));
        address_format(&a, buf);
        assert_string_equal(buf, "0000:3b:02.3");
        /* upper case is read, lower case is written */
        assert_true(address_parse("0000:B1:1F.7", &a));
        address_format(&a, buf);
        assert_string_equal(buf, "0000:b1:1f.7");
        /* VMD domains have five hex digits */
        assert_true(address_parse("10000:e0:06.0", &a));
        assert_int_equal(a.domain, 0x10000);
        address_format(&a, buf);
        assert_string_equal(buf, "10000:e0:06.0");
        assert_true(address_parse("ffffffff:ff:1f.7", &a));
        assert_int_equal(a.domain, 0xffffffffu);
}

static void test_parse_rejects(void **state) {
        static const char *const bad[] = {
                "", "0", "0000:17:00", "0000:17:00.8", "0000:17:20.0", "000:17:00.0",
                "000000000:17:00.0", "0000:170:00.0", "0000:1:00.0", "0000:17:00.0 ",
                " 0000:17:00.0", "0000:17:00.0\n", "0000-17-00.0", "0000:17:00.0.0",
                "0000:17:0g.0", "0x00:17:00.0", "17:00", "17:00.0x", "%n%n%n%n", "../../etc",
                "0000_17_00_0", "+000:17:00.0", "17.00.0",
        };
        DpAddress a;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (address_parse(bad[i], &a))
                        fail_msg("accepted '%s'", bad[i]);
        }
        assert_false(address_parse(NULL, &a));
}

static void test_path_round_trip(void **state) {
        DpAddress a, b;
        char path[DP_DEVICE_PATH_MAX];

        assert_true(address_parse("0000:3b:02.3", &a));
        address_to_path(&a, path);
        assert_string_equal(path, "/org/devpass1/devices/0000_3b_02_3");
        assert_true(address_from_path(path, &b));
        assert_int_equal(address_compare(&a, &b), 0);
        assert_int_equal(address_to_key(&a), address_to_key(&b));
        DpAddress c = address_from_key(address_to_key(&a));
        assert_int_equal(address_compare(&a, &c), 0);
}

static void test_path_rejects(void **state) {
        DpAddress a;

        assert_false(address_from_path("/org/devpass1/devices", &a));
        assert_false(address_from_path("/org/devpass1/devices/", &a));
        assert_false(address_from_path("/org/devpass1/devices/0000_3B_02_3", &a)); /* not canonical */
        assert_false(address_from_path("/org/devpass1/devices/3b_02_3", &a));
        assert_false(address_from_path("/org/devpass1/devices/0000_3b_02_3/x", &a));
        assert_false(address_from_path("/org/devpass1/groups/0000_3b_02_3", &a));
        assert_false(address_from_path("/org/devpass1/devices/0000:3b:02.3", &a));
        assert_false(address_from_path(NULL, &a));
}

static void test_compare_order(void **state) {
        DpAddress a, b;

        assert_true(address_parse("0000:17:00.1", &a));
        assert_true(address_parse("0000:3b:00.0", &b));
        assert_true(address_compare(&a, &b) < 0);
        assert_true(address_to_key(&a) < address_to_key(&b));
        assert_true(address_parse("0001:00:00.0", &b));
        assert_true(address_compare(&a, &b) < 0);
        assert_true(address_compare(&b, &a) > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_canonical),
                cmocka_unit_test(test_parse_forms),
                cmocka_unit_test(test_parse_rejects),
                cmocka_unit_test(test_path_round_trip),
                cmocka_unit_test(test_path_rejects),
                cmocka_unit_test(test_compare_order),
        };
        return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
