//! `tradelog-client`: what a carrier, platform or auditor runs outside the node.
//!
//! It owns key files, building and signing events from a user's description, time parsing and
//! formatting, offline verification of proof and route bundles against a genesis file, and the
//! online light client ([`light`]) that asks any node over HTTP ([`http`]) and verifies every
//! answer, including a full re-verification of the chain ([`audit`]); import of GS1 EPCIS 2.0 and
//! DCSA Track & Trace documents and EPCIS export of a verified route ([`standards`]); and
//! printing what others wrote safely to a terminal ([`terminal`]).

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod build;
pub mod connect;
pub mod http;
pub mod keyfile;
pub mod light;
pub mod report;
pub mod standards;
pub mod terminal;
pub mod time;
pub mod timeline;
