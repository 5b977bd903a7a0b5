/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorization scope, against the real polkitd: user daemon may manage
 * groups and attachments only where polkit's detail group is "A", user
 * games is tenant acme's admin through the shipped example rule. Each way
 * out of that scope (a rule moved or matching into group B, an
 * attachment taken out of B, a tenant admin reaching a host machine or
 * another tenant's) is refused with nothing changed; what is inside it
 * is allowed. And a call whose objects change while polkit is asked is
 * refused, never applied on the stale answer.
 *
 * The node: the 4 X710 VFs of 3b:00.0 (one unit each); A holds
 * 3b:02.0, B 3b:02.1-3, of which it passed one to acme, one to globex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "calls.h"

#define ROOT "/org/devpass1"
#define MANAGER_IF "org.devpass1.Manager"
#define ATTACHMENT_IF "org.devpass1.Attachment"
#define GROUP_IF "org.devpass1.Group"
#define RULE_IF "org.devpass1.Rule"
#define MG "org.devpass1.manage-groups"
#define MA "org.devpass1.manage-attachments"

static const char scope_rules[] =
        "polkit.addRule(function(action, subject) {\n"
        "    if (subject.user == 'daemon' &&\n"
        "        (action.id == 'org.devpass1.manage-groups' ||\n"
        "         action.id == 'org.devpass1.manage-attachments') &&\n"
        "        action.lookup('group') == 'A')\n"
        "        return polkit.Result.YES;\n"
        "    return polkit.Result.NOT_HANDLED;\n"
        "});\n";

typedef struct {
        Harness *h;
        FakeKernel *fk;
        char *a, *b, *acme, *globex;   /* groups */
        char *rule_a;                  /* a rule of A that matches nothing */
        char *host_nic;                /* host-vm's attachment of B */
        char *globex_nic;              /* globex-vm's attachment of globex's group */
} Fixture;

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);
        g_autofree char *example = calls_tenant_admin_rules("games");
        g_autofree char *rules = g_strconcat(scope_rules, example, NULL);
        const char *const a_vfs[] = { "0000:3b:02.0", NULL };
        const char *const b_vfs[] = { "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3", NULL };

        f->h = calls_gpu_server(rules, &f->fk);
        f->a = calls_passthrough_group(f->h, a_vfs, "A", "sriov-nic", "nic");
        f->b = calls_passthrough_group(f->h, b_vfs, "B", "sriov-nic", "nic");
        f->rule_a = calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateRule",
                                  g_variant_new_parsed("(%o, {'Name': <'ra'>, 'Conditions': "
                                                       "<[('vendor', 'eq', 'abcd')]>})", f->a));
        f->acme = calls_ok_path(f->h, ROOT, MANAGER_IF, "PassToTenant",
                                g_variant_new_parsed("('acme', 'acme-node1', {'Group': <%o>})", f->b));
        f->globex = calls_ok_path(f->h, ROOT, MANAGER_IF, "PassToTenant",
                                  g_variant_new_parsed("('globex', 'globex-node1', {'Group': <%o>})", f->b));
        f->host_nic = calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateAttachment",
                                    g_variant_new_parsed("('host-vm', {'Group': <%o>, 'Name': <'nic'>})", f->b));
        f->globex_nic = calls_ok_path(f->h, ROOT, MANAGER_IF, "CreateAttachment",
                                      g_variant_new_parsed("('globex-vm', {'Group': <%o>, 'Tenant': <'globex'>})",
                                                           f->globex));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        calls_stop(f->h, f->fk);
        g_free(f->a);
        g_free(f->b);
        g_free(f->acme);
        g_free(f->globex);
        g_free(f->rule_a);
        g_free(f->host_nic);
        g_free(f->globex_nic);
        g_free(f);
        return 0;
}

/* One call as another user: refused by polkit (action), refused by the
 * model before polkit is asked (error, message), or allowed (witness:
 * "+text" appears in the objects, "-text" goes). */
typedef struct {
        const char *what, *user, *path, *method;
        const char *args[CALLS_AS_ARGS];    /* $GROUP_A, $GROUP_B, $ACME, $GLOBEX, $RULE_A, $HOST_NIC, $GLOBEX_NIC */
        const char *action;
        const char *error, *message;
        const char *witness;
} ScopeCall;

