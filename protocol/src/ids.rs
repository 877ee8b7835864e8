//! Identifiers: WCO UCR, ISO 6346 container number, UN/LOCODE, organisation id, and the trade
//! identifiers real feeds carry (transport document, carrier booking, GS1 SSCC).
//!
//! Each is a validated string newtype; the JSON form is the string itself, and parsing never
//! normalises (lowercase or spaces are refused, not fixed), so a signed body has one spelling.

use std::fmt;
use std::str::FromStr;

/// An event id: BLAKE3 of the event's signed message (PROTOCOL.md 3.3).
pub type EventId = crate::hash::Hash;

/// A chain id: `[a-z0-9-]{1,64}`.
pub fn is_chain_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// Why an identifier was refused. `what` names the identifier type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct IdError {
    /// The identifier type ("UCR", "container number", ...).
    pub what: &'static str,
    /// The refused value, cut to 40 characters.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

fn err(what: &'static str, value: &str, reason: impl Into<String>) -> IdError {
    IdError {
        what,
        value: value.chars().take(40).collect(),
        reason: reason.into(),
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $validate:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $validate(s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                $validate(&s)?;
                Ok($name(s))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

string_id!(
    /// WCO Unique Consignment Reference: `[year digit][ISO 3166 country][trader id and reference]`,
    /// 4 to 35 characters of `A-Z 0-9 -`, e.g. `9GB123456789012-INV0001`.
    Ucr,
    validate_ucr
);
string_id!(
    /// ISO 6346 container number: owner code (3 letters), category (U, J or Z), 6-digit serial,
    /// check digit, e.g. `CSQU3054383`.
    ContainerId,
    validate_container
);
string_id!(
    /// UN/LOCODE: ISO 3166-1 alpha-2 country (an officially assigned code, or `XZ` for
    /// international waters as UN/LOCODE uses it) and a 3-character location code of `A-Z 2-9`,
    /// without the space, e.g. `NLRTM`.
    UnLocode,
    validate_locode
);
string_id!(
    /// Organisation id on the ledger: 2 to 64 characters of `a-z 0-9 -`, starting with a letter
    /// and not ending with `-`, e.g. `nl-customs`.
    OrgId,
    validate_org
);

string_id!(
    /// A trade identifier (PROTOCOL.md section 2, 8f): `bl:<carrier>:<number>` (transport
    /// document), `bkg:<carrier>:<number>` (carrier booking) or `sscc:<18 digits>` (GS1 SSCC);
    /// `<carrier>` is an organisation id, `<number>` 1-35 characters of `A-Z 0-9 - . /`.
    TradeId,
    validate_trade_id
);

/// What a trade identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeIdKind {
    /// A transport document (bill of lading, sea waybill): `bl:`.
    TransportDocument,
    /// A carrier booking: `bkg:`.
    Booking,
    /// A GS1 Serial Shipping Container Code: `sscc:`.
    Sscc,
}

impl TradeId {
    /// What the identifier names.
    pub fn kind(&self) -> TradeIdKind {
        if self.0.starts_with("bl:") {
            TradeIdKind::TransportDocument
        } else if self.0.starts_with("bkg:") {
            TradeIdKind::Booking
        } else {
            TradeIdKind::Sscc
        }
    }

    /// The carrier that qualifies a transport document or booking number; `None` for an SSCC.
    pub fn carrier(&self) -> Option<&str> {
        let rest = self.0.strip_prefix("bl:").or(self.0.strip_prefix("bkg:"))?;
        rest.split(':').next()
    }

    /// A transport document `bl:<carrier>:<number>`, checked.
    pub fn transport_document(carrier: &OrgId, number: &str) -> Result<TradeId, IdError> {
        format!("bl:{carrier}:{number}").parse()
    }

    /// A carrier booking `bkg:<carrier>:<number>`, checked.
    pub fn booking(carrier: &OrgId, number: &str) -> Result<TradeId, IdError> {
        format!("bkg:{carrier}:{number}").parse()
    }

    /// An SSCC `sscc:<18 digits>`, checked.
    pub fn sscc(digits: &str) -> Result<TradeId, IdError> {
        format!("sscc:{digits}").parse()
    }
}

/// Longest transport document or booking number.
pub const TRADE_NUMBER_MAX_LEN: usize = 35;

/// The GS1 check digit of `digits` (all ASCII digits): weights 3, 1, 3, ... from the right.
pub fn gs1_check_digit(digits: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = u32::from(c - b'0');
        sum += if i % 2 == 0 { 3 * d } else { d };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

fn validate_trade_id(s: &str) -> Result<(), IdError> {
    const W: &str = "trade identifier";
    if let Some(digits) = s.strip_prefix("sscc:") {
        let b = digits.as_bytes();
        if b.len() != 18 || !b.iter().all(u8::is_ascii_digit) {
            return Err(err(W, s, "an SSCC is 18 digits"));
        }
        let expected = gs1_check_digit(&b[..17]).ok_or_else(|| err(W, s, "bad digit"))?;
        let got = b[17] - b'0';
        if got != expected {
            return Err(err(
                W,
                s,
                format!("SSCC check digit is {got}, expected {expected}"),
            ));
        }
        return Ok(());
    }
    let Some(rest) = s.strip_prefix("bl:").or(s.strip_prefix("bkg:")) else {
        return Err(err(
            W,
            s,
            "must start with bl: (transport document), bkg: (booking) or sscc:",
        ));
    };
    let Some((carrier, number)) = rest.split_once(':') else {
        return Err(err(
            W,
            s,
            "must be <type>:<carrier organisation id>:<number>",
        ));
    };
    validate_org(carrier).map_err(|e| err(W, s, format!("carrier: {}", e.reason)))?;
    let n = number.as_bytes();
    if n.is_empty()
        || n.len() > TRADE_NUMBER_MAX_LEN
        || !n.iter().all(|c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'/')
        })
    {
        return Err(err(
            W,
            s,
            format!(
                "number must be 1-{TRADE_NUMBER_MAX_LEN} characters of A-Z, 0-9, '-', '.', '/'"
            ),
        ));
    }
    Ok(())
}

/// Maximum UCR length set by the WCO recommendation.
pub const UCR_MAX_LEN: usize = 35;

fn validate_ucr(s: &str) -> Result<(), IdError> {
    const W: &str = "UCR";
    let b = s.as_bytes();
    if b.len() < 4 || b.len() > UCR_MAX_LEN {
        return Err(err(W, s, format!("length {} outside 4..=35", b.len())));
    }
    if !b[0].is_ascii_digit() {
        return Err(err(W, s, "must start with the last digit of the year"));
    }
    if !b[1].is_ascii_uppercase() || !b[2].is_ascii_uppercase() {
        return Err(err(
            W,
            s,
            "characters 2-3 must be an ISO 3166 country code (A-Z)",
        ));
    }
    if let Some(p) = b
        .iter()
        .position(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'-'))
    {
        return Err(err(
            W,
            s,
            format!("character {} is not A-Z, 0-9 or '-'", p + 1),
        ));
    }
    if b[3] == b'-' || b[b.len() - 1] == b'-' {
        return Err(err(W, s, "the trader part must not start or end with '-'"));
    }
    Ok(())
}

