/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fakekernel.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define VFIO_DRIVER "vfio-pci"
#define SYNC_FILE ".fakekernel-sync"

typedef enum {
        WATCH_ROOT,     /* the sys directory: the sync marker */
        WATCH_PCI,      /* bus/pci: drivers_probe */
        WATCH_DRIVERS,  /* bus/pci/drivers: new drivers */
        WATCH_DRIVER,   /* bus/pci/drivers/NAME: bind, unbind */
        WATCH_DEVICES,  /* bus/pci/devices: new devices */
        WATCH_DEVICE,   /* a device: driver_override, sriov_numvfs */
} WatchKind;

typedef struct {
        WatchKind kind;
        char *name;     /* the driver or the device address */
        char *dir;
} Watch;

struct FakeKernel {
        Testbed *tb;
        char *sys_dir;
        GThread *thread;
        int inotify_fd;
        int wake_fd;
        /* Everything below, and every testbed call, is under the lock. */
        GMutex lock;
        GCond synced;
        GHashTable *watches;    /* wd -> Watch */
        GHashTable *natural;    /* address -> driver */
        GHashTable *refuse;     /* driver names and addresses */
        GPtrArray *writes;
        char *kill_file;
        GPid kill_pid;
        guint64 sync_sent;
        guint64 sync_seen;
};

static void watch_add_each(FakeKernel *fk, WatchKind parent_kind, WatchKind kind, const char *dir);

static void watch_free(gpointer data) {
        Watch *w = data;

        g_free(w->name);
        g_free(w->dir);
        g_free(w);
}

static bool address_valid(const char *address) {
        unsigned d, b, s, f;
        char end;

        return strlen(address) == 12 && sscanf(address, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &f, &end) == 4 &&
               s < 32 && f < 8;
}

static char *path_join(FakeKernel *fk, const char *a, const char *b) {
        return g_build_filename(fk->sys_dir, a, b, NULL);
}

static void watch_add(FakeKernel *fk, WatchKind kind, const char *name, const char *dir) {
        uint32_t mask = kind == WATCH_DRIVERS || kind == WATCH_DEVICES ? IN_CREATE | IN_MOVED_TO : IN_CLOSE_WRITE;
        int wd = inotify_add_watch(fk->inotify_fd, dir, mask);

        /* A device or driver that went again before we looked: nothing to watch. */
        if (wd < 0 && errno == ENOENT)
                return;
        if (wd < 0)
                g_error("fakekernel: cannot watch %s: %s", dir, g_strerror(errno));
        Watch *w = g_new0(Watch, 1);
        w->kind = kind;
        w->name = g_strdup(name);
        w->dir = g_strdup(dir);
        g_hash_table_replace(fk->watches, GINT_TO_POINTER(wd), w);
}

/* A file's content ("" when it cannot be read: it went, or never was). */
static char *file_read(const char *dir, const char *name) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *s = NULL;

        if (!g_file_get_contents(path, &s, NULL, NULL))
                return g_strdup("");
        return s;
}

/* Replaces a file's content in place: its watch sees a close-write. */
static void file_write(const char *dir, const char *name, const char *content) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        size_t len = strlen(content);

        if (fd < 0)
                g_error("fakekernel: cannot open %s: %s", path, g_strerror(errno));
        if (write(fd, content, len) != (ssize_t) len)
                g_error("fakekernel: cannot write %s: %s", path, g_strerror(errno));
        close(fd);
}

/* truncate() is a modification, not a close-write: no event of ours. */
static void file_empty(const char *dir, const char *name) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        if (truncate(path, 0) < 0 && errno != ENOENT)
                g_error("fakekernel: cannot truncate %s: %s", path, g_strerror(errno));
}

static char *link_name(const char *dir, const char *name) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *target = g_file_read_link(path, NULL);

        return target ? g_path_get_basename(target) : NULL;
}

static bool driver_exists(FakeKernel *fk, const char *driver) {
        g_autofree char *dir = g_build_filename(fk->sys_dir, "bus", "pci", "drivers", driver, NULL);

        return g_file_test(dir, G_FILE_TEST_IS_DIR);
}

