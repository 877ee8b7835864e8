//! The listen addresses checked before anything starts: a port in use is reported first and
//! alone, as one line naming the listener and the port, instead of after the consensus engine
//! has started and failed (Malachite logs `Liveness failure … wal_reset` errors then).
//!
//! Each address is bound once and released at once; the listeners bind it again a moment
//! later. Another process taking the port in between is still reported, by that listener.

use std::net::{IpAddr, SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};

use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;

/// Why a listen address cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The address is bound by another process (or this one, twice).
    #[error("{listener}: port {port} ({addr}) is already in use by another process; stop it or choose another port in the config")]
    InUse {
        /// The config key of the listener, e.g. `gossip.listen`.
        listener: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Its port.
        port: u16,
    },
    /// Binding failed for another reason (no such local address, permission).
    #[error("{listener}: cannot listen on {addr}: {reason}")]
    Bind {
        /// The config key of the listener.
        listener: &'static str,
        /// The address.
        addr: String,
        /// The operating system's reason.
        reason: String,
    },
    /// Two listeners of this node share an address.
    #[error("{listener} and {other} both listen on {addr}")]
    Shared {
        /// The first listener.
        listener: &'static str,
        /// The second.
        other: &'static str,
        /// The address.
        addr: SocketAddr,
    },
}

/// A socket address and transport of a listen multiaddr (`/ip4|ip6/…/tcp|udp/…`); `None` for
/// others (DNS names are resolved by the listener, not checked here).
pub fn socket_of(addr: &Multiaddr) -> Option<(SocketAddr, bool)> {
    let mut ip: Option<IpAddr> = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(a.into()),
            Protocol::Ip6(a) => ip = Some(a.into()),
            Protocol::Tcp(port) => return Some((SocketAddr::new(ip?, port), true)),
            Protocol::Udp(port) => return Some((SocketAddr::new(ip?, port), false)),
            _ => {}
        }
    }
    None
}

fn bind(listener: &'static str, addr: SocketAddr, tcp: bool) -> Result<(), PortError> {
    let result = if tcp {
        TcpListener::bind(addr).map(drop)
    } else {
        UdpSocket::bind(addr).map(drop)
    };
    result.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => PortError::InUse {
            listener,
            addr,
            port: addr.port(),
        },
        _ => PortError::Bind {
            listener,
            addr: addr.to_string(),
            reason: e.to_string(),
        },
    })
}

/// Checks that each listener can bind its address, in order; the first failure is returned.
/// `api` is a `host:port` address, `multiaddrs` the libp2p listeners with their config keys.
pub fn check(api: &str, multiaddrs: &[(&'static str, &Multiaddr)]) -> Result<(), PortError> {
    let mut seen: Vec<(&'static str, SocketAddr, bool)> = Vec::new();
    let api_addrs: Vec<SocketAddr> = api
        .to_socket_addrs()
        .map_err(|e| PortError::Bind {
            listener: "api.listen",
            addr: api.to_owned(),
            reason: e.to_string(),
        })?
        .collect();
    for addr in api_addrs.into_iter().take(1) {
        seen.push(("api.listen", addr, true));
    }
    for (name, m) in multiaddrs {
        if let Some((addr, tcp)) = socket_of(m) {
            seen.push((name, addr, tcp));
        }
    }
    for (i, (name, addr, tcp)) in seen.iter().enumerate() {
        if addr.port() != 0 {
            if let Some((other, _, _)) = seen[..i].iter().find(|(_, a, t)| a == addr && t == tcp) {
                return Err(PortError::Shared {
                    listener: other,
                    other: name,
                    addr: *addr,
                });
            }
        }
        bind(name, *addr, *tcp)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_named_with_its_listener() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let gossip: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
        let consensus: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
        let err = check(
            "127.0.0.1:0",
            &[("consensus.listen", &consensus), ("gossip.listen", &gossip)],
        )
        .unwrap_err();
        assert!(
            matches!(err, PortError::InUse { listener: "gossip.listen", port: p, .. } if p == port)
        );
        assert!(
            err.to_string().starts_with(&format!(
                "gossip.listen: port {port} (127.0.0.1:{port}) is already in use"
            )),
            "{err}"
        );
        let err = check(&format!("127.0.0.1:{port}"), &[]).unwrap_err();
        assert!(err.to_string().starts_with("api.listen: port"), "{err}");
        drop(taken);
        check(
            &format!("127.0.0.1:{port}"),
            &[("gossip.listen", &consensus)],
        )
        .unwrap();
        let same: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
        let err = check(&format!("127.0.0.1:{port}"), &[("gossip.listen", &same)]).unwrap_err();
        assert!(matches!(err, PortError::Shared { .. }), "{err}");
    }
}
