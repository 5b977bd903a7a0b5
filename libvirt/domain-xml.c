/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A libvirt domain's XML: its PCI host devices, devpass's metadata, and
 * the new definition with a claim's devices in place of devpass's old ones. */
#include <string.h>
#include <libxml/parser.h>

#include "domain-xml.h"

static bool is_element(const xmlNode *n, const char *name) {
        return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *) name);
}

static xmlNode *child_element(const xmlNode *parent, const char *name) {
        for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
                if (is_element(n, name))
                        return n;
        return NULL;
}

/* Whether the attribute is there with that value. */
static bool attr_equal(xmlNode *n, const char *name, const char *value) {
        xmlChar *v = xmlGetProp(n, (const xmlChar *) name);
        bool equal = v && xmlStrEqual(v, (const xmlChar *) value);
        xmlFree(v);
        return equal;
}

/* A number as libvirt reads one (base 0: "0x17", "23"), at most max;
 * absent is dflt, -1 when absent without a default or malformed. */
static int64_t attr_number(xmlNode *n, const char *name, uint64_t max, int64_t dflt) {
        xmlChar *v = xmlGetProp(n, (const xmlChar *) name);
        char *end = NULL;
        int64_t result = dflt;

        if (v) {
                guint64 x = g_ascii_strtoull((const char *) v, &end, 0);
                result = v[0] && end && !*end && x <= max ? (int64_t) x : -1;
        }
        xmlFree(v);
        return result;
}

xmlDoc *dpl_domain_parse(const char *xml, char **ret_error) {
        /* No network, no entities expanded: the XML is the caller's. */
        xmlDoc *doc = xmlReadMemory(xml, (int) strnlen(xml, G_MAXINT), "domain.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

        if (!root || !is_element(root, "domain")) {
                *ret_error = g_strdup(doc ? "the XML is no <domain>" : "the domain's XML does not parse");
                xmlFreeDoc(doc);
                return NULL;
        }
        return doc;
}

char *dpl_domain_format(xmlDoc *doc) {
        xmlChar *text = NULL;
        int size = 0;

        xmlDocDumpFormatMemoryEnc(doc, &text, &size, "UTF-8", 1);
        char *copy = g_strndup((const char *) text, (gsize) size);
        xmlFree(text);
        return copy;
}

char *dpl_domain_uuid(xmlDoc *doc) {
        xmlNode *uuid = child_element(xmlDocGetRootElement(doc), "uuid");
        xmlChar *text = uuid ? xmlNodeGetContent(uuid) : NULL;
        char *copy = text ? g_strstrip(g_strdup((const char *) text)) : NULL;

        xmlFree(text);
        return copy;
}

/* <source><address domain bus slot function/></source> of a host device. */
static bool source_address(xmlNode *dev, DpAddress *ret) {
        xmlNode *address = child_element(child_element(dev, "source"), "address");

        if (!address)
                return false;
        int64_t domain = attr_number(address, "domain", G_MAXUINT32, 0), bus = attr_number(address, "bus", 0xff, -1),
                slot = attr_number(address, "slot", 0x1f, -1), function = attr_number(address, "function", 7, -1);
        if (domain < 0 || bus < 0 || slot < 0 || function < 0)
                return false;
        *ret = (DpAddress) { .domain = (uint32_t) domain, .bus = (uint8_t) bus, .slot = (uint8_t) slot,
                             .function = (uint8_t) function };
        return true;
}

static bool is_pci_hostdev(xmlNode *n) {
        if (is_element(n, "hostdev")) {
                /* mode is subsystem when absent. */
                xmlChar *mode = xmlGetProp(n, (const xmlChar *) "mode");
                bool subsystem = !mode || xmlStrEqual(mode, (const xmlChar *) "subsystem");
                xmlFree(mode);
                return subsystem && attr_equal(n, "type", "pci");
        }
        return is_element(n, "interface") && attr_equal(n, "type", "hostdev");
}

GArray *dpl_domain_hostdevs(xmlDoc *doc) {
        GArray *hostdevs = g_array_new(FALSE, FALSE, sizeof(DplHostdev));
        xmlNode *devices = child_element(xmlDocGetRootElement(doc), "devices");

        for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next) {
                DplHostdev h = { .node = n };
                if (is_pci_hostdev(n) && source_address(n, &h.address)) {
                        h.managed = attr_equal(n, "managed", "yes");
                        g_array_append_val(hostdevs, h);
                }
        }
        return hostdevs;
}

/* devpass's element in <metadata>, NULL when there is none. */
static xmlNode *managed_element(xmlDoc *doc) {
        xmlNode *metadata = child_element(xmlDocGetRootElement(doc), "metadata");

        for (xmlNode *n = metadata ? metadata->children : NULL; n; n = n->next)
                if (is_element(n, "devices") && n->ns && xmlStrEqual(n->ns->href, (const xmlChar *) DPL_NAMESPACE))
                        return n;
        return NULL;
}

GArray *dpl_domain_managed(xmlDoc *doc) {
        GArray *addresses = g_array_new(FALSE, FALSE, sizeof(DpAddress));
        xmlNode *managed = managed_element(doc);

        for (xmlNode *n = managed ? managed->children : NULL; n; n = n->next) {
                xmlChar *text = is_element(n, "device") ? xmlGetProp(n, (const xmlChar *) "address") : NULL;
                DpAddress a;
                if (text && address_parse((const char *) text, &a))
                        g_array_append_val(addresses, a);
                xmlFree(text);
        }
        return addresses;
}

