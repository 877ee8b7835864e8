//! `tradelog-protocol`: the pure rules of the tradelog ledger. No I/O, no clock, no randomness.
//!
//! It owns:
//! - identifiers ([`ids`]): WCO UCR, ISO 6346 container numbers, UN/LOCODE, organisation ids;
//! - consignment events ([`event`]) with their RFC 8785 canonical signing bytes, ids and ed25519
//!   signatures ([`keys`]), and selective disclosure of detail fields ([`disclosure`]);
//! - the ledger log ([`merkle`]): an RFC 9162 Merkle tree over BLAKE3 with inclusion and
//!   consistency proofs;
//! - the subject index ([`index`]): a sparse Merkle tree committing each consignment's and
//!   container's event count and accumulated ids, so omissions are detectable;
//! - heads, validator sets and quorum certificates ([`head`]);
//! - roles, permissions, genesis and membership ([`roles`]), and membership changes recorded on
//!   the ledger with the proof that lets a verifier follow them ([`membership`]);
//! - the ledger state machine ([`ledger`]) and offline-verifiable proof bundles ([`bundle`]),
//!   one subject's or a consignment's whole route with its containers ([`route`]).
//! - the node API's answers that carry verification data, shared by node and clients ([`api`]);
//! - the key file format ([`keyfile`]; the files themselves are the binaries' business);
//! - HTTP request signatures of member organisations ([`httpsig`], RFC 9421 with ed25519);
//! - time-release measurement after the WCO Time Release Study ([`trs`]).
//!
//! Every byte-level rule is specified in `docs/PROTOCOL.md`, with test vectors.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod advance;
pub mod aeo;
pub mod api;
pub mod bundle;
pub mod disclosure;
pub mod event;
pub mod evidence;
pub mod hash;
pub mod head;
pub mod httpsig;
pub mod ids;
pub mod index;
pub mod jcs;
pub mod keyfile;
pub mod keys;
pub mod ledger;
pub mod members;
pub mod membership;
pub mod merkle;
pub mod parties;
pub mod recognition;
pub mod retractions;
pub mod roles;
pub mod route;
pub mod sample;
pub mod sources;
pub mod trs;
pub mod vectors;
mod wire;

pub use bundle::{BundleError, ProofBundle, ProvenEvent, Provenance};
pub use event::{Event, EventBody, EventError, EventId, EventKind, Issuer};
pub use hash::Hash;
pub use head::{Certificate, Head, Validator, ValidatorSet};
pub use ids::{ContainerId, OrgId, TradeId, Ucr, UnLocode};
pub use index::{Index, IndexEntry, IndexProof, Subject};
pub use keys::{PublicKey, SecretKey, Signature};
pub use ledger::{ChainState, Ledger, LedgerError, LedgerState, Preview};
pub use membership::{Change, MembershipBody, MembershipProof};
pub use merkle::{ConsistencyProof, InclusionProof, MerkleLog};
pub use roles::{Genesis, Membership, Organisation, Role};
pub use route::{Route, RouteBundle, RouteError};
