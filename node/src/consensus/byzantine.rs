//! TEST ONLY: a validator that equivocates, for the Byzantine end-to-end test
//! (`tests/tests/byzantine.rs`, docs/RELIABILITY.md).
//!
//! Compiled only with the `byzantine` cargo feature (off by default), and used only when the
//! config also says `[testing] equivocate = ...` (a build without the feature refuses that key,
//! see [`crate::config::Config::check`]).
//!
//! The equivocation is produced by Malachite's own `ByzantineNetworkProxy`
//! (`arc-malachitebft-engine-byzantine`): an actor placed between the engine's consensus actor
//! and its network actor. Consensus runs honestly and signs its vote; the proxy forwards it, then
//! builds the conflicting vote (same type, height and round, for nil), signs it with this
//! validator's key through our [`Signer`] (PROTOCOL.md section 7 sign bytes) and publishes it to
//! every peer as well. Honest peers thus hold two valid signatures by one key for one vote slot:
//! their vote keepers report the pair in `Finalized`, and the app stores it as `double_sign`
//! evidence. A nil vote has no nil to flip to and is sent once.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use malachitebft_app_channel::app::config::NodeConfig;
use malachitebft_app_channel::{
    ByzantineContext, Channels, ConsensusContext, EngineBuilder, EngineHandle, NetworkIdentity,
    RequestContext, SyncContext, WalContext,
};
use malachitebft_engine_byzantine::{ByzantineConfig, Trigger};

use super::codec::TradelogCodec;
use super::context::{Address, Ctx, Signer};
use crate::config::Equivocate;

/// The proxy's configuration for a mode: which messages it doubles, and when (always).
pub fn proxy_config(mode: Equivocate) -> ByzantineConfig {
    match mode {
        // A fixed seed: the proxy's random triggers are unused, and nothing is left to chance.
        Equivocate::Votes => ByzantineConfig::new(Some(0)).with_equivocate_votes(Trigger::Always),
    }
}

/// Starts the engine like `start_engine` does, with the network actor behind the equivocating
/// proxy. `key` signs the conflicting votes (it is this validator's consensus key).
#[allow(clippy::too_many_arguments)]
pub async fn start_engine<C: NodeConfig>(
    ctx: Ctx,
    config: C,
    wal: WalContext<TradelogCodec>,
    identity: NetworkIdentity,
    consensus: ConsensusContext<Ctx>,
    address: Address,
    key: SigningKey,
    mode: Equivocate,
) -> eyre::Result<(Channels<Ctx>, EngineHandle)> {
    let proxy = proxy_config(mode);
    proxy.validate()?;
    tracing::warn!(
        mode = mode.as_str(),
        validator = %address,
        "TEST ONLY: this validator equivocates ([testing] equivocate)"
    );
    let signer = Signer {
        chain: Arc::clone(&ctx.chain),
        key,
    };
    EngineBuilder::new(ctx, config)
        .with_default_wal(wal)
        .with_byzantine_network(ByzantineContext {
            identity,
            codec: TradelogCodec,
            config: proxy,
            signer: Box::new(signer),
            address,
            conflicting_value_fn: None,
            // None: a vote for a block is doubled by a vote for nil.
            conflicting_vote_value_fn: None,
        })
        .await?
        .with_default_sync(SyncContext::new(TradelogCodec))
        .with_default_consensus(consensus)
        .with_default_request(RequestContext::new(100))
        .build()
        .await
}

#[cfg(test)]
mod tests {
    use malachitebft_app_channel::app::types::core::Round;
    use malachitebft_engine_byzantine::config::make_rng;

    use super::*;
    use crate::consensus::context::Height;

    /// Every vote slot fires, and nothing else is configured: the validator stays live (it
    /// still sends its real vote first), it only adds a conflicting one.
    #[test]
    fn votes_mode_doubles_every_vote_and_nothing_else() {
        let c = proxy_config(Equivocate::Votes);
        c.validate().unwrap();
        let mut rng = make_rng(c.seed);
        for (h, r) in [(1, 0), (2, 3), (1000, 0)] {
            assert!(c.equivocate_votes.fires(Height(h), Round::new(r), &mut rng));
        }
        for t in [
            &c.equivocate_proposals,
            &c.drop_votes,
            &c.drop_proposals,
            &c.ignore_locks,
            &c.force_precommit_nil,
            &c.drop_inbound_proposals,
        ] {
            assert!(!t.is_set(), "{t:?}");
        }
    }
}
