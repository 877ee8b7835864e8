//! The events of the log on disk, append-only: `events/data` holds one record per log position,
//! `events/offsets` the record's start offset in `data` (u64 big-endian, 8 bytes per position).
//!
//! A record is `u32 length || id (32) || subject mask (u8) || one u64 per set bit || wire`:
//! for each subject of the event (bit 0 its consignment, bit 1 its container, bit 2 the
//! membership), the log position of that subject's previous event (`u64::MAX` for its first).
//! A subject's events are read by walking these links back from the index leaf's `last`
//! position, so no per-subject list is stored. `wire` is the event's canonical wire JSON, served
//! and gossiped as it is.

use std::path::Path;

use tradelog_protocol::{EventId, Hash, Subject};

use super::file::{AppendFile, FileError};
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
    data: AppendFile,
    offsets: AppendFile,
}

impl Events {
    /// Opens (or creates) the event files in `dir`.
    pub fn open(dir: &Path) -> Result<Events, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| FileError::new(dir, e))?;
        Ok(Events {
            data: AppendFile::open(&dir.join("data"))?,
            offsets: AppendFile::open(&dir.join("offsets"))?,
        })
    }

    /// Positions stored.
    pub fn size(&self) -> u64 {
        self.offsets.len() / 8
    }

    /// Bytes of `data` (recorded with each block, to cut a torn tail).
    pub fn data_len(&self) -> u64 {
        self.data.len()
    }

    /// Appends the records of the next positions, in order.
    pub fn append(&self, records: &[Record]) -> Result<(), StoreError> {
        let mut data = Vec::with_capacity(records.len() * 700);
        let mut offsets = Vec::with_capacity(records.len() * 8);
        let base = self.data.len();
        for r in records {
            offsets.extend_from_slice(&(base + data.len() as u64).to_be_bytes());
            r.encode(&mut data);
        }
        self.data.append(&data)?;
        self.offsets.append(&offsets)?;
        Ok(())
    }

    /// Makes the appended records durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.data.sync()?;
        self.offsets.sync()?;
        Ok(())
    }

    /// Cuts back to `size` positions whose data ends at `data_len`.
    pub fn truncate(&self, size: u64, data_len: u64) -> Result<(), StoreError> {
        self.offsets.truncate(size * 8)?;
        self.data.truncate(data_len)?;
        Ok(())
    }

    fn offset(&self, pos: u64) -> Result<u64, StoreError> {
        let mut b = [0u8; 8];
        self.offsets.read_at(&mut b, pos * 8)?;
        Ok(u64::from_be_bytes(b))
    }

    /// The record at log position `pos` (`None` past the end).
    pub fn get(&self, pos: u64) -> Result<Option<Record>, StoreError> {
        let size = self.size();
        if pos >= size {
            return Ok(None);
        }
        let mut b = [0u8; 16];
        let (start, end) = if pos + 1 < size {
            self.offsets.read_at(&mut b, pos * 8)?;
            (
                u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                u64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            )
        } else {
            (self.offset(pos)?, self.data.len())
        };
        if end < start || end - start > (1 << 20) {
            return Err(StoreError::Corrupt {
                key: format!("events/offsets@{pos}"),
                reason: format!("record bounds {start}..{end}"),
            });
        }
        let bytes = self.data.read_vec(start, (end - start) as usize)?;
        Record::decode(&bytes, start).map(Some)
    }

    /// The records of positions `[from, to)`, read in one pass.
    pub fn range(&self, from: u64, to: u64) -> Result<Vec<Record>, StoreError> {
        let to = to.min(self.size());
        if from >= to {
            return Ok(Vec::new());
        }
        let offs = self
            .offsets
            .read_vec(from * 8, ((to - from) * 8) as usize)?;
        let mut starts: Vec<u64> = offs
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let end = if to < self.size() {
            self.offset(to)?
        } else {
            self.data.len()
        };
        starts.push(end);
        let first = starts[0];
        if end < first {
            return Err(StoreError::Corrupt {
                key: format!("events/offsets@{from}"),
                reason: "offsets go backwards".into(),
            });
        }
        let data = self.data.read_vec(first, (end - first) as usize)?;
        starts
            .windows(2)
            .map(|w| {
                let (a, b) = ((w[0] - first) as usize, (w[1] - first) as usize);
                let slice = data.get(a..b).ok_or_else(|| StoreError::Corrupt {
                    key: format!("events/data@{}", w[0]),
                    reason: "offsets out of order".into(),
                })?;
                Record::decode(slice, w[0])
            })
            .collect()
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> (u64, u64) {
        (self.data.disk_bytes(), self.offsets.disk_bytes())
    }
}
