/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A text polkit agent for a change asked on a terminal, as systemctl and
 * udisksctl start one: pkttyagent asks for the password on the tty. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

/* pkttyagent tells it is registered by closing this fd. */
#define AGENT_READY_TIMEOUT_MS 10000

static pid_t agent_pid;

void ctl_agent_open(sd_bus *bus) {
        int fds[2];

        /* root needs no password; without a terminal nobody could type one. */
        if (ctl_args.no_ask_password || agent_pid > 0 || geteuid() == 0 || !isatty(STDIN_FILENO) ||
            !isatty(STDERR_FILENO))
                return;
        pid_t pid = ctl_fork_piped(fds);
        if (pid < 0)
                return;
        if (pid == 0) {
                /* The notify fd stays open across exec; stdout is ours. */
                int notify = fcntl(fds[1], F_DUPFD, 3);
                if (notify < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                char fd_text[16];
                snprintf(fd_text, sizeof(fd_text), "%d", notify);
                execlp("pkttyagent", "pkttyagent", "--notify-fd", fd_text, "--fallback", (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        close(fds[1]);
        /* Wait until it is registered, or gone: then the call may ask. */
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        while (poll(&p, 1, AGENT_READY_TIMEOUT_MS) < 0 && errno == EINTR)
                ;
        close(fds[0]);
        agent_pid = pid;
        (void) sd_bus_set_allow_interactive_authorization(bus, true);
}

void ctl_agent_close(void) {
        if (agent_pid <= 0)
                return;
        kill(agent_pid, SIGTERM);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}
