/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt qemu hook's cost: libvirt runs it at every step of every
 * domain with the domain's XML on stdin, so for a domain without devpass
 * devices it must cost what any hook costs. The floor is a hook that only
 * reads stdin and exits: this file again, built as bench-hook-floor with
 * BENCH_HOOK_FLOOR. Both run the way libvirt runs hooks (fork, exec, a
 * cleared environment, the XML on stdin, wait), in turn. And, no floor,
 * what the hook costs a domain with devpass devices. */
#ifdef BENCH_HOOK_FLOOR
#include <unistd.h>

int main(void) {
        char buffer[65536];

        while (read(STDIN_FILENO, buffer, sizeof(buffer)) > 0)
                ;
        return 0;
}
#else
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "fakekernel.h"

#define CALLS 400
#define DEVPASS_CALLS 100

/* A domain as virt-install makes it (q35, a disk, a NIC, graphics, the
 * usual controllers): no host device. */
static const char domain_xml[] =
        "<domain type='kvm' id='7'>\n  <name>fedora-workstation</name>\n"
        "  <uuid>5f1e6a0c-9a3e-4c1b-8a55-2d6f0e0b7c11</uuid>\n"
        "  <metadata>\n    <libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>\n"
        "      <libosinfo:os id='http://fedoraproject.org/fedora/39'/>\n    </libosinfo:libosinfo>\n  </metadata>\n"
        "  <memory unit='KiB'>8388608</memory>\n  <currentMemory unit='KiB'>8388608</currentMemory>\n"
        "  <vcpu placement='static'>4</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n"
        "    <boot dev='hd'/>\n  </os>\n  <features>\n    <acpi/>\n    <apic/>\n    <vmport state='off'/>\n"
        "  </features>\n  <cpu mode='host-passthrough' check='none' migratable='on'/>\n"
        "  <clock offset='utc'>\n    <timer name='rtc' tickpolicy='catchup'/>\n"
        "    <timer name='pit' tickpolicy='delay'/>\n    <timer name='hpet' present='no'/>\n  </clock>\n"
        "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n"
        "  <pm>\n    <suspend-to-mem enabled='no'/>\n    <suspend-to-disk enabled='no'/>\n  </pm>\n"
        "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' discard='unmap'/>\n"
        "      <source file='/var/lib/libvirt/images/fedora-workstation.qcow2' index='1'/>\n"
        "      <backingStore/>\n      <target dev='vda' bus='virtio'/>\n      <alias name='virtio-disk0'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>\n    </disk>\n"
        "    <controller type='usb' index='0' model='qemu-xhci' ports='15'>\n      <alias name='usb'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n    </controller>\n"
        "    <controller type='pci' index='0' model='pcie-root'>\n      <alias name='pcie.0'/>\n    </controller>\n"
        "    <controller type='pci' index='1' model='pcie-root-port'>\n      <model name='pcie-root-port'/>\n"
        "      <target chassis='1' port='0x10'/>\n      <alias name='pci.1'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>\n"
        "    </controller>\n    <controller type='sata' index='0'>\n      <alias name='ide'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>\n    </controller>\n"
        "    <interface type='network'>\n      <mac address='52:54:00:6b:3c:58'/>\n"
        "      <source network='default' portid='8a0f3c6e-3f55-4b53-9d2c-7d1e5f4a2b10' bridge='virbr0'/>\n"
        "      <target dev='vnet6'/>\n      <model type='virtio'/>\n      <alias name='net0'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n    </interface>\n"
        "    <serial type='pty'>\n      <source path='/dev/pts/3'/>\n      <target type='isa-serial' port='0'>\n"
        "        <model name='isa-serial'/>\n      </target>\n      <alias name='serial0'/>\n    </serial>\n"
        "    <channel type='spicevmc'>\n      <target type='virtio' name='com.redhat.spice.0' state='connected'/>\n"
        "      <alias name='channel0'/>\n      <address type='virtio-serial' controller='0' bus='0' port='1'/>\n"
        "    </channel>\n    <input type='tablet' bus='usb'>\n      <alias name='input0'/>\n"
        "      <address type='usb' bus='0' port='1'/>\n    </input>\n"
        "    <graphics type='spice' port='5900' autoport='yes' listen='127.0.0.1'>\n"
        "      <listen type='address' address='127.0.0.1'/>\n      <image compression='off'/>\n    </graphics>\n"
        "    <video>\n      <model type='virtio' heads='1' primary='yes'/>\n      <alias name='video0'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n    </video>\n"
        "    <memballoon model='virtio'>\n      <alias name='balloon0'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>\n    </memballoon>\n"
        "  </devices>\n</domain>\n";

/* One run as libvirt makes it: argv, the environment libvirt leaves (and
 * the bus, bus_address when not NULL), the XML on stdin, stdout ignored. */
