//! The EPCIS event hash ID (GS1 CBV 2.0, "event hash ID"): a representation-independent id of
//! an EPCIS event, `ni:///sha-256;<hex>?ver=CBV2.0`, for events without an `eventID`, so that a
//! document imported again (or serialised differently) maps to the same `source` (PROTOCOL.md
//! 8e).
//!
//! The pre-hash string concatenates, in the CBV's canonical property order, `name=value` for
//! each present property (lists: the list's name, then its elements' strings sorted, except
//! that sources, destinations and user extensions come last, sorted together), with every value
//! canonicalised: CBV URNs and bare CBV terms as GS1 web URIs, numbers without redundant zeros,
//! EPC URIs (SGTIN, SSCC, SGLN, GRAI, GIAI, LGTIN class) as GS1 Digital Link URIs on
//! `id.gs1.org`, and user extensions as `{namespace}name=value`, sorted. This implements the
//! subset tradelog imports: an event with sensor data, ILMD, certification info, persistent
//! dispositions or nested extensions gets no hash (`None`), and is imported without a source.
//! Checked against the GS1 reference implementation (`client/tests/fixtures/epcis/hashes.json`).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Members that never enter the hash.
const IGNORED: [&str; 5] = [
    "type",
    "eventID",
    "recordTime",
    "errorDeclaration",
    "@context",
];
/// Members the subset does not hash (the event then has no hash).
const UNSUPPORTED: [&str; 9] = [
    "certificationInfo",
    "persistentDisposition",
    "sensorElementList",
    "ilmd",
    "transformationID",
    "inputEPCList",
    "outputEPCList",
    "inputQuantityList",
    "outputQuantityList",
];
/// The properties in canonical order that the subset hashes, after `eventType`.
const ORDER: [&str; 13] = [
    "eventTime",
    "eventTimeZoneOffset",
    "parentID",
    "epcList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
];
/// Hashed after the ordered properties, sorted together with the user extensions (as the GS1
/// reference implementation writes them).
const TAIL: [&str; 2] = ["sourceList", "destinationList"];

/// The event hash ID of `event` (a JSON-LD event object), given the document's context
/// prefixes (`prefix` → namespace IRI) for its extension members; `None` if the event holds
/// something this subset does not hash.
pub fn event_hash(event: &Value, prefixes: &[(String, String)]) -> Option<String> {
    let pre = pre_hash(event, prefixes)?;
    Some(format!(
        "ni:///sha-256;{}?ver=CBV2.0",
        hex::encode(Sha256::digest(pre.as_bytes()))
    ))
}

/// The pre-hash string (see the module doc).
pub fn pre_hash(event: &Value, prefixes: &[(String, String)]) -> Option<String> {
    let obj = event.as_object()?;
    let mut out = format!("eventType={}", obj.get("type")?.as_str()?.trim());
    for name in obj.keys() {
        if UNSUPPORTED.contains(&name.as_str()) {
            return None;
        }
        if !IGNORED.contains(&name.as_str())
            && !ORDER.contains(&name.as_str())
            && !TAIL.contains(&name.as_str())
            && !name.contains(':')
        {
            // An unknown member without a prefix: not an EPCIS 2.0 event member.
            return None;
        }
    }
    for name in ORDER {
        let Some(v) = obj.get(name) else { continue };
        out.push_str(&property(name, v)?);
    }
    let mut extensions = Vec::new();
    for name in TAIL {
        if let Some(v) = obj.get(name) {
            extensions.push(property(name, v)?);
        }
    }
    for (name, value) in obj {
        let Some((prefix, local)) = name.split_once(':') else {
            continue;
        };
        let ns = prefixes.iter().find(|(p, _)| p == prefix)?.1.as_str();
        let text = scalar(value)?;
        extensions.push(format!("{{{ns}}}{local}={}", canon(&text)));
    }
    extensions.sort();
    out.push_str(&extensions.concat());
    Some(out)
}

