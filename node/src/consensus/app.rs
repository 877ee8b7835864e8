//! The application side of Malachite: answers every `AppMsg`, builds and validates blocks,
//! streams and reassembles proposals, commits decided blocks with their quorum certificates,
//! and serves and ingests decided blocks for catch-up (value sync).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use malachitebft_app_channel::app::engine::host::{Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, CommitSignature, Context as _, ExtendedCommitCertificate, HeightParams,
    LinearTimeouts, Round, Validity,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{
    LocallyProposedValue, MisbehaviorEvidence, PeerId, ProposedValue,
};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use tradelog_protocol::head::CommitSig;
use tradelog_protocol::{Certificate, Hash, PublicKey, Signature};

use super::codec::{MAX_BLOCK_BYTES, MAX_CHUNK};
use super::context::{
    round_u32, Address, Ctx, Height, ProposalPart, ValidatorSet, Value, ValueId, Vote,
};
use crate::block::codec as block;
use crate::block::Block;
use crate::chain::{lock, now_ms, Chain};
use crate::metrics::Metrics;
use crate::store::Store;

/// Size of the data chunks a proposal is streamed in.
const CHUNK: usize = 256 * 1024;
/// Most incomplete proposal streams kept at once.
const MAX_STREAMS: usize = 64;
/// With `empty_blocks = false`, the default of how long an idle node waits for events before it
/// starts the next height anyway (`[consensus] empty_block_interval_ms`). A node starts a height when its mempool holds an event or a peer's
/// proposal for that height arrives, so events gossiped to any validator get the network going
/// without it. It is a safety net for what gossip cannot fix: a node holding events that its
/// peers never received (their consensus votes for a height they have not started are queued,
/// not acted on), and a ledger head whose time should not stay still forever.
pub const IDLE_HEARTBEAT: Duration = Duration::from_secs(30);

/// How the app builds blocks.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Most events in a block.
    pub max_block_events: usize,
    /// Start every height at once, and propose a block even with no events. Otherwise an idle
    /// node waits for events (or a peer's proposal, or `idle_heartbeat`) before it starts the
    /// next height.
    pub empty_blocks: bool,
    /// The longest an idle node waits (default [`IDLE_HEARTBEAT`]).
    pub idle_heartbeat: Duration,
    /// Consensus timeouts.
    pub timeouts: LinearTimeouts,
    /// Verify the events' signatures of blocks received through value sync too (their
    /// certificate is always verified). Default: false.
    pub sync_verify_signatures: bool,
    /// Where a failed storage write is reported: it stops the node (`crate::fatal`).
    pub fatal: crate::fatal::Fatal,
}

