/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The forms: each a dialog whose submit is one devpassd call. A D-Bus
 * error is shown as its message, next to the field it names when it
 * names one. */

import { store, call, settings, ROOT } from "./dbus.js";
import { _, format, h, field, fieldError, dialog, isAdmin, shortAddress, alert } from "./dom.js";

export const CLASSES = {
    gpu: _("GPU"),
    nic: _("Network"),
    storage: _("Storage"),
    usb: _("USB"),
    accelerator: _("Accelerator"),
    other: _("Other"),
};
export const TYPES = { pci: _("PCI"), "sriov-nic": _("SR-IOV NIC") };
export const FIELDS = ["address", "vendor", "device", "subsystem-vendor", "subsystem-device", "class", "driver",
    "vendor-name", "device-name", "physical-function", "numa-node", "iommu-group"];
export const OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge", "prefix", "suffix", "contains", "icontains", "regex",
    "in"];

/* Where the success message of the last change goes (devpass.js). */
let notify = () => {};
export function setNotify(f) {
    notify = f;
}

/* A call made without a form failed: its message at the top. */
export function failed(ex) {
    notify("danger", ex.message || String(ex));
}

function select(options, value) {
    return h("select", { class: "pf-c-form-control" },
             Object.entries(options).map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

function input(value, attrs) {
    return h("input", { type: "text", class: "pf-c-form-control", value: value || "", ...attrs });
}

/* What an error message says about each field: its words. */
const FIELD_WORDS = {
    Name: /\bnamed?\b/i,
    machine: /\bmachines?\b/i,
    tenant: /\btenant\b/i,
    node: /\bnode\b/i,
    Count: /\bcount\b/i,
    Mac: /\bMAC\b/,
};

/* Rejects with the error after marking the fields its message names. */
function showOn(fields) {
    return ex => {
        const message = ex.message || String(ex);
        for (const [name, control] of Object.entries(fields)) {
            if (control && FIELD_WORDS[name].test(message))
                fieldError(control, message);
        }
        throw ex;
    };
}

/* The group form's fields: Name, Type, Class (with its icon), Description. */
function groupFields(g) {
    const f = {
        Name: input(g?.Name, { required: true, maxlength: "64" }),
        Type: select(TYPES, g?.Type || "pci"),
        Class: select(CLASSES, g?.Class || "other"),
        Description: input(g?.Description),
    };
    const icon = h("span", { class: "dp-icon dp-icon-" + f.Class.value, "aria-hidden": "true" });
    f.Class.addEventListener("change", () => { icon.className = "dp-icon dp-icon-" + f.Class.value });
    const body = [field(_("Name"), f.Name), field(_("Type"), f.Type),
        h("div", { class: "dp-class-field" }, icon, field(_("Class"), f.Class, _("Only picks the group's icon."))),
        field(_("Description"), f.Description)];
    return { f, body };
}

function groupSettings(f) {
    return { Name: ["s", f.Name.value], Type: ["s", f.Type.value], Class: ["s", f.Class.value], Description: ["s", f.Description.value] };
}

function findingText(finding) {
    const [address, , subject, message] = finding;
    return format("$0: $1", shortAddress(address), message || subject);
}

/* Make passthrough of the devices (paths): into an existing group or a
 * new one; CheckPassthrough's findings first, Force only when they allow
 * it. */
export function makePassthroughDialog(paths, done) {
    const hostGroups = [...store.groups].filter(([, g]) => !g.Tenant);
    const target = h("select", { class: "pf-c-form-control" },
                     h("option", { value: "" }, _("New group")),
                     hostGroups.map(([p, g]) => h("option", { value: p }, g.Name)));
    const { f, body } = groupFields(null);
    const newGroup = h("fieldset", { class: "dp-new-group" }, h("legend", {}, _("New group")), body);
    target.addEventListener("change", () => { newGroup.hidden = target.value !== "" });
    const findings = h("div", { class: "dp-findings", "aria-live": "polite" }, h("p", {}, _("Checking what the host would lose…")));
    const force = h("input", { type: "checkbox", id: "dp-force" });
    const forceRow = h("div", { class: "pf-c-check", hidden: true }, force,
                       h("label", { class: "pf-c-check__label", for: "dp-force" }, _("Force: pass them through anyway")));
    const names = paths.map(p => store.devices.get(p)?.Address).filter(Boolean);

    const d = dialog(_("Make passthrough"), [
        h("p", {}, format(_("Devices: $0"), names.map(shortAddress).join(", "))),
        findings, forceRow,
        field(_("Resource group"), target), newGroup,
    ], [{
        label: _("Submit"),
        primary: true,
        run: () => {
            const options = target.value
                ? { Group: ["o", target.value] }
                : groupSettings(f);
            if (force.checked)
                options.Force = ["b", true];
            return call(ROOT, "Manager", "MakePassthrough", [paths, settings(options)])
                    .then(([group, reboot]) => {
                        const rules = [...store.rules.values()].filter(r => r.Group === group &&
                            r.Conditions.some(c => c[0] === "address" &&
                                (c[1] === "in" ? c[2].split(",") : [c[2]]).some(a => names.includes(a))));
                        notify("success", format(_("Created rules $0 in group $1."), rules.map(r => r.Name).join(", ") || names.join(", "),
                                                 store.groups.get(group)?.Name || ""),
                               reboot ? _("A reboot of the node is required.") : null);
                        done();
                    }, showOn({ Name: f.Name }));
        },
    }]);
    d.box.classList.add("dp-make-passthrough");

    call(ROOT, "Manager", "CheckPassthrough", [paths]).then(([list]) => {
        if (list.length === 0) {
            findings.replaceChildren(alert("success", _("Nothing on the host uses these devices.")));
            return;
        }
        findings.replaceChildren(alert("warning", _("The host would lose:"),
                                       h("ul", {}, list.map(x => h("li", { "data-kind": x[1] }, findingText(x))))));
        const unforceable = list.some(x => x[1] === "bridge" || x[1] === "vfs-in-use");
        forceRow.hidden = unforceable || !isAdmin();
    }, ex => findings.replaceChildren(alert("danger", ex.message)));
}

/* RemovePassthrough: the devices go back to their host drivers. */
export function releaseDialog(paths, done) {
    const names = paths.map(p => shortAddress(store.devices.get(p)?.Address || p));
    dialog(_("Give back to the host"), [h("p", {}, format(_("$0 go back to their host drivers; their rules stay."), names.join(", ")))], [{
        label: _("Give back"),
        primary: true,
        run: () => call(ROOT, "Manager", "RemovePassthrough", [paths]).then(() => done()),
    }]);
}

/* A new group, or the settings of one (path). */
export function groupDialog(path) {
    const g = path ? store.groups.get(path) : null;
    const { f, body } = groupFields(g);
    dialog(g ? format(_("Edit $0"), g.Name) : _("New resource group"), body, [{
        label: g ? _("Save") : _("Create"),
        primary: true,
        run: () => {
            const s = groupSettings(f);
            if (g && g.Devices.length)
                delete s.Type;
            return (g ? call(path, "Group", "Update", [settings(s)]) : call(ROOT, "Manager", "CreateGroup", [settings(s)]))
                    .catch(showOn({ Name: f.Name }));
        },
    }]);
}

/* Group.Delete, with Release: the devices go back to the host first. */
export function deleteGroupDialog(path, done) {
    const g = store.groups.get(path);
    const release = h("input", { type: "checkbox", id: "dp-release", checked: true });
    dialog(format(_("Delete $0"), g.Name), [
        h("p", {}, _("The group and its rules are removed.")),
        h("div", { class: "pf-c-check" }, release,
          h("label", { class: "pf-c-check__label", for: "dp-release" }, _("Give its passthrough devices back to the host"))),
    ], [{
        label: _("Delete"),
        danger: true,
        run: () => call(path, "Group", "Delete", [settings({ Release: ["b", release.checked] })]).then(() => done()),
    }]);
}

function conditionRow(list, c) {
    const fieldSel = h("select", { class: "pf-c-form-control", "aria-label": _("Field") },
                       FIELDS.map(x => h("option", { value: x, selected: c[0] === x }, x)));
    const opSel = h("select", { class: "pf-c-form-control", "aria-label": _("Operator") },
                    OPERATORS.map(x => h("option", { value: x, selected: c[1] === x }, x)));
    const value = input(c[2], { "aria-label": _("Value") });
    const li = h("li", { class: "dp-condition" }, fieldSel, opSel, value,
                 h("button", { type: "button", class: "pf-c-button pf-m-link", "aria-label": _("Remove condition"), onclick: () => li.remove() }, "✕"));
    li.read = () => [fieldSel.value, opSel.value, value.value];
    list.append(li);
}

/* A new rule of a group, or the settings of one (path): conditions with
 * every field and operator, the node (all nodes or one), enabled. */
export function ruleDialog(groupPath, path) {
    const r = path ? store.rules.get(path) : null;
    const here = store.manager?.Node || "";
    const name = input(r?.Name);
    const node = h("select", { class: "pf-c-form-control" },
                   h("option", { value: "", selected: r ? r.Node === "" : false }, _("All nodes")),
                   h("option", { value: here, selected: !r || r.Node === here }, format(_("This node ($0)"), here)),
                   r && r.Node && r.Node !== here ? h("option", { value: r.Node, selected: true }, r.Node) : null);
    const enabled = h("input", { type: "checkbox", id: "dp-rule-enabled", checked: r ? r.Enabled : true });
    const list = h("ul", { class: "dp-conditions", "aria-label": _("Conditions") });
    (r ? r.Conditions : [["vendor", "eq", ""]]).forEach(c => conditionRow(list, c));
    dialog(r ? format(_("Edit rule $0"), r.Name) : _("New rule"), [
        field(_("Name"), name),
        field(_("Node"), node),
        h("div", { class: "pf-c-check" }, enabled, h("label", { class: "pf-c-check__label", for: "dp-rule-enabled" }, _("Enabled"))),
        h("fieldset", {}, h("legend", {}, _("Conditions (all must hold)")), list,
          h("button", { type: "button", class: "pf-c-button pf-m-link", onclick: () => conditionRow(list, ["address", "eq", ""]) }, _("Add condition"))),
    ], [{
        label: r ? _("Save") : _("Create"),
        primary: true,
        run: () => {
            const s = settings({
                Name: ["s", name.value || undefined],
                Node: ["s", node.value],
                Enabled: ["b", enabled.checked],
                Conditions: ["a(sss)", [...list.children].map(li => li.read())],
            });
            return (r ? call(path, "Rule", "Update", [s]) : call(ROOT, "Manager", "CreateRule", [groupPath, s]))
                    .catch(showOn({ Name: name }));
        },
    }]);
}

/* Machine devices: one entry per machine, several machines at once
 * (CreateAttachments, one transaction). */
export function attachmentsDialog(groupPath) {
    const g = store.groups.get(groupPath);
    const machines = h("textarea", { class: "pf-c-form-control", rows: "2", required: true });
    const name = input("");
    const description = input("");
    const count = h("input", { type: "number", min: "1", max: String(Math.max(1, g.Total)), value: "1", class: "pf-c-form-control" });
    const optional = h("input", { type: "checkbox", id: "dp-att-optional" });
    const mac = input("", { placeholder: _("Made by devpass when blank") });
    dialog(format(_("New machine devices of $0"), g.Name), [
        field(_("Machines"), machines, _("One or more machine names, separated by spaces or commas.")),
        field(_("Name"), name, _("\"<group> <n>\" when blank.")),
        field(_("Description"), description),
        field(_("Count"), count),
        h("div", { class: "pf-c-check" }, optional, h("label", { class: "pf-c-check__label", for: "dp-att-optional" }, _("Optional: the machine starts without it"))),
        g.Type === "sriov-nic" ? field(_("MAC address"), mac, _("For a count of 1; leave blank for a generated one.")) : null,
    ], [{
        label: _("Submit"),
        primary: true,
        run: () => {
            const names = machines.value.split(/[\s,]+/).filter(Boolean);
            if (names.length === 0) {
                fieldError(machines, _("Name at least one machine."));
                return Promise.reject(null);
            }
            const entries = names.map(m => [m, settings({
                Group: ["o", groupPath],
                Count: ["u", Number(count.value)],
                Name: ["s", name.value || undefined],
                Description: ["s", description.value || undefined],
                Optional: ["b", optional.checked],
                Mac: ["s", mac.value || undefined],
            })]);
            return call(ROOT, "Manager", "CreateAttachments", [entries])
                    .catch(showOn({ machine: machines, Count: count, Mac: mac, Name: name }));
        },
    }]);
}

/* A pass to a tenant: the seed's form (name, type, description, count,
 * MAC), and the tenant and its node. */
export function tenantDialog(groupPath) {
    const g = store.groups.get(groupPath);
    const tenant = input("", { required: true });
    const tenantNode = input("", { required: true });
    const name = input("");
    const type = select(TYPES, g.Type);
    const description = input("");
    const count = h("input", { type: "number", min: "1", value: "1", class: "pf-c-form-control" });
    const mac = input("", { placeholder: _("Made by devpass when blank") });
    dialog(format(_("Pass devices of $0 to a tenant"), g.Name), [
        field(_("Tenant"), tenant),
        field(_("Tenant node"), tenantNode),
        field(_("Name"), name, _("\"<tenant> <group>\" when blank.")),
        field(_("Type"), type),
        field(_("Description"), description),
        field(_("Count"), count),
        field(_("MAC address"), mac, _("SR-IOV NIC, count 1; leave blank for a generated one.")),
    ], [{
        label: _("Submit"),
        primary: true,
        run: () => call(ROOT, "Manager", "PassToTenant", [tenant.value, tenantNode.value, settings({
            Group: ["o", groupPath],
            Count: ["u", Number(count.value)],
            Name: ["s", name.value || undefined],
            Type: ["s", type.value],
            Description: ["s", description.value || undefined],
            Mac: ["s", mac.value || undefined],
        })]).catch(showOn({ tenant: tenant, node: tenantNode, Count: count, Mac: mac, Name: name })),
    }]);
}
