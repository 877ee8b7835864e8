//! A log-structured table of buckets (in the manner of Bitcask): each bucket's current record
//! is the last one appended for it to the segment files `NNNNNN.seg`; a directory in memory maps
//! every bucket to its record (`2^bits` entries, independent of history). Writes are appends
//! only; a checkpoint file saves the directory from time to time, and opening replays the
//! records appended after it, so a restart reads a bounded amount whatever the history.
//!
//! Superseded records are garbage: when the segments hold more than twice the live bytes, the
//! oldest segment's live records are copied forward a few at a time with each block's writes,
//! and the segment is deleted once a checkpoint no longer needs it.
//!
//! A record is `u32 length || u32 bucket || payload`; the layer above gives payloads meaning
//! (subject leaves, event ids) and a 37-byte summary per bucket that the checkpoint keeps.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::file::{sync_dir, write_atomic, AppendFile, FileError};
use super::StoreError;
use crate::chain::{lock, read, write};

/// Default size at which a segment is closed.
pub const SEGMENT_BYTES: u64 = 64 << 20;
/// Default of how many bytes are appended between two checkpoints.
pub const CHECKPOINT_EVERY: u64 = 64 << 20;

/// Sizes of a bucket log (defaults [`SEGMENT_BYTES`], [`CHECKPOINT_EVERY`]; tests use small
/// ones to exercise garbage collection and checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// A segment is closed once it holds this many bytes.
    pub segment_bytes: u64,
    /// A checkpoint is written once this many bytes were appended since the last one.
    pub checkpoint_bytes: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            segment_bytes: SEGMENT_BYTES,
            checkpoint_bytes: CHECKPOINT_EVERY,
        }
    }
}
/// Bytes of a bucket summary kept in the checkpoint.
pub const SUMMARY: usize = 37;
const HEADER: usize = 8;

/// A record's place: segment number (high 16 bits) and byte offset (low 48 bits).
pub type Loc = u64;

fn loc(segment: u32, offset: u64) -> Loc {
    (u64::from(segment) << 48) | offset
}

fn seg_of(l: Loc) -> u32 {
    (l >> 48) as u32
}

fn off_of(l: Loc) -> u64 {
    l & ((1 << 48) - 1)
}

/// The end of the log: where the next record goes. Recorded with each block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Pos {
    /// Active segment.
    pub segment: u32,
    /// Its length.
    pub offset: u64,
}

/// A bucket's directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Where its current record is.
    pub loc: Loc,
    /// The record's size in bytes (header included).
    pub size: u32,
}

/// A record that was written but is not yet visible to readers ([`BucketLog::publish`]).
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// The bucket.
    pub bucket: u32,
    /// Its new entry.
    pub entry: Entry,
}

struct Writer {
    active: Arc<AppendFile>,
    active_id: u32,
    since_checkpoint: u64,
    /// Live bytes per segment.
    live: BTreeMap<u32, u64>,
    /// Garbage collection: the segment being emptied and the offset reached in it.
    gc: Option<(u32, u64)>,
    /// Segments emptied, deleted after the next checkpoint.
    emptied: Vec<u32>,
}

/// The checkpoint's header: where replay starts, and the height it was written at (its
/// entries go straight into the directory as they are read).
struct Checkpoint {
    pos: Pos,
    height: u64,
}

/// The bucket table.
pub struct BucketLog {
    dir: PathBuf,
    bits: u8,
    tuning: Tuning,
    /// Bytes of summary per bucket in the checkpoint: [`SUMMARY`] or 0.
    summary_len: usize,
    segments: RwLock<BTreeMap<u32, Arc<AppendFile>>>,
    table: RwLock<Vec<Option<Entry>>>,
    writer: Mutex<Writer>,
}

impl std::fmt::Debug for BucketLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketLog")
            .field("dir", &self.dir)
            .field("bits", &self.bits)
            .finish()
    }
}

fn corrupt(what: impl std::fmt::Display, why: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: what.to_string(),
        reason: why.into(),
    }
}

/// What [`BucketLog::open`] found: the summaries of every non-empty bucket, from the
/// checkpoint and the records replayed after it (the layer above recomputes the replayed
/// ones' summaries from `replayed`).
pub struct Opened {
    /// Summaries saved in the checkpoint for buckets not replayed.
    pub saved: Vec<(u32, [u8; SUMMARY])>,
    /// Buckets whose current record was replayed, with its payload.
    pub replayed: Vec<(u32, Vec<u8>)>,
    /// Records read during the replay.
    pub replayed_records: u64,
    /// The height the checkpoint was written at, if there was one.
    pub checkpoint_height: Option<u64>,
}

