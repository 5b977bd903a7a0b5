/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A boot storm: 500 machines with one attachment each claim at once on a
 * node of 4,096 functions.
 *
 * Set-up: a generated node (tests/nodegen.c) under the umockdev preload,
 * the private bus, the real polkitd (the caller is root), and a fake
 * kernel with vfio-pci loaded (tests/fakekernel.c), so that
 * MakePassthrough binds for real: 500 SR-IOV VFs of the node's X710s (each
 * in an IOMMU group of its own: CheckPassthrough finds nothing) go through
 * into one sriov-nic group, in batches, the way devpassctl pass does it
 * (MakePassthrough makes one rule per batch, naming its VFs). Then
 * CreateAttachments of 500 machines in one call, one VF each.
 *
 * Measured: all 500 Claims sent at once from several client connections,
 * to the last reply (claims per second); then those that failed sent again,
 * all at once, round after round, until every machine holds its device
 * (the time to that: what a VM manager that retries sees); devpassd's
 * resident memory after it; the Releases the same way; and one Claim at a
 * time on a quiet node (each machine released
 * before the next claims, untimed) against the floor: the bare service's
 * Claim (bare-service.c), i.e. a round trip, the same polkit check
 * (org.devpass1.claim with the group, the machine and the node) and one
 * durable SQLite transaction (WAL, synchronous=FULL, as the store) of the
 * same rows (the machine's claims row, its attachment's update) on a copy
 * of devpassd's own database, in the same kind of state directory, in
 * turn with the claims. Both on tmpfs and on a disk
 * (DEVPASS_BENCH_DISK_DIR), devpassd's state copied there between the two.
 *
 * Where the time goes (no floors): polkit's CheckAuthorization of
 * org.devpass1.claim alone, that transaction alone in this process,
 * devpassd's CPU time per claim, and, in this
 * process with the real model on a copy of devpassd's store, model_claim()
 * and model_refresh() alone, with the group's rules as MakePassthrough made
 * them (one per batch) and folded into one. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "bench.h"
#include "claim-floor.h"
#include "coalesce.h"
#include "fakekernel.h"
#include "harness.h"
#include "inventory.h"
#include "model.h"
#include "names.h"
#include "nodegen.h"
#include "service.h"
#include "store.h"

#define STORM_FUNCTIONS 4096
#define MACHINES FLOOR_MACHINES
#define BATCH 100
#define CONNECTIONS 10
/* The quiet claims: each takes a claim and a release of devpassd. */
#define QUIET_CALLS 100
#define QUIET_WARMUP 10
#define MANAGER "org.devpass1.Manager"
#define LONG_USEC (600ull * 1000 * 1000)

static char *dev_path(const char *address) {
        char *p = g_strdup_printf("/org/devpass1/devices/%s", address);
        g_strdelimit(p + strlen("/org/devpass1/devices/"), ":.", '_');
        return p;
}

static void drain(Harness *h) {
        while (sd_bus_process(h->bus, NULL) > 0)
                ;
        harness_clear_signals(h);
}

/* The first n SR-IOV VFs of the node, by address. */
static GPtrArray *pick_vfs(Harness *h, unsigned n) {
        g_autofree char *dir = g_build_filename(testbed_sys_dir(h->testbed), "bus", "pci", "devices", NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        GPtrArray *all = g_ptr_array_new_with_free_func(g_free);
        const char *name;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                g_autofree char *physfn = g_build_filename(dir, name, "physfn", NULL);
                if (g_file_test(physfn, G_FILE_TEST_EXISTS))
                        g_ptr_array_add(all, g_strdup(name));
        }
        g_ptr_array_sort(all, (GCompareFunc) g_ascii_strcasecmp);
        g_assert_cmpuint(all->len, >=, n);
        printf("  the node has %u VFs; the first %u by address go through\n", all->len, n);
        g_ptr_array_set_size(all, n);
        return all;
}

static void append_paths(sd_bus_message *m, GPtrArray *addresses, guint from, guint to) {
        g_assert_cmpint(sd_bus_message_open_container(m, 'a', "o"), >=, 0);
        for (guint i = from; i < to; i++) {
                g_autofree char *p = dev_path(addresses->pdata[i]);
                g_assert_cmpint(sd_bus_message_append_basic(m, 'o', p), >=, 0);
        }
        g_assert_cmpint(sd_bus_message_close_container(m), >=, 0);
}

