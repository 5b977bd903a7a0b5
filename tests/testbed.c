/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "testbed.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "nodegen.h"

#define SENTINEL ".devpass-testbed"
/* How long a uevent waits for a listener that does not read. */
#define UEVENT_SEND_TIMEOUT_S 20

struct Testbed {
        UMockdevTestbed *umockdev;
        char *root_dir;
        char *sys_dir;
        int uevent_fd;
        unsigned long long seqnum;
};

static void guard_sys(Testbed *tb) {
        g_autofree char *sentinel = g_build_filename(tb->sys_dir, SENTINEL, NULL);
        g_autofree char *seen = NULL;
        g_autoptr(GError) error = NULL;

        if (!g_file_set_contents(sentinel, tb->root_dir, -1, &error))
                g_error("testbed: cannot write %s: %s", sentinel, error->message);
        /* Through the preload, /sys/SENTINEL is the file just written; without
         * it the real /sys has no such file. */
        if (!g_file_get_contents("/sys/" SENTINEL, &seen, NULL, NULL) || !g_str_equal(seen, tb->root_dir)) {
                fprintf(stderr, "testbed: /sys is not the umockdev testbed %s: the test must run under "
                                "umockdev-wrapper (LD_PRELOAD of libumockdev-preload); refusing to go on "
                                "and touch the real /sys\n", tb->root_dir);
                g_clear_object(&tb->umockdev);  /* removes the testbed's directory */
                abort();
        }
        (void) unlink(sentinel);
}

Testbed *testbed_new(void) {
        Testbed *tb = g_new0(Testbed, 1);

        tb->umockdev = umockdev_testbed_new();
        tb->root_dir = umockdev_testbed_get_root_dir(tb->umockdev);
        tb->sys_dir = umockdev_testbed_get_sys_dir(tb->umockdev);
        tb->uevent_fd = -1;
        guard_sys(tb);

        /* Our own sender, blocking: umockdev's sends without waiting and
         * exits the process when a listener's queue (10 datagrams by
         * default) is full, which a burst of VFs reaches at once. */
        tb->uevent_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (tb->uevent_fd < 0)
                g_error("testbed: socket: %s", g_strerror(errno));
        struct timeval tv = { .tv_sec = UEVENT_SEND_TIMEOUT_S };
        if (setsockopt(tb->uevent_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                g_error("testbed: SO_SNDTIMEO: %s", g_strerror(errno));
        return tb;
}

void testbed_free(Testbed *tb) {
        if (!tb)
                return;
        if (tb->uevent_fd >= 0)
                close(tb->uevent_fd);
        /* Removes the testbed's directory and unsets UMOCKDEV_DIR. */
        g_clear_object(&tb->umockdev);
        g_free(tb->root_dir);
        g_free(tb->sys_dir);
        g_free(tb);
}

UMockdevTestbed *testbed_umockdev(Testbed *tb) {
        return tb->umockdev;
}

const char *testbed_sys_dir(Testbed *tb) {
        return tb->sys_dir;
}

/* "a/b/../c/./d" -> "a/c/d", without touching the disk: the links in the
 * tree are relative, and resolving them lexically keeps the preload out. */
static char *path_normalize(const char *path) {
        g_auto(GStrv) parts = g_strsplit(path, "/", -1);
        g_autoptr(GPtrArray) out = g_ptr_array_new();

        for (char **p = parts; *p; p++) {
                if (**p == '\0' || g_str_equal(*p, "."))
                        continue;
                if (g_str_equal(*p, "..")) {
                        if (out->len > 0)
                                g_ptr_array_remove_index(out, out->len - 1);
                        continue;
                }
                g_ptr_array_add(out, *p);
        }
        g_ptr_array_add(out, NULL);
        g_autofree char *joined = g_strjoinv("/", (char **) out->pdata);
        return g_strconcat(path[0] == '/' ? "/" : "", joined, NULL);
}

/* The target of dir/name resolved to a path on disk; NULL without the link. */
static char *link_resolve(const char *dir, const char *name) {
        g_autofree char *link = g_build_filename(dir, name, NULL);
        g_autofree char *target = g_file_read_link(link, NULL);

        if (!target)
                return NULL;
        if (target[0] == '/')
                return path_normalize(target);
        g_autofree char *joined = g_build_filename(dir, target, NULL);
        return path_normalize(joined);
}

static char *link_basename(const char *dir, const char *name) {
        g_autofree char *link = g_build_filename(dir, name, NULL);
        g_autofree char *target = g_file_read_link(link, NULL);

        return target ? g_path_get_basename(target) : NULL;
}

static bool address_valid(const char *address) {
        unsigned d, b, s, f;
        char end;

        return strlen(address) == 12 && sscanf(address, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &f, &end) == 4 &&
               s < 32 && f < 8;
}

char *testbed_device_dir(Testbed *tb, const char *address) {
        if (!address_valid(address))
                g_error("testbed: \"%s\" is not a PCI address dddd:bb:ss.f", address);
        g_autofree char *devices = g_build_filename(tb->sys_dir, "bus", "pci", "devices", NULL);
        char *dir = link_resolve(devices, address);
        if (dir && !g_file_test(dir, G_FILE_TEST_IS_DIR))
                g_clear_pointer(&dir, g_free);
        return dir;
}

static char *device_dir_require(Testbed *tb, const char *address) {
        char *dir = testbed_device_dir(tb, address);

        if (!dir)
                g_error("testbed: no device %s in the testbed", address);
        return dir;
}

/* "devices/pci0000:00/..." for a device directory on disk. */
static const char *devpath_of(Testbed *tb, const char *dir) {
        size_t n = strlen(tb->sys_dir);

        g_assert(strncmp(dir, tb->sys_dir, n) == 0 && dir[n] == '/');
        return dir + n + 1;
}

/* "../" from a device directory up to /sys. */
static char *dotdots(const char *devpath) {
        GString *s = g_string_new("../");

        for (const char *c = devpath; *c; c++)
                if (*c == '/')
                        g_string_append(s, "../");
        return g_string_free(s, FALSE);
}

static void file_replace(const char *dir, const char *name, const char *content) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        /* O_TRUNC: what was there before must not show through. */
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        size_t len = strlen(content);

        if (fd < 0)
                g_error("testbed: cannot open %s: %s", path, g_strerror(errno));
        if (write(fd, content, len) != (ssize_t) len)
                g_error("testbed: cannot write %s: %s", path, g_strerror(errno));
        close(fd);
}

static char *attr_read(const char *dir, const char *name) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *s = NULL;

        if (!g_file_get_contents(path, &s, NULL, NULL))
                return NULL;
        size_t n = strlen(s);
        if (n > 0 && s[n - 1] == '\n')
                s[n - 1] = '\0';
        return s;
}

