/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Settings travel as a{sv}: this reads one into a plain struct, refusing
 * unknown keys and wrong types with org.devpass1.Error.InvalidArgument.
 * Values are not judged here (settings.h does that). */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <systemd/sd-bus.h>

typedef enum {
        BUS_SETTING_NAME = 1u << 0,         /* s */
        BUS_SETTING_TYPE = 1u << 1,         /* s */
        BUS_SETTING_DESCRIPTION = 1u << 2,  /* s */
        BUS_SETTING_CLASS = 1u << 3,        /* s */
        BUS_SETTING_NODE = 1u << 4,         /* s */
        BUS_SETTING_CONDITIONS = 1u << 5,   /* a(sss) */
        BUS_SETTING_ENABLED = 1u << 6,      /* b */
        BUS_SETTING_GROUP = 1u << 7,        /* o */
        BUS_SETTING_FORCE = 1u << 8,        /* b */
        BUS_SETTING_RELEASE = 1u << 9,      /* b */
        BUS_SETTING_COUNT = 1u << 10,       /* u */
        BUS_SETTING_MAC = 1u << 11,         /* s */
        BUS_SETTING_OPTIONAL = 1u << 12,    /* b */
        BUS_SETTING_TENANT = 1u << 13,      /* s */
        BUS_SETTING_NUMA_NODE = 1u << 14,   /* i */
        BUS_SETTING_TENANT_NODE = 1u << 15, /* s */
        BUS_SETTING_UUID = 1u << 16,        /* s */
} BusSettingKey;

#define BUS_SETTINGS_GROUP (BUS_SETTING_NAME | BUS_SETTING_TYPE | BUS_SETTING_DESCRIPTION | BUS_SETTING_CLASS)
#define BUS_SETTINGS_RULE (BUS_SETTING_NAME | BUS_SETTING_NODE | BUS_SETTING_CONDITIONS | BUS_SETTING_ENABLED)
#define BUS_SETTINGS_ATTACHMENT (BUS_SETTING_GROUP | BUS_SETTING_COUNT | BUS_SETTING_NAME | BUS_SETTING_TYPE | \
                                 BUS_SETTING_DESCRIPTION | BUS_SETTING_MAC | BUS_SETTING_OPTIONAL | BUS_SETTING_TENANT)

typedef struct {
        unsigned present;       /* BusSettingKey bits */
        char *name;
        char *type;
        char *description;
        char *class_name;
        char *node;
        GPtrArray *conditions;  /* StoreCondition* */
        bool enabled;
        char *group;
        bool force;
        bool release;
        uint32_t count;
        char *mac;
        bool optional;
        char *tenant;
        int32_t numa_node;
        char *tenant_node;
        char *uuid;
} BusSettings;

void bus_settings_clear(BusSettings *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(BusSettings, bus_settings_clear);

/* Reads an a{sv} at the message's read position; allowed: the keys this
 * call takes. Returns 0, or a negative errno with error set. */
int bus_settings_read(sd_bus_message *m, unsigned allowed, BusSettings *ret, sd_bus_error *error);
