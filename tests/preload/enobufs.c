/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test's preload for devpassd, before umockdev's: the next read of the
 * uevent socket fails with ENOBUFS, as when udev's receive buffer
 * overflowed, once the file DEVPASS_TEST_ENOBUFS names exists (the read
 * removes it). umockdev stands in for the uevent socket with a Unix
 * datagram socket in the testbed (".../event<fd>"), which holds a sender
 * back when full and never reports ENOBUFS to its reader. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

ssize_t recvmsg(int fd, struct msghdr *msg, int flags);

static bool is_uevent_socket(int fd) {
        struct sockaddr_un a;
        socklen_t len = sizeof(a);

        if (getsockname(fd, (struct sockaddr *) &a, &len) < 0 || a.sun_family != AF_UNIX ||
            len <= offsetof(struct sockaddr_un, sun_path))
                return false;
        const char *slash = strrchr(a.sun_path, '/');
        return slash && strncmp(slash + 1, "event", 5) == 0;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
        static ssize_t (*next)(int, struct msghdr *, int);
        const char *trigger = getenv("DEVPASS_TEST_ENOBUFS");

        if (!next)
                next = (ssize_t (*)(int, struct msghdr *, int)) dlsym(RTLD_NEXT, "recvmsg");
        if (trigger && is_uevent_socket(fd) && unlink(trigger) == 0) {
                errno = ENOBUFS;
                return -1;
        }
        return next(fd, msg, flags);
}
