/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The model: devpass's own settings (groups, rules, passthrough intent,
 * from the store) laid over the inventory's facts. It decides each
 * device's Group, Rule, State and Blockers and each group's and rule's
 * devices, and says what changed. Every change of settings is one store
 * transaction; when it fails, memory is untouched. No bus, no sysfs. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "inventory.h"
#include "store.h"
#include "units.h"

/* Where the model's objects are, as whoever shows them names them: a
 * prefix for each kind, an object being "<prefix>/<id>". */
typedef struct {
        const char *groups;
        const char *rules;
        const char *attachments;
} ModelPaths;

typedef struct Model Model;
typedef struct ModelRule ModelRule;

typedef enum {
        GROUP_PROP_NAME,
        GROUP_PROP_TYPE,
        GROUP_PROP_DESCRIPTION,
        GROUP_PROP_CLASS,
        GROUP_PROP_TENANT,
        GROUP_PROP_TENANT_NODE,
        GROUP_PROP_RULES,
        GROUP_PROP_DEVICES,
        GROUP_PROP_TOTAL,
        GROUP_PROP_FREE,
        GROUP_PROP_NODES,
        _GROUP_PROP_MAX,
} GroupProp;

typedef enum {
        RULE_PROP_NAME,
        RULE_PROP_GROUP,
        RULE_PROP_NODE,
        RULE_PROP_CONDITIONS,
        RULE_PROP_ENABLED,
        RULE_PROP_DEVICES,
        RULE_PROP_CONFLICTS,
        _RULE_PROP_MAX,
} RuleProp;

typedef enum {
        ATTACHMENT_PROP_NAME,
        ATTACHMENT_PROP_MACHINE,
        ATTACHMENT_PROP_TENANT,
        ATTACHMENT_PROP_TYPE,
        ATTACHMENT_PROP_DESCRIPTION,
        ATTACHMENT_PROP_GROUP,
        ATTACHMENT_PROP_COUNT,
        ATTACHMENT_PROP_MACS,
        ATTACHMENT_PROP_OPTIONAL,
        ATTACHMENT_PROP_STATE,
        ATTACHMENT_PROP_STATE_REASON,
        ATTACHMENT_PROP_DEVICES,
        ATTACHMENT_PROP_DEVICE_MACS,
        ATTACHMENT_PROP_MACHINE_UUID,
        _ATTACHMENT_PROP_MAX,
} AttachmentProp;

#define PROP_BIT(p) (1u << (p))

typedef struct {
        int64_t id;
        char *path;
        StoreGroup *settings;
        GPtrArray *rules;         /* ModelRule*, by id */
        GPtrArray *devices;       /* Device*, by address */
        Units *units;             /* devices by IOMMU group, as last judged */
        uint32_t total;           /* units on this node */
        uint32_t free;
        const char *node;         /* this node's name (the model's) */
        GHashTable *elsewhere;    /* the other nodes of a cluster: name -> ModelUnits* */
} ModelGroup;

/* A group's units on a node: how many, and how many are free. */
typedef struct {
        int64_t group_id;
        uint32_t total;
        uint32_t free;
} ModelUnits;

typedef struct {
        const Device *device;
        const ModelRule *other;
} ModelConflict;

typedef struct {
        int64_t id;
        char *path;
        StoreAttachment *settings;
        ModelGroup *group;
        GPtrArray *devices;       /* Device* the machine holds for it, present ones */
        char **device_macs;       /* the MAC each of devices carries ("" for pci) */
        const char *state;        /* "restart-required", "attached", "degraded", "error" */
        char *state_reason;       /* "" unless error or degraded */
        char *claim_error;        /* why the last claim left it out (Optional), NULL */
        char *machine_uuid;       /* the UUID its machine's claim was made for, "" for none */
} ModelAttachment;

/* What a claim gave one attachment. */
typedef struct {
        ModelAttachment *attachment;
        GPtrArray *devices;       /* Device* */
        GPtrArray *macs;          /* char*, one per device ("" for pci) */
} ModelClaimed;

void model_claimed_free(ModelClaimed *c);

