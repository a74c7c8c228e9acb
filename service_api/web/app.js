// Forewarn dashboard: plain JavaScript, no build step, nothing fetched from the internet.
// Views (hash routes): #/ fleet, #/asset/<id>, #/queue, #/orders, #/order/<id>, #/kpis,
// #/quality, #/parts, #/knowledge[/<id>], #/intake, #/settings.
"use strict";
const API = "/api/v1";
const S = {token: sessionStorage.getItem("forewarn-token"), me: null, meta: null,
           sparks: {}, signals: {}, live: false, listening: null, pending: null, drawn: 0, timer: null, filters: {site: "", region: "", equipment_class: ""}};

// A token handed over as #token=... (kept for this tab only).
const handed = new URLSearchParams(location.hash.slice(1)).get("token");
if (handed) { S.token = handed; sessionStorage.setItem("forewarn-token", handed); location.hash = "#/"; }

const $ = sel => document.querySelector(sel);
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const can = right => !!S.me && S.me.rights.includes(right);
class AuthError extends Error {}

async function api(path, opts = {}) {
  const headers = {"Authorization": "Bearer " + (S.token || ""), ...(opts.headers || {})};
  if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(opts.json); }
  const r = await fetch(API + path, {...opts, headers});
  if (r.status === 401) throw new AuthError();
  if (r.status === 204) return null;
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(body.detail || `${path}: HTTP ${r.status}`), {status: r.status, body});
  return body;
}

// Times in the viewer's own zone, to the minute.
const pct = v => v == null ? "–" : Math.round(v * 100) + "%";  // shares and risks
const fmtTime = iso => iso ? new Date(iso).toLocaleString([], {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"}) : "–";
function age(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() - new Date(iso)) / 1000);
  return s < 90 ? `${Math.round(s)} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : s < 172800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} d ago`;
}
// One definition of "at risk": the threshold that opens orders for this asset (sent with
// each score by the ingester), else the API's default — the KPIs use the same rule.
const threshold = a => (a.latest_detail && typeof a.latest_detail.threshold === "number") ? a.latest_detail.threshold : S.meta.at_risk_default;
const atRisk = a => a.risk != null && a.risk >= threshold(a);
const riskClass = a => a.risk == null ? "" : atRisk(a) ? "hi" : a.risk >= threshold(a) / 2 ? "mid" : "lo";
function dataState(a) {
  if (a.state === "tripped" || a.state === "stopped") return a.state;  // reported by the machine
  if (!a.scored_at) return "no-data";
  return (Date.now() - new Date(a.scored_at)) / 1000 > S.meta.stale_after_s ? "stale" : "live";
}
const stateLabel = {"live": "live", "stale": "stale (no recent data)", "no-data": "no data",
                    "tripped": "tripped", "stopped": "stopped"};
function rul(a) {
  const d = a.latest_detail || {};
  if (dataState(a) !== "live" || d.rul == null) return "–";  // never a remaining life for stale data
  return `${Math.round(d.rul)} ${esc(d.rul_unit || "h")}`;
}
function say(text, error = false) { const s = $("#status"); s.textContent = text; s.className = "status" + (error ? " error" : ""); }

// ---- plots --------------------------------------------------------------------------------
function spark(points) {
  if (!points || !points.length) return '<span class="muted">–</span>';
  const w = 160, h = 32, t0 = new Date(points[0].ts), t1 = new Date(points[points.length - 1].ts), span = Math.max(1, t1 - t0);
  const xy = points.map(p => `${((new Date(p.ts) - t0) / span * w).toFixed(1)},${(h - p.risk * h).toFixed(1)}`);
  return `<svg width="${w}" height="${h}" role="img" aria-label="risk trend"><rect width="${w}" height="${h}" fill="#f3f4f6"/>` +
         `<polyline fill="none" stroke="#1d4ed8" stroke-width="1.5" points="${xy.join(" ")}"/></svg>`;
}
// The frame of every time chart: the time axis in the viewer's zone (five ticks), the y
// axis with its grid and labels, and event marks under the axis (anomalies red, work-order
// events blue). Returns the scales and the SVG drawn so far.
function frame(t0, t1, lo, hi, fmt, W, H) {
  const L = 56, R = 12, T = 12, B = 58;
  const x = t => L + (t - t0) / Math.max(1, t1 - t0) * (W - L - R);
  const y = v => T + (1 - (v - lo) / Math.max(1e-12, hi - lo)) * (H - T - B);
  let g = "";
  for (let i = 0; i <= 4; i++) {
    const v = lo + (hi - lo) * i / 4;
    g += `<g class="grid"><line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}"/></g><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${esc(fmt(v))}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (t1 - t0) * i / 4, anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    g += `<line x1="${x(t)}" x2="${x(t)}" y1="${H - B}" y2="${H - B + 4}" stroke="#6b7280"/>` +
         `<text x="${x(t)}" y="${H - B + 16}" text-anchor="${anchor}">${esc(fmtTime(new Date(t).toISOString()))}</text>`;
  }
  g += `<g class="axis"><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/></g>`;
  const marks = ms => ms.map(m => {
    const mx = x(new Date(m.ts)), my = H - B + (m.kind === "anomaly" ? 28 : 40);
    return m.kind === "anomaly"
      ? `<path class="mark anomaly" d="M${mx - 5},${my + 5} L${mx},${my - 5} L${mx + 5},${my + 5} Z"><title>${esc(fmtTime(m.ts))} ${esc(m.text)}</title></path>`
      : `<rect class="mark order" x="${mx - 4}" y="${my - 4}" width="8" height="8" transform="rotate(45 ${mx} ${my})"><title>${esc(fmtTime(m.ts))} ${esc(m.text)}</title></rect>`;
  }).join("") + `<text x="${L}" y="${H - 4}" class="muted">▲ anomaly events   ◆ work-order events</text>`;
  return {x, y, g, L, R, W, marks};
}
const rangeOf = (since, until, points) => [
  since ? new Date(since).getTime() : (points.length ? new Date(points[0].ts).getTime() : Date.now() - 3600e3),
  until ? new Date(until).getTime() : Date.now()];

// A risk trend: risk 0-100 %, the at-risk line, the asset's event marks.
function trend(points, marks, since, until, line, label) {
  const W = 900, H = 280, [t0, t1] = rangeOf(since, until, points);
  const f = frame(t0, t1, 0, 1, pct, W, H);
  let g = f.g;
  g += `<line x1="${f.L}" x2="${W - f.R}" y1="${f.y(line)}" y2="${f.y(line)}" stroke="#b91c1c" stroke-dasharray="5 4"/><text x="${W - f.R}" y="${f.y(line) - 4}" text-anchor="end">at risk ${pct(line)}</text>`;
  if (points.length) g += `<polyline fill="none" stroke="#1d4ed8" stroke-width="2" points="${points.map(p => `${f.x(new Date(p.ts)).toFixed(1)},${f.y(p.risk).toFixed(1)}`).join(" ")}"/>`;
  return `<svg class="trend" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(label)}">${g}${f.marks(marks)}</svg>`;
}

// A sensor trend: the mean of each bucket as a line and its lowest..highest as a band (a
// spike stays visible however far the API downsampled), broken where data is missing,
// with the anomaly events that name this sensor marked on the time axis.
const num = v => Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(+v.toPrecision(4));
function sensorTrend(s, stepS, marks, since, until) {
  const W = 900, H = 200, pts = s.points, [t0, t1] = rangeOf(since, until, pts);
  if (!pts.length) return `<p class="muted" data-signal-empty="${esc(s.signal)}">${esc(s.signal)}: no values in this range.</p>`;
  let lo = Math.min(...pts.map(p => p.min)), hi = Math.max(...pts.map(p => p.max));
  const pad = hi > lo ? (hi - lo) * 0.08 : Math.max(1, Math.abs(hi) * 0.05);
  lo -= pad; hi += pad;
  const f = frame(t0, t1, lo, hi, num, W, H);
  const half = s.downsampled ? stepS * 500 : 0;  // a bucket is drawn at its middle
  const ts = pts.map(p => new Date(p.ts).getTime() + half);
  const gaps = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
  const gap = Math.max(s.downsampled ? 3 * stepS * 1000 : 0, 10 * (gaps[Math.floor(gaps.length / 2)] || 0));
  const runs = [[]];
  pts.forEach((p, i) => { if (i && ts[i] - ts[i - 1] > gap) runs.push([]); runs[runs.length - 1].push(i); });
  let g = f.g;
  for (const run of runs) {
    const xy = (i, v) => `${f.x(ts[i]).toFixed(1)},${f.y(v).toFixed(1)}`;
    if (s.downsampled) g += `<polygon class="band" points="${run.map(i => xy(i, pts[i].max)).concat(run.slice().reverse().map(i => xy(i, pts[i].min))).join(" ")}"/>`;
    g += run.length > 1 ? `<polyline class="mean" fill="none" points="${run.map(i => xy(i, pts[i].mean)).join(" ")}"/>`
                        : `<circle class="mean" r="2.5" cx="${f.x(ts[run[0]])}" cy="${f.y(pts[run[0]].mean)}"/>`;
  }
  return `<svg class="sensor" data-signal="${esc(s.signal)}" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(s.signal)} trend">` +
         `<text x="${f.L + 6}" y="24" class="title">${esc(s.signal)}</text>${g}${f.marks(marks)}</svg>`;
}

