/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "binder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "address.h"
#include "sysfs.h"
#include "text.h"

#define VFIO_DRIVER "vfio-pci"
#define POLL_INTERVAL_US (5 * 1000)

typedef enum {
        JOB_BIND,
        JOB_SET_VFS,
} JobKind;

typedef struct {
        JobKind kind;
        char **addresses;
        BindTarget target;
        unsigned count;
        bool autoprobe_off;
        BinderFunc done;
        void *userdata;
        GMainContext *context;
        GPtrArray *results;
        bool abandoned;         /* binder_stop() answered for it: the worker only frees it */
} Job;

struct Binder {
        char *sysfs_root;
        char *modprobe;
        unsigned settle_ms;
        GThread *worker;        /* runs the queue's jobs one after another, in order */
        GMutex lock;            /* one driver change at a time: the worker or binder_bind_sync() */
        GMutex queue_lock;      /* the four below */
        GCond queue_cond;       /* a job queued, the running one finished, or stopping */
        GQueue queue;           /* Job*, not started */
        Job *running;           /* the worker's, NULL between jobs */
        bool stopping;
};

/* One job's run: bus/pci, and whether vfio-pci was found (asked once). */
typedef struct {
        Binder *b;
        int pci_fd;
        int pci_errno;
        int vfio;               /* 0: not asked yet, 1: there, -1: not available */
        char *vfio_error;
} Run;

/* A device being worked on: its canonical address and its directory. */
typedef struct {
        char address[DP_ADDRESS_MAX];
        int dir_fd;
} Device;

typedef enum {
        WAIT_UNBOUND,
        WAIT_BOUND_TO,
        WAIT_ANY_DRIVER,
} WaitFor;

void bind_result_free(BindResult *r) {
        if (!r)
                return;
        g_free(r->address);
        g_free(r->driver);
        g_free(r->reason);
        g_free(r);
}

static BindResult *result_new(const char *address, BindOutcome outcome, const char *driver) {
        BindResult *r = g_new0(BindResult, 1);

        r->address = g_strdup(address);
        r->outcome = outcome;
        r->driver = g_strdup(driver ?: "");
        return r;
}

/* The reason starts with the device's address, as every reason does. */
G_GNUC_PRINTF(4, 5)
static BindResult *result_new_reason(const char *address, BindOutcome outcome, const char *driver,
                                     const char *format, ...) {
        BindResult *r = result_new(address, outcome, driver);
        va_list ap;

        va_start(ap, format);
        g_autofree char *text = g_strdup_vprintf(format, ap);
        va_end(ap);
        r->reason = g_strdup_printf("%s: %s", address, text);
        return r;
}

/* Writes one value with one write(), as sysfs takes it. O_TRUNC: sysfs
 * ignores it, and a plain file (umockdev's /sys) must not keep the tail
 * of a longer value. Returns 0 or -errno. */
