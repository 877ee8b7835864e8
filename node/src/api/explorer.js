// tradelog explorer (served as /explorer.js, an ES module; the Content-Security-Policy allows no
// inline script). Every consignment and container answer is verified here, in the browser, with
// the TypeScript SDK's verifier (served by this node under /sdk/) against the genesis the page
// pinned on its first load (localStorage): what was checked is listed, and an answer that fails
// a check is not shown at all, only the check that failed, in red.
import {
  Genesis, LightClient, NodeClient, NodeError, TradelogError, checkExtends, headHash, parseBundle, verifyBundle, verifyOrganisationBundles,
  ADVANCE_FIELDS, RISK_OUTCOME_KINDS,
} from '/sdk/index.js';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
const utc = (ms) => new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 16);
const hours = (ms) => (ms / 3600000).toFixed(1) + " h";
/** An event recorded (its block's certified time) more than this after its own time is a late entry. */
const LATE_MS = 24n * 3600000n;
/** How long after its own time an event was recorded (ms, a bigint; negative when the event's time is ahead of its block's). */
const recordedAfter = (r) => r.recorded.time - BigInt(r.event.body.time);
const isLate = (r) => r.recorded !== null && recordedAfter(r) > LATE_MS;
/** A signed duration in hours, days past 48 h. */
const gap = (ms) => {
  const n = Number(ms);
  const a = Math.abs(n);
  const s = a >= 48 * 3600000 ? (a / 86400000).toFixed(1) + " days" : a >= 60000 ? (a / 3600000).toFixed(1) + " h" : Math.round(a / 1000) + " s";
  return n < 0 ? s + " before" : s + " after";
};
async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.message) || ("HTTP " + r.status));
  return body;
}
const CONTAINER = /^[A-Z]{3}[UJZ][0-9]{7}$/;
const node = new NodeClient(location.origin);

// ---- The pinned genesis (trust on first use) ----------------------------------------------

const PIN_KEY = "tradelog.explorer.genesis";
/** `{genesis, text, at}` once pinned; `null` if nothing could be pinned. */
let pin = null;
/** The light client over the pinned genesis: verifies heads and follows them (append-only). */
let light = null;

function usePin(text, at) {
  const genesis = Genesis.fromJson(text);
  pin = { genesis, text, at };
  light = new LightClient(node, genesis);
}

function store(text) {
  const at = new Date().toISOString();
  localStorage.setItem(PIN_KEY, JSON.stringify({ text, at }));
  usePin(text, at);
}

/** Loads the pinned genesis, pinning this node's on the first visit; then compares it with the node's. */
async function loadPin() {
  const saved = localStorage.getItem(PIN_KEY);
  let first = false;
  let served;
  if (saved) {
    try {
      const s = JSON.parse(saved);
      usePin(s.text, s.at);
    } catch (e) {
      showTrust({ error: `the genesis pinned in this browser is unreadable (${errorName(e)}: ${e.message}); re-pin it` });
      return;
    }
  } else {
    try {
      served = await node.getText("/v1/genesis");
      store(served);
      first = true;
    } catch (e) {
      showTrust({ error: `cannot pin this node's genesis (${errorName(e)}: ${e.message}): nothing on this page can be verified` });
      return;
    }
  }
  let mismatch = null;
  if (!first) {
    try {
      served = await node.getText("/v1/genesis");
      const hash = Genesis.fromJson(served).hash;
      if (hash !== pin.genesis.hash) mismatch = hash;
    } catch (e) {
      mismatch = `unreadable (${errorName(e)}: ${e.message})`;
    }
  }
  showTrust({ first, mismatch });
}

function showTrust({ first = false, repinned = false, mismatch = null, error = null }) {
  const box = $("trust");
  const kids = [];
  if (pin) {
    kids.push(el("p", {}, el("strong", {}, "Pinned genesis: "), `chain ${pin.genesis.chain} · hash `,
      el("code", { id: "genesis-hash" }, pin.genesis.hash),
      ` · ${repinned ? "re-pinned now" : first ? "pinned now, on this first visit" : "pinned " + pin.at.replace("T", " ").slice(0, 16) + " UTC"}. `,
      el("span", { class: "muted" }, "Answers are verified against it (trust on first use: the page trusts the genesis this node served when it was pinned; compare the hash with your copy of genesis.json).")));
  }
  if (error) kids.push(el("p", { class: "bad", role: "alert" }, "✗ genesis: " + error));
  if (mismatch) {
    kids.push(el("p", { class: "bad", role: "alert", id: "genesis-mismatch" },
      `✗ genesis: this node now serves a different genesis (hash ${mismatch}) from the one pinned. ` +
      "Answers are still verified against the pinned genesis; re-pin only if you know the chain was replaced."));
  }
  const toggle = el("button", { type: "button", id: "repin-toggle", class: "secondary", "aria-expanded": "false", "aria-controls": "repin" }, "Re-pin genesis…");
  const panel = el("div", { id: "repin", class: "warn", hidden: "" },
    el("p", { id: "repin-warning" }, "Re-pinning replaces the genesis every answer is verified against with the one this node serves now. " +
      "Do it only if you know the chain was replaced (a new network, a new devnet): a node that lies about the genesis could otherwise make a forged history verify."),
    el("button", { type: "button", id: "repin-confirm", class: "danger", "aria-describedby": "repin-warning" }, "Replace the pinned genesis"),
    " ",
    el("button", { type: "button", id: "repin-cancel", class: "secondary" }, "Cancel"));
  const open = (yes) => {
    toggle.setAttribute("aria-expanded", String(yes));
    panel.hidden = !yes;
    (yes ? panel.querySelector("#repin-confirm") : toggle).focus();
  };
  toggle.addEventListener("click", () => open(toggle.getAttribute("aria-expanded") !== "true"));
  panel.querySelector("#repin-cancel").addEventListener("click", () => open(false));
  panel.querySelector("#repin-confirm").addEventListener("click", async () => {
    try {
      store(await node.getText("/v1/genesis"));
      showTrust({ repinned: true });
      $("repin-toggle").focus();
      refreshHead();
      fromHash();
    } catch (e) {
      showTrust({ error: `re-pin failed (${errorName(e)}: ${e.message}); the previous pin is kept` });
    }
  });
  kids.push(el("p", {}, toggle), panel);
  box.replaceChildren(...kids);
}

