//! The mempool: admitted events waiting for a block, in arrival order, bounded.

use std::collections::{HashMap, VecDeque};

use tradelog_protocol::{Event, EventId};

/// The mempool refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mempool is full ({0} events); retry later")]
pub struct MempoolFull(pub usize);

/// Whether an event was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// First time seen.
    New,
    /// Already waiting (same id): nothing changed.
    AlreadyPending,
}

/// Pending events by id, in arrival order.
#[derive(Debug)]
pub struct Mempool {
    by_id: HashMap<EventId, Event>,
    order: VecDeque<EventId>,
    capacity: usize,
}

impl Mempool {
    /// An empty mempool holding at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Mempool {
            by_id: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Adds an admitted event; idempotent for a known id.
    pub fn insert(&mut self, event: Event) -> Result<Inserted, MempoolFull> {
        if self.by_id.contains_key(&event.id()) {
            return Ok(Inserted::AlreadyPending);
        }
        if self.by_id.len() >= self.capacity {
            return Err(MempoolFull(self.capacity));
        }
        self.order.push_back(event.id());
        self.by_id.insert(event.id(), event);
        Ok(Inserted::New)
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

    /// Up to `max` pending events, oldest first (they stay until committed or dropped).
    pub fn peek(&self, max: usize) -> Vec<Event> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .take(max)
            .cloned()
            .collect()
    }

    /// Removes events (committed, or found invalid when building a block).
    pub fn remove<'a>(&mut self, ids: impl IntoIterator<Item = &'a EventId>) {
        let mut removed = false;
        for id in ids {
            removed |= self.by_id.remove(id).is_some();
        }
        if removed {
            let by_id = &self.by_id;
            self.order.retain(|id| by_id.contains_key(id));
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradelog_protocol::sample::{consignment_route, SampleNetwork};

    #[test]
    fn bounded_ordered_idempotent() {
        let net = SampleNetwork::new(4).unwrap();
        let events = consignment_route(&net, 1, net.genesis.time).unwrap();
        let mut m = Mempool::new(3);
        assert_eq!(m.insert(events[0].clone()), Ok(Inserted::New));
        assert_eq!(m.insert(events[0].clone()), Ok(Inserted::AlreadyPending));
        m.insert(events[1].clone()).unwrap();
        m.insert(events[2].clone()).unwrap();
        assert_eq!(m.insert(events[3].clone()), Err(MempoolFull(3)));
        let ids: Vec<_> = m.peek(2).iter().map(Event::id).collect();
        assert_eq!(ids, vec![events[0].id(), events[1].id()]);
        m.remove([&events[0].id()]);
        assert_eq!(m.peek(5).len(), 2);
        assert_eq!(m.peek(1)[0].id(), events[1].id());
        assert!(!m.contains(&events[0].id()));
    }
}
