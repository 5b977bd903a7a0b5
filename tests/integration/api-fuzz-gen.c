/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "api-fuzz-gen.h"

#include <stdint.h>
#include <string.h>

#define ROOT_PATH "/org/devpass1"
#define PROPERTIES "org.freedesktop.DBus.Properties"

struct FuzzGen {
        GDBusNodeInfo *api;
        guint32 seed;
        GRand *rand;
        char *objects[FUZZ_KINDS];
        GPtrArray *methods;        /* "iface\nmethod", every method of the contract */
        gsize budget;              /* bytes of strings the call being made may still have */
        bool plausible;            /* the call being made: arguments that could pass, to reach deep */
        const char *keys;          /* the call being made: the a{sv} keys its method takes */
};

/* The strings of one call: well below the bus's 32 MiB message limit
 * (the bus would drop the test's connection), and time stays bounded. */
#define CALL_BUDGET (6u << 20)

/* The GPU server's functions (tests/fixtures/gpu-server.umockdev). */
static const char *const addresses[] = {
        "0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:03.0", "0000:00:05.0", "0000:00:14.0",
        "0000:00:1c.0", "0000:b0:00.0", "0000:b0:02.0", "0000:17:00.0", "0000:17:00.1", "0000:3b:00.0",
        "0000:3b:00.1", "0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3", "0000:5e:00.0",
        "0000:03:00.0", "0000:b1:00.0", "0000:b1:00.1", "0000:04:00.0",
};

/* Paths where no object ever is: valid object paths that look like ids
 * or addresses that overflow, alias or are cut. */
static const char *const never_paths[] = {
        "/org/devpass1/devices/0000_99_00_0", "/org/devpass1/devices/0000_17_00_0_0",
        "/org/devpass1/devices/10000_17_00_0", "/org/devpass1/devices/0000_17_00_8",
        "/org/devpass1/devices/0000_17_20_0", "/org/devpass1/devices/17_00_0",
        "/org/devpass1/devices/0000_17_00_0/sub", "/org/devpass1/devices/zzzz",
        "/org/devpass1/groups/0", "/org/devpass1/groups/999999", "/org/devpass1/groups/01",
        "/org/devpass1/groups/0x1", "/org/devpass1/groups/1e0", "/org/devpass1/groups/18446744073709551617",
        "/org/devpass1/rules/4294967297", "/org/devpass1/rules/99999999999999999999999",
        "/org/devpass1/attachments/1/extra", "/org/devpass1/attachments/0", "/org/devpass1/nothing",
        "/org/devpass1/Manager", "/org/devpass2",
};

/* Paths that hold no devpass object but are no nonsense either. */
static const char *const odd_paths[] = { "/", "/org", "/org/devpass1/devices", "/org/devpass1/groups" };

static const char *const kind_dirs[] = { NULL, "devices", NULL, "groups", "rules", "attachments" };

/* The a{sv} keys of the contract, with their types. */
static const char *const known_keys[][2] = {
        { "Name", "s" },    { "Type", "s" },     { "Description", "s" }, { "Class", "s" },
        { "Conditions", "a(sss)" }, { "Node", "s" }, { "Enabled", "b" }, { "Group", "o" },
        { "Count", "u" },   { "Mac", "s" },      { "Optional", "b" },    { "Tenant", "s" },
        { "Force", "b" },   { "Release", "b" },  { "NumaNode", "i" },    { "TenantNode", "s" },
        { "Uuid", "s" },
};

/* The keys each method's a{sv} takes, as the contract says: a call has
 * them most of the time, so that it gets past the first unknown key. */
static const char *const method_keys[][2] = {
        { "Manager.CreateGroup", "Name Type Description Class" },
        { "Manager.CreateRule", "Conditions Name Node Enabled" },
        { "Manager.CreateAttachment", "Group Count Name Type Description Mac Optional Tenant" },
        { "Manager.CreateAttachments", "Group Count Name Type Description Mac Optional Tenant" },
        { "Manager.Claim", "NumaNode TenantNode Uuid" },
        { "Manager.ClaimDevices", "NumaNode TenantNode Uuid" },
        { "Manager.PassToTenant", "Group Count Name Type Description Mac" },
        { "Manager.MakePassthrough", "Group Name Type Description Class Force" },
        { "Group.Update", "Name Description Class Type" },
        { "Group.Delete", "Release" },
        { "Rule.Update", "Conditions Name Node Enabled Group" },
        { "Attachment.Update", "Count Name Description Mac Optional Group" },
};