/* A client connection, authenticated and named: sd-bus finishes the
 * handshake only when the connection is next used, and the bus drops one
 * that has not finished it within its auth_timeout. */
static sd_bus *bus_open(void) {
        sd_bus *bus = NULL;
        const char *unique;

        g_assert_cmpint(sd_bus_open_system(&bus), >=, 0);
        g_assert_cmpint(sd_bus_get_unique_name(bus, &unique), >=, 0);
        return bus;
}

static sd_bus_message *call(sd_bus *bus, sd_bus_message *m) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        if (sd_bus_call(bus, m, LONG_USEC, &error, &reply) < 0)
                g_error("%s: %s", sd_bus_message_get_member(m), error.message);
        sd_bus_message_unref(m);
        return reply;
}

static sd_bus_message *new_call(sd_bus *bus, const char *method) {
        sd_bus_message *m = NULL;
        g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, "org.devpass1", "/org/devpass1", MANAGER, method),
                        >=, 0);
        return m;
}

static unsigned group_free(sd_bus *bus, const char *group) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        uint32_t n = 0;
        if (sd_bus_get_property_trivial(bus, "org.devpass1", group, "org.devpass1.Group", "Free", &error, 'u', &n) < 0)
                g_error("Free of %s: %s", group, error.message);
        return n;
}

/* CheckPassthrough, then MakePassthrough in batches; returns the group. */
static char *pass_through(Harness *h, sd_bus *bus, GPtrArray *vfs) {
        sd_bus_message *m = new_call(bus, "CheckPassthrough");
        append_paths(m, vfs, 0, vfs->len);
        sd_bus_message *reply = call(bus, m);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "(ssss)"), >=, 0);
        unsigned findings = 0;
        while (sd_bus_message_skip(reply, "(ssss)") > 0)
                findings++;
        sd_bus_message_unref(reply);
        printf("  CheckPassthrough of the %u: %u findings\n", vfs->len, findings);
        g_assert_cmpuint(findings, ==, 0);

        char *group = NULL;
        double t0 = now_ms();
        for (guint from = 0; from < vfs->len; from += BATCH) {
                guint to = MIN(from + BATCH, vfs->len);
                m = new_call(bus, "MakePassthrough");
                append_paths(m, vfs, from, to);
                if (!group)
                        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 3, "Name", "s", "storm", "Type", "s",
                                                              "sriov-nic", "Class", "s", "nic"), >=, 0);
                else
                        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, "Group", "o", group), >=, 0);
                reply = call(bus, m);
                const char *path;
                int reboot;
                g_assert_cmpint(sd_bus_message_read(reply, "ob", &path, &reboot), >=, 0);
                g_assert_false(reboot);
                if (!group)
                        group = g_strdup(path);
                sd_bus_message_unref(reply);
                /* Free once the inventory has seen the drivers change. */
                for (int i = 0; i < 3000 && group_free(bus, group) != to; i++)
                        g_usleep(10000);
                g_assert_cmpuint(group_free(bus, group), ==, to);
                drain(h);
        }
        double ms = now_ms() - t0;
        printf("  MakePassthrough of %u VFs in batches of %u, to Free: %.0f ms (%.1f ms per device, through the "
               "fake kernel)\n", vfs->len, BATCH, ms, ms / vfs->len);
        return group;
}

static void create_attachments(Harness *h, sd_bus *bus, const char *group) {
        sd_bus_message *m = new_call(bus, "CreateAttachments");

        g_assert_cmpint(sd_bus_message_open_container(m, 'a', "(sa{sv})"), >=, 0);
        for (unsigned i = 0; i < MACHINES; i++) {
                g_autofree char *machine = floor_machine_name(i);
                g_assert_cmpint(sd_bus_message_append(m, "(sa{sv})", machine, 2, "Group", "o", group, "Count", "u",
                                                      1u), >=, 0);
        }
        g_assert_cmpint(sd_bus_message_close_container(m), >=, 0);
        double t0 = now_ms();
        sd_bus_message_unref(call(bus, m));
        printf("  CreateAttachments of %u machines, one call: %.1f ms\n", MACHINES, now_ms() - t0);
        drain(h);
}

/* ---- many calls at once ---- */