/* The stored override, NULL for none ("(null)" or cleared). */
static char *device_override(const char *dir) {
        g_autofree char *s = file_read(dir, "driver_override");

        g_strstrip(s);
        if (s[0] == '\0' || g_str_equal(s, "(null)"))
                return NULL;
        return g_steal_pointer(&s);
}

/* driver NULL: it has none ("" in the table). */
static void natural_remember(FakeKernel *fk, const char *address, const char *driver) {
        if (!g_hash_table_contains(fk->natural, address))
                g_hash_table_insert(fk->natural, g_strdup(address), g_strdup(driver ?: ""));
}

static const char *natural_driver(FakeKernel *fk, const char *address) {
        const char *driver = g_hash_table_lookup(fk->natural, address);

        return driver && driver[0] ? driver : NULL;
}

G_GNUC_PRINTF(2, 3)
static void writes_log(FakeKernel *fk, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        g_ptr_array_add(fk->writes, g_strdup_vprintf(format, ap));
        va_end(ap);
}

static void kill_check(FakeKernel *fk, const char *file) {
        if (!fk->kill_file || !g_str_equal(fk->kill_file, file))
                return;
        if (kill(fk->kill_pid, SIGKILL) < 0)
                g_warning("fakekernel: cannot kill %d: %s", (int) fk->kill_pid, g_strerror(errno));
        g_clear_pointer(&fk->kill_file, g_free);
}

/* The address written to a trigger file, which is emptied; NULL for an
 * empty file (our truncation) or a write that is no address. */
static char *trigger_take(const char *dir, const char *name) {
        g_autofree char *s = file_read(dir, name);

        if (s[0] == '\0')
                return NULL;
        file_empty(dir, name);
        g_strstrip(s);
        return g_steal_pointer(&s);
}

/* Linux probes a VF only when its PF's sriov_drivers_autoprobe is 1 or
 * the VF has an override (pci_device_can_probe()). */
static bool vf_autoprobe_off(const char *dir) {
        g_autofree char *physfn = g_build_filename(dir, "physfn", NULL);
        g_autofree char *autoprobe = NULL;

        if (!g_file_test(physfn, G_FILE_TEST_IS_DIR))
                return false;
        autoprobe = file_read(physfn, "sriov_drivers_autoprobe");
        g_strstrip(autoprobe);
        return g_str_equal(autoprobe, "0");
}

static void device_probe(FakeKernel *fk, const char *address) {
        if (!address_valid(address))
                return;
        g_autofree char *dir = testbed_device_dir(fk->tb, address);
        if (!dir)
                return;
        g_autofree char *bound = link_name(dir, "driver");
        if (bound)
                return;
        g_autofree char *override = device_override(dir);
        if (!override && vf_autoprobe_off(dir))
                return;
        const char *driver = override ?: natural_driver(fk, address);
        if (driver && driver_exists(fk, driver))
                testbed_bind(fk->tb, address, driver);
}

static void on_drivers_probe(FakeKernel *fk, const Watch *w) {
        g_autofree char *address = trigger_take(w->dir, "drivers_probe");

        if (!address)
                return;
        writes_log(fk, "drivers_probe %s", address);
        kill_check(fk, "drivers_probe");
        device_probe(fk, address);
}

static bool unbind_refused(FakeKernel *fk, const char *driver, const char *address) {
        return g_hash_table_contains(fk->refuse, driver) || g_hash_table_contains(fk->refuse, address);
}

static void on_unbind(FakeKernel *fk, const Watch *w) {
        g_autofree char *address = trigger_take(w->dir, "unbind");

        if (!address)
                return;
        writes_log(fk, "unbind %s", address);
        kill_check(fk, "unbind");
        if (!address_valid(address))
                return;
        g_autofree char *dir = testbed_device_dir(fk->tb, address);
        g_autofree char *bound = dir ? link_name(dir, "driver") : NULL;
        /* The kernel says ENODEV for a device this driver does not have. */
        if (!bound || !g_str_equal(bound, w->name) || unbind_refused(fk, w->name, address))
                return;
        natural_remember(fk, address, bound);
        testbed_unbind(fk->tb, address);
}