/// A JSON string or number as text, trimmed; `None` for anything else.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn property(name: &str, v: &Value) -> Option<String> {
    match name {
        "epcList" | "childEPCs" => {
            let mut items: Vec<String> = v
                .as_array()?
                .iter()
                .map(|e| Some(format!("epc={}", canon(e.as_str()?.trim()))))
                .collect::<Option<_>>()?;
            if items.is_empty() {
                return Some(String::new());
            }
            items.sort();
            Some(format!("{name}{}", items.concat()))
        }
        "quantityList" | "childQuantityList" => {
            let mut items: Vec<String> = v
                .as_array()?
                .iter()
                .map(|q| {
                    let q = q.as_object()?;
                    if q.keys()
                        .any(|k| !matches!(k.as_str(), "epcClass" | "quantity" | "uom"))
                    {
                        return None;
                    }
                    let mut s = format!(
                        "quantityElementepcClass={}",
                        canon(q.get("epcClass")?.as_str()?.trim())
                    );
                    if let Some(n) = q.get("quantity") {
                        s.push_str(&format!("quantity={}", number(n)?));
                    }
                    if let Some(u) = q.get("uom") {
                        s.push_str(&format!("uom={}", u.as_str()?.trim()));
                    }
                    Some(s)
                })
                .collect::<Option<_>>()?;
            if items.is_empty() {
                return Some(String::new());
            }
            items.sort();
            Some(format!("{name}{}", items.concat()))
        }
        "readPoint" | "bizLocation" => {
            let o = v.as_object()?;
            if o.keys().any(|k| k != "id") {
                return None;
            }
            Some(format!("{name}id={}", canon(o.get("id")?.as_str()?.trim())))
        }
        "bizTransactionList" | "sourceList" | "destinationList" => {
            let member = match name {
                "bizTransactionList" => "bizTransaction",
                "sourceList" => "source",
                _ => "destination",
            };
            let vocabulary = match name {
                "bizTransactionList" => "BTT",
                _ => "SDT",
            };
            let mut items: Vec<String> = v
                .as_array()?
                .iter()
                .map(|t| {
                    let t = t.as_object()?;
                    if t.keys().any(|k| k != "type" && k != member) {
                        return None;
                    }
                    let mut s = String::new();
                    if let Some(ty) = t.get("type") {
                        s.push_str(&format!("type={}", term(ty.as_str()?.trim(), vocabulary)));
                    }
                    s.push_str(&format!(
                        "{member}={}",
                        canon(t.get(member)?.as_str()?.trim())
                    ));
                    Some(s)
                })
                .collect::<Option<_>>()?;
            if items.is_empty() {
                return Some(String::new());
            }
            items.sort();
            Some(format!("{name}{}", items.concat()))
        }
        "eventTime" => Some(format!("eventTime={}", utc_millis(v.as_str()?.trim())?)),
        "bizStep" => Some(format!("bizStep={}", term(v.as_str()?.trim(), "BizStep"))),
        "disposition" => Some(format!("disposition={}", term(v.as_str()?.trim(), "Disp"))),
        _ => Some(format!("{name}={}", canon(&scalar(v)?))),
    }
}

/// A CBV term: a bare term (`shipping`) or a CBV URN as its GS1 web URI.
fn term(t: &str, vocabulary: &str) -> String {
    if !t.contains(':') {
        return format!("https://ref.gs1.org/cbv/{vocabulary}-{t}");
    }
    canon(t)
}

/// A quantity as the hash writes numbers: no leading `+`, no trailing fraction zeros.
fn number(v: &Value) -> Option<String> {
    let text = scalar(v)?;
    let f: f64 = text.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return Some(format!("{}", f as i64));
    }
    // Plain decimals only (what shortest round-trip printing gives back unchanged).
    let s = format!("{f}");
    (!s.contains('e')).then_some(s)
}

/// An RFC 3339 time as UTC with milliseconds and `Z`.
fn utc_millis(t: &str) -> Option<String> {
    let ms = crate::time::parse_time(t).ok()?;
    Some(super::export::rfc3339_millis(ms))
}

/// Canonical form of a value: CBV URNs as web URIs, EPC URIs as GS1 Digital Link.
fn canon(text: &str) -> String {
    for (urn, web) in [
        (
            "urn:epcglobal:cbv:bizstep:",
            "https://ref.gs1.org/cbv/BizStep-",
        ),
        ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
        ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
        ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
        ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
    ] {
        if let Some(rest) = text.strip_prefix(urn) {
            return format!("{web}{rest}");
        }
    }
    digital_link(text).unwrap_or_else(|| text.to_owned())
}