static const char *const fields[] = {
        "address", "vendor", "device", "subsystem-vendor", "subsystem-device", "class", "driver",
        "vendor-name", "device-name", "physical-function", "numa-node", "iommu-group",
};
/* Conditions that could pass: a field, the operators it takes, values
 * of its kind ('|' between them, an empty one among them). */
static const char *const plausible_conditions[][3] = {
        { "class", "eq ne", "0300|03|0x030000|0x020000/0xff0000|02||0x" },
        { "vendor", "eq ne lt le gt ge", "10de|8086|0x1aef|ffff|" },
        { "device", "eq ne lt ge", "1aef|0x1572|" },
        { "subsystem-vendor", "eq gt", "10de|" },
        { "numa-node", "eq ne lt le gt ge", "0|1|-1|" },
        { "iommu-group", "eq ne gt", "0|3|-1|" },
        { "address", "eq ne lt le gt ge prefix suffix contains icontains regex in",
          "0000:17:00.0|17:00.*|0000:3b:02.?|3b:|*||0000:b1:00.1|0000:3b:02.0,3b:02.1|17:00.0 ,,17:00.1" },
        { "driver", "eq ne prefix contains regex", "nvidia|vfio-pci|i40e||.*" },
        { "vendor-name", "eq icontains regex", "NVIDIA Corporation|intel||(a+)+$" },
        { "physical-function", "eq ne prefix in", "0000:3b:00.1||*|0000:3b:00.0,0000:3b:00.1" },
};

static const char *const operators[] = {
        "eq", "ne", "lt", "le", "gt", "ge", "prefix", "suffix", "contains", "icontains", "regex", "in",
};

/* Words that mean something somewhere: addresses, names, types,
 * classes, ids, MACs, globs. */
static const char *const tokens[] = {
        "0000:17:00.0", "17:00.0", "0000:3b:00.1", "0000:3b:02.1", "0000:b1:00.1", "0000:00:00.0", "vm1", "vm2",
        "GPUs", "pci", "sriov-nic", "gpu", "nic", "storage", "usb", "accelerator", "other", "acme", "testnode",
        "10de", "8086", "0x0300", "03", "0300", "030000", "0x", "02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff",
        "00:00:00:00:00:00", "03:00:00:00:00:00", "*", "0000:*", "??:??.?", "[", "nvidia", "vfio-pci", "-1", "0",
        "4294967296", "0000:17:00.0 ", " 0000:17:00.0", "NVIDIA Corporation", "eq", "class", "vm3", "tnode",
        "0x0200", "0000:3b:02.*", "0000:b1:00.?", "1", "2", "0000:3b:00.1", "i40e", "iavf", "Intel",
        "Ethernet", "0000:5e:00.0", "0108", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", "win 11 gaming",
        "B\xc3\xbcro-VM", "",
};

static const char *const format_strings[] = {
        "%s%s%s%s%s%s%s%s", "%n%n%n%n", "%x%x%x%x%p%p", "%99999999s", "%1$s%2$n", "%%%%", "{0}{1}", "$(device)",
        "${HOME}", "%.2147483647d",
};

static const char *const traversals[] = {
        "../../../../etc/passwd", "/sys/bus/pci/devices/../../../../proc/self/environ", "..", ".", "/",
        "0000:17:00.0/../../driver/unbind", "./vfio-pci.list", "/dev/vfio/../../etc/shadow", "devpass.db",
};

static const char *const regexes[] = {
        "(?:(?:.*)*)*[xyz]{5}", "(a+)+$", "(", "[", "\\", ".*", "a{1000000}", "(?R)", "\\p{L}+", "(?<=a+)b",
        "^$", "((((((((((a))))))))))\\10",
};

/* Characters of more than a byte, and the troublesome ones. */
static const char *const wide[] = {
        "\xc3\xa9", "\xce\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbd",
        "\xcc\x81", "\xe2\x80\x8d", "\xe2\x80\xae", "\xc2\x85", "\xef\xbb\xbf",
};
static const guint wide_lengths[] = { 1, 39, 40, 41, 63, 64, 65, 127, 128, 255, 256, 1024 };

