//! `tradelog-node run`: wires the ledger, event gossip, consensus and the HTTP API together and
//! runs them until shutdown or a fatal error. A fatal error (a failed storage write, consensus
//! stopping: [`crate::fatal`]) is logged first, as one line naming the cause and the file; the
//! engine is stopped next, then the API (within `[api] shutdown_timeout_ms`) and gossip, and
//! `run` returns that line as its error.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tradelog_protocol::{Event, EventError, Genesis, PublicKey};

use crate::api::{self, ApiState};
use crate::chain::{now_ms, Chain, PeerKeys};
use crate::config::Config;
use crate::consensus::{self, app::AppConfig, context::timeouts};
use crate::fatal::Fatal;
use crate::gossip::{self, GossipConfig};
use crate::metrics::{Direction, Metrics};

/// Most events in one gossip message.
pub const GOSSIP_MAX_EVENTS: usize = 1000;
/// Largest gossip message.
pub const GOSSIP_MAX_BYTES: usize = 4 << 20;

/// Decodes a gossip message (a JSON array of at most [`GOSSIP_MAX_EVENTS`] signed events, at
/// most [`GOSSIP_MAX_BYTES`]) into each item's parse result, in order. Public for the fuzz
/// targets.
#[doc(hidden)]
pub fn decode_gossip(data: &[u8]) -> Result<Vec<Result<Event, EventError>>, api::ApiError> {
    if data.len() > GOSSIP_MAX_BYTES {
        return Err(api::ApiError::too_large(format!(
            "gossip message: larger than {GOSSIP_MAX_BYTES} bytes"
        )));
    }
    let items = api::batch::split_array(data, GOSSIP_MAX_EVENTS)?;
    Ok(items.into_iter().map(Event::from_json).collect())
}

/// How long a gossip batch waits for more events after its first.
const GOSSIP_LINGER: Duration = Duration::from_millis(3);

/// Admits the events of a gossip message: items this node already holds (same id and
/// signature, read from the canonical bytes without parsing) are dropped first; the rest are
/// parsed once and admitted together, their signatures verified as one batch.
pub fn admit_gossip(chain: &Chain, data: &[u8], from: libp2p::PeerId) {
    if data.len() > GOSSIP_MAX_BYTES {
        tracing::warn!(peer = %from, "gossip message larger than {GOSSIP_MAX_BYTES} bytes");
        return;
    }
    let items = match api::batch::split_array(data, GOSSIP_MAX_EVENTS) {
        Ok(items) => items,
        Err(err) => {
            tracing::warn!(peer = %from, error = ?err, "malformed gossip message");
            return;
        }
    };
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        if let Some(p) = Event::peek_canonical(item) {
            if chain.holds(&p.id, &p.sig) {
                continue;
            }
        }
        match Event::from_json(item) {
            Ok(e) => events.push(e),
            Err(err) => tracing::warn!(peer = %from, error = %err, "malformed gossiped event"),
        }
    }
    for r in chain.submit_many(events, now_ms()) {
        if let Err(err) = r {
            tracing::debug!(peer = %from, error = %err, "gossiped event refused");
        }
    }
}

/// The libp2p identity of a node key (gossip peers must hold a key of the membership).
fn peer_id(key: &PublicKey) -> Option<libp2p::PeerId> {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(&key.to_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(pk).to_peer_id())
}

/// The gossip peers admitted for `keys` ([`PeerKeys`]), and the revoked ones with the log
/// position that revoked each (for the refusal's message).
pub fn gossip_gate(keys: &PeerKeys) -> (HashSet<libp2p::PeerId>, HashMap<libp2p::PeerId, u64>) {
    let allowed = keys.allowed.iter().filter_map(peer_id).collect();
    let revoked = keys
        .revoked
        .iter()
        .filter_map(|(k, at)| Some((peer_id(k)?, *at)))
        .collect();
    (allowed, revoked)
}

