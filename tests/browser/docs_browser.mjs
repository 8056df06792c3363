// GET /docs in headless Chromium (Debian's, driven by npm playwright-core, which downloads no
// browser): opens the page from a running csml serve, expands POST /score, presses "Try it
// out" and "Execute" on the prefilled README example, and reads the answer from the DOM.
// Every request the page makes must go to the server's own origin, and the console must stay
// free of errors and warnings. Prints one JSON line with what it saw; exit 0 when every check
// held, 1 otherwise. Every wait is bounded; the browser is closed on every path.
// Usage: node docs_browser.mjs NODE_MODULES CHROMIUM BASE_URL SCREENSHOT_PNG
import { join, resolve } from "node:path";
import { createRequire } from "node:module";

const [nodeModules, chromiumPath, baseUrl, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error("usage: node docs_browser.mjs NODE_MODULES CHROMIUM BASE_URL SCREENSHOT_PNG");
  process.exit(2);
}
const require = createRequire(join(resolve(nodeModules), "noop.js"));
const { chromium } = require("playwright-core");

const kStepMs = 20000;
const origin = new URL(baseUrl).origin;
const seen = { console: [], foreignRequests: [], failedRequests: [], requests: 0 };
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
  page.setDefaultTimeout(kStepMs);
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => seen.console.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    seen.requests += 1;
    if (!r.url().startsWith(origin + "/") && !r.url().startsWith("data:")) seen.foreignRequests.push(r.url());
  });
  page.on("requestfailed", (r) => seen.failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));

  const response = await page.goto(`${baseUrl}/docs`, { waitUntil: "load" });
  if (response.status() !== 200) problems.push(`/docs answered ${response.status()}`);
  const title = await page.locator(".info .title").first().innerText();
  const operation = page.locator("#operations-scoring-score");
  await operation.locator(".opblock-summary").first().click();
  await operation.locator("button.try-out__btn").click();
  const prefilled = await operation.locator("textarea.body-param__text").inputValue();
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table tbody .response-col_status").first();
  await status.waitFor();
  const answeredStatus = (await status.innerText()).trim();
  const answerBody = (await operation
    .locator(".live-responses-table tbody .response-col_description pre").first().innerText()).trim();
  await page.screenshot({ path: screenshot, fullPage: false });

  let answer = null;
  try { answer = JSON.parse(answerBody); } catch { problems.push(`answer is not JSON: ${answerBody}`); }
  if (!title.includes("csml churn-risk API")) problems.push(`title: ${title}`);
  if (!prefilled.includes('"u_001"') || !prefilled.includes('"usage_score"')) {
    problems.push(`the request body is not the README example: ${prefilled}`);
  }
  if (answeredStatus !== "200") problems.push(`POST /score answered ${answeredStatus}`);
  if (answer && !(typeof answer.risk === "number" && answer.modelVersion)) {
    problems.push(`answer has no risk and modelVersion: ${answerBody}`);
  }
  if (seen.console.length > 0) problems.push("console messages");
  if (seen.foreignRequests.length > 0) problems.push("requests to other origins");
  if (seen.failedRequests.length > 0) problems.push("failed requests");
  console.log(JSON.stringify({ ok: problems.length === 0, problems, title, status: answeredStatus,
                               answer, seen }));
} catch (e) {
  problems.push(`${e.name}: ${e.message.split("\n")[0]}`);
  console.log(JSON.stringify({ ok: false, problems, seen }));
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
process.exit(problems.length === 0 ? 0 : 1);