// ---- What was verified, or which check failed -----------------------------------------------

const errorName = (e) => (e instanceof TradelogError ? `${e.name}.${e.variant}` : e.name || "Error");

/** The chain of SDK errors from the outermost to the innermost cause. */
function causes(e) {
  const out = [];
  for (let x = e; x instanceof TradelogError; x = x.err) out.push(x);
  return out;
}

/** The check an SDK error belongs to (the innermost bundle, route or follow error decides). */
function checkOf(e) {
  const chain = causes(e);
  const last = (name) => [...chain].reverse().find((x) => x.name === name);
  const follow = last("FollowError");
  if (follow) return "append-only";
  const bundle = last("BundleError");
  if (bundle) {
    return {
      Certificate: "certificate", Membership: "membership", Auth: "membership", Event: "signatures", Inclusion: "inclusion",
      Index: "completeness", IndexEntry: "completeness", Incomplete: "completeness", Altered: "completeness",
      Chain: "genesis", Order: "event list", Subject: "event list", NotInMembershipProof: "event list",
      FutureEvent: bundle.block === undefined ? "event list" : "recorded time", Block: "recorded time", BlockCertificate: "recorded time",
    }[bundle.variant] || "format";
  }
  const route = last("RouteError");
  if (route) return { Containers: "containers", HeadMismatch: "containers", NotConsignment: "subject" }[route.variant] || "format";
  if (chain[0] && chain[0].name === "NodeError" && chain[0].code === "wrong_subject") return "subject";
  if (chain[0] && chain[0].name === "CertificateError") return "certificate";
  if (chain[0] && chain[0].name === "MembershipError") return "membership";
  return "format";
}

/** The red answer to an answer that failed verification: no data, the check, the SDK's error names. */
function failure(title, e) {
  const check = checkOf(e);
  const names = causes(e).map((x) => `${x.name}.${x.variant}`).join(" → ");
  return el("div", { class: "verdict failed", role: "alert" },
    el("p", { class: "bad banner" }, "✗ NOT VERIFIED: ", title),
    el("p", { class: "bad" }, `Check failed: ${check}`, " — ", el("code", { class: "errname" }, names || errorName(e)), ": ", e.message),
    el("p", { class: "muted" }, "Nothing this node answered is shown: it failed verification against the pinned genesis " +
      (pin ? pin.genesis.hash.slice(0, 16) + "…" : "") + ", so none of it can be told apart from a forgery."));
}

/** What the bundles prove of their events' recorded times (PROTOCOL.md 9 step 7). */
function recordedSummary(all, events) {
  if (all.some((b) => b.version < 3)) return "recorded times not proven (a version-2 bundle has no block entries)";
  const proven = all.reduce((n, b) => n + b.events.filter((e) => e.recorded !== null).length, 0);
  const heads = new Set(all.flatMap((b) => b.blocks.map((bp) => String(bp.head.height)))).size;
  return `recorded times of ${proven} of ${events} events proven by ${heads} certified block head${heads === 1 ? "" : "s"}, each under the validator set in force at its height`;
}

