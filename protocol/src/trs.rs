//! Time-release measurement after the WCO Time Release Study: from a consignment's verified
//! events, how long it took from arrival at a border post to the import declaration and on to
//! customs release, and aggregates per border post and calendar month.
//!
//! Definitions (docs/STANDARDS.md, "Time release"), all on `body.time`, events taken in
//! `(time, given order)` order and only those whose `ucr` is the consignment's:
//!
//! - **release** `R`: a `released` event; its **border post** `P` is its `location`, or, when it
//!   names none (a DCSA `RELS` on `CUS` carries no place, nor does an electronic release
//!   message), the place of the consignment's last `arrived`/`discharged` at or before `R`:
//!   customs releases goods where they were presented, the office of their arrival. The first
//!   release (by time) for which an arrival exists is measured;
//! - **arrival** `A`: the first `arrived` or `discharged` event at `P` with `A.time <= R.time`;
//! - **declaration** `D`: the first `declared` event with `A.time <= D.time <= R.time` whose
//!   `location` is `P` or absent (an electronic lodgement names no place);
//! - durations `D - A`, `R - D`, `R - A` in milliseconds, with the three event ids.
//!
//! A consignment is excluded, with the reason, when it has no release, only releases without a
//! location and with no arrival before them, no arrival at the release place before the
//! release, or no declaration between
//! arrival and release (a declaration lodged only before arrival is reported as such: its
//! arrival→declaration time would be negative; TRS counts pre-arrival lodgement separately).
//!
//! Aggregation groups rows by (border post, calendar month of the release in UTC) and reports,
//! per duration, count, median and 90th percentile by the **nearest-rank** method: for `n`
//! sorted values `v[1..=n]`, the `p`-th percentile is `v[ceil(p·n/100)]` (so the median is the
//! lower middle value when `n` is even). Every group lists the UCRs and rows behind it.

use std::collections::BTreeMap;

use crate::event::{Event, EventId, EventKind};
use crate::ids::{OrgId, Ucr, UnLocode};
use crate::recognition::Register;

/// One measured step: which event, when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The event id.
    pub id: EventId,
    /// Its `body.time`, ms since 1970.
    pub time: u64,
    /// Its kind (`arrived` or `discharged` for the arrival).
    pub kind: EventKind,
}

/// A consignment's measured arrival → declaration → release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrsRow {
    /// The consignment.
    pub ucr: Ucr,
    /// The border post: the release's location, or, for a release without one, the place of
    /// the consignment's last arrival at or before it.
    pub border_post: UnLocode,
    /// Arrival at the border post.
    pub arrival: Step,
    /// Import declaration.
    pub declaration: Step,
    /// Customs release.
    pub release: Step,
    /// `declaration.time - arrival.time`, ms.
    pub arrival_to_declaration: u64,
    /// `release.time - declaration.time`, ms.
    pub declaration_to_release: u64,
    /// `release.time - arrival.time`, ms.
    pub arrival_to_release: u64,
    /// The declaration's issuer: the trader whose AEO status the report splits by.
    pub declarant: OrgId,
    /// The release's issuer: the administration whose recognition counts.
    pub released_by: OrgId,
    /// Whether the declarant held an AEO status recognised by `released_by` at the
    /// declaration's time (PROTOCOL.md 8h); set by [`classify`], `false` until then.
    pub aeo: bool,
}

/// Why a consignment has no time-release row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Excluded {
    /// No `released` event.
    #[error("not released")]
    NotReleased,
    /// Every `released` event lacks a location and follows no arrival, so there is no border
    /// post (neither named by the release nor given by an arrival before it).
    #[error("released without a location and after no arrival: no border post")]
    ReleaseWithoutLocation,
    /// No `arrived`/`discharged` at the release place at or before the release.
    #[error("no arrival at {place} before its release")]
    NoArrival {
        /// The release place.
        place: UnLocode,
    },
    /// Arrival and release, but no declaration between them; `before_arrival` when a
    /// declaration exists only before the arrival (pre-arrival lodgement).
    #[error("no declaration at {place} between arrival and release{}", pre_arrival(.before_arrival))]
    NoDeclaration {
        /// The release place.
        place: UnLocode,
        /// A declaration was lodged before the arrival.
        before_arrival: bool,
    },
}

