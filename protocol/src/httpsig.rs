//! HTTP request signatures (PROTOCOL.md section 12): a member organisation signs a read request
//! with one of its ed25519 event keys, after RFC 9421 (HTTP Message Signatures) with the
//! `ed25519` algorithm. Pure: the caller gives the request's parts and the time (unix seconds);
//! the node looks the returned key up in its membership.
//!
//! What is signed, byte for byte (the signature base, lines joined by `\n`, no final newline):
//!
//! ```text
//! "@method": GET
//! "@authority": node.example:8080
//! "@path": /v1/consignments/GB123
//! "@query": ?
//! "@signature-params": ("@method" "@authority" "@path" "@query");created=..;expires=..;keyid="<hex>";alg="ed25519";tag="tradelog/request/v1"
//! ```
//!
//! Only this canonical form is accepted: the four components (each once, in any order), the
//! parameters `created`, `expires`, `keyid`, `tag` (required), `alg` and `nonce` (optional), no
//! whitespace other than the single spaces between components, no escapes in strings. The
//! `@signature-params` line is the `Signature-Input` member's value exactly as received.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::keys::{PublicKey, SecretKey, Signature};

/// The `tag` parameter: the signature's namespace (STYLE: every signature covers one).
pub const TAG: &str = "tradelog/request/v1";
/// The `alg` parameter, when present.
pub const ALG: &str = "ed25519";
/// The label this implementation signs under (a verifier accepts any one label).
pub const LABEL: &str = "sig1";
/// The covered components, in the order this implementation signs them.
pub const COMPONENTS: [&str; 4] = ["@method", "@authority", "@path", "@query"];
/// Longest validity window (`expires - created`), seconds.
pub const MAX_VALIDITY_SECS: u64 = 300;
/// How far `created` may be ahead of the verifier's clock, seconds.
pub const MAX_CLOCK_SKEW_SECS: u64 = 30;
/// Longest `Signature-Input` or `Signature` header value, bytes (checked before parsing).
pub const MAX_HEADER_BYTES: usize = 1024;
/// Longest `nonce`, bytes.
pub const MAX_NONCE_BYTES: usize = 64;

/// Why a request signature was refused. [`HttpSigError::code`] is the API's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpSigError {
    /// `Signature-Input` is not of the accepted form.
    #[error("Signature-Input: {0}")]
    Input(String),
    /// `Signature` is not of the accepted form.
    #[error("Signature: {0}")]
    Signature(String),
    /// A parameter has a value this scheme refuses.
    #[error("Signature-Input: {0}")]
    Param(String),
    /// The validity window has ended.
    #[error("signature: expired at {expires} (unix seconds); this node's clock says {now}")]
    Expired {
        /// The `expires` parameter.
        expires: u64,
        /// The verifier's time.
        now: u64,
    },
    /// `created` is ahead of the verifier's clock by more than [`MAX_CLOCK_SKEW_SECS`].
    #[error(
        "signature: created at {created} (unix seconds), more than {MAX_CLOCK_SKEW_SECS} s ahead of this node's clock ({now})"
    )]
    NotYetValid {
        /// The `created` parameter.
        created: u64,
        /// The verifier's time.
        now: u64,
    },
    /// The signature does not verify over the signature base with the `keyid` key.
    #[error("signature: does not verify over this request's signature base with key {0}")]
    BadSignature(String),
}

impl HttpSigError {
    /// The API error code: `signature_expired` for the time window, else `signature_invalid`.
    pub fn code(&self) -> &'static str {
        match self {
            HttpSigError::Expired { .. } | HttpSigError::NotYetValid { .. } => "signature_expired",
            _ => "signature_invalid",
        }
    }
}

/// The parts of a request that are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, e.g. `GET` (compared as sent; methods are case-sensitive).
    pub method: &'a str,
    /// The `Host` header (HTTP/1.1) or `:authority` (HTTP/2): `host[:port]`, lowercased here.
    pub authority: &'a str,
    /// The path of the request target as sent (percent-encoding kept); empty is `/`.
    pub path: &'a str,
    /// The query of the request target as sent, without `?`; `None` if there is none.
    pub query: Option<&'a str>,
}

impl Request<'_> {
    /// A covered component's value (RFC 9421 section 2.2).
    fn component(&self, name: &str) -> String {
        match name {
            "@method" => self.method.to_owned(),
            "@authority" => self.authority.to_ascii_lowercase(),
            "@path" if self.path.is_empty() => "/".to_owned(),
            "@path" => self.path.to_owned(),
            _ => format!("?{}", self.query.unwrap_or("")),
        }
    }
}

