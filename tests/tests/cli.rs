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

#[test]
fn id_checks_and_completes_identifiers_and_names_what_is_wrong() {
    let ok = |args: &[&str]| {
        let o = run("tradelog", args).unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };
    let refused = |args: &[&str]| {
        let o = run("tradelog", args).unwrap();
        assert!(!o.status.success(), "{args:?} was accepted: {}", text(&o));
        assert!(o.stdout.is_empty(), "{}", text(&o));
        text(&o)
    };
    // A container number without its check digit gets it; with one, it is checked.
    assert!(ok(&["id", "CSQU305438"]).contains("CSQU3054383: check digit 3 added"));
    assert!(ok(&["id", "CSQU3054383"]).contains("owner CSQ, category U"));
    assert!(refused(&["id", "CSQU3054384"]).contains("check digit is 4, expected 3"));
    // Lower case is not silently fixed: the ledger refuses it.
    assert!(refused(&["id", "csqu3054383"]).contains("owner code (characters 1-3) must be A-Z"));
    // UCR and UN/LOCODE, guessed or named.
    assert!(ok(&["id", "9GB123456789012-INV0001"])
        .contains("country GB, reference 123456789012-INV0001"));
    assert!(ok(&["id", "NLRTM"]).contains("country NL, location RTM"));
    assert!(refused(&["id", "--kind", "locode", "NL RTM"]).contains("must be 5 characters"));
    assert!(refused(&["id", "--kind", "ucr", "NLRTM"]).contains("last digit of the year"));
    // A value that came from elsewhere is printed escaped.
    assert!(refused(&["id", "--kind", "org", "a\u{1b}[2Jb"]).contains("\\u{1b}"));
}

