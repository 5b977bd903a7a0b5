/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassctl: what the verbs share. */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <glib.h>
#include <systemd/sd-bus.h>

/* How long a read waits for devpassd, and a change (which may wait for a
 * password and for drivers). */
#define CTL_READ_TIMEOUT_USEC (10 * G_USEC_PER_SEC)
#define CTL_CHANGE_TIMEOUT_USEC (5 * 60 * G_USEC_PER_SEC)

/* Exit codes, documented in --help. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_USAGE = 2,          /* bad command line or malformed argument */
        CTL_EXIT_NOT_FOUND = 3,      /* no such device, group, rule or attachment */
        CTL_EXIT_NOT_RUNNING = 4,    /* devpassd (or the system bus) is not there */
        CTL_EXIT_NOT_AUTHORIZED = 5,
        CTL_EXIT_UNSAFE = 6,         /* check has findings; passthrough refused as unsafe */
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(sd_bus_error, sd_bus_error_free)

/* One property value, as read from the bus. */
typedef struct {
        char *name;
        char type;        /* the D-Bus type: s o b y q u i; 'a' for as/ao; 'r' for an
                           * array of structs of strings (a(ss), a(sss), a(oo)); '?' other */
        char *str;        /* s, o */
        int64_t num;      /* b y q u i */
        char **strv;      /* as, ao */
        GPtrArray *tuples;  /* r: a GStrv per struct */
        char *tuple_types;  /* r: the struct's members, e.g. "sss" */
} CtlValue;

/* The properties of one object, in the order received. */
typedef GPtrArray CtlProps;

/* One object of devpassd: its path and the properties of its devpass interface. */
typedef struct {
        char *path;
        CtlProps *props;
} CtlObject;

/* values.c: the values of many objects, each distinct value kept once
 * (the props arrays that hold them own none). Pure, no I/O. */
typedef struct CtlValues CtlValues;
CtlValues *ctl_values_new(void);
void ctl_values_free(CtlValues *v);
/* The one value of name and s (type 's' or 'o'), of name and a number
 * (type b y q u i), of name and items (an as or ao, type 'a'); what they
 * point to is copied when the value is new. Valid until ctl_values_free. */
const CtlValue *ctl_values_str(CtlValues *v, const char *name, char type, const char *s);
const CtlValue *ctl_values_num(CtlValues *v, const char *name, char type, int64_t num);
const CtlValue *ctl_values_strv(CtlValues *v, const char *name, char *const *items);
/* Keeps a value of its own (tuples, a type this client does not know) until then. */
const CtlValue *ctl_values_own(CtlValues *v, CtlValue *value);

/* Everything GetManagedObjects returns, each array of CtlObject sorted:
 * devices by address, groups by name, rules by group name then name,
 * attachments by machine then name. */
typedef struct {
        GPtrArray *devices;
        GPtrArray *groups;
        GPtrArray *rules;
        GPtrArray *attachments;
        GPtrArray *nodes;     /* the cluster's members, by name; none on a node of its own */
        CtlValues *values;    /* the objects' values, when read from the bus; else NULL */
} CtlObjects;

typedef enum {
        CTL_KIND_GROUP,
        CTL_KIND_RULE,
        CTL_KIND_ATTACHMENT,
} CtlKind;

/* One device of a claim, as Manager.Claim gives it. */
typedef struct {
        char *address;
        int32_t iommu_group;
        char *vfio;       /* "/dev/vfio/<group>" */
        char *mac;        /* "" but for sriov-nic */
} CtlClaimDevice;

/* One attachment of a claim: its object, its name, its devices. */
typedef struct {
        char *path;
        char *name;
        char *type;           /* the attachment's Type; NULL when not read */
        GPtrArray *devices;   /* of CtlClaimDevice */
} CtlClaim;

void ctl_value_free(CtlValue *v);
const CtlValue *ctl_props_get(const CtlProps *p, const char *name);
const char *ctl_props_str(const CtlProps *p, const char *name);   /* "" when absent */
int64_t ctl_props_num(const CtlProps *p, const char *name);      /* -1 when absent */
char **ctl_props_strv(const CtlProps *p, const char *name);      /* NULL when absent or empty */
GPtrArray *ctl_props_tuples(const CtlProps *p, const char *name); /* NULL when absent */

