//! `tradelog-client`: what a carrier, platform or auditor runs outside the node.
//!
//! It owns key files, building and signing events from a user's description, time parsing and
//! formatting, and offline verification of proof bundles against a genesis file. The online light
//! client (talking to a node's HTTP API) arrives with the node's API.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod build;
pub mod keyfile;
pub mod time;
pub mod timeline;
