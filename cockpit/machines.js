/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Machines: each machine's attachments and claims, which unit it holds,
 * degraded attachments with their reason. */

import { store } from "./dbus.js";
import { _, format, h, shortAddress } from "./dom.js";
import { attachmentsTable } from "./groups.js";

export function renderMachines(root) {
    const machines = new Map();
    const of = name => {
        if (!machines.has(name))
            machines.set(name, { attachments: [], held: [] });
        return machines.get(name);
    };
    for (const [p, a] of store.attachments)
        of(a.Machine).attachments.push([p, a]);
    for (const d of store.devices.values()) {
        if (d.State === "claimed" && d.Holder)
            of(d.Holder).held.push(d);
    }
    const names = [...machines.keys()].sort();
    if (names.length === 0) {
        root.replaceChildren(h("p", { class: "dp-empty" }, _("No machine has devices yet: add machine devices on a group's page.")));
        return;
    }
    root.replaceChildren(...names.map(name => {
        const m = machines.get(name);
        const id = "dp-machine-" + name.replace(/[^A-Za-z0-9_-]/g, "_");
        const units = new Map();
        for (const d of m.held) {
            const key = d.IommuGroup;
            if (!units.has(key))
                units.set(key, []);
            units.get(key).push(shortAddress(d.Address));
        }
        const running = m.attachments.some(([, a]) => a.State === "attached" || a.State === "degraded");
        let held;
        if (m.held.length)
            held = format(_("Holds: $0"), [...units].map(([g, list]) => format(_("IOMMU group $0 ($1)"), g, list.join(", "))).join("; "));
        else
            held = running ? _("Holds no device that is on the node now.") : _("Holds nothing (not running).");
        return h("section", { class: "dp-section", "aria-labelledby": id, "data-machine": name },
                 h("h2", { id }, name),
                 h("p", { class: "dp-held" }, held),
                 attachmentsTable(m.attachments, true));
    }));
}
