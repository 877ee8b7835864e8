//! Evidence of validator misbehaviour, verifiable by anyone holding the genesis:
//!
//! - [`DoubleSign`]: one validator signed two different values (head hashes, or a head and nil)
//!   for the same vote type, height and round — Tendermint equivocation, which no honest
//!   validator ever does;
//! - [`ConflictingCommits`]: two quorum certificates for different heads at the same height — a
//!   fork, which needs more than a third of the voting power to misbehave. The validators that
//!   signed both in the same round are proven equivocators; those that signed both in different
//!   rounds are named as suspects (a Tendermint lock rule was broken, which needs the rounds'
//!   prevotes to attribute exactly).

use std::collections::BTreeMap;

use crate::hash::Hash;
use crate::head::{
    precommit_message, prevote_message, Certificate, CertificateError, Head, ValidatorSet,
};
use crate::keys::{PublicKey, Signature};

/// Which vote.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// A prevote.
    Prevote,
    /// A precommit.
    Precommit,
}

/// A signed consensus vote, as on the wire (PROTOCOL.md section 7 sign bytes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct SignedVote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// The head hash voted for; 32 zero bytes for nil.
    pub value: Hash,
    /// The validator's key.
    pub validator: PublicKey,
    /// Its signature over the vote's sign bytes.
    pub sig: Signature,
}

impl SignedVote {
    /// The exact bytes the validator signed.
    pub fn message(&self, chain: &str) -> Vec<u8> {
        match self.kind {
            VoteKind::Prevote => prevote_message(chain, self.height, self.round, &self.value),
            VoteKind::Precommit => precommit_message(chain, self.height, self.round, &self.value),
        }
    }
}

/// Two conflicting votes by one validator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct DoubleSign {
    /// One vote.
    pub first: SignedVote,
    /// The other.
    pub second: SignedVote,
}

/// Two certified heads at one height.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct ConflictingCommits {
    /// One head.
    pub first: Head,
    /// Its certificate.
    pub first_certificate: Certificate,
    /// The other head, at the same height.
    pub second: Head,
    /// Its certificate.
    pub second_certificate: Certificate,
}

/// Why evidence is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The two votes are not by the same validator for the same type, height and round.
    #[error("the votes are not by one validator for one vote type, height and round")]
    NotComparable,
    /// The two votes are for the same value: no conflict.
    #[error("both votes are for the same value: no conflict")]
    SameValue,
    /// The signer is not a validator of the set.
    #[error("{0} is not a validator")]
    NotAValidator(String),
    /// A vote's signature does not verify.
    #[error("{which}: signature does not verify")]
    Signature {
        /// `first` or `second`.
        which: &'static str,
    },
    /// The heads are at different heights.
    #[error("the heads are at heights {0} and {1}, not one height")]
    Heights(u64, u64),
    /// The heads are equal.
    #[error("the two heads are the same head: no conflict")]
    SameHead,
    /// A certificate does not certify its head.
    #[error("{which}: {err}")]
    Certificate {
        /// `first` or `second`.
        which: &'static str,
        /// The failure.
        err: CertificateError,
    },
}

impl DoubleSign {
    /// Checks both votes are by one validator of `set`, for one type, height and round, for
    /// different values, and both signed on `chain`.
    pub fn verify(&self, chain: &str, set: &ValidatorSet) -> Result<(), EvidenceError> {
        let (a, b) = (&self.first, &self.second);
        if (a.kind, a.height, a.round, a.validator) != (b.kind, b.height, b.round, b.validator) {
            return Err(EvidenceError::NotComparable);
        }
        if a.value == b.value {
            return Err(EvidenceError::SameValue);
        }
        if set.get(&a.validator).is_none() {
            return Err(EvidenceError::NotAValidator(a.validator.to_hex()));
        }
        for (which, v) in [("first", a), ("second", b)] {
            v.validator
                .verify(&v.message(chain), &v.sig)
                .map_err(|_| EvidenceError::Signature { which })?;
        }
        Ok(())
    }
}

/// What conflicting commits prove about each validator that signed both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Culprits {
    /// Signed precommits for both heads in the same round: proven equivocation, with the votes.
    pub equivocators: Vec<DoubleSign>,
    /// Signed precommits for both heads in different rounds: a broken lock, to be attributed
    /// with the rounds' prevotes.
    pub suspects: Vec<PublicKey>,
}

