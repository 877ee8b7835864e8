//! The mempool: admitted events waiting for a block, bounded in all and per organisation, with
//! a per-organisation admission quota, and fair block building across issuers.
//!
//! - **Quota** ([`Quota`], config `[admission]`): each issuing organisation has two token
//!   buckets, events and wire bytes, refilled at a steady rate up to a burst. An event is
//!   charged when it enters the mempool after its signature verified, so events forged in an
//!   organisation's name cannot use up its quota; [`Mempool::would_admit`] lets admission refuse
//!   an organisation that is over its quota before any signature work.
//! - **Share**: one organisation holds at most [`Quota::max_pending`] pending events, so one
//!   member cannot fill the mempool and starve the others.
//! - **Fair blocks**: [`Mempool::peek`] takes events round-robin across the organisations with
//!   pending events (each organisation's own events in arrival order, organisations in the order
//!   their oldest pending event arrived), so a block under load carries every active issuer.
//!
//! Events of a proposed block that this node validated join through [`Mempool::insert_checked`]:
//! they are on their way into the ledger already, so no quota applies to them.

use std::collections::{HashMap, HashSet, VecDeque};

use tradelog_protocol::ids::OrgId;
use tradelog_protocol::sources::SourceKey;
use tradelog_protocol::{Event, EventId};

/// Why the mempool refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// No room at all.
    #[error("mempool is full ({0} events); retry later")]
    Full(usize),
    /// The organisation already holds its share of the mempool.
    #[error("body.issuer.org: {org} already has {max} events waiting for a block (its share of this node's mempool); retry after they commit")]
    Share {
        /// The issuing organisation.
        org: String,
        /// Its share.
        max: usize,
    },
    /// The organisation is over its admission quota.
    #[error("body.issuer.org: {org} is over this node's admission quota of {limit}; retry in {retry_after_ms} ms")]
    Quota {
        /// The issuing organisation.
        org: String,
        /// Which limit, e.g. "100 events/s (burst 1000)".
        limit: String,
        /// When the bucket holds enough again.
        retry_after_ms: u64,
    },
}

/// Whether an event was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// First time seen.
    New,
    /// Already waiting (same id): nothing changed.
    AlreadyPending,
    /// Another pending event has the same source key (PROTOCOL.md 8e): it is kept, this one
    /// is not added.
    SameSource(EventId),
}

/// Per-organisation admission limits (config `[admission]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Events per second, steady.
    pub events_per_sec: u32,
    /// Events at once.
    pub burst_events: u32,
    /// Wire bytes per second, steady.
    pub bytes_per_sec: u64,
    /// Wire bytes at once (at least the largest event).
    pub burst_bytes: u64,
    /// Most pending events of one organisation.
    pub max_pending: usize,
}

impl Quota {
    /// No limit but the mempool's capacity (tests and benchmarks that measure the node itself).
    pub const UNLIMITED: Quota = Quota {
        events_per_sec: u32::MAX,
        burst_events: u32::MAX,
        bytes_per_sec: u64::MAX,
        burst_bytes: u64::MAX,
        max_pending: usize::MAX,
    };
}

/// A token bucket in milli-units, refilled by time (ms).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens × 1000.
    milli: u128,
    at_ms: u64,
}

impl Bucket {
    fn full(burst: u64, now: u64) -> Bucket {
        Bucket {
            milli: u128::from(burst) * 1000,
            at_ms: now,
        }
    }

    fn refill(&mut self, rate: u64, burst: u64, now: u64) {
        let elapsed = now.saturating_sub(self.at_ms);
        self.milli =
            (self.milli + u128::from(elapsed) * u128::from(rate)).min(u128::from(burst) * 1000);
        self.at_ms = self.at_ms.max(now);
    }

    /// Ms until `cost` tokens are there (0: now).
    fn wait_ms(&self, cost: u64, rate: u64) -> u64 {
        let need = u128::from(cost) * 1000;
        if self.milli >= need {
            return 0;
        }
        let per_ms = u128::from(rate.max(1));
        u64::try_from((need - self.milli).div_ceil(per_ms)).unwrap_or(u64::MAX)
    }
}

/// One organisation's state: its pending events in arrival order and its buckets.
#[derive(Debug)]
struct Issuer {
    queue: VecDeque<EventId>,
    events: Bucket,
    bytes: Bucket,
}

/// Most events of one organisation passed over at once while building a block because they
/// wait for events they ref ([`Mempool::peek`]).
const LOOKAHEAD: usize = 256;