/// The headers of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    /// The `Signature-Input` header value.
    pub signature_input: String,
    /// The `Signature` header value.
    pub signature: String,
}

/// The signature parameters as this implementation writes them (RFC 9421 section 2.3).
fn params_value(key: &PublicKey, created: u64, expires: u64, nonce: Option<&str>) -> String {
    let mut s = String::from("(");
    s.push_str(
        &COMPONENTS
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let _ = write!(
        s,
        ");created={created};expires={expires};keyid=\"{}\";alg=\"{ALG}\";tag=\"{TAG}\"",
        key.to_hex()
    );
    if let Some(n) = nonce {
        let _ = write!(s, ";nonce=\"{n}\"");
    }
    s
}

/// The signature base (RFC 9421 section 2.5) of `req` for the components `covered` and the
/// `@signature-params` value `params`.
pub fn signature_base(req: &Request<'_>, covered: &[&str], params: &str) -> Vec<u8> {
    let mut base = String::new();
    for c in covered {
        let _ = writeln!(base, "\"{c}\": {}", req.component(c));
    }
    let _ = write!(base, "\"@signature-params\": {params}");
    base.into_bytes()
}

/// True if `n` is an acceptable nonce: 1 to [`MAX_NONCE_BYTES`] of `A-Z a-z 0-9 - _ . ~ + / =`.
pub fn is_nonce(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NONCE_BYTES
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b))
}

/// Signs `req` with `key`, valid from `created` to `expires` (unix seconds).
pub fn sign(
    key: &SecretKey,
    req: &Request<'_>,
    created: u64,
    expires: u64,
    nonce: Option<&str>,
) -> Result<Headers, HttpSigError> {
    if let Some(n) = nonce.filter(|n| !is_nonce(n)) {
        return Err(HttpSigError::Param(format!(
            "nonce: {:?} is not 1-{MAX_NONCE_BYTES} characters of A-Z a-z 0-9 - _ . ~ + / =",
            n.chars().take(40).collect::<String>()
        )));
    }
    if expires <= created || expires - created > MAX_VALIDITY_SECS {
        return Err(HttpSigError::Param(format!(
            "expires: must be after created and at most {MAX_VALIDITY_SECS} s after it"
        )));
    }
    let params = params_value(&key.public(), created, expires, nonce);
    let sig = key.sign(&signature_base(req, &COMPONENTS, &params));
    Ok(Headers {
        signature_input: format!("{LABEL}={params}"),
        signature: format!(
            "{LABEL}=:{}:",
            base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
        ),
    })
}

/// A parsed request signature, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    components: Vec<&'static str>,
    params: String,
    created: u64,
    expires: u64,
    key: PublicKey,
    nonce: Option<String>,
    signature: Signature,
}

impl Signed {
    /// The signing key (`keyid`).
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The `nonce` parameter, if any.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The `created` parameter (unix seconds).
    pub fn created(&self) -> u64 {
        self.created
    }

    /// Checks the validity window against `now` (unix seconds) and the signature over `req`;
    /// returns the key that signed (the caller checks it is an active member key).
    pub fn verify(&self, req: &Request<'_>, now: u64) -> Result<PublicKey, HttpSigError> {
        if self.created > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(HttpSigError::NotYetValid {
                created: self.created,
                now,
            });
        }
        if now > self.expires {
            return Err(HttpSigError::Expired {
                expires: self.expires,
                now,
            });
        }
        let base = signature_base(req, &self.components, &self.params);
        self.key
            .verify(&base, &self.signature)
            .map_err(|_| HttpSigError::BadSignature(self.key.to_hex()))?;
        Ok(self.key)
    }
}

/// A structured-field key (RFC 8941 section 3.1.2), at most 64 bytes.
fn is_key(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0] == b'*')
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(c))
}

