/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirtd's preload for the benchmark, before umockdev's: umockdev
 * stands in for the kernel's uevent netlink socket with a Unix socket,
 * and libnl (libvirt's node-device driver) refuses it: getsockname()
 * answers with a Unix address, setsockopt(SOL_NETLINK) fails, and
 * libvirtd exits at start. On that one socket these answer as netlink
 * would; everything else goes on to umockdev's and the C library's. */
#include <dlfcn.h>
#include <linux/netlink.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define FDS 4096
static atomic_bool uevent_fd[FDS];

static bool is_uevent(int fd) {
        return fd >= 0 && fd < FDS && atomic_load(&uevent_fd[fd]);
}

int socket(int domain, int type, int protocol) {
        static int (*next)(int, int, int);

        if (!next)
                next = (int (*)(int, int, int)) dlsym(RTLD_NEXT, "socket");
        int fd = next(domain, type, protocol);
        if (fd >= 0 && fd < FDS)
                atomic_store(&uevent_fd[fd], domain == AF_NETLINK && protocol == NETLINK_KOBJECT_UEVENT);
        return fd;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
        static int (*next)(int, struct sockaddr *, socklen_t *);
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_pid = (__u32) getpid() };

        if (!next)
                next = (int (*)(int, struct sockaddr *, socklen_t *)) dlsym(RTLD_NEXT, "getsockname");
        if (!is_uevent(fd))
                return next(fd, addr, len);
        memcpy(addr, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
        *len = sizeof(nl);
        return 0;
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
        static int (*next)(int, int, int, const void *, socklen_t);

        if (!next)
                next = (int (*)(int, int, int, const void *, socklen_t)) dlsym(RTLD_NEXT, "setsockopt");
        if (is_uevent(fd) && level == SOL_NETLINK)
                return 0;
        return next(fd, level, name, value, len);
}

int close(int fd) {
        static int (*next)(int);

        if (!next)
                next = (int (*)(int)) dlsym(RTLD_NEXT, "close");
        if (fd >= 0 && fd < FDS)
                atomic_store(&uevent_fd[fd], false);
        return next(fd);
}
