//! The light client: asks any node, trusts only the genesis file, and verifies every answer:
//! quorum certificates, issuer signatures and roles, inclusion proofs, completeness against the
//! subject index, and that each new head extends the last one it accepted (append-only). A node
//! that serves a history which does not extend what the client saw is reported with both heads.

use serde::{Deserialize, Serialize};
use tradelog_protocol::api::{ConsistencyAnswer, HeadAnswer, MembershipAnswer, OrganisationAnswer};
use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::head::CertificateError;
use tradelog_protocol::membership::{Change, MembershipError};
use tradelog_protocol::recognition::{verify_bundles, Recognition, RecognitionError, Register};
use tradelog_protocol::route::{
    containers_named, verify_pages, RouteDoc, RouteError, MAX_ROUTE_CONTAINERS, MAX_ROUTE_PAGES,
    ROUTE_PAGE_VERSION,
};
use tradelog_protocol::{
    Certificate, ContainerId, Genesis, Head, OrgId, ProofBundle, Provenance, Route, RouteBundle,
    Subject, Ucr,
};
use tradelog_protocol::{Membership, ValidatorSet};

use crate::http::{Endpoint, HttpError, Response};

/// A head with its quorum certificate, as verified by the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertifiedHead {
    /// The head.
    pub head: Head,
    /// Its certificate.
    pub certificate: Certificate,
}

/// Two certified heads that cannot both be in one append-only history: proof that the ledger
/// forked (more than a third of the validators signed conflicting heads) or that the node
/// serving `served` lies about how it extends `known`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkEvidence {
    /// The head the client had accepted before.
    pub known: CertifiedHead,
    /// The conflicting head the node served.
    pub served: CertifiedHead,
    /// Why they conflict.
    pub reason: String,
}

