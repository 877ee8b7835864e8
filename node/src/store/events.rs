//! The events of the log on disk, append-only: one record per log position in a
//! [`RecordLog`] (`events/data`, `events/offsets`).
//!
//! A record is `u32 length || id (32) || subject mask (u8) || one u64 per set bit of bits 0-2 ||
//! [if bit 3: count n (u8) || n u64] || wire`: for each subject of the event (bit 0 its
//! consignment, bit 1 its container, bit 2 the membership; bit 3 its trade identifiers, one link
//! per identifier in the order of `body.ids`, or per organisation an `aeo_status` or `mra` event
//! is about), the log position of that subject's previous event (`u64::MAX` for its first).
//! Records written before trade identifiers never set bit 3, so they read as before.
//! A subject's events are read by walking these links back from the index leaf's `last`
//! position, so no per-subject list is stored. `wire` is the event's canonical wire JSON, served
//! and gossiped as it is.

use std::path::Path;

use tradelog_protocol::{EventId, Hash, OrgId, Subject, TradeId};

use super::records::RecordLog;
use super::StoreError;

/// "No previous event" in a subject link.
pub const NONE: u64 = u64::MAX;

/// The link slot of a subject kind; `None` for a trade identifier or an organisation (their
/// links are in [`Record::ids_prev`], in the order [`wire_listed`] gives).
pub fn slot(subject: &Subject) -> Option<usize> {
    match subject {
        Subject::Consignment(_) => Some(0),
        Subject::Container(_) => Some(1),
        Subject::Membership => Some(2),
        Subject::Identifier(_) | Subject::Organisation(_) => None,
    }
}

/// Mask bit of the listed subjects' links (trade identifiers, organisations).
const IDS_BIT: u8 = 1 << SLOTS;

/// The listed subjects of a stored event's wire JSON, in the order of `ledger::subjects`: its
/// trade identifiers in `body.ids` order, or an `aeo_status` event's holder, or an `mra`
/// event's issuer and partner (the wire was checked when it was admitted; this reads only
/// those members).
fn wire_listed(wire: &[u8]) -> Option<Vec<Subject>> {
    #[derive(serde::Deserialize)]
    struct Org {
        org: OrgId,
    }
    #[derive(serde::Deserialize)]
    struct Holder {
        holder: OrgId,
    }
    #[derive(serde::Deserialize)]
    struct Partner {
        partner: OrgId,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        ids: Option<Vec<TradeId>>,
        issuer: Org,
        aeo: Option<Holder>,
        mra: Option<Partner>,
    }
    #[derive(serde::Deserialize)]
    struct Wire {
        body: Body,
    }
    let b = serde_json::from_slice::<Wire>(wire).ok()?.body;
    let mut out: Vec<Subject> = b
        .ids
        .into_iter()
        .flatten()
        .map(Subject::Identifier)
        .collect();
    out.extend(b.aeo.map(|a| Subject::Organisation(a.holder)));
    if let Some(m) = b.mra {
        out.push(Subject::Organisation(b.issuer.org));
        out.push(Subject::Organisation(m.partner));
    }
    Some(out)
}

/// Subject slots of an event record.
const SLOTS: usize = 3;

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The event id.
    pub id: EventId,
    /// Per subject slot: the position of that subject's previous event (`Some(NONE)` for its
    /// first), `None` if the event has no such subject.
    pub prev: [Option<u64>; SLOTS],
    /// Per trade identifier of the event, in `body.ids` order: the position of that
    /// identifier's previous event (`NONE` for its first); empty without identifiers.
    pub ids_prev: Vec<u64>,
    /// The canonical wire JSON.
    pub wire: Vec<u8>,
}

