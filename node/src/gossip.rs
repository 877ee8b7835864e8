//! Event gossip: a libp2p gossipsub swarm of the allowed peers, separate from consensus.
//!
//! [`spawn`] starts one task that owns the [`Swarm`]; the rest of the node talks to it through a
//! [`GossipHandle`] (commands over a bounded channel) and reads what arrived from a bounded
//! `Receiver<Received>`.
//!
//! Every peer is untrusted, so the swarm keeps four gates:
//! - connections: a peer whose id is not allowed ([`GossipConfig::allowed`] at start, then
//!   [`GossipHandle::set_allowed`] whenever the membership changes) is denied right after the
//!   noise handshake (before gossipsub sees it), a peer no longer allowed is disconnected, and an
//!   allowed peer may hold at most [`MAX_CONNECTIONS_PER_PEER`] connections; each refusal is
//!   logged once per peer and reason, at WARN, with the peer's key;
//! - genesis: each side sends its genesis hash in the identify exchange (protocol version
//!   [`protocol_version`]); a peer with another genesis is disconnected, logged once with both
//!   hashes, and its messages never match our topic (the topic names the genesis too);
//! - ingress: a message whose payload exceeds [`GossipConfig::max_message_bytes`] is dropped
//!   before gossipsub's duplicate cache;
//! - validation: gossipsub runs in `validate_messages` mode and forwards a message only after the
//!   app accepts it: the forwarding peer must be allowed.
//!
//! Messages are anonymous (gossipsub's `Anonymous` authenticity: no author, no per-message
//! signature). Gossipsub would otherwise sign every message and verify every copy a node receives
//! (up to one per peer), which measured about a tenth of a validator's CPU under load
//! (docs/BENCHMARKS.md), and it would prove nothing the node relies on: the noise handshake
//! authenticates the peer a message arrives from, which must be allowed, and every event in a
//! message carries its issuer's signature, verified at admission. An allowed peer can relay
//! bytes from elsewhere, as it can send its own: both reach admission, nothing more.
//!
//! Message ids are the BLAKE3 hash of the payload, so the same bytes are delivered once per
//! duplicate-cache window (one minute) whoever publishes them.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use libp2p::core::{transport::PortUse, Endpoint};
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{
    self, DataTransform, IdentTopic, Message, MessageAcceptance, MessageAuthenticity, MessageId,
    PublishError, RawMessage, TopicHash, ValidationMode, WhitelistSubscriptionFilter,
};
use libp2p::identify;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, DialError, FromSwarm, ListenError, NetworkBehaviour,
    SwarmEvent, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};
use tradelog_protocol::Hash;

/// The identify protocol version of a node of `genesis`: `/tradelog/gossip/1/genesis/<hex>`.
pub fn protocol_version(genesis: &Hash) -> String {
    format!("/tradelog/gossip/1/genesis/{genesis}")
}

/// The genesis hash a peer's identify protocol version names, if it is a tradelog one.
fn genesis_of(protocol_version: &str) -> Option<&str> {
    protocol_version
        .strip_prefix("/tradelog/gossip/1/genesis/")
        .filter(|h| !h.is_empty())
}

/// The hex ed25519 key behind a peer id (node keys are ed25519, inlined in their ids).
pub fn peer_key(peer: &PeerId) -> Option<String> {
    let mh: &libp2p::multihash::Multihash<64> = peer.as_ref();
    if mh.code() != 0 {
        return None;
    }
    let key = libp2p::identity::PublicKey::try_decode_protobuf(mh.digest()).ok()?;
    Some(hex::encode(key.try_into_ed25519().ok()?.to_bytes()))
}

