/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The store: devpass's own settings in SQLite (groups, rules and their
 * conditions, per-device passthrough intent). Facts about the hardware are
 * never stored. WAL, synchronous=FULL, foreign keys; the schema version is
 * PRAGMA user_version and only moves forward. Every write is one
 * transaction: store_begin() ... store_commit(), or store_rollback() on
 * any failure, which leaves nothing behind. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct Store Store;

#define STORE_ERROR (store_error_quark())
GQuark store_error_quark(void);
typedef enum {
        STORE_ERROR_IO,         /* cannot open, read or write */
        STORE_ERROR_CONSTRAINT, /* a unique name taken, a reference missing */
        STORE_ERROR_NEWER,      /* written by a newer devpass */
        STORE_ERROR_DAMAGED,    /* not a database, or a row no call could have written */
} StoreError;

#define STORE_SCHEMA_VERSION 6

typedef struct {
        int64_t id;
        char *name;
        char *type;          /* "pci", "sriov-nic" */
        char *description;
        char *class_name;    /* "gpu", "nic", ... */
        char *tenant;        /* "" for the host's own */
        char *tenant_node;   /* the tenant's node its devices are held for */
} StoreGroup;

typedef struct {
        char *field;
        char *op;
        char *value;
} StoreCondition;

typedef struct {
        int64_t id;
        int64_t group_id;
        char *name;
        char *node;          /* "" for every node */
        bool enabled;
        GPtrArray *conditions;   /* StoreCondition* */
} StoreRule;

void store_group_free(StoreGroup *g);
void store_condition_free(StoreCondition *c);
StoreCondition *store_condition_new(const char *field, const char *op, const char *value);
StoreRule *store_rule_new(void);
void store_rule_free(StoreRule *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreGroup, store_group_free);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreRule, store_rule_free);

/* A check of what the caller's layer knows of the rows (the model's:
 * rule conditions), run on the store as it would be after migrating;
 * fails with store_damaged(). */
typedef bool (*StoreCheck)(Store *store, GError **error);

/* Opens (creating, 0700 directory and 0600 file) <dir>/devpass.db, checks
 * every row as a call's arguments would be (and with check, when not
 * NULL), and only then brings its schema up to date. A damaged store is
 * refused (STORE_ERROR_DAMAGED) and left byte for byte as it was. */
Store *store_open_checked(const char *dir, StoreCheck check, GError **error);
Store *store_open(const char *dir, GError **error);
/* Sets a STORE_ERROR_DAMAGED error for a row of table (both NULL: the
 * file as a whole) and says what to do; returns false. */
bool store_damaged(const Store *s, const char *table, const char *row, const char *problem, GError **error);
/* One value of a row checked as store_open_checked() checks the tables'
 * (store-check.c): text (not NULL) or an integer, by table and column
 * ("claims", "mac"). For the same rows coming from elsewhere (a cluster's
 * etcd). Fails with G_IO_ERROR_INVALID_ARGUMENT naming the column. */
bool store_value_check(const char *table, const char *column, const char *text, int64_t number, GError **error);
void store_close(Store *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Store, store_close);

bool store_begin(Store *s, GError **error);
bool store_commit(Store *s, GError **error);
void store_rollback(Store *s);

/* Writes; call inside a transaction. Inserts set the new id. */
bool store_group_insert(Store *s, StoreGroup *g, GError **error);
bool store_group_update(Store *s, const StoreGroup *g, GError **error);
bool store_group_delete(Store *s, int64_t id, GError **error);
bool store_rule_insert(Store *s, StoreRule *r, GError **error);
bool store_rule_update(Store *s, const StoreRule *r, GError **error);
bool store_rule_delete(Store *s, int64_t id, GError **error);
/* The passthrough intent of one device (its group), with what the device
 * was when last seen present: shown while the node lacks it. Zeros are
 * not known (rows written before schema 3). */
typedef struct {
        int64_t group_id;
        uint16_t vendor_id;
        uint16_t device_id;
        uint16_t subsystem_vendor_id;
        uint16_t subsystem_device_id;
        uint32_t class_code;
        uint8_t revision;
} StorePassthrough;

