/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "text.h"

#define ATTR_MAX 4096

ssize_t sysfs_read_bin(int dirfd, const char *name, void *buf, size_t size) {
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;

        size_t got = 0;
        while (got < size) {
                size_t want = size - got;
                ssize_t n = read(fd, (char *) buf + got, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
                got += (size_t) n;
                /* A sysfs attribute comes whole in one read, and a file
                 * reads short only at its end: no read to see the end. */
                if ((size_t) n < want)
                        break;
        }
        close(fd);
        return (ssize_t) got;
}

int sysfs_read_attr(int dirfd, const char *name, char **ret) {
        char buf[ATTR_MAX + 1];

        ssize_t n = sysfs_read_bin(dirfd, name, buf, ATTR_MAX);
        if (n < 0)
                return (int) n;
        buf[n] = '\0';
        text_strip_newline(buf);
        *ret = g_strdup(buf);
        return 0;
}

int sysfs_read_link_name(int dirfd, const char *name, char **ret) {
        char target[PATH_MAX];

        ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';

        const char *base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return -EINVAL;
        *ret = g_strdup(base);
        return 0;
}