/// Parses the `Signature-Input` and `Signature` header values (each at most
/// [`MAX_HEADER_BYTES`]): one signature under one label, in the canonical form of the module
/// documentation.
pub fn parse(signature_input: &str, signature: &str) -> Result<Signed, HttpSigError> {
    let input = |m: String| HttpSigError::Input(m);
    let param = |m: String| HttpSigError::Param(m);
    if signature_input.len() > MAX_HEADER_BYTES {
        return Err(input(format!("longer than {MAX_HEADER_BYTES} bytes")));
    }
    if signature.len() > MAX_HEADER_BYTES {
        return Err(HttpSigError::Signature(format!(
            "longer than {MAX_HEADER_BYTES} bytes"
        )));
    }
    let (label, value) = signature_input
        .split_once('=')
        .ok_or_else(|| input("not label=(components);params".into()))?;
    if !is_key(label) {
        return Err(input(format!(
            "label: {:?} is not a structured-field key",
            label.chars().take(40).collect::<String>()
        )));
    }
    let rest = value
        .strip_prefix('(')
        .ok_or_else(|| input("expected '(' after the label".into()))?;
    let (list, mut params) = rest
        .split_once(')')
        .ok_or_else(|| input("the component list has no ')'".into()))?;
    let mut components: Vec<&'static str> = Vec::new();
    for item in list.split(' ') {
        let name = item
            .strip_prefix('"')
            .and_then(|i| i.strip_suffix('"'))
            .ok_or_else(|| {
                input("components: each is a quoted name, separated by one space".into())
            })?;
        let known = COMPONENTS.iter().find(|c| **c == name).ok_or_else(|| {
            input(format!(
                "components: {:?} is not one of {}",
                name.chars().take(40).collect::<String>(),
                COMPONENTS.join(", ")
            ))
        })?;
        if components.contains(known) {
            return Err(input(format!("components: {name} is listed twice")));
        }
        components.push(known);
    }
    if components.len() != COMPONENTS.len() {
        return Err(input(format!(
            "components: all of {} must be covered",
            COMPONENTS.join(", ")
        )));
    }
    let (mut created, mut expires, mut keyid, mut alg, mut tag, mut nonce) =
        (None, None, None, None, None, None);
    while !params.is_empty() {
        let p = params
            .strip_prefix(';')
            .ok_or_else(|| input("parameters: expected ';'".into()))?;
        let end = p.find(';').unwrap_or(p.len());
        let (item, next) = p.split_at(end);
        params = next;
        let (name, v) = item
            .split_once('=')
            .ok_or_else(|| input("parameters: each is name=value".into()))?;
        let string = || {
            v.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .filter(|s| !s.contains(['"', '\\']))
                .map(str::to_owned)
                .ok_or_else(|| param(format!("{name}: not a string without escapes")))
        };
        let integer = || {
            (!v.is_empty() && v.len() <= 15 && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| param(format!("{name}: not a non-negative integer")))
        };
        let slot_taken = match name {
            "created" => created.replace(integer()?).is_some(),
            "expires" => expires.replace(integer()?).is_some(),
            "keyid" => keyid.replace(string()?).is_some(),
            "alg" => alg.replace(string()?).is_some(),
            "tag" => tag.replace(string()?).is_some(),
            "nonce" => nonce.replace(string()?).is_some(),
            other => {
                return Err(param(format!(
                    "{:?}: unknown parameter (known: created, expires, keyid, alg, tag, nonce)",
                    other.chars().take(40).collect::<String>()
                )))
            }
        };
        if slot_taken {
            return Err(param(format!("{name}: given twice")));
        }
    }
    let created = created.ok_or_else(|| param("created: required".into()))?;
    let expires = expires.ok_or_else(|| param("expires: required".into()))?;
    if expires <= created || expires - created > MAX_VALIDITY_SECS {
        return Err(param(format!(
            "expires: must be after created and at most {MAX_VALIDITY_SECS} s after it \
             (created={created}, expires={expires})"
        )));
    }
    let keyid = keyid.ok_or_else(|| param("keyid: required (the signing key, hex)".into()))?;
    let key: PublicKey = keyid.parse().map_err(|e| param(format!("keyid: {e}")))?;
    if let Some(a) = alg.filter(|a| a != ALG) {
        return Err(param(format!(
            "alg: {:?} is not {ALG:?}",
            a.chars().take(40).collect::<String>()
        )));
    }
    if tag.as_deref() != Some(TAG) {
        return Err(param(format!("tag: must be {TAG:?}")));
    }
    if let Some(n) = nonce.as_deref().filter(|n| !is_nonce(n)) {
        return Err(param(format!(
            "nonce: {:?} is not 1-{MAX_NONCE_BYTES} characters of A-Z a-z 0-9 - _ . ~ + / =",
            n.chars().take(40).collect::<String>()
        )));
    }
    let sig = signature
        .strip_prefix(label)
        .and_then(|s| s.strip_prefix("=:"))
        .and_then(|s| s.strip_suffix(':'))
        .ok_or_else(|| {
            HttpSigError::Signature(format!(
                "expected {label}=:<base64>: under the label of Signature-Input"
            ))
        })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .map_err(|e| HttpSigError::Signature(format!("not base64: {e}")))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
        HttpSigError::Signature(format!("{} bytes, an ed25519 signature has 64", b.len()))
    })?;
    Ok(Signed {
        components,
        params: value.to_owned(),
        created,
        expires,
        key,
        nonce,
        signature: Signature::from_bytes(&bytes),
    })
}

