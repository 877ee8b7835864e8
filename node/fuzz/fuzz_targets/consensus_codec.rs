//! `TradelogCodec::decode` of every consensus, liveness, streaming, sync and WAL message type on
//! arbitrary bytes (the first byte picks the type, the rest is the message).
//!
//! Decoding must not panic. What decodes must encode again, and decoding that encoding must give
//! the same encoding (one round trip reaches a fixed point), so nothing is lost or invented.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync;
use malachitebft_app_channel::app::types::{ProposedValue, SignedConsensusMsg};
use tradelog_node::consensus::codec::TradelogCodec;
use tradelog_node::consensus::context::{Ctx, ProposalPart};

/// Decodes `data` as a `T`; if it decodes, checks the round trip.
fn check<T>(data: &[u8])
where
    TradelogCodec: Codec<T>,
{
    let codec = TradelogCodec;
    let Ok(msg) = Codec::<T>::decode(&codec, Bytes::copy_from_slice(data)) else {
        return;
    };
    let once = match Codec::<T>::encode(&codec, &msg) {
        Ok(b) => b,
        Err(e) => panic!("decoded message does not encode: {e}"),
    };
    let again = match Codec::<T>::decode(&codec, once.clone()) {
        Ok(m) => m,
        Err(e) => panic!("re-encoded message does not decode: {e}"),
    };
    match Codec::<T>::encode(&codec, &again) {
        Ok(twice) => assert_eq!(once, twice, "encoding is not stable after a round trip"),
        Err(e) => panic!("second encoding failed: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, msg)) = data.split_first() else {
        return;
    };
    match selector % 10 {
        0 => check::<ProposalPart>(msg),
        1 => check::<SignedConsensusMsg<Ctx>>(msg),
        2 => check::<LivenessMsg<Ctx>>(msg),
        3 => check::<StreamMessage<ProposalPart>>(msg),
        4 => check::<ValidatorProof<Ctx>>(msg),
        5 => check::<sync::Status<Ctx>>(msg),
        6 => check::<sync::Request<Ctx>>(msg),
        7 => check::<sync::Response<Ctx>>(msg),
        8 => check::<ProposedValue<Ctx>>(msg),
        _ => check::<PolkaCertificate<Ctx>>(msg),
    }
});
