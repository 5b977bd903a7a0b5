/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The columns of devpassctl's tables, one list per kind of object: what
 * --output picks from, and the keys of --json. Pure, no I/O. */
#include "ctl.h"

#define COLUMNS(c) (c), G_N_ELEMENTS(c)

static const CtlColumn device_columns[] = {
        { "address", "ADDRESS", "Address", .shown = true },
        { "name", "NAME", NULL, .shown = true, .cut = true },
        { "driver", "DRIVER", "Driver", .shown = true },
        { "iommu_group", "IOMMU", "IommuGroup", .shown = true },
        { "numa_node", "NUMA", "NumaNode", .shown = true },
        { "state", "STATE", "State", .shown = true },
        { "group", "GROUP", "Group", .shown = true, .cut = true },
        { "holder", "HOLDER", "Holder", .shown = true },
        /* Out of the default table, which fits 80 columns. */
        { "class_name", "CLASS", "ClassName", .cut = true },
        { "sriov", "SR-IOV", NULL },
        { "vendor_id", "VENDOR_ID", "VendorId" },
        { "device_id", "DEVICE_ID", "DeviceId" },
        { "subsystem_vendor_id", "SUBSYSTEM_VENDOR_ID", "SubsystemVendorId" },
        { "subsystem_device_id", "SUBSYSTEM_DEVICE_ID", "SubsystemDeviceId" },
        { "class", "CLASS_ID", "Class" },
        { "revision", "REVISION", "Revision" },
        { "vendor_name", "VENDOR_NAME", "VendorName" },
        { "device_name", "DEVICE_NAME", "DeviceName" },
        { "subsystem_vendor_name", "SUBSYSTEM_VENDOR_NAME", "SubsystemVendorName" },
        { "subsystem_name", "SUBSYSTEM_NAME", "SubsystemName" },
        { "iommu_group_members", "IOMMU_GROUP_MEMBERS", "IommuGroupMembers" },
        { "physical_function", "PHYSICAL_FUNCTION", "PhysicalFunction" },
        { "virtual_functions", "VIRTUAL_FUNCTIONS", "VirtualFunctions" },
        { "sriov_total_vfs", "SRIOV_TOTAL_VFS", "SriovTotalVfs" },
        { "sriov_num_vfs", "SRIOV_NUM_VFS", "SriovNumVfs" },
        { "boot_vga", "BOOT_VGA", "BootVga" },
        { "reset_methods", "RESET_METHODS", "ResetMethods" },
        { "rule", "RULE", "Rule" },
        { "blockers", "BLOCKERS", "Blockers" },
        { "path", "PATH", "@path" },
};

static const CtlColumn group_columns[] = {
        { "name", "NAME", "Name", .shown = true },
        { "type", "TYPE", "Type", .shown = true },
        { "class", "CLASS", "Class", .shown = true },
        { "total", "TOTAL", "Total", .shown = true },
        { "free", "FREE", "Free", .shown = true },
        { "rules", "RULES", "Rules", .shown = true, .cut = true },
        { "description", "DESCRIPTION", "Description", .shown = true, .cut = true },
        { "tenant", "TENANT", "Tenant" },
        { "tenant_node", "TENANT_NODE", "TenantNode" },
        { "devices", "DEVICES", "Devices" },
        { "nodes", "NODES", "Nodes" },
        { "path", "PATH", "@path" },
};

static const CtlColumn rule_columns[] = {
        { "name", "NAME", "Name", .shown = true },
        { "group", "GROUP", "Group", .shown = true },
        { "node", "NODE", "Node", .shown = true },
        { "enabled", "ENABLED", "Enabled", .shown = true },
        { "devices", "DEVICES", "Devices", .shown = true, .cut = true },
        { "conflicts", "CONFLICTS", "Conflicts", .shown = true, .cut = true },
        { "conditions", "CONDITIONS", "Conditions", .shown = true, .cut = true },
        { "path", "PATH", "@path" },
};

static const CtlColumn attachment_columns[] = {
        { "machine", "MACHINE", "Machine", .shown = true },
        { "name", "NAME", "Name", .shown = true },
        { "type", "TYPE", "Type", .shown = true },
        { "group", "GROUP", "Group", .shown = true },
        { "count", "COUNT", "Count", .shown = true },
        { "state", "STATE", "State", .shown = true },
        { "devices", "DEVICES", "Devices", .shown = true, .cut = true },
        { "macs", "MACS", "Macs", .shown = true, .cut = true },
        { "optional", "OPTIONAL", "Optional", .shown = true },
        { "tenant", "TENANT", "Tenant" },
        { "machine_uuid", "MACHINE_UUID", "MachineUuid" },
        { "description", "DESCRIPTION", "Description" },
        { "state_reason", "STATE_REASON", "StateReason" },
        { "device_macs", "DEVICE_MACS", "DeviceMacs" },
        { "path", "PATH", "@path" },
};

static const CtlColumn tenant_columns[] = {
        { "tenant", "TENANT", "Tenant", .shown = true },
        { "tenant_node", "NODE", "TenantNode", .shown = true },
        { "name", "GROUP", "Name", .shown = true },
        { "type", "TYPE", "Type", .shown = true },
        { "total", "TOTAL", "Total", .shown = true },
        { "free", "FREE", "Free", .shown = true },
        { "devices", "DEVICES", "Devices", .shown = true, .cut = true },
        { "path", "PATH", "@path" },
};

