// tradelog explorer (served as /explorer.js; the Content-Security-Policy allows no inline script).
"use strict";
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
const utc = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 16);
const hours = (ms) => (ms / 3600000).toFixed(1) + " h";
async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.message) || ("HTTP " + r.status));
  return body;
}
const CONTAINER = /^[A-Z]{3}[UJZ][0-9]{7}$/;

function what(b) {
  let s = b.kind.replace(/_/g, " ");
  if (b.container) s += " · container " + b.container;
  if (b.transport) s += " · " + b.transport.mode + " " + b.transport.means + (b.transport.voyage ? " voyage " + b.transport.voyage : "");
  for (const d of b.documents || []) s += " · document " + d.kind;
  return s;
}

function timeline(rows, caption) {
  const t = el("table", { class: "timeline" });
  t.append(el("caption", { class: "muted left" }, caption));
  t.append(el("thead", {}, el("tr", {}, el("th", {}, "time (UTC)"), el("th", {}, "place"), el("th", {}, "issuer"), el("th", {}, "what"), el("th", { class: "num" }, "log #"))));
  const tb = el("tbody");
  for (const r of rows) {
    const b = r.event.body;
    const tr = el("tr", { class: r.move ? "move" : "" },
      el("td", {}, utc(b.time)), el("td", {}, b.location || "–"), el("td", {}, b.issuer.org),
      el("td", {}, what(b) + (r.move ? " (movement of " + r.move + ")" : "")), el("td", { class: "num" }, r.index));
    tb.append(tr);
  }
  t.append(tb);
  return t;
}

function checks(bundle) {
  // What a browser can check cheaply; full cryptographic verification is tradelog's job.
  const n = bundle.events.length, count = bundle.index_entry.count;
  const sigs = bundle.certificate.signatures.length;
  const ok = n === count && bundle.certificate.height === bundle.head.height;
  return el("p", {}, el("span", { class: ok ? "ok" : "bad" }, ok ? "✓ complete per the index" : "✗ inconsistent bundle"),
    ` — ${n} of ${count} committed events, certified head #${bundle.head.height} signed by ${sigs} validators, log size ${bundle.head.log_size}.`);
}

async function showConsignment(ucr) {
  const route = await api("/v1/consignments/" + encodeURIComponent(ucr) + "/route");
  const own = route.consignment;
  const rows = own.events.map((pe) => ({ index: pe.index, event: pe.event }));
  const seen = new Set(rows.map((r) => r.index));
  // The container movements that belong to the route: PROTOCOL.md section 9b windows.
  const byTime = [...own.events].sort((a, b) => a.event.body.time - b.event.body.time || a.index - b.index);
  for (const c of route.containers) {
    const wins = [];
    let open = null;
    for (const pe of byTime) {
      const b = pe.event.body, names = b.container === c.subject.id;
      if (names && open === null) open = b.time;
      if ((b.kind === "delivered" || (names && b.kind === "unpacked")) && open !== null) { wins.push([open, b.time]); open = null; }
    }
    if (open !== null) wins.push([open, Infinity]);
    for (const pe of c.events) {
      const b = pe.event.body;
      if (seen.has(pe.index) || (b.ucr && b.ucr !== ucr) || !wins.some(([a, z]) => a <= b.time && b.time <= z)) continue;
      rows.push({ index: pe.index, event: pe.event, move: c.subject.id });
      seen.add(pe.index);
    }
  }
  rows.sort((a, b) => a.event.body.time - b.event.body.time || a.index - b.index);
  const box = $("result");
  box.replaceChildren(el("h3", {}, "Consignment " + ucr), checks(own),
    rows.length ? timeline(rows, `${rows.length} events: the consignment's own and its containers' movements`) : el("p", {}, "No events: the index proves this consignment has none."));
  for (const c of route.containers) {
    box.append(el("p", { class: "muted" }, "Travelled in container ", link(c.subject.id), ` (${c.events.length} container events).`));
  }
}

async function showContainer(id) {
  const b = await api("/v1/containers/" + encodeURIComponent(id));
  const rows = b.events.map((pe) => ({ index: pe.index, event: pe.event }));
  const ucrs = [...new Set(b.events.map((pe) => pe.event.body.ucr).filter(Boolean))];
  const box = $("result");
  box.replaceChildren(el("h3", {}, "Container " + id), checks(b), timeline(rows, `${rows.length} container events`));
  const p = el("p", {}, "Consignments carried: ");
  ucrs.forEach((u, i) => { if (i) p.append(", "); p.append(link(u)); });
  if (!ucrs.length) p.append("none");
  box.append(p);
}

function link(q) {
  const a = el("a", { href: "#q=" + encodeURIComponent(q) }, q);
  return a;
}

