//! `tradelog-node backup` and `tradelog-node restore`.
//!
//! A running node's data dir cannot be copied as files: sled holds it locked and the files
//! change under a copy. A backup instead asks a running node's API for its certified blocks
//! (`GET /v1/head`, then `GET /v1/blocks/{height}`) and commits them into a fresh data dir
//! through the node's normal commit path, after checking each one as a node checks a synced
//! block and more: the certificate under the validator set in force at its height (followed
//! from the genesis, so `set_validators` changes are honoured), every event signature, every
//! ledger rule, and the head its events produce. The copy is therefore consistent (a certified
//! prefix of the chain), can be made from another host over HTTP, and cannot take in corruption
//! or a block the validators did not certify: the first bad block stops it, naming the height.
//! Run again on the same directory, it continues from its last block (incremental).
//!
//! Restore copies a backup's `ledger/` into a stopped node's data dir (refusing to overwrite
//! one); the node then fetches the blocks committed since from its peers. Keys are never in a
//! backup: node keys and organisation keys are backed up separately (docs/OPERATIONS.md).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use tradelog_client::http::Endpoint;
use tradelog_protocol::{Certificate, Event, Genesis, Head};

use crate::block::Block;
use crate::chain::Chain;
use crate::store::StoreConfig;

/// How long a backup keeps retrying a block the node refuses for its rate limit (429) or a
/// transient failure before it gives up.
pub const RETRY_FOR: Duration = Duration::from_secs(60);

/// What a backup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backed {
    /// Height the backup held before this run.
    pub from: u64,
    /// Height it holds now (the node's certified height when the run started).
    pub to: u64,
    /// Events copied in this run.
    pub events: u64,
}

#[derive(Deserialize)]
struct BlockJson {
    head: Head,
    certificate: Certificate,
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct HeadJson {
    head: Head,
}

/// `GET path`, retried on 429, 503 and transport errors for up to [`RETRY_FOR`].
fn get(node: &Endpoint, path: &str) -> Result<Vec<u8>> {
    let started = Instant::now();
    loop {
        let outcome = node.get(path);
        let retry = match &outcome {
            Ok(r) if r.status == 200 => return Ok(outcome?.body),
            Ok(r) => {
                if !matches!(r.status, 429 | 503) {
                    bail!(
                        "{node}{path}: HTTP {}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    );
                }
                format!("HTTP {}", r.status)
            }
            Err(e) => e.to_string(),
        };
        if started.elapsed() > RETRY_FOR {
            bail!("{node}{path}: still failing after {RETRY_FOR:?}: {retry}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Copies `node`'s certified blocks into the data dir `out` (its `ledger/`), verifying each
/// from `genesis`; `progress(height, target)` after each block.
pub fn backup(
    node: &Endpoint,
    genesis: Genesis,
    out: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<Backed> {
    let (chain, _) = Chain::open(genesis, &out.join("ledger"), 16, StoreConfig::default())
        .with_context(|| format!("cannot open the backup store {}", out.display()))?;
    let from = chain.height();
    let head: HeadJson = serde_json::from_slice(&get(node, "/v1/head")?)
        .with_context(|| format!("{node}/v1/head: malformed answer"))?;
    let target = head.head.height;
    if target < from {
        bail!(
            "{node} is at height {target}, behind this backup's {from}: back up from a node that is in step"
        );
    }
    let mut events = 0u64;
    for height in from + 1..=target {
        let path = format!("/v1/blocks/{height}");
        let fault = |what: String| anyhow::anyhow!("block {height} from {node}: {what}");
        let b: BlockJson = serde_json::from_slice(&get(node, &path)?)
            .map_err(|e| fault(format!("malformed block JSON: {e}")))?;
        if b.head.height != height {
            return Err(fault(format!("the node served block {}", b.head.height)));
        }
        b.certificate
            .verify(&b.head, &chain.next_validators())
            .map_err(|e| fault(format!("certificate: {e}")))?;
        let block = Block {
            head: b.head,
            events: b.events,
        };
        chain
            .validate(&block)
            .map_err(|e| fault(format!("does not verify: {e}")))?;
        chain
            .commit(&block, b.certificate)
            .map_err(|e| fault(format!("cannot store it: {e}")))?;
        events += block.events.len() as u64;
        progress(height, target);
    }
    Ok(Backed {
        from,
        to: chain.height(),
        events,
    })
}

/// Copies the backup `from` (a directory `backup` wrote) into `data_dir/ledger` of a stopped
/// node, after opening it (which checks its last block against its files). Refuses to replace
/// an existing ledger. Returns the restored height.
pub fn restore(from: &Path, data_dir: &Path, genesis: Genesis) -> Result<u64> {
    let source = from.join("ledger");
    if !source.is_dir() {
        bail!(
            "{}: no ledger/ directory: not a backup written by `tradelog-node backup`",
            from.display()
        );
    }
    let target = data_dir.join("ledger");
    if target.exists() {
        bail!(
            "{} exists: move it aside (or remove it) first; restore never overwrites a ledger",
            target.display()
        );
    }
    let height = {
        let (chain, _) = Chain::open(genesis, &source, 16, StoreConfig::default())
            .with_context(|| format!("the backup {} does not open", source.display()))?;
        chain.height()
    };
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let partial = data_dir.join("ledger.restoring");
    let _ = std::fs::remove_dir_all(&partial);
    copy_dir(&source, &partial)?;
    std::fs::rename(&partial, &target).with_context(|| {
        format!(
            "cannot rename {} to {}",
            partial.display(),
            target.display()
        )
    })?;
    Ok(height)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
            std::fs::File::open(&dst)?.sync_all()?;
        }
    }
    Ok(())
}