/// The gossip peers a node admits now: every current event key of the membership (genesis
/// plus the committed membership changes: a revoked key is no longer admitted) and the
/// validators of the next height. [`run`] keeps the gossip gate in step with
/// [`Chain::peer_keys`] as blocks commit.
pub fn allowed_peers(chain: &Chain) -> HashSet<libp2p::PeerId> {
    gossip_gate(&chain.peer_keys().borrow()).0
}

/// The gossipsub topic of a chain: its id and genesis hash, so nodes of another genesis never
/// share a topic with this one.
pub fn gossip_topic(genesis: &Genesis) -> String {
    format!("tradelog/{}/{}/events/v1", genesis.chain, genesis.hash())
}

/// Forwards the peer keys to the gossip gate: the current ones first (a commit may have
/// changed them since gossip started), then every change, until gossip stops.
async fn follow_membership(
    mut keys: tokio::sync::watch::Receiver<PeerKeys>,
    gossip: gossip::GossipHandle,
) {
    loop {
        let (allowed, revoked) = gossip_gate(&keys.borrow_and_update());
        if gossip.set_allowed(allowed, revoked).await.is_err() || keys.changed().await.is_err() {
            return;
        }
    }
}

/// How often events still pending are gossiped again, and how many at most each time.
const REGOSSIP_EVERY: Duration = Duration::from_secs(3);
const REGOSSIP_MAX: usize = 256;

/// Gossips again the oldest events that stayed pending for a whole period. An event that reached
/// only this node (its peers were down or still reconnecting) would otherwise stay here, and an
/// idle peer does not start the next height before its heartbeat, so the height would wait for
/// this node's turn to propose (measured: 30 s stalls after restarts). Peers drop what they
/// already hold at the mempool check, before any signature work. First, pending events no block
/// can take are dropped ([`Chain::sweep`]): they would otherwise stay until this node proposes.
async fn regossip(chain: Arc<Chain>, gossip: gossip::GossipHandle, metrics: Arc<Metrics>) {
    let mut seen: HashSet<tradelog_protocol::EventId> = HashSet::new();
    let mut round = 0usize;
    loop {
        tokio::time::sleep(REGOSSIP_EVERY).await;
        // Events no block can take are dropped here rather than gossiped again.
        let sweeper = chain.clone();
        let _ = tokio::task::spawn_blocking(move || sweeper.sweep(now_ms())).await;
        let pending = chain.pending(REGOSSIP_MAX);
        let stale: Vec<&Event> = pending.iter().filter(|e| seen.contains(&e.id())).collect();
        seen = pending.iter().map(Event::id).collect();
        if stale.is_empty() {
            continue;
        }
        // Leading spaces make each round's bytes differ, so the copy is not dropped by the
        // gossip duplicate cache (one minute) where an earlier copy was seen.
        round = (round + 1) % 64;
        let mut batch = Vec::with_capacity(1 << 16);
        batch.push(b'[');
        batch.extend(std::iter::repeat_n(b' ', round));
        for (i, e) in stale.iter().enumerate() {
            if i > 0 {
                batch.push(b',');
            }
            batch.extend_from_slice(e.wire());
            if batch.len() > GOSSIP_MAX_BYTES / 2 {
                break;
            }
        }
        batch.push(b']');
        if let Err(err) = gossip.publish(batch).await {
            tracing::debug!(error = %err, events = stale.len(), "pending events not gossiped again");
        } else {
            metrics.vitals.gossip_message(Direction::Sent);
            tracing::debug!(events = stale.len(), "pending events gossiped again");
        }
    }
}

fn multiaddrs(list: &[String], what: &str) -> Result<Vec<libp2p::Multiaddr>> {
    list.iter()
        .map(|s| {
            s.parse()
                .with_context(|| format!("{what}: invalid multiaddr {s:?}"))
        })
        .collect()
}

