/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd's objects, followed live: GetManagedObjects once, then
 * InterfacesAdded/Removed and PropertiesChanged; never a poll. Every
 * change schedules one render. */

const cockpit = window.cockpit;

export const BUS_NAME = "org.devpass1";
export const ROOT = "/org/devpass1";
const IFACE = "org.devpass1.";

/* The objects by kind, each a map path -> properties. */
export const store = {
    manager: null,
    devices: new Map(),
    groups: new Map(),
    rules: new Map(),
    attachments: new Map(),
    ready: false,
    error: null,
};

const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";
const PROPERTIES = "org.freedesktop.DBus.Properties";
const KINDS = { Device: "devices", Group: "groups", Rule: "rules", Attachment: "attachments" };

let client = null;

function unwrap(props) {
    const out = {};
    for (const name in props)
        out[name] = props[name].v;
    return out;
}

/* The properties of one interface of path change (or come). */
function update(path, iface, props) {
    if (!iface.startsWith(IFACE))
        return;
    const name = iface.substring(IFACE.length);
    if (name === "Manager") {
        store.manager = { ...store.manager, ...unwrap(props) };
        return;
    }
    const kind = store[KINDS[name]];
    if (kind)
        kind.set(path, Object.assign(kind.get(path) || {}, unwrap(props)));
}

function remove(path, ifaces) {
    for (const iface of ifaces) {
        const kind = store[KINDS[iface.substring(IFACE.length)]];
        if (iface.startsWith(IFACE) && kind)
            kind.delete(path);
    }
}

/* Opens the connection ("superuser: try": as root when the session has
 * administrative access, else as the user) and calls changed() after
 * every change, at most once a frame. The signals are subscribed to
 * before the state is asked. */
export function connect(changed) {
    client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });

    let scheduled = false;
    const schedule = () => {
        if (scheduled)
            return;
        scheduled = true;
        window.requestAnimationFrame(() => {
            scheduled = false;
            changed();
        });
    };

    client.addEventListener("close", (event, options) => {
        store.error = options.message || cockpit.message(options);
        schedule();
    });

    /* Replies and signals reach the page in the order devpassd sent them:
     * a signal before a reply is in that reply already; one after it is
     * applied. Handled in cockpit's own callbacks, which keep that order
     * (a native promise would run after the signals of the same batch). */
    let managerIn = false, objectsIn = false;
    const signal = (path, iface, member, args) => {
        const manager = path === ROOT && member === "PropertiesChanged" && args[0] === IFACE + "Manager";
        if (!(manager ? managerIn : objectsIn))
            return;
        if (member === "PropertiesChanged")
            update(path, args[0], args[1]);
        else if (member === "InterfacesAdded")
            Object.entries(args[1]).forEach(([i, props]) => update(args[0], i, props));
        else if (member === "InterfacesRemoved")
            remove(args[0], args[1]);
        schedule();
    };
    client.subscribe({ path_namespace: ROOT, interface: PROPERTIES, member: "PropertiesChanged" }, signal);
    client.subscribe({ path: ROOT, interface: OBJECT_MANAGER }, signal);

    return new Promise(resolve => {
        const failed = ex => {
            store.error = ex.message || String(ex);
            schedule();
            resolve();
        };
        const arrived = () => {
            if (!managerIn || !objectsIn)
                return;
            store.ready = true;
            schedule();
            resolve();
        };
        /* The root's own properties are not in its GetManagedObjects. */
        client.call(ROOT, PROPERTIES, "GetAll", [IFACE + "Manager"]).then(([props]) => {
            update(ROOT, IFACE + "Manager", props);
            managerIn = true;
            arrived();
        }, failed);
        client.call(ROOT, OBJECT_MANAGER, "GetManagedObjects", []).then(([objects]) => {
            for (const [path, ifaces] of Object.entries(objects))
                Object.entries(ifaces).forEach(([iface, props]) => update(path, iface, props));
            objectsIn = true;
            arrived();
        }, failed);
    });
}

/* A method call: a native promise of the reply's values, rejected with
 * the D-Bus error (name, message). cockpit's own promises do not turn an
 * exception in a handler into a rejection. */
export function call(path, iface, method, args) {
    return new Promise((resolve, reject) => client.call(path, IFACE + iface, method, args).then(resolve, reject));
}

/* a{sv} from a plain object of [type, value] pairs; undefined values are
 * left out. */
export function settings(entries) {
    const out = {};
    for (const [key, [type, value]] of Object.entries(entries)) {
        if (value !== undefined)
            out[key] = cockpit.variant(type, value);
    }
    return out;
}

/* "0000:17:00.0" -> its object path. */
export function devicePath(address) {
    return ROOT + "/devices/" + address.replace(/[:.]/g, "_");
}
