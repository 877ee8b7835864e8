//! A devnet of node processes owned by one test: the processes die with the guard, even when
//! the test fails half-way, so no node outlives its test and holds its ports.
// Test support: failing the calling test with a message is what these helpers are for.
#![allow(clippy::panic)]

use std::process::Child;

use tradelog_node::devnet::{http, DevnetNode};
use tradelog_protocol::Event;

/// The nodes of a devnet and their processes (`children[i]` runs `nodes[i]`).
pub struct Net {
    /// The nodes, in devnet order.
    pub nodes: Vec<DevnetNode>,
    /// Their processes.
    pub children: Vec<Child>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `GET path` on a node's API; panics unless it answers 200 with JSON.
pub fn json(addr: &str, path: &str) -> serde_json::Value {
    let (status, body) = match http(addr, "GET", path, None) {
        Ok(r) => r,
        Err(e) => panic!("GET {path} on {addr}: {e}"),
    };
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => panic!("GET {path} on {addr}: not JSON: {e}"),
    }
}

/// `POST /v1/events` of a signed event: the node's status and JSON answer (`null` if none).
pub fn post_event(node: &DevnetNode, e: &Event) -> (u16, serde_json::Value) {
    let (status, body) = match http(
        &node.api,
        "POST",
        "/v1/events",
        Some(e.to_json().as_bytes()),
    ) {
        Ok(r) => r,
        Err(err) => panic!("POST /v1/events on {}: {err}", node.moniker),
    };
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// Submits a signed event; fails the test unless the node accepts it (202, or 200 if known).
pub fn submit(node: &DevnetNode, e: &Event) {
    let (status, body) = post_event(node, e);
    assert!(
        status == 202 || status == 200,
        "{}: {status} {body}",
        node.moniker
    );
}

/// This machine's clock in milliseconds since 1970.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