static const ScopeCall scope_calls[] = {
        /* Groups: a rule of A moved into B, a rule in A matching B's devices. */
        { "Rule.Update{Group: B} of a rule of A", "daemon", "$RULE_A", RULE_IF ".Update",
          { "{'Group': <objectpath '$GROUP_B'>}" }, MG },
        { "CreateRule in A matching a device of B", "daemon", ROOT, MANAGER_IF ".CreateRule",
          { "'$GROUP_A'", "{'Name': <'grab'>, 'Conditions': <[('address', 'eq', '0000:3b:02.3')]>}" }, MG },
        { "Rule.Update of a rule of A to match a device of B", "daemon", "$RULE_A", RULE_IF ".Update",
          { "{'Conditions': <[('address', 'eq', '0000:3b:02.3')]>}" }, MG },
        { "Rule.Update within A", "daemon", "$RULE_A", RULE_IF ".Update", { "{'Name': <'ra2'>}" }, NULL, NULL, NULL,
          "+'ra2'" },
        { "CreateRule in A matching nothing of B", "daemon", ROOT, MANAGER_IF ".CreateRule",
          { "'$GROUP_A'", "{'Name': <'own'>, 'Conditions': <[('address', 'eq', '0000:3b:02.0')]>}" }, NULL, NULL, NULL,
          "+'own'" },

        /* Attachments: one of B taken into A; one made in A, then changed there. */
        { "Attachment.Update{Group: A} of host-vm's attachment of B", "daemon", "$HOST_NIC", ATTACHMENT_IF ".Update",
          { "{'Group': <objectpath '$GROUP_A'>}" }, MA },
        { "Attachment.Delete of an attachment of B", "daemon", "$HOST_NIC", ATTACHMENT_IF ".Delete", {}, MA },
        { "CreateAttachment in A", "daemon", ROOT, MANAGER_IF ".CreateAttachment",
          { "'vm-a'", "{'Group': <objectpath '$GROUP_A'>, 'Name': <'in-a'>}" }, NULL, NULL, NULL, "+'in-a'" },

        /* A tenant admin: the host's machines and globex's are not acme's. */
        { "acme's attachment on host-vm", "games", ROOT, MANAGER_IF ".CreateAttachment",
          { "'host-vm'", "{'Group': <objectpath '$ACME'>, 'Tenant': <'acme'>}" }, NULL,
          "org.devpass1.Error.InvalidArgument", "Machine host-vm is the host's: it cannot have an attachment of "
          "tenant acme" },
        { "acme's attachment on globex-vm", "games", ROOT, MANAGER_IF ".CreateAttachment",
          { "'globex-vm'", "{'Group': <objectpath '$ACME'>, 'Tenant': <'acme'>}" }, NULL,
          "org.devpass1.Error.InvalidArgument", "Machine globex-vm is tenant globex's: it cannot have an attachment "
          "of tenant acme" },
        { "a host attachment on host-vm", "games", ROOT, MANAGER_IF ".CreateAttachment",
          { "'host-vm'", "{'Group': <objectpath '$GROUP_B'>}" }, MA },
        { "Attachment.Update of host-vm's attachment", "games", "$HOST_NIC", ATTACHMENT_IF ".Update",
          { "{'Description': <'mine'>}" }, MA },
        { "Attachment.Delete of globex-vm's attachment", "games", "$GLOBEX_NIC", ATTACHMENT_IF ".Delete", {}, MA },
        { "acme-vm and host-vm in one call", "games", ROOT, MANAGER_IF ".CreateAttachments",
          { "[('acme-vm', {'Group': <objectpath '$ACME'>, 'Tenant': <'acme'>}), "
            "('host-vm2', {'Group': <objectpath '$GROUP_B'>})]" }, NULL,
          "org.devpass1.Error.InvalidArgument", "machine host-vm2 is the host's: split the call" },
        { "acme's attachment on acme-vm", "games", ROOT, MANAGER_IF ".CreateAttachment",
          { "'acme-vm'", "{'Group': <objectpath '$ACME'>, 'Tenant': <'acme'>, 'Name': <'games-nic'>}" }, NULL, NULL,
          NULL, "+'games-nic'" },
};

static void test_scope(void **state) {
        Fixture *f = *state;
        /* Each placeholder is no other's prefix, but for $GLOBEX: after $GLOBEX_NIC. */
        const char *const pairs[] = { "$GROUP_A", f->a, "$GROUP_B", f->b, "$ACME", f->acme, "$GLOBEX_NIC",
                                      f->globex_nic, "$GLOBEX", f->globex, "$RULE_A", f->rule_a, "$HOST_NIC",
                                      f->host_nic, NULL };

        for (size_t i = 0; i < G_N_ELEMENTS(scope_calls); i++) {
                const ScopeCall *c = &scope_calls[i];
                fakekernel_sync(f->fk);
                fakekernel_clear_writes(f->fk);
                g_autofree char *before = calls_snapshot(f->h);
                g_autofree char *store_before = calls_store_digest(f->h);
                g_autofree char *err = NULL;
                int status = calls_as(f->h, c->user, c->path, c->method, c->args, pairs, &err);
                g_autofree char *after = calls_snapshot(f->h);
                g_autofree char *store_after = calls_store_digest(f->h);
                g_autofree char *refused = g_strdup_printf("%s as %s (refused)", c->what, c->user);

                if (c->witness) {
                        calls_assert_allowed(c->what, c->user, status, err, c->witness, before, after);
                        /* What the digest sees: an allowed change commits. */
                        if (g_str_equal(store_before, store_after))
                                fail_msg("%s as %s: allowed, and the store did not change", c->what, c->user);
                        continue;
                }
                if (c->action)
                        calls_assert_not_authorized(c->what, c->user, status, err, c->action, NULL);
                else if (status == 0 || !strstr(err, c->error) || !strstr(err, c->message))
                        fail_msg("%s as %s: '%s', want %s: %s", c->what, c->user, status == 0 ? "allowed" : err,
                                 c->error, c->message);
                calls_assert_unchanged(before, after, refused);
                /* Nor the store's bytes, nor sysfs. */
                if (!g_str_equal(store_before, store_after))
                        fail_msg("%s: the store changed", refused);
                fakekernel_sync(f->fk);
                g_auto(GStrv) writes = fakekernel_writes(f->fk);
                if (writes[0])
                        fail_msg("%s: wrote '%s'", refused, writes[0]);
        }
}

