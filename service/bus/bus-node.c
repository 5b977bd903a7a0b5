/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-node.h"

#include <gio/gio.h>

#include "text.h"

/* This node, as its own bus shows it. */
static ClusterMember *member_here(Service *d) {
        ClusterMember *m = g_new0(ClusterMember, 1);
        g_autoptr(GArray) units = model_units_here(d->model);

        m->name = g_strdup(d->config.node);
        m->up = true;
        m->devices = inventory_size(d->inventory);
        m->groups = g_array_sized_new(FALSE, FALSE, sizeof(ClusterFree), units->len);
        for (guint i = 0; i < units->len; i++) {
                const ModelUnits *u = &g_array_index(units, ModelUnits, i);
                m->units += u->total;
                g_array_append_val(m->groups, ((ClusterFree) { u->group_id, u->free, u->total }));
        }
        g_autoptr(GPtrArray) pairs = model_reboot_reasons(d->model);
        m->reboot_reasons = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < pairs->len; i++)
                g_ptr_array_add(m->reboot_reasons, g_strdup(pairs->pdata[i]));
        return m;
}

/* The members, this node's figures its own (fresher than what it put in
 * etcd). */
static GPtrArray *members_read(Service *d) {
        g_autoptr(GError) error = NULL;
        GPtrArray *members = d->cluster ? cluster_members(d->cluster, &error) : NULL;

        if (!members) {
                if (error)
                        g_warning("Cannot read the cluster's nodes: %s", error->message);
                members = g_ptr_array_new_with_free_func((GDestroyNotify) cluster_member_free);
        }
        ClusterMember *here = member_here(d);
        for (guint i = 0; i < members->len; i++) {
                ClusterMember *m = members->pdata[i];
                if (!g_str_equal(m->name, here->name))
                        continue;
                here->up = m->up;
                cluster_member_free(g_ptr_array_steal_index(members, i));
                break;
        }
        g_ptr_array_add(members, here);
        return members;
}

static char *node_path(const char *name) {
        char *path = NULL;
        return sd_bus_path_encode(DP_NODES_PATH, name, &path) >= 0 ? path : NULL;
}

static ClusterMember *member_by_path(Service *d, const char *path) {
        g_autofree char *name = NULL;

        if (!d->nodes || sd_bus_path_decode(path, DP_NODES_PATH, &name) <= 0)
                return NULL;
        for (guint i = 0; i < d->nodes->len; i++)
                if (g_str_equal(((ClusterMember *) d->nodes->pdata[i])->name, name))
                        return d->nodes->pdata[i];
        return NULL;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const ClusterMember *m = userdata;

        if (g_str_equal(property, "Name"))
                return sd_bus_message_append(reply, "s", m->name);
        if (g_str_equal(property, "State"))
                return sd_bus_message_append(reply, "s", m->up ? "up" : "down");
        if (g_str_equal(property, "Devices"))
                return sd_bus_message_append(reply, "u", m->devices);
        if (g_str_equal(property, "Units"))
                return sd_bus_message_append(reply, "u", m->units);
        if (g_str_equal(property, "RebootRequired"))
                return sd_bus_message_append(reply, "b", m->reboot_reasons->len > 0);
        int r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (guint i = 0; r >= 0 && i + 1 < m->reboot_reasons->len; i += 2)
                r = sd_bus_message_append(reply, "(ss)", m->reboot_reasons->pdata[i],
                                          m->reboot_reasons->pdata[i + 1]);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

const sd_bus_vtable bus_node_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Devices", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Units", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RebootRequired", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RebootReasons", "a(ss)", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END
};

static int node_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        *found = member_by_path(userdata, path);
        return *found != NULL;
}

static int node_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        Service *d = userdata;
        GPtrArray *paths = g_ptr_array_new();

        for (guint i = 0; d->nodes && i < d->nodes->len; i++) {
                char *path = node_path(((ClusterMember *) d->nodes->pdata[i])->name);
                if (path)
                        g_ptr_array_add(paths, path);
        }
        g_ptr_array_add(paths, NULL);
        *ret_nodes = (char **) g_ptr_array_free(paths, FALSE);
        return 0;
}

const BusKind bus_node_kind = {
        DP_NODES_PATH, DP_NODE_INTERFACE, bus_node_vtable, node_find, node_enumerate,
};