/* One cell of a table: its text for people, its JSON value. */
typedef struct {
        char *text;       /* NULL: "-" */
        char *json;       /* NULL: null */
} CtlCell;

/* One column: key is the JSON key and --output's word; property the
 * D-Bus property it shows (text and JSON from the value, "@path" for the
 * object's path), NULL for one the verb fills. */
typedef struct {
        const char *key;
        const char *heading;
        const char *property;
        bool shown;       /* in the table without --output */
        bool cut;         /* truncated first when the terminal is narrow */
        bool right;
} CtlColumn;

typedef struct CtlTable CtlTable;
/* A row of a table: set its cells with ctl_cell_set(). */
typedef struct CtlRow CtlRow;

typedef struct {
        guint width;      /* 0: no limit */
        bool no_headings, raw;
} CtlTextOptions;

/* format.c: pure, no I/O. */
char *ctl_json_escape(const char *s);                   /* with the quotes */
/* s for a terminal: control characters and bytes that are no UTF-8 as \x1b. */
char *ctl_escape(const char *s);
/* The same for each line of text, keeping its newlines. */
char *ctl_escape_lines(const char *text);
/* The JSON key of a D-Bus property: "IommuGroup" -> "iommu_group". */
char *ctl_json_key(const char *property);
/* One object: its properties under their JSON keys, with devpassctl's
 * JSON values (see ctl_prop_cell). */
char *ctl_props_to_json(const CtlProps *p);
/* A property as a cell: its text, and as JSON null for "", "/" and a -1
 * number (none), devices as addresses, structs as arrays. */
CtlCell ctl_prop_cell(const CtlProps *p, const char *name);
char *ctl_value_to_text(const CtlValue *v);             /* for people */
char *ctl_text_or_dash(const char *s);                  /* a copy; "-" for NULL or "" */
char *ctl_short_address(const char *path_or_address);   /* "/org/.../0000_3b_00_0" -> "0000:3b:00.0" */
char *ctl_sriov_text(const CtlProps *p);                /* "PF 4/64", "VF of 0000:3b:00.0", "-" */
char *ctl_device_name(const CtlProps *p);               /* "Intel Corporation X710 [8086:1572]" */
/* "label: text" lines with the labels right-aligned; rows hold label and
 * text by turns, and text with several lines continues under the first. */
char *ctl_details_format(GPtrArray *rows);
int ctl_exit_code_for_error(const char *error_name, int err);
/* The line that reports a failed call of what (a method, or what was
 * being done): a daemon not answering or not there, a bus policy
 * missing, an object not there, or the error's message in the CLI's
 * words, escaped; err the negative errno. */
char *ctl_error_text(const char *what, const char *name, const char *message, int err);
/* devpassd's message in devpassctl's words: --release, --force, --mac,
 * --count; give-back and release-machine. */
char *ctl_error_words(const char *message);

/* table.c: pure but for the stream a table goes to; libsmartcols lays tables out. */
void ctl_cell_clear(CtlCell *c);
CtlCell ctl_cell_str(const char *s);                    /* "" and NULL: "-", null */
CtlCell ctl_cell_take(char *text);                      /* the same, freeing text */
CtlCell ctl_cell_num(int64_t v);                        /* negative: "-", null */
CtlCell ctl_cell_bool(bool b);                          /* "yes"/"no", true/false */
CtlCell ctl_cell_list(char *const *items, const char *separator);  /* "-" and [] for none */
/* A table whose JSON is {"name": [rows]}; columns must outlive it. */
CtlTable *ctl_table_new(const char *name, const CtlColumn *columns, guint n_columns);
void ctl_table_free(CtlTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlTable, ctl_table_free)
CtlRow *ctl_table_add_row(CtlTable *t);                /* of empty cells */
/* A row with the cells of o's properties and path filled. */
CtlRow *ctl_table_add_object(CtlTable *t, const CtlObject *o);
guint ctl_table_rows(const CtlTable *t);
guint ctl_table_column(const CtlTable *t, const char *key);   /* G_MAXUINT: none */
/* Takes value's text and JSON. */
void ctl_cell_set(CtlTable *t, CtlRow *row, const char *key, CtlCell value);
/* Only the text of a cell (its JSON stays), taking text. */
void ctl_cell_set_text(CtlTable *t, CtlRow *row, const char *key, char *text);
/* What this run prints: JSON or text, and --output's columns (NULL: the
 * default ones). Tables made from then on keep only the cells it needs;
 * before any call they keep all. */
