/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Claims under pressure on the GPU server: 16 clients racing for 3
 * devices, round after round, and devpassd killed (SIGKILL) in the middle
 * of a claim. Real polkitd (root may do everything), a fake kernel with
 * vfio-pci loaded. The plain flows are in test-claims.c. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"

#define MANAGER "org.devpass1.Manager"
#define DEVICE "org.devpass1.Device"
#define GROUP "org.devpass1.Group"
#define ATTACHMENT "org.devpass1.Attachment"
#define CLIENTS CALLS_CLIENTS
/* 200 rounds take about 8 s here. */
#define ROUNDS 200
#define CRASHES 20

typedef CallsClients Fixture;

static const char *const gpu_functions[] = { "0000:17:00.0", "0000:17:00.1", "0000:b1:00.0", "0000:b1:00.1", NULL };
/* The fixture's VFs of 0000:3b:00.0 but the last. */
static const char *const trio[] = { "0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", NULL };

/* ---- calls ---- */

/* The one address of a Claim reply for one attachment of Count 1. */
static const char *claimed_one(GVariant *reply) {
        g_autoptr(GVariant) entries = g_variant_get_child_value(reply, 0);
        assert_int_equal(g_variant_n_children(entries), 1);
        g_autoptr(GVariant) entry = g_variant_get_child_value(entries, 0);
        g_autoptr(GVariant) devices = g_variant_get_child_value(entry, 2);
        assert_int_equal(g_variant_n_children(devices), 1);
        const char *address;
        g_variant_get_child(devices, 0, "(&sis&s)", &address, NULL, NULL, NULL);
        return g_intern_string(address);
}

/* ---- exclusivity ---- */

static void test_exclusive(void **state) {
        Fixture *f = *state;
        CallsPending calls[CLIENTS] = {};
        char *machines[CLIENTS];
        guint pending = 0, order[CLIENTS];

        g_autofree char *group = calls_passthrough_group(f->h, trio, "Trio", "sriov-nic", NULL);
        for (int i = 0; i < CLIENTS; i++) {
                machines[i] = g_strdup_printf("m%02d", i);
                g_free(calls_attach(f->h, machines[i], group, 1));
                calls[i].pending = &pending;
                order[i] = i;
        }

        gint64 start = g_get_monotonic_time();
        for (int round = 0; round < ROUNDS; round++) {
                /* All 16 in flight at once, from 16 connections, in a new order each round. */
                for (int i = CLIENTS - 1; i > 0; i--) {
                        int j = g_random_int_range(0, i + 1);
                        guint t = order[i];
                        order[i] = order[j];
                        order[j] = t;
                }
                for (int i = 0; i < CLIENTS; i++)
                        calls_send_async(f->c[order[i]], "Claim", machines[order[i]], &calls[order[i]]);
                calls_wait_pending(&pending);

                g_autoptr(GHashTable) holders = g_hash_table_new(g_str_hash, g_str_equal);
                for (int i = 0; i < CLIENTS; i++) {
                        CallsPending *p = &calls[i];
                        if (p->reply) {
                                const char *address = claimed_one(p->reply);
                                if (!g_hash_table_insert(holders, (gpointer) address, machines[i]))
                                        fail_msg("round %d: %s given twice", round, address);
                                continue;
                        }
                        g_autofree char *remote = g_dbus_error_get_remote_error(p->error);
                        g_autofree char *names = g_strdup_printf("attachment Trio 1 of machine %s ", machines[i]);
                        if (!remote || !g_str_equal(remote, "org.devpass1.Error.Busy") ||
                            !strstr(p->error->message, names) || !strstr(p->error->message, "group Trio") ||
                            !strstr(p->error->message, "wants 1 device ") ||
                            !strstr(p->error->message, "0 are free"))
                                fail_msg("round %d, %s: %s", round, machines[i], p->error->message);
                }
                if (g_hash_table_size(holders) != 3)
                        fail_msg("round %d: %u winners, want 3", round, g_hash_table_size(holders));
                /* The daemon agrees: each device held by its winner, so
                 * every loser holds nothing. */
                for (size_t i = 0; trio[i]; i++) {
                        g_autofree char *got = calls_device_state(f->h, trio[i]);
                        g_autofree char *want = g_strdup_printf("claimed %s",
                                                                (char *) g_hash_table_lookup(holders, trio[i]));
                        if (!g_str_equal(got, want))
                                fail_msg("round %d: %s is '%s', want '%s'", round, trio[i], got, want);
                }
                assert_int_equal(calls_prop_uint(f->h, group, GROUP, "Free"), 0);

                for (int i = 0; i < CLIENTS; i++) {
                        calls_pending_clear(&calls[i]);
                        calls_send_async(f->c[i], "Release", machines[i], &calls[i]);
                }
                calls_wait_pending(&pending);
                for (int i = 0; i < CLIENTS; i++) {
                        g_assert_no_error(calls[i].error);
                        calls_pending_clear(&calls[i]);
                }
                assert_int_equal(calls_prop_uint(f->h, group, GROUP, "Free"), 3);
                /* The test's own signal connection keeps up. */
                while (sd_bus_process(f->h->bus, NULL) > 0)
                        ;
                harness_clear_signals(f->h);
        }
        double seconds = (double) (g_get_monotonic_time() - start) / G_USEC_PER_SEC;
        print_message("%d rounds of %d claims for 3 devices: %.2f s\n", ROUNDS, CLIENTS, seconds);
        for (int i = 0; i < CLIENTS; i++)
                g_free(machines[i]);
}

