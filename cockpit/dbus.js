/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd's objects, followed live: one watch per interface through the
 * bridge's ObjectManager support (InterfacesAdded/Removed and
 * PropertiesChanged), never a poll. Every change schedules one render. */

const cockpit = window.cockpit;

export const BUS_NAME = "org.devpass1";
export const ROOT = "/org/devpass1";
const IFACE = "org.devpass1.";

/* The objects by kind, each a map path -> properties (proxy.data). */
export const store = {
    manager: null,
    devices: new Map(),
    groups: new Map(),
    rules: new Map(),
    attachments: new Map(),
    ready: false,
    error: null,
};

let client = null;

/* Opens the connection ("superuser: try": as root when the session has
 * administrative access, else as the user) and calls changed() after
 * every change, at most once a frame. */
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

    const manager = client.proxy(IFACE + "Manager", ROOT);
    manager.addEventListener("changed", () => {
        store.manager = manager.data;
        schedule();
    });

    /* One watch of everything below the root (one GetManagedObjects in
     * the bridge); the proxies read its cache. */
    const watch = client.watch({ path_namespace: ROOT });
    const follow = (kind, iface) => {
        const proxies = client.proxies(IFACE + iface, ROOT, { watch: false });
        const update = (event, proxy) => {
            if (event.type === "removed")
                store[kind].delete(proxy.path);
            else
                store[kind].set(proxy.path, proxy.data);
            schedule();
        };
        proxies.addEventListener("added", update);
        proxies.addEventListener("changed", update);
        proxies.addEventListener("removed", update);
        return proxies.wait();
    };

    return Promise.all([
        watch,
        manager.wait(),
        follow("devices", "Device"),
        follow("groups", "Group"),
        follow("rules", "Rule"),
        follow("attachments", "Attachment"),
    ]).then(() => {
        if (!manager.valid)
            throw new Error(cockpit.format(cockpit.gettext("devpassd is not running on this node ($0 is not on the system bus)."), BUS_NAME));
        store.manager = manager.data;
        store.ready = true;
        schedule();
    }).catch(ex => {
        store.error = ex.message || String(ex);
        schedule();
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
