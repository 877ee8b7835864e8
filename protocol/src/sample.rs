//! A deterministic sample network and consignment routes, for the devnet, demos, tests and
//! benchmarks. Keys are derived from public names: never use them for a real ledger.

use std::collections::BTreeMap;

use crate::disclosure::commit_detail;
use crate::event::{
    DigestAlg, Document, Event, EventBody, EventKind, Issuer, Transport, TransportMode,
};
use crate::hash::Hash;
use crate::head::{Validator, ValidatorSet};
use crate::ids::{ContainerId, Ucr, UnLocode};
use crate::keys::{PublicKey, SecretKey};
use crate::membership::{approve, Change, MembershipBody};
use crate::roles::{Genesis, Organisation, Role};

/// Chain id of the sample network.
pub const SAMPLE_CHAIN: &str = "tradelog-devnet";
/// Genesis time of the sample network: 2026-01-01T00:00:00Z.
pub const SAMPLE_GENESIS_TIME: u64 = 1_767_225_600_000;

/// The sample organisations: (id, name, role). Three carriers, a platform, two customs
/// administrations and an auditor; the first four run validators.
pub const SAMPLE_ORGS: [(&str, &str, Role); 7] = [
    ("nl-customs", "Dutch Customs Administration", Role::Customs),
    ("de-customs", "German Customs Administration", Role::Customs),
    ("blue-anchor-lines", "Blue Anchor Lines", Role::Carrier),
    ("north-star-shipping", "North Star Shipping", Role::Carrier),
    ("rhine-barge", "Rhine Barge Company", Role::Carrier),
    ("shopfast", "ShopFast Marketplace", Role::Platform),
    ("eu-audit", "EU Trade Audit Office", Role::Auditor),
];

/// A key derived from a public name: `seed = BLAKE3("tradelog/dev-key/v1" || 0x00 || name)`.
pub fn dev_key(name: &str) -> SecretKey {
    SecretKey::from_seed(Hash::domain(b"tradelog/dev-key/v1", &[name.as_bytes()]).as_bytes())
}

/// The sample network: genesis plus every secret key, by organisation id.
#[derive(Debug, Clone)]
pub struct SampleNetwork {
    /// The genesis document.
    pub genesis: Genesis,
    /// Event-signing key of each organisation.
    pub org_keys: BTreeMap<String, SecretKey>,
    /// Consensus key of each validator, in genesis order of organisations.
    pub validator_keys: Vec<SecretKey>,
}

fn parse<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

impl SampleNetwork {
    /// Builds the network with `validators` validators (1..=4), run by the first organisations.
    pub fn new(validators: usize) -> Option<SampleNetwork> {
        let mut org_keys = BTreeMap::new();
        let mut organisations = Vec::new();
        for (id, name, role) in SAMPLE_ORGS {
            let key = dev_key(&format!("org/{id}"));
            organisations.push(Organisation {
                id: parse(id)?,
                name: name.into(),
                role,
                keys: vec![key.public()],
            });
            org_keys.insert(id.to_owned(), key);
        }
        let validator_keys: Vec<SecretKey> = SAMPLE_ORGS
            .iter()
            .take(validators.clamp(1, 4))
            .map(|(id, _, _)| dev_key(&format!("validator/{id}")))
            .collect();
        let set = power_one(
            SAMPLE_ORGS
                .iter()
                .zip(&validator_keys)
                .map(|((id, _, _), k)| (*id, k.public())),
        )?;
        Some(SampleNetwork {
            genesis: Genesis {
                chain: SAMPLE_CHAIN.into(),
                time: SAMPLE_GENESIS_TIME,
                organisations,
                validators: set,
                rules: Some(crate::roles::RULES),
            },
            org_keys,
            validator_keys,
        })
    }