static const char *const signatures[] = {
        "", "s", "u", "i", "b", "o", "(s)", "a{sv}", "ao", "as", "sa{sv}", "oa{sv}", "v", "a{ss}", "a(ss)",
        "ss", "x", "d", "ay", "a(sss)", "sssa{sv}", "(sa{sv})", "aa{sv}",
};

static const char *const variant_types[] = {
        "s", "u", "i", "b", "o", "as", "a{sv}", "(ss)", "ay", "x", "t", "d", "y", "n", "q", "ao", "a(sss)", "g", "v",
};

static guint pick(FuzzGen *g, guint n) {
        return (guint) g_rand_int_range(g->rand, 0, (gint32) n);
}

static bool chance(FuzzGen *g, guint percent) {
        return pick(g, 100) < percent;
}

#define PICK(g, array) (array)[pick(g, G_N_ELEMENTS(array))]

FuzzGen *fuzz_gen_new(GDBusNodeInfo *api, guint32 seed) {
        FuzzGen *g = g_new0(FuzzGen, 1);

        g->api = g_dbus_node_info_ref(api);
        g->seed = seed;
        g->rand = g_rand_new_with_seed(seed);
        g->methods = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; api->interfaces[i]; i++)
                for (size_t k = 0; api->interfaces[i]->methods && api->interfaces[i]->methods[k]; k++)
                        g_ptr_array_add(g->methods, g_strdup_printf("%s\n%s", api->interfaces[i]->name,
                                                                     api->interfaces[i]->methods[k]->name));
        g->objects[FUZZ_MANAGER] = g_strdup(ROOT_PATH);
        g->objects[FUZZ_DEVICE] = g_strdup(ROOT_PATH "/devices/0000_17_00_0");
        g->objects[FUZZ_MISSING] = g_strdup(ROOT_PATH "/devices/0000_b1_00_1");
        fuzz_gen_set_objects(g, ROOT_PATH "/groups/1", ROOT_PATH "/rules/1", ROOT_PATH "/attachments/1");
        return g;
}

void fuzz_gen_free(FuzzGen *g) {
        for (int k = 0; k < FUZZ_KINDS; k++)
                g_free(g->objects[k]);
        g_ptr_array_unref(g->methods);
        g_rand_free(g->rand);
        g_dbus_node_info_unref(g->api);
        g_free(g);
}

guint32 fuzz_gen_seed(FuzzGen *g) {
        return g->seed;
}

void fuzz_gen_set_objects(FuzzGen *g, const char *group, const char *rule, const char *attachment) {
        g_free(g->objects[FUZZ_GROUP]);
        g_free(g->objects[FUZZ_RULE]);
        g_free(g->objects[FUZZ_ATTACHMENT]);
        g->objects[FUZZ_GROUP] = g_strdup(group);
        g->objects[FUZZ_RULE] = g_strdup(rule);
        g->objects[FUZZ_ATTACHMENT] = g_strdup(attachment);
}

const char *fuzz_gen_object(FuzzGen *g, FuzzKind kind) {
        return g->objects[kind];
}

/* ---- strings ---- */

static void append_repeated(GString *s, const char *piece, gsize total_bytes) {
        gsize n = strlen(piece);
        while (s->len + n <= total_bytes)
                g_string_append_len(s, piece, (gssize) n);
}

static char *gen_string(FuzzGen *g);

/* Up to the bus's limits, seldom: the time stays bounded. */
static char *gen_huge(FuzzGen *g) {
        static const gsize sizes[] = { 8 << 10, 64 << 10, 512 << 10, 512 << 10, 4 << 20 };
        GString *s = g_string_sized_new(sizes[G_N_ELEMENTS(sizes) - 1]);

        append_repeated(s, chance(g, 50) ? "A" : PICK(g, wide), PICK(g, sizes));
        return g_string_free(s, FALSE);
}

static char *gen_control(FuzzGen *g) {
        GString *s = g_string_new(NULL);
        guint n = 1 + pick(g, 64);

        for (guint i = 0; i < n; i++) {
                guint c = pick(g, 4);
                if (c == 0)
                        g_string_append_c(s, (char) (1 + pick(g, 31)));   /* C0, never NUL */
                else if (c == 1)
                        g_string_append_c(s, '\x7f');
                else if (c == 2)
                        g_string_append_unichar(s, 0x80 + pick(g, 32)); /* C1 */
                else
                        g_string_append_c(s, (char) ('a' + pick(g, 26)));
        }
        return g_string_free(s, FALSE);
}