/// Why a peer is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Its key is not a key of the membership (nor of the next height's validators).
    NotMember,
    /// Its key was revoked by the membership event at this log position.
    Revoked(u64),
    /// It already holds [`MAX_CONNECTIONS_PER_PEER`] connections.
    TooManyConnections,
    /// It runs another genesis (its hash as the peer sent it).
    Genesis(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotMember => f.write_str("its key is not in the membership"),
            Refusal::Revoked(at) => write!(f, "its key was revoked at log index {at}"),
            Refusal::TooManyConnections => write!(
                f,
                "too many connections (at most {MAX_CONNECTIONS_PER_PEER} per peer)"
            ),
            Refusal::Genesis(theirs) => {
                write!(f, "genesis mismatch: the peer runs genesis {theirs}")
            }
        }
    }
}

/// Gossipsub heartbeat: mesh upkeep and IHAVE gossip, tuned for a small LAN.
pub const HEARTBEAT: Duration = Duration::from_millis(200);
/// How often configured peers that are not connected are dialled again.
pub const REDIAL_EVERY: Duration = Duration::from_secs(2);
/// Capacity of the `Received` channel; when it is full, messages are dropped and counted.
pub const RECEIVED_CAPACITY: usize = 4096;
/// Connections one allowed peer may hold at once (two covers a simultaneous dial).
pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;
/// Bytes a gossipsub frame may carry beyond the payload: author, sequence number, signature,
/// topic and protobuf framing (about 150 bytes plus the topic today).
pub const ENVELOPE_OVERHEAD: usize = 1024;
/// A message id on the wire: 32 hash bytes plus protobuf tag and length.
const ID_WIRE_BYTES: usize = 34;
const COMMAND_CAPACITY: usize = 256;
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Configuration of the gossip swarm.
pub struct GossipConfig {
    /// Address to listen on, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Multiaddr,
    /// Peers dialled at start and every [`REDIAL_EVERY`] while not connected. An address that
    /// ends in `/p2p/<id>` is dialled as that peer only, and the id must be allowed.
    pub peers: Vec<Multiaddr>,
    /// This node's identity (ed25519); it signs every published message.
    pub keypair: Keypair,
    /// The only peers that may connect, forward or author messages.
    pub allowed: HashSet<PeerId>,
    /// The gossipsub topic, e.g. `tradelog/<chain>/<genesis hash>/events/v1`.
    pub topic: String,
    /// The genesis hash, sent in the identify exchange: a peer with another is disconnected.
    pub genesis: Hash,
    /// Largest payload published or accepted, in bytes.
    pub max_message_bytes: usize,
}

impl fmt::Debug for GossipConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keypair is secret: show only the identity it implies.
        f.debug_struct("GossipConfig")
            .field("listen", &self.listen)
            .field("peers", &self.peers)
            .field("peer_id", &self.keypair.public().to_peer_id())
            .field("allowed", &self.allowed)
            .field("topic", &self.topic)
            .field("genesis", &self.genesis)
            .field("max_message_bytes", &self.max_message_bytes)
            .finish()
    }
}

/// A message accepted from the gossip network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The connected peer that forwarded it (its publisher or a relay: messages are anonymous).
    pub from: PeerId,
    /// The payload.
    pub data: Vec<u8>,
}

/// Counters of the gossip task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GossipStats {
    /// Messages handed to the `Received` channel.
    pub delivered: u64,
    /// Accepted messages dropped because the `Received` channel was full or closed.
    pub dropped: u64,
    /// Messages refused: forwarder not allowed, or payload too large.
    pub rejected: u64,
    /// Connections refused after the handshake: peer not allowed, or too many connections.
    pub denied: u64,
    /// Peers with an open connection, allowed or not (unlike [`GossipHandle::peers`]).
    pub connected_peers: usize,
}

