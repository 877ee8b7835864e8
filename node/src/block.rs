//! Blocks: what consensus proposes and decides ([`Block`]), what the store keeps and serves
//! ([`CommittedBlock`]), and their byte form in proposal streams and value sync ([`codec`]).

use serde::{Deserialize, Serialize};
use tradelog_protocol::{Certificate, Event, Head};

pub mod codec;

/// A block as proposed and voted on: the head it produces and its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// The head after the block.
    pub head: Head,
    /// The events, in log order.
    pub events: Vec<Event>,
}

/// A decided block with its certificate, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommittedBlock {
    /// The head.
    pub head: Head,
    /// Its quorum certificate.
    pub certificate: Certificate,
    /// The events, in log order.
    pub events: Vec<Event>,
}
