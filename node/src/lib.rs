//! `tradelog-node`: the tradelog peer.
//!
//! It owns storage ([`store`]: sled behind the `Store` trait), the node's ledger handle
//! ([`chain`]: verified state, certified head, [`mempool`]), Malachite BFT consensus
//! ([`consensus`]: Context, signing, codec, app loop), event gossip on a second libp2p swarm
//! ([`gossip`]), the HTTP API ([`api`], with OpenAPI), [`metrics`], the time-release report
//! ([`trs`]), configuration ([`config`]), the process wiring ([`service`]), and the one-command
//! local network ([`devnet`]) and in-process [`demo`].

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod chain;
pub mod config;
pub mod consensus;
pub mod demo;
pub mod devnet;
pub mod evidence;
pub mod gossip;
pub mod mempool;
pub mod metrics;
pub mod service;
pub mod store;
pub mod trs;
