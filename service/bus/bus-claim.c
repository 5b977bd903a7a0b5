/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM manager's and the tenant administrator's calls on the Manager:
 * CreateAttachment(s), Claim, ClaimDevices, Release, PassToTenant, each a
 * table entry of the mutation runner. Here only the syntax; the model
 * judges. */
#include "bus-claim.h"

#include <gio/gio.h>

#include "address.h"
#include "bus-attachment.h"
#include "bus-errors.h"
#include "mutation.h"
#include "settings.h"

/* The entries one CreateAttachments call may hold: read before polkit is
 * asked, so their number is bounded while parsing. */
#define BUS_ATTACHMENTS_MAX 4096

/* A reply's values appended, or why not: the change is committed, the
 * runner answers with the error. */
static bool reply_built(int r, GError **error) {
        if (r >= 0)
                return true;
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "The change was made, but its reply could not be built "
                    "(%s): read the objects", g_strerror(-r));
        return false;
}

/* ---- CreateAttachment(s) ---- */

typedef struct {
        char *machine;
        BusSettings settings;
} Entry;

typedef struct {
        GArray *entries;          /* Entry */
        GPtrArray *next;          /* StoreAttachment*: check's verdict, which apply creates */
        bool many;                /* CreateAttachments: the reply is "ao" */
} CreateArgs;

static void entry_clear(Entry *e) {
        g_free(e->machine);
        bus_settings_clear(&e->settings);
}

static void create_args_clear(CreateArgs *a) {
        g_clear_pointer(&a->entries, g_array_unref);
        g_clear_pointer(&a->next, g_ptr_array_unref);
}

/* One (machine, settings) at the read position. */
static int entry_read(MutationCall *c, sd_bus_error *error) {
        CreateArgs *a = c->args;
        const char *machine;
        int r;

        if (!a->entries) {
                a->entries = g_array_new(FALSE, TRUE, sizeof(Entry));
                g_array_set_clear_func(a->entries, (GDestroyNotify) entry_clear);
        }
        if (a->entries->len == BUS_ATTACHMENTS_MAX)
                return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "One call creates at most %u "
                                         "attachments: split the call", BUS_ATTACHMENTS_MAX);
        if ((r = sd_bus_message_read(c->m, "s", &machine)) < 0)
                return r;
        g_array_set_size(a->entries, a->entries->len + 1);
        Entry *e = &g_array_index(a->entries, Entry, a->entries->len - 1);
        e->machine = g_strdup(machine);
        if ((r = bus_settings_read(c->m, BUS_SETTINGS_ATTACHMENT, &e->settings, error)) < 0)
                return r;
        return bus_attachment_settings_check(e->machine, &e->settings, true, error);
}

static int create_one_parse(MutationCall *c, sd_bus_error *error) {
        return entry_read(c, error);
}

static int create_many_parse(MutationCall *c, sd_bus_error *error) {
        CreateArgs *a = c->args;
        int r;

        a->many = true;
        if ((r = sd_bus_message_enter_container(c->m, 'a', "(sa{sv})")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(c->m, 'r', "sa{sv}")) > 0)
                if ((r = entry_read(c, error)) < 0 || (r = sd_bus_message_exit_container(c->m)) < 0)
                        return r;
        if (r < 0 || (r = sd_bus_message_exit_container(c->m)) < 0)
                return r;
        if (!a->entries)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, "Give at least one (machine, settings) entry");
        return 0;
}

static bool create_check(MutationCall *c, MutationAsk *ask, GError **error) {
        CreateArgs *a = c->args;
        g_autoptr(GArray) changes = g_array_sized_new(FALSE, FALSE, sizeof(ModelAttachmentChange), a->entries->len);

        for (guint i = 0; i < a->entries->len; i++) {
                const Entry *e = &g_array_index(a->entries, Entry, i);
                ModelAttachmentChange change = bus_attachment_change(e->machine, &e->settings);
                g_array_append_val(changes, change);
        }
        g_clear_pointer(&a->next, g_ptr_array_unref);
        a->next = model_attachments_settle(c->d->model, (ModelAttachmentChange *) changes->data, changes->len, error);
        for (guint i = 0; a->next && i < a->next->len; i++)
                bus_attachment_ask(c->d->model, a->next->pdata[i], ask);
        return a->next != NULL;
}

