// The page of GET /monitor and the monitor's small state (see monitor_page.h).
#include "monitor_page.h"

#include <utility>

namespace csml::server {
namespace {

// Everything inline: the page draws from GET /monitor.json (same origin, so a score token a
// proxy adds reaches both) and writes text with textContent only.
constexpr std::string_view kPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>csml monitor</title>
<link rel="icon" href="data:,">
<style>
:root { --fg:#1d2330; --muted:#667085; --line:#d0d5dd; --ok:#12805c; --warn:#b54708;
        --bad:#c01048; --bg:#f6f7f9; --card:#fff; --accent:#2e5aac; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg);
       background:var(--bg); }
header { padding:14px 20px; background:var(--fg); color:#fff; display:flex; gap:24px;
         align-items:baseline; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; }
header .meta { color:#c9ced8; }
main { display:grid; grid-template-columns:repeat(auto-fit, minmax(380px, 1fr)); gap:16px;
       padding:16px 20px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px; }
section h2 { font-size:15px; margin:0 0 10px; }
.big { font-size:26px; font-weight:600; }
.muted { color:var(--muted); }
.row { display:flex; gap:24px; flex-wrap:wrap; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); font-size:13px; }
th { color:var(--muted); font-weight:500; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.pill { display:inline-block; padding:0 8px; border-radius:10px; font-size:12px; color:#fff; }
.ok { background:var(--ok); } .warn { background:var(--warn); } .bad { background:var(--bad); }
#status { margin-left:auto; }
svg text { font:11px system-ui, sans-serif; fill:var(--muted); }
</style>
</head>
<body>
<header>
  <h1>csml monitor</h1>
  <span class="meta">version <b id="version">…</b></span>
  <span class="meta">serving since <span id="since">…</span></span>
  <span class="meta" id="status">loading…</span>
</header>
<main>
  <section data-panel="traffic"><h2>Traffic (last minute)</h2>
    <div class="row"><div><div class="big" id="rps">–</div><div class="muted">requests/s</div></div>
    <div><div class="big" id="sps">–</div><div class="muted">scores/s</div></div></div>
    <div id="traffic-chart"></div></section>
  <section data-panel="latency"><h2>Latency of /score and /score/batch (last minute)</h2>
    <div class="row" id="latency-figures"></div><div id="latency-chart"></div></section>
  <section data-panel="tiers"><h2>Tier mix</h2><div id="tiers-chart"></div>
    <div class="muted" id="tiers-note"></div></section>
  <section data-panel="drift"><h2>Drift against the training rows (PSI)</h2>
    <div class="muted" id="drift-note"></div><div id="drift-chart"></div></section>
  <section data-panel="reloads"><h2>Recent reloads</h2><div id="reloads-table"></div></section>
</main>
<script>
"use strict";
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(x, digits) { return x === null || x === undefined || !isFinite(x) ? "–" : Number(x).toFixed(digits); }
function put(id, node) { const host = document.getElementById(id); host.replaceChildren(node); }
function drawn(name) { document.querySelector(`section[data-panel="${name}"]`).dataset.drawn = "1"; }

// A line chart of values over the sample times, with a y axis from 0.
function lineChart(points, key, label) {
  const w = 360, h = 110, pad = 28;
  const s = svg("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label });
  const ys = points.map((p) => p[key]).filter((v) => v !== null && isFinite(v));
  const top = Math.max(1e-9, ...ys, 0) * 1.15 || 1;
  s.append(svg("line", { x1: pad, y1: h - 16, x2: w - 4, y2: h - 16, stroke: "#d0d5dd" }));
  s.append(svg("text", { x: 2, y: 12 }, fmt(top, top < 10 ? 2 : 0)));
  s.append(svg("text", { x: 2, y: h - 18 }, "0"));
  s.append(svg("text", { x: pad, y: h - 3 }, "-60 s"));
  s.append(svg("text", { x: w - 30, y: h - 3 }, "now"));
  if (points.length > 1) {
    const x = (t) => pad + ((t + 60) / 60) * (w - pad - 6);
    const y = (v) => (h - 16) - (v / top) * (h - 30);
    const d = points.filter((p) => p[key] !== null && isFinite(p[key]))
      .map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
    if (d) s.append(svg("path", { d, fill: "none", stroke: "#2e5aac", "stroke-width": 2 }));
  }
  return s;
}

function drawTraffic(m) {
  document.getElementById("rps").textContent = fmt(m.traffic.requestsPerSecond, 1);
  document.getElementById("sps").textContent = fmt(m.traffic.scoresPerSecond, 1);
  put("traffic-chart", lineChart(m.traffic.series, "requestsPerSecond", "requests per second"));
  drawn("traffic");
}

function drawLatency(m) {
  const l = m.traffic.latencyMs || {};
  const box = el("div", { class: "row" });
  for (const k of ["mean", "p50", "p90", "p99"]) {
    const d = el("div");
    d.append(el("div", { class: "big" }, fmt(l[k], 2)), el("div", { class: "muted" }, `${k} ms`));
    box.append(d);
  }
  put("latency-figures", box);
  put("latency-chart", lineChart(m.traffic.series, "p99Ms", "p99 latency in ms"));
  drawn("latency");
}

function drawTiers(m) {
  const src = m.drift.available && m.drift.scores > 0 ? m.tiers.window : m.tiers.total;
  const names = ["low", "medium", "high"], colors = ["#12805c", "#dc6803", "#c01048"];
  const total = names.reduce((a, n) => a + (src[n] || 0), 0);
  const w = 360, h = 60;
  const s = svg("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "tier mix" });
  s.append(svg("rect", { x: 0, y: 4, width: w, height: 24, fill: "#eaecf0" }));
  let x = 0;
  names.forEach((n, i) => {
    const share = total ? (src[n] || 0) / total : 0;
    if (share > 0) s.append(svg("rect", { x, y: 4, width: share * w, height: 24, fill: colors[i] }));
    s.append(svg("text", { x: i * 120, y: 46 }, `${n} ${fmt(share * 100, 1)}% (${src[n] || 0})`));
    x += share * w;
  });
  put("tiers-chart", s);
  document.getElementById("tiers-note").textContent = total === 0 ? "no scores yet" :
    (src === m.tiers.window ? `the drift window's ${total} scores` : `all ${total} scores since start`);
  drawn("tiers");
}

function drawDrift(m) {
  const d = m.drift;
  const note = document.getElementById("drift-note");
  const rows = d.available ? d.features.concat([{ name: "risk (score)", psi: d.risk.psi, alarm: d.risk.alarm }]) : [];
  if (!d.available) note.textContent = d.window === 0 ? "live drift is off (--drift-window 0)" :
    "this version has no reference profile (trained before csml recorded one, or imported)";
  else note.textContent = `last ${d.scores} of at most ${d.window} scores; alarm above ${d.alarmAt}, clears below ${d.recoveredAt}`;
  const w = 380, rowH = 20, left = 150, h = 24 + rows.length * rowH;
  // Up to 2 (bars above it are drawn full length with their value), so 0.1 and 0.25 stay apart.
  const scale = Math.min(2, Math.max(0.5, ...rows.map((r) => (isFinite(r.psi) ? r.psi : 0))));
  const s = svg("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "PSI per feature" });
  const xOf = (v) => left + (Math.min(v, scale) / scale) * (w - left - 60);
  for (const t of [0.1, 0.25]) {
    s.append(svg("line", { x1: xOf(t), y1: 4, x2: xOf(t), y2: h - 14, stroke: t === 0.25 ? "#c01048" : "#dc6803", "stroke-dasharray": "3 3" }));
    s.append(svg("text", { x: xOf(t) - 8, y: h - 2 }, String(t)));
  }
  rows.forEach((r, i) => {
    const y = 6 + i * rowH;
    const psi = r.psi === null || !isFinite(r.psi) ? null : r.psi;
    const color = psi === null ? "#98a2b3" : psi > 0.25 ? "#c01048" : psi > 0.1 ? "#dc6803" : "#12805c";
    s.append(svg("text", { x: 0, y: y + 12 }, r.name));
    s.append(svg("rect", { x: left, y, width: Math.max(1, xOf(psi || 0) - left), height: 14, fill: color, "data-psi": psi === null ? "" : psi }));
    const miss = r.missingShare === undefined ? "" : `  missing ${fmt(r.missingShare * 100, 1)}% (train ${fmt(r.referenceMissingShare * 100, 1)}%)`;
    s.append(svg("text", { x: xOf(psi || 0) + 4, y: y + 12 }, `${fmt(psi, 3)}${r.alarm ? " ALARM" : ""}`));
    if (miss) s.append(svg("title", {}, `${r.name}: PSI ${fmt(psi, 3)}${miss}`));
  });
  if (rows.length === 0) s.append(svg("text", { x: 0, y: 16 }, "no drift figures"));
  put("drift-chart", s);
  drawn("drift");
}

function drawReloads(m) {
  const t = el("table");
  const head = el("tr");
  for (const k of ["at", "outcome", "trigger", "version", "load ms"]) head.append(el("th", {}, k));
  t.append(head);
  for (const r of m.reloads) {
    const tr = el("tr");
    const pill = el("span", { class: `pill ${r.outcome === "loaded" ? "ok" : r.outcome === "failed" ? "bad" : "warn"}` }, r.outcome);
    const outcome = el("td"); outcome.append(pill);
    tr.append(el("td", {}, r.at), outcome, el("td", {}, r.trigger),
              el("td", { title: r.error || "" }, r.version || "–"), el("td", { class: "num" }, fmt(r.loadMs, 1)));
    t.append(tr);
  }
  if (m.reloads.length === 0) {
    const tr = el("tr"); tr.append(el("td", { colspan: 5, class: "muted" }, "no reload since start")); t.append(tr);
  }
  put("reloads-table", t);
  drawn("reloads");
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const r = await fetch("/monitor.json", { cache: "no-store", credentials: "same-origin" });
    if (!r.ok) { status.textContent = `GET /monitor.json answered ${r.status}`; return; }
    const m = await r.json();
    document.getElementById("version").textContent = m.version || "no model";
    document.getElementById("since").textContent = m.servingSince || "–";
    for (const draw of [drawTraffic, drawLatency, drawTiers, drawDrift, drawReloads]) draw(m);
    const alarms = m.drift.available ? m.drift.features.filter((f) => f.alarm).length + (m.drift.risk.alarm ? 1 : 0) : 0;
    status.textContent = `updated ${m.now}${alarms ? ` · ${alarms} drift alarm(s)` : ""}`;
    document.body.dataset.updated = m.now;
  } catch (e) {
    status.textContent = `cannot read /monitor.json: ${e.message}`;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view MonitorPageHtml() { return kPage; }

void ReloadHistory::Add(const ReloadReport& report) {
  const std::lock_guard<std::mutex> lock(mu_);
  reports_.push_front(report);
  if (reports_.size() > kKept) reports_.pop_back();
}

std::vector<ReloadReport> ReloadHistory::Recent() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return {reports_.begin(), reports_.end()};
}

void TrafficHistory::Add(const TrafficSample& sample) {
  const std::lock_guard<std::mutex> lock(mu_);
  samples_.push_back(sample);
  if (samples_.size() > kKept) samples_.pop_front();
}

std::vector<TrafficSample> TrafficHistory::Samples() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return {samples_.begin(), samples_.end()};
}

Ticker::Ticker(std::chrono::milliseconds interval, std::function<void()> tick) {
  thread_ = std::thread([this, interval, tick = std::move(tick)] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      tick();
      lock.lock();
      cv_.wait_for(lock, interval, [this] { return stop_; });
    }
  });
}

Ticker::~Ticker() {
  {
    const std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace csml::server