/// Runs a node from its configuration (paths relative to `base`) until `shutdown` resolves.
pub async fn run(
    config: Config,
    base: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // Every listener's port first: one clear line, before the store or any engine starts.
    let consensus_listen: libp2p::Multiaddr = config
        .consensus
        .listen
        .parse()
        .context("consensus.listen")?;
    let gossip_listen: libp2p::Multiaddr = config.gossip.listen.parse().context("gossip.listen")?;
    crate::ports::check(
        &config.api.listen,
        &[
            ("consensus.listen", &consensus_listen),
            ("gossip.listen", &gossip_listen),
        ],
    )?;
    let genesis_path = base.join(&config.genesis);
    let genesis_bytes = std::fs::read(&genesis_path)
        .with_context(|| format!("genesis: cannot read {}", genesis_path.display()))?;
    let genesis = Genesis::from_json(&genesis_bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("genesis {}", genesis_path.display()))?;
    // One line to compare across hosts before the genesis ceremony's result is trusted.
    tracing::info!(chain = %genesis.chain, "genesis {}", genesis.hash());
    crate::logging::set_genesis(&genesis.hash().to_hex());
    let key = crate::keyfile::read(&base.join(&config.key)).context("key")?;
    let seed = key.to_seed();
    let data_dir = base.join(&config.data_dir);

    let (chain, recovery) = Chain::open(
        genesis.clone(),
        &data_dir.join("ledger"),
        config.gossip.mempool_capacity,
        config.store.settings(),
    )
    .context("cannot open the ledger store")?;
    chain.set_quota(config.admission.quota());
    if let Some(h) = recovery.cut_from {
        tracing::warn!(height = h, "stored blocks from this height did not verify and were dropped; they will be fetched from peers");
    }
    tracing::info!(height = recovery.height, chain = %genesis.chain, "ledger opened");
    let metrics = Arc::new(Metrics::default());
    // A failed storage write anywhere (consensus, the API) stops the node (crate::fatal).
    let fatal = Fatal::new(&data_dir.join("ledger"));

    // Event gossip: accepted events go out, received events go through admission.
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(seed).context("node key")?;
    let (gossip, mut received) = gossip::spawn(GossipConfig {
        listen: config.gossip.listen.parse().context("gossip.listen")?,
        peers: multiaddrs(&config.gossip.peers, "gossip.peers")?,
        keypair,
        allowed: allowed_peers(&chain),
        topic: gossip_topic(&genesis),
        genesis: genesis.hash(),
        max_message_bytes: GOSSIP_MAX_BYTES,
    })
    .context("cannot start event gossip")?;
    tokio::spawn(follow_membership(chain.peer_keys(), gossip.clone()));
    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let out = gossip.clone();
    let sent = metrics.clone();
    tokio::spawn(async move {
        // Accepted events go out in batches: one gossip message is a JSON array of the events'
        // canonical wire bytes, as kept since they were parsed. After the first event, the
        // batch waits GOSSIP_LINGER for more, so a busy node sends few large messages.
        while let Some(first) = accepted_rx.recv().await {
            tokio::time::sleep(GOSSIP_LINGER).await;
            let mut batch = Vec::with_capacity(64 << 10);
            batch.push(b'[');
            batch.extend_from_slice(first.wire());
            let mut n = 1;
            while n < GOSSIP_MAX_EVENTS && batch.len() < GOSSIP_MAX_BYTES / 2 {
                let Ok(e) = accepted_rx.try_recv() else { break };
                batch.push(b',');
                batch.extend_from_slice(e.wire());
                n += 1;
            }
            batch.push(b']');
            match out.publish(batch).await {
                Ok(()) => sent.vitals.gossip_message(Direction::Sent),
                Err(err) => tracing::debug!(error = %err, events = n, "events not gossiped"),
            }
        }
    });
    tokio::spawn(regossip(chain.clone(), gossip.clone(), metrics.clone()));
    let inbound = chain.clone();
    let counted = metrics.clone();
    tokio::spawn(async move {
        while let Some(msg) = received.recv().await {
            counted.vitals.gossip_message(Direction::Received);
            let chain = inbound.clone();
            let from = msg.from;
            // Parsing and admission check signatures: keep them off the async workers.
            let _ =
                tokio::task::spawn_blocking(move || admit_gossip(&chain, &msg.data, from)).await;
        }
    });
    let peers_gossip = gossip.clone();
    let peers_metrics = metrics.clone();
    tokio::spawn(async move {
        loop {
            if let Ok(n) = peers_gossip.peers().await {
                peers_metrics.set_peers(n);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });

    // Consensus.
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let settings = consensus::Settings {
        moniker: config.moniker.clone(),
        listen: config
            .consensus
            .listen
            .parse()
            .context("consensus.listen")?,
        peers: multiaddrs(&config.consensus.peers, "consensus.peers")?,
        wal_dir: data_dir.join("wal"),
        key: signing,
        app: AppConfig {
            max_block_events: config.consensus.max_block_events,
            empty_blocks: config.consensus.empty_blocks,
            idle_heartbeat: std::time::Duration::from_millis(
                config.consensus.empty_block_interval_ms,
            ),
            timeouts: timeouts(
                config.consensus.propose_timeout_ms,
                config.consensus.vote_timeout_ms,
            ),
            sync_verify_signatures: config.consensus.sync_verify_signatures,
            fatal: fatal.clone(),
        },
        sync_interval: Duration::from_millis(config.consensus.sync_interval_ms.max(100)),
        equivocate: config.testing.equivocate,
    };
    let mut running = consensus::start(chain.clone(), settings, metrics.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot start consensus: {e}"))?;

    // HTTP API.
    let listener = tokio::net::TcpListener::bind(&config.api.listen)
        .await
        .with_context(|| format!("api.listen: cannot bind {}", config.api.listen))?;
    tracing::info!(api = %config.api.listen, "HTTP API listening");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let state = ApiState {
        chain: chain.clone(),
        metrics: metrics.clone(),
        accepted: Some(accepted_tx),
        limits: api::Limits::from_config(&config.api),
        trs: Default::default(),
        cors: api::Cors::new(config.api.cors_origins.clone()),
        fatal: fatal.clone(),
        access: Arc::new(api::access::Access::new(
            config.api.read_access,
            Some(&data_dir),
        )),
    };
    let tls = match (&config.api.tls_cert, &config.api.tls_key) {
        (Some(cert), Some(key)) => {
            let acceptor = api::tls::acceptor(&base.join(cert), &base.join(key))?;
            tracing::info!(cert = %base.join(cert).display(), "HTTP API serving TLS");
            Some(acceptor)
        }
        _ => None,
    };
    let api_task = tokio::spawn(api::serve_tls(listener, state, tls, async move {
        let _ = stop_rx.await;
    }));

    let outcome = tokio::select! {
        _ = shutdown => Ok(()),
        line = fatal.stopped() => Err(line),
        r = &mut running.app => {
            let why = match r {
                Ok(Ok(())) => "consensus stopped".to_owned(),
                Ok(Err(e)) => format!("consensus stopped: {e}"),
                Err(e) => format!("consensus task failed: {e}"),
            };
            // A storage failure was reported (and logged) first; otherwise this is the line.
            fatal.other(&why);
            Err(fatal.first().unwrap_or(why))
        },
    };
    if outcome.is_err() {
        // Consensus first: an engine left without its app, or writing to a full disk, logs a
        // failure for every message it handles.
        running.engine.actor.kill_and_wait(None).await.ok();
    }
    let _ = stop_tx.send(());
    // Bounded: the API resets connections still open after `[api] shutdown_timeout_ms`.
    let _ = api_task.await;
    gossip.shutdown().await;
    match outcome {
        Ok(()) => {
            running.engine.actor.kill_and_wait(None).await.ok();
            Ok(())
        }
        Err(line) => bail!("{line}"),
    }
}
