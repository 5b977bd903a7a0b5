/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A group's Free after claims and releases, which judge again only the
 * units they touch, is what judging every unit finds; and a unit judged
 * free that is not is refused at the claim, its group judged again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <gio/gio.h>

#include "coalesce.h"
#include "model.h"
#include "nodegen.h"

#define VFS 3

static const ModelPaths paths = { "/g", "/r", "/a" };

typedef struct {
        char *dir;
        Names *names;
        Inventory *inventory;
        Store *store;
        Model *model;
        ModelGroup *group;
        Device *vf[VFS];
} Node;

/* The first VFS VFs by address, on vfio-pci as if bound. */
static void vfs_pick(Node *n) {
        GPtrArray *devices = inventory_sorted(n->inventory);
        guint k = 0;

        for (guint i = 0; i < devices->len && k < VFS; i++) {
                Device *d = devices->pdata[i];
                if (!device_is_vf(d))
                        continue;
                g_free(d->driver);
                d->driver = g_strdup("vfio-pci");
                n->vf[k++] = d;
        }
        assert_int_equal(k, VFS);
}

static void attachment_add(Node *n, const char *machine) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) settings = g_ptr_array_new_with_free_func((GDestroyNotify) store_attachment_free);
        StoreAttachment *s = g_new0(StoreAttachment, 1);

        s->machine = g_strdup(machine);
        s->name = g_strdup("nic");
        s->type = g_strdup("pci");
        s->description = g_strdup("");
        s->tenant = g_strdup("");
        s->group_id = n->group->id;
        s->count = 1;
        g_ptr_array_add(settings, s);
        g_autoptr(GPtrArray) made = model_attachments_create(n->model, settings, &error);
        assert_non_null(made);
}

static int node_setup(void **state) {
        Node *n = g_new0(Node, 1);
        g_autoptr(GError) error = NULL;

        n->dir = g_dir_make_tmp("claims-XXXXXX", &error);
        assert_non_null(n->dir);
        g_autofree char *sys_dir = g_build_filename(n->dir, "sys", NULL);
        nodegen_write(sys_dir, 64);
        n->names = names_new(g_getenv("DEVPASS_PCI_IDS"));
        n->inventory = inventory_new(sys_dir, n->names);
        g_autoptr(Coalescer) queue = coalescer_new();
        inventory_queue_all(n->inventory, queue);
        g_autoptr(GArray) entries = coalescer_take(queue);
        inventory_changes_free(inventory_apply(n->inventory, entries));
        vfs_pick(n);
        n->store = store_open(n->dir, &error);
        assert_non_null(n->store);
        n->model = model_new(n->store, n->inventory, "testnode", &paths, &error);
        assert_non_null(n->model);

        StoreGroup *g = g_new0(StoreGroup, 1);
        g->name = g_strdup("nics");
        g->type = g_strdup("pci");
        g->description = g_strdup("");
        g->class_name = g_strdup("nic");
        g->tenant = g_strdup("");
        g->tenant_node = g_strdup("");
        g_autoptr(GPtrArray) devices = g_ptr_array_new();
        for (guint i = 0; i < VFS; i++)
                g_ptr_array_add(devices, n->vf[i]);
        n->group = model_passthrough_add(n->model, NULL, g, devices, &error);
        assert_non_null(n->group);
        attachment_add(n, "vm1");
        attachment_add(n, "vm2");
        model_changes_free(model_take_changes(n->model));
        *state = n;
        return 0;
}

static int node_teardown(void **state) {
        Node *n = *state;
        g_autofree char *command = g_strdup_printf("rm -rf '%s'", n->dir);

        model_free(n->model);
        store_close(n->store);
        inventory_free(n->inventory);
        names_free(n->names);
        assert_int_equal(system(command), 0);
        g_free(n->dir);
        g_free(n);
        return 0;
}

/* Free as the change left it, then as a full refresh judges it. */
static void assert_free(Node *n, guint expected) {
        assert_int_equal(n->group->free, expected);
        model_refresh(n->model);
        assert_int_equal(n->group->free, expected);
        assert_int_equal(n->group->total, VFS);
}

static const char *claimed_address(GPtrArray *claimed) {
        const ModelClaimed *c = claimed->pdata[0];
        assert_int_equal(c->devices->len, 1);
        return ((Device *) c->devices->pdata[0])->address_str;
}

static void test_free_follows_claims(void **state) {
        Node *n = *state;
        g_autoptr(GError) error = NULL;

        assert_free(n, VFS);
        g_autoptr(GPtrArray) one = model_claim(n->model, "vm1", NULL, -1, "", &error);
        assert_non_null(one);
        assert_string_equal(claimed_address(one), n->vf[0]->address_str);
        g_autoptr(ModelChanges) c = model_take_changes(n->model);
        assert_true(GPOINTER_TO_UINT(g_hash_table_lookup(c->groups, n->group)) & PROP_BIT(GROUP_PROP_FREE));
        assert_free(n, VFS - 1);

        g_autoptr(GPtrArray) two = model_claim(n->model, "vm2", NULL, -1, "", &error);
        assert_non_null(two);
        assert_string_equal(claimed_address(two), n->vf[1]->address_str);
        assert_free(n, VFS - 2);
        assert_true(model_release(n->model, "vm1", &error));
        assert_free(n, VFS - 1);
        assert_true(model_release(n->model, "vm2", &error));
        assert_free(n, VFS);
}

/* The first VF leaves vfio-pci, and no refresh follows (a bug elsewhere):
 * the claim that would give it is refused, and the group is judged again
 * for the next, which gets the second. */
static void test_stale_judgment_refused(void **state) {
        Node *n = *state;
        g_autoptr(GError) error = NULL;

        g_free(n->vf[0]->driver);
        n->vf[0]->driver = g_strdup("iavf");
        assert_int_equal(n->group->free, VFS);
        assert_null(model_claim(n->model, "vm1", NULL, -1, "", &error));
        assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY));
        assert_int_equal(n->group->free, VFS - 1);
        g_clear_error(&error);
        g_autoptr(GPtrArray) claimed = model_claim(n->model, "vm1", NULL, -1, "", &error);
        assert_non_null(claimed);
        assert_string_equal(claimed_address(claimed), n->vf[1]->address_str);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_free_follows_claims, node_setup, node_teardown),
                cmocka_unit_test_setup_teardown(test_stale_judgment_refused, node_setup, node_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