// ---- views --------------------------------------------------------------------------------
async function fleet() {
  const q = new URLSearchParams({limit: "10000"});
  for (const [k, v] of Object.entries(S.filters)) if (v) q.set(k, v);
  const [page, k] = await Promise.all([api("/assets?" + q), api("/kpis")]);
  const all = page.items;
  const opts = key => [...new Set(all.map(a => a[key]).filter(Boolean))].sort();
  // Sparklines for the assets that matter most: at most 20 requests, refreshed every 30 s.
  const now = Date.now();
  await Promise.all(all.slice(0, 20).filter(a => !S.sparks[a.id] || now - S.sparks[a.id].at > 30000).map(async a => {
    const h = await api(`/assets/${encodeURIComponent(a.id)}/health?max_points=60&since=${new Date(now - 864e5).toISOString()}`);
    S.sparks[a.id] = {at: now, points: h.points};
  }));
  const sel = (key, label) => `<label>${label}<select data-filter="${key}"><option value="">all</option>${
    opts(key).concat(S.filters[key] && !opts(key).includes(S.filters[key]) ? [S.filters[key]] : []).map(v => `<option ${v === S.filters[key] ? "selected" : ""}>${esc(v)}</option>`).join("")}</select></label>`;
  $("#view").innerHTML = `
    <div class="kpis">${[["Assets", k.assets], ["At risk", k.assets_at_risk], ["Open orders", k.open_work_orders],
      ["Predictive share", pct(k.predictive_share)]]
      .map(([n, v]) => `<div class="kpi"><span class="muted">${n}</span><b>${v}</b></div>`).join("")}</div>
    <div class="filters">${sel("site", "Site")}${sel("region", "Region")}${sel("equipment_class", "Equipment class")}</div>
    <table id="assets"><thead><tr><th>Asset</th><th>Health</th><th>Risk</th><th>Est. remaining life</th><th class="hide-narrow">Risk, last 24 h</th>
      <th>Open orders</th><th>Data</th><th class="hide-narrow">Gateway</th><th class="hide-narrow">Scored at</th></tr></thead><tbody>
    ${all.map(a => `<tr class="asset-row" data-asset="${esc(a.id)}" data-state="${dataState(a)}">
      <td><a href="#/asset/${encodeURIComponent(a.id)}">${esc(a.id)}</a><div class="muted">${esc(a.name)}</div></td>
      <td>${a.risk == null ? "–" : Math.round((1 - a.risk) * 100) + "%"}</td>
      <td class="risk ${riskClass(a)}">${pct(a.risk)}${atRisk(a) ? " ⚠" : ""}</td>
      <td class="rul">${rul(a)}</td>
      <td class="hide-narrow">${S.sparks[a.id] ? spark(S.sparks[a.id].points) : ""}</td>
      <td>${a.open_work_orders}</td>
      <td><span class="pill ${dataState(a)}">${stateLabel[dataState(a)]}</span><div class="muted">${age(a.scored_at)}</div></td>
      <td class="hide-narrow">${esc(a.gateway || "–")}${a.gateway_online === false ? ' <span class="pill stale">offline</span>' : ""}</td>
      <td class="hide-narrow muted">${fmtTime(a.scored_at)}</td></tr>`).join("")}</tbody></table>`;
  document.querySelectorAll("[data-filter]").forEach(s => s.onchange = () => { S.filters[s.dataset.filter] = s.value; render(); });
}