/// Why a light-client query failed. Each variant says whether the node, the network or the
/// ledger is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The node answered with an error status.
    #[error("node answered {status} {code}: {message}")]
    Node {
        /// HTTP status.
        status: u16,
        /// The error code of the node's JSON body (or `unknown`).
        code: String,
        /// The node's message.
        message: String,
    },
    /// The node's answer is not what the API promises.
    #[error("node's {what} is malformed: {reason}")]
    Malformed {
        /// Which answer.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The node answered about another subject than the one asked for.
    #[error("asked for {asked}, the node answered about {got}")]
    WrongSubject {
        /// Asked.
        asked: String,
        /// Answered.
        got: String,
    },
    /// A head's certificate does not verify.
    #[error("head #{height}: {err}")]
    Certificate {
        /// Head height.
        height: u64,
        /// The failure.
        err: CertificateError,
    },
    /// A head of another chain.
    #[error("head is for chain {got:?}, the genesis is for {expected:?}")]
    Chain {
        /// Genesis chain.
        expected: String,
        /// Served chain.
        got: String,
    },
    /// A proof bundle fails verification.
    #[error("bundle does not verify: {0}")]
    Bundle(#[from] BundleError),
    /// The membership proof a head with a new validator set needs fails verification.
    #[error("membership proof does not verify: {0}")]
    Membership(#[from] MembershipError),
    /// A route bundle fails verification.
    #[error("route does not verify: {0}")]
    Route(#[from] RouteError),
    /// The node serves an older head than one the client already verified.
    #[error("node serves head #{served}, older than head #{known} this client already verified; ask an up-to-date node")]
    Stale {
        /// Height already verified.
        known: u64,
        /// Height served.
        served: u64,
    },
    /// The served head does not extend the last accepted one.
    #[error("history rewritten or forked: {} (known head #{} {}, served head #{} {})",
        .0.reason, .0.known.head.height, .0.known.head.hash(), .0.served.head.height, .0.served.head.hash())]
    Fork(Box<ForkEvidence>),
}

/// The membership in force at a certified head, verified from the genesis.
#[derive(Debug, Clone)]
pub struct VerifiedMembership {
    /// The head.
    pub head: CertifiedHead,
    /// Organisations and their current keys.
    pub membership: Membership,
    /// The validator set that certified the head (a change in the head's own block takes
    /// effect after it).
    pub validators: ValidatorSet,
    /// Membership changes recorded so far (the next change's `seq` is this plus one).
    pub changes: u64,
    /// A validator set recorded in the head's own block: it certifies the heights after the
    /// head, so `validators` is still the old one.
    pub next_validators: Option<ValidatorSet>,
}

/// A verified container view: all of its events, and the consignments they name.
#[derive(Debug, Clone)]
pub struct ContainerView {
    /// The container's verified provenance.
    pub provenance: Provenance,
    /// Consignments named by its events, in order of first mention.
    pub consignments: Vec<Ucr>,
}

/// A client of one node that trusts only `genesis`.
#[derive(Debug)]
pub struct LightClient {
    genesis: Genesis,
    node: Endpoint,
    trusted: Option<CertifiedHead>,
    /// Validator sets proven from the genesis (the genesis set first).
    sets: Vec<ValidatorSet>,
}

fn parse<'a, T: Deserialize<'a>>(what: &'static str, body: &'a [u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Malformed {
        what,
        reason: e.to_string(),
    })
}

/// The node's error answer as a [`ClientError::Node`].
fn node_error(r: &Response) -> ClientError {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    let field = |k: &str| v["error"][k].as_str().unwrap_or("unknown").to_owned();
    ClientError::Node {
        status: r.status,
        code: field("code"),
        message: field("message"),
    }
}

/// The path segment of a UCR or container id (both are printable ASCII without `/`; `%`, `?`
/// and `#` are escaped).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl LightClient {
    /// A client of the node at `endpoint` (`http://host:port`) trusting only `genesis`.
    pub fn new(genesis: Genesis, endpoint: &str) -> Result<LightClient, ClientError> {
        Ok(LightClient {
            sets: vec![genesis.validator_set().clone()],
            genesis,
            node: endpoint.parse()?,
            trusted: None,
        })
    }

    /// Signs every request with `key`, a member organisation's event key (PROTOCOL.md 12), for
    /// a node whose reads are for members only.
    pub fn with_signer(mut self, key: tradelog_protocol::SecretKey) -> LightClient {
        self.node = self.node.signed_by(key);
        self
    }

    /// Starts from a head verified earlier (say, saved by a previous run); it is checked again.
    pub fn with_trusted(mut self, trusted: CertifiedHead) -> Result<LightClient, ClientError> {
        self.check_certificate(&trusted)?;
        self.trusted = Some(trusted);
        Ok(self)
    }

    /// The last head this client accepted.
    pub fn trusted(&self) -> Option<&CertifiedHead> {
        self.trusted.as_ref()
    }

    /// The genesis this client trusts.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The node's endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.node
    }

    fn get_ok(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let r = self.node.get(path)?;
        if r.status != 200 {
            return Err(node_error(&r));
        }
        Ok(r.body)
    }

    /// Checks a head's certificate under the validator set it names, which must be the
    /// genesis set or one proven from the genesis: a head naming a set not seen yet makes the
    /// client fetch the node's membership proof (PROTOCOL.md 9d) and verify the chain of
    /// validator-set changes from the genesis.
    fn check_certificate(&mut self, c: &CertifiedHead) -> Result<(), ClientError> {
        if c.head.chain != self.genesis.chain {
            return Err(ClientError::Chain {
                expected: self.genesis.chain.clone(),
                got: c.head.chain.clone(),
            });
        }
        if !self.sets.iter().any(|s| s.hash() == c.head.validators) {
            self.follow_membership()?;
        }
        let set = self
            .sets
            .iter()
            .find(|s| s.hash() == c.head.validators)
            .unwrap_or(&self.sets[self.sets.len() - 1]);
        c.certificate
            .verify(&c.head, set)
            .map_err(|err| ClientError::Certificate {
                height: c.head.height,
                err,
            })
    }

    /// Fetches and verifies the node's membership proof; remembers the validator set it proves.
    fn follow_membership(&mut self) -> Result<VerifiedMembership, ClientError> {
        let body = self.get_ok("/v1/membership")?;
        let m: MembershipAnswer = parse("membership", &body)?;
        let mut history = m
            .membership
            .verify(&self.genesis, &m.head, &m.certificate)?;
        let set = history.validators().clone();
        if !self.sets.contains(&set) {
            self.sets.push(set.clone());
        }
        // The latest recorded set differs from the certifying one only when the head's own
        // block records it (every earlier one certified the heights after its block).
        let next_validators = m
            .membership
            .events
            .iter()
            .rev()
            .find_map(|c| match &c.event.body().membership.as_ref()?.change {
                Change::SetValidators { validators } => Some(validators.clone()),
                _ => None,
            })
            .filter(|latest| *latest != set);
        Ok(VerifiedMembership {
            next_validators,
            membership: history.at(m.head.log_size).clone(),
            validators: set,
            changes: m.membership.events.len() as u64,
            head: CertifiedHead {
                head: m.head,
                certificate: m.certificate,
            },
        })
    }

    /// The membership and validator set in force at the node's latest head, verified from the
    /// genesis (PROTOCOL.md 9d); the head is accepted like [`LightClient::head`]'s.
    pub fn membership(&mut self) -> Result<VerifiedMembership, ClientError> {
        let v = self.follow_membership()?;
        self.accept(v.head.clone())?;
        Ok(v)
    }

    /// Fetches, verifies and accepts the node's latest certified head.
    pub fn head(&mut self) -> Result<CertifiedHead, ClientError> {
        let body = self.get_ok("/v1/head")?;
        let h: HeadAnswer = parse("head", &body)?;
        let served = CertifiedHead {
            head: h.head,
            certificate: h.certificate,
        };
        self.check_certificate(&served)?;
        self.accept(served.clone())?;
        Ok(served)
    }

    /// Accepts a verified head if it extends the last accepted one, asking the node for a
    /// consistency proof; keeps the newer of the two.
    fn accept(&mut self, served: CertifiedHead) -> Result<(), ClientError> {
        let Some(known) = self.trusted.clone() else {
            self.trusted = Some(served);
            return Ok(());
        };
        let fork = |reason: String| {
            ClientError::Fork(Box::new(ForkEvidence {
                known: known.clone(),
                served: served.clone(),
                reason,
            }))
        };
        let (k, s) = (&known.head, &served.head);
        if k.hash() == s.hash() {
            return Ok(());
        }
        if k.height == s.height {
            return Err(fork(format!(
                "two different heads are certified at height {}",
                k.height
            )));
        }
        if s.height < k.height {
            if s.log_size > k.log_size {
                return Err(fork(format!(
                    "head #{} has log size {} but the later head #{} only {}",
                    s.height, s.log_size, k.height, k.log_size
                )));
            }
            return Err(ClientError::Stale {
                known: k.height,
                served: s.height,
            });
        }
        if s.log_size < k.log_size {
            return Err(fork(format!(
                "the log shrank from {} to {} events",
                k.log_size, s.log_size
            )));
        }
        if s.log_size == k.log_size {
            if s.log_root != k.log_root {
                return Err(fork(format!(
                    "same log size {} but different log roots",
                    k.log_size
                )));
            }
        } else {
            self.prove_extends(k, s).map_err(fork)?;
        }
        self.trusted = Some(served);
        Ok(())
    }

    /// Asks the node to prove the log at `s` extends the log at `k`; the reason if it does not.
    fn prove_extends(&self, k: &Head, s: &Head) -> Result<(), String> {
        if k.log_size == 0 {
            return Ok(()); // every log extends the empty one
        }
        let path = format!("/v1/consistency?first={}&second={}", k.log_size, s.log_size);
        let body = self.get_ok(&path).map_err(|e| {
            format!(
                "no consistency proof from {} to {}: {e}",
                k.log_size, s.log_size
            )
        })?;
        let c: ConsistencyAnswer = parse("consistency proof", &body).map_err(|e| e.to_string())?;
        if (c.first, c.second, c.first_root, c.second_root)
            != (k.log_size, s.log_size, k.log_root, s.log_root)
            || (c.proof.first, c.proof.second) != (k.log_size, s.log_size)
        {
            return Err(format!(
                "the consistency proof is for other sizes or roots than the two heads ({} -> {})",
                c.first, c.second
            ));
        }
        c.proof.verify(&k.log_root, &s.log_root).map_err(|e| {
            format!(
                "consistency proof from {} to {}: {e}",
                k.log_size, s.log_size
            )
        })
    }

    /// The route bundle of a consignment, verified (see [`LightClient::provenance`]): one
    /// bundle, or the pages of a route naming more containers than one bundle holds
    /// (PROTOCOL.md 9b), all fetched at the first page's head (fetched again from the first
    /// page, a few times, if the node's head moves meanwhile).
    pub fn route_bundle(&mut self, ucr: &Ucr) -> Result<(Vec<RouteBundle>, Route), ClientError> {
        match self.route_doc(&Subject::Consignment(ucr.clone()))? {
            (RouteDoc::Pages(pages), route) => Ok((pages, route)),
            (RouteDoc::Group(_), route) => Err(ClientError::WrongSubject {
                asked: format!("the route of consignment {ucr} alone"),
                got: format!(
                    "the route of its group of {} linked subjects",
                    1 + route.group.len()
                ),
            }),
        }
    }

    /// The verified route of a consignment or trade identifier: a consignment's route (one
    /// bundle or its pages), or the route of the group of linked subjects it belongs to
    /// (PROTOCOL.md 8f, 9b version 3), which must hold the subject asked for.
    pub fn route_doc(&mut self, subject: &Subject) -> Result<(RouteDoc, Route), ClientError> {
        const TRIES: usize = 3;
        let asked = || subject.to_string();
        let (path, ucr) = match subject {
            Subject::Consignment(u) => (
                format!("/v1/consignments/{}/route", segment(u.as_str())),
                Some(u),
            ),
            Subject::Identifier(t) => (
                format!("/v1/identifiers/{}/route", segment(t.as_str())),
                None,
            ),
            _ => {
                return Err(ClientError::WrongSubject {
                    asked: asked(),
                    got: "no route: routes are of consignments and trade identifiers".into(),
                })
            }
        };
        let mut attempt = 0;
        let pages = 'fetch: loop {
            attempt += 1;
            let body = self.get_ok(&path)?;
            if let RouteDoc::Group(g) = RouteDoc::from_json(&body)? {
                let route = g.verify(&self.genesis)?;
                if !route.subjects().any(|s| s == subject) {
                    return Err(ClientError::WrongSubject {
                        asked: asked(),
                        got: route.consignment.subject.to_string(),
                    });
                }
                self.accept(CertifiedHead {
                    head: route.consignment.head.clone(),
                    certificate: g.subjects[0].certificate.clone(),
                })?;
                return Ok((RouteDoc::Group(g), route));
            }
            let Some(ucr) = ucr else {
                return Err(ClientError::WrongSubject {
                    asked: asked(),
                    got: "a consignment's route (version 1 or 2)".into(),
                });
            };
            let first = RouteBundle::from_json(&body)?;
            if first.ucr() != Some(ucr) {
                return Err(ClientError::WrongSubject {
                    asked: Subject::Consignment(ucr.clone()).to_string(),
                    got: first.consignment.subject.to_string(),
                });
            }
            let height = first.consignment.head.height;
            // How many pages the (not yet verified) consignment bundle calls for; the
            // verification below refuses any other count.
            let named = containers_named(first.consignment.events.iter().map(|pe| &pe.event));
            let needed = match first.version {
                ROUTE_PAGE_VERSION => named
                    .len()
                    .div_ceil(MAX_ROUTE_CONTAINERS)
                    .clamp(1, MAX_ROUTE_PAGES),
                _ => 1,
            };
            let mut pages = vec![first];
            for i in 1..needed {
                let from = i * MAX_ROUTE_CONTAINERS;
                let r = self
                    .node
                    .get(&format!("{path}?containers_from={from}&height={height}"))?;
                if r.status == 409 && attempt < TRIES {
                    continue 'fetch;
                }
                if r.status != 200 {
                    return Err(node_error(&r));
                }
                pages.push(RouteBundle::from_json(&r.body)?);
            }
            break pages;
        };
        let route = verify_pages(&pages, &self.genesis)?;
        self.accept(CertifiedHead {
            head: pages[0].consignment.head.clone(),
            certificate: pages[0].consignment.certificate.clone(),
        })?;
        Ok((RouteDoc::Pages(pages), route))
    }

    /// A consignment's complete, verified provenance: its own events and the movements of the
    /// containers it travelled in, merged in log order, against a head that extends every head
    /// this client saw before.
    pub fn provenance(&mut self, ucr: &Ucr) -> Result<Route, ClientError> {
        self.provenance_of(&Subject::Consignment(ucr.clone()))
    }

    /// The verified provenance of a consignment or trade identifier: the route of its group
    /// (the same events whichever linked identifier is asked, PROTOCOL.md 8f).
    pub fn provenance_of(&mut self, subject: &Subject) -> Result<Route, ClientError> {
        self.route_doc(subject).map(|(_, r)| r)
    }

    /// The node's organisation answer for (`holder`, `by`, `at`), its bundles verified from the
    /// genesis (PROTOCOL.md 9e) and their records added to `register`.
    fn organisation_answer(
        &mut self,
        holder: &OrgId,
        by: &OrgId,
        at: u64,
        register: &mut Register,
    ) -> Result<OrganisationAnswer, ClientError> {
        let body = self.get_ok(&format!(
            "/v1/organisations/{}?recognised_by={}&at={at}",
            segment(holder.as_str()),
            segment(by.as_str())
        ))?;
        let answer: OrganisationAnswer = parse("organisation answer", &body)?;
        verify_bundles(&self.genesis, &answer.bundles, holder, by, register).map_err(
            |e| match e {
                RecognitionError::Bundle { err, .. } => ClientError::Bundle(err),
                e => ClientError::Malformed {
                    what: "organisation answer",
                    reason: e.to_string(),
                },
            },
        )?;
        Ok(answer)
    }

    /// Whether `holder` held an AEO status recognised by administration `by` at `at` (ms),
    /// verified from the genesis alone (PROTOCOL.md 9e): the node's organisation bundles are
    /// checked, the answer recomputed from them (the node's own reading must agree, else it
    /// is reported as malformed), and their head accepted like [`LightClient::head`]'s.
    pub fn aeo(
        &mut self,
        holder: &OrgId,
        by: &OrgId,
        at: u64,
    ) -> Result<(Recognition, CertifiedHead), ClientError> {
        let mut register = Register::new();
        let answer = self.organisation_answer(holder, by, at, &mut register)?;
        let mine = register.recognised(holder, by, at);
        if mine != answer.recognition {
            return Err(ClientError::Malformed {
                what: "organisation answer",
                reason: format!(
                    "the node reads its bundles as recognised={}, they prove recognised={}",
                    answer.recognition.recognised, mine.recognised
                ),
            });
        }
        let Some(first) = answer.bundles.first() else {
            return Err(ClientError::Malformed {
                what: "organisation answer",
                reason: "no bundles".into(),
            });
        };
        let head = CertifiedHead {
            head: first.head.clone(),
            certificate: first.certificate.clone(),
        };
        self.check_certificate(&head)?;
        self.accept(head.clone())?;
        Ok((mine, head))
    }

    /// The AEO and arrangement records of `holder` and administration `by`, verified from the
    /// genesis (PROTOCOL.md 9e), added to `register` (records seen before count once): what
    /// checking a report's AEO split needs for any time.
    pub fn aeo_records(
        &mut self,
        holder: &OrgId,
        by: &OrgId,
        register: &mut Register,
    ) -> Result<(), ClientError> {
        self.organisation_answer(holder, by, 0, register)
            .map(|_| ())
    }

    /// A container's complete, verified history and the consignments its events name.
    pub fn container(&mut self, id: &ContainerId) -> Result<ContainerView, ClientError> {
        let body = self.get_ok(&format!("/v1/containers/{}", segment(id.as_str())))?;
        let bundle = ProofBundle::from_json(&body)?;
        let asked = Subject::Container(id.clone());
        if bundle.subject != asked {
            return Err(ClientError::WrongSubject {
                asked: asked.to_string(),
                got: bundle.subject.to_string(),
            });
        }
        let provenance = bundle.verify(&self.genesis)?;
        self.accept(CertifiedHead {
            head: bundle.head.clone(),
            certificate: bundle.certificate.clone(),
        })?;
        let mut consignments: Vec<Ucr> = Vec::new();
        for (_, e) in &provenance.events {
            if let Some(u) = &e.body().ucr {
                if !consignments.contains(u) {
                    consignments.push(u.clone());
                }
            }
        }
        Ok(ContainerView {
            provenance,
            consignments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("6NLRTM-ABC.1"), "6NLRTM-ABC.1");
        assert_eq!(segment("a/b?c#d%"), "a%2Fb%3Fc%23d%25");
    }
}