static double run_hook_on(const char *const *argv, const char *xml_path, const char *bus_address) {
        g_autofree char *bus = bus_address ? g_strconcat("DBUS_SYSTEM_BUS_ADDRESS=", bus_address, NULL) : NULL;
        const char *envp[] = { "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", bus, NULL };
        posix_spawn_file_actions_t actions;
        pid_t pid;
        int status;

        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, xml_path, O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        double t0 = now_ms();
        g_assert_cmpint(posix_spawn(&pid, argv[0], &actions, NULL, (char **) argv, (char **) envp), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        double t = now_ms() - t0;
        posix_spawn_file_actions_destroy(&actions);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return t;
}

static double run_hook(const char *const *argv, const char *xml_path) {
        return run_hook_on(argv, xml_path, NULL);
}

/* devpassctl against the harness's devpassd; false when it fails. */
static bool ctl(Harness *h, const char *const *args) {
        g_autofree char *out = NULL, *err = NULL;
        return harness_ctl(h, &out, &err, args) == 0;
}

/* The hook's own work, for a domain naming a GPU and its audio function
 * that devpass passes through: "prepare begin" claims them (ClaimDevices,
 * polkit asked), "release end" releases them, in turn; devpassd on the
 * GPU server with the real polkitd, on a private bus. */
static void bench_hook_devpass(const char *hook, const char *dir) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        g_autoptr(FakeKernel) fk = fakekernel_new(h->testbed);
        g_autofree char *xml_path = g_build_filename(dir, "gpu.xml", NULL);
        static double prepare[DEVPASS_CALLS], release[DEVPASS_CALLS];
        const char *gpu = "<devices>\n"
                "    <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x17' "
                "slot='0x00' function='0x0'/></source></hostdev>\n"
                "    <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x17' "
                "slot='0x00' function='0x1'/></source></hostdev>\n";

        harness_polkit_start(h, NULL);
        fakekernel_load_vfio(fk, true);
        g_assert_true(ctl(h, (const char *const[]) { "passthrough", "17:00.0", "17:00.1", "--new-group", "GPUs",
                                                     NULL }));
        g_assert_true(ctl(h, (const char *const[]) { "attach", "fedora-workstation", "--group", "GPUs", NULL }));
        /* Passed through once the fake kernel has bound vfio-pci: a claim then works. */
        for (int i = 0; i < 200 && !ctl(h, (const char *const[]) { "claim", "fedora-workstation", NULL }); i++)
                g_usleep(10000);
        g_assert_true(ctl(h, (const char *const[]) { "unclaim", "fedora-workstation", NULL }));
        g_auto(GStrv) parts = g_strsplit(domain_xml, "<devices>\n", 2);
        g_autofree char *with_gpu = g_strconcat(parts[0], gpu, parts[1], NULL);
        g_assert_true(g_file_set_contents(xml_path, with_gpu, -1, NULL));

        const char *prepare_argv[] = { hook, "fedora-workstation", "prepare", "begin", "-", NULL };
        const char *release_argv[] = { hook, "fedora-workstation", "release", "end", "-", NULL };
        for (int i = 0; i < DEVPASS_CALLS; i++) {
                prepare[i] = run_hook_on(prepare_argv, xml_path, h->bus_address);
                release[i] = run_hook_on(release_argv, xml_path, h->bus_address);
        }
        printf("  %-34s %9.3f ms   90th percentile %.3f ms (ClaimDevices of a GPU's unit, polkit asked)\n",
               "devpass domain: prepare begin", median(prepare, DEVPASS_CALLS),
               percentile(prepare, DEVPASS_CALLS, 0.9));
        printf("  %-34s %9.3f ms   90th percentile %.3f ms (Release)\n", "devpass domain: release end",
               median(release, DEVPASS_CALLS), percentile(release, DEVPASS_CALLS, 0.9));
}

void bench_hook(void) {
        const char *hook = g_getenv("DEVPASS_BENCH_HOOK"), *floor = g_getenv("DEVPASS_BENCH_HOOK_FLOOR");
        g_autofree char *dir = g_dir_make_tmp("bench-hook-XXXXXX", NULL);
        g_autofree char *xml_path = g_build_filename(dir, "domain.xml", NULL);
        static double with_hook[CALLS], with_floor[CALLS];

        printf("\nlibvirt qemu hook: \"prepare begin\" of a domain without devpass devices (%zu bytes of XML),\n"
               "%d runs each in turn, fork + exec + wait as libvirt runs hooks\n", sizeof(domain_xml) - 1, CALLS);
        if (!hook) {
                printf("  no hook: devpass was built without libvirt (-Dlibvirt=disabled)\n");
                return;
        }
        g_assert_true(g_file_set_contents(xml_path, domain_xml, -1, NULL));
        const char *hook_argv[] = { hook, "fedora-workstation", "prepare", "begin", "-", NULL };
        const char *floor_argv[] = { floor, "fedora-workstation", "prepare", "begin", "-", NULL };
        for (int i = 0; i < CALLS; i++) {
                with_hook[i] = run_hook(hook_argv, xml_path);
                with_floor[i] = run_hook(floor_argv, xml_path);
        }
        double h = median(with_hook, CALLS), f = median(with_floor, CALLS);
        double h90 = percentile(with_hook, CALLS, 0.9), f90 = percentile(with_floor, CALLS, 0.9);
        printf("  %-34s %9.3f ms   floor %9.3f ms (a hook reading stdin)   ratio %5.2f   target <= 1.2  %s\n",
               "hook, median", h, f, h / f, h / f <= 1.2 ? "met" : "MISSED");
        printf("  %-34s %9.3f ms   floor %9.3f ms   ratio %5.2f\n", "hook, 90th percentile", h90, f90, h90 / f90);
        bench_hook_devpass(hook, dir);
        remove_dir(dir);
}
#endif