/* ---- a crash in the middle of a claim ---- */

static void test_crash(void **state) {
        Fixture *f = *state;
        g_autofree char *group = calls_passthrough_group(f->h, gpu_functions, "PCI GPUs", "pci", NULL);
        /* Two units: each GPU with its audio function. */
        g_autofree char *a = calls_attach(f->h, "crash", group, 2);
        guint held = 0, replied = 0, pending = 0;
        CallsPending p = { .pending = &pending };

        /* How long a claim takes, to spread the kills over it. */
        gint64 t0 = g_get_monotonic_time();
        calls_send_async(f->c[0], "Claim", "crash", &p);
        calls_wait_pending(&pending);
        gint64 latency = g_get_monotonic_time() - t0;
        g_assert_no_error(p.error);
        calls_pending_clear(&p);
        calls_send_async(f->c[0], "Release", "crash", &p);
        calls_wait_pending(&pending);
        calls_pending_clear(&p);

        for (int i = 0; i < CRASHES; i++) {
                calls_send_async(f->c[0], "Claim", "crash", &p);
                g_dbus_connection_flush_sync(f->c[0], NULL, NULL);
                g_usleep((gulong) g_random_int_range(0, (gint32) (latency * 3 / 2) + 1));
                assert_int_equal(kill(f->h->daemon_pid, SIGKILL), 0);
                int status;
                assert_int_equal(waitpid(f->h->daemon_pid, &status, 0), f->h->daemon_pid);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                f->h->daemon_pid = 0;
                calls_wait_pending(&pending);
                harness_daemon_start(f->h, NULL);

                /* All four, or none; and a reply that got out is kept. */
                guint n = 0;
                for (size_t j = 0; gpu_functions[j]; j++) {
                        g_autofree char *st = calls_device_state(f->h, gpu_functions[j]);
                        if (g_str_equal(st, "claimed crash"))
                                n++;
                        else if (!g_str_equal(st, "passthrough "))
                                fail_msg("kill %d: %s is '%s'", i, gpu_functions[j], st);
                }
                if (n != 0 && n != 4)
                        fail_msg("kill %d: the machine holds %u of 4 devices", i, n);
                if (p.reply && n != 4)
                        fail_msg("kill %d: the claim was answered, and lost in the crash", i);
                assert_int_equal(calls_prop_uint(f->h, group, GROUP, "Free"), 2 - n / 2);
                g_autoptr(GVariant) devices = calls_prop(f->h, a, ATTACHMENT, "Devices");
                assert_int_equal(g_variant_n_children(devices), n);
                held += n == 4;
                replied += p.reply != NULL;
                calls_pending_clear(&p);
                if (n) {
                        calls_send_async(f->c[0], "Release", "crash", &p);
                        calls_wait_pending(&pending);
                        g_assert_no_error(p.error);
                        calls_pending_clear(&p);
                }
        }
        print_message("%d kills within %.1f ms of a claim: %u held all 4 afterwards (%u answered), %u none\n",
                      CRASHES, (double) latency * 1.5 / 1000, held, replied, CRASHES - held);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_exclusive, calls_clients_setup, calls_clients_teardown),
                cmocka_unit_test_setup_teardown(test_crash, calls_clients_setup, calls_clients_teardown),
        };
        return cmocka_run_group_tests_name("claims-stress", tests, NULL, NULL);
}
