/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hotplug.h"

#include <errno.h>
#include <glib-unix.h>
#include <libudev.h>

/* Enough for every function of a large node changing at once; the kernel
 * charges only what is queued. Overflow is still handled: a full rescan. */
#define RECEIVE_BUFFER_SIZE (64 * 1024 * 1024)

struct Hotplug {
        Inventory *inv;
        HotplugFunc func;
        void *userdata;
        struct udev *udev;
        struct udev_monitor *monitor;
        guint watch;
        guint idle;
        Coalescer *queue;
};

static gboolean hotplug_flush(gpointer userdata) {
        Hotplug *h = userdata;
        g_autoptr(GArray) entries = coalescer_take(h->queue);
        g_autoptr(InventoryChanges) changes = NULL;

        h->idle = 0;
        changes = inventory_apply(h->inv, entries);
        g_debug("Hotplug: %u events, %u added, %u removed, %u changed", entries->len,
                changes->added->len, changes->removed->len, g_hash_table_size(changes->changed));
        h->func(changes, h->userdata);
        return G_SOURCE_REMOVE;
}

/* The flush runs in the loop's next turn: every event already in the
 * socket is read first, so a burst becomes one batch. At the bus's
 * priority, not an idle one: a client flooding the bus with calls would
 * keep an idle flush from ever running. */
static void hotplug_schedule(Hotplug *h) {
        if (h->idle == 0 && coalescer_pending(h->queue) > 0)
                h->idle = g_idle_add_full(G_PRIORITY_DEFAULT, hotplug_flush, h, NULL);
}

static gboolean hotplug_on_event(gint fd, GIOCondition condition, gpointer userdata) {
        Hotplug *h = userdata;
        struct udev_device *dev;

        errno = 0;
        while ((dev = udev_monitor_receive_device(h->monitor))) {
                const char *sysname = udev_device_get_sysname(dev);
                const char *action = udev_device_get_action(dev);
                DpAddress a;

                if (sysname && address_parse(sysname, &a))
                        coalescer_add(h->queue, &a, action);
                udev_device_unref(dev);
        }
        if (errno == ENOBUFS) {
                g_warning("Hotplug events were lost (receive buffer full): reading every device again");
                inventory_queue_all(h->inv, h->queue);
        }
        hotplug_schedule(h);
        return G_SOURCE_CONTINUE;
}

Hotplug *hotplug_new(Inventory *inv, HotplugFunc func, void *userdata, GError **error) {
        g_autoptr(Hotplug) h = g_new0(Hotplug, 1);
        int r;

        h->inv = inv;
        h->func = func;
        h->userdata = userdata;
        h->queue = coalescer_new();
        h->udev = udev_new();
        if (h->udev)
                h->monitor = udev_monitor_new_from_netlink(h->udev, "udev");
        if (!h->monitor) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                            "Cannot create a udev monitor: %s", g_strerror(errno));
                return NULL;
        }
        if ((r = udev_monitor_filter_add_match_subsystem_devtype(h->monitor, "pci", NULL)) < 0 ||
            (r = udev_monitor_enable_receiving(h->monitor)) < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r),
                            "Cannot listen to udev events: %s", g_strerror(-r));
                return NULL;
        }
        /* Not fatal: a small buffer overflows sooner, and overflow is handled. */
        if ((r = udev_monitor_set_receive_buffer_size(h->monitor, RECEIVE_BUFFER_SIZE)) < 0)
                g_debug("Cannot grow the udev receive buffer: %s", g_strerror(-r));

        h->watch = g_unix_fd_add(udev_monitor_get_fd(h->monitor), G_IO_IN, hotplug_on_event, h);
        return g_steal_pointer(&h);
}

void hotplug_free(Hotplug *h) {
        if (!h)
                return;
        if (h->watch)
                g_source_remove(h->watch);
        if (h->idle)
                g_source_remove(h->idle);
        udev_monitor_unref(h->monitor);
        udev_unref(h->udev);
        coalescer_free(h->queue);
        g_free(h);
}

InventoryChanges *hotplug_rescan(Hotplug *h) {
        inventory_queue_all(h->inv, h->queue);
        g_autoptr(GArray) entries = coalescer_take(h->queue);
        return inventory_apply(h->inv, entries);
}