/// Errors of the gossip network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GossipError {
    /// The configuration is unusable.
    #[error("invalid gossip configuration: {0}")]
    Config(String),
    /// The noise transport could not be built from the keypair.
    #[error("cannot set up the noise transport: {0}")]
    Noise(#[from] noise::Error),
    /// The listen address was refused.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The configured address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// [`spawn`] was called outside a tokio runtime.
    #[error("gossip must be spawned inside a tokio runtime")]
    NoRuntime,
    /// The payload exceeds [`GossipConfig::max_message_bytes`].
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No connected peer subscribes to the topic (yet).
    #[error("no connected peer subscribes to the gossip topic")]
    NoPeers,
    /// The same bytes were already published or received within the duplicate-cache window.
    #[error("the same message was already gossiped")]
    Duplicate,
    /// Gossipsub refused the message for another reason.
    #[error("gossipsub publish failed: {0}")]
    Publish(#[source] PublishError),
    /// The gossip task has stopped.
    #[error("the gossip task has stopped")]
    Closed,
}

enum Command {
    Publish {
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), GossipError>>,
    },
    Peers {
        reply: oneshot::Sender<usize>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    Stats {
        reply: oneshot::Sender<GossipStats>,
    },
    SetAllowed {
        allowed: HashSet<PeerId>,
        revoked: HashMap<PeerId, u64>,
        done: oneshot::Sender<()>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// The handle to the gossip task; cheap to clone. The task stops on [`GossipHandle::shutdown`] or
/// when every handle is dropped.
#[derive(Debug, Clone)]
pub struct GossipHandle {
    commands: mpsc::Sender<Command>,
    max_message_bytes: usize,
}

impl GossipHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, GossipError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| GossipError::Closed)?;
        answer.await.map_err(|_| GossipError::Closed)
    }

    /// Publishes `bytes` to the topic. Fails with [`GossipError::TooLarge`] above the limit and
    /// [`GossipError::NoPeers`] while no connected peer has subscribed.
    pub async fn publish(&self, bytes: Vec<u8>) -> Result<(), GossipError> {
        if bytes.len() > self.max_message_bytes {
            return Err(GossipError::TooLarge {
                len: bytes.len(),
                max: self.max_message_bytes,
            });
        }
        self.ask(|reply| Command::Publish { data: bytes, reply })
            .await?
    }

    /// The number of connected, allowed peers whose identify exchange named our genesis.
    pub async fn peers(&self) -> Result<usize, GossipError> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// The addresses actually listened on (port 0 resolved); waits for the listener to start.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, GossipError> {
        self.ask(|reply| Command::ListenAddrs { reply }).await
    }

    /// The task's counters.
    pub async fn stats(&self) -> Result<GossipStats, GossipError> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// Replaces the allowed peers (the membership changed): peers no longer allowed are
    /// disconnected at once, newly allowed ones are dialled (if configured) and accepted.
    /// `revoked` names the log position that revoked a refused peer's key, for the log line.
    pub async fn set_allowed(
        &self,
        allowed: HashSet<PeerId>,
        revoked: HashMap<PeerId, u64>,
    ) -> Result<(), GossipError> {
        self.ask(|done| Command::SetAllowed {
            allowed,
            revoked,
            done,
        })
        .await
    }

    /// Stops the task and closes its connections; returns once the swarm is dropped. Does
    /// nothing if the task has already stopped.
    pub async fn shutdown(&self) {
        let _ = self.ask(|done| Command::Shutdown { done }).await;
    }
}