/** The list of checks that passed for a verified bundle (and, for a route, its containers). */
function verified(p, { containers = null, follow = "" }) {
  const all = [p, ...(containers || [])];
  const events = all.reduce((n, b) => n + b.events.length, 0);
  const sigs = p.certificate.signatures.length;
  const transitions = p.history.changes ? p.history.changes.length : 0;
  const items = [
    ["certificate", `head #${p.head.height} (log size ${p.head.log_size}) certified by ${sigs} validator signatures, more than 2/3 of the voting power of the validator set proven from the genesis; head hash ${headHash(p.head).slice(0, 16)}…; ${recordedSummary(all, events)}`],
    ["membership", `the membership proof from the pinned genesis (${transitions} membership change${transitions === 1 ? "" : "s"}); every issuer held its key and the role for its event kind at the event's log position`],
    ["signatures", `${events} event signature${events === 1 ? "" : "s"} (Ed25519, ZIP-215) under the issuers' keys`],
    ["inclusion", `${events} Merkle inclusion proof${events === 1 ? "" : "s"} against the certified log root ${p.head.log_root.slice(0, 16)}…`],
    ["completeness", all.map((b) => `${b.subject.type} ${b.subject.id}: ${b.events.length} of ${b.events.length} committed events`).join("; ") + " — complete per the index proof against the certified index root"],
  ];
  if (containers) items.push(["containers", `${containers.length} container bundle${containers.length === 1 ? "" : "s"}, exactly the containers the consignment's events name, at the same certified head`]);
  if (follow) items.push(["append-only", follow]);
  return el("div", { class: "verdict verified" },
    el("p", { class: "ok banner" }, "✓ Verified in this browser against the pinned genesis"),
    el("ul", { class: "checks", "aria-label": "Checks passed" },
      ...items.map(([id, text]) => el("li", { "data-check": id }, el("span", { class: "ok" }, "✓ " + id), ": " + text))));
}

/** Checks that a verified head extends the last one this page accepted (PROTOCOL.md 9c). */
async function follow(served) {
  if (!light.known) {
    light.known = served;
    return "first head this page verified";
  }
  try {
    await checkExtends(light.known, served, (a, b) => node.getJson(`/v1/consistency?first=${a}&second=${b}`));
  } catch (e) {
    // An older head is not a lie (another node may lag); a fork or a rewrite is.
    if (e.variant === "Stale") return `head #${served.head.height} is older than head #${light.known.head.height} seen before (not a fork)`;
    throw e;
  }
  const same = headHash(light.known.head) === headHash(served.head);
  const from = light.known.head.height;
  light.known = served;
  return same ? `the same head this page verified before` : `extends head #${from} verified before (consistency proof)`;
}

// ---- Rendering verified answers ---------------------------------------------------------------

/** How the four risk outcomes read (PROTOCOL.md 8i). */
const RISK_NAMES = {
  risk_cleared: "risk assessment: cleared",
  risk_information_requested: "risk assessment: information requested",
  risk_referred: "risk assessment: referred for inspection on arrival",
  risk_do_not_load: "risk assessment: DO NOT LOAD",
};

/**
 * The "what" cell of an event: its kind and movement in words; a risk outcome marked by its
 * kind with its reason code and the advance data it assesses; advance data with the names of
 * the fields it commits to (their values are salted hashes on the ledger, disclosed off it).
 */
function whatCell(b, r, logIndexOf) {
  if (RISK_OUTCOME_KINDS.includes(b.kind)) {
    const assessed = b.refs.map(logIndexOf).filter((i) => i !== undefined);
    return [el("span", { class: "risk risk-" + b.kind.slice(5), "data-kind": b.kind }, RISK_NAMES[b.kind]),
      " · reason ", el("code", { class: "reason" }, b.reason || "–"),
      assessed.length ? ` · assesses the advance data #${assessed.join(", #")}` : " · assesses advance data " + (b.refs[0] || "").slice(0, 12) + "…"];
  }
  if (b.kind === "advance_data") {
    const names = Object.keys(b.details);
    const standard = ADVANCE_FIELDS.filter((f) => names.includes(f));
    const more = names.filter((f) => !ADVANCE_FIELDS.includes(f));
    return [el("span", { class: "advance" }, "advance data filed"),
      ` · commits ${[...standard, ...more].join(", ")} `,
      el("span", { class: "muted", title: "Salted commitments (PROTOCOL.md 3.5): the filer discloses each value on its own to the destination administration" }, "(values not on the ledger)")];
  }
  return [what(b) + (r.move ? " (movement of " + r.move + ")" : "")];
}

function what(b) {
  let s = b.kind.replace(/_/g, " ");
  if (b.container) s += " · container " + b.container;
  if (b.transport) s += " · " + b.transport.mode + " " + b.transport.means + (b.transport.voyage ? " voyage " + b.transport.voyage : "");
  for (const d of b.documents || []) s += " · document " + d.kind;
  return s;
}

