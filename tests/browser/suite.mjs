// SPDX-License-Identifier: LGPL-2.1-or-later
// The Cockpit page in Debian's chromium, against the real cockpit-ws and
// devpassd on the GPU-server node (tests/browser/cockpit-node.c starts
// them and passes the URLs; fd 3 plays the kernel's part). Each seed
// workflow is asserted on the page and on the D-Bus state (devpassctl
// --json). Prints "N passed, N failed"; a missing browser fails.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { kernelDo, kernelClose } from "./kernel.mjs";

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
rmSync(ARTIFACTS, { recursive: true, force: true });
mkdirSync(ARTIFACTS, { recursive: true });

// ---- the node: devpassctl for the D-Bus state, fd 3 for the kernel ----

function ctl(...args) {
    return execFileSync(DEVPASSCTL, args, { encoding: "utf8" });
}

// A list verb's rows: devpassctl's one JSON schema ({"devices": [...]},
// lower-case keys, devices as addresses, null for none).
function ctlJson(verb, ...args) {
    return JSON.parse(ctl(verb, ...args, "--json"))[verb];
}

function device(address) {
    return ctlJson("devices").find(d => d.address === address);
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
    const text = await page.locator("body").innerText();
    assert(!/\b(null|undefined|NaN|\[object Object\])\b/.test(text), `${name}: the page shows a JavaScript value: ` +
           text.match(/.{0,40}\b(null|undefined|NaN|\[object Object\])\b.{0,40}/)?.[0]);
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
    for (const label of await page.locator("tbody input[type=checkbox]:checked").evaluateAll(boxes => boxes.map(b => b.getAttribute("aria-label"))))
        await page.getByLabel(label, { exact: true }).uncheck();
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
    await waitText(row(page(), "0000:04:00.0"), "Guard: 0000:04:00.0 is the boot VGA device");
    await waitText(row(page(), "0000:00:01.0"), "Guard: ");
    await shot(page(), "devices");
    await axe(page(), "devices");
});

test("the keyboard: select, open a dialog, Tab stays in it, Escape returns", async () => {
    const p = page();
    await p.getByLabel("Select 0000:5e:00.0", { exact: true }).focus();
    await p.keyboard.press("Space");
    const button = p.getByRole("button", { name: "Make passthrough" });
    await button.focus();
    await p.keyboard.press("Enter");
    const dlg = p.getByRole("dialog", { name: "Make passthrough" });
    await dlg.waitFor();
    for (let i = 0; i < 12; i++) {
        await p.keyboard.press("Tab");
        assert(await dlg.evaluate(d => d.contains(document.activeElement)), `Tab ${i + 1} left the dialog`);
    }
    await p.keyboard.press("Escape");
    await dlg.waitFor({ state: "detached" });
    assert(await button.evaluate(b => b === document.activeElement), "focus did not return to Make passthrough");
    await p.getByLabel("Select 0000:5e:00.0", { exact: true }).uncheck();
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
        assertEqual([d.state, d.driver], ["passthrough", "vfio-pci"], a);
    }
    const group = ctlJson("groups").find(g => g.name === "PCI GPUs");
    assert(group, "no group PCI GPUs on the bus");
    assertEqual([group.class, group.total, group.free], ["gpu", 1, 1], "the group");
});

function page() {
    return admin;
}

async function makePassthrough(p, addresses, fill) {
    await go(p, "#/");
    await select(p, addresses);
    await p.getByRole("button", { name: "Make passthrough" }).click();
    const dlg = p.getByRole("dialog", { name: "Make passthrough" });
    await dlg.locator(".dp-findings .pf-c-alert").waitFor();
    await fill(dlg);
    return dlg;
}

function group(name) {
    return ctlJson("groups").find(g => g.name === name);
}

async function openGroup(p, name) {
    await go(p, "#/groups");
    await p.getByRole("link", { name, exact: true }).click();
    await p.getByRole("heading", { level: 1, name }).waitFor();
}

// Runs change() (a command-line call or the kernel), then waits for
// want on the page: the time it took, which must be within LIVE_MS.
async function live(locator, want, change) {
    await change();
    const t0 = Date.now();
    await waitText(locator, want, LIVE_MS);
    return Date.now() - t0;
}

test("the boot VGA is refused, the finding shown", async () => {
    const p = page();
    const dlg = await makePassthrough(p, ["0000:04:00.0"], async dlg => {
        await waitText(dlg.locator(".dp-findings"), "The host would lose");
        await dlg.locator('.dp-findings li[data-kind="boot-vga"]').waitFor();
        await dlg.getByLabel("Force: pass them through anyway").waitFor();   // root may force
        await dlg.getByLabel("Name", { exact: true }).fill("Console");
    });
    await dlg.getByRole("button", { name: "Submit" }).click();
    await waitText(dlg.locator(".dp-dialog-error"), "04:00.0");
    await shot(p, "boot-vga-refused");
    await dlg.getByRole("button", { name: "Cancel" }).click();
    const d = device("0000:04:00.0");
    assertEqual([d.state, d.driver], ["host", "ast"], "the boot VGA");
    assert(!group("Console"), "a group Console was made");
});

