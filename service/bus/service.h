/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The running service as the bus faces see it: its state, the signals
 * that follow the model, the driver changes under way, and the reconcile
 * that keeps the drivers with the settings. daemon.c owns it and wires it
 * to the bus, the node and the loop; the faces include this, never
 * daemon.h. */

#include <systemd/sd-bus.h>

#include "auth.h"
#include "binder.h"
#include "cluster.h"
#include "config.h"
#include "inventory.h"
#include "model.h"
#include "object-manager.h"

#define DP_BUS_NAME "org.devpass1"
#define DP_ROOT_PATH "/org/devpass1"
#define DP_GROUPS_PATH DP_ROOT_PATH "/groups"
#define DP_RULES_PATH DP_ROOT_PATH "/rules"
#define DP_ATTACHMENTS_PATH DP_ROOT_PATH "/attachments"
/* The model's objects, where the faces show them. */
#define DP_MODEL_PATHS ((const ModelPaths) { DP_GROUPS_PATH, DP_RULES_PATH, DP_ATTACHMENTS_PATH })

typedef struct Service {
        Config config;
        char *version;
        sd_bus *bus;
        BusObjects objects;      /* the ObjectManager and the objects under it */
        Inventory *inventory;
        Model *model;
        Auth *auth;
        Binder *binder;
        Cluster *cluster;        /* NULL: the single node devpassd always was */
        bool committing;         /* a change is on its way to etcd (mutation.c) */
        GQueue in_line;          /* MutationCall*: authorized changes waiting for it */
        GPtrArray *nodes;        /* ClusterMember*: the nodes the bus shows */
        guint64 nodes_serial;    /* cluster_members_serial() when they were read */
        GHashTable *binding;     /* addresses with a driver change under way */
        GHashTable *recheck;     /* of those, the ones a driver event was seen for meanwhile */
        char *boot_list;         /* the addresses config.boot_dir holds, one a line; NULL: unknown */
} Service;

/* The service behind a method call on one of its objects (the registering
 * slot's userdata: fallback vtables hand the object to the handler). */
Service *service_of_call(sd_bus_message *m);

/* What each kind of object takes in GetManagedObjects besides its path,
 * strings and arrays' elements (bus_kind_fixed_bytes()). */
ModelBusBytes service_bus_fixed(void);
/* GetManagedObjects' bytes, never below (userdata: the Service). */
size_t service_objects_size(void *userdata);

/* Sends what the model says changed (objects removed, added, properties),
 * and keeps the boot-time vfio-pci list in step with the store; whether
 * that synced the nodes (service_nodes_sync()). */
bool service_emit(Service *s);
/* The nodes read again (bus_nodes_sync()) and what that changed sent:
 * service_emit() does it when this node's figures changed; a cluster's
 * news of other nodes calls it. */
void service_nodes_sync(Service *s);
/* A cluster node's model back to its replica, what changed meanwhile
 * forgotten: a change handed to etcd shows when etcd has it. */
void service_take_back(Service *s);
/* Makes config.boot_dir hold what the store says boots on vfio-pci. */
void service_boot_list_sync(Service *s);

/* A driver change of addresses (NULL-terminated) begins: calls that would
 * change them are Busy, the reconcile leaves them. */
void service_binding_begin(Service *s, const char *const *addresses);
/* The binder's results (BindResult*) are in: their devices are free
 * again, and those a driver event came for meanwhile are reconciled. */
void service_binding_end(Service *s, GPtrArray *results);

/* Sets a PF's VF count through the binder, the PF marked busy (done
 * unmarks it); a PF whose VFs are passed through gets
 * sriov_drivers_autoprobe 0 first, so that no host driver takes them. */
void service_set_vfs(Service *s, const Device *pf, unsigned count, BinderFunc done, void *userdata);

/* Records what the binder did (reboot reasons, errors) on the model.
 * Returns true when a device waits for a reboot; *failed gets the
 * reasons of those that failed, NULL when none. */
bool service_bind_results(Service *s, GPtrArray *results, char **failed);

/* The hotplug callback (userdata: the Service): signals, then each device
 * that came or whose driver changed is reconciled. */
void service_on_changes(InventoryChanges *changes, void *userdata);
/* At start: VF counts asked for set again, then every device reconciled;
 * done(userdata) once the binder has finished all of it (READY=1 waits
 * for it: a VM manager ordered after devpassd finds its devices bound). */
void service_start_reconcile(Service *s, void (*done)(void *userdata), void *userdata);
