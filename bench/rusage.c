/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-rusage CMD [ARG...]: runs CMD with its output to /dev/null and
 * prints "WALL_MS CPU_MS PEAK_KIB" of it. The benchmark starts its
 * clients through this small process: a child forked (or vforked) by the
 * benchmark itself would count the benchmark's own memory as its peak
 * (Linux keeps the largest of the old and the new at exec). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

int main(int argc, char *argv[]) {
        struct rusage usage;
        int status;

        if (argc < 2) {
                fprintf(stderr, "usage: bench-rusage CMD [ARG...]\n");
                return 2;
        }
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
                        _exit(127);
                execv(argv[1], argv + 1);
                _exit(127);
        }
        if (pid < 0 || wait4(pid, &status, 0, &usage) != pid)
                return 1;
        double wall = now_ms() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-rusage: %s failed (status %d)\n", argv[1], status);
                return 1;
        }
        printf("%.3f %.3f %ld\n", wall,
               (double) (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                       (double) (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3,
               usage.ru_maxrss);
        return 0;
}
