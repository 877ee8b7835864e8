//! `Event::from_json` on arbitrary bytes (the event wire form a peer or client sends).
//!
//! Must never panic. If it parses, the re-encoded wire form must parse again to the same event
//! (same id, body and signature), and signature verification must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::Event;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::from_json(data) else {
        return;
    };
    // Strict signature check on attacker-chosen key/signature bytes: result ignored, no panic.
    let _ = event.verify_signature();

    let json = event.to_json();
    let again = match Event::from_json(json.as_bytes()) {
        Ok(e) => e,
        Err(e) => panic!("re-encoded event does not parse: {e}\ninput: {data:?}\nre-encoded: {json}"),
    };
    assert_eq!(again.id(), event.id(), "id changed after a JSON round trip");
    assert_eq!(again.body(), event.body(), "body changed after a JSON round trip");
    assert_eq!(again.sig(), event.sig(), "signature changed after a JSON round trip");
    assert_eq!(again.message(), event.message(), "signing bytes changed after a JSON round trip");
});
