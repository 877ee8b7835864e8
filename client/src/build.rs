//! Building an event body from a user's description (CLI flags or a JSON file).

use std::collections::BTreeMap;

use tradelog_protocol::disclosure::Disclosure;
use tradelog_protocol::event::{
    DigestAlg, Document, EventBody, EventKind, Issuer, Transport, TransportMode, EVENT_VERSION,
};
use tradelog_protocol::{Hash, PublicKey};

/// A user-facing error naming the offending flag or field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// Flag or field name.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

fn spec_err(field: &'static str, reason: impl ToString) -> SpecError {
    SpecError {
        field,
        reason: reason.to_string(),
    }
}

/// What the user described; strings are validated by [`EventSpec::into_body`].
#[derive(Debug, Clone, Default)]
pub struct EventSpec {
    /// Chain id.
    pub chain: String,
    /// Kind, snake_case.
    pub kind: String,
    /// Milliseconds since 1970.
    pub time: u64,
    /// Issuing organisation id.
    pub org: String,
    /// UCR.
    pub ucr: Option<String>,
    /// Container number.
    pub container: Option<String>,
    /// UN/LOCODE.
    pub location: Option<String>,
    /// Transport mode, snake_case.
    pub mode: Option<String>,
    /// Means of transport.
    pub means: Option<String>,
    /// Voyage.
    pub voyage: Option<String>,
    /// Referenced event ids, hex.
    pub refs: Vec<String>,
    /// Documents as `kind:alg:digest-hex`.
    pub documents: Vec<String>,
    /// Commitments as `(name, value, salt)`.
    pub details: Vec<(String, String, [u8; 16])>,
    /// A risk outcome's reason code (PROTOCOL.md 8i).
    pub reason: Option<String>,
}

fn parse_json_str<T: serde::de::DeserializeOwned>(
    field: &'static str,
    s: &str,
) -> Result<T, SpecError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| spec_err(field, e))
}

impl EventSpec {
    /// Builds and validates the body; also returns the disclosures of the detail fields.
    pub fn into_body(self, key: PublicKey) -> Result<(EventBody, Vec<Disclosure>), SpecError> {
        let kind: EventKind = parse_json_str("--kind", &self.kind)?;
        let transport = match (self.mode, self.means) {
            (None, None) => None,
            (Some(m), Some(means)) => Some(Transport {
                mode: parse_json_str::<TransportMode>("--mode", &m)?,
                means,
                voyage: self.voyage,
            }),
            _ => return Err(spec_err("--mode", "--mode and --means go together")),
        };
        let refs = self
            .refs
            .iter()
            .map(|r| r.parse::<Hash>().map_err(|e| spec_err("--ref", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let documents = self
            .documents
            .iter()
            .map(|d| parse_document(d))
            .collect::<Result<Vec<_>, _>>()?;
        let mut details = BTreeMap::new();
        let mut disclosures = Vec::new();
        for (name, value, salt) in &self.details {
            let (d, c) = Disclosure::new(name, value, salt);
            if details.insert(name.clone(), c).is_some() {
                return Err(spec_err("--detail", format!("field {name:?} given twice")));
            }
            disclosures.push(d);
        }
        let body = EventBody {
            v: EVENT_VERSION,
            chain: self.chain,
            ucr: self
                .ucr
                .map(|u| u.parse())
                .transpose()
                .map_err(|e| spec_err("--ucr", e))?,
            container: self
                .container
                .map(|c| c.parse())
                .transpose()
                .map_err(|e| spec_err("--container", e))?,
            kind,
            time: self.time,
            location: self
                .location
                .map(|l| l.parse())
                .transpose()
                .map_err(|e| spec_err("--location", e))?,
            transport,
            refs,
            documents,
            details,
            issuer: Issuer {
                org: self.org.parse().map_err(|e| spec_err("--org", e))?,
                key,
            },
            parties: None,
            source: None,
            ids: None,
            retracts: None,
            aeo: None,
            mra: None,
            reason: self.reason,
            offset: None,
            membership: None,
        };
        body.validate().map_err(|e| spec_err("event", e))?;
        Ok((body, disclosures))
    }
}

/// Parses `kind:alg:digest`, e.g. `commercial_invoice:sha256:<64 hex>`.
pub fn parse_document(s: &str) -> Result<Document, SpecError> {
    let mut parts = s.splitn(3, ':');
    let (Some(kind), Some(alg), Some(digest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(spec_err(
            "--document",
            "expected kind:alg:digest, e.g. commercial_invoice:sha256:<64 hex>",
        ));
    };
    Ok(Document {
        kind: kind.to_owned(),
        alg: parse_json_str::<DigestAlg>("--document alg", alg)?,
        digest: digest
            .parse()
            .map_err(|e| spec_err("--document digest", e))?,
    })
}

/// Splits `name=value`.
pub fn parse_detail(s: &str) -> Result<(String, String), SpecError> {
    s.split_once('=')
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .ok_or_else(|| spec_err("--detail", "expected name=value"))
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;
    use tradelog_protocol::sample::dev_key;

    fn spec() -> EventSpec {
        EventSpec {
            chain: "tradelog-devnet".into(),
            kind: "arrived".into(),
            time: 1_767_225_600_000,
            org: "blue-anchor-lines".into(),
            ucr: Some("9GB123456789012-INV0001".into()),
            location: Some("NLRTM".into()),
            ..EventSpec::default()
        }
    }

    #[test]
    fn builds_a_risk_outcome_with_its_reason() {
        let mut s = spec();
        s.kind = "risk_referred".into();
        s.location = None;
        s.refs = vec!["ab".repeat(32)];
        let e = s.clone().into_body(dev_key("k").public()).unwrap_err();
        assert!(e.to_string().contains("body.reason: required"), "{e}");
        s.reason = Some("r34_valuation".into());
        let (body, _) = s
            .into_body(dev_key("k").public())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.reason.as_deref(), Some("r34_valuation"));
    }

    #[test]
    fn builds_a_valid_body_with_disclosures() {
        let mut s = spec();
        s.details = vec![("hs_code".into(), "850760".into(), [1u8; 16])];
        s.documents = vec![format!("bill_of_lading:sha256:{}", "ab".repeat(32))];
        let (body, disc) = s
            .into_body(dev_key("k").public())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(disc.len(), 1);
        assert!(disc[0].verify(&body).is_ok());
    }

    #[test]
    fn errors_name_the_flag() {
        type Edit = fn(&mut EventSpec);
        let cases: Vec<(Edit, &str)> = vec![
            (|s| s.kind = "flew".into(), "--kind"),
            (|s| s.ucr = Some("bad".into()), "--ucr"),
            (|s| s.location = Some("nlrtm".into()), "--location"),
            (|s| s.container = Some("CSQU3054384".into()), "--container"),
            (|s| s.mode = Some("sea".into()), "--mode"),
            (|s| s.refs = vec!["xyz".into()], "--ref"),
            (|s| s.documents = vec!["invoice".into()], "--document"),
            (|s| s.org = "Bad Org".into(), "--org"),
            (|s| s.location = None, "event: body.location"),
        ];
        for (mutate, want) in cases {
            let mut s = spec();
            mutate(&mut s);
            let err = s
                .into_body(dev_key("k").public())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with(want), "want {want}, got {err}");
        }
    }
}
