/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A libvirt domain's XML as the qemu hook and devpass-libvirt read it
 * (libvirt/domain-xml.c): whatever a domain's definition holds, reading
 * it never crashes, and a new definition with a claim of one unit either
 * is refused with a reason or parses again, naming exactly that unit in
 * devpass's metadata. */
#include <stdlib.h>

#include "domain-xml.h"
#include "fuzz.h"

#define UNIT_ADDRESS "0000:e1:00.0"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_logs_quiet();
        return 0;
}

static GPtrArray *one_unit(void) {
        GPtrArray *claims = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_claim_free);
        CtlClaim *c = ctl_claim_new(claims, "/org/devpass1/attachments/1", "PCI GPUs 1", "pci");

        ctl_claim_add(c->devices, UNIT_ADDRESS, 40, "");
        ctl_claim_add(c->devices, "0000:e1:00.1", 40, "");
        return claims;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        g_autofree char *s = fuzz_string(data, size);
        g_autofree char *error = NULL;
        g_autoptr(xmlDoc) doc = dpl_domain_parse(s, &error);

        if (!doc) {
                if (!error)
                        abort();
                return 0;
        }
        g_free(dpl_domain_uuid(doc));
        g_array_unref(dpl_domain_hostdevs(doc));
        g_array_unref(dpl_domain_managed(doc));
        (void) dpl_domain_guest_slot(doc);

        g_autoptr(GPtrArray) claims = one_unit();
        g_autofree char *replace_error = NULL;
        g_autofree char *xml = dpl_domain_replace(doc, claims, &replace_error);
        if (!xml) {
                if (!replace_error)
                        abort();
                return 0;
        }
        g_autofree char *again_error = NULL;
        g_autoptr(xmlDoc) again = dpl_domain_parse(xml, &again_error);
        if (!again)
                abort();
        g_autoptr(GArray) managed = dpl_domain_managed(again);
        if (managed->len != 2)
                abort();
        return 0;
}
