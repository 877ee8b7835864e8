//! `consensus::app::decode_block`, the decoder of the binary block encoding that proposal parts
//! (reassembled) and value sync carry (`consensus/block.rs`), on arbitrary bytes.
//!
//! It must not panic. A decoded block must survive an encode/decode round trip unchanged, and
//! the head hash and event ids must not change on the way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_node::consensus::app::decode_block;
use tradelog_node::block::codec::encode;
use tradelog_protocol::Event;

fuzz_target!(|data: &[u8]| {
    let Some(block) = decode_block(data) else {
        return;
    };
    let bytes = match encode(&block) {
        Ok(b) => b,
        Err(e) => panic!("decoded block does not encode: {e}"),
    };
    let Some(again) = decode_block(&bytes) else {
        panic!("re-encoded block does not decode");
    };
    assert_eq!(again, block, "block changed after a round trip");
    assert_eq!(again.head.hash(), block.head.hash());
    let ids = |b: &tradelog_node::block::Block| b.events.iter().map(Event::id).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&block));
});
