//! "Did organisation X hold an AEO status recognised by administration Y at time T"
//! (PROTOCOL.md 8h, 9e): the [`Register`] of AEO and arrangement records, and the check of an
//! organisation answer (`GET /v1/organisations/{id}`) from the genesis alone. Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aeo::{AeoRecord, AeoStatus, AeoType, MraRecord, MraStatus};
use crate::bundle::{BundleError, ProofBundle};
use crate::event::{Event, EventId, EventKind};
use crate::ids::OrgId;
use crate::index::Subject;
use crate::roles::Genesis;

/// One recorded authorisation state, with the event that recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorisation {
    /// The administration that issued it.
    pub issuer: OrgId,
    /// Its programme.
    pub programme: String,
    /// Its number.
    pub authorisation: String,
    /// The types it is valid for at the time asked.
    pub types: Vec<AeoType>,
    /// The `aeo_status` event in force.
    pub event: EventId,
}

/// The answer to "did `holder` hold an AEO status recognised by `by` at `at`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recognition {
    /// The organisation asked about.
    pub holder: OrgId,
    /// The administration asked about.
    pub recognised_by: OrgId,
    /// The time asked about, ms since 1970.
    pub at: u64,
    /// True if an authorisation below is recognised.
    pub recognised: bool,
    /// The authorisation the answer rests on: `by`'s own, or one whose issuer has an
    /// arrangement with `by` in force covering its types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorisation: Option<Authorisation>,
    /// The types recognised (the authorisation's, narrowed to the arrangement's).
    pub types: Vec<AeoType>,
    /// The `mra` event in force, when recognition is through an arrangement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrangement: Option<EventId>,
    /// Every authorisation `holder` held at `at`, recognised by `by` or not.
    pub held: Vec<Authorisation>,
}

/// A record with its log position and event id.
type Logged<R> = (u64, R, EventId);

/// One holder's authorisations: `(issuer, number)` → records in log order.
type Authorisations = BTreeMap<(OrgId, String), Vec<Logged<AeoRecord>>>;

/// The AEO and arrangement records of some organisation subjects, in log order. Built from
/// complete, verified subject histories (or the whole log), it answers for the organisations
/// those histories cover: for `recognised(X, Y, T)`, X's and Y's.
#[derive(Debug, Clone, Default)]
pub struct Register {
    /// holder → `(issuer, authorisation)` → its records in log order: (log position, record,
    /// id). By holder first: a report asks about one trader at a time.
    aeo: BTreeMap<OrgId, Authorisations>,
    /// Unordered administration pair → records in log order: (position, record, id).
    mra: BTreeMap<(OrgId, OrgId), Vec<Logged<MraRecord>>>,
}

fn pair(a: &OrgId, b: &OrgId) -> (OrgId, OrgId) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

impl Register {
    /// An empty register.
    pub fn new() -> Register {
        Register::default()
    }

    /// Adds a committed event at log position `index` (events of other kinds are ignored; an
    /// event seen twice, as from two subjects' histories, counts once).
    pub fn add(&mut self, index: u64, event: &Event) {
        let b = event.body();
        match (b.kind, &b.aeo, &b.mra) {
            (EventKind::AeoStatus, Some(r), _) => {
                let list = self
                    .aeo
                    .entry(r.holder.clone())
                    .or_default()
                    .entry((b.issuer.org.clone(), r.authorisation.clone()))
                    .or_default();
                if let Err(at) = list.binary_search_by_key(&index, |(i, _, _)| *i) {
                    list.insert(at, (index, r.clone(), event.id()));
                }
            }
            (EventKind::Mra, _, Some(r)) => {
                let list = self.mra.entry(pair(&b.issuer.org, &r.partner)).or_default();
                if let Err(at) = list.binary_search_by_key(&index, |(i, _, _)| *i) {
                    list.insert(at, (index, r.clone(), event.id()));
                }
            }
            _ => {}
        }
    }

    /// Adds every event of a bundle at its log position (verify the bundle first).
    pub fn add_bundle(&mut self, bundle: &ProofBundle) {
        for pe in &bundle.events {
            self.add(pe.index, &pe.event);
        }
    }

    /// The authorisations `holder` held at `at`: for each, the record recorded last among
    /// those that apply at `at` (`from <= at`, and `at < until` for a grant) is a grant.
    pub fn held(&self, holder: &OrgId, at: u64) -> Vec<Authorisation> {
        self.aeo
            .get(holder)
            .into_iter()
            .flatten()
            .filter_map(|((issuer, number), records)| {
                let (_, r, id) = records.iter().rev().find(|(_, r, _)| {
                    r.from <= at
                        && (r.status != AeoStatus::Granted || r.until.is_none_or(|u| at < u))
                })?;
                (r.status == AeoStatus::Granted).then(|| Authorisation {
                    issuer: issuer.clone(),
                    programme: r.programme.clone(),
                    authorisation: number.clone(),
                    types: r.types.clone().unwrap_or_default(),
                    event: *id,
                })
            })
            .collect()
    }