/// Starts the gossip task: listens, subscribes to the topic and dials the configured peers.
/// Must be called inside a tokio runtime.
pub fn spawn(
    config: GossipConfig,
) -> Result<(GossipHandle, mpsc::Receiver<Received>), GossipError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| GossipError::NoRuntime)?;
    if config.topic.is_empty() {
        return Err(GossipError::Config("the topic is empty".into()));
    }
    if config.max_message_bytes == 0 {
        return Err(GossipError::Config("max_message_bytes is 0".into()));
    }
    let mut targets = Vec::with_capacity(config.peers.len());
    for addr in config.peers {
        let peer = match addr.iter().last() {
            Some(Protocol::P2p(peer)) => Some(peer),
            _ => None,
        };
        if peer.is_some_and(|p| !config.allowed.contains(&p)) {
            return Err(GossipError::Config(format!(
                "peer address {addr} names a peer that is not allowed"
            )));
        }
        targets.push(Target {
            addr,
            peer,
            state: DialState::Idle,
        });
    }

    let topic = IdentTopic::new(config.topic);
    let rejected = Arc::new(AtomicU64::new(0));
    let gossipsub = gossipsub_behaviour(
        &topic,
        Gatekeeper {
            max_data: config.max_message_bytes,
            rejected: Arc::clone(&rejected),
        },
    )?;
    let identify = identify::Behaviour::new(
        identify::Config::new(protocol_version(&config.genesis), config.keypair.public())
            .with_agent_version(format!("tradelog-node/{}", env!("CARGO_PKG_VERSION")))
            .with_push_listen_addr_updates(false),
    );
    let behaviour = Behaviour {
        allow: AllowList {
            allowed: config.allowed.clone(),
            established: HashMap::new(),
        },
        identify,
        gossipsub,
    };

    // The tokio TCP listener needs the runtime's reactor.
    let _guard = runtime.enter();
    let local_id = config.keypair.public().to_peer_id();
    let mut swarm = SwarmBuilder::with_existing_identity(config.keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| behaviour)
        .map_err(|never: Infallible| -> GossipError { match never {} })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| GossipError::Listen {
            addr: config.listen.clone(),
            reason: e.to_string(),
        })?;
    info!(peer = %local_id, listen = %config.listen, topic = %topic, "gossip starting");
    let genesis = config.genesis.to_hex();

    let (commands, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (received, received_rx) = mpsc::channel(RECEIVED_CAPACITY);
    let actor = Actor {
        swarm,
        topic: topic.hash(),
        allowed: config.allowed,
        same_genesis: HashSet::new(),
        revoked: HashMap::new(),
        genesis,
        logged: HashSet::new(),
        max_message_bytes: config.max_message_bytes,
        targets,
        received,
        stats: GossipStats::default(),
        rejected,
        listen_waiters: Vec::new(),
    };
    runtime.spawn(actor.run(command_rx));
    Ok((
        GossipHandle {
            commands,
            max_message_bytes: config.max_message_bytes,
        },
        received_rx,
    ))
}

fn gossipsub_behaviour(
    topic: &IdentTopic,
    gatekeeper: Gatekeeper,
) -> Result<gossipsub::Behaviour<Gatekeeper, WhitelistSubscriptionFilter>, GossipError> {
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_initial_delay(HEARTBEAT / 2)
        .heartbeat_interval(HEARTBEAT)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .max_transmit_size(
            gatekeeper
                .max_data
                .saturating_add(ENVELOPE_OVERHEAD)
                .saturating_add(topic.hash().as_str().len()),
        )
        .message_id_fn(|m: &Message| MessageId::from(Hash::of(&[&m.data]).as_bytes().to_vec()))
        // An IHAVE must fit in a frame too: about as many ids as the payload has room for.
        .max_ihave_length((gatekeeper.max_data / ID_WIRE_BYTES).clamp(16, 5000))
        .build()
        .map_err(|e| GossipError::Config(e.to_string()))?;
    // Track subscriptions to our topic only: a peer cannot grow our state with made-up topics.
    let filter = WhitelistSubscriptionFilter(HashSet::from([topic.hash()]));
    let mut behaviour = gossipsub::Behaviour::new_with_subscription_filter_and_transform(
        MessageAuthenticity::Anonymous,
        config,
        filter,
        gatekeeper,
    )
    .map_err(|e| GossipError::Config(e.into()))?;
    behaviour
        .subscribe(topic)
        .map_err(|e| GossipError::Config(e.to_string()))?;
    Ok(behaviour)
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allow: AllowList,
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour<Gatekeeper, WhitelistSubscriptionFilter>,
}

/// Drops, before gossipsub's duplicate cache, messages whose payload is too large.
struct Gatekeeper {
    max_data: usize,
    rejected: Arc<AtomicU64>,
}

