//! Human-readable rendering of verified answers: provenance, routes, membership. Every string
//! that came from the ledger is printed through [`crate::terminal::show`] (control characters and
//! bidirectional overrides escaped).

use std::fmt::Write as _;

use tradelog_protocol::bundle::Recorded;
use tradelog_protocol::route::Source;
use tradelog_protocol::{Event, Provenance, Route, ValidatorSet};

use crate::light::VerifiedMembership;
use crate::terminal::show;
use crate::time::format_time;

/// One line per event: time, place, issuer, kind, container and transport, log position.
pub fn render(p: &Provenance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} events, complete and verified against head #{} (log size {}, chain {})",
        show(&p.subject),
        p.events.len(),
        p.head.height,
        p.head.log_size,
        show(&p.head.chain)
    );
    for (index, e) in &p.events {
        let note = retracted_note(p.retracted_by(*index));
        line(&mut out, *index, e, p.recorded_at(*index), &note);
    }
    out
}

/// The mark of a retracted event (8g): shown, verified, never deleted.
fn retracted_note(by: Option<u64>) -> String {
    by.map_or_else(String::new, |by| format!("  RETRACTED by log #{by}"))
}

/// When an event was recorded, as a timeline column: the block time and height, marked late
/// when more than 24 hours after the event's own time; `unproven` for a version-2 bundle.
fn recorded_column(event_time: u64, recorded: Option<Recorded>) -> String {
    match recorded {
        None => "recorded (unproven)".to_owned(),
        Some(r) if r.is_late(event_time) => format!(
            "recorded {} #{} LATE (+{} h)",
            format_time(r.time),
            r.height,
            (r.time - event_time) / 3_600_000
        ),
        Some(r) => format!("recorded {} #{}", format_time(r.time), r.height),
    }
}

/// One timeline line.
fn line(out: &mut String, index: u64, e: &Event, recorded: Option<Recorded>, note: &str) {
    let b = e.body();
    let place = b.location.as_ref().map_or("-", |l| l.as_str());
    let mut what = b.kind.as_str().to_owned();
    if let Some(c) = &b.container {
        let _ = write!(what, " container {c}");
    }
    if let Some(t) = &b.transport {
        let _ = write!(what, " via {}", t.means);
        if let Some(v) = &t.voyage {
            let _ = write!(what, " voyage {v}");
        }
    }
    for d in &b.documents {
        let _ = write!(what, " doc {}", d.kind);
    }
    if let Some(r) = &b.reason {
        let _ = write!(what, " reason {r}");
    }
    if b.kind == tradelog_protocol::EventKind::AdvanceData {
        // The values are not on the ledger: the committed field names.
        let names: Vec<&str> = b.details.keys().map(String::as_str).collect();
        let _ = write!(what, " (committed: {})", names.join(", "));
    }
    let _ = writeln!(
        out,
        "  ✓ {}  {:<5}  {:<20} {}{}  [log #{index}, {}]",
        format_time(b.time),
        show(place),
        show(b.issuer.org.as_str()),
        show(&what),
        show(note),
        recorded_column(b.time, recorded)
    );
}

/// A consignment's route: its own events and its containers' movements, in log order.
pub fn render_route(r: &Route) -> String {
    let p = &r.consignment;
    let mut out = String::new();
    let containers: Vec<String> = r.containers.iter().map(|c| show(&c.subject)).collect();
    let _ = writeln!(
        out,
        "{} — {} events ({} of its own, complete), {} containers{}; verified against head #{} (log size {}, chain {})",
        show(&p.subject),
        r.timeline.len(),
        p.events.len(),
        r.containers.len(),
        if containers.is_empty() { String::new() } else { format!(" ({})", containers.join(", ")) },
        p.head.height,
        p.head.log_size,
        show(&p.head.chain)
    );
    for (index, e, source) in &r.timeline {
        let mut note = match source {
            Source::Consignment => String::new(),
            Source::Container(c) => format!("  (movement of {c})"),
        };
        note.push_str(&retracted_note(r.retracted_by(*index)));
        line(&mut out, *index, e, r.recorded_at(*index), &note);
    }
    out
}