impl BucketLog {
    /// Opens the table in `dir` with `2^bits` buckets, cut back to `upto` (the position the
    /// last stored block recorded; `None` for a new table): loads the checkpoint, drops
    /// records past `upto` and replays those between them.
    ///
    /// With `keep_payloads`, the summaries saved in the checkpoint and the payloads of the
    /// buckets replayed are returned, for the layer above to rebuild what it derives from them.
    pub fn open(
        dir: &Path,
        bits: u8,
        tuning: Tuning,
        upto: Option<Pos>,
        keep_payloads: bool,
    ) -> Result<(BucketLog, Opened), StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| FileError::new(dir, e))?;
        let mut segments = BTreeMap::new();
        for item in std::fs::read_dir(dir).map_err(|e| FileError::new(dir, e))? {
            let item = item.map_err(|e| FileError::new(dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .strip_suffix(".seg")
                .and_then(|n| n.parse::<u32>().ok())
            {
                segments.insert(n, Arc::new(AppendFile::open(&item.path())?));
            }
        }
        let mut table: Vec<Option<Entry>> = vec![None; 1usize << bits];
        let mut saved: Vec<(u32, [u8; SUMMARY])> = Vec::new();
        let cp = load_checkpoint(
            &dir.join("checkpoint"),
            bits,
            if keep_payloads { SUMMARY } else { 0 },
            |b, e, s| {
                table[b as usize] = Some(e);
                if keep_payloads {
                    saved.push((b, *s));
                }
            },
        )?;
        let upto = upto.unwrap_or_default();
        // Cut everything past `upto`: later segments, and the tail of upto's segment.
        let later: Vec<u32> = segments
            .range(upto.segment + 1..)
            .map(|(n, _)| *n)
            .collect();
        for n in later {
            if let Some(f) = segments.remove(&n) {
                std::fs::remove_file(f.path()).map_err(|e| FileError::new(f.path(), e))?;
            }
        }
        let active = match segments.get(&upto.segment) {
            Some(f) => {
                if f.len() < upto.offset {
                    return Err(corrupt(
                        f.path().display(),
                        format!(
                            "is {} bytes, the last block recorded {}",
                            f.len(),
                            upto.offset
                        ),
                    ));
                }
                f.truncate(upto.offset)?;
                f.clone()
            }
            None if upto.offset == 0 => {
                let f = Arc::new(AppendFile::open(&seg_path(dir, upto.segment))?);
                segments.insert(upto.segment, f.clone());
                f
            }
            None => {
                return Err(corrupt(
                    seg_path(dir, upto.segment).display(),
                    "missing: the last block recorded records in it",
                ))
            }
        };
        let start = match &cp {
            Some(cp) => {
                if (cp.pos.segment, cp.pos.offset) > (upto.segment, upto.offset) {
                    return Err(corrupt(
                        dir.join("checkpoint").display(),
                        "is ahead of the last stored block",
                    ));
                }
                cp.pos
            }
            None => Pos::default(),
        };
        let mut replayed: HashMap<u32, Vec<u8>> = HashMap::new();
        let mut replayed_records = 0u64;
        for (&n, f) in segments.range(start.segment..) {
            let from = if n == start.segment { start.offset } else { 0 };
            replay(f, from, |at, b, payload| {
                if (b as usize) >= table.len() {
                    return Err(corrupt(
                        format!("{}@{at}", f.path().display()),
                        "bucket number out of range",
                    ));
                }
                table[b as usize] = Some(Entry {
                    loc: loc(n, at),
                    size: (HEADER + payload.len()) as u32,
                });
                if keep_payloads {
                    replayed.insert(b, payload.to_vec());
                }
                replayed_records += 1;
                Ok(())
            })?;
        }
        let saved: Vec<(u32, [u8; SUMMARY])> = saved
            .into_iter()
            .filter(|(b, _)| !replayed.contains_key(b))
            .collect();
        let mut replayed: Vec<(u32, Vec<u8>)> = replayed.into_iter().collect();
        replayed.sort_unstable_by_key(|(b, _)| *b);
        let mut live: BTreeMap<u32, u64> = segments.keys().map(|n| (*n, 0)).collect();
        for e in table.iter().flatten() {
            *live.entry(seg_of(e.loc)).or_default() += u64::from(e.size);
        }
        let log = BucketLog {
            dir: dir.to_owned(),
            bits,
            tuning,
            summary_len: if keep_payloads { SUMMARY } else { 0 },
            segments: RwLock::new(segments),
            table: RwLock::new(table),
            writer: Mutex::new(Writer {
                active,
                active_id: upto.segment,
                since_checkpoint: 0,
                live,
                gc: None,
                emptied: Vec::new(),
            }),
        };
        Ok((
            log,
            Opened {
                saved,
                replayed,
                replayed_records,
                checkpoint_height: cp.as_ref().map(|c| c.height),
            },
        ))
    }

    /// Bits of the bucket number.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The current entry of bucket `b`.
    pub fn entry(&self, b: u32) -> Option<Entry> {
        read(&self.table).get(b as usize).copied().flatten()
    }

    /// The payload of the record at `entry`.
    pub fn read(&self, entry: Entry) -> Result<Vec<u8>, StoreError> {
        let file = read(&self.segments)
            .get(&seg_of(entry.loc))
            .cloned()
            .ok_or_else(|| corrupt(format!("segment {}", seg_of(entry.loc)), "missing"))?;
        let bytes = file.read_vec(off_of(entry.loc), entry.size as usize)?;
        let b = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if len + 4 != entry.size {
            return Err(corrupt(
                format!("{}@{}", file.path().display(), off_of(entry.loc)),
                format!("record of bucket {b} has the wrong length"),
            ));
        }
        Ok(bytes[HEADER..].to_vec())
    }

    /// Where the next record goes.
    pub fn pos(&self) -> Pos {
        let w = lock(&self.writer);
        Pos {
            segment: w.active_id,
            offset: w.active.len(),
        }
    }

    /// Appends records (one writer at a time: the commit). Readers do not see them until
    /// [`BucketLog::publish`].
    pub fn write(&self, records: &[(u32, Vec<u8>)]) -> Result<Vec<Written>, StoreError> {
        let mut w = lock(&self.writer);
        let mut out = Vec::with_capacity(records.len());
        let mut buf = Vec::new();
        let mut first = w.active.len();
        for (b, payload) in records {
            let size = (HEADER + payload.len()) as u64;
            if first + buf.len() as u64 + size > self.tuning.segment_bytes
                && (first > 0 || !buf.is_empty())
            {
                w.active.append(&buf)?;
                buf.clear();
                self.roll(&mut w)?;
                first = 0;
            }
            let at = first + buf.len() as u64;
            buf.extend_from_slice(&((4 + payload.len()) as u32).to_be_bytes());
            buf.extend_from_slice(&b.to_be_bytes());
            buf.extend_from_slice(payload);
            out.push(Written {
                bucket: *b,
                entry: Entry {
                    loc: loc(w.active_id, at),
                    size: size as u32,
                },
            });
        }
        w.active.append(&buf)?;
        w.since_checkpoint += out.iter().map(|r| u64::from(r.entry.size)).sum::<u64>();
        Ok(out)
    }

    fn roll(&self, w: &mut Writer) -> Result<(), StoreError> {
        w.active.sync()?;
        let next = w.active_id + 1;
        let f = Arc::new(AppendFile::open(&seg_path(&self.dir, next))?);
        write(&self.segments).insert(next, f.clone());
        w.live.insert(next, 0);
        w.active = f;
        w.active_id = next;
        sync_dir(&self.dir)?;
        Ok(())
    }

    /// Makes the written records durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        lock(&self.writer).active.sync()?;
        Ok(())
    }

    /// Makes written records the buckets' current ones (under the ledger's write lock, so
    /// readers see them together with the head they belong to).
    pub fn publish(&self, written: &[Written]) {
        let mut table = write(&self.table);
        let mut w = lock(&self.writer);
        for r in written {
            if let Some(old) = table[r.bucket as usize].replace(r.entry) {
                if let Some(l) = w.live.get_mut(&seg_of(old.loc)) {
                    *l = l.saturating_sub(u64::from(old.size));
                }
            }
            *w.live.entry(seg_of(r.entry.loc)).or_default() += u64::from(r.entry.size);
        }
    }

    /// Live records of the oldest segment to copy forward with the next block, if the table
    /// holds more garbage than live data: at most `budget` bytes of them.
    pub fn garbage(&self, budget: u64) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
        let mut w = lock(&self.writer);
        let total: u64 = read(&self.segments).values().map(|f| f.len()).sum();
        let live: u64 = w.live.values().sum();
        if w.gc.is_none() {
            if total < 2 * live + self.tuning.segment_bytes {
                return Ok(Vec::new());
            }
            let oldest = w
                .live
                .keys()
                .copied()
                .find(|n| *n != w.active_id && !w.emptied.contains(n));
            let Some(oldest) = oldest else {
                return Ok(Vec::new());
            };
            w.gc = Some((oldest, 0));
        }
        let Some((seg, mut at)) = w.gc else {
            return Ok(Vec::new());
        };
        let Some(file) = read(&self.segments).get(&seg).cloned() else {
            w.gc = None;
            return Ok(Vec::new());
        };
        let table = read(&self.table);
        let mut out = Vec::new();
        let mut moved = 0u64;
        while at < file.len() && moved < budget {
            let head = file.read_vec(at, HEADER)?;
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
            let b = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
            let here = loc(seg, at);
            if table
                .get(b as usize)
                .copied()
                .flatten()
                .is_some_and(|e| e.loc == here)
            {
                out.push((b, file.read_vec(at + HEADER as u64, (len - 4) as usize)?));
                moved += len + 4;
            }
            at += 4 + len;
        }
        if at >= file.len() {
            w.gc = None;
            w.emptied.push(seg);
        } else {
            w.gc = Some((seg, at));
        }
        Ok(out)
    }

    /// Writes a checkpoint if enough was appended since the last one (or `force`), with the
    /// summary of every non-empty bucket; then deletes the segments it no longer needs.
    /// `height` is the block the table is at (for the logs).
    pub fn checkpoint(
        &self,
        height: u64,
        force: bool,
        summary: impl Fn(u32) -> [u8; SUMMARY],
    ) -> Result<bool, StoreError> {
        let mut w = lock(&self.writer);
        let due = w.since_checkpoint >= self.tuning.checkpoint_bytes
            || (!w.emptied.is_empty() && w.gc.is_none());
        if !(force || due) {
            return Ok(false);
        }
        w.active.sync()?;
        let pos = Pos {
            segment: w.active_id,
            offset: w.active.len(),
        };
        let table = read(&self.table);
        let mut out = Vec::with_capacity(64 + table.len() / 4 * 53);
        out.extend_from_slice(b"TLBK");
        out.push(self.bits);
        out.push(self.summary_len as u8);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&pos.segment.to_be_bytes());
        out.extend_from_slice(&pos.offset.to_be_bytes());
        for (b, e) in table.iter().enumerate() {
            if let Some(e) = e {
                out.extend_from_slice(&(b as u32).to_be_bytes());
                out.extend_from_slice(&e.loc.to_be_bytes());
                out.extend_from_slice(&e.size.to_be_bytes());
                out.extend_from_slice(&summary(b as u32)[..self.summary_len]);
            }
        }
        drop(table);
        let check = blake3::hash(&out);
        out.extend_from_slice(check.as_bytes());
        write_atomic(&self.dir.join("checkpoint"), &out)?;
        w.since_checkpoint = 0;
        let emptied = std::mem::take(&mut w.emptied);
        for n in emptied {
            if let Some(f) = write(&self.segments).remove(&n) {
                std::fs::remove_file(f.path()).map_err(|e| FileError::new(f.path(), e))?;
            }
            w.live.remove(&n);
        }
        Ok(true)
    }

    /// Bytes on disk (segments and checkpoint) and live bytes.
    pub fn disk_bytes(&self) -> (u64, u64) {
        let seg: u64 = read(&self.segments).values().map(|f| f.len()).sum();
        let cp = std::fs::metadata(self.dir.join("checkpoint")).map_or(0, |m| m.len());
        let live = lock(&self.writer).live.values().sum();
        (seg + cp, live)
    }

    /// Memory the directory takes.
    pub fn memory_bytes(&self) -> usize {
        read(&self.table).len() * std::mem::size_of::<Option<Entry>>()
    }
}