    /// The arrangement between administrations `a` and `b` in force at `at`, with its types:
    /// the record recorded last among those with `from <= at` is in force.
    pub fn arrangement(&self, a: &OrgId, b: &OrgId, at: u64) -> Option<(EventId, Vec<AeoType>)> {
        let records = self.mra.get(&pair(a, b))?;
        let (_, r, id) = records.iter().rev().find(|(_, r, _)| r.from <= at)?;
        (r.status == MraStatus::InForce).then(|| (*id, r.types.clone().unwrap_or_default()))
    }

    /// Did `holder` hold an AEO status recognised by administration `by` at `at`? `by`'s own
    /// authorisations are recognised for all their types; another administration's, for the
    /// types an arrangement between the two in force at `at` covers. The first recognised
    /// authorisation (in issuer, number order) is the basis; `by`'s own comes before others.
    pub fn recognised(&self, holder: &OrgId, by: &OrgId, at: u64) -> Recognition {
        let held = self.held(holder, at);
        let mut basis = held
            .iter()
            .find(|a| &a.issuer == by)
            .map(|a| (a.clone(), a.types.clone(), None));
        if basis.is_none() {
            for a in held.iter().filter(|a| &a.issuer != by) {
                if let Some((mra, covered)) = self.arrangement(&a.issuer, by, at) {
                    let types: Vec<AeoType> = a
                        .types
                        .iter()
                        .filter(|t| covered.contains(t))
                        .copied()
                        .collect();
                    if !types.is_empty() {
                        basis = Some((a.clone(), types, Some(mra)));
                        break;
                    }
                }
            }
        }
        let recognised = basis.is_some();
        let (authorisation, types, arrangement) = match basis {
            Some((a, t, m)) => (Some(a), t, m),
            None => (None, Vec::new(), None),
        };
        Recognition {
            holder: holder.clone(),
            recognised_by: by.clone(),
            at,
            recognised,
            authorisation,
            types,
            arrangement,
            held,
        }
    }
}

/// Why an organisation answer does not prove its recognition.
#[derive(Debug, thiserror::Error)]
pub enum RecognitionError {
    /// A bundle does not verify against the genesis.
    #[error("bundles[{pos}]: {err}")]
    Bundle {
        /// Position of the bundle.
        pos: usize,
        /// Why.
        err: BundleError,
    },
    /// The bundles are not the holder's and the administration's organisation subjects.
    #[error("bundles: expected the organisation subjects of {expected}, got {got}")]
    Subjects {
        /// The subjects needed.
        expected: String,
        /// The subjects given.
        got: String,
    },
    /// The bundles are at different heads.
    #[error("bundles: the bundles are at heads {0} and {1}; both must be at one head")]
    Heads(u64, u64),
}

/// Verifies the organisation bundles of an answer to "did `holder` hold an AEO status
/// recognised by `by`" against the genesis alone (PROTOCOL.md 9e): `bundles` are the complete
/// histories of `holder`'s organisation subject and, when `by` is another organisation, of
/// `by`'s, at one certified head. Once all verify, their records are added to `register`;
/// returns the head's height.
pub fn verify_bundles(
    genesis: &Genesis,
    bundles: &[ProofBundle],
    holder: &OrgId,
    by: &OrgId,
    register: &mut Register,
) -> Result<u64, RecognitionError> {
    let mut expected = vec![Subject::Organisation(holder.clone())];
    if by != holder {
        expected.push(Subject::Organisation(by.clone()));
    }
    let got: Vec<Subject> = bundles.iter().map(|b| b.subject.clone()).collect();
    if got != expected {
        let names = |s: &[Subject]| {
            s.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(RecognitionError::Subjects {
            expected: names(&expected),
            got: names(&got),
        });
    }
    let mut height = None;
    for (pos, b) in bundles.iter().enumerate() {
        let p = b
            .verify(genesis)
            .map_err(|err| RecognitionError::Bundle { pos, err })?;
        match height {
            Some(h) if h != p.head.height => return Err(RecognitionError::Heads(h, p.head.height)),
            _ => height = Some(p.head.height),
        }
    }
    for b in bundles {
        register.add_bundle(b);
    }
    Ok(height.unwrap_or(0))
}

/// [`verify_bundles`] into a fresh register, and the recognition they prove at `at` with the
/// head's height.
pub fn verify_answer(
    genesis: &Genesis,
    bundles: &[ProofBundle],
    holder: &OrgId,
    by: &OrgId,
    at: u64,
) -> Result<(Recognition, u64), RecognitionError> {
    let mut register = Register::new();
    let height = verify_bundles(genesis, bundles, holder, by, &mut register)?;
    Ok((register.recognised(holder, by, at), height))
}
