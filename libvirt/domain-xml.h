/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A libvirt domain's XML as devpass reads and changes it: its PCI host
 * devices, and the devices devpass manages in it. Pure: libxml2 on
 * strings, no I/O, no libvirt. */

#include <stdbool.h>
#include <glib.h>
#include <libxml/tree.h>

#include "address.h"
#include "ctl.h"

/* devpass's own namespace in <metadata>: the devices it put into the
 * domain, so that it replaces those and never the administrator's own:
 *   <devpass:devices xmlns:devpass="...">
 *     <devpass:device address="0000:17:00.0"/>
 *   </devpass:devices> */
#define DPL_NAMESPACE "https://devpass.org/xmlns/libvirt/1"
#define DPL_NAMESPACE_PREFIX "devpass"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

/* A PCI host device of the domain: a <hostdev mode='subsystem' type='pci'>
 * or an <interface type='hostdev'>, with its host address. */
typedef struct {
        xmlNode *node;
        DpAddress address;
        bool managed;        /* managed='yes': libvirt binds and unbinds its driver */
} DplHostdev;

/* The domain's XML, or NULL with the reason (no XML, no <domain>). */
xmlDoc *dpl_domain_parse(const char *xml, char **ret_error);
char *dpl_domain_format(xmlDoc *doc);
/* Its <uuid>, NULL when it has none. */
char *dpl_domain_uuid(xmlDoc *doc);
/* Its PCI host devices (DplHostdev), in order; those whose source address
 * is missing or malformed are left out (libvirt refuses them itself). */
GArray *dpl_domain_hostdevs(xmlDoc *doc);
/* The addresses devpass's metadata names (DpAddress), in order. */
GArray *dpl_domain_managed(xmlDoc *doc);
/* Where units of several functions go in this domain: slot 0 of PCIe
 * root ports, slot 1 of PCI bridges on an i440fx ("pc") machine, on the
 * first bus past every bus a device sits on and every controller that
 * cannot take such a unit, so that a re-start finds the same bus. */
CtlGuestSlot dpl_domain_guest_slot(xmlDoc *doc);
/* The new definition (doc is left as it is): devpass's devices of the
 * old one (its metadata) removed, those of claims (CtlClaim, with their
 * types) added, the metadata naming these. NULL, with the reason, when a
 * claimed device is in the domain as the administrator's own, or the
 * XML cannot be written. */
char *dpl_domain_replace(xmlDoc *doc, const GPtrArray *claims, char **ret_error);
