/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strings that come from sysfs or pci.ids are hostile: they may hold
 * control characters, newlines or bytes that are not UTF-8, and D-Bus
 * refuses a reply with a string that is not valid UTF-8. Pure, no I/O. */

#include <stdbool.h>
#include <glib.h>

/* A copy that is valid UTF-8 with no control characters (each one becomes
 * '?', each invalid sequence U+FFFD). *changed tells whether it had to. */
char *text_sanitize(const char *s, gsize len, bool *changed);

/* A caller's value quoted for a message: '...' around at most 40
 * characters, escaped (control characters, quotes and bytes above 0x7f as
 * \\ sequences), "..." when cut; "(not UTF-8)" when it is not text. The
 * result is always short, printable ASCII. */
char *text_quote(const char *s);

/* The kernel's attribute files end in one newline; strip it and any
 * trailing white space, in place. */
void text_strip_newline(char *s);

/* Whole-string parsers for sysfs numbers: "0x10de", "-1", "4". */
bool text_parse_hex_u32(const char *s, guint32 *ret);
bool text_parse_int(const char *s, gint64 min, gint64 max, gint64 *ret);

/* The keys of a table keyed by strings, sorted (borrowed strings). */
GPtrArray *text_keys_sorted(GHashTable *table);