/// Pending events by id; per organisation, in arrival order.
#[derive(Debug)]
pub struct Mempool {
    by_id: HashMap<EventId, Event>,
    /// When each pending event entered (the node's clock in ms; 0 for a validated proposal's).
    arrived: HashMap<EventId, u64>,
    issuers: HashMap<OrgId, Issuer>,
    /// Organisations with pending events, in the order their oldest pending event arrived.
    active: VecDeque<OrgId>,
    /// The pending event holding each source key (the first admitted).
    sources: HashMap<SourceKey, EventId>,
    capacity: usize,
    quota: Quota,
}

impl Mempool {
    /// An empty mempool holding at most `capacity` events, with no per-organisation limit.
    pub fn new(capacity: usize) -> Self {
        Mempool::with_quota(capacity, Quota::UNLIMITED)
    }

    /// An empty mempool holding at most `capacity` events, with `quota` per organisation.
    pub fn with_quota(capacity: usize, quota: Quota) -> Self {
        Mempool {
            by_id: HashMap::new(),
            arrived: HashMap::new(),
            issuers: HashMap::new(),
            active: VecDeque::new(),
            sources: HashMap::new(),
            capacity,
            quota,
        }
    }

    /// Replaces the quota (buckets keep their level, capped by the new bursts).
    pub fn set_quota(&mut self, quota: Quota) {
        self.quota = quota;
    }

    fn issuer(&mut self, org: &OrgId, now: u64) -> &mut Issuer {
        let q = self.quota;
        let i = self.issuers.entry(org.clone()).or_insert_with(|| Issuer {
            queue: VecDeque::new(),
            events: Bucket::full(u64::from(q.burst_events), now),
            bytes: Bucket::full(q.burst_bytes, now),
        });
        i.events
            .refill(u64::from(q.events_per_sec), u64::from(q.burst_events), now);
        i.bytes.refill(q.bytes_per_sec, q.burst_bytes, now);
        i
    }

    /// Why `event` would be refused now (`None`: it fits), without charging anything.
    pub fn would_admit(&mut self, event: &Event, now: u64) -> Option<MempoolError> {
        if self.by_id.contains_key(&event.id()) {
            return None;
        }
        if self.by_id.len() >= self.capacity {
            return Some(MempoolError::Full(self.capacity));
        }
        let q = self.quota;
        let org = &event.body().issuer.org;
        let size = event.wire().len() as u64;
        let i = self.issuer(org, now);
        if i.queue.len() >= q.max_pending {
            return Some(MempoolError::Share {
                org: org.to_string(),
                max: q.max_pending,
            });
        }
        let wait_events = i.events.wait_ms(1, u64::from(q.events_per_sec));
        let wait_bytes = i.bytes.wait_ms(size, q.bytes_per_sec);
        if wait_events > 0 || size > q.burst_bytes {
            return Some(MempoolError::Quota {
                org: org.to_string(),
                limit: format!("{} events/s (burst {})", q.events_per_sec, q.burst_events),
                retry_after_ms: wait_events,
            });
        }
        if wait_bytes > 0 {
            return Some(MempoolError::Quota {
                org: org.to_string(),
                limit: format!("{} bytes/s (burst {})", q.bytes_per_sec, q.burst_bytes),
                retry_after_ms: wait_bytes,
            });
        }
        None
    }

    /// Adds an admitted event, charging its organisation's quota; idempotent for a known id.
    /// `now` is the node's clock in ms.
    pub fn insert(&mut self, event: Event, now: u64) -> Result<Inserted, MempoolError> {
        if self.by_id.contains_key(&event.id()) {
            return Ok(Inserted::AlreadyPending);
        }
        if let Some(first) = self.same_source(&event) {
            return Ok(Inserted::SameSource(first));
        }
        if let Some(refused) = self.would_admit(&event, now) {
            return Err(refused);
        }
        let size = event.wire().len() as u64;
        let i = self.issuer(&event.body().issuer.org, now);
        i.events.milli -= 1000;
        i.bytes.milli -= u128::from(size) * 1000;
        Ok(self.enqueue(event, now))
    }

    /// Adds an event of a validated block proposal: no quota or share applies (the block is on
    /// its way into the ledger), only the capacity.
    pub fn insert_checked(&mut self, event: Event) -> Result<Inserted, MempoolError> {
        if self.by_id.contains_key(&event.id()) {
            return Ok(Inserted::AlreadyPending);
        }
        if self.by_id.len() >= self.capacity {
            return Err(MempoolError::Full(self.capacity));
        }
        Ok(self.enqueue(event, 0))
    }

