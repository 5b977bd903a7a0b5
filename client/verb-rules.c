/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl rules, create-rule, update-rule, delete-rule. */
#include <stdio.h>

#include "ctl.h"

enum {
        OPT_MATCH = CTL_OPT_PRIVATE,
        OPT_NODE,
        OPT_ENABLE,
        OPT_DISABLE,
        OPT_GROUP,
};

/* The settings of a rule as the options give them; NULL or -1 when not. */
typedef struct {
        GPtrArray *conditions;
        const char *name, *node, *group;
        int enabled;
} RuleSettings;

static void rule_settings_clear(RuleSettings *s) {
        g_clear_pointer(&s->conditions, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RuleSettings, rule_settings_clear)

/* Takes one option into s; false after reporting a bad one. */
static bool rule_option(int c, int argc, char **argv, RuleSettings *s) {
        switch (c) {
        case OPT_MATCH: {
                g_autofree char *error = NULL;
                char **condition;
                int consumed;
                /* Three words, or one: OP and VALUE may be argv's next two. */
                if (!ctl_condition_parse(optarg, argv + optind, argc - optind, &condition, &consumed, &error)) {
                        ctl_usage("%s: %s", argv[0], error);
                        return false;
                }
                optind += consumed;
                if (!s->conditions)
                        s->conditions = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
                g_ptr_array_add(s->conditions, condition);
                return true;
        }
        case CTL_OPT_NAME: s->name = optarg; return true;
        case OPT_NODE: s->node = optarg; return true;
        case OPT_ENABLE: s->enabled = 1; return true;
        case OPT_DISABLE: s->enabled = 0; return true;
        case OPT_GROUP: s->group = optarg; return true;
        default: return false;
        }
}

static int append_rule_settings(sd_bus_message *m, const RuleSettings *s, const char *group) {
        int r;

        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_conditions(m, s->conditions)) < 0 ||
            (r = ctl_append_string(m, "Name", s->name)) < 0 ||
            (r = ctl_append_string(m, "Node", s->node)) < 0 ||
            (r = ctl_append_bool(m, "Enabled", s->enabled)) < 0 ||
            (r = ctl_append_path(m, "Group", group)) < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int verb_rules(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(GPtrArray) rules = g_ptr_array_new();
        const CtlObject *group = NULL;
        int code = CTL_EXIT_OK;

        if (argc > 2)
                return ctl_usage("rules takes at most one GROUP");
        if (ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        if (argc == 2 && (code = ctl_resolve_object(bus, &objects, CTL_KIND_GROUP, argv[1], &group)) != CTL_EXIT_OK)
                return code;
        for (guint i = 0; i < objects->rules->len; i++) {
                const CtlObject *rule = objects->rules->pdata[i];
                if (!group || g_str_equal(ctl_props_str(rule->props, "Group"), group->path))
                        g_ptr_array_add(rules, (gpointer) rule);
        }
        g_autoptr(CtlTable) table = ctl_rules_table(rules, objects);
        if ((code = ctl_table_show(table)) != CTL_EXIT_OK)
                return code;
        /* A conflict keeps devices out of both groups: spell it out. */
        g_autofree char *conflicts = ctl_conflicts_text(rules, objects);
        if (conflicts[0] && !ctl_args.json) {
                g_autofree char *shown = ctl_escape_lines(conflicts);
                printf("\n%s", shown);
        }
        return CTL_EXIT_OK;
}

int verb_rule(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        const CtlObject *rule;
        int code;

        if (argc != 2)
                return ctl_usage("rule takes one NAME or PATH");
        if ((code = ctl_resolve_object(bus, &objects, CTL_KIND_RULE, argv[1], &rule)) != CTL_EXIT_OK)
                return code;
        return ctl_print_one(rule, objects, ctl_rules_table);
}

int verb_create_rule(sd_bus *bus, int argc, char **argv, bool json) {
        static const struct option options[] = {
                { "match", required_argument, NULL, OPT_MATCH },
                { "name", required_argument, NULL, CTL_OPT_NAME },
                { "node", required_argument, NULL, OPT_NODE },
                { "disabled", no_argument, NULL, OPT_DISABLE },
                {}
        };
        g_auto(RuleSettings) s = { .enabled = -1 };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        const char *group, *path;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0)
                if (!rule_option(c, argc, argv, &s))
                        return CTL_EXIT_USAGE;
        if (argc - optind != 1)
                return ctl_usage("create-rule takes one GROUP");
        if (!s.conditions)
                return ctl_usage("create-rule needs at least one --match FIELD OP VALUE");

        if ((code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, argv[optind], &group)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "CreateRule", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 'o', group)) < 0 || (r = append_rule_settings(m, &s, NULL)) < 0)
                return ctl_fail("CreateRule", NULL, r);
        if ((code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_read(reply, "o", &path)) < 0)
                return ctl_fail("CreateRule", NULL, r);
        /* A blank name is the daemon's to make up. */
        g_autofree char *name = s.name && s.name[0] ? g_strdup(s.name) : ctl_get_name(bus, path, CTL_KIND_RULE);
        ctl_print_created(name ? name : "-", path, json);
        return CTL_EXIT_OK;
}

int verb_update_rule(sd_bus *bus, int argc, char **argv, bool json) {
        static const struct option options[] = {
                { "match", required_argument, NULL, OPT_MATCH },
                { "name", required_argument, NULL, CTL_OPT_NAME },
                { "node", required_argument, NULL, OPT_NODE },
                { "enable", no_argument, NULL, OPT_ENABLE },
                { "disable", no_argument, NULL, OPT_DISABLE },
                { "group", required_argument, NULL, OPT_GROUP },
                {}
        };
        g_auto(RuleSettings) s = { .enabled = -1 };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL;
        const char *rule, *group = NULL;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0)
                if (!rule_option(c, argc, argv, &s))
                        return CTL_EXIT_USAGE;
        if (argc - optind != 1)
                return ctl_usage("update-rule takes one NAME or PATH");
        if (!s.conditions && !s.name && !s.node && s.enabled < 0 && !s.group)
                return ctl_usage("update-rule needs --match, --name, --node, --enable, --disable or --group");

        /* Rule and group share the one look-up of names. */
        if ((code = ctl_resolve(bus, &objects, CTL_KIND_RULE, argv[optind], &rule)) != CTL_EXIT_OK ||
            (s.group && (code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, s.group, &group)) != CTL_EXIT_OK) ||
            (code = ctl_new_call(bus, rule, "org.devpass1.Rule", "Update", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = append_rule_settings(m, &s, group)) < 0)
                return ctl_fail("Update", NULL, r);
        g_autofree char *label = s.name ? g_strdup(s.name) : ctl_label(bus, CTL_KIND_RULE, argv[optind]);
        return ctl_call_done(bus, m, "Rule '%s' updated", label);
}

int verb_delete_rule(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL;
        const char *rule;
        int code;

        if (argc != 2)
                return ctl_usage("delete-rule takes one NAME or PATH");
        if ((code = ctl_resolve(bus, &objects, CTL_KIND_RULE, argv[1], &rule)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, rule, "org.devpass1.Rule", "Delete", &m)) != CTL_EXIT_OK)
                return code;
        g_autofree char *label = ctl_label(bus, CTL_KIND_RULE, argv[1]);
        return ctl_call_done(bus, m, "Rule '%s' deleted", label);
}