static bool create_apply(MutationCall *c, GError **error) {
        CreateArgs *a = c->args;
        const Entry *first = &g_array_index(a->entries, Entry, 0);
        int r = 0;

        if (a->many)
                mutation_log(c, "Created %u attachments", a->entries->len);
        else
                mutation_log(c, "Created an attachment of machine %s", first->machine);
        g_autoptr(GPtrArray) made = model_attachments_create(c->d->model, a->next, error);
        if (!made)
                return false;
        if (a->many)
                r = sd_bus_message_open_container(c->reply, 'a', "o");
        for (guint i = 0; r >= 0 && i < made->len; i++)
                r = sd_bus_message_append_basic(c->reply, 'o', ((ModelAttachment *) made->pdata[i])->path);
        if (r >= 0 && a->many)
                r = sd_bus_message_close_container(c->reply);
        return reply_built(r, error);
}

static const MutationSpec create_one_spec = {
        .member = "CreateAttachment",
        .args_size = sizeof(CreateArgs),
        .args_clear = (void (*)(void *)) create_args_clear,
        .parse = create_one_parse,
        .check = create_check,
        .apply = create_apply,
};

static const MutationSpec create_many_spec = {
        .member = "CreateAttachments",
        .args_size = sizeof(CreateArgs),
        .args_clear = (void (*)(void *)) create_args_clear,
        .parse = create_many_parse,
        .check = create_check,
        .apply = create_apply,
};

int bus_claim_method_create_attachment(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&create_one_spec, m, userdata, error);
}

int bus_claim_method_create_attachments(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&create_many_spec, m, userdata, error);
}

/* ---- Claim, Release ---- */

typedef struct {
        char *machine;
        BusSettings settings;     /* Claim's options */
} MachineArgs;

static void machine_args_clear(MachineArgs *a) {
        g_free(a->machine);
        bus_settings_clear(&a->settings);
}

static int machine_parse(MutationCall *c, sd_bus_error *error) {
        MachineArgs *a = c->args;
        g_autoptr(GError) e = NULL;
        const char *machine;
        int r;

        if ((r = sd_bus_message_read(c->m, "s", &machine)) < 0)
                return r;
        if (!settings_machine_valid(machine, &e))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        a->machine = g_strdup(machine);
        return 0;
}

/* Claim's options: NumaNode, TenantNode, Uuid ("" as not given; kept in lower case). */
static int claim_options_read(MutationCall *c, BusSettings *s, sd_bus_error *error) {
        g_autoptr(GError) e = NULL;
        int r;

        s->numa_node = -1;
        if ((r = bus_settings_read(c->m, BUS_SETTING_NUMA_NODE | BUS_SETTING_TENANT_NODE | BUS_SETTING_UUID, s,
                                   error)) < 0)
                return r;
        if (((s->present & BUS_SETTING_TENANT_NODE) && !settings_tenant_valid("tenant node", s->tenant_node, &e)) ||
            ((s->present & BUS_SETTING_UUID) && *s->uuid && !settings_uuid_valid(s->uuid, &e)))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        if (s->uuid) {
                g_autofree char *uuid = s->uuid;
                s->uuid = g_ascii_strdown(uuid, -1);
        }
        return 0;
}

static int claim_parse(MutationCall *c, sd_bus_error *error) {
        MachineArgs *a = c->args;
        int r;

        if ((r = machine_parse(c, error)) < 0)
                return r;
        return claim_options_read(c, &a->settings, error);
}

/* The machine, whose it is, and the groups it draws from or holds. */
static bool machine_check(MutationCall *c, MutationAsk *ask, GError **error) {
        MachineArgs *a = c->args;
        g_autoptr(GPtrArray) groups = model_machine_groups(c->d->model, a->machine);

        ask->actions[0] = "org.devpass1.claim";
        mutation_ask_machine(ask, a->machine);
        mutation_ask_tenant(ask, model_machine_tenant(c->d->model, a->machine));
        for (guint i = 0; i < groups->len; i++) {
                const ModelGroup *g = groups->pdata[i];
                mutation_ask_group(ask, g->settings->name);
                mutation_ask_tenant(ask, g->settings->tenant);
        }
        return true;
}

/* As any machine call's; a claim for another domain of the same name is
 * refused before polkit is asked. */
static bool claim_check(MutationCall *c, MutationAsk *ask, GError **error) {
        MachineArgs *a = c->args;

        return machine_check(c, ask, error) &&
               model_machine_uuid_check(c->d->model, a->machine, a->settings.uuid, error);
}

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

static bool claim_apply(MutationCall *c, GError **error) {
        MachineArgs *a = c->args;

        mutation_log(c, "Claimed devices for machine %s", a->machine);
        g_autoptr(GPtrArray) claimed = model_claim(c->d->model, a->machine, a->settings.uuid, a->settings.numa_node,
                                                   a->settings.tenant_node ?: "", error);
        return claimed && reply_built(claimed_append(c->reply, claimed), error);
}

