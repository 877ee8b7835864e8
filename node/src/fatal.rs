//! Fatal failures: what stops the node at once.
//!
//! A storage write that fails (a full disk, an I/O error) leaves the node unable to keep its
//! promise to persist before it uses or sends anything, and a consensus engine that stopped
//! leaves it unable to commit. Limping on with the HTTP listener or the engine half alive only
//! buries the cause under the engine's own failures, so every part that writes storage holds a
//! [`Fatal`] and reports to it. The first report is logged at once, as one line naming the cause
//! and the file (`fatal: storage failed while committing block 12: No space left on device (os
//! error 28), file /data/ledger/events/data; the node stops`); [`Fatal::stopped`] then
//! resolves, and the service stops consensus, the API (within its shutdown timeout) and gossip,
//! and the process exits with that line as its error. Later reports are logged at debug level:
//! they are almost always consequences of the first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use crate::store::StoreError;

/// Where fatal failures are reported; every clone reports to the same node.
#[derive(Debug, Clone)]
pub struct Fatal {
    first: Arc<watch::Sender<Option<String>>>,
    store_dir: Option<PathBuf>,
}

impl Default for Fatal {
    fn default() -> Fatal {
        Fatal {
            first: Arc::new(watch::channel(None).0),
            store_dir: None,
        }
    }
}

impl Fatal {
    /// A reporter for a node whose ledger store is `store_dir` (named in the line when an error
    /// has no file of its own, as the metadata database's do).
    pub fn new(store_dir: &Path) -> Fatal {
        Fatal {
            store_dir: Some(store_dir.to_owned()),
            ..Fatal::default()
        }
    }

    /// Reports that storage failed while `during` (`"committing block 12"`).
    pub fn storage(&self, during: &str, err: &StoreError) {
        self.report(storage_line(during, err, self.store_dir.as_deref()));
    }

    /// Reports `err` if it is a failure of the disk or the database ([`is_io`]) and says
    /// whether it did. For writes whose other refusals are not the node's failure: storing
    /// evidence is refused once the evidence store is full, which a flood of valid evidence
    /// could reach, and that must not stop the node.
    pub fn storage_io(&self, during: &str, err: &StoreError) -> bool {
        let io = is_io(err);
        if io {
            self.storage(during, err);
        }
        io
    }

    /// Reports another fatal failure; `what` says what happened and why.
    pub fn other(&self, what: &str) {
        self.report(format!("fatal: {what}; the node stops"));
    }

    fn report(&self, line: String) {
        let mut first = false;
        self.first.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(line.clone());
                first = true;
            }
            first
        });
        if first {
            tracing::error!("{line}");
        } else {
            tracing::debug!("after the fatal failure: {line}");
        }
    }

    /// The first report's line, if there was one.
    pub fn first(&self) -> Option<String> {
        self.first.borrow().clone()
    }

    /// Resolves with the first report's line once there is one.
    pub async fn stopped(&self) -> String {
        let mut rx = self.first.subscribe();
        let line = match rx.wait_for(Option::is_some).await {
            Ok(line) => line.clone(),
            // The sender lives in `self`: it cannot be gone while this runs.
            Err(_) => None,
        };
        line.unwrap_or_default()
    }
}

/// True for a failure of the files or the metadata database (a full disk, an I/O error), as
/// opposed to a record refused or found corrupt.
pub fn is_io(err: &StoreError) -> bool {
    matches!(err, StoreError::File(_) | StoreError::Db(_))
}

/// The log line of a storage failure: the cause, then the file (or the store's directory when
/// the error names none).
pub fn storage_line(during: &str, err: &StoreError, store_dir: Option<&Path>) -> String {
    let (cause, file) = match err {
        StoreError::File(f) => (f.source.to_string(), err.path().map(Path::to_owned)),
        StoreError::Db(e) => (format!("metadata database: {e}"), None),
        other => (other.to_string(), None),
    };
    match (file, store_dir) {
        (Some(f), _) => format!(
            "fatal: storage failed while {during}: {cause}, file {}; the node stops",
            f.display()
        ),
        (None, Some(d)) => format!(
            "fatal: storage failed while {during}: {cause}, store {}; the node stops",
            d.display()
        ),
        (None, None) => format!("fatal: storage failed while {during}: {cause}; the node stops"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::file::FileError;

    fn enospc(path: &str) -> StoreError {
        StoreError::File(FileError {
            path: path.into(),
            source: std::io::Error::from_raw_os_error(28),
        })
    }

    #[test]
    fn the_line_names_the_cause_and_the_file() {
        let line = storage_line(
            "committing block 12",
            &enospc("/data/ledger/events/data"),
            Some(Path::new("/data/ledger")),
        );
        assert!(
            line.starts_with("fatal: storage failed while committing block 12: No space left on device (os error 28), file /data/ledger/events/data"),
            "{line}"
        );
        let corrupt = StoreError::Corrupt {
            key: "tip".into(),
            reason: "short".into(),
        };
        let line = storage_line("x", &corrupt, Some(Path::new("/d")));
        assert!(line.contains("store /d"), "{line}");
    }

    #[tokio::test]
    async fn the_first_report_wins_and_wakes_the_waiter() {
        let fatal = Fatal::new(Path::new("/d"));
        let waiter = tokio::spawn({
            let f = fatal.clone();
            async move { f.stopped().await }
        });
        assert_eq!(fatal.first(), None);
        fatal.storage("committing block 3", &enospc("/d/events/data"));
        fatal.other("consensus engine stopped");
        let line = waiter.await.unwrap();
        assert!(
            line.contains("block 3") && line.contains("/d/events/data"),
            "{line}"
        );
        assert_eq!(fatal.first(), Some(line.clone()));
        // A waiter that comes later resolves at once.
        assert_eq!(fatal.stopped().await, line);
    }

    /// A full evidence store refuses a record; that is not the node's failure.
    #[test]
    fn only_io_failures_of_optional_writes_are_fatal() {
        let fatal = Fatal::default();
        let full = StoreError::Corrupt {
            key: "evidence".into(),
            reason: "evidence store is full (10000 records)".into(),
        };
        assert!(!fatal.storage_io("storing evidence", &full));
        assert_eq!(fatal.first(), None);
        assert!(fatal.storage_io("storing evidence", &enospc("/d/meta")));
        assert!(fatal.first().is_some());
    }
}
