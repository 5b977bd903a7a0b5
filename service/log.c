/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

static bool log_verbose;
static bool log_journal;

static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer userdata) {
        int priority;
        const char *label;

        switch (level & G_LOG_LEVEL_MASK) {
        case G_LOG_LEVEL_ERROR:    priority = 2; label = "error"; break;
        case G_LOG_LEVEL_CRITICAL: priority = 3; label = "critical"; break;
        case G_LOG_LEVEL_WARNING:  priority = 4; label = "warning"; break;
        case G_LOG_LEVEL_MESSAGE:  priority = 5; label = NULL; break;
        case G_LOG_LEVEL_INFO:     priority = 6; label = NULL; break;
        default:                   priority = 7; label = "debug"; break;
        }
        if (priority == 7 && !log_verbose)
                return;
        if (log_journal)
                fprintf(stderr, "<%d>%s\n", priority, message);
        else
                fprintf(stderr, "devpassd: %s%s%s\n", label ?: "", label ? ": " : "", message);
}

void log_setup(bool verbose) {
        log_verbose = verbose;
        log_journal = getenv("JOURNAL_STREAM") != NULL;
        g_log_set_default_handler(log_handler, NULL);
}
