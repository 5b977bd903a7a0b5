/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small DOM helpers: elements from data (text is always text, never HTML),
 * the administrative-access rule for write controls, and dialogs. */

const cockpit = window.cockpit;
export const _ = cockpit.gettext;
export const format = cockpit.format;

/* h("button", { class: "pf-c-button", onclick: f }, "Text", child...) */
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === undefined || value === null || value === false)
            continue;
        if (key.startsWith("on"))
            el.addEventListener(key.substring(2), value);
        else if (key === "value")
            el.value = value;
        else if (key === "checked")
            el.checked = value;
        else
            el.setAttribute(key, value === true ? "" : value);
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const child of children) {
        if (child === undefined || child === null || child === false)
            continue;
        if (Array.isArray(child))
            append(el, child);
        else
            el.append(child instanceof Node ? child : String(child));
    }
}

let admin = false;

/* Whether this session may change anything (cockpit.permission). */
export function setAdmin(allowed) {
    admin = !!allowed;
}

export function isAdmin() {
    return admin;
}

/* A button that changes something: disabled, saying why, without
 * administrative access. */
export function writeButton(label, attrs) {
    const b = h("button", { type: "button", class: "pf-c-button pf-m-secondary", ...attrs }, label);
    if (!admin) {
        b.disabled = true;
        b.title = _("Turn on administrative access");
        b.setAttribute("aria-description", _("Turn on administrative access"));
    }
    return b;
}

/* An alert: variant "danger", "warning", "success" or "info". */
export function alert(variant, title, ...body) {
    return h("div", { class: "pf-c-alert pf-m-inline pf-m-" + variant, role: variant === "danger" ? "alert" : "status" },
             h("p", { class: "pf-c-alert__title" }, title),
             body.length ? h("div", { class: "pf-c-alert__description" }, body) : null);
}

/* A labelled form field; control gets an id and the label points at it. */
let nextId = 0;
export function field(label, control, help) {
    const id = control.id || ("dp-field-" + (++nextId));
    control.id = id;
    const helpId = id + "-help";
    if (help)
        control.setAttribute("aria-describedby", helpId);
    return h("div", { class: "pf-c-form__group" },
             h("label", { class: "pf-c-form__label", for: id }, label),
             control,
             h("div", { class: "pf-c-form__helper-text", id: helpId, "aria-live": "polite" }, help || ""));
}

/* Shows an error next to the field it concerns (or at the form's end). */
export function fieldError(control, message) {
    const help = document.getElementById(control.id + "-help");
    control.setAttribute("aria-invalid", "true");
    if (help) {
        if (help.dataset.help === undefined)
            help.dataset.help = help.textContent;
        help.textContent = message;
        help.classList.add("pf-m-error");
    }
}

/* A modal dialog. body: elements; actions: [{label, primary, run}], where
 * run(dialog) returns a promise: the dialog closes when it resolves, and
 * shows the error's message when it rejects. Escape and Cancel close it;
 * focus returns to where it was. */
export function dialog(title, body, actions) {
    const opener = document.activeElement;
    const titleId = "dp-dialog-title-" + (++nextId);
    const errorBox = h("div", { class: "dp-dialog-error", "aria-live": "assertive" });
    const footer = h("footer", { class: "pf-c-modal-box__footer" });
    const box = h("div", { class: "pf-c-modal-box", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId },
                  h("header", { class: "pf-c-modal-box__header" }, h("h1", { class: "pf-c-modal-box__title", id: titleId }, title)),
                  h("form", { class: "pf-c-form pf-c-modal-box__body", novalidate: true }, body, errorBox),
                  footer);
    const backdrop = h("div", { class: "pf-c-backdrop" }, box);
    /* Escape closes; Tab stays within the dialog. */
    const onKey = ev => {
        if (ev.key === "Escape") {
            close();
        } else if (ev.key === "Tab") {
            const stops = [...box.querySelectorAll("input, select, textarea, button, a[href]")]
                    .filter(el => !el.disabled && el.offsetParent !== null);
            const first = stops[0], last = stops[stops.length - 1];
            if (!box.contains(document.activeElement) || (ev.shiftKey ? document.activeElement === first : document.activeElement === last)) {
                ev.preventDefault();
                (ev.shiftKey ? last : first).focus();
            }
        }
    };
    const close = () => {
        document.removeEventListener("keydown", onKey);
        backdrop.remove();
        if (opener && opener.focus)
            opener.focus();
    };
    const d = {
        close,
        box,
        error(message) {
            errorBox.replaceChildren(alert("danger", message));
        },
        clearError() {
            errorBox.replaceChildren();
            for (const control of box.querySelectorAll("[aria-invalid]"))
                control.removeAttribute("aria-invalid");
            for (const help of box.querySelectorAll(".pf-m-error")) {
                help.textContent = help.dataset.help;
                help.classList.remove("pf-m-error");
            }
        },
    };
    for (const action of actions) {
        const b = h("button", { type: action.primary ? "submit" : "button", class: "pf-c-button " + (action.primary ? "pf-m-primary" : (action.danger ? "pf-m-danger" : "pf-m-secondary")) }, action.label);
        b.addEventListener("click", ev => {
            ev.preventDefault();
            d.clearError();
            b.disabled = true;
            Promise.resolve(action.run(d)).then(() => close(), ex => {
                if (ex)
                    d.error(ex.message || String(ex));
            }).finally(() => { b.disabled = false });
        });
        footer.append(b);
    }
    const cancel = h("button", { type: "button", class: "pf-c-button pf-m-link", onclick: close }, _("Cancel"));
    footer.append(cancel);
    box.querySelector("form").addEventListener("submit", ev => ev.preventDefault());
    document.addEventListener("keydown", onKey);
    document.body.append(backdrop);
    const first = box.querySelector("input, select, textarea, button");
    (first || cancel).focus();
    return d;
}

/* The address without domain 0000, as lspci prints it. */
export function shortAddress(address) {
    return address.startsWith("0000:") ? address.substring(5) : address;
}

export function pathId(path) {
    return path.substring(path.lastIndexOf("/") + 1);
}
