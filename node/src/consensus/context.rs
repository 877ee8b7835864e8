//! tradelog's Malachite `Context`: heights, validators, values (block ids), proposals, votes,
//! and the ed25519 signing scheme whose sign-bytes are the ones in docs/PROTOCOL.md section 7, so
//! the engine's commit certificates are tradelog quorum certificates as they are.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use malachitebft_app_channel::app::types::core::{
    self as mc, Context, LinearTimeouts, NilOrVal, Round, SignedExtension, SignedMessage,
    SigningScheme, ValidatorProof, VoteExtensionScope, VoteType, VotingPower,
};
use malachitebft_signing::{Error as SignError, VerificationResult};
use tradelog_protocol::head::{precommit_message, prevote_message, proposal_message};
use tradelog_protocol::Hash;

/// A block height.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);
    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }
    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }
    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator address: its ed25519 consensus key bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 32]);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl mc::Address for Address {}

/// A value id: the hash of the block's head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueId(pub [u8; 32]);

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0[..8]))
    }
}

/// The value consensus agrees on: a block, named by its head hash (the block itself travels in
/// proposal parts and sync responses).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Value {
    /// Head hash of the block.
    pub id: ValueId,
}

impl mc::Value for Value {
    type Id = ValueId;
    fn id(&self) -> ValueId {
        self.id
    }
}

/// An ed25519 signature (a byte array, so it can be ordered).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sig(pub [u8; 64]);

/// The ed25519 signing scheme (strict verification).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ed25519;

impl SigningScheme for Ed25519 {
    type DecodingError = ed25519_dalek::SignatureError;
    type Signature = Sig;
    type PublicKey = VerifyingKey;
    type PrivateKey = SigningKey;
    fn decode_signature(b: &[u8]) -> Result<Sig, Self::DecodingError> {
        Ok(Sig(ed25519_dalek::Signature::from_slice(b)?.to_bytes()))
    }
    fn encode_signature(s: &Sig) -> Vec<u8> {
        s.0.to_vec()
    }
    fn decode_public_key(b: &[u8]) -> Result<VerifyingKey, Self::DecodingError> {
        VerifyingKey::try_from(b)
    }
    fn encode_public_key(p: &VerifyingKey) -> Vec<u8> {
        p.to_bytes().to_vec()
    }
}

/// A validator as consensus sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Address (= key bytes).
    pub address: Address,
    /// Consensus key.
    pub public_key: VerifyingKey,
    /// Voting power.
    pub power: VotingPower,
}

impl mc::Validator<Ctx> for Validator {
    fn address(&self) -> &Address {
        &self.address
    }
    fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }
    fn voting_power(&self) -> VotingPower {
        self.power
    }
}

/// The validator set, sorted by address (as in the protocol's validator-set hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    /// The validators.
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// From the protocol's validator set.
    pub fn from_protocol(set: &tradelog_protocol::ValidatorSet) -> ValidatorSet {
        ValidatorSet {
            validators: set
                .validators()
                .iter()
                .map(|v| Validator {
                    address: Address(v.key.to_bytes()),
                    public_key: *v.key.as_dalek(),
                    power: v.power,
                })
                .collect(),
        }
    }
}

impl mc::ValidatorSet<Ctx> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }
    fn total_voting_power(&self) -> VotingPower {
        self.validators.iter().map(|v| v.power).sum()
    }
    fn get_by_address(&self, a: &Address) -> Option<&Validator> {
        self.validators.iter().find(|v| &v.address == a)
    }
    fn get_by_index(&self, i: usize) -> Option<&Validator> {
        self.validators.get(i)
    }
}

/// A signed-over proposal: (height, round, value, POL round, proposer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The proposed block id.
    pub value: Value,
    /// Proof-of-lock round.
    pub pol_round: Round,
    /// Proposer.
    pub proposer: Address,
}