    fn enqueue(&mut self, event: Event, now: u64) -> Inserted {
        let org = event.body().issuer.org.clone();
        let q = self.quota;
        let i = self.issuers.entry(org.clone()).or_insert_with(|| Issuer {
            queue: VecDeque::new(),
            events: Bucket::full(u64::from(q.burst_events), 0),
            bytes: Bucket::full(q.burst_bytes, 0),
        });
        if i.queue.is_empty() {
            self.active.push_back(org);
        }
        i.queue.push_back(event.id());
        if let Some(key) = SourceKey::of(event.body()) {
            self.sources.entry(key).or_insert(event.id());
        }
        self.arrived.insert(event.id(), now);
        self.by_id.insert(event.id(), event);
        Inserted::New
    }

    /// The pending event, other than `event`, that holds `event`'s source key (8e), if any.
    pub fn same_source(&self, event: &Event) -> Option<EventId> {
        let key = SourceKey::of(event.body())?;
        self.sources
            .get(&key)
            .copied()
            .filter(|id| *id != event.id())
    }

    /// When a pending event entered this mempool (ms; 0 for a validated proposal's event).
    pub fn arrived(&self, id: &EventId) -> Option<u64> {
        self.arrived.get(id).copied()
    }

    /// The pending events admitted (not joined from a validated proposal) at or before `t`
    /// none of whose refs is pending: those whose wait for the events they ref is decided by
    /// the log alone ([`crate::chain::Chain::sweep`]).
    pub fn waiting_since(&self, t: u64) -> Vec<Event> {
        self.by_id
            .values()
            .filter(|e| {
                self.arrived
                    .get(&e.id())
                    .is_some_and(|&at| at != 0 && at <= t)
                    && !e.body().refs.is_empty()
                    && !e.body().refs.iter().any(|r| self.by_id.contains_key(r))
            })
            .cloned()
            .collect()
    }

    /// True if the event is pending.
    pub fn contains(&self, id: &EventId) -> bool {
        self.by_id.contains_key(id)
    }

    /// The pending event with this id.
    pub fn get(&self, id: &EventId) -> Option<Event> {
        self.by_id.get(id).cloned()
    }

    /// The pending event with this id and exactly this signature.
    pub fn get_exact(&self, id: &EventId, sig: &tradelog_protocol::Signature) -> Option<Event> {
        self.by_id.get(id).filter(|e| e.sig() == sig).cloned()
    }

    /// True if this exact event (same id and same signature) is pending.
    pub fn contains_exact(&self, event: &Event) -> bool {
        self.by_id
            .get(&event.id())
            .is_some_and(|e| e.sig() == event.sig())
    }

    /// Up to `max` pending events for a block, round-robin across organisations: the first of
    /// each active organisation (in the order their oldest pending event arrived), then the
    /// second of each, and so on; each organisation's events keep their arrival order. They
    /// stay until committed or dropped.
    ///
    /// Causal order: an event comes after every pending event it `refs`. An event that still
    /// waits for a pending event it refs is passed over (its organisation's next ready event is
    /// taken instead) until that event is taken, so a carrier's event that follows a platform's
    /// booking is never put before it (the booking opens the consignment, docs/PROTOCOL.md 8c).
    /// Arrival order is not causal order (gossip paths differ): waiting events never block the
    /// ready ones behind them, or two organisations could wait on each other forever. An event
    /// that waits for one not taken (the block is full) waits for a later block.
    pub fn peek(&self, max: usize) -> Vec<Event> {
        let mut out = Vec::with_capacity(max.min(self.by_id.len()));
        let mut taken: HashSet<EventId> = HashSet::new();
        let queues: Vec<&VecDeque<EventId>> = self
            .active
            .iter()
            .filter_map(|org| self.issuers.get(org).map(|i| &i.queue))
            .collect();
        // Per organisation: the next unscanned position in its queue, and the events before it
        // that were passed over because they wait (in arrival order).
        let mut next = vec![0usize; queues.len()];
        let mut passed: Vec<VecDeque<&Event>> = vec![VecDeque::new(); queues.len()];
        let waits = |e: &Event, taken: &HashSet<EventId>| {
            e.body()
                .refs
                .iter()
                .any(|r| self.by_id.contains_key(r) && !taken.contains(r))
        };
        while out.len() < max {
            let mut progress = false;
            for ((q, at), skipped) in queues.iter().zip(next.iter_mut()).zip(passed.iter_mut()) {
                // The earliest of this organisation's events that waits for nothing pending:
                // first among those passed over, then scanning on (at most LOOKAHEAD passed
                // over at once, so one pass stays cheap).
                let mut pick = skipped
                    .iter()
                    .position(|e| !waits(e, &taken))
                    .and_then(|i| skipped.remove(i));
                while pick.is_none() && skipped.len() < LOOKAHEAD {
                    let Some(id) = q.get(*at) else { break };
                    *at += 1;
                    let Some(e) = self.by_id.get(id) else {
                        continue;
                    };
                    if waits(e, &taken) {
                        skipped.push_back(e);
                    } else {
                        pick = Some(e);
                    }
                }
                let Some(e) = pick else { continue };
                out.push(e.clone());
                taken.insert(e.id());
                progress = true;
                if out.len() == max {
                    break;
                }
            }
            if !progress {
                break;
            }
        }
        out
    }

