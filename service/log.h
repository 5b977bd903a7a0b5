/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* One plain line per message on stderr, with a syslog priority prefix
 * when stderr is the journal; debug messages only when verbose. */
void log_setup(bool verbose);
