/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

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

void log_structured(const char *message_id, const char *message, const char *const *fields) {
        if (!log_journal) {
                g_autofree char *joined = g_strjoinv(" ", (char **) fields);
                fprintf(stderr, "devpassd: %s [%s]\n", message, joined);
                return;
        }
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(lines, g_strdup_printf("MESSAGE=%s", message));
        g_ptr_array_add(lines, g_strdup_printf("MESSAGE_ID=%s", message_id));
        g_ptr_array_add(lines, g_strdup("PRIORITY=6"));
        for (const char *const *f = fields; *f; f++)
                g_ptr_array_add(lines, g_strdup(*f));
        g_autofree struct iovec *iov = g_new0(struct iovec, lines->len);
        for (guint i = 0; i < lines->len; i++)
                iov[i] = (struct iovec) { lines->pdata[i], strlen(lines->pdata[i]) };
        if (sd_journal_sendv(iov, (int) lines->len) < 0)
                fprintf(stderr, "<6>%s\n", message);
}
