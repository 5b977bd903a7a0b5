/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The model's insides, shared by model.c (objects, lookups),
 * model-view.c (what devices, groups and rules show) and model-edit.c
 * (changes of settings). */

#include "model.h"

struct Model {
        Store *store;
        Inventory *inventory;
        char *node;
        GHashTable *groups;        /* id -> ModelGroup* */
        GHashTable *rules;         /* id -> ModelRule* */
        GHashTable *group_paths;   /* path -> ModelGroup* */
        GHashTable *rule_paths;    /* path -> ModelRule* */
        GHashTable *intents;       /* address -> group id (gint64*) */
        GHashTable *missing;       /* path -> Device*, owned */
        GHashTable *reboot;        /* address -> reason */
        GHashTable *bind_errors;   /* address -> reason */
        ModelChanges *changes;
};

void model_mark(GHashTable *table, gpointer object, guint bits);
void model_mark_removed(Model *m, const char *path, const char *interface);
gint64 *model_id_new(int64_t id);
ModelGroup *model_group_new(StoreGroup *settings);
void model_group_free(ModelGroup *g);
void model_group_add(Model *m, ModelGroup *g);
ModelRule *model_rule_new(StoreRule *settings, GPtrArray *conditions, ModelGroup *g);
void model_rule_free(ModelRule *r);
void model_rule_attach(ModelRule *r, ModelGroup *g);
void model_rule_add(Model *m, ModelRule *r);