struct ModelRule {
        int64_t id;
        char *path;
        StoreRule *settings;
        GPtrArray *conditions;    /* RuleCondition* */
        ModelGroup *group;
        GPtrArray *devices;       /* Device* matched here, by address */
        GArray *conflicts;        /* ModelConflict */
};

/* The kinds of object the model shows. */
typedef enum {
        MODEL_OBJECT_DEVICE,       /* a missing device's ghost */
        MODEL_OBJECT_GROUP,
        MODEL_OBJECT_RULE,
        MODEL_OBJECT_ATTACHMENT,
} ModelObjectKind;

typedef struct {
        char *path;
        ModelObjectKind kind;
} ModelRemoved;

/* What changed since the last model_take_changes(). Objects are borrowed
 * from the model (or the inventory) and valid until the next change. */
typedef struct {
        GHashTable *devices;       /* Device* -> DevicePropMask */
        GHashTable *groups;        /* ModelGroup* -> GroupProp bits */
        GHashTable *rules;         /* ModelRule* -> RuleProp bits */
        GHashTable *attachments;   /* ModelAttachment* -> AttachmentProp bits */
        GPtrArray *added;          /* paths of new groups, rules and missing devices */
        GPtrArray *removed;        /* ModelRemoved*: objects gone */
        bool reboot_changed;
        bool refreshed;            /* model_refresh() ran: settings (intents among them) or the node changed */
} ModelChanges;

void model_changes_free(ModelChanges *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ModelChanges, model_changes_free);

/* Loads the settings and lays them over the inventory (refreshed). A
 * stored rule whose conditions no longer validate matches nothing and is
 * logged. */
Model *model_new(Store *store, Inventory *inventory, const char *node, const ModelPaths *paths, GError **error);
/* What the model knows of a store's rows before it is trusted (a
 * StoreCheck for store_open_checked()): every rule's conditions compile
 * as a call's would. */
bool model_store_check(Store *store, GError **error);
void model_free(Model *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Model, model_free);

/* Computes every device's view and every group's and rule's devices again
 * (after hotplug, or a change of settings), recording what changed. */
void model_refresh(Model *m);
/* The groups' units on the other nodes of a cluster, as those last said:
 * node name -> GArray of ModelUnits (taken). Groups whose figures
 * elsewhere changed are marked (Total, Free, Nodes). */
void model_units_elsewhere(Model *m, GHashTable *nodes);
/* The units of this node's groups that have any (ModelUnits). */
GArray *model_units_here(Model *m);
/* A group's units over every node, this one's included. */
void model_group_units_all(const ModelGroup *g, uint32_t *total, uint32_t *free);
/* Memory brought to the rows the store holds now, each difference marked
 * as a change (a cluster node's replica moved on, or a change was taken
 * back). Fails, changing nothing, when the store cannot be read or a
 * rule's conditions do not compile. */
bool model_resync(Model *m, GError **error);
/* The same after a claim or release, which change only who holds these
 * devices (addresses, strings): their State and Holder, their groups'
 * Free, the machine's attachments. */
void model_refresh_holders(Model *m, GPtrArray *addresses, const char *machine);
ModelChanges *model_take_changes(Model *m);

/* Bytes of GetManagedObjects, of each kind of object. */
typedef struct {
        size_t device, group, rule, attachment;
} ModelBusBytes;

/* How many bytes GetManagedObjects of everything takes, a little more,
 * never less: each object's fixed bytes (the bus faces know them:
 * bus_kind_fixed_bytes()) and its path, strings and arrays' elements.
 * *kinds (unless NULL) gets each kind's share. */
size_t model_bus_size(Model *m, const ModelBusBytes *fixed, ModelBusBytes *kinds);

/* Lookups. */
ModelGroup *model_group_by_path(Model *m, const char *path);
/* The same for a path a call names: NULL with G_IO_ERROR_NOT_FOUND. */
ModelGroup *model_group_arg(Model *m, const char *path, GError **error);
ModelGroup *model_group_by_name(Model *m, const char *name);
ModelRule *model_rule_by_path(Model *m, const char *path);
ModelRule *model_rule_by_name(Model *m, const char *name);
/* Devices the store knows of and the node does not have (State missing). */
Device *model_missing_by_path(Model *m, const char *path);
/* Sorted paths, for the bus enumerators; free with g_strfreev(). */
char **model_group_paths(Model *m);
char **model_rule_paths(Model *m);
char **model_missing_paths(Model *m);
const char *model_node(Model *m);