typedef struct Storm Storm;

typedef struct {
        Storm *storm;
        unsigned machine;
        double ms;                /* from the first send to this reply */
        char *error;              /* NULL: success */
        char *address;            /* Claim: the device it got */
} Reply;

struct Storm {
        sd_event *event;
        sd_bus *c[CONNECTIONS];
        double t0;
        unsigned pending;
        Reply replies[MACHINES];
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Reply *r = userdata;
        Storm *s = r->storm;

        r->ms = now_ms() - s->t0;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        if (e)
                r->error = g_strdup_printf("%s: %s", e->name, e->message);
        else if (sd_bus_message_has_signature(m, "a(osa(siss))")) {
                /* A Claim's reply: one entry of one device. */
                const char *address;
                g_assert_cmpint(sd_bus_message_enter_container(m, 'a', "(osa(siss))"), >, 0);
                g_assert_cmpint(sd_bus_message_enter_container(m, 'r', "osa(siss)"), >, 0);
                g_assert_cmpint(sd_bus_message_skip(m, "os"), >=, 0);
                g_assert_cmpint(sd_bus_message_enter_container(m, 'a', "(siss)"), >, 0);
                if (sd_bus_message_read(m, "(siss)", &address, NULL, NULL, NULL) > 0)
                        r->address = g_strdup(address);
        }
        s->pending--;
        return 0;
}

static Storm *storm_new(void) {
        Storm *s = g_new0(Storm, 1);

        g_assert_cmpint(sd_event_new(&s->event), >=, 0);
        for (int k = 0; k < CONNECTIONS; k++) {
                s->c[k] = bus_open();
                g_assert_cmpint(sd_bus_attach_event(s->c[k], s->event, 0), >=, 0);
        }
        return s;
}

static void storm_free(Storm *s) {
        for (int k = 0; k < CONNECTIONS; k++)
                sd_bus_flush_close_unref(s->c[k]);
        sd_event_unref(s->event);
        for (unsigned i = 0; i < MACHINES; i++) {
                g_free(s->replies[i].error);
                g_free(s->replies[i].address);
        }
        g_free(s);
}

/* The machines in want (NULL: all) call method (Claim or Release) at once,
 * round robin over the connections; returns the wall time from the first
 * send to the last reply, ms. Replies of the others stay as they were. */
static double storm_run(Storm *s, const char *method, const bool *want) {
        unsigned sent = 0;

        s->t0 = now_ms();
        for (unsigned i = 0; i < MACHINES; i++) {
                if (want && !want[i])
                        continue;
                g_clear_pointer(&s->replies[i].error, g_free);
                g_clear_pointer(&s->replies[i].address, g_free);
                s->replies[i] = (Reply) { .storm = s, .machine = i };
                sd_bus *bus = s->c[sent++ % CONNECTIONS];
                g_autofree char *machine = floor_machine_name(i);
                sd_bus_message *m = NULL;
                g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, "org.devpass1", "/org/devpass1", MANAGER,
                                                               method), >=, 0);
                if (g_str_equal(method, "Claim"))
                        g_assert_cmpint(sd_bus_message_append(m, "sa{sv}", machine, 0), >=, 0);
                else
                        g_assert_cmpint(sd_bus_message_append(m, "s", machine), >=, 0);
                g_assert_cmpint(sd_bus_call_async(bus, NULL, m, on_reply, &s->replies[i], LONG_USEC), >=, 0);
                sd_bus_message_unref(m);
        }
        s->pending = sent;
        while (s->pending > 0)
                g_assert_cmpint(sd_event_run(s->event, UINT64_MAX), >=, 0);
        double last = 0;
        for (unsigned i = 0; i < MACHINES; i++)
                if (!want || want[i])
                        last = MAX(last, s->replies[i].ms);
        return last;
}

/* Prints one round's outcome; want[i] becomes whether machine i failed.
 * Returns how many succeeded. */