test("passthrough into an existing group that waits for a reboot: the banner", async () => {
    const p = page();
    await kernelDo("refuse-unbind nvidia");
    const dlg = await makePassthrough(p, ["0000:b1:00.0", "0000:b1:00.1"], async dlg => {
        await dlg.getByLabel("Resource group").selectOption({ label: "PCI GPUs" });
    });
    await dlg.getByRole("button", { name: "Submit" }).click();
    await dlg.waitFor({ state: "detached" });
    await waitText(p.locator("#dp-notice"), "A reboot of the node is required.");
    await waitText(p.locator("#dp-banner"), "A reboot of this node is required");
    await waitText(p.locator("#dp-banner"), "0000:b1:00.0");
    await waitText(p.locator("#dp-banner"), "maintenance");
    const status = ctl("status");
    assert(/reboot/i.test(status), "devpassctl status says no reboot: " + status);
    assertEqual(device("0000:b1:00.0").group, group("PCI GPUs").path, "b1:00.0's group");
    await shot(p, "reboot-banner");
});

test("a rule's node set to all nodes", async () => {
    const p = page();
    await openGroup(p, "PCI GPUs");
    const rule = ctlJson("rules", "PCI GPUs")[0];
    await p.getByRole("button", { name: `Edit rule ${rule.name}` }).click();
    const dlg = p.getByRole("dialog", { name: `Edit rule ${rule.name}` });
    await dlg.getByLabel("Node").selectOption({ label: "All nodes" });
    await dlg.getByRole("button", { name: "Save" }).click();
    await dlg.waitFor({ state: "detached" });
    await waitText(p.locator(`tr[data-rule="${rule.name}"] .dp-rule-node`), "All nodes");
    const after = ctlJson("rules", "PCI GPUs").find(r => r.name === rule.name);
    assertEqual(after.node, null, "the rule's Node");
    await shot(p, "group");
    await axe(p, "group page");
});

test("a new group's rule conflicts with another group's: shown on both sides, gone when disabled", async () => {
    const p = page();
    await go(p, "#/groups");
    await p.getByRole("button", { name: "New group" }).click();
    const form = p.getByRole("dialog", { name: "New resource group" });
    await form.getByLabel("Name", { exact: true }).fill("Render");
    await form.getByLabel("Class").selectOption("accelerator");
    await form.getByRole("button", { name: "Create" }).click();
    await form.waitFor({ state: "detached" });
    // A D-Bus error, as its message, next to the field it names.
    await p.getByRole("button", { name: "New group" }).click();
    await form.getByLabel("Name", { exact: true }).fill("Render");
    await form.getByRole("button", { name: "Create" }).click();
    await waitText(form.locator(".pf-c-form__helper-text.pf-m-error"), "A group named 'Render' exists already");
    assertEqual(await form.getByLabel("Name", { exact: true }).getAttribute("aria-invalid"), "true", "the Name field's aria-invalid");
    await form.getByRole("button", { name: "Cancel" }).click();
    await openGroup(p, "Render");
    await p.getByRole("button", { name: "New rule" }).click();
    const dlg = p.getByRole("dialog", { name: "New rule" });
    await dlg.getByLabel("Name", { exact: true }).fill("audio");
    await dlg.getByLabel("Field").selectOption("address");
    await dlg.getByLabel("Operator").selectOption("eq");
    await dlg.getByLabel("Value").fill("0000:17:00.1");
    await axe(p, "rule form");
    await dlg.getByRole("button", { name: "Create" }).click();
    await dlg.waitFor({ state: "detached" });
    const mine = p.locator('tr[data-rule="audio"] .dp-conflicts');
    await waitText(mine, "17:00.1 also matched by rule 0000:17:00.1 10de:1aef of PCI GPUs");
    const theirs = ctlJson("rules", "PCI GPUs").find(r => r.name.startsWith("0000:17:00.1"));
    assertEqual(theirs.conflicts.length, 1, "the PCI GPUs rule's conflicts on the bus");
    await openGroup(p, "PCI GPUs");
    await waitText(p.locator(`tr[data-rule="${theirs.name}"] .dp-conflicts`), "also matched by rule audio of Render");
    await openGroup(p, "Render");
    await p.getByRole("button", { name: "Disable rule audio" }).focus();
    await p.keyboard.press("Enter");
    await p.getByRole("button", { name: "Enable rule audio" }).waitFor();
    // The redraw kept the focus where it was: the same row's toggle.
    assertEqual(await p.evaluate(() => document.activeElement.getAttribute("aria-label")), "Enable rule audio", "the focus after the redraw");
    assertEqual(ctlJson("rules", "Render")[0].enabled, false, "the rule's Enabled");
    await waitText(p.locator('tr[data-rule="audio"]'), "No");
    assertEqual(await mine.textContent(), "", "the conflict after disabling");
    assertEqual(ctlJson("rules", "PCI GPUs").find(r => r.name === theirs.name).conflicts.length, 0, "PCI GPUs rule's conflicts");
});

