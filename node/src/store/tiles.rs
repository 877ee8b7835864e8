//! The Merkle log on disk in the C2SP tlog-tiles shape: the hashes of tree levels 0, 8, 16, …
//! each in an append-only file (`tiles/level-00`, `level-08`, …; 32 bytes per hash, in index
//! order), read as tiles of 256 hashes. Level `8L + j` hashes are computed from `2^j`
//! consecutive level-`8L` hashes; a full tile is immutable, so its whole subtree of 511 hashes
//! is computed once and cached. Only the frontier (O(log n) hashes) is kept in memory.
//!
//! Proofs read through [`HashSource`], so they are byte-identical to the in-memory log's.

use std::path::Path;
use std::sync::{Arc, RwLock};

use tradelog_protocol::merkle::{node_hash, HashSource, NewNode};
use tradelog_protocol::Hash;

use super::cache::Cache;
use super::file::{AppendFile, FileError};
use super::StoreError;

/// Hashes per tile (tree levels per tile: 8).
pub const TILE: u64 = 256;
/// Tree levels a tile spans.
const TILE_HEIGHT: u32 = 8;

/// A full tile's subtree: `layers[j]` has `256 >> j` hashes of tree level `8L + j`.
type TileTree = Arc<Vec<Vec<Hash>>>;

fn tree_of(row: Vec<Hash>) -> Vec<Vec<Hash>> {
    let mut layers = vec![row];
    while layers.last().is_some_and(|l| l.len() > 1) {
        let below = layers.last().map(Vec::as_slice).unwrap_or_default();
        let up: Vec<Hash> = below.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        layers.push(up);
    }
    layers
}

/// The log's tiles.
#[derive(Debug)]
pub struct Tiles {
    dir: std::path::PathBuf,
    /// `files[L]` holds tree level `8L`; created as the log grows.
    files: RwLock<Vec<Arc<AppendFile>>>,
    cache: Cache<(u32, u64), TileTree>,
}

impl Tiles {
    /// Opens the tile files in `dir`, with a cache of `cache_bytes` for full tiles.
    pub fn open(dir: &Path, cache_bytes: usize) -> Result<Tiles, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| FileError::new(dir, e))?;
        let mut files = Vec::new();
        loop {
            let path = dir.join(format!("level-{:02}", files.len() as u32 * TILE_HEIGHT));
            if !path.exists() {
                break;
            }
            files.push(Arc::new(AppendFile::open(&path)?));
        }
        Ok(Tiles {
            dir: dir.to_owned(),
            files: RwLock::new(files),
            cache: Cache::new(cache_bytes),
        })
    }

    fn file(&self, l: usize) -> Option<Arc<AppendFile>> {
        crate::chain::read(&self.files).get(l).cloned()
    }

    fn file_or_create(&self, l: usize) -> Result<Arc<AppendFile>, StoreError> {
        if let Some(f) = self.file(l) {
            return Ok(f);
        }
        let mut files = crate::chain::write(&self.files);
        while files.len() <= l {
            let path = self
                .dir
                .join(format!("level-{:02}", files.len() as u32 * TILE_HEIGHT));
            files.push(Arc::new(AppendFile::open(&path)?));
        }
        Ok(files[l].clone())
    }

    /// Hashes stored at tree level `8l`.
    fn count(&self, l: usize) -> u64 {
        self.file(l).map_or(0, |f| f.len() / 32)
    }

    fn read_row(&self, l: usize, start: u64, n: u64) -> Result<Vec<Hash>, StoreError> {
        let file = self.file(l).ok_or_else(|| StoreError::Corrupt {
            key: format!("tiles/level-{:02}", l as u32 * TILE_HEIGHT),
            reason: "missing".into(),
        })?;
        let bytes = file.read_vec(start * 32, (n * 32) as usize)?;
        Ok(bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                Hash(h)
            })
            .collect())
    }

    /// Appends the complete subtrees an append produced (only levels 0, 8, 16, … are kept).
    pub fn append(&self, nodes: &[NewNode]) -> Result<(), StoreError> {
        let mut rows: Vec<Vec<u8>> = Vec::new();
        let mut firsts: Vec<Option<u64>> = Vec::new();
        for n in nodes.iter().filter(|n| n.level % TILE_HEIGHT == 0) {
            let l = (n.level / TILE_HEIGHT) as usize;
            if rows.len() <= l {
                rows.resize(l + 1, Vec::new());
                firsts.resize(l + 1, None);
            }
            firsts[l].get_or_insert(n.index);
            rows[l].extend_from_slice(n.hash.as_bytes());
        }
        for (l, row) in rows.iter().enumerate() {
            let Some(first) = firsts[l] else { continue };
            let file = self.file_or_create(l)?;
            if file.len() / 32 != first {
                return Err(StoreError::Corrupt {
                    key: file.path().display().to_string(),
                    reason: format!(
                        "holds {} hashes, the next to append is number {first}",
                        file.len() / 32
                    ),
                });
            }
            file.append(row)?;
        }
        Ok(())
    }

    /// Makes every appended hash durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        for f in crate::chain::read(&self.files).iter() {
            f.sync()?;
        }
        Ok(())
    }

    /// Cuts the tiles back to a log of `size` leaves.
    pub fn truncate(&self, size: u64) -> Result<(), StoreError> {
        for (l, f) in crate::chain::read(&self.files).iter().enumerate() {
            let keep = size >> (l as u32 * TILE_HEIGHT);
            f.truncate(keep * 32)?;
        }
        self.cache.clear();
        Ok(())
    }

    /// Leaves stored (hashes at level 0).
    pub fn size(&self) -> u64 {
        self.count(0)
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> u64 {
        crate::chain::read(&self.files)
            .iter()
            .map(|f| f.disk_bytes())
            .sum()
    }

    /// Forgets cached tiles (benchmarks measure cold reads with it).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    fn full_tile(&self, l: usize, tile: u64) -> Result<TileTree, StoreError> {
        let key = (l as u32, tile);
        if let Some(t) = self.cache.get(&key) {
            return Ok(t);
        }
        let row = self.read_row(l, tile * TILE, TILE)?;
        let tree: TileTree = Arc::new(tree_of(row));
        self.cache.insert(key, tree.clone(), 511 * 32 + 256);
        Ok(tree)
    }
}

impl HashSource for Tiles {
    type Error = StoreError;

    fn subtree(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        let l = (level / TILE_HEIGHT) as usize;
        let j = level % TILE_HEIGHT;
        let start = index << j;
        let tile = start / TILE;
        if self.count(l) >= (tile + 1) * TILE {
            let tree = self.full_tile(l, tile)?;
            let at = ((start % TILE) >> j) as usize;
            return tree
                .get(j as usize)
                .and_then(|layer| layer.get(at))
                .copied()
                .ok_or_else(|| StoreError::Corrupt {
                    key: format!("tile {l}/{tile}"),
                    reason: "short tile".into(),
                });
        }
        // The right edge: a tile still filling up, read and folded directly.
        let row = self.read_row(l, start, 1 << j)?;
        let tree = tree_of(row);
        tree.last()
            .and_then(|top| top.first())
            .copied()
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("tile {l}/{tile}"),
                reason: "empty row".into(),
            })
    }
}