    /// Removes events (committed, or found invalid when building a block).
    pub fn remove<'a>(&mut self, ids: impl IntoIterator<Item = &'a EventId>) {
        let mut touched: Vec<OrgId> = Vec::new();
        for id in ids {
            self.arrived.remove(id);
            if let Some(e) = self.by_id.remove(id) {
                if let Some(key) = SourceKey::of(e.body()) {
                    if self.sources.get(&key) == Some(id) {
                        self.sources.remove(&key);
                    }
                }
                let org = &e.body().issuer.org;
                if !touched.contains(org) {
                    touched.push(org.clone());
                }
            }
        }
        let by_id = &self.by_id;
        for org in &touched {
            if let Some(i) = self.issuers.get_mut(org) {
                i.queue.retain(|id| by_id.contains_key(id));
            }
        }
        if !touched.is_empty() {
            let issuers = &self.issuers;
            self.active
                .retain(|org| issuers.get(org).is_some_and(|i| !i.queue.is_empty()));
        }
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True if nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Pending events of one organisation.
    pub fn pending_of(&self, org: &OrgId) -> usize {
        self.issuers.get(org).map_or(0, |i| i.queue.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradelog_protocol::sample::{body, sample_ucr, SampleNetwork};
    use tradelog_protocol::EventKind;

    /// `n` distinct `booked` events of `org`, about `pad` bytes larger than the smallest.
    fn events_of(net: &SampleNetwork, org: &str, n: u32, pad: usize) -> Vec<Event> {
        (0..n)
            .map(|k| {
                let mut b = body(EventKind::Booked, net.genesis.time + u64::from(k)).unwrap();
                b.ucr = Some(sample_ucr(k));
                // Anchored documents make the event larger (about 100 bytes each).
                b.documents = (0..pad / 100)
                    .map(|j| tradelog_protocol::event::Document {
                        kind: format!("doc{j}"),
                        alg: tradelog_protocol::event::DigestAlg::Sha256,
                        digest: tradelog_protocol::Hash([j as u8; 32]),
                    })
                    .collect();
                net.sign(org, b).unwrap()
            })
            .collect()
    }

    fn quota(events_per_sec: u32, burst_events: u32) -> Quota {
        Quota {
            events_per_sec,
            burst_events,
            ..Quota::UNLIMITED
        }
    }

    #[test]
    fn bounded_ordered_idempotent() {
        let net = SampleNetwork::new(4).unwrap();
        let events = events_of(&net, "shopfast", 4, 0);
        let mut m = Mempool::new(3);
        assert_eq!(m.insert(events[0].clone(), 0), Ok(Inserted::New));
        assert_eq!(m.insert(events[0].clone(), 0), Ok(Inserted::AlreadyPending));
        m.insert(events[1].clone(), 0).unwrap();
        m.insert(events[2].clone(), 0).unwrap();
        assert_eq!(m.insert(events[3].clone(), 0), Err(MempoolError::Full(3)));
        let ids: Vec<_> = m.peek(2).iter().map(Event::id).collect();
        assert_eq!(ids, vec![events[0].id(), events[1].id()]);
        m.remove([&events[0].id()]);
        assert_eq!(m.peek(5).len(), 2);
        assert_eq!(m.peek(1)[0].id(), events[1].id());
        assert!(!m.contains(&events[0].id()));
    }

    /// Issue 13 item 4: an organisation over its events/s quota is refused with when to retry,
    /// and admitted again once its bucket refilled; another organisation is not affected.
    #[test]
    fn an_organisation_over_its_event_rate_waits_and_others_do_not() {
        let net = SampleNetwork::new(4).unwrap();
        let flood = events_of(&net, "shopfast", 6, 0);
        let other = events_of(&net, "blue-anchor-lines", 1, 0);
        let mut m = Mempool::with_quota(1000, quota(2, 3));
        for e in &flood[..3] {
            assert_eq!(m.insert(e.clone(), 10_000), Ok(Inserted::New));
        }
        match m.insert(flood[3].clone(), 10_000) {
            Err(MempoolError::Quota {
                org,
                limit,
                retry_after_ms,
            }) => {
                assert_eq!(org, "shopfast");
                assert_eq!(limit, "2 events/s (burst 3)");
                assert_eq!(retry_after_ms, 500);
            }
            r => panic!("{r:?}"),
        }
        assert_eq!(m.insert(other[0].clone(), 10_000), Ok(Inserted::New));
        // Half a second later one more fits, the next does not.
        assert_eq!(m.insert(flood[3].clone(), 10_500), Ok(Inserted::New));
        assert!(matches!(
            m.insert(flood[4].clone(), 10_500),
            Err(MempoolError::Quota { .. })
        ));
        // An idle organisation's bucket fills up to the burst, no further.
        for e in &flood[4..] {
            assert_eq!(m.insert(e.clone(), 1_000_000), Ok(Inserted::New));
        }
        assert_eq!(m.pending_of(&"shopfast".parse().unwrap()), 6);
    }

    #[test]
    fn an_organisation_over_its_byte_rate_waits() {
        let net = SampleNetwork::new(4).unwrap();
        let big = events_of(&net, "shopfast", 3, 1500);
        let size = big[0].wire().len() as u64;
        let mut m = Mempool::with_quota(
            1000,
            Quota {
                bytes_per_sec: size,
                burst_bytes: 2 * size + 10,
                ..Quota::UNLIMITED
            },
        );
        m.insert(big[0].clone(), 0).unwrap();
        m.insert(big[1].clone(), 0).unwrap();
        match m.insert(big[2].clone(), 0) {
            Err(MempoolError::Quota {
                limit,
                retry_after_ms,
                ..
            }) => {
                assert!(limit.contains("bytes/s"), "{limit}");
                assert!(
                    retry_after_ms > 0 && retry_after_ms <= 1000,
                    "{retry_after_ms}"
                );
            }
            r => panic!("{r:?}"),
        }
        assert_eq!(m.insert(big[2].clone(), 1000), Ok(Inserted::New));
        // An event larger than the burst could never fit: refused, not queued forever.
        let mut tight = Mempool::with_quota(
            10,
            Quota {
                burst_bytes: size - 1,
                ..Quota::UNLIMITED
            },
        );
        assert!(matches!(
            tight.insert(big[0].clone(), 0),
            Err(MempoolError::Quota { .. })
        ));
    }

    /// Issue 13 W5: one member cannot hold more than its share of the mempool.
    #[test]
    fn one_organisation_holds_at_most_its_share() {
        let net = SampleNetwork::new(4).unwrap();
        let flood = events_of(&net, "shopfast", 4, 0);
        let other = events_of(&net, "nl-customs", 2, 0);
        let mut m = Mempool::with_quota(
            100,
            Quota {
                max_pending: 2,
                ..Quota::UNLIMITED
            },
        );
        m.insert(flood[0].clone(), 0).unwrap();
        m.insert(flood[1].clone(), 0).unwrap();
        let e = m.insert(flood[2].clone(), 0).unwrap_err();
        assert_eq!(
            e,
            MempoolError::Share {
                org: "shopfast".into(),
                max: 2
            }
        );
        assert!(
            e.to_string().starts_with("body.issuer.org: shopfast"),
            "{e}"
        );
        m.insert(other[0].clone(), 0).unwrap();
        // Once its events commit, it has room again.
        m.remove([&flood[0].id()]);
        m.insert(flood[2].clone(), 0).unwrap();
        // Events of a validated proposal are not limited.
        assert_eq!(m.insert_checked(flood[3].clone()), Ok(Inserted::New));
    }

    /// Issue 13 item 4: blocks are built round-robin across issuers, each one's events in order.
    #[test]
    fn blocks_take_every_active_issuer_in_turn() {
        let net = SampleNetwork::new(4).unwrap();
        let a = events_of(&net, "shopfast", 10, 0);
        let b = events_of(&net, "blue-anchor-lines", 2, 0);
        let c = events_of(&net, "nl-customs", 1, 0);
        let mut m = Mempool::new(100);
        for e in a.iter().chain(&b).chain(&c) {
            m.insert(e.clone(), 0).unwrap();
        }
        let got: Vec<_> = m.peek(6).iter().map(Event::id).collect();
        let want = [&a[0], &b[0], &c[0], &a[1], &b[1], &a[2]].map(Event::id);
        assert_eq!(got, want);
        // After a block commits, the issuer whose oldest event is now the oldest leads.
        m.remove([&a[0].id(), &b[0].id(), &c[0].id()]);
        let got: Vec<_> = m.peek(3).iter().map(Event::id).collect();
        assert_eq!(got, [&a[1], &b[1], &a[2]].map(Event::id));
        assert_eq!(m.peek(100).len(), 10);
    }

    /// A consignment's events come after the events they follow, whoever issued them: the
    /// devnet loader's order (several consignments' routes interleaved by time) put a
    /// carrier's `packed` before the platform's booking under plain round-robin, so the carrier
    /// opened the consignment and the platform's later events were refused (CI, stop 24).
    #[test]
    fn blocks_keep_each_event_after_the_pending_events_it_refs() {
        let net = SampleNetwork::new(4).unwrap();
        let mut events = Vec::new();
        for n in 0..6 {
            let route = tradelog_protocol::sample::consignment_route(
                &net,
                n,
                1_767_225_600_000 + u64::from(n) * 60_000,
            )
            .unwrap();
            events.extend(route);
        }
        events.sort_by_key(|e| e.body().time);
        let mut m = Mempool::new(1000);
        for e in &events {
            m.insert(e.clone(), 0).unwrap();
        }
        let check = |block: &[Event]| {
            let at: HashMap<EventId, usize> =
                block.iter().enumerate().map(|(i, e)| (e.id(), i)).collect();
            for (i, e) in block.iter().enumerate() {
                for r in &e.body().refs {
                    match at.get(r) {
                        Some(j) => assert!(*j < i, "event {i} is before the event it refs ({j})"),
                        None => panic!("event {i} taken without the pending event it refs"),
                    }
                }
            }
        };
        let all = m.peek(events.len());
        assert_eq!(all.len(), events.len());
        check(&all);
        // A block too small for the whole route: what is taken is still closed under refs
        // (the first event of each route has none), and the rest waits.
        let some = m.peek(10);
        assert_eq!(some.len(), 10);
        for (i, e) in some.iter().enumerate() {
            for r in &e.body().refs {
                assert!(
                    some[..i].iter().any(|p| p.id() == *r),
                    "event {i} of a 10-event block without the event it refs"
                );
            }
        }
        // Once the first block commits, the next block starts with what it unblocked.
        m.remove(some.iter().map(|e| e.id()).collect::<Vec<_>>().iter());
        let next = m.peek(events.len());
        assert_eq!(next.len(), events.len() - 10);
        for (i, e) in next.iter().enumerate() {
            for r in &e.body().refs {
                if m.contains(r) {
                    assert!(next[..i].iter().any(|p| p.id() == *r));
                }
            }
        }
    }

    /// Arrival order is not causal order: gossip brought the platform's declaration (which
    /// follows the carrier's gate-in) before its document (which the carrier's packed follows).
    /// Blocking each organisation at its first waiting event left both waiting on each other
    /// for ever, and the mempool never drained (faults test, CI stop 25).
    #[test]
    fn organisations_never_wait_on_each_other_for_ever() {
        let net = SampleNetwork::new(4).unwrap();
        let route =
            tradelog_protocol::sample::consignment_route(&net, 0, 1_767_225_600_000).unwrap();
        let mut m = Mempool::new(100);
        // shopfast: declared (4), document (1), booked (0); the carrier: packed (2), gate-in (3).
        for i in [4, 2, 3, 1, 0] {
            m.insert(route[i].clone(), 0).unwrap();
        }
        let got: Vec<_> = m.peek(10).iter().map(Event::id).collect();
        assert_eq!(got, route[..5].iter().map(Event::id).collect::<Vec<_>>());
    }
}