test("three machines attached at once", async () => {
    const p = page();
    const dlg = await makePassthrough(p, ["0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3"], async dlg => {
        await dlg.getByLabel("Name", { exact: true }).fill("SR-IOV VFs");
        await dlg.getByLabel("Type").selectOption("sriov-nic");
        await dlg.getByLabel("Class").selectOption("nic");
    });
    await dlg.getByRole("button", { name: "Submit" }).click();
    await dlg.waitFor({ state: "detached" });
    await go(p, "#/groups");
    await shot(p, "groups");
    await axe(p, "groups");
    await openGroup(p, "SR-IOV VFs");
    await waitText(p.locator(".dp-totals-inline"), "Free 4");
    await p.getByRole("button", { name: "New machine devices" }).click();
    const form = p.getByRole("dialog", { name: "New machine devices of SR-IOV VFs" });
    await form.getByLabel("Machines").fill("vm1 vm2, vm3");
    await form.getByLabel("Count").fill("1");
    await axe(p, "machine devices form");
    await form.getByRole("button", { name: "Submit" }).click();
    await form.waitFor({ state: "detached" });
    for (const vm of ["vm1", "vm2", "vm3"])
        await waitText(p.locator(`tr[data-machine="${vm}"]`), "Restart required");
    const attachments = ctlJson("attachments");
    assertEqual(attachments.map(a => a.machine).sort(), ["vm1", "vm2", "vm3"], "the attachments' machines");
    assert(attachments.every(a => a.macs.length === 1), "each sriov-nic attachment has a MAC");
});

test("a claim made from the command line appears live", async () => {
    const p = page();
    await go(p, "#/machines");
    const section = p.locator('section[data-machine="vm1"]');
    await waitText(section, "Holds nothing");
    const ms = await live(section, "Holds: IOMMU group", () => ctl("claim", "vm1"));
    await waitText(section.locator("tr"), "Attached");
    const held = ctlJson("attachments", "vm1")[0].devices;
    assertEqual(held.length, 1, "vm1's devices");
    console.log(`  # the claim appeared on the page ${ms} ms after devpassctl returned`);
    await go(p, "#/");
    const address = held[0];
    await waitText(row(p, address), "Claimed: vm1");
});

test("a pass to a tenant", async () => {
    const p = page();
    await openGroup(p, "SR-IOV VFs");
    await p.getByRole("button", { name: "Pass to tenant" }).click();
    const form = p.getByRole("dialog", { name: "Pass devices of SR-IOV VFs to a tenant" });
    await form.getByLabel("Tenant", { exact: true }).fill("acme");
    await form.getByLabel("Tenant node").fill("acme-node1");
    await form.getByLabel("Name", { exact: true }).fill("acme NICs");
    await form.getByLabel("Description").fill("for acme's routers");
    await form.getByLabel("Count").fill("1");
    await form.getByRole("button", { name: "Submit" }).click();
    await form.waitFor({ state: "detached" });
    await waitText(p.locator("section").filter({ hasText: "Tenant passes" }), "acme NICs");
    const t = group("acme NICs");
    assertEqual([t.tenant, t.tenant_node, t.total], ["acme", "acme-node1", 1], "the tenant's group");
    await waitText(p.locator(".dp-totals-inline"), "Free 2");   // 4 - vm1's - acme's
});

test("a hotplug removal turns an attachment degraded on screen", async () => {
    const p = page();
    await go(p, "#/machines");
    const address = ctlJson("attachments", "vm1")[0].devices[0];
    const section = p.locator('section[data-machine="vm1"]');
    const ms = await live(section.locator("tr"), "Degraded", () => kernelDo("remove " + address));
    console.log(`  # ${address} removed: degraded on the page after ${ms} ms`);
    assertEqual(ctlJson("attachments", "vm1")[0].state, "degraded", "vm1's attachment");
    await shot(p, "machines-degraded");
    await axe(p, "machines");
});