static int attr_write(int dir_fd, const char *name, const char *value) {
        size_t len = strlen(value);
        ssize_t n;
        int r = 0;

        if (dir_fd < 0)
                return -EBADF;
        int fd = openat(dir_fd, name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                r = -errno;
        else if ((size_t) n != len)
                r = -EIO;
        /* Some attributes report their error only here. */
        if (close(fd) < 0 && r == 0 && errno != EINTR)
                r = -errno;
        return r;
}

/* The bound driver's name made safe to show, "" when unbound (or when the
 * link cannot be read: the kernel always makes it readable). */
static char *device_driver(const Device *d) {
        g_autofree char *name = NULL;

        if (sysfs_read_link_name(d->dir_fd, "driver", &name) < 0)
                return g_strdup("");
        return text_sanitize(name, strlen(name), NULL);
}

static bool driver_matches(const char *driver, WaitFor want, const char *name) {
        switch (want) {
        case WAIT_UNBOUND:
                return driver[0] == '\0';
        case WAIT_BOUND_TO:
                return g_str_equal(driver, name);
        case WAIT_ANY_DRIVER:
                return driver[0] != '\0';
        }
        g_assert_not_reached();
}

/* Reads the driver link until it is as wanted or settle_ms have passed: a
 * kernel acts in the write, but probing may be deferred, and a test's fake
 * kernel acts a moment later. Returns whether it got there; *ret_driver is
 * what was seen last. */
static bool device_wait_driver(Run *run, const Device *d, WaitFor want, const char *name, char **ret_driver) {
        gint64 deadline = g_get_monotonic_time() + (gint64) run->b->settle_ms * 1000;
        g_autofree char *driver = device_driver(d);

        while (!driver_matches(driver, want, name) && g_get_monotonic_time() < deadline) {
                g_usleep(POLL_INTERVAL_US);
                g_free(driver);
                driver = device_driver(d);
        }
        bool ok = driver_matches(driver, want, name);
        *ret_driver = g_steal_pointer(&driver);
        return ok;
}

static bool run_has_vfio(Run *run) {
        if (run->pci_fd < 0)
                return false;
        int fd = openat(run->pci_fd, "drivers/" VFIO_DRIVER, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* Runs "<modprobe> vfio-pci" (no shell); NULL on success, else why not. */
static char *run_modprobe(Run *run) {
        const char *argv[] = { run->b->modprobe, VFIO_DRIVER, NULL };
        g_autofree char *err = NULL;
        g_autoptr(GError) error = NULL;
        int status;

        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                          NULL, NULL, &err, &status, &error))
                return text_sanitize(error->message, strlen(error->message), NULL);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return NULL;

        g_autofree char *how = WIFEXITED(status) ? g_strdup_printf("exit status %d", WEXITSTATUS(status))
                                                 : g_strdup_printf("killed by signal %d", WTERMSIG(status));
        /* modprobe's first line says why ("Module vfio-pci not found ..."). */
        g_strstrip(err);
        char *nl = strchr(err, '\n');
        if (nl)
                *nl = '\0';
        g_autofree char *line = text_sanitize(err, strlen(err), NULL);
        return line[0] ? g_strdup_printf("%s (%s)", line, how) : g_steal_pointer(&how);
}

/* vfio-pci is there, or loaded now: asked once per job. */
static bool run_vfio_ensure(Run *run) {
        if (run->vfio != 0)
                return run->vfio > 0;
        run->vfio = 1;
        if (run_has_vfio(run))
                return true;

        g_autofree char *why = run_modprobe(run);
        if (why) {
                run->vfio = -1;
                run->vfio_error = g_strdup_printf("vfio-pci is not available: %s vfio-pci failed: %s",
                                                  run->b->modprobe, why);
                return false;
        }
        /* udev and the module's init may lag behind modprobe's exit. */
        gint64 deadline = g_get_monotonic_time() + (gint64) run->b->settle_ms * 1000;
        while (!run_has_vfio(run) && g_get_monotonic_time() < deadline)
                g_usleep(POLL_INTERVAL_US);
        if (run_has_vfio(run))
                return true;
        run->vfio = -1;
        run->vfio_error = g_strdup_printf("vfio-pci is not available: %s vfio-pci succeeded, "
                                          "but bus/pci/drivers/vfio-pci did not appear", run->b->modprobe);
        return false;
}

/* Parses the (hostile) address into d->address; NULL, or a FAILED result
 * naming what was asked. */
static BindResult *device_parse(const char *input, Device *d) {
        DpAddress a;

        d->dir_fd = -1;
        if (!input || !address_parse(input, &a)) {
                g_autofree char *shown = input ? text_sanitize(input, strlen(input), NULL) : g_strdup("(null)");
                return result_new_reason(shown, BIND_FAILED, NULL, "not a PCI address (dddd:bb:ss.f)");
        }
        address_format(&a, d->address);
        return NULL;
}

/* device_parse(), and its directory opened. */
static BindResult *device_open(Run *run, const char *input, Device *d) {
        BindResult *invalid = device_parse(input, d);

        if (invalid)
                return invalid;
        g_autofree char *path = g_build_filename(run->b->sysfs_root, "bus", "pci", "devices", d->address, NULL);
        d->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->dir_fd < 0) {
                int r = errno;
                return result_new_reason(d->address, BIND_FAILED, NULL, "%s",
                                         r == ENOENT ? "no such device" : g_strerror(r));
        }
        return NULL;
}

static void device_close(Device *d) {
        if (d->dir_fd >= 0)
                close(d->dir_fd);
        d->dir_fd = -1;
}

