//! The time-release report, checked: the node's figures are recomputed from each consignment's
//! verified provenance (`tradelog_protocol::trs`), so every row and every aggregate is traced to
//! signed, certified events and a node that misreports a duration or a group is caught. The
//! late entries it lists (`late_recorded`, `late_rows`) are checked against the blocks the
//! bundles prove (PROTOCOL.md 9 step 7), the AEO split against the organisation records the
//! light client verifies (9e), and the advance data → outcome figures against the consignments'
//! verified events.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;
use tradelog_protocol::bundle::Recorded;
use tradelog_protocol::recognition::Register;
use tradelog_protocol::trs::{
    aggregate, aggregate_advance, classify, classify_advance, late_rows, late_steps, measure,
    measure_advance,
};
use tradelog_protocol::{EventId, OrgId, Ucr, UnLocode};

use crate::light::{ClientError, LightClient};
use crate::terminal::show;
use crate::time::format_time;

/// Why a report could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Asking or verifying failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The node's report is not the documented JSON.
    #[error("node's report is malformed: {0}")]
    Malformed(String),
    /// A figure differs from what the verified events give.
    #[error("{what}: the node reports {node}, the verified events give {verified}")]
    Mismatch {
        /// Which figure.
        what: String,
        /// The node's value.
        node: String,
        /// The recomputed value.
        verified: String,
    },
}

/// A checked report: the node's JSON, every figure recomputed and equal.
#[derive(Debug, Clone)]
pub struct CheckedReport {
    /// The node's report.
    pub json: Value,
    /// Consignments whose provenance was verified to check it.
    pub consignments: usize,
}

fn malformed(m: impl Into<String>) -> ReportError {
    ReportError::Malformed(m.into())
}

fn same(what: String, node: &Value, verified: &Value) -> Result<(), ReportError> {
    if node == verified {
        return Ok(());
    }
    Err(ReportError::Mismatch {
        what,
        node: node.to_string(),
        verified: verified.to_string(),
    })
}

