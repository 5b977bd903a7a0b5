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

/* A path as JSON: a device's as its address, "/" (none) as null; any
 * other string as it is, "" (none) as null. */
static void json_append_path(GString *out, const char *path) {
        if (g_str_equal(path, "/") || !path[0]) {
                g_string_append(out, "null");
                return;
        }
        g_autofree char *short_path = path[0] == '/' ? ctl_short_address(path) : g_strdup(path);
        g_autofree char *e = ctl_json_escape(short_path);
        g_string_append(out, e);
}

static void json_append_value(GString *out, const CtlValue *v) {
        g_autofree char *s = NULL;

        switch (v->type) {
        case 's':
                s = v->str[0] ? ctl_json_escape(v->str) : g_strdup("null");
                g_string_append(out, s);
                break;
        case 'o':
                json_append_path(out, v->str);
                break;
        case 'b':
                g_string_append(out, v->num ? "true" : "false");
                break;
        case 'a':
                g_string_append_c(out, '[');
                for (size_t i = 0; v->strv && v->strv[i]; i++) {
                        g_string_append(out, i ? ", " : "");
                        json_append_path(out, v->strv[i]);
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
                                g_autofree char *e = strchr("ou", v->tuple_types[j]) ? NULL : ctl_json_escape(t[j]);
                                g_string_append(out, j ? ", " : "");
                                if (e)
                                        g_string_append(out, e);
                                else if (v->tuple_types[j] == 'u')
                                        g_string_append(out, t[j]);   /* digits: a JSON number */
                                else
                                        json_append_path(out, t[j]);
                        }
                        g_string_append_c(out, ']');
                }
                g_string_append_c(out, ']');
                break;
        case 'i':
                /* -1 is none: no NUMA node, no IOMMU group. */
                if (v->num < 0) {
                        g_string_append(out, "null");
                        break;
                }
                /* fall through */
        case 'y':
        case 'q':
        case 'u':
                g_string_append_printf(out, "%" G_GINT64_FORMAT, v->num);
                break;
        default:
                g_string_append(out, "null");
        }
}

char *ctl_json_key(const char *property) {
        GString *out = g_string_new(NULL);

        /* "IommuGroupMembers" -> "iommu_group_members" */
        for (const char *p = property; *p; p++) {
                if (g_ascii_isupper(*p) && p != property)
                        g_string_append_c(out, '_');
                g_string_append_c(out, g_ascii_tolower(*p));
        }
        return g_string_free(out, FALSE);
}

char *ctl_props_to_json(const CtlProps *p) {
        GString *out = g_string_new("{");

        for (guint i = 0; p && i < p->len; i++) {
                const CtlValue *v = p->pdata[i];
                g_autofree char *key = ctl_json_key(v->name);
                g_autofree char *name = ctl_json_escape(key);
                g_string_append_printf(out, "%s%s: ", i ? ", " : "", name);
                json_append_value(out, v);
        }
        g_string_append_c(out, '}');
        return g_string_free(out, FALSE);
}

CtlCell ctl_prop_cell(const CtlProps *p, const char *name) {
        const CtlValue *v = ctl_props_get(p, name);

        if (!v)
                return (CtlCell) { g_strdup("-"), g_strdup("null") };
        GString *json = g_string_new(NULL);
        json_append_value(json, v);
        return (CtlCell) { ctl_value_to_text(v), g_string_free(json, FALSE) };
}

char *ctl_escape(const char *s) {
        GString *out = g_string_new(NULL);
        const char *p = s, *end = s + strlen(s);

        while (p < end) {
                gunichar c = g_utf8_get_char_validated(p, end - p);
                /* A byte that is no UTF-8, or a character that is not
                 * printable (one that moves the cursor or talks to the
                 * terminal, a bidi override): its bytes as \xNN. */
                if (c == (gunichar) -1 || c == (gunichar) -2 || !g_unichar_isprint(c)) {
                        const char *next = c >= 0x80 && c < (gunichar) -2 ? g_utf8_next_char(p) : p + 1;
                        for (; p < next; p++)
                                g_string_append_printf(out, "\\x%02x", (unsigned char) *p);
                        continue;
                }
                const char *next = g_utf8_next_char(p);
                g_string_append_len(out, p, next - p);
                p = next;
        }
        return g_string_free(out, FALSE);
}

char *ctl_escape_lines(const char *text) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

        for (size_t i = 0; lines[i]; i++) {
                char *e = ctl_escape(lines[i]);
                g_free(lines[i]);
                lines[i] = e;
        }
        return g_strjoinv("\n", lines);
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