const dl = (pairs) => el("dl", {}, ...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
const code = (s) => el("code", { class: "wrap" }, s);

/** The recorded time of a row, in words (block time and height, or why it is unknown). */
function recordedText(r) {
  if (r.recorded === null) return r.unproven;
  return `${utc(r.recorded.time)} UTC (${r.recorded.time} ms), block #${r.recorded.height}: its certified head time, ${gap(recordedAfter(r))} the event's own time` +
    (isLate(r) ? " (recorded late: more than 24 h after)" : "");
}

/** The opened part of an event row: signature, issuer key, fields, documents, inclusion proof. */
function detail(row, head) {
  const { event, index, proof } = row;
  const b = event.body;
  const disclosed = [["kind", b.kind], ["time", `${utc(b.time)} UTC (${b.time} ms), as its issuer signed it`]];
  for (const k of ["ucr", "container", "location"]) if (b[k] !== undefined) disclosed.push([k, b[k]]);
  if (b.transport) disclosed.push(["transport", `${b.transport.mode} ${b.transport.means}${b.transport.voyage ? " voyage " + b.transport.voyage : ""}`]);
  if (b.refs.length) disclosed.push(["refs", el("ul", {}, ...b.refs.map((r) => el("li", {}, code(r))))]);
  if (b.membership) disclosed.push(["membership change", code(JSON.stringify(b.membership.change))]);
  if (b.reason !== undefined) disclosed.push(["risk outcome", `${RISK_NAMES[b.kind] || b.kind} (${b.kind}), reason code ${b.reason}`]);
  const committed = Object.entries(b.details);
  return el("div", { class: "event-detail" },
    ...(row.aeoDetail ? [el("h4", {}, "Issuer's AEO status at the event's time (verified)"), row.aeoDetail] : []),
    dl([
      ["event id", code(event.id)],
      ["signature", code(event.sig)],
      ["issuer", `${b.issuer.org}`],
      ["issuer key", code(b.issuer.key)],
      ["recorded (verified)", recordedText(row)],
    ]),
    el("h4", {}, "Disclosed fields"), dl(disclosed),
    el("h4", {}, "Documents (anchored by hash)"),
    b.documents.length ? el("ul", {}, ...b.documents.map((d) => el("li", {}, `${d.kind}: ${d.alg} `, code(d.digest)))) : el("p", { class: "muted" }, "none"),
    el("h4", {}, "Committed fields (salted hashes; the values are not disclosed)"),
    committed.length ? dl(committed.map(([k, v]) => [k, code(v)])) : el("p", { class: "muted" }, "none"),
    el("h4", {}, "Inclusion proof (verified)"),
    dl([
      ["log index", String(index)],
      ["log size", String(head.log_size)],
      ["log root", code(head.log_root)],
      [`proof hashes (${proof.length})`, proof.length ? el("ol", {}, ...proof.map((h) => el("li", {}, code(h)))) : "none (a log of one event)"],
    ]));
}

let rowIds = 0;
function timeline(rows, caption, head, aeo = null) {
  const t = el("table", { class: "timeline" });
  const logIndex = new Map(rows.map((r) => [r.event.id, r.index]));
  const late = rows.filter(isLate).length;
  t.append(el("caption", { class: "muted left" }, caption, late ? `; ${late} recorded late` : "",
    ". Event time: when its issuer says the step happened; recorded: the certified time of the block that committed it (verified), \"recorded late\" when more than 24 h after the event time.",
    aeo ? ` Beside a trader issuer: its AEO status at the event's time, ${aeo.admins.length ? "as recognised by " + aeo.admins.join(" and ") + " (the administration" + (aeo.admins.length > 1 ? "s" : "") + " that assessed, inspected or released these goods)" : "as its own records show (no administration acted on these goods yet)"}, verified here from its organisation records (open an event for details).` : ""));
  t.append(el("thead", {}, el("tr", {}, el("th", {}, "event time (UTC)"), el("th", {}, "recorded (UTC, block)"), el("th", {}, "place"), el("th", {}, "issuer"), el("th", {}, "what"), el("th", { class: "num" }, "log #"))));
  const tb = el("tbody");
  for (const r of rows) {
    const b = r.event.body;
    const id = "event-" + ++rowIds;
    // The issuer's AEO status, filled in once verified (a badge, a warning, or nothing).
    const badge = el("span", { class: "aeo-slot" });
    r.aeoDetail = aeo && aeo.applies(b.issuer.org) ? el("div", { class: "aeo-detail muted" }, "verifying the issuer's organisation records…") : null;
    if (r.aeoDetail) aeo.show(b.issuer.org, b.time, badge, r.aeoDetail);
    const button = el("button", { type: "button", class: "expand", "aria-expanded": "false", "aria-controls": id, "aria-label": `Event ${r.index}: show its signature, issuer key, fields and inclusion proof` }, `#${r.index}`);
    const recorded = r.recorded === null
      ? el("td", { class: "recorded muted" }, r.unproven.startsWith("unknown") ? "unknown" : "not proven")
      : el("td", { class: "recorded" }, `${utc(r.recorded.time)} · #${r.recorded.height}`,
        ...(isLate(r) ? [" ", el("span", { class: "late", title: `recorded ${gap(recordedAfter(r))} the event's own time` }, "recorded late")] : []));
    const tr = el("tr", { class: [r.move ? "move" : "", isLate(r) ? "late-entry" : ""].filter(Boolean).join(" ") },
      el("td", {}, utc(b.time)), recorded, el("td", {}, b.location || "–"), el("td", { class: "issuer" }, b.issuer.org, badge),
      el("td", {}, ...whatCell(b, r, (ref) => logIndex.get(ref)),
        ...(r.retractedBy != null ? [" ", el("span", { class: "late", title: "its issuer recorded that it did not happen as recorded (PROTOCOL.md 8g); it stays in the history" }, `retracted by #${r.retractedBy}`)] : [])),
      el("td", { class: "num" }, button));
    const open = el("tr", { class: "detail", id, hidden: "" }, el("td", { colspan: "6" }, detail(r, head)));
    button.addEventListener("click", () => {
      const yes = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(yes));
      open.hidden = !yes;
    });
    tb.append(tr, open);
  }
  t.append(tb);
  return t;
}