/// The test vector of PROTOCOL.md section 12: (key seed, request, created, expires, nonce).
pub fn vector() -> (SecretKey, Request<'static>, u64, u64, &'static str) {
    (
        SecretKey::from_seed(&[7u8; 32]),
        Request {
            method: "GET",
            authority: "node.example:8080",
            path: "/v1/consignments/GB123456789012-TL0001",
            query: None,
        },
        1_767_225_600,
        1_767_225_900,
        "c2FtcGxlLW5vbmNl",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> (Headers, Request<'static>, u64) {
        let (key, req, created, expires, nonce) = vector();
        (
            sign(&key, &req, created, expires, Some(nonce)).unwrap(),
            req,
            created,
        )
    }

    #[test]
    fn a_signed_request_verifies_and_names_its_key() {
        let (h, req, now) = headers();
        let s = parse(&h.signature_input, &h.signature).unwrap();
        assert_eq!(s.verify(&req, now).unwrap(), vector().0.public());
        assert_eq!(s.nonce(), Some(vector().4));
        // The authority is compared lowercased.
        let upper = Request {
            authority: "NODE.example:8080",
            ..req
        };
        assert!(s.verify(&upper, now + 300).is_ok());
    }

    #[test]
    fn every_signed_part_is_bound() {
        let (h, req, now) = headers();
        let s = parse(&h.signature_input, &h.signature).unwrap();
        for other in [
            Request {
                method: "POST",
                ..req
            },
            Request {
                authority: "other.example:8080",
                ..req
            },
            Request {
                path: "/v1/consignments/GB123456789012-TL0002",
                ..req
            },
            Request {
                query: Some("height=1"),
                ..req
            },
        ] {
            let e = s.verify(&other, now).unwrap_err();
            assert_eq!(e.code(), "signature_invalid", "{other:?}");
        }
        // `?` alone and no query are the same request target component.
        let none = sign(&vector().0, &req, now, now + 10, None).unwrap();
        let s = parse(&none.signature_input, &none.signature).unwrap();
        assert!(s
            .verify(
                &Request {
                    query: Some(""),
                    ..req
                },
                now
            )
            .is_ok());
        // A changed parameter changes the base: created moved by one second.
        let moved = h
            .signature_input
            .replace("created=1767225600", "created=1767225601");
        let s = parse(&moved, &h.signature).unwrap();
        assert!(matches!(
            s.verify(&req, now + 1),
            Err(HttpSigError::BadSignature(_))
        ));
    }

    #[test]
    fn the_window_is_checked_against_the_clock() {
        let (h, req, created) = headers();
        let s = parse(&h.signature_input, &h.signature).unwrap();
        assert!(s.verify(&req, created + 300).is_ok());
        let e = s.verify(&req, created + 301).unwrap_err();
        assert_eq!(e.code(), "signature_expired");
        assert!(s.verify(&req, created - MAX_CLOCK_SKEW_SECS).is_ok());
        let e = s
            .verify(&req, created - MAX_CLOCK_SKEW_SECS - 1)
            .unwrap_err();
        assert!(matches!(e, HttpSigError::NotYetValid { .. }), "{e}");
        assert_eq!(e.code(), "signature_expired");
        // A window longer than the limit is refused when signing and when parsing.
        let key = &vector().0;
        assert!(sign(key, &req, 0, MAX_VALIDITY_SECS + 1, None).is_err());
        let long = h
            .signature_input
            .replace("expires=1767225900", "expires=1767226000");
        assert!(matches!(
            parse(&long, &h.signature),
            Err(HttpSigError::Param(m)) if m.starts_with("expires: ")
        ));
    }

    #[test]
    fn malformed_headers_are_refused_with_the_part_named() {
        let (h, _, _) = headers();
        let good = h.signature_input.clone();
        let cases: Vec<(String, String, &str)> = vec![
            (
                "x".repeat(MAX_HEADER_BYTES + 1),
                h.signature.clone(),
                "Signature-Input: longer",
            ),
            (
                "sig1".into(),
                h.signature.clone(),
                "Signature-Input: not label",
            ),
            (
                good.replace("sig1=", "Sig1="),
                h.signature.clone(),
                "Signature-Input: label",
            ),
            (
                good.replace("(\"@method\" ", "(\"@method\"  "),
                h.signature.clone(),
                "Signature-Input: components",
            ),
            (
                good.replace(" \"@query\"", ""),
                h.signature.clone(),
                "Signature-Input: components: all",
            ),
            (
                good.replace("\"@query\"", "\"@method\""),
                h.signature.clone(),
                "Signature-Input: components: @method is listed twice",
            ),
            (
                good.replace("\"@query\"", "\"content-type\""),
                h.signature.clone(),
                "Signature-Input: components: \"content-type\"",
            ),
            (
                good.replace(";alg=\"ed25519\"", ";alg=\"rsa-pss-sha512\""),
                h.signature.clone(),
                "Signature-Input: alg",
            ),
            (
                good.replace(";tag=\"tradelog/request/v1\"", ""),
                h.signature.clone(),
                "Signature-Input: tag",
            ),
            (
                good.replace("keyid=\"", "keyid=\"zz"),
                h.signature.clone(),
                "Signature-Input: keyid",
            ),
            (
                good.replace(";created=1767225600", ""),
                h.signature.clone(),
                "Signature-Input: created: required",
            ),
            (
                good.replace("created=1767225600", "created=-1"),
                h.signature.clone(),
                "Signature-Input: created: not",
            ),
            (
                format!("{good};created=1"),
                h.signature.clone(),
                "Signature-Input: created: given twice",
            ),
            (
                format!("{good};foo=1"),
                h.signature.clone(),
                "Signature-Input: \"foo\": unknown",
            ),
            (
                good.replace("c2FtcGxlLW5vbmNl", "a\\\"b"),
                h.signature.clone(),
                "Signature-Input: nonce",
            ),
            (
                good.clone(),
                h.signature.replace("sig1=", "sig2="),
                "Signature: expected",
            ),
            (good.clone(), "sig1=:AAAA:".into(), "Signature: 3 bytes"),
            (good.clone(), "sig1=:!!:".into(), "Signature: not base64"),
        ];
        for (input, sig, want) in cases {
            let e = parse(&input, &sig).unwrap_err();
            assert!(e.to_string().starts_with(want), "{input}: {e}");
            assert_eq!(e.code(), "signature_invalid");
        }
    }

    /// The vector printed in PROTOCOL.md section 12 (regenerated only for a deliberate change
    /// of the scheme; `protocol/tests/vectors.rs` checks the document carries these strings).
    #[test]
    fn golden_vector() {
        let (key, req, created, _, nonce) = vector();
        let (h, _, _) = headers();
        let s = parse(&h.signature_input, &h.signature).unwrap();
        let base = String::from_utf8(signature_base(&req, &COMPONENTS, &s.params)).unwrap();
        assert_eq!(base, VECTOR_BASE.replace("<key>", &key.public().to_hex()));
        assert_eq!(
            h.signature_input,
            format!(
                "sig1=(\"@method\" \"@authority\" \"@path\" \"@query\");created={created};\
                 expires=1767225900;keyid=\"{}\";alg=\"ed25519\";tag=\"tradelog/request/v1\";\
                 nonce=\"{nonce}\"",
                key.public().to_hex()
            )
        );
        assert_eq!(h.signature, VECTOR_SIGNATURE);
    }

    const VECTOR_BASE: &str = "\"@method\": GET\n\"@authority\": node.example:8080\n\
\"@path\": /v1/consignments/GB123456789012-TL0001\n\"@query\": ?\n\
\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\");created=1767225600;\
expires=1767225900;keyid=\"<key>\";alg=\"ed25519\";tag=\"tradelog/request/v1\";\
nonce=\"c2FtcGxlLW5vbmNl\"";
    const VECTOR_SIGNATURE: &str = "sig1=:J1UGsAjdl2yC96ECCe/ZDsYIQ3hNaUv4W5EMrctt5Q3QXqYhM0X8rWOmGRamvlgFu1qaoX6CKSn94MmUVnFQAg==:";
}
