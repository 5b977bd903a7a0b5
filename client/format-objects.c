/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of devpassctl about groups, rules, their conditions and
 * the impact report: lookups, rows, lines, --match parsing. */
#include <string.h>

#include "address.h"
#include "ctl.h"

void ctl_object_free(CtlObject *o) {
        if (!o)
                return;
        g_free(o->path);
        if (o->props)
                g_ptr_array_unref(o->props);
        g_free(o);
}

CtlObjects *ctl_objects_new(void) {
        CtlObjects *o = g_new0(CtlObjects, 1);
        o->devices = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        o->groups = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        o->rules = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        o->attachments = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        o->nodes = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        return o;
}

void ctl_objects_free(CtlObjects *o) {
        if (!o)
                return;
        g_ptr_array_unref(o->devices);
        g_ptr_array_unref(o->groups);
        g_ptr_array_unref(o->rules);
        g_ptr_array_unref(o->attachments);
        g_ptr_array_unref(o->nodes);
        ctl_values_free(o->values);
        g_free(o);
}

static const char *name_of(const CtlObject *o) {
        return ctl_props_str(o->props, "Name");
}

static gint compare_devices(gconstpointer a, gconstpointer b) {
        const CtlObject *x = *(CtlObject *const *) a, *y = *(CtlObject *const *) b;
        const char *s = ctl_props_str(x->props, "Address"), *t = ctl_props_str(y->props, "Address");
        DpAddress p, q;

        /* devpassd's addresses are canonical: of one length, their text
         * sorts as their numbers; only a longer domain needs parsing. */
        if (strlen(s) == strlen(t))
                return strcmp(s, t);
        if (!address_parse(s, &p) || !address_parse(t, &q))
                return strcmp(s, t);
        return address_compare(&p, &q);
}

/* By name, then path: names of rules may repeat. */
static gint compare_named(gconstpointer a, gconstpointer b) {
        const CtlObject *x = *(CtlObject *const *) a, *y = *(CtlObject *const *) b;
        int c = g_utf8_collate(name_of(x), name_of(y));
        return c ? c : strcmp(x->path, y->path);
}

static gint compare_rules(gconstpointer a, gconstpointer b, gpointer data) {
        const CtlObject *x = *(CtlObject *const *) a, *y = *(CtlObject *const *) b;
        g_autofree char *gx = ctl_object_label(data, ctl_props_str(x->props, "Group"));
        g_autofree char *gy = ctl_object_label(data, ctl_props_str(y->props, "Group"));
        int c = g_utf8_collate(gx, gy);
        return c ? c : compare_named(a, b);
}

static gint compare_attachments(gconstpointer a, gconstpointer b) {
        const CtlObject *x = *(CtlObject *const *) a, *y = *(CtlObject *const *) b;
        int c = strcmp(ctl_props_str(x->props, "Machine"), ctl_props_str(y->props, "Machine"));
        return c ? c : compare_named(a, b);
}

void ctl_objects_sort(CtlObjects *o) {
        g_ptr_array_sort(o->devices, compare_devices);
        g_ptr_array_sort(o->groups, compare_named);
        g_ptr_array_sort_with_data(o->rules, compare_rules, o->groups);
        g_ptr_array_sort(o->attachments, compare_attachments);
        g_ptr_array_sort(o->nodes, compare_named);
}

const CtlObject *ctl_object_by_path(const GPtrArray *objects, const char *path) {
        for (guint i = 0; objects && i < objects->len; i++) {
                const CtlObject *o = objects->pdata[i];
                if (g_str_equal(o->path, path))
                        return o;
        }
        return NULL;
}

const CtlObject *ctl_object_lookup(const GPtrArray *objects, const char *arg, guint *ret_count) {
        const CtlObject *found = NULL;
        guint count = 0;

        if (arg[0] == '/') {
                found = ctl_object_by_path(objects, arg);
                *ret_count = found ? 1 : 0;
                return found;
        }
        for (guint i = 0; i < objects->len; i++)
                if (g_str_equal(name_of(objects->pdata[i]), arg)) {
                        found = found ? found : objects->pdata[i];
                        count++;
                }
        *ret_count = count;
        return found;
}