void ctl_tables_want(bool json, const char *output);
char *ctl_table_column_names(const CtlTable *t);
/* --output: the columns of keys (comma-separated), in that order, for the
 * text and the JSON; false with the reason for a key of no column. */
bool ctl_table_select(CtlTable *t, const char *output, char **ret_error);
/* Leaves a default column out of the text (not after --output). */
void ctl_table_hide(CtlTable *t, const char *key);
/* The table laid out by libsmartcols, to f; and the same as a string. */
void ctl_table_print(const CtlTable *t, const CtlTextOptions *o, FILE *f);
char *ctl_table_text(const CtlTable *t, const CtlTextOptions *o);
char *ctl_table_json(const CtlTable *t);               /* {"name": [...]} and a newline */
char *ctl_table_row_json(const CtlTable *t, guint row); /* one object */

/* format-objects.c: pure, no I/O. Groups, rules, conditions, findings. */
void ctl_object_free(CtlObject *o);
void ctl_objects_free(CtlObjects *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlObjects, ctl_objects_free)
CtlObjects *ctl_objects_new(void);
void ctl_objects_sort(CtlObjects *o);
const CtlObject *ctl_object_by_path(const GPtrArray *objects, const char *path);
/* The object with that Name, or that path when arg begins with '/';
 * *ret_count says how many have that name. */
const CtlObject *ctl_object_lookup(const GPtrArray *objects, const char *arg, guint *ret_count);
/* The Name of the object at path, else the path itself; "-" for "/". */
char *ctl_object_label(const GPtrArray *objects, const char *path);
/* "vendor eq 10de": the value in shell quotes when it needs them. */
char *ctl_condition_text(char *const *condition);
char *ctl_conditions_text(const GPtrArray *conditions);  /* joined by ", "; "-" when none */
/* --match's argument arg: either FIELD alone, with OP and VALUE the next
 * two arguments (*ret_consumed 2), or "FIELD OP VALUE" in one, VALUE being
 * all that follows OP. The condition (a GStrv of 3) goes to ret. */
bool ctl_condition_parse(const char *arg, char *const *next, int n_next, char ***ret,
                         int *ret_consumed, char **ret_error);
/* A line for each device two of the rules' groups want, each pair once. */
char *ctl_conflicts_text(const GPtrArray *rules, const CtlObjects *all);
/* "Reboot required: reboot node N to finish 0000:17:00.0 (reason), ..."
 * naming the reasons of addresses (all when NULL or none of them has one). */
char *ctl_reboot_text(const char *node, const GPtrArray *reasons, char *const *addresses);
/* Every property of a device, group or rule, "Name: text" a line, with
 * paths as names or addresses, and sentences (Blockers) a line each. */
char *ctl_object_details(const CtlObject *o, const CtlObjects *all);

/* format-attachments.c: pure, no I/O. Machines, attachments, tenants. */
/* A tenant's name: 1-64 of A-Z a-z 0-9 . _ - (machines: machine_name_valid()). */
bool ctl_name_valid(const char *name);
/* The attachments of machine, in the order of attachments (not owned). */
GPtrArray *ctl_machine_attachments(const GPtrArray *attachments, const char *machine);
/* The attachment arg names among the machine's: its Name, or its path
 * when arg begins with '/' (of whichever machine: the caller checks);
 * *ret_count says how many match. */
const CtlObject *ctl_attachment_lookup(const GPtrArray *attachments, const char *machine, const char *arg,
                                       guint *ret_count);
/* A line for each attachment with a StateReason. */
char *ctl_attachment_reasons_text(const GPtrArray *attachments);
/* The groups owned by a tenant (tenant's only, unless NULL), by tenant,
 * tenant node and name (not owned). */
GPtrArray *ctl_tenant_groups(const GPtrArray *groups, const char *tenant);

