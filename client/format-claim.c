/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of devpassctl about claims: the devices a machine got,
 * for people, for scripts, as libvirt domain XML and as QEMU arguments. */
#include <string.h>

#include "address.h"
#include "ctl.h"

void ctl_claim_device_free(CtlClaimDevice *d) {
        if (!d)
                return;
        g_free(d->address);
        g_free(d->vfio);
        g_free(d->mac);
        g_free(d);
}

void ctl_claim_free(CtlClaim *c) {
        if (!c)
                return;
        g_free(c->path);
        g_free(c->name);
        if (c->devices)
                g_ptr_array_unref(c->devices);
        g_free(c);
}

static bool same_unit(const CtlClaimDevice *a, const CtlClaimDevice *b) {
        return a == b || (a->iommu_group >= 0 && a->iommu_group == b->iommu_group);
}

/* Where the unit of device j (the functions sharing its IOMMU group)
 * first comes. */
static guint unit_first(const GPtrArray *devices, guint j) {
        for (guint i = 0; i < j; i++)
                if (same_unit(devices->pdata[i], devices->pdata[j]))
                        return i;
        return j;
}

/* Which unit of its attachment device j is, numbered from 0 in the order
 * they come, and in *size how many functions that unit has. */
static guint claim_unit(const GPtrArray *devices, guint j, guint *size) {
        guint unit = 0, first = unit_first(devices, j);

        for (guint i = 0; i < first; i++)
                unit += unit_first(devices, i) == i;
        *size = 0;
        for (guint i = 0; i < devices->len; i++)
                *size += same_unit(devices->pdata[i], devices->pdata[j]);
        return unit;
}

static const CtlColumn claim_columns[] = {
        { "attachment", "ATTACHMENT", NULL, .shown = true },
        { "address", "ADDRESS", NULL, .shown = true },
        { "iommu_group", "IOMMU", NULL, .shown = true },
        { "vfio_device", "VFIO", NULL, .shown = true },
        { "mac", "MAC", NULL, .shown = true },
        { "unit", "UNIT", NULL },
        { "multifunction", "MULTIFUNCTION", NULL },
        { "path", "PATH", NULL },
};

CtlTable *ctl_claims_table(const GPtrArray *claims) {
        CtlTable *t = ctl_table_new("claims", claim_columns, G_N_ELEMENTS(claim_columns));

        for (guint i = 0; i < claims->len; i++) {
                const CtlClaim *c = claims->pdata[i];
                /* An Optional attachment may get nothing: say so on its row. */
                for (guint j = 0; j < MAX(c->devices->len, 1u); j++) {
                        const CtlClaimDevice *d = j < c->devices->len ? c->devices->pdata[j] : NULL;
                        CtlCell *row = ctl_table_add_row(t);
                        ctl_cell_set(t, row, "attachment", ctl_cell_str(c->name));
                        ctl_cell_set(t, row, "path", ctl_cell_str(c->path));
                        if (!d)
                                continue;
                        guint size;
                        guint unit = claim_unit(c->devices, j, &size);
                        ctl_cell_set(t, row, "address", ctl_cell_take(ctl_short_address(d->address)));
                        ctl_cell_set(t, row, "iommu_group", ctl_cell_num(d->iommu_group));
                        ctl_cell_set(t, row, "vfio_device", ctl_cell_str(d->vfio));
                        ctl_cell_set(t, row, "mac", ctl_cell_str(d->mac));
                        ctl_cell_set(t, row, "unit", ctl_cell_num(unit));
                        ctl_cell_set(t, row, "multifunction", ctl_cell_bool(size > 1));
                }
        }
        return t;
}

/* One element; managed='no': devpassd, not libvirt, binds vfio-pci.
 * guest: the element's guest <address/>, "" to leave it to libvirt. */
