// SPDX-License-Identifier: LGPL-2.1-or-later
// The line protocol on fd 3 to tests/browser/cockpit-node: the kernel's
// part ("remove ADDRESS", "refuse-unbind DRIVER", "sriov PF TOTAL N") and
// the GetManagedObjects floor ("gmo"). Each command is answered by
// "ok[ VALUE]" or "error WHY", in order.
import net from "node:net";

const socket = new net.Socket({ fd: 3, readable: true, writable: true });
const waiters = [];
let buffer = "";
socket.on("data", chunk => {
    buffer += chunk;
    for (let i; (i = buffer.indexOf("\n")) >= 0; buffer = buffer.substring(i + 1))
        waiters.shift()(buffer.substring(0, i));
});

// Resolves with the answer's value ("" for a plain "ok").
export function kernelDo(command) {
    return new Promise((resolve, reject) => {
        waiters.push(line => line === "ok" || line.startsWith("ok ")
            ? resolve(line.substring(3))
            : reject(new Error(command + ": " + line)));
        socket.write(command + "\n");
    });
}

export function kernelClose() {
    socket.destroy();
}