static unsigned storm_report(Storm *s, const char *what, double wall, bool *want, bool details) {
        g_autoptr(GHashTable) errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GHashTable) addresses = g_hash_table_new(g_str_hash, g_str_equal);
        double ok_ms[MACHINES];
        unsigned ok = 0, asked = 0;

        for (unsigned i = 0; i < MACHINES; i++) {
                Reply *r = &s->replies[i];
                if (!want[i])
                        continue;
                asked++;
                if (r->error) {
                        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(errors, r->error));
                        g_hash_table_replace(errors, g_strdup(r->error), GUINT_TO_POINTER(n + 1));
                        continue;
                }
                want[i] = false;
                ok_ms[ok++] = r->ms;
                if (r->address)
                        g_hash_table_add(addresses, r->address);
        }
        printf("  %-44s %9.1f ms to the last reply: %u of %u succeeded, %.1f per second\n", what, wall, ok, asked,
               ok / (wall / 1000));
        if (details && ok > 0) {
                double first = ok_ms[0];
                for (unsigned i = 1; i < ok; i++)
                        first = MIN(first, ok_ms[i]);
                printf("  %-44s first %.1f ms, median %.1f ms, p90 %.1f ms after the first send\n",
                       "    the successful replies:", first, median(ok_ms, ok), percentile(ok_ms, ok, 0.9));
        }
        if (g_hash_table_size(addresses) > 0 && g_hash_table_size(addresses) != ok)
                printf("  !! %u successful claims got only %u distinct devices\n", ok, g_hash_table_size(addresses));
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, errors);
        while (details && g_hash_table_iter_next(&it, &key, &value))
                printf("    %u failed: %s\n", GPOINTER_TO_UINT(value), (char *) key);
        return ok;
}

/* What devpassd logged since offset *seen about polkit, in short (print:
 * or only move *seen on). */
static void daemon_log_polkit(Harness *h, gsize *seen, bool print) {
        g_autofree char *log = harness_daemon_log(h);
        gsize len = strlen(log);
        g_auto(GStrv) lines = g_strsplit(log + MIN(*seen, len), "\n", -1);
        g_autoptr(GHashTable) distinct = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        *seen = len;
        for (char **l = lines; *l; l++) {
                const char *p = strstr(*l, "polkit check of");
                if (!p)
                        continue;
                guint n = GPOINTER_TO_UINT(g_hash_table_lookup(distinct, p));
                g_hash_table_replace(distinct, g_strdup(p), GUINT_TO_POINTER(n + 1));
        }
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, distinct);
        while (print && g_hash_table_iter_next(&it, &key, &value))
                printf("    devpassd logged %u times: %s\n", GPOINTER_TO_UINT(value), (char *) key);
}

/* All machines call method at once; then the failed ones again, all at
 * once, round after round (as a VM manager that retries would), until
 * every one has succeeded. Returns the wall time from the first send to
 * the last success; *first_ok: how many the first round got through. */
static double storm_rounds(Harness *h, Storm *s, const char *method, const char *where, gsize *log_seen,
                           unsigned *first_ok, unsigned *rounds) {
        bool want[MACHINES];
        double total = 0;
        unsigned left = MACHINES;

        for (unsigned i = 0; i < MACHINES; i++)
                want[i] = true;
        for (*rounds = 1; left > 0; (*rounds)++) {
                if (*rounds > 50)
                        g_error("%s: %u machines still failing after 50 rounds", method, left);
                double wall = storm_run(s, method, want);
                total += wall;
                g_autofree char *what = *rounds == 1 ? g_strdup_printf("%u %ss at once, state on %s:", MACHINES,
                                                                       method, where)
                                                     : g_strdup_printf("    round %u, the %u that failed again:",
                                                                       *rounds, left);
                unsigned ok = storm_report(s, what, wall, want, *rounds == 1);
                if (*rounds == 1)
                        *first_ok = ok;
                daemon_log_polkit(h, log_seen, *rounds == 1);
                left -= ok;
                drain(h);
        }
        (*rounds)--;
        return total;
}
/* ---- one claim at a time ---- */

typedef struct {
        double claim[QUIET_CALLS], floor[QUIET_CALLS], tx[QUIET_CALLS], polkit[QUIET_CALLS], cpu[QUIET_CALLS];
} Quiet;

