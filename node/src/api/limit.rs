//! Per-client rate limiting: one token bucket per client address, bounded in number.
//!
//! A client is an IPv4 address, or the /64 network of an IPv6 address (one host usually holds a
//! whole /64, so limiting single IPv6 addresses would limit nothing). Every request, whatever
//! its route, takes one token; a bucket holds at most `burst` tokens and refills at `rate` tokens
//! per second. There is no allow-list and no trusted proxy header: behind a reverse proxy every
//! request comes from the proxy's address, so limit there or raise the limit here.
//!
//! The map of buckets holds at most `max_clients` entries. When it is full, buckets that have
//! refilled completely are forgotten first (forgetting them changes nothing: a new bucket is
//! full); if none has, the one seen longest ago is. Time is an argument, so the rules are tested
//! without sleeping.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::chain::lock;

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by client.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    max_clients: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

/// The client key of an address: IPv4 as is (an IPv4-mapped IPv6 address counts as IPv4),
/// IPv6 cut to its /64 network.
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl RateLimiter {
    /// `rate` requests per second sustained, `burst` at once, `max_clients` buckets at most.
    /// A rate or burst of 0 is taken as 1, a `max_clients` of 0 as 1.
    pub fn new(rate: u32, burst: u32, max_clients: usize) -> RateLimiter {
        RateLimiter {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            max_clients: max_clients.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for the client at `addr` at time `now`: `Ok` if the request may proceed,
    /// otherwise how long until a token is available.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = client_key(addr);
        let mut buckets = lock(&self.buckets);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_clients {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    /// Makes room for one more client.
    fn evict(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        buckets.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < burst
        });
        if buckets.len() >= self.max_clients {
            let oldest = buckets.iter().min_by_key(|(_, b)| b.last).map(|(k, _)| *k);
            if let Some(k) = oldest {
                buckets.remove(&k);
            }
        }
    }

    /// Sustained requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Burst size.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Clients currently tracked.
    pub fn clients(&self) -> usize {
        lock(&self.buckets).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn burst_then_rate() {
        let l = RateLimiter::new(10, 3, 100);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(l.check(a, t0), Ok(()));
        }
        let wait = l.check(a, t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(99) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // Another client is not affected.
        assert_eq!(l.check(ip("192.0.2.2"), t0), Ok(()));
        // 100 ms later exactly one token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(l.check(a, t1), Ok(()));
        assert!(l.check(a, t1).is_err());
        // Refused requests do not consume: after a long pause the bucket is full, not more.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(l.check(a, t2), Ok(()));
        }
        assert!(l.check(a, t2).is_err());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let l = RateLimiter::new(1, 2, 100);
        let t = Instant::now();
        assert_eq!(l.check(ip("2001:db8:1:2::1"), t), Ok(()));
        assert_eq!(l.check(ip("2001:db8:1:2:ffff::9"), t), Ok(()));
        assert!(l.check(ip("2001:db8:1:2::77"), t).is_err());
        assert_eq!(l.check(ip("2001:db8:1:3::1"), t), Ok(()));
        assert_eq!(l.check(ip("198.51.100.7"), t), Ok(()));
        assert_eq!(l.check(ip("::ffff:198.51.100.7"), t), Ok(()));
        assert!(l.check(ip("198.51.100.7"), t).is_err());
    }

    #[test]
    fn the_map_is_bounded_and_forgets_refilled_clients_first() {
        let l = RateLimiter::new(1, 2, 3);
        let t0 = Instant::now();
        // Client 1 is drained, clients 2 and 3 used one token each.
        for _ in 0..2 {
            l.check(ip("10.0.0.1"), t0).unwrap();
        }
        l.check(ip("10.0.0.2"), t0).unwrap();
        l.check(ip("10.0.0.3"), t0 + Duration::from_millis(10))
            .unwrap();
        // A fourth client when nobody has refilled: the least recently seen (1 or 2, both at
        // t0) is forgotten, the map stays at 3.
        l.check(ip("10.0.0.4"), t0 + Duration::from_millis(20))
            .unwrap();
        assert_eq!(l.clients(), 3);
        // Much later every bucket has refilled: they all go, the newcomer stays.
        let later = t0 + Duration::from_secs(10);
        l.check(ip("10.0.0.5"), later).unwrap();
        assert_eq!(l.clients(), 1);
        // Thousands of clients never grow the map beyond its bound.
        for i in 0..5000u32 {
            let a = IpAddr::V4(std::net::Ipv4Addr::from(0x0a01_0000 + i));
            l.check(a, later).unwrap();
            assert!(l.clients() <= 3);
        }
    }
}
