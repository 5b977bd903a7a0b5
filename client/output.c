/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassctl's terminal: the options that shape output, its width, the
 * pager. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

CtlArgs ctl_args;

static pid_t pager_pid;

guint ctl_terminal_width(void) {
        guint64 columns;
        struct winsize ws = {};

        /* $COLUMNS wins, as for systemctl: also what tests set. */
        const char *e = getenv("COLUMNS");
        if (e && g_ascii_string_to_unsigned(e, 10, 1, 100000, &columns, NULL))
                return (guint) columns;
        return isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

pid_t ctl_fork_piped(int fds[2]) {
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -1;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
        }
        return pid;
}

void ctl_pager_open(void) {
        int fds[2];

        if (ctl_args.no_pager || ctl_args.json || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return;
        /* $DEVPASS_PAGER, $PAGER, else less; "" or cat for none. */
        const char *command = getenv("DEVPASS_PAGER") ?: getenv("PAGER");
        if (command && (!command[0] || g_str_equal(command, "cat")))
                return;
        /* The width is the terminal's, not the pipe's. */
        ctl_args.width = ctl_terminal_width();
        pid_t pid = ctl_fork_piped(fds);
        if (pid < 0)
                return;
        if (pid == 0) {
                dup2(fds[0], STDIN_FILENO);
                /* systemd's flags: quit when one screen holds it (F), raw colours (R),
                 * chop long lines (S), no init strings (X), a prompt (M), ^C quits (K). */
                setenv("LESS", "FRSXMK", 0);
                setenv("LESSCHARSET", "utf-8", 0);
                if (command)
                        execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                else {
                        execlp("less", "less", (char *) NULL);
                        execlp("more", "more", (char *) NULL);
                }
                /* No pager: copy as it comes. */
                char buf[4096];
                ssize_t n;
                while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
                        if (write(STDOUT_FILENO, buf, (size_t) n) != n)
                                break;
                _exit(EXIT_SUCCESS);
        }
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        pager_pid = pid;
}

void ctl_pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        /* The pager ends when it reads the end of its input. */
        fclose(stdout);
        while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        pager_pid = 0;
}