/* Sets (inserts or replaces) the intent of one device. */
bool store_passthrough_set(Store *s, const char *address, const StorePassthrough *p, GError **error);
bool store_passthrough_clear(Store *s, const char *address, GError **error);
/* The VF count asked for a PF (store-node.c). */
bool store_sriov_set(Store *s, const char *address, unsigned numvfs, GError **error);
/* Whether devpass wrote the function's driver_override (and has not yet
 * seen the host driver take it back). */
bool store_override_set(Store *s, const char *address, bool written, GError **error);

/* Reads: arrays of StoreGroup* / StoreRule* by id; intent as address ->
 * StorePassthrough* (g_free). */
GPtrArray *store_groups_load(Store *s, GError **error);
GPtrArray *store_rules_load(Store *s, GError **error);
GHashTable *store_passthrough_load(Store *s, GError **error);
/* address -> GUINT_TO_POINTER(numvfs). */
GHashTable *store_sriov_load(Store *s, GError **error);
/* The addresses of the overrides devpass wrote, as a set. */
GHashTable *store_overrides_load(Store *s, GError **error);

/* ---- machines and tenants (store-vm.c) ---- */

typedef struct {
        int64_t id;
        char *machine;
        char *name;
        char *type;
        char *description;
        char *tenant;             /* "" for the host's machines */
        int64_t group_id;
        uint32_t count;
        char **macs;              /* sriov-nic: one per device; NULL for pci */
        bool optional;
        int64_t generation;       /* moves on with every change */
        int64_t claimed_generation;  /* the generation the machine last claimed; 0: never */
} StoreAttachment;

/* A machine's claim of a device, or a tenant's hold of it: a device has at
 * most one of each (the tables' keys), and a tenant's machine claims only
 * what its tenant holds. */
typedef struct {
        char *address;
        char *holder;             /* the machine, or the tenant */
        bool tenant;              /* a tenant's thick hold */
        int64_t attachment_id;    /* a machine's claim; 0 once its attachment is deleted */
        int64_t group_id;         /* a tenant's hold: the tenant's group */
        char *mac;
        char *uuid;               /* a machine's claim: its domain's UUID, "" when not given */
} StoreClaim;

void store_attachment_free(StoreAttachment *a);
void store_claim_free(StoreClaim *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreAttachment, store_attachment_free);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreClaim, store_claim_free);

/* Inside a transaction. Inserts set the id; MACs are kept unique by the
 * store itself (STORE_ERROR_CONSTRAINT on a duplicate). */
bool store_attachment_insert(Store *s, StoreAttachment *a, GError **error);
bool store_attachment_update(Store *s, const StoreAttachment *a, GError **error);
bool store_attachment_delete(Store *s, int64_t id, GError **error);
/* A claim's record that the machine now runs this generation of it. */
bool store_attachment_set_claimed(Store *s, int64_t id, int64_t generation, GError **error);
/* A claim or hold: unique per address (STORE_ERROR_CONSTRAINT when held). */
bool store_claim_insert(Store *s, const StoreClaim *c, GError **error);
bool store_claim_delete(Store *s, const char *address, GError **error);
/* The boot (the kernel's boot_id) that claims made from now on belong
 * to; "" when it cannot be known. Set once, after store_open(). */
void store_set_boot_id(Store *s, const char *boot_id);
const char *store_boot_id(Store *s);
/* At start, one transaction: the machines' claims of another boot are
 * deleted and returned (StoreClaim*: no machine of an earlier boot still
 * runs), and those of before schema 3 (no boot recorded) are taken into
 * this one. Nothing happens when the boot is unknown. Tenants' holds are
 * no claims: they stay. */
GPtrArray *store_claims_release_stale(Store *s, GError **error);
/* Every machine claim of holder (not a tenant's holds). */
bool store_claims_release(Store *s, const char *machine, GError **error);
/* The MACs of a tenant's group (for its holds). */
bool store_group_macs_set(Store *s, int64_t group_id, char **macs, GError **error);
/* The MACs of every tenant's group: mac -> the group's tenant. A
 * cluster's replica has them all, whichever node holds their devices. */
GHashTable *store_group_macs_load(Store *s, GError **error);

GPtrArray *store_attachments_load(Store *s, GError **error);   /* StoreAttachment*, by id */
/* StoreClaim*, by address (a machine's claim before a tenant's hold). */
GPtrArray *store_claims_load(Store *s, GError **error);

/* ---- what a transaction changed (store-changes.c) ---- */

