//! `service::decode_gossip`, what a node does with the payload of a gossip message from a peer
//! (size bound, batch split, `Event::from_json` of each item), on arbitrary bytes.
//!
//! It must not panic. An accepted message holds at most `GOSSIP_MAX_EVENTS` items, and every
//! event that parsed re-encodes to JSON that parses to the same event (same id and signature).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_node::service::{decode_gossip, GOSSIP_MAX_EVENTS};
use tradelog_protocol::Event;

fuzz_target!(|data: &[u8]| {
    let Ok(items) = decode_gossip(data) else {
        return;
    };
    assert!(items.len() <= GOSSIP_MAX_EVENTS);
    for event in items.into_iter().flatten() {
        let json = event.to_json();
        match Event::from_json(json.as_bytes()) {
            Ok(again) => {
                assert_eq!(again, event, "event changed after a JSON round trip");
                assert_eq!(again.id(), event.id());
                assert_eq!(again.sig(), event.sig());
            }
            Err(e) => panic!("re-encoded event does not parse: {e}\n{json}"),
        }
        // Admission verifies the signature; it must answer, not panic.
        let _ = event.verify_signature();
    }
});