/// Fetches `GET /v1/reports/time-release` (optionally filtered) and, unless `check` is false,
/// recomputes every row, exclusion and group from verified provenance.
pub fn time_release(
    client: &mut LightClient,
    border_post: Option<&UnLocode>,
    period: Option<&str>,
    check: bool,
) -> Result<CheckedReport, ReportError> {
    let mut query = Vec::new();
    if let Some(p) = border_post {
        query.push(format!("border_post={p}"));
    }
    if let Some(m) = period {
        query.push(format!("period={m}"));
    }
    let path = if query.is_empty() {
        "/v1/reports/time-release".to_owned()
    } else {
        format!("/v1/reports/time-release?{}", query.join("&"))
    };
    let r = client.endpoint().get(&path).map_err(ClientError::from)?;
    if r.status != 200 {
        return Err(malformed(format!(
            "HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
                .chars()
                .take(300)
                .collect::<String>()
        )));
    }
    let json: Value = serde_json::from_slice(&r.body).map_err(|e| malformed(e.to_string()))?;
    if !check {
        return Ok(CheckedReport {
            json,
            consignments: 0,
        });
    }
    let rows = json["rows"]
        .as_array()
        .ok_or_else(|| malformed("rows: not an array"))?;
    let excluded = json["excluded"]
        .as_array()
        .ok_or_else(|| malformed("excluded: not an array"))?;
    let mut verified_rows = Vec::with_capacity(rows.len());
    // When each measured event was recorded, from the verified blocks.
    let mut recorded: HashMap<EventId, Recorded> = HashMap::new();
    let mut checked = 0;
    // The AEO records of every (trader, administration) pair the rows name, verified.
    let mut records = Records::default();
    let mut verified_ucrs: HashMap<Ucr, Vec<tradelog_protocol::Event>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let (ucr, events, blocks) = verified_events(client, row, &format!("rows[{i}]"))?;
        recorded.extend(blocks);
        checked += 1;
        match measure(&ucr, &events) {
            Ok(mut mine) => {
                let register = records.of(client, &mine.declarant, &mine.released_by)?;
                classify(std::slice::from_mut(&mut mine), register);
                let mine_json =
                    serde_json::to_value(&mine).map_err(|e| malformed(e.to_string()))?;
                same(format!("rows[{i}] ({ucr})"), row, &mine_json)?;
                verified_rows.push(mine);
                verified_ucrs.insert(ucr, events);
            }
            Err(why) => {
                return Err(ReportError::Mismatch {
                    what: format!("rows[{i}] ({ucr})"),
                    node: "a measured row".into(),
                    verified: format!("no row: {why}"),
                })
            }
        }
    }
    for (i, ex) in excluded.iter().enumerate() {
        let (ucr, events, _) = verified_events(client, ex, &format!("excluded[{i}]"))?;
        checked += 1;
        let mut mine = serde_json::json!({"ucr": ucr});
        match measure(&ucr, &events) {
            Ok(_) => {
                return Err(ReportError::Mismatch {
                    what: format!("excluded[{i}] ({ucr})"),
                    node: ex.to_string(),
                    verified: "a measurable consignment".into(),
                })
            }
            Err(why) => {
                if let (Some(m), Value::Object(w)) = (
                    mine.as_object_mut(),
                    serde_json::to_value(&why).map_err(|e| malformed(e.to_string()))?,
                ) {
                    m.extend(w);
                }
            }
        }
        same(format!("excluded[{i}] ({ucr})"), ex, &mine)?;
    }
    // Measured steps recorded more than 24 h after their own time.
    let late = late_steps(&verified_rows, |id| recorded.get(id).copied());
    let mut groups = Vec::new();
    for g in aggregate(&verified_rows) {
        let late_rows = late_rows(&g, &late);
        let mut v = serde_json::to_value(&g).map_err(|e| malformed(e.to_string()))?;
        if let Some(m) = v.as_object_mut() {
            m.insert("late_rows".into(), late_rows.into());
        }
        groups.push(v);
    }
    same("groups".into(), &json["groups"], &Value::Array(groups))?;
    let late = serde_json::to_value(&late).map_err(|e| malformed(e.to_string()))?;
    same("late_recorded".into(), &json["late_recorded"], &late)?;
    // Advance data → risk outcome: every row recomputed from the consignment's verified events.
    let advance = json["advance_rows"]
        .as_array()
        .ok_or_else(|| malformed("advance_rows: not an array"))?;
    let mut mine_advance = Vec::new();
    let mut seen: Vec<Ucr> = Vec::new();
    for (i, row) in advance.iter().enumerate() {
        let ucr: Ucr = row["ucr"]
            .as_str()
            .ok_or_else(|| malformed(format!("advance_rows[{i}].ucr: not a string")))?
            .parse()
            .map_err(|e| malformed(format!("advance_rows[{i}].ucr: {e}")))?;
        if seen.contains(&ucr) {
            continue;
        }
        seen.push(ucr.clone());
        let events = match verified_ucrs.get(&ucr) {
            Some(e) => e.clone(),
            None => {
                checked += 1;
                verified_events(client, row, &format!("advance_rows[{i}]"))?.1
            }
        };
        for mut r in measure_advance(&ucr, &events) {
            if period.is_some_and(|m| tradelog_protocol::trs::month_utc(r.outcome.time) != m) {
                continue;
            }
            let register = records.of(client, &r.filer, &r.administration)?;
            classify_advance(std::slice::from_mut(&mut r), register);
            mine_advance.push(r);
        }
    }
    let node_rows = serde_json::to_value(&mine_advance).map_err(|e| malformed(e.to_string()))?;
    same("advance_rows".into(), &json["advance_rows"], &node_rows)?;
    let groups = serde_json::to_value(aggregate_advance(&mine_advance))
        .map_err(|e| malformed(e.to_string()))?;
    same("advance_groups".into(), &json["advance_groups"], &groups)?;
    Ok(CheckedReport {
        json,
        consignments: checked,
    })
}

/// The verified AEO and arrangement records of the (trader, administration) pairs asked so
/// far, each pair fetched once.
#[derive(Default)]
struct Records {
    register: Register,
    pairs: Vec<(OrgId, OrgId)>,
}

impl Records {
    /// The register, holding `trader`'s and `admin`'s records.
    fn of(
        &mut self,
        client: &mut LightClient,
        trader: &OrgId,
        admin: &OrgId,
    ) -> Result<&Register, ReportError> {
        let pair = (trader.clone(), admin.clone());
        if !self.pairs.contains(&pair) {
            client.aeo_records(trader, admin, &mut self.register)?;
            self.pairs.push(pair);
        }
        Ok(&self.register)
    }
}

/// A consignment, its own events and when each was recorded.
type VerifiedEvents = (
    Ucr,
    Vec<tradelog_protocol::Event>,
    HashMap<EventId, Recorded>,
);