static char *gen_long_address(FuzzGen *g) {
        GString *s = g_string_new(NULL);

        switch (pick(g, 5)) {
        case 0:
                append_repeated(s, "0", 1 + pick(g, 4096));
                g_string_append(s, ":17:00.0");
                break;
        case 1:
                g_string_append(s, "ffffffffffffffff:ff:1f.7");
                break;
        case 2:
                append_repeated(s, "0000:17:00.0,", 13 * (1 + pick(g, 300)));
                break;
        case 3:
                g_string_append(s, "0000:17:00.0");
                append_repeated(s, ".0", 2 * pick(g, 2000));
                break;
        default:
                g_string_append_printf(s, "%x:%x:%x.%x", g_rand_int(g->rand), g_rand_int(g->rand),
                                       g_rand_int(g->rand), g_rand_int(g->rand));
        }
        return g_string_free(s, FALSE);
}

static char *gen_wide(FuzzGen *g) {
        GString *s = g_string_new(NULL);
        const char *c = PICK(g, wide);
        guint n = PICK(g, wide_lengths);

        for (guint i = 0; i < n; i++)
                g_string_append(s, chance(g, 90) ? c : PICK(g, wide));
        return g_string_free(s, FALSE);
}

static char *gen_printable(FuzzGen *g) {
        GString *s = g_string_new(NULL);
        guint n = 1 + pick(g, 80);

        for (guint i = 0; i < n; i++)
                g_string_append_c(s, (char) (' ' + pick(g, 95)));
        return g_string_free(s, FALSE);
}

/* Any valid code point but NUL and the surrogates. */
static char *gen_unicode(FuzzGen *g) {
        GString *s = g_string_new(NULL);
        guint n = 1 + pick(g, 100);

        for (guint i = 0; i < n; i++) {
                gunichar c;
                do
                        c = chance(g, 70) ? 1 + pick(g, 0x7ff) : 1 + pick(g, 0x10ffff);
                while (c >= 0xd800 && c <= 0xdfff);
                g_string_append_unichar(s, c);
        }
        return g_string_free(s, FALSE);
}

static char *gen_string_unbounded(FuzzGen *g) {
        guint r = pick(g, 1000);

        if (g->plausible && chance(g, 85))
                return g_strdup(PICK(g, tokens));
        if (r < 5)
                return gen_huge(g);
        if (r < 100)
                return g_strdup("");
        if (r < 380)
                return g_strdup(PICK(g, tokens));
        if (r < 430)
                return g_strdup(PICK(g, format_strings));
        if (r < 480)
                return g_strdup(PICK(g, traversals));
        if (r < 540)
                return gen_control(g);
        if (r < 640)
                return gen_wide(g);
        if (r < 690)
                return gen_long_address(g);
        if (r < 740)
                return g_strdup(PICK(g, regexes));
        if (r < 900)
                return gen_printable(g);
        return gen_unicode(g);
}

static char *gen_string(FuzzGen *g) {
        char *s = gen_string_unbounded(g);
        gsize n = strlen(s);

        if (n > g->budget) {
                g_free(s);
                return g_strdup("");
        }
        g->budget -= n;
        return s;
}

/* ---- object paths ---- */

static char *device_path(const char *address) {
        char *p = g_strconcat(ROOT_PATH "/devices/", address, NULL);
        g_strdelimit(p + strlen(ROOT_PATH "/devices/"), ":.", '_');
        return p;
}

/* An object of the kind, maybe one the calls made (a small id). */
static char *kind_path(FuzzGen *g, FuzzKind kind) {
        if (kind == FUZZ_DEVICE && chance(g, 30))
                return device_path(PICK(g, addresses));
        if (kind_dirs[kind] && kind != FUZZ_DEVICE && chance(g, 25))
                return g_strdup_printf(ROOT_PATH "/%s/%u", kind_dirs[kind], 1 + pick(g, 6));
        return g_strdup(g->objects[kind]);
}

