//! The event-gossip network over real TCP on 127.0.0.1: allowed peers exchange messages, an
//! outsider is shut out, an outsider's message relayed by a lax peer is refused without poisoning
//! the duplicate cache, and oversized messages go nowhere; the allowed set changes while running
//! (a peer added later connects, a removed one is disconnected) and a peer of another genesis is
//! disconnected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::Receiver;
use tokio::time::{sleep, timeout, Instant};
use tradelog_node::gossip::{spawn, GossipConfig, GossipError, GossipHandle, Received};
use tradelog_protocol::Hash;

const TOPIC: &str = "tradelog/test/events/v1";
const MAX: usize = 1024;
const STEP: Duration = Duration::from_secs(8);
const QUIET: Duration = Duration::from_secs(2);

struct Node {
    name: &'static str,
    id: PeerId,
    handle: GossipHandle,
    rx: Receiver<Received>,
    addr: Multiaddr,
}

fn key(seed: u8) -> Keypair {
    Keypair::ed25519_from_bytes([seed; 32]).unwrap()
}

fn id(seed: u8) -> PeerId {
    key(seed).public().to_peer_id()
}

async fn start(name: &'static str, seed: u8, allowed: &[u8], peers: &[&Node], max: usize) -> Node {
    start_of(
        name,
        seed,
        allowed,
        peers,
        max,
        Hash::of(&[b"test genesis"]),
    )
    .await
}

async fn start_of(
    name: &'static str,
    seed: u8,
    allowed: &[u8],
    peers: &[&Node],
    max: usize,
    genesis: Hash,
) -> Node {
    let (handle, rx) = spawn(GossipConfig {
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        peers: peers.iter().map(|n| n.addr.clone()).collect(),
        keypair: key(seed),
        allowed: allowed.iter().map(|s| id(*s)).collect(),
        topic: TOPIC.into(),
        genesis,
        max_message_bytes: max,
    })
    .unwrap();
    let addrs = timeout(STEP, handle.listen_addrs()).await.unwrap().unwrap();
    Node {
        name,
        id: id(seed),
        handle,
        rx,
        addr: addrs[0].clone(),
    }
}