/* columns.c: pure. The tables of each kind, a row per object; references
 * to groups and rules by name for people, by path in JSON. */
CtlTable *ctl_devices_table(const GPtrArray *devices, const CtlObjects *all);
CtlTable *ctl_groups_table(const GPtrArray *groups, const CtlObjects *all);
CtlTable *ctl_rules_table(const GPtrArray *rules, const CtlObjects *all);
CtlTable *ctl_attachments_table(const GPtrArray *attachments, const CtlObjects *all);
CtlTable *ctl_tenants_table(const GPtrArray *groups);
/* The members of a cluster (org.devpass1.Node objects). */
CtlTable *ctl_nodes_table(const GPtrArray *nodes);
/* check's findings: (address, kind, subject, message) as CheckPassthrough gives them. */
CtlTable *ctl_findings_table(const GPtrArray *findings);

/* format-claim.c: pure, no I/O. Claims and the libvirt XML of devices. */
void ctl_claim_device_free(CtlClaimDevice *d);
void ctl_claim_free(CtlClaim *c);
/* A new attachment of a claim, added to claims; type may be NULL. */
CtlClaim *ctl_claim_new(GPtrArray *claims, const char *path, const char *name, const char *type);
/* A new device, added to devices (a CtlClaim's), its VFIO device made up
 * from its IOMMU group. */
CtlClaimDevice *ctl_claim_add(GPtrArray *devices, const char *address, int32_t iommu_group, const char *mac);
/* claim's table: a row per device, with its unit (the functions of one
 * IOMMU group) and whether that unit has several; an attachment that got
 * no device has a row of none. */
CtlTable *ctl_claims_table(const GPtrArray *claims);
/* Claim's reply, a(osa(siss)), as CtlClaim (types not set). */
int ctl_claims_read(sd_bus_message *m, GPtrArray **ret);
/* Where in the guest a unit of several functions goes: slot slot of bus
 * bus, the next unit on the next bus. A PCIe root port takes slot 0 (and
 * libvirt adds the root ports a bus needs, up to its index); a PCI bridge
 * of an i440fx machine needs slot 1 or more. */
typedef struct {
        unsigned bus, slot;
} CtlGuestSlot;
/* The libvirt <hostdev> (pci) or <interface type='hostdev'> (sriov-nic)
 * element of each device of claims (CtlClaim, with their types), a line
 * each, indented two spaces. A unit of several functions (one IOMMU
 * group) stays together in the guest: one slot of a bus of its own,
 * function 0 with multifunction='on'. False, with the reason, for a type
 * other than these or an address that is none: nothing half-written. */
bool ctl_claims_hostdev_xml(const GPtrArray *claims, CtlGuestSlot guest, char **ret, char **ret_error);
/* The same for what the attachments (the node's attachment objects) hold
 * now, with the IOMMU groups of devices (the node's device objects),
 * units in slot 0 from guest_bus on. */
#define CTL_GUEST_BUS_DEFAULT 0x10
bool ctl_hostdev_xml(const GPtrArray *attachments, const GPtrArray *devices, unsigned guest_bus, char **ret,
                     char **ret_error);
/* QEMU's arguments for a claim (q35, PCIe), one a line: "-device", then
 * "vfio-pci,host=DDDD:BB:SS.F" for a unit of one function (QEMU places
 * it); a unit of several functions in slot 0 of a pcie-root-port of its
 * own (id devpass<N>, chassis N, N from guest_bus on, as hostdev-xml's
 * buses), each function's "vfio-pci,host=...,bus=devpass<N>,addr=0x0.F",
 * function 0 with multifunction=on. romfile=, x-vga= and a VF's MAC (set
 * on the host's PF) are the caller's. False, with the reason, as
 * ctl_hostdev_xml(). */
bool ctl_claim_qemu(const GPtrArray *claims, unsigned guest_bus, char **ret, char **ret_error);