static double claim_once(sd_bus *bus, unsigned i, char **address) {
        g_autofree char *machine = floor_machine_name(i);
        sd_bus_message *m = new_call(bus, "Claim");
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        g_assert_cmpint(sd_bus_message_append(m, "sa{sv}", machine, 0), >=, 0);
        double t0 = now_ms();
        int r = sd_bus_call(bus, m, LONG_USEC, &error, &reply);
        double ms = now_ms() - t0;
        if (r < 0)
                g_error("Claim %s: %s", machine, error.message);
        const char *a;
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "(osa(siss))"), >, 0);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'r', "osa(siss)"), >, 0);
        g_assert_cmpint(sd_bus_message_skip(reply, "os"), >=, 0);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "(siss)"), >, 0);
        g_assert_cmpint(sd_bus_message_read(reply, "(siss)", &a, NULL, NULL, NULL), >, 0);
        *address = g_strdup(a);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        return ms;
}

static double release_once(sd_bus *bus, unsigned i) {
        g_autofree char *machine = floor_machine_name(i);
        sd_bus_message *m = new_call(bus, "Release");
        g_assert_cmpint(sd_bus_message_append(m, "s", machine), >=, 0);
        double t0 = now_ms();
        sd_bus_message_unref(call(bus, m));
        return now_ms() - t0;
}

/* The floor: the bare service's Claim of address for machine i (on the
 * floor's database), then its Release, untimed. */
static double bare_claim_once(sd_bus *bus, Floor *f, unsigned i, const char *address, int32_t iommu_group) {
        g_autofree char *machine = floor_machine_name(i);
        g_autofree char *attachment = g_strdup_printf("/org/devpass1/attachments/%" G_GINT64_FORMAT,
                                                      f->attachment[i]);
        sd_bus_message *m = NULL;

        g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, "org.devpass1.Bare", "/manager",
                                                       "org.devpass1.Bare.Manager", "Claim"), >=, 0);
        g_assert_cmpint(sd_bus_message_append(m, "ssosxsis", machine, "storm", attachment, f->name[i],
                                              f->attachment[i], address, iommu_group, f->mac[i]), >=, 0);
        double t0 = now_ms();
        sd_bus_message *reply = call(bus, m);
        double ms = now_ms() - t0;
        sd_bus_message_unref(reply);
        g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, "org.devpass1.Bare", "/manager",
                                                       "org.devpass1.Bare.Manager", "Release"), >=, 0);
        g_assert_cmpint(sd_bus_message_append(m, "s", machine), >=, 0);
        sd_bus_message_unref(call(bus, m));
        return ms;
}

/* A CheckAuthorization of org.devpass1.claim from this connection for itself. */
static double polkit_once(sd_bus *bus, unsigned i) {
        g_autofree char *machine = floor_machine_name(i);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *me;

        g_assert_cmpint(sd_bus_get_unique_name(bus, &me), >=, 0);
        double t0 = now_ms();
        int r = sd_bus_call_method(bus, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                                   "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", &error, &reply,
                                   "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", me, "org.devpass1.claim", 2,
                                   "machine", machine, "node", "testnode", 0u, "");
        double ms = now_ms() - t0;
        if (r < 0)
                g_error("CheckAuthorization: %s", error.message);
        sd_bus_message_unref(reply);
        return ms;
}

/* Claim, release, the floor (the bare service's Claim), the transaction
 * alone and polkit alone in turn, each first in its turn; the machines
 * one after another. */
static void quiet_run(Harness *h, sd_bus *bus, Floor *f, const char *address0, Quiet *q, double *release_ms) {
        static double releases[QUIET_WARMUP + QUIET_CALLS];
        g_autofree char *claim_db = g_strdup_printf("--db=%s", f->path);
        GPid bare = bench_bare_start(h, 1, (const char *const[]) { "--manager", claim_db, NULL });
        g_autofree char *device = dev_path(address0);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int32_t iommu_group = -1;

        if (sd_bus_get_property_trivial(bus, "org.devpass1", device, "org.devpass1.Device", "IommuGroup", &error,
                                        'i', &iommu_group) < 0)
                g_error("IommuGroup of %s: %s", address0, error.message);
        for (int i = -QUIET_WARMUP; i < QUIET_CALLS; i++) {
                unsigned machine = (unsigned) (i + QUIET_WARMUP) % MACHINES;
                g_autofree char *address = NULL;
                double claim = 0, fl = 0, tx = 0, pk = 0, cpu = 0;
                for (int k = 0; k < 4; k++)
                        switch ((k + i + QUIET_WARMUP) % 4) {
                        case 0: {
                                double c0 = process_cpu_ms(h->daemon_pid);
                                claim = claim_once(bus, machine, &address);
                                cpu = process_cpu_ms(h->daemon_pid) - c0;
                                releases[i + QUIET_WARMUP] = release_once(bus, machine);
                                break;
                        }
                        case 1:
                                /* The same rows: devpassd gives the lowest free address. */
                                fl = bare_claim_once(bus, f, machine, address0, iommu_group);
                                break;
                        case 2:
                                tx = floor_claim(f, machine, address0);
                                break;
                        default:
                                pk = polkit_once(bus, machine);
                                break;
                        }
                if (i >= 0)
                        q->claim[i] = claim, q->floor[i] = fl, q->tx[i] = tx, q->polkit[i] = pk, q->cpu[i] = cpu;
        }
        *release_ms = median(releases, QUIET_WARMUP + QUIET_CALLS);
        bench_bare_stop(bare);
        drain(h);
}