    /// A membership event (PROTOCOL.md 8a) issued by `org` and signed with `key` (one of its
    /// keys, not necessarily the sample one), approved by the validators holding `approvers`.
    pub fn membership_event(
        &self,
        org: &str,
        key: &SecretKey,
        seq: u64,
        change: Change,
        approvers: &[&SecretKey],
        time: u64,
    ) -> Option<Event> {
        let approvals = approvers
            .iter()
            .map(|k| approve(SAMPLE_CHAIN, seq, &change, k))
            .collect();
        let mut b = body(EventKind::Membership, time)?;
        b.membership = Some(MembershipBody {
            seq,
            change,
            approvals,
        });
        b.issuer = Issuer {
            org: parse(org)?,
            key: key.public(),
        };
        b.sign(key).ok()
    }

    /// The first `keep` sample validators (as in the genesis) and the `added`
    /// `(organisation, consensus key)` validators, power 1 each: the set a `set_validators`
    /// change names in tests, examples and fuzz seeds.
    pub fn validators_with(
        &self,
        keep: usize,
        added: &[(&str, PublicKey)],
    ) -> Option<ValidatorSet> {
        power_one(
            SAMPLE_ORGS
                .iter()
                .zip(&self.validator_keys)
                .take(keep)
                .map(|((id, _, _), k)| (*id, k.public()))
                .chain(added.iter().copied()),
        )
    }

    /// Signs `body` with the issuing organisation's key (filling in `issuer`).
    pub fn sign(&self, org: &str, mut body: EventBody) -> Option<Event> {
        let key = self.org_keys.get(org)?;
        body.issuer = Issuer {
            org: parse(org)?,
            key: key.public(),
        };
        body.sign(key).ok()
    }
}