/* bus.c */
int ctl_bus_open(sd_bus **ret);
/* Reports a failed call in one line and returns its exit code. */
int ctl_fail(const char *what, const sd_bus_error *error, int r);
int ctl_read_props(sd_bus_message *m, CtlProps **ret);     /* reads a{sv} */
/* A number of D-Bus type (b y q u i), widened. */
int ctl_read_number(sd_bus_message *m, char type, int64_t *ret);
/* The same, each value one of values' (the props own none). */
int ctl_read_props_shared(sd_bus_message *m, CtlValues *values, CtlProps **ret);
/* Reads an array of structs of strings or paths (types: e.g. "sss"). */
int ctl_read_tuples(sd_bus_message *m, const char *types, GPtrArray **ret);
int ctl_get_all(sd_bus *bus, const char *path, const char *interface, CtlProps **ret, int *exit_code);
/* The Name property of a group, rule or attachment; NULL when it cannot be read. */
char *ctl_get_name(sd_bus *bus, const char *path, CtlKind kind);

/* objects.c */
const char *ctl_kind_interface(CtlKind kind);
int ctl_get_objects(sd_bus *bus, CtlObjects **ret, int *exit_code);
/* Only what the devices table shows (Manager.ListDevices): the devices
 * with Address, VendorId, DeviceId, VendorName, DeviceName, ClassName,
 * Driver, IommuGroup, NumaNode, PhysicalFunction, SriovNumVfs,
 * SriovTotalVfs, State, Group and Holder, and the groups they are in
 * with their Name; nothing else. */
int ctl_get_devices(sd_bus *bus, CtlObjects **ret, int *exit_code);
/* The path of the group or rule arg names (a Name or a path), getting
 * *objects once when a name needs looking up. Returns an exit code, and
 * reports a failure in one line. *ret_path lives as long as arg and *objects. */
int ctl_resolve(sd_bus *bus, CtlObjects **objects, CtlKind kind, const char *arg, const char **ret_path);
/* What to call the group, rule or attachment arg names in a message: arg,
 * or for a path its Name when it can be read. */
char *ctl_label(sd_bus *bus, CtlKind kind, const char *arg);
/* The same, for a group or rule that must be among *objects (got here when
 * NULL): a path of none gives CTL_EXIT_NOT_FOUND too. */
int ctl_resolve_object(sd_bus *bus, CtlObjects **objects, CtlKind kind, const char *arg, const CtlObject **ret);
/* The attachment of machine that arg names (its Name, or its path), among
 * *objects (got here when NULL). Returns an exit code, as ctl_resolve. */
int ctl_resolve_attachment(sd_bus *bus, CtlObjects **objects, const char *machine, const char *arg,
                           const CtlObject **ret);

/* The settings of a group, as create-group, update-group and passthrough
 * --new-group take them; NULL for those not given. */
typedef struct {
        const char *name, *type, *klass, *description;
} CtlGroupSettings;

/* The settings of an attachment or a tenant's pass, as attach,
 * update-attachment and tenant-pass take them; NULL or -1 when not given. */
typedef struct {
        const char *group;        /* a name or path, as given */
        const char *name, *description, *mac, *tenant;
        int64_t count;
        int optional;
} CtlAttachSettings;
#define CTL_ATTACH_SETTINGS_INIT { .count = -1, .optional = -1 }

/* agent.c: on a terminal, for a user who is not root and did not say
 * --no-ask-password, pkttyagent for the password polkit may ask; the
 * calls then allow interactive authorization. */
void ctl_agent_open(sd_bus *bus);
void ctl_agent_close(void);

/* call.c: method calls on devpassd. */
int ctl_new_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                 sd_bus_message **ret);
/* Sends a change m (the polkit agent started first); returns an exit
 * code, and reports a failure in one line. */
int ctl_call(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply);
/* The same for any call, without an agent; 0: the read timeout. */
int ctl_call_timeout(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_message **ret_reply);
/* The same without a reply, and then the line saying what was done
 * (not with --json). */
int ctl_call_done(sd_bus *bus, sd_bus_message *m, const char *format, ...) G_GNUC_PRINTF(3, 4);
int ctl_append_paths(sd_bus_message *m, const GPtrArray *paths);          /* ao */
/* a{sv} entries, with the keys of the XML; nothing for a NULL string or path
 * or a negative bool. */
