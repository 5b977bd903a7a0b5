/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* devpass-libvirt's verbs: a libvirt domain started with the devices
 * devpass claims for it, stopped with its claim released, and the claims
 * of domains that stopped behind devpass's back released. The domain's
 * name is devpass's machine name. Each returns an exit code (CTL_EXIT_*)
 * and reports a failure in one line on stderr. */

#include <stdbool.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <systemd/sd-bus.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

/* libvirt prints every error itself unless told not to: the verbs
 * report theirs in one line. For this process, before any connection. */
void dpl_quiet_libvirt(void);
/* Claim, the domain's persistent definition with the claimed devices in
 * place of devpass's old ones, define, start. Anything failing after the
 * claim releases it and leaves the definition as it was. */
int dpl_start(virConnectPtr conn, sd_bus *bus, const char *name);
/* Shuts the domain down (force: destroys it) and waits up to timeout_s
 * seconds for it to stop, then releases its claim. */
int dpl_stop(virConnectPtr conn, sd_bus *bus, const char *name, bool force, unsigned timeout_s);
/* Releases the claims of machines whose domains libvirt has shut off;
 * machines libvirt does not know are not libvirt's, and left alone. */
int dpl_sync(virConnectPtr conn, sd_bus *bus);
