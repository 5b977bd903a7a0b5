/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "names.h"

#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

struct Names {
        struct pci_access *pacc;
        bool loaded;
};

/* libpci's error callback must not return (it is declared noreturn and the
 * code after its call sites may be gone), and the default one exits the
 * process. A parse error in pci.ids jumps back here instead. libpci calls
 * it from the one thread that loads names: a static buffer is enough. */
static sigjmp_buf names_jump;

G_NORETURN G_GNUC_PRINTF(1, 2) static void names_error(char *msg, ...) {
        va_list ap;
        char buf[256];

        va_start(ap, msg);
        vsnprintf(buf, sizeof(buf), msg, ap);
        va_end(ap);
        g_warning("pci.ids: %s", g_strchomp(buf));
        siglongjmp(names_jump, 1);
}

static void names_quiet(char *msg G_GNUC_UNUSED, ...) {
}

Names *names_new(const char *ids_path) {
        Names *n = g_new0(Names, 1);

        n->pacc = pci_alloc();
        n->pacc->error = names_error;
        n->pacc->warning = names_quiet;
        n->pacc->debug = names_quiet;
        pci_set_name_list_path(n->pacc, (char *) ids_path, 0);

        /* Load now, once, where a failure can be caught. */
        if (sigsetjmp(names_jump, 0) == 0)
                n->loaded = pci_load_name_list(n->pacc) > 0;
        if (!n->loaded)
                g_warning("No device names: could not load %s; install the pci.ids package", ids_path);
        return n;
}

void names_free(Names *n) {
        if (!n)
                return;
        pci_cleanup(n->pacc);
        g_free(n);
}

/* Extra ids that a lookup does not use are ignored by libpci. */
static char *names_lookup(Names *n, int flags, int a, int b, int c, int d) {
        char buf[1024];

        if (!n->loaded)
                return g_strdup("");
        const char *r = pci_lookup_name(n->pacc, buf, sizeof(buf),
                                        flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB,
                                        a, b, c, d);
        if (!r)
                return g_strdup("");
        return text_sanitize(r, strlen(r), NULL);
}

void names_fill(Names *n, Device *d) {
        unsigned class16 = d->class_code >> 8;

        d->vendor_name = names_lookup(n, PCI_LOOKUP_VENDOR, d->vendor_id, 0, 0, 0);
        d->device_name = names_lookup(n, PCI_LOOKUP_DEVICE, d->vendor_id, d->device_id, 0, 0);
        d->subsystem_vendor_name = names_lookup(n, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR,
                                                d->subsystem_vendor_id, 0, 0, 0);
        d->subsystem_name = names_lookup(n, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE,
                                         d->vendor_id, d->device_id,
                                         d->subsystem_vendor_id, d->subsystem_device_id);
        d->class_name = names_lookup(n, PCI_LOOKUP_CLASS, class16, 0, 0, 0);
}