static void append_element(GString *out, const char *type, const DpAddress *a, const char *mac, const char *guest) {
        if (g_str_equal(type, "sriov-nic")) {
                g_autofree char *m = mac ? g_markup_printf_escaped("<mac address='%s'/>", mac) : g_strdup("");
                g_string_append_printf(out, "  <interface type='hostdev' managed='no'>%s<source><address type='pci' "
                                       "domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>%s"
                                       "</interface>\n", m, a->domain, a->bus, a->slot, a->function, guest);
                return;
        }
        g_string_append_printf(out, "  <hostdev mode='subsystem' type='pci' managed='no'><source><address "
                               "domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>%s</hostdev>\n",
                               a->domain, a->bus, a->slot, a->function, guest);
}

typedef struct {
        DpAddress address;
        const char *mac;
        int64_t iommu_group;
} XmlDevice;

/* Guest functions for a unit of n functions: its own when they are
 * distinct and include 0 (a guest slot needs function 0), else 0..n-1 in
 * address order. */
static void unit_functions(const XmlDevice *const *unit, guint n, unsigned *functions) {
        guint seen = 0;

        for (guint i = 0; i < n; i++)
                seen |= 1u << unit[i]->address.function;
        bool own = (seen & 1) && (guint) __builtin_popcount(seen) == n;
        for (guint i = 0; i < n; i++)
                functions[i] = own ? unit[i]->address.function : i;
}

/* devices (XmlDevice*, in address order) as units: the functions that
 * share an IOMMU group together (GPtrArray of XmlDevice*), in the order
 * their first comes; NULL with why for one that no guest slot takes. */
static GPtrArray *units_split(GPtrArray *devices, const char *name, char **ret_error) {
        g_autoptr(GPtrArray) units = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        g_autofree bool *taken = g_new0(bool, devices->len);

        for (guint i = 0; i < devices->len; i++) {
                const XmlDevice *d = devices->pdata[i];
                if (taken[i])
                        continue;
                GPtrArray *unit = g_ptr_array_new();
                g_ptr_array_add(units, unit);
                for (guint j = i; j < devices->len; j++) {
                        const XmlDevice *e = devices->pdata[j];
                        if (j == i || (!taken[j] && d->iommu_group >= 0 && e->iommu_group == d->iommu_group)) {
                                g_ptr_array_add(unit, (gpointer) e);
                                taken[j] = true;
                        }
                }
                if (unit->len > 8)
                        return (*ret_error = g_strdup_printf("attachment '%s' holds a unit of %u functions (IOMMU "
                                                             "group %" G_GINT64_FORMAT "): more than one guest slot "
                                                             "takes", name, unit->len, d->iommu_group)), NULL;
        }
        return g_steal_pointer(&units);
}

/* Writes one attachment's devices (XmlDevice*, in address order), a unit
 * of several functions together in one guest slot of bus *guest_bus (then
 * the next bus). */
static bool append_attachment(GString *out, const char *name, const char *type, GPtrArray *devices,
                              unsigned *guest_bus, char **ret_error) {
        g_autoptr(GPtrArray) units = units_split(devices, name, ret_error);

        for (guint i = 0; units && i < units->len; i++) {
                GPtrArray *unit = units->pdata[i];
                unsigned functions[8];
                unit_functions((const XmlDevice *const *) unit->pdata, unit->len, functions);
                for (guint k = 0; k < unit->len; k++) {
                        const XmlDevice *u = unit->pdata[k];
                        g_autofree char *guest = unit->len == 1 ? g_strdup("") :
                                g_strdup_printf("<address type='pci' domain='0x0000' bus='0x%02x' slot='0x00' "
                                                "function='0x%x'%s/>", *guest_bus, functions[k],
                                                functions[k] == 0 ? " multifunction='on'" : "");
                        append_element(out, type, &u->address, u->mac, guest);
                }
                if (unit->len > 1)
                        (*guest_bus)++;
        }
        return units != NULL;
}

/* QEMU's arguments for one attachment's units: a unit of one function
 * where QEMU puts it; a unit of several in slot 0 of a pcie-root-port of
 * its own (chassis *guest_bus, then the next), functions kept. */
