/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

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

static char *vf_of(const char *pf, unsigned offset, unsigned stride, unsigned index) {
        DpAddress a, v;
        char buf[DP_ADDRESS_MAX];

        assert_true(address_parse(pf, &a));
        if (!address_vf(&a, offset, stride, index, &v))
                return g_strdup("none");
        address_format(&v, buf);
        return g_strdup(buf);
}

static void test_vf_addresses(void **state) {
        static const struct {
                const char *pf;
                unsigned offset, stride, index;
                const char *want;
        } cases[] = {
                /* The GPU server's ports: X710 PFs 3b:00.0 (offset 16) and 3b:00.1 (79). */
                { "0000:3b:00.0", 16, 1, 0, "0000:3b:02.0" },
                { "0000:3b:00.0", 16, 1, 3, "0000:3b:02.3" },
                { "0000:3b:00.1", 79, 1, 0, "0000:3b:0a.0" },
                { "0000:3b:00.1", 79, 1, 9, "0000:3b:0b.1" },
                /* A stride of 2 skips functions; a large offset carries into the next bus. */
                { "0000:81:00.0", 2, 2, 3, "0000:81:01.0" },
                { "0000:81:00.1", 255, 1, 0, "0000:82:00.0" },
                { "10000:e0:06.0", 8, 1, 1, "10000:e0:07.1" },
                /* Past bus ff there is no routing ID. */
                { "0000:ff:1f.0", 8, 1, 0, "none" },
                { "0000:fe:00.0", 256, 4, 64, "none" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *got = vf_of(cases[i].pf, cases[i].offset, cases[i].stride, cases[i].index);
                assert_string_equal(got, cases[i].want);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_canonical),
                cmocka_unit_test(test_parse_forms),
                cmocka_unit_test(test_parse_rejects),
                cmocka_unit_test(test_path_round_trip),
                cmocka_unit_test(test_path_rejects),
                cmocka_unit_test(test_compare_order),
                cmocka_unit_test(test_vf_addresses),
        };
        return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