/* " (unbind: Device or resource busy)" when a write failed, else "". */
static char *write_note(const char *what, int r) {
        return r < 0 ? g_strdup_printf(" (%s: %s)", what, g_strerror(-r)) : g_strdup("");
}

/* Asks the kernel to find a driver for an unbound device. Returns 0 or -errno. */
static int device_probe(Run *run, const Device *d) {
        if (run->pci_fd < 0)
                return -run->pci_errno;
        return attr_write(run->pci_fd, "drivers_probe", d->address);
}

static BindResult *device_to_vfio(Run *run, Device *d) {
        g_autofree char *driver = device_driver(d);
        int r;

        if (g_str_equal(driver, VFIO_DRIVER))
                return result_new(d->address, BIND_DONE, driver);
        if (!run_vfio_ensure(run))
                return result_new_reason(d->address, BIND_FAILED, driver, "%s", run->vfio_error);

        r = attr_write(d->dir_fd, "driver_override", VFIO_DRIVER);
        if (r < 0)
                return result_new_reason(d->address, BIND_FAILED, driver, "cannot write driver_override: %s",
                                         g_strerror(-r));

        /* A second round when a host driver took it between our unbind and
         * probe (a reprobe someone else started): the override keeps it
         * from happening again. */
        for (int round = 0;; round++) {
                if (driver[0]) {
                        g_autofree char *old = g_steal_pointer(&driver);
                        r = attr_write(d->dir_fd, "driver/unbind", d->address);
                        g_autofree char *note = write_note("unbind", r);
                        /* The override stays: on the next boot vfio-pci gets it first. */
                        if (!device_wait_driver(run, d, WAIT_UNBOUND, NULL, &driver))
                                return result_new_reason(d->address, BIND_REBOOT_REQUIRED, driver,
                                                         "its driver %s did not let go%s; it comes up on "
                                                         "vfio-pci after a reboot", old, note);
                }

                r = device_probe(run, d);
                g_autofree char *note = write_note("drivers_probe", r);
                g_free(driver);
                if (device_wait_driver(run, d, WAIT_BOUND_TO, VFIO_DRIVER, &driver))
                        return result_new(d->address, BIND_DONE, driver);
                if (round > 0 || !driver[0])
                        return result_new_reason(d->address, BIND_REBOOT_REQUIRED, driver,
                                                 "vfio-pci did not take it%s; it comes up on vfio-pci after a "
                                                 "reboot", note);
        }
}

static BindResult *device_to_host(Run *run, Device *d) {
        g_autofree char *driver = device_driver(d);
        g_autofree char *override = NULL;
        int r;

        /* The kernel shows "(null)" for no override; a cleared plain file is "". */
        if (sysfs_read_attr(d->dir_fd, "driver_override", &override) < 0)
                override = g_strdup("");
        bool has_override = override[0] && !g_str_equal(override, "(null)");
        if (!has_override && driver[0] && !g_str_equal(driver, VFIO_DRIVER))
                return result_new(d->address, BIND_DONE, driver);

        r = attr_write(d->dir_fd, "driver_override", "\n");
        if (r < 0)
                return result_new_reason(d->address, BIND_FAILED, driver, "cannot clear driver_override: %s",
                                         g_strerror(-r));
        /* Held by a host driver: it keeps it, and nothing changes at boot. */
        if (driver[0] && !g_str_equal(driver, VFIO_DRIVER))
                return result_new(d->address, BIND_DONE, driver);

        if (driver[0]) {
                r = attr_write(d->dir_fd, "driver/unbind", d->address);
                g_autofree char *note = write_note("unbind", r);
                g_free(driver);
                if (!device_wait_driver(run, d, WAIT_UNBOUND, NULL, &driver))
                        return result_new_reason(d->address, BIND_FAILED, driver,
                                                 "vfio-pci did not let go%s", note);
        }

        r = device_probe(run, d);
        if (r < 0)
                return result_new_reason(d->address, BIND_FAILED, "", "cannot write drivers_probe: %s",
                                         g_strerror(-r));
        /* No way to know whether a host driver will come: a device without
         * one waits the whole settle time and is left unbound. */
        g_free(driver);
        (void) device_wait_driver(run, d, WAIT_ANY_DRIVER, NULL, &driver);
        if (g_str_equal(driver, VFIO_DRIVER))
                return result_new_reason(d->address, BIND_FAILED, driver,
                                         "vfio-pci took it again (a new_id entry matches it)");
        return result_new(d->address, BIND_DONE, driver);
}

