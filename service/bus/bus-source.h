/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* sd-bus on the GLib main loop: one GSource over the bus fd. */

#include <glib.h>
#include <systemd/sd-bus.h>

/* Called once when the connection is lost. */
typedef void (*BusSourceLostFunc)(void *userdata);

GSource *bus_source_new(sd_bus *bus, BusSourceLostFunc lost, void *userdata);