/* Passthrough intent: the group a device was passed through for, NULL when
 * it is the host's. */
ModelGroup *model_intent(Model *m, const char *address);
/* Who uses the function, most specific first: "claimed by machine vm1",
 * "held by tenant acme", "passed through for group G"; NULL when nobody
 * (the host's). Free with g_free(). */
char *model_device_use(Model *m, const char *address);
/* Addresses with an intent, sorted (borrowed strings). */
GPtrArray *model_intent_addresses(Model *m);
/* (address, reason), sorted by address. */
GPtrArray *model_reboot_reasons(Model *m);

/* Changes of settings: validate before calling (settings.h, rules.h); the
 * model checks only what needs the whole picture (unique names). Each is
 * one transaction. */
/* A group name nobody has. */
bool model_group_name_check(Model *m, const char *name, GError **error);
ModelGroup *model_group_create(Model *m, StoreGroup *settings, GError **error);
/* Each *_check() is what its change refuses, without changing anything:
 * the bus asks it before and after polkit, the change itself again. */
bool model_group_update_check(Model *m, ModelGroup *g, const StoreGroup *next, GError **error);
bool model_group_update(Model *m, ModelGroup *g, const StoreGroup *settings, GError **error);
/* Refused (G_IO_ERROR_BUSY) while devices are passed through for it,
 * unless release: then their intent goes in the same transaction. */
bool model_group_delete_check(Model *m, ModelGroup *g, bool release, GError **error);
bool model_group_delete(Model *m, ModelGroup *g, bool release, GError **error);
/* conditions: RuleCondition* compiled from settings->conditions (taken). */
ModelRule *model_rule_create(Model *m, ModelGroup *g, StoreRule *settings, GPtrArray *conditions, GError **error);
bool model_rule_update(Model *m, ModelRule *r, ModelGroup *g, StoreRule *settings, GPtrArray *conditions,
                       GError **error);
bool model_rule_delete(Model *m, ModelRule *r, GError **error);

/* Refused when a device is passed through for another group (BUSY), has
 * no IOMMU group (PERMISSION_DENIED: unsafe), is no VF for a sriov-nic
 * group of type, or a rule of a group other than g (NULL: a new group)
 * matches it (EXISTS, naming the rule: it would be in neither group). */
bool model_passthrough_check(Model *m, ModelGroup *g, const char *type, GPtrArray *devices, GError **error);
/* Make passthrough, as one transaction (checked as above): the group (existing g, or a new
 * one from new_group), a rule per device that no rule of the group
 * matches yet (this node, vendor, device, address), and the intent. */
ModelGroup *model_passthrough_add(Model *m, ModelGroup *g, StoreGroup *new_group, GPtrArray *devices,
                                  GError **error);
/* Keeps the stored facts of passed-through devices that are present in
 * step with what the node shows (a card swapped, a new revision), so that
 * a missing one shows what it last was. Writes only what differs; a
 * failed write is logged and tried again at the next call. */
void model_passthrough_facts_sync(Model *m);
/* Refused: an address not passed through, or held by a machine or tenant. */
bool model_passthrough_remove_check(Model *m, char **addresses, GError **error);
/* Forgets the intent of the addresses (checked as above). */
bool model_passthrough_remove(Model *m, char **addresses, GError **error);

/* What the binder found, shown as Blockers and RebootReasons; memory only
 * (the next start finds out again). NULL clears. */
void model_set_reboot_reason(Model *m, const char *address, const char *reason);
void model_set_bind_error(Model *m, const char *address, const char *reason);
/* Whether the last driver change of address failed or waits for a reboot. */
bool model_bind_failed(Model *m, const char *address);

/* ---- the node: VF counts, overrides (model-node.c) ---- */

/* Records the VF count asked for a PF (one transaction): devpassd sets it
 * again at every start. */