/// Calls `f(offset, bucket, payload)` for every record of segment `n` from `from` to its end,
/// reading it sequentially in large chunks.
fn replay(
    f: &AppendFile,
    from: u64,
    mut each: impl FnMut(u64, u32, &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    const CHUNK: u64 = 4 << 20;
    let end = f.len();
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_at = from; // file offset of buf[0]
    let mut read_to = from;
    let mut at = from;
    while at < end {
        // Make sure the record header and payload are in `buf`.
        let need_header = (at - buf_at) as usize + HEADER;
        if buf.len() < need_header {
            let more = CHUNK.min(end - read_to);
            if more == 0 {
                return Err(corrupt(
                    format!("{}@{at}", f.path().display()),
                    "torn record",
                ));
            }
            buf.drain(..(at - buf_at) as usize);
            buf_at = at;
            buf.extend_from_slice(&f.read_vec(read_to, more as usize)?);
            read_to += more;
            continue;
        }
        let p = (at - buf_at) as usize;
        let len = u64::from(u32::from_be_bytes([
            buf[p],
            buf[p + 1],
            buf[p + 2],
            buf[p + 3],
        ]));
        if len < 4 || at + 4 + len > end {
            return Err(corrupt(
                format!("{}@{at}", f.path().display()),
                "bad record header",
            ));
        }
        let total = 4 + len as usize;
        if buf.len() < p + total {
            let more = CHUNK.max(total as u64).min(end - read_to);
            buf.drain(..p);
            buf_at = at;
            buf.extend_from_slice(&f.read_vec(read_to, more as usize)?);
            read_to += more;
            continue;
        }
        let b = u32::from_be_bytes([buf[p + 4], buf[p + 5], buf[p + 6], buf[p + 7]]);
        each(at, b, &buf[p + HEADER..p + total])?;
        at += total as u64;
    }
    Ok(())
}

fn seg_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{n:06}.seg"))
}