const RANGES = {"1 h": 1, "6 h": 6, "24 h": 24, "7 d": 168, "30 d": 720, "since registered": null};
async function asset(id, range) {
  const enc = encodeURIComponent(id);
  const a = await api(`/assets/${enc}`);
  // default: the last 24 h, or everything if the asset is younger than that
  range = range || (Date.now() - new Date(a.created_at) < 864e5 ? "since registered" : "24 h");
  const until = new Date();
  const since = RANGES[range] == null ? new Date(a.created_at) : new Date(until - RANGES[range] * 3600e3);
  const [hist, events, orders] = await Promise.all([
    api(`/assets/${enc}/health?max_points=400&since=${since.toISOString()}`),
    api(`/assets/${enc}/events?since=${since.toISOString()}&limit=2000`),
    api(`/work-orders?asset_id=${enc}&sort=-id&limit=50`)]);
  const trails = await Promise.all(orders.items.slice(0, 10).map(o => api(`/work-orders/${o.id}/events`)));
  const marks = events.map(e => ({ts: e.ts, kind: e.kind === "anomaly" ? "anomaly" : "state", text: `${e.kind} ${e.signal} ${e.message}`}))
    .concat(trails.flat().map(e => ({ts: e.ts, kind: "order", text: `order ${e.to_status} by ${e.actor}`})))
    .filter(m => new Date(m.ts) >= since);
  const d = a.latest_detail || {};
  // a redraw of the same asset keeps its sensor plots until the new ones are in (no jump)
  const keep = document.body.dataset.asset === a.id && $("#sensors") ? $("#sensors").innerHTML : "";
  document.body.dataset.asset = a.id;
  const rec = [["Name", a.name], ["Path", a.path], ["Serial number", a.serial_number], ["Equipment class", a.equipment_class],
    ["Make / model", [a.make, a.model].filter(Boolean).join(" ")], ["Criticality", a.criticality], ["Region", a.region],
    ["Gateway", a.gateway + (a.gateway_online == null ? "" : a.gateway_online ? " (online)" : ` (offline since ${fmtTime(a.gateway_state_at)})`)]];
  // commercial fields arrive only for roles allowed to see them
  if ("customer" in a) rec.push(["Customer", a.customer], ["Service contract", a.service_contract], ["Warranty", `${a.warranty_status} (${a.warranty_start || "?"} – ${a.warranty_end || "?"})`]);
  $("#view").innerHTML = `
    <h2>${esc(a.id)} <span class="pill ${dataState(a)}">${stateLabel[dataState(a)]}</span></h2>
    <div class="grid">
      <div class="card"><h3>Health now</h3><dl class="record">
        <dt>Risk</dt><dd class="risk ${riskClass(a)}">${pct(a.risk)}${atRisk(a) ? " — at risk" : ""}</dd>
        <dt>Est. remaining life</dt><dd>${rul(a)}</dd>
        <dt>Contributing sensor</dt><dd>${esc(d.top_signal || "–")}${d.top_z != null ? ` (${d.top_z > 0 ? "+" : ""}${d.top_z} sd from its start)` : ""}</dd>
        <dt>Last score</dt><dd>${fmtTime(a.scored_at)} (${age(a.scored_at)})</dd></dl></div>
      <div class="card" id="record"><h3>Record</h3><dl class="record">${rec.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v ?? "–") || "–"}</dd>`).join("")}</dl>
        ${can("assets.write") ? '<div class="actions"><button class="secondary" id="edit-record">Edit record</button></div>' : ""}</div>
    </div>
    <div class="card"><h3>Risk trend</h3>
      <div class="ranges" role="group" aria-label="range">${Object.keys(RANGES).map(r => `<button class="secondary" data-range="${r}" aria-pressed="${r === range}">${r}</button>`).join("")}</div>
      ${trend(hist.points, marks, since.toISOString(), until.toISOString(), threshold(a), `risk of ${a.id}`)}
      <p class="muted">${hist.points.length} points${hist.downsampled ? " (downsampled: each the highest risk of its slice)" : ""}; ${events.length} events.</p></div>
    <div class="card" id="sensors">${keep || '<h3>Sensor trends</h3><p class="muted">Loading…</p>'}</div>
    <div class="card"><h3>Work orders</h3>${orderTable(orders.items)}</div>`;
  document.querySelectorAll("[data-range]").forEach(b => b.onclick = () => asset(id, b.dataset.range).catch(fail));
  if (can("assets.write")) $("#edit-record").onclick = () => editRecord(a);
  await sensors(a, events, since, until);
}

// Sensor trends of the chosen signals over the page's range. The first time: the
// contributing sensor and the sensors the edge's anomaly events name, else the first four.
async function sensors(a, events, since, until) {
  const enc = encodeURIComponent(a.id), box = $("#sensors"), range = `since=${since.toISOString()}&until=${until.toISOString()}`;
  let names;
  try { names = (await api(`/assets/${enc}/signals?${range}`)).signals; }
  catch (e) {
    if (e instanceof AuthError) throw e;
    box.innerHTML = `<h3>Sensor trends</h3><p class="muted">Not available: ${esc(e.message)}</p>`; return;
  }
  const named = e => [e.signal, ...((e.detail || {}).signals || [])].filter(Boolean);
  if (!S.signals[a.id]) {
    const counts = {};
    for (const e of events) if (e.kind === "anomaly") for (const n of named(e)) counts[n] = (counts[n] || 0) + 1;
    const top = (a.latest_detail || {}).top_signal;
    const pick = [top, ...Object.keys(counts).sort((p, q) => counts[q] - counts[p])].filter(n => n && names.includes(n));
    S.signals[a.id] = [...new Set(pick.length ? pick : names)].slice(0, 4);
  }
  const chosen = S.signals[a.id].filter(n => names.includes(n));
  const t = chosen.length ? await api(`/assets/${enc}/telemetry?${range}&max_points=300&${chosen.map(n => "signal=" + encodeURIComponent(n)).join("&")}`) : {series: [], step_s: 0};
  const anomalies = events.filter(e => e.kind === "anomaly");
  box.innerHTML = `<h3>Sensor trends</h3>
    <fieldset class="signals"><legend>Sensors (${names.length})</legend>${names.map(n => `<label class="check"><input type="checkbox" data-signal-pick="${esc(n)}" ${chosen.includes(n) ? "checked" : ""}> ${esc(n)}</label>`).join("") || '<span class="muted">no values in this range</span>'}</fieldset>
    ${t.series.map(s => sensorTrend(s, t.step_s, anomalies.filter(e => named(e).includes(s.signal)).map(e => ({ts: e.ts, kind: "anomaly", text: `${e.signal} ${e.message}`})),
      since.toISOString(), until.toISOString())).join("")}
    ${t.series.some(s => s.downsampled) ? `<p class="muted">Downsampled to ${t.step_s} s buckets: the line is each bucket's mean, the band its lowest to highest value.</p>` : ""}`;
  box.querySelectorAll("[data-signal-pick]").forEach(c => c.onchange = () => {
    S.signals[a.id] = [...box.querySelectorAll("[data-signal-pick]:checked")].map(x => x.dataset.signalPick);
    sensors(a, events, since, until).catch(fail);
  });
}

// The asset record as a form, for roles that may change it; sent with If-Match so an edit
// made meanwhile by someone else is not overwritten. An emptied field is cleared.
const RECORD_FIELDS = [["name", "Name"], ["site", "Site"], ["area", "Area"], ["line", "Line"], ["region", "Region"],
  ["equipment_class", "Equipment class"], ["serial_number", "Serial number"], ["make", "Make"], ["model", "Model"],
  ["criticality", "Criticality (1-5)", "number"], ["gateway", "Gateway"]];
const COMMERCIAL_FIELDS = [["customer", "Customer"], ["purchase_contract", "Purchase contract"], ["service_contract", "Service contract"],
  ["warranty_start", "Warranty start", "date"], ["warranty_end", "Warranty end", "date"]];
function editRecord(a) {
  const fields = RECORD_FIELDS.concat("customer" in a ? COMMERCIAL_FIELDS : []);
  const card = $("#record");
  card.innerHTML = `<h3>Edit record</h3><form id="asset-edit">${fields.map(([k, label, type]) =>
    `<label>${esc(label)}<input name="${k}" type="${type || "text"}" ${type === "number" ? 'min="1" max="5" inputmode="numeric"' : ""} value="${esc(a[k] ?? "")}"></label>`).join("")}
    <div class="actions"><button type="submit">Save</button><button type="button" class="secondary" id="edit-cancel">Cancel</button></div></form>`;
  $("#edit-cancel").onclick = () => render();
  $("#asset-edit").onsubmit = async ev => {
    ev.preventDefault();
    const body = {};
    for (const [k, , type] of fields) {
      const v = ev.target.elements[k].value.trim();
      if (v === String(a[k] ?? "")) continue;  // only what changed
      body[k] = v === "" ? null : type === "number" ? Number(v) : v;
    }
    if (!Object.keys(body).length) { say("Nothing changed."); render(); return; }
    saveVersioned(`/assets/${encodeURIComponent(a.id)}`, "PUT", a.version, body, a.id,
                  `Record of ${a.id} saved (${Object.keys(body).join(", ")}).`);
  };
  card.querySelector("input").focus();
}

// A change sent with If-Match on the version read; a 412 (someone else changed it since)
// reloads the view and says so, so nobody's edit is silently overwritten.
async function saveVersioned(path, method, version, body, what, done) {
  try {
    await api(path, {method, headers: {"If-Match": `"${version}"`}, json: body});
    say(done);
    render();
  } catch (e) {
    if (e.status === 412) { say(`${what} was changed by someone else meanwhile: reloaded, please try again.`, true); render(); }
    else fail(e);
  }
}

function orderTable(items) {
  if (!items.length) return '<p class="muted">None.</p>';
  return `<table><thead><tr><th>#</th><th>Asset</th><th>Type</th><th>Priority</th><th>Status</th><th>Title</th><th>Opened</th><th>Due</th></tr></thead><tbody>${
    items.map(o => `<tr data-order="${o.id}"><td><a href="#/order/${o.id}">#${o.id}</a></td><td><a href="#/asset/${encodeURIComponent(o.asset_id)}">${esc(o.asset_id)}</a></td><td>${esc(o.type)}</td>
      <td>${esc(o.priority)}</td><td><span class="pill ${esc(o.status)}">${esc(o.status)}</span></td><td>${esc(o.title)}</td>
      <td>${fmtTime(o.opened_at)}</td><td>${fmtTime(o.due_at)}</td></tr>`).join("")}</tbody></table>`;
}

async function queue() {
  const page = await api("/work-orders?status=proposed&sort=-risk&limit=100");
  const cards = await Promise.all(page.items.map(async o => {
    const enc = encodeURIComponent(o.asset_id);
    const a = await api(`/assets/${enc}`);
    // the last 48 h, or since the asset was registered if that is later
    const since = new Date(Math.max(Date.now() - 48 * 3600e3, new Date(a.created_at).getTime()));
    const [h, ev, open] = await Promise.all([api(`/assets/${enc}/health?max_points=200&since=${since.toISOString()}`),
      api(`/assets/${enc}/events?kind=anomaly&since=${since.toISOString()}&limit=500`), api(`/work-orders?asset_id=${enc}&open=true`)]);
    const marks = ev.map(e => ({ts: e.ts, kind: "anomaly", text: `${e.signal} ${e.message}`}));
    const others = open.items.filter(x => x.id !== o.id);
    const d = a.latest_detail || {};
    return `<article class="card" data-order="${o.id}">
      <h3>#${o.id} ${esc(o.title)} <span class="pill proposed">proposed</span></h3>
      <p><a href="#/asset/${enc}">${esc(o.asset_id)}</a> · risk ${pct(o.risk)} · priority ${esc(o.priority)}
         · contributing sensor <b>${esc(d.top_signal || "–")}</b> · ${ev.length} anomaly events in 48 h · opened ${fmtTime(o.opened_at)}</p>
      <p class="muted">${esc(o.description)}</p>
      ${trend(h.points, marks, since.toISOString(), new Date().toISOString(), threshold(a), `risk of ${o.asset_id}, last 48 h`)}
      ${can("orders.review") ? `<div class="actions">
        <button data-act="approved" data-id="${o.id}">Approve</button>
        <label>Reason for rejecting<input data-reason="${o.id}" placeholder="e.g. sensor drift, machine fine"></label>
        <button class="danger" data-act="rejected" data-id="${o.id}">Reject</button>
        ${others.length ? `<label>Merge into<select data-merge="${o.id}">${others.map(x => `<option value="${x.id}">#${x.id} ${esc(x.title)}</option>`).join("")}</select></label>
        <button class="secondary" data-act="merged" data-id="${o.id}">Merge</button>` : ""}</div>` : ""}
    </article>`;
  }));
  $("#view").innerHTML = `<h2>Review queue</h2>${cards.length ? cards.join("") : '<p class="muted">No proposed orders.</p>'}`;
  document.querySelectorAll("[data-act]").forEach(b => b.onclick = () => review(b.dataset.id, b.dataset.act));
}

async function review(id, to) {
  const body = {to};
  if (to === "rejected") {
    body.reason = ($(`[data-reason="${id}"]`).value || "").trim();
    if (!body.reason) { say("Say why the order is rejected: the models learn from it.", true); $(`[data-reason="${id}"]`).focus(); return; }
  }
  if (to === "merged") body.merge_into = Number($(`[data-merge="${id}"]`).value);
  try {
    const o = await api(`/work-orders/${id}/transitions`, {method: "POST", json: body});
    say(`Order #${o.id} is now ${o.status}.`);
    render();
  } catch (e) { fail(e); }
}

