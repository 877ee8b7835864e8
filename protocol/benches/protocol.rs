//! Criterion benchmarks of the protocol hot paths: event signatures (single and batched), event
//! parsing and canonical bytes, hashing, the Merkle log and the subject index at 1,000,000
//! entries, and full offline proof-bundle verification.
//!
//! Run with `cargo bench -p tradelog-protocol --bench protocol`; figures are in
//! `docs/BENCHMARKS.md`. Setup timings and sizes are printed once to stderr.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, BenchmarkId, Criterion,
    SamplingMode, Throughput,
};

use tradelog_protocol::hash::Hash;
use tradelog_protocol::keys::verify_batch;
use tradelog_protocol::merkle::{leaf_hash, root_of, MerkleLog};
use tradelog_protocol::sample::{
    consignment_route, sample_container, sample_ucr, SampleNetwork, SAMPLE_GENESIS_TIME,
};
use tradelog_protocol::{
    Certificate, Event, Index, IndexProof, Ledger, ProofBundle, PublicKey, Signature, Subject,
};

/// Leaves in the big Merkle log and subjects in the big index.
const MILLION: u64 = 1_000_000;
/// Consignments signed for the event benches (14 events each: 1,120 events, enough for a batch
/// of 1024 distinct events).
const EVENT_CONSIGNMENTS: u32 = 80;
/// Consignments in the ledger behind the bundle bench (14,000 events).
const LEDGER_CONSIGNMENTS: u32 = 1_000;
/// Pre-built proofs the verify benches cycle through.
const PROOF_POOL: usize = 1024;

/// SplitMix64: a tiny deterministic generator for random indices (no `rand` dependency).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `[0, n)`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

fn sample_events(consignments: u32) -> (SampleNetwork, Vec<Event>) {
    let net = SampleNetwork::new(4).expect("sample network");
    let mut events = Vec::with_capacity(consignments as usize * 14);
    for n in 0..consignments {
        let t0 = SAMPLE_GENESIS_TIME + u64::from(n) * 60_000;
        events.extend(consignment_route(&net, n, t0).expect("route"));
    }
    (net, events)
}

/// 1. single signature verification (ZIP-215, and dalek's verify_strict for comparison),
/// 2. batched ZIP-215 verification, on the same real events.
fn bench_signatures(c: &mut Criterion) {
    let (_net, events) = sample_events(EVENT_CONSIGNMENTS);
    let avg_msg = events.iter().map(|e| e.message().len()).sum::<usize>() / events.len();
    eprintln!(
        "[setup] {} signed events, mean signing-message length {avg_msg} bytes",
        events.len()
    );

    let mut group = c.benchmark_group("signature");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_signature/zip215_single", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let e = &events[i % events.len()];
            i += 1;
            black_box(e).verify_signature().expect("valid")
        })
    });
    // The rule before ZIP-215, on the same events, for comparison.
    group.bench_function("verify_signature/dalek_verify_strict_single", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let e = &events[i % events.len()];
            i += 1;
            let sig = ed25519_dalek::Signature::from_bytes(&e.sig().to_bytes());
            black_box(e.body().issuer.key.as_dalek())
                .verify_strict(e.message(), &sig)
                .expect("valid")
        })
    });

    let items: Vec<(&PublicKey, &[u8], &Signature)> = events
        .iter()
        .map(|e| (&e.body().issuer.key, e.message(), e.sig()))
        .collect();
    for n in [64usize, 256, 1024] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("verify_batch", n), &n, |b, &n| {
            let batch = &items[..n];
            b.iter(|| verify_batch(black_box(batch)).expect("valid batch"))
        });
    }
    // One bad signature in 256: the bisection that finds it (and admits the other 255).
    let bad_sig = events[0].sig();
    let mut one_bad = items[..256].to_vec();
    one_bad[100].2 = bad_sig;
    group.throughput(Throughput::Elements(256));
    group.bench_function("verify_batch_one_bad/256", |b| {
        b.iter(|| {
            let bad = verify_batch(black_box(&one_bad)).expect_err("one bad item");
            assert_eq!(bad, vec![100]);
        })
    });
    group.finish();
}

