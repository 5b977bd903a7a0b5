/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bad input for the methods of groups, rules and passthrough: each call is
 * refused with a named error whose message names what is wrong, and
 * changes nothing (GetManagedObjects before and after, which also shows
 * the daemon alive). Real polkitd; root may do everything, so what is
 * refused here is refused for the input, not for the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "calls.h"

#define ROOT "/org/devpass1"
#define MANAGER_IF "org.devpass1.Manager"
#define DEVICE_IF "org.devpass1.Device"
#define GROUP_IF "org.devpass1.Group"
#define RULE_IF "org.devpass1.Rule"
#define DEV(a) ROOT "/devices/" a

#define INVALID "org.devpass1.Error.InvalidArgument"
#define NOT_FOUND "org.devpass1.Error.NotFound"
/* A call on an object that is not there, and arguments of the wrong types:
 * the standard errors. */
#define UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define BUSY "org.devpass1.Error.Busy"

#define NOGROUP ROOT "/groups/999"
#define NORULE ROOT "/rules/999"
#define VF_CONDITIONS "'Conditions': <[('vendor', 'eq', '8086'), ('device', 'eq', '154c')]>"

/* Two groups with a rule each: "X710 VFs" (sriov-nic, the 4 VFs of
 * 0000:3b:00.0, rule "x710-vfs") and "GPUs" (pci, the two A6000s, rule
 * "gpu-rule"). Their paths replace $SRIOV, $GPUS, $VFRULE, $GPURULE in
 * the calls below. */
typedef struct {
        Harness *h;
        char *sriov, *gpus, *vf_rule, *gpu_rule;
} Fixture;

static char *create(Harness *h, const char *method, const char *args) {
        return calls_ok_path(h, ROOT, MANAGER_IF, method, calls_parse(NULL, args));
}

static int setup(void **state) {
        Fixture *f = g_new0(Fixture, 1);

        f->h = calls_gpu_server(NULL, NULL);
        f->sriov = create(f->h, "CreateGroup", "({'Name': <'X710 VFs'>, 'Type': <'sriov-nic'>, 'Class': <'nic'>},)");
        f->gpus = create(f->h, "CreateGroup", "({'Name': <'GPUs'>, 'Class': <'gpu'>},)");
        g_autofree char *vf = g_strdup_printf("(objectpath '%s', {'Name': <'x710-vfs'>, " VF_CONDITIONS "})",
                                              f->sriov);
        g_autofree char *gpu = g_strdup_printf("(objectpath '%s', {'Name': <'gpu-rule'>, 'Conditions': "
                                               "<[('vendor', 'eq', '10de'), ('device', 'eq', '2230')]>})",
                                               f->gpus);
        f->vf_rule = create(f->h, "CreateRule", vf);
        f->gpu_rule = create(f->h, "CreateRule", gpu);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        /* Alive, and a clean exit (under the sanitizers: no leaks). */
        calls_stop(f->h, NULL);
        g_free(f->sriov);
        g_free(f->gpus);
        g_free(f->vf_rule);
        g_free(f->gpu_rule);
        g_free(f);
        return 0;
}

/* $SRIOV, $GPUS, $VFRULE, $GPURULE: the fixture's paths. */
static char *repeat(const char *unit, unsigned n) {
        GString *s = g_string_new(NULL);
        for (unsigned i = 0; i < n; i++)
                g_string_append(s, unit);
        return g_string_free(s, FALSE);
}

/* $SRIOV, $GPUS, $VFRULE, $GPURULE: the fixture's paths; $LONG257,
 * $LONG1025: values one byte over the limits; $MANY33: conditions one
 * over the limit. */
