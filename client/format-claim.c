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
        g_free(c->type);
        if (c->devices)
                g_ptr_array_unref(c->devices);
        g_free(c);
}

CtlClaim *ctl_claim_new(GPtrArray *claims, const char *path, const char *name, const char *type) {
        CtlClaim *c = g_new0(CtlClaim, 1);

        c->path = g_strdup(path);
        c->name = g_strdup(name);
        c->type = g_strdup(type);
        c->devices = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_device_free);
        g_ptr_array_add(claims, c);
        return c;
}

CtlClaimDevice *ctl_claim_add(GPtrArray *devices, const char *address, int32_t iommu_group, const char *mac) {
        CtlClaimDevice *d = g_new0(CtlClaimDevice, 1);

        d->address = g_strdup(address);
        d->iommu_group = iommu_group;
        d->vfio = g_strdup_printf("/dev/vfio/%d", iommu_group);
        d->mac = g_strdup(mac);
        g_ptr_array_add(devices, d);
        return d;
}

/* One attachment's devices: a(siss). */
static int read_claim_devices(sd_bus_message *m, GPtrArray *devices) {
        const char *address, *vfio, *mac;
        int32_t group;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "(siss)")) < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(siss)", &address, &group, &vfio, &mac)) > 0) {
                CtlClaimDevice *d = ctl_claim_add(devices, address, group, mac);
                g_free(d->vfio);
                d->vfio = g_strdup(vfio);
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int ctl_claims_read(sd_bus_message *m, GPtrArray **ret) {
        g_autoptr(GPtrArray) claims = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        const char *path, *name;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'a', "(osa(siss))")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "osa(siss)")) > 0) {
                if ((r = sd_bus_message_read(m, "os", &path, &name)) < 0)
                        return r;
                CtlClaim *c = ctl_claim_new(claims, path, name, NULL);
                if ((r = read_claim_devices(m, c->devices)) < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        *ret = g_steal_pointer(&claims);
        return 0;
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
                        CtlRow *row = ctl_table_add_row(t);
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
 * of several functions together in slot guest->slot of bus guest->bus
 * (then the next bus). */
static bool append_attachment(GString *out, const char *name, const char *type, GPtrArray *devices,
                              CtlGuestSlot *guest, char **ret_error) {
        g_autoptr(GPtrArray) units = units_split(devices, name, ret_error);

        for (guint i = 0; units && i < units->len; i++) {
                GPtrArray *unit = units->pdata[i];
                if (unit->len > 1 && guest->bus > 0xff)
                        return (*ret_error = g_strdup_printf("attachment '%s': no guest bus is left for its unit "
                                                             "of IOMMU group %" G_GINT64_FORMAT, name,
                                                             ((const XmlDevice *) unit->pdata[0])->iommu_group)),
                               false;
                unsigned functions[8];
                unit_functions((const XmlDevice *const *) unit->pdata, unit->len, functions);
                for (guint k = 0; k < unit->len; k++) {
                        const XmlDevice *u = unit->pdata[k];
                        g_autofree char *address = unit->len == 1 ? g_strdup("") :
                                g_strdup_printf("<address type='pci' domain='0x0000' bus='0x%02x' slot='0x%02x' "
                                                "function='0x%x'%s/>", guest->bus, guest->slot, functions[k],
                                                functions[k] == 0 ? " multifunction='on'" : "");
                        append_element(out, type, &u->address, u->mac, address);
                }
                if (unit->len > 1)
                        guest->bus++;
        }
        return units != NULL;
}

/* A claim's devices as XmlDevice (pointing into it); NULL with why for an
 * address that is none. */
static GPtrArray *claim_devices(const CtlClaim *c, char **ret_error) {
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

        for (guint j = 0; j < c->devices->len; j++) {
                const CtlClaimDevice *cd = c->devices->pdata[j];
                XmlDevice *d = g_new0(XmlDevice, 1);
                g_ptr_array_add(list, d);
                if (!address_parse(cd->address, &d->address))
                        return (*ret_error = g_strdup_printf("attachment '%s' holds '%s', which is no device",
                                                             c->name, cd->address)), NULL;
                /* libvirt makes a MAC up when there is none. */
                d->mac = cd->mac && cd->mac[0] ? cd->mac : NULL;
                d->iommu_group = cd->iommu_group;
        }
        return g_steal_pointer(&list);
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
                g_autoptr(GPtrArray) list = claim_devices(c, ret_error);
                if (!list || !append_qemu(out, c->name, list, &guest_bus, ret_error))
                        return false;
        }
        *ret = g_string_free(g_steal_pointer(&out), FALSE);
        return true;
}

bool ctl_claims_hostdev_xml(const GPtrArray *claims, CtlGuestSlot guest, char **ret, char **ret_error) {
        g_autoptr(GString) out = g_string_new(NULL);

        for (guint i = 0; i < claims->len; i++) {
                const CtlClaim *c = claims->pdata[i];
                /* Half a domain is worse than none: refuse what cannot be written. */
                if (!c->type || (!g_str_equal(c->type, "pci") && !g_str_equal(c->type, "sriov-nic"))) {
                        *ret_error = g_strdup_printf("attachment '%s' is of type '%s': libvirt XML is written for "
                                                     "pci and sriov-nic only", c->name, c->type ?: "");
                        return false;
                }
                g_autoptr(GPtrArray) list = claim_devices(c, ret_error);
                if (!list || !append_attachment(out, c->name, c->type, list, &guest, ret_error))
                        return false;
        }
        *ret = g_string_free(g_steal_pointer(&out), FALSE);
        return true;
}

bool ctl_hostdev_xml(const GPtrArray *attachments, const GPtrArray *all_devices, unsigned guest_bus, char **ret,
                     char **ret_error) {
        g_autoptr(GPtrArray) claims = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);

        /* What the attachments hold, as a claim would give it. */
        for (guint i = 0; i < attachments->len; i++) {
                const CtlObject *o = attachments->pdata[i];
                char **devices = ctl_props_strv(o->props, "Devices"), **macs = ctl_props_strv(o->props, "DeviceMacs");
                CtlClaim *c = ctl_claim_new(claims, o->path, ctl_props_str(o->props, "Name"),
                                            ctl_props_str(o->props, "Type"));
                for (size_t j = 0; devices && devices[j]; j++) {
                        DpAddress a;
                        char text[DP_ADDRESS_MAX];
                        /* A path that is no device stays as it is: the writer refuses it. */
                        bool device = address_from_path(devices[j], &a);
                        if (device)
                                address_format(&a, text);
                        const CtlObject *dev = ctl_object_by_path(all_devices, devices[j]);
                        /* DeviceMacs pairs with Devices. */
                        ctl_claim_add(c->devices, device ? text : devices[j],
                                      dev ? (int32_t) ctl_props_num(dev->props, "IommuGroup") : -1,
                                      macs && j < g_strv_length(macs) ? macs[j] : "");
                }
        }
        return ctl_claims_hostdev_xml(claims, (CtlGuestSlot) { .bus = guest_bus, .slot = 0 }, ret, ret_error);
}