static unsigned long attr_read_ulong(const char *dir, const char *name, int base) {
        g_autofree char *s = attr_read(dir, name);
        char *end;

        if (!s)
                g_error("testbed: %s/%s does not exist", dir, name);
        errno = 0;
        unsigned long v = strtoul(s, &end, base);
        if (errno != 0 || end == s || *end != '\0')
                g_error("testbed: %s/%s is \"%s\", not a number", dir, name, s);
        return v;
}

static void unlink_quiet(const char *path) {
        if (unlink(path) < 0 && errno != ENOENT)
                g_error("testbed: cannot remove %s: %s", path, g_strerror(errno));
}

static int tree_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (remove(path) < 0)
                g_error("testbed: cannot remove %s: %s", path, g_strerror(errno));
        return 0;
}

static void tree_remove(const char *path) {
        if (nftw(path, tree_remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                g_error("testbed: cannot remove %s: %s", path, g_strerror(errno));
}

/* The udev monitor wire format (libudev's netlink header), as umockdev and
 * udevd send it; libudev filters on the subsystem's MurmurHash2. */
struct monitor_header {
        char prefix[8];
        unsigned magic;
        unsigned header_size;
        unsigned properties_off;
        unsigned properties_len;
        unsigned filter_subsystem_hash;
        unsigned filter_devtype_hash;
        unsigned filter_tag_bloom_hi;
        unsigned filter_tag_bloom_lo;
};

static uint32_t murmur_hash2(const char *str) {
        const uint32_t m = 0x5bd1e995;
        size_t len = strlen(str);
        const unsigned char *data = (const unsigned char *) str;
        uint32_t h = (uint32_t) len;

        for (; len >= 4; data += 4, len -= 4) {
                uint32_t k;
                memcpy(&k, data, sizeof(k));
                k *= m;
                k ^= k >> 24;
                k *= m;
                h *= m;
                h ^= k;
        }
        switch (len) {
        case 3:
                h ^= (uint32_t) data[2] << 16;
                /* fall through */
        case 2:
                h ^= (uint32_t) data[1] << 8;
                /* fall through */
        case 1:
                h ^= data[0];
                h *= m;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return h;
}

static void prop_add(GString *buf, const char *key, const char *value) {
        g_string_append_printf(buf, "%s=%s", key, value);
        g_string_append_c(buf, '\0');
}

/* The kernel's uevent for a device directory: ACTION, DEVPATH, SUBSYSTEM,
 * SEQNUM and the device's uevent file, to every monitor of the testbed.
 * Waits for a listener whose queue is full instead of dropping. */
static void uevent_send(Testbed *tb, const char *dir, const char *action) {
        g_autofree char *subsystem = link_basename(dir, "subsystem");
        g_autofree char *uevent = NULL;
        g_autofree char *devpath = g_strconcat("/", devpath_of(tb, dir), NULL);
        g_autofree char *seqnum = g_strdup_printf("%llu", ++tb->seqnum);
        g_autoptr(GString) props = g_string_new(NULL);

        if (!subsystem)
                g_error("testbed: %s has no subsystem link", dir);
        prop_add(props, "ACTION", action);
        prop_add(props, "DEVPATH", devpath);
        prop_add(props, "SUBSYSTEM", subsystem);
        prop_add(props, "SEQNUM", seqnum);
        g_autofree char *uevent_path = g_build_filename(dir, "uevent", NULL);
        if (g_file_get_contents(uevent_path, &uevent, NULL, NULL)) {
                g_auto(GStrv) lines = g_strsplit(uevent, "\n", -1);
                for (char **l = lines; *l; l++) {
                        if (**l == '\0' || g_str_has_prefix(*l, "ACTION=") || g_str_has_prefix(*l, "DEVPATH=") ||
                            g_str_has_prefix(*l, "SUBSYSTEM=") || g_str_has_prefix(*l, "SEQNUM="))
                                continue;
                        g_string_append(props, *l);
                        g_string_append_c(props, '\0');
                }
        }
        /* libudev's receive buffer is 8 KiB. */
        g_assert(props->len < 8192 - sizeof(struct monitor_header));

        struct monitor_header header = {
                .prefix = "libudev",
                .magic = htonl(0xfeedcafe),
                .header_size = sizeof(header),
                .properties_off = sizeof(header),
                .properties_len = (unsigned) props->len,
                .filter_subsystem_hash = htonl(murmur_hash2(subsystem)),
        };
        struct iovec iov[2] = {
                { .iov_base = &header, .iov_len = sizeof(header) },
                { .iov_base = props->str, .iov_len = props->len },
        };

        /* umockdev's preload binds each monitor to <root>/event<fd>. */
        g_autofree char *pattern = g_build_filename(tb->root_dir, "event[0-9]*", NULL);
        glob_t gl;
        int r = glob(pattern, GLOB_NOSORT, NULL, &gl);
        if (r == GLOB_NOMATCH)
                return;
        if (r != 0)
                g_error("testbed: glob %s failed", pattern);
        for (size_t i = 0; i < gl.gl_pathc; i++) {
                struct sockaddr_un addr = { .sun_family = AF_UNIX };
                if (strlen(gl.gl_pathv[i]) >= sizeof(addr.sun_path))
                        g_error("testbed: socket path too long: %s", gl.gl_pathv[i]);
                strcpy(addr.sun_path, gl.gl_pathv[i]);
                struct msghdr msg = {
                        .msg_name = &addr, .msg_namelen = sizeof(addr), .msg_iov = iov, .msg_iovlen = 2,
                };
                ssize_t n;
                do
                        n = sendmsg(tb->uevent_fd, &msg, MSG_NOSIGNAL);
                while (n < 0 && errno == EINTR);
                if (n >= 0)
                        continue;
                if (errno == ECONNREFUSED)
                        /* Its monitor is closed (or its process gone): as umockdev does. */
                        (void) unlink(gl.gl_pathv[i]);
                else if (errno == EAGAIN)
                        g_warning("testbed: %s %s: the monitor at %s read nothing for %d s; event dropped",
                                  action, devpath, gl.gl_pathv[i], UEVENT_SEND_TIMEOUT_S);
                else if (errno != ENOENT)
                        g_error("testbed: sending %s %s to %s: %s", action, devpath, gl.gl_pathv[i],
                                g_strerror(errno));
        }
        globfree(&gl);
}

void testbed_uevent(Testbed *tb, const char *address, const char *action) {
        g_autofree char *dir = device_dir_require(tb, address);

        uevent_send(tb, dir, action);
}

void testbed_load(Testbed *tb, const char *fixture) {
        g_autoptr(GError) error = NULL;

        if (!umockdev_testbed_add_from_file(tb->umockdev, fixture, &error))
                g_error("testbed: cannot load %s: %s", fixture, error->message);
        nodegen_bus_write(tb->sys_dir);

        g_autofree char *devices = g_build_filename(tb->sys_dir, "bus", "pci", "devices", NULL);
        g_autofree char *drivers = g_build_filename(tb->sys_dir, "bus", "pci", "drivers", NULL);
        g_autofree char *groups = g_build_filename(tb->sys_dir, "kernel", "iommu_groups", NULL);
        g_autoptr(GDir) d = g_dir_open(devices, 0, &error);
        if (!d)
                g_error("testbed: %s: %s", fixture, error->message);
        for (const char *address; (address = g_dir_read_name(d));) {
                g_autofree char *dir = device_dir_require(tb, address);
                const char *devpath = devpath_of(tb, dir);

                /* The root complex directory (pci0000:00) is a device too. */
                g_auto(GStrv) parts = g_strsplit(devpath, "/", 3);
                g_autofree char *root = g_build_filename(tb->sys_dir, parts[0], parts[1], NULL);
                g_autofree char *root_uevent = g_build_filename(root, "uevent", NULL);
                if (!g_file_test(root_uevent, G_FILE_TEST_EXISTS))
                        file_replace(root, "uevent", "");

                /* Links of the wrong depth would dangle: catch them in the fixture. */
                g_autofree char *driver = link_resolve(dir, "driver");
                if (driver) {
                        g_autofree char *name = g_path_get_basename(driver);
                        g_autofree char *dirname = g_path_get_dirname(driver);
                        if (!g_str_equal(dirname, drivers))
                                g_error("testbed: %s: %s/driver points to %s, not into %s", fixture, address,
                                        driver, drivers);
                        nodegen_driver_link(tb->sys_dir, name, address, devpath);
                }
                g_autofree char *group = link_resolve(dir, "iommu_group");
                if (group) {
                        g_autofree char *name = g_path_get_basename(group);
                        g_autofree char *dirname = g_path_get_dirname(group);
                        if (!g_str_equal(dirname, groups))
                                g_error("testbed: %s: %s/iommu_group points to %s, not into %s", fixture,
                                        address, group, groups);
                        nodegen_iommu_group_link(tb->sys_dir, atoi(name), address, devpath);
                }
        }
}

/* Rewrites the uevent file with DRIVER= first (NULL: none), as the kernel
 * generates it. */
static void uevent_file_set_driver(const char *dir, const char *driver) {
        g_autofree char *old = NULL;
        g_autofree char *path = g_build_filename(dir, "uevent", NULL);
        g_autoptr(GString) s = g_string_new(NULL);

        if (!g_file_get_contents(path, &old, NULL, NULL))
                old = g_strdup("");
        if (driver)
                g_string_append_printf(s, "DRIVER=%s\n", driver);
        g_auto(GStrv) lines = g_strsplit(old, "\n", -1);
        for (char **l = lines; *l; l++)
                if (**l && !g_str_has_prefix(*l, "DRIVER="))
                        g_string_append_printf(s, "%s\n", *l);
        file_replace(dir, "uevent", s->str);
}

void testbed_bind(Testbed *tb, const char *address, const char *driver) {
        g_autofree char *dir = device_dir_require(tb, address);
        g_autofree char *bound = link_basename(dir, "driver");

        if (bound)
                g_error("testbed: bind %s to %s: already bound to %s", address, driver, bound);
        if (!driver || !*driver || strchr(driver, '/'))
                g_error("testbed: bind %s: bad driver name", address);

        const char *devpath = devpath_of(tb, dir);
        g_autofree char *up = dotdots(devpath);
        g_autofree char *target = g_strconcat(up, "bus/pci/drivers/", driver, NULL);
        g_autofree char *link = g_build_filename(dir, "driver", NULL);
        nodegen_driver_link(tb->sys_dir, driver, address, devpath);
        if (symlink(target, link) < 0)
                g_error("testbed: cannot link %s: %s", link, g_strerror(errno));
        uevent_file_set_driver(dir, driver);
        file_replace(dir, "enable", "1\n");
        uevent_send(tb, dir, "bind");
}

/* The device's driver links gone; returns the driver's name, NULL if none. */
static char *driver_unlink(Testbed *tb, const char *dir, const char *address) {
        char *driver = link_basename(dir, "driver");

        if (!driver)
                return NULL;
        g_autofree char *link = g_build_filename(dir, "driver", NULL);
        g_autofree char *back = g_build_filename(tb->sys_dir, "bus", "pci", "drivers", driver, address, NULL);
        unlink_quiet(link);
        unlink_quiet(back);
        return driver;
}

void testbed_unbind(Testbed *tb, const char *address) {
        g_autofree char *dir = device_dir_require(tb, address);
        g_autofree char *driver = driver_unlink(tb, dir, address);

        if (!driver)
                g_error("testbed: unbind %s: no driver is bound", address);
        uevent_file_set_driver(dir, NULL);
        file_replace(dir, "enable", "0\n");
        uevent_send(tb, dir, "unbind");
}

void testbed_set_attr(Testbed *tb, const char *address, const char *name, const char *value) {
        g_autofree char *dir = device_dir_require(tb, address);
        g_autofree char *content = g_str_has_suffix(value, "\n") ? g_strdup(value) : g_strconcat(value, "\n", NULL);

        if (strchr(name, '/'))
                g_error("testbed: set_attr %s: bad attribute name %s", address, name);
        file_replace(dir, name, content);
        uevent_send(tb, dir, "change");
}

char *testbed_read_attr(Testbed *tb, const char *address, const char *name) {
        g_autofree char *dir = device_dir_require(tb, address);

        return attr_read(dir, name);
}

/* After its "remove": the directory and every link to the device go. For
 * a VF, virtfn names the PF's link to it when known (NULL: searched). */
static void device_delete(Testbed *tb, const char *dir, const char *virtfn) {
        g_autofree char *address = g_path_get_basename(dir);
        g_autofree char *bus_link = g_build_filename(tb->sys_dir, "bus", "pci", "devices", address, NULL);
        g_autofree char *class_link = g_build_filename(tb->sys_dir, "class", "pci", address, NULL);
        g_autofree char *driver = driver_unlink(tb, dir, address);

        unlink_quiet(bus_link);
        unlink_quiet(class_link);       /* umockdev makes these too */

        g_autofree char *group = link_resolve(dir, "iommu_group");
        if (group) {
                g_autofree char *member = g_build_filename(group, "devices", address, NULL);
                g_autofree char *members = g_build_filename(group, "devices", NULL);
                unlink_quiet(member);
                /* The kernel frees a group with its last device. */
                g_autoptr(GDir) d = g_dir_open(members, 0, NULL);
                if (d && !g_dir_read_name(d))
                        tree_remove(group);
        }

        g_autofree char *pf = link_resolve(dir, "physfn");
        if (pf && virtfn) {
                g_autofree char *link = g_build_filename(pf, virtfn, NULL);
                unlink_quiet(link);
        } else if (pf) {
                g_autoptr(GDir) d = g_dir_open(pf, 0, NULL);
                for (const char *name; d && (name = g_dir_read_name(d));) {
                        if (!g_str_has_prefix(name, "virtfn"))
                                continue;
                        g_autofree char *vf = link_resolve(pf, name);
                        if (vf && g_str_equal(vf, dir)) {
                                g_autofree char *link = g_build_filename(pf, name, NULL);
                                unlink_quiet(link);
                                break;
                        }
                }
        }
        tree_remove(dir);
}

static gint uint_compare(gconstpointer a, gconstpointer b) {
        guint x = *(const guint *) a, y = *(const guint *) b;
        return x < y ? -1 : x > y;
}

/* The PF's VFs, in virtfn order; "remove" and delete each. A VF removed on
 * its own before leaves a gap in the numbers. */
static void vfs_remove(Testbed *tb, const char *pf_dir) {
        g_autoptr(GArray) indexes = g_array_new(FALSE, FALSE, sizeof(guint));
        g_autoptr(GDir) d = g_dir_open(pf_dir, 0, NULL);

        for (const char *name; d && (name = g_dir_read_name(d));) {
                guint64 i;
                if (g_str_has_prefix(name, "virtfn") &&
                    g_ascii_string_to_unsigned(name + strlen("virtfn"), 10, 0, G_MAXUINT, &i, NULL)) {
                        guint index = (guint) i;
                        g_array_append_val(indexes, index);
                }
        }
        g_array_sort(indexes, uint_compare);
        for (guint i = 0; i < indexes->len; i++) {
                g_autofree char *name = g_strdup_printf("virtfn%u", g_array_index(indexes, guint, i));
                g_autofree char *vf = link_resolve(pf_dir, name);
                uevent_send(tb, vf, "remove");
                device_delete(tb, vf, name);
        }
}

static void device_remove(Testbed *tb, const char *dir) {
        vfs_remove(tb, dir);

        /* Devices behind a bridge are subdirectories named by address. */
        g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        for (const char *name; d && (name = g_dir_read_name(d));) {
                g_autofree char *child = g_build_filename(dir, name, NULL);
                if (address_valid(name) && g_file_test(child, G_FILE_TEST_IS_DIR) &&
                    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
                        g_ptr_array_add(children, g_steal_pointer(&child));
        }
        for (guint i = 0; i < children->len; i++)
                device_remove(tb, children->pdata[i]);

        uevent_send(tb, dir, "remove");
        device_delete(tb, dir, NULL);
}

void testbed_remove(Testbed *tb, const char *address) {
        g_autofree char *dir = device_dir_require(tb, address);

        device_remove(tb, dir);
}

/* The VF driver the kernel's autoprobe would bind for a PF driver. */
static const char *vf_driver_for(const char *pf_driver) {
        static const char *const map[][2] = {
                { "i40e", "iavf" }, { "ice", "iavf" }, { "ixgbe", "ixgbevf" }, { "igb", "igbvf" },
                { "mlx5_core", "mlx5_core" }, { "vfio-pci", "vfio-pci" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
                if (g_str_equal(pf_driver, map[i][0]))
                        return map[i][1];
        return NULL;
}

/* Lowest free IOMMU group numbers, as the kernel's ida hands them out. */
typedef struct {
        GHashTable *used;
        int next;
} GroupAllocator;

static void group_allocator_init(GroupAllocator *a, const char *sys_dir) {
        g_autofree char *groups = g_build_filename(sys_dir, "kernel", "iommu_groups", NULL);
        g_autoptr(GDir) d = g_dir_open(groups, 0, NULL);

        a->used = g_hash_table_new(g_direct_hash, g_direct_equal);
        a->next = 0;
        for (const char *name; d && (name = g_dir_read_name(d));)
                g_hash_table_add(a->used, GINT_TO_POINTER(atoi(name)));
}

static int group_allocator_take(GroupAllocator *a) {
        while (g_hash_table_contains(a->used, GINT_TO_POINTER(a->next)))
                a->next++;
        g_hash_table_add(a->used, GINT_TO_POINTER(a->next));
        return a->next++;
}

static void sriov_apply(Testbed *tb, const char *pf_address, unsigned numvfs, const char *vf_driver) {
        g_autofree char *pf = device_dir_require(tb, pf_address);
        g_autofree char *pf_driver = link_basename(pf, "driver");
        g_autofree char *total_path = g_build_filename(pf, "sriov_totalvfs", NULL);

        if (!g_file_test(total_path, G_FILE_TEST_EXISTS))
                g_error("testbed: %s is not an SR-IOV PF (no sriov_totalvfs)", pf_address);
        unsigned long total = attr_read_ulong(pf, "sriov_totalvfs", 10);
        unsigned long current = attr_read_ulong(pf, "sriov_numvfs", 10);
        if (numvfs > total)
                g_error("testbed: %s: %u VFs asked, sriov_totalvfs is %lu (the kernel says ERANGE)", pf_address,
                        numvfs, total);
        if (!pf_driver)
                g_error("testbed: %s: no driver to enable VFs (the kernel says ENOENT)", pf_address);
        if (numvfs == current)
                return;

        if (current > 0) {
                vfs_remove(tb, pf);
                file_replace(pf, "sriov_numvfs", "0\n");
        }
        if (numvfs > 0) {
                unsigned long offset = attr_read_ulong(pf, "sriov_offset", 10);
                unsigned long stride = attr_read_ulong(pf, "sriov_stride", 10);
                g_autofree char *numa = attr_read(pf, "numa_node");
                g_autofree char *cpulist = attr_read(pf, "local_cpulist");
                g_autofree char *pf_group = link_basename(pf, "iommu_group");
                g_autofree char *pf_devpath = g_strdup(devpath_of(tb, pf) + strlen("devices/"));
                g_autofree char *parent = g_path_get_dirname(pf_devpath);
                unsigned domain, bus, slot, fn;
                GroupAllocator groups;
                g_autoptr(GPtrArray) vf_dirs = g_ptr_array_new_with_free_func(g_free);

                if (sscanf(pf_address, "%x:%x:%x.%x", &domain, &bus, &slot, &fn) != 4)
                        g_error("testbed: bad PF address %s", pf_address);
                NodegenFunction vf = {
                        .parent = parent,
                        .vendor = (uint16_t) attr_read_ulong(pf, "vendor", 16),
                        .device = (uint16_t) attr_read_ulong(pf, "sriov_vf_device", 16),
                        .subsystem_vendor = (uint16_t) attr_read_ulong(pf, "subsystem_vendor", 16),
                        .subsystem_device = 0x0000,
                        .class_code = (uint32_t) attr_read_ulong(pf, "class", 16),
                        .revision = (uint8_t) attr_read_ulong(pf, "revision", 16),
                        .numa_node = numa ? atoi(numa) : -1,
                        .cpulist = cpulist ?: "",
                        .driver = vf_driver,
                        .reset_method = "flr",
                        .boot_vga = -1,
                        .physfn = pf_address,
                };
                group_allocator_init(&groups, tb->sys_dir);
                g_autofree char *numvfs_text = g_strdup_printf("%u\n", numvfs);
                file_replace(pf, "sriov_numvfs", numvfs_text);

                for (unsigned i = 0; i < numvfs; i++) {
                        unsigned long rid = (slot << 3 | fn) + offset + stride * i;
                        unsigned long vf_bus = bus + (rid >> 8);
                        char address[16];
                        if (vf_bus > 0xff)
                                g_error("testbed: %s: VF %u would be on bus %lx", pf_address, i, vf_bus);
                        snprintf(address, sizeof(address), "%04x:%02lx:%02lx.%lx", domain, vf_bus,
                                 (rid & 0xff) >> 3, rid & 7);
                        vf.address = address;
                        vf.iommu_group = pf_group ? group_allocator_take(&groups) : -1;
                        vf.vf_index = i;
                        nodegen_function_write(tb->sys_dir, &vf);
                        g_ptr_array_add(vf_dirs, device_dir_require(tb, address));
                }
                g_hash_table_unref(groups.used);
                /* All VFs are there when their events go out, as a daemon
                 * that reads them a moment late finds them; and the events
                 * come as one burst, as from the kernel. */
                for (guint i = 0; i < vf_dirs->len; i++)
                        uevent_send(tb, vf_dirs->pdata[i], "add");
        }
        uevent_send(tb, pf, "change");
}

void testbed_sriov_set_driver(Testbed *tb, const char *pf_address, unsigned numvfs, const char *vf_driver) {
        sriov_apply(tb, pf_address, numvfs, vf_driver);
}

void testbed_sriov_set(Testbed *tb, const char *pf_address, unsigned numvfs) {
        g_autofree char *pf = device_dir_require(tb, pf_address);
        g_autofree char *pf_driver = link_basename(pf, "driver");
        g_autofree char *autoprobe = attr_read(pf, "sriov_drivers_autoprobe");
        const char *vf_driver = NULL;

        if (pf_driver && !(autoprobe && g_str_equal(autoprobe, "0")))
                vf_driver = vf_driver_for(pf_driver);
        sriov_apply(tb, pf_address, numvfs, vf_driver);
}