static void quiet_report(const char *where, Quiet *q, double release_ms) {
        double cm = median(q->claim, QUIET_CALLS), cp = percentile(q->claim, QUIET_CALLS, 0.9);
        double fm = median(q->floor, QUIET_CALLS), fp = percentile(q->floor, QUIET_CALLS, 0.9);
        g_autofree char *m_what = g_strdup_printf("one Claim, state on %s: median", where);
        g_autofree char *p_what = g_strdup_printf("one Claim, state on %s: p90", where);

        printf("  %-44s %8.3f ms   floor %7.3f ms (bare Claim: polkit + durable tx)   ratio %6.2f   "
               "target <= 1.3  %s\n", m_what, cm, fm, cm / fm, cm / fm <= 1.3 ? "met" : "MISSED");
        printf("  %-44s %8.3f ms   floor %7.3f ms   ratio %6.2f\n", p_what, cp, fp, cp / fp);
        printf("  %-44s %8.3f ms   p90 %7.3f ms\n", "    polkit CheckAuthorization alone: median",
               median(q->polkit, QUIET_CALLS), percentile(q->polkit, QUIET_CALLS, 0.9));
        printf("  %-44s %8.3f ms   p90 %7.3f ms   (in this process)\n", "    the claim's SQLite tx alone: median",
               median(q->tx, QUIET_CALLS), percentile(q->tx, QUIET_CALLS, 0.9));
        printf("  %-44s %8.3f ms   (all threads; median)\n", "    devpassd CPU time per Claim",
               median(q->cpu, QUIET_CALLS));
        printf("  %-44s %8.3f ms   (median, untimed in the above)\n", "    one Release", release_ms);
}

/* ---- in this process: the real model on a copy of devpassd's store ---- */