impl Node {
    async fn wait_peers(&self, n: usize) {
        timeout(STEP, async {
            while self.handle.peers().await.unwrap() < n {
                sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} never reached {n} peers", self.name));
    }

    /// Publishes, retrying while no peer has subscribed yet.
    async fn publish(&self, bytes: &[u8]) {
        timeout(STEP, async {
            loop {
                match self.handle.publish(bytes.to_vec()).await {
                    Ok(()) => return,
                    Err(GossipError::NoPeers) => sleep(Duration::from_millis(50)).await,
                    Err(e) => panic!("{} cannot publish: {e}", self.name),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} found no subscribed peer", self.name));
    }

    async fn recv(&mut self) -> Received {
        timeout(STEP, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{} received nothing", self.name))
            .unwrap()
    }

    fn assert_nothing_received(&mut self) {
        match self.rx.try_recv() {
            Err(TryRecvError::Empty) => {}
            other => panic!("{} received {other:?}", self.name),
        }
    }

    /// Waits until the node counts exactly `n` allowed peers.
    async fn wait_exactly(&self, n: usize) {
        timeout(STEP, async {
            while self.handle.peers().await.unwrap() != n {
                sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} never had exactly {n} peers", self.name));
    }

    async fn rejected(&self) -> u64 {
        self.handle.stats().await.unwrap().rejected
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn allowed_nodes_gossip_and_an_outsider_is_shut_out() {
    let abc = [1, 2, 3];
    let mut a = start("A", 1, &abc, &[], MAX).await;
    let mut b = start("B", 2, &abc, &[&a], MAX).await;
    let mut c = start("C", 3, &abc, &[&a, &b], MAX).await;
    for node in [&a, &b, &c] {
        node.wait_peers(2).await;
    }

    // A publishes: B and C both get A's bytes, directly or relayed by the other.
    a.publish(b"container MSKU1234565 loaded at NLRTM").await;
    let (b_id, c_id) = (b.id, c.id);
    for (node, relay) in [(&mut b, c_id), (&mut c, b_id)] {
        let got = node.recv().await;
        assert_eq!(got.data, b"container MSKU1234565 loaded at NLRTM");
        assert!(
            got.from == a.id || got.from == relay,
            "{} got it from {}",
            node.name,
            got.from
        );
    }

    // C publishes: A and B get it.
    c.publish(b"customs release at SGSIN").await;
    let ids = [a.id, b.id, c.id];
    for node in [&mut a, &mut b] {
        let got = node.recv().await;
        assert_eq!(got.data.as_slice(), &b"customs release at SGSIN"[..]);
        assert!(
            ids.contains(&got.from),
            "{} got it from {}",
            node.name,
            got.from
        );
    }

    // One byte over the limit is refused; exactly the limit goes through.
    match a.handle.publish(vec![7; MAX + 1]).await {
        Err(GossipError::TooLarge { len, max }) => assert_eq!((len, max), (MAX + 1, MAX)),
        other => panic!("oversized publish: {other:?}"),
    }
    a.publish(&[8; MAX]).await;
    for node in [&mut b, &mut c] {
        assert_eq!(node.recv().await.data, vec![8; MAX]);
    }

    // D is not allowed by anyone but itself; it trusts A and dials it.
    let d = start("D", 4, &[1, 4], &[&a], MAX).await;
    let deadline = Instant::now() + QUIET;
    while Instant::now() < deadline {
        assert_eq!(a.handle.peers().await.unwrap(), 2, "A counts the outsider");
        let stats = a.handle.stats().await.unwrap();
        assert_eq!(
            stats.connected_peers, 2,
            "A holds a connection to the outsider"
        );
        match d.handle.publish(b"forged release".to_vec()).await {
            Err(GossipError::NoPeers) => {}
            other => panic!("the outsider could publish: {other:?}"),
        }
        sleep(Duration::from_millis(100)).await;
    }
    // D did reach A, and A refused the connection after the handshake (D redials every 2 s).
    assert!(
        a.handle.stats().await.unwrap().denied >= 1,
        "D never reached A"
    );
    for node in [&mut a, &mut b, &mut c] {
        node.assert_nothing_received();
    }

    for node in [&a, &b, &c, &d] {
        node.handle.shutdown().await;
    }
    assert!(matches!(a.handle.peers().await, Err(GossipError::Closed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_relayed_by_an_allowed_peer_arrives_from_it_and_size_is_checked_on_arrival() {
    // A allows L and M. L (lax) also allows the outsider D. M allows a bigger payload than A.
    // Messages are anonymous: what counts is the peer a message arrives from, which the noise
    // handshake authenticates and A's allow-list admits; the events inside carry their own
    // signatures, checked at admission (node/src/gossip.rs).
    let mut a = start("A", 11, &[11, 12, 13], &[], MAX).await;
    let mut l = start("L", 12, &[11, 12, 14], &[&a], MAX).await;
    let d = start("D", 14, &[12, 14], &[&l], MAX).await;
    let m = start("M", 13, &[11, 13], &[&a], 4 * MAX).await;
    a.wait_peers(2).await;
    l.wait_peers(2).await;
    d.wait_peers(1).await;
    m.wait_peers(1).await;

    // D cannot reach A, but L relays what D sends: A gets it from L, as it would get L's own.
    let relayed = b"bill of lading 42 surrendered";
    d.publish(relayed).await;
    let got = l.recv().await;
    assert_eq!((got.data.as_slice(), got.from), (&relayed[..], d.id));
    let got = a.recv().await;
    assert_eq!((got.data.as_slice(), got.from), (&relayed[..], l.id));

    // M may publish more than A accepts; A refuses it on arrival.
    let before = a.rejected().await;
    m.publish(&vec![9; MAX + 1]).await;
    timeout(STEP, async {
        while a.rejected().await == before {
            sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("A never saw the oversized message");
    sleep(Duration::from_millis(300)).await;
    a.assert_nothing_received();

    for node in [&a, &l, &d, &m] {
        node.handle.shutdown().await;
    }
}

fn ids(seeds: &[u8]) -> HashSet<PeerId> {
    seeds.iter().map(|s| id(*s)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_allowed_set_changes_while_running() {
    // A allows B only; C (allowed by nobody but A's later self) dials A and is refused.
    let a = start("A", 21, &[21, 22], &[], MAX).await;
    let mut b = start("B", 22, &[21, 22], &[&a], MAX).await;
    let c = start("C", 23, &[21, 23], &[&a], MAX).await;
    a.wait_exactly(1).await;
    let deadline = Instant::now() + QUIET;
    while Instant::now() < deadline {
        assert_eq!(
            a.handle.peers().await.unwrap(),
            1,
            "C got in before it was allowed"
        );
        sleep(Duration::from_millis(100)).await;
    }
    assert!(
        a.handle.stats().await.unwrap().denied >= 1,
        "C never reached A"
    );

    // The membership adds C's key: C connects (it redials), with no restart of anyone.
    a.handle
        .set_allowed(ids(&[21, 22, 23]), HashMap::new())
        .await
        .unwrap();
    a.wait_exactly(2).await;
    c.wait_exactly(1).await;
    c.publish(b"added later, heard at once").await;
    assert_eq!(b.recv().await.data, b"added later, heard at once");

    // B's key is revoked: A disconnects it at once and refuses its redials.
    a.handle
        .set_allowed(ids(&[21, 23]), HashMap::from([(id(22), 7)]))
        .await
        .unwrap();
    a.wait_exactly(1).await;
    b.wait_exactly(0).await;
    let deadline = Instant::now() + QUIET;
    while Instant::now() < deadline {
        assert_eq!(a.handle.peers().await.unwrap(), 1, "B got back in");
        sleep(Duration::from_millis(100)).await;
    }
    c.publish(b"after the revocation").await;
    sleep(Duration::from_millis(500)).await;
    b.assert_nothing_received();

    for node in [&a, &b, &c] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_of_another_genesis_is_disconnected() {
    // Same keys, allowed by each other, but E was given another genesis document.
    let a = start("A", 31, &[31, 32, 33], &[], MAX).await;
    let b = start("B", 32, &[31, 32, 33], &[&a], MAX).await;
    let e = start_of(
        "E",
        33,
        &[31, 32, 33],
        &[&a],
        MAX,
        Hash::of(&[b"another genesis"]),
    )
    .await;
    a.wait_exactly(1).await;
    let before = a.handle.stats().await.unwrap().denied;
    let deadline = Instant::now() + 2 * QUIET;
    while Instant::now() < deadline {
        assert!(a.handle.peers().await.unwrap() <= 1, "A keeps E");
        sleep(Duration::from_millis(100)).await;
    }
    // E redials every 2 s; each time the identify exchange shows the other genesis.
    assert!(
        a.handle.stats().await.unwrap().denied > before,
        "A never refused E"
    );
    assert_eq!(e.handle.peers().await.unwrap(), 0);
    for node in [&a, &b, &e] {
        node.handle.shutdown().await;
    }
}