/// The UCR named by `entry["ucr"]`, its own events and when each was recorded, as verified by
/// the light client.
fn verified_events(
    client: &mut LightClient,
    entry: &Value,
    at: &str,
) -> Result<VerifiedEvents, ReportError> {
    let ucr: Ucr = entry["ucr"]
        .as_str()
        .ok_or_else(|| malformed(format!("{at}.ucr: not a string")))?
        .parse()
        .map_err(|e| malformed(format!("{at}.ucr: {e}")))?;
    let route = client.provenance(&ucr)?;
    let p = &route.consignment;
    let recorded = p
        .events
        .iter()
        .zip(&p.recorded)
        .filter_map(|((_, e), r)| Some((e.id(), (*r)?)))
        .collect();
    let events = route
        .consignment
        .events
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    Ok((ucr, events, recorded))
}

fn hours(ms: &Value) -> String {
    ms.as_u64().map_or_else(
        || "-".into(),
        |v| format!("{:.1} h", v as f64 / 3_600_000.0),
    )
}

/// A readable table of the groups, then each consignment's row with its event times. Strings of
/// the node's report are printed through [`show`] (with `--no-check` nothing checked them).
pub fn render(report: &CheckedReport) -> String {
    let j = &report.json;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "time release (WCO TRS) over the first {} log entries; median / p90 by nearest rank",
        show(&j["log_size"])
    );
    let _ = writeln!(
        out,
        "  {:<6} {:<8} {:>5}  {:>21}  {:>21}  {:>21}",
        "post", "month", "n", "arrival→declaration", "declaration→release", "arrival→release"
    );
    for g in j["groups"].as_array().into_iter().flatten() {
        let pair = |k: &str| format!("{} / {}", hours(&g[k]["median"]), hours(&g[k]["p90"]));
        let _ = writeln!(
            out,
            "  {:<6} {:<8} {:>5}  {:>21}  {:>21}  {:>21}",
            show(g["border_post"].as_str().unwrap_or("?")),
            show(g["period"].as_str().unwrap_or("?")),
            show(&g["arrival_to_release"]["count"]),
            pair("arrival_to_declaration"),
            pair("declaration_to_release"),
            pair("arrival_to_release"),
        );
    }
    let _ = writeln!(
        out,
        "  by the declarant's AEO status (recognised by the releasing administration at declaration):"
    );
    for g in j["groups"].as_array().into_iter().flatten() {
        for (label, key) in [("AEO", "recognised"), ("non-AEO", "not_recognised")] {
            let d = &g["aeo"][key];
            let pair = |k: &str| format!("{} / {}", hours(&d[k]["median"]), hours(&d[k]["p90"]));
            let _ = writeln!(
                out,
                "  {:<6} {:<8} {:>5}  {:>21}  {:>21}  {:>21}  {label}",
                show(g["border_post"].as_str().unwrap_or("?")),
                show(g["period"].as_str().unwrap_or("?")),
                show(&d["arrival_to_release"]["count"]),
                pair("arrival_to_declaration"),
                pair("declaration_to_release"),
                pair("arrival_to_release"),
            );
        }
    }
    let advance = j["advance_groups"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if !advance.is_empty() {
        let _ = writeln!(
            out,
            "advance data → risk outcome (median / p90), per assessing administration and month:"
        );
    }
    for g in advance {
        let pair = |k: &str| format!("{} / {}", hours(&g[k]["median"]), hours(&g[k]["p90"]));
        let _ = writeln!(
            out,
            "  {:<12} {:<8} {:>5}  all {}  AEO {}  non-AEO {}  do not load: {}",
            show(g["administration"].as_str().unwrap_or("?")),
            show(g["period"].as_str().unwrap_or("?")),
            show(&g["advance_to_outcome"]["count"]),
            pair("advance_to_outcome"),
            pair("recognised"),
            pair("not_recognised"),
            show(&g["do_not_load"]),
        );
    }
    for r in j["rows"].as_array().into_iter().flatten() {
        let t = |k: &str| {
            r[k]["time"]
                .as_u64()
                .map_or_else(|| "?".into(), format_time)
        };
        let _ = writeln!(
            out,
            "  {}  at {}: arrived {}, declared {}, released {} ({})",
            show(r["ucr"].as_str().unwrap_or("?")),
            show(r["border_post"].as_str().unwrap_or("?")),
            t("arrival"),
            t("declaration"),
            t("release"),
            hours(&r["arrival_to_release"])
        );
    }
    let excluded = j["excluded"].as_array().map_or(0, Vec::len);
    if excluded > 0 {
        let _ = writeln!(
            out,
            "  {excluded} consignments not measured (see --json for why)"
        );
    }
    if report.consignments > 0 {
        let _ = writeln!(
            out,
            "CHECKED: every figure recomputed from the verified provenance of {} consignments",
            report.consignments
        );
    }
    out
}