/// The organisations, their keys and the validators at a verified head (`membership show`).
pub fn render_membership(v: &VerifiedMembership) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "membership at head #{} {} — {} changes recorded, next seq {} ✓",
        v.head.head.height,
        v.head.head.hash(),
        v.changes,
        v.changes + 1
    );
    for o in v.membership.orgs() {
        let _ = writeln!(
            out,
            "  {} ({}, {})",
            show(&o.id),
            show(&o.name),
            o.role.as_str()
        );
        for k in &o.keys {
            let _ = writeln!(out, "    key {k}");
        }
    }
    let _ = writeln!(
        out,
        "validators that certified head #{} (total power {}):",
        v.head.head.height,
        v.validators.total_power()
    );
    let list = |out: &mut String, set: &ValidatorSet| {
        for val in set.validators() {
            let _ = writeln!(
                out,
                "  {} of {} power {}",
                val.key,
                show(&val.org),
                val.power
            );
        }
    };
    list(&mut out, &v.validators);
    if let Some(next) = &v.next_validators {
        let _ = writeln!(
            out,
            "next validators, recorded in block #{} and certifying from height {} (total power {}):",
            v.head.head.height,
            v.head.head.height + 1,
            next.total_power()
        );
        list(&mut out, next);
    }
    out
}

/// `{"height", "time", "late"}` of a recorded event, `null` if its bundle did not prove it.
fn recorded_json(e: &Event, recorded: Option<Recorded>) -> serde_json::Value {
    match recorded {
        None => serde_json::Value::Null,
        Some(r) => serde_json::json!({
            "height": r.height,
            "time": r.time,
            "late": r.is_late(e.body().time),
        }),
    }
}

/// The machine-readable form of a verified provenance.
pub fn provenance_json(p: &Provenance) -> serde_json::Value {
    let events: Vec<_> = p
        .events
        .iter()
        .map(|(i, e)| {
            serde_json::json!({"index": i, "id": e.id(), "recorded": recorded_json(e, p.recorded_at(*i)), "retracted_by": p.retracted_by(*i), "event": e})
        })
        .collect();
    serde_json::json!({"verified": true, "subject": p.subject, "head": p.head, "head_hash": p.head.hash(), "events": events})
}

/// The machine-readable form of a verified route.
pub fn route_json(r: &Route) -> serde_json::Value {
    let events: Vec<_> = r
        .timeline
        .iter()
        .map(|(i, e, s)| {
            serde_json::json!({"index": i, "id": e.id(), "source": s, "recorded": recorded_json(e, r.recorded_at(*i)), "retracted_by": r.retracted_by(*i), "event": e})
        })
        .collect();
    let containers: Vec<_> = r.containers.iter().map(|c| &c.subject).collect();
    serde_json::json!({
        "verified": true,
        "subject": r.consignment.subject,
        "head": r.consignment.head,
        "head_hash": r.consignment.head.hash(),
        "own_events": r.consignment.events.len(),
        "containers": containers,
        "events": events,
    })
}

/// The AEO authorisations an organisation held at a time (PROTOCOL.md 8h), verified, as text.
pub fn render_held(r: &tradelog_protocol::recognition::Recognition, height: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} held {} AEO authorisation{} at {}",
        show(&r.holder),
        r.held.len(),
        if r.held.len() == 1 { "" } else { "s" },
        format_time(r.at)
    );
    for a in &r.held {
        let types: Vec<&str> = a.types.iter().map(|t| t.as_str()).collect();
        let _ = writeln!(
            out,
            "  {} ({}) by {}: {} (event {})",
            show(&a.authorisation),
            show(&a.programme),
            show(&a.issuer),
            types.join(", "),
            a.event
        );
    }
    let _ = writeln!(out, "verified from the genesis at head #{height}");
    out
}

