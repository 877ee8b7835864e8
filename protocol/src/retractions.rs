//! Corrections (PROTOCOL.md section 8g): a `retracted` event names an earlier event of the same
//! issuer and the same subjects that did not happen as recorded. Pure: the caller says what it
//! knows of committed events ([`crate::parties::Consignments::target`] and
//! [`crate::parties::Consignments::retracted_by`]); this module resolves a retraction's target
//! and checks the rule, at admission and over a subject's complete history (bundle
//! verification), where both the target and its retraction are found (they name the same
//! subjects).

use std::collections::{BTreeMap, HashMap};

use crate::event::{EventBody, EventId, EventKind, Retracts};
use crate::ids::{ContainerId, OrgId, TradeId, Ucr};
use crate::sources::SourceKey;

/// What the rule needs of a possible target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its id.
    pub id: EventId,
    /// Its issuer.
    pub org: OrgId,
    /// Its subjects.
    pub ucr: Option<Ucr>,
    /// Its container.
    pub container: Option<ContainerId>,
    /// Its trade identifiers.
    pub ids: Option<Vec<TradeId>>,
    /// Its kind.
    pub kind: EventKind,
}

impl Target {
    /// The facts of an event body with id `id`.
    pub fn of(id: EventId, body: &EventBody) -> Target {
        Target {
            id,
            org: body.issuer.org.clone(),
            ucr: body.ucr.clone(),
            container: body.container.clone(),
            ids: body.ids.clone(),
            kind: body.kind,
        }
    }
}

/// The source key a `{"source": ...}` retraction names: the retraction's own issuer and
/// subjects with the retracted source.
pub fn source_key(retraction: &EventBody) -> Option<SourceKey> {
    let Some(Retracts::Source(s)) = &retraction.retracts else {
        return None;
    };
    Some(SourceKey {
        org: retraction.issuer.org.clone(),
        source: s.clone(),
        ucr: retraction.ucr.clone(),
        container: retraction.container.clone(),
        ids: retraction.ids.clone(),
    })
}

/// Checks a resolved `target` (`None`: not found earlier) against the retraction; `already`
/// is the retraction that retracted it before, if any. The reason is the text after
/// `body.retracts: `.
pub fn check(
    retraction: &EventBody,
    target: Option<&Target>,
    already: Option<String>,
) -> Result<(), String> {
    let Some(retracts) = &retraction.retracts else {
        return Ok(());
    };
    let org = &retraction.issuer.org;
    let Some(t) = target else {
        return Err(format!(
            "no earlier event {retracts} of {org} for this consignment and container"
        ));
    };
    if &t.org != org {
        return Err(format!(
            "{} was issued by {}: an organisation retracts only its own events",
            t.id, t.org
        ));
    }
    if t.ucr != retraction.ucr || t.container != retraction.container || t.ids != retraction.ids {
        return Err(format!(
            "{} names other subjects (ucr, container, ids must be equal)",
            t.id
        ));
    }
    if matches!(t.kind, EventKind::Retracted | EventKind::Membership) {
        return Err(format!(
            "{} is a {} event, which is not retracted",
            t.id,
            t.kind.as_str()
        ));
    }
    if let Some(by) = already {
        return Err(format!("{} is already retracted by {by}", t.id));
    }
    Ok(())
}

/// Over a subject's complete history in log order (`(id, body)`): the first retraction that
/// breaks 8g, as `(position, reason)`, and otherwise which positions are retracted and by
/// which position.
pub fn verify_history<'a>(
    events: impl IntoIterator<Item = (EventId, &'a EventBody)>,
) -> Result<BTreeMap<usize, usize>, (usize, String)> {
    let mut by_id: HashMap<EventId, (usize, Target)> = HashMap::new();
    let mut by_source: HashMap<SourceKey, EventId> = HashMap::new();
    let mut retracted: BTreeMap<usize, usize> = BTreeMap::new();
    for (pos, (id, body)) in events.into_iter().enumerate() {
        if body.kind == EventKind::Retracted {
            let target_id = match &body.retracts {
                Some(Retracts::Event(t)) => Some(*t),
                Some(Retracts::Source(_)) => {
                    source_key(body).and_then(|k| by_source.get(&k).copied())
                }
                None => None,
            };
            let target = target_id.and_then(|t| by_id.get(&t));
            let already = target
                .and_then(|(tpos, _)| retracted.get(tpos))
                .map(|by| format!("events[{by}]"));
            check(body, target.map(|(_, t)| t), already).map_err(|r| (pos, r))?;
            if let Some((tpos, _)) = target {
                retracted.insert(*tpos, pos);
            }
        }
        if let Some(key) = SourceKey::of(body) {
            by_source.entry(key).or_insert(id);
        }
        by_id.insert(id, (pos, Target::of(id, body)));
    }
    Ok(retracted)
}
