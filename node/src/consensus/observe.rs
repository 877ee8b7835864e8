//! Watches the consensus engine for health and metrics, without taking part in it: the
//! network actor's events (peers connecting and leaving, the tips they announce for value sync)
//! and the engine's event stream (votes and proposals sent and received, this node's own votes).
//! Everything lands in [`Vitals`]; nothing here answers the engine.

use std::collections::HashSet;
use std::sync::Arc;

use malachitebft_app_channel::app::engine::network::{Msg as NetworkActorMsg, NetworkEvent};
use malachitebft_app_channel::app::engine::util::events::Event;
use malachitebft_app_channel::app::types::SignedConsensusMsg;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::broadcast::error::RecvError;

use super::context::{Address, Ctx};
use crate::metrics::{ConsensusMessage, Direction, Network, Vitals};

/// A network event, as the observer actor receives it.
pub struct Observed(NetworkEvent<Ctx>);

impl From<NetworkEvent<Ctx>> for Observed {
    fn from(e: NetworkEvent<Ctx>) -> Observed {
        Observed(e)
    }
}

/// The actor subscribed to the consensus network's events.
struct NetworkObserver {
    metrics: Arc<crate::metrics::Metrics>,
}

#[ractor::async_trait]
impl Actor for NetworkObserver {
    type Msg = Observed;
    /// Connected consensus peers.
    type State = HashSet<String>;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<Observed>,
        _: (),
    ) -> Result<HashSet<String>, ActorProcessingErr> {
        Ok(HashSet::new())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Observed>,
        Observed(event): Observed,
        peers: &mut HashSet<String>,
    ) -> Result<(), ActorProcessingErr> {
        let vitals = &self.metrics.vitals;
        match event {
            NetworkEvent::PeerConnected(p) => {
                peers.insert(p.to_string());
                vitals.set_peers(Network::Consensus, peers.len());
            }
            NetworkEvent::PeerDisconnected(p) => {
                let p = p.to_string();
                peers.remove(&p);
                vitals.peer_gone(&p);
                vitals.set_peers(Network::Consensus, peers.len());
            }
            NetworkEvent::Status(p, status) => {
                let p = p.to_string();
                if peers.contains(&p) {
                    vitals.peer_tip(p, status.tip_height.0);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Subscribes an observer to the network actor `network`: connected peers and their tips.
pub async fn watch_network(
    network: &ActorRef<NetworkActorMsg<Ctx>>,
    metrics: Arc<crate::metrics::Metrics>,
) -> eyre::Result<()> {
    let (observer, _) = Actor::spawn(None, NetworkObserver { metrics }, ())
        .await
        .map_err(|e| eyre::eyre!("cannot start the consensus network observer: {e}"))?;
    // Linked, so the observer stops with the network actor.
    observer.link(network.get_cell());
    network
        .cast(NetworkActorMsg::Subscribe(Box::new(observer)))
        .map_err(|e| eyre::eyre!("cannot watch the consensus network: {e}"))?;
    Ok(())
}

/// Counts the engine's consensus messages and notes this node's own votes, until the engine's
/// event stream closes. A slow reader skips events (the stream is bounded): the counters then
/// undercount, which is all.
pub async fn watch_events(
    mut events: tokio::sync::broadcast::Receiver<Event<Ctx>>,
    own: Address,
    vitals: Arc<crate::metrics::Metrics>,
) {
    let vitals: &Vitals = &vitals.vitals;
    loop {
        let (msg, direction) = match events.recv().await {
            Ok(Event::Published(m)) => (m, Direction::Sent),
            Ok(Event::Received(m)) => (m, Direction::Received),
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        match msg {
            SignedConsensusMsg::Vote(v) => {
                vitals.consensus_message(ConsensusMessage::Vote, direction);
                if direction == Direction::Sent && v.message.validator == own {
                    vitals.voted(v.message.height.0);
                }
            }
            SignedConsensusMsg::Proposal(_) => {
                vitals.consensus_message(ConsensusMessage::Proposal, direction);
            }
        }
    }
}