async function search(q) {
  q = q.trim().toUpperCase();
  if (!q) return;
  $("q").value = q;
  $("result").replaceChildren(el("p", { class: "muted" }, "searching " + q + "…"));
  try {
    if (CONTAINER.test(q)) await showContainer(q); else await showConsignment(q);
  } catch (e) {
    $("result").replaceChildren(el("p", { class: "bad", role: "alert" }, q + ": " + e.message));
  }
}

async function refreshHead() {
  try {
    const h = await api("/v1/head");
    $("head").replaceChildren(el("span", { class: "ok" }, "certified head #" + h.head.height), ` · ${h.head.log_size} events · ${utc(h.head.time)} UTC · ${h.certificate.signatures.length} validator signatures · root `, el("code", {}, h.head.log_root.slice(0, 16) + "…"));
    await refreshBlocks(h.head.height);
  } catch (e) {
    $("head").textContent = "no certified head yet (" + e.message + ")";
  }
}

let lastBlocks = -1;
async function refreshBlocks(tip) {
  if (tip === lastBlocks) return;
  lastBlocks = tip;
  const tb = $("blocks").tBodies[0];
  const rows = [];
  for (let h = tip; h > Math.max(0, tip - 10); h--) {
    try {
      const b = await api("/v1/blocks/" + h);
      rows.push(el("tr", {}, el("td", { class: "num" }, h), el("td", {}, utc(b.head.time)), el("td", { class: "num" }, b.events.length), el("td", { class: "num" }, b.head.log_size), el("td", {}, el("code", {}, b.certificate.head.slice(0, 12) + "…"))));
    } catch (e) { break; }
  }
  tb.replaceChildren(...rows);
}

async function refreshTrs() {
  let r;
  try { r = await api("/v1/reports/time-release"); } catch (e) { $("trs-chart").textContent = "time release: " + e.message; return; }
  const tb = $("trs").tBodies[0];
  tb.replaceChildren(...r.groups.map((g) => el("tr", {}, el("td", {}, g.border_post), el("td", {}, g.period), el("td", { class: "num" }, g.arrival_to_release.count), el("td", { class: "num" }, hours(g.arrival_to_release.median)), el("td", { class: "num" }, hours(g.arrival_to_release.p90)))));
  const groups = r.groups.slice(0, 12);
  if (!groups.length) { $("trs-chart").replaceChildren(el("p", { class: "muted" }, "No released consignment measured yet.")); return; }
  const max = Math.max(...groups.map((g) => g.arrival_to_release.p90)) || 1;
  const ns = "http://www.w3.org/2000/svg", W = 520, bar = 22, H = groups.length * (bar + 10) + 10;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("width", "100%"); svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Median and 90th percentile arrival-to-release hours per border post and month");
  groups.forEach((g, i) => {
    const y = 10 + i * (bar + 10), x0 = 120, span = W - x0 - 120;
    const mk = (tag, a) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(a)) e.setAttribute(k, v); svg.append(e); return e; };
    mk("text", { x: 0, y: y + 15 }).textContent = g.border_post + " " + g.period;
    mk("rect", { x: x0, y, width: Math.max(1, span * g.arrival_to_release.p90 / max), height: bar, fill: "#b6d4fe" });
    mk("rect", { x: x0, y: y + 5, width: Math.max(1, span * g.arrival_to_release.median / max), height: bar - 10, fill: "#0a5bd3" });
    mk("text", { x: x0 + span + 4, y: y + 15 }).textContent = hours(g.arrival_to_release.median) + " / " + hours(g.arrival_to_release.p90);
  });
  $("trs-chart").replaceChildren(svg, el("p", { class: "muted" }, "Dark: median; light: 90th percentile (nearest rank)."));
}

$("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const hash = "#q=" + encodeURIComponent($("q").value.trim().toUpperCase());
  // A new query goes through the address (to share or reload); the same one searches again.
  if (location.hash === hash) fromHash(); else location.hash = hash;
});
// The address fragment is "#q=" and a percent-encoded UCR or container number, or nothing.
// Anything else is said on the page (a malformed escape such as "#q=%E0%A4%A" made
// decodeURIComponent throw, which stopped the whole script and left the page blank).
function fromHash() {
  const hash = location.hash;
  if (hash === "" || hash === "#") return;
  const m = hash.match(/(?:^#|&)q=([^&]*)/);
  let q = "";
  try { q = m ? decodeURIComponent(m[1]).trim() : ""; } catch (e) { q = ""; }
  if (!q) {
    $("result").replaceChildren(el("p", { class: "bad", role: "alert" },
      "This page cannot use the address fragment " + JSON.stringify(hash.slice(0, 120)) +
      ": expected #q= and a consignment UCR or ISO 6346 container number, e.g. #q=6CN913000000-SF000000."));
    return;
  }
  search(q);
}
window.addEventListener("hashchange", fromHash);
// A search in the address runs at once, not after the head and blocks have loaded: chained
// after them it ran again over a search the user had already typed.
fromHash();
refreshHead();
refreshTrs();
setInterval(refreshHead, 5000);