impl mc::Proposal<Ctx> for Proposal {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &Value {
        &self.value
    }
    fn take_value(self) -> Value {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// A prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// Prevote or precommit.
    pub typ: VoteType,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// Block id or nil.
    pub value: NilOrVal<ValueId>,
    /// Voter.
    pub validator: Address,
    /// Vote extension (unused: always `None`).
    pub extension: Option<SignedExtension<Ctx>>,
}

impl mc::Vote<Ctx> for Vote {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<ValueId> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<ValueId> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.typ
    }
    fn validator_address(&self) -> &Address {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<Ctx>> {
        self.extension.as_ref()
    }
    fn take_extension(&mut self) -> Option<SignedExtension<Ctx>> {
        self.extension.take()
    }
    fn extend(self, e: SignedExtension<Ctx>) -> Self {
        Vote {
            extension: Some(e),
            ..self
        }
    }
}

/// A round as the u32 of the sign-bytes (`Nil` is `0xFFFFFFFF`).
pub fn round_u32(r: Round) -> u32 {
    r.as_u32().unwrap_or(u32::MAX)
}

fn value_hash(v: &NilOrVal<ValueId>) -> Hash {
    match v {
        NilOrVal::Nil => Hash::ZERO,
        NilOrVal::Val(id) => Hash(id.0),
    }
}

impl Vote {
    /// A signed vote as verifiable evidence (PROTOCOL.md section 7a); `None` if the voter is not
    /// a valid key.
    pub fn to_evidence(
        signed: &SignedMessage<Ctx, Vote>,
    ) -> Option<tradelog_protocol::evidence::SignedVote> {
        use tradelog_protocol::evidence::VoteKind;
        let v = &signed.message;
        Some(tradelog_protocol::evidence::SignedVote {
            kind: match v.typ {
                VoteType::Prevote => VoteKind::Prevote,
                VoteType::Precommit => VoteKind::Precommit,
            },
            height: v.height.0,
            round: round_u32(v.round),
            value: value_hash(&v.value),
            validator: tradelog_protocol::PublicKey::from_bytes(&v.validator.0).ok()?,
            sig: tradelog_protocol::Signature::from_bytes(&signed.signature.0),
        })
    }

    /// The signed bytes (PROTOCOL.md section 7): the protocol precommit message, or the prevote
    /// message; a nil vote names 32 zero bytes.
    pub fn sign_bytes(&self, chain: &str) -> Vec<u8> {
        let v = value_hash(&self.value);
        match self.typ {
            VoteType::Precommit => {
                precommit_message(chain, self.height.0, round_u32(self.round), &v)
            }
            VoteType::Prevote => prevote_message(chain, self.height.0, round_u32(self.round), &v),
        }
    }
}

impl Proposal {
    /// The signed bytes (PROTOCOL.md section 7).
    pub fn sign_bytes(&self, chain: &str) -> Vec<u8> {
        proposal_message(
            chain,
            self.height.0,
            round_u32(self.round),
            round_u32(self.pol_round),
            &Hash(self.value.id.0),
        )
    }
}

/// A piece of a streamed proposal: `Init`, block bytes in `Data` chunks, `Fin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalPart {
    /// Which proposal the stream carries.
    Init {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// Proof-of-lock round.
        pol_round: Round,
        /// Proposer.
        proposer: Address,
    },
    /// A chunk of the block's JSON.
    Data(Bytes),
    /// End of the proposal.
    Fin,
}

impl mc::ProposalPart<Ctx> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, Self::Init { .. })
    }
    fn is_last(&self) -> bool {
        matches!(self, Self::Fin)
    }
}

/// The context. It carries the chain id, which every sign-bytes include.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Chain id.
    pub chain: Arc<str>,
}

impl Context for Ctx {
    type Address = Address;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = Value;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = Ed25519;

    /// Round robin over the validators sorted by key: `(height + round) mod n`.
    fn select_proposer<'a>(&self, vs: &'a ValidatorSet, h: Height, r: Round) -> &'a Validator {
        let n = vs.validators.len().max(1) as u64;
        let i = (h.0.wrapping_add(u64::from(r.as_u32().unwrap_or(0))) % n) as usize;
        &vs.validators[i.min(vs.validators.len().saturating_sub(1))]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: Value,
        pol_round: Round,
        proposer: Address,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<ValueId>,
        validator: Address,
    ) -> Vote {
        Vote {
            typ: VoteType::Prevote,
            height,
            round,
            value,
            validator,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<ValueId>,
        validator: Address,
    ) -> Vote {
        Vote {
            typ: VoteType::Precommit,
            height,
            round,
            value,
            validator,
            extension: None,
        }
    }
}

