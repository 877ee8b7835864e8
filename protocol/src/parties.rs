//! Consignment parties (PROTOCOL.md section 8c, rules 2): who may extend a consignment's
//! history. Pure: the caller says what it knows of each consignment's parties so far
//! ([`Consignments`]); this module says whether an event may join and what the parties are
//! after it.
//!
//! The rule, over a consignment's events in log order: the parties start empty. An event by a
//! customs administration is always admitted (customs acts on any consignment). An event by
//! any other member is admitted if the parties are empty (it opens the consignment) or it is
//! one of them. An admitted non-customs issuer becomes a party, and every organisation the
//! event names in `parties` does too. Roles never change and organisations are never removed
//! (section 8a), so an issuer's role at its event's position is its role in any later
//! membership: the same fold runs at admission and over a verified bundle.

use std::collections::{BTreeSet, HashMap};

use crate::event::{EventBody, EventId};
use crate::ids::{OrgId, Ucr};
use crate::retractions::Target;
use crate::roles::{AuthError, Membership, Role};
use crate::sources::SourceKey;

/// The parties of one consignment.
pub type Parties = BTreeSet<OrgId>;

/// What an implementation knows of the committed consignments after its last committed
/// block: each consignment's parties (8c) and which event holds each source key (8e). The node
/// reads them from its store, the reference [`crate::ledger::LedgerState`] keeps them in memory
/// ([`Committed`]). A consignment with no event yet has no parties (an empty set).
pub trait Consignments {
    /// The parties of `ucr` so far, or why they could not be read (storage).
    fn parties(&self, ucr: &Ucr) -> Result<Parties, String>;
    /// The committed event with this source key, if any (storage errors as for `parties`).
    fn sourced(&self, key: &SourceKey) -> Result<Option<EventId>, String>;
    /// What 8g needs of the committed event `id`, if it is in the log.
    fn target(&self, id: &EventId) -> Result<Option<Target>, String>;
    /// The committed `retracted` event that retracts `id`, if any.
    fn retracted_by(&self, id: &EventId) -> Result<Option<EventId>, String>;
}

/// The committed consignments, kept in memory (the reference ledger state).
#[derive(Debug, Clone, Default)]
pub struct Committed {
    /// Every consignment's parties (empty under rules 1).
    pub parties: HashMap<Ucr, Parties>,
    /// The event holding each source key.
    pub sources: HashMap<SourceKey, EventId>,
    /// What 8g needs of every committed event that could be retracted.
    pub targets: HashMap<EventId, Target>,
    /// Each retracted event's retraction.
    pub retractions: HashMap<EventId, EventId>,
}

impl Consignments for Committed {
    fn parties(&self, ucr: &Ucr) -> Result<Parties, String> {
        Ok(self.parties.get(ucr).cloned().unwrap_or_default())
    }
    fn sourced(&self, key: &SourceKey) -> Result<Option<EventId>, String> {
        Ok(self.sources.get(key).copied())
    }
    fn target(&self, id: &EventId) -> Result<Option<Target>, String> {
        Ok(self.targets.get(id).cloned())
    }
    fn retracted_by(&self, id: &EventId) -> Result<Option<EventId>, String> {
        Ok(self.retractions.get(id).copied())
    }
}

/// True if this membership's rules have consignment parties (rules 2 and later).
pub fn applies(membership: &Membership) -> bool {
    membership.rules() >= 2
}

/// Admits the event `body` (already authorized: its issuer is a member) into its consignment,
/// whose parties so far are `before`. Returns the parties after it if they change, `None` if
/// they stay as they are (or the event names no consignment, or the rules have no parties).
pub fn admit(
    membership: &Membership,
    before: &Parties,
    body: &EventBody,
) -> Result<Option<Parties>, AuthError> {
    let Some(ucr) = body.ucr.as_ref().filter(|_| applies(membership)) else {
        return Ok(None);
    };
    let org = &body.issuer.org;
    let customs = membership.org(org).is_some_and(|o| o.role == Role::Customs);
    if !customs && !before.is_empty() && !before.contains(org) {
        return Err(AuthError::NotAParty {
            org: org.clone(),
            ucr: ucr.to_string(),
            parties: before
                .iter()
                .map(OrgId::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let joining = (!customs)
        .then_some(org)
        .into_iter()
        .chain(body.parties.iter().flatten())
        .filter(|o| !before.contains(*o));
    let mut after: Option<Parties> = None;
    for o in joining {
        after
            .get_or_insert_with(|| before.clone())
            .insert(o.clone());
    }
    Ok(after)
}

/// The parties of a consignment after `events` (its complete history, in log order), checking
/// each against the rule; `Err((position in events, why))` at the first event that breaks it.
pub fn fold<'a>(
    membership: &Membership,
    events: impl IntoIterator<Item = &'a EventBody>,
) -> Result<Parties, (usize, AuthError)> {
    let mut parties = Parties::new();
    for (pos, body) in events.into_iter().enumerate() {
        if let Some(next) = admit(membership, &parties, body).map_err(|e| (pos, e))? {
            parties = next;
        }
    }
    Ok(parties)
}