static void refused_all(Fixture *f, const CallsBad *calls, size_t n) {
        g_autofree char *long257 = repeat("a", 257), *long1025 = repeat("a", 1025);
        g_autofree char *many = repeat("('vendor', 'eq', '8086'), ", 33);
        g_autofree char *many33 = g_strdup_printf("[%.*s]", (int) strlen(many) - 2, many);
        const char *const pairs[] = { "$SRIOV", f->sriov, "$GPUS", f->gpus, "$VFRULE", f->vf_rule,
                                      "$GPURULE", f->gpu_rule, "$LONG257", long257, "$LONG1025", long1025,
                                      "$MANY33", many33, NULL };

        calls_refused_table(f->h, calls, n, pairs);
}

/* ---- names, on every call that takes one ---- */

static void test_names(void **state) {
        Fixture *f = *state;
        Harness *h = f->h;
        g_autofree char *ascii65 = repeat("a", 65), *wide65 = repeat("\xc3\xa9", 65);
        const struct {
                const char *name, *message;
                bool blank_ok;          /* CreateRule takes "" (a generated name) */
        } names[] = {
                { "", "must be 1 to 64", true },
                { ascii65, "must be 1 to 64", false },
                { wide65, "must be 1 to 64", false },
                { "two\nlines", "'two\\nlines' has characters that cannot be shown", false },
                { "tab\there", "cannot be shown", false },
                { "bell\x01", "cannot be shown", false },
                { "\x7f", "cannot be shown", false },
                { " leading", "' leading' starts or ends with a space", false },
                { "trailing ", "starts or ends with a space", false },
                { "\xc2\xa0nbsp", "starts or ends with a space", false },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                const char *name = names[i].name, *msg = names[i].message;
                g_autofree char *what = g_strescape(name, NULL);
                GVariantDict d;

                g_variant_dict_init(&d, NULL);
                g_variant_dict_insert(&d, "Name", "s", name);
                calls_refused(h, what, ROOT, MANAGER_IF, "CreateGroup",
                              g_variant_new("(@a{sv})", g_variant_dict_end(&d)), INVALID, msg);
                calls_refused(h, what, f->sriov, GROUP_IF, "Update", g_variant_new_parsed("({'Name': <%s>},)", name),
                              INVALID, msg);
                calls_refused(h, what, ROOT, MANAGER_IF, "MakePassthrough",
                              g_variant_new_parsed("([%o], {'Name': <%s>, 'Type': <'sriov-nic'>})",
                                                   DEV("0000_3b_02_0"), name),
                              INVALID, msg);
                calls_refused(h, what, f->vf_rule, RULE_IF, "Update", g_variant_new_parsed("({'Name': <%s>},)", name),
                              INVALID, "rule name");
                if (!names[i].blank_ok)
                        calls_refused(h, what, ROOT, MANAGER_IF, "CreateRule",
                                      g_variant_new_parsed("(%o, {'Name': <%s>, "
                                                           "'Conditions': <[('vendor', 'eq', '8086')]>})",
                                                           f->gpus, name),
                                      INVALID, "rule name");
        }
        /* The group name messages say "group name", the rule ones "rule name". */
        calls_refused(h, "empty", ROOT, MANAGER_IF, "CreateGroup", g_variant_new_parsed("({'Name': <''>},)"), INVALID,
                      "The group name '' must be 1 to 64 characters long");
}

/* Accepted names: printed literally, 64 characters however wide. */
static void test_names_accepted(void **state) {
        Fixture *f = *state;
        Harness *h = f->h;
        g_autofree char *wide64 = repeat("\xc3\xa9", 64), *ascii64 = repeat("z", 64);
        const char *names[] = { "%n%s", wide64, ascii64, "inner  spaces", "\xe2\x9c\x93 \xf0\x9f\x96\xa5" };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_autofree char *path = calls_ok_path(h, ROOT, MANAGER_IF, "CreateGroup",
                                                      g_variant_new_parsed("({'Name': <%s>},)", names[i]));
                g_autofree char *name = calls_prop_string(h, path, GROUP_IF, "Name");
                assert_string_equal(name, names[i]);
        }
        /* And a taken one is refused with its name as it is. */
        calls_refused(h, "taken", ROOT, MANAGER_IF, "CreateGroup", g_variant_new_parsed("({'Name': <%s>},)", "%n%s"),
                      BUSY, "A group named '%n%s' exists already");
        calls_refused(h, "taken", ROOT, MANAGER_IF, "CreateGroup", g_variant_new_parsed("({'Name': <%s>},)", wide64),
                      BUSY, wide64);
}

