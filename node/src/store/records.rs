//! A numbered sequence of variable-length records in two append-only files: `data` holds the
//! records back to back, `offsets` each record's start in `data` (u64 big-endian). Record `i`
//! is read with two positioned reads; a torn tail is cut back to a known count.

use std::path::Path;

use super::file::{AppendFile, FileError};
use super::StoreError;

/// Records too large to be real (a corrupted offset) are refused before allocating.
const MAX_RECORD: u64 = 64 << 20;

/// The two files.
#[derive(Debug)]
pub struct RecordLog {
    data: AppendFile,
    offsets: AppendFile,
    name: &'static str,
}

impl RecordLog {
    /// Opens (or creates) `dir/data` and `dir/offsets`; `name` labels errors.
    pub fn open(dir: &Path, name: &'static str) -> Result<RecordLog, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| FileError::new(dir, e))?;
        Ok(RecordLog {
            data: AppendFile::open(&dir.join("data"))?,
            offsets: AppendFile::open(&dir.join("offsets"))?,
            name,
        })
    }

    /// Records stored.
    pub fn len(&self) -> u64 {
        self.offsets.len() / 8
    }

    /// True if none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of `data`.
    pub fn data_len(&self) -> u64 {
        self.data.len()
    }

    /// Appends records, in order (one writer at a time).
    pub fn append<'a>(
        &self,
        records: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), StoreError> {
        let base = self.data.len();
        let (mut data, mut offsets) = (Vec::new(), Vec::new());
        for r in records {
            offsets.extend_from_slice(&(base + data.len() as u64).to_be_bytes());
            data.extend_from_slice(r);
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

    /// Cuts back to `count` records; `data_len`, if known, is where their data ends.
    pub fn truncate(&self, count: u64, data_len: Option<u64>) -> Result<(), StoreError> {
        let end = match data_len {
            Some(l) => l,
            None if count < self.len() => self.offset(count)?,
            None => self.data.len(),
        };
        self.offsets.truncate(count * 8)?;
        self.data.truncate(end)?;
        Ok(())
    }

    fn offset(&self, i: u64) -> Result<u64, StoreError> {
        let mut b = [0u8; 8];
        self.offsets.read_at(&mut b, i * 8)?;
        Ok(u64::from_be_bytes(b))
    }

    fn bounds(&self, from: u64, to: u64) -> Result<Vec<u64>, StoreError> {
        let offs = self
            .offsets
            .read_vec(from * 8, ((to - from) * 8) as usize)?;
        let mut starts: Vec<u64> = offs
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        starts.push(if to < self.len() {
            self.offset(to)?
        } else {
            self.data.len()
        });
        if starts
            .windows(2)
            .any(|w| w[1] < w[0] || w[1] - w[0] > MAX_RECORD)
        {
            return Err(StoreError::Corrupt {
                key: format!("{}/offsets@{from}", self.name),
                reason: "record bounds out of order or too large".into(),
            });
        }
        Ok(starts)
    }

    /// Record `i`, with its offset in `data` (`None` past the end).
    pub fn get(&self, i: u64) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        if i >= self.len() {
            return Ok(None);
        }
        let b = self.bounds(i, i + 1)?;
        Ok(Some((
            b[0],
            self.data.read_vec(b[0], (b[1] - b[0]) as usize)?,
        )))
    }

    /// Records `[from, to)` (cut at the end), with their offsets, read in one pass.
    pub fn range(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let to = to.min(self.len());
        if from >= to {
            return Ok(Vec::new());
        }
        let b = self.bounds(from, to)?;
        let data = self.data.read_vec(b[0], (b[b.len() - 1] - b[0]) as usize)?;
        Ok(b.windows(2)
            .map(|w| {
                let (s, e) = ((w[0] - b[0]) as usize, (w[1] - b[0]) as usize);
                (w[0], data[s..e].to_vec())
            })
            .collect())
    }

    /// Bytes on disk: data and offsets.
    pub fn disk_bytes(&self) -> (u64, u64) {
        (self.data.disk_bytes(), self.offsets.disk_bytes())
    }
}