/// The GS1 Digital Link URI (on `id.gs1.org`) of an EPC pure-identity or class URI, or of a
/// Digital Link on another host (its query dropped); `None` for anything else.
fn digital_link(uri: &str) -> Option<String> {
    let dl = |path: String| Some(format!("https://id.gs1.org/{path}"));
    if let Some(rest) = uri.strip_prefix("urn:epc:id:sgtin:") {
        let [cp, item, serial] = parts(rest)?;
        return dl(format!("01/{}/21/{serial}", gtin(cp, item)?));
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let [cp, item, lot] = parts(rest)?;
        return dl(format!("01/{}/10/{lot}", gtin(cp, item)?));
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:idpat:sgtin:") {
        let [cp, item, star] = parts(rest)?;
        return match star {
            "*" => dl(format!("01/{}", gtin(cp, item)?)),
            _ => None,
        };
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:id:sscc:") {
        let (cp, serial) = rest.split_once('.')?;
        return dl(format!("00/{}", sscc_digits(cp, serial)?));
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:id:sgln:") {
        let [cp, loc, ext] = parts(rest)?;
        if !digits(cp) || !digits(loc) || cp.len() + loc.len() != 12 {
            return None;
        }
        let body = format!("{cp}{loc}");
        let gln = format!("{body}{}", gs1_check(&body)?);
        return dl(if ext == "0" {
            format!("414/{gln}")
        } else {
            format!("414/{gln}/254/{ext}")
        });
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:id:pgln:") {
        let (cp, party) = rest.split_once('.')?;
        if !digits(cp) || !digits(party) || cp.len() + party.len() != 12 {
            return None;
        }
        let body = format!("{cp}{party}");
        return dl(format!("417/{body}{}", gs1_check(&body)?));
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:id:grai:") {
        let [cp, asset, serial] = parts(rest)?;
        if !digits(cp) || !digits(asset) || cp.len() + asset.len() != 12 {
            return None;
        }
        let body = format!("{cp}{asset}");
        return dl(format!("8003/0{body}{}{serial}", gs1_check(&body)?));
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:id:giai:") {
        let (cp, asset) = rest.split_once('.')?;
        return digits(cp).then(|| format!("https://id.gs1.org/8004/{cp}{asset}"));
    }
    // A Digital Link on another host: the same path on id.gs1.org, without a query.
    let rest = uri
        .strip_prefix("https://")
        .or(uri.strip_prefix("http://"))?;
    let (_, path) = rest.split_once('/')?;
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let ai = path.split('/').next()?;
    let primary = matches!(
        ai,
        "00" | "01"
            | "253"
            | "255"
            | "401"
            | "402"
            | "414"
            | "417"
            | "8003"
            | "8004"
            | "8006"
            | "8010"
            | "8017"
            | "8018"
    );
    if !primary {
        return None;
    }
    Some(
        if !uri.starts_with("https://id.gs1.org/") || uri.contains(['?', '#']) {
            format!("https://id.gs1.org/{path}")
        } else {
            uri.to_owned()
        },
    )
}

/// The 18 digits of the SSCC of an EPC URI's company prefix and serial reference (whose first
/// digit is the extension digit), check digit computed (GS1 Tag Data Standard); `None` unless
/// both are digits, 17 together.
pub(crate) fn sscc_digits(cp: &str, serial: &str) -> Option<String> {
    if !digits(cp) || !digits(serial) || cp.len() + serial.len() != 17 {
        return None;
    }
    let body = format!("{}{cp}{}", &serial[..1], &serial[1..]);
    Some(format!("{body}{}", gs1_check(&body)?))
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parts(s: &str) -> Option<[&str; 3]> {
    let mut it = s.splitn(3, '.');
    Some([it.next()?, it.next()?, it.next()?])
}

/// GTIN-14 of an SGTIN's company prefix and item reference (whose first digit is the
/// indicator).
fn gtin(cp: &str, item: &str) -> Option<String> {
    if !digits(cp) || !digits(item) || cp.len() + item.len() != 13 {
        return None;
    }
    let body = format!("{}{cp}{}", &item[..1], &item[1..]);
    Some(format!("{body}{}", gs1_check(&body)?))
}

fn gs1_check(body: &str) -> Option<u8> {
    tradelog_protocol::ids::gs1_check_digit(body.as_bytes())
}
