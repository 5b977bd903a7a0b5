/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The devpass page: the reboot banner on every view, the views by the
 * location (#/, #/groups, #/groups/<id>, #/machines), redrawn when
 * devpassd's objects change. */

import { store, connect } from "./dbus.js";
import { _, format, h, setAdmin, alert } from "./dom.js";
import { setNotify } from "./forms.js";
import { renderDevices } from "./devices.js";
import { renderGroups, renderGroup } from "./groups.js";
import { renderMachines } from "./machines.js";

const cockpit = window.cockpit;

const banner = document.getElementById("dp-banner");
const notice = document.getElementById("dp-notice");
const main = document.getElementById("dp-main");
const access = document.getElementById("dp-access");

function view() {
    const path = cockpit.location.path;
    if (path[0] === "groups" && path[1])
        return ["groups", path[1]];
    return [path[0] === "groups" || path[0] === "machines" ? path[0] : "devices"];
}

function renderBanner() {
    const m = store.manager;
    if (!m || !m.RebootRequired) {
        banner.replaceChildren();
        return;
    }
    banner.replaceChildren(alert("warning", _("A reboot of this node is required"),
                                 h("ul", {}, m.RebootReasons.map(([address, reason]) => h("li", {}, format("$0: $1", address, reason)))),
                                 h("p", {}, _("Follow the maintenance procedure first: move or stop the node's machines, then reboot it."))));
}

function renderNav(current) {
    for (const a of document.querySelectorAll("#dp-nav a")) {
        if (a.dataset.view === current)
            a.setAttribute("aria-current", "page");
        else
            a.removeAttribute("aria-current");
    }
}

/* What has the focus, so that a redraw can give it back: its id, or a
 * button's or link's name. */
function focusKey() {
    const el = document.activeElement;
    if (!el || !main.contains(el))
        return null;
    return { id: el.id, tag: el.tagName, name: el.getAttribute("aria-label") || el.textContent };
}

function focusRestore(key) {
    if (!key || main.contains(document.activeElement))
        return;
    const same = key.id
        ? document.getElementById(key.id)
        : [...main.querySelectorAll(key.tag)].find(el => (el.getAttribute("aria-label") || el.textContent) === key.name);
    same?.focus();
}

function render() {
    const focused = focusKey();
    renderBanner();
    if (store.error) {
        main.replaceChildren(alert("danger", store.error));
        return;
    }
    if (!store.ready)
        return;
    const [name, id] = view();
    renderNav(name);
    if (name === "devices")
        renderDevices(main, render);
    else if (name === "groups" && id)
        renderGroup(main, id);
    else if (name === "groups")
        renderGroups(main);
    else
        renderMachines(main);
    if (main.getAttribute("aria-busy") !== "false") {   /* bench/bench-cockpit.mjs */
        performance.mark("devpass-first-render");
        window.requestAnimationFrame(() => window.setTimeout(() => performance.mark("devpass-first-paint")));
    }
    main.setAttribute("aria-busy", "false");
    focusRestore(focused);
}

setNotify((variant, title, body) => {
    const close = h("button", { type: "button", class: "pf-c-button pf-m-plain", "aria-label": _("Close"), onclick: () => notice.replaceChildren() }, "✕");
    const a = alert(variant, title, body);
    a.append(close);
    notice.replaceChildren(a);
});

cockpit.translate();
const permission = cockpit.permission({ admin: true });
const onPermission = () => {
    setAdmin(permission.allowed);
    access.hidden = permission.allowed !== false;
    render();
};
permission.addEventListener("changed", onPermission);
onPermission();
cockpit.addEventListener("locationchanged", () => {
    notice.replaceChildren();
    render();
    main.focus();
});
connect(render).then(() => performance.mark("devpass-objects"));