/// A consensus signature, under the same rule as every tradelog signature (ZIP-215, PROTOCOL.md
/// section 1), so votes and the certificates made of them agree.
fn verify(pk: &VerifyingKey, msg: &[u8], s: &Sig) -> VerificationResult {
    let ok = tradelog_protocol::PublicKey::from_bytes(&pk.to_bytes()).is_ok_and(|k| {
        k.verify(msg, &tradelog_protocol::Signature::from_bytes(&s.0))
            .is_ok()
    });
    VerificationResult::from_bool(ok)
}

/// Verifies votes, proposals and validator proofs (ZIP-215).
pub struct Verifier {
    /// Chain id.
    pub chain: Arc<str>,
}

#[async_trait]
impl malachitebft_signing::Verifier<Ctx> for Verifier {
    async fn verify_signed_vote(
        &self,
        v: &Vote,
        s: &Sig,
        pk: &VerifyingKey,
    ) -> Result<VerificationResult, SignError> {
        Ok(verify(pk, &v.sign_bytes(&self.chain), s))
    }
    async fn verify_signed_proposal(
        &self,
        p: &Proposal,
        s: &Sig,
        pk: &VerifyingKey,
    ) -> Result<VerificationResult, SignError> {
        Ok(verify(pk, &p.sign_bytes(&self.chain), s))
    }
    async fn verify_signed_vote_extension(
        &self,
        _scope: &VoteExtensionScope<Ctx>,
        _e: &(),
        _s: &Sig,
        _pk: &VerifyingKey,
    ) -> Result<VerificationResult, SignError> {
        // Vote extensions are disabled: none is ever valid.
        Ok(VerificationResult::from_bool(false))
    }
    async fn verify_validator_proof(
        &self,
        p: &ValidatorProof<Ctx>,
    ) -> Result<VerificationResult, SignError> {
        let pk = p.decoded_public_key().map_err(SignError::from_source)?;
        Ok(verify(&pk, &p.preimage(), &p.signature))
    }
}

/// Signs with this validator's consensus key.
pub struct Signer {
    /// Chain id.
    pub chain: Arc<str>,
    /// The key.
    pub key: SigningKey,
}

#[async_trait]
impl malachitebft_signing::Signer<Ctx> for Signer {
    async fn sign_vote(&self, v: Vote) -> Result<SignedMessage<Ctx, Vote>, SignError> {
        let s = Sig(self.key.sign(&v.sign_bytes(&self.chain)).to_bytes());
        Ok(SignedMessage::new(v, s))
    }
    async fn sign_proposal(&self, p: Proposal) -> Result<SignedMessage<Ctx, Proposal>, SignError> {
        let s = Sig(self.key.sign(&p.sign_bytes(&self.chain)).to_bytes());
        Ok(SignedMessage::new(p, s))
    }
    async fn sign_vote_extension(
        &self,
        _scope: VoteExtensionScope<Ctx>,
        e: (),
    ) -> Result<SignedMessage<Ctx, ()>, SignError> {
        // Never called: the vote extension policy is disabled. Sign nothing meaningful.
        Ok(SignedMessage::new(e, Sig([0u8; 64])))
    }
    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<Ctx>, SignError> {
        let pre = ValidatorProof::<Ctx>::signing_bytes(&public_key, &peer_id);
        Ok(ValidatorProof::new(
            public_key,
            peer_id,
            Sig(self.key.sign(&pre).to_bytes()),
        ))
    }
}

/// Consensus timeouts from milliseconds.
pub fn timeouts(propose_ms: u64, vote_ms: u64) -> LinearTimeouts {
    use std::time::Duration;
    LinearTimeouts {
        propose: Duration::from_millis(propose_ms),
        propose_delta: Duration::from_millis(propose_ms / 4),
        prevote: Duration::from_millis(vote_ms),
        prevote_delta: Duration::from_millis(vote_ms / 2),
        precommit: Duration::from_millis(vote_ms),
        precommit_delta: Duration::from_millis(vote_ms / 2),
        ..LinearTimeouts::default()
    }
}
