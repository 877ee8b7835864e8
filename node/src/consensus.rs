//! BFT consensus with Malachite (Tendermint) through its channel API: our [`context::Ctx`],
//! the [`codec::TradelogCodec`] for network, sync and WAL, and the [`app::App`] loop.

pub mod app;
#[cfg(feature = "byzantine")]
pub mod byzantine;
pub mod codec;
pub mod context;
pub mod observe;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use malachitebft_app_channel::app::config::{ConsensusConfig, NodeConfig, ValueSyncConfig};
use malachitebft_app_channel::app::metrics::SharedRegistry;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::Keypair;
use malachitebft_app_channel::{
    ConsensusContext, EngineBuilder, EngineHandle, NetworkIdentity, RequestContext, Signer as _,
    SyncContext, WalContext,
};

use crate::chain::Chain;
use crate::config::Equivocate;
use crate::metrics::Metrics;
use app::{App, AppConfig};
use codec::TradelogCodec;
use context::{Address, Ctx, Signer, Verifier};

/// Decided blocks asked for in one value-sync request.
pub const SYNC_BATCH: usize = 16;

/// Largest value-sync response, sent or accepted: four blocks of the largest size
/// (`codec::MAX_BLOCK_BYTES`), so one always fits.
pub const SYNC_RESPONSE_BYTES: u64 = 64 << 20;

/// Everything consensus needs besides the ledger.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Node name (logs, metrics).
    pub moniker: String,
    /// Consensus listen address, e.g. `/ip4/127.0.0.1/tcp/27000`.
    pub listen: libp2p::Multiaddr,
    /// Consensus addresses of the other nodes.
    pub peers: Vec<libp2p::Multiaddr>,
    /// Directory of the write-ahead log.
    pub wal_dir: PathBuf,
    /// This node's consensus key; it votes at the heights whose validator set holds it.
    pub key: SigningKey,
    /// Block building and timeouts.
    pub app: AppConfig,
    /// How often peers announce their tip for catch-up.
    pub sync_interval: Duration,
    /// TEST ONLY: equivocate (`[testing] equivocate`); needs the `byzantine` feature.
    pub equivocate: Option<Equivocate>,
}

