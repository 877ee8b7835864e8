//! `tradelog-node`: the tradelog peer.
//!
//! Today it owns the in-process demo ledger ([`demo`]): the sample network's organisations sign
//! consignment routes, blocks are appended to a [`tradelog_protocol::Ledger`] and certified with
//! the sample validators' keys, and proof bundles are written for offline verification.
//! Storage (sled), Malachite consensus, libp2p gossip and the HTTP API arrive with issue 3; the
//! demo then becomes the 4-process devnet.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod chain;
pub mod config;
pub mod consensus;
pub mod demo;
pub mod devnet;
pub mod gossip;
pub mod mempool;
pub mod metrics;
pub mod service;
pub mod store;