// ---- The issuers' AEO status (PROTOCOL.md 8h, 9e), verified here ------------------------------

/** Kinds whose (customs) issuer is an administration the goods deal with. */
const CUSTOMS_KINDS = ["released", "held", "seized", "inspected", ...RISK_OUTCOME_KINDS];
/** The roles that hold AEO authorisations (8h); customs and auditors get no badge. */
const AEO_ROLES = ["carrier", "platform"];

/**
 * What a timeline needs to show each issuer's AEO status at each event's time: the
 * administrations asked (the customs issuers of the answer's releases, holds, seizures,
 * inspections and risk outcomes, in order of appearance; with none, the issuer's own records),
 * and the organisation answers (`GET /v1/organisations/{issuer}?recognised_by=...`, 9e),
 * fetched and verified against the pinned genesis once per (issuer, administration) pair.
 * `membership` (the verified membership at the answer's head) gives the issuers' roles.
 */
function aeoContext(rows, membership) {
  const roleOf = (org) => membership.org(org)?.role;
  const admins = [...new Set(rows.map((r) => r.event.body)
    .filter((b) => CUSTOMS_KINDS.includes(b.kind) && roleOf(b.issuer.org) === "customs").map((b) => b.issuer.org))];
  const cache = new Map();
  const records = (holder, by) => {
    const key = holder + "\u0000" + by;
    if (!cache.has(key)) {
      const path = "/v1/organisations/" + encodeURIComponent(holder) + (by === holder ? "" : "?recognised_by=" + encodeURIComponent(by));
      // The node's own `recognition` is not read: the register of the verified, complete
      // organisation histories answers for every event's time.
      cache.set(key, node.getText(path).then((text) => verifyOrganisationBundles(pin.genesis, text, holder, by)));
    }
    return cache.get(key);
  };
  return {
    admins,
    applies: (org) => AEO_ROLES.includes(roleOf(org)),
    show(holder, time, badge, detail) {
      aeoStatus(records, admins, holder, time).then(({ nodes, lines }) => {
        badge.replaceChildren(...nodes);
        detail.classList.remove("muted");
        detail.replaceChildren(...lines.map((l) => el("p", {}, l)));
      }, (e) => {
        badge.replaceChildren(" ", el("span", { class: "aeo-warn", title: e.message }, `⚠ AEO status NOT VERIFIED (${errorName(e)})`));
        detail.replaceChildren(el("p", { class: "bad" }, `✗ NOT VERIFIED: no AEO status is shown (${errorName(e)}: ${e.message}).`));
      });
    },
  };
}

const typesText = (types) => types.join(", ");

/**
 * The badges (or warnings) for `holder`'s AEO status at `time` and the sentences that explain
 * them: recognised by each administration asked, through its own authorisation ("AEO (by,
 * types)") or another's under a mutual recognition arrangement in force ("AEO via MRA"); with
 * no administration asked, the authorisations the holder's own records show. Nothing for an
 * organisation that held none; a red warning, and no status, for records that fail
 * verification.
 */