/* A node of a cluster sends each transaction's changes to etcd: which
 * rows of the tables the cluster shares or mirrors changed, cascades
 * and foreign-key actions included. */
typedef enum {
        STORE_TABLE_GROUPS,
        STORE_TABLE_RULES,          /* a change of its conditions is an update of the rule */
        STORE_TABLE_ATTACHMENTS,
        STORE_TABLE_MACS,
        STORE_TABLE_CLAIMS,
        STORE_TABLE_HOLDS,
        STORE_TABLE_PASSTHROUGH,
} StoreTable;

typedef enum {
        STORE_ROW_INSERT,
        STORE_ROW_UPDATE,
        STORE_ROW_DELETE,
} StoreRowOp;

typedef struct {
        StoreTable table;
        StoreRowOp op;
        int64_t id;          /* groups, rules, attachments */
        char *key;           /* macs: the MAC; claims, holds, passthrough: the address */
        char *old_name;      /* groups, rules: the name before, when it changed or the row went */
        char *old_holder;    /* claims, holds: the holder before, when it changed or the row went */
} StoreRowChange;

void store_row_change_free(StoreRowChange *c);
/* Whether the transactions begun from now on record their changes. */
void store_record_changes(Store *s, bool on);
/* The rows changed since store_begin() (StoreRowChange*, one per row, in
 * no order); empty when changes are not recorded. */
GPtrArray *store_changes(Store *s, GError **error);
/* The transaction's changes as they are, to bring its rows that only this
 * node has (intents, VF counts, overrides) into a later transaction:
 * a cluster node's, once etcd has taken the rest. */
GBytes *store_local_changes(Store *s, GError **error);
bool store_local_apply(Store *s, GBytes *changes, GError **error);

/* Which tables changed since store_dirty_clear(), for the model to read
 * again only those (model_resync()): bits of StoreTable (a rule's
 * conditions its rule's), and of the node's VF counts and overrides.
 * Known from the changes recorded; every table when changes are not
 * recorded, or rows changed outside a recorded transaction or through
 * another connection. Transactions
 * taken back (rolled back, or handed to the commit hook) count: the
 * model may have made them already. */
#define STORE_DIRTY_TABLE(table) (1u << (table))
#define STORE_DIRTY_SRIOV (1u << (STORE_TABLE_PASSTHROUGH + 1))
#define STORE_DIRTY_OVERRIDES (1u << (STORE_TABLE_PASSTHROUGH + 2))
#define STORE_DIRTY_ALL (~0u)
guint store_dirty(Store *s);
/* Of those, the ids of the groups, rules (their conditions too) or
 * attachments changed, sorted (int64_t); NULL when the store does not
 * know them (store_dirty() says every table). */
GArray *store_dirty_ids(Store *s, StoreTable table);
void store_dirty_clear(Store *s);

/* ---- a cluster node's replica (store-replica.c) ---- */

/* Rows as the cluster holds them, ids included; inside a transaction. */
bool store_group_put(Store *s, const StoreGroup *g, GError **error);
bool store_rule_put(Store *s, const StoreRule *r, GError **error);
bool store_attachment_put(Store *s, const StoreAttachment *a, GError **error);
/* A MAC of a tenant's group, given out or gone. An attachment's MACs
 * are its row's (store_attachment_put()): neither touches them. */
bool store_group_mac_put(Store *s, const char *mac, int64_t group_id, GError **error);
bool store_group_mac_delete(Store *s, const char *mac, GError **error);
/* A machine's claims (tenant false) or a tenant's holds, replaced by
 * claims (StoreClaim*; NULL or empty: none). */
bool store_holder_put(Store *s, const char *holder, bool tenant, GPtrArray *claims, GError **error);
/* One row as it is now (in a transaction: with its writes); NULL, with
 * error unset, when there is none. */
StoreGroup *store_group_get(Store *s, int64_t id, GError **error);
StoreRule *store_rule_get(Store *s, int64_t id, GError **error);
StoreAttachment *store_attachment_get(Store *s, int64_t id, GError **error);
/* A machine's claims or a tenant's holds (StoreClaim*), by address. */
GPtrArray *store_holder_claims(Store *s, const char *holder, bool tenant, GError **error);
/* The machines that hold something here, by name. */
GPtrArray *store_claim_holders(Store *s, GError **error);
/* Who holds address (a machine, or a tenant): *holder NULL when nobody. */
bool store_address_holder(Store *s, const char *address, bool tenant, char **holder, GError **error);
/* Whose a MAC is: an attachment's or a group's id (the other 0); both 0
 * when nobody's. */