static void on_bind(FakeKernel *fk, const Watch *w) {
        g_autofree char *address = trigger_take(w->dir, "bind");

        if (!address)
                return;
        writes_log(fk, "bind %s %s", address, w->name);
        kill_check(fk, "bind");
        if (!address_valid(address))
                return;
        g_autofree char *dir = testbed_device_dir(fk->tb, address);
        g_autofree char *bound = dir ? link_name(dir, "driver") : NULL;
        g_autofree char *override = dir ? device_override(dir) : NULL;
        if (dir && !bound && (!override || g_str_equal(override, w->name)))
                testbed_bind(fk->tb, address, w->name);
}

static void on_driver_override(FakeKernel *fk, const Watch *w) {
        g_autofree char *s = file_read(w->dir, "driver_override");

        /* What the kernel shows for none: only we write that. */
        if (g_str_equal(s, "(null)\n"))
                return;
        g_strstrip(s);
        writes_log(fk, "driver_override %s %s", w->name, s[0] ? s : "(null)");
        kill_check(fk, "driver_override");
        if (s[0] == '\0')
                file_write(w->dir, "driver_override", "(null)\n");
}

static void on_autoprobe(FakeKernel *fk, const Watch *w) {
        g_autofree char *s = file_read(w->dir, "sriov_drivers_autoprobe");

        /* What the kernel shows ends in a newline: only we write that. */
        if (s[0] == '\0' || g_str_has_suffix(s, "\n"))
                return;
        g_strstrip(s);
        writes_log(fk, "sriov_drivers_autoprobe %s %s", w->name, s);
        kill_check(fk, "sriov_drivers_autoprobe");
        g_autofree char *shown = g_strdup_printf("%s\n", g_str_equal(s, "0") ? "0" : "1");
        file_write(w->dir, "sriov_drivers_autoprobe", shown);
}

static unsigned device_vf_count(const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        unsigned n = 0;

        for (const char *name; d && (name = g_dir_read_name(d));)
                if (g_str_has_prefix(name, "virtfn"))
                        n++;
        return n;
}

static void on_sriov_numvfs(FakeKernel *fk, const Watch *w) {
        g_autofree char *s = file_read(w->dir, "sriov_numvfs");
        unsigned current = device_vf_count(w->dir);
        g_autofree char *shown = g_strdup_printf("%u\n", current);
        guint64 n;

        /* The count as the kernel shows it: the testbed's or ours. */
        if (s[0] == '\0' || g_str_equal(s, shown))
                return;
        g_strstrip(s);
        writes_log(fk, "sriov_numvfs %s %s", w->name, s);
        kill_check(fk, "sriov_numvfs");

        g_autofree char *total_text = file_read(w->dir, "sriov_totalvfs");
        g_autofree char *driver = link_name(w->dir, "driver");
        guint64 total = g_ascii_strtoull(total_text, NULL, 10);
        bool ok = g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT16, &n, NULL) && n != current &&
                  n <= total && driver && !(current > 0 && n > 0);
        /* The kernel's count back first: the testbed reads it as the current one. */
        file_write(w->dir, "sriov_numvfs", shown);
        if (!ok)
                return;
        testbed_sriov_set(fk->tb, w->name, (unsigned) n);
        /* The new VFs watched now, not when their creation is read: the
         * daemon may write to them first. */
        g_autofree char *devices = path_join(fk, "bus/pci", "devices");
        watch_add_each(fk, WATCH_DEVICES, WATCH_DEVICE, devices);
}

static void on_sync(FakeKernel *fk, const Watch *w) {
        g_autofree char *s = file_read(w->dir, SYNC_FILE);
        guint64 n = g_ascii_strtoull(s, NULL, 10);

        if (n > fk->sync_seen) {
                fk->sync_seen = n;
                g_cond_broadcast(&fk->synced);
        }
}

