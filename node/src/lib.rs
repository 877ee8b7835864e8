//! `tradelog-node`: the tradelog peer.
//!
//! It owns blocks and their byte form ([`block`]), storage ([`store`]: the log, the subject
//! index and the events in append-only files, per-block records in sled), the ledger state over
//! it ([`ledger`]), the node's ledger handle ([`chain`]: the ledger, the [`mempool`], block
//! previews), Malachite BFT consensus
//! ([`consensus`]: Context, signing, codec, app loop), event gossip on a second libp2p swarm
//! ([`gossip`]), the HTTP API ([`api`], with OpenAPI), [`metrics`], the time-release report
//! ([`trs`]), configuration ([`config`]), the process wiring ([`service`]) with what stops it
//! ([`fatal`]: the first failed storage write, logged with its cause and file), and `tradelog-node backup` and `restore` ([`backup`]), and the one-command
//! local network ([`devnet`]) and in-process [`demo`].

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod backup;
pub mod block;
pub mod chain;
pub mod config;
pub mod consensus;
pub mod demo;
pub mod devnet;
pub mod evidence;
pub mod fatal;
pub mod gossip;
pub mod keyfile;
pub mod ledger;
pub mod logging;
pub mod mempool;
pub mod metrics;
pub mod ports;
pub mod service;
pub mod store;
pub mod trs;
pub mod verify;
