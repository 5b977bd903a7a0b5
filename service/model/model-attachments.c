/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attachments: what a machine gets at its next start. Every invariant of
 * one lives here, checked by the changes themselves and by the settle
 * functions the bus asks before and after polkit, so that no caller can
 * skip one: the group's type and tenant, Count, MACs, names, and whose
 * the machine is. A check is linear in the call's attachments (hash sets,
 * the model's index by machine), so a bulk call costs little before it is
 * authorized. The store's transaction comes first; memory follows. */
#include <gio/gio.h>

#include "model-private.h"


/* What the attachments of one call take among themselves. */
typedef struct {
        GHashTable *names;     /* "machine/name" (a machine name has no '/') */
        GHashTable *macs;
        GHashTable *numbers;   /* "machine/group" -> the last n of "<group> <n>" given */
        const char *tenant;    /* the owner of the call's machines, once one is seen */
} Batch;

static void batch_init(Batch *b) {
        b->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        b->macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        b->numbers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        b->tenant = NULL;
}

static void batch_clear(Batch *b) {
        g_clear_pointer(&b->names, g_hash_table_unref);
        g_clear_pointer(&b->macs, g_hash_table_unref);
        g_clear_pointer(&b->numbers, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Batch, batch_clear);

static char *batch_key(const char *machine, const char *name) {
        return g_strconcat(machine, "/", name, NULL);
}

/* "tenant acme's", "the host's": whose a group or machine is. */
static char *owner_text(const char *tenant) {
        return *tenant ? g_strdup_printf("tenant %s's", tenant) : g_strdup("the host's");
}

static bool macs_check(Model *m, Batch *b, ModelGroup *g, const StoreAttachment *s, const ModelAttachment *self,
                       GError **error) {
        if (*g->settings->tenant)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Group %s is tenant %s's: its "
                                   "VFs keep the MACs they were passed with, give none", g->settings->name,
                                   g->settings->tenant), false;
        if (!g_str_equal(s->type, "sriov-nic"))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "A Mac is for sriov-nic "
                                   "attachments only: group %s is %s", g->settings->name, s->type), false;
        if (g_strv_length(s->macs) != s->count)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "A Mac can be given for Count 1 "
                                   "only: leave it blank and one is made for each device"), false;
        g_autofree char *mine = self ? model_attachment_owner(self->settings) : NULL;
        for (size_t i = 0; s->macs[i]; i++) {
                const char *owner = model_mac_owner(m, s->macs[i]);
                if ((owner && g_strcmp0(owner, mine) != 0) || g_hash_table_contains(b->macs, s->macs[i]))
                        return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "MAC %s is taken by %s: leave "
                                           "Mac blank for a new one", s->macs[i], owner ?: "this same call"),
                               false;
        }
        for (size_t i = 0; s->macs[i]; i++)
                g_hash_table_add(b->macs, g_strdup(s->macs[i]));
        return true;
}

/* Whose the machine is: from its first attachment on, the host's or one
 * tenant's, so that an admin scoped to a tenant (polkit's "tenant") never
 * reaches another's machine; and one owner per call, so that the detail
 * names it whole. */
static bool owner_check(Model *m, Batch *b, const StoreAttachment *s, GError **error) {
        const char *owner = model_machine_tenant(m, s->machine);

        if (owner && !g_str_equal(owner, s->tenant)) {
                g_autofree char *is = owner_text(owner);
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Machine %s is %s: it cannot "
                                   "have an attachment of %s%s", s->machine, is, *s->tenant ? "tenant " : "the host",
                                   s->tenant), false;
        }
        if (b->tenant && !g_str_equal(b->tenant, s->tenant))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "One call makes the attachments "
                                   "of one owner's machines, and machine %s is %s%s's: split the call", s->machine,
                                   *s->tenant ? "tenant " : "the host", s->tenant), false;
        b->tenant = s->tenant;
        return true;
}

/* Every invariant of s, the settings of self (NULL: a new attachment),
 * against the model and the call's others (b, which takes s's name and
 * MACs). */
static bool attachment_check(Model *m, Batch *b, const StoreAttachment *s, const ModelAttachment *self,
                             GError **error) {
        ModelGroup *g = model_attachment_group(m, s);

        if (!g)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "The group of machine %s's attachment "
                                   "is gone: give it a Group", s->machine), false;
        if (!g_str_equal(s->type, g->settings->type))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Type '%s' does not match group "
                                   "%s, which is %s", s->type, g->settings->name, g->settings->type), false;
        if (!g_str_equal(s->tenant, g->settings->tenant)) {
                g_autofree char *is = owner_text(g->settings->tenant);
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Group %s is %s: a machine %s%s "
                                   "cannot draw from it", g->settings->name, is,
                                   *s->tenant ? "of tenant " : "of the host", s->tenant), false;
        }
        if (s->count < 1 || s->count > g->total)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Count %u is out of range: group "
                                   "%s holds %u device%s", s->count, g->settings->name, g->total,
                                   g->total == 1 ? "" : "s"), false;
        if (!owner_check(m, b, s, error) || (s->macs && !macs_check(m, b, g, s, self, error)))
                return false;
        if (!*s->name)
                return true;   /* attachment_complete() makes one */
        ModelAttachment *other = model_attachment_by_name(m, s->machine, s->name);
        if ((other && other != self) || !g_hash_table_add(b->names, batch_key(s->machine, s->name)))
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "Machine %s has an attachment named "
                                   "'%s' already: choose another name", s->machine, s->name), false;
        return true;
}