static char *gen_path(FuzzGen *g, bool *never) {
        guint r = pick(g, 100);

        *never = false;
        /* Plausible: devices (device lists) or a group (CreateRule). */
        if (g->plausible)
                return kind_path(g, chance(g, 60) ? FUZZ_DEVICE : chance(g, 70) ? FUZZ_GROUP : FUZZ_MISSING);
        if (r < 75)
                return kind_path(g, (FuzzKind) pick(g, FUZZ_KINDS));
        if (r < 90) {
                *never = true;
                return g_strdup(PICK(g, never_paths));
        }
        if (r < 95)
                return g_strdup(PICK(g, odd_paths));
        /* Any valid path under the root. */
        GString *s = g_string_new(ROOT_PATH);
        for (guint i = 0, n = 1 + pick(g, 4); i < n; i++) {
                g_string_append_c(s, '/');
                for (guint k = 0, len = 1 + pick(g, 12); k < len; k++)
                        g_string_append_c(s, "abcdefghijklmnopqrstuvwxyz0123456789_ABCDEF"[pick(g, 43)]);
        }
        return g_string_free(s, FALSE);
}

/* ---- values ---- */

static GVariant *gen_value(FuzzGen *g, const GVariantType *t, guint depth);

static guint64 edge_u64(FuzzGen *g, guint64 max) {
        if (g->plausible && chance(g, 80))
                return pick(g, 4);
        static const guint64 edges[] = { 0, 1, 2, 3, 4, 7, 8, 16, 64, 255, 256, 65535, 65536, 0x7fffffff,
                                         0x80000000, 0xfffffffe, 0xffffffff, 0x100000000, INT64_MAX,
                                         (guint64) INT64_MAX + 1, UINT64_MAX };
        guint64 v = chance(g, 70) ? PICK(g, edges) : ((guint64) g_rand_int(g->rand) << 32 | g_rand_int(g->rand));
        return max == UINT64_MAX ? v : v % (max + 1);
}

static gint64 edge_i64(FuzzGen *g, gint64 min, gint64 max) {
        if (g->plausible && chance(g, 80))
                return (gint64) pick(g, 3) - 1;
        static const gint64 edges[] = { 0, 1, -1, 2, -2, 255, 256, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN };
        gint64 v = chance(g, 70) ? PICK(g, edges) : (gint64) ((guint64) g_rand_int(g->rand) << 32 | g_rand_int(g->rand));
        return v < min ? min : v > max ? max : v;
}

/* How many elements: mostly a few, now and then many (only near the top:
 * nested, many of many would not stay bounded). */
static guint gen_count(FuzzGen *g, guint depth) {
        static const guint many[] = { 256, 1024, 4096 };

        if (g->plausible)
                return chance(g, 70) ? 1 : 2;
        if (depth <= 1 && chance(g, 3))
                return PICK(g, many);
        return chance(g, 85) ? pick(g, 4) : 4 + pick(g, 13);
}

static GVariant *gen_conditions(FuzzGen *g, guint depth) {
        GVariantBuilder b;
        guint n = gen_count(g, depth);

        g_variant_builder_init(&b, G_VARIANT_TYPE("a(sss)"));
        for (guint i = 0; i < n && g->budget > 0; i++) {
                if (g->plausible || chance(g, 30)) {
                        const char *const *c = plausible_conditions[pick(g, G_N_ELEMENTS(plausible_conditions))];
                        g_auto(GStrv) ops = g_strsplit(c[1], " ", -1);
                        g_auto(GStrv) values = g_strsplit(c[2], "|", -1);
                        g_variant_builder_add(&b, "(sss)", c[0], ops[pick(g, g_strv_length(ops))],
                                              values[pick(g, g_strv_length(values))]);
                        continue;
                }
                g_autofree char *field = chance(g, 90) ? g_strdup(PICK(g, fields)) : gen_string(g);
                g_autofree char *op = chance(g, 90) ? g_strdup(PICK(g, operators)) : gen_string(g);
                g_autofree char *value = gen_string(g);
                g_variant_builder_add(&b, "(sss)", field, op, value);
        }
        return g_variant_builder_end(&b);
}

static GVariant *gen_any(FuzzGen *g, guint depth) {
        g_autoptr(GVariantType) t = g_variant_type_new(PICK(g, variant_types));
        return gen_value(g, t, depth + 1);
}

/* a{sv} settings: the contract's keys with values of their type or of a
 * wrong one, unknown keys, keys almost right. */
/* A value for a known key: of its type, now and then of another. */
/* Values a caller would send, for the string keys ('|' between them). */
static const char *const plausible_values[][2] = {
        { "Name", "GPUs|NICs|g1|g2|vm1 a|x" },
        { "Type", "pci|sriov-nic" },
        { "Class", "gpu|nic|storage|usb|accelerator|other" },
        { "Description", "|spare GPUs" },
        { "Node", "|testnode|othernode" },
        { "Mac", "|02:00:00:00:00:01|02:00:00:00:00:02" },
        { "Tenant", "|acme" },
        { "TenantNode", "tnode|" },
};