fn pre_arrival(before: &bool) -> &'static str {
    if *before {
        " (declared only before arrival)"
    } else {
        ""
    }
}

/// Measures one consignment from its events (any order; others' events are ignored).
/// Retracted events (PROTOCOL.md 8g) and the retractions themselves are left out: a corrected
/// step counts as its correction, never twice.
pub fn measure(ucr: &Ucr, events: &[Event]) -> Result<TrsRow, Excluded> {
    let retracted = retracted_ids(events);
    let mut mine: Vec<(usize, &Event)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.body().ucr.as_ref() == Some(ucr))
        .filter(|(_, e)| e.body().kind != EventKind::Retracted && !retracted.contains(&e.id()))
        .collect();
    mine.sort_by_key(|(i, e)| (e.body().time, *i));
    let step = |e: &Event| Step {
        id: e.id(),
        time: e.body().time,
        kind: e.body().kind,
    };
    let releases: Vec<&Event> = mine
        .iter()
        .map(|(_, e)| *e)
        .filter(|e| e.body().kind == EventKind::Released)
        .collect();
    if releases.is_empty() {
        return Err(Excluded::NotReleased);
    }
    let is_arrival =
        |e: &&Event| matches!(e.body().kind, EventKind::Arrived | EventKind::Discharged);
    let mut first_failure = None;
    for r in releases {
        let rt = r.body().time;
        let place = match &r.body().location {
            Some(p) => p.clone(),
            // No place on the release: the border post of the goods' latest arrival before it.
            None => {
                let last = mine
                    .iter()
                    .rev()
                    .map(|(_, e)| *e)
                    .filter(is_arrival)
                    .filter(|e| e.body().time <= rt)
                    .find_map(|e| e.body().location.clone());
                match last {
                    Some(p) => p,
                    None => continue,
                }
            }
        };
        let arrival = mine
            .iter()
            .map(|(_, e)| *e)
            .filter(is_arrival)
            .find(|e| e.body().location.as_ref() == Some(&place) && e.body().time <= rt);
        let Some(a) = arrival else {
            first_failure.get_or_insert(Excluded::NoArrival { place });
            continue;
        };
        let at = a.body().time;
        let declared_here = |e: &&Event| {
            let b = e.body();
            b.kind == EventKind::Declared && b.location.as_ref().is_none_or(|l| *l == place)
        };
        let decl = mine
            .iter()
            .map(|(_, e)| *e)
            .filter(declared_here)
            .find(|e| at <= e.body().time && e.body().time <= rt);
        let Some(d) = decl else {
            let before_arrival = mine
                .iter()
                .map(|(_, e)| *e)
                .filter(declared_here)
                .any(|e| e.body().time < at);
            first_failure.get_or_insert(Excluded::NoDeclaration {
                place,
                before_arrival,
            });
            continue;
        };
        let dt = d.body().time;
        return Ok(TrsRow {
            ucr: ucr.clone(),
            border_post: place,
            arrival: step(a),
            declaration: step(d),
            release: step(r),
            arrival_to_declaration: dt - at,
            declaration_to_release: rt - dt,
            arrival_to_release: rt - at,
            declarant: d.body().issuer.org.clone(),
            released_by: r.body().issuer.org.clone(),
            aeo: false,
        });
    }
    Err(first_failure.unwrap_or(Excluded::ReleaseWithoutLocation))
}

/// Count, median and 90th percentile (nearest rank) of one duration, ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Values.
    pub count: usize,
    /// 50th percentile, nearest rank.
    pub median: u64,
    /// 90th percentile, nearest rank.
    pub p90: u64,
}