void bus_nodes_init(Service *d) {
        d->nodes = members_read(d);
        d->nodes_serial = d->cluster ? cluster_members_serial(d->cluster) : 0;
}

static bool strv_same(GPtrArray *a, GPtrArray *b) {
        if (a->len != b->len)
                return false;
        for (guint i = 0; i < a->len; i++)
                if (!g_str_equal(a->pdata[i], b->pdata[i]))
                        return false;
        return true;
}

static ClusterMember *member_named(GPtrArray *members, const char *name) {
        for (guint i = 0; i < members->len; i++)
                if (g_str_equal(((ClusterMember *) members->pdata[i])->name, name))
                        return members->pdata[i];
        return NULL;
}

/* The properties of was that now has otherwise. */
static void emit_changed(Service *d, const ClusterMember *was, const ClusterMember *now) {
        const char *names[6];
        size_t n = 0;

        if (was->up != now->up)
                names[n++] = "State";
        if (was->devices != now->devices)
                names[n++] = "Devices";
        if (was->units != now->units)
                names[n++] = "Units";
        if (!strv_same(was->reboot_reasons, now->reboot_reasons)) {
                names[n++] = "RebootRequired";
                names[n++] = "RebootReasons";
        }
        names[n] = NULL;
        g_autofree char *path = node_path(now->name);
        if (n > 0 && path)
                (void) sd_bus_emit_properties_changed_strv(d->bus, path, DP_NODE_INTERFACE, (char **) names);
}

/* The other nodes' figures of each group, for its Total, Free and Nodes:
 * only of those up (a node that is down gives nothing). */
static void units_elsewhere(Service *d) {
        g_autoptr(GHashTable) nodes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                            (GDestroyNotify) g_array_unref);

        for (guint i = 0; i < d->nodes->len; i++) {
                const ClusterMember *m = d->nodes->pdata[i];
                if (!m->up || g_str_equal(m->name, d->config.node))
                        continue;
                GArray *units = g_array_sized_new(FALSE, FALSE, sizeof(ModelUnits), m->groups->len);
                for (guint j = 0; j < m->groups->len; j++) {
                        const ClusterFree *f = &g_array_index(m->groups, ClusterFree, j);
                        g_array_append_val(units, ((ModelUnits) { f->group_id, f->total, f->units }));
                }
                g_hash_table_insert(nodes, m->name, units);
        }
        model_units_elsewhere(d->model, nodes);
}

/* The other members as they were: this node's figures alone again. */
static void here_sync(Service *d) {
        g_autoptr(ClusterMember) fresh = member_here(d);

        for (guint i = 0; i < d->nodes->len; i++) {
                ClusterMember *m = d->nodes->pdata[i];
                if (!g_str_equal(m->name, fresh->name))
                        continue;
                fresh->up = m->up;
                emit_changed(d, m, fresh);
                cluster_member_free(m);
                d->nodes->pdata[i] = g_steal_pointer(&fresh);
                break;
        }
}

/* Every member read again, and what changed sent. */
static void members_sync(Service *d, guint64 serial) {
        g_autoptr(GPtrArray) was = g_steal_pointer(&d->nodes);

        d->nodes = members_read(d);
        d->nodes_serial = serial;
        for (guint i = 0; was && i < was->len; i++) {
                const ClusterMember *m = was->pdata[i];
                g_autofree char *path = node_path(m->name);
                if (path && !member_named(d->nodes, m->name))
                        (void) bus_objects_emit_removed(&d->objects, path);
        }
        for (guint i = 0; i < d->nodes->len; i++) {
                const ClusterMember *m = d->nodes->pdata[i];
                const ClusterMember *before = was ? member_named(was, m->name) : NULL;
                g_autofree char *path = node_path(m->name);
                if (!path)
                        continue;
                if (!before)
                        (void) bus_objects_emit_added(&d->objects, path);
                else
                        emit_changed(d, before, m);
        }
}

void bus_nodes_sync(Service *d) {
        if (!d->bus)
                return;
        /* Reading the members from the replica is most of the sync: only
         * when they may have changed. */
        guint64 serial = d->cluster ? cluster_members_serial(d->cluster) : 0;
        if (d->nodes && serial == d->nodes_serial)
                here_sync(d);
        else
                members_sync(d, serial);
        if (d->cluster) {
                units_elsewhere(d);
                cluster_publish(d->cluster, member_named(d->nodes, d->config.node));
        }
}
