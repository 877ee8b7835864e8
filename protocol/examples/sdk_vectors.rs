//! Writes the PROTOCOL.md section 11 vectors with their inputs, plus cross-checks for other
//! implementations (BLAKE3 lengths, public-key vetting, JCS cases), as one JSON file for the
//! SDKs' tests (`cargo run -p tradelog-protocol --example sdk_vectors -- FILE`; sdk/fixtures).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use serde_json::{json, Value};
use tradelog_protocol::{hash::Hash, jcs, vectors, PublicKey};

fn main() {
    let out = std::env::args().nth(1).expect("usage: sdk_vectors FILE");
    let v = vectors::compute().expect("vectors");
    // BLAKE3 over the official test-vector input (byte i is i mod 251), across chunk boundaries.
    let blake3: Vec<Value> = [
        0usize, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097, 8192, 8193,
        16384, 31744,
    ]
    .iter()
    .map(|&n| {
        let input: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        json!({"len": n, "hash": Hash::of(&[&input]).to_hex()})
    })
    .collect();
    // Public-key vetting: y = p + k (k < 19, non-canonical encodings), the identity with the
    // sign bit set, and a valid key; each with the reference's verdict.
    let mut candidates: Vec<[u8; 32]> = (0u8..19)
        .map(|k| {
            let mut b = [0xffu8; 32];
            b[0] = 0xed + k;
            b[31] = 0x7f;
            b
        })
        .collect();
    let mut id_neg = [0u8; 32];
    id_neg[0] = 1;
    id_neg[31] = 0x80;
    candidates.push(id_neg);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    candidates.push(identity);
    let keys: Vec<Value> = candidates
        .iter()
        .map(|b| {
            let verdict = match PublicKey::from_bytes(b) {
                Ok(_) => "ok".to_owned(),
                Err(e) => format!("{e:?}"),
            };
            json!({"key": hex(b), "verdict": verdict})
        })
        .collect();
    // JCS: inputs as JSON texts and the reference's canonical form.
    let jcs_inputs = [
        r#"{"b": 1, "a": [true, false], "c": {"z": [], "y": {}}}"#,
        r#"{"k": "a\"b\\c\n\u0001\u007f\u00e9\u2028/"}"#,
        r#"{"\ue000": 1, "\ud83d\ude00": 2, "\u00e9": 3, "Z": 4, "": 5}"#,
        r#"[-9007199254740991, 9007199254740991, 0, "\t\b\f\r"]"#,
    ];
    let jcs_cases: Vec<Value> = jcs_inputs
        .iter()
        .map(|t| {
            let value: Value = serde_json::from_str(t).unwrap();
            let canon = String::from_utf8(jcs::canonicalize(&value).unwrap()).unwrap();
            json!({"input": t, "canonical": canon})
        })
        .collect();
    let doc = json!({
        "inputs": {
            "seed_1": vectors::RFC8032_SEED,
            "seed_2": vectors::RFC8032_SEED_2,
            "seed_3": vectors::RFC8032_SEED_3,
            "event_body_json": vectors::EVENT_BODY_JSON,
            "detail": {"name": "hs_code", "value": "850760", "salt": "00".repeat(16)},
            "merkle_leaves": 7,
            "index_absent_ucr": "6NL000000000-ZZ",
            "head": {"chain": "tradelog-vectors", "height": 1, "time": 1_767_225_601_000u64, "round": 0},
            "membership": {"seq": 1, "time": 1_767_225_600_000u64},
        },
        "values": v.values,
        "blake3": blake3,
        "keys": keys,
        "jcs": jcs_cases,
    });
    std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