test("delete with release gives the devices back", async () => {
    const p = page();
    await openGroup(p, "PCI GPUs");
    await p.getByRole("button", { name: "Delete", exact: true }).first().click();
    const dlg = p.getByRole("dialog", { name: "Delete PCI GPUs" });
    await dlg.getByLabel("Give its passthrough devices back to the host").check();
    await dlg.getByRole("button", { name: "Delete" }).click();
    await dlg.waitFor({ state: "detached" });
    await p.locator(".dp-cards").waitFor();
    assertEqual(await p.getByRole("link", { name: "PCI GPUs", exact: true }).count(), 0, "PCI GPUs cards");
    assert(!group("PCI GPUs"), "PCI GPUs is still on the bus");
    await go(p, "#/");
    await waitText(row(p, "0000:17:00.0"), "Host");
    await waitText(row(p, "0000:17:00.0"), "nvidia");
    const d = device("0000:17:00.0");
    assertEqual([d.state, d.driver], ["host", "nvidia"], "17:00.0 after the release");
});

test("a PF's VF count edited: the new VFs appear, folded under it", async () => {
    const p = page();
    await go(p, "#/");
    await p.getByRole("button", { name: "Edit VF count of 0000:3b:00.1" }).click();
    const dlg = p.getByRole("dialog", { name: "Virtual functions of 0000:3b:00.1" });
    await dlg.getByLabel("Count (0-64)").fill("10");
    await dlg.getByRole("button", { name: "Set" }).click();
    await dlg.waitFor({ state: "detached" });
    await waitText(row(p, "0000:3b:00.1"), "10 of 64 VFs");
    assertEqual(device("0000:3b:00.1").sriov_num_vfs, 10, "3b:00.1's SriovNumVfs");
    await waitText(p.locator(".dp-count"), "10 VFs folded under their PF");
    assertEqual(await row(p, "0000:3b:0a.0").count(), 0, "a folded VF's rows");
    const fold = p.getByRole("button", { name: "Show 10 VFs" });
    assertEqual(await fold.getAttribute("aria-expanded"), "false", "the fold's aria-expanded");
    await fold.click();
    for (const vf of ["0000:3b:0a.0", "0000:3b:0b.1"])
        await waitText(row(p, vf), "VF of 3b:00.1");
    assertEqual(await p.getByRole("button", { name: "Hide VFs" }).getAttribute("aria-expanded"), "true", "aria-expanded");
    await p.getByRole("button", { name: "Hide VFs" }).click();
    await p.getByLabel("Filter", { exact: true }).fill("3b:0a");
    await waitText(p.locator(".dp-count"), "8 of ");
    await waitText(row(p, "0000:3b:0a.7"), "VF of 3b:00.1");    // a text filter unfolds
    await p.getByLabel("Filter", { exact: true }).fill("");
});

test("a session without administrative access sees everything and can change nothing", async () => {
    const before = ctl("devices", "--json") + ctl("groups", "--json") + ctl("attachments", "--json");
    nobody = await openPage(URL_NOBODY, "nobody");
    const n = ctlJson("devices").length;
    await waitText(nobody.locator(".dp-count"), `${n} of ${n} functions`);
    await waitText(nobody.locator("#dp-access"), "Turn on administrative access");
    await nobody.getByLabel("Select 0000:5e:00.0", { exact: true }).check();
    for (const [hash, names] of [["#/", ["Make passthrough", "Give back to host"]], ["#/groups", ["New group"]]]) {
        await go(nobody, hash);
        for (const name of names) {
            const b = nobody.getByRole("button", { name });
            assert(await b.isDisabled(), `${name} is enabled for nobody`);
            assertEqual(await b.getAttribute("title"), "Turn on administrative access", name + "'s title");
        }
    }
    await nobody.getByRole("link", { name: "SR-IOV VFs", exact: true }).click();
    await nobody.getByRole("heading", { level: 1, name: "SR-IOV VFs" }).waitFor();
    const enabled = await nobody.locator("main button:enabled").count();
    assertEqual(enabled, 0, "enabled buttons on a group's page as nobody");
    await shot(nobody, "nobody-group");
    await axe(nobody, "nobody");
    // Even past the page, the bus refuses: the page's own connection as nobody.
    const error = await nobody.evaluate(() => new Promise(resolve => window.cockpit.dbus("org.devpass1", { bus: "system", superuser: "try" })
            .call("/org/devpass1", "org.devpass1.Manager", "CreateGroup", [{ Name: window.cockpit.variant("s", "x") }])
            .then(() => resolve("allowed"), ex => resolve(ex.name + ": " + ex.message))));
    assert(/NotAuthorized|InteractiveAuthorizationRequired/.test(error), "CreateGroup as nobody: " + error);
    const after = ctl("devices", "--json") + ctl("groups", "--json") + ctl("attachments", "--json");
    assert(before === after, "the state changed under nobody's session");
});

// ---- run ----

admin = await openPage(URL, "admin").catch(ex => fatal("the page did not load: " + ex.message + "\n" + consoleErrors.join("\n")));
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
        // The next test starts without the dialog this one left open.
        await admin.keyboard.press("Escape").catch(() => {});
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
kernelClose();
console.log(`screenshots: ${ARTIFACTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