bool store_mac_owner(Store *s, const char *mac, int64_t *attachment_id, int64_t *group_id, GError **error);
/* The etcd revision the rows of the keys under prefix reflect (0: none
 * yet): a node watches two prefixes. */
bool store_replica_revision(Store *s, const char *prefix, int64_t *revision, GError **error);
bool store_replica_set_revision(Store *s, const char *prefix, int64_t revision, GError **error);
/* A key of etcd as the replica knows it: the revision it last changed
 * at (0: no such key) and its value, when value is not NULL (g_free). */
bool store_replica_key(Store *s, const char *key, int64_t *mod_revision, char **value, GError **error);
/* Sets a key's revision and value; a revision of 0 forgets the key. */
bool store_replica_set_key(Store *s, const char *key, int64_t mod_revision, const char *value, GError **error);
typedef struct {
        char *key;
        int64_t mod_revision;
        char *value;
} StoreReplicaKey;
void store_replica_key_free(StoreReplicaKey *k);
/* The keys that start with prefix (StoreReplicaKey*), in key order. */
GPtrArray *store_replica_keys(Store *s, const char *prefix, GError **error);
/* The groups this node's rows use: its passthrough intents', its tenants'
 * holds', and the attachments' its machines' claims are for; a set of
 * gint64*. */
GHashTable *store_groups_used(Store *s, GError **error);

/* A cluster node hands its transactions to etcd: at store_commit() the
 * hook says whether the transaction is committed here, or handed on
 * (rolled back here: the replica moves when etcd has it, and
 * store_commit() returns true), or refused (rolled back, false with the
 * hook's error). */
typedef enum {
        STORE_COMMIT_HERE,
        STORE_COMMIT_DEFERRED,
        STORE_COMMIT_REFUSED,
} StoreCommit;
typedef StoreCommit (*StoreCommitHook)(Store *s, void *data, GError **error);
void store_set_commit_hook(Store *s, StoreCommitHook hook, void *data);
/* The replica's own writes (what etcd already has): begun with foreign
 * keys checked at the commit (etcd's keys come in key order, a rule
 * before its group), and committed here, whatever the hook would say. */
bool store_begin_deferred(Store *s, GError **error);
bool store_commit_here(Store *s, GError **error);
/* The same for etcd's keys into the replica, their foreign keys checked
 * at the commit when deferred: what it changes is recorded only as what
 * it dirties (store_dirty(), store_dirty_ids()), nothing for the hook. */
bool store_begin_here(Store *s, bool deferred, GError **error);
/* One key's writes inside that transaction (a savepoint), kept or undone
 * alone: a key whose row the store refuses is left out of its batch. */
bool store_key_begin(Store *s, GError **error);
bool store_key_end(Store *s, bool keep, GError **error);
/* The cluster gave out the ids of table (groups, rules, attachments)
 * below next: an insert here never takes one of them. */
bool store_replica_id_floor(Store *s, StoreTable table, int64_t next, GError **error);

/* ---- a single node joining a cluster (store-join.c) ---- */

/* Whether the store holds rows a cluster shares: groups, rules,
 * attachments, claims, holds, MACs. */
bool store_holds_shared_rows(Store *s, bool *any, GError **error);
/* Every MAC the store keeps (char*), in order. */
GPtrArray *store_macs_all(Store *s, GError **error);
/* A join is recorded before it is sent, so that a node that stops
 * before etcd's answer reaches its store finishes it later: the ids the
 * cluster gives the rows of groups, rules and attachments (ids[table]:
 * gint64* -> gint64*), by the revision of etcd the join read. In a
 * transaction of its own; another record of the same revision is
 * replaced, those of others kept (a join etcd did not answer may still
 * land). */
bool store_join_record(Store *s, int64_t revision, GHashTable *const ids[3], GError **error);
/* Whether the join that read revision is recorded (0: any join). */
bool store_join_recorded(Store *s, int64_t revision, bool *recorded, GError **error);
/* Inside a transaction begun with store_begin_deferred(): the ids the
 * join that read revision gave become the rows' own, in the rows that
 * refer to them too; then no join is recorded any more. */
bool store_join_finish(Store *s, int64_t revision, GError **error);
