/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassd's org.freedesktop.DBus.ObjectManager: GetManagedObjects,
 * InterfacesAdded and InterfacesRemoved name each object's own interface
 * only, as GDBusObjectManagerServer does. sd-bus's own lists Peer,
 * Introspectable and Properties with every object too: 128 bytes an
 * object, and InterfacesAdded took twice what the rest of a CreateGroup
 * took. Those three still answer on every object (sd-bus serves them);
 * only the listing leaves them out. */

#include <stddef.h>
#include <systemd/sd-bus.h>

/* One kind of object under the manager: a fallback vtable at prefix, its
 * objects found and listed by the callbacks (userdata: BusObjects'). */
typedef struct {
        const char *prefix;
        const char *interface;
        const sd_bus_vtable *vtable;
        sd_bus_object_find_t find;
        sd_bus_node_enumerator_t enumerate;
} BusKind;

typedef struct {
        sd_bus *bus;                    /* set by bus_objects_register() */
        const char *path;               /* the manager's */
        const BusKind *const *kinds;    /* NULL-terminated, static */
        void *userdata;                 /* the callbacks' */
        /* GetManagedObjects' bytes, never below the real size: a reply
         * over max_size is refused with LimitsExceeded (the bus drops a
         * connection that sends one over its limit). */
        size_t (*size)(void *userdata);
        size_t max_size;
} BusObjects;

/* Exports every kind (a fallback vtable and a node enumerator each) and
 * the manager at o->path on bus; o must outlive the bus. */
int bus_objects_register(BusObjects *o, sd_bus *bus);

/* The bytes an object of kind takes in GetManagedObjects besides its
 * path, its strings and its arrays' elements (see model_bus_size()):
 * names, signatures, values of fixed size, and every padding at its
 * worst. */
size_t bus_kind_fixed_bytes(const BusKind *k);

/* InterfacesAdded of the object at path with its properties' values, and
 * InterfacesRemoved of one gone, naming the same interface. */
int bus_objects_emit_added(BusObjects *o, const char *path);
int bus_objects_emit_removed(BusObjects *o, const char *path);
