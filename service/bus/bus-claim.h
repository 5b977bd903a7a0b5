/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.CreateAttachment(s), Claim, Release and PassToTenant: what VM
 * managers and tenant administrators call. */

#include "service.h"

int bus_claim_method_create_attachment(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_claim_method_create_attachments(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_claim_method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_claim_method_claim_devices(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_claim_method_release(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_claim_method_pass_to_tenant(sd_bus_message *m, void *userdata, sd_bus_error *error);
