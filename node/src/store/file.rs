//! An append-only file: records are written at its end, read at any offset by any thread, made
//! durable with `fdatasync`, and cut back to a known length when a crash left a torn tail.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// An append-only file. Readers may read any byte below [`AppendFile::len`] while one writer
/// appends: bytes once written are never changed, only cut off by [`AppendFile::truncate`]
/// (recovery, with no reader running).
#[derive(Debug)]
pub struct AppendFile {
    file: File,
    path: PathBuf,
    len: AtomicU64,
}

/// An I/O error with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What failed.
    #[source]
    pub source: io::Error,
}

impl FileError {
    pub(crate) fn new(path: &Path, source: io::Error) -> FileError {
        FileError {
            path: path.to_owned(),
            source,
        }
    }
}

impl AppendFile {
    /// Opens (or creates) the file.
    pub fn open(path: &Path) -> Result<AppendFile, FileError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| FileError::new(path, e))?;
        let len = file.metadata().map_err(|e| FileError::new(path, e))?.len();
        Ok(AppendFile {
            file,
            path: path.to_owned(),
            len: AtomicU64::new(len),
        })
    }

    /// Bytes written.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes` at the end (one writer at a time); returns the offset they start at.
    pub fn append(&self, bytes: &[u8]) -> Result<u64, FileError> {
        let at = self.len();
        self.file
            .write_all_at(bytes, at)
            .map_err(|e| FileError::new(&self.path, e))?;
        self.len.store(at + bytes.len() as u64, Ordering::Release);
        Ok(at)
    }

    /// Makes every appended byte durable.
    pub fn sync(&self) -> Result<(), FileError> {
        self.file
            .sync_data()
            .map_err(|e| FileError::new(&self.path, e))
    }

    /// Reads exactly `buf.len()` bytes at `offset` (below [`AppendFile::len`]).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), FileError> {
        if offset + buf.len() as u64 > self.len() {
            return Err(FileError::new(
                &self.path,
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {} bytes at {offset} past the end ({})",
                        buf.len(),
                        self.len()
                    ),
                ),
            ));
        }
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| FileError::new(&self.path, e))
    }

    /// Reads `len` bytes at `offset`.
    pub fn read_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>, FileError> {
        let mut buf = vec![0u8; len];
        self.read_at(&mut buf, offset)?;
        Ok(buf)
    }

    /// Cuts the file back to `len` bytes (a torn tail after a crash) and makes it durable.
    pub fn truncate(&self, len: u64) -> Result<(), FileError> {
        if len < self.len() {
            self.file
                .set_len(len)
                .map_err(|e| FileError::new(&self.path, e))?;
            self.file
                .sync_all()
                .map_err(|e| FileError::new(&self.path, e))?;
            self.len.store(len, Ordering::Release);
        }
        Ok(())
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.len()
    }
}

/// Makes a directory's entries (files created or renamed in it) durable.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FileError::new(dir, e))
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let tmp = path.with_extension("tmp");
    {
        let f = File::create(&tmp).map_err(|e| FileError::new(&tmp, e))?;
        f.write_all_at(bytes, 0)
            .and_then(|()| f.sync_all())
            .map_err(|e| FileError::new(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| FileError::new(path, e))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}