#[derive(Clone)]
struct Config {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for Config {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// A running consensus: the app task and the engine handle.
pub struct Running {
    /// Ends with an error when the engine stops or a decided block cannot be stored.
    pub app: tokio::task::JoinHandle<Result<(), String>>,
    /// The engine (kill it to stop).
    pub engine: EngineHandle,
}

/// The consensus protocol name of a chain: Malachite sends it as the identify protocol version
/// and disconnects a peer that sends another, so nodes of different genesis never run consensus
/// together (`crate::logging` turns Malachite's warning into one naming both hashes).
pub fn protocol_name(genesis: &tradelog_protocol::Hash) -> String {
    format!("/tradelog/consensus/1/genesis/{genesis}")
}

/// The engine's configuration from the node's settings.
fn engine_config(settings: &Settings, genesis: &tradelog_protocol::Hash) -> Config {
    let mut consensus = ConsensusConfig::default();
    consensus.p2p.protocol_names.consensus = protocol_name(genesis);
    consensus.p2p.listen_addr = settings.listen.clone();
    consensus.p2p.persistent_peers = settings.peers.clone();
    let value_sync = bulk_sync(&mut consensus, settings.sync_interval);
    Config {
        moniker: settings.moniker.clone(),
        consensus,
        value_sync,
    }
}

/// Value sync for a node far behind: blocks fetched in bulk, [`SYNC_BATCH`] per request
/// (Malachite's default is 5), with room for them in a response (blocks of a few thousand events
/// are a few MiB). The server fills a response up to `max_response_size` and the transport
/// refuses to write or read one over `p2p.rpc_max_size`: the two must agree, or a full response
/// is never delivered and the request is retried forever (seen in the throughput bench's join).
fn bulk_sync(consensus: &mut ConsensusConfig, status_interval: Duration) -> ValueSyncConfig {
    let mut value_sync = ValueSyncConfig {
        status_update_interval: status_interval,
        batch_size: SYNC_BATCH,
        ..ValueSyncConfig::default()
    };
    value_sync.max_response_size.0 = SYNC_RESPONSE_BYTES;
    consensus.p2p.rpc_max_size.0 = SYNC_RESPONSE_BYTES;
    value_sync
}

/// Starts the engine and the app loop.
pub async fn start(
    chain: Arc<Chain>,
    settings: Settings,
    metrics: Arc<Metrics>,
) -> eyre::Result<Running> {
    let chain_id: Arc<str> = Arc::from(chain.genesis().chain.as_str());
    let ctx = Ctx {
        chain: chain_id.clone(),
    };
    let public = settings.key.verifying_key();
    let address = Address(public.to_bytes());
    // Every node runs with its signer: the engine votes only at heights whose validator set
    // holds this key, so a node that a `set_validators` membership change adds (or removes)
    // starts (or stops) voting at the first height of the new set, without a restart.
    let in_set = chain
        .next_validators()
        .validators()
        .iter()
        .any(|v| v.key.to_bytes() == public.to_bytes());
    tracing::info!(validator = in_set, "consensus key {}", address);
    if let Ok(key) = tradelog_protocol::PublicKey::from_bytes(&public.to_bytes()) {
        metrics.vitals.set_key(key);
    }
    metrics.vitals.know_validators(&chain.next_validators());

    let config = engine_config(&settings, &chain.genesis().hash());

    let keypair = Keypair::ed25519_from_bytes(settings.key.to_bytes())?;
    let signer = Signer {
        chain: chain_id.clone(),
        key: settings.key.clone(),
    };
    let verifier = || {
        Box::new(Verifier {
            chain: chain_id.clone(),
        })
    };
    let identity = {
        let proof = signer
            .sign_validator_proof(
                public.to_bytes().to_vec(),
                keypair.public().to_peer_id().to_bytes(),
            )
            .await?;
        let proof_bytes = TradelogCodec.encode(&proof)?.to_vec();
        NetworkIdentity::new_validator(
            settings.moniker.clone(),
            keypair,
            address.to_string(),
            bytes::Bytes::from(proof_bytes),
        )
    };
    let consensus_ctx = ConsensusContext::new_validator(address, verifier(), Box::new(signer));
    let wal = WalContext::new(settings.wal_dir.join("consensus.wal"), TradelogCodec);
    let (channels, engine) = match settings.equivocate {
        None => {
            // The network actor is spawned here, not by the builder, so that an observer can
            // subscribe to its events (peers and their tips: `observe`).
            let registry = SharedRegistry::global().with_moniker(&settings.moniker);
            let (network, tx_network) = malachitebft_app_channel::spawn::spawn_network_actor(
                identity,
                &config.consensus,
                &config.value_sync,
                &registry,
                TradelogCodec,
            )
            .await?;
            observe::watch_network(&network, metrics.clone()).await?;
            EngineBuilder::new(ctx.clone(), config)
                .with_default_wal(wal)
                .with_custom_network(network, tx_network)
                .with_default_sync(SyncContext::new(TradelogCodec))
                .with_default_consensus(consensus_ctx)
                .with_default_request(RequestContext::new(100))
                .build()
                .await?
        }
        #[cfg(feature = "byzantine")]
        Some(mode) => {
            byzantine::start_engine(
                ctx.clone(),
                config,
                wal,
                identity,
                consensus_ctx,
                address,
                settings.key.clone(),
                mode,
            )
            .await?
        }
        #[cfg(not(feature = "byzantine"))]
        Some(mode) => eyre::bail!(
            "testing.equivocate = \"{}\": this build cannot misbehave (the `byzantine` feature is off)",
            mode.as_str()
        ),
    };
    tokio::spawn(observe::watch_events(
        channels.events.subscribe(),
        address,
        metrics.clone(),
    ));
    let app = App::new(chain, ctx, Some(address), settings.app, metrics);
    let app = tokio::spawn(app.run(channels));
    Ok(Running { app, engine })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response the server fills to its limit is one the transport carries, and it holds the
    /// largest block (before the fix the transport's 10 MiB refused the 64 MiB responses).
    #[test]
    fn a_full_sync_response_fits_the_transport() {
        let mut consensus = ConsensusConfig::default();
        let sync = bulk_sync(&mut consensus, Duration::from_secs(1));
        assert_eq!(sync.batch_size, SYNC_BATCH);
        assert!(sync.max_response_size <= consensus.p2p.rpc_max_size);
        assert!(sync.max_response_size.0 >= 4 * codec::MAX_BLOCK_BYTES as u64);
    }
}