static bool address_in(const GArray *addresses, const DpAddress *a) {
        for (guint i = 0; i < addresses->len; i++)
                if (address_compare(&g_array_index(addresses, DpAddress, i), a) == 0)
                        return true;
        return false;
}

/* The highest bus that some element of the tree under n sits on. */
static int64_t max_guest_bus(xmlNode *n, int64_t max) {
        for (; n; n = n->next) {
                if (is_element(n, "address") && attr_equal(n, "type", "pci"))
                        max = MAX(max, attr_number(n, "bus", 0xff, 0));
                max = max_guest_bus(n->children, max);
        }
        return max;
}

CtlGuestSlot dpl_domain_guest_slot(xmlDoc *doc) {
        xmlNode *root = xmlDocGetRootElement(doc), *devices = child_element(root, "devices");
        xmlNode *type = child_element(child_element(root, "os"), "type");
        xmlChar *machine = type ? xmlGetProp(type, (const xmlChar *) "machine") : NULL;
        /* i440fx ("pc", "pc-i440fx-7.2") has PCI bridges, whose slot 0 libvirt refuses. */
        bool bridges = machine && g_str_has_prefix((const char *) machine, "pc") &&
                       !strstr((const char *) machine, "q35");
        const char *fits = bridges ? "pci-bridge" : "pcie-root-port";
        int64_t bus = max_guest_bus(devices ? devices->children : NULL, 0);

        xmlFree(machine);
        for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next)
                if (is_element(n, "controller") && attr_equal(n, "type", "pci") && !attr_equal(n, "model", fits) &&
                    !attr_equal(n, "model", "pcie-switch-downstream-port"))
                        bus = MAX(bus, attr_number(n, "index", 0xff, 0));
        return (CtlGuestSlot) { .bus = (unsigned) bus + 1, .slot = bridges ? 1 : 0 };
}

static void set_managed(xmlDoc *doc, const GPtrArray *claims) {
        xmlNode *root = xmlDocGetRootElement(doc), *old = managed_element(doc);
        xmlNode *metadata = child_element(root, "metadata");

        if (!metadata)
                metadata = xmlNewChild(root, NULL, (const xmlChar *) "metadata", NULL);
        if (old) {
                xmlUnlinkNode(old);
                xmlFreeNode(old);
        }
        xmlNode *managed = xmlNewChild(metadata, NULL, (const xmlChar *) "devices", NULL);
        xmlSetNs(managed, xmlNewNs(managed, (const xmlChar *) DPL_NAMESPACE, (const xmlChar *) DPL_NAMESPACE_PREFIX));
        for (guint i = 0; i < claims->len; i++) {
                const CtlClaim *c = claims->pdata[i];
                for (guint j = 0; j < c->devices->len; j++) {
                        const CtlClaimDevice *d = c->devices->pdata[j];
                        xmlNode *device = xmlNewChild(managed, managed->ns, (const xmlChar *) "device", NULL);
                        xmlSetProp(device, (const xmlChar *) "address", (const xmlChar *) d->address);
                }
        }
}

/* The elements of fragment (hostdev-xml's lines) added to <devices>. */
static bool append_devices(xmlDoc *doc, const char *fragment, char **ret_error) {
        g_autofree char *wrapped = g_strconcat("<devices>", fragment, "</devices>", NULL);
        g_autoptr(xmlDoc) parsed = xmlReadMemory(wrapped, (int) strlen(wrapped), "devices.xml", NULL,
                                                 XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR);
        xmlNode *root = xmlDocGetRootElement(doc);
        xmlNode *devices = child_element(root, "devices") ?: xmlNewChild(root, NULL, (const xmlChar *) "devices", NULL);

        if (!parsed)
                return (*ret_error = g_strdup("the devices' XML does not parse")), false;
        for (xmlNode *n = xmlDocGetRootElement(parsed)->children; n; n = n->next)
                if (n->type == XML_ELEMENT_NODE)
                        xmlAddChild(devices, xmlDocCopyNode(n, doc, 1));
        return true;
}

char *dpl_domain_replace(xmlDoc *doc, const GPtrArray *claims, char **ret_error) {
        g_autoptr(xmlDoc) copy = xmlCopyDoc(doc, 1);
        g_autoptr(GArray) managed = dpl_domain_managed(copy), hostdevs = dpl_domain_hostdevs(copy);
        g_autoptr(GArray) kept = g_array_new(FALSE, FALSE, sizeof(DpAddress));
        g_autofree char *fragment = NULL;

        for (guint i = 0; i < hostdevs->len; i++) {
                DplHostdev *h = &g_array_index(hostdevs, DplHostdev, i);
                if (!address_in(managed, &h->address)) {
                        g_array_append_val(kept, h->address);
                        continue;
                }
                xmlUnlinkNode(h->node);
                xmlFreeNode(h->node);
        }
        for (guint i = 0; i < claims->len; i++) {
                const CtlClaim *c = claims->pdata[i];
                for (guint j = 0; j < c->devices->len; j++) {
                        const CtlClaimDevice *d = c->devices->pdata[j];
                        DpAddress a;
                        if (address_parse(d->address, &a) && address_in(kept, &a)) {
                                *ret_error = g_strdup_printf("the domain has %s as a host device of its own, and "
                                                             "devpass gives it to the domain ('%s'): remove it "
                                                             "from the domain (virsh edit)", d->address, c->name);
                                return NULL;
                        }
                }
        }
        if (!ctl_claims_hostdev_xml(claims, dpl_domain_guest_slot(copy), &fragment, ret_error) ||
            !append_devices(copy, fragment, ret_error))
                return NULL;
        set_managed(copy, claims);
        return dpl_domain_format(copy);
}
