//! Writes deterministic seed inputs for every fuzz target, built from the sample network, into
//! `corpus/<target>/` (or `<dir>/<target>/` given as the first argument).
//!
//! Run from `protocol/fuzz`: `cargo run --example gen_seeds`. Without seeds the fuzzer cannot
//! reach past signature checks (it cannot forge signatures or guess the sample keys), so a
//! seeded corpus gives much deeper coverage of `event_json`, `bundle_json` and the proof targets.

use std::fs;
use std::path::{Path, PathBuf};

use tradelog_protocol::disclosure::Disclosure;
use tradelog_protocol::index::{Index, Subject};
use tradelog_protocol::merkle::{leaf_hash, MerkleLog};
use tradelog_protocol::sample::{consignment_route, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Hash, Ledger, SecretKey};

const T0: u64 = 1_767_225_600_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Out {
    dir: PathBuf,
    count: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.dir.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{name}")), bytes)?;
        self.count += 1;
        Ok(())
    }
}

fn framed(prefix: &[&[u8]], json: &str) -> Vec<u8> {
    let mut out: Vec<u8> = prefix.concat();
    out.extend_from_slice(json.as_bytes());
    out
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("corpus"), PathBuf::from);
    let mut out = Out { dir, count: 0 };
    let net = SampleNetwork::new(4).ok_or("sample network")?;

    // event_json, jcs_canonicalize, ids_parse: the events of one consignment route.
    let route = consignment_route(&net, 0, T0).ok_or("route")?;
    for (i, e) in route.iter().enumerate() {
        out.put(
            "event_json",
            &format!("route0-{i:02}"),
            e.to_json().as_bytes(),
        )?;
        let body = serde_json::to_string(e.body())?;
        out.put("jcs_canonicalize", &format!("body-{i:02}"), body.as_bytes())?;
    }
    let first = &route[0];
    for (name, s) in [
        ("ucr", sample_ucr(7).to_string()),
        ("container", sample_container(7).to_string()),
        ("locode", "NLRTM".to_owned()),
        ("org", "nl-customs".to_owned()),
        ("hash", first.id().to_hex()),
        ("key", first.body().issuer.key.to_hex()),
        ("sig", first.sig().to_hex()),
    ] {
        out.put("ids_parse", name, s.as_bytes())?;
    }
    for (i, s) in [
        r#"{"b": 1, "a": [true, false], "c": {"": -9007199254740991}}"#,
        r#"{"k": "a\"b\\c\n\u0001\u007f\u00e9", "\ue000": 1, "\ud83d\ude00": 2}"#,
        r#"[1, "x", [], {}, false, 9007199254740991]"#,
    ]
    .iter()
    .enumerate()
    {
        out.put("jcs_canonicalize", &format!("table-{i}"), s.as_bytes())?;
    }

    // genesis_json (and jcs): the sample genesis with 1 to 4 validators.
    for v in 1..=4 {
        let g = SampleNetwork::new(v).ok_or("sample network")?.genesis;
        let json = serde_json::to_string(&g)?;
        out.put("genesis_json", &format!("sample-{v}"), json.as_bytes())?;
        out.put("jcs_canonicalize", &format!("genesis-{v}"), json.as_bytes())?;
    }

    // bundle_json: honest bundles from a 3-block ledger with 5 interleaved consignments.
    let mut ledger = Ledger::new(&net.genesis);
    for block in 0..3u32 {
        let mut events = Vec::new();
        for n in 0..5u32 {
            let r = consignment_route(&net, n, T0).ok_or("route")?;
            events.extend(r.into_iter().skip((block * 5) as usize).take(5));
        }
        // A block's time may not be before any of its events' times.
        let time = events
            .iter()
            .map(|e| e.body().time)
            .max()
            .ok_or("empty block")?;
        ledger.append_block(events, time)?;
    }
    let head = ledger.head().ok_or("head")?.clone();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let cert = Certificate::sign(&head, 0, &keys);
    for (name, subject) in [
        ("consignment-0", Subject::Consignment(sample_ucr(0))),
        ("container-3", Subject::Container(sample_container(3))),
        ("absent", Subject::Consignment(sample_ucr(99))),
    ] {
        let b = ledger.bundle(&subject, cert.clone()).ok_or("bundle")?;
        b.verify(&net.genesis)?;
        out.put("bundle_json", name, serde_json::to_string(&b)?.as_bytes())?;
    }

    // bundle_json: a bundle whose membership proof has a key rotation and a validator-set
    // transition (PROTOCOL.md 8a, 9d), so the fuzzer starts from the membership checks.
    let mut ledger = Ledger::new(&net.genesis);
    let route = consignment_route(&net, 0, T0).ok_or("route")?;
    let v3: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let block = |ledger: &mut Ledger,
                 events: Vec<tradelog_protocol::Event>,
                 signers: &[&SecretKey]|
     -> Result<()> {
        let time = events.iter().map(|e| e.body().time).max().unwrap_or(T0) + 1;
        let head = ledger.append_block(events, time)?;
        ledger.certify(head.height, Certificate::sign(&head, 0, signers));
        Ok(())
    };
    block(&mut ledger, route[..5].to_vec(), &v3)?;
    let old = net.org_keys.get("shopfast").ok_or("key")?.clone();
    let new = tradelog_protocol::sample::dev_key("rotated/shopfast");
    let add = tradelog_protocol::Change::AddKey {
        org: "shopfast".parse()?,
        key: new.public(),
    };
    let e = net
        .membership_event("shopfast", &old, 1, add, &[], T0)
        .ok_or("membership")?;
    let newcomer = tradelog_protocol::sample::dev_key("validator/rhine-barge");
    let change = tradelog_protocol::Change::SetValidators {
        validators: net
            .validators_with(3, &[("rhine-barge", newcomer.public())])
            .ok_or("validator set")?,
    };
    let nl = net.org_keys.get("nl-customs").ok_or("key")?.clone();
    let sv = net
        .membership_event("nl-customs", &nl, 2, change, &v3, T0)
        .ok_or("membership")?;
    let mut events = route[5..9].to_vec();
    events.push(e);
    events.push(sv);
    block(&mut ledger, events, &v3)?;
    let new_signers = [v3[0], v3[1], &newcomer];
    block(&mut ledger, route[9..].to_vec(), &new_signers)?;
    let cert = Certificate::sign(ledger.head().ok_or("head")?, 0, &new_signers);
    let b = ledger
        .bundle(&Subject::Consignment(sample_ucr(0)), cert)
        .ok_or("bundle")?;
    b.verify(&net.genesis)?;
    out.put(
        "bundle_json",
        "membership-transition",
        serde_json::to_string(&b)?.as_bytes(),
    )?;

    // inclusion_proof / consistency_proof: honest proofs from the targets' 1024-leaf log,
    // framed with the real leaf and roots.
    let mut log = MerkleLog::new();
    for i in 0..1024u64 {
        log.push(leaf_hash(&i.to_be_bytes()));
    }
    for (index, size) in [(0, 1), (3, 7), (6, 7), (100, 1000), (1023, 1024)] {
        let p = log.prove_inclusion(index, size).ok_or("inclusion")?;
        let leaf = log.leaf(index).ok_or("leaf")?;
        let root = log.root_at(size).ok_or("root")?;
        let json = serde_json::to_string(&p)?;
        out.put(
            "inclusion_proof",
            &format!("{index}-{size}"),
            &framed(&[leaf.as_bytes(), root.as_bytes()], &json),
        )?;
    }
    for (first, second) in [(0, 5), (4, 4), (4, 7), (3, 7), (6, 1000), (512, 1024)] {
        let p = log.prove_consistency(first, second).ok_or("consistency")?;
        let r1 = log.root_at(first).ok_or("root")?;
        let r2 = log.root_at(second).ok_or("root")?;
        let json = serde_json::to_string(&p)?;
        out.put(
            "consistency_proof",
            &format!("{first}-{second}"),
            &framed(&[r1.as_bytes(), r2.as_bytes()], &json),
        )?;
    }

    // index_proof: the target's 32-subject index; selector i picks subject i, 255 the input key.
    let mut index = Index::new();
    let mut subjects = Vec::new();
    for n in 0..16u32 {
        subjects.push(Subject::Consignment(sample_ucr(n)));
        subjects.push(Subject::Container(sample_container(n)));
    }
    for (i, s) in subjects.iter().enumerate() {
        for e in 0..=(i % 3) {
            index.record(s, &Hash::of(&[&(i as u64).to_be_bytes(), &[e as u8]]));
        }
    }
    let root = index.root();
    for sel in [0u8, 5, 17, 31] {
        let key = subjects[usize::from(sel)].key();
        let json = serde_json::to_string(&index.prove(&key))?;
        out.put(
            "index_proof",
            &format!("subject-{sel}"),
            &framed(&[&[sel], key.as_bytes(), root.as_bytes()], &json),
        )?;
    }
    let absent = Subject::Consignment(sample_ucr(999)).key();
    let json = serde_json::to_string(&index.prove(&absent))?;
    out.put(
        "index_proof",
        "absent",
        &framed(&[&[255], absent.as_bytes(), root.as_bytes()], &json),
    )?;

    // disclosure_json: the honest disclosures of the target's fixture body, and a wrong one.
    for (name, value, salt) in [
        ("hs_code", "850760", [0x11u8; 16]),
        ("origin_country", "CN", [0x22; 16]),
    ] {
        let (d, _) = Disclosure::new(name, value, &salt);
        out.put(
            "disclosure_json",
            name,
            serde_json::to_string(&d)?.as_bytes(),
        )?;
    }
    let (wrong, _) = Disclosure::new("hs_code", "850761", &[0x11; 16]);
    out.put(
        "disclosure_json",
        "wrong-value",
        serde_json::to_string(&wrong)?.as_bytes(),
    )?;

    println!(
        "wrote {} seed files under {}",
        out.count,
        Path::new(&out.dir).display()
    );
    Ok(())
}
