//! Advance electronic data and pre-arrival risk outcomes (PROTOCOL.md 8i): an `advance_data`
//! event commits to the fields a destination administration assesses before loading or
//! arrival, each a salted commitment disclosed on its own ([`crate::disclosure`]); a customs
//! administration records its assessment as one of four outcome kinds, with a reason code,
//! referring to the advance data it assessed. Pure: the caller says what it knows of committed
//! events.

use std::collections::HashMap;

use crate::event::{EventBody, EventId, EventKind};
use crate::ids::Ucr;

pub use crate::event::ADVANCE_FIELDS;

/// Why an outcome's reference to its advance data is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    /// No ref names a committed `advance_data` event.
    #[error("body.refs: a risk outcome refers to the advance_data event it assesses; none of its refs is an advance_data event of consignment {0} in the log")]
    NoAdvanceData(Ucr),
}

/// What the rule needs of a referenced event: its kind and consignment.
pub type Referenced = (EventKind, Option<Ucr>);

/// Checks that an outcome refers to an `advance_data` event of its own consignment, `lookup`
/// answering for each ref (committed or earlier in the same block). Other kinds pass.
pub fn check_outcome(
    body: &EventBody,
    mut lookup: impl FnMut(&EventId) -> Result<Option<Referenced>, String>,
) -> Result<Result<(), OutcomeError>, String> {
    if !body.kind.is_risk_outcome() {
        return Ok(Ok(()));
    }
    let Some(ucr) = &body.ucr else {
        return Ok(Ok(()));
    };
    for r in &body.refs {
        if let Some((EventKind::AdvanceData, Some(u))) = lookup(r)? {
            if &u == ucr {
                return Ok(Ok(()));
            }
        }
    }
    Ok(Err(OutcomeError::NoAdvanceData(ucr.clone())))
}

/// Over one consignment's complete history in log order: every outcome refers to an earlier
/// `advance_data` event of the history. The position of the first that does not, if any.
pub fn verify_history<'a>(
    events: impl IntoIterator<Item = (EventId, &'a EventBody)>,
) -> Option<usize> {
    let mut advance: HashMap<EventId, Option<Ucr>> = HashMap::new();
    for (pos, (id, b)) in events.into_iter().enumerate() {
        let found = check_outcome(b, |r| {
            Ok(advance.get(r).map(|u| (EventKind::AdvanceData, u.clone())))
        });
        if !matches!(found, Ok(Ok(()))) {
            return Some(pos);
        }
        if b.kind == EventKind::AdvanceData {
            advance.insert(id, b.ucr.clone());
        }
    }
    None
}
