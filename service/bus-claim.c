/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM manager's and the tenant administrator's calls on the Manager:
 * CreateAttachment(s), Claim, Release, PassToTenant. */
#include "bus-claim.h"

#include <gio/gio.h>

#include "bus-attachment.h"
#include "bus-errors.h"
#include "bus-manager.h"
#include "settings.h"

typedef struct {
        Daemon *d;
        GPtrArray *attachments;   /* StoreAttachment*, checked */
        char *machine;
        char *tenant;
        char *tenant_node;
        int numa_node;
        BusSettings settings;     /* PassToTenant */
        char *group;              /* PassToTenant: the host group's path */
} Request;

static Request *request_new(Daemon *d) {
        Request *q = g_new0(Request, 1);
        q->d = d;
        q->attachments = g_ptr_array_new_with_free_func((GDestroyNotify) store_attachment_free);
        return q;
}

static void request_free(Request *q) {
        g_ptr_array_unref(q->attachments);
        bus_settings_clear(&q->settings);
        g_free(q->machine);
        g_free(q->tenant);
        g_free(q->tenant_node);
        g_free(q->group);
        g_free(q);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Request, request_free);

/* ---- CreateAttachment(s) ---- */

static void on_create_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        g_autoptr(sd_bus_message) reply = NULL;
        bool one = g_str_equal(sd_bus_message_get_member(m), "CreateAttachment");
        int r;

        if (auth_refused(m, allowed, action, reason))
                return;
        /* The groups may have gone while polkit was asked. */
        for (guint i = 0; i < q->attachments->len; i++) {
                const StoreAttachment *s = q->attachments->pdata[i];
                if (!model_attachment_group(q->d->model, s)) {
                        sd_bus_reply_method_errorf(m, DP_ERROR_NOT_FOUND, "The group of machine %s's attachment "
                                                   "was deleted meanwhile", s->machine);
                        return;
                }
        }
        g_autoptr(GPtrArray) made = model_attachments_create(q->d->model, q->attachments, &e);
        if (!made) {
                bus_reply_gerror(m, e);
                return;
        }
        daemon_emit(q->d);
        if ((r = sd_bus_message_new_method_return(m, &reply)) < 0 ||
            (!one && (r = sd_bus_message_open_container(reply, 'a', "o")) < 0))
                return;
        for (guint i = 0; r >= 0 && i < made->len; i++)
                r = sd_bus_message_append_basic(reply, 'o', ((ModelAttachment *) made->pdata[i])->path);
        if (r >= 0 && (one || (r = sd_bus_message_close_container(reply)) >= 0))
                (void) sd_bus_send(NULL, reply, NULL);
}

/* "a, b, c": the distinct values, for polkit's details. */
static char *join_distinct(GPtrArray *values) {
        g_autoptr(GPtrArray) seen = g_ptr_array_new();

        for (guint i = 0; i < values->len; i++)
                if (!g_ptr_array_find_with_equal_func(seen, values->pdata[i], g_str_equal, NULL))
                        g_ptr_array_add(seen, values->pdata[i]);
        g_ptr_array_add(seen, NULL);
        return g_strjoinv(", ", (char **) seen->pdata);
}

static void create_ask(Daemon *d, sd_bus_message *m, Request *q) {
        g_autoptr(GPtrArray) machines = g_ptr_array_new(), groups = g_ptr_array_new(), tenants = g_ptr_array_new();

        for (guint i = 0; i < q->attachments->len; i++) {
                const StoreAttachment *s = q->attachments->pdata[i];
                g_ptr_array_add(machines, s->machine);
                g_ptr_array_add(groups, model_attachment_group(d->model, s)->settings->name);
                g_ptr_array_add(tenants, s->tenant);
        }
        g_autofree char *machine = join_distinct(machines);
        g_autofree char *group = join_distinct(groups);
        g_autofree char *tenant = join_distinct(tenants);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-attachments", NULL },
                   (const char *const[]) { "machine", machine, "group", group, "tenant", tenant,
                                           "node", d->config.node, NULL },
                   on_create_auth, q);
}

static int read_entry(Daemon *d, sd_bus_message *m, const char *machine, Request *q, sd_bus_error *error) {
        g_auto(BusSettings) s = {};
        StoreAttachment *a = NULL;
        int r;

        if ((r = bus_settings_read(m, BUS_SETTINGS_ATTACHMENT, &s, error)) < 0 ||
            (r = bus_attachment_settings(d, machine, &s, NULL, &a, error)) < 0)
                return r;
        g_ptr_array_add(q->attachments, a);
        return 0;
}