static bool release_apply(MutationCall *c, GError **error) {
        MachineArgs *a = c->args;

        mutation_log(c, "Released the devices of machine %s", a->machine);
        return model_release(c->d->model, a->machine, error);
}

static const MutationSpec claim_spec = {
        .member = "Claim",
        .args_size = sizeof(MachineArgs),
        .args_clear = (void (*)(void *)) machine_args_clear,
        .parse = claim_parse,
        .check = claim_check,
        .apply = claim_apply,
};

static const MutationSpec release_spec = {
        .member = "Release",
        .args_size = sizeof(MachineArgs),
        .args_clear = (void (*)(void *)) machine_args_clear,
        .parse = machine_parse,
        .check = machine_check,
        .apply = release_apply,
};

int bus_claim_method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&claim_spec, m, userdata, error);
}

int bus_claim_method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&release_spec, m, userdata, error);
}

/* ---- ClaimDevices ---- */

/* The addresses one call names at most. */
#define BUS_CLAIM_ADDRESSES_MAX 4096

typedef struct {
        MachineArgs machine;      /* first: machine_parse() reads into it */
        GPtrArray *addresses;     /* canonical, NULL-terminated */
} DevicesArgs;

static void devices_args_clear(DevicesArgs *a) {
        machine_args_clear(&a->machine);
        g_clear_pointer(&a->addresses, g_ptr_array_unref);
}

static int devices_parse(MutationCall *c, sd_bus_error *error) {
        DevicesArgs *a = c->args;
        const char *s;
        int r;

        if ((r = machine_parse(c, error)) < 0 || (r = sd_bus_message_enter_container(c->m, 'a', "s")) < 0)
                return r;
        a->addresses = g_ptr_array_new_with_free_func(g_free);
        while ((r = sd_bus_message_read_basic(c->m, 's', &s)) > 0) {
                char quoted[80], address[DP_ADDRESS_MAX];
                DpAddress addr;
                if (a->addresses->len == BUS_CLAIM_ADDRESSES_MAX)
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "At most %d addresses in one "
                                                 "call", BUS_CLAIM_ADDRESSES_MAX);
                if (!address_parse(s, &addr))
                        return sd_bus_error_setf(error, DP_ERROR_INVALID_ARGUMENT, "%s is not a PCI address: use "
                                                 "dddd:bb:ss.f, e.g. 0000:17:00.0", bus_quote(s, quoted));
                address_format(&addr, address);
                g_ptr_array_add(a->addresses, g_strdup(address));
        }
        if (r < 0 || (r = sd_bus_message_exit_container(c->m)) < 0)
                return r;
        if (a->addresses->len == 0)
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, "Name at least one PCI address, e.g. "
                                        "0000:17:00.0");
        g_ptr_array_add(a->addresses, NULL);
        return claim_options_read(c, &a->machine.settings, error);
}

/* As Claim's, and every group the addresses are of and every device the
 * call would claim, the addresses' units' functions with them. */
static bool devices_check(MutationCall *c, MutationAsk *ask, GError **error) {
        DevicesArgs *a = c->args;
        g_autoptr(GPtrArray) groups = NULL;
        g_autoptr(GPtrArray) devices = NULL;

        if (!machine_check(c, ask, error) ||
            !model_claim_devices_check(c->d->model, a->machine.machine, a->machine.settings.uuid,
                                       a->machine.settings.tenant_node ?: "", (char **) a->addresses->pdata, &groups,
                                       &devices, error))
                return false;
        for (guint i = 0; i < groups->len; i++) {
                const ModelGroup *g = groups->pdata[i];
                mutation_ask_group(ask, g->settings->name);
                mutation_ask_tenant(ask, g->settings->tenant);
        }
        for (guint i = 0; i < devices->len; i++)
                mutation_ask_device(ask, ((const Device *) devices->pdata[i])->address_str);
        return true;
}

static bool devices_apply(MutationCall *c, GError **error) {
        DevicesArgs *a = c->args;

        mutation_log(c, "Claimed %u device%s by address for machine %s", a->addresses->len - 1,
                     a->addresses->len == 2 ? "" : "s", a->machine.machine);
        g_autoptr(GPtrArray) claimed = model_claim_devices(c->d->model, a->machine.machine, a->machine.settings.uuid,
                                                           a->machine.settings.tenant_node ?: "",
                                                           (char **) a->addresses->pdata, error);
        return claimed && reply_built(claimed_append(c->reply, claimed), error);
}

