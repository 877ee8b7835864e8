//! Seed inputs for the fuzz targets in `node/fuzz`, built from the sample network, and the
//! regression inputs the fuzzers found. Every seed must decode with its target's decoder (so the
//! seeds follow the encodings when they change); `cargo test -p tradelog-node --test fuzz_seeds
//! -- --ignored` writes them to `node/fuzz/corpus/<target>/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::Validity;
use malachitebft_app_channel::app::types::core::{NilOrVal, Round, SignedMessage, VoteType};
use malachitebft_app_channel::app::types::{sync, ProposedValue, SignedConsensusMsg};
use tradelog_node::api::batch::split_array;
use tradelog_node::block::Block;
use tradelog_node::config::Config;
use tradelog_node::consensus::app::decode_block;
use tradelog_node::consensus::codec::TradelogCodec;
use tradelog_node::consensus::context::{
    Address, Ctx, Height, Proposal, ProposalPart, Sig, Value, ValueId, Vote,
};
use tradelog_node::service::decode_gossip;
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_protocol::{Event, Ledger};

/// `(target, name, bytes)` of every seed.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let net = SampleNetwork::new(4).unwrap();
    let route = consignment_route(&net, 0, net.genesis.time).unwrap();
    let array = |events: &[Event]| {
        format!(
            "[{}]",
            events
                .iter()
                .map(Event::to_json)
                .collect::<Vec<_>>()
                .join(",")
        )
        .into_bytes()
    };

    // Blocks as proposals and sync carry them.
    let mut ledger = Ledger::new(&net.genesis);
    let time = route.iter().map(|e| e.body().time).max().unwrap();
    let head = ledger.append_block(route.clone(), time).unwrap();
    let block = Block {
        head,
        events: route.clone(),
    };
    let block_bytes = tradelog_node::block::codec::encode(&block).unwrap();
    out.push(("block_bytes", "route".into(), block_bytes.clone()));
    let empty_head = ledger.append_block(Vec::new(), time + 1).unwrap();
    let empty = Block {
        head: empty_head,
        events: Vec::new(),
    };
    out.push((
        "block_bytes",
        "empty".into(),
        tradelog_node::block::codec::encode(&empty).unwrap(),
    ));

    // Gossip messages and batch bodies: arrays of signed events.
    for n in [1, 3, route.len()] {
        out.push(("gossip_message", format!("events-{n}"), array(&route[..n])));
        out.push(("batch_split", format!("events-{n}"), array(&route[..n])));
    }
    out.push((
        "batch_split",
        "values".into(),
        b" [ {\"a\":[1,{\"b\":\"]\"}]} , 17 ,\"x\\\"]\", null, true, -0.5e3 ] ".to_vec(),
    ));

    // Config files.
    out.push((
        "config_toml",
        "default".into(),
        Config::default().to_toml().into_bytes(),
    ));
    let mut c = Config {
        moniker: "nl-customs".into(),
        ..Config::default()
    };
    c.consensus.peers = vec![
        "/ip4/127.0.0.1/tcp/27001".into(),
        "/ip4/127.0.0.1/tcp/27002".into(),
    ];
    c.api.rate_limit_per_sec = 5;
    out.push(("config_toml", "peers".into(), c.to_toml().into_bytes()));

    // Consensus messages: the first byte picks the type (see consensus_codec.rs).
    let codec = TradelogCodec;
    let mut put = |sel: u8, name: &str, bytes: Bytes| {
        let mut v = vec![sel];
        v.extend_from_slice(&bytes);
        out.push(("consensus_codec", name.to_owned(), v));
    };
    let id = ValueId(*block.head.hash().as_bytes());
    put(
        0,
        "part-init",
        Codec::<ProposalPart>::encode(
            &codec,
            &ProposalPart::Init {
                height: Height(1),
                round: Round::new(0),
                pol_round: Round::Nil,
                proposer: Address([2; 32]),
            },
        )
        .unwrap(),
    );
    put(
        0,
        "part-data",
        Codec::<ProposalPart>::encode(
            &codec,
            &ProposalPart::Data(Bytes::from(block_bytes.clone())),
        )
        .unwrap(),
    );
    put(
        0,
        "part-fin",
        Codec::<ProposalPart>::encode(&codec, &ProposalPart::Fin).unwrap(),
    );
    let vote = SignedConsensusMsg::Vote(SignedMessage::new(
        Vote {
            typ: VoteType::Precommit,
            height: Height(1),
            round: Round::new(0),
            value: NilOrVal::Val(id),
            validator: Address([3; 32]),
            extension: None,
        },
        Sig([9; 64]),
    ));
    put(
        1,
        "vote",
        Codec::<SignedConsensusMsg<Ctx>>::encode(&codec, &vote).unwrap(),
    );
    let proposal = SignedConsensusMsg::Proposal(SignedMessage::new(
        Proposal {
            height: Height(1),
            round: Round::new(0),
            value: Value { id },
            pol_round: Round::Nil,
            proposer: Address([5; 32]),
        },
        Sig([6; 64]),
    ));
    put(
        1,
        "proposal",
        Codec::<SignedConsensusMsg<Ctx>>::encode(&codec, &proposal).unwrap(),
    );
    let stream = StreamMessage::new(
        StreamId::new(Bytes::from_static(b"h1r0")),
        1,
        StreamContent::Data(ProposalPart::Data(Bytes::from(block_bytes))),
    );
    put(
        3,
        "stream",
        Codec::<StreamMessage<ProposalPart>>::encode(&codec, &stream).unwrap(),
    );
    let request = sync::Request::<Ctx>::ValueRequest(malachitebft_sync::ValueRequest::new(
        Height(1)..=Height(4),
    ));
    put(
        6,
        "sync-request",
        Codec::<sync::Request<Ctx>>::encode(&codec, &request).unwrap(),
    );
    let value = ProposedValue::<Ctx> {
        height: Height(1),
        round: Round::new(0),
        valid_round: Round::Nil,
        proposer: Address([7; 32]),
        value: Value { id },
        validity: Validity::Valid,
    };
    put(
        8,
        "proposed-value",
        Codec::<ProposedValue<Ctx>>::encode(&codec, &value).unwrap(),
    );
    out
}