int bus_claim_method_create_attachment(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = request_new(d);
        const char *machine;
        int r;

        if ((r = sd_bus_message_read(m, "s", &machine)) < 0 || (r = read_entry(d, m, machine, q, error)) < 0)
                return r;
        create_ask(d, m, g_steal_pointer(&q));
        return 1;
}

int bus_claim_method_create_attachments(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = request_new(d);
        const char *machine;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "(sa{sv})")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "sa{sv}")) > 0) {
                if ((r = sd_bus_message_read(m, "s", &machine)) < 0 || (r = read_entry(d, m, machine, q, error)) < 0 ||
                    (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        if (q->attachments->len == 0)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, "Give at least one (machine, settings) entry");
        create_ask(d, m, g_steal_pointer(&q));
        return 1;
}

/* ---- Claim, Release ---- */

static int claimed_append(sd_bus_message *reply, GPtrArray *claimed) {
        int r = sd_bus_message_open_container(reply, 'a', "(osa(siss))");

        for (guint i = 0; r >= 0 && i < claimed->len; i++) {
                const ModelClaimed *c = claimed->pdata[i];
                if ((r = sd_bus_message_open_container(reply, 'r', "osa(siss)")) < 0 ||
                    (r = sd_bus_message_append(reply, "os", c->attachment->path, c->attachment->settings->name)) < 0 ||
                    (r = sd_bus_message_open_container(reply, 'a', "(siss)")) < 0)
                        return r;
                for (guint j = 0; r >= 0 && j < c->devices->len; j++) {
                        const Device *d = c->devices->pdata[j];
                        g_autofree char *vfio = g_strdup_printf("/dev/vfio/%d", d->iommu_group);
                        r = sd_bus_message_append(reply, "(siss)", d->address_str, d->iommu_group, vfio,
                                                  (const char *) c->macs->pdata[j]);
                }
                if (r < 0 || (r = sd_bus_message_close_container(reply)) < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static void on_claim_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason, void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        g_autoptr(sd_bus_message) reply = NULL;

        if (auth_refused(m, allowed, action, reason))
                return;
        g_autoptr(GPtrArray) claimed = model_claim(q->d->model, q->machine, q->numa_node, q->tenant_node, &e);
        if (!claimed) {
                bus_reply_gerror(m, e);
                return;
        }
        daemon_emit(q->d);
        if (sd_bus_message_new_method_return(m, &reply) >= 0 && claimed_append(reply, claimed) >= 0)
                (void) sd_bus_send(NULL, reply, NULL);
}

static int machine_arg(sd_bus_message *m, Request *q, sd_bus_error *error) {
        g_autoptr(GError) e = NULL;
        const char *machine;
        int r;

        if ((r = sd_bus_message_read(m, "s", &machine)) < 0)
                return r;
        if (!settings_machine_valid("machine", machine, &e))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        q->machine = g_strdup(machine);
        return 0;
}

int bus_claim_method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = request_new(d);
        g_auto(BusSettings) s = { .numa_node = -1 };
        g_autoptr(GError) e = NULL;
        int r;

        if ((r = machine_arg(m, q, error)) < 0 ||
            (r = bus_settings_read(m, BUS_SETTING_NUMA_NODE | BUS_SETTING_TENANT_NODE, &s, error)) < 0)
                return r;
        if ((s.present & BUS_SETTING_TENANT_NODE) && !settings_machine_valid("tenant node", s.tenant_node, &e))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        q->numa_node = s.numa_node;
        q->tenant_node = g_strdup(s.tenant_node ?: "");
        const char *machine = q->machine;
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.claim", NULL },
                   (const char *const[]) { "machine", machine, "node", d->config.node, NULL }, on_claim_auth,
                   g_steal_pointer(&q));
        return 1;
}

static void on_release_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                            void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;

        if (auth_refused(m, allowed, action, reason))
                return;
        daemon_reply_change(q->d, m, model_release(q->d->model, q->machine, &e), &e);
}

int bus_claim_method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = request_new(d);
        int r;

        if ((r = machine_arg(m, q, error)) < 0)
                return r;
        const char *machine = q->machine;
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.claim", NULL },
                   (const char *const[]) { "machine", machine, "node", d->config.node, NULL }, on_release_auth,
                   g_steal_pointer(&q));
        return 1;
}

