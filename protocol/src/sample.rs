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

/// Who declares sample consignment `n` for import: the platform for `n % 4` 0 and 1, North
/// Star Shipping for 3 (via Hamburg), and via Rotterdam Blue Anchor Lines for `n % 8 == 2` or
/// the Rhine Barge Company for `n % 8 == 6`. North Star Shipping and the Rhine Barge Company
/// hold no AEO status.
pub fn customs_declarant(n: u32) -> &'static str {
    match (n % 4, n % 8) {
        (0 | 1, _) => "shopfast",
        (2, 2) => "blue-anchor-lines",
        (2, _) => "rhine-barge",
        _ => "north-star-shipping",
    }
}

/// The devnet's customs records, in time order from `start_ms - 400 days`: the German
/// administration's AEO (both types) for the platform, the Dutch one's AEO (security and
/// safety) for Blue Anchor Lines, and an arrangement between the two administrations
/// (security and safety) recorded by the Dutch and countersigned by the German. North Star
/// Shipping holds none.
pub fn customs_records(net: &SampleNetwork, start_ms: u64) -> Option<Vec<Event>> {
    use crate::aeo::AeoType::{CustomsSimplifications as C, SecuritySafety as S};
    let day = 86_400_000u64;
    let t = start_ms.saturating_sub(400 * day);
    Some(vec![
        aeo_grant(
            net,
            "de-customs",
            "shopfast",
            "DEAEOF0000012345",
            &[C, S],
            t,
        )?,
        aeo_grant(
            net,
            "nl-customs",
            "blue-anchor-lines",
            "NLAEOS0000000042",
            &[S],
            t + day,
        )?,
        mra_in_force(net, "nl-customs", "de-customs", &[S], t + 2 * day)?,
    ])
}

/// A number in `lo..hi` drawn from `(n, what)`: sample durations that vary, the same on every
/// run.
fn spread(n: u32, what: &str, lo: u64, hi: u64) -> u64 {
    let h = Hash::domain(b"sample-spread", &[&n.to_be_bytes(), what.as_bytes()]);
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.0[..8]);
    lo + u64::from_be_bytes(b) % (hi - lo).max(1)
}

/// The devnet route of sample consignment `n` from `t0`: [`consignment_route`] with the
/// advance data the platform files before loading, the destination administration's risk
/// outcome on it, an import declaration by [`customs_declarant`], and durations that vary
/// (recognised AEO declarants are declared and released faster; a referral adds an
/// inspection; a do-not-load outcome ends the route before loading).
pub fn customs_route(net: &SampleNetwork, n: u32, t0: u64) -> Option<Vec<Event>> {
    let hour = 3_600_000u64;
    let minute = 60_000u64;
    let base = consignment_route(net, n, t0)?;
    let customs = if n.is_multiple_of(2) {
        "nl-customs"
    } else {
        "de-customs"
    };
    let declarant = customs_declarant(n);
    let aeo = !matches!(declarant, "north-star-shipping" | "rhine-barge");
    // The platform files its own consignments' advance data; a carrier that declares files it
    // too (the ocean carrier: the barge operator takes over only in Europe).
    let filer = match declarant {
        "shopfast" => "shopfast",
        _ if n.is_multiple_of(2) => "blue-anchor-lines",
        _ => "north-star-shipping",
    };
    let outcome = match n % 10 {
        3 => EventKind::RiskInformationRequested,
        6 => EventKind::RiskReferred,
        9 if n % 20 == 19 => EventKind::RiskDoNotLoad,
        _ => EventKind::RiskCleared,
    };
    let reason = match outcome {
        EventKind::RiskInformationRequested => "r21_incomplete_description",
        EventKind::RiskReferred => "r34_valuation",
        EventKind::RiskDoNotLoad => "r90_security",
        _ => "r00_no_risk",
    };
    let (to_decl, to_release) = if aeo {
        (spread(n, "decl", 20, 6 * 60), spread(n, "rel", 15, 4 * 60))
    } else {
        (
            spread(n, "decl", 2 * 60, 30 * 60),
            spread(n, "rel", 3 * 60, 40 * 60),
        )
    };
    let mut out: Vec<Event> = Vec::new();
    let mut arrival = None;
    let mut shift = 0u64;
    for e in base {
        let mut b = e.body().clone();
        let kind = b.kind;
        let at_border = b.location.as_ref().is_some_and(|l| l.as_str() != "CNSHA");
        let mut org = b.issuer.org.as_str().to_owned();
        if kind == EventKind::Loaded && !at_border {
            // Advance data before loading, and the destination's assessment of it.
            let mut a = body(EventKind::AdvanceData, b.time + shift - 2 * hour)?;
            a.ucr = b.ucr.clone();
            a.details = advance_details(n);
            a.refs = out.last().map(|p| vec![p.id()]).unwrap_or_default();
            let filed = net.sign(filer, a)?;
            let mut r = body(
                outcome,
                filed.body().time + spread(n, "assess", 5, 90) * minute,
            )?;
            r.ucr = b.ucr.clone();
            r.reason = Some(reason.into());
            r.refs = vec![filed.id()];
            let assessed = net.sign(customs, r)?;
            let done = assessed.body().time;
            out.push(filed);
            out.push(assessed);
            if outcome == EventKind::RiskDoNotLoad {
                return Some(out);
            }
            shift = (done + hour).saturating_sub(b.time).max(shift);
        }
        b.time += shift;
        match kind {
            EventKind::Arrived if at_border => arrival = Some(b.time),
            EventKind::Discharged if at_border => {
                let t = arrival.unwrap_or(b.time) + spread(n, "disc", 60, 14 * 60) * minute;
                shift = (shift + t).saturating_sub(b.time);
                b.time = t;
                arrival = Some(t);
            }
            EventKind::Declared if at_border => {
                let a = arrival.unwrap_or(b.time);
                let t = a + to_decl * minute;
                shift += t.saturating_sub(b.time);
                b.time = t;
                org = declarant.to_owned();
            }
            EventKind::Inspected if outcome != EventKind::RiskReferred && !n.is_multiple_of(5) => {
                continue
            }
            EventKind::Inspected => {
                let t = b.time + spread(n, "insp", 30, 8 * 60) * minute;
                shift += t - b.time;
                b.time = t;
            }
            EventKind::Released => {
                let declared = out
                    .iter()
                    .rev()
                    .find(|e| e.body().kind == EventKind::Declared)
                    .map_or(b.time, |e| e.body().time);
                let prev = out.last().map_or(b.time, |e| e.body().time);
                let t = (declared + to_release * minute).max(prev + minute);
                shift += t.saturating_sub(b.time);
                b.time = t;
            }
            _ => {}
        }
        if let Some(p) = out.last() {
            b.refs = vec![p.id()];
            b.time = b.time.max(p.body().time);
        }
        out.push(net.sign(&org, b)?);
    }
    Some(out)
}
