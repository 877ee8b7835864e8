//! A double vote as the consensus engine reports it (two signed Malachite votes by one validator
//! for different values at one height and round) becomes verifiable evidence, is stored once and
//! listed; a pair that proves nothing is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use malachitebft_app_channel::app::types::core::{NilOrVal, Round, SignedMessage, VoteType};
use tradelog_node::consensus::context::{Address, Ctx, Height, Sig, ValueId, Vote};
use tradelog_node::evidence::{self, Evidence};
use tradelog_node::store::{DiskStore, StoreConfig};
use tradelog_protocol::evidence::DoubleSign;
use tradelog_protocol::sample::SampleNetwork;
use tradelog_protocol::SecretKey;

fn signed(key: &SecretKey, chain: &str, value: NilOrVal<ValueId>) -> SignedMessage<Ctx, Vote> {
    let vote = Vote {
        typ: VoteType::Precommit,
        height: Height(9),
        round: Round::new(2),
        value,
        validator: Address(key.public().to_bytes()),
        extension: None,
    };
    let sig = Sig(key.sign(&vote.sign_bytes(chain)).to_bytes());
    SignedMessage::new(vote, sig)
}

#[test]
fn an_engine_double_vote_is_verified_stored_once_and_listed() {
    let net = SampleNetwork::new(4).unwrap();
    let chain = net.genesis.chain.clone();
    let key = &net.validator_keys[1];
    let a = signed(key, &chain, NilOrVal::Val(ValueId([1; 32])));
    let b = signed(key, &chain, NilOrVal::Nil);
    let double = DoubleSign {
        first: Vote::to_evidence(&a).unwrap(),
        second: Vote::to_evidence(&b).unwrap(),
    };
    let record = evidence::verify(
        Evidence::DoubleSign(double.clone()),
        &net.genesis,
        "consensus",
    )
    .unwrap();
    assert_eq!(record.equivocators, vec![key.public()]);
    assert_eq!((record.height, record.source.as_str()), (9, "consensus"));

    let dir = std::env::temp_dir().join(format!("tradelog-evidence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (store, _) = DiskStore::open(&dir, &net.genesis, StoreConfig::default()).unwrap();
    assert!(evidence::store(&store, &record).unwrap());
    assert!(!evidence::store(&store, &record).unwrap(), "stored once");
    let listed = evidence::list(&store).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, record.id);
    let _ = std::fs::remove_dir_all(&dir);

    // The same vote twice, or votes signed for another chain, prove nothing.
    let same = DoubleSign {
        first: double.first.clone(),
        second: double.first.clone(),
    };
    assert!(evidence::verify(Evidence::DoubleSign(same), &net.genesis, "consensus").is_err());
    let foreign = signed(key, "another-chain", NilOrVal::Nil);
    let replayed = DoubleSign {
        first: double.first,
        second: Vote::to_evidence(&foreign).unwrap(),
    };
    assert!(evidence::verify(Evidence::DoubleSign(replayed), &net.genesis, "consensus").is_err());
}