/// The `p`-th percentile (0 < p <= 100) of sorted `v` by nearest rank: `v[ceil(p·n/100)]`
/// (1-based); `None` for no values.
pub fn nearest_rank(sorted: &[u64], p: u32) -> Option<u64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    sorted.get(rank - 1).copied()
}

fn stats(mut v: Vec<u64>) -> Stats {
    v.sort_unstable();
    Stats {
        count: v.len(),
        median: nearest_rank(&v, 50).unwrap_or(0),
        p90: nearest_rank(&v, 90).unwrap_or(0),
    }
}

/// Sets each row's `aeo` from the AEO and arrangement records in `register`.
pub fn classify(rows: &mut [TrsRow], register: &Register) {
    for r in rows {
        r.aeo = register
            .recognised(&r.declarant, &r.released_by, r.declaration.time)
            .recognised;
    }
}

/// The three durations of some rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Durations {
    /// Arrival → declaration.
    pub arrival_to_declaration: Stats,
    /// Declaration → release.
    pub declaration_to_release: Stats,
    /// Arrival → release.
    pub arrival_to_release: Stats,
}

fn durations(rows: &[&TrsRow]) -> Durations {
    Durations {
        arrival_to_declaration: stats(rows.iter().map(|r| r.arrival_to_declaration).collect()),
        declaration_to_release: stats(rows.iter().map(|r| r.declaration_to_release).collect()),
        arrival_to_release: stats(rows.iter().map(|r| r.arrival_to_release).collect()),
    }
}

/// A group's figures split by the declarant's AEO status at the time (PROTOCOL.md 8h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AeoSplit {
    /// Rows whose declarant held a status recognised by the releasing administration.
    pub recognised: Durations,
    /// The other rows.
    pub not_recognised: Durations,
}

/// One border post in one month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrsGroup {
    /// The border post (release location).
    pub border_post: UnLocode,
    /// Calendar month of the release, UTC, `YYYY-MM`.
    pub period: String,
    /// Arrival → declaration.
    pub arrival_to_declaration: Stats,
    /// Declaration → release.
    pub declaration_to_release: Stats,
    /// Arrival → release.
    pub arrival_to_release: Stats,
    /// Every figure above, split by the declarant's AEO status.
    pub aeo: AeoSplit,
    /// The consignments measured, in row order (each row's event ids trace every figure).
    pub ucrs: Vec<Ucr>,
}

/// `YYYY-MM` of a time in ms since 1970, UTC (proleptic Gregorian).
pub fn month_utc(ms: u64) -> String {
    // Howard Hinnant's civil-from-days.
    let z = (ms / 86_400_000) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}")
}

/// Groups rows by (border post, month of release UTC), ordered by border post then period.
pub fn aggregate(rows: &[TrsRow]) -> Vec<TrsGroup> {
    let mut groups: BTreeMap<(UnLocode, String), Vec<&TrsRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.border_post.clone(), month_utc(r.release.time)))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((border_post, period), rs)| TrsGroup {
            border_post,
            period,
            arrival_to_declaration: stats(rs.iter().map(|r| r.arrival_to_declaration).collect()),
            declaration_to_release: stats(rs.iter().map(|r| r.declaration_to_release).collect()),
            arrival_to_release: stats(rs.iter().map(|r| r.arrival_to_release).collect()),
            aeo: AeoSplit {
                recognised: durations(&rs.iter().copied().filter(|r| r.aeo).collect::<Vec<_>>()),
                not_recognised: durations(
                    &rs.iter().copied().filter(|r| !r.aeo).collect::<Vec<_>>(),
                ),
            },
            ucrs: rs.iter().map(|r| r.ucr.clone()).collect(),
        })
        .collect()
}

/// A risk outcome measured against the advance data it assesses (PROTOCOL.md 8i).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdvanceRow {
    /// The consignment.
    pub ucr: Ucr,
    /// Who filed the advance data.
    pub filer: OrgId,
    /// The administration that assessed it.
    pub administration: OrgId,
    /// The `advance_data` event.
    pub advance: Step,
    /// The `risk_*` event.
    pub outcome: Step,
    /// Its reason code.
    pub reason: String,
    /// `outcome.time - advance.time`, ms (0 if the outcome's time is earlier).
    pub advance_to_outcome: u64,
    /// Whether the filer held an AEO status recognised by the administration at the filing
    /// (set by [`classify_advance`]).
    pub aeo: bool,
}