/* ---- the rest, one table per object ---- */

static const CallsBad create_group_calls[] = {
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'X710 VFs'>},)", BUSY, "A group named 'X710 VFs' exists already ($SRIOV)" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'NICs'>, 'Type': <'vm'>},)", INVALID, "'vm' is not a group type" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'NICs'>, 'Type': <''>},)", INVALID, "'' is not a group type" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'NICs'>, 'Class': <'fpga'>},)", INVALID, "'fpga' is not a group class" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'NICs'>, 'Colour': <'red'>},)", INVALID, "Unknown setting 'Colour'" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'NICs'>, 'Enabled': <true>},)", INVALID, "Unknown setting 'Enabled'" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <uint32 5>},)", INVALID, "Setting Name must be of type 's', not 'u'" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'NICs'>, 'Type': <['pci']>},)", INVALID, "Setting Type must be of type 's'" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Name': <'NICs'>, 'Description': <'two\\nlines'>},)", INVALID, "description" },
        { ROOT, MANAGER_IF, "CreateGroup", "({'Type': <'pci'>},)", INVALID, "needs a Name" },
        { ROOT, MANAGER_IF, "CreateGroup", "(@a{sv} {},)", INVALID, "needs a Name" },
        { ROOT, MANAGER_IF, "CreateGroup", "('NICs',)", INVALID_ARGS, "CreateGroup takes arguments of type 'a{sv}'" },
};