#[test]
fn every_seed_decodes_with_its_target_decoder() {
    let seeds = seeds();
    for target in [
        "block_bytes",
        "gossip_message",
        "batch_split",
        "config_toml",
        "consensus_codec",
    ] {
        assert!(seeds.iter().any(|s| s.0 == target), "no seed for {target}");
    }
    for (target, name, bytes) in &seeds {
        let ok = match *target {
            "block_bytes" => decode_block(bytes).is_some(),
            "gossip_message" => decode_gossip(bytes)
                .map(|items| items.iter().all(Result::is_ok))
                .unwrap_or(false),
            "batch_split" => split_array(bytes, 1000).is_ok(),
            "config_toml" => Config::parse(std::str::from_utf8(bytes).unwrap()).is_ok(),
            "consensus_codec" => {
                let msg = Bytes::copy_from_slice(&bytes[1..]);
                match bytes[0] {
                    0 => Codec::<ProposalPart>::decode(&TradelogCodec, msg).is_ok(),
                    1 => Codec::<SignedConsensusMsg<Ctx>>::decode(&TradelogCodec, msg).is_ok(),
                    3 => Codec::<StreamMessage<ProposalPart>>::decode(&TradelogCodec, msg).is_ok(),
                    6 => Codec::<sync::Request<Ctx>>::decode(&TradelogCodec, msg).is_ok(),
                    8 => Codec::<ProposedValue<Ctx>>::decode(&TradelogCodec, msg).is_ok(),
                    other => panic!("no seed selector {other}"),
                }
            }
            other => panic!("unknown target {other}"),
        };
        assert!(ok, "seed {target}/{name} does not decode");
    }
}

/// Writes the seeds to `node/fuzz/corpus/<target>/seed-<name>`.
#[test]
#[ignore = "writes files; run with --ignored before fuzzing"]
fn write_fuzz_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, name, bytes) in seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}