char *ctl_object_label(const GPtrArray *objects, const char *path) {
        const CtlObject *o = ctl_object_by_path(objects, path);

        if (o && name_of(o)[0])
                return g_strdup(name_of(o));
        return g_strdup(!path[0] || g_str_equal(path, "/") ? "-" : path);
}

/* Whether the shell takes s as one word as it is. */
static bool shell_safe(const char *s) {
        if (!s[0])
                return false;
        for (const char *p = s; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("-_.:/+@%=", *p))
                        return false;
        return true;
}

char *ctl_condition_text(char *const *condition) {
        const char *value = condition[2];
        /* Quoted as the shell wants it, to paste after --match. */
        g_autofree char *quoted = shell_safe(value) ? g_strdup(value) : g_shell_quote(value);
        return g_strdup_printf("%s %s %s", condition[0], condition[1], quoted);
}

char *ctl_conditions_text(const GPtrArray *conditions) {
        if (!conditions || conditions->len == 0)
                return g_strdup("-");
        GString *out = g_string_new(NULL);
        for (guint i = 0; i < conditions->len; i++) {
                g_autofree char *c = ctl_condition_text(conditions->pdata[i]);
                g_string_append_printf(out, "%s%s", i ? ", " : "", c);
        }
        return g_string_free(out, FALSE);
}

/* The next word of *s, which moves past it and the white space after. */
static char *next_word(const char **s) {
        const char *start = *s, *end = start;

        while (*end && !g_ascii_isspace(*end))
                end++;
        *s = end;
        while (g_ascii_isspace(**s))
                (*s)++;
        return g_strndup(start, end - start);
}

bool ctl_condition_parse(const char *arg, char *const *next, int n_next, char ***ret,
                         int *ret_consumed, char **ret_error) {
        const char *p = arg;
        g_auto(GStrv) c = g_new0(char *, 4);

        while (g_ascii_isspace(*p))
                p++;
        c[0] = next_word(&p);
        if (!c[0][0]) {
                *ret_error = g_strdup("--match needs FIELD OP VALUE, e.g. --match vendor eq 10de");
                return false;
        }
        if (!*p) {
                /* Three words: FIELD, then OP and VALUE as they come. */
                if (n_next < 2) {
                        *ret_error = g_strdup_printf("--match %s needs OP and VALUE, e.g. --match vendor eq 10de", c[0]);
                        return false;
                }
                c[1] = g_strdup(next[0]);
                c[2] = g_strdup(next[1]);
                *ret_consumed = 2;
        } else {
                c[1] = next_word(&p);
                if (!*p) {
                        *ret_error = g_strdup_printf("--match '%s' has no VALUE, e.g. --match 'vendor eq 10de'", arg);
                        return false;
                }
                c[2] = g_strdup(p);
                *ret_consumed = 0;
        }
        *ret = g_steal_pointer(&c);
        return true;
}

/* "rule 'a' of group 'g'" */
static char *rule_text(const CtlObjects *all, const char *path) {
        const CtlObject *rule = ctl_object_by_path(all->rules, path);
        g_autofree char *name = ctl_object_label(all->rules, path);
        g_autofree char *group = rule ? ctl_object_label(all->groups, ctl_props_str(rule->props, "Group"))
                                      : g_strdup("-");
        return g_strdup_printf("rule '%s' of group '%s'", name, group);
}

char *ctl_conflicts_text(const GPtrArray *rules, const CtlObjects *all) {
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        GString *out = g_string_new(NULL);

        for (guint i = 0; i < rules->len; i++) {
                const CtlObject *rule = rules->pdata[i];
                GPtrArray *conflicts = ctl_props_tuples(rule->props, "Conflicts");
                for (guint j = 0; conflicts && j < conflicts->len; j++) {
                        char **c = conflicts->pdata[j];
                        /* Each rule of the pair lists the other: say it once. */
                        bool first = strcmp(rule->path, c[1]) < 0;
                        char *key = g_strdup_printf("%s %s %s", c[0], first ? rule->path : c[1],
                                                    first ? c[1] : rule->path);
                        if (!g_hash_table_add(seen, key))
                                continue;
                        g_autofree char *address = ctl_short_address(c[0]);
                        g_autofree char *mine = rule_text(all, rule->path), *theirs = rule_text(all, c[1]);
                        g_string_append_printf(out, "Conflict: %s and %s both match %s, which is in neither group\n",
                                               mine, theirs, address);
                }
        }
        return g_string_free(out, FALSE);
}