/* A value for a known key: of its type, now and then of another. */
static GVariant *gen_setting(FuzzGen *g, const char *const known[2], guint depth) {
        g_autoptr(GVariantType) t = g_variant_type_new(known[1]);

        if (!g->plausible && chance(g, 20))
                return gen_any(g, depth);
        if (g_str_equal(known[0], "Conditions"))
                return gen_conditions(g, depth + 1);
        if (g->plausible && g_str_equal(known[0], "Group"))
                return g_variant_new_object_path(chance(g, 80) ? g->objects[FUZZ_GROUP] : ROOT_PATH "/groups/2");
        for (size_t i = 0; g->plausible && i < G_N_ELEMENTS(plausible_values); i++)
                if (g_str_equal(known[0], plausible_values[i][0])) {
                        g_auto(GStrv) values = g_strsplit(plausible_values[i][1], "|", -1);
                        return g_variant_new_string(values[pick(g, g_strv_length(values))]);
                }
        return gen_value(g, t, depth + 1);
}

/* The method's own keys, each present or not, and now and then one more
 * (a known key or not): what a caller of the method would send. */
static void add_method_settings(FuzzGen *g, GVariantBuilder *b, guint depth) {
        for (size_t k = 0; k < G_N_ELEMENTS(known_keys); k++)
                if (strstr(g->keys, known_keys[k][0]) && chance(g, 50))
                        g_variant_builder_add(b, "{sv}", known_keys[k][0], gen_setting(g, known_keys[k], depth));
        if (!g->plausible && chance(g, 10)) {
                guint k = pick(g, G_N_ELEMENTS(known_keys));
                g_variant_builder_add(b, "{sv}", known_keys[k][0], gen_setting(g, known_keys[k], depth));
        }
}

/* a{sv} settings: the contract's keys with values of their type or of a
 * wrong one, unknown keys, keys almost right. */
static GVariant *gen_settings(FuzzGen *g, guint depth) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        if (g->keys && depth == 1 && chance(g, 60)) {
                add_method_settings(g, &b, depth);
                return g_variant_builder_end(&b);
        }
        for (guint i = 0, n = gen_count(g, depth); i < n && g->budget > 0; i++) {
                guint k = pick(g, G_N_ELEMENTS(known_keys));
                guint r = pick(g, 100);
                g_autofree char *key = NULL;
                GVariant *value;
                if (r < 75 || g->plausible) {
                        key = g_strdup(known_keys[k][0]);
                        value = gen_setting(g, known_keys[k], depth);
                } else {
                        key = r < 85 ? g_ascii_strdown(known_keys[k][0], -1) : gen_string(g);
                        value = gen_any(g, depth);
                }
                g_variant_builder_add(&b, "{sv}", key, value);
        }
        return g_variant_builder_end(&b);
}

static GVariant *gen_array(FuzzGen *g, const GVariantType *t, guint depth) {
        const GVariantType *element = g_variant_type_element(t);
        guint n = gen_count(g, depth);
        GVariantBuilder b;

        if (g_variant_type_equal(t, G_VARIANT_TYPE("a{sv}")))
                return gen_settings(g, depth);
        if (g_variant_type_equal(t, G_VARIANT_TYPE("a(sss)")))
                return gen_conditions(g, depth);
        g_variant_builder_init(&b, t);
        for (guint i = 0; i < n && g->budget > 0; i++)
                g_variant_builder_add_value(&b, gen_value(g, element, depth + 1));
        return g_variant_builder_end(&b);
}

static GVariant *gen_tuple(FuzzGen *g, const GVariantType *t, guint depth) {
        GVariantBuilder b;

        g_variant_builder_init(&b, t);
        for (const GVariantType *item = g_variant_type_first(t); item; item = g_variant_type_next(item))
                g_variant_builder_add_value(&b, gen_value(g, item, depth + 1));
        return g_variant_builder_end(&b);
}

