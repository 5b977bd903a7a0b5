/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt's qemu hook (/etc/libvirt/hooks/qemu.d/devpass, a link to this
 * program): libvirt runs it at every step of every domain, with the
 * domain's XML on stdin. It links nothing but libc, and hands only a
 * domain with host devices, at "prepare begin" and "release end", to
 * qemu-hook-devices beside it, which asks devpassd: every other call
 * costs what reading stdin costs. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WORKER "qemu-hook-devices"

static bool is_step(char **argv, const char *operation, const char *sub_operation) {
        return strcmp(argv[2], operation) == 0 && strcmp(argv[3], sub_operation) == 0;
}

static void freep(char **p) {
        free(*p);
}

static int fail(const char *what) {
        fprintf(stderr, "devpass: the qemu hook %s: %s\n", what, strerror(errno));
        return 1;
}

int main(int argc, char **argv) {
        __attribute__((cleanup(freep))) char *xml = NULL;
        size_t size = 0, allocated = 0;
        ssize_t n;

        /* All of it, whatever follows: libvirt writes the XML whole. */
        do {
                if (allocated - size < 65536) {
                        allocated = allocated ? 2 * allocated : 65536;
                        char *bigger = realloc(xml, allocated);
                        if (!bigger)
                                return fail("cannot read the domain's XML");
                        xml = bigger;
                }
                n = read(STDIN_FILENO, xml + size, allocated - size);
                if (n < 0 && errno != EINTR)
                        return fail("cannot read the domain's XML");
                size += n > 0 ? (size_t) n : 0;
        } while (n != 0);
        if (argc < 4 || !(is_step(argv, "prepare", "begin") || is_step(argv, "release", "end")) ||
            !memmem(xml, size, "hostdev", strlen("hostdev")))
                return 0;

        /* The XML goes on as the worker's stdin. */
        char self[PATH_MAX], worker[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len < 0)
                return fail("cannot find itself");
        self[len] = '\0';
        if (snprintf(worker, sizeof(worker), "%s/" WORKER, dirname(self)) >= (int) sizeof(worker)) {
                errno = ENAMETOOLONG;
                return fail("cannot find " WORKER);
        }
        int fd = memfd_create("domain-xml", MFD_CLOEXEC);
        if (fd < 0 || write(fd, xml, size) != (ssize_t) size || lseek(fd, 0, SEEK_SET) != 0 ||
            dup2(fd, STDIN_FILENO) < 0)
                return fail("cannot pass the domain's XML on");
        execv(worker, argv);
        fprintf(stderr, "devpass: the qemu hook cannot run %s: %s\n", worker, strerror(errno));
        return 1;
}