/// Every outcome of one consignment's events with the advance data it refers to (retracted
/// events and retractions left out).
pub fn measure_advance(ucr: &Ucr, events: &[Event]) -> Vec<AdvanceRow> {
    let retracted = retracted_ids(events);
    let live = |e: &&Event| {
        e.body().ucr.as_ref() == Some(ucr)
            && e.body().kind != EventKind::Retracted
            && !retracted.contains(&e.id())
    };
    let filed: BTreeMap<EventId, &Event> = events
        .iter()
        .filter(live)
        .filter(|e| e.body().kind == EventKind::AdvanceData)
        .map(|e| (e.id(), e))
        .collect();
    let step = |e: &Event| Step {
        id: e.id(),
        time: e.body().time,
        kind: e.body().kind,
    };
    events
        .iter()
        .filter(live)
        .filter(|e| e.body().kind.is_risk_outcome())
        .filter_map(|o| {
            let a = o.body().refs.iter().find_map(|r| filed.get(r))?;
            Some(AdvanceRow {
                ucr: ucr.clone(),
                filer: a.body().issuer.org.clone(),
                administration: o.body().issuer.org.clone(),
                advance: step(a),
                outcome: step(o),
                reason: o.body().reason.clone().unwrap_or_default(),
                advance_to_outcome: o.body().time.saturating_sub(a.body().time),
                aeo: false,
            })
        })
        .collect()
}

/// Sets each advance row's `aeo` from `register`.
pub fn classify_advance(rows: &mut [AdvanceRow], register: &Register) {
    for r in rows {
        r.aeo = register
            .recognised(&r.filer, &r.administration, r.advance.time)
            .recognised;
    }
}

/// One administration's risk outcomes in one month (of the outcome, UTC).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdvanceGroup {
    /// The assessing administration.
    pub administration: OrgId,
    /// `YYYY-MM`.
    pub period: String,
    /// Outcomes by kind (`risk_cleared`, ...), each kind listed once it occurs.
    pub outcomes: BTreeMap<&'static str, usize>,
    /// How many were `risk_do_not_load`.
    pub do_not_load: usize,
    /// Advance data → outcome, all rows.
    pub advance_to_outcome: Stats,
    /// Advance data → outcome, filers with a recognised AEO status.
    pub recognised: Stats,
    /// Advance data → outcome, the other filers.
    pub not_recognised: Stats,
    /// The consignments, in row order.
    pub ucrs: Vec<Ucr>,
}

/// Groups advance rows by (administration, month of the outcome UTC).
pub fn aggregate_advance(rows: &[AdvanceRow]) -> Vec<AdvanceGroup> {
    let mut groups: BTreeMap<(OrgId, String), Vec<&AdvanceRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.administration.clone(), month_utc(r.outcome.time)))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((administration, period), rs)| {
            let mut outcomes = BTreeMap::new();
            for r in &rs {
                *outcomes.entry(r.outcome.kind.as_str()).or_insert(0) += 1;
            }
            let pick = |aeo: Option<bool>| {
                stats(
                    rs.iter()
                        .filter(|r| aeo.is_none_or(|a| r.aeo == a))
                        .map(|r| r.advance_to_outcome)
                        .collect(),
                )
            };
            AdvanceGroup {
                administration,
                period,
                do_not_load: rs
                    .iter()
                    .filter(|r| r.outcome.kind == EventKind::RiskDoNotLoad)
                    .count(),
                outcomes,
                advance_to_outcome: pick(None),
                recognised: pick(Some(true)),
                not_recognised: pick(Some(false)),
                ucrs: rs.iter().map(|r| r.ucr.clone()).collect(),
            }
        })
        .collect()
}