impl DataTransform for Gatekeeper {
    fn inbound_transform(&self, raw: RawMessage) -> Result<Message, std::io::Error> {
        let refuse = |why: &'static str| {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            debug!(author = ?raw.source, len = raw.data.len(), why, "gossip message refused");
            Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                why,
            ))
        };
        if raw.data.len() > self.max_data {
            return refuse("payload too large");
        }
        Ok(Message {
            source: raw.source,
            data: raw.data,
            sequence_number: raw.sequence_number,
            topic: raw.topic,
        })
    }

    fn outbound_transform(&self, _: &TopicHash, data: Vec<u8>) -> Result<Vec<u8>, std::io::Error> {
        Ok(data)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("peer {0} is not allowed")]
struct NotAllowed(PeerId);

#[derive(Debug, thiserror::Error)]
#[error("peer {0} already holds {MAX_CONNECTIONS_PER_PEER} connections")]
struct TooManyConnections(PeerId);

/// Denies connections of peers that are not allowed, and surplus connections of allowed ones.
struct AllowList {
    allowed: HashSet<PeerId>,
    established: HashMap<PeerId, u32>,
}

impl AllowList {
    fn admit(&self, peer: PeerId) -> Result<dummy::ConnectionHandler, ConnectionDenied> {
        if !self.allowed.contains(&peer) {
            return Err(ConnectionDenied::new(NotAllowed(peer)));
        }
        if self.established.get(&peer).copied().unwrap_or(0) >= MAX_CONNECTIONS_PER_PEER {
            return Err(ConnectionDenied::new(TooManyConnections(peer)));
        }
        Ok(dummy::ConnectionHandler)
    }
}

