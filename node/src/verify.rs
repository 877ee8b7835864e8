//! `tradelog-node verify-store`: the full re-verification of a data dir that a start no longer
//! does (a start checks only the last block, ADR 004). Every block is read back from the files,
//! its certificate checked under the validator set in force at its height, every event's
//! signature verified (in batches, on every core), every ledger rule applied by the reference
//! state machine from the genesis, and the head recomputed and compared with the stored one.

use std::path::Path;
use std::time::Instant;

use tradelog_protocol::ledger::Known;
use tradelog_protocol::{Event, EventId, Genesis, LedgerState};

use crate::chain::verify_signatures_of;
use crate::store::{DiskStore, Store, StoreConfig, StoreError};

/// What was verified.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    /// Blocks.
    pub blocks: u64,
    /// Events.
    pub events: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Why the store does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The store cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A block is wrong.
    #[error("block {height}: {what}")]
    Block {
        /// Its height.
        height: u64,
        /// What is wrong.
        what: String,
    },
}

/// Events the store holds at earlier positions are duplicates; signatures were just verified.
struct Earlier<'a> {
    store: &'a DiskStore,
    first: u64,
}

impl Known for Earlier<'_> {
    fn in_log(&self, id: &EventId) -> bool {
        self.store
            .position(id)
            .map_or(true, |p| p.is_some_and(|p| p < self.first))
    }
    fn signature_checked(&self, _: &Event) -> bool {
        true
    }
}

/// Verifies the whole history in `dir`; `progress(height, tip, events)` after each block.
pub fn verify_store(
    dir: &Path,
    genesis: &Genesis,
    mut progress: impl FnMut(u64, u64, u64),
) -> Result<Verified, VerifyError> {
    let started = Instant::now();
    let (store, _) = DiskStore::open(dir, genesis, StoreConfig::default())?;
    let tip = store.tip();
    let mut state = LedgerState::without_proofs(genesis);
    let mut events = 0u64;
    for height in 1..=tip {
        let fault = |what: String| VerifyError::Block { height, what };
        let record = store
            .record(height)?
            .ok_or_else(|| fault("missing".into()))?;
        let block = store
            .block(height)?
            .ok_or_else(|| fault("missing".into()))?;
        block
            .certificate
            .verify(&block.head, state.validators())
            .map_err(|e| fault(format!("certificate: {e}")))?;
        let refs: Vec<&Event> = block.events.iter().collect();
        if let Some((e, _)) = refs
            .iter()
            .zip(verify_signatures_of(&refs))
            .find(|(_, ok)| !ok)
        {
            return Err(fault(format!(
                "event {}: the signature does not verify",
                e.id()
            )));
        }
        let known = Earlier {
            store: &store,
            first: record.first,
        };
        let (head, _) = state
            .apply_block(&block.events, block.head.time, &known)
            .map_err(|e| fault(format!("its events: {e}")))?;
        if head != block.head {
            return Err(fault(format!(
                "stored head {} differs from the head its events produce {}",
                block.head.hash(),
                head.hash()
            )));
        }
        events += block.events.len() as u64;
        progress(height, tip, events);
    }
    Ok(Verified {
        blocks: tip,
        events,
        seconds: started.elapsed().as_secs_f64(),
    })
}