impl ConflictingCommits {
    /// Checks both certificates under `set` and that they certify different heads at one height;
    /// returns what the overlap of their signers proves.
    pub fn verify(&self, set: &ValidatorSet) -> Result<Culprits, EvidenceError> {
        if self.first.height != self.second.height {
            return Err(EvidenceError::Heights(
                self.first.height,
                self.second.height,
            ));
        }
        if self.first.hash() == self.second.hash() {
            return Err(EvidenceError::SameHead);
        }
        self.first_certificate
            .verify(&self.first, set)
            .map_err(|err| EvidenceError::Certificate {
                which: "first",
                err,
            })?;
        self.second_certificate
            .verify(&self.second, set)
            .map_err(|err| EvidenceError::Certificate {
                which: "second",
                err,
            })?;
        let second: BTreeMap<PublicKey, &Signature> = self
            .second_certificate
            .signatures
            .iter()
            .map(|s| (s.validator, &s.sig))
            .collect();
        let mut culprits = Culprits {
            equivocators: Vec::new(),
            suspects: Vec::new(),
        };
        let vote = |c: &Certificate, head: &Head, sig: &Signature, key: PublicKey| SignedVote {
            kind: VoteKind::Precommit,
            height: head.height,
            round: c.round,
            value: head.hash(),
            validator: key,
            sig: *sig,
        };
        for s in &self.first_certificate.signatures {
            let Some(other) = second.get(&s.validator) else {
                continue;
            };
            if self.first_certificate.round == self.second_certificate.round {
                culprits.equivocators.push(DoubleSign {
                    first: vote(&self.first_certificate, &self.first, &s.sig, s.validator),
                    second: vote(&self.second_certificate, &self.second, other, s.validator),
                });
            } else {
                culprits.suspects.push(s.validator);
            }
        }
        Ok(culprits)
    }
}

crate::wire::object_only!(SignedVote, DoubleSign, ConflictingCommits);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleNetwork;

    fn heads(net: &SampleNetwork) -> (Head, Head) {
        let h = Head {
            chain: net.genesis.chain.clone(),
            height: 7,
            time: 1,
            prev: Hash::ZERO,
            log_size: 3,
            log_root: Hash::of(&[b"a"]),
            index_root: Hash::ZERO,
            validators: net.genesis.validator_set().hash(),
        };
        let mut other = h.clone();
        other.log_root = Hash::of(&[b"b"]);
        (h, other)
    }

    #[test]
    fn same_round_commits_prove_equivocation_of_the_overlap() {
        let net = SampleNetwork::new(4).unwrap();
        let set = net.genesis.validator_set();
        let (a, b) = heads(&net);
        let k = &net.validator_keys;
        let ev = ConflictingCommits {
            first_certificate: Certificate::sign(&a, 0, &[&k[0], &k[1], &k[2]]),
            first: a.clone(),
            second_certificate: Certificate::sign(&b, 0, &[&k[1], &k[2], &k[3]]),
            second: b.clone(),
        };
        let c = ev.verify(set).unwrap();
        let who: Vec<PublicKey> = c.equivocators.iter().map(|d| d.first.validator).collect();
        assert_eq!(who, vec![k[1].public(), k[2].public()]);
        for d in &c.equivocators {
            d.verify(&net.genesis.chain, set).unwrap();
        }
        assert!(c.suspects.is_empty());

        // Different rounds: suspects, not proven equivocators.
        let mut later = ev.clone();
        later.second_certificate = Certificate::sign(&b, 1, &[&k[1], &k[2], &k[3]]);
        let c = later.verify(set).unwrap();
        assert!(c.equivocators.is_empty());
        assert_eq!(c.suspects.len(), 2);

        // Not evidence: the same head twice, other heights, a forged certificate.
        let mut same = ev.clone();
        same.second = a.clone();
        same.second_certificate = same.first_certificate.clone();
        assert_eq!(same.verify(set), Err(EvidenceError::SameHead));
        let mut high = ev.clone();
        high.second.height = 8;
        assert!(matches!(
            high.verify(set),
            Err(EvidenceError::Heights(7, 8))
        ));
        let mut forged = ev;
        forged.second_certificate.signatures[0].sig = forged.first_certificate.signatures[0].sig;
        assert!(matches!(
            forged.verify(set),
            Err(EvidenceError::Certificate {
                which: "second",
                ..
            })
        ));
    }

    #[test]
    fn a_double_sign_must_conflict_and_verify() {
        let net = SampleNetwork::new(4).unwrap();
        let set = net.genesis.validator_set();
        let chain = net.genesis.chain.clone();
        let k = &net.validator_keys[2];
        let vote = |value: Hash| {
            let mut v = SignedVote {
                kind: VoteKind::Prevote,
                height: 5,
                round: 1,
                value,
                validator: k.public(),
                sig: k.sign(b""),
            };
            v.sig = k.sign(&v.message(&chain));
            v
        };
        let d = DoubleSign {
            first: vote(Hash::of(&[b"x"])),
            second: vote(Hash::ZERO), // nil
        };
        assert_eq!(d.verify(&chain, set), Ok(()));
        assert_eq!(
            d.verify("other-chain", set),
            Err(EvidenceError::Signature { which: "first" })
        );
        let same = DoubleSign {
            first: d.first.clone(),
            second: d.first.clone(),
        };
        assert_eq!(same.verify(&chain, set), Err(EvidenceError::SameValue));
        let mut other_round = d.clone();
        other_round.second.round = 2;
        assert_eq!(
            other_round.verify(&chain, set),
            Err(EvidenceError::NotComparable)
        );
        let stranger = crate::sample::dev_key("stranger");
        let mut foreign = d;
        for v in [&mut foreign.first, &mut foreign.second] {
            v.validator = stranger.public();
            v.sig = stranger.sign(&v.message(&chain));
        }
        assert!(matches!(
            foreign.verify(&chain, set),
            Err(EvidenceError::NotAValidator(_))
        ));
    }
}
