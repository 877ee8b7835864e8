//! Human-readable rendering of a verified provenance.

use std::fmt::Write as _;

use tradelog_protocol::Provenance;

use crate::time::format_time;

/// One line per event: time, place, issuer, kind, container and transport, log position.
pub fn render(p: &Provenance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} events, complete and verified against head #{} (log size {}, chain {})",
        p.subject,
        p.events.len(),
        p.head.height,
        p.head.log_size,
        p.head.chain
    );
    for (index, e) in &p.events {
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
        let _ = writeln!(
            out,
            "  ✓ {}  {:<5}  {:<20} {}  [log #{index}]",
            format_time(b.time),
            place,
            b.issuer.org.as_str(),
            what
        );
    }
    out
}