/* ---- PassToTenant ---- */

static void on_tenant_auth(sd_bus_message *m, bool allowed, const char *action, const char *reason,
                           void *userdata) {
        g_autoptr(Request) q = userdata;
        g_autoptr(GError) e = NULL;
        const BusSettings *s = &q->settings;

        if (auth_refused(m, allowed, action, reason))
                return;
        ModelGroup *from = model_group_by_path(q->d->model, q->group);
        if (!from) {
                sd_bus_reply_method_errorf(m, DP_ERROR_NOT_FOUND, "Group %s was deleted meanwhile", q->group);
                return;
        }
        StoreGroup *g = g_new0(StoreGroup, 1);
        g->name = s->present & BUS_SETTING_NAME && *s->name ? g_strdup(s->name)
                                                             : g_strdup_printf("%s %s", q->tenant, from->settings->name);
        g->type = g_strdup(from->settings->type);
        g->description = g_strdup(s->description ?: "");
        g->class_name = g_strdup(from->settings->class_name);
        g->tenant = g_strdup(q->tenant);
        g->tenant_node = g_strdup(q->tenant_node);
        char *macs[] = { s->mac, NULL };
        ModelGroup *made = model_tenant_pass(q->d->model, from, g, s->count, s->mac ? macs : NULL, &e);
        if (!made) {
                bus_reply_gerror(m, e);
                return;
        }
        daemon_emit(q->d);
        sd_bus_reply_method_return(m, "o", made->path);
}

int bus_claim_method_pass_to_tenant(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        g_autoptr(Request) q = request_new(d);
        g_autoptr(GError) e = NULL;
        BusSettings *s = &q->settings;
        const char *tenant, *node;
        char quoted[80];
        int r;

        if ((r = sd_bus_message_read(m, "ss", &tenant, &node)) < 0 ||
            (r = bus_settings_read(m, BUS_SETTING_GROUP | BUS_SETTING_COUNT | BUS_SETTING_NAME | BUS_SETTING_TYPE |
                                   BUS_SETTING_DESCRIPTION | BUS_SETTING_MAC, s, error)) < 0)
                return r;
        if (!settings_machine_valid("tenant", tenant, &e) || !settings_machine_valid("tenant node", node, &e) ||
            ((s->present & BUS_SETTING_NAME) && *s->name && !settings_name_valid("group", s->name, &e)) ||
            ((s->present & BUS_SETTING_DESCRIPTION) && !settings_description_valid(s->description, &e)))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        ModelGroup *from = s->group ? model_group_by_path(d->model, s->group) : NULL;
        if (!from)
                return s->group ? sd_bus_error_setf(error, DP_ERROR_NOT_FOUND, "No group at %s",
                                                    bus_quote(s->group, quoted))
                                : sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                                   "Name the host group to take the devices from: Group");
        if (*from->settings->tenant)
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "Group %s is tenant %s's: pass from a "
                                         "host group", from->settings->name, from->settings->tenant);
        if ((s->present & BUS_SETTING_TYPE) && !g_str_equal(s->type, from->settings->type))
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "Type %s does not match group %s, which "
                                         "is %s", bus_quote(s->type, quoted), from->settings->name,
                                         from->settings->type);
        if (!(s->present & BUS_SETTING_COUNT))
                s->count = 1;
        if (s->count < 1 || s->count > from->total)
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "Count %u is out of range: group %s holds "
                                         "%u", s->count, from->settings->name, from->total);
        if (s->mac && *s->mac) {
                if (!g_str_equal(from->settings->type, "sriov-nic") || s->count != 1)
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "A Mac is for a sriov-nic pass "
                                                 "of Count 1 only: group %s is %s, Count %u", from->settings->name,
                                                 from->settings->type, s->count);
                g_autofree char *mac = settings_mac_parse(s->mac, &e);
                if (!mac)
                        return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
                g_free(s->mac);
                s->mac = g_steal_pointer(&mac);
        } else
                g_clear_pointer(&s->mac, g_free);
        q->tenant = g_strdup(tenant);
        q->tenant_node = g_strdup(node);
        q->group = g_strdup(from->path);
        auth_check(d->auth, m, (const char *const[]) { "org.devpass1.manage-tenants", NULL },
                   (const char *const[]) { "tenant", tenant, "group", from->settings->name, "node", d->config.node,
                                           NULL },
                   on_tenant_auth, g_steal_pointer(&q));
        return 1;
}
