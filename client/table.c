/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's tables: named columns, rows of cells that have a text for
 * people and a JSON value; laid out by libsmartcols, or written as JSON.
 * Pure but for the stream a table is printed to. */
#include <stdio.h>
#include <string.h>
#include <libsmartcols.h>

#include "ctl.h"

struct CtlTable {
        char *name;
        const CtlColumn *columns;
        guint n_columns;
        GArray *selected;      /* of guint: the columns to show, in order */
        bool chosen;           /* by --output: JSON shows the same */
        GPtrArray *rows;       /* of CtlRow */
        guint *slot;           /* per column: where its cell is in a row; G_MAXUINT: not kept */
        guint n_kept;          /* cells in a row */
        guint n_halves;        /* of a cell: its text, its JSON, or both */
        bool keep_text, keep_json;
        GStringChunk *strings; /* the cells' text and JSON, each distinct one once */
};

/* A row (CtlRow, opaque to the rest) is an array of the halves this
 * table keeps of each cell it keeps, pointing into the table's strings;
 * NULL for "-" and null. A node's devices share most of their cells
 * (driver, name, state), so a row costs a few pointers. */

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
        t->rows = g_ptr_array_new_with_free_func(g_free);
        t->selected = g_array_new(FALSE, FALSE, sizeof(guint));
        t->slot = g_new(guint, n_columns);
        t->keep_text = !wants.set || !wants.json;
        t->keep_json = !wants.set || wants.json;
        t->n_halves = t->keep_text + t->keep_json;
        t->strings = g_string_chunk_new(16 * 1024);
        for (guint i = 0; i < n_columns; i++) {
                if (columns[i].shown)
                        g_array_append_val(t->selected, i);
                t->slot[i] = column_wanted(&columns[i]) ? t->n_kept++ : G_MAXUINT;
        }
        return t;
}

void ctl_table_free(CtlTable *t) {
        if (!t)
                return;
        g_ptr_array_unref(t->rows);
        g_array_unref(t->selected);
        g_string_chunk_free(t->strings);
        g_free(t->slot);
        g_free(t->name);
        g_free(t);
}

/* Where column c's text (or JSON) is in row; NULL when the table keeps none. */
static const char **row_half(const CtlTable *t, const CtlRow *row, guint c, bool json) {
        if (t->slot[c] == G_MAXUINT || !(json ? t->keep_json : t->keep_text))
                return NULL;
        return (const char **) row + t->slot[c] * t->n_halves + (json && t->keep_text);
}

/* Sets column c's text (or JSON) to s, taking it, when the table keeps
 * it: in the table's strings, each distinct one once. */
static void row_set_half(CtlTable *t, CtlRow *row, guint c, bool json, char *s) {
        const char **half = row_half(t, row, c, json);

        if (half)
                *half = s ? g_string_chunk_insert_const(t->strings, s) : NULL;
        g_free(s);
}

static void row_set(CtlTable *t, CtlRow *row, guint c, CtlCell value) {
        row_set_half(t, row, c, false, value.text);
        row_set_half(t, row, c, true, value.json);
}

static const char *cell_text(const CtlTable *t, const CtlRow *row, guint c) {
        const char **half = row_half(t, row, c, false);
        return half && *half ? *half : "-";
}

static const char *cell_json(const CtlTable *t, const CtlRow *row, guint c) {
        const char **half = row_half(t, row, c, true);
        return half && *half ? *half : "null";
}

CtlRow *ctl_table_add_row(CtlTable *t) {
        CtlRow *row = g_malloc0_n(MAX(t->n_kept * t->n_halves, 1u), sizeof(const char *));
        g_ptr_array_add(t->rows, row);
        return row;
}

guint ctl_table_rows(const CtlTable *t) {
        return t->rows->len;
}

void ctl_cell_set(CtlTable *t, CtlRow *row, const char *key, CtlCell value) {
        guint c = ctl_table_column(t, key);

        g_assert(c != G_MAXUINT);
        row_set(t, row, c, value);
}

void ctl_cell_set_text(CtlTable *t, CtlRow *row, const char *key, char *text) {
        guint c = ctl_table_column(t, key);

        g_assert(c != G_MAXUINT);
        row_set_half(t, row, c, false, text);
}

CtlRow *ctl_table_add_object(CtlTable *t, const CtlObject *o) {
        CtlRow *row = ctl_table_add_row(t);

        for (guint i = 0; i < t->n_columns; i++) {
                const char *property = t->columns[i].property;
                if (!property || t->slot[i] == G_MAXUINT)
                        continue;
                row_set(t, row, i, g_str_equal(property, "@path") ? ctl_cell_str(o->path)
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

void ctl_table_print(const CtlTable *t, const CtlTextOptions *o, FILE *f) {
        struct libscols_table *tb = scols_new_table();

        g_assert(tb);
        scols_table_set_stream(tb, f);
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
                struct libscols_line *line = scols_table_new_line(tb, NULL);
                g_assert(line);
                /* smartcols shows control characters as \x1b and the like. */
                for (guint i = 0; i < t->selected->len; i++)
                        g_assert(scols_line_set_data(line, i, cell_text(t, t->rows->pdata[r],
                                                                        g_array_index(t->selected, guint, i))) == 0);
        }
        /* A table of no rows prints nothing, not even its headings. */
        if (scols_print_table(tb) < 0)
                g_error("libsmartcols could not lay out the table");
        scols_unref_table(tb);
}

char *ctl_table_text(const CtlTable *t, const CtlTextOptions *o) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        g_assert(f);
        ctl_table_print(t, o, f);
        g_assert(fclose(f) == 0);
        /* malloc's: GLib's g_free() is free(). */
        return buf;
}

char *ctl_table_row_json(const CtlTable *t, guint r) {
        const CtlRow *row = t->rows->pdata[r];
        GString *out = g_string_new("{");
        guint n = t->chosen ? t->selected->len : t->n_columns;

        for (guint i = 0; i < n; i++) {
                guint c = t->chosen ? g_array_index(t->selected, guint, i) : i;
                g_string_append_printf(out, "%s\"%s\": %s", i ? ", " : "", t->columns[c].key, cell_json(t, row, c));
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