#[test]
fn disclose_verify_checks_a_field_against_a_signed_event_and_a_verified_bundle() {
    let dir = scratch("disclose");
    let d = dir.to_str().unwrap();
    let key = format!("{d}/carrier.key");
    assert!(run("tradelog", &["keygen", "--out", &key])
        .unwrap()
        .status
        .success());
    let disc = format!("{d}/disclosures.json");
    let o = run(
        "tradelog",
        &[
            "event",
            "--key",
            &key,
            "--org",
            "blue-anchor-lines",
            "--chain",
            "tradelog-devnet",
            "--kind",
            "declared",
            "--time",
            "2026-03-01T08:30:00Z",
            "--ucr",
            "9GB123456789012-INV0001",
            "--location",
            "NLRTM",
            "--detail",
            "hs_code=850760",
            "--detail",
            "value_eur=18250",
            "--disclosures",
            &disc,
        ],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let event = format!("{d}/event.json");
    fs::write(&event, &o.stdout).unwrap();

    // Both fields match; the output says the event is not proven to be on the ledger.
    let o = run(
        "tradelog",
        &[
            "disclose",
            "verify",
            "--disclosures",
            &disc,
            "--event",
            &event,
        ],
    )
    .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("hs_code = \"850760\": matches")
            && out.contains("value_eur = \"18250\": matches"),
        "{out}"
    );
    assert!(out.contains("not proven to be on the ledger"), "{out}");

    // The trader hands out one field only.
    let one = format!("{d}/hs.json");
    let o = run(
        "tradelog",
        &[
            "disclose",
            "select",
            "--disclosures",
            &disc,
            "--name",
            "hs_code",
            "--out",
            &one,
        ],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let picked: serde_json::Value = serde_json::from_slice(&fs::read(&one).unwrap()).unwrap();
    assert_eq!(picked.as_array().map(Vec::len), Some(1));
    assert_eq!(picked[0]["name"], "hs_code");
    let o = run(
        "tradelog",
        &[
            "disclose",
            "select",
            "--disclosures",
            &disc,
            "--name",
            "weight",
            "--out",
            &format!("{d}/w.json"),
        ],
    )
    .unwrap();
    assert!(
        !o.status.success() && text(&o).contains("--name weight: no such field"),
        "{}",
        text(&o)
    );

    // A changed value does not match, and the command fails.
    let mut lie: serde_json::Value = serde_json::from_slice(&fs::read(&one).unwrap()).unwrap();
    lie[0]["value"] = "850761".into();
    let lie_path = format!("{d}/lie.json");
    fs::write(&lie_path, serde_json::to_vec(&lie).unwrap()).unwrap();
    let o = run(
        "tradelog",
        &[
            "disclose",
            "verify",
            "--disclosures",
            &lie_path,
            "--event",
            &event,
        ],
    )
    .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("hs_code: DOES NOT MATCH"), "{}", text(&o));
    // A forged event (its signature no longer covers the body) is refused before any field.
    let mut forged: serde_json::Value = serde_json::from_slice(&fs::read(&event).unwrap()).unwrap();
    forged["body"]["location"] = "DEHAM".into();
    let forged_path = format!("{d}/forged.json");
    fs::write(&forged_path, serde_json::to_vec(&forged).unwrap()).unwrap();
    let o = run(
        "tradelog",
        &[
            "disclose",
            "verify",
            "--disclosures",
            &one,
            "--event",
            &forged_path,
        ],
    )
    .unwrap();
    assert!(
        !o.status.success() && !text(&o).contains("matches"),
        "{}",
        text(&o)
    );

    // From a bundle verified against the genesis: the demo's declared event commits to hs_code
    // with the sample's deterministic salt, so the disclosure can be rebuilt here.
    let o = run(
        "tradelog-node",
        &["demo", "--out", d, "--consignments", "3"],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let genesis = format!("{d}/genesis.json");
    let bundle = format!("{d}/bundles/{}.json", sample_ucr(2));
    let b = ProofBundle::from_json(&fs::read(&bundle).unwrap()).unwrap();
    let declared = b
        .events
        .iter()
        .find(|p| p.event.body().details.contains_key("hs_code"))
        .expect("a declared event with hs_code");
    let committed = declared.event.body().details["hs_code"];
    let salt = (0u32..16)
        .flat_map(|n| (0u32..32).map(move |s| (n, s)))
        .map(|(n, s)| {
            let h = tradelog_protocol::Hash::domain(
                b"sample-salt",
                &[&n.to_be_bytes(), &s.to_be_bytes()],
            );
            let mut salt = [0u8; 16];
            salt.copy_from_slice(&h.0[..16]);
            salt
        })
        .find(|salt| {
            tradelog_protocol::disclosure::commit_detail("hs_code", "850760", salt) == committed
        })
        .expect("the sample's salt");
    let (disclosure, _) =
        tradelog_protocol::disclosure::Disclosure::new("hs_code", "850760", &salt);
    let dpath = format!("{d}/demo-hs.json");
    fs::write(&dpath, serde_json::to_vec(&disclosure).unwrap()).unwrap();
    let id = declared.event.id().to_string();
    let args = [
        "disclose",
        "verify",
        "--disclosures",
        &dpath,
        "--bundle",
        &bundle,
        "--genesis",
        &genesis,
        "--id",
        &id,
    ];
    let o = run("tradelog", &args).unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("on the ledger at log index {}", declared.index)),
        "{out}"
    );
    // A bundle that does not verify proves nothing, whatever the disclosure.
    let mut g = Genesis::from_json(&fs::read(&genesis).unwrap()).unwrap();
    g.chain = "another-ledger".into();
    let other = format!("{d}/other-genesis.json");
    fs::write(&other, serde_json::to_vec(&g).unwrap()).unwrap();
    let args = [
        "disclose",
        "verify",
        "--disclosures",
        &dpath,
        "--bundle",
        &bundle,
        "--genesis",
        &other,
        "--id",
        &id,
    ];
    let o = run("tradelog", &args).unwrap();
    assert!(
        !o.status.success() && text(&o).contains("does NOT verify"),
        "{}",
        text(&o)
    );
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

/// `tradelog-node genesis --verify g.json | head -1` (the ceremony's way to read the hash): the
/// reader closes the pipe early, and the command ends quietly instead of panicking on the write.
#[test]
fn a_closed_output_pipe_ends_a_node_command_quietly() {
    let dir = scratch("closed-pipe");
    let net = tradelog_protocol::sample::SampleNetwork::new(4).unwrap();
    let path = dir.join("genesis.json");
    fs::write(&path, serde_json::to_string_pretty(&net.genesis).unwrap()).unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write to stdout now fails with EPIPE
    let o = std::process::Command::new(tradelog_tests::bin_dir().unwrap().join("tradelog-node"))
        .args(["genesis", "--verify", path.to_str().unwrap()])
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.status.success(), "{:?}: {err}", o.status);
}
