//! Golden vectors: fixed inputs must give exactly these bytes, and docs/PROTOCOL.md must list them.
//! Regenerate only for a deliberate format change: `cargo run -p tradelog-protocol --example vectors`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::vectors;

/// A few vectors pinned here as well, so a change cannot slip through by editing the doc alone.
const PINNED: [(&str, &str); 8] = [
    ("public_key", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
    ("event_id", "0401e553ddead85bcfa12def79d1f7fdc569da11d921dc528a5b1382e743d832"),
    ("event_signature", "68df35f5b72e6aa7ba8299501d3ec24b5e1fb6ecff7ab05e92cda8f4a774b282ee1418be856b9d7c9b2c868ab5769f9e2d2d5dcf729710033b0494a16c4f3008"),
    ("merkle_empty_root", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"),
    ("merkle_root_7", "447242b100f0c5b345113b25b9fb2feff7448146255b57736a4c640ce68d1f93"),
    ("index_root", "7a596b44d70a8a125bbbb57f39808b897288098d5a70e338debb4e46337528ed"),
    ("genesis_hash", "ff343dbcc6b1c7890a7d442222ac90427381cd6c6a7aee973f112d4d1619e6bc"),
    ("head_hash", "4a6dafae0e37460a6473328c4163c79b70a17c70d27c8d70611a96923e64e26d"),
];

#[test]
fn pinned_vectors() {
    let v = vectors::compute().expect("vector inputs are valid").values;
    for (name, want) in PINNED {
        assert_eq!(v.get(name).map(String::as_str), Some(want), "{name}");
    }
}

#[test]
fn protocol_md_lists_every_vector() {
    let v = vectors::compute().expect("vector inputs are valid").values;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md"))
        .expect("docs/PROTOCOL.md is readable");
    for (name, value) in &v {
        let line = format!("{name} = {value}");
        assert!(
            doc.lines().any(|l| l == line),
            "docs/PROTOCOL.md lacks the line `{line}`"
        );
    }
}

#[test]
fn rfc8032_test_1_signature() {
    // RFC 8032 section 7.1 test 1: empty message.
    let mut seed = [0u8; 32];
    hex::decode_to_slice(vectors::RFC8032_SEED, &mut seed).unwrap();
    let sig = tradelog_protocol::SecretKey::from_seed(&seed).sign(b"");
    assert_eq!(
        sig.to_hex(),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
}

/// PROTOCOL.md section 12 prints the request-signature vector: both headers and the signature
/// base, exactly as `httpsig` computes them.
#[test]
fn protocol_md_has_the_request_signature_vector() {
    use tradelog_protocol::httpsig;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md"))
        .expect("docs/PROTOCOL.md is readable");
    let start = doc.find("<!-- httpsig:begin -->").expect("httpsig:begin");
    let end = doc.find("<!-- httpsig:end -->").expect("httpsig:end");
    let section = &doc[start..end];
    let (key, req, created, expires, nonce) = httpsig::vector();
    let h = httpsig::sign(&key, &req, created, expires, Some(nonce)).unwrap();
    for line in [
        format!("Signature-Input: {}", h.signature_input),
        format!("Signature: {}", h.signature),
    ] {
        assert!(
            section.lines().any(|l| l == line),
            "PROTOCOL.md 12 lacks `{line}`"
        );
    }
    let params = h.signature_input.strip_prefix("sig1=").unwrap();
    let base =
        String::from_utf8(httpsig::signature_base(&req, &httpsig::COMPONENTS, params)).unwrap();
    assert!(
        section.contains(&format!("```text\n{base}\n```")),
        "PROTOCOL.md 12 lacks the base:\n{base}"
    );
    // And it verifies as a node checks it.
    let signed = httpsig::parse(&h.signature_input, &h.signature).unwrap();
    assert_eq!(signed.verify(&req, created).unwrap(), key.public());
}