bool model_sriov_set(Model *m, const char *pf, unsigned count, GError **error);
/* PFs with a count asked for, sorted (borrowed strings); the count. */
GPtrArray *model_sriov_addresses(Model *m);
unsigned model_sriov_count(Model *m, const char *pf);
/* What a new VF count refuses. A new count goes through 0: every VF goes
 * and the first count come back at the same addresses, where the
 * reconcile binds those passed through to vfio-pci again. So a
 * passed-through VF must be free (a machine or tenant would lose it) and
 * among the first count (else it is gone). */
bool model_sriov_check(Model *m, const Device *pf, unsigned count, GError **error);
/* Whether any VF of the PF is passed through, present or not: the VFs'
 * places follow from the PF's sriov_offset and sriov_stride. */
bool model_pf_vfs_passed_through(Model *m, const Device *pf);
/* Whether devpass wrote address's driver_override and has not yet seen
 * its host driver take it back; forgetting it is one transaction. */
bool model_override_recorded(Model *m, const char *address);
bool model_override_forget(Model *m, const char *address, GError **error);

/* ---- machines and tenants (model-claims.c, model-attachments.c,
 * model-machines.c) ---- */

ModelAttachment *model_attachment_by_path(Model *m, const char *path);
ModelGroup *model_attachment_group(Model *m, const StoreAttachment *s);
ModelAttachment *model_attachment_by_name(Model *m, const char *machine, const char *name);
char **model_attachment_paths(Model *m);
/* A machine's attachments (ModelAttachment*, by id); a machine is its
 * attachments' machine name. */
GPtrArray *model_machine_attachments(Model *m, const char *machine);
/* Whose a machine is: its tenant, "" for the host's, NULL for a machine
 * without attachments (nobody's yet). */
const char *model_machine_tenant(Model *m, const char *machine);
/* The groups a machine draws from or holds devices of (ModelGroup*,
 * distinct, any order). */
GPtrArray *model_machine_groups(Model *m, const char *machine);
/* The machine or tenant that holds a device, NULL when none. */
const char *model_holder(Model *m, const char *address);
/* Who gave out a MAC ("attachment nic 1 of machine vm1"), NULL when free. */
const char *model_mac_owner(Model *m, const char *mac);
/* A new locally administered unicast MAC, unique among those given out and
 * those in taken (a set; may be NULL). */
char *model_mac_generate(Model *m, GHashTable *taken);

/* A change of attachment settings as a call asks it: NULL strings and
 * has_* false are not given (the attachment's own, or the defaults).
 * Borrowed; their syntax checked (settings.h), mac parsed ("": none). */
typedef struct {
        const char *machine;
        const char *group;        /* a group's path */
        const char *name;
        const char *type;
        const char *description;
        const char *tenant;
        const char *mac;
        bool has_count;
        uint32_t count;
        bool has_optional;
        bool optional;
} ModelAttachmentChange;

/* The attachments n changes would create (StoreAttachment*), each
 * checked as model_attachments_create() checks it, and all of them for
 * one owner. Linear in n. */
GPtrArray *model_attachments_settle(Model *m, const ModelAttachmentChange *changes, guint n, GError **error);
/* The settings change c would give a, checked as model_attachment_update()
 * checks them. */
StoreAttachment *model_attachment_settle(Model *m, ModelAttachment *a, const ModelAttachmentChange *c,
                                         GError **error);
/* Each refused unless: its group exists and has its type and tenant;
 * Count is 1 to the group's Total; MACs only on a host's sriov-nic group,
 * one per device, nobody else's; its name is free on the machine; and
 * the machine is its tenant's (a machine is the host's or one tenant's
 * from its first attachment on), all of them one owner's. One
 * transaction for all of them. A
 * blank name becomes "<group> <n>", blank MACs are made. */
GPtrArray *model_attachments_create(Model *m, GPtrArray *settings, GError **error);
/* Checked the same; the machine sees the change at its next claim. */
bool model_attachment_update(Model *m, ModelAttachment *a, StoreAttachment *settings, GError **error);
/* The machine keeps what it holds until it is released. */
bool model_attachment_delete(Model *m, ModelAttachment *a, GError **error);

