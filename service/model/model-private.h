/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The model's insides, shared by model.c (objects, lookups),
 * model-view.c (what devices, groups and rules show), model-edit.c
 * (changes of settings), model-claims.c, model-machines.c and
 * model-attachments.c (machines and tenants). */

#include "model.h"

struct Model {
        Store *store;
        char *group_prefix;        /* ModelPaths, copied */
        char *rule_prefix;
        char *attachment_prefix;
        Inventory *inventory;
        char *node;
        GHashTable *groups;        /* id -> ModelGroup* */
        GHashTable *rules;         /* id -> ModelRule* */
        GHashTable *group_paths;   /* path -> ModelGroup* */
        GHashTable *rule_paths;    /* path -> ModelRule* */
        GHashTable *group_names;   /* name -> ModelGroup* (names are unique) */
        GHashTable *rule_names;    /* name -> ModelRule* */
        GHashTable *intents;       /* address -> StorePassthrough*, owned */
        GHashTable *missing;       /* path -> Device*, owned */
        GHashTable *reboot;        /* address -> reason */
        GHashTable *bind_errors;   /* address -> reason */
        GHashTable *attachments;   /* id -> ModelAttachment* */
        GHashTable *attachment_paths;  /* path -> ModelAttachment* */
        GHashTable *machines;      /* machine -> (name -> ModelAttachment*): its attachments */
        GHashTable *claims;        /* address -> StoreClaim* of a machine */
        GHashTable *held_by;       /* machine -> GPtrArray of its StoreClaim* in claims */
        GHashTable *holds;         /* address -> StoreClaim* of a tenant */
        GHashTable *macs;          /* MAC -> its owner, for messages */
        GHashTable *sriov;         /* PF address -> VF count asked for (GUINT_TO_POINTER) */
        GHashTable *overrides;     /* addresses whose driver_override devpass wrote */
        ModelChanges *changes;
};

/* What devpassd keeps at most, so that GetManagedObjects of everything
 * stays within what one bus message carries (dbus-daemon: 32 MiB). The
 * largest state on a node of 16,384 functions (bench/run "" sizes, the
 * real reply):
 * - the devices, which the kernel decides: 1,185 B each, 18.5 MiB (58%);
 * - 1,024 groups: 1,135 B each with the paths of their rules and
 *   devices, 1.1 MiB (3%);
 * - 4,096 rules: 810 B each with their share of MODEL_MAX_CONDITION_BYTES,
 *   3.2 MiB (10%);
 * - 4,096 attachments: 616 B each, 2.4 MiB (8%).
 * 25.2 MiB in all, 79%; 3.1 MiB of it are the empty standard interfaces
 * sd-bus lists with each object. Groups are 3%: no reason to keep fewer.
 * 4,096 rules suffice for any node: Make Passthrough writes a rule per
 * call and pair of vendor and device ids, each naming up to 1,260
 * addresses (RULE_SET_MAX), not one per device. Rules of two groups that
 * match the same devices list each conflict on both rules: that part
 * grows with the overlap, not with what is stored. */
#define MODEL_MAX_GROUPS 1024
#define MODEL_MAX_RULES 4096
#define MODEL_MAX_ATTACHMENTS 4096
/* All rules' conditions together, as model_conditions_bytes() counts
 * them: about 1,000 regex conditions as long as allowed; 4,096 rules as
 * Make Passthrough writes them for one device (117 B each) twice over;
 * sets naming 16,384 addresses (208 KiB) nearly five times over. */
#define MODEL_MAX_CONDITION_BYTES (1u << 20)
/* A store may hold what earlier versions kept (16,384 rules and
 * attachments, conditions of any size): loaded and kept as it is; the
 * limits above refuse only what would add to it. */
#define MODEL_STORED_MAX_RULES 16384
#define MODEL_STORED_MAX_ATTACHMENTS 16384

/* What StoreCondition*s count against MODEL_MAX_CONDITION_BYTES: their
 * strings and 24 bytes each, about what they take on the bus. */
size_t model_conditions_bytes(GPtrArray *conditions);

/* Refused (G_IO_ERROR_NO_SPACE) when have + adding would pass max. */
bool model_room_check(guint have, guint adding, guint max, const char *what, GError **error);

void model_mark(GHashTable *table, gpointer object, guint bits);
void model_mark_removed(Model *m, const char *path, ModelObjectKind kind);
gint64 *model_id_new(int64_t id);
ModelGroup *model_group_new(Model *m, StoreGroup *settings);
void model_group_free(ModelGroup *g);
void model_group_add(Model *m, ModelGroup *g);
ModelRule *model_rule_new(Model *m, StoreRule *settings, GPtrArray *conditions, ModelGroup *g);
void model_rule_free(ModelRule *r);
void model_rule_attach(ModelRule *r, ModelGroup *g);
void model_rule_add(Model *m, ModelRule *r);