/// Converts the engine's commit certificate into a tradelog quorum certificate.
pub fn to_certificate(cert: &CommitCertificate<Ctx>) -> Result<Certificate, String> {
    let signatures = cert
        .commit_signatures
        .iter()
        .map(|s| {
            Ok(CommitSig {
                validator: PublicKey::from_bytes(&s.address.0).map_err(|e| e.to_string())?,
                sig: Signature::from_bytes(&s.signature.0),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Certificate {
        height: cert.height.0,
        round: round_u32(cert.round),
        head: Hash(cert.value_id.0),
        signatures,
    })
}

/// Converts a stored tradelog certificate back for value sync.
pub fn from_certificate(cert: &Certificate) -> ExtendedCommitCertificate<Ctx> {
    let c = CommitCertificate {
        height: Height(cert.height),
        round: if cert.round == u32::MAX {
            Round::Nil
        } else {
            Round::new(cert.round)
        },
        value_id: ValueId(cert.head.0),
        commit_signatures: cert
            .signatures
            .iter()
            .map(|s| {
                CommitSignature::new(
                    Address(s.validator.to_bytes()),
                    super::context::Sig(s.sig.to_bytes()),
                )
            })
            .collect(),
    };
    ExtendedCommitCertificate::from_commit_certificate_and_extensions(c, Default::default())
}

#[derive(Default)]
struct Stream {
    parts: BTreeMap<u64, ProposalPart>,
    fin: Option<u64>,
    bytes: usize,
}

/// Blocks known by id (own proposals, received proposals, synced values) until decided.
type BlockCache = Arc<Mutex<HashMap<ValueId, Block>>>;
/// This node's streamed proposals by (height, round), kept for restreaming.
type OwnParts = Arc<Mutex<HashMap<(u64, u32), Vec<StreamMessage<ProposalPart>>>>>;

/// The app: state shared by the handlers.
pub struct App {
    chain: Arc<Chain>,
    ctx: Ctx,
    address: Option<Address>,
    config: AppConfig,
    metrics: Arc<Metrics>,
    blocks: BlockCache,
    own: OwnParts,
    streams: HashMap<(PeerId, Bytes), Stream>,
    future: HashMap<u64, Vec<(ProposedValue<Ctx>, Block)>>,
    /// Highest height of a complete proposal from its proposer, and a wake-up when it grows.
    proposed: Arc<(AtomicU64, tokio::sync::Notify)>,
    /// Highest height this node decided through value sync (it is catching up).
    synced: u64,
}

impl App {
    /// A new app over `chain`. `address` is `None` for an observer.
    pub fn new(
        chain: Arc<Chain>,
        ctx: Ctx,
        address: Option<Address>,
        config: AppConfig,
        metrics: Arc<Metrics>,
    ) -> App {
        App {
            chain,
            ctx,
            address,
            config,
            metrics,
            blocks: Arc::default(),
            own: Arc::default(),
            streams: HashMap::new(),
            future: HashMap::new(),
            proposed: Arc::default(),
            synced: 0,
        }
    }

    fn params(&self) -> HeightParams<Ctx> {
        HeightParams::new(self.validators(), self.config.timeouts, None)
    }

    /// The validators of the next height: the genesis set until a `set_validators` membership
    /// change commits, then the set it names, from the height after its block.
    fn validators(&self) -> ValidatorSet {
        ValidatorSet::from_protocol(&self.chain.next_validators())
    }

    /// Runs until the engine closes its channel; returns an error on a fatal failure.
    pub async fn run(mut self, mut channels: Channels<Ctx>) -> Result<(), String> {
        while let Some(msg) = channels.consensus.recv().await {
            self.handle(msg, &channels)?;
        }
        Err("consensus engine stopped".into())
    }

    fn handle(&mut self, msg: AppMsg<Ctx>, channels: &Channels<Ctx>) -> Result<(), String> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let start = Height(self.chain.height() + 1);
                tracing::info!(height = start.0, "consensus ready");
                let _ = reply.send((start, self.params()));
            }
            AppMsg::StartedRound {
                height,
                round,
                proposer,
                reply_value,
                ..
            } => {
                tracing::debug!(height = height.0, round = %round, proposer = %proposer, "round started");
                let mut values = Vec::new();
                if let Some(pending) = self.future.remove(&height.0) {
                    for (pv, block) in pending {
                        let pv = self.check(pv, &block, false);
                        values.push(pv);
                    }
                }
                let _ = reply_value.send(values);
            }
            AppMsg::GetValue {
                height,
                round,
                reply,
                ..
            } => {
                self.get_value(height, round, reply, channels.network.clone());
            }
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                let _ = reply.send(extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect());
            }
            AppMsg::RestreamProposal { height, round, .. } => {
                let parts = lock(&self.own).get(&(height.0, round_u32(round))).cloned();
                if let Some(parts) = parts {
                    let net = channels.network.clone();
                    tokio::spawn(async move {
                        for p in parts {
                            let _ = net.send(NetworkMsg::PublishProposalPart(p)).await;
                        }
                    });
                }
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let _ = reply.send(Height(1));
            }
            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let publisher = published_by.unwrap_or(from);
                let _ = reply.send(self.received_part(publisher, part));
            }
            AppMsg::Decided {
                certificate, reply, ..
            } => {
                let known = lock(&self.blocks).contains_key(&certificate.value_id);
                if known {
                    let result = self.decided(&certificate);
                    let _ = reply.send(());
                    result?;
                } else {
                    // Decided from votes replayed or received without the block (a restart in
                    // the middle of a height): not committed here; Finalized restarts the
                    // height and value sync fetches the block with its certificate from peers.
                    let _ = reply.send(());
                    tracing::warn!(
                        height = certificate.height.0,
                        block = %certificate.value_id,
                        "decided a block this node does not hold; restarting the height to fetch it from peers"
                    );
                }
            }
            AppMsg::Finalized {
                certificate,
                reply,
                evidence,
                ..
            } => {
                self.record_evidence(&evidence);
                let next = Height(certificate.height.0 + 1);
                let params = self.params();
                if self.chain.height() < certificate.height.0 {
                    let _ = reply.send(Next::Restart(certificate.height, params));
                    return Ok(());
                }
                if self.config.empty_blocks || certificate.height.0 <= self.synced {
                    // Configured to, or catching up: the next height is already waiting.
                    let _ = reply.send(Next::Start(next, params));
                } else {
                    let (chain, proposed) = (self.chain.clone(), self.proposed.clone());
                    let heartbeat = self.config.idle_heartbeat;
                    tokio::spawn(async move {
                        tokio::select! {
                            () = chain.events_pending() => {}
                            () = proposal_at(&proposed, next.0) => {}
                            () = tokio::time::sleep(heartbeat) => {}
                        }
                        let _ = reply.send(Next::Start(next, params));
                    });
                }
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let _ = reply.send(self.decided_values(range.start().0, range.end().0));
            }
            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = match self.decode_block(&value_bytes) {
                    Some(block) if block.head.height == height.0 => {
                        let pv = ProposedValue {
                            height,
                            round,
                            valid_round: Round::Nil,
                            proposer,
                            value: Value {
                                id: ValueId(block.head.hash().0),
                            },
                            validity: Validity::Valid,
                        };
                        let pv = self.check(pv, &block, true);
                        if pv.validity == Validity::Valid && height.0 == self.chain.height() + 1 {
                            self.synced = height.0;
                        }
                        SyncedValueOutcome::Verdict(pv)
                    }
                    _ => SyncedValueOutcome::PeerFault,
                };
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }

    /// Validates a block against the ledger and remembers it if valid.
    /// Validates a block (a proposal, or with `certified` a value that sync delivered with a
    /// certificate the engine verified) and remembers it if valid. Runs on this worker thread
    /// with the runtime told it blocks (signature checks, storage reads).
    fn check(
        &self,
        mut pv: ProposedValue<Ctx>,
        block: &Block,
        certified: bool,
    ) -> ProposedValue<Ctx> {
        let now = now_ms();
        let verdict = || {
            if certified {
                self.chain
                    .validate_certified(block, self.config.sync_verify_signatures)
            } else {
                self.chain.validate(block)
            }
        };
        let valid = pv.value.id.0 == block.head.hash().0
            && block.head.time <= now.saturating_add(tradelog_protocol::ledger::MAX_CLOCK_SKEW_MS)
            && match blocking(verdict) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(height = pv.height.0, error = %e, "invalid block proposed");
                    false
                }
            };
        if valid {
            lock(&self.blocks).insert(pv.value.id, block.clone());
        }
        pv.validity = Validity::from_bool(valid);
        pv
    }

    fn get_value(
        &self,
        height: Height,
        round: Round,
        reply: tokio::sync::oneshot::Sender<LocallyProposedValue<Ctx>>,
        net: tokio::sync::mpsc::Sender<NetworkMsg<Ctx>>,
    ) {
        let chain = self.chain.clone();
        let blocks = self.blocks.clone();
        let own = self.own.clone();
        let config = self.config.clone();
        let Some(proposer) = self.address else { return };
        tokio::spawn(async move {
            // The same value for the same (height, round), also after a restart.
            let block = match chain.store().proposal(height.0, round_u32(round)) {
                Ok(Some(b)) => Some(b),
                _ => None,
            };
            let block = match block {
                Some(b) => b,
                None => {
                    let prev = chain.certified().map_or(0, |(h, _)| h.time);
                    let Some(b) = chain.propose(config.max_block_events, now_ms().max(prev)) else {
                        tracing::error!(height = height.0, "cannot build a block");
                        return;
                    };
                    if let Err(e) = chain.store().put_proposal(height.0, round_u32(round), &b) {
                        let during =
                            format!("persisting this node's proposal for height {}", height.0);
                        config.fatal.storage(&during, &e);
                        return;
                    }
                    b
                }
            };
            let value = Value {
                id: ValueId(block.head.hash().0),
            };
            let bytes = match block::encode(&block) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(height = height.0, error = %e, "cannot encode own block");
                    return;
                }
            };
            lock(&blocks).insert(value.id, block);
            let _ = reply.send(LocallyProposedValue::new(height, round, value));
            let mut sid = height.0.to_be_bytes().to_vec();
            sid.extend_from_slice(&round_u32(round).to_be_bytes());
            let sid = StreamId::new(Bytes::from(sid));
            let mut parts = vec![ProposalPart::Init {
                height,
                round,
                pol_round: Round::Nil,
                proposer,
            }];
            parts.extend(
                bytes
                    .chunks(CHUNK)
                    .map(|c| ProposalPart::Data(Bytes::copy_from_slice(c))),
            );
            parts.push(ProposalPart::Fin);
            let mut msgs: Vec<StreamMessage<ProposalPart>> = parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| StreamMessage::new(sid.clone(), i as u64, StreamContent::Data(p)))
                .collect();
            msgs.push(StreamMessage::new(
                sid,
                msgs.len() as u64,
                StreamContent::Fin,
            ));
            lock(&own).insert((height.0, round_u32(round)), msgs.clone());
            for m in msgs {
                if net.send(NetworkMsg::PublishProposalPart(m)).await.is_err() {
                    break;
                }
            }
        });
    }

    fn received_part(
        &mut self,
        publisher: PeerId,
        part: StreamMessage<ProposalPart>,
    ) -> Option<ProposedValue<Ctx>> {
        let key = (publisher, part.stream_id.to_bytes());
        if !self.streams.contains_key(&key) && self.streams.len() >= MAX_STREAMS {
            // Forget an arbitrary old stream rather than grow without bound.
            let victim = self.streams.keys().next().cloned();
            if let Some(v) = victim {
                self.streams.remove(&v);
            }
        }
        let stream = self.streams.entry(key.clone()).or_default();
        match part.content {
            StreamContent::Fin => stream.fin = Some(part.sequence),
            StreamContent::Data(p) => {
                if let ProposalPart::Data(d) = &p {
                    stream.bytes += d.len();
                }
                if stream.bytes > MAX_BLOCK_BYTES + MAX_CHUNK
                    || stream.parts.len() > MAX_BLOCK_BYTES / CHUNK + 4
                {
                    self.streams.remove(&key);
                    return None;
                }
                stream.parts.insert(part.sequence, p);
            }
        }
        let complete = stream.fin.is_some_and(|f| {
            stream.parts.len() as u64 == f && stream.parts.keys().copied().eq(0..f)
        });
        if !complete {
            return None;
        }
        let stream = self.streams.remove(&key)?;
        let mut parts = stream.parts.into_values();
        let Some(ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        }) = parts.next()
        else {
            return None;
        };
        let mut bytes = Vec::with_capacity(stream.bytes);
        for p in parts {
            if let ProposalPart::Data(d) = p {
                bytes.extend_from_slice(&d);
            }
        }
        let block = self.decode_block(&bytes)?;
        let expected = self
            .ctx
            .select_proposer(&self.validators(), height, round)
            .address;
        if proposer != expected {
            tracing::warn!(
                height = height.0,
                "proposal streamed by a validator that is not the proposer"
            );
            return None;
        }
        let pv = ProposedValue {
            height,
            round,
            valid_round: pol_round,
            proposer,
            value: Value {
                id: ValueId(block.head.hash().0),
            },
            validity: Validity::Valid,
        };
        let (seen, wake) = &*self.proposed;
        if seen.fetch_max(height.0, Ordering::SeqCst) < height.0 {
            wake.notify_waiters();
        }
        let next = self.chain.height() + 1;
        if height.0 > next {
            self.future.entry(height.0).or_default().push((pv, block));
            return None;
        }
        if height.0 < next {
            return None;
        }
        Some(self.check(pv, &block, false))
    }

    /// Keeps every double vote the engine saw since the last decision as verified evidence.
    fn record_evidence(&self, evidence: &MisbehaviorEvidence<Ctx>) {
        for (addr, pairs) in evidence.votes.iter() {
            for (a, b) in pairs {
                let (Some(first), Some(second)) = (Vote::to_evidence(a), Vote::to_evidence(b))
                else {
                    continue;
                };
                let found = crate::evidence::Evidence::DoubleSign(
                    tradelog_protocol::evidence::DoubleSign { first, second },
                );
                match crate::evidence::verify(found, self.chain.genesis(), "consensus") {
                    Ok(record) => match crate::evidence::store(self.chain.store(), &record) {
                        Ok(_) => tracing::warn!(
                            height = record.height,
                            validator = %addr,
                            "equivocation: double vote stored as evidence"
                        ),
                        Err(e) => {
                            let during = "storing evidence of a double vote";
                            if !self.config.fatal.storage_io(during, &e) {
                                tracing::error!(error = %e, "cannot store evidence");
                            }
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "engine reported a double vote that does not verify")
                    }
                }
            }
        }
    }

    fn decided(&mut self, cert: &CommitCertificate<Ctx>) -> Result<(), String> {
        let block = lock(&self.blocks)
            .get(&cert.value_id)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "decided block {} at height {} is unknown",
                    cert.value_id, cert.height
                )
            })?;
        let qc = to_certificate(cert)?;
        // The validator set of this height, read before the commit may change it.
        let set = self.chain.next_validators();
        blocking(|| self.chain.commit(&block, qc.clone())).map_err(|e| {
            let during = format!("committing block {}", cert.height.0);
            self.config.fatal.storage(&during, &e);
            format!("cannot store decided block: {e}")
        })?;
        let ids: Vec<_> = block.events.iter().map(|e| e.id()).collect();
        self.metrics.committed(&ids, Instant::now());
        self.metrics.vitals.decided(&qc, &set);
        let h = cert.height.0;
        lock(&self.blocks).retain(|_, b| b.head.height > h);
        lock(&self.own).retain(|(height, _), _| *height > h);
        self.future.retain(|height, _| *height > h);
        if let Err(e) = self.chain.store().prune_proposals(h) {
            if !self.config.fatal.storage_io("pruning old proposals", &e) {
                tracing::warn!(error = %e, "cannot prune old proposals");
            }
        }
        tracing::debug!(height = h, events = ids.len(), "committed");
        Ok(())
    }

    fn decided_values(&self, start: u64, end: u64) -> Vec<RawDecidedValue<Ctx>> {
        let end = end.min(start.saturating_add(super::codec::MAX_SYNC_VALUES as u64 - 1));
        let mut out = Vec::new();
        for h in start..=end {
            let Ok(Some(b)) = self.chain.store().block(h) else {
                break;
            };
            let cert = from_certificate(&b.certificate);
            let block = Block {
                head: b.head,
                events: b.events,
            };
            let Ok(bytes) = block::encode(&block) else {
                break;
            };
            out.push(RawDecidedValue::new(Bytes::from(bytes), cert));
        }
        out
    }
}

/// Runs blocking work (signature checks, storage writes and fsync) from the app loop: on a
/// multi-threaded runtime the worker's other tasks move elsewhere meanwhile.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Decodes block bytes as carried by proposal parts and sync, with no mempool to borrow from
/// (public for the fuzz targets).
#[doc(hidden)]
pub fn decode_block(bytes: &[u8]) -> Option<Block> {
    if bytes.len() > MAX_BLOCK_BYTES {
        return None;
    }
    block::decode(bytes, |_, _| None).ok()
}

impl App {
    /// Decodes block bytes from a peer, taking events this node holds from its mempool.
    fn decode_block(&self, bytes: &[u8]) -> Option<Block> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return None;
        }
        block::decode(bytes, |id, sig| self.chain.pending_exact(id, sig))
            .map_err(|e| tracing::warn!(error = %e, "undecodable block"))
            .ok()
    }
}

/// Resolves once a proposal for `height` (or a later one) has arrived.
async fn proposal_at(proposed: &(AtomicU64, tokio::sync::Notify), height: u64) {
    let (seen, wake) = proposed;
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if seen.load(Ordering::SeqCst) >= height {
            return;
        }
        notified.await;
    }
}
