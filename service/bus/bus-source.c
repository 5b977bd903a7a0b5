/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-source.h"

#include <stdbool.h>
#include <time.h>

typedef struct {
        GSource source;
        sd_bus *bus;
        gpointer tag;
        GIOCondition events;
        BusSourceLostFunc lost;
        void *userdata;
        bool more;      /* a dispatch stopped at its bound with work left */
} BusSource;

/* Messages handled per dispatch: one, then the loop's other sources
 * (hotplug, the binder's results, SIGTERM) get their turn, so a client
 * flooding the daemon with calls cannot starve them (bench/run "" flood).
 * A loop turn costs microseconds, a call a hundred. */
#define BUS_SOURCE_BATCH 1

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * G_USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static gboolean bus_source_prepare(GSource *source, gint *timeout) {
        BusSource *s = (BusSource *) source;
        uint64_t until;

        /* Change the poll mask only when it changes: every change wakes
         * the loop again at once (modifying it on every iteration spins at
         * 100 % CPU). Input is always polled for: sd-bus leaves it out
         * while it holds messages read, but then this source is ready
         * anyway, and flipping it cost two loop turns a message. */
        int events = sd_bus_get_events(s->bus);
        GIOCondition want = G_IO_IN | G_IO_ERR | G_IO_HUP | (events > 0 ? (GIOCondition) events & G_IO_OUT : 0);
        if (want != s->events) {
                g_source_modify_unix_fd(source, s->tag, want);
                s->events = want;
        }

        *timeout = -1;
        if (s->more)
                return TRUE;
        if (sd_bus_get_timeout(s->bus, &until) < 0 || until == UINT64_MAX)
                return FALSE;
        if (until == 0)
                return TRUE;   /* messages are queued: dispatch now */
        uint64_t now = now_usec();
        if (until <= now)
                return TRUE;
        *timeout = (gint) MIN((until - now + 999) / 1000, (uint64_t) G_MAXINT);
        return FALSE;
}

static gboolean bus_source_check(GSource *source) {
        BusSource *s = (BusSource *) source;
        uint64_t until;

        if (s->more || g_source_query_unix_fd(source, s->tag) != 0)
                return TRUE;
        return sd_bus_get_timeout(s->bus, &until) >= 0 && until != UINT64_MAX && until <= now_usec();
}

static gboolean bus_source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data) {
        BusSource *s = (BusSource *) source;
        int r = 0;

        /* sd_bus_process() returns 0 only when it has nothing left to do
         * now; until then the next iteration (after the other sources)
         * goes on. */
        s->more = false;
        for (unsigned n = 0; n < BUS_SOURCE_BATCH && (r = sd_bus_process(s->bus, NULL)) > 0; n++)
                s->more = true;
        if (r == 0)
                s->more = false;
        if (r < 0) {
                g_warning("Lost the bus connection: %s", g_strerror(-r));
                if (s->lost)
                        s->lost(s->userdata);
                return G_SOURCE_REMOVE;
        }
        return G_SOURCE_CONTINUE;
}

static void bus_source_finalize(GSource *source) {
        BusSource *s = (BusSource *) source;

        sd_bus_unref(s->bus);
}

static GSourceFuncs bus_source_funcs = {
        .prepare = bus_source_prepare,
        .check = bus_source_check,
        .dispatch = bus_source_dispatch,
        .finalize = bus_source_finalize,
};

GSource *bus_source_new(sd_bus *bus, BusSourceLostFunc lost, void *userdata) {
        GSource *source = g_source_new(&bus_source_funcs, sizeof(BusSource));
        BusSource *s = (BusSource *) source;

        s->bus = sd_bus_ref(bus);
        s->lost = lost;
        s->userdata = userdata;
        s->events = G_IO_IN | G_IO_ERR | G_IO_HUP;
        s->tag = g_source_add_unix_fd(source, sd_bus_get_fd(bus), s->events);
        g_source_set_name(source, "sd-bus");
        /* GLib blocks a source that cannot recurse while it dispatches:
         * its fd leaves the poll set and comes back, and each of the two
         * wakes the loop for a turn that does nothing. Nothing here runs
         * the loop from inside a dispatch. */
        g_source_set_can_recurse(source, TRUE);
        return source;
}
