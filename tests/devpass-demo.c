/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The README's demo: devpassd on a bundled node (a umockdev testbed) on a
 * private system bus, devpassctl showing it, then a clean stop. Run under
 * umockdev-wrapper by .ci/demo. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static void show(Harness *h, const char *const *args) {
        g_autofree char *out = NULL, *err = NULL;

        printf("\n$ devpassctl");
        for (size_t i = 0; args[i]; i++)
                printf(" %s", args[i]);
        printf("\n");
        int status = harness_ctl(h, &out, &err, args);
        fputs(out, stdout);
        fputs(err, stdout);
        if (status != 0)
                printf("(exit status %d)\n", status);
        fflush(stdout);
}

int main(int argc, char *argv[]) {
        const char *fixture = argc > 1 ? argv[1] : "gpu-server.umockdev";

        printf("Starting devpassd on the node %s, on a private system bus...\n", fixture);
        g_autoptr(Harness) h = harness_new(fixture, NULL);

        show(h, (const char *const[]) { "status", NULL });
        show(h, (const char *const[]) { "devices", NULL });
        show(h, (const char *const[]) { "device", "0000:17:00.0", NULL });
        show(h, (const char *const[]) { "device", "3b:00.0", NULL });

        printf("\nStopping devpassd (SIGTERM)...\n");
        harness_daemon_stop(h);
        printf("devpassd stopped cleanly.\n");
        return EXIT_SUCCESS;
}