/// Items 3 and 4: JSON parse, canonical signing bytes, event id and leaf hash, plus a 300-byte BLAKE3
/// reference for the design brief's comparison.
fn bench_events(c: &mut Criterion) {
    let (_net, events) = sample_events(1);
    let jsons: Vec<Vec<u8>> = events.iter().map(|e| e.to_json().into_bytes()).collect();
    let avg_json = jsons.iter().map(Vec::len).sum::<usize>() / jsons.len();
    eprintln!("[setup] mean event JSON size {avg_json} bytes (one 14-event consignment)");

    let mut group = c.benchmark_group("event");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    group.bench_function("from_json", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let j = &jsons[i % jsons.len()];
            i += 1;
            Event::from_json(black_box(j)).expect("parses")
        })
    });
    group.bench_function("signing_bytes", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let e = &events[i % events.len()];
            i += 1;
            black_box(e.body()).signing_bytes().expect("canonical")
        })
    });
    group.bench_function("id_hash", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let e = &events[i % events.len()];
            i += 1;
            Hash::of(&[black_box(e.message())])
        })
    });
    group.bench_function("leaf_hash_96B", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let e = &events[i % events.len()];
            i += 1;
            leaf_hash(black_box(&e.leaf_data()))
        })
    });
    let buf = [0x5au8; 300];
    group.bench_function("blake3_300B", |b| {
        b.iter(|| Hash::of(&[black_box(&buf[..])]))
    });
    group.finish();
}

/// 5. The Merkle log at 1,000,000 leaves.
fn bench_merkle(c: &mut Criterion) {
    let leaves: Vec<Hash> = (0..MILLION).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let started = Instant::now();
    let mut log = MerkleLog::new();
    for h in &leaves {
        log.push(*h);
    }
    eprintln!(
        "[setup] MerkleLog: pushed {MILLION} leaves once in {:?}",
        started.elapsed()
    );
    let size = log.size();
    let root = log.root();
    let mut rng = SplitMix(0x7472_6164_656c_6f67);

    let mut group = c.benchmark_group("merkle_1m");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    group.bench_function("prove_inclusion", |b| {
        b.iter(|| {
            log.prove_inclusion(black_box(rng.below(size)), size)
                .expect("in range")
        })
    });
    let inclusions: Vec<_> = (0..PROOF_POOL)
        .map(|_| {
            let i = rng.below(size);
            (
                leaves[i as usize],
                log.prove_inclusion(i, size).expect("in range"),
            )
        })
        .collect();
    group.bench_function("inclusion_verify", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let (leaf, proof) = &inclusions[i % PROOF_POOL];
            i += 1;
            black_box(proof).verify(leaf, &root).expect("verifies")
        })
    });
    group.bench_function("prove_consistency", |b| {
        b.iter(|| {
            let m = 1 + rng.below(size - 1);
            log.prove_consistency(black_box(m), size).expect("in range")
        })
    });
    let consistencies: Vec<_> = (0..PROOF_POOL)
        .map(|_| {
            let m = 1 + rng.below(size - 1);
            (
                log.root_at(m).expect("in range"),
                log.prove_consistency(m, size).expect("in range"),
            )
        })
        .collect();
    group.bench_function("consistency_verify", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let (first_root, proof) = &consistencies[i % PROOF_POOL];
            i += 1;
            black_box(proof)
                .verify(first_root, &root)
                .expect("verifies")
        })
    });
    group.bench_function("root", |b| b.iter(|| black_box(&log).root()));
    group.finish();

    // Whole-tree builds: few, slow iterations.
    let mut group = c.benchmark_group("merkle_build");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(MILLION));
    group.bench_function("push_1m_leaves", |b| {
        b.iter_with_large_drop(|| {
            let mut log = MerkleLog::new();
            for h in black_box(&leaves) {
                log.push(*h);
            }
            log
        })
    });
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("root_of_100k_leaves", |b| {
        b.iter(|| root_of(black_box(&leaves[..100_000])))
    });
    group.finish();
}