static bool append_qemu(GString *out, const char *name, GPtrArray *devices, unsigned *guest_bus,
                        char **ret_error) {
        g_autoptr(GPtrArray) units = units_split(devices, name, ret_error);

        for (guint i = 0; units && i < units->len; i++) {
                GPtrArray *unit = units->pdata[i];
                char host[DP_ADDRESS_MAX];
                if (unit->len == 1) {
                        address_format(&((const XmlDevice *) unit->pdata[0])->address, host);
                        g_string_append_printf(out, "-device\nvfio-pci,host=%s\n", host);
                        continue;
                }
                unsigned functions[8];
                unit_functions((const XmlDevice *const *) unit->pdata, unit->len, functions);
                g_string_append_printf(out, "-device\npcie-root-port,id=devpass%u,chassis=%u\n", *guest_bus,
                                       *guest_bus);
                for (guint k = 0; k < unit->len; k++) {
                        address_format(&((const XmlDevice *) unit->pdata[k])->address, host);
                        g_string_append_printf(out, "-device\nvfio-pci,host=%s,bus=devpass%u,addr=0x0.%x%s\n", host,
                                               *guest_bus, functions[k], functions[k] == 0 ? ",multifunction=on" : "");
                }
                (*guest_bus)++;
        }
        return units != NULL;
}

bool ctl_claim_qemu(const GPtrArray *claims, unsigned guest_bus, char **ret, char **ret_error) {
        g_autoptr(GString) out = g_string_new(NULL);

        for (guint i = 0; i < claims->len; i++) {
                const CtlClaim *c = claims->pdata[i];
                g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
                for (guint j = 0; j < c->devices->len; j++) {
                        const CtlClaimDevice *cd = c->devices->pdata[j];
                        XmlDevice *d = g_new0(XmlDevice, 1);
                        g_ptr_array_add(list, d);
                        if (!address_parse(cd->address, &d->address))
                                return (*ret_error = g_strdup_printf("attachment '%s' holds '%s', which is no "
                                                                     "device", c->name, cd->address)), false;
                        d->iommu_group = cd->iommu_group;
                }
                if (!append_qemu(out, c->name, list, &guest_bus, ret_error))
                        return false;
        }
        *ret = g_string_free(g_steal_pointer(&out), FALSE);
        return true;
}

bool ctl_hostdev_xml(const GPtrArray *attachments, const GPtrArray *all_devices, unsigned guest_bus, char **ret,
                     char **ret_error) {
        g_autoptr(GString) out = g_string_new(NULL);

        for (guint i = 0; i < attachments->len; i++) {
                const CtlProps *p = ((CtlObject *) attachments->pdata[i])->props;
                const char *type = ctl_props_str(p, "Type"), *name = ctl_props_str(p, "Name");
                char **devices = ctl_props_strv(p, "Devices"), **macs = ctl_props_strv(p, "DeviceMacs");
                /* Half a domain is worse than none: refuse what cannot be written. */
                if (!g_str_equal(type, "pci") && !g_str_equal(type, "sriov-nic")) {
                        *ret_error = g_strdup_printf("attachment '%s' is of type '%s': hostdev-xml knows pci and "
                                                     "sriov-nic", name, type);
                        return false;
                }
                g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
                for (size_t j = 0; devices && devices[j]; j++) {
                        XmlDevice *d = g_new0(XmlDevice, 1);
                        g_ptr_array_add(list, d);
                        if (!address_from_path(devices[j], &d->address) && !address_parse(devices[j], &d->address)) {
                                *ret_error = g_strdup_printf("attachment '%s' holds '%s', which is no device",
                                                             name, devices[j]);
                                return false;
                        }
                        /* DeviceMacs pairs with Devices; libvirt makes one up when none. */
                        d->mac = macs && j < g_strv_length(macs) && macs[j][0] ? macs[j] : NULL;
                        const CtlObject *o = ctl_object_by_path(all_devices, devices[j]);
                        d->iommu_group = o ? ctl_props_num(o->props, "IommuGroup") : -1;
                }
                if (!append_attachment(out, name, type, list, &guest_bus, ret_error))
                        return false;
        }
        *ret = g_string_free(g_steal_pointer(&out), FALSE);
        return true;
}
