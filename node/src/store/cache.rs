//! A bounded least-recently-used cache with a byte budget, shared by threads behind a mutex.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;

use crate::chain::lock;

struct Inner<K, V> {
    map: HashMap<K, (V, usize, u64)>,
    order: BTreeMap<u64, K>,
    tick: u64,
    bytes: usize,
    hits: u64,
    misses: u64,
}

/// A cache holding at most `budget` bytes of values (each value's size is given on insert).
pub struct Cache<K, V> {
    inner: Mutex<Inner<K, V>>,
    budget: usize,
}

impl<K, V> std::fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("budget", &self.budget)
            .finish()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Cache<K, V> {
    /// An empty cache of `budget` bytes (0 disables it).
    pub fn new(budget: usize) -> Cache<K, V> {
        Cache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                bytes: 0,
                hits: 0,
                misses: 0,
            }),
            budget,
        }
    }

    /// The cached value, marked as recently used.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        inner.tick += 1;
        let tick = inner.tick;
        match inner.map.get_mut(key) {
            Some((v, _, t)) => {
                inner.order.remove(t);
                *t = tick;
                inner.order.insert(tick, key.clone());
                inner.hits += 1;
                Some(v.clone())
            }
            None => {
                inner.misses += 1;
                None
            }
        }
    }

    /// Caches `value` (of `bytes` bytes), evicting the least recently used values over budget.
    pub fn insert(&self, key: K, value: V, bytes: usize) {
        if bytes > self.budget {
            return;
        }
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((_, b, t)) = inner.map.insert(key.clone(), (value, bytes, tick)) {
            inner.order.remove(&t);
            inner.bytes -= b;
        }
        inner.order.insert(tick, key);
        inner.bytes += bytes;
        while inner.bytes > self.budget {
            let Some((_, k)) = inner.order.pop_first() else {
                break;
            };
            if let Some((_, b, _)) = inner.map.remove(&k) {
                inner.bytes -= b;
            }
        }
    }

    /// Forgets everything (tests measure cold reads with it).
    pub fn clear(&self) {
        let mut g = lock(&self.inner);
        g.map.clear();
        g.order.clear();
        g.bytes = 0;
    }

    /// Bytes held, hits, misses.
    pub fn stats(&self) -> (usize, u64, u64) {
        let g = lock(&self.inner);
        (g.bytes, g.hits, g.misses)
    }
}