async function orders() {
  const page = await api("/work-orders?open=true&sort=-id&limit=200");
  const allowed = o => (S.meta.transitions[o.status] || []).filter(t => can(S.meta.right_for[t]));
  $("#view").innerHTML = `<h2>Open work orders</h2>${page.items.map(o => `
    <article class="card" data-order="${o.id}"><h3><a href="#/order/${o.id}">#${o.id}</a> ${esc(o.title)} <span class="pill ${esc(o.status)}">${esc(o.status)}</span></h3>
      <p><a href="#/asset/${encodeURIComponent(o.asset_id)}">${esc(o.asset_id)}</a> · ${esc(o.type)} · priority ${esc(o.priority)} · due ${fmtTime(o.due_at)}
         · assignee ${esc(o.assignee || "–")} ${o.team ? `(${esc(o.team)})` : ""}</p>
      <div class="actions">${allowed(o).filter(t => !["merged"].includes(t)).map(t => `<button class="${t === "cancelled" ? "danger" : ""}" data-move="${t}" data-id="${o.id}">${esc(t.replace("_", " "))}</button>`).join("")}
        ${S.meta.needs_reason.some(t => allowed(o).includes(t)) ? `<label>Reason<input data-reason="${o.id}"></label>` : ""}
        ${allowed(o).includes("completed") ? `<label>Result<select data-result="${o.id}">${S.meta.results.map(r => `<option>${r}</option>`).join("")}</select></label>
          <label>First-time fix<select data-ftf="${o.id}"><option value="true">yes</option><option value="false">no</option></select></label>
          <label>Labour (minutes)<input type="number" min="1" inputmode="numeric" data-minutes="${o.id}"></label>
          <label>What was done<textarea rows="2" data-actions="${o.id}"></textarea></label>` : ""}
        ${allowed(o).includes("completed") ? `<label>Part used<input data-part="${o.id}" placeholder="part number"></label>
          <label>Quantity<input type="number" min="1" value="1" inputmode="numeric" data-qty="${o.id}"></label>` : ""}
        ${can("orders.execute") && ["in_progress", "on_hold"].includes(o.status) ? `<label>Photo<input type="file" accept="image/*" capture="environment" data-photo="${o.id}"></label>` : ""}
      </div>
      ${can("orders.plan") ? `<div class="actions"><label>Assignee<input data-assignee="${o.id}" value="${esc(o.assignee)}"></label>
        <label>Team<input data-team="${o.id}" value="${esc(o.team)}"></label>
        <button class="secondary" data-assign="${o.id}" data-version="${o.version}">Assign</button></div>` : ""}
      <div class="fixes" data-fixes="${o.id}"></div>
      </article>`).join("") || '<p class="muted">No open orders.</p>'}`;
  await Promise.all(page.items.map(o => knownFixes(o)));
  document.querySelectorAll("[data-move]").forEach(b => b.onclick = () => move(b.dataset.id, b.dataset.move));
  document.querySelectorAll("[data-photo]").forEach(i => i.onchange = () => upload(i.dataset.photo, i.files[0]));
  document.querySelectorAll("[data-assign]").forEach(b => b.onclick = () => assign(b.dataset.assign, b.dataset.version));
}

// Known fixes from the knowledge base for an order, best first by first-time fixes; a
// technician marks the one followed (its outcome is the order's first-time fix).
async function knownFixes(o) {
  const box = $(`[data-fixes="${o.id}"]`);
  const got = await api(`/work-orders/${o.id}/suggestions`);
  if (!got.length) return;
  box.innerHTML = `<details><summary>Known fixes (${got.length})</summary><ol>${got.slice(0, 5).map(s => `
    <li data-case="${s.case.id}"><b>${esc(s.case.title)}</b> — ${esc(s.case.fix)}
      <span class="muted">(${s.case.first_time_fixes} of ${s.case.uses} first-time fixes${s.mode_match ? ", same failure mode" : ""}${s.case.parts.length ? "; parts " + esc(s.case.parts.join(", ")) : ""})</span>
      ${can("orders.execute") ? `<button class="secondary" data-apply="${s.case.id}" data-order="${o.id}">Follow this fix</button>` : ""}</li>`).join("")}</ol></details>`;
  box.querySelectorAll("[data-apply]").forEach(b => b.onclick = async () => {
    try {
      await api(`/work-orders/${b.dataset.order}/applied-cases`, {method: "POST", json: {case_id: Number(b.dataset.apply)}});
      say(`Order #${b.dataset.order} follows fix #${b.dataset.apply}.`);
    } catch (e) { fail(e); }
  });
}

// Spare parts: what to reorder (with the predicted demand behind it), and the regions
// whose critical parts could not arrive in the time their contracts promise.
async function partsView() {
  const [sugg, gaps] = await Promise.all([api("/parts/reorder-suggestions"), api("/parts/coverage")]);
  const qty = v => String(+Number(v).toFixed(2));
  $("#view").innerHTML = `<h2>Spare parts</h2>
    <div class="card"><h3>Reorder suggestions (${sugg.length})</h3>${sugg.length ? `<table id="reorder"><thead><tr><th>Part</th><th>Class</th><th>Warehouse</th>
      <th>Available</th><th>Expected demand in ${"lead time"}</th><th>Projected</th><th>Reorder point</th><th>Order</th><th>Because</th></tr></thead><tbody>${
      sugg.map(s => `<tr data-part="${esc(s.part_number)}"><td>${esc(s.part_number)}</td><td>${esc(s.part_class)}</td><td>${esc(s.warehouse)} <span class="muted">${esc(s.region)}</span></td>
        <td>${qty(s.available)}</td><td>${Object.entries(s.demand).filter(([, v]) => v).map(([k, v]) => `${esc(k.replace(/_/g, " "))} ${qty(v)}`).join(", ") || "–"}
          <div class="muted">${qty(s.lead_time_days)} days</div></td><td>${qty(s.projected)}</td><td>${qty(s.reorder_point)}</td><td><b>${s.quantity}</b></td>
        <td class="muted">${esc(s.because.slice(0, 4).join("; "))}${s.because.length > 4 ? " …" : ""}</td></tr>`).join("")}</tbody></table>` : '<p class="muted">Nothing to reorder.</p>'}</div>
    <div class="card"><h3>Coverage gaps of critical parts (${gaps.length})</h3>${gaps.length ? `<table id="coverage"><thead><tr><th>Region</th><th>Part</th><th>Lead time</th><th>Promised</th><th>Assets</th></tr></thead><tbody>${
      gaps.map(g => `<tr><td>${esc(g.region || "–")}</td><td>${esc(g.part_number)}</td><td>${qty(g.lead_time_days)} d</td><td>${qty(g.promised_days)} d</td><td>${esc(g.assets.join(", "))}</td></tr>`).join("")}</tbody></table>` : '<p class="muted">Every region can get its critical parts in time.</p>'}</div>
    <p class="muted">Rules: docs/parts.md.</p>`;
}

