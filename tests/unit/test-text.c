/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "bus-errors.h"
#include "config.h"
#include "text.h"

static void test_sanitize(void **state) {
        bool changed;
        g_autofree char *plain = text_sanitize("NVIDIA Corporation", 18, &changed);
        assert_string_equal(plain, "NVIDIA Corporation");
        assert_false(changed);

        /* a format string is data: kept as it is */
        g_autofree char *fmt = text_sanitize("%n%s%x", 6, &changed);
        assert_string_equal(fmt, "%n%s%x");
        assert_false(changed);

        g_autofree char *nl = text_sanitize("evil\nname\t\x1b[31m", 15, &changed);
        assert_string_equal(nl, "evil?name??[31m");
        assert_true(changed);

        /* invalid UTF-8 never reaches D-Bus */
        g_autofree char *bad = text_sanitize("a\xff\xfe" "b", 4, &changed);
        assert_true(changed);
        assert_true(g_utf8_validate(bad, -1, NULL));
        assert_non_null(strchr(bad, 'a'));
        assert_non_null(strchr(bad, 'b'));

        /* an embedded NUL within the length is replaced, not a cut */
        g_autofree char *nul = text_sanitize("ab\0cd", 5, &changed);
        assert_true(changed);
        assert_true(g_utf8_validate(nul, -1, NULL));

        g_autofree char *utf = text_sanitize("Gerät ü", strlen("Gerät ü"), &changed);
        assert_string_equal(utf, "Gerät ü");
        assert_false(changed);
}

static void test_numbers(void **state) {
        guint32 u;
        gint64 i;

        assert_true(text_parse_hex_u32("0x10de", &u));
        assert_int_equal(u, 0x10de);
        assert_true(text_parse_hex_u32("0x030000", &u));
        assert_int_equal(u, 0x030000);
        assert_false(text_parse_hex_u32("10de", &u));
        assert_false(text_parse_hex_u32("0x", &u));
        assert_false(text_parse_hex_u32("0x10de ", &u));
        assert_false(text_parse_hex_u32("0x-1", &u));
        assert_false(text_parse_hex_u32("0x0x10de", &u));   /* found by fuzz/fuzz-text */
        assert_false(text_parse_hex_u32("0x 10de", &u));
        assert_false(text_parse_hex_u32("0x+10de", &u));
        assert_false(text_parse_hex_u32("0x1ffffffff", &u));
        assert_false(text_parse_hex_u32(NULL, &u));

        assert_true(text_parse_int("-1", -1, 100, &i));
        assert_int_equal(i, -1);
        assert_true(text_parse_int("64", 0, 100, &i));
        assert_int_equal(i, 64);
        assert_false(text_parse_int("101", 0, 100, &i));
        assert_false(text_parse_int("-2", -1, 100, &i));
        assert_false(text_parse_int("1a", 0, 100, &i));
        assert_false(text_parse_int("", 0, 100, &i));
        assert_false(text_parse_int(" 1", 0, 100, &i));
        assert_false(text_parse_int("99999999999999999999999", 0, G_MAXINT32, &i));
}

static void test_strip(void **state) {
        char s[] = "flr bus \n";
        text_strip_newline(s);
        assert_string_equal(s, "flr bus");
        char e[] = "\n";
        text_strip_newline(e);
        assert_string_equal(e, "");
}

static void test_quote(void **state) {
        char buf[80];

        assert_string_equal(bus_quote("0000:zz", buf), "'0000:zz'");
        assert_string_equal(bus_quote("a\nb'", buf), "'a\\x0ab\\x27'");
        assert_string_equal(bus_quote(NULL, buf), "''");
        char long_input[300];
        memset(long_input, '\n', sizeof(long_input) - 1);
        long_input[sizeof(long_input) - 1] = '\0';
        const char *q = bus_quote(long_input, buf);
        assert_true(strlen(q) < 80);
        assert_non_null(strstr(q, "..."));

        /* Cut anywhere, it stays UTF-8; bad bytes and C1 controls escaped. */
        const char *const words[] = { "e", "\xc3\xa9", "\xce\xa9", "\xe2\x82\xac", "\xf0\x9f\x92\xa9",
                                      "\xff", "\xc2\x9b", "\xf0\x9f" };
        for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
                for (int n = 1; n < 90; n++) {
                        g_autoptr(GString) in = g_string_new(NULL);
                        for (int k = 0; k < n; k++)
                                g_string_append(in, words[i]);
                        q = bus_quote(in->str, buf);
                        assert_true(strlen(q) < 80);
                        assert_true(g_utf8_validate(q, -1, NULL));
                }
        assert_string_equal(bus_quote("\xc3\xa9\xff\xc2\x9b", buf), "'\xc3\xa9\\xff\\xc2\\x9b'");
}

static void test_node_names(void **state) {
        assert_true(config_node_name_valid("node1"));
        assert_true(config_node_name_valid("rack-3.host_7"));
        assert_false(config_node_name_valid(""));
        assert_false(config_node_name_valid(NULL));
        assert_false(config_node_name_valid("-x"));
        assert_false(config_node_name_valid(".x"));
        assert_false(config_node_name_valid("a b"));
        assert_false(config_node_name_valid("a/b"));
        assert_false(config_node_name_valid("a\nb"));
        char long_name[66];
        memset(long_name, 'a', 65);
        long_name[65] = '\0';
        assert_false(config_node_name_valid(long_name));
        long_name[64] = '\0';
        assert_true(config_node_name_valid(long_name));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sanitize),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_strip),
                cmocka_unit_test(test_quote),
                cmocka_unit_test(test_node_names),
        };
        return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
