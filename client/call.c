/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's method calls: build, send, report; a{sv} settings. */
#include <stdio.h>

#include "ctl.h"

int ctl_new_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                 sd_bus_message **ret) {
        int r = sd_bus_message_new_method_call(bus, ret, "org.devpass1", path, interface, member);
        return r < 0 ? ctl_fail(member, NULL, r) : CTL_EXIT_OK;
}

int ctl_call(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply) {
        g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;

        /* Longer than sd-bus's 25 s: a polkit agent may be asking for a
         * password, and a driver may take its time to let go of a device. */
        int r = sd_bus_call(bus, m, 5 * 60 * G_USEC_PER_SEC, &error, ret_reply);
        return r < 0 ? ctl_fail(sd_bus_message_get_member(m), &error, r) : CTL_EXIT_OK;
}

int ctl_append_paths(sd_bus_message *m, const GPtrArray *paths) {
        int r = sd_bus_message_open_container(m, 'a', "o");

        for (guint i = 0; r >= 0 && i < paths->len; i++)
                r = sd_bus_message_append_basic(m, 'o', paths->pdata[i]);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

int ctl_append_string(sd_bus_message *m, const char *key, const char *value) {
        return value ? sd_bus_message_append(m, "{sv}", key, "s", value) : 0;
}

int ctl_append_path(sd_bus_message *m, const char *key, const char *path) {
        return path ? sd_bus_message_append(m, "{sv}", key, "o", path) : 0;
}

int ctl_append_bool(sd_bus_message *m, const char *key, int value) {
        return value >= 0 ? sd_bus_message_append(m, "{sv}", key, "b", value > 0) : 0;
}

int ctl_append_uint32(sd_bus_message *m, const char *key, int64_t value) {
        return value >= 0 ? sd_bus_message_append(m, "{sv}", key, "u", (uint32_t) value) : 0;
}

int ctl_append_int32(sd_bus_message *m, const char *key, int64_t value) {
        return value >= 0 ? sd_bus_message_append(m, "{sv}", key, "i", (int32_t) value) : 0;
}

int ctl_append_conditions(sd_bus_message *m, const GPtrArray *conditions) {
        int r;

        if (!conditions)
                return 0;
        if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
            (r = sd_bus_message_append_basic(m, 's', "Conditions")) < 0 ||
            (r = sd_bus_message_open_container(m, 'v', "a(sss)")) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "(sss)")) < 0)
                return r;
        for (guint i = 0; i < conditions->len; i++) {
                char **c = conditions->pdata[i];
                if ((r = sd_bus_message_append(m, "(sss)", c[0], c[1], c[2])) < 0)
                        return r;
        }
        if ((r = sd_bus_message_close_container(m)) < 0 || (r = sd_bus_message_close_container(m)) < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int ctl_append_group_settings(sd_bus_message *m, const CtlGroupSettings *s) {
        int r;

        if ((r = ctl_append_string(m, "Name", s->name)) < 0 ||
            (r = ctl_append_string(m, "Type", s->type)) < 0 ||
            (r = ctl_append_string(m, "Class", s->klass)) < 0)
                return r;
        return ctl_append_string(m, "Description", s->description);
}

void ctl_print_reboot(sd_bus *bus, char *const *addresses) {
        g_autoptr(GPtrArray) manager = NULL;
        int code;

        /* The change itself is done: without the reasons, say it anyway. */
        (void) ctl_get_all(bus, "/org/devpass1", "org.devpass1.Manager", &manager, &code);
        g_autofree char *text = ctl_reboot_text(ctl_props_str(manager, "Node"),
                                                ctl_props_tuples(manager, "RebootReasons"), addresses);
        printf("%s\n", text);
}

int ctl_append_attach_settings(sd_bus_message *m, const CtlAttachSettings *s, const char *group) {
        int r;

        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_path(m, "Group", group)) < 0 ||
            (r = ctl_append_uint32(m, "Count", s->count)) < 0 ||
            (r = ctl_append_string(m, "Name", s->name)) < 0 ||
            (r = ctl_append_string(m, "Description", s->description)) < 0 ||
            (r = ctl_append_string(m, "Mac", s->mac)) < 0 ||
            (r = ctl_append_bool(m, "Optional", s->optional)) < 0 ||
            (r = ctl_append_string(m, "Tenant", s->tenant)) < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int ctl_claim(sd_bus *bus, const char *machine, const CtlClaimOptions *options, GPtrArray **ret) {
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        int r, code;

        if ((code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "Claim", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 's', machine)) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = ctl_append_int32(m, "NumaNode", options->numa_node)) < 0 ||
            (r = ctl_append_string(m, "TenantNode", options->tenant_node)) < 0 ||
            (r = ctl_append_string(m, "Uuid", options->uuid)) < 0 ||
            (r = sd_bus_message_close_container(m)) < 0)
                return ctl_fail("Claim", NULL, r);
        if ((code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = ctl_claims_read(reply, ret)) < 0)
                return ctl_fail("Claim", NULL, r);
        return CTL_EXIT_OK;
}
