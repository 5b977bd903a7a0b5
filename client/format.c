/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of devpassctl: JSON, text, tables, exit codes. */
#include <errno.h>
#include <string.h>

#include "address.h"
#include "ctl.h"

void ctl_value_free(CtlValue *v) {
        if (!v)
                return;
        g_free(v->name);
        g_free(v->str);
        g_strfreev(v->strv);
        if (v->tuples)
                g_ptr_array_unref(v->tuples);
        g_free(v->tuple_types);
        g_free(v);
}

const CtlValue *ctl_props_get(const CtlProps *p, const char *name) {
        /* Objects of a kind list their properties in one order: where a
         * name was found last (by the caller's string, a literal as a
         * rule) is where it is, nearly always; a table row asks for ten. */
        static struct {
                const char *name;
                guint index;
        } seen[64];
        guint slot = (guint) (((uintptr_t) name >> 3) % G_N_ELEMENTS(seen));

        if (!p)
                return NULL;
        if (seen[slot].name == name && seen[slot].index < p->len &&
            g_str_equal(((CtlValue *) p->pdata[seen[slot].index])->name, name))
                return p->pdata[seen[slot].index];
        for (guint i = 0; i < p->len; i++)
                if (g_str_equal(((CtlValue *) p->pdata[i])->name, name)) {
                        seen[slot].name = name;
                        seen[slot].index = i;
                        return p->pdata[i];
                }
        return NULL;
}

const char *ctl_props_str(const CtlProps *p, const char *name) {
        const CtlValue *v = ctl_props_get(p, name);
        return v && v->str ? v->str : "";
}

int64_t ctl_props_num(const CtlProps *p, const char *name) {
        const CtlValue *v = ctl_props_get(p, name);
        return v && v->type && strchr("byqui", v->type) ? v->num : -1;
}

char **ctl_props_strv(const CtlProps *p, const char *name) {
        const CtlValue *v = ctl_props_get(p, name);
        return v && v->strv && v->strv[0] ? v->strv : NULL;
}

GPtrArray *ctl_props_tuples(const CtlProps *p, const char *name) {
        const CtlValue *v = ctl_props_get(p, name);
        return v ? v->tuples : NULL;
}

char *ctl_json_escape(const char *s) {
        GString *out = g_string_new("\"");

        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"':  g_string_append(out, "\\\""); break;
                case '\\': g_string_append(out, "\\\\"); break;
                case '\n': g_string_append(out, "\\n"); break;
                case '\t': g_string_append(out, "\\t"); break;
                case '\r': g_string_append(out, "\\r"); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                g_string_append_printf(out, "\\u%04x", *p);
                        else
                                g_string_append_c(out, (char) *p);
                }
        }
        g_string_append_c(out, '"');
        return g_string_free(out, FALSE);
}

static void json_append_value(GString *out, const CtlValue *v) {
        g_autofree char *s = NULL;

        switch (v->type) {
        case 's':
        case 'o':
                s = ctl_json_escape(v->str);
                g_string_append(out, s);
                break;
        case 'b':
                g_string_append(out, v->num ? "true" : "false");
                break;
        case 'a':
                g_string_append_c(out, '[');
                for (size_t i = 0; v->strv && v->strv[i]; i++) {
                        g_autofree char *e = ctl_json_escape(v->strv[i]);
                        g_string_append_printf(out, "%s%s", i ? ", " : "", e);
                }
                g_string_append_c(out, ']');
                break;
        case 'r':
                /* A struct is an array too, as json-glib maps GVariant tuples. */
                g_string_append_c(out, '[');
                for (guint i = 0; v->tuples && i < v->tuples->len; i++) {
                        char **t = v->tuples->pdata[i];
                        g_string_append(out, i ? ", [" : "[");
                        for (size_t j = 0; t[j]; j++) {
                                g_autofree char *e = ctl_json_escape(t[j]);
                                g_string_append_printf(out, "%s%s", j ? ", " : "", e);
                        }
                        g_string_append_c(out, ']');
                }
                g_string_append_c(out, ']');
                break;
        case '?':
                g_string_append(out, "null");
                break;
        default:
                g_string_append_printf(out, "%" G_GINT64_FORMAT, v->num);
        }
}

/* "{" and the members of p, after a first member when out has one. */
static char *props_to_json(GString *out, const CtlProps *p) {
        bool first = out->len == 1;

        for (guint i = 0; p && i < p->len; i++) {
                const CtlValue *v = p->pdata[i];
                g_autofree char *name = ctl_json_escape(v->name);
                g_string_append_printf(out, "%s%s: ", first && i == 0 ? "" : ", ", name);
                json_append_value(out, v);
        }
        g_string_append_c(out, '}');
        return g_string_free(out, FALSE);
}

