/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a caller may set on groups and rules, checked before anything is
 * asked or changed. Pure, no I/O. Errors are G_IO_ERROR_INVALID_ARGUMENT
 * with a message that names the value and says what would be right. */

#include <stdbool.h>
#include <glib.h>

#define SETTINGS_NAME_MAX 64
#define SETTINGS_DESCRIPTION_MAX 1024

/* Names of groups and rules: 1-64 printable characters, no leading or
 * trailing white space. what: "group", "rule" (for the message). */
bool settings_name_valid(const char *what, const char *name, GError **error);
bool settings_description_valid(const char *description, GError **error);
/* "pci", "sriov-nic" */
bool settings_group_type_valid(const char *type, GError **error);
/* "gpu", "nic", "storage", "usb", "accelerator", "other" */
bool settings_group_class_valid(const char *class_name, GError **error);
/* "" (every node) or a node name as in devpassd.conf. */
bool settings_node_valid(const char *node, GError **error);

/* Tenant names (and tenant nodes): 1-64 of A-Z a-z 0-9 . _ -. what:
 * "tenant", "tenant node" (for the message). */
bool settings_tenant_valid(const char *what, const char *name, GError **error);
/* Machine names: machine_name_valid() (machine-name.h), with a message. */
bool settings_machine_valid(const char *name, GError **error);
/* A domain's UUID beside its name: 8-4-4-4-12 hex digits. */
bool settings_uuid_valid(const char *uuid, GError **error);
/* A MAC address for a VF: six hex octets with ':', unicast, not all
 * zero. Returns it in lower case, or NULL. */
char *settings_mac_parse(const char *mac, GError **error);