static const MutationSpec devices_spec = {
        .member = "ClaimDevices",
        .args_size = sizeof(DevicesArgs),
        .args_clear = (void (*)(void *)) devices_args_clear,
        .parse = devices_parse,
        .check = devices_check,
        .apply = devices_apply,
};

int bus_claim_method_claim_devices(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&devices_spec, m, userdata, error);
}

/* ---- PassToTenant ---- */

typedef struct {
        char *tenant;
        char *tenant_node;
        BusSettings settings;
} PassArgs;

static void pass_args_clear(PassArgs *a) {
        g_free(a->tenant);
        g_free(a->tenant_node);
        bus_settings_clear(&a->settings);
}

static int pass_parse(MutationCall *c, sd_bus_error *error) {
        PassArgs *a = c->args;
        BusSettings *s = &a->settings;
        g_autoptr(GError) e = NULL;
        const char *tenant, *node;
        int r;

        if ((r = sd_bus_message_read(c->m, "ss", &tenant, &node)) < 0 ||
            (r = bus_settings_read(c->m, BUS_SETTING_GROUP | BUS_SETTING_COUNT | BUS_SETTING_NAME | BUS_SETTING_TYPE |
                                   BUS_SETTING_DESCRIPTION | BUS_SETTING_MAC, s, error)) < 0)
                return r;
        a->tenant = g_strdup(tenant);
        a->tenant_node = g_strdup(node);
        if (!settings_tenant_valid("tenant", tenant, &e) || !settings_tenant_valid("tenant node", node, &e) ||
            ((s->present & BUS_SETTING_NAME) && *s->name && !settings_name_valid("group", s->name, &e)) ||
            ((s->present & BUS_SETTING_TYPE) && !settings_name_valid("type", s->type, &e)) ||
            ((s->present & BUS_SETTING_DESCRIPTION) && !settings_description_valid(s->description, &e)))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT, e->message);
        if (!(s->present & BUS_SETTING_GROUP))
                return sd_bus_error_set(error, DP_ERROR_INVALID_ARGUMENT,
                                        "Name the host group to take the devices from: Group");
        if (!(s->present & BUS_SETTING_COUNT))
                s->count = 1;
        return bus_attachment_mac_parse(s, error);
}

static ModelTenantPass pass_of(const PassArgs *a) {
        const BusSettings *s = &a->settings;

        return (ModelTenantPass) {
                .tenant = a->tenant,
                .tenant_node = a->tenant_node,
                .name = s->name,
                .type = s->present & BUS_SETTING_TYPE ? s->type : NULL,
                .description = s->description,
                .count = s->count,
                .mac = s->mac && *s->mac ? s->mac : NULL,
        };
}

/* The host group and the tenant. Not the devices: the allocator picks
 * them when the pass is made, after polkit answered, from the units then
 * free; a rule scoped to the group already covers every one it could
 * pick, and naming a guess would make the answer stale for nothing. */
static bool pass_check(MutationCall *c, MutationAsk *ask, GError **error) {
        const PassArgs *a = c->args;
        ModelTenantPass pass = pass_of(a);
        ModelGroup *from = model_group_arg(c->d->model, a->settings.group, error);

        if (!from)
                return false;
        ask->actions[0] = "org.devpass1.manage-tenants";
        mutation_ask_group(ask, from->settings->name);
        mutation_ask_tenant(ask, a->tenant);
        return model_tenant_pass_check(c->d->model, from, &pass, error);
}

static bool pass_apply(MutationCall *c, GError **error) {
        const PassArgs *a = c->args;
        ModelTenantPass pass = pass_of(a);
        ModelGroup *from = model_group_arg(c->d->model, a->settings.group, error);

        if (!from)
                return false;
        mutation_log(c, "Passed %u of group '%s' to tenant %s", a->settings.count, from->settings->name, a->tenant);
        ModelGroup *made = model_tenant_pass(c->d->model, from, &pass, error);
        return made && reply_built(sd_bus_message_append(c->reply, "o", made->path), error);
}

static const MutationSpec pass_spec = {
        .member = "PassToTenant",
        .args_size = sizeof(PassArgs),
        .args_clear = (void (*)(void *)) pass_args_clear,
        .parse = pass_parse,
        .check = pass_check,
        .apply = pass_apply,
};

int bus_claim_method_pass_to_tenant(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return mutation_run(&pass_spec, m, userdata, error);
}
