//! Writes a sample genesis and a proof bundle for consignment 1 of the sample network to the
//! given directory (`cargo run -p tradelog-protocol --example sample_bundle -- DIR`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use tradelog_protocol::sample::{consignment_route, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Ledger, Subject};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let net = SampleNetwork::new(4).unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    let t0 = net.genesis.time;
    for n in 0..3 {
        let events = consignment_route(&net, n, t0).unwrap();
        let time = events.iter().map(|e| e.body().time).max().unwrap() + u64::from(n);
        ledger.append_block(events, time).unwrap();
    }
    let head = ledger.head().unwrap().clone();
    let keys: Vec<_> = net.validator_keys.iter().take(3).collect();
    let bundle = ledger
        .bundle(
            &Subject::Consignment(sample_ucr(1)),
            Certificate::sign(&head, 0, &keys),
        )
        .unwrap();
    std::fs::write(
        format!("{dir}/genesis.json"),
        serde_json::to_string_pretty(&net.genesis).unwrap(),
    )
    .unwrap();
    std::fs::write(
        format!("{dir}/bundle.json"),
        serde_json::to_string_pretty(&bundle).unwrap(),
    )
    .unwrap();
    println!("wrote {dir}/genesis.json and {dir}/bundle.json");
}
