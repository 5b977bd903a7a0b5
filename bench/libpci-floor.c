/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for devpassd's start: a plain libpci scan and fill of the
 * same tree, with the same facts and names, as lspci would do it. */
#include <pci/pci.h>
#include <stdio.h>

int main(int argc, char *argv[]) {
        struct pci_access *pacc = pci_alloc();
        char name[1024];
        unsigned n = 0;

        pacc->method = PCI_ACCESS_SYS_BUS_PCI;
        if (argc > 1)
                pci_set_name_list_path(pacc, argv[1], 0);
        pci_init(pacc);
        pci_scan_bus(pacc);
        for (struct pci_dev *d = pacc->devices; d; d = d->next) {
                pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_SUBSYS | PCI_FILL_NUMA_NODE |
                                 PCI_FILL_IOMMU_GROUP | PCI_FILL_DRIVER | PCI_FILL_PHYS_SLOT);
                pci_lookup_name(pacc, name, sizeof(name), PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_HWDB, d->vendor_id);
                pci_lookup_name(pacc, name, sizeof(name), PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_HWDB,
                                d->vendor_id, d->device_id);
                pci_lookup_name(pacc, name, sizeof(name), PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_HWDB, d->device_class);
                n++;
        }
        pci_cleanup(pacc);
        printf("%u\n", n);
        return 0;
}
