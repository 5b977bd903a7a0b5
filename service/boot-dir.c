/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "boot-dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "address.h"

static bool boot_dir_fail(GError **error, int err, const char *what, const char *dir, const char *name) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot %s %s%s%s: %s", what, dir,
                    name ? "/" : "", name ?: "", g_strerror(err));
        return false;
}

bool boot_dir_sync(const char *dir, GPtrArray *addresses, GError **error) {
        g_autoptr(GHashTable) want = g_hash_table_new(g_str_hash, g_str_equal);
        DIR *d;
        struct dirent *e;
        bool ok = true;

        if (g_mkdir_with_parents(dir, 0755) < 0)
                return boot_dir_fail(error, errno, "create", dir, NULL);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return boot_dir_fail(error, errno, "open", dir, NULL);
        for (guint i = 0; i < addresses->len; i++) {
                const char *name = addresses->pdata[i];
                g_hash_table_add(want, (gpointer) name);
                int f = openat(fd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
                if (f < 0) {
                        ok = boot_dir_fail(error, errno, "create", dir, name);
                        break;
                }
                close(f);
        }
        /* fdopendir() takes fd; a dup keeps one for the fsync. */
        int list_fd = ok ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
        if (ok && (list_fd < 0 || !(d = fdopendir(list_fd)))) {
                ok = boot_dir_fail(error, errno, "read", dir, NULL);
                if (list_fd >= 0)
                        close(list_fd);
        } else if (ok) {
                while (ok && (e = readdir(d))) {
                        DpAddress a;
                        if (!address_parse(e->d_name, &a) || g_hash_table_contains(want, e->d_name))
                                continue;
                        if (unlinkat(fd, e->d_name, 0) < 0 && errno != ENOENT)
                                ok = boot_dir_fail(error, errno, "remove", dir, e->d_name);
                }
                closedir(d);
        }
        if (ok && fsync(fd) < 0)
                ok = boot_dir_fail(error, errno, "sync", dir, NULL);
        close(fd);
        return ok;
}
