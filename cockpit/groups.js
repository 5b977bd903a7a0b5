/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Groups: cards, and a group's page with its rules (conflicts on both
 * sides), devices, machine devices and tenant passes. */

import { store, call, settings } from "./dbus.js";
import { _, format, h, writeButton, shortAddress, pathId } from "./dom.js";
import { failed, CLASSES, TYPES, groupDialog, deleteGroupDialog, ruleDialog, attachmentsDialog, tenantDialog } from "./forms.js";
import { deviceLabel, stateText, groupName } from "./devices.js";

function icon(cls) {
    return h("span", { class: "dp-icon dp-icon-" + cls, role: "img", "aria-label": CLASSES[cls] || cls });
}

function card(path, g) {
    return h("article", { class: "pf-c-card", "aria-labelledby": "dp-card-" + pathId(path) },
             h("div", { class: "pf-c-card__title" }, icon(g.Class),
               h("h2", { id: "dp-card-" + pathId(path) }, h("a", { href: "#/groups/" + pathId(path) }, g.Name))),
             h("div", { class: "pf-c-card__body" },
               h("dl", { class: "dp-totals" },
                 h("dt", {}, _("Type")), h("dd", {}, TYPES[g.Type] || g.Type),
                 h("dt", {}, _("Total")), h("dd", {}, String(g.Total)),
                 h("dt", {}, _("Free")), h("dd", {}, String(g.Free)),
                 g.Tenant ? [h("dt", {}, _("Tenant")), h("dd", {}, format("$0 ($1)", g.Tenant, g.TenantNode))] : null),
               g.Description ? h("p", {}, g.Description) : null));
}

export function renderGroups(root) {
    const groups = [...store.groups].sort((a, b) => a[1].Name.localeCompare(b[1].Name));
    root.replaceChildren(
        h("div", { class: "pf-c-toolbar" }, writeButton(_("New group"), { class: "pf-c-button pf-m-primary", onclick: () => groupDialog(null) })),
        groups.length
            ? h("div", { class: "dp-cards" }, groups.map(([p, g]) => card(p, g)))
            : h("p", { class: "dp-empty" }, _("No resource groups yet: select devices and Make passthrough.")));
}

function ruleName(path) {
    const r = store.rules.get(path);
    return r ? format(_("$0 of $1"), r.Name, groupName(r.Group)) : path;
}

function rulesTable(groupPath, g) {
    const rows = g.Rules.map(p => [p, store.rules.get(p)]).filter(([, r]) => r);
    return h("table", { class: "pf-c-table pf-m-compact", "aria-label": _("Rules") },
             h("thead", {}, h("tr", {}, [_("Name"), _("Node"), _("Conditions"), _("Enabled"), _("Devices"), _("Conflicts"), _("Actions")]
                     .map(t => h("th", { scope: "col" }, t)))),
             h("tbody", {}, rows.map(([p, r]) => {
                 const toggle = writeButton(r.Enabled ? _("Disable") : _("Enable"), {
                     id: "dp-rule-toggle-" + pathId(p),
                     "aria-label": format(r.Enabled ? _("Disable rule $0") : _("Enable rule $0"), r.Name),
                     onclick: () => call(p, "Rule", "Update", [settings({ Enabled: ["b", !r.Enabled] })]).catch(failed),
                 });
                 return h("tr", { "data-rule": r.Name },
                          h("th", { scope: "row" }, r.Name),
                          h("td", { class: "dp-rule-node" }, r.Node || _("All nodes")),
                          h("td", {}, h("ul", { class: "dp-plain" }, r.Conditions.map(c => h("li", {}, h("code", {}, c.join(" ")))))),
                          h("td", {}, r.Enabled ? _("Yes") : _("No")),
                          h("td", {}, r.Devices.map(d => shortAddress(store.devices.get(d)?.Address || d)).join(", ")),
                          h("td", { class: "dp-conflicts" }, r.Conflicts.map(([dev, other]) =>
                              h("div", {}, format(_("$0 also matched by rule $1"), shortAddress(store.devices.get(dev)?.Address || dev), ruleName(other))))),
                          h("td", {},
                            writeButton(_("Edit"), { "aria-label": format(_("Edit rule $0"), r.Name), onclick: () => ruleDialog(groupPath, p) }), " ", toggle, " ",
                            writeButton(_("Delete"), { "aria-label": format(_("Delete rule $0"), r.Name),
                                                       onclick: () => call(p, "Rule", "Delete", []).catch(failed) })));
             })));
}

function devicesTable(g) {
    return h("table", { class: "pf-c-table pf-m-compact", "aria-label": _("Devices of the group") },
             h("thead", {}, h("tr", {}, [_("Address"), _("Device"), _("Driver"), _("State"), _("Blockers")].map(t => h("th", { scope: "col" }, t)))),
             h("tbody", {}, g.Devices.map(p => store.devices.get(p)).filter(Boolean).map(d =>
                 h("tr", {}, h("th", { scope: "row" }, shortAddress(d.Address)), h("td", {}, deviceLabel(d)), h("td", {}, d.Driver || "—"),
                   h("td", {}, stateText(d)), h("td", {}, d.Blockers.join(" "))))));
}

