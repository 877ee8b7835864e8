//! Time-release measurement over the node's committed log (the WCO Time Release Study): keeps,
//! per consignment, the events that matter to it (`arrived`, `discharged`, `declared`,
//! `released`), catching up incrementally from the store as blocks are committed, and reports
//! per-consignment rows (with the event ids behind every figure), exclusions with their reasons,
//! and aggregates per border post and UTC month (`tradelog_protocol::trs`), every figure split by
//! the declarant's AEO status at the time; and advance data → risk outcome per assessing
//! administration and month, with do-not-load counts. AEO and arrangement records are kept
//! as they are scanned (they are few: one per authorisation change).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tradelog_protocol::bundle::Recorded;
use tradelog_protocol::recognition::Register;
use tradelog_protocol::trs::{
    aggregate, aggregate_advance, classify, classify_advance, late_rows, late_steps, measure,
    measure_advance, AdvanceGroup, AdvanceRow, Excluded, LateStep, TrsGroup, TrsRow,
};
use tradelog_protocol::{Event, EventKind, Ucr, UnLocode};

use crate::store::{Store, StoreError};

/// Does the measurement look at this event? The four steps of a row, the advance data and
/// its outcomes, and retractions (a retracted step is left out of the figures, 8g).
fn relevant(e: &Event) -> bool {
    e.body().ucr.is_some()
        && (matches!(
            e.body().kind,
            EventKind::Arrived
                | EventKind::Discharged
                | EventKind::Declared
                | EventKind::Released
                | EventKind::AdvanceData
                | EventKind::Retracted
        ) || e.body().kind.is_risk_outcome())
}

/// A consignment without a row, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ExcludedRow {
    /// The consignment.
    pub ucr: Ucr,
    /// Why it has no row.
    #[serde(flatten)]
    pub why: Excluded,
}

/// What `GET /v1/reports/time-release` answers.
#[derive(Debug, Clone, Serialize)]
pub struct TrsReport {
    /// Log size the report covers (every event below it was considered).
    pub log_size: u64,
    /// Aggregates per border post and month, each listing its consignments.
    pub groups: Vec<Group>,
    /// Per-consignment rows with the arrival, declaration and release event ids.
    pub rows: Vec<TrsRow>,
    /// Consignments with a release-relevant event but no row, with the reason.
    pub excluded: Vec<ExcludedRow>,
    /// How the figures treat late entries (see [`LATE_POLICY`]).
    pub recorded_policy: &'static str,
    /// The measured steps (of the rows above) recorded more than 24 hours after their own time.
    pub late_recorded: Vec<LateStep>,
    /// How rows are split by AEO status (see [`AEO_POLICY`]).
    pub aeo_policy: &'static str,
    /// Advance data → risk outcome per assessing administration and month (PROTOCOL.md 8i),
    /// with the do-not-load counts.
    pub advance_groups: Vec<AdvanceGroup>,
    /// Each risk outcome with the advance data it assesses.
    pub advance_rows: Vec<AdvanceRow>,
}

/// How the report splits by AEO status.
pub const AEO_POLICY: &str = "A row is 'recognised' when the declaration's issuer held an AEO status recognised by the releasing administration at the declaration's time: an authorisation of that administration, or of another under a mutual recognition arrangement in force then covering its type (PROTOCOL.md 8h, as recorded up to log_size). An advance row is 'recognised' when the filer held such a status, recognised by the assessing administration, when it filed.";

/// How the report treats events recorded long after their time.
pub const LATE_POLICY: &str = "Durations use each event's own time (body.time: when the step \
happened, as the WCO Time Release Study measures), not when the ledger recorded it. A measured \
step recorded more than 24 hours after its own time (its block's time minus body.time) is a late \
entry: it stays in the figures and is listed in late_recorded, and each group counts its rows \
with a late step in late_rows, so an administration can see which figures rest on late entries.";

/// A group of the report: the aggregate and how many of its rows have a late step.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The aggregate per border post and month.
    #[serde(flatten)]
    pub figures: TrsGroup,
    /// Rows of this group with a step recorded more than 24 hours after its time.
    pub late_rows: usize,
}

/// The incremental index of release-relevant events.
#[derive(Debug, Default)]
pub struct TimeRelease {
    scanned: u64,
    by_ucr: BTreeMap<Ucr, Vec<Event>>,
    /// (height, time) of the block that recorded each kept event.
    recorded: HashMap<tradelog_protocol::EventId, (u64, u64)>,
    /// The block holding position `scanned`: (height, its end log size, time).
    block: (u64, u64, u64),
    /// Every AEO and arrangement record scanned.
    register: Register,
}

impl TimeRelease {
    /// An empty index (nothing scanned).
    pub fn new() -> TimeRelease {
        TimeRelease::default()
    }

    /// Log positions already scanned.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// Scans the store's events from where it stopped up to log size `upto`.
    pub fn refresh(&mut self, store: &impl Store, upto: u64) -> Result<(), StoreError> {
        while self.scanned < upto {
            // The block of this position (blocks may be empty).
            while self.scanned >= self.block.1 {
                let height = self.block.0 + 1;
                match store.header(height)? {
                    Some((head, _)) => self.block = (height, head.log_size, head.time),
                    None => break,
                }
            }
            if let Some(e) = store.event_at(self.scanned)? {
                if e.body().kind.is_organisation_record() {
                    self.register.add(self.scanned, &e);
                }
                if relevant(&e) {
                    if let Some(u) = e.body().ucr.clone() {
                        if self.scanned < self.block.1 {
                            self.recorded.insert(e.id(), (self.block.0, self.block.2));
                        }
                        self.by_ucr.entry(u).or_default().push(e);
                    }
                }
            }
            self.scanned += 1;
        }
        Ok(())
    }

    /// The report, optionally only for one border post and/or one month (`YYYY-MM`).
    pub fn report(&self, border_post: Option<&UnLocode>, period: Option<&str>) -> TrsReport {
        let mut rows = Vec::new();
        let mut excluded = Vec::new();
        let mut advance_rows = Vec::new();
        for (ucr, events) in &self.by_ucr {
            advance_rows.extend(measure_advance(ucr, events).into_iter().filter(|r| {
                period.is_none_or(|m| tradelog_protocol::trs::month_utc(r.outcome.time) == m)
            }));
            match measure(ucr, events) {
                Ok(row) => {
                    let post_ok = border_post.is_none_or(|p| *p == row.border_post);
                    let period_ok = period
                        .is_none_or(|m| tradelog_protocol::trs::month_utc(row.release.time) == m);
                    if post_ok && period_ok {
                        rows.push(row);
                    }
                }
                Err(why) => {
                    if border_post.is_none() && period.is_none() {
                        excluded.push(ExcludedRow {
                            ucr: ucr.clone(),
                            why,
                        });
                    }
                }
            }
        }
        classify(&mut rows, &self.register);
        classify_advance(&mut advance_rows, &self.register);
        let late_recorded = late_steps(&rows, |id| {
            self.recorded
                .get(id)
                .map(|&(height, time)| Recorded { height, time })
        });
        let groups = aggregate(&rows)
            .into_iter()
            .map(|figures| Group {
                late_rows: late_rows(&figures, &late_recorded),
                figures,
            })
            .collect();
        TrsReport {
            log_size: self.scanned,
            groups,
            rows,
            excluded,
            recorded_policy: LATE_POLICY,
            late_recorded,
            aeo_policy: AEO_POLICY,
            advance_groups: aggregate_advance(&advance_rows),
            advance_rows,
        }
    }
}