int ctl_append_string(sd_bus_message *m, const char *key, const char *value);
int ctl_append_path(sd_bus_message *m, const char *key, const char *path);
int ctl_append_bool(sd_bus_message *m, const char *key, int value);
int ctl_append_uint32(sd_bus_message *m, const char *key, int64_t value);  /* nothing when negative */
int ctl_append_int32(sd_bus_message *m, const char *key, int64_t value);   /* nothing when negative */
int ctl_append_conditions(sd_bus_message *m, const GPtrArray *conditions);  /* Conditions a(sss) */
int ctl_append_group_settings(sd_bus_message *m, const CtlGroupSettings *s);
/* The whole a{sv} of s, with group the path s->group resolved to (or NULL). */
int ctl_append_attach_settings(sd_bus_message *m, const CtlAttachSettings *s, const char *group);
/* Manager.Claim's options; NULL or -1 for those not given. */
typedef struct {
        int64_t numa_node;
        const char *tenant_node, *uuid;
} CtlClaimOptions;
#define CTL_CLAIM_OPTIONS_INIT { .numa_node = -1 }
/* Manager.Claim for machine: an exit code, a failure reported; the
 * claims (CtlClaim, types not set) in *ret. */
int ctl_claim(sd_bus *bus, const char *machine, const CtlClaimOptions *options, GPtrArray **ret);
/* Prints "Reboot required: ..." after a change to addresses (NULL-terminated)
 * that waits for a reboot. */
void ctl_print_reboot(sd_bus *bus, char *const *addresses);

/* args.c: command lines and output. */
/* getopt codes of the long options several verbs share. */
enum {
        CTL_OPT_NAME = 0x100,
        CTL_OPT_TYPE,
        CTL_OPT_CLASS,
        CTL_OPT_DESCRIPTION,
        CTL_OPT_GROUP,
        CTL_OPT_COUNT,
        CTL_OPT_MAC,
        CTL_OPT_OPTIONAL,
        CTL_OPT_REQUIRED,
        CTL_OPT_TENANT,
        CTL_OPT_PRIVATE,     /* a verb's own options from here */
};
#define CTL_GROUP_OPTIONS \
        { "type", required_argument, NULL, CTL_OPT_TYPE }, \
        { "class", required_argument, NULL, CTL_OPT_CLASS }, \
        { "description", required_argument, NULL, CTL_OPT_DESCRIPTION }
/* ... and those of attach, update-attachment and tenant-pass. */
#define CTL_ATTACH_OPTIONS \
        { "group", required_argument, NULL, CTL_OPT_GROUP }, \
        { "count", required_argument, NULL, CTL_OPT_COUNT }, \
        { "name", required_argument, NULL, CTL_OPT_NAME }, \
        { "mac", required_argument, NULL, CTL_OPT_MAC }, \
        { "description", required_argument, NULL, CTL_OPT_DESCRIPTION }

/* getopt_long over a verb's arguments (only long options), with the
 * messages of devpassctl: returns '?' after reporting a bad option. */
int ctl_getopt(int argc, char **argv, const struct option *options);
/* Takes CTL_OPT_NAME .. CTL_OPT_DESCRIPTION into s; false for other codes. */
bool ctl_group_option(int c, const char *arg, CtlGroupSettings *s);
bool ctl_group_settings_any(const CtlGroupSettings *s);
/* Takes CTL_OPT_NAME, CTL_OPT_DESCRIPTION and CTL_OPT_GROUP .. CTL_OPT_TENANT
 * into s; false for other codes, and after reporting a bad --count. */
bool ctl_attach_option(int c, const char *verb, const char *arg, CtlAttachSettings *s);
/* Reports a name that is no machine's or tenant's (what: "machine",
 * "tenant") and returns CTL_EXIT_USAGE; CTL_EXIT_OK for a good one. */
int ctl_check_name(const char *what, const char *name);
/* An integer option's value in min..max, else reported: CTL_EXIT_USAGE. */
int ctl_parse_int(const char *verb, const char *option, const char *arg, int64_t min, int64_t max,
                  int64_t *ret);
/* "devpassctl: ...; see devpassctl --help", returning CTL_EXIT_USAGE. */
int ctl_usage(const char *format, ...) G_GNUC_PRINTF(1, 2);
/* The device paths of PCI addresses, checked here: a malformed one is
 * reported and gives CTL_EXIT_USAGE before any call. */
