/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Devices: every PCI function, grouped by IOMMU group (a unit goes whole
 * to one machine), a PF's VFs right after it, with filters and selection
 * for Make passthrough. */

import { store, call, ROOT } from "./dbus.js";
import { _, format, h, isAdmin, writeButton, shortAddress, dialog, field } from "./dom.js";
import { makePassthroughDialog, releaseDialog, failed } from "./forms.js";

const selected = new Set();
/* The guard's findings for the host's devices, by address: one
 * CheckPassthrough of them all, again when that set changes. */
const guard = { key: null, findings: new Map() };

function guardRefresh(rerender) {
    const paths = [...store.devices].filter(([, d]) => d.State === "host").map(([p]) => p).sort();
    const key = paths.join(" ");
    if (key === guard.key)
        return;
    guard.key = key;
    call(ROOT, "Manager", "CheckPassthrough", [paths]).then(([list]) => {
        if (guard.key !== key)
            return;
        guard.findings = new Map();
        for (const [address, , , message] of list) {
            if (!guard.findings.has(address))
                guard.findings.set(address, []);
            guard.findings.get(address).push(message);
        }
        rerender();
    }, failed);
}
const filters = { text: "", cls: "", state: "", group: "", numa: "" };
/* A PF with more VFs than this shows them folded under it until asked
 * (or while a text filter is set): a node of 64-VF ports stays a list of
 * its devices. */
const FOLD_VFS = 8;
const unfolded = new Set();
let redraw = () => {};

function folded(pfPath, pf) {
    return !!pf && pf.VirtualFunctions.length > FOLD_VFS && !unfolded.has(pfPath) && !filters.text;
}

export function deviceLabel(d) {
    return [d.VendorName, d.DeviceName].filter(Boolean).join(" ") ||
        format("$0:$1", hex4(d.VendorId), hex4(d.DeviceId));
}

function hex4(n) {
    return n.toString(16).padStart(4, "0");
}

export function groupName(path) {
    const g = store.groups.get(path);
    return g ? g.Name : "";
}

export function stateText(d) {
    const names = {
        host: _("Host"),
        passthrough: _("Passthrough"),
        claimed: _("Claimed"),
        tenant: _("Tenant"),
        missing: _("Missing"),
    };
    const name = names[d.State] || d.State;
    return d.Holder ? format("$0: $1", name, d.Holder) : name;
}

function matches(d) {
    if (filters.cls && d.ClassName !== filters.cls)
        return false;
    if (filters.state && d.State !== filters.state)
        return false;
    if (filters.group && d.Group !== filters.group)
        return false;
    if (filters.numa !== "" && String(d.NumaNode) !== filters.numa)
        return false;
    if (filters.text) {
        const hay = [d.Address, deviceLabel(d), d.ClassName, d.Driver, d.Holder, groupName(d.Group)].join(" ").toLowerCase();
        if (!hay.includes(filters.text.toLowerCase()))
            return false;
    }
    return true;
}

/* The units in display order: IOMMU groups by their first address, each
 * PF's VF groups after the PF's. */
function units(devices) {
    const byGroup = new Map();
    for (const d of devices) {
        const key = d.IommuGroup >= 0 ? "g" + d.IommuGroup : "a" + d.Address;
        if (!byGroup.has(key))
            byGroup.set(key, []);
        byGroup.get(key).push(d);
    }
    const list = [...byGroup.values()].map(members => {
        members.sort((a, b) => a.Address.localeCompare(b.Address));
        const pf = members[0].PhysicalFunction !== "/" ? store.devices.get(members[0].PhysicalFunction) : null;
        return { members, sortKey: pf ? pf.Address + "~" + members[0].Address : members[0].Address, vf: !!pf };
    });
    list.sort((a, b) => a.sortKey.localeCompare(b.sortKey));
    return list;
}