#define CR(settings) "(objectpath '$SRIOV', " settings ")"
static const CallsBad create_rule_calls[] = {
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Name': <'r'>}"), INVALID, "A rule needs Conditions" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <@a(sss) []>}"), INVALID, "at least one condition" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('colour', 'eq', 'red')]>}"), INVALID, "Unknown field 'colour'" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('vendor', 'like', '8086')]>}"), INVALID, "Operator 'like' does not apply to vendor" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('class', 'lt', '0x02')]>}"), INVALID, "Operator 'lt' does not apply to class" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('device-name', 'regex', '(')]>}"), INVALID, "'(' is not a valid regex for device-name" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('vendor', 'eq', 'zz')]>}"), INVALID, "'zz' is not a valid value for vendor" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('vendor', 'eq', '8086'), ('device', 'eq', '')]>}"), INVALID, "The value for device eq is empty: use a hex id" },
        /* Empty, and every bound, refused before polkit is asked (these
         * killed devpassd while parsing: issue 8). */
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('class', 'ne', '')]>}"), INVALID, "The value for class ne is empty: use a hex class" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('class', 'eq', '')]>}"), INVALID, "The value for class eq is empty" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('class', 'eq', '/')]>}"), INVALID, "'/' is not a valid value for class" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('address', 'eq', '')]>}"), INVALID, "The value for address eq is empty" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('device-name', 'regex', '')]>}"), INVALID, "The value for device-name regex is empty" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('driver', 'prefix', '')]>}"), INVALID, "only eq and ne take \"\", for none" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('driver', 'eq', 'a\tb')]>}"), INVALID, "The value for driver has a control character (byte 1)" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('device-name', 'regex', '(?:(?:.*)*)*[xyz]{5}')]>}"), INVALID, "repeats a group that holds a quantifier" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('driver', 'eq', '$LONG257')]>}"), INVALID, "The value for driver eq is longer than 256 bytes, the limit" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('device-name', 'regex', '$LONG1025')]>}"), INVALID, "longer than 1024 bytes" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <$MANY33>}"), INVALID, "A rule has 33 conditions, more than the limit of 32" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('class', 'eq', '0x1000000')]>}"), INVALID, "'0x1000000' is not a valid value for class" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('class', 'eq', '0x020000/zz')]>}"), INVALID, "for class" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('numa-node', 'eq', 'one')]>}"), INVALID, "'one' is not a valid value for numa-node" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <[('address', 'eq', '3b:02')]>}"), INVALID, "'3b:02' is not a valid value for address" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Node': <'bad node!'>, " VF_CONDITIONS "}"), INVALID, "'bad node!' is not a node name" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Conditions': <['vendor']>}"), INVALID, "Setting Conditions must be of type 'a(sss)', not 'as'" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Enabled': <'yes'>, " VF_CONDITIONS "}"), INVALID, "Setting Enabled must be of type 'b', not 's'" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Name': <uint32 1>, " VF_CONDITIONS "}"), INVALID, "Setting Name must be of type 's'" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Group': <objectpath '$GPUS'>, " VF_CONDITIONS "}"), INVALID, "Unknown setting 'Group'" },
        { ROOT, MANAGER_IF, "CreateRule", CR("{'Name': <'gpu-rule'>, " VF_CONDITIONS "}"), BUSY, "A rule named 'gpu-rule' exists already ($GPURULE)" },
        { ROOT, MANAGER_IF, "CreateRule", "(objectpath '" NOGROUP "', {" VF_CONDITIONS "})", NOT_FOUND, "No group at '" NOGROUP "'" },
        { ROOT, MANAGER_IF, "CreateRule", "(objectpath '/', {" VF_CONDITIONS "})", NOT_FOUND, "No group at '/'" },
        { ROOT, MANAGER_IF, "CreateRule", "(objectpath '/org/devpass1/groups/x_1', {" VF_CONDITIONS "})", NOT_FOUND, "'/org/devpass1/groups/x_1'" },
        { ROOT, MANAGER_IF, "CreateRule", "(objectpath '$VFRULE', {" VF_CONDITIONS "})", NOT_FOUND, "No group at '$VFRULE'" },
        { ROOT, MANAGER_IF, "CreateRule", "('$SRIOV', {" VF_CONDITIONS "})", INVALID_ARGS, "CreateRule takes arguments of type 'oa{sv}', not 'sa{sv}'" },
};