/* Fills in what a blank setting leaves to devpass, after every one of the
 * call is checked: a name free on the machine and in the call, MACs. */
static void attachment_complete(Model *m, Batch *b, StoreAttachment *s) {
        ModelGroup *g = model_attachment_group(m, s);

        if (!*s->name) {
                g_autofree char *counter = batch_key(s->machine, g->settings->name);
                guint n = GPOINTER_TO_UINT(g_hash_table_lookup(b->numbers, counter));
                for (;;) {
                        g_free(s->name);
                        s->name = g_strdup_printf("%s %u", g->settings->name, ++n);
                        g_autofree char *key = batch_key(s->machine, s->name);
                        if (!model_attachment_by_name(m, s->machine, s->name) && !g_hash_table_contains(b->names, key))
                                break;
                }
                g_hash_table_add(b->names, batch_key(s->machine, s->name));
                g_hash_table_insert(b->numbers, g_steal_pointer(&counter), GUINT_TO_POINTER(n));
        }
        /* A tenant's VFs carry the MACs they were passed with. */
        if (g_str_equal(s->type, "sriov-nic") && !s->macs && !*g->settings->tenant) {
                s->macs = g_new0(char *, s->count + 1);
                for (guint i = 0; i < s->count; i++) {
                        s->macs[i] = model_mac_generate(m, b->macs);
                        g_hash_table_add(b->macs, g_strdup(s->macs[i]));
                }
        }
}

/* The settings c asks for, over base's (NULL: a new attachment's
 * defaults); not checked yet. */
static StoreAttachment *attachment_merge(Model *m, const ModelAttachmentChange *c, const StoreAttachment *base,
                                         GError **error) {
        ModelGroup *g = NULL;

        if (!c->group && !base)
                return g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "The attachment of machine %s "
                                   "needs a Group to draw its devices from", c->machine), NULL;
        if (c->group && !(g = model_group_arg(m, c->group, error)))
                return NULL;
        if (!g)
                g = model_attachment_group(m, base);

        g_autoptr(StoreAttachment) s = g_new0(StoreAttachment, 1);
        s->machine = g_strdup(c->machine);
        s->group_id = g ? g->id : base->group_id;
        s->name = g_strdup(c->name ?: base ? base->name : "");
        s->description = g_strdup(c->description ?: base ? base->description : "");
        s->tenant = g_strdup(c->tenant ?: base ? base->tenant : "");
        s->type = g_strdup(c->type ?: g ? g->settings->type : base->type);
        s->count = c->has_count ? c->count : base ? base->count : 1;
        s->optional = c->has_optional ? c->optional : base && base->optional;
        s->generation = 1;   /* an update's: model_attachment_update() */
        if (c->mac && *c->mac)
                s->macs = g_strdupv((char *[]) { (char *) c->mac, NULL });
        /* MACs devpass made stay while what they were made for does. */
        else if (!c->mac && base && base->macs && s->count == base->count && g_str_equal(s->type, base->type))
                s->macs = g_strdupv(base->macs);
        return g_steal_pointer(&s);
}

GPtrArray *model_attachments_settle(Model *m, const ModelAttachmentChange *changes, guint n, GError **error) {
        g_autoptr(GPtrArray) settled = g_ptr_array_new_with_free_func((GDestroyNotify) store_attachment_free);

        /* Before b: its cleanup needs batch_init(). */
        if (!model_room_check(g_hash_table_size(m->attachments), n, MODEL_MAX_ATTACHMENTS, "attachments", error))
                return NULL;
        g_auto(Batch) b;
        batch_init(&b);
        for (guint i = 0; i < n; i++) {
                StoreAttachment *s = attachment_merge(m, &changes[i], NULL, error);
                if (!s)
                        return NULL;
                g_ptr_array_add(settled, s);
                if (!attachment_check(m, &b, s, NULL, error))
                        return NULL;
        }
        return g_steal_pointer(&settled);
}