char *ctl_props_to_json(const CtlProps *p) {
        return props_to_json(g_string_new("{"), p);
}

char *ctl_object_to_json(const CtlObject *o) {
        g_autofree char *path = ctl_json_escape(o->path);
        return props_to_json(g_string_append(g_string_new("{\"Path\": "), path), o->props);
}

char *ctl_text_or_dash(const char *s) {
        return g_strdup(s && s[0] ? s : "-");
}

char *ctl_short_address(const char *s) {
        DpAddress a;
        char buf[DP_ADDRESS_MAX];

        if (address_from_path(s, &a) || address_parse(s, &a)) {
                address_format(&a, buf);
                return g_strdup(buf);
        }
        return g_strdup(s);
}

char *ctl_value_to_text(const CtlValue *v) {
        switch (v->type) {
        case 's':
                return g_strdup(v->str[0] ? v->str : "-");
        case 'o':
                return g_str_equal(v->str, "/") ? g_strdup("-") : ctl_short_address(v->str);
        case 'b':
                return g_strdup(v->num ? "yes" : "no");
        case 'q':
                return g_strdup_printf("0x%04" G_GINT64_MODIFIER "x", v->num);
        case 'y':
                return g_strdup_printf("0x%02" G_GINT64_MODIFIER "x", v->num);
        case 'a': {
                if (!v->strv || !v->strv[0])
                        return g_strdup("-");
                GString *out = g_string_new(NULL);
                for (size_t i = 0; v->strv[i]; i++) {
                        g_autofree char *e = ctl_short_address(v->strv[i]);
                        g_string_append_printf(out, "%s%s", i ? " " : "", e);
                }
                return g_string_free(out, FALSE);
        }
        case 'r': {
                if (g_str_equal(v->name, "Conditions"))
                        return ctl_conditions_text(v->tuples);
                if (!v->tuples || v->tuples->len == 0)
                        return g_strdup("-");
                /* Members by a space, structs by a comma; paths as addresses. */
                GString *out = g_string_new(NULL);
                for (guint i = 0; i < v->tuples->len; i++) {
                        char **t = v->tuples->pdata[i];
                        g_string_append(out, i ? ", " : "");
                        for (size_t j = 0; t[j]; j++) {
                                g_autofree char *e = v->tuple_types[j] == 'o' ? ctl_short_address(t[j]) : g_strdup(t[j]);
                                g_string_append_printf(out, "%s%s", j ? " " : "", e);
                        }
                }
                return g_string_free(out, FALSE);
        }
        case '?':
                return g_strdup("?");
        default:
                if (g_str_equal(v->name, "Class"))
                        return g_strdup_printf("0x%06" G_GINT64_MODIFIER "x", v->num);
                return g_strdup_printf("%" G_GINT64_FORMAT, v->num);
        }
}

