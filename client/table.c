/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's tables: named columns, rows of cells that have a text for
 * people and a JSON value; laid out by libsmartcols, or written as JSON.
 * Pure: the text comes back as a string. */
#include <string.h>
#include <libsmartcols.h>

#include "ctl.h"

struct CtlTable {
        char *name;
        const CtlColumn *columns;
        guint n_columns;
        GArray *selected;      /* of guint: the columns to show, in order */
        bool chosen;           /* by --output: JSON shows the same */
        GPtrArray *rows;       /* of CtlCell arrays (n_columns each) */
        bool *needed;          /* per column: its cells are kept */
        bool keep_text, keep_json;
};

/* What this run prints (ctl_tables_want()): a table keeps only those
 * cells, so that 16,384 devices do not cost 30 columns of text and JSON
 * each. Unset (the unit tests): every cell. */
static struct {
        bool set, json;
        char **output;
} wants;

void ctl_tables_want(bool json, const char *output) {
        wants.set = true;
        wants.json = json;
        g_strfreev(wants.output);
        wants.output = output ? g_strsplit(output, ",", -1) : NULL;
        for (size_t i = 0; wants.output && wants.output[i]; i++)
                g_strstrip(wants.output[i]);
}

static bool column_wanted(const CtlColumn *c) {
        if (!wants.set || (wants.json && !wants.output))
                return true;
        if (!wants.output)
                return c->shown;
        for (size_t i = 0; wants.output[i]; i++)
                if (g_ascii_strcasecmp(wants.output[i], c->key) == 0)
                        return true;
        return false;
}

/* value, or its halves this table keeps; nothing for a column not needed. */
static CtlCell cell_kept(const CtlTable *t, guint c, CtlCell value) {
        if (!t->needed[c])
                ctl_cell_clear(&value);
        if (!t->keep_text)
                g_clear_pointer(&value.text, g_free);
        if (!t->keep_json)
                g_clear_pointer(&value.json, g_free);
        return value;
}

void ctl_cell_clear(CtlCell *c) {
        g_clear_pointer(&c->text, g_free);
        g_clear_pointer(&c->json, g_free);
}

CtlCell ctl_cell_str(const char *s) {
        if (!s || !s[0])
                return (CtlCell) { g_strdup("-"), g_strdup("null") };
        return (CtlCell) { g_strdup(s), ctl_json_escape(s) };
}

CtlCell ctl_cell_take(char *text) {
        CtlCell c = ctl_cell_str(text);
        g_free(text);
        return c;
}

CtlCell ctl_cell_num(int64_t v) {
        /* -1 is "none" in devpassd's properties (NUMA node, IOMMU group). */
        if (v < 0)
                return (CtlCell) { g_strdup("-"), g_strdup("null") };
        return (CtlCell) { g_strdup_printf("%" G_GINT64_FORMAT, v), g_strdup_printf("%" G_GINT64_FORMAT, v) };
}

CtlCell ctl_cell_bool(bool b) {
        return (CtlCell) { g_strdup(b ? "yes" : "no"), g_strdup(b ? "true" : "false") };
}

CtlCell ctl_cell_list(char *const *items, const char *separator) {
        GString *text = g_string_new(NULL), *json = g_string_new("[");

        for (size_t i = 0; items && items[i]; i++) {
                g_autofree char *e = ctl_json_escape(items[i]);
                g_string_append_printf(text, "%s%s", i ? separator : "", items[i]);
                g_string_append_printf(json, "%s%s", i ? ", " : "", e);
        }
        g_string_append_c(json, ']');
        if (!text->len)
                g_string_append_c(text, '-');
        return (CtlCell) { g_string_free(text, FALSE), g_string_free(json, FALSE) };
}

CtlTable *ctl_table_new(const char *name, const CtlColumn *columns, guint n_columns) {
        CtlTable *t = g_new0(CtlTable, 1);

        t->name = g_strdup(name);
        t->columns = columns;
        t->n_columns = n_columns;
        t->rows = g_ptr_array_new();
        t->selected = g_array_new(FALSE, FALSE, sizeof(guint));
        t->needed = g_new0(bool, n_columns);
        t->keep_text = !wants.set || !wants.json;
        t->keep_json = !wants.set || wants.json;
        for (guint i = 0; i < n_columns; i++) {
                if (columns[i].shown)
                        g_array_append_val(t->selected, i);
                t->needed[i] = column_wanted(&columns[i]);
        }
        return t;
}

void ctl_table_free(CtlTable *t) {
        if (!t)
                return;
        for (guint r = 0; r < t->rows->len; r++) {
                CtlCell *cells = t->rows->pdata[r];
                for (guint c = 0; c < t->n_columns; c++)
                        ctl_cell_clear(&cells[c]);
                g_free(cells);
        }
        g_ptr_array_unref(t->rows);
        g_array_unref(t->selected);
        g_free(t->needed);
        g_free(t->name);
        g_free(t);
}

CtlCell *ctl_table_add_row(CtlTable *t) {
        CtlCell *cells = g_new0(CtlCell, t->n_columns);
        g_ptr_array_add(t->rows, cells);
        return cells;
}

guint ctl_table_rows(const CtlTable *t) {
        return t->rows->len;
}

void ctl_cell_set(CtlTable *t, CtlCell *row, const char *key, CtlCell value) {
        guint c = ctl_table_column(t, key);

        g_assert(c != G_MAXUINT);
        ctl_cell_clear(&row[c]);
        row[c] = cell_kept(t, c, value);
}