/* A group's Nodes (name, total, free): "node1: 1 of 2 free, node2: ...". */
static char *node_units_text(const GPtrArray *nodes) {
        GString *out = g_string_new(NULL);

        for (guint i = 0; i < nodes->len; i++) {
                char **t = nodes->pdata[i];
                g_string_append_printf(out, "%s%s: %s of %s free", i ? ", " : "", t[0], t[2], t[1]);
        }
        return g_string_free(out, FALSE);
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
                if (g_str_equal(v->name, "Nodes"))
                        return node_units_text(v->tuples);
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
        case 'i':
                /* -1 is none: no NUMA node, no IOMMU group. */
                if (v->num < 0)
                        return g_strdup("-");
                /* fall through */
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

char *ctl_details_format(GPtrArray *rows) {
        GString *out = g_string_new(NULL);
        int width = 0;

        for (guint i = 0; i + 1 < rows->len; i += 2)
                width = MAX(width, (int) g_utf8_strlen(rows->pdata[i], -1));
        for (guint i = 0; i + 1 < rows->len; i += 2) {
                g_auto(GStrv) lines = g_strsplit(rows->pdata[i + 1], "\n", -1);
                int pad = width - (int) g_utf8_strlen(rows->pdata[i], -1);
                /* The text is the daemon's: escaped, a line at a time. */
                for (size_t j = 0; lines[j]; j++) {
                        g_autofree char *line = ctl_escape(lines[j]);
                        if (j == 0)
                                g_string_append_printf(out, "%*s%s: %s\n", pad, "", (char *) rows->pdata[i], line);
                        else
                                g_string_append_printf(out, "%*s  %s\n", width, "", line);
                }
        }
        return g_string_free(out, FALSE);
}

/* An object that is not there, as a person reads it: sd-bus names only
 * the path. NULL for any other error. */
static char *unknown_object(const char *name, const char *message) {
        static const struct {
                const char *prefix;
                const char *kind;
                const char *verb;
        } kinds[] = {
                { "/org/devpass1/devices/", "device", "devices" },
                { "/org/devpass1/groups/", "group", "groups" },
                { "/org/devpass1/rules/", "rule", "rules" },
                { "/org/devpass1/attachments/", "attachment", "attachments" },
        };
        const char *open = strchr(message, '\''), *close = open ? strchr(open + 1, '\'') : NULL;

        if (!g_str_equal(name, "org.freedesktop.DBus.Error.UnknownObject") || !close)
                return NULL;
        g_autofree char *path = g_strndup(open + 1, (gsize) (close - open - 1));
        DpAddress a;
        char address[DP_ADDRESS_MAX];
        if (g_str_has_prefix(path, kinds[0].prefix) && address_from_path(path, &a)) {
                address_format(&a, address);
                return g_strdup_printf("No PCI function %s on this node ('devpassctl devices' lists them)", address);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                if (g_str_has_prefix(path, kinds[i].prefix))
                        return g_strdup_printf("No %s at '%s' ('devpassctl %s' lists them)", kinds[i].kind, path,
                                               kinds[i].verb);
        return NULL;
}

char *ctl_error_text(const char *what, const char *name, const char *message, int err) {
        if (err == -ETIMEDOUT || g_strcmp0(name, SD_BUS_ERROR_NO_REPLY) == 0 || g_strcmp0(name, SD_BUS_ERROR_TIMEOUT) == 0)
                return g_strdup("devpassd does not answer: is it hung? systemctl status devpassd");
        if (ctl_exit_code_for_error(name, err) == CTL_EXIT_NOT_RUNNING)
                return g_strdup("devpassd is not running on the system bus (start it: systemctl start devpassd)");
        /* The bus daemon's words when no policy lets anyone call devpassd. */
        if (g_strcmp0(name, SD_BUS_ERROR_ACCESS_DENIED) == 0 && message &&
            g_str_has_prefix(message, "Rejected send message"))
                return g_strdup("the system bus refuses calls to devpassd: its bus policy (dbus-1/system.d/"
                                "org.devpass1.conf) is not installed where dbus-daemon reads it (/usr/share or "
                                "/etc, not /usr/local): install with meson setup --prefix=/usr, then reload dbus");
        if (!name || !message)
                return g_strdup_printf("%s: %s", what, g_strerror(-err));
        /* One line, whatever the daemon wrote, in the CLI's words. */
        g_autofree char *line = unknown_object(name, message) ?: ctl_error_words(message);
        g_strdelimit(line, "\n\r", ' ');
        return ctl_escape(g_strstrip(line));
}

char *ctl_error_words(const char *message) {
        /* devpassd speaks D-Bus (its keys, Manager.Release); the user typed
         * devpassctl's options and verbs. */
        static const struct {
                const char *dbus, *cli;
        } words[] = {
                { "or delete it with Release", "or delete it with --release" },
                { "Refused even with Force", "Refused even with --force" },
                { "or Force (needs", "or --force (needs" },
                { "A Mac is for", "--mac is for" },
                { "A Mac can be given for Count 1 only: leave it blank", "--mac can be given for --count 1 only: leave "
                                                                       "it out" },
                { "of Count 1 only", "of --count 1 only" },
                { "leave Mac blank", "leave --mac out" },
                { "release them first", "give them back first (devpassctl give-back)" },
                { "already: release it first", "already: give it back first (devpassctl give-back)" },
                { "would leave it out: release it first", "would leave it out: give it back first (devpassctl give-back)" },
                { "for a moment: release it first", "for a moment: release its machine first (devpassctl release-machine)" },
                { "or release this one", "or give this one back (devpassctl give-back)" },
                { "nothing to release", "nothing to give back" },
                { "until released", "until its machine is released (devpassctl release-machine)" },
                { "release the machine", "release the machine (devpassctl release-machine)" },
        };
        g_autoptr(GString) out = g_string_new(message);

        for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
                g_string_replace(out, words[i].dbus, words[i].cli, 1);
        return g_string_free(g_steal_pointer(&out), FALSE);
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
                /* Running, but not answering. */
                { "org.freedesktop.DBus.Error.NoReply", CTL_EXIT_NOT_RUNNING },
                { "org.freedesktop.DBus.Error.Timeout", CTL_EXIT_NOT_RUNNING },
        };

        for (size_t i = 0; name && i < G_N_ELEMENTS(map); i++)
                if (g_str_equal(map[i].name, name))
                        return map[i].code;
        if (!name && (err == -ENOENT || err == -ECONNREFUSED || err == -ETIMEDOUT))
                return CTL_EXIT_NOT_RUNNING;
        return CTL_EXIT_FAILURE;
}