static void fakekernel_handle(FakeKernel *fk, const struct inotify_event *ev) {
        if (ev->mask & IN_IGNORED) {
                g_hash_table_remove(fk->watches, GINT_TO_POINTER(ev->wd));
                return;
        }
        const Watch *w = g_hash_table_lookup(fk->watches, GINT_TO_POINTER(ev->wd));
        if (!w || ev->len == 0)
                return;
        const char *name = ev->name;

        switch (w->kind) {
        case WATCH_ROOT:
                if (g_str_equal(name, SYNC_FILE))
                        on_sync(fk, w);
                break;
        case WATCH_PCI:
                if (g_str_equal(name, "drivers_probe"))
                        on_drivers_probe(fk, w);
                break;
        case WATCH_DRIVERS:
        case WATCH_DEVICES: {
                g_autofree char *dir = g_build_filename(w->dir, name, NULL);
                if (g_file_test(dir, G_FILE_TEST_IS_DIR))
                        watch_add(fk, w->kind == WATCH_DRIVERS ? WATCH_DRIVER : WATCH_DEVICE, name, dir);
                break;
        }
        case WATCH_DRIVER:
                if (g_str_equal(name, "unbind"))
                        on_unbind(fk, w);
                else if (g_str_equal(name, "bind"))
                        on_bind(fk, w);
                break;
        case WATCH_DEVICE:
                if (g_str_equal(name, "driver_override"))
                        on_driver_override(fk, w);
                else if (g_str_equal(name, "sriov_numvfs"))
                        on_sriov_numvfs(fk, w);
                else if (g_str_equal(name, "sriov_drivers_autoprobe"))
                        on_autoprobe(fk, w);
                break;
        }
}

static gpointer fakekernel_thread(gpointer data) {
        FakeKernel *fk = data;
        /* Aligned for the struct inotify_event at its start. */
        union {
                struct inotify_event ev;
                char bytes[64 * 1024];
        } buf;

        for (;;) {
                struct pollfd fds[] = {
                        { .fd = fk->inotify_fd, .events = POLLIN },
                        { .fd = fk->wake_fd, .events = POLLIN },
                };
                if (poll(fds, G_N_ELEMENTS(fds), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        g_error("fakekernel: poll: %s", g_strerror(errno));
                }
                if (fds[1].revents)
                        break;

                ssize_t n = read(fk->inotify_fd, buf.bytes, sizeof(buf.bytes));
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0)
                        g_error("fakekernel: reading inotify: %s", n < 0 ? g_strerror(errno) : "EOF");
                for (char *p = buf.bytes; p < buf.bytes + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) (void *) p;
                        if (ev->mask & IN_Q_OVERFLOW)
                                g_error("fakekernel: inotify queue overflow: writes were lost");
                        g_mutex_lock(&fk->lock);
                        fakekernel_handle(fk, ev);
                        g_mutex_unlock(&fk->lock);
                        p += sizeof(struct inotify_event) + ev->len;
                }
        }
        return NULL;
}

/* Watches a directory and each subdirectory (through links) of it. */
static void watch_add_each(FakeKernel *fk, WatchKind parent_kind, WatchKind kind, const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);

        watch_add(fk, parent_kind, NULL, dir);
        for (const char *name; d && (name = g_dir_read_name(d));) {
                g_autofree char *sub = g_build_filename(dir, name, NULL);
                if (g_file_test(sub, G_FILE_TEST_IS_DIR))
                        watch_add(fk, kind, name, sub);
        }
}

FakeKernel *fakekernel_new(Testbed *tb) {
        FakeKernel *fk = g_new0(FakeKernel, 1);

        fk->tb = tb;
        fk->sys_dir = g_strdup(testbed_sys_dir(tb));
        g_mutex_init(&fk->lock);
        g_cond_init(&fk->synced);
        fk->watches = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, watch_free);
        fk->natural = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        fk->refuse = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        fk->writes = g_ptr_array_new_with_free_func(g_free);
        fk->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        fk->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fk->inotify_fd < 0 || fk->wake_fd < 0)
                g_error("fakekernel: inotify or eventfd: %s", g_strerror(errno));

        g_autofree char *pci = path_join(fk, "bus", "pci");
        g_autofree char *drivers = path_join(fk, "bus/pci", "drivers");
        g_autofree char *devices = path_join(fk, "bus/pci", "devices");
        watch_add(fk, WATCH_ROOT, NULL, fk->sys_dir);
        watch_add(fk, WATCH_PCI, NULL, pci);
        watch_add_each(fk, WATCH_DRIVERS, WATCH_DRIVER, drivers);
        watch_add_each(fk, WATCH_DEVICES, WATCH_DEVICE, devices);

        g_autoptr(GDir) d = g_dir_open(devices, 0, NULL);
        for (const char *address; d && (address = g_dir_read_name(d));) {
                g_autofree char *dir = g_build_filename(devices, address, NULL);
                g_autofree char *driver = link_name(dir, "driver");
                natural_remember(fk, address, driver);
        }

        fk->thread = g_thread_new("fakekernel", fakekernel_thread, fk);
        return fk;
}