/* sriov_numvfs as a number, and how many virtfnN links the PF has: the
 * kernel adds and removes those within the write, so both tell when the
 * change is through. Returns 0 or -errno. */
static int pf_read_vfs(const Device *d, unsigned *ret_numvfs, unsigned *ret_links) {
        g_autofree char *text = NULL;
        gint64 v;

        int r = sysfs_read_attr(d->dir_fd, "sriov_numvfs", &text);
        if (r < 0)
                return r;
        if (!text_parse_int(text, 0, G_MAXUINT16, &v))
                return -EINVAL;
        *ret_numvfs = (unsigned) v;

        int fd = openat(d->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *dir = fdopendir(fd);
        if (!dir) {
                r = -errno;
                close(fd);
                return r;
        }
        unsigned links = 0;
        for (struct dirent *de; (de = readdir(dir));)
                if (g_str_has_prefix(de->d_name, "virtfn") && g_ascii_isdigit(de->d_name[strlen("virtfn")]))
                        links++;
        closedir(dir);
        *ret_links = links;
        return 0;
}

/* Writes count and waits for the PF to show it; NULL, or why not. */
static char *pf_write_vfs(Run *run, const Device *d, unsigned count, unsigned *numvfs) {
        char value[16];
        unsigned links = 0;

        g_snprintf(value, sizeof(value), "%u", count);
        int r = attr_write(d->dir_fd, "sriov_numvfs", value);
        if (r < 0)
                return g_strdup_printf("writing %u to sriov_numvfs failed: %s", count, g_strerror(-r));

        gint64 deadline = g_get_monotonic_time() + (gint64) run->b->settle_ms * 1000;
        for (;;) {
                r = pf_read_vfs(d, numvfs, &links);
                if (r == 0 && *numvfs == count && links == count)
                        return NULL;
                if (g_get_monotonic_time() >= deadline)
                        break;
                g_usleep(POLL_INTERVAL_US);
        }
        if (r < 0)
                return g_strdup_printf("cannot read sriov_numvfs back: %s", g_strerror(-r));
        return g_strdup_printf("asked for %u VFs, it shows %u and has %u", count, *numvfs, links);
}

/* New VFs come up without a driver (the kernel probes a VF only with
 * autoprobe on, or through its override): the daemon binds those passed
 * through to vfio-pci. Returns 0 or -errno. */
static int pf_autoprobe_off(const Device *d) {
        g_autofree char *now = NULL;

        if (sysfs_read_attr(d->dir_fd, "sriov_drivers_autoprobe", &now) == 0 && g_str_equal(now, "0"))
                return 0;
        return attr_write(d->dir_fd, "sriov_drivers_autoprobe", "0");
}

static BindResult *device_set_vfs(Run *run, Device *d, unsigned count, bool autoprobe_off) {
        g_autofree char *driver = device_driver(d);
        g_autofree char *why = NULL;
        unsigned current, links;
        BindResult *result;

        int r = pf_read_vfs(d, &current, &links);
        if (r == -ENOENT)
                return result_new_reason(d->address, BIND_FAILED, driver, "not an SR-IOV physical function");
        if (r < 0)
                return result_new_reason(d->address, BIND_FAILED, driver, "cannot read sriov_numvfs: %s",
                                         g_strerror(-r));
        if (autoprobe_off && (r = pf_autoprobe_off(d)) < 0) {
                result = result_new_reason(d->address, BIND_FAILED, driver, "cannot write 0 to "
                                           "sriov_drivers_autoprobe (host drivers would take its VFs): %s",
                                           g_strerror(-r));
                result->numvfs = current;
                return result;
        }
        if (current == count) {
                result = result_new(d->address, BIND_DONE, driver);
                result->numvfs = current;
                return result;
        }

        /* The kernel refuses to change a non-zero count but to 0 (EBUSY). */
        if (current > 0 && count > 0)
                why = pf_write_vfs(run, d, 0, &current);
        if (!why)
                why = pf_write_vfs(run, d, count, &current);
        result = why ? result_new_reason(d->address, BIND_FAILED, driver, "%s", why)
                     : result_new(d->address, BIND_DONE, driver);
        result->numvfs = current;
        return result;
}

static void result_log(const BindResult *r) {
        if (r->reason)
                g_message("Binder: %s", r->reason);
        else
                g_debug("Binder: %s is on %s", r->address, r->driver[0] ? r->driver : "no driver");
}

static GPtrArray *binder_run(Binder *b, const Job *job) {
        GPtrArray *results = g_ptr_array_new_with_free_func((GDestroyNotify) bind_result_free);
        g_autofree char *pci = g_build_filename(b->sysfs_root, "bus", "pci", NULL);
        Run run = { .b = b };

        g_mutex_lock(&b->lock);
        run.pci_fd = open(pci, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        run.pci_errno = run.pci_fd < 0 ? errno : 0;

        for (char **a = job->addresses; a && *a; a++) {
                Device d;
                BindResult *r = device_open(&run, *a, &d);

                if (!r && job->kind == JOB_SET_VFS)
                        r = device_set_vfs(&run, &d, job->count, job->autoprobe_off);
                else if (!r && job->target == BIND_TO_VFIO)
                        r = device_to_vfio(&run, &d);
                else if (!r)
                        r = device_to_host(&run, &d);
                device_close(&d);
                result_log(r);
                g_ptr_array_add(results, r);
        }

        if (run.pci_fd >= 0)
                close(run.pci_fd);
        g_free(run.vfio_error);
        g_mutex_unlock(&b->lock);
        return results;
}

static Job *job_new(JobKind kind, char **addresses, BinderFunc done, void *userdata) {
        Job *job = g_new0(Job, 1);

        job->kind = kind;
        job->addresses = g_strdupv(addresses);
        job->done = done;
        job->userdata = userdata;
        return job;
}

static void job_free(gpointer data) {
        Job *job = data;

        g_strfreev(job->addresses);
        if (job->results)
                g_ptr_array_unref(job->results);
        if (job->context)
                g_main_context_unref(job->context);
        g_free(job);
}

static gboolean job_deliver(gpointer data) {
        Job *job = data;

        job->done(g_steal_pointer(&job->results), job->userdata);
        return G_SOURCE_REMOVE;
}

/* Hands the job's results to its caller's context, which frees the job. */
static void job_post(Job *job, GPtrArray *results) {
        job->results = results;
        /* Always through a source: g_main_context_invoke() would call done
         * here, in the worker, when no thread happens to own the context. */
        g_autoptr(GSource) source = g_idle_source_new();
        g_source_set_priority(source, G_PRIORITY_DEFAULT);
        g_source_set_callback(source, job_deliver, job, job_free);
        g_source_set_name(source, "binder-done");
        g_source_attach(source, job->context);
}

/* What a job that did not run, or did not finish, gives its caller: one
 * FAILED result per address, marked stopped. */
static GPtrArray *job_results_stopped(const Job *job, const char *why) {
        GPtrArray *results = g_ptr_array_new_with_free_func((GDestroyNotify) bind_result_free);

        for (char **a = job->addresses; a && *a; a++) {
                Device d;
                BindResult *r = device_parse(*a, &d);

                if (!r) {
                        r = result_new_reason(d.address, BIND_FAILED, NULL, "%s", why);
                        r->stopped = true;
                }
                result_log(r);
                g_ptr_array_add(results, r);
        }
        return results;
}

static gpointer binder_work(gpointer data) {
        Binder *b = data;

        g_mutex_lock(&b->queue_lock);
        for (;;) {
                while (!b->stopping && g_queue_is_empty(&b->queue))
                        g_cond_wait(&b->queue_cond, &b->queue_lock);
                if (b->stopping)
                        break;
                Job *job = b->running = g_queue_pop_head(&b->queue);
                g_mutex_unlock(&b->queue_lock);
                GPtrArray *results = binder_run(b, job);
                g_mutex_lock(&b->queue_lock);
                b->running = NULL;
                g_cond_broadcast(&b->queue_cond);
                if (job->abandoned) {
                        g_ptr_array_unref(results);
                        job_free(job);
                } else
                        job_post(job, results);
        }
        g_mutex_unlock(&b->queue_lock);
        return NULL;
}

static void binder_queue(Binder *b, Job *job) {
        job->context = g_main_context_ref_thread_default();
        g_mutex_lock(&b->queue_lock);
        if (b->stopping)
                job_post(job, job_results_stopped(job, "devpassd stopped before changing its driver"));
        else {
                g_queue_push_tail(&b->queue, job);
                g_cond_signal(&b->queue_cond);
        }
        g_mutex_unlock(&b->queue_lock);
}

Binder *binder_new(const char *sysfs_root, const char *modprobe, unsigned settle_ms) {
        Binder *b = g_new0(Binder, 1);

        b->sysfs_root = g_strdup(sysfs_root);
        b->modprobe = g_strdup(modprobe);
        b->settle_ms = settle_ms;
        g_mutex_init(&b->lock);
        g_mutex_init(&b->queue_lock);
        g_cond_init(&b->queue_cond);
        g_queue_init(&b->queue);
        b->worker = g_thread_new("binder", binder_work, b);
        return b;
}

bool binder_stop(Binder *b, unsigned timeout_ms) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
        Job *job;

        g_mutex_lock(&b->queue_lock);
        if (b->stopping) {
                g_mutex_unlock(&b->queue_lock);
                return !b->worker;
        }
        b->stopping = true;
        g_cond_broadcast(&b->queue_cond);
        if (b->running) {
                g_autofree char *what = g_strjoinv(", ", b->running->addresses);
                g_message("Binder: stopping; waiting up to %.1f s for the driver change of %s", timeout_ms / 1000.0,
                          what);
        }
        while ((job = g_queue_pop_head(&b->queue)))
                job_post(job, job_results_stopped(job, "devpassd stopped before changing its driver"));
        while (b->running && g_cond_wait_until(&b->queue_cond, &b->queue_lock, deadline))
                ;
        /* A sysfs write that does not return: its caller is answered now,
         * with a copy, as the worker still reads the job. */
        Job *hung = b->running;
        if (hung) {
                hung->abandoned = true;
                job = job_new(hung->kind, hung->addresses, hung->done, hung->userdata);
                job->context = g_main_context_ref(hung->context);
                g_autofree char *why = g_strdup_printf("devpassd stopped while changing its driver: a sysfs write "
                                                       "had not returned after %.1f s", timeout_ms / 1000.0);
                job_post(job, job_results_stopped(job, why));
        }
        g_mutex_unlock(&b->queue_lock);
        if (hung)
                return false;
        g_thread_join(g_steal_pointer(&b->worker));
        return true;
}

void binder_free(Binder *b) {
        if (!b)
                return;
        /* Not stopped by the caller: the job running may take what it takes. */
        binder_stop(b, G_MAXUINT);
        /* The worker hangs in a write and still uses the binder: the
         * process's exit takes both. */
        if (b->worker) {
#ifdef __SANITIZE_ADDRESS__
                /* Not a leak, also when the write returns before the exit and the
                 * worker, whose stack held it, is gone. */
                __lsan_ignore_object(b);
#endif
                return;
        }
        g_queue_clear(&b->queue);
        g_cond_clear(&b->queue_cond);
        g_mutex_clear(&b->queue_lock);
        g_mutex_clear(&b->lock);
        g_free(b->sysfs_root);
        g_free(b->modprobe);
        g_free(b);
}

void binder_bind(Binder *b, char **addresses, BindTarget target, BinderFunc done, void *userdata) {
        Job *job = job_new(JOB_BIND, addresses, done, userdata);

        job->target = target;
        binder_queue(b, job);
}

void binder_set_vfs(Binder *b, const char *address, unsigned count, bool autoprobe_off, BinderFunc done,
                    void *userdata) {
        const char *addresses[] = { address ?: "", NULL };
        Job *job = job_new(JOB_SET_VFS, (char **) addresses, done, userdata);

        job->count = count;
        job->autoprobe_off = autoprobe_off;
        binder_queue(b, job);
}

GPtrArray *binder_bind_sync(Binder *b, char **addresses, BindTarget target) {
        Job job = { .kind = JOB_BIND, .addresses = addresses, .target = target };

        return binder_run(b, &job);
}