function filterSelect(label, key, options, onchange) {
    const sel = h("select", { class: "pf-c-form-control", onchange: ev => { filters[key] = ev.target.value; onchange() } },
                  h("option", { value: "" }, _("All")),
                  options.map(([value, text]) => h("option", { value, selected: filters[key] === value }, text)));
    return h("div", { class: "dp-filter" }, h("label", { class: "pf-c-form__label", for: "dp-filter-" + key }, label),
             Object.assign(sel, { id: "dp-filter-" + key }));
}

function toolbar(rerender) {
    const devices = [...store.devices.values()];
    const uniq = f => [...new Set(devices.map(f))].sort();
    const text = h("input", { type: "search", id: "dp-filter-text", class: "pf-c-form-control", value: filters.text,
                              placeholder: _("Address, name, driver, holder") });
    text.addEventListener("input", () => { filters.text = text.value; rerender() });
    const picked = () => [...selected].filter(p => store.devices.has(p));
    return h("div", { class: "pf-c-toolbar", role: "search" },
             h("div", { class: "dp-filter" }, h("label", { class: "pf-c-form__label", for: "dp-filter-text" }, _("Filter")), text),
             filterSelect(_("Class"), "cls", uniq(d => d.ClassName).map(c => [c, c]), rerender),
             filterSelect(_("State"), "state", uniq(d => d.State).map(s => [s, stateText({ State: s })]), rerender),
             filterSelect(_("Group"), "group", [...store.groups].map(([p, g]) => [p, g.Name]), rerender),
             filterSelect(_("NUMA node"), "numa", uniq(d => String(d.NumaNode)).map(n => [n, n === "-1" ? _("None") : n]), rerender),
             h("div", { class: "dp-toolbar-actions" },
               writeButton(_("Make passthrough"), {
                   id: "dp-make-passthrough",
                   class: "pf-c-button pf-m-primary",
                   disabled: picked().length === 0,
                   onclick: () => makePassthroughDialog(picked(), () => { selected.clear(); rerender() }),
               }),
               writeButton(_("Give back to host"), {
                   id: "dp-give-back",
                   disabled: picked().length === 0,
                   onclick: () => releaseDialog(picked(), () => { selected.clear(); rerender() }),
               })));
}

function vfCell(path, d) {
    if (d.SriovTotalVfs === 0)
        return d.PhysicalFunction !== "/" ? format(_("VF of $0"), shortAddress(store.devices.get(d.PhysicalFunction)?.Address || "")) : "";
    const fold = d.VirtualFunctions.length > FOLD_VFS && !filters.text
        ? h("button", { type: "button", id: "dp-fold-" + d.Address, class: "pf-c-button pf-m-link pf-m-inline", "aria-expanded": String(!folded(path, d)),
                        onclick: () => { unfolded.has(path) ? unfolded.delete(path) : unfolded.add(path); redraw() } },
            folded(path, d) ? format(_("Show $0 VFs"), d.VirtualFunctions.length) : _("Hide VFs"))
        : null;
    return h("span", {}, format(_("$0 of $1 VFs"), d.SriovNumVfs, d.SriovTotalVfs), " ",
             writeButton(_("Edit"), { class: "pf-c-button pf-m-link pf-m-inline", "aria-label": format(_("Edit VF count of $0"), d.Address),
                                      onclick: () => vfDialog(path, d) }), " ", fold);
}

function vfDialog(path, d) {
    const count = h("input", { type: "number", min: "0", max: String(d.SriovTotalVfs), value: String(d.SriovNumVfs), class: "pf-c-form-control" });
    dialog(format(_("Virtual functions of $0"), d.Address),
           [field(format(_("Count (0-$0)"), d.SriovTotalVfs), count)],
           [{ label: _("Set"), primary: true, run: () => call(path, "Device", "SetVirtualFunctions", [Number(count.value)]) }]);
}

/* The selection's buttons follow it; the rows stay as they are. */
function selectionChanged() {
    const none = ![...selected].some(p => store.devices.has(p));
    for (const id of ["dp-make-passthrough", "dp-give-back"]) {
        const b = document.getElementById(id);
        if (b && isAdmin())
            b.disabled = none;
    }
}