static GVariant *gen_value(FuzzGen *g, const GVariantType *t, guint depth) {
        bool never;

        if (g_variant_type_is_array(t))
                return gen_array(g, t, depth);
        if (g_variant_type_is_tuple(t) || g_variant_type_is_dict_entry(t))
                return gen_tuple(g, t, depth);
        switch (g_variant_type_peek_string(t)[0]) {
        case 'b':
                return g_variant_new_boolean(chance(g, 50));
        case 'y':
                return g_variant_new_byte((guint8) edge_u64(g, UINT8_MAX));
        case 'n':
                return g_variant_new_int16((gint16) edge_i64(g, INT16_MIN, INT16_MAX));
        case 'q':
                return g_variant_new_uint16((guint16) edge_u64(g, UINT16_MAX));
        case 'i':
                return g_variant_new_int32((gint32) edge_i64(g, INT32_MIN, INT32_MAX));
        case 'u':
                return g_variant_new_uint32((guint32) edge_u64(g, UINT32_MAX));
        case 'x':
                return g_variant_new_int64(edge_i64(g, INT64_MIN, INT64_MAX));
        case 't':
                return g_variant_new_uint64(edge_u64(g, UINT64_MAX));
        case 'd':
                return g_variant_new_double(chance(g, 50) ? (double) edge_i64(g, INT64_MIN, INT64_MAX) / 3.0 : 1e308);
        case 's': {
                g_autofree char *s = gen_string(g);
                return g_variant_new_string(s);
        }
        case 'o': {
                g_autofree char *p = gen_path(g, &never);
                return g_variant_new_object_path(p);
        }
        case 'g':
                return g_variant_new_signature(PICK(g, signatures));
        case 'v':
                return g_variant_new_variant(gen_any(g, depth));
        default:
                g_assert_not_reached();
        }
}

/* ---- calls ---- */

static GVariant *gen_args(FuzzGen *g, const char *signature) {
        g_autofree char *tuple = g_strdup_printf("(%s)", signature);
        g_autoptr(GVariantType) t = g_variant_type_new(tuple);
        return g_variant_ref_sink(gen_value(g, t, 0));
}

static char *in_signature(GDBusMethodInfo *m) {
        GString *s = g_string_new(NULL);

        for (size_t i = 0; m->in_args && m->in_args[i]; i++)
                g_string_append(s, m->in_args[i]->signature);
        return g_string_free(s, FALSE);
}

/* A path for an interface: mostly an object that carries it. */
static char *target_path(FuzzGen *g, const char *iface, bool *never) {
        static const char *const kinds[] = { "Manager", "Device", NULL, "Group", "Rule", "Attachment" };

        *never = false;
        if (chance(g, 70))
                for (int k = 0; k < FUZZ_KINDS; k++)
                        if (kinds[k] && g_str_has_suffix(iface, kinds[k]))
                                return kind_path(g, k == FUZZ_DEVICE && chance(g, 25) ? FUZZ_MISSING : (FuzzKind) k);
        return gen_path(g, never);
}

static void gen_method_call(FuzzGen *g, FuzzCall *call) {
        const char *picked = g_ptr_array_index(g->methods, pick(g, g->methods->len));

        /* Fewer deletes: the fixture's objects last longer. */
        if (g_str_has_suffix(picked, "\nDelete") && chance(g, 70))
                picked = g_ptr_array_index(g->methods, pick(g, g->methods->len));
        g_auto(GStrv) parts = g_strsplit(picked, "\n", 2);
        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(g->api, parts[0]);
        GDBusMethodInfo *m = g_dbus_interface_info_lookup_method(iface, parts[1]);
        g_autofree char *want = in_signature(m);

        call->iface = g_strdup(parts[0]);
        call->method = g_strdup(parts[1]);
        call->path = target_path(g, call->iface, &call->never_exists);
        g_autofree char *short_name = g_strdup_printf("%s.%s", strrchr(parts[0], '.') + 1, parts[1]);
        for (size_t i = 0; i < G_N_ELEMENTS(method_keys); i++)
                if (g_str_equal(method_keys[i][0], short_name))
                        g->keys = method_keys[i][1];
        if (!chance(g, 10)) {
                g->plausible = chance(g, 50);
                call->args = gen_args(g, want);
                g->plausible = false;
                g->keys = NULL;
                return;
        }
        g->keys = NULL;
        /* A wrong signature: a wrong tuple, one more argument, none. */
        g_autofree char *other = NULL;
        switch (pick(g, 3)) {
        case 0:
                other = g_strdup(PICK(g, signatures));
                break;
        case 1:
                other = g_strconcat(want, PICK(g, variant_types), NULL);
                break;
        default:
                other = g_strdup("");
        }
        call->wrong_signature = !g_str_equal(other, want);
        call->args = other[0] ? gen_args(g, other) : NULL;
}