/// A measured step recorded more than [`LATE_RECORDING_MS`] after its own time (a late entry:
/// it stays in the figures and is listed beside them, docs/STANDARDS.md "Time release").
///
/// [`LATE_RECORDING_MS`]: crate::bundle::LATE_RECORDING_MS
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LateStep {
    /// The consignment.
    pub ucr: Ucr,
    /// The event.
    pub id: EventId,
    /// `arrived`, `discharged`, `declared` or `released`.
    pub kind: EventKind,
    /// Its own time (ms).
    pub time: u64,
    /// Its block's time (ms).
    pub recorded: u64,
    /// Its block's height.
    pub height: u64,
}

/// The late steps of `rows`, in row order and within a row arrival, declaration, release;
/// `recorded` gives an event's block where it is known.
pub fn late_steps(
    rows: &[TrsRow],
    recorded: impl Fn(&EventId) -> Option<crate::bundle::Recorded>,
) -> Vec<LateStep> {
    let mut out = Vec::new();
    for row in rows {
        for step in [&row.arrival, &row.declaration, &row.release] {
            if let Some(r) = recorded(&step.id).filter(|r| r.is_late(step.time)) {
                out.push(LateStep {
                    ucr: row.ucr.clone(),
                    id: step.id,
                    kind: step.kind,
                    time: step.time,
                    recorded: r.time,
                    height: r.height,
                });
            }
        }
    }
    out
}

/// How many of a group's rows have a late step.
pub fn late_rows(group: &TrsGroup, late: &[LateStep]) -> usize {
    group
        .ucrs
        .iter()
        .filter(|u| late.iter().any(|l| &l.ucr == *u))
        .count()
}