impl Record {
    /// The bytes written for this record.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let links = self.prev.iter().flatten().count();
        let ids = if self.ids_prev.is_empty() {
            0
        } else {
            1 + 8 * self.ids_prev.len()
        };
        let len = 32 + 1 + 8 * links + ids + self.wire.len();
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
        let mask = self
            .prev
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_some())
            .fold(0u8, |m, (i, _)| m | (1 << i));
        let mask = if self.ids_prev.is_empty() {
            mask
        } else {
            mask | IDS_BIT
        };
        out.push(mask);
        for p in self.prev.iter().flatten() {
            out.extend_from_slice(&p.to_be_bytes());
        }
        if !self.ids_prev.is_empty() {
            out.push(self.ids_prev.len() as u8);
            for p in &self.ids_prev {
                out.extend_from_slice(&p.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.wire);
    }

    fn decode(bytes: &[u8], at: u64) -> Result<Record, StoreError> {
        let bad = |why: &str| StoreError::Corrupt {
            key: format!("events/data@{at}"),
            reason: why.into(),
        };
        if bytes.len() < 4 + 33 {
            return Err(bad("short record"));
        }
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if len + 4 != bytes.len() {
            return Err(bad("record length does not match the offsets"));
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(&bytes[4..36]);
        let mask = bytes[36];
        let mut prev = [None; SLOTS];
        let mut p = 37;
        for (i, slot) in prev.iter_mut().enumerate() {
            if mask >> i & 1 == 1 {
                let b: [u8; 8] = bytes
                    .get(p..p + 8)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| bad("short links"))?;
                *slot = Some(u64::from_be_bytes(b));
                p += 8;
            }
        }
        let mut ids_prev = Vec::new();
        if mask & IDS_BIT != 0 {
            let n = usize::from(*bytes.get(p).ok_or_else(|| bad("short links"))?);
            p += 1;
            if n == 0 || n > tradelog_protocol::event::MAX_IDS {
                return Err(bad("bad identifier link count"));
            }
            for _ in 0..n {
                let b: [u8; 8] = bytes
                    .get(p..p + 8)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| bad("short links"))?;
                ids_prev.push(u64::from_be_bytes(b));
                p += 8;
            }
        }
        if mask >> (SLOTS + 1) != 0 {
            return Err(bad("unknown subject slot"));
        }
        Ok(Record {
            id: Hash(id),
            prev,
            ids_prev,
            wire: bytes[p..].to_vec(),
        })
    }

    /// The position of `subject`'s previous event, if this record is one of its events.
    pub fn link(&self, subject: &Subject) -> Option<u64> {
        match (slot(subject), subject) {
            (Some(i), _) => self.prev[i],
            (None, _) => {
                let k = wire_listed(&self.wire)?.iter().position(|x| x == subject)?;
                self.ids_prev.get(k).copied()
            }
        }
    }
}

/// The event files.
#[derive(Debug)]
pub struct Events {
    log: RecordLog,
}

impl Events {
    /// Opens (or creates) the event files in `dir`.
    pub fn open(dir: &Path) -> Result<Events, StoreError> {
        Ok(Events {
            log: RecordLog::open(dir, "events")?,
        })
    }

    /// Positions stored.
    pub fn size(&self) -> u64 {
        self.log.len()
    }

    /// Bytes of `data` (recorded with each block, to cut a torn tail).
    pub fn data_len(&self) -> u64 {
        self.log.data_len()
    }

    /// Appends the records of the next positions, in order.
    pub fn append(&self, records: &[Record]) -> Result<(), StoreError> {
        let encoded: Vec<Vec<u8>> = records
            .iter()
            .map(|r| {
                let mut b = Vec::with_capacity(r.wire.len() + 64);
                r.encode(&mut b);
                b
            })
            .collect();
        self.log.append(encoded.iter().map(Vec::as_slice))
    }

    /// Makes the appended records durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.log.sync()
    }

    /// Cuts back to `size` positions whose data ends at `data_len`.
    pub fn truncate(&self, size: u64, data_len: u64) -> Result<(), StoreError> {
        self.log.truncate(size, Some(data_len))
    }

    /// The record at log position `pos` (`None` past the end).
    pub fn get(&self, pos: u64) -> Result<Option<Record>, StoreError> {
        self.log
            .get(pos)?
            .map(|(at, b)| Record::decode(&b, at))
            .transpose()
    }

    /// The records of positions `[from, to)`, read in one pass.
    pub fn range(&self, from: u64, to: u64) -> Result<Vec<Record>, StoreError> {
        self.log
            .range(from, to)?
            .iter()
            .map(|(at, b)| Record::decode(b, *at))
            .collect()
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> (u64, u64) {
        self.log.disk_bytes()
    }
}