#define MP(devices, options) "(@ao " devices ", @a{sv} " options ")"
static const CallsBad passthrough_calls[] = {
        { ROOT, MANAGER_IF, "MakePassthrough", MP("[]", "{'Group': <objectpath '$SRIOV'>}"), INVALID, "Name at least one device" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['/org/devpass1/devices/bogus']", "{'Group': <objectpath '$SRIOV'>}"), INVALID, "'/org/devpass1/devices/bogus' does not name a device" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['/org/devpass1/groups/1']", "{'Group': <objectpath '$SRIOV'>}"), INVALID, "'/org/devpass1/groups/1' does not name a device" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_99_00_0") "']", "{'Group': <objectpath '$SRIOV'>}"), NOT_FOUND, "No PCI function 0000:99:00.0" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{'Group': <objectpath '$SRIOV'>, 'Name': <'New'>}"), INVALID, "either Group" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{}"), INVALID, "Name the group" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{'Force': <true>}"), INVALID, "Name the group" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{'Group': <objectpath '" NOGROUP "'>}"), NOT_FOUND, "'" NOGROUP "'" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{'Name': <'GPUs'>}"), BUSY, "A group named 'GPUs' exists already" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{'Name': <'New'>, 'Type': <'vm'>}"), INVALID, "'vm' is not a group type" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{'Name': <'New'>, 'Release': <true>}"), INVALID, "Unknown setting 'Release'" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_02_0") "']", "{'Name': <'New'>, 'Force': <'yes'>}"), INVALID, "Setting Force must be of type 'b'" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_3b_00_1") "']", "{'Group': <objectpath '$SRIOV'>}"), INVALID, "0000:3b:00.1 is not an SR-IOV virtual function" },
        { ROOT, MANAGER_IF, "MakePassthrough", MP("['" DEV("0000_17_00_0") "', '" DEV("0000_17_00_1") "']", "{'Name': <'New'>, 'Type': <'sriov-nic'>}"), INVALID, "0000:17:00.0 is not an SR-IOV virtual function" },
        { ROOT, MANAGER_IF, "MakePassthrough", "(['" DEV("0000_3b_02_0") "'], {'Name': <'New'>})", INVALID_ARGS, "MakePassthrough takes arguments of type 'aoa{sv}', not 'asa{sv}'" },
        { ROOT, MANAGER_IF, "RemovePassthrough", "(@ao ['" DEV("0000_17_00_0") "'],)", INVALID, "0000:17:00.0 is not passed through" },
        { ROOT, MANAGER_IF, "RemovePassthrough", "(@ao ['" DEV("0000_3b_02_0") "', '" DEV("0000_3b_02_0") "'],)", INVALID, "0000:3b:02.0 is not passed through" },
        { ROOT, MANAGER_IF, "RemovePassthrough", "(@ao [],)", INVALID, "Name at least one device" },
        { ROOT, MANAGER_IF, "RemovePassthrough", "(@ao ['" DEV("0000_99_00_0") "'],)", NOT_FOUND, "0000:99:00.0" },
        { ROOT, MANAGER_IF, "CheckPassthrough", "(@ao ['" DEV("0000_99_00_0") "'],)", NOT_FOUND, "0000:99:00.0" },
        { ROOT, MANAGER_IF, "CheckPassthrough", "(@ao [],)", INVALID, "Name at least one device" },
        { DEV("0000_3b_00_0"), DEVICE_IF, "SetVirtualFunctions", "(uint32 65,)", INVALID, "0000:3b:00.0 supports at most 64 virtual functions, not 65" },
        { DEV("0000_3b_00_1"), DEVICE_IF, "SetVirtualFunctions", "(uint32 4294967295,)", INVALID, "0000:3b:00.1 supports at most 64" },
        { DEV("0000_17_00_0"), DEVICE_IF, "SetVirtualFunctions", "(uint32 1,)", INVALID, "0000:17:00.0 is not an SR-IOV physical function" },
        { DEV("0000_3b_02_0"), DEVICE_IF, "SetVirtualFunctions", "(uint32 0,)", INVALID, "0000:3b:02.0 is not an SR-IOV physical function" },
        { DEV("0000_99_00_0"), DEVICE_IF, "SetVirtualFunctions", "(uint32 1,)", UNKNOWN_OBJECT, "'" DEV("0000_99_00_0") "'" },
        { DEV("0000_3b_00_0"), DEVICE_IF, "SetVirtualFunctions", "(int32 2,)", INVALID_ARGS, "SetVirtualFunctions takes arguments of type 'u'" },
};

