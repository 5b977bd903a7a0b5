/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safety guard's network: every netdev below a function (a virtio
 * NIC's sits below virtioN, a USB NIC's below the controller's ports),
 * every interface stacked on it (bridge, bond, team, VLAN, macvlan), and
 * which of them carry addresses or a default route. */
#include "safety-private.h"

#include <string.h>

/* A VLAN on a bond in a bridge is three; a cycle of upper links (a broken
 * or hostile sysfs) must end. */
#define SAFETY_UPPER_DEPTH 8

/* What an interface carries, from the routing and address tables. */
typedef enum {
        SAFETY_NET_ADDRESSES = 1 << 0,
        SAFETY_NET_DEFAULT = 1 << 1,
} SafetyNetFlags;

typedef struct {
        char *name;
        bool master;   /* its master (bridge, bond, team), not only an upper (VLAN, macvlan) */
} SafetyUpper;

static void safety_upper_free(SafetyUpper *u) {
        g_free(u->name);
        g_free(u);
}

static void safety_net_mark(GHashTable *net, const char *ifname, SafetyNetFlags flags) {
        if (strcmp(ifname, "lo") == 0)
                return;
        SafetyNetFlags old = GPOINTER_TO_UINT(g_hash_table_lookup(net, ifname));
        g_hash_table_replace(net, g_strdup(ifname), GUINT_TO_POINTER(old | flags));
}

/* /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask ...".
 * The kernel adds a prefix route for every configured IPv4 address, so
 * any route names an interface with addresses. */
static void safety_read_route(const char *root, SafetyTables *t) {
        g_auto(GStrv) lines = safety_read_lines(t, root, "proc/net/route", false, NULL);

        for (guint i = 1; lines && lines[0] && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 8)
                        continue;
                bool def = strcmp(f[1], "00000000") == 0 && strcmp(f[7], "00000000") == 0;
                safety_net_mark(t->net, f[0], SAFETY_NET_ADDRESSES | (def ? SAFETY_NET_DEFAULT : 0));
        }
}

/* /proc/net/if_inet6: "addr idx prefixlen scope flags name". Every
 * interface that is up has a link-local address: that alone is no loss.
 * The file is missing when the kernel runs without IPv6 (ipv6.disable=1,
 * or no CONFIG_IPV6): then no interface has an IPv6 address to lose, and
 * that is no reason to refuse. Returns whether IPv6 is on. */
static bool safety_read_inet6(const char *root, SafetyTables *t) {
        bool missing = false;
        g_auto(GStrv) lines = safety_read_lines(t, root, "proc/net/if_inet6", true, &missing);

        for (guint i = 0; lines && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 6)
                        continue;
                if (g_ascii_strtoull(f[3], NULL, 16) == 0x20)
                        continue;
                safety_net_mark(t->net, f[5], SAFETY_NET_ADDRESSES);
        }
        return !missing;
}

/* /proc/net/ipv6_route: "dest plen src splen gateway metric refcnt use
 * flags name". Only ::/0 counts: every interface has fe80::/64 and ff00::/8.
 * The kernel makes it with if_inet6: missing alone, it is unreadable. */
static void safety_read_ipv6_route(const char *root, SafetyTables *t, bool ipv6) {
        g_auto(GStrv) lines = safety_read_lines(t, root, "proc/net/ipv6_route", !ipv6, NULL);

        for (guint i = 0; lines && lines[i]; i++) {
                guint n;
                g_auto(GStrv) f = safety_fields(lines[i], &n);
                if (n < 10)
                        continue;
                if (strcmp(f[0], "00000000000000000000000000000000") == 0 && strcmp(f[1], "00") == 0)
                        safety_net_mark(t->net, f[n - 1], SAFETY_NET_DEFAULT);
        }
}

void safety_net_read(const char *root, SafetyTables *t) {
        t->net = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        safety_read_route(root, t);
        safety_read_ipv6_route(root, t, safety_read_inet6(root, t));
        t->netdevs = safety_read_links(t, root, "sys/class/net", true);
}

static int safety_upper_compare(gconstpointer a, gconstpointer b) {
        return strcmp((*(SafetyUpper *const *) a)->name, (*(SafetyUpper *const *) b)->name);
}