void fakekernel_free(FakeKernel *fk) {
        uint64_t one = 1;

        if (!fk)
                return;
        if (write(fk->wake_fd, &one, sizeof(one)) != sizeof(one))
                g_error("fakekernel: cannot wake the thread: %s", g_strerror(errno));
        g_thread_join(fk->thread);
        close(fk->inotify_fd);
        close(fk->wake_fd);
        g_hash_table_unref(fk->watches);
        g_hash_table_unref(fk->natural);
        g_hash_table_unref(fk->refuse);
        g_ptr_array_unref(fk->writes);
        g_free(fk->kill_file);
        g_cond_clear(&fk->synced);
        g_mutex_clear(&fk->lock);
        g_free(fk->sys_dir);
        g_free(fk);
}

void fakekernel_lock(FakeKernel *fk) {
        g_mutex_lock(&fk->lock);
}

void fakekernel_unlock(FakeKernel *fk) {
        g_mutex_unlock(&fk->lock);
}

void fakekernel_refuse_unbind(FakeKernel *fk, const char *driver_or_address) {
        g_mutex_lock(&fk->lock);
        g_hash_table_add(fk->refuse, g_strdup(driver_or_address));
        g_mutex_unlock(&fk->lock);
}

void fakekernel_allow_unbind(FakeKernel *fk, const char *driver_or_address) {
        g_mutex_lock(&fk->lock);
        g_hash_table_remove(fk->refuse, driver_or_address);
        g_mutex_unlock(&fk->lock);
}

char **fakekernel_writes(FakeKernel *fk) {
        g_mutex_lock(&fk->lock);
        char **copy = g_new0(char *, fk->writes->len + 1);
        for (guint i = 0; i < fk->writes->len; i++)
                copy[i] = g_strdup(fk->writes->pdata[i]);
        g_mutex_unlock(&fk->lock);
        return copy;
}

void fakekernel_clear_writes(FakeKernel *fk) {
        g_mutex_lock(&fk->lock);
        g_ptr_array_set_size(fk->writes, 0);
        g_mutex_unlock(&fk->lock);
}

void fakekernel_sync(FakeKernel *fk) {
        g_mutex_lock(&fk->lock);
        guint64 n = ++fk->sync_sent;
        g_autofree char *text = g_strdup_printf("%" G_GUINT64_FORMAT, n);
        file_write(fk->sys_dir, SYNC_FILE, text);
        while (fk->sync_seen < n)
                g_cond_wait(&fk->synced, &fk->lock);
        g_mutex_unlock(&fk->lock);
}

static int tree_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (remove(path) < 0)
                g_error("fakekernel: cannot remove %s: %s", path, g_strerror(errno));
        return 0;
}

