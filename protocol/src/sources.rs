//! Source uniqueness (PROTOCOL.md section 8e): an organisation records one event of a standard's
//! feed once per consignment and container, so a feed delivered twice (or re-imported) does
//! not write its history twice. Pure: the caller says which committed event holds a key
//! ([`crate::parties::Consignments::sourced`]); this module says what the key of an event is
//! and finds a repeated key among the complete history of a subject (bundle verification).
//!
//! The key is the issuing organisation, the `source` (standard and id), the `ucr`, the
//! `container` and the trade identifiers (`ids`). Two events that differ in any of them do not collide: an EPCIS event naming
//! two containers becomes two ledger events with the same source, one per container.

use std::collections::HashMap;

use crate::event::{EventBody, Source};
use crate::ids::{ContainerId, OrgId, TradeId, Ucr};

/// What must be unique among a ledger's events that carry a `source` (8e).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey {
    /// The issuing organisation.
    pub org: OrgId,
    /// The standard and the source's event id.
    pub source: Source,
    /// The consignment, if the event names one.
    pub ucr: Option<Ucr>,
    /// The container, if the event names one.
    pub container: Option<ContainerId>,
    /// The trade identifiers, if the event names any (8f).
    pub ids: Option<Vec<TradeId>>,
}

impl SourceKey {
    /// The key of an event body; `None` if it carries no `source`.
    pub fn of(body: &EventBody) -> Option<SourceKey> {
        Some(SourceKey {
            org: body.issuer.org.clone(),
            source: body.source.clone()?,
            ucr: body.ucr.clone(),
            container: body.container.clone(),
            ids: body.ids.clone(),
        })
    }

    /// True if `body` has this key.
    pub fn matches(&self, body: &EventBody) -> bool {
        body.source.as_ref() == Some(&self.source)
            && body.issuer.org == self.org
            && body.ucr == self.ucr
            && body.container == self.container
            && body.ids == self.ids
    }
}

/// The first pair of events with the same key among `events` (a subject's complete history, in
/// log order): `(earlier, later)` positions in `events`.
pub fn first_repeat<'a>(events: impl IntoIterator<Item = &'a EventBody>) -> Option<(usize, usize)> {
    let mut seen: HashMap<SourceKey, usize> = HashMap::new();
    for (pos, body) in events.into_iter().enumerate() {
        if let Some(key) = SourceKey::of(body) {
            if let Some(&first) = seen.get(&key) {
                return Some((first, pos));
            }
            seen.insert(key, pos);
        }
    }
    None
}
