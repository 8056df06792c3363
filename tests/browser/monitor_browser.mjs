// GET /monitor in headless Chromium (Debian's, driven by npm playwright-core): opens the live
// page from a running csml serve that has scored some requests, waits until every panel is
// drawn from /monitor.json (traffic and latency lines, the tier bar, a PSI bar per feature and
// the risk, the reload table), takes a screenshot, and checks that the console stayed free of
// errors and warnings and that no request left the server's origin. Prints one JSON line with
// what it saw; exit 0 when every check held, 1 otherwise. Every wait is bounded; the browser
// is closed on every path.
// Usage: node monitor_browser.mjs NODE_MODULES CHROMIUM BASE_URL SCREENSHOT_PNG
import { join, resolve } from "node:path";
import { createRequire } from "node:module";

const [nodeModules, chromiumPath, baseUrl, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error("usage: node monitor_browser.mjs NODE_MODULES CHROMIUM BASE_URL SCREENSHOT_PNG");
  process.exit(2);
}
const require = createRequire(join(resolve(nodeModules), "noop.js"));
const { chromium } = require("playwright-core");

const kStepMs = 20000;
const origin = new URL(baseUrl).origin;
const seen = { console: [], foreignRequests: [], failedRequests: [], requests: 0, monitorJson: 0 };
const problems = [];
let browser;
const watchdog = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, problems: ["watchdog: 90 s passed"], seen }));
  process.exit(1);
}, 90000);

try {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: kStepMs,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.setDefaultTimeout(kStepMs);
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => seen.console.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    seen.requests += 1;
    if (r.url().endsWith("/monitor.json")) seen.monitorJson += 1;
    if (!r.url().startsWith(origin + "/") && !r.url().startsWith("data:")) seen.foreignRequests.push(r.url());
  });
  page.on("requestfailed", (r) => seen.failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));

  const response = await page.goto(`${baseUrl}/monitor`, { waitUntil: "load" });
  if (response.status() !== 200) problems.push(`/monitor answered ${response.status()}`);
  // Every panel drawn, and the traffic line has at least two points (two ticker seconds).
  await page.waitForFunction(() =>
    [...document.querySelectorAll("section[data-panel]")].every((s) => s.dataset.drawn === "1") &&
    document.querySelector("#traffic-chart svg path") !== null, null, { timeout: kStepMs });
  const drawn = await page.evaluate(() => {
    const panels = {};
    for (const s of document.querySelectorAll("section[data-panel]")) {
      panels[s.dataset.panel] = {
        drawn: s.dataset.drawn === "1",
        svgShapes: s.querySelectorAll("svg path, svg rect, svg line").length,
        tableRows: s.querySelectorAll("table tr").length,
        text: s.innerText.slice(0, 400),
      };
    }
    return {
      panels,
      version: document.getElementById("version").textContent,
      psiBars: [...document.querySelectorAll("#drift-chart svg rect")].map((r) => r.getAttribute("data-psi")),
      tierRects: document.querySelectorAll("#tiers-chart svg rect").length,
      status: document.getElementById("status").textContent,
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });

  for (const name of ["traffic", "latency", "tiers", "drift", "reloads"]) {
    const p = drawn.panels[name];
    if (!p) { problems.push(`panel ${name} missing`); continue; }
    if (!p.drawn) problems.push(`panel ${name} not drawn`);
    if (p.svgShapes === 0 && p.tableRows === 0) problems.push(`panel ${name} is empty`);
  }
  if (drawn.psiBars.length < 10 || drawn.psiBars.some((v) => v === "")) {
    problems.push(`drift: expected a PSI bar with a value per feature and the risk, got ${JSON.stringify(drawn.psiBars)}`);
  }
  if (drawn.tierRects < 2) problems.push("tiers: no tier bar");
  if ((drawn.panels.reloads?.tableRows ?? 0) < 2) problems.push("reloads: no row for the startup load");
  if (drawn.status.startsWith("cannot") || drawn.status.includes("answered")) problems.push(`status: ${drawn.status}`);
  if (seen.console.length > 0) problems.push("console messages");
  if (seen.foreignRequests.length > 0) problems.push("requests to other origins");
  if (seen.failedRequests.length > 0) problems.push("failed requests");
  console.log(JSON.stringify({ ok: problems.length === 0, problems, drawn, seen }));
} catch (e) {
  problems.push(`${e.name}: ${e.message.split("\n")[0]}`);
  console.log(JSON.stringify({ ok: false, problems, seen }));
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
process.exit(problems.length === 0 ? 0 : 1);