/// A verified AEO recognition (PROTOCOL.md 8h) as text: the answer, its basis and every
/// authorisation held then, with the head it was verified at.
pub fn render_recognition(r: &tradelog_protocol::recognition::Recognition, height: u64) -> String {
    let mut out = String::new();
    let types = |t: &[tradelog_protocol::aeo::AeoType]| {
        t.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(
        out,
        "{} {} an AEO status recognised by {} at {}",
        show(&r.holder),
        if r.recognised { "held" } else { "did not hold" },
        show(&r.recognised_by),
        format_time(r.at)
    );
    if let Some(a) = &r.authorisation {
        let _ = writeln!(
            out,
            "  basis: authorisation {} ({}) issued by {}, recognised for {} (event {})",
            show(&a.authorisation),
            show(&a.programme),
            show(&a.issuer),
            types(&r.types),
            a.event
        );
    }
    if let Some(m) = &r.arrangement {
        let _ = writeln!(
            out,
            "  through the mutual recognition arrangement recorded in event {m}"
        );
    }
    if r.held.is_empty() {
        let _ = writeln!(out, "  authorisations held then: none");
    }
    for a in &r.held {
        let _ = writeln!(
            out,
            "  held: {} ({}) by {}: {}",
            show(&a.authorisation),
            show(&a.programme),
            show(&a.issuer),
            types(&a.types)
        );
    }
    let _ = writeln!(out, "verified from the genesis at head #{height}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::light::CertifiedHead;
    use tradelog_protocol::sample::SampleNetwork;
    use tradelog_protocol::{Certificate, Hash, Head};

    /// Issue 13 W2: an approved organisation name holding terminal escape sequences (erase the
    /// line, return, a fake entry) is printed escaped by `membership show`, on its own line.
    #[test]
    fn an_organisation_name_with_escape_sequences_is_printed_escaped() {
        let mut genesis = SampleNetwork::new(1).unwrap().genesis;
        let evil = "Evil\u{1b}[2K\r  blue-anchor-lines (Blue Anchor Lines, carrier)\u{202e}";
        genesis.organisations[0].name = evil.into();
        let head = Head {
            chain: genesis.chain.clone(),
            height: 7,
            time: genesis.time,
            prev: Hash([1; 32]),
            log_size: 0,
            log_root: Hash([2; 32]),
            index_root: Hash([3; 32]),
            validators: genesis.validator_set().hash(),
        };
        let certificate = Certificate {
            height: 7,
            round: 0,
            head: head.hash(),
            signatures: Vec::new(),
        };
        let v = VerifiedMembership {
            head: CertifiedHead { head, certificate },
            membership: genesis.membership(),
            validators: genesis.validator_set().clone(),
            changes: 0,
            next_validators: None,
        };
        let shown = render_membership(&v);
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() && c != '\n' || ('\u{202a}'..='\u{202e}').contains(&c)),
            "raw control characters printed: {shown:?}"
        );
        let org = &genesis.organisations[0];
        assert!(
            shown.contains(&format!(
                "  {} (Evil\\u{{1b}}[2K\\u{{d}}  blue-anchor-lines (Blue Anchor Lines, carrier)\\u{{202e}}, {})\n",
                org.id,
                org.role.as_str()
            )),
            "{shown}"
        );
    }

    /// Issue 17: a validator set recorded in the head's own block is shown as the next set,
    /// with the height it certifies from, not hidden behind the old one.
    #[test]
    fn a_set_recorded_in_the_heads_block_is_shown_as_the_next_one() {
        let genesis = SampleNetwork::new(1).unwrap().genesis;
        let old = genesis.validator_set().clone();
        let next = ValidatorSet::try_from(old.validators()[..1].to_vec()).unwrap();
        let head = Head {
            chain: genesis.chain.clone(),
            height: 9,
            time: genesis.time,
            prev: Hash([1; 32]),
            log_size: 0,
            log_root: Hash([2; 32]),
            index_root: Hash([3; 32]),
            validators: old.hash(),
        };
        let certificate = Certificate {
            height: 9,
            round: 0,
            head: head.hash(),
            signatures: Vec::new(),
        };
        let mut v = VerifiedMembership {
            head: CertifiedHead { head, certificate },
            membership: genesis.membership(),
            validators: old.clone(),
            changes: 1,
            next_validators: Some(next.clone()),
        };
        let shown = render_membership(&v);
        assert!(
            shown.contains("validators that certified head #9"),
            "{shown}"
        );
        assert!(
            shown.contains(&format!(
                "next validators, recorded in block #9 and certifying from height 10 (total power {})",
                next.total_power()
            )),
            "{shown}"
        );
        v.next_validators = None;
        assert!(!render_membership(&v).contains("next validators"));
    }
}
