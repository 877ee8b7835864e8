//! The storage format of the first release (format 1), read once to migrate a data dir: one
//! sled database in the data dir itself, keys prefixed by one byte, integers big-endian:
//! `b || height` → block record (JSON: head, certificate, first log index, event count);
//! `x || index` → event JSON; `t` → tip height; trees `proposals` and `evidence`.

use std::path::Path;

use serde::Deserialize;
use tradelog_protocol::{Certificate, Event, Head};

use super::{corrupt, StoreError};
use crate::block::CommittedBlock;

/// sled's own files in a data dir of the first format.
const FILES: [&str; 2] = ["conf", "db"];

/// True if `root` holds a store of the first format (and no store of this one).
pub fn is_legacy(root: &Path) -> bool {
    FILES.iter().all(|f| root.join(f).is_file()) && !root.join("meta").exists()
}

#[derive(Deserialize)]
struct Record {
    head: Head,
    certificate: Certificate,
    first: u64,
    count: u64,
}

/// An evidence record of the old store: its id and bytes.
pub type EvidenceItem = (Vec<u8>, Vec<u8>);

/// A store of the first format, opened for reading.
pub struct Legacy {
    db: sled::Db,
}

impl Legacy {
    /// Opens the old store in `root`.
    pub fn open(root: &Path) -> Result<Legacy, StoreError> {
        Ok(Legacy {
            db: sled::Config::new().path(root).open()?,
        })
    }

    /// Height of its last block.
    pub fn tip(&self) -> Result<u64, StoreError> {
        match self.db.get(b"t")? {
            None => Ok(0),
            Some(v) => {
                let b: [u8; 8] = v
                    .as_ref()
                    .try_into()
                    .map_err(|_| corrupt("t", "not a u64"))?;
                Ok(u64::from_be_bytes(b))
            }
        }
    }

    /// Block `height` with its events.
    pub fn block(&self, height: u64) -> Result<Option<CommittedBlock>, StoreError> {
        let mut k = vec![b'b'];
        k.extend_from_slice(&height.to_be_bytes());
        let Some(v) = self.db.get(&k)? else {
            return Ok(None);
        };
        let r: Record = serde_json::from_slice(&v)
            .map_err(|e| corrupt(format!("legacy block {height}"), e.to_string()))?;
        let mut events = Vec::with_capacity(r.count as usize);
        for i in r.first..r.first + r.count {
            let mut k = vec![b'x'];
            k.extend_from_slice(&i.to_be_bytes());
            let v = self
                .db
                .get(&k)?
                .ok_or_else(|| corrupt(format!("legacy event {i}"), "missing"))?;
            events.push(
                Event::from_json(&v)
                    .map_err(|e| corrupt(format!("legacy event {i}"), e.to_string()))?,
            );
        }
        Ok(Some(CommittedBlock {
            head: r.head,
            certificate: r.certificate,
            events,
        }))
    }

    /// Its evidence records (id, record).
    pub fn evidence(&self) -> Result<Vec<EvidenceItem>, StoreError> {
        let tree = self.db.open_tree("evidence")?;
        tree.iter()
            .map(|item| {
                let (k, v) = item?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    /// Removes the old store's files (after a successful migration).
    pub fn remove(self, root: &Path) -> Result<(), StoreError> {
        drop(self.db);
        for entry in std::fs::read_dir(root).map_err(|e| super::FileError::new(root, e))? {
            let entry = entry.map_err(|e| super::FileError::new(root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let old =
                FILES.contains(&name.as_str()) || name.starts_with("snap.") || name == "blobs";
            if old {
                let p = entry.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                }
                .map_err(|e| super::FileError::new(&p, e))?;
            }
        }
        Ok(())
    }
}

/// Writes a store of the first format (tests build old data dirs with it to test the
/// migration): the blocks, in order.
#[doc(hidden)]
pub fn write_for_test(root: &Path, blocks: &[CommittedBlock]) -> Result<(), StoreError> {
    let db = sled::Config::new().path(root).open()?;
    let mut first = 0u64;
    for b in blocks {
        let count = b.events.len() as u64;
        let mut batch = sled::Batch::default();
        let rec = serde_json::json!({
            "head": b.head, "certificate": b.certificate, "first": first, "count": count,
        });
        let mut k = vec![b'b'];
        k.extend_from_slice(&b.head.height.to_be_bytes());
        batch.insert(
            k,
            serde_json::to_vec(&rec).map_err(|e| corrupt("legacy", e.to_string()))?,
        );
        for (i, e) in b.events.iter().enumerate() {
            let mut k = vec![b'x'];
            k.extend_from_slice(&(first + i as u64).to_be_bytes());
            batch.insert(
                k,
                serde_json::to_vec(&serde_json::json!({"body": e.body(), "sig": e.sig()}))
                    .map_err(|e| corrupt("legacy", e.to_string()))?,
            );
        }
        batch.insert(&b"t"[..], &b.head.height.to_be_bytes()[..]);
        db.apply_batch(batch)?;
        first += count;
    }
    db.flush()?;
    Ok(())
}