static const CallsBad object_calls[] = {
        { NOGROUP, GROUP_IF, "Update", "({'Name': <'x'>},)", UNKNOWN_OBJECT, "'" NOGROUP "'" },
        { NOGROUP, GROUP_IF, "Delete", "(@a{sv} {},)", UNKNOWN_OBJECT, "'" NOGROUP "'" },
        { ROOT "/groups/x", GROUP_IF, "Delete", "(@a{sv} {},)", UNKNOWN_OBJECT, "'" ROOT "/groups/x" "'" },
        { "$GPUS", GROUP_IF, "Update", "({'Type': <'sriov-nic'>},)", BUSY, "Group GPUs has devices" },
        { "$GPUS", GROUP_IF, "Update", "({'Name': <'X710 VFs'>},)", BUSY, "A group named 'X710 VFs' exists already" },
        { "$GPUS", GROUP_IF, "Update", "({'Class': <'fpga'>},)", INVALID, "'fpga' is not a group class" },
        { "$GPUS", GROUP_IF, "Update", "({'Type': <'vm'>},)", INVALID, "'vm' is not a group type" },
        { "$GPUS", GROUP_IF, "Update", "({'Node': <''>},)", INVALID, "Unknown setting 'Node'" },
        { "$GPUS", GROUP_IF, "Update", "({'Description': <uint32 1>},)", INVALID, "Setting Description must be of type 's'" },
        { "$GPUS", GROUP_IF, "Delete", "({'Force': <true>},)", INVALID, "Unknown setting 'Force'" },
        { "$GPUS", GROUP_IF, "Delete", "({'Release': <'yes'>},)", INVALID, "Setting Release must be of type 'b'" },
        { "$GPUS", GROUP_IF, "Delete", NULL, INVALID_ARGS, "Delete takes arguments of type 'a{sv}'" },
        { NORULE, RULE_IF, "Update", "({'Enabled': <false>},)", UNKNOWN_OBJECT, "'" NORULE "'" },
        { NORULE, RULE_IF, "Delete", NULL, UNKNOWN_OBJECT, "'" NORULE "'" },
        { ROOT "/rules/0", RULE_IF, "Delete", NULL, UNKNOWN_OBJECT, "'" ROOT "/rules/0" "'" },
        { "$VFRULE", RULE_IF, "Update", "({'Group': <objectpath '" NOGROUP "'>},)", NOT_FOUND, "No group at '" NOGROUP "'" },
        { "$VFRULE", RULE_IF, "Update", "({'Group': <objectpath '$GPURULE'>},)", NOT_FOUND, "No group at '$GPURULE'" },
        { "$VFRULE", RULE_IF, "Update", "({'Conditions': <@a(sss) []>},)", INVALID, "at least one condition" },
        { "$VFRULE", RULE_IF, "Update", "({'Conditions': <[('vendor', 'eq', 'zz')]>},)", INVALID, "'zz' is not a valid value for vendor" },
        { "$VFRULE", RULE_IF, "Update", "({'Conditions': <[('device-name', 'regex', '(')]>},)", INVALID, "not a valid regex" },
        { "$VFRULE", RULE_IF, "Update", "({'Conditions': <[('class', 'ne', '')]>},)", INVALID, "The value for class ne is empty" },
        { "$VFRULE", RULE_IF, "Update", "({'Conditions': <$MANY33>},)", INVALID, "more than the limit of 32" },
        { "$VFRULE", RULE_IF, "Update", "({'Name': <'gpu-rule'>},)", BUSY, "A rule named 'gpu-rule' exists already" },
        { "$VFRULE", RULE_IF, "Update", "({'Node': <'bad node!'>},)", INVALID, "'bad node!' is not a node name" },
        { "$VFRULE", RULE_IF, "Update", "({'Enabled': <'no'>},)", INVALID, "Setting Enabled must be of type 'b'" },
        { "$VFRULE", RULE_IF, "Update", "({'Release': <true>},)", INVALID, "Unknown setting 'Release'" },
        { "$VFRULE", RULE_IF, "Delete", "('now',)", INVALID_ARGS, "Delete takes arguments of type ''" },
};

static void test_create_group(void **state) {
        refused_all(*state, create_group_calls, G_N_ELEMENTS(create_group_calls));
}

static void test_create_rule(void **state) {
        refused_all(*state, create_rule_calls, G_N_ELEMENTS(create_rule_calls));
}

static void test_passthrough(void **state) {
        refused_all(*state, passthrough_calls, G_N_ELEMENTS(passthrough_calls));
}

static void test_objects(void **state) {
        refused_all(*state, object_calls, G_N_ELEMENTS(object_calls));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_names_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_rule, setup, teardown),
                cmocka_unit_test_setup_teardown(test_passthrough, setup, teardown),
                cmocka_unit_test_setup_teardown(test_objects, setup, teardown),
        };
        return cmocka_run_group_tests_name("groups-input", tests, NULL, NULL);
}