/// 6. The subject index holding 1,000,000 subjects.
fn bench_index(c: &mut Criterion) {
    let started = Instant::now();
    let mut index = Index::new();
    for n in 0..MILLION as u32 {
        let id = Hash::of(&[b"bench-event", &n.to_be_bytes()]);
        index.record(&Subject::Consignment(sample_ucr(n)), &id);
    }
    assert_eq!(index.len(), MILLION);
    eprintln!(
        "[setup] Index: recorded {MILLION} new subjects once in {:?}",
        started.elapsed()
    );
    let root = index.root();
    let mut rng = SplitMix(0x69_6e64_6578);
    let mut counter = 0u64;
    let mut next_id = move || {
        counter += 1;
        Hash::of(&[b"bench-new-event", &counter.to_be_bytes()])
    };

    let mut group = c.benchmark_group("index_1m");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    // The index is persistent: a clone is O(1) and `record` copies only the path it changes, so
    // each iteration records into the same 1M-subject index (clone and drop are not timed).
    // `record` itself hashes nothing (the changed path is hashed at the next root read), so each
    // iteration also reads the root: one record and its path's hashes, an event's cost when
    // the root is read after every event (the worst case).
    group.bench_function("record_existing_subject", |b| {
        b.iter_batched(
            || {
                let s = Subject::Consignment(sample_ucr(rng.below(MILLION) as u32));
                (index.clone(), s, next_id())
            },
            |(mut idx, s, id)| {
                idx.record(black_box(&s), &id);
                black_box(idx.root());
                idx
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("record_new_subject", |b| {
        b.iter_batched(
            || {
                let s = Subject::Container(sample_container(rng.below(MILLION) as u32));
                (index.clone(), s, next_id())
            },
            |(mut idx, s, id)| {
                idx.record(black_box(&s), &id);
                black_box(idx.root());
                idx
            },
            BatchSize::SmallInput,
        )
    });
    let keys: Vec<Hash> = (0..PROOF_POOL)
        .map(|_| Subject::Consignment(sample_ucr(rng.below(MILLION) as u32)).key())
        .collect();
    group.bench_function("prove", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let k = &keys[i % PROOF_POOL];
            i += 1;
            index.prove(black_box(k))
        })
    });
    let proofs: Vec<IndexProof> = keys.iter().map(|k| index.prove(k)).collect();
    let depth = proofs.iter().map(|p| p.siblings.len()).sum::<usize>() / proofs.len();
    eprintln!("[setup] Index: mean proof depth {depth} siblings at {MILLION} subjects");
    group.bench_function("proof_verify", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let (k, p) = (&keys[i % PROOF_POOL], &proofs[i % PROOF_POOL]);
            i += 1;
            black_box(p)
                .verify(&root, k)
                .expect("verifies")
                .expect("present")
        })
    });
    group.finish();
}

/// 7. Full offline verification of a 14-event consignment's proof bundle.
fn bench_bundle(c: &mut Criterion) {
    let started = Instant::now();
    let (net, events) = sample_events(LEDGER_CONSIGNMENTS);
    let signed = started.elapsed();
    let mut ledger = Ledger::new(&net.genesis);
    let mut time = SAMPLE_GENESIS_TIME;
    let mut head = None;
    for block in events.chunks(14) {
        // One block per consignment, timed at its last event so no event lies in the block's
        // future (the ledger may bound that skew); block times never go backwards.
        let last = block.iter().map(|e| e.body().time).max().unwrap_or(time);
        time = time.max(last);
        head = Some(
            ledger
                .append_block(block.to_vec(), time)
                .expect("block accepted"),
        );
    }
    let head = head.expect("at least one block");
    eprintln!(
        "[setup] Ledger: signed {} events in {signed:?}, appended {} blocks (log size {}) in {:?}",
        events.len(),
        LEDGER_CONSIGNMENTS,
        head.log_size,
        started.elapsed() - signed
    );
    let keys: Vec<_> = net.validator_keys.iter().take(3).collect();
    let cert = Certificate::sign(&head, 0, &keys);
    let subject = Subject::Consignment(sample_ucr(LEDGER_CONSIGNMENTS / 2));
    let bundle = ledger.bundle(&subject, cert).expect("bundle");
    let n = bundle.events.len() as u64;
    assert_eq!(n, 14);
    bundle.verify(&net.genesis).expect("bundle verifies");
    let json = serde_json::to_vec(&bundle).expect("serialises");
    eprintln!(
        "[setup] Bundle: {n} events, JSON {} bytes = {} bytes/event; inclusion path {} hashes, \
         index proof {} siblings",
        json.len(),
        json.len() as u64 / n,
        bundle.events[0].proof.len(),
        bundle.index_proof.siblings.len()
    );

    let mut group = c.benchmark_group("bundle");
    configure(&mut group);
    group.throughput(Throughput::Elements(n));
    group.bench_function("verify_14_events", |b| {
        b.iter(|| black_box(&bundle).verify(&net.genesis).expect("verifies"))
    });
    group.bench_function("from_json_and_verify_14_events", |b| {
        b.iter(|| {
            ProofBundle::from_json(black_box(&json))
                .expect("parses")
                .verify(&net.genesis)
                .expect("verifies")
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_signatures,
    bench_events,
    bench_merkle,
    bench_index,
    bench_bundle
);
criterion_main!(benches);