/* Memory follows settings the store holds already (model-edit.c,
 * model-attachments.c): the change functions after their commit, and
 * model_resync(). Each marks what changed; a forgotten object is marked
 * removed and freed. */
guint model_group_settings_set(Model *m, ModelGroup *g, const StoreGroup *next);
void model_group_forget(Model *m, ModelGroup *g);
/* Takes s and conditions; moves r to g. What changed, as RULE_PROP bits. */
guint model_rule_settings_set(Model *m, ModelRule *r, ModelGroup *g, StoreRule *s, GPtrArray *conditions);
void model_rule_forget(Model *m, ModelRule *r);
bool model_conditions_equal(GPtrArray *a, GPtrArray *b);
bool model_passthrough_equal(const StorePassthrough *a, const StorePassthrough *b);
/* Takes s. */
void model_attachment_settings_set(Model *m, ModelAttachment *a, StoreAttachment *s);
void model_attachment_forget(Model *m, ModelAttachment *a);

/* The end of a transaction begun with store_begin(): committed when ok
 * (false when the commit fails), else rolled back. */
bool model_commit_or_rollback(Model *m, bool ok, GError **error);

/* model-node.c */
bool model_node_load(Model *m, GError **error);
void model_node_free(Model *m);
/* The blocker of a function bound to vfio-pci by someone else; NULL when not. */
char *model_by_hand_blocker(Model *m, const Device *d);

/* model-claims.c */
ModelAttachment *model_attachment_new(Model *m, StoreAttachment *settings);
void model_attachment_free(ModelAttachment *a);
/* Into the tables, its MACs taken; out of them, its MACs free. */
void model_attachment_add(Model *m, ModelAttachment *a);
void model_attachment_remove(Model *m, ModelAttachment *a);
/* m->machines for a: before its settings go, after new ones come. */
void model_machine_index(Model *m, ModelAttachment *a);
void model_machine_unindex(Model *m, ModelAttachment *a);
/* "attachment NAME of machine MACHINE": who holds a MAC, for messages. */
char *model_attachment_owner(const StoreAttachment *a);
void model_macs_own(Model *m, char **macs, const char *owner);
void model_macs_disown(Model *m, char **macs);
/* A machine's claim into claims and held_by (owned). */
void model_claim_add(Model *m, StoreClaim *c);
/* The machine's claims (StoreClaim*, borrowed), NULL when it holds nothing. */
GPtrArray *model_machine_claims(Model *m, const char *machine);
/* A claim or a tenant's hold, loaded, into the tables (a hold's MAC
 * owned). */
void model_claim_take(Model *m, StoreClaim *c);
/* The MACs of tenants' groups (store_group_macs_load()) owned: in a
 * cluster, those of other nodes' tenants too, whose holds are not here. */
void model_group_macs_own(Model *m, GHashTable *macs);
bool model_claims_load(Model *m, GError **error);
void model_claims_free(Model *m);
/* The functions VFIO hands out together with *d: its IOMMU group, or *d
 * alone on a node without IOMMU (the caller's variable, then). */
const Device *const *model_unit_peers(const Device *const *d, guint *n);
/* Whether a machine or tenant may get unit (a GPtrArray of Device*, of
 * g) now: judged from the claims, holds, intents and drivers as they are. */
bool model_unit_free(Model *m, ModelGroup *g, GPtrArray *unit);
/* g's units laid out again from its devices, each judged (a refresh);
 * Total and Free recorded when they changed. */
void model_group_judge(Model *m, ModelGroup *g);
/* Only the unit of g that d is in judged again (a claim or release of d
 * or of a function of its IOMMU group); Free recorded when it changed. */
void model_group_judge_device(Model *m, ModelGroup *g, const Device *d);
/* The units of g judged free (GPtrArray of Device*), in address order. */
GPtrArray *model_group_free_units(ModelGroup *g);
/* Every unit of units (of g) judged again before it is given: when one
 * is not free after all, g is judged again and the call refused. */
bool model_units_check(Model *m, ModelGroup *g, GPtrArray *units, GError **error);
/* Why d's IOMMU group cannot go to a machine (a function of it is not on
 * vfio-pci), NULL when it can. Pure. */
char *model_unit_blocker(const Device *d);
/* The attachments' State, StateReason and Devices, after a refresh; only
 * those of machine when not NULL. */
void model_attachments_refresh(Model *m, const char *machine);