static void gen_properties_call(FuzzGen *g, FuzzCall *call) {
        GDBusInterfaceInfo *iface = g->api->interfaces[pick(g, g_strv_length((char **) g->api->interfaces))];
        guint nprops = g_strv_length((char **) iface->properties);
        bool known_iface = chance(g, 85);
        g_autofree char *name = chance(g, 85) ? g_strdup(iface->properties[pick(g, nprops)]->name) : gen_string(g);
        g_autofree char *asked = known_iface ? g_strdup(iface->name) : gen_string(g);
        guint r = pick(g, 100);

        call->iface = g_strdup(PROPERTIES);
        call->path = target_path(g, iface->name, &call->never_exists);
        if (known_iface) {
                call->prop_iface = g_strdup(iface->name);
                call->prop_name = g_strdup(name);
        }
        if (r < 60) {
                call->method = g_strdup("Get");
                call->args = g_variant_ref_sink(g_variant_new("(ss)", asked, name));
        } else if (r < 85) {
                call->method = g_strdup("GetAll");
                call->args = g_variant_ref_sink(g_variant_new("(s)", asked));
        } else {
                call->method = g_strdup("Set");
                call->args = g_variant_ref_sink(g_variant_new("(ssv)", asked, name, gen_any(g, 0)));
        }
}

/* The standard interfaces every object has, and members no one has. */
static void gen_other_call(FuzzGen *g, FuzzCall *call) {
        static const char *const standard[][2] = {
                { "org.freedesktop.DBus.Introspectable", "Introspect" },
                { "org.freedesktop.DBus.Peer", "Ping" },
                { "org.freedesktop.DBus.ObjectManager", "GetManagedObjects" },
        };
        static const char *const unknown[][2] = {
                { "org.devpass1.Manager", "NoSuchMethod" }, { "org.devpass1.Manager", "getdevice" },
                { "org.devpass1.Nothing", "GetDevice" },    { "org.devpass1.Device", "Delete" },
                { "org.devpass1.Group", "Claim" },          { "org.freedesktop.DBus.Properties", "Delete" },
        };
        bool never;
        const char *const *pair = chance(g, 60) ? standard[pick(g, G_N_ELEMENTS(standard))]
                                                : unknown[pick(g, G_N_ELEMENTS(unknown))];

        call->iface = g_strdup(pair[0]);
        call->method = g_strdup(pair[1]);
        call->path = gen_path(g, &never);
        if (chance(g, 20))
                call->args = gen_args(g, PICK(g, signatures));
}

FuzzCall *fuzz_gen_call(FuzzGen *g, guint n) {
        FuzzCall *call = g_new0(FuzzCall, 1);
        /* Call n from the seed and n alone. */
        guint32 key[] = { g->seed, n };
        guint r;

        g_rand_set_seed_array(g->rand, key, G_N_ELEMENTS(key));
        g->budget = CALL_BUDGET;
        call->number = n;
        call->as_nobody = chance(g, 20);
        r = pick(g, 100);
        if (r < 70)
                gen_method_call(g, call);
        else if (r < 92)
                gen_properties_call(g, call);
        else
                gen_other_call(g, call);
        return call;
}

void fuzz_call_free(FuzzCall *call) {
        if (!call)
                return;
        g_free(call->path);
        g_free(call->iface);
        g_free(call->method);
        if (call->args)
                g_variant_unref(call->args);
        g_free(call->prop_iface);
        g_free(call->prop_name);
        g_free(call);
}

char *fuzz_call_describe(const FuzzCall *call) {
        g_autofree char *args = call->args ? g_variant_print(call->args, TRUE) : g_strdup("()");
        gsize len = strlen(args);
        g_autofree char *cut = NULL;

        if (len > 400) {
                /* Whole characters: the report stays UTF-8. */
                const char *end = g_utf8_find_prev_char(args, args + 400);
                cut = g_strdup_printf("%.*s... (%zu characters of GVariant text in all)", (int) (end - args), args,
                                      len);
        }
        return g_strdup_printf("%s.%s on %s as %s%s%s: %s", call->iface, call->method, call->path,
                               call->as_nobody ? "nobody" : "root", call->wrong_signature ? ", wrong signature" : "",
                               call->never_exists ? ", no object there" : "", cut ?: args);
}