/* ---- changed while polkit was asked ---- */

/* first on path1, then second on path2 (the Manager's, or an
 * attachment's), while polkit is asked. */
static void race(Fixture *f, CallsPending *first, const char *path1, const char *method1, GVariant *args1,
                 CallsPending *second, const char *path2, const char *method2, GVariant *args2) {
        const CallsCall c1 = { path1, g_str_equal(path1, ROOT) ? MANAGER_IF : ATTACHMENT_IF, method1, args1 };
        const CallsCall c2 = { path2, g_str_equal(path2, ROOT) ? MANAGER_IF : ATTACHMENT_IF, method2, args2 };

        calls_race(f->h, &c1, first, &c2, second);
}

/* Update moves host-vm's attachment from B to A; a Delete asked while it
 * was in B is refused, or, answered first, deletes it before the move. */
static void test_changed_attachment(void **state) {
        Fixture *f = *state;
        guint pending = 0;
        CallsPending update = { .pending = &pending }, delete = { .pending = &pending };

        race(f, &update, f->host_nic, "Update", g_variant_new_parsed("({'Group': <%o>},)", f->a), &delete,
             f->host_nic, "Delete", NULL);
        if (update.error) {
                calls_assert_remote_error(update.error, "org.devpass1.Error.NotFound", NULL);
                assert_null(delete.error);
                g_autofree char *objects = calls_snapshot(f->h);
                assert_null(strstr(objects, f->host_nic));
        } else {
                calls_assert_stale(&delete, "Attachment.Delete");
                g_autofree char *group = calls_prop_string(f->h, f->host_nic, ATTACHMENT_IF, "Group");
                assert_string_equal(group, f->a);
        }
        calls_pending_clear(&update);
        calls_pending_clear(&delete);
}

/* A Claim asked while host-vm drew from B, then its attachment moved to A:
 * the claim is refused, or, answered first, claims from B. */
static void test_changed_claim(void **state) {
        Fixture *f = *state;
        guint pending = 0;
        CallsPending update = { .pending = &pending }, claim = { .pending = &pending };

        race(f, &update, f->host_nic, "Update", g_variant_new_parsed("({'Group': <%o>},)", f->a), &claim, ROOT,
             "Claim", g_variant_new_parsed("('host-vm', @a{sv} {})"));
        if (claim.error) {
                assert_null(update.error);
                calls_assert_stale(&claim, "Claim");
                calls_assert_device_state(f->h, "0000:3b:02.0", "passthrough ");
        } else {
                /* B's free one, as the attachment was when polkit was asked. */
                g_autofree char *got = calls_claimed(claim.reply, NULL);
                assert_true(g_str_has_prefix(got, "0000:3b:02.") && !g_str_equal(got, "0000:3b:02.0"));
                calls_assert_device_state(f->h, got, "claimed host-vm");
                assert_null(update.error);
        }
        calls_pending_clear(&update);
        calls_pending_clear(&claim);
}

/* A CreateAttachment asked while acme-vm had no attachment is refused
 * once root made it the host's meanwhile. */
static void test_changed_owner(void **state) {
        Fixture *f = *state;
        guint pending = 0;
        CallsPending host = { .pending = &pending }, acme = { .pending = &pending };

        race(f, &host, ROOT, "CreateAttachment", g_variant_new_parsed("('acme-vm', {'Group': <%o>})", f->b), &acme,
             ROOT, "CreateAttachment",
             g_variant_new_parsed("('acme-vm', {'Group': <%o>, 'Tenant': <'acme'>})", f->acme));
        /* Exactly one owner got the machine. */
        assert_true((host.error == NULL) != (acme.error == NULL));
        calls_assert_remote_error(host.error ?: acme.error, "org.devpass1.Error.InvalidArgument",
                                  "Machine acme-vm is", NULL);
        calls_pending_clear(&host);
        calls_pending_clear(&acme);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_scope, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changed_attachment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changed_claim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changed_owner, setup, teardown),
        };
        return cmocka_run_group_tests_name("scope", tests, NULL, NULL);
}
