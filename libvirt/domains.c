/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpass-libvirt's verbs, between libvirt and devpassd. */
#include <errno.h>      /* program_invocation_short_name */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "domain-xml.h"
#include "domains.h"

static void quiet(void *data, virErrorPtr error) {
}

void dpl_quiet_libvirt(void) {
        virSetErrorFunc(NULL, quiet);
}

/* The last libvirt error, or what failed when libvirt said nothing. */
static int fail_libvirt(const char *name, const char *what) {
        const char *message = virGetLastErrorMessage();

        fprintf(stderr, "%s: %s: %s: %s\n", program_invocation_short_name, name, what,
                message && *message ? message : "failed");
        return CTL_EXIT_FAILURE;
}

static virDomainPtr lookup(virConnectPtr conn, const char *name, int *code) {
        virDomainPtr dom = virDomainLookupByName(conn, name);

        if (!dom) {
                virErrorPtr e = virGetLastError();
                bool missing = e && e->code == VIR_ERR_NO_DOMAIN;
                *code = missing ? CTL_EXIT_NOT_FOUND : fail_libvirt(name, "cannot look the domain up");
                if (missing)
                        fprintf(stderr, "%s: %s: no such domain (virsh list --all lists them)\n",
                                program_invocation_short_name, name);
        }
        return dom;
}

static int release(sd_bus *bus, const char *name) {
        g_autoptr(sd_bus_message) m = NULL;
        int r, code;

        if ((code = ctl_new_call(bus, "/org/devpass1", "org.devpass1.Manager", "Release", &m)) != CTL_EXIT_OK)
                return code;
        if ((r = sd_bus_message_append_basic(m, 's', name)) < 0)
                return ctl_fail("Release", NULL, r);
        return ctl_call(bus, m, NULL);
}

/* Claim for the domain (by name, with its UUID), each attachment's Type
 * read too: the XML of sriov-nic is an interface. */
static int claim(sd_bus *bus, const char *name, const char *uuid, GPtrArray **ret) {
        const CtlClaimOptions options = { .numa_node = -1, .uuid = uuid };
        g_autoptr(GPtrArray) claims = NULL;
        int r, code;

        if ((code = ctl_claim(bus, name, &options, &claims)) != CTL_EXIT_OK)
                return code;
        for (guint i = 0; i < claims->len; i++) {
                CtlClaim *c = claims->pdata[i];
                g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
                char *type = NULL;
                if ((r = sd_bus_get_property_string(bus, "org.devpass1", c->path, "org.devpass1.Attachment", "Type",
                                                    &error, &type)) < 0)
                        return ctl_fail("Type", &error, r);
                c->type = g_strdup(type);
                free(type);
        }
        *ret = g_steal_pointer(&claims);
        return CTL_EXIT_OK;
}

/* The new definition, defined and started; an exit code, reported, when
 * any of it fails (the caller releases the claim). */
static int define_and_start(virConnectPtr conn, const char *name, const char *old_xml, const GPtrArray *claims) {
        g_autofree char *error = NULL, *xml = NULL;
        g_autoptr(xmlDoc) doc = dpl_domain_parse(old_xml, &error);

        if (!doc || !(xml = dpl_domain_replace(doc, claims, &error))) {
                fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, name, error);
                return CTL_EXIT_FAILURE;
        }
        g_autoptr(virDomain) defined = virDomainDefineXML(conn, xml);
        if (!defined)
                return fail_libvirt(name, "cannot define the domain with its devices");
        if (virDomainCreate(defined) == 0)
                return CTL_EXIT_OK;
        int code = fail_libvirt(name, "cannot start the domain");
        /* As it was: the devices are not the domain's after all. */
        g_autoptr(virDomain) restored = virDomainDefineXML(conn, old_xml);
        if (!restored)
                fail_libvirt(name, "cannot restore the definition it had");
        return code;
}

int dpl_start(virConnectPtr conn, sd_bus *bus, const char *name) {
        g_autoptr(GPtrArray) claims = NULL;
        char uuid[VIR_UUID_STRING_BUFLEN];
        int code;

        g_autoptr(virDomain) dom = lookup(conn, name, &code);
        if (!dom)
                return code;
        if (virDomainIsActive(dom) == 1) {
                fprintf(stderr, "%s: %s: the domain is running (devpass-libvirt stop stops it)\n",
                        program_invocation_short_name, name);
                return CTL_EXIT_FAILURE;
        }
        if (virDomainGetUUIDString(dom, uuid) < 0)
                return fail_libvirt(name, "cannot read the domain's UUID");
        /* SECURE: a definition defined again keeps its passwords. */
        g_autofree char *old_xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        if (!old_xml)
                return fail_libvirt(name, "cannot read the domain's definition");
        /* A shut-off domain's claim is stale (the release hook missed it,
         * or its attachments changed since): claim afresh. */
        if ((code = release(bus, name)) != CTL_EXIT_OK || (code = claim(bus, name, uuid, &claims)) != CTL_EXIT_OK)
                return code;
        if ((code = define_and_start(conn, name, old_xml, claims)) != CTL_EXIT_OK)
                (void) release(bus, name);
        return code;
}

static int wait_stopped(virDomainPtr dom, const char *name, unsigned timeout_s) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_s * G_USEC_PER_SEC;
        int active;

        /* libvirt's events need an event loop; a shutdown takes seconds,
         * a look every 100 ms costs nothing. */
        while ((active = virDomainIsActive(dom)) == 1 && g_get_monotonic_time() < deadline)
                g_usleep(100 * 1000);
        if (active < 0)
                return fail_libvirt(name, "cannot read the domain's state");
        if (active) {
                fprintf(stderr, "%s: %s: the domain still runs after %u s; its devices stay claimed "
                        "(devpass-libvirt stop --force destroys it)\n", program_invocation_short_name, name, timeout_s);
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

int dpl_stop(virConnectPtr conn, sd_bus *bus, const char *name, bool force, unsigned timeout_s) {
        int code;

        g_autoptr(virDomain) dom = lookup(conn, name, &code);
        if (!dom)
                return code;
        if (virDomainIsActive(dom) == 1) {
                if ((force ? virDomainDestroy(dom) : virDomainShutdown(dom)) < 0 && virDomainIsActive(dom) == 1)
                        return fail_libvirt(name, force ? "cannot destroy the domain" : "cannot shut the domain down");
                if ((code = wait_stopped(dom, name, timeout_s)) != CTL_EXIT_OK)
                        return code;
        }
        return release(bus, name);
}

int dpl_sync(virConnectPtr conn, sd_bus *bus) {
        g_autoptr(CtlObjects) objects = NULL;
        g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);
        int code = CTL_EXIT_OK;

        if (ctl_get_objects(bus, &objects, &code) < 0)
                return code;
        for (guint i = 0; i < objects->attachments->len; i++) {
                const CtlProps *p = ((CtlObject *) objects->attachments->pdata[i])->props;
                const char *machine = ctl_props_str(p, "Machine");
                if (!ctl_props_strv(p, "Devices") || !g_hash_table_add(done, (gpointer) machine))
                        continue;
                /* Not libvirt's (plain QEMU, another manager): not ours to judge. */
                g_autoptr(virDomain) dom = virDomainLookupByName(conn, machine);
                if (!dom || virDomainIsActive(dom) != 0)
                        continue;
                int r = release(bus, machine);
                if (r == CTL_EXIT_OK)
                        printf("Released the devices of %s: the domain is shut off\n", machine);
                code = code != CTL_EXIT_OK ? code : r;
        }
        return code;
}