/// ISO 6346 letter values: A=10 and up, skipping multiples of 11.
fn iso6346_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => {
            let mut v = 10 + u32::from(c - b'A');
            v += (v - 1) / 10; // skip 11, 22, 33
            Some(v)
        }
        _ => None,
    }
}

/// The ISO 6346 check digit of the first 10 characters (owner, category, serial).
pub fn iso6346_check_digit(first10: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in first10.iter().enumerate() {
        sum += iso6346_value(*c)? << i;
    }
    Some(((sum % 11) % 10) as u8)
}

fn validate_container(s: &str) -> Result<(), IdError> {
    const W: &str = "container number";
    let b = s.as_bytes();
    if b.len() != 11 {
        return Err(err(W, s, format!("must be 11 characters, got {}", b.len())));
    }
    if !b[..3].iter().all(u8::is_ascii_uppercase) {
        return Err(err(W, s, "owner code (characters 1-3) must be A-Z"));
    }
    if !matches!(b[3], b'U' | b'J' | b'Z') {
        return Err(err(W, s, "category (character 4) must be U, J or Z"));
    }
    if !b[4..].iter().all(u8::is_ascii_digit) {
        return Err(err(
            W,
            s,
            "serial and check digit (characters 5-11) must be digits",
        ));
    }
    let expected = iso6346_check_digit(&b[..10]).ok_or_else(|| err(W, s, "bad character"))?;
    let got = b[10] - b'0';
    if got != expected {
        return Err(err(
            W,
            s,
            format!("check digit is {got}, expected {expected}"),
        ));
    }
    Ok(())
}

/// The officially assigned ISO 3166-1 alpha-2 country codes (249), in ascending order.
pub const ISO3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// The UN/LOCODE country part of international waters (not an ISO 3166 code).
pub const LOCODE_INTERNATIONAL_WATERS: &str = "XZ";

