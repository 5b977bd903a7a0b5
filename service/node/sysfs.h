/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small, careful reads of sysfs attributes relative to a directory fd. */

#include <stddef.h>
#include <sys/types.h>

/* Reads an attribute (at most 4 KiB), without its trailing newline. The
 * result is NUL-terminated at the first NUL byte. Returns 0 or -errno. */
int sysfs_read_attr(int dirfd, const char *name, char **ret);

/* Reads up to size bytes of a binary attribute; returns the count or -errno. */
ssize_t sysfs_read_bin(int dirfd, const char *name, void *buf, size_t size);

/* The last component of a symlink's target ("nvme" for
 * driver -> ../../../bus/pci/drivers/nvme). Returns 0 or -errno; -EINVAL
 * when the target has no usable last component. */
int sysfs_read_link_name(int dirfd, const char *name, char **ret);
