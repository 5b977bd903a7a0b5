/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of devpassctl about claims: the devices a machine got,
 * for people, for scripts, and as libvirt domain XML. */
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

GPtrArray *ctl_claim_rows(const GPtrArray *claims) {
        static const char *const titles[] = { "ATTACHMENT", "ADDRESS", "IOMMU", "VFIO", "MAC" };
        GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        GPtrArray *row = g_ptr_array_new_with_free_func(g_free);

        for (size_t i = 0; i < G_N_ELEMENTS(titles); i++)
                g_ptr_array_add(row, g_strdup(titles[i]));
        g_ptr_array_add(rows, row);
        for (guint i = 0; i < claims->len; i++) {
                const CtlClaim *c = claims->pdata[i];
                /* An Optional attachment may get nothing: say so on its row. */
                for (guint j = 0; j < MAX(c->devices->len, 1u); j++) {
                        const CtlClaimDevice *d = j < c->devices->len ? c->devices->pdata[j] : NULL;
                        row = g_ptr_array_new_with_free_func(g_free);
                        g_ptr_array_add(row, ctl_text_or_dash(c->name));
                        g_ptr_array_add(row, d ? ctl_short_address(d->address) : g_strdup("-"));
                        g_ptr_array_add(row, d && d->iommu_group >= 0 ? g_strdup_printf("%d", d->iommu_group)
                                                                      : g_strdup("-"));
                        g_ptr_array_add(row, ctl_text_or_dash(d ? d->vfio : NULL));
                        g_ptr_array_add(row, ctl_text_or_dash(d ? d->mac : NULL));
                        g_ptr_array_add(rows, row);
                }
        }
        return rows;
}

char *ctl_claim_to_json(const GPtrArray *claims) {
        GString *out = g_string_new("[");

        for (guint i = 0; i < claims->len; i++) {
                const CtlClaim *c = claims->pdata[i];
                g_autofree char *path = ctl_json_escape(c->path), *name = ctl_json_escape(c->name);
                g_string_append_printf(out, "%s{\"Path\": %s, \"Name\": %s, \"Devices\": [", i ? ",\n  " : "\n  ",
                                       path, name);
                for (guint j = 0; j < c->devices->len; j++) {
                        const CtlClaimDevice *d = c->devices->pdata[j];
                        g_autofree char *address = ctl_json_escape(d->address), *vfio = ctl_json_escape(d->vfio),
                                        *mac = ctl_json_escape(d->mac);
                        g_string_append_printf(out, "%s{\"Address\": %s, \"IommuGroup\": %d, \"VfioDevice\": %s, "
                                               "\"Mac\": %s}", j ? ", " : "", address, d->iommu_group, vfio, mac);
                }
                g_string_append(out, "]}");
        }
        g_string_append(out, claims->len ? "\n]" : "]");
        return g_string_free(out, FALSE);
}

/* One element; managed='no': devpassd, not libvirt, binds vfio-pci. */
static void append_element(GString *out, const char *type, const DpAddress *a, const char *mac) {
        if (g_str_equal(type, "sriov-nic")) {
                g_autofree char *m = mac ? g_markup_printf_escaped("<mac address='%s'/>", mac) : g_strdup("");
                g_string_append_printf(out, "  <interface type='hostdev' managed='no'>%s<source><address type='pci' "
                                       "domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>"
                                       "</interface>\n", m, a->domain, a->bus, a->slot, a->function);
                return;
        }
        g_string_append_printf(out, "  <hostdev mode='subsystem' type='pci' managed='no'><source><address "
                               "domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source></hostdev>\n",
                               a->domain, a->bus, a->slot, a->function);
}

bool ctl_hostdev_xml(const GPtrArray *attachments, char **ret, char **ret_error) {
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
                for (size_t j = 0; devices && devices[j]; j++) {
                        DpAddress a;
                        if (!address_from_path(devices[j], &a) && !address_parse(devices[j], &a)) {
                                *ret_error = g_strdup_printf("attachment '%s' holds '%s', which is no device",
                                                             name, devices[j]);
                                return false;
                        }
                        /* DeviceMacs pairs with Devices; libvirt makes one up when none. */
                        const char *mac = macs && j < g_strv_length(macs) && macs[j][0] ? macs[j] : NULL;
                        append_element(out, type, &a, mac);
                }
        }
        *ret = g_string_free(g_steal_pointer(&out), FALSE);
        return true;
}
