//! End-to-end: the real `tradelog-node` and `tradelog` binaries, as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;

use tradelog_protocol::sample::{sample_container, sample_ucr};
use tradelog_protocol::{Event, Genesis, ProofBundle};
use tradelog_tests::{run, scratch};

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn demo_ledger_bundles_verify_offline_and_lies_are_refused() {
    let dir = scratch("demo");
    let d = dir.to_str().unwrap();
    let o = run(
        "tradelog-node",
        &["demo", "--out", d, "--consignments", "6"],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("84 events"), "{}", text(&o));
    let genesis = format!("{d}/genesis.json");

    // A consignment (carrier via Hamburg, German customs) verifies: 14 events, all marks.
    let ucr = sample_ucr(3).to_string();
    let bundle = format!("{d}/bundles/{ucr}.json");
    let o = run("tradelog", &["verify", "--genesis", &genesis, &bundle]).unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("14 events, complete and verified"), "{out}");
    assert_eq!(out.matches('✓').count(), 14, "{out}");
    assert!(
        out.contains("de-customs") && out.contains("DEHAM") && out.contains("north-star-shipping"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("VERIFIED"));

    // The container bundle verifies too, in JSON mode.
    let cbundle = format!("{d}/bundles/{}.json", sample_container(3));
    let o = run(
        "tradelog",
        &["verify", "--json", "--genesis", &genesis, &cbundle],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["events"].as_array().map(Vec::len), Some(9));

    // A node that drops an event from the bundle is caught, with a precise reason.
    let mut b: ProofBundle = ProofBundle::from_json(&fs::read(&bundle).unwrap()).unwrap();
    b.events.remove(7);
    let lie = format!("{d}/lie.json");
    fs::write(&lie, serde_json::to_vec(&b).unwrap()).unwrap();
    let o = run("tradelog", &["verify", "--genesis", &genesis, &lie]).unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("incomplete: the index commits to 14 events, the bundle has 13"),
        "{}",
        text(&o)
    );

    // Against another ledger's genesis, nothing verifies.
    let mut g = Genesis::from_json(&fs::read(&genesis).unwrap()).unwrap();
    g.chain = "another-ledger".into();
    let other = format!("{d}/other-genesis.json");
    fs::write(&other, serde_json::to_vec(&g).unwrap()).unwrap();
    let o = run("tradelog", &["verify", "--genesis", &other, &bundle]).unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("head is for chain"), "{}", text(&o));
}

#[test]
fn keygen_and_event_produce_a_verifiable_signed_event() {
    let dir = scratch("event");
    let key = dir.join("carrier.key");
    let k = key.to_str().unwrap();
    let o = run("tradelog", &["keygen", "--out", k]).unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let public = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert_eq!(public.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // keygen never overwrites a key.
    assert!(!run("tradelog", &["keygen", "--out", k])
        .unwrap()
        .status
        .success());

    let disc = dir.join("disclosures.json");
    let o = run(
        "tradelog",
        &[
            "event",
            "--key",
            k,
            "--org",
            "blue-anchor-lines",
            "--chain",
            "tradelog-devnet",
            "--kind",
            "arrived",
            "--time",
            "2026-03-01T08:30:00Z",
            "--ucr",
            "9GB123456789012-INV0001",
            "--container",
            "CSQU3054383",
            "--location",
            "NLRTM",
            "--mode",
            "sea",
            "--means",
            "IMO9321483",
            "--voyage",
            "042W",
            "--detail",
            "gross_mass_kg=12040",
            "--disclosures",
            disc.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let event = Event::from_json(&o.stdout).unwrap();
    assert!(event.verify_signature().is_ok());
    assert_eq!(event.body().issuer.key.to_hex(), public);
    assert_eq!(event.body().time, 1_772_353_800_000);
    let disclosures: Vec<tradelog_protocol::disclosure::Disclosure> =
        serde_json::from_slice(&fs::read(&disc).unwrap()).unwrap();
    assert_eq!(disclosures[0].value, "12040");
    assert!(disclosures[0].verify(event.body()).is_ok());

    // Bad input names the flag and writes nothing.
    for (flag, value, want) in [
        (
            "--container",
            "CSQU3054384",
            "--container: invalid container number",
        ),
        ("--location", "Rotterdam", "--location: invalid UN/LOCODE"),
        ("--time", "yesterday", "--time"),
        ("--kind", "teleported", "--kind"),
    ] {
        let mut pairs = vec![
            ("--key", k),
            ("--org", "blue-anchor-lines"),
            ("--chain", "tradelog-devnet"),
            ("--kind", "arrived"),
            ("--time", "2026-03-01T08:30:00Z"),
            ("--ucr", "9GB123456789012-INV0001"),
            ("--location", "NLRTM"),
        ];
        pairs.retain(|(f, _)| *f != flag);
        pairs.push((flag, value));
        let mut args = vec!["event"];
        args.extend(pairs.iter().flat_map(|(f, v)| [*f, *v]));
        let o = run("tradelog", &args).unwrap();
        assert!(!o.status.success());
        assert!(o.stdout.is_empty());
        assert!(text(&o).contains(want), "want {want:?} in {}", text(&o));
    }
}

/// The genesis ceremony: every party checks the document it received with
/// `tradelog-node genesis --verify`, compares the printed hash and summary, and can have the
/// command compare the hash for it; a bad document or another hash exits non-zero and says why.
#[test]
fn genesis_verify_prints_the_hash_and_summary_and_refuses_a_mismatch() {
    let dir = scratch("genesis-verify");
    let net = tradelog_protocol::sample::SampleNetwork::new(4).unwrap();
    let path = dir.join("genesis.json");
    fs::write(&path, serde_json::to_string_pretty(&net.genesis).unwrap()).unwrap();
    let file = path.to_str().unwrap();
    let hash = net.genesis.hash().to_hex();

    let o = run("tradelog-node", &["genesis", "--verify", file]).unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.starts_with(&format!("genesis {hash}\n")), "{out}");
    assert!(
        out.contains(&format!("chain    {}", net.genesis.chain)),
        "{out}"
    );
    assert!(
        out.contains("nl-customs") && out.contains("customs"),
        "{out}"
    );
    assert!(out.contains("validators (4, total power 4)"), "{out}");
    assert!(
        out.contains("any 2 of 4 validators down halt the chain (1 may be down)"),
        "{out}"
    );

    let o = run(
        "tradelog-node",
        &["genesis", "--verify", file, "--expect", &hash],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("matches the expected hash"),
        "{}",
        text(&o)
    );

    let other = "ab".repeat(32);
    let o = run(
        "tradelog-node",
        &["genesis", "--verify", file, "--expect", &other],
    )
    .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "genesis hash mismatch: {file} has genesis {hash}, the ceremony agreed on {other}"
        )),
        "{err}"
    );

    // An invalid document: the field is named, nothing else is printed as if it were fine.
    let mut v = serde_json::to_value(&net.genesis).unwrap();
    v["chain"] = "Not A Chain".into();
    let bad = dir.join("bad.json");
    fs::write(&bad, v.to_string()).unwrap();
    let o = run(
        "tradelog-node",
        &["genesis", "--verify", bad.to_str().unwrap()],
    )
    .unwrap();
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not a valid genesis document") && err.contains("chain:"),
        "{err}"
    );

    // The builder still works, and what it writes verifies.
    let o = run("tradelog-node", &["genesis"]).unwrap();
    assert!(!o.status.success(), "no input and no --verify is an error");
}