static bool has_address(char *const *addresses, const char *address) {
        g_autofree char *a = ctl_short_address(address);

        for (size_t i = 0; addresses && addresses[i]; i++) {
                g_autofree char *b = ctl_short_address(addresses[i]);
                if (g_str_equal(a, b))
                        return true;
        }
        return false;
}

char *ctl_reboot_text(const char *node, const GPtrArray *reasons, char *const *addresses) {
        GString *out = g_string_new(NULL);
        bool any = false;

        g_string_append_printf(out, "Reboot required: reboot node %s to finish", node && node[0] ? node : "(unknown)");
        for (guint i = 0; addresses && reasons && i < reasons->len; i++)
                any = any || has_address(addresses, ((char **) reasons->pdata[i])[0]);
        guint n = 0;
        for (guint i = 0; reasons && i < reasons->len; i++) {
                char **r = reasons->pdata[i];
                if (any && !has_address(addresses, r[0]))
                        continue;
                g_autofree char *a = ctl_short_address(r[0]);
                g_string_append_printf(out, "%s %s (%s)", n++ ? "," : "", a, r[1]);
        }
        if (n == 0)
                g_string_append(out, " the change");
        return g_string_free(out, FALSE);
}

static char *labels_text(const GPtrArray *objects, char *const *paths) {
        if (!paths || !paths[0])
                return g_strdup("-");
        GString *out = g_string_new(NULL);
        for (size_t i = 0; paths[i]; i++) {
                g_autofree char *label = ctl_object_label(objects, paths[i]);
                g_string_append_printf(out, "%s%s", i ? ", " : "", label);
        }
        return g_string_free(out, FALSE);
}

/* The text of one property, where names say more than paths. */
static char *property_text(const CtlValue *v, const CtlObjects *all) {
        if (v->type == 'o' && g_str_equal(v->name, "Group"))
                return ctl_object_label(all->groups, v->str);
        if (v->type == 'o' && g_str_equal(v->name, "Rule"))
                return ctl_object_label(all->rules, v->str);
        if (v->type == 'a' && g_str_equal(v->name, "Rules"))
                return labels_text(all->rules, v->strv);
        if (v->type == 'a' && g_str_equal(v->name, "Blockers"))
                return v->strv && v->strv[0] ? g_strjoinv("\n", v->strv) : g_strdup("-");
        if (v->type == 'r' && g_str_equal(v->name, "Conflicts") && v->tuples && v->tuples->len) {
                GString *out = g_string_new(NULL);
                for (guint i = 0; i < v->tuples->len; i++) {
                        char **c = v->tuples->pdata[i];
                        g_autofree char *address = ctl_short_address(c[0]), *rule = rule_text(all, c[1]);
                        g_string_append_printf(out, "%s%s also matched by %s", i ? "\n" : "", address, rule);
                }
                return g_string_free(out, FALSE);
        }
        return ctl_value_to_text(v);
}

char *ctl_object_details(const CtlObject *o, const CtlObjects *all) {
        g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
        DpAddress a;

        /* A device has its Address; groups and rules are named by path. */
        if (!address_from_path(o->path, &a)) {
                g_ptr_array_add(rows, g_strdup("Path"));
                g_ptr_array_add(rows, g_strdup(o->path));
        }
        for (guint i = 0; i < o->props->len; i++) {
                const CtlValue *v = o->props->pdata[i];
                g_ptr_array_add(rows, g_strdup(v->name));
                g_ptr_array_add(rows, property_text(v, all));
        }
        return ctl_details_format(rows);
}