async function aeoStatus(records, admins, holder, time) {
  const asked = admins.length ? admins : [holder];
  const results = await Promise.all(asked.map((by) => records(holder, by).then((v) => ({ by, v }), (e) => ({ by, e }))));
  const nodes = [];
  const lines = [];
  const at = `at the event's time (${utc(time)} UTC)`;
  for (const { by, v, e } of results) {
    const whose = holder + (by === holder ? "" : " and " + by);
    if (e) {
      const names = causes(e).map((x) => `${x.name}.${x.variant}`).join(" → ") || errorName(e);
      if (unanswered(e)) {
        nodes.push(" ", el("span", { class: "aeo-warn unavailable", title: e.message }, "⚠ AEO status unavailable"));
        lines.push(`No AEO status shown: the node did not answer for the organisation records of ${whose} (${names}: ${e.message}).`);
      } else {
        nodes.push(" ", el("span", { class: "aeo-warn", title: `${names}: ${e.message}` }, `⚠ AEO status NOT VERIFIED (${names})`));
        lines.push(`✗ NOT VERIFIED: the node's organisation records of ${whose} failed verification against the pinned genesis (${names}: ${e.message}); no AEO status is shown.`);
      }
      continue;
    }
    const { register, head } = v;
    const proof = `Verified in this browser from the complete organisation records of ${whose} (index proof) at certified head #${head.height}; as recorded up to that head.`;
    const grant = (a) => `${a.programme} authorisation ${a.authorisation} of ${a.issuer} (${typesText(a.types)}), granted in event ${a.event.slice(0, 16)}…`;
    if (by === holder) {
      // No administration in this answer: what the holder's own records show.
      const held = register.held(holder, time);
      for (const a of held) {
        nodes.push(" ", el("span", { class: "aeo own", title: `${holder} held ${grant(a)} ${at}. ${proof}` }, `AEO (${a.issuer}, ${typesText(a.types)})`));
        lines.push(`${holder} held ${grant(a)} ${at}. ${proof}`);
      }
      if (!held.length) lines.push(`${holder} held no AEO authorisation ${at}. ${proof}`);
      continue;
    }
    const rec = register.recognised(holder, by, time);
    if (rec.recognised) {
      const a = rec.authorisation;
      const how = rec.arrangement
        ? `recognised by ${by} for ${typesText(rec.types)} through the mutual recognition arrangement between ${a.issuer} and ${by} in force then (event ${rec.arrangement.slice(0, 16)}…, countersigned by both)`
        : `recognised by ${by}, its issuer, for ${typesText(rec.types)}`;
      const text = `${holder} held ${grant(a)} ${at}, ${how}. ${proof}`;
      nodes.push(" ", rec.arrangement
        ? el("span", { class: "aeo mra", title: text }, `AEO via MRA (${a.issuer} → ${by}, ${typesText(rec.types)})`)
        : el("span", { class: "aeo own", title: text }, `AEO (${by}, ${typesText(rec.types)})`));
      lines.push(text);
    } else if (rec.held.length) {
      const text = `${holder} held ${rec.held.map(grant).join("; ")} ${at}, none of it recognised by ${by} (no arrangement in force covering its types). ${proof}`;
      nodes.push(" ", el("span", { class: "aeo-other", title: text }, `AEO of ${[...new Set(rec.held.map((x) => x.issuer))].join(", ")}, not recognised by ${by}`));
      lines.push(text);
    } else {
      lines.push(`${holder} held no AEO authorisation ${at}: no AEO status recognised by ${by}. ${proof}`);
    }
  }
  return { nodes, lines };
}

/** The inclusion proofs of a parsed bundle, by log index. */
const proofsOf = (bundles) => new Map(bundles.flatMap((b) => b.events.map((pe) => [String(pe.index), pe.proof])));
/** Why a verified event has no recorded time. */
const unprovenOf = (p) => (p.version < 3 ? "unknown: a version-2 bundle does not prove recorded times" : "not proven: the node served no block entry for this event's block");
/** A request the node did not answer (refused or unreachable): no answer to verify. */
const unanswered = (e) => e instanceof NodeError && (e.variant === "Refused" || e.variant === "Unreachable");

/** A trade identifier (PROTOCOL.md 2, 8f): a transport document, a booking or an SSCC. */
const TRADE_ID = /^(bl|bkg|sscc):/i;

async function showConsignment(ucr, identifier = false) {
  const box = $("result");
  const title = (identifier ? "Identifier " : "Consignment ") + ucr;
  let route, pages, note;
  try {
    // Every page of a large route (PROTOCOL.md 9b), fetched at one head and verified together;
    // a consignment linked to trade identifiers, and every identifier, has its group's route
    // (version 3). A light client of its own: the head is then checked against this page's.
    const client = new LightClient(node, pin.genesis);
    ({ route, pages } = await (identifier ? client.identifierRoute(ucr) : client.route(ucr)));
    if (!identifier && route.ucr !== ucr) throw new NodeError("WrongSubject", `asked for consignment ${ucr}, the node answered about consignment ${route.ucr}`, { status: 200, code: "wrong_subject" });
    note = await follow({ head: route.head, certificate: route.certificate });
  } catch (e) {
    if (!(e instanceof TradelogError) || unanswered(e)) throw e;
    box.replaceChildren(el("h3", {}, title), failure(`the node's route bundle for ${identifier ? "identifier" : "consignment"} ${ucr}`, e));
    return;
  }
  const proofs = proofsOf(pages.flatMap((p) => [...(p.subjects ?? [p.consignment]), ...p.containers]));
  const own = route.consignment ?? route.subjects[0];
  const unproven = unprovenOf(own);
  const rows = route.timeline.map((t) => ({
    index: t.index, event: t.event, proof: proofs.get(String(t.index)), move: t.source === "consignment" ? null : t.source.container,
    recorded: t.recorded ?? null, unproven, retractedBy: t.retractedBy ?? null,
  }));
  box.replaceChildren(el("h3", {}, title), verified(own, { containers: route.containers, follow: note }),
    rows.length ? timeline(rows, `${rows.length} events: the consignment's own and its containers' movements`, own.head, aeoContext(rows, own.history.at(own.head.log_size))) : el("p", {}, "No events: the index proves this consignment has none."));
  const linked = (route.subjects ?? []).map((p) => p.subject).filter((x) => x.id !== ucr);
  if (linked.length) {
    const para = el("p", {}, "Linked (the same consignment, verified): ");
    linked.forEach((x, i) => { if (i) para.append(", "); para.append(link(x.id)); });
    box.append(para);
  }
  for (const c of route.containers) {
    box.append(el("p", { class: "muted" }, "Travelled in container ", link(c.subject.id), ` (${c.events.length} container events).`));
  }
}