int ctl_device_paths(char *const *addresses, int n, GPtrArray **ret);
/* What create-group and create-rule print: "NAME PATH", or JSON. */
void ctl_print_created(const char *name, const char *path, bool json);

/* output.c: the options that shape output, the terminal, the pager. */
typedef struct {
        bool json, no_headings, raw, no_pager, no_ask_password;
        const char *output;       /* --output's keys */
        guint width;              /* the terminal's, once the pager took stdout */
} CtlArgs;
extern CtlArgs ctl_args;
/* A pipe (fds, close-on-exec) and a fork, stdout flushed first: fork()'s
 * value, -1 with nothing left open when either fails. */
pid_t ctl_fork_piped(int fds[2]);
/* $COLUMNS, else the width of the terminal on stdout; 0 when none. */
guint ctl_terminal_width(void);
/* Pipes stdout through $DEVPASS_PAGER, $PAGER or less, on a terminal
 * without --no-pager or --json; ctl_pager_close() waits for it. */
void ctl_pager_open(void);
void ctl_pager_close(void);

/* show.c: tables and views. */
/* --output applied to t; CTL_EXIT_USAGE, reported, for a bad key. */
int ctl_table_setup(CtlTable *t);
/* t as the options say (--output applied, CTL_EXIT_USAGE when it is
 * bad): a table, through the pager, or JSON. */
int ctl_table_show(CtlTable *t);
/* The view of one object o: its details, or its row of the table
 * table_of makes with --output, or that row's JSON object with --json. */
typedef CtlTable *(*CtlTableOf)(const GPtrArray *objects, const CtlObjects *all);
int ctl_print_one(const CtlObject *o, const CtlObjects *all, CtlTableOf table_of);

/* The verbs: argv[0] is the verb. Each returns an exit code. */
int verb_status(sd_bus *bus, int argc, char **argv, bool json);
int verb_devices(sd_bus *bus, int argc, char **argv, bool json);
int verb_device(sd_bus *bus, int argc, char **argv, bool json);
int verb_monitor(sd_bus *bus, int argc, char **argv, bool json);
int verb_groups(sd_bus *bus, int argc, char **argv, bool json);
int verb_group(sd_bus *bus, int argc, char **argv, bool json);
int verb_create_group(sd_bus *bus, int argc, char **argv, bool json);
int verb_update_group(sd_bus *bus, int argc, char **argv, bool json);
int verb_delete_group(sd_bus *bus, int argc, char **argv, bool json);
int verb_rules(sd_bus *bus, int argc, char **argv, bool json);
int verb_create_rule(sd_bus *bus, int argc, char **argv, bool json);
int verb_update_rule(sd_bus *bus, int argc, char **argv, bool json);
int verb_delete_rule(sd_bus *bus, int argc, char **argv, bool json);
int verb_check(sd_bus *bus, int argc, char **argv, bool json);
int verb_passthrough(sd_bus *bus, int argc, char **argv, bool json);
int verb_give_back(sd_bus *bus, int argc, char **argv, bool json);
int verb_sriov(sd_bus *bus, int argc, char **argv, bool json);
int verb_attachments(sd_bus *bus, int argc, char **argv, bool json);
int verb_attach(sd_bus *bus, int argc, char **argv, bool json);
int verb_detach(sd_bus *bus, int argc, char **argv, bool json);
int verb_update_attachment(sd_bus *bus, int argc, char **argv, bool json);
int verb_claim(sd_bus *bus, int argc, char **argv, bool json);
int verb_release_machine(sd_bus *bus, int argc, char **argv, bool json);
int verb_hostdev_xml(sd_bus *bus, int argc, char **argv, bool json);
int verb_tenant_pass(sd_bus *bus, int argc, char **argv, bool json);
int verb_tenants(sd_bus *bus, int argc, char **argv, bool json);
int verb_rule(sd_bus *bus, int argc, char **argv, bool json);
int verb_attachment(sd_bus *bus, int argc, char **argv, bool json);
int verb_nodes(sd_bus *bus, int argc, char **argv, bool json);
int verb_cluster(sd_bus *bus, int argc, char **argv, bool json);