void ctl_cell_set_text(CtlTable *t, CtlCell *row, const char *key, char *text) {
        guint c = ctl_table_column(t, key);

        g_assert(c != G_MAXUINT);
        g_free(row[c].text);
        row[c].text = t->needed[c] && t->keep_text ? text : (g_free(text), NULL);
}

CtlCell *ctl_table_add_object(CtlTable *t, const CtlObject *o) {
        CtlCell *row = ctl_table_add_row(t);

        for (guint i = 0; i < t->n_columns; i++) {
                const char *property = t->columns[i].property;
                if (!property || !t->needed[i])
                        continue;
                row[i] = cell_kept(t, i, g_str_equal(property, "@path") ? ctl_cell_str(o->path)
                                                                       : ctl_prop_cell(o->props, property));
        }
        return row;
}

guint ctl_table_column(const CtlTable *t, const char *key) {
        for (guint i = 0; i < t->n_columns; i++)
                if (g_ascii_strcasecmp(t->columns[i].key, key) == 0)
                        return i;
        return G_MAXUINT;
}

char *ctl_table_column_names(const CtlTable *t) {
        GString *out = g_string_new(NULL);

        for (guint i = 0; i < t->n_columns; i++)
                g_string_append_printf(out, "%s%s", i ? " " : "", t->columns[i].key);
        return g_string_free(out, FALSE);
}

bool ctl_table_select(CtlTable *t, const char *output, char **ret_error) {
        g_auto(GStrv) words = g_strsplit(output, ",", -1);
        g_autoptr(GArray) selected = g_array_new(FALSE, FALSE, sizeof(guint));

        for (size_t i = 0; words[i]; i++) {
                guint c = ctl_table_column(t, g_strstrip(words[i]));
                if (c == G_MAXUINT) {
                        g_autofree char *names = ctl_table_column_names(t);
                        g_autofree char *shown = ctl_escape(words[i]);
                        *ret_error = g_strdup_printf("--output: '%s' is no column of %s: use %s", shown, t->name,
                                                     names);
                        return false;
                }
                g_array_append_val(selected, c);
        }
        if (selected->len == 0) {
                *ret_error = g_strdup("--output needs one or more columns, e.g. --output address,driver");
                return false;
        }
        g_array_unref(t->selected);
        t->selected = g_steal_pointer(&selected);
        t->chosen = true;
        return true;
}

void ctl_table_hide(CtlTable *t, const char *key) {
        for (guint i = 0; !t->chosen && i < t->selected->len; i++)
                if (g_str_equal(t->columns[g_array_index(t->selected, guint, i)].key, key))
                        g_array_remove_index(t->selected, i--);
}

char *ctl_table_text(const CtlTable *t, const CtlTextOptions *o) {
        struct libscols_table *tb = scols_new_table();
        char *out = NULL;

        g_assert(tb);
        scols_table_enable_noheadings(tb, o->no_headings);
        scols_table_enable_raw(tb, o->raw);
        /* Only a known width cuts: a pipe gets every cell whole. */
        if (o->width > 0 && !o->raw) {
                scols_table_set_termforce(tb, SCOLS_TERMFORCE_ALWAYS);
                scols_table_set_termwidth(tb, o->width);
        } else
                scols_table_set_termforce(tb, SCOLS_TERMFORCE_NEVER);
        scols_table_set_column_separator(tb, o->raw ? " " : "  ");

        for (guint i = 0; i < t->selected->len; i++) {
                const CtlColumn *c = &t->columns[g_array_index(t->selected, guint, i)];
                int flags = (c->cut ? SCOLS_FL_TRUNC : 0) | (c->right ? SCOLS_FL_RIGHT : 0);
                g_assert(scols_table_new_column(tb, c->heading, 0, flags));
        }
        for (guint r = 0; r < t->rows->len; r++) {
                const CtlCell *cells = t->rows->pdata[r];
                struct libscols_line *line = scols_table_new_line(tb, NULL);
                g_assert(line);
                /* smartcols shows control characters as \x1b and the like. */
                for (guint i = 0; i < t->selected->len; i++)
                        g_assert(scols_line_set_data(line, i, cells[g_array_index(t->selected, guint, i)].text ?: "-") == 0);
        }
        if (scols_print_table_to_string(tb, &out) < 0)
                g_error("libsmartcols could not lay out the table");
        scols_unref_table(tb);
        /* A table of no rows prints its headings; the string has no last newline. */
        char *text = g_strconcat(out ? out : "", out && out[0] ? "\n" : "", NULL);
        free(out);
        return text;
}

char *ctl_table_row_json(const CtlTable *t, guint r) {
        const CtlCell *cells = t->rows->pdata[r];
        GString *out = g_string_new("{");
        guint n = t->chosen ? t->selected->len : t->n_columns;

        for (guint i = 0; i < n; i++) {
                guint c = t->chosen ? g_array_index(t->selected, guint, i) : i;
                g_string_append_printf(out, "%s\"%s\": %s", i ? ", " : "", t->columns[c].key, cells[c].json ?: "null");
        }
        g_string_append_c(out, '}');
        return g_string_free(out, FALSE);
}

char *ctl_table_json(const CtlTable *t) {
        GString *out = g_string_new(NULL);

        g_string_append_printf(out, "{\"%s\": [", t->name);
        for (guint r = 0; r < t->rows->len; r++) {
                g_autofree char *row = ctl_table_row_json(t, r);
                g_string_append_printf(out, "%s\n  %s", r ? "," : "", row);
        }
        g_string_append(out, t->rows->len ? "\n]}\n" : "]}\n");
        return g_string_free(out, FALSE);
}