/// Reads the checkpoint at `path`, handing every entry to `each` as it is read (no copy of the
/// whole file is held), and checks its checksum at the end: on an error, what `each` was given
/// must be thrown away.
fn load_checkpoint(
    path: &Path,
    bits: u8,
    summary_len: usize,
    mut each: impl FnMut(u32, Entry, &[u8; SUMMARY]),
) -> Result<Option<Checkpoint>, StoreError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FileError::new(path, e).into()),
    };
    let io = |e: std::io::Error| StoreError::from(FileError::new(path, e));
    let bad = |why: &str| corrupt(path.display(), why.to_string());
    let len = file.metadata().map_err(io)?.len();
    const HEAD: u64 = 4 + 2 + 8 + 4 + 8;
    if len < HEAD + 32 {
        return Err(bad("too short"));
    }
    let mut r = std::io::BufReader::with_capacity(1 << 16, file);
    let mut hasher = blake3_hasher();
    let mut head = [0u8; HEAD as usize];
    r.read_exact(&mut head).map_err(io)?;
    hasher.update(&head);
    if &head[..4] != b"TLBK" {
        return Err(bad("not a bucket checkpoint"));
    }
    if head[4] != bits || usize::from(head[5]) != summary_len {
        return Err(bad(&format!(
            "made for {} bucket bits and {}-byte summaries, the store uses {bits} and {summary_len}",
            head[4], head[5]
        )));
    }
    let u64_at = |p: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[p..p + 8]);
        u64::from_be_bytes(b)
    };
    let height = u64_at(6);
    let pos = Pos {
        segment: u32::from_be_bytes([head[14], head[15], head[16], head[17]]),
        offset: u64_at(18),
    };
    let entry_len = (4 + 8 + 4 + summary_len) as u64;
    let body = len - HEAD - 32;
    if !body.is_multiple_of(entry_len) {
        return Err(bad("entries are torn"));
    }
    let mut c = vec![0u8; entry_len as usize];
    for _ in 0..body / entry_len {
        r.read_exact(&mut c).map_err(io)?;
        hasher.update(&c);
        let b = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        if bits < 32 && b >> bits != 0 {
            return Err(bad("bucket number out of range"));
        }
        let mut l = [0u8; 8];
        l.copy_from_slice(&c[4..12]);
        let size = u32::from_be_bytes([c[12], c[13], c[14], c[15]]);
        let mut s = [0u8; SUMMARY];
        s[..summary_len].copy_from_slice(&c[16..]);
        each(
            b,
            Entry {
                loc: u64::from_be_bytes(l),
                size,
            },
            &s,
        );
    }
    let mut check = [0u8; 32];
    r.read_exact(&mut check).map_err(io)?;
    if hasher.finalize().as_bytes() != &check {
        return Err(bad("checksum does not match"));
    }
    Ok(Some(Checkpoint { pos, height }))
}

/// The hasher of checkpoint checksums (BLAKE3, like every hash of the protocol).
fn blake3_hasher() -> blake3::Hasher {
    blake3::Hasher::new()
}