/// A validator set of `(organisation, key)` pairs with power 1 each.
fn power_one<'a>(validators: impl Iterator<Item = (&'a str, PublicKey)>) -> Option<ValidatorSet> {
    let list = validators
        .map(|(org, key)| {
            Some(Validator {
                org: parse(org)?,
                key,
                power: 1,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    ValidatorSet::try_from(list).ok()
}

/// An unsigned body with the common fields set; `issuer` is filled in by [`SampleNetwork::sign`].
pub fn body(kind: EventKind, time: u64) -> Option<EventBody> {
    Some(EventBody {
        v: crate::event::EVENT_VERSION,
        chain: SAMPLE_CHAIN.into(),
        ucr: None,
        container: None,
        kind,
        time,
        location: None,
        transport: None,
        refs: Vec::new(),
        documents: Vec::new(),
        details: BTreeMap::new(),
        issuer: Issuer {
            org: parse("placeholder")?,
            key: dev_key("placeholder").public(),
        },
        parties: None,
        source: None,
        ids: None,
        retracts: None,
        aeo: None,
        mra: None,
        reason: None,
        offset: None,
        membership: None,
    })
}

/// A valid container number for sample `n` (owner `TLGU`, serial `n`, computed check digit).
pub fn sample_container(n: u32) -> ContainerId {
    let first10 = format!("TLGU{:06}", n % 1_000_000);
    let check = crate::ids::iso6346_check_digit(first10.as_bytes()).unwrap_or(0);
    ContainerId::try_from(format!("{first10}{check}")).unwrap_or_else(|_| sample_container(0))
}

/// The UCR of sample consignment `n`.
pub fn sample_ucr(n: u32) -> Ucr {
    Ucr::try_from(format!(
        "6CN{:09}-SF{:06}",
        913_000_000 + n % 1_000_000,
        n % 1_000_000
    ))
    .unwrap_or_else(|_| sample_ucr(0))
}

/// One step of a route: issuer, kind, hours after the start, location, container?, transport.
type Step<'a> = (
    &'a str,
    EventKind,
    u64,
    Option<&'a str>,
    bool,
    Option<&'a Transport>,
);

/// The route of sample consignment `n`, starting at `t0` (ms): 14 events from booking in
/// Shanghai to delivery in Duisburg by the platform, the barge operator and, alternating with
/// `n`, Blue Anchor Lines via Rotterdam (Dutch customs) or North Star Shipping via Hamburg
/// (German customs). The booking names the carrier and the barge operator as the
/// consignment's parties (PROTOCOL.md 8c).
pub fn consignment_route(net: &SampleNetwork, n: u32, t0: u64) -> Option<Vec<Event>> {
    let ucr = sample_ucr(n);
    let container = sample_container(n);
    let loc = |s: &str| parse::<UnLocode>(s);
    let hour = 3_600_000u64;
    let vessel = Transport {
        mode: TransportMode::Sea,
        means: "IMO9321483".into(),
        voyage: Some(format!("{:03}W", n % 1000)),
    };
    let barge = Transport {
        mode: TransportMode::InlandWaterway,
        means: "ENI02326789".into(),
        voyage: None,
    };
    let invoice = Hash::domain(b"sample-invoice", &[&n.to_be_bytes()]);
    let (carrier, port, customs) = if n.is_multiple_of(2) {
        ("blue-anchor-lines", "NLRTM", "nl-customs")
    } else {
        ("north-star-shipping", "DEHAM", "de-customs")
    };
    let steps: [Step; 14] = [
        ("shopfast", EventKind::Booked, 0, None, false, None),
        (
            "shopfast",
            EventKind::DocumentAnchored,
            1,
            None,
            false,
            None,
        ),
        (carrier, EventKind::Packed, 20, Some("CNSHA"), true, None),
        (carrier, EventKind::GateIn, 30, Some("CNSHA"), true, None),
        (
            "shopfast",
            EventKind::Declared,
            40,
            Some("CNSHA"),
            false,
            None,
        ),
        (
            carrier,
            EventKind::Loaded,
            50,
            Some("CNSHA"),
            true,
            Some(&vessel),
        ),
        (
            carrier,
            EventKind::Departed,
            52,
            Some("CNSHA"),
            true,
            Some(&vessel),
        ),
        (
            carrier,
            EventKind::Arrived,
            52 + 720,
            Some(port),
            true,
            Some(&vessel),
        ),
        (
            carrier,
            EventKind::Discharged,
            52 + 730,
            Some(port),
            true,
            Some(&vessel),
        ),
        (
            "shopfast",
            EventKind::Declared,
            52 + 731,
            Some(port),
            false,
            None,
        ),
        (
            customs,
            EventKind::Inspected,
            52 + 740,
            Some(port),
            true,
            None,
        ),
        (
            customs,
            EventKind::Released,
            52 + 745,
            Some(port),
            false,
            None,
        ),
        (
            "rhine-barge",
            EventKind::Loaded,
            52 + 760,
            Some(port),
            true,
            Some(&barge),
        ),
        (
            "rhine-barge",
            EventKind::Delivered,
            52 + 800,
            Some("DEDUI"),
            true,
            Some(&barge),
        ),
    ];
    let mut events: Vec<Event> = Vec::with_capacity(steps.len());
    for (step, (org, kind, h, location, with_container, transport)) in steps.into_iter().enumerate()
    {
        let mut b = body(kind, t0 + h * hour)?;
        b.ucr = Some(ucr.clone());
        if with_container {
            b.container = Some(container.clone());
        }
        b.location = match location {
            Some(l) => Some(loc(l)?),
            None => None,
        };
        b.transport = transport.cloned();
        if let Some(prev) = events.last() {
            b.refs = vec![prev.id()];
        }
        if kind == EventKind::Booked {
            // The platform opens the consignment (8c) and names the ocean carrier and the
            // barge operator it booked as its parties (ascending ids).
            let mut parties = vec![parse(carrier)?, parse("rhine-barge")?];
            parties.sort();
            b.parties = Some(parties);
        }
        if kind == EventKind::DocumentAnchored {
            b.documents = vec![Document {
                kind: "commercial_invoice".into(),
                alg: DigestAlg::Sha256,
                digest: invoice,
            }];
        }
        if kind == EventKind::Declared {
            // A fresh salt per event: equal values must not give equal commitments.
            let salt = Hash::domain(
                b"sample-salt",
                &[&n.to_be_bytes(), &(step as u32).to_be_bytes()],
            );
            let mut salt16 = [0u8; 16];
            salt16.copy_from_slice(&salt.0[..16]);
            b.details.insert(
                "hs_code".into(),
                commit_detail("hs_code", "850760", &salt16),
            );
        }
        events.push(net.sign(org, b)?);
    }
    Some(events)
}

/// An `aeo_status` event: `admin` (a sample customs administration) records `holder`'s
/// authorisation `number` in programme `programme` as `status` from `from` (types and `until`
/// for a grant).
pub fn aeo_record(
    net: &SampleNetwork,
    admin: &str,
    record: crate::aeo::AeoRecord,
    time: u64,
) -> Option<Event> {
    let mut b = body(EventKind::AeoStatus, time)?;
    b.aeo = Some(record);
    net.sign(admin, b)
}

/// A grant of `types` to `holder` by `admin` from `from`, number `number`.
pub fn aeo_grant(
    net: &SampleNetwork,
    admin: &str,
    holder: &str,
    number: &str,
    types: &[crate::aeo::AeoType],
    from: u64,
) -> Option<Event> {
    let programme = format!("{}_aeo", admin.split('-').next()?);
    aeo_record(
        net,
        admin,
        crate::aeo::AeoRecord {
            holder: parse(holder)?,
            programme,
            authorisation: number.into(),
            status: crate::aeo::AeoStatus::Granted,
            types: Some(types.to_vec()),
            from,
            until: None,
        },
        from,
    )
}

/// An arrangement in force between `admin` and `partner` from `from`, recorded by `admin` and
/// countersigned with the partner's sample key.
pub fn mra_in_force(
    net: &SampleNetwork,
    admin: &str,
    partner: &str,
    types: &[crate::aeo::AeoType],
    from: u64,
) -> Option<Event> {
    let issuer = parse(admin)?;
    let partner_id = parse(partner)?;
    let approval = crate::aeo::countersign(
        SAMPLE_CHAIN,
        &issuer,
        &partner_id,
        from,
        types,
        net.org_keys.get(partner)?,
    )
    .ok()?;
    let mut b = body(EventKind::Mra, from)?;
    b.mra = Some(crate::aeo::MraRecord {
        partner: partner_id,
        status: crate::aeo::MraStatus::InForce,
        from,
        types: Some(types.to_vec()),
        approval: Some(approval),
    });
    net.sign(admin, b)
}

/// Salted commitments to the advance data fields of sample consignment `n` (salts derived
/// from `n` and the field, values from [`advance_values`]).
pub fn advance_details(n: u32) -> BTreeMap<String, Hash> {
    advance_values(n)
        .into_iter()
        .map(|(name, value)| {
            let salt = advance_salt(n, name);
            (name.to_owned(), commit_detail(name, &value, &salt))
        })
        .collect()
}

/// The salt of sample consignment `n`'s advance data field `name` (what its filer discloses
/// with the value).
pub fn advance_salt(n: u32, name: &str) -> [u8; 16] {
    let h = Hash::domain(b"sample-advance-salt", &[&n.to_be_bytes(), name.as_bytes()]);
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&h.0[..16]);
    salt
}

/// The advance data values of sample consignment `n`: (field, value) in
/// [`crate::event::ADVANCE_FIELDS`] order.
pub fn advance_values(n: u32) -> Vec<(&'static str, String)> {
    let codes = ["850760", "940360", "611030", "847130", "392690"];
    let countries = ["CN", "VN", "KR", "JP", "TW"];
    let i = n as usize;
    vec![
        ("hs_code", codes[i % codes.len()].to_owned()),
        (
            "declared_value",
            format!("{}.00", 1_000 + (n * 379) % 48_000),
        ),
        ("currency", "USD".to_owned()),
        (
            "consignor_country",
            countries[i % countries.len()].to_owned(),
        ),
        (
            "consignee_country",
            if n.is_multiple_of(2) { "NL" } else { "DE" }.to_owned(),
        ),
        ("item_count", (1 + (n * 13) % 400).to_string()),
        ("gross_weight_kg", (120 + (n * 211) % 18_000).to_string()),
    ]
}