static Inventory *inventory_read(const char *sys_dir, Names *names) {
        Inventory *inv = inventory_new(sys_dir, names);
        g_autoptr(Coalescer) queue = coalescer_new();

        inventory_queue_all(inv, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        inventory_changes_free(inventory_apply(inv, entries));
        return inv;
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
        g_autofree char *from = g_build_filename(from_dir, name, NULL);
        g_autofree char *to = g_build_filename(to_dir, name, NULL);
        g_autofree char *data = NULL;
        gsize len;

        if (!g_file_get_contents(from, &data, &len, NULL))
                return;
        g_autoptr(GError) error = NULL;
        g_assert_true(g_file_set_contents_full(to, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
}

/* devpassd stopped: its database is whole in devpass.db. */
static void copy_state(const char *from, const char *to) {
        g_assert_cmpint(g_mkdir_with_parents(to, 0700), ==, 0);
        copy_file(from, to, "devpass.db");
}

/* The group's rules (one per batch, as MakePassthrough made them, each
 * naming its VFs) folded into one: its first rule without its address
 * condition, which matches every VF of the node (the passthrough intent
 * still says which 500 are the group's to give out). */
static void rules_fold(const char *state_copy) {
        g_autofree char *path = g_build_filename(state_copy, "devpass.db", NULL);
        sqlite3 *db = NULL;

        sql_ok(NULL, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), path);
        sql_exec(db, "PRAGMA foreign_keys = ON");
        sql_exec(db, "BEGIN; DELETE FROM rules WHERE id <> (SELECT MIN(id) FROM rules); "
                     "DELETE FROM conditions WHERE rule_id NOT IN (SELECT id FROM rules) OR field = 'address'; "
                     "COMMIT");
        sqlite3_close(db);
}

static void in_process(Harness *h, Names *names, const char *state_copy) {
        g_autoptr(GError) error = NULL;
        g_autoptr(Inventory) inv = inventory_read(testbed_sys_dir(h->testbed), names);
        g_autoptr(Store) store = store_open(state_copy, &error);
        g_assert_no_error(error);
        g_autoptr(Model) m = model_new(store, inv, "testnode", &DP_MODEL_PATHS, &error);
        g_assert_no_error(error);
        enum { N = 21 };
        double claim[N], release[N], refresh[N];

        for (int i = -2; i < N; i++) {
                g_autofree char *machine = floor_machine_name((unsigned) (i + 2));
                double t0 = now_ms();
                GPtrArray *claimed = model_claim(m, machine, NULL, -1, "", &error);
                double c = now_ms() - t0;
                g_assert_no_error(error);
                g_assert_nonnull(claimed);
                g_assert_cmpuint(claimed->len, ==, 1);
                g_assert_cmpuint(((ModelClaimed *) claimed->pdata[0])->devices->len, ==, 1);
                g_ptr_array_unref(claimed);
                model_changes_free(model_take_changes(m));
                t0 = now_ms();
                model_refresh(m);
                double r = now_ms() - t0;
                model_changes_free(model_take_changes(m));
                t0 = now_ms();
                g_assert_true(model_release(m, machine, &error));
                double rel = now_ms() - t0;
                model_changes_free(model_take_changes(m));
                if (i >= 0)
                        claim[i] = c, release[i] = rel, refresh[i] = r;
        }
        g_auto(GStrv) rules = model_rule_paths(m);
        guint n = g_strv_length(rules);
        g_autofree char *what = g_strdup_printf("    %u rule%s: model_claim() of one machine", n, n == 1 ? "" : "s");
        printf("  %-44s %8.3f ms   (model_refresh() alone %.3f ms, model_release() %.3f ms; medians)\n", what,
               median(claim, N), median(refresh, N), median(release, N));
}

/* ---- the section ---- */

/* The /proc tables the safety guard reads, beside the testbed's sys/ (the
 * daemon's --root): a host with no routes, mounts or swap, as when they are
 * missing. Missing, every read is an open() that fails, and with the
 * testbed under /dev/shm umockdev's preload (0.17) keeps a slot of its
 * 50-entry table of /dev/ descriptors for each failed open of a path under
 * /dev/, never freed: a few CheckPassthrough and MakePassthrough calls and
 * devpassd aborts ("fd_map_add(): overflow"). */
void bench_proc_tables_write(Harness *h) {
        g_autofree char *root = g_path_get_dirname(testbed_sys_dir(h->testbed));
        static const char *const tables[][2] = {
                { "proc/net/route",
                  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" },
                { "proc/net/if_inet6", "" },
                { "proc/net/ipv6_route", "" },
                { "proc/self/mountinfo", "" },
                { "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++) {
                g_autofree char *path = g_build_filename(root, tables[i][0], NULL);
                g_autofree char *dir = g_path_get_dirname(path);
                g_autoptr(GError) error = NULL;
                g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
                g_assert_true(g_file_set_contents(path, tables[i][1], -1, &error));
        }
}

static void storm_phase(Harness *h, const char *where, bool memory, gsize *log_seen) {
        Storm *s = storm_new();
        unsigned first_ok, rounds;

        double cpu0 = process_cpu_ms(h->daemon_pid);
        double total = storm_rounds(h, s, "Claim", where, log_seen, &first_ok, &rounds);
        double cpu = process_cpu_ms(h->daemon_pid) - cpu0;
        printf("  %-44s %9.1f ms in %u rounds: %.1f claims per second; devpassd CPU %.0f ms (%.1f ms per claim)\n",
               "  all claimed, the failed retried:", total, rounds, MACHINES / (total / 1000), cpu, cpu / MACHINES);
        if (memory)
                printf("  %-44s %6ld KiB now, %ld KiB peak\n", "devpassd resident memory after the storm",
                       status_kib(h->daemon_pid, "VmRSS:"), status_kib(h->daemon_pid, "VmHWM:"));
        total = storm_rounds(h, s, "Release", where, log_seen, &first_ok, &rounds);
        printf("  %-44s %9.1f ms in %u rounds: %.1f releases per second\n", "  all released, the failed retried:",
               total, rounds, MACHINES / (total / 1000));
        storm_free(s);
}

void bench_boot_storm(void) {
        g_autoptr(Harness) h = harness_prepare(NULL);
        const char *disk_parent = g_getenv("DEVPASS_BENCH_DISK_DIR") ?: "/var/tmp";
        g_autofree char *disk_tmpl = g_build_filename(disk_parent, "devpass-bench-XXXXXX", NULL);
        char *disk = g_mkdtemp(disk_tmpl);
        g_autofree char *disk_state = g_build_filename(disk, "state", NULL);
        g_autofree char *disk_floor = g_build_filename(disk, "floor", NULL);
        g_autofree char *tmpfs_floor = g_build_filename(h->tmpdir, "floor", NULL);
        g_autofree char *model_copy = g_build_filename(h->tmpdir, "model-copy", NULL);
        g_autofree char *state = harness_state_dir(h);
        sd_bus *bus = NULL;
        Quiet on_tmpfs, on_disk;
        double release_tmpfs, release_disk;
        gsize log_seen = 0;

        g_assert_nonnull(disk);
        double t0 = now_ms();
        nodegen_write(testbed_sys_dir(h->testbed), STORM_FUNCTIONS);
        printf("\nboot storm: %u machines with one attachment each claim at once, a node of %u functions\n"
               "(generated in %.0f ms), the real polkitd, caller root, a fake kernel with vfio-pci\n",
               MACHINES, STORM_FUNCTIONS, now_ms() - t0);
        bench_proc_tables_write(h);
        harness_polkit_start(h, NULL);
        t0 = now_ms();
        harness_daemon_start(h, NULL);
        printf("  devpassd started in %.0f ms\n", now_ms() - t0);
        bus = bus_open();

        /* The fake kernel only while devices are bound: a child forked
         * while its thread holds a lock of umockdev's preload (every file
         * call takes one) hangs before it execs, so devpassd is never
         * started while it runs. */
        FakeKernel *fk = fakekernel_new(h->testbed);
        fakekernel_load_vfio(fk, true);
        g_autoptr(GPtrArray) vfs = pick_vfs(h, MACHINES);
        g_autofree char *group = pass_through(h, bus, vfs);
        fakekernel_free(fk);
        create_attachments(h, bus, group);

        storm_phase(h, "tmpfs", true, &log_seen);
        Floor *f = floor_new(state, tmpfs_floor);
        quiet_run(h, bus, f, vfs->pdata[0], &on_tmpfs, &release_tmpfs);
        floor_free(f);

        /* The same state on a disk. */
        harness_daemon_stop(h);
        copy_state(state, disk_state);
        copy_state(state, model_copy);
        harness_daemon_start(h, (const char *const[]) { "--state-dir", disk_state, NULL });
        sd_bus_flush_close_unref(bus);
        bus = bus_open();
        storm_phase(h, "disk", false, &log_seen);
        f = floor_new(disk_state, disk_floor);
        quiet_run(h, bus, f, vfs->pdata[0], &on_disk, &release_disk);
        floor_free(f);
        harness_daemon_stop(h);

        g_autofree char *tmpfs_where = g_strdup_printf("tmpfs (%s)", g_get_tmp_dir());
        g_autofree char *disk_where = g_strdup_printf("disk (%s)", disk_parent);
        printf("  one machine at a time on the quiet node (%d claims each after %d warm-up, released in between;\n"
               "  the floor on a copy of devpassd's database in the same kind of directory, in turn):\n",
               QUIET_CALLS, QUIET_WARMUP);
        quiet_report(tmpfs_where, &on_tmpfs, release_tmpfs);
        quiet_report(disk_where, &on_disk, release_disk);

        g_autoptr(Names) names = names_new(harness_path("DEVPASS_PCI_IDS"));
        printf("  in this process, the real model on a copy of devpassd's store (tmpfs), %u devices:\n",
               STORM_FUNCTIONS);
        in_process(h, names, model_copy);
        /* The same with the group's rules folded into one. */
        remove_dir(model_copy);
        copy_state(state, model_copy);
        rules_fold(model_copy);
        in_process(h, names, model_copy);

        sd_bus_flush_close_unref(bus);
        remove_dir(disk);
}