/// The ids of the events of `events` that a `retracted` event of `events` retracts (8g): by id,
/// or by the source key the retraction names.
pub fn retracted_ids(events: &[Event]) -> std::collections::HashSet<crate::EventId> {
    let mut out = std::collections::HashSet::new();
    for r in events {
        match &r.body().retracts {
            Some(crate::event::Retracts::Event(id)) => {
                out.insert(*id);
            }
            Some(crate::event::Retracts::Source(_)) => {
                if let Some(key) = crate::retractions::source_key(r.body()) {
                    out.extend(
                        events
                            .iter()
                            .filter(|e| key.matches(e.body()))
                            .map(Event::id),
                    );
                }
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{body, dev_key, sample_ucr};

    const H: u64 = 3_600_000;
    /// 2026-03-01T00:00:00Z.
    const T0: u64 = 1_772_323_200_000;

    /// `(kind, hours after T0, location)` for consignment `n`.
    fn events(n: u32, steps: &[(EventKind, u64, Option<&str>)]) -> Vec<Event> {
        let key = dev_key("trs");
        steps
            .iter()
            .map(|(kind, h, loc)| {
                let mut b = body(*kind, T0 + h * H).unwrap();
                b.ucr = Some(sample_ucr(n));
                b.location = loc.map(|l| l.parse().unwrap());
                if kind.requires_location() && b.location.is_none() {
                    b.location = Some("CNSHA".parse().unwrap());
                }
                b.issuer.key = key.public();
                b.sign(&key).unwrap()
            })
            .collect()
    }

    use EventKind::{Arrived, Declared, Discharged, Released};

    #[test]
    fn measures_or_excludes_with_the_reason() {
        type Case<'a> = (
            &'a str,
            Vec<(EventKind, u64, Option<&'a str>)>,
            Result<(u64, u64, u64), Excluded>,
        );
        let rtm = || "NLRTM".parse::<UnLocode>().unwrap();
        let cases: Vec<Case> = vec![
            (
                "complete: arrival, declaration, release at one port",
                vec![
                    (Arrived, 10, Some("NLRTM")),
                    (Discharged, 12, Some("NLRTM")),
                    (Declared, 13, Some("NLRTM")),
                    (Released, 20, Some("NLRTM")),
                ],
                Ok((3, 7, 10)),
            ),
            (
                "discharge without an arrival event counts as arrival; declaration without place",
                vec![
                    (Discharged, 12, Some("NLRTM")),
                    (Declared, 14, None),
                    (Released, 15, Some("NLRTM")),
                ],
                Ok((2, 1, 3)),
            ),
            (
                "export declaration and release elsewhere before are skipped",
                vec![
                    (Declared, 0, Some("CNSHA")),
                    (Released, 1, None),
                    (Arrived, 10, Some("NLRTM")),
                    (Declared, 11, Some("NLRTM")),
                    (Released, 11, Some("NLRTM")),
                ],
                Ok((1, 0, 1)),
            ),
            (
                "never released",
                vec![(Arrived, 10, Some("NLRTM")), (Declared, 11, None)],
                Err(Excluded::NotReleased),
            ),
            (
                "release without place: the border post of its arrival (DCSA RELS on CUS)",
                vec![
                    (Arrived, 10, Some("NLRTM")),
                    (Declared, 11, None),
                    (Released, 12, None),
                ],
                Ok((1, 1, 2)),
            ),
            (
                "release without place after transshipment: the last arrival's port",
                vec![
                    (Arrived, 2, Some("ESALG")),
                    (Discharged, 3, Some("ESALG")),
                    (Arrived, 10, Some("NLRTM")),
                    (Discharged, 11, Some("NLRTM")),
                    (Declared, 12, None),
                    (Released, 14, None),
                ],
                Ok((2, 2, 4)),
            ),
            (
                "release without place: an arrival after it does not count",
                vec![
                    (Declared, 11, None),
                    (Released, 12, None),
                    (Arrived, 13, Some("NLRTM")),
                ],
                Err(Excluded::ReleaseWithoutLocation),
            ),
            (
                "release without place: a declaration at another place is not this post's",
                vec![
                    (Arrived, 10, Some("NLRTM")),
                    (Declared, 11, Some("DEHAM")),
                    (Released, 12, None),
                ],
                Err(Excluded::NoDeclaration {
                    place: rtm(),
                    before_arrival: false,
                }),
            ),
            (
                "an early release without place and no arrival is skipped for a later one",
                vec![
                    (Released, 1, None),
                    (Arrived, 10, Some("NLRTM")),
                    (Declared, 11, None),
                    (Released, 13, None),
                ],
                Ok((1, 2, 3)),
            ),
            (
                "arrival only at another port",
                vec![
                    (Arrived, 10, Some("DEHAM")),
                    (Declared, 11, None),
                    (Released, 12, Some("NLRTM")),
                ],
                Err(Excluded::NoArrival { place: rtm() }),
            ),
            (
                "arrival after the release",
                vec![
                    (Declared, 11, None),
                    (Released, 12, Some("NLRTM")),
                    (Arrived, 13, Some("NLRTM")),
                ],
                Err(Excluded::NoArrival { place: rtm() }),
            ),
            (
                "pre-arrival declaration only",
                vec![
                    (Declared, 5, Some("NLRTM")),
                    (Arrived, 10, Some("NLRTM")),
                    (Released, 12, Some("NLRTM")),
                ],
                Err(Excluded::NoDeclaration {
                    place: rtm(),
                    before_arrival: true,
                }),
            ),
            (
                "declaration at another place",
                vec![
                    (Arrived, 10, Some("NLRTM")),
                    (Declared, 11, Some("DEHAM")),
                    (Released, 12, Some("NLRTM")),
                ],
                Err(Excluded::NoDeclaration {
                    place: rtm(),
                    before_arrival: false,
                }),
            ),
        ];
        for (name, steps, want) in cases {
            let evs = events(1, &steps);
            let got = measure(&sample_ucr(1), &evs);
            match (got, want) {
                (Ok(row), Ok((ad, dr, ar))) => {
                    assert_eq!(
                        (
                            row.arrival_to_declaration,
                            row.declaration_to_release,
                            row.arrival_to_release
                        ),
                        (ad * H, dr * H, ar * H),
                        "{name}"
                    );
                    assert_eq!(row.border_post, rtm(), "{name}");
                    // Every figure traces to the events behind it.
                    for s in [&row.arrival, &row.declaration, &row.release] {
                        let e = evs.iter().find(|e| e.id() == s.id).unwrap();
                        assert_eq!((e.body().time, e.body().kind), (s.time, s.kind), "{name}");
                    }
                    assert_eq!(row.release.time - row.arrival.time, row.arrival_to_release);
                }
                (got, want) => assert_eq!(got.map(|_| ()), want.map(|_| ()), "{name}"),
            }
        }
    }

    #[test]
    fn other_consignments_events_are_ignored() {
        let mut evs = events(2, &[(Arrived, 1, Some("NLRTM")), (Declared, 2, None)]);
        evs.extend(events(1, &[(Released, 3, Some("NLRTM"))]));
        assert_eq!(
            measure(&sample_ucr(1), &evs),
            Err(Excluded::NoArrival {
                place: "NLRTM".parse().unwrap()
            })
        );
    }

    #[test]
    fn nearest_rank_table() {
        let cases: [(&[u64], u32, Option<u64>); 8] = [
            (&[], 50, None),
            (&[7], 50, Some(7)),
            (&[7], 90, Some(7)),
            (&[1, 2], 50, Some(1)),
            (&[1, 2, 3, 4], 50, Some(2)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, Some(9)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90, Some(10)),
            (&[15, 20, 35, 40, 50], 100, Some(50)),
        ];
        for (v, p, want) in cases {
            assert_eq!(nearest_rank(v, p), want, "{v:?} p{p}");
        }
    }

    #[test]
    fn aggregates_per_border_post_and_utc_month() {
        // Releases: three at NLRTM in March 2026, one at NLRTM in April (00:30 UTC on 1 April),
        // one at DEHAM in March.
        let plan: [(u32, &str, u64, u64); 5] = [
            (1, "NLRTM", 2, 10),
            (2, "NLRTM", 4, 30),
            (3, "NLRTM", 6, 20),
            (4, "NLRTM", 30 * 24 + 24 - 2, 3),
            (5, "DEHAM", 1, 1),
        ];
        let mut rows = Vec::new();
        for (n, port, decl_h, rel_after_h) in plan {
            let evs = events(
                n,
                &[
                    (Arrived, 0, Some(port)),
                    (Declared, decl_h, Some(port)),
                    (Released, decl_h + rel_after_h, Some(port)),
                ],
            );
            rows.push(measure(&sample_ucr(n), &evs).unwrap());
        }
        // Row 4: declared 31 March 22:00 UTC, released 1 April 01:00 UTC.
        assert_eq!(month_utc(rows[3].release.time), "2026-04");
        let groups = aggregate(&rows);
        let keys: Vec<(&str, &str, usize)> = groups
            .iter()
            .map(|g| {
                (
                    g.border_post.as_str(),
                    g.period.as_str(),
                    g.arrival_to_release.count,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("DEHAM", "2026-03", 1),
                ("NLRTM", "2026-03", 3),
                ("NLRTM", "2026-04", 1)
            ]
        );
        let march = &groups[1];
        // arrival→release: 12, 34, 26 h → sorted 12, 26, 34: median (rank 2) 26, p90 (rank 3) 34.
        assert_eq!(
            march.arrival_to_release,
            Stats {
                count: 3,
                median: 26 * H,
                p90: 34 * H
            }
        );
        assert_eq!(
            march.arrival_to_declaration,
            Stats {
                count: 3,
                median: 4 * H,
                p90: 6 * H
            }
        );
        assert_eq!(march.ucrs, [sample_ucr(1), sample_ucr(2), sample_ucr(3)]);
    }

    #[test]
    fn month_boundaries() {
        for (ms, want) in [
            (0, "1970-01"),
            (T0 - 1, "2026-02"),
            (T0, "2026-03"),
            (951_782_400_000, "2000-02"),
            (951_868_800_000, "2000-03"),
        ] {
            assert_eq!(month_utc(ms), want, "{ms}");
        }
    }
}
