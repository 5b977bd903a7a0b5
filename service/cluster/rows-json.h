/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The JSON under the cluster's rows (rows.c): a canonical writer, and
 * exact readers over json-glib whose errors name the member. Pure. */

#include <stdbool.h>
#include <stdint.h>
#include <json-glib/json-glib.h>

/* Writing: each call adds one token, with the comma before it when one
 * is due. */
void cluster_json_open(GString *s, char bracket);
void cluster_json_close(GString *s, char bracket);
void cluster_json_key(GString *s, const char *name);
void cluster_json_string(GString *s, const char *v);
void cluster_json_int(GString *s, int64_t v);
void cluster_json_bool(GString *s, bool v);
void cluster_json_null(GString *s);

/* Parses the len bytes of a value whose outermost is an object: bounded
 * first (size, NUL, UTF-8, nesting), then json-glib. */
JsonNode *cluster_json_parse(const char *value, gsize len, gsize max, unsigned depth, GError **error);

/* Members read exactly: the object has these members and no other
 * (names: NULL-terminated). */
bool cluster_json_members(JsonObject *o, const char *const *names, GError **error);
/* A member of this JSON type, or the error names it. Strings are
 * borrowed from the node. */
bool cluster_json_get_string(JsonObject *o, const char *member, const char **ret, GError **error);
bool cluster_json_get_int(JsonObject *o, const char *member, int64_t min, int64_t max, int64_t *ret, GError **error);
bool cluster_json_get_bool(JsonObject *o, const char *member, bool *ret, GError **error);
/* null reads as 0. */
bool cluster_json_get_int_or_null(JsonObject *o, const char *member, int64_t min, int64_t max, int64_t *ret,
                         GError **error);
JsonArray *cluster_json_get_array(JsonObject *o, const char *member, GError **error);
/* Element i of an array, an object (or a string); the caller names it. */
JsonObject *cluster_json_object_at(JsonArray *a, guint i, GError **error);
const char *cluster_json_string_at(JsonArray *a, guint i, GError **error);