static const CtlColumn node_columns[] = {
        { "name", "NAME", "Name", .shown = true },
        { "state", "STATE", "State", .shown = true },
        { "devices", "DEVICES", "Devices", .shown = true, .right = true },
        { "units", "UNITS", "Units", .shown = true, .right = true },
        { "reboot_required", "REBOOT", "RebootRequired", .shown = true },
        { "reboot_reasons", "REBOOT_REASONS", "RebootReasons", .cut = true },
        { "path", "PATH", "@path" },
};

static const CtlColumn finding_columns[] = {
        { "address", "ADDRESS", NULL, .shown = true },
        { "kind", "KIND", NULL, .shown = true },
        { "subject", "SUBJECT", NULL },
        { "message", "MESSAGE", NULL, .shown = true, .cut = true },
};

/* A reference to a group or rule: its name for people, its path in JSON. */
static void set_label(CtlTable *t, CtlRow *row, const char *key, const GPtrArray *objects, const char *path) {
        ctl_cell_set_text(t, row, key, ctl_object_label(objects, path));
}

/* A list's text replaced by how many it has (zero: that text), as the
 * narrow columns say. */
static void set_count(CtlTable *t, CtlRow *row, const char *key, guint n, const char *zero) {
        ctl_cell_set_text(t, row, key, n ? g_strdup_printf("%u", n) : g_strdup(zero));
}

static guint strv_count(const CtlProps *p, const char *name) {
        char **v = ctl_props_strv(p, name);
        return v ? g_strv_length(v) : 0;
}

CtlTable *ctl_devices_table(const GPtrArray *devices, const CtlObjects *all) {
        CtlTable *t = ctl_table_new("devices", COLUMNS(device_columns));
        bool held = false;

        for (guint i = 0; i < devices->len; i++) {
                const CtlObject *o = devices->pdata[i];
                CtlRow *row = ctl_table_add_object(t, o);
                ctl_cell_set(t, row, "name", ctl_cell_take(ctl_device_name(o->props)));
                ctl_cell_set(t, row, "sriov", ctl_cell_take(ctl_sriov_text(o->props)));
                set_label(t, row, "group", all->groups, ctl_props_str(o->props, "Group"));
                set_label(t, row, "rule", all->rules, ctl_props_str(o->props, "Rule"));
                held = held || ctl_props_str(o->props, "Holder")[0];
        }
        /* HOLDER only when a machine holds something. */
        if (!held)
                ctl_table_hide(t, "holder");
        return t;
}

CtlTable *ctl_groups_table(const GPtrArray *groups, const CtlObjects *all) {
        CtlTable *t = ctl_table_new("groups", COLUMNS(group_columns));

        for (guint i = 0; i < groups->len; i++) {
                const CtlObject *o = groups->pdata[i];
                CtlRow *row = ctl_table_add_object(t, o);
                set_count(t, row, "rules", strv_count(o->props, "Rules"), "0");
        }
        return t;
}

CtlTable *ctl_rules_table(const GPtrArray *rules, const CtlObjects *all) {
        CtlTable *t = ctl_table_new("rules", COLUMNS(rule_columns));

        for (guint i = 0; i < rules->len; i++) {
                const CtlObject *o = rules->pdata[i];
                CtlRow *row = ctl_table_add_object(t, o);
                GPtrArray *conflicts = ctl_props_tuples(o->props, "Conflicts");
                set_label(t, row, "group", all->groups, ctl_props_str(o->props, "Group"));
                /* "" is every node. */
                const char *node = ctl_props_str(o->props, "Node");
                ctl_cell_set_text(t, row, "node", g_strdup(node[0] ? node : "*"));
                set_count(t, row, "devices", strv_count(o->props, "Devices"), "0");
                set_count(t, row, "conflicts", conflicts ? conflicts->len : 0, "-");
        }
        return t;
}

CtlTable *ctl_attachments_table(const GPtrArray *attachments, const CtlObjects *all) {
        CtlTable *t = ctl_table_new("attachments", COLUMNS(attachment_columns));

        for (guint i = 0; i < attachments->len; i++) {
                const CtlObject *o = attachments->pdata[i];
                CtlRow *row = ctl_table_add_object(t, o);
                set_label(t, row, "group", all->groups, ctl_props_str(o->props, "Group"));
        }
        return t;
}

CtlTable *ctl_tenants_table(const GPtrArray *groups) {
        CtlTable *t = ctl_table_new("tenants", COLUMNS(tenant_columns));

        for (guint i = 0; i < groups->len; i++)
                ctl_table_add_object(t, groups->pdata[i]);
        return t;
}

CtlTable *ctl_nodes_table(const GPtrArray *nodes) {
        CtlTable *t = ctl_table_new("nodes", COLUMNS(node_columns));

        for (guint i = 0; i < nodes->len; i++)
                ctl_table_add_object(t, nodes->pdata[i]);
        return t;
}

CtlTable *ctl_findings_table(const GPtrArray *findings) {
        CtlTable *t = ctl_table_new("findings", COLUMNS(finding_columns));

        for (guint i = 0; i < findings->len; i++) {
                char **f = findings->pdata[i];
                CtlRow *row = ctl_table_add_row(t);
                ctl_cell_set(t, row, "address", ctl_cell_take(ctl_short_address(f[0])));
                ctl_cell_set(t, row, "kind", ctl_cell_str(f[1]));
                ctl_cell_set(t, row, "subject", ctl_cell_str(f[2]));
                ctl_cell_set(t, row, "message", ctl_cell_str(f[3]));
        }
        return t;
}
