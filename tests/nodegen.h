/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Synthetic PCI nodes written straight into a testbed's sys directory:
 * plain files and links, no umockdev API, so thousands of functions take
 * a fraction of a second (on tmpfs). Every function gets the attributes
 * and links of the fixtures (tests/fixtures/README.md), plus what the
 * kernel keeps around it: bus/pci/devices/<address>, the driver's
 * directory with its link back, the IOMMU group's directory. All paths
 * given to these functions are on disk (sys_dir is the testbed's /sys);
 * everything aborts on an I/O error. */

#include <stdbool.h>
#include <stdint.h>

/* One PCI function as the kernel shows it. */
typedef struct {
        const char *parent;             /* below devices/: "pci0000:00/0000:00:02.0" */
        const char *address;            /* "dddd:bb:ss.f" */
        uint16_t vendor, device, subsystem_vendor, subsystem_device;
        uint32_t class_code;            /* 0x030000 */
        uint8_t revision;
        bool multifunction;             /* header type bit 7 */
        int numa_node;
        const char *cpulist;            /* local_cpulist */
        unsigned irq;
        int iommu_group;                /* -1: no IOMMU */
        const char *driver;             /* NULL: unbound */
        const char *reset_method;       /* NULL: no reset_method attribute */
        int boot_vga;                   /* -1: not VGA, no attribute */
        uint8_t secondary_bus, subordinate_bus;  /* bridges (class 0x0604xx) */
        /* An SR-IOV PF: sriov_total_vfs > 0. Its virtfnN links come with its VFs. */
        unsigned sriov_total_vfs, sriov_num_vfs, sriov_offset, sriov_stride;
        uint16_t sriov_vf_device;
        /* A VF: its PF's address (a sibling directory), and which virtfnN of the PF. */
        const char *physfn;
        unsigned vf_index;
} NodegenFunction;

/* Writes f's directory, attributes and links, bus/pci/devices/<address>,
 * the PF's virtfnN link for a VF, and the driver and IOMMU group
 * directories f links to (nodegen_driver_link, nodegen_iommu_group_link). */
void nodegen_function_write(const char *sys_dir, const NodegenFunction *f);

/* The bus/pci files the kernel has with or without devices (drivers_probe,
 * drivers_autoprobe, rescan, devices/, drivers/, slots/). */
void nodegen_bus_write(const char *sys_dir);

/* bus/pci/drivers/<driver> with bind, unbind, new_id, remove_id when
 * missing, and its link <address> -> the device (devpath: "devices/..."). */
void nodegen_driver_link(const char *sys_dir, const char *driver, const char *address,
                         const char *devpath);

/* kernel/iommu_groups/<group> with devices/ and type when missing, and
 * devices/<address> -> the device. */
void nodegen_iommu_group_link(const char *sys_dir, int group, const char *address, const char *devpath);

/* Writes a node of exactly n_functions functions: per root complex a host
 * bridge and up to 16 root ports, behind them in turn an X710 NIC (2 PFs
 * with up to 31 VFs each), an RTX A6000 with its HDMI audio, a PM983 NVMe
 * and another A6000; root complexes alternate between NUMA nodes 0 and 1,
 * four per PCI domain. Every function has its own IOMMU group but a GPU's
 * audio, which shares the GPU's. 0000:00:00.0 (group 0) is the first host
 * bridge, 0000:00:01.0 the first root port, and behind it 0000:01:00.0/.1
 * the first NIC's PFs. Written from one thread per CPU. */
void nodegen_write(const char *sys_dir, unsigned n_functions);
