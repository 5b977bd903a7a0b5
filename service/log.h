/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* One plain line per message on stderr, with a syslog priority prefix
 * when stderr is the journal; debug messages only when verbose. */
void log_setup(bool verbose);

/* The MESSAGE_ID of a change made through the bus. */
#define LOG_CHANGE_MESSAGE_ID "5f0a3b8e2c6d4e1f9a7b2c3d4e5f6a7b"

/* An info message with journal fields ("KEY=value", NULL-terminated; a
 * key may repeat): sent to the journal as fields when stderr is the
 * journal, else one line with the fields after it. */
void log_structured(const char *message_id, const char *message, const char *const *fields);
