/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* model_resync(): two models on one store file, as two nodes on one
 * replicated truth. What one changes, the other takes in by resync, with
 * the same objects at the same paths and every difference marked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <glib/gstdio.h>

#include "coalesce.h"
#include "model.h"
#include "nodegen.h"

static const ModelPaths paths = { "/g", "/r", "/a" };

typedef struct {
        char *dir;
        char *sys_dir;
        Names *names;
        Inventory *inventory[2];
        Store *store[2];
        Model *model[2];
} Pair;

static Inventory *inventory_read(const char *sys_dir, Names *names) {
        Inventory *inv = inventory_new(sys_dir, names);
        g_autoptr(Coalescer) queue = coalescer_new();

        inventory_queue_all(inv, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        inventory_changes_free(inventory_apply(inv, entries));
        return inv;
}

static int pair_setup(void **state) {
        Pair *p = g_new0(Pair, 1);
        g_autoptr(GError) error = NULL;

        p->dir = g_dir_make_tmp("resync-XXXXXX", &error);
        assert_non_null(p->dir);
        p->sys_dir = g_build_filename(p->dir, "sys", NULL);
        nodegen_write(p->sys_dir, 64);
        p->names = names_new(g_getenv("DEVPASS_PCI_IDS"));
        for (int i = 0; i < 2; i++) {
                p->inventory[i] = inventory_read(p->sys_dir, p->names);
                p->store[i] = store_open(p->dir, &error);
                assert_non_null(p->store[i]);
                p->model[i] = model_new(p->store[i], p->inventory[i], "testnode", &paths, &error);
                assert_non_null(p->model[i]);
        }
        *state = p;
        return 0;
}

static int pair_teardown(void **state) {
        Pair *p = *state;
        g_autofree char *command = g_strdup_printf("rm -rf '%s'", p->dir);

        for (int i = 0; i < 2; i++) {
                model_free(p->model[i]);
                store_close(p->store[i]);
                inventory_free(p->inventory[i]);
        }
        names_free(p->names);
        assert_int_equal(system(command), 0);
        g_free(p->sys_dir);
        g_free(p->dir);
        g_free(p);
        return 0;
}

/* A group of the host's, or tenant's (held for this node). */
static ModelGroup *group_make_for(Model *m, const char *name, const char *tenant) {
        g_autoptr(GError) error = NULL;
        StoreGroup *s = g_new0(StoreGroup, 1);

        s->name = g_strdup(name);
        s->type = g_strdup("pci");
        s->description = g_strdup("");
        s->class_name = g_strdup("gpu");
        s->tenant = g_strdup(tenant);
        s->tenant_node = g_strdup(*tenant ? "testnode" : "");
        ModelGroup *g = model_group_create(m, s, &error);
        assert_non_null(g);
        return g;
}

static ModelGroup *group_make(Model *m, const char *name) {
        return group_make_for(m, name, "");
}

static ModelRule *rule_make(Model *m, ModelGroup *g, const char *name, const char *vendor) {
        g_autoptr(GError) error = NULL;
        StoreRule *s = store_rule_new();

        s->name = g_strdup(name);
        s->node = g_strdup("");
        s->enabled = true;
        g_ptr_array_add(s->conditions, store_condition_new("vendor", "eq", vendor));
        GPtrArray *conditions = model_conditions_compile(s->conditions, &error);
        assert_non_null(conditions);
        ModelRule *r = model_rule_create(m, g, s, conditions, &error);
        assert_non_null(r);
        return r;
}

static bool added(ModelChanges *c, const char *path) {
        return g_ptr_array_find_with_equal_func(c->added, path, g_str_equal, NULL);
}

static bool removed(ModelChanges *c, const char *path) {
        for (guint i = 0; i < c->removed->len; i++)
                if (g_str_equal(((ModelRemoved *) c->removed->pdata[i])->path, path))
                        return true;
        return false;
}

static void resync(Model *m) {
        g_autoptr(GError) error = NULL;

        model_changes_free(model_take_changes(m));
        assert_true(model_resync(m, &error));
        assert_null(error);
}

/* A group and a rule made on one side show on the other at the same
 * paths, with the devices the rule matches, announced as added. */
static void test_created(void **state) {
        Pair *p = *state;
        ModelGroup *g = group_make(p->model[0], "nics");
        ModelRule *r = rule_make(p->model[0], g, "intel", "8086");
        g_autofree char *group_path = g_strdup(g->path);
        g_autofree char *rule_path = g_strdup(r->path);

        assert_true(g->devices->len > 0);
        resync(p->model[1]);
        g_autoptr(ModelChanges) c = model_take_changes(p->model[1]);
        ModelGroup *other = model_group_by_name(p->model[1], "nics");
        assert_non_null(other);
        assert_string_equal(other->path, group_path);
        assert_non_null(model_rule_by_path(p->model[1], rule_path));
        assert_int_equal(other->devices->len, g->devices->len);
        assert_true(added(c, group_path));
        assert_true(added(c, rule_path));
        assert_true(g_hash_table_size(c->devices) > 0);

        /* Nothing new: nothing marked. */
        resync(p->model[1]);
        g_autoptr(ModelChanges) none = model_take_changes(p->model[1]);
        assert_int_equal(none->added->len, 0);
        assert_int_equal(none->removed->len, 0);
        assert_int_equal(g_hash_table_size(none->groups), 0);
        assert_int_equal(g_hash_table_size(none->rules), 0);
        assert_int_equal(g_hash_table_size(none->devices), 0);
}

/* A rename, a rule disabled, a rule deleted and a group deleted: each
 * reaches the other side as the property or removal it is. */
static void test_changed_and_deleted(void **state) {
        Pair *p = *state;
        g_autoptr(GError) error = NULL;
        ModelGroup *g = group_make(p->model[0], "gpus");
        ModelRule *r = rule_make(p->model[0], g, "nvidia", "10de");
        ModelRule *nics = rule_make(p->model[0], g, "intel", "8086");
        g_autofree char *nics_path = g_strdup(nics->path);
        g_autofree char *group_path = g_strdup(g->path);
        resync(p->model[1]);

        StoreGroup next = *g->settings;
        next.name = (char *) "accelerators";
        assert_true(model_group_update(p->model[0], g, &next, &error));
        StoreRule *s = store_rule_new();
        s->name = g_strdup(r->settings->name);
        s->node = g_strdup("");
        s->enabled = false;
        g_ptr_array_add(s->conditions, store_condition_new("vendor", "eq", "10de"));
        GPtrArray *conditions = model_conditions_compile(s->conditions, &error);
        assert_true(model_rule_update(p->model[0], r, g, s, conditions, &error));
        assert_true(model_rule_delete(p->model[0], nics, &error));
        resync(p->model[1]);
        g_autoptr(ModelChanges) c = model_take_changes(p->model[1]);
        ModelGroup *other = model_group_by_path(p->model[1], group_path);
        assert_string_equal(other->settings->name, "accelerators");
        assert_null(model_group_by_name(p->model[1], "gpus"));
        assert_true(GPOINTER_TO_UINT(g_hash_table_lookup(c->groups, other)) & PROP_BIT(GROUP_PROP_NAME));
        ModelRule *rule = model_rule_by_name(p->model[1], "nvidia");
        assert_false(rule->settings->enabled);
        assert_true(GPOINTER_TO_UINT(g_hash_table_lookup(c->rules, rule)) & PROP_BIT(RULE_PROP_ENABLED));
        assert_true(removed(c, nics_path));
        assert_null(model_rule_by_path(p->model[1], nics_path));
        assert_int_equal(other->devices->len, 0);

        assert_true(model_group_delete(p->model[0], g, false, &error));
        resync(p->model[1]);
        g_autoptr(ModelChanges) gone = model_take_changes(p->model[1]);
        assert_true(removed(gone, group_path));
        assert_null(model_group_by_path(p->model[1], group_path));
        assert_null(model_rule_by_name(p->model[1], "nvidia"));
}

/* A change the store took back (as a cluster node's replica does when
 * etcd refuses it) is taken back in memory too. */
static void test_taken_back(void **state) {
        Pair *p = *state;
        g_autoptr(GError) error = NULL;
        ModelGroup *g = group_make(p->model[0], "gpus");
        g_autofree char *path = g_strdup(g->path);
        int64_t id = g->id;

        assert_true(store_begin(p->store[1], &error));
        assert_true(store_group_delete(p->store[1], id, &error));
        assert_true(store_commit(p->store[1], &error));
        resync(p->model[0]);
        g_autoptr(ModelChanges) c = model_take_changes(p->model[0]);
        assert_true(removed(c, path));
        assert_null(model_group_by_name(p->model[0], "gpus"));
}

/* An attachment made on one side reaches the other; its deletion too. */
static void test_attachment(void **state) {
        Pair *p = *state;
        g_autoptr(GError) error = NULL;
        ModelGroup *g = group_make(p->model[0], "nics");
        rule_make(p->model[0], g, "intel", "8086");
        g_autoptr(GPtrArray) settings = g_ptr_array_new_with_free_func((GDestroyNotify) store_attachment_free);
        StoreAttachment *s = g_new0(StoreAttachment, 1);

        s->machine = g_strdup("vm 1");
        s->name = g_strdup("nic");
        s->type = g_strdup("pci");
        s->description = g_strdup("");
        s->tenant = g_strdup("");
        s->group_id = g->id;
        s->count = 1;
        g_ptr_array_add(settings, s);
        g_autoptr(GPtrArray) made = model_attachments_create(p->model[0], settings, &error);
        assert_non_null(made);
        ModelAttachment *a = made->pdata[0];
        g_autofree char *path = g_strdup(a->path);
        resync(p->model[1]);
        g_autoptr(ModelChanges) c = model_take_changes(p->model[1]);
        assert_true(added(c, path));
        ModelAttachment *other = model_attachment_by_name(p->model[1], "vm 1", "nic");
        assert_non_null(other);
        assert_string_equal(other->path, path);
        assert_ptr_equal(other->group, model_group_by_name(p->model[1], "nics"));

        assert_true(model_attachment_delete(p->model[0], a, &error));
        resync(p->model[1]);
        g_autoptr(ModelChanges) gone = model_take_changes(p->model[1]);
        assert_true(removed(gone, path));
        assert_null(model_attachment_by_name(p->model[1], "vm 1", "nic"));
}

/* A tenant's hold taken in alone (a cluster node's PassToTenant comes
 * back from etcd so, or a hold another node's store wrote): the tenant's
 * group holds exactly the held device, on the other side too. */
static void test_tenant_hold(void **state) {
        Pair *p = *state;
        g_autoptr(GError) error = NULL;
        ModelGroup *nics = group_make(p->model[0], "nics");
        rule_make(p->model[0], nics, "intel", "8086");
        assert_true(nics->devices->len > 0);
        const Device *d = nics->devices->pdata[0];
        ModelGroup *acme = group_make_for(p->model[0], "acme nics", "acme");

        resync(p->model[1]);
        assert_int_equal(model_group_by_name(p->model[1], "acme nics")->devices->len, 0);

        StoreClaim hold = { .address = d->address_str, .holder = (char *) "acme", .tenant = true,
                            .group_id = acme->id, .mac = (char *) "" };
        assert_true(store_begin(p->store[0], &error));
        assert_true(store_claim_insert(p->store[0], &hold, &error));
        assert_true(store_commit(p->store[0], &error));
        resync(p->model[1]);
        ModelGroup *held = model_group_by_name(p->model[1], "acme nics");
        assert_int_equal(held->devices->len, 1);
        assert_string_equal(((Device *) held->devices->pdata[0])->address_str, d->address_str);
}

/* ---- the tables changed, as a cluster node's store records them ---- */

static StoreCommit hand_on(Store *s, void *data, GError **error) {
        return STORE_COMMIT_DEFERRED;
}

/* Model 0's store records its changes and hands every transaction on,
 * as a cluster node's does: what the model made is taken back by a
 * resync that reads the rows the transaction touched, and matches
 * devices against rules again only when a rule or an intent changed. */
static void test_taken_back_recorded(void **state) {
        Pair *p = *state;
        g_autoptr(GError) error = NULL;
        Model *m = p->model[0];
        ModelGroup *nics = group_make(m, "nics");
        ModelRule *r = rule_make(m, nics, "intel", "8086");
        g_autofree char *nics_path = g_strdup(nics->path);
        guint devices = nics->devices->len;

        assert_true(devices > 0);
        store_record_changes(p->store[0], true);
        resync(m);
        store_set_commit_hook(p->store[0], hand_on, NULL);

        /* A group alone: taken back without a refresh. */
        ModelGroup *g = group_make(m, "gpus");
        g_autofree char *path = g_strdup(g->path);
        assert_int_equal(store_dirty(p->store[0]), STORE_DIRTY_TABLE(STORE_TABLE_GROUPS));
        g_autoptr(GArray) ids = store_dirty_ids(p->store[0], STORE_TABLE_GROUPS);
        assert_int_equal(ids->len, 1);
        assert_int_equal(g_array_index(ids, int64_t, 0), g->id);
        resync(m);
        g_autoptr(ModelChanges) c = model_take_changes(m);
        assert_true(removed(c, path));
        assert_null(model_group_by_name(m, "gpus"));
        assert_false(c->refreshed);
        assert_int_equal(store_dirty(p->store[0]), 0);

        /* A rule's deletion: its devices go back to its group. */
        assert_true(model_rule_delete(m, r, &error));
        assert_int_equal(model_group_by_path(m, nics_path)->devices->len, 0);
        resync(m);
        g_autoptr(ModelChanges) back = model_take_changes(m);
        assert_true(back->refreshed);
        assert_non_null(model_rule_by_name(m, "intel"));
        assert_int_equal(model_group_by_path(m, nics_path)->devices->len, devices);

        /* Another connection's commit: every table is read again. */
        store_set_commit_hook(p->store[0], NULL, NULL);
        group_make(p->model[1], "spare");
        assert_int_equal(store_dirty(p->store[0]), STORE_DIRTY_ALL);
        assert_null(store_dirty_ids(p->store[0], STORE_TABLE_GROUPS));
        resync(m);
        assert_non_null(model_group_by_name(m, "spare"));
        assert_int_equal(store_dirty(p->store[0]), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_created, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_changed_and_deleted, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_taken_back, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_attachment, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_tenant_hold, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_taken_back_recorded, pair_setup, pair_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