char *ctl_sriov_text(const CtlProps *p) {
        const char *pf = ctl_props_str(p, "PhysicalFunction");

        if (pf[0] && !g_str_equal(pf, "/")) {
                g_autofree char *a = ctl_short_address(pf);
                return g_strdup_printf("VF of %s", a);
        }
        int64_t total = ctl_props_num(p, "SriovTotalVfs");
        if (total > 0)
                return g_strdup_printf("PF %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                       ctl_props_num(p, "SriovNumVfs"), total);
        return g_strdup("-");
}

char *ctl_device_name(const CtlProps *p) {
        const char *vendor = ctl_props_str(p, "VendorName"), *device = ctl_props_str(p, "DeviceName");
        GString *out = g_string_new(vendor);

        if (device[0])
                g_string_append_printf(out, "%s%s", out->len ? " " : "", device);
        g_string_append_printf(out, "%s[%04" G_GINT64_MODIFIER "x:%04" G_GINT64_MODIFIER "x]",
                               out->len ? " " : "", ctl_props_num(p, "VendorId"), ctl_props_num(p, "DeviceId"));
        return g_string_free(out, FALSE);
}

/* The width of each column of rows. */
static GArray *column_widths(GPtrArray *rows) {
        GArray *widths = g_array_new(FALSE, TRUE, sizeof(guint));

        for (guint r = 0; r < rows->len; r++) {
                GPtrArray *cells = rows->pdata[r];
                if (widths->len < cells->len)
                        g_array_set_size(widths, cells->len);
                for (guint c = 0; c < cells->len; c++) {
                        guint w = (guint) g_utf8_strlen(cells->pdata[c], -1);
                        g_array_index(widths, guint, c) = MAX(g_array_index(widths, guint, c), w);
                }
        }
        return widths;
}

bool ctl_table_fits(GPtrArray *rows, guint widest_col, guint min_width, guint max_width) {
        g_autoptr(GArray) widths = column_widths(rows);
        guint total = 0;

        if (max_width == 0)
                return true;
        for (guint c = 0; c < widths->len; c++) {
                guint w = g_array_index(widths, guint, c);
                total += (c == widest_col ? MIN(w, min_width) : w) + (c ? 2 : 0);
        }
        return total <= max_width;
}

char *ctl_table_format(GPtrArray *rows, guint widest_col, guint max_width) {
        g_autoptr(GArray) widths = column_widths(rows);
        GString *out = g_string_new(NULL);

        if (max_width > 0 && widest_col < widths->len) {
                guint total = 0;
                for (guint c = 0; c < widths->len; c++)
                        total += g_array_index(widths, guint, c) + (c ? 2 : 0);
                guint *w = &g_array_index(widths, guint, widest_col);
                if (total > max_width)
                        *w = MAX(*w > total - max_width ? *w - (total - max_width) : 0, 8u);
        }

        for (guint r = 0; r < rows->len; r++) {
                GPtrArray *cells = rows->pdata[r];
                GString *line = g_string_new(NULL);
                for (guint c = 0; c < cells->len; c++) {
                        const char *cell = cells->pdata[c];
                        guint w = g_array_index(widths, guint, c), len = (guint) g_utf8_strlen(cell, -1);
                        if (c)
                                g_string_append(line, "  ");
                        if (len > w) {
                                const char *cut = g_utf8_offset_to_pointer(cell, w - 1);
                                g_string_append_len(line, cell, cut - cell);
                                g_string_append(line, "…");
                                len = w;
                        } else
                                g_string_append(line, cell);
                        if (c + 1 < cells->len)
                                for (guint i = len; i < w; i++)
                                        g_string_append_c(line, ' ');
                }
                g_string_append_printf(out, "%s\n", line->str);
                g_string_free(line, TRUE);
        }
        return g_string_free(out, FALSE);
}

char *ctl_details_format(GPtrArray *rows) {
        GString *out = g_string_new(NULL);
        int width = 0;

        for (guint i = 0; i + 1 < rows->len; i += 2)
                width = MAX(width, (int) g_utf8_strlen(rows->pdata[i], -1));
        for (guint i = 0; i + 1 < rows->len; i += 2) {
                g_auto(GStrv) lines = g_strsplit(rows->pdata[i + 1], "\n", -1);
                int pad = width - (int) g_utf8_strlen(rows->pdata[i], -1);
                g_string_append_printf(out, "%*s%s: %s\n", pad, "", (char *) rows->pdata[i], lines[0]);
                for (size_t j = 1; lines[j]; j++)
                        g_string_append_printf(out, "%*s  %s\n", width, "", lines[j]);
        }
        return g_string_free(out, FALSE);
}

int ctl_exit_code_for_error(const char *name, int err) {
        static const struct {
                const char *name;
                int code;
        } map[] = {
                { "org.devpass1.Error.InvalidArgument", CTL_EXIT_USAGE },
                { "org.devpass1.Error.NotFound", CTL_EXIT_NOT_FOUND },
                { "org.freedesktop.DBus.Error.UnknownObject", CTL_EXIT_NOT_FOUND },
                { "org.freedesktop.DBus.Error.InvalidArgs", CTL_EXIT_USAGE },
                { "org.devpass1.Error.NotAuthorized", CTL_EXIT_NOT_AUTHORIZED },
                { "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", CTL_EXIT_NOT_AUTHORIZED },
                { "org.devpass1.Error.Unsafe", CTL_EXIT_UNSAFE },
                { "org.freedesktop.DBus.Error.AccessDenied", CTL_EXIT_NOT_AUTHORIZED },
                { "org.freedesktop.DBus.Error.ServiceUnknown", CTL_EXIT_NOT_RUNNING },
                { "org.freedesktop.DBus.Error.NameHasNoOwner", CTL_EXIT_NOT_RUNNING },
        };

        for (size_t i = 0; name && i < G_N_ELEMENTS(map); i++)
                if (g_str_equal(map[i].name, name))
                        return map[i].code;
        if (!name && (err == -ENOENT || err == -ECONNREFUSED))
                return CTL_EXIT_NOT_RUNNING;
        return CTL_EXIT_FAILURE;
}