export function attachmentState(a) {
    const names = { "restart-required": _("Restart required"), attached: _("Attached"), degraded: _("Degraded"), error: _("Error") };
    const text = names[a.State] || a.State;
    return h("span", { class: "dp-att-state dp-att-" + a.State }, a.StateReason ? format("$0: $1", text, a.StateReason) : text);
}

export function attachmentsTable(list, withGroup) {
    return h("table", { class: "pf-c-table pf-m-compact", "aria-label": _("Machine devices") },
             h("thead", {}, h("tr", {}, [_("Machine"), _("Name"), withGroup ? _("Group") : null, _("Count"), _("State"), _("Devices held"), _("MAC"), _("Actions")]
                     .filter(Boolean).map(t => h("th", { scope: "col" }, t)))),
             h("tbody", {}, list.map(([p, a]) => h("tr", { "data-machine": a.Machine },
                 h("th", { scope: "row" }, a.Machine),
                 h("td", {}, a.Name),
                 withGroup ? h("td", {}, groupName(a.Group)) : null,
                 h("td", {}, String(a.Count) + (a.Optional ? " " + _("(optional)") : "")),
                 h("td", {}, attachmentState(a)),
                 h("td", {}, a.Devices.map(d => shortAddress(store.devices.get(d)?.Address || pathId(d).replace(/_/g, ":"))).join(", ")),
                 h("td", {}, (a.DeviceMacs.length ? a.DeviceMacs : a.Macs).filter(Boolean).join(", ")),
                 h("td", {}, writeButton(_("Delete"), { "aria-label": format(_("Delete $0 of $1"), a.Name, a.Machine),
                                                        onclick: () => call(p, "Attachment", "Delete", []).catch(failed) }))))));
}

/* Tenant groups holding devices of this group. */
function tenantPasses(g) {
    const mine = new Set(g.Devices);
    return [...store.groups].filter(([, t]) => t.Tenant && t.Devices.some(d => mine.has(d)));
}

function section(title, actions, ...content) {
    const id = "dp-section-" + title.toLowerCase().replace(/[^a-z]+/g, "-");
    return h("section", { class: "dp-section", "aria-labelledby": id },
             h("div", { class: "dp-section-head" }, h("h2", { id }, title), actions),
             content);
}

export function renderGroup(root, id) {
    const path = "/org/devpass1/groups/" + id;
    const g = store.groups.get(path);
    if (!g) {
        root.replaceChildren(h("p", { class: "dp-empty" }, _("This group does not exist (any more)."), " ", h("a", { href: "#/groups" }, _("All groups"))));
        return;
    }
    const attachments = [...store.attachments].filter(([, a]) => a.Group === path);
    const passes = tenantPasses(g);
    root.replaceChildren(...[
        h("nav", { class: "pf-c-breadcrumb", "aria-label": _("Breadcrumb") }, h("a", { href: "#/groups" }, _("Groups")), " › ", g.Name),
        h("header", { class: "dp-group-head" }, icon(g.Class), h("h1", {}, g.Name),
          h("span", { class: "dp-totals-inline" }, format(_("$0 · Total $1 · Free $2"), TYPES[g.Type] || g.Type, g.Total, g.Free)),
          writeButton(_("Edit"), { onclick: () => groupDialog(path) }), " ",
          writeButton(_("Delete"), { class: "pf-c-button pf-m-danger", onclick: () => deleteGroupDialog(path, () => { window.location.hash = "#/groups" }) })),
        g.Description ? h("p", {}, g.Description) : null,
        section(_("Rules"), writeButton(_("New rule"), { onclick: () => ruleDialog(path, null) }), rulesTable(path, g)),
        section(_("Devices"), null, devicesTable(g)),
        section(_("Machine devices"), writeButton(_("New machine devices"), { onclick: () => attachmentsDialog(path) }),
                attachments.length ? attachmentsTable(attachments, false) : h("p", { class: "dp-empty" }, _("No machine uses this group."))),
        g.Tenant ? null : section(_("Tenant passes"), writeButton(_("Pass to tenant"), { onclick: () => tenantDialog(path) }),
                                  passes.length
                                      ? h("ul", {}, passes.map(([p, t]) => h("li", {}, h("a", { href: "#/groups/" + pathId(p) }, t.Name), " ",
                                                                             format(_("$0 on $1, $2 devices"), t.Tenant, t.TenantNode, t.Total))))
                                      : h("p", { class: "dp-empty" }, _("No devices passed to a tenant.")))
    ].filter(Boolean));
}