impl NetworkBehaviour for AllowList {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(peer)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(peer)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                *self.established.entry(e.peer_id).or_default() += 1
            }
            FromSwarm::ConnectionClosed(e) => {
                if let Some(n) = self.established.get_mut(&e.peer_id) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.established.remove(&e.peer_id);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

/// A configured peer address and where dialling it stands.
struct Target {
    addr: Multiaddr,
    peer: Option<PeerId>,
    state: DialState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DialState {
    Idle,
    Dialing(ConnectionId),
    Connected(PeerId),
}

struct Actor {
    swarm: Swarm<Behaviour>,
    topic: TopicHash,
    allowed: HashSet<PeerId>,
    /// Connected peers whose identify exchange named our genesis (a peer counts only then:
    /// before it, a peer of another genesis would be counted for a moment).
    same_genesis: HashSet<PeerId>,
    /// Refused peers whose key was revoked, with the log position that revoked it.
    revoked: HashMap<PeerId, u64>,
    /// This node's genesis hash, hex.
    genesis: String,
    /// Refusals already logged: each (peer, reason) once.
    logged: HashSet<(PeerId, Refusal)>,
    max_message_bytes: usize,
    targets: Vec<Target>,
    received: mpsc::Sender<Received>,
    stats: GossipStats,
    rejected: Arc<AtomicU64>,
    listen_waiters: Vec<oneshot::Sender<Vec<Multiaddr>>>,
}

impl Actor {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let done = loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None => break None,
                    Some(Command::Shutdown { done }) => break Some(done),
                    Some(command) => self.on_command(command),
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                _ = redial.tick() => self.redial(),
            }
        };
        info!(peer = %self.swarm.local_peer_id(), "gossip stopped");
        drop(self);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { data, reply } => {
                let len = data.len();
                let result = match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(self.topic.clone(), data)
                {
                    Ok(id) => {
                        debug!(message = %id, len, "gossip published");
                        Ok(())
                    }
                    Err(PublishError::NoPeersSubscribedToTopic) => Err(GossipError::NoPeers),
                    Err(PublishError::Duplicate) => Err(GossipError::Duplicate),
                    Err(PublishError::MessageTooLarge) => Err(GossipError::TooLarge {
                        len,
                        max: self.max_message_bytes,
                    }),
                    Err(e) => Err(GossipError::Publish(e)),
                };
                let _ = reply.send(result);
            }
            Command::Peers { reply } => {
                let n = self
                    .swarm
                    .connected_peers()
                    .filter(|p| self.allowed.contains(p) && self.same_genesis.contains(p))
                    .count();
                let _ = reply.send(n);
            }
            Command::ListenAddrs { reply } => {
                if self.swarm.listeners().next().is_some() {
                    let _ = reply.send(self.swarm.listeners().cloned().collect());
                } else {
                    self.listen_waiters.push(reply);
                }
            }
            Command::Stats { reply } => {
                let stats = GossipStats {
                    rejected: self.stats.rejected + self.rejected.load(Ordering::Relaxed),
                    connected_peers: self.swarm.connected_peers().count(),
                    ..self.stats
                };
                let _ = reply.send(stats);
            }
            Command::SetAllowed {
                allowed,
                revoked,
                done,
            } => {
                self.set_allowed(allowed, revoked);
                let _ = done.send(());
            }
            // `run` stops the loop on this command before it gets here.
            Command::Shutdown { .. } => {}
        }
    }

    fn set_allowed(&mut self, allowed: HashSet<PeerId>, revoked: HashMap<PeerId, u64>) {
        let added = allowed.difference(&self.allowed).count();
        let removed = self.allowed.difference(&allowed).count();
        if added + removed > 0 {
            info!(
                allowed = allowed.len(),
                added, removed, "gossip allow list updated from the membership"
            );
        }
        self.swarm.behaviour_mut().allow.allowed = allowed.clone();
        self.allowed = allowed;
        self.revoked = revoked;
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in connected {
            if !self.allowed.contains(&peer) {
                let why = self.refusal_of(&peer);
                self.refused(peer, why, "disconnected");
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
        // Newly allowed peers: dial the configured ones now rather than at the next tick.
        self.redial();
    }

    /// Why `peer`, not allowed, is refused.
    fn refusal_of(&self, peer: &PeerId) -> Refusal {
        match self.revoked.get(peer) {
            Some(at) => Refusal::Revoked(*at),
            None => Refusal::NotMember,
        }
    }

    /// Logs a refusal once per peer and reason, at WARN, naming the peer's key.
    fn refused(&mut self, peer: PeerId, why: Refusal, what: &str) {
        if !self.logged.insert((peer, why.clone())) {
            debug!(%peer, reason = %why, "gossip peer {what} (again)");
            return;
        }
        let key = peer_key(&peer).unwrap_or_else(|| "(not an ed25519 key)".into());
        match &why {
            Refusal::Genesis(theirs) => warn!(
                %peer,
                "gossip peer with key {key} {what}: genesis mismatch: the peer runs genesis {theirs}, this node runs genesis {}; check that both hosts were given the same genesis.json",
                self.genesis
            ),
            _ => warn!(%peer, "gossip peer with key {key} {what}: {why}"),
        }
    }

    fn on_identify(&mut self, event: identify::Event) {
        let identify::Event::Received { peer_id, info, .. } = event else {
            return;
        };
        let theirs = genesis_of(&info.protocol_version)
            .unwrap_or(info.protocol_version.as_str())
            .to_owned();
        if theirs == self.genesis {
            self.same_genesis.insert(peer_id);
        } else {
            self.same_genesis.remove(&peer_id);
            self.stats.denied += 1;
            self.refused(peer_id, Refusal::Genesis(theirs), "disconnected");
            let _ = self.swarm.disconnect_peer_id(peer_id);
        }
    }

    /// A connection refused by the allow list (`cause` is its [`ConnectionDenied`]).
    fn on_denied(&mut self, peer: Option<PeerId>, cause: &ConnectionDenied) {
        self.stats.denied += 1;
        let Some(peer) = peer else { return };
        let why = if cause.downcast_ref::<TooManyConnections>().is_some() {
            Refusal::TooManyConnections
        } else if cause.downcast_ref::<NotAllowed>().is_some() {
            self.refusal_of(&peer)
        } else {
            return;
        };
        self.refused(peer, why, "refused");
    }

    fn answer_listen_waiters(&mut self) {
        let addrs: Vec<Multiaddr> = self.swarm.listeners().cloned().collect();
        for waiter in self.listen_waiters.drain(..) {
            let _ = waiter.send(addrs.clone());
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Allow(never)) => match never {},
            SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) => self.on_identify(event),
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "gossip listening");
                self.answer_listen_waiters();
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                warn!(?addresses, ?reason, "gossip listener closed");
                self.answer_listen_waiters();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                if !self.allowed.contains(&peer_id) {
                    // The allow list denies these before they are established; never trust one.
                    warn!(peer = %peer_id, "disconnecting a peer that is not allowed");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "gossip connected");
                for target in &mut self.targets {
                    if target.state == DialState::Dialing(connection_id) {
                        target.state = DialState::Connected(peer_id);
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                debug!(peer = %peer_id, remaining = num_established, ?cause, "gossip connection closed");
                if num_established == 0 {
                    self.same_genesis.remove(&peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                if let DialError::Denied { cause } = &error {
                    self.on_denied(peer_id, cause);
                }
                debug!(peer = ?peer_id, %error, "gossip dial failed");
                for target in &mut self.targets {
                    if target.state == DialState::Dialing(connection_id) {
                        target.state = DialState::Idle;
                    }
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                peer_id,
                error,
                ..
            } => {
                if let ListenError::Denied { cause } = &error {
                    self.on_denied(peer_id, cause);
                }
                debug!(addr = %send_back_addr, peer = ?peer_id, %error, "gossip inbound connection failed");
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source: from,
                message_id,
                message,
            } => {
                let accept = self.allowed.contains(&from)
                    && message.topic == self.topic
                    && message.data.len() <= self.max_message_bytes;
                if !accept {
                    self.stats.rejected += 1;
                    debug!(%from, author = ?message.source, message = %message_id, "gossip message rejected");
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &from,
                            MessageAcceptance::Reject,
                        );
                    return;
                }
                // Accept even if our consumer lags: forwarding is the network's business.
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(
                        &message_id,
                        &from,
                        MessageAcceptance::Accept,
                    );
                match self.received.try_send(Received {
                    from,
                    data: message.data,
                }) {
                    Ok(()) => self.stats.delivered += 1,
                    Err(e) => {
                        self.stats.dropped += 1;
                        if self.stats.dropped.is_power_of_two() {
                            let full = matches!(e, TrySendError::Full(_));
                            warn!(
                                dropped = self.stats.dropped,
                                full, "gossip messages dropped: consumer lags"
                            );
                        }
                    }
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "gossip peer subscribed")
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "gossip peer unsubscribed")
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                debug!(peer = %peer_id, "gossip peer does not speak gossipsub")
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                warn!(peer = %peer_id, ?failed_messages, "gossip peer is slow")
            }
        }
    }

    /// Dials every configured peer that is neither connected nor being dialled.
    fn redial(&mut self) {
        for target in &mut self.targets {
            let connected = match target.state {
                DialState::Dialing(_) => continue,
                DialState::Connected(peer) => self.swarm.is_connected(&peer),
                DialState::Idle => target.peer.is_some_and(|p| self.swarm.is_connected(&p)),
            };
            if connected {
                continue;
            }
            let opts = match target.peer {
                Some(peer) => DialOpts::peer_id(peer)
                    .addresses(vec![target.addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => DialOpts::unknown_peer_id()
                    .address(target.addr.clone())
                    .build(),
            };
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    debug!(addr = %target.addr, "gossip dialling");
                    target.state = DialState::Dialing(id);
                }
                Err(error) => {
                    debug!(addr = %target.addr, %error, "gossip dial not started");
                    target.state = DialState::Idle;
                }
            }
        }
    }
}
