//! `consensus::app::decode_block`, the decoder of the block JSON that proposal parts (reassembled)
//! and value sync carry, on arbitrary bytes.
//!
//! It must not panic. A decoded block must survive a JSON round trip unchanged, and the head
//! hash and event ids must not change on the way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_node::consensus::app::decode_block;
use tradelog_protocol::Event;

fuzz_target!(|data: &[u8]| {
    let Some(block) = decode_block(data) else {
        return;
    };
    let json = match serde_json::to_vec(&block) {
        Ok(j) => j,
        Err(e) => panic!("decoded block does not serialize: {e}"),
    };
    let Some(again) = decode_block(&json) else {
        panic!(
            "re-encoded block does not decode: {}",
            String::from_utf8_lossy(&json)
        );
    };
    assert_eq!(again, block, "block changed after a JSON round trip");
    assert_eq!(again.head.hash(), block.head.hash());
    let ids = |b: &tradelog_node::chain::Block| b.events.iter().map(Event::id).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&block));
});