// Quality: what fails most (Pareto), what fails again, how often, what it costs, what was
// done against it (and whether repeats fell afterwards), and what customers said.
async function qualityView() {
  const by = S.satisfactionBy || "region";
  const [pareto, rep, mtbf, acts, sat, cost] = await Promise.all([api("/quality/pareto"), api("/quality/repeats?window_days=30"), api("/quality/mtbf"),
    api("/quality/actions?window_days=30"), api(`/kpis/satisfaction?by=${by}`), can("commercial") ? api("/quality/cost") : Promise.resolve(null)]);
  const W = 640, H = 220, L = 40, B = 60, max = Math.max(1, ...pareto.map(r => r.count)), bw = (W - L - 40) / Math.max(1, pareto.length);
  const bars = pareto.map((r, i) => `<rect class="bar" x="${L + i * bw + 4}" y="${20 + (1 - r.count / max) * (H - B - 20)}" width="${bw - 8}" height="${r.count / max * (H - B - 20)}" fill="#1d4ed8"><title>${esc(r.key)}: ${r.count}</title></rect>
    <text x="${L + i * bw + bw / 2}" y="${H - B + 16}" text-anchor="middle">${esc(r.key)}</text><text x="${L + i * bw + bw / 2}" y="${16 + (1 - r.count / max) * (H - B - 20)}" text-anchor="middle">${r.count}</text>`).join("");
  const cum = pareto.map((r, i) => `${L + i * bw + bw / 2},${20 + (1 - r.cumulative_share) * (H - B - 20)}`).join(" ");
  $("#view").innerHTML = `<h2>Quality</h2>
    <div class="card"><h3>Failures by mode</h3>${pareto.length ? `<svg class="pareto" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="failures by mode, most first, with the cumulative share">
      <line x1="${L}" x2="${W - 40}" y1="${H - B}" y2="${H - B}" stroke="#6b7280"/>${bars}<polyline fill="none" stroke="#b91c1c" stroke-width="2" points="${cum}"/>
      <text x="${W - 38}" y="24">100%</text></svg>` : '<p class="muted">No completed failures yet.</p>'}</div>
    <div class="grid wide"><div class="card"><h3>Repeat failures (30 days)</h3><p><b>${rep.repeats}</b> of ${rep.failures} failures${rep.repeat_rate == null ? "" : ` (${pct(rep.repeat_rate)})`}</p>
      <ul>${rep.items.slice(0, 10).map(x => `<li><a href="#/asset/${encodeURIComponent(x.asset_id)}">${esc(x.asset_id)}</a> ${esc(x.failure_mode)}: <a href="#/order/${x.order}">#${x.order}</a> ${x.days_after} days after <a href="#/order/${x.previous_order}">#${x.previous_order}</a></li>`).join("")}</ul></div>
    <div class="card"><h3>MTBF by mode</h3><table><thead><tr><th>Mode</th><th>Failures</th><th>MTBF</th></tr></thead><tbody>${
      mtbf.map(r => `<tr><td>${esc(r.failure_mode)}</td><td>${r.failures}</td><td>${Math.round(r.mtbf_hours)} h</td></tr>`).join("")}</tbody></table></div>
    ${cost ? `<div class="card"><h3>Cost by mode (list prices)</h3><table id="cost"><thead><tr><th>Mode</th><th>Failures</th><th>Labour</th><th>Parts</th><th>Total</th></tr></thead><tbody>${
      cost.map(r => `<tr><td>${esc(r.failure_mode)}</td><td>${r.failures}</td><td>${esc(r.labour_cost)} <span class="muted">${r.labour_hours} h</span></td><td>${esc(r.parts_cost)}</td><td><b>${esc(r.total_cost)}</b></td></tr>`).join("")}</tbody></table></div>` : ""}
    <div class="card"><h3>Customer satisfaction</h3><label>By<select id="sat-by">${[["region", "region"], ["equipment_class", "equipment class"], ["technician", "technician"]].map(([k, n]) => `<option value="${k}" ${k === by ? "selected" : ""}>${n}</option>`).join("")}</select></label>
      <p>${sat.responses} answer${sat.responses === 1 ? "" : "s"} to ${sat.surveys_sent} survey${sat.surveys_sent === 1 ? "" : "s"}${sat.response_rate == null ? "" : ` (${pct(sat.response_rate)})`}</p>
      <table id="satisfaction"><thead><tr><th>${esc(by.replace("_", " "))}</th><th>Answers</th><th>Mean (1–5)</th><th>Satisfied (4–5)</th></tr></thead><tbody>${
        sat.rows.map(r => `<tr><td>${esc(r.key || "–")}</td><td>${r.responses}</td><td>${r.mean_score.toFixed(2)}</td><td>${pct(r.satisfied_share)}</td></tr>`).join("")}</tbody></table></div></div>
    <div class="card"><h3>Root causes and corrective actions</h3>${acts.length ? `<table id="actions"><thead><tr><th>Mode</th><th>Root cause</th><th>Action</th><th>From</th><th>Repeats before</th><th>Repeats after</th></tr></thead><tbody>${
      acts.map(a => `<tr data-action="${a.id}"><td>${esc(a.failure_mode)}${a.equipment_class ? ` <span class="muted">${esc(a.equipment_class)}</span>` : ""}</td><td>${esc(a.root_cause)}</td>
        <td>${esc(a.action)}${a.orders.length ? `<div class="muted">after ${a.orders.map(i => `<a href="#/order/${i}">#${i}</a>`).join(", ")}</div>` : ""}</td><td>${fmtTime(a.effective_from)}</td>
        <td>${pct(a.repeat_rate_before)} <span class="muted">of ${a.failures_before}</span></td><td>${pct(a.repeat_rate_after)} <span class="muted">of ${a.failures_after}</span></td></tr>`).join("")}</tbody></table>` : '<p class="muted">None recorded.</p>'}
      ${can("quality.write") ? `<form id="action-form"><div class="actions"><label>Failure mode<input name="failure_mode" required maxlength="64" list="modes"></label>
        <datalist id="modes">${pareto.map(r => `<option>${esc(r.key)}</option>`).join("")}</datalist>
        <label>Equipment class (empty: all)<input name="equipment_class" maxlength="64"></label><label>Effective from<input name="effective_from" type="date" required></label></div>
        <div class="actions"><label>Root cause<textarea name="root_cause" rows="2" cols="36" required></textarea></label><label>Action taken<textarea name="action" rows="2" cols="36" required></textarea></label>
        <label>Orders that led to it<input name="orders" placeholder="e.g. 12, 31" inputmode="numeric"></label><button type="submit">Record action</button></div></form>` : ""}</div>
    <p class="muted">Definitions: docs/quality.md, docs/feedback.md.</p>`;
  $("#sat-by").onchange = ev => { S.satisfactionBy = ev.target.value; render(); };
  if ($("#action-form")) $("#action-form").onsubmit = async ev => {
    ev.preventDefault();
    const f = ev.target.elements, orders = f.orders.value.split(/[\s,#]+/).filter(Boolean).map(Number);
    if (orders.some(n => !Number.isInteger(n) || n < 1)) { say("Orders: numbers separated by commas.", true); f.orders.focus(); return; }
    try {
      const a = await api("/quality/actions?window_days=30", {method: "POST", json: {failure_mode: f.failure_mode.value.trim(), equipment_class: f.equipment_class.value.trim(),
        root_cause: f.root_cause.value.trim(), action: f.action.value.trim(), effective_from: new Date(f.effective_from.value).toISOString(), orders}});
      say(`Corrective action #${a.id} recorded for ${a.failure_mode}.`);
      ev.target.reset(); render();
    } catch (e) { fail(e); }
  };
}

// One work order, whatever its status: what was reported and done, its trail, and for
// finished work the statement (commercial roles), the customer's survey link and the
// fault case it can become.
const DONE = ["completed", "closed"];
async function orderView(id) {
  const o = await api(`/work-orders/${id}`);
  const [trail, labour, parts, files] = await Promise.all([api(`/work-orders/${id}/events`), api(`/work-orders/${id}/labour`),
    api(`/work-orders/${id}/parts`), api(`/work-orders/${id}/attachments`)]);
  const done = DONE.includes(o.status);
  const rec = [["Asset", `<a href="#/asset/${encodeURIComponent(o.asset_id)}">${esc(o.asset_id)}</a>`], ["Type / source", esc(`${o.type} / ${o.source}`)],
    ["Priority / severity", esc(`${o.priority} / ${o.severity}`)], ["Failure mode", esc([o.failure_mode, o.failure_mechanism, o.failure_cause].filter(Boolean).join(" · ") || "–")],
    ["Risk", pct(o.risk)], ["Assignee", esc(o.assignee || "–") + (o.team ? ` (${esc(o.team)})` : "")],
    ["Opened", fmtTime(o.opened_at)], ["Due", fmtTime(o.due_at)], ["Started", fmtTime(o.started_at)], ["Completed", fmtTime(o.completed_at)],
    ["Result", esc(o.result || "–") + (o.first_time_fix == null ? "" : o.first_time_fix ? " (first-time fix)" : " (not a first-time fix)")]];
  if ("warranty_status" in o) rec.push(["Warranty / billing", esc(`${o.warranty_status} / ${o.billing_basis}`)]);
  $("#view").innerHTML = `<h2>#${o.id} ${esc(o.title)} <span class="pill ${esc(o.status)}">${esc(o.status)}</span></h2>
    <div class="grid"><div class="card"><h3>Order</h3><dl class="record">${rec.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl></div>
      <div class="card"><h3>Report and work</h3><dl class="record"><dt>Symptom</dt><dd>${esc(o.symptom || "–")}</dd><dt>Description</dt><dd>${esc(o.description || "–")}</dd>
        <dt>Actions</dt><dd>${esc(o.actions || "–")}</dd>
        <dt>Labour</dt><dd>${labour.map(l => `${esc(l.technician)} ${l.minutes} min`).join(", ") || "–"}</dd>
        <dt>Parts</dt><dd>${parts.map(p => `${esc(p.part_number)} × ${p.quantity}`).join(", ") || "–"}</dd>
        <dt>Files</dt><dd>${files.map(f => esc(f.filename)).join(", ") || "–"}</dd></dl></div></div>
    ${done && can("commercial") ? '<div class="card" id="statement"><h3>Statement</h3><p class="muted">Loading…</p></div>' : ""}
    ${done && (can("orders.close") || can("knowledge.write")) ? `<div class="card"><h3>After the work</h3><div class="actions">
      ${can("orders.close") ? '<button class="secondary" id="survey-issue">Survey link for the customer</button>' : ""}
      ${can("knowledge.write") ? '<button class="secondary" id="case-open">Make a fault case</button>' : ""}</div><div id="after"></div></div>` : ""}
    <div class="fixes" data-fixes="${o.id}"></div>
    <div class="card"><h3>Trail</h3><table><thead><tr><th>When</th><th>Who</th><th>What</th><th>Note</th></tr></thead><tbody>${
      trail.map(e => `<tr><td>${fmtTime(e.ts)}</td><td>${esc(e.actor)}</td><td>${esc(e.from_status && e.from_status !== e.to_status ? `${e.from_status} → ${e.to_status}` : e.action)}</td><td>${esc(e.note)}</td></tr>`).join("")}</tbody></table></div>`;
  if (!done) await knownFixes(o);
  if ($("#survey-issue")) $("#survey-issue").onclick = () => issueSurvey(o);
  if ($("#case-open")) $("#case-open").onclick = () => caseForm(o);
  if ($("#statement")) await statement(o);
}