static void vfio_load_locked(FakeKernel *fk, bool present) {
        g_autofree char *dir = g_build_filename(fk->sys_dir, "bus", "pci", "drivers", VFIO_DRIVER, NULL);
        static const char *const files[] = { "bind", "unbind", "new_id", "remove_id" };

        if (present == g_file_test(dir, G_FILE_TEST_IS_DIR))
                return;
        if (present) {
                if (mkdir(dir, 0755) < 0)
                        g_error("fakekernel: cannot create %s: %s", dir, g_strerror(errno));
                for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
                        file_write(dir, files[i], "");
                /* Now, not when the thread gets to it: a write may come at once. */
                watch_add(fk, WATCH_DRIVER, VFIO_DRIVER, dir);
                return;
        }

        g_autofree char *devices = path_join(fk, "bus/pci", "devices");
        g_autoptr(GDir) d = g_dir_open(devices, 0, NULL);
        for (const char *address; d && (address = g_dir_read_name(d));) {
                g_autofree char *device = g_build_filename(devices, address, NULL);
                g_autofree char *driver = link_name(device, "driver");
                if (g_strcmp0(driver, VFIO_DRIVER) == 0)
                        testbed_unbind(fk->tb, address);
        }
        if (nftw(dir, tree_remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
                g_error("fakekernel: cannot remove %s: %s", dir, g_strerror(errno));
}

void fakekernel_load_vfio(FakeKernel *fk, bool present) {
        g_mutex_lock(&fk->lock);
        vfio_load_locked(fk, present);
        g_mutex_unlock(&fk->lock);
}

/* A new boot: VFs gone, autoprobe back to 1, a new boot id. */
static void boot_reset_locked(FakeKernel *fk) {
        g_autofree char *devices = path_join(fk, "bus/pci", "devices");
        g_autoptr(GPtrArray) pfs = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GDir) d = g_dir_open(devices, 0, NULL);

        for (const char *address; d && (address = g_dir_read_name(d));) {
                g_autofree char *dir = testbed_device_dir(fk->tb, address);
                /* Tested, not opened: umockdev's preload keeps a table entry
                 * for every failed open under /dev (the testbed is in /dev/shm). */
                g_autofree char *autoprobe = dir ? g_build_filename(dir, "sriov_drivers_autoprobe", NULL) : NULL;
                if (autoprobe && g_file_test(autoprobe, G_FILE_TEST_EXISTS)) {
                        file_write(dir, "sriov_drivers_autoprobe", "1\n");
                        g_ptr_array_add(pfs, g_strdup(address));
                }
        }
        for (guint i = 0; i < pfs->len; i++) {
                g_autofree char *dir = testbed_device_dir(fk->tb, pfs->pdata[i]);
                g_autofree char *driver = link_name(dir, "driver");
                if (driver && device_vf_count(dir) > 0)
                        testbed_sriov_set_driver(fk->tb, pfs->pdata[i], 0, NULL);
        }

        g_autofree char *root = g_path_get_dirname(fk->sys_dir);
        g_autofree char *random = g_build_filename(root, "proc", "sys", "kernel", "random", NULL);
        g_autofree char *uuid = g_uuid_string_random();
        g_autofree char *boot_id = g_strdup_printf("%s\n", uuid);
        if (g_mkdir_with_parents(random, 0755) < 0)
                g_error("fakekernel: cannot create %s: %s", random, g_strerror(errno));
        file_write(random, "boot_id", boot_id);
}

void fakekernel_reboot(FakeKernel *fk, const char *const *vfio_addresses) {
        g_mutex_lock(&fk->lock);
        boot_reset_locked(fk);
        if (vfio_addresses && vfio_addresses[0])
                vfio_load_locked(fk, true);

        g_autofree char *devices = path_join(fk, "bus/pci", "devices");
        g_autoptr(GDir) d = g_dir_open(devices, 0, NULL);
        for (const char *address; d && (address = g_dir_read_name(d));) {
                g_autofree char *dir = testbed_device_dir(fk->tb, address);
                if (!dir)
                        continue;
                g_autofree char *bound = link_name(dir, "driver");
                bool to_vfio = vfio_addresses && g_strv_contains(vfio_addresses, address);

                file_write(dir, "driver_override", "(null)\n");
                if (bound && !g_str_equal(bound, VFIO_DRIVER))
                        natural_remember(fk, address, bound);
                const char *target = to_vfio ? VFIO_DRIVER : natural_driver(fk, address);
                if (g_strcmp0(bound, target) == 0)
                        continue;
                if (bound)
                        testbed_unbind(fk->tb, address);
                if (target && driver_exists(fk, target))
                        testbed_bind(fk->tb, address, target);
        }
        g_mutex_unlock(&fk->lock);
}

void fakekernel_set_kill_on_write(FakeKernel *fk, const char *file_basename, GPid pid) {
        g_mutex_lock(&fk->lock);
        g_free(fk->kill_file);
        fk->kill_file = g_strdup(file_basename);
        fk->kill_pid = pid;
        g_mutex_unlock(&fk->lock);
}