static SafetyUpper *safety_upper_find(GPtrArray *uppers, const char *name) {
        for (guint i = 0; i < uppers->len; i++)
                if (g_str_equal(((SafetyUpper *) uppers->pdata[i])->name, name))
                        return uppers->pdata[i];
        return NULL;
}

/* The interfaces stacked directly on ifname, sorted: its upper_<name>
 * links and its master link (which the kernel shows as an upper too). */
static GPtrArray *safety_net_uppers(const char *root, const char *ifname) {
        g_autofree char *dir = g_build_filename(root, "sys/class/net", ifname, NULL);
        g_autoptr(GPtrArray) entries = safety_list_dir(dir);
        GPtrArray *uppers = g_ptr_array_new_with_free_func((GDestroyNotify) safety_upper_free);

        for (guint i = 0; i < entries->len; i++) {
                const char *entry = entries->pdata[i];
                if (g_str_has_prefix(entry, "upper_") && safety_name_valid(entry + strlen("upper_"))) {
                        SafetyUpper *u = g_new0(SafetyUpper, 1);
                        u->name = g_strdup(entry + strlen("upper_"));
                        g_ptr_array_add(uppers, u);
                }
        }
        g_autofree char *master_link = g_build_filename(dir, "master", NULL);
        g_autofree char *target = g_file_read_link(master_link, NULL);
        g_autofree char *master = target ? g_path_get_basename(target) : NULL;
        if (master && safety_name_valid(master)) {
                SafetyUpper *u = safety_upper_find(uppers, master);
                if (!u) {
                        u = g_new0(SafetyUpper, 1);
                        u->name = g_steal_pointer(&master);
                        g_ptr_array_add(uppers, u);
                }
                u->master = true;
        }
        g_ptr_array_sort(uppers, safety_upper_compare);
        return uppers;
}

/* Reports ifname and, depth first, what is stacked on it; path says how
 * the device reaches it ("eth0, enslaved to bond0, enslaved to br0"). */
static void safety_net_walk(const char *root, const Device *d, const SafetyTables *t, const char *ifname,
                            GString *path, guint depth, GHashTable *seen, GPtrArray *findings) {
        if (depth > SAFETY_UPPER_DEPTH || g_hash_table_contains(seen, ifname))
                return;
        g_hash_table_add(seen, g_strdup(ifname));

        SafetyNetFlags flags = GPOINTER_TO_UINT(g_hash_table_lookup(t->net, ifname));
        g_autofree char *name = safety_clean(ifname);
        if (flags & SAFETY_NET_DEFAULT)
                safety_add(findings, SAFETY_DEFAULT_ROUTE, d, name,
                           "%s backs %s, which carries the default route: the node would lose its network",
                           d->address_str, path->str);
        else if (flags & SAFETY_NET_ADDRESSES)
                safety_add(findings, SAFETY_NETWORK, d, name,
                           "%s backs %s, which carries addresses: the host would lose that network",
                           d->address_str, path->str);

        g_autoptr(GPtrArray) uppers = safety_net_uppers(root, ifname);
        for (guint i = 0; i < uppers->len; i++) {
                const SafetyUpper *u = uppers->pdata[i];
                g_autofree char *upper = safety_clean(u->name);
                gsize len = path->len;
                g_string_append_printf(path, ", %s %s", u->master ? "enslaved to" : "under", upper);
                safety_net_walk(root, d, t, u->name, path, depth + 1, seen, findings);
                g_string_truncate(path, len);
        }
}

void safety_net_check(const char *root, const Device *d, const SafetyTables *t, GPtrArray *findings) {
        /* an upper shared by two of the device's netdevs is named once */
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        for (guint i = 0; i < t->netdevs->len; i++) {
                const SafetyLink *l = t->netdevs->pdata[i];
                if (!safety_link_below(l->target, d->address_str))
                        continue;
                g_autofree char *name = safety_clean(l->name);
                g_autoptr(GString) path = g_string_new(name);
                safety_net_walk(root, d, t, l->name, path, 0, seen, findings);
        }
}
