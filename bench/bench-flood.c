/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fair dispatch: one client floods devpassd with GetManagedObjects (a few
 * always in flight, from a thread of its own) while the test, another
 * client, waits for the PropertiesChanged a driver change sends. The
 * figure is that signal's latency under the flood (target: at most 2x its
 * floor). The floor is the same latency while the same client floods the
 * bare sd-bus service with the same calls instead: the bus, the CPUs and
 * the clients do the same work, only devpassd is left alone; on 2 CPUs the
 * flood's load alone slows every process. The quiet latency is printed
 * too. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"
#include "harness.h"

/* The GPU server's functions, as objects of the bare service. */
#define FLOOD_DEVICES 22
#define FLOOD_IN_FLIGHT 8
#define FLOOD_RUNS 21

typedef struct {
        const char *destination;
        gint stop;
        guint in_flight;         /* the flood thread's own */
        gint answered;           /* read by the main thread too */
        sd_bus *bus;
} Flood;

static int on_flood_reply(sd_bus_message *m, void *userdata, sd_bus_error *error);

static void flood_send(Flood *f) {
        int r = sd_bus_call_method_async(f->bus, NULL, f->destination,
                                         g_str_equal(f->destination, "org.devpass1") ? "/org/devpass1" : "/",
                                         "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", on_flood_reply,
                                         f, NULL);
        g_assert_cmpint(r, >=, 0);
        f->in_flight++;
}

static int on_flood_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Flood *f = userdata;

        f->in_flight--;
        g_atomic_int_inc(&f->answered);
        if (!g_atomic_int_get(&f->stop))
                flood_send(f);
        return 0;
}

static gpointer flood_run(gpointer data) {
        Flood *f = data;

        /* A connection of its own: the private bus is DBUS_SYSTEM_BUS_ADDRESS. */
        g_assert_cmpint(sd_bus_open_system(&f->bus), >=, 0);
        for (int i = 0; i < FLOOD_IN_FLIGHT; i++)
                flood_send(f);
        while (f->in_flight > 0) {
                int r = sd_bus_process(f->bus, NULL);
                g_assert_cmpint(r, >=, 0);
                if (r == 0)
                        g_assert_cmpint(sd_bus_wait(f->bus, 100000), >=, 0);
        }
        sd_bus_flush_close_unref(f->bus);
        return NULL;
}

typedef struct {
        const char *path;
} Changed;

static bool driver_changed(Harness *h, void *data) {
        return harness_count_signals(h, "~", ((Changed *) data)->path) > 0;
}

/* From a driver change in the testbed to PropertiesChanged at this client. */
static double signal_ms(Harness *h, const char *address, const char *path, const char *driver, bool bind) {
        Changed c = { path };

        harness_clear_signals(h);
        double t0 = now_ms();
        if (bind)
                testbed_bind(h->testbed, address, driver);
        else
                testbed_unbind(h->testbed, address);
        if (!harness_wait(h, driver_changed, &c, 30000))
                g_error("no PropertiesChanged of %s", path);
        return now_ms() - t0;
}

static double latency_ms(Harness *h, const char *address, const char *path, const char *driver) {
        double v[FLOOD_RUNS];

        for (int i = 0; i < FLOOD_RUNS; i++) {
                v[i] = signal_ms(h, address, path, driver, false);
                (void) signal_ms(h, address, path, driver, true);
        }
        return median(v, FLOOD_RUNS);
}

/* The latency while a thread floods destination; *rate: its calls a second. */
static double flooded_ms(Harness *h, const char *destination, const char *address, const char *object,
                         const char *driver, double *rate) {
        Flood f = { .destination = destination };
        GThread *flood = g_thread_new("flood", flood_run, &f);

        /* Flooding for real before the first change. */
        while (g_atomic_int_get(&f.answered) < 2 * FLOOD_IN_FLIGHT)
                g_thread_yield();
        gint before = g_atomic_int_get(&f.answered);
        double t0 = now_ms();
        double latency = latency_ms(h, address, object, driver);
        double seconds = (now_ms() - t0) / 1000;
        if (rate)
                *rate = (g_atomic_int_get(&f.answered) - before) / seconds;
        g_atomic_int_set(&f.stop, 1);
        g_thread_join(flood);
        return latency;
}

void bench_flood(void) {
        g_autoptr(Harness) h = harness_new("gpu-server.umockdev", NULL);
        /* A bound function of the node, and its driver. */
        g_autoptr(GVariant) objects = harness_managed_objects(h);
        g_autofree char *address = NULL, *driver = NULL;
        GVariantIter it;
        const char *path;
        GVariant *interfaces;
        g_variant_iter_init(&it, objects);
        while (!address && g_variant_iter_loop(&it, "{&o@a{sa{sv}}}", &path, &interfaces)) {
                g_autoptr(GVariant) props = g_variant_lookup_value(interfaces, "org.devpass1.Device", NULL);
                const char *drv, *addr;
                if (props && g_variant_lookup(props, "Driver", "&s", &drv) && *drv &&
                    g_variant_lookup(props, "Address", "&s", &addr)) {
                        address = g_strdup(addr);
                        driver = g_strdup(drv);
                }
        }
        g_assert_nonnull(address);
        g_autofree char *object = g_strdup_printf("/org/devpass1/devices/%s", address);
        g_strdelimit(object + strlen("/org/devpass1/devices/"), ":.", '_');

        double quiet = latency_ms(h, address, object, driver);
        GPid bare = bench_bare_start(h, FLOOD_DEVICES, NULL);
        double floor = flooded_ms(h, "org.devpass1.Bare", address, object, driver, NULL);
        bench_bare_stop(bare);
        double rate;
        double flooded = flooded_ms(h, "org.devpass1", address, object, driver, &rate);

        printf("\nfair dispatch: a driver change's PropertiesChanged at one client while another floods "
               "GetManagedObjects (%d in flight), GPU server\n", FLOOD_IN_FLIGHT);
        printf("  %-34s %9.3f ms\n", "quiet", quiet);
        printf("  %-34s %9.3f ms\n", "the bare service flooded (floor)", floor);
        printf("  %-34s %9.3f ms   %.2fx   target <= 2x  %s\n", "devpassd flooded", flooded, flooded / floor,
               flooded / floor <= 2.0 ? "met" : "MISSED");
        printf("  %-34s %9.2fx\n", "devpassd flooded / quiet", flooded / quiet);
        printf("  %-34s %9.0f /s\n", "flood served meanwhile", rate);
        harness_daemon_stop(h);
}