async function showContainer(id) {
  const text = await node.getText("/v1/containers/" + encodeURIComponent(id));
  const box = $("result");
  let p, parsed, note;
  try {
    parsed = parseBundle(text);
    p = verifyBundle(pin.genesis, parsed);
    if (p.subject.type !== "container" || p.subject.id !== id) throw new NodeError("WrongSubject", `asked for container ${id}, the node answered about ${p.subject.type} ${p.subject.id}`, { status: 200, code: "wrong_subject" });
    note = await follow({ head: p.head, certificate: p.certificate });
  } catch (e) {
    if (!(e instanceof TradelogError)) throw e;
    box.replaceChildren(el("h3", {}, "Container " + id), failure(`the node's proof bundle for container ${id}`, e));
    return;
  }
  const proofs = proofsOf([parsed]);
  const unproven = unprovenOf(p);
  const rows = p.events.map((pe) => ({ index: pe.index, event: pe.event, proof: proofs.get(String(pe.index)), recorded: pe.recorded ?? null, unproven }));
  const ucrs = [...new Set(p.events.map((pe) => pe.event.body.ucr).filter(Boolean))];
  box.replaceChildren(el("h3", {}, "Container " + id), verified(p, { follow: note }), timeline(rows, `${rows.length} container events`, p.head, aeoContext(rows, p.history.at(p.head.log_size))));
  const para = el("p", {}, "Consignments carried: ");
  ucrs.forEach((u, i) => { if (i) para.append(", "); para.append(link(u)); });
  if (!ucrs.length) para.append("none");
  box.append(para);
}

function link(q) {
  return el("a", { href: "#q=" + encodeURIComponent(q) }, q);
}

async function search(q) {
  q = TRADE_ID.test(q.trim()) ? q.trim() : q.trim().toUpperCase();
  if (!q) return;
  $("q").value = q;
  $("result").replaceChildren(el("p", { class: "muted" }, "searching " + q + "…"));
  await pinned;
  if (!pin) {
    $("result").replaceChildren(el("p", { class: "bad", role: "alert" }, "✗ NOT VERIFIED: no genesis is pinned, so no answer can be verified; see above."));
    return;
  }
  try {
    if (CONTAINER.test(q)) await showContainer(q);
    else if (TRADE_ID.test(q)) await showConsignment(q, true);
    else await showConsignment(q);
  } catch (e) {
    $("result").replaceChildren(el("p", { class: "bad", role: "alert" }, q + ": " + e.message));
  }
}

// ---- Head, blocks, time release ----------------------------------------------------------------