StoreAttachment *model_attachment_settle(Model *m, ModelAttachment *a, const ModelAttachmentChange *c,
                                         GError **error) {
        g_autoptr(StoreAttachment) s = attachment_merge(m, c, a->settings, error);
        g_auto(Batch) b;

        batch_init(&b);
        return s && attachment_check(m, &b, s, a, error) ? g_steal_pointer(&s) : NULL;
}

GPtrArray *model_attachments_create(Model *m, GPtrArray *settings, GError **error) {
        bool ok = true;

        if (!model_room_check(g_hash_table_size(m->attachments), settings->len, MODEL_MAX_ATTACHMENTS,
                              "attachments", error))
                return NULL;
        g_auto(Batch) b;
        batch_init(&b);
        for (guint i = 0; i < settings->len; i++)
                if (!attachment_check(m, &b, settings->pdata[i], NULL, error))
                        return NULL;
        for (guint i = 0; i < settings->len; i++)
                attachment_complete(m, &b, settings->pdata[i]);
        if (!store_begin(m->store, error))
                return NULL;
        for (guint i = 0; ok && i < settings->len; i++)
                ok = store_attachment_insert(m->store, settings->pdata[i], error);
        if (!model_commit_or_rollback(m, ok, error))
                return NULL;

        GPtrArray *made = g_ptr_array_new();
        for (guint i = 0; i < settings->len; i++) {
                ModelAttachment *a = model_attachment_new(m, g_steal_pointer(&settings->pdata[i]));
                model_attachment_add(m, a);
                g_ptr_array_add(m->changes->added, g_strdup(a->path));
                g_ptr_array_add(made, a);
        }
        model_attachments_refresh(m, NULL);
        return made;
}

static guint attachment_changes(const StoreAttachment *o, const StoreAttachment *s) {
        guint bits = 0;

        if (!g_str_equal(o->name, s->name))
                bits |= PROP_BIT(ATTACHMENT_PROP_NAME);
        if (!g_str_equal(o->description, s->description))
                bits |= PROP_BIT(ATTACHMENT_PROP_DESCRIPTION);
        if (o->group_id != s->group_id)
                bits |= PROP_BIT(ATTACHMENT_PROP_GROUP) | PROP_BIT(ATTACHMENT_PROP_TYPE);
        if (o->count != s->count)
                bits |= PROP_BIT(ATTACHMENT_PROP_COUNT);
        if (o->optional != s->optional)
                bits |= PROP_BIT(ATTACHMENT_PROP_OPTIONAL);
        if (!g_strv_equal((const char *const *) (o->macs ?: (char *[]) { NULL }),
                          (const char *const *) (s->macs ?: (char *[]) { NULL })))
                bits |= PROP_BIT(ATTACHMENT_PROP_MACS);
        return bits;
}

bool model_attachment_update(Model *m, ModelAttachment *a, StoreAttachment *settings, GError **error) {
        g_autoptr(StoreAttachment) s = settings;
        g_auto(Batch) b;

        batch_init(&b);
        s->id = a->id;
        /* A change is seen at the machine's next start. */
        s->generation = a->settings->generation + 1;
        s->claimed_generation = a->settings->claimed_generation;
        if (!attachment_check(m, &b, s, a, error))
                return false;
        attachment_complete(m, &b, s);
        if (!store_begin(m->store, error) || !model_commit_or_rollback(m, store_attachment_update(m->store, s, error), error))
                return false;

        model_attachment_settings_set(m, a, g_steal_pointer(&s));
        model_attachments_refresh(m, NULL);
        return true;
}

void model_attachment_settings_set(Model *m, ModelAttachment *a, StoreAttachment *s) {
        guint bits = attachment_changes(a->settings, s);
        g_autofree char *owner = model_attachment_owner(s);

        model_macs_disown(m, a->settings->macs);
        model_machine_unindex(m, a);
        store_attachment_free(a->settings);
        a->settings = s;
        a->group = model_attachment_group(m, a->settings);
        model_machine_index(m, a);
        model_macs_own(m, a->settings->macs, owner);
        model_mark(m->changes->attachments, a, bits);
}

bool model_attachment_delete(Model *m, ModelAttachment *a, GError **error) {
        if (!store_begin(m->store, error) ||
            !model_commit_or_rollback(m, store_attachment_delete(m->store, a->id, error), error))
                return false;
        /* The machine keeps what it holds (the claims lose their link). */
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, m->claims);
        while (g_hash_table_iter_next(&it, NULL, &value))
                if (((StoreClaim *) value)->attachment_id == a->id)
                        ((StoreClaim *) value)->attachment_id = 0;
        model_attachment_forget(m, a);
        return true;
}

void model_attachment_forget(Model *m, ModelAttachment *a) {
        g_hash_table_remove(m->changes->attachments, a);
        model_mark_removed(m, a->path, MODEL_OBJECT_ATTACHMENT);
        model_attachment_remove(m, a);
}
