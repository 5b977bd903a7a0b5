/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The call generator of test-api-fuzz: calls of the methods and
 * properties of the contract (dbus/org.devpass1.xml) with generated
 * arguments. Call number n is a function of the seed and n alone, so one
 * call, or the calls of one daemon, can be replayed without the others. */

#include <stdbool.h>
#include <gio/gio.h>
#include <glib.h>

typedef enum {
        FUZZ_MANAGER,
        FUZZ_DEVICE,       /* present */
        FUZZ_MISSING,      /* passed through, then unplugged */
        FUZZ_GROUP,
        FUZZ_RULE,
        FUZZ_ATTACHMENT,
        FUZZ_KINDS,
} FuzzKind;

typedef struct {
        guint number;
        char *path, *iface, *method;
        GVariant *args;            /* a tuple (not floating), or NULL for none */
        bool as_nobody;
        bool wrong_signature;      /* args do not have the method's signature */
        bool never_exists;         /* no object is ever at path */
        char *prop_iface, *prop_name; /* Properties.*: a contract interface asked about, its property */
} FuzzCall;

typedef struct FuzzGen FuzzGen;

FuzzGen *fuzz_gen_new(GDBusNodeInfo *api, guint32 seed);
void fuzz_gen_free(FuzzGen *g);
guint32 fuzz_gen_seed(FuzzGen *g);
/* The fixture's objects, which the calls aim at most. */
void fuzz_gen_set_objects(FuzzGen *g, const char *group, const char *rule, const char *attachment);
const char *fuzz_gen_object(FuzzGen *g, FuzzKind kind);

/* Call number n. */
FuzzCall *fuzz_gen_call(FuzzGen *g, guint n);
void fuzz_call_free(FuzzCall *call);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FuzzCall, fuzz_call_free)
/* "Iface.Method on PATH as root: ARGS", ARGS cut at a few hundred
 * characters (with the full size said). */
char *fuzz_call_describe(const FuzzCall *call);