/* The UUID (of a libvirt domain) the machine's claim was made for: ""
 * when the claim named none, NULL when the machine holds nothing. Every
 * claim of the machine carries its first claim's UUID; a call naming
 * another UUID is refused (G_IO_ERROR_BUSY, naming both) while it holds
 * anything: another domain of the same name. uuid below: NULL or "" for
 * none, else lower case. */
const char *model_machine_uuid(Model *m, const char *machine);
bool model_machine_uuid_check(Model *m, const char *machine, const char *uuid, GError **error);
/* Claims free devices for every attachment of the machine, all or nothing
 * (an Optional one that cannot be met is left out, with its reason). A
 * machine that holds devices of its current attachments gets them again.
 * Returns ModelClaimed*; G_IO_ERROR_BUSY names the attachment, the group,
 * how many were wanted and how many are free. */
GPtrArray *model_claim(Model *m, const char *machine, const char *uuid, int numa_node, const char *tenant_node,
                       GError **error);
/* Claims the devices at addresses (canonical, NULL-terminated) for the
 * machine, all or nothing: what a VM manager's hook found in a starting
 * domain. Each must be a passthrough device on this node: one the machine
 * holds passes; a free one of a group the machine has an attachment to is
 * claimed with its whole unit, for the first such attachment whose Count
 * has a unit left. Refused: not passed through (INVALID_ARGUMENT), not on
 * the node (NOT_FOUND), held by another machine or tenant or sharing its
 * IOMMU group with one (BUSY, naming the holder), a group the machine is
 * not attached to (INVALID_ARGUMENT, naming the group), no unit left in
 * the attachments' Count (BUSY). Returns the machine's whole claim
 * afterwards (ModelClaimed*, as model_claim()). The check gives the groups
 * (ModelGroup*) and devices (Device*: the addresses and their units'
 * functions) the call touches. */
bool model_claim_devices_check(Model *m, const char *machine, const char *uuid, const char *tenant_node,
                               char **addresses, GPtrArray **groups, GPtrArray **devices, GError **error);
GPtrArray *model_claim_devices(Model *m, const char *machine, const char *uuid, const char *tenant_node,
                               char **addresses, GError **error);
/* Frees every device the machine holds; nothing held is fine. */
bool model_release(Model *m, const char *machine, GError **error);

/* A pass of a host group's devices to a tenant, as a call asks it
 * (borrowed; syntax checked, mac parsed). */
typedef struct {
        const char *tenant;
        const char *tenant_node;
        const char *name;         /* NULL or "": "<tenant> <group>" */
        const char *type;         /* NULL: the group's */
        const char *description;  /* NULL: "" */
        uint32_t count;
        const char *mac;          /* the first device's; NULL: made */
} ModelTenantPass;

/* Refused unless from is the host's, of the type asked, holds count
 * units, the name is free and a MAC (sriov-nic, Count 1 only) nobody's. */
bool model_tenant_pass_check(Model *m, ModelGroup *from, const ModelTenantPass *p, GError **error);
/* Takes count free units of from for the tenant (checked as above), in a
 * new group of the tenant's. */
ModelGroup *model_tenant_pass(Model *m, ModelGroup *from, const ModelTenantPass *p, GError **error);

/* The groups a rule change touches (ModelGroup*, distinct, any order):
 * the rule's group before (r; NULL for a new rule) and after (target),
 * the groups of the rules it is in conflict with, and the groups of every
 * rule that matches a device the rule as next (conditions: compiled)
 * would match. Linear in the node's devices. */
GPtrArray *model_rule_scope(Model *m, const ModelRule *r, ModelGroup *target, const StoreRule *next,
                            GPtrArray *conditions);
/* Room for the rule as next, replacing self (NULL: a new rule): a rule
 * more and its conditions' bytes within what devpassd keeps
 * (G_IO_ERROR_NO_SPACE), its name free unless blank. */
bool model_rule_check(Model *m, const ModelRule *self, const StoreRule *next, GError **error);

/* Compiles stored conditions; the error names the bad one. */
GPtrArray *model_conditions_compile(GPtrArray *stored, GError **error);