function row(path, d, unit, first, found) {
    const check = h("input", { type: "checkbox", id: "dp-select-" + d.Address, checked: selected.has(path), "aria-label": format(_("Select $0"), d.Address) });
    check.addEventListener("change", () => {
        if (check.checked)
            selected.add(path);
        else
            selected.delete(path);
        selectionChanged();
    });
    const blockers = d.Blockers.length || found.length
        ? h("ul", { class: "dp-blockers" }, d.Blockers.map(b => h("li", {}, b)),
            found.map(f => h("li", { class: "dp-guard" }, format(_("Guard: $0"), f))))
        : null;
    const group = d.Group !== "/" ? h("a", { href: "#/groups/" + d.Group.split("/").pop() }, groupName(d.Group)) : "";
    return h("tr", { class: (unit.vf ? "dp-vf " : "") + (first ? "dp-unit-first" : ""), "data-address": d.Address },
             h("td", {}, check),
             h("th", { scope: "row" }, shortAddress(d.Address)),
             h("td", {}, deviceLabel(d)),
             h("td", {}, d.ClassName),
             h("td", {}, d.Driver || "—"),
             h("td", {}, d.IommuGroup >= 0 ? String(d.IommuGroup) : "—"),
             h("td", {}, d.NumaNode >= 0 ? String(d.NumaNode) : "—"),
             h("td", { class: "dp-state dp-state-" + d.State }, stateText(d)),
             h("td", {}, group),
             h("td", {}, vfCell(path, d), blockers));
}

/* Rows by path, with what they were drawn from: a change redraws only
 * the rows it touches (a burst of VFs, the guard's answer). */
const rows = new Map();

function cachedRow(path, d, unit, first) {
    const found = d.State === "host" ? guard.findings.get(d.Address) || [] : [];
    const pf = d.PhysicalFunction !== "/" ? store.devices.get(d.PhysicalFunction)?.Address : "";
    const sig = JSON.stringify([d, selected.has(path), found, groupName(d.Group), pf, unit.vf, first, isAdmin(),
                                folded(path, d), filters.text === ""]);
    const cached = rows.get(path);
    if (cached && cached.sig === sig)
        return cached.tr;
    const tr = row(path, d, unit, first, found);
    rows.set(path, { sig, tr });
    return tr;
}

/* The view; rerender() redraws it. */
export function renderDevices(root, rerender) {
    redraw = rerender;
    guardRefresh(rerender);
    const byPath = new Map([...store.devices].map(([p, d]) => [d, p]));
    const shown = [...store.devices.values()].filter(matches);
    const table = h("table", { class: "pf-c-table pf-m-compact", "aria-label": _("PCI devices") },
                    h("thead", {}, h("tr", {},
                                     [_("Select"), _("Address"), _("Device"), _("Class"), _("Driver"), _("IOMMU group"),
                                      _("NUMA"), _("State"), _("Group"), _("SR-IOV, blockers, guard")]
                                             .map((t, i) => h("th", { scope: "col", class: i === 0 ? "dp-visually-hidden-label" : null }, t)))));
    let hidden = 0;
    for (const unit of units(shown)) {
        const pfPath = unit.members[0].PhysicalFunction;
        if (unit.vf && folded(pfPath, store.devices.get(pfPath))) {
            hidden += unit.members.length;
            continue;
        }
        const body = h("tbody", { class: "dp-unit" });
        unit.members.forEach((d, i) => body.append(cachedRow(byPath.get(d), d, unit, i === 0)));
        table.append(body);
    }
    const count = h("p", { class: "dp-count", "aria-live": "polite" },
                    format(_("$0 of $1 functions"), shown.length, store.devices.size));
    if (hidden)
        count.append(" · ", format(_("$0 VFs folded under their PF"), hidden));
    root.replaceChildren(toolbar(rerender), count, table);
    for (const path of rows.keys()) {
        if (!store.devices.has(path))
            rows.delete(path);
    }
}
