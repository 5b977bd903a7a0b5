// SPDX-License-Identifier: LGPL-2.1-or-later
// The Cockpit page in Debian's chromium, against the real cockpit-ws and
// devpassd on the GPU-server node (tests/browser/cockpit-node.c starts
// them and passes the URLs; fd 3 plays the kernel's part). Each seed
// workflow is asserted on the page and on the D-Bus state (devpassctl
// --json). Prints "N passed, N failed"; a missing browser fails.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const CHROMIUM = process.env.DEVPASS_CHROMIUM || "/usr/bin/chromium";
const URL = process.env.DEVPASS_COCKPIT_URL;
const URL_NOBODY = process.env.DEVPASS_COCKPIT_URL_NOBODY;
const ARTIFACTS = process.env.DEVPASS_BROWSER_ARTIFACTS || "artifacts";
const DEVPASSCTL = process.env.DEVPASSCTL;
const LIVE_MS = 1000;   // "within a second"

function fatal(message) {
    console.error("browser suite: " + message);
    console.log("0 passed, 1 failed");
    process.exit(1);
}

let playwright, axeSource;
try {
    playwright = require("playwright-core");
    axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
} catch (ex) {
    fatal("playwright-core or axe-core missing (" + ex.message + "): run .ci/deps, or npm ci in tests/browser");
}
if (!existsSync(CHROMIUM))
    fatal(CHROMIUM + " missing: install chromium (.ci/deps)");
if (!URL || !URL_NOBODY || !DEVPASSCTL)
    fatal("run through cockpit-node (meson test browser-cockpit)");
mkdirSync(ARTIFACTS, { recursive: true });

// ---- the node: devpassctl for the D-Bus state, fd 3 for the kernel ----

function ctl(...args) {
    return execFileSync(DEVPASSCTL, args, { encoding: "utf8" });
}

function ctlJson(...args) {
    return JSON.parse(ctl(...args, "--json"));
}

function device(address) {
    return ctlJson("devices").find(d => d.Address === address);
}

const kernel = new net.Socket({ fd: 3, readable: true, writable: true });
let kernelWaiters = [];
let kernelBuffer = "";
kernel.on("data", chunk => {
    kernelBuffer += chunk;
    let i;
    while ((i = kernelBuffer.indexOf("\n")) >= 0) {
        const line = kernelBuffer.substring(0, i);
        kernelBuffer = kernelBuffer.substring(i + 1);
        kernelWaiters.shift()(line);
    }
});

function kernelDo(command) {
    return new Promise((resolve, reject) => {
        kernelWaiters.push(line => line === "ok" ? resolve() : reject(new Error(command + ": " + line)));
        kernel.write(command + "\n");
    });
}

// ---- checks ----

function assert(condition, message) {
    if (!condition)
        throw new Error(message);
}

function assertEqual(got, want, what) {
    if (JSON.stringify(got) !== JSON.stringify(want))
        throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// The page's text of a locator, once it contains want (or fails after ms).
async function waitText(locator, want, ms = 5000) {
    await locator.filter({ hasText: want }).first().waitFor({ timeout: ms });
}

// ---- the browser ----

const browser = await playwright.chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
}).catch(ex => fatal("cannot start " + CHROMIUM + ": " + ex.message));

const consoleErrors = [];

async function openPage(url, name) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    page.on("console", m => {
        if (m.type() === "error" || m.type() === "warning")
            consoleErrors.push(`${name}: ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", ex => consoleErrors.push(`${name}: uncaught: ${ex.message}`));
    await page.goto(url);
    await page.locator("main[aria-busy=false]").waitFor({ timeout: 15000 });
    return page;
}

async function shot(page, name) {
    const path = `${ARTIFACTS}/${name}.png`;
    await page.screenshot({ path, fullPage: true });
    return path;
}

async function axe(page, name) {
    await page.evaluate(axeSource);
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    const bad = result.violations.filter(v => v.impact === "serious" || v.impact === "critical");
    assert(bad.length === 0, `${name}: accessibility: ` +
        bad.map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(" ")).join(", ")}`).join("; "));
}

async function go(page, hash) {
    await page.evaluate(h => { window.location.hash = h }, hash);
    await page.locator("main[aria-busy=false]").waitFor();
}

function row(page, address) {
    return page.locator(`tr[data-address="${address}"]`);
}

async function select(page, addresses) {
    for (const a of addresses)
        await page.getByLabel(`Select ${a}`, { exact: true }).check();
}

// ---- the workflows ----

const tests = [];
function test(name, fn) {
    tests.push({ name, fn });
}

let admin, nobody;

test("the devices view lists every function, grouped by IOMMU group", async () => {
    const devices = ctlJson("devices");
    assertEqual(await page().locator("tbody tr").count(), devices.length, "rows");
    await waitText(page().locator(".dp-count"), `${devices.length} of ${devices.length} functions`);
    await waitText(row(page(), "0000:3b:02.0"), "VF of 3b:00.0");
    await waitText(row(page(), "0000:3b:00.0"), "4 of 64 VFs");
    await shot(page(), "devices");
    await axe(page(), "devices");
});

test("make passthrough of a GPU and its audio function into a new group", async () => {
    const p = page();
    await select(p, ["0000:17:00.0", "0000:17:00.1"]);
    await p.getByRole("button", { name: "Make passthrough" }).click();
    const dlg = p.getByRole("dialog", { name: "Make passthrough" });
    await waitText(dlg.locator(".dp-findings"), "Nothing on the host uses these devices.");
    await dlg.getByLabel("Name", { exact: true }).fill("PCI GPUs");
    await dlg.getByLabel("Class").selectOption("gpu");
    await dlg.getByLabel("Description").fill("RTX A6000 for render VMs");
    await shot(p, "make-passthrough");
    await axe(p, "make-passthrough dialog");
    await dlg.getByRole("button", { name: "Submit" }).click();
    await dlg.waitFor({ state: "detached" });
    await waitText(p.locator("#dp-notice"), "Created rules");
    for (const a of ["0000:17:00.0", "0000:17:00.1"]) {
        await waitText(row(p, a), "Passthrough");
        const d = device(a);
        assertEqual([d.State, d.Driver], ["passthrough", "vfio-pci"], a);
    }
    const group = ctlJson("groups").find(g => g.Name === "PCI GPUs");
    assert(group, "no group PCI GPUs on the bus");
    assertEqual([group.Class, group.Total, group.Free], ["gpu", 1, 1], "the group");
});

function page() {
    return admin;
}

// ---- run ----

admin = await openPage(URL, "admin");
let passed = 0, failed = 0;
for (const t of tests) {
    try {
        await t.fn();
        passed++;
        console.log("ok - " + t.name);
    } catch (ex) {
        failed++;
        console.log("not ok - " + t.name + "\n  " + String(ex.stack || ex).split("\n").join("\n  "));
        await shot(admin, "failed-" + (passed + failed)).catch(() => {});
    }
}
if (consoleErrors.length) {
    failed++;
    console.log("not ok - no console errors\n  " + consoleErrors.join("\n  "));
} else {
    passed++;
    console.log("ok - no console errors");
}
await browser.close();
kernel.destroy();
console.log(`screenshots: ${ARTIFACTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
