//! JSON-decoded `disclosure::Disclosure` (a revealed detail field a client receives) checked
//! against a sample event body that commits to `hs_code`. Must not panic; it must verify exactly
//! when it is the honest disclosure (same name, value and lowercase-hex salt).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::disclosure::Disclosure;
use tradelog_protocol::hash::Hash;
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_protocol::{EventBody, EventKind};

const T0: u64 = 1_767_225_600_000;

struct Fixture {
    body: EventBody,
    honest: Disclosure,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let net = SampleNetwork::new(4).expect("sample network");
        let route = consignment_route(&net, 0, T0).expect("sample route");
        let event = route
            .into_iter()
            .find(|e| e.body().kind == EventKind::Declared)
            .expect("a declared event");
        // Same salt as `sample::consignment_route` for consignment 0.
        let salt = *Hash::domain(b"sample-salt", &[&0u32.to_be_bytes()]).as_bytes();
        let mut salt16 = [0u8; 16];
        salt16.copy_from_slice(&salt[..16]);
        let (honest, commitment) = Disclosure::new("hs_code", "850760", &salt16);
        assert_eq!(event.body().details.get("hs_code"), Some(&commitment));
        Fixture {
            body: event.body().clone(),
            honest,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(d) = serde_json::from_slice::<Disclosure>(data) else {
        return;
    };
    let f = fixture();
    let result = d.verify(&f.body);
    assert_eq!(
        result.is_ok(),
        d == f.honest,
        "disclosure accepted/refused wrongly: {d:?} -> {result:?}"
    );
});
