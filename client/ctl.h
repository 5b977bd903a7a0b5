/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpassctl: what the verbs share. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <systemd/sd-bus.h>

/* Exit codes, documented in --help. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_USAGE = 2,          /* bad command line or malformed argument */
        CTL_EXIT_NOT_FOUND = 3,      /* no such device */
        CTL_EXIT_NOT_RUNNING = 4,    /* devpassd (or the system bus) is not there */
        CTL_EXIT_NOT_AUTHORIZED = 5,
};

/* One property value, as read from the bus. */
typedef struct {
        char *name;
        char type;        /* the D-Bus type: s o b y q u i, or 'a' for as/ao */
        char *str;        /* s, o */
        int64_t num;      /* b y q u i */
        char **strv;      /* as, ao */
} CtlValue;

/* The properties of one object, in the order received. */
typedef GPtrArray CtlProps;

void ctl_value_free(CtlValue *v);
const CtlValue *ctl_props_get(const CtlProps *p, const char *name);
const char *ctl_props_str(const CtlProps *p, const char *name);   /* "" when absent */
int64_t ctl_props_num(const CtlProps *p, const char *name);      /* -1 when absent */

/* format.c: pure, no I/O. */
char *ctl_json_escape(const char *s);                   /* with the quotes */
char *ctl_props_to_json(const CtlProps *p);             /* one object */
char *ctl_value_to_text(const CtlValue *v);             /* for people */
char *ctl_short_address(const char *path_or_address);   /* "/org/.../0000_3b_00_0" -> "0000:3b:00.0" */
char *ctl_sriov_text(const CtlProps *p);                /* "PF 4/64", "VF of 0000:3b:00.0", "-" */
char *ctl_device_name(const CtlProps *p);               /* "Intel Corporation X710 [8086:1572]" */
/* Lays rows (arrays of cells) out in columns two spaces apart; the
 * widest_col column is cut to fit max_width when max_width > 0. */
char *ctl_table_format(GPtrArray *rows, guint widest_col, guint max_width);
int ctl_exit_code_for_error(const char *error_name, int err);

/* bus.c */
int ctl_bus_open(sd_bus **ret);
/* Reports a failed call in one line and returns its exit code. */
int ctl_fail(const char *what, const sd_bus_error *error, int r);
int ctl_read_props(sd_bus_message *m, CtlProps **ret);     /* reads a{sv} */
/* Every device's properties, sorted by address. */
int ctl_get_devices(sd_bus *bus, GPtrArray **ret, int *exit_code);
int ctl_get_all(sd_bus *bus, const char *path, const char *interface, CtlProps **ret, int *exit_code);

/* The verbs: argv[0] is the verb. Each returns an exit code. */
int verb_status(sd_bus *bus, int argc, char **argv, bool json);
int verb_devices(sd_bus *bus, int argc, char **argv, bool json);
int verb_device(sd_bus *bus, int argc, char **argv, bool json);
int verb_monitor(sd_bus *bus, int argc, char **argv, bool json);
