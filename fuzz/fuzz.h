/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the libFuzzer harnesses share (fuzz/README.md says how to run
 * them). A harness aborts on anything the code must never do, so that
 * libFuzzer reports it like a crash. */

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string, cut at its first NUL as D-Bus and sysfs
 * strings are. */
char *fuzz_string(const uint8_t *data, size_t size);

/* Logs: warnings and below dropped (a hostile input is expected to be
 * told about), criticals and errors abort (a broken precondition). */
void fuzz_logs_quiet(void);

/* A message a caller or the journal gets: UTF-8, one line, at most max
 * bytes; aborts otherwise. */
void fuzz_assert_message(const char *message, size_t max);

/* A fresh directory under $TMPDIR, removed at exit. */
char *fuzz_temp_dir(void);

/* Writes len bytes to dir/rel, creating parents; aborts on failure. */
void fuzz_write(const char *dir, const char *rel, const void *data, size_t len);

/* Splits the input at NUL bytes into at most n parts (missing ones NULL). */
void fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t n);
