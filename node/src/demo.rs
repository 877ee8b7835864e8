//! The in-process demo: a sample ledger with consignments from three carriers, a platform and
//! two customs administrations, certified by the four sample validators, exported as bundles.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradelog_protocol::sample::{consignment_route, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Head, Ledger, SecretKey, Subject};

/// Events per block in the demo.
pub const EVENTS_PER_BLOCK: usize = 64;

/// What the demo produced.
#[derive(Debug)]
pub struct DemoSummary {
    /// The certified head.
    pub head: Head,
    /// Blocks appended.
    pub blocks: u64,
    /// Files written.
    pub files: Vec<PathBuf>,
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T, files: &mut Vec<PathBuf>) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    files.push(path.to_owned());
    Ok(())
}

/// Builds a ledger with `consignments` sample consignments (14 events each), certifies every
/// block with 3 of the 4 sample validators, and writes `genesis.json`, `head.json` and one proof
/// bundle per consignment and container under `out`.
pub fn run(out: &Path, consignments: u32, start_ms: u64) -> Result<DemoSummary> {
    let net = SampleNetwork::new(4).context("sample network")?;
    let mut ledger = Ledger::new(&net.genesis);
    let mut events = Vec::new();
    for n in 0..consignments {
        // Consignments start an hour apart, so their routes interleave in the log.
        events.extend(
            consignment_route(&net, n, start_ms + u64::from(n) * 3_600_000)
                .context("sample route")?,
        );
    }
    events.sort_by_key(|e| e.body().time);
    let signers: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let mut blocks = 0;
    let mut cert = None;
    for chunk in events.chunks(EVENTS_PER_BLOCK) {
        let time = chunk
            .iter()
            .map(|e| e.body().time)
            .max()
            .unwrap_or(start_ms);
        let head = ledger.append_block(chunk.to_vec(), time)?;
        cert = Some(Certificate::sign(&head, 0, &signers));
        blocks += 1;
    }
    let head = ledger.head().cloned().context("no events, no head")?;
    let cert = cert.context("no certificate")?;
    std::fs::create_dir_all(out.join("bundles"))
        .with_context(|| format!("cannot create {}", out.display()))?;
    let mut files = Vec::new();
    write_json(&out.join("genesis.json"), &net.genesis, &mut files)?;
    write_json(
        &out.join("head.json"),
        &serde_json::json!({"head": head, "hash": head.hash(), "certificate": cert}),
        &mut files,
    )?;
    for n in 0..consignments {
        for (subject, name) in [
            (
                Subject::Consignment(sample_ucr(n)),
                sample_ucr(n).to_string(),
            ),
            (
                Subject::Container(sample_container(n)),
                sample_container(n).to_string(),
            ),
        ] {
            let bundle = ledger.bundle(&subject, cert.clone()).context("bundle")?;
            write_json(
                &out.join("bundles").join(format!("{name}.json")),
                &bundle,
                &mut files,
            )?;
        }
    }
    Ok(DemoSummary {
        head,
        blocks,
        files,
    })
}
