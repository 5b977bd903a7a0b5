// SPDX-License-Identifier: LGPL-2.1-or-later
// The Cockpit page's two figures (bench/cockpit runs this through
// tests/browser/cockpit-node, once per node), each against the
// GetManagedObjects round trip of the same node, timed by cockpit-node
// over sd-bus in the same run:
//   render  DEVPASS_COCKPIT_NODE=nodegen:4096: from navigation to the
//           devices view showing every function
//   burst   the GPU server: from the kernel's part of a 256-VF burst
//           (cockpit-node writes the VFs and sends their uevents) to the
//           page showing them all
import { createRequire } from "node:module";
import { kernelDo, kernelClose } from "../tests/browser/kernel.mjs";

const require = createRequire(new URL("../tests/browser/", import.meta.url));
const { chromium } = require("playwright-core");
const RUNS = 5;
const what = process.argv[2];

function median(v) {
    const s = [...v].sort((a, b) => a - b);
    return s[s.length >> 1];
}

async function counted(page, text) {
    await page.locator(".dp-count").filter({ hasText: text }).waitFor({ timeout: 120000 });
}

const browser = await chromium.launch({ executablePath: process.env.DEVPASS_CHROMIUM || "/usr/bin/chromium",
                                        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const times = [];
const marks = [];
const client = [];
let label, floor;

if (what === "render") {
    for (let i = 0; i < RUNS; i++) {
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(process.env.DEVPASS_COCKPIT_URL);
        await counted(page, /^(\d+) of \1 functions\b/);
        times.push(performance.now() - t0);
        marks.push(await page.evaluate(() => ["devpass-objects", "devpass-first-render", "devpass-first-paint"]
                .map(name => performance.getEntriesByName(name)[0]?.startTime.toFixed(0)).join(" / ")));
        const text = await page.locator(".dp-count").textContent();
        label = `first full render of ${text.split(" ")[0]} functions (${text.split("· ")[1] || "none folded"})`;
        await page.close();
    }
    floor = Number(await kernelDo("gmo"));
} else {
    const page = await context.newPage();
    await page.goto(process.env.DEVPASS_COCKPIT_URL);
    await counted(page, /^22 of 22 functions\b/);
    for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        client.push(Number(await kernelDo("sriov 0000:3b:00.1 256 256")));
        await counted(page, /^278 of 278 functions\b/);
        times.push(performance.now() - t0);
        if (i === RUNS - 1)
            floor = Number(await kernelDo("gmo"));
        await kernelDo("sriov 0000:3b:00.1 256 0");
        await counted(page, /^22 of 22 functions\b/);
    }
    label = "256-VF burst on the page";
}
await browser.close();
kernelClose();
if (marks.length)
    console.log(`  objects in / rendered / painted, ms after navigation: ${marks.join(", ")}`);
if (client.length)
    console.log(`  the same burst's last InterfacesAdded at a plain sd-bus client: ${median(client).toFixed(1)} ms ` +
                `(page / client ${(median(times) / median(client)).toFixed(1)}x)`);
const m = median(times);
console.log(`  ${label}: ${m.toFixed(1)} ms (median of ${RUNS}: ${times.map(t => t.toFixed(0)).join(", ")}) / ` +
            `GetManagedObjects round trip ${floor.toFixed(1)} ms = ${(m / floor).toFixed(1)}x`);