fn validate_locode(s: &str) -> Result<(), IdError> {
    const W: &str = "UN/LOCODE";
    let b = s.as_bytes();
    if b.len() != 5 {
        return Err(err(
            W,
            s,
            format!("must be 5 characters without space, got {}", b.len()),
        ));
    }
    if !b[..2].iter().all(u8::is_ascii_uppercase) {
        return Err(err(W, s, "country (characters 1-2) must be A-Z"));
    }
    let country = &s[..2];
    if country != LOCODE_INTERNATIONAL_WATERS && ISO3166_ALPHA2.binary_search(&country).is_err() {
        return Err(err(
            W,
            s,
            format!(
                "country {country:?} is not an ISO 3166-1 alpha-2 code (nor {LOCODE_INTERNATIONAL_WATERS}, international waters)"
            ),
        ));
    }
    if !b[2..]
        .iter()
        .all(|c| c.is_ascii_uppercase() || matches!(c, b'2'..=b'9'))
    {
        return Err(err(W, s, "location (characters 3-5) must be A-Z or 2-9"));
    }
    Ok(())
}

fn validate_org(s: &str) -> Result<(), IdError> {
    const W: &str = "organisation id";
    let b = s.as_bytes();
    if b.len() < 2 || b.len() > 64 {
        return Err(err(W, s, format!("length {} outside 2..=64", b.len())));
    }
    if !b[0].is_ascii_lowercase() {
        return Err(err(W, s, "must start with a-z"));
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    {
        return Err(err(W, s, "only a-z, 0-9 and '-' are allowed"));
    }
    if b[b.len() - 1] == b'-' {
        return Err(err(W, s, "must not end with '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucr_table() {
        for ok in ["9GB123456789012-INV0001", "6NL1234", "0DE9-X"] {
            assert!(ok.parse::<Ucr>().is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("GB1234", "year"),
            ("9gb1234", "country"),
            ("9GB", "length"),
            ("9GB12 34", "character 6"),
            ("9GB-1234", "start or end"),
            ("9GB1234-", "start or end"),
            ("9GB123456789012345678901234567890123", "length 36"),
        ] {
            let e = bad
                .parse::<Ucr>()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.starts_with("invalid UCR"), "{e}");
        }
    }

    #[test]
    fn container_table() {
        // CSQU3054383 is the ISO 6346 example on Wikipedia; the others are checked by hand.
        for ok in ["CSQU3054383", "MSKU9070323", "TGHU8765436"] {
            assert!(ok.parse::<ContainerId>().is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("CSQU3054384", "check digit is 4, expected 3"),
            ("CSQX3054383", "category"),
            ("csqu3054383", "owner code"),
            ("CSQU305438", "11 characters"),
            ("CSQU30543A3", "digits"),
        ] {
            let e = bad
                .parse::<ContainerId>()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn letter_values_skip_multiples_of_eleven() {
        let v: Vec<u32> = b"ABJKLTUVZ"
            .iter()
            .filter_map(|c| iso6346_value(*c))
            .collect();
        assert_eq!(v, vec![10, 12, 20, 21, 23, 31, 32, 34, 38]);
    }

    #[test]
    fn locode_and_org_table() {
        assert!("NLRTM".parse::<UnLocode>().is_ok());
        assert!("DEHAM".parse::<UnLocode>().is_ok());
        assert!("US2AX".parse::<UnLocode>().is_ok());
        assert!(
            "XZAAA".parse::<UnLocode>().is_ok(),
            "XZ: international waters"
        );
        for bad in [
            "NL RTM", "nlrtm", "NLRT1", "NLRT", "1LRTM", "XYABC", "AAABC", "UKLON",
        ] {
            assert!(bad.parse::<UnLocode>().is_err(), "{bad}");
        }
        assert!("nl-customs".parse::<OrgId>().is_ok());
        for bad in ["NL", "-x", "x-", "a", "a_b", "9ab"] {
            assert!(bad.parse::<OrgId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn locode_country_must_be_assigned() {
        assert!(ISO3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
        let e = "XYABC".parse::<UnLocode>().err().map(|e| e.to_string());
        assert!(
            e.as_deref()
                .unwrap_or_default()
                .contains("\"XY\" is not an ISO 3166-1"),
            "{e:?}"
        );
        let e = serde_json::from_str::<UnLocode>("\"XYABC\"").err();
        assert!(e.is_some(), "deserialization applies the same rule");
    }

    #[test]
    fn serde_refuses_invalid() {
        let e = serde_json::from_str::<Ucr>("\"bad\"")
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("invalid UCR"));
        let u: Ucr = serde_json::from_str("\"9GB1234\"").unwrap_or_else(|_| Ucr("x".into()));
        assert_eq!(u.as_str(), "9GB1234");
    }
}