// The itemised statement: every line names the record it came from.
async function statement(o) {
  const st = await api(`/work-orders/${o.id}/statement`);
  $("#statement").innerHTML = `<h3>Statement <span class="muted">${esc(st.basis)} · ${esc(st.package || "no package")} · ${esc(st.currency)}</span></h3>
    <table id="statement-lines"><thead><tr><th>Line</th><th>Record</th><th>Quantity</th><th>Unit price</th><th>List</th><th>Covered</th><th>Charged</th></tr></thead><tbody>${
      st.lines.map(l => `<tr><td>${esc(l.description)}${l.note ? `<div class="muted">${esc(l.note)}</div>` : ""}</td><td>${esc(l.source)}</td><td>${esc(l.quantity)} ${esc(l.unit)}</td>
        <td>${esc(l.unit_price)}</td><td>${esc(l.list_amount)}</td><td>${esc(l.covered)}</td><td>${esc(l.charged)}</td></tr>`).join("")}
      <tr><th colspan="4">Total</th><th>${esc(st.list_total)}</th><th>${esc(st.covered_total)}</th><th id="charged-total">${esc(st.charged_total)}</th></tr></tbody></table>
    ${st.notes.length ? `<ul class="muted">${st.notes.map(n => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
    <div class="actions"><button class="secondary" data-download="csv">Download CSV</button><button class="secondary" data-download="pdf">Download PDF</button></div>`;
  $("#statement").querySelectorAll("[data-download]").forEach(b => b.onclick = () => download(`/work-orders/${o.id}/statement.${b.dataset.download}`,
    `statement-${o.id}.${b.dataset.download}`).catch(fail));
}

// A file behind the token (a plain link could not send it), saved under its own name.
async function download(path, name) {
  const r = await fetch(API + path, {headers: {"Authorization": "Bearer " + S.token}});
  if (r.status === 401) throw new AuthError();
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  const url = URL.createObjectURL(await r.blob()), a = document.createElement("a");
  a.href = url; a.download = name; document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  say(`${name} downloaded.`);
}

async function issueSurvey(o) {
  try {
    const s = await api(`/work-orders/${o.id}/survey`, {method: "POST"});
    s.url = new URL(s.url, location.origin).href;  // relative unless public_url is set
    $("#after").innerHTML = `<label>Link for the customer (valid until ${fmtTime(s.expires_at)}; issuing again replaces it)
      <input id="survey-url" readonly value="${esc(s.url)}" size="60"></label>
      <button class="secondary" id="survey-copy">Copy</button>`;
    $("#survey-copy").onclick = () => { $("#survey-url").select(); navigator.clipboard.writeText(s.url).then(() => say("Survey link copied."), () => say("Select the link and copy it.")); };
    say(`Survey link for order #${o.id} issued.`);
  } catch (e) { fail(e); }
}

function caseForm(o) {
  $("#after").innerHTML = `<form id="case-form"><label>Title<input name="title" maxlength="200" value="${esc(o.title)}"></label>
    <label>Root cause<textarea name="root_cause" rows="2">${esc(o.failure_cause)}</textarea></label>
    <label>Fix<textarea name="fix" rows="3">${esc(o.actions)}</textarea></label>
    <label>Guide (steps)<textarea name="guide" rows="3"></textarea></label>
    <div class="actions"><button type="submit">Save fault case</button></div></form>`;
  $("#case-form").onsubmit = async ev => {
    ev.preventDefault();
    const f = ev.target.elements, body = {title: f.title.value.trim() || null, root_cause: f.root_cause.value.trim(), fix: f.fix.value.trim(), guide: f.guide.value.trim()};
    try {
      const c = await api(`/work-orders/${o.id}/knowledge-case`, {method: "POST", json: body});
      $("#after").innerHTML = `<p>Fault case <a href="#/knowledge/${c.id}">#${c.id} ${esc(c.title)}</a> saved.</p>`;
      say(`Fault case #${c.id} made from order #${o.id}.`);
    } catch (e) { fail(e); }
  };
  $("#case-form [name=fix]").focus();
}

// The knowledge base: full-text search over fault cases, best match first; those who fix
// correct a case, engineers and planners retire a wrong or superseded one (and restore it).
async function knowledgeView(caseId) {
  const q = S.kq || "", retired = !!S.kRetired;
  const cases = caseId ? [await api(`/knowledge/cases/${caseId}`)]
    : await api(`/knowledge/cases?limit=50${q ? "&q=" + encodeURIComponent(q) : ""}${retired ? "&include_retired=true" : ""}`);
  $("#view").innerHTML = `<h2>Knowledge base</h2>
    <form id="kb-search" class="filters" role="search"><label>Search symptoms, causes, fixes<input name="q" type="search" value="${esc(q)}" placeholder="e.g. bearing noise"></label>
      <label class="check"><input type="checkbox" name="retired" ${retired ? "checked" : ""}> retired cases too</label>
      <button type="submit">Search</button>${caseId ? '<a href="#/knowledge">all cases</a>' : ""}</form>
    <p class="muted">${caseId ? "One case." : `${cases.length} case${cases.length === 1 ? "" : "s"}${q ? ` matching “${esc(q)}”` : ", newest first"}.`}</p>
    ${cases.map(c => `<article class="card" data-case="${c.id}"><h3>#${c.id} ${esc(c.title)}${c.retired_at ? ' <span class="pill rejected">retired</span>' : ""}</h3>
      <p class="muted">${esc([c.equipment_class, c.failure_mode].filter(Boolean).join(" · ") || "any equipment")} · ${c.first_time_fixes} of ${c.uses} first-time fixes
        ${c.source_order_id ? ` · from <a href="#/order/${c.source_order_id}">order #${c.source_order_id}</a>` : ""} · by ${esc(c.created_by)}${c.updated_by ? `, corrected by ${esc(c.updated_by)} ${fmtTime(c.updated_at)}` : ""}</p>
      ${c.retired_at ? `<p class="muted">Retired ${fmtTime(c.retired_at)}: ${esc(c.retired_reason)}</p>` : ""}
      <dl class="record"><dt>Symptoms</dt><dd>${esc(c.symptoms || "–")}</dd><dt>Root cause</dt><dd>${esc(c.root_cause || "–")}</dd>
        <dt>Fix</dt><dd>${esc(c.fix)}</dd>${c.guide ? `<dt>Guide</dt><dd class="guide">${esc(c.guide)}</dd>` : ""}<dt>Parts</dt><dd>${esc(c.parts.join(", ") || "–")}</dd></dl>
      <div class="actions">${can("knowledge.write") ? `<button class="secondary" data-edit-case="${c.id}">Correct</button>` : ""}
        ${can("quality.write") ? (c.retired_at ? `<button class="secondary" data-restore-case="${c.id}">Restore</button>`
          : `<label>Why retire it<input data-retire-reason="${c.id}" maxlength="500"></label><button class="danger" data-retire-case="${c.id}">Retire</button>`) : ""}</div></article>`).join("")}`;
  const byId = Object.fromEntries(cases.map(c => [c.id, c]));
  const patch = (c, body, done) => saveVersioned(`/knowledge/cases/${c.id}`, "PATCH", c.version, body, `Case #${c.id}`, done);
  document.querySelectorAll("[data-retire-case]").forEach(b => b.onclick = () => {
    const c = byId[b.dataset.retireCase], reason = $(`[data-retire-reason="${c.id}"]`).value.trim();
    if (!reason) { say("Say why the case is retired.", true); $(`[data-retire-reason="${c.id}"]`).focus(); return; }
    patch(c, {retired: true, retired_reason: reason}, `Case #${c.id} retired: no longer suggested.`);
  });
  document.querySelectorAll("[data-restore-case]").forEach(b => b.onclick = () => patch(byId[b.dataset.restoreCase], {retired: false}, `Case #${b.dataset.restoreCase} restored.`));
  document.querySelectorAll("[data-edit-case]").forEach(b => b.onclick = () => {
    const c = byId[b.dataset.editCase], card = $(`article[data-case="${c.id}"]`);
    const area = (k, label) => `<label>${label}<textarea name="${k}" rows="3" cols="60">${esc(c[k])}</textarea></label>`;
    card.innerHTML = `<h3>Correct case #${c.id}</h3><form id="case-edit"><label>Title<input name="title" maxlength="200" value="${esc(c.title)}" size="50"></label>
      ${area("symptoms", "Symptoms")}${area("root_cause", "Root cause")}${area("fix", "Fix")}${area("guide", "Guide (steps)")}
      <label>Parts (comma-separated)<input name="parts" value="${esc(c.parts.join(", "))}"></label>
      <div class="actions"><button type="submit">Save</button><button type="button" class="secondary" id="case-edit-cancel">Cancel</button></div></form>`;
    $("#case-edit-cancel").onclick = () => render();
    $("#case-edit").onsubmit = ev => {
      ev.preventDefault();
      const f = ev.target.elements, body = {};
      for (const k of ["title", "symptoms", "root_cause", "fix", "guide"]) if (f[k].value.trim() !== c[k]) body[k] = f[k].value.trim();
      const parts = f.parts.value.split(",").map(x => x.trim()).filter(Boolean);
      if (parts.join(",") !== c.parts.join(",")) body.parts = parts;
      if (!Object.keys(body).length) { say("Nothing changed."); render(); return; }
      patch(c, body, `Case #${c.id} corrected (${Object.keys(body).join(", ")}).`);
    };
    card.querySelector("[name=fix]").focus();
  });
  $("#kb-search").onsubmit = ev => {
    ev.preventDefault(); S.kq = ev.target.elements.q.value.trim(); S.kRetired = ev.target.elements.retired.checked;
    if (caseId) location.hash = "#/knowledge"; else render();
  };
}

// Intake: an order reported by phone, SMS, chat, email or the portal, matched to an asset
// by the serial number read off the plate (typos tolerated; the match is shown).
function intakeView() {
  $("#view").innerHTML = `<h2>Report a fault</h2>
    <form id="intake" class="card"><div class="actions">
      <label>Channel<select name="channel">${["phone", "sms", "chat", "email", "portal"].map(c => `<option>${c}</option>`).join("")}</select></label>
      <label>Serial number<input name="serial_number" maxlength="120" placeholder="as on the plate"></label>
      <label>or asset id<input name="asset_id" maxlength="64"></label>
      <label>Severity<select name="severity">${["minor", "major", "critical"].map(c => `<option ${c === "major" ? "selected" : ""}>${c}</option>`).join("")}</select></label></div>
      <div class="actions"><label>What is wrong (title)<input name="title" maxlength="200" required size="40"></label>
      <label>Symptom<textarea name="symptom" rows="2" cols="40"></textarea></label></div>
      <div class="actions"><label>Reported by<input name="reporter" maxlength="120"></label><label>Contact<input name="contact" maxlength="120"></label>
      <button type="submit">Create order</button></div></form><div id="intake-result"></div>`;
  $("#intake").onsubmit = async ev => {
    ev.preventDefault();
    const f = ev.target.elements, body = {};
    for (const k of ["channel", "serial_number", "asset_id", "severity", "title", "symptom", "reporter", "contact"]) if (f[k].value.trim()) body[k] = f[k].value.trim();
    if (!body.serial_number && !body.asset_id) { say("Give the serial number from the plate, or the asset id.", true); f.serial_number.focus(); return; }
    try {
      const r = await api("/intake", {method: "POST", json: body}), m = r.match;
      const how = {asset_id: "by asset id", exact: "exact serial number", normalized: "serial number, ignoring spaces, dashes and case",
                   fuzzy: `serial number with ${m.distance} typo${m.distance === 1 ? "" : "s"}`}[m.method];
      $("#intake-result").innerHTML = `<div class="card" id="intake-match"><p><b>${r.created ? "New order" : "Already reported: joined the open order"}
        <a href="#/order/${r.order.id}">#${r.order.id}</a></b> for <a href="#/asset/${encodeURIComponent(m.asset_id)}">${esc(m.asset_id)}</a></p>
        <p>Matched “${esc(m.given)}” to ${esc(m.serial_number || m.asset_id)} (${esc(how)}).</p></div>`;
      say(r.created ? `Order #${r.order.id} created.` : `Order #${r.order.id} already open for this; the report was added to it.`);
      if (r.created) ev.target.reset();
    } catch (e) {
      const near = (e.body || {}).candidates || [];
      $("#intake-result").innerHTML = near.length ? `<div class="card" id="intake-candidates"><p>${esc(e.message)}. Closest:</p><div class="actions">${
        near.map(c => `<button class="secondary" data-pick="${esc(c.asset_id)}">${esc(c.asset_id)} (${esc(c.serial_number)})</button>`).join("")}</div></div>` : "";
      $("#intake-result").querySelectorAll("[data-pick]").forEach(b => b.onclick = () => {
        f.asset_id.value = b.dataset.pick; f.serial_number.value = ""; $("#intake").requestSubmit();
      });
      fail(e);
    }
  };
}

// Settings for planners and admins: due-date hours by priority (and service contract),
// and the dispatch rules that choose team and assignee. Both apply to new orders.
const PRIORITIES = ["critical", "high", "medium", "low"];
async function settingsView() {
  const [sla, rules] = await Promise.all([api("/sla-rules"), api("/dispatch-rules")]);
  const hours = h => `${+Number(h).toFixed(2)} h`;
  $("#view").innerHTML = `<h2>Settings</h2>
    <div class="card"><h3>Service levels (due date of a new order)</h3>
      <table id="sla"><thead><tr><th>Priority</th><th>Service contract</th><th>Hours</th><th>Set by</th><th></th></tr></thead><tbody>${
        sla.rules.map(r => `<tr data-sla="${r.id}"><td>${esc(r.priority)}</td><td>${esc(r.service_contract || "any")}</td><td>${hours(r.hours)}</td>
          <td class="muted">${esc(r.updated_by)} ${fmtTime(r.updated_at)}</td><td><button class="secondary" data-sla-delete="${r.id}">Remove</button></td></tr>`).join("")}
        ${PRIORITIES.map(p => `<tr class="muted"><td>${p}</td><td>default (setting)</td><td>${sla.defaults[p] == null ? "72 h" : hours(sla.defaults[p])}</td><td></td><td></td></tr>`).join("")}</tbody></table>
      <form id="sla-form" class="actions"><label>Priority<select name="priority">${PRIORITIES.map(p => `<option>${p}</option>`).join("")}</select></label>
        <label>Service contract (empty: any)<input name="service_contract" maxlength="64"></label>
        <label>Hours<input name="hours" type="number" min="0.1" step="0.1" required inputmode="decimal"></label><button type="submit">Set</button></form>
      <p class="muted">A rule for the asset's own contract wins over one for any contract, which wins over the default. Orders already open keep their due date.</p></div>
    <div class="card"><h3>Dispatch rules (first match by position)</h3>
      <table id="dispatch"><thead><tr><th>Position</th><th>Equipment class</th><th>Severity</th><th>Region</th><th>Team</th><th>Assignee</th><th></th></tr></thead><tbody>${
        rules.map(r => `<tr data-rule="${r.id}"><td>${r.position}</td><td>${esc(r.equipment_class || "any")}</td><td>${esc(r.severity || "any")}</td><td>${esc(r.region || "any")}</td>
          <td>${esc(r.team)}</td><td>${esc(r.assignee)}</td><td><button class="secondary" data-rule-delete="${r.id}">Remove</button></td></tr>`).join("") || '<tr><td colspan="7" class="muted">None: new orders are not assigned.</td></tr>'}</tbody></table>
      <form id="rule-form" class="actions"><label>Position<input name="position" type="number" min="0" value="100" inputmode="numeric"></label>
        <label>Equipment class<input name="equipment_class" maxlength="64"></label>
        <label>Severity<select name="severity"><option value="">any</option>${["minor", "major", "critical"].map(x => `<option>${x}</option>`).join("")}</select></label>
        <label>Region<input name="region" maxlength="64"></label><label>Team<input name="team" maxlength="64"></label>
        <label>Assignee<input name="assignee" maxlength="64"></label><button type="submit">Add rule</button></form></div>`;
  const act = async (call, done) => { try { await call(); say(done); render(); } catch (e) { fail(e); } };
  $("#sla-form").onsubmit = ev => {
    ev.preventDefault();
    const f = ev.target.elements, body = {priority: f.priority.value, service_contract: f.service_contract.value.trim(), hours: Number(f.hours.value)};
    act(() => api("/sla-rules", {method: "PUT", json: body}), `New ${body.priority} orders${body.service_contract ? " under " + body.service_contract : ""} are due after ${body.hours} h.`);
  };
  document.querySelectorAll("[data-sla-delete]").forEach(b => b.onclick = () => act(() => api(`/sla-rules/${b.dataset.slaDelete}`, {method: "DELETE"}), "Service level removed."));
  $("#rule-form").onsubmit = ev => {
    ev.preventDefault();
    const f = ev.target.elements, body = {position: Number(f.position.value) || 0};
    for (const k of ["equipment_class", "severity", "region", "team", "assignee"]) body[k] = f[k].value.trim();
    act(() => api("/dispatch-rules", {method: "POST", json: body}), "Dispatch rule added.");
  };
  document.querySelectorAll("[data-rule-delete]").forEach(b => b.onclick = () => act(() => api(`/dispatch-rules/${b.dataset.ruleDelete}`, {method: "DELETE"}), "Dispatch rule removed."));
}

async function assign(id, version) {
  try {
    const o = await api(`/work-orders/${id}`, {method: "PATCH", headers: {"If-Match": `"${version}"`},
      json: {assignee: $(`[data-assignee="${id}"]`).value.trim(), team: $(`[data-team="${id}"]`).value.trim()}});
    say(`Order #${o.id} assigned to ${o.assignee || "nobody"}${o.team ? " (" + o.team + ")" : ""}.`);
    render();
  } catch (e) { fail(e); }
}

async function move(id, to) {
  const body = {to, reason: ($(`[data-reason="${id}"]`) || {}).value || ""};
  try {
    if (to === "completed") {
      body.result = $(`[data-result="${id}"]`).value;
      body.first_time_fix = $(`[data-ftf="${id}"]`).value === "true";
      body.actions = $(`[data-actions="${id}"]`).value.trim();
      const minutes = Number($(`[data-minutes="${id}"]`).value);
      if (minutes > 0) await api(`/work-orders/${id}/labour`, {method: "POST", json: {technician: S.me.name, minutes}});
      const part = ($(`[data-part="${id}"]`).value || "").trim(), quantity = Number($(`[data-qty="${id}"]`).value) || 1;
      if (part) await api(`/work-orders/${id}/parts`, {method: "POST", json: {part_number: part, quantity}});
    }
    const o = await api(`/work-orders/${id}/transitions`, {method: "POST", json: body});
    say(`Order #${o.id} is now ${o.status}.`);
    render();
  } catch (e) { fail(e); }
}

async function upload(id, file) {
  if (!file) return;
  try {
    await api(`/work-orders/${id}/attachments?filename=${encodeURIComponent(file.name)}`,
              {method: "POST", body: file, headers: {"Content-Type": file.type || "application/octet-stream"}});
    say(`Photo ${file.name} attached to order #${id}.`);
  } catch (e) { fail(e); }
}

async function kpis() {
  const weeks = 8, now = Date.now(), week = 7 * 864e5;
  const spans = Array.from({length: weeks}, (_, i) => [new Date(now - (weeks - i) * week), new Date(now - (weeks - i - 1) * week)]);
  const f = new URLSearchParams();
  for (const [key, v] of Object.entries(S.filters)) if (v) f.set(key, v);
  const [assets, k, ...series] = await Promise.all([api("/assets?limit=10000"), api("/kpis?" + f),
    ...spans.map(([a, b]) => api(`/kpis?since=${a.toISOString()}&until=${b.toISOString()}&${f}`))]);
  const opts = key => [...new Set(assets.items.map(a => a[key]).filter(Boolean))].sort();
  const sel = (key, label) => `<label>${label}<select data-filter="${key}"><option value="">all</option>${
    opts(key).map(v => `<option ${v === S.filters[key] ? "selected" : ""}>${esc(v)}</option>`).join("")}</select></label>`;
  const hrs = v => v == null ? "–" : v.toFixed(1) + " h";
  const bars = (title, f, fmt) => {
    const vals = series.map(f), max = Math.max(1e-9, ...vals.map(v => v || 0)), W = 420, H = 160, bw = W / weeks;
    return `<div class="card"><h3>${title}</h3><svg viewBox="0 0 ${W} ${H + 30}" width="100%" role="img" aria-label="${esc(title)} by week">${
      vals.map((v, i) => `<rect x="${i * bw + 4}" y="${H - (v || 0) / max * H}" width="${bw - 8}" height="${(v || 0) / max * H}" fill="#1d4ed8"><title>${fmt(v)}</title></rect>
        <text x="${i * bw + bw / 2}" y="${H + 14}" text-anchor="middle">${esc(spans[i][0].toLocaleDateString([], {month: "2-digit", day: "2-digit"}))}</text>`).join("")}</svg></div>`;
  };
  $("#view").innerHTML = `<h2>KPIs</h2>
    <div class="filters">${sel("site", "Site")}${sel("region", "Region")}${sel("equipment_class", "Equipment class")}</div>
    <div class="kpis">${[
    ["Open orders", k.open_work_orders], ["At risk", k.assets_at_risk], ["MTTR", hrs(k.mttr_hours)], ["MTBF", hrs(k.mtbf_hours)],
    ["Mean response", hrs(k.mean_response_hours)], ["Mean resolution", hrs(k.mean_resolution_hours)], ["First-time fix", pct(k.first_time_fix_rate)],
    ["SLA compliance", pct(k.sla_compliance)], ["Predictive share", pct(k.predictive_share)], ["Automatic order precision", pct(k.automatic_order_precision)]]
    .map(([n, v]) => `<div class="kpi"><span class="muted">${n}</span><b>${v}</b></div>`).join("")}</div>
    <div class="grid">${bars("Orders opened", s => Object.values(s.work_orders_by_status).reduce((a, b) => a + b, 0), v => v ?? 0)}
      ${bars("Mean time to repair", s => s.mttr_hours, hrs)}${bars("Automatic order precision", s => s.automatic_order_precision, pct)}</div>
    <p class="muted">Definitions: docs/kpis.md. Weeks end now.</p>`;
  document.querySelectorAll("[data-filter]").forEach(x => x.onchange = () => { S.filters[x.dataset.filter] = x.value; render(); });
}

// ---- shell --------------------------------------------------------------------------------
function fail(e) {
  if (e instanceof AuthError) { showLogin(); return; }
  console.error(e); say(e.message, true);
}
function showLogin() {
  stopListening();
  S.token = null; S.me = null; sessionStorage.removeItem("forewarn-token");
  $("#login").hidden = false; $("#nav").hidden = true; $("#view").innerHTML = ""; $("#who").textContent = "";
  $("#login [name=name]").focus();
}
$("#login").addEventListener("submit", async ev => {
  ev.preventDefault();
  const f = ev.target;
  const r = await fetch(API + "/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({name: f.name.value, password: f.password.value})});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { $("#login-error").textContent = body.detail || "login failed"; return; }
  S.token = body.token; sessionStorage.setItem("forewarn-token", body.token); f.reset(); $("#login-error").textContent = "";
  await start();
});

// ---- live push ----------------------------------------------------------------------------
// GET /changes is a server-sent event stream, read with fetch so the token travels in a
// header (EventSource cannot send one) and never in a URL. Each change redraws the view —
// at most every 2 s on the fleet, 5 s elsewhere, and never while the user has typed or
// picked something in it that a redraw would lose. Without the stream (a proxy that
// buffers it, a network cut) the fleet polls every 5 s until it is back.
async function listen() {
  if (S.listening) return;
  S.listening = new AbortController();
  const signal = S.listening.signal;
  while (!signal.aborted) {
    try {
      const r = await fetch(API + "/changes", {headers: {"Authorization": "Bearer " + S.token}, signal});
      if (r.status === 401) { stopListening(); showLogin(); return; }
      if (!r.ok) throw new Error(`changes: HTTP ${r.status}`);
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = "", first = true;
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += dec.decode(value, {stream: true});
        for (let k; (k = buf.indexOf("\n\n")) >= 0; buf = buf.slice(k + 2)) {
          if (!/^event: change$/m.test(buf.slice(0, k))) continue;
          if (first) { first = false; setLive(true); } else changed();  // the first is the state now
        }
      }
    } catch (e) { if (signal.aborted) return; }
    setLive(false);
    await new Promise(res => setTimeout(res, 3000));
  }
}
function stopListening() { if (S.listening) S.listening.abort(); S.listening = null; setLive(false); }
function setLive(on) {
  const was = S.live;
  S.live = on; document.body.dataset.live = on ? "push" : "poll";
  if (was && !on && !S.timer && document.body.dataset.view === "fleet") S.timer = setTimeout(render, 5000);
}
// Would a redraw lose something the user typed or picked?
const busy = () => !!$("#asset-edit") || [...document.querySelectorAll("#view input, #view select, #view textarea")].some(
  el => el.type === "checkbox" ? el.checked !== el.defaultChecked : el.tagName === "SELECT" ? el.selectedIndex !== Math.max(0, [...el.options].findIndex(o => o.defaultSelected)) : el.value !== el.defaultValue);
function changed() {
  if (S.pending) return;
  const gap = document.body.dataset.view === "fleet" ? 2000 : 5000;
  S.pending = setTimeout(() => { S.pending = null; if (!busy()) render(); }, Math.max(0, gap - (Date.now() - S.drawn)));
}

async function render() {
  clearTimeout(S.timer); S.timer = null; S.drawn = Date.now();
  const [, view, arg] = (location.hash || "#/").split("/");
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.getAttribute("href") === "#/" + (view || "")));
  try {
    if (view === "asset" && arg) await asset(decodeURIComponent(arg));
    else if (view === "queue") await queue();
    else if (view === "orders") await orders();
    else if (view === "kpis") await kpis();
    else if (view === "quality") await qualityView();
    else if (view === "parts" && can("parts.read")) await partsView();
    else if (view === "order" && arg) await orderView(Number(arg));
    else if (view === "knowledge") await knowledgeView(arg ? Number(arg) : null);
    else if (view === "intake" && can("orders.create")) intakeView();
    else if (view === "settings" && can("dispatch.manage")) await settingsView();
    else await fleet();
    document.body.dataset.view = view || "fleet";
  } catch (e) { fail(e); return; }
  // live refresh without reloading: pushed changes (listen), else the fleet polls
  if (!view && !S.live) S.timer = setTimeout(render, 5000);
}

async function start() {
  try {
    [S.me, S.meta] = await Promise.all([api("/auth/me"), api("/meta")]);
  } catch (e) { fail(e); return; }
  $("#login").hidden = true; $("#nav").hidden = false;
  document.querySelectorAll("nav [data-right]").forEach(a => { a.hidden = !can(a.dataset.right); });
  $("#who").innerHTML = `${esc(S.me.name)} (${esc(S.me.role)}) <button class="secondary" id="logout">Log out</button>`;
  $("#logout").onclick = () => { api("/auth/logout", {method: "POST"}).catch(() => {}); showLogin(); };
  listen();
  await render();
}
window.addEventListener("hashchange", render);
if (S.token) start(); else showLogin();
