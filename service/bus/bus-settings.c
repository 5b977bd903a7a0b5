/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-settings.h"

#include "bus-errors.h"
#include "store.h"

typedef struct {
        const char *key;
        BusSettingKey bit;
        const char *signature;
} Key;

static const Key keys[] = {
        { "Name", BUS_SETTING_NAME, "s" },
        { "Type", BUS_SETTING_TYPE, "s" },
        { "Description", BUS_SETTING_DESCRIPTION, "s" },
        { "Class", BUS_SETTING_CLASS, "s" },
        { "Node", BUS_SETTING_NODE, "s" },
        { "Conditions", BUS_SETTING_CONDITIONS, "a(sss)" },
        { "Enabled", BUS_SETTING_ENABLED, "b" },
        { "Group", BUS_SETTING_GROUP, "o" },
        { "Force", BUS_SETTING_FORCE, "b" },
        { "Release", BUS_SETTING_RELEASE, "b" },
        { "Count", BUS_SETTING_COUNT, "u" },
        { "Mac", BUS_SETTING_MAC, "s" },
        { "Optional", BUS_SETTING_OPTIONAL, "b" },
        { "Tenant", BUS_SETTING_TENANT, "s" },
        { "NumaNode", BUS_SETTING_NUMA_NODE, "i" },
        { "TenantNode", BUS_SETTING_TENANT_NODE, "s" },
        { "Uuid", BUS_SETTING_UUID, "s" },
};

void bus_settings_clear(BusSettings *s) {
        g_free(s->name);
        g_free(s->type);
        g_free(s->description);
        g_free(s->class_name);
        g_free(s->node);
        g_free(s->group);
        g_free(s->mac);
        g_free(s->tenant);
        g_free(s->tenant_node);
        g_free(s->uuid);
        if (s->conditions)
                g_ptr_array_unref(s->conditions);
        *s = (BusSettings) {};
}

static char **string_slot(BusSettings *s, BusSettingKey bit) {
        switch (bit) {
        case BUS_SETTING_NAME: return &s->name;
        case BUS_SETTING_TYPE: return &s->type;
        case BUS_SETTING_DESCRIPTION: return &s->description;
        case BUS_SETTING_CLASS: return &s->class_name;
        case BUS_SETTING_NODE: return &s->node;
        case BUS_SETTING_GROUP: return &s->group;
        case BUS_SETTING_MAC: return &s->mac;
        case BUS_SETTING_TENANT: return &s->tenant;
        case BUS_SETTING_TENANT_NODE: return &s->tenant_node;
        case BUS_SETTING_UUID: return &s->uuid;
        default: return NULL;
        }
}

static bool *bool_slot(BusSettings *s, BusSettingKey bit) {
        switch (bit) {
        case BUS_SETTING_ENABLED: return &s->enabled;
        case BUS_SETTING_FORCE: return &s->force;
        case BUS_SETTING_RELEASE: return &s->release;
        case BUS_SETTING_OPTIONAL: return &s->optional;
        default: return NULL;
        }
}

static int read_conditions(sd_bus_message *m, BusSettings *s) {
        const char *field, *op, *value;
        int r;

        if (s->conditions)
                g_ptr_array_unref(s->conditions);
        s->conditions = g_ptr_array_new_with_free_func((GDestroyNotify) store_condition_free);
        if ((r = sd_bus_message_enter_container(m, 'a', "(sss)")) < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(sss)", &field, &op, &value)) > 0)
                g_ptr_array_add(s->conditions, store_condition_new(field, op, value));
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_value(sd_bus_message *m, const Key *k, BusSettings *s) {
        int r;

        if ((r = sd_bus_message_enter_container(m, 'v', k->signature)) < 0)
                return r;
        if (k->signature[0] == 'a')
                r = read_conditions(m, s);
        else if (k->signature[0] == 'u')
                r = sd_bus_message_read_basic(m, 'u', &s->count);
        else if (k->signature[0] == 'i')
                r = sd_bus_message_read_basic(m, 'i', &s->numa_node);
        else if (k->signature[0] == 'b') {
                int b;
                if ((r = sd_bus_message_read_basic(m, 'b', &b)) >= 0)
                        *bool_slot(s, k->bit) = b;
        } else {
                const char *v;
                if ((r = sd_bus_message_read_basic(m, k->signature[0], &v)) >= 0) {
                        char **slot = string_slot(s, k->bit);
                        g_free(*slot);
                        *slot = g_strdup(v);
                }
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static const Key *key_find(const char *name, unsigned allowed) {
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
                if ((keys[i].bit & allowed) && g_str_equal(keys[i].key, name))
                        return &keys[i];
        return NULL;
}

static char *keys_allowed(unsigned allowed) {
        GString *s = g_string_new(NULL);
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
                if (keys[i].bit & allowed)
                        g_string_append_printf(s, "%s%s", s->len ? ", " : "", keys[i].key);
        return g_string_free(s, FALSE);
}

int bus_settings_read(sd_bus_message *m, unsigned allowed, BusSettings *ret, sd_bus_error *error) {
        const char *name;
        char quoted[80];
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                if ((r = sd_bus_message_read_basic(m, 's', &name)) < 0)
                        return r;
                const Key *k = key_find(name, allowed);
                if (!k) {
                        g_autofree char *list = keys_allowed(allowed);
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT,
                                                 "Unknown setting %s: this call takes %s",
                                                 bus_quote(name, quoted), list);
                }
                const char *contents;
                if ((r = sd_bus_message_peek_type(m, NULL, &contents)) < 0)
                        return r;
                if (!g_str_equal(contents, k->signature))
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT,
                                                 "Setting %s must be of type '%s', not %s", k->key, k->signature,
                                                 bus_quote(contents, quoted));
                if ((r = read_value(m, k, ret)) < 0)
                        return r;
                ret->present |= k->bit;
                if ((r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}
