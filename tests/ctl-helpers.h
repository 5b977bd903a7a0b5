/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the devpassctl tests share: the GPU server with the real polkitd
 * (root holds every action) and a fake kernel with vfio-pci loaded, and
 * devpassctl runs checked for exit code and output. The checks fail the
 * cmocka test (fail_msg). */

#include <stdbool.h>

#include "fakekernel.h"
#include "harness.h"

typedef struct {
        Harness *h;
        FakeKernel *fk;
} CtlFixture;

/* A devpassctl command line: ARGS("groups", "--json"). */
#define ARGS(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* cmocka setup and teardown of a CtlFixture in *state. */
int ctl_setup(void **state);
int ctl_teardown(void **state);

/* Exit 0, nothing on stderr; returns stdout. */
char *ctl_ok(CtlFixture *f, const char *const *args);
/* Exit 0, nothing on stderr; what it printed is not looked at. */
void ctl_succeeds(CtlFixture *f, const char *const *args);
/* Exit 0 and no output at all, as the changing verbs do. */
void ctl_quiet(CtlFixture *f, const char *const *args);
/* Exit code, nothing on stdout, one line on stderr beginning with want
 * (all of it when want ends with a newline). */
void ctl_fails(CtlFixture *f, int code, const char *want, const char *const *args);

/* Whether text has that "Label: value" line (details right-align labels). */
bool has_line(const char *text, const char *line);
void assert_line(const char *text, const char *line);
/* devpassctl device ADDRESS until it succeeds and shows line (5 s): the
 * daemon learns a driver change from the kernel's uevent, a moment after
 * the binder, and a new VF a moment after sriov_numvfs. */
void wait_device(CtlFixture *f, const char *address, const char *line);
/* devpassctl device ADDRESS shows that State and Holder ("-": none). */
void assert_holder(CtlFixture *f, const char *address, const char *state, const char *holder);
/* The cell of column title in the row of a table that begins with first. */
char *devices_cell(const char *table, const char *first, const char *title);
/* "NAME /org/devpass1/KIND/ID\n", all of out: returns the path. */
char *created_path(const char *out, const char *name, const char *kind);
