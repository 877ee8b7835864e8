//! JSON-decoded `disclosure::Disclosure` (a revealed detail field a client receives) checked
//! against an event body that commits to two detail fields. Must not panic; it must verify
//! exactly when it is one of the two honest disclosures (same name, value and lowercase-hex salt).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::disclosure::Disclosure;
use tradelog_protocol::sample::body;
use tradelog_protocol::{EventBody, EventKind};

/// The fields the fixture body commits to: (name, value, salt). Kept in sync with
/// `examples/gen_seeds.rs`, which writes the honest disclosures as seeds.
const FIELDS: [(&str, &str, [u8; 16]); 2] = [
    ("hs_code", "850760", [0x11; 16]),
    ("origin_country", "CN", [0x22; 16]),
];

struct Fixture {
    body: EventBody,
    honest: Vec<Disclosure>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut b = body(EventKind::Declared, 1_767_225_600_000).expect("sample body");
        let mut honest = Vec::new();
        for (name, value, salt) in FIELDS {
            let (d, commitment) = Disclosure::new(name, value, &salt);
            b.details.insert(name.to_owned(), commitment);
            honest.push(d);
        }
        Fixture { body: b, honest }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(d) = serde_json::from_slice::<Disclosure>(data) else {
        return;
    };
    let f = fixture();
    let result = d.verify(&f.body);
    let _ = result.as_ref().map_err(ToString::to_string);
    assert_eq!(
        result.is_ok(),
        f.honest.contains(&d),
        "disclosure accepted/refused wrongly: {d:?} -> {result:?}"
    );
});
