//! The events of the log on disk, append-only: one record per log position in a
//! [`RecordLog`] (`events/data`, `events/offsets`).
//!
//! A record is `u32 length || id (32) || subject mask (u8) || one u64 per set bit || wire`:
//! for each subject of the event (bit 0 its consignment, bit 1 its container, bit 2 the
//! membership), the log position of that subject's previous event (`u64::MAX` for its first).
//! A subject's events are read by walking these links back from the index leaf's `last`
//! position, so no per-subject list is stored. `wire` is the event's canonical wire JSON, served
//! and gossiped as it is.

use std::path::Path;

use tradelog_protocol::{EventId, Hash, Subject};

use super::records::RecordLog;
use super::StoreError;

/// "No previous event" in a subject link.
pub const NONE: u64 = u64::MAX;

/// The link slot of a subject kind.
pub fn slot(subject: &Subject) -> usize {
    match subject {
        Subject::Consignment(_) => 0,
        Subject::Container(_) => 1,
        Subject::Membership => 2,
    }
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
    /// The canonical wire JSON.
    pub wire: Vec<u8>,
}

impl Record {
    /// The bytes written for this record.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let links = self.prev.iter().flatten().count();
        let len = 32 + 1 + 8 * links + self.wire.len();
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
        let mask = self
            .prev
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_some())
            .fold(0u8, |m, (i, _)| m | (1 << i));
        out.push(mask);
        for p in self.prev.iter().flatten() {
            out.extend_from_slice(&p.to_be_bytes());
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
        if mask >> SLOTS != 0 {
            return Err(bad("unknown subject slot"));
        }
        Ok(Record {
            id: Hash(id),
            prev,
            wire: bytes[p..].to_vec(),
        })
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
