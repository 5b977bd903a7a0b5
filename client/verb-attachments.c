/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl attachments, attach, detach, update-attachment: the device
 * entries of machines. */
#include <stdio.h>

#include "ctl.h"

int verb_attachments(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        int code = CTL_EXIT_OK;

        if (argc > 2)
                return ctl_usage("attachments takes at most one MACHINE");
        if (argc == 2 && (code = ctl_check_name("machine", argv[1])) != CTL_EXIT_OK)
                return code;
        if (ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        /* A machine is no object: one without attachments lists none. */
        g_autoptr(GPtrArray) attachments = argc == 2 ? ctl_machine_attachments(objects->attachments, argv[1])
                                                     : g_ptr_array_ref(objects->attachments);
        g_autoptr(CtlTable) table = ctl_attachments_table(attachments, objects);
        if ((code = ctl_table_show(table)) != CTL_EXIT_OK)
                return code;
        g_autofree char *reasons = ctl_attachment_reasons_text(attachments);
        if (reasons[0] && !ctl_args.json) {
                g_autofree char *shown = ctl_escape_lines(reasons);
                printf("\n%s", shown);
        }
        return CTL_EXIT_OK;
}

int verb_attachment(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        const CtlObject *attachment;
        int code;

        if (argc != 3)
                return ctl_usage("attachment takes MACHINE and the NAME or PATH of one of its attachments");
        if ((code = ctl_check_name("machine", argv[1])) != CTL_EXIT_OK ||
            (code = ctl_resolve_attachment(bus, &objects, argv[1], argv[2], &attachment)) != CTL_EXIT_OK)
                return code;
        return ctl_print_one(attachment, objects, ctl_attachments_table);
}

int verb_attach(sd_bus *bus, int argc, char **argv, bool json) {
        static const struct option options[] = {
                CTL_ATTACH_OPTIONS,
                { "optional", no_argument, NULL, CTL_OPT_OPTIONAL },
                { "tenant", required_argument, NULL, CTL_OPT_TENANT },
                {}
        };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL, reply = NULL;
        CtlAttachSettings s = CTL_ATTACH_SETTINGS_INIT;
        const char *machine, *group, *path;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0)
                if (!ctl_attach_option(c, argv[0], optarg, &s))
                        return CTL_EXIT_USAGE;
        if (argc - optind != 1)
                return ctl_usage("attach takes one MACHINE");
        machine = argv[optind];
        if ((code = ctl_check_name("machine", machine)) != CTL_EXIT_OK)
                return code;
        /* "" is the host's, as without --tenant. */
        if (s.tenant && s.tenant[0] && (code = ctl_check_name("tenant", s.tenant)) != CTL_EXIT_OK)
                return code;
        if (!s.group)
                return ctl_usage("attach needs --group GROUP");

        if ((code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, s.group, &group)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "CreateAttachment", &m)) !=
                    CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 's', machine)) < 0 ||
            (r = ctl_append_attach_settings(m, &s, group)) < 0)
                return ctl_fail("CreateAttachment", NULL, r);
        if ((code = ctl_call(bus, m, &reply)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_read(reply, "o", &path)) < 0)
                return ctl_fail("CreateAttachment", NULL, r);
        /* A blank name is the daemon's to make up. */
        g_autofree char *name = s.name && s.name[0] ? g_strdup(s.name) : ctl_get_name(bus, path, CTL_KIND_ATTACHMENT);
        ctl_print_created(name ? name : "-", path, json);
        return CTL_EXIT_OK;
}

int verb_detach(sd_bus *bus, int argc, char **argv, bool json) {
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL;
        const CtlObject *attachment;
        int code;

        if (argc != 3)
                return ctl_usage("detach takes MACHINE and the NAME or PATH of one of its attachments");
        if ((code = ctl_check_name("machine", argv[1])) != CTL_EXIT_OK ||
            (code = ctl_resolve_attachment(bus, &objects, argv[1], argv[2], &attachment)) != CTL_EXIT_OK ||
            (code = ctl_new_call(bus, attachment->path, "org.devpass1.Attachment", "Delete", &m)) != CTL_EXIT_OK)
                return code;
        return ctl_call_done(bus, m, "Attachment '%s' of machine '%s' deleted", ctl_props_str(attachment->props, "Name"),
                             argv[1]);
}

int verb_update_attachment(sd_bus *bus, int argc, char **argv, bool json) {
        static const struct option options[] = {
                CTL_ATTACH_OPTIONS,
                { "optional", no_argument, NULL, CTL_OPT_OPTIONAL },
                { "required", no_argument, NULL, CTL_OPT_REQUIRED },
                {}
        };
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(sd_bus_message) m = NULL;
        CtlAttachSettings s = CTL_ATTACH_SETTINGS_INIT;
        const CtlObject *attachment;
        const char *group = NULL;
        int c, r, code;

        while ((c = ctl_getopt(argc, argv, options)) >= 0)
                if (!ctl_attach_option(c, argv[0], optarg, &s))
                        return CTL_EXIT_USAGE;
        if (argc - optind != 2)
                return ctl_usage("update-attachment takes MACHINE and the NAME or PATH of one of its attachments");
        if ((code = ctl_check_name("machine", argv[optind])) != CTL_EXIT_OK)
                return code;
        if (!s.group && s.count < 0 && !s.name && !s.description && !s.mac && s.optional < 0)
                return ctl_usage("update-attachment needs --count, --name, --mac, --optional, --required, "
                                 "--description or --group");

        /* Attachment and group share the one look-up of names. */
        if ((code = ctl_resolve_attachment(bus, &objects, argv[optind], argv[optind + 1], &attachment)) !=
                    CTL_EXIT_OK ||
            (s.group && (code = ctl_resolve(bus, &objects, CTL_KIND_GROUP, s.group, &group)) != CTL_EXIT_OK) ||
            (code = ctl_new_call(bus, attachment->path, "org.devpass1.Attachment", "Update", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = ctl_append_attach_settings(m, &s, group)) < 0)
                return ctl_fail("Update", NULL, r);
        return ctl_call_done(bus, m, "Attachment '%s' of machine '%s' updated; the machine gets it at its next start",
                             s.name ? s.name : ctl_props_str(attachment->props, "Name"), argv[optind]);
}