async function refreshHead() {
  await pinned;
  if (!pin) {
    $("head").replaceChildren(el("span", { class: "bad" }, "no genesis pinned: the head cannot be verified"));
    return;
  }
  let h;
  try {
    h = await light.head();
  } catch (e) {
    if (e instanceof TradelogError && e.name !== "NodeError") {
      $("head").replaceChildren(el("span", { class: "bad", role: "alert" }, `✗ head NOT VERIFIED: check failed: ${e.name === "FollowError" ? "append-only" : "certificate"} — ${errorName(e)}: ${e.message}`));
    } else {
      $("head").textContent = "no certified head yet (" + e.message + ")";
    }
    return;
  }
  $("head").replaceChildren(el("span", { class: "ok" }, "certified head #" + h.head.height),
    ` ✓ certificate verified here (${h.certificate.signatures.length} validator signatures) · ${h.head.log_size} events · ${utc(h.head.time)} UTC · root `,
    el("code", {}, h.head.log_root.slice(0, 16) + "…"));
  await refreshBlocks(Number(h.head.height));
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

/** A duration in minutes below an hour, else in hours. */
const short = (ms) => (ms < 3600000 ? Math.round(ms / 60000) + " min" : hours(ms));
/** `n · median / p90` of a figure, or "none". */
const figure = (f, fmt = hours) => (f.count ? `${f.count} · ${fmt(f.median)} / ${fmt(f.p90)}` : "none");
/** The two series of the chart: declarants with an AEO status recognised by the releasing administration, and the others. */
const SERIES = [
  { key: "recognised", id: "aeo", name: "AEO (recognised by the releasing administration)", tag: "AEO" },
  { key: "not_recognised", id: "non-aeo", name: "non-AEO", tag: "non-AEO" },
];

async function refreshTrs() {
  let r;
  try { r = await api("/v1/reports/time-release"); } catch (e) { $("trs-chart").textContent = "time release: " + e.message; return; }
  const split = (g) => g.aeo || { recognised: null, not_recognised: null };
  const tb = $("trs").tBodies[0];
  tb.replaceChildren(...r.groups.map((g) => el("tr", {}, el("td", {}, g.border_post), el("td", {}, g.period), el("td", { class: "num" }, g.arrival_to_release.count),
    el("td", { class: "num" }, hours(g.arrival_to_release.median)), el("td", { class: "num" }, hours(g.arrival_to_release.p90)),
    ...SERIES.map((sr) => el("td", { class: "num", "data-series": sr.id }, split(g)[sr.key] ? figure(split(g)[sr.key].arrival_to_release) : "–")))));
  refreshAdvance(r.advance_groups || []);
  const groups = r.groups.slice(0, 12);
  if (!groups.length) { $("trs-chart").replaceChildren(el("p", { class: "muted" }, "No released consignment measured yet.")); return; }
  // Per border post and month, a pair of bars: AEO and non-AEO declarants, each its
  // arrival → release median (dark) over its 90th percentile (light).
  const stat = (g, sr) => (split(g)[sr.key] ? split(g)[sr.key].arrival_to_release : { count: 0, median: 0, p90: 0 });
  const max = Math.max(...groups.flatMap((g) => SERIES.map((sr) => stat(g, sr).p90))) || 1;
  const ns = "http://www.w3.org/2000/svg", W = 560, bar = 16, x0 = 70, span = W - x0 - 150, per = 20 + SERIES.length * (bar + 4) + 8;
  const H = groups.length * per + 4;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("width", "100%"); svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Arrival-to-release hours per border post and month, AEO and non-AEO declarants side by side: median and 90th percentile");
  const mk = (tag, a, parent = svg) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(a)) e.setAttribute(k, v); parent.append(e); return e; };
  groups.forEach((g, i) => {
    const top = 4 + i * per;
    mk("text", { x: 0, y: top + 13, class: "group" }).textContent = `${g.border_post} ${g.period} (n=${g.arrival_to_release.count})`;
    SERIES.forEach((sr, j) => {
      const f = stat(g, sr), y = top + 20 + j * (bar + 4);
      mk("text", { x: 0, y: y + 12, class: "series" }).textContent = sr.tag;
      if (f.count) {
        const p90 = mk("rect", { x: x0, y, width: Math.max(1, span * f.p90 / max), height: bar, class: `bar ${sr.id} p90`, "data-series": sr.id, "data-stat": "p90" });
        mk("title", {}, p90).textContent = `${g.border_post} ${g.period}, ${sr.name}: 90th percentile ${hours(f.p90)} (${f.count} consignments)`;
        const med = mk("rect", { x: x0, y: y + 4, width: Math.max(1, span * f.median / max), height: bar - 8, class: `bar ${sr.id} median`, "data-series": sr.id, "data-stat": "median" });
        mk("title", {}, med).textContent = `${g.border_post} ${g.period}, ${sr.name}: median ${hours(f.median)} (${f.count} consignments)`;
      }
      mk("text", { x: x0 + span + 6, y: y + 12, "data-series": sr.id }).textContent = f.count ? `n=${f.count}: ${hours(f.median)} / ${hours(f.p90)}` : "none measured";
    });
  });
  const key = (cls, text) => el("span", { class: "key" }, el("span", { class: "swatch " + cls, "aria-hidden": "true" }), text);
  $("trs-chart").replaceChildren(svg, el("p", { class: "legend muted", id: "trs-legend" },
    key("aeo median", "AEO median"), key("aeo p90", "AEO 90th percentile"), key("non-aeo median", "non-AEO median"), key("non-aeo p90", "non-AEO 90th percentile"),
    " (nearest rank). AEO: the declarant held an AEO status recognised by the releasing administration at the declaration's time (its own authorisation, or another's under a mutual recognition arrangement)."));
}

/** Advance data → risk outcome per assessing administration and month (PROTOCOL.md 8i), with do-not-load counts. */
function refreshAdvance(groups) {
  const tb = $("advance").tBodies[0];
  if (!groups.length) {
    tb.replaceChildren(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No risk outcome on advance data yet.")));
    return;
  }
  const outcomes = (g) => RISK_OUTCOME_KINDS.filter((k) => g.outcomes[k]).map((k) => `${RISK_NAMES[k].replace("risk assessment: ", "")} ${g.outcomes[k]}`).join(" · ") || "–";
  tb.replaceChildren(...groups.map((g) => el("tr", {},
    el("td", {}, g.administration), el("td", {}, g.period), el("td", { class: "num" }, g.advance_to_outcome.count), el("td", {}, outcomes(g)),
    el("td", { class: "num" + (g.do_not_load ? " dnl" : ""), "data-field": "do_not_load" }, g.do_not_load),
    el("td", { class: "num" }, figure(g.recognised, short)), el("td", { class: "num" }, figure(g.not_recognised, short)))));
}

// ---- Wiring --------------------------------------------------------------------------------------

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
const pinned = loadPin();
window.addEventListener("hashchange", fromHash);
// A search in the address runs at once (after the genesis is loaded), not after the head and
// blocks: chained after them it ran again over a search the user had already typed.
fromHash();
refreshHead();
refreshTrs();
setInterval(refreshHead, 5000);
