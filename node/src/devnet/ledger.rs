//! Sample ledgers of any size written straight into a node's store, for the benchmarks: what
//! consensus would have committed (blocks of [`BLOCK`] events, each certified by three of the
//! four sample validators; consignments of 14 events, one of them, [`TARGET`], with six extra
//! document anchors: 20 events). A ledger is built once into a directory and reused by later
//! runs of the same size.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use crate::block::Block;
use crate::ledger::NodeLedger;
use crate::store::StoreConfig;
use tradelog_protocol::sample::{self, consignment_route, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Event, EventKind, Hash};

/// Events per block.
pub const BLOCK: usize = 1000;
/// The consignment with 20 events that benchmarks query.
pub const TARGET: u32 = 7;

/// The route of sample consignment `n` (the target gets its extra anchors).
pub fn route(net: &SampleNetwork, n: u32) -> Vec<Event> {
    let t0 = net.genesis.time;
    let mut route = consignment_route(net, n, t0 + u64::from(n) * 1000).unwrap_or_default();
    if n == TARGET {
        for k in 0..6u64 {
            let Some(mut b) = sample::body(EventKind::DocumentAnchored, route[1].body().time + k)
            else {
                continue;
            };
            b.ucr = Some(sample_ucr(TARGET));
            b.documents = route[1].body().documents.clone();
            b.documents[0].digest = Hash::of(&[&k.to_be_bytes()]);
            if let Some(e) = net.sign("shopfast", b) {
                route.push(e);
            }
        }
    }
    route
}

/// What [`ledger`] found or built.
#[derive(Debug, Clone, Copy)]
pub struct Built {
    /// Events in the ledger.
    pub events: u64,
    /// Seconds it took to build, if it was built now.
    pub seconds: Option<f64>,
}

/// The ledger of at least `events` events in `dir`, built if `dir` does not hold one.
/// Consignments are signed on another thread while this one writes blocks.
pub fn ledger(net: &SampleNetwork, events: u64, dir: &Path) -> Result<Built, String> {
    let marker = dir.join("BUILT");
    if let Some(n) = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        return Ok(Built {
            events: n,
            seconds: None,
        });
    }
    let _ = std::fs::remove_dir_all(dir);
    let started = Instant::now();
    let config = StoreConfig {
        sync: false,
        ..StoreConfig::default()
    };
    let (ledger, _) =
        NodeLedger::open(net.genesis.clone(), dir, config).map_err(|e| e.to_string())?;
    let keys: Vec<_> = net.validator_keys.iter().take(3).collect();
    let (tx, rx) = mpsc::sync_channel::<Vec<Event>>(8);
    let total = std::thread::scope(|s| -> Result<u64, String> {
        let producer = net.clone();
        s.spawn(move || {
            let (mut n, mut made, mut pending) = (0u32, 0u64, Vec::<Event>::new());
            while made < events {
                let r = route(&producer, n);
                made += r.len() as u64;
                pending.extend(r);
                n += 1;
                if (pending.len() >= BLOCK || made >= events)
                    && tx.send(std::mem::take(&mut pending)).is_err()
                {
                    return;
                }
            }
        });
        let (mut total, mut time) = (0u64, net.genesis.time);
        for block_events in rx {
            time = time.max(
                block_events
                    .iter()
                    .map(|e| e.body().time)
                    .max()
                    .unwrap_or(0),
            ) + 1;
            let preview = ledger
                .stage_unchecked(&block_events, time)
                .map_err(|e| e.to_string())?;
            let head = preview.head().clone();
            let certificate = Certificate::sign(&head, 0, &keys);
            total += block_events.len() as u64;
            let block = Block {
                head,
                events: block_events,
            };
            ledger
                .commit(&block, &certificate, Some(preview))
                .map_err(|e| e.to_string())?;
            if total % 500_000 < BLOCK as u64 {
                eprintln!(
                    "  built {total} events ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(total)
    })?;
    std::fs::write(&marker, total.to_string()).map_err(|e| e.to_string())?;
    Ok(Built {
        events: total,
        seconds: Some(started.elapsed().as_secs_f64()),
    })
}
