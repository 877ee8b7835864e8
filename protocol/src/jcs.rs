//! RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON subset the protocol signs.
//!
//! The subset: objects, arrays, strings, booleans and integers in `[-(2^53-1), 2^53-1]`.
//! `null` and non-integer numbers are refused, so every accepted value has one canonical form that
//! any RFC 8785 library reproduces (for integers, ECMAScript number serialization is plain decimal).

use serde_json::Value;

/// Largest integer a canonical document may hold (2^53 - 1, exact in IEEE 754 doubles).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a JSON value has no canonical form in the protocol's subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// `null` appears; absent optional fields are omitted instead.
    #[error("null is not allowed at {0}: omit the field instead")]
    Null(String),
    /// A number that is not an integer within +/-(2^53-1).
    #[error("number at {0} must be an integer within +/-(2^53-1)")]
    Number(String),
}

/// Canonical UTF-8 bytes of `value` per RFC 8785, restricted to the protocol subset.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out, &mut String::from("$"))?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<(), JcsError> {
    match value {
        Value::Null => return Err(JcsError::Null(path.clone())),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64().filter(|u| *u <= MAX_SAFE_INTEGER) {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER) {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(JcsError::Number(path.clone()));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(item, out, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // RFC 8785 3.2.3: sort member names by their UTF-16 code units.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(k);
                write_value(v, out, path)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Appends `s` as an RFC 8785 string (for writers that emit canonical JSON directly).
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    write_string(s, out);
}

/// RFC 8785 3.2.2.2 string serialization (ECMAScript JSON.stringify rules).
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    // Most protocol strings (hex, identifiers) need no escape: copy them as they are.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(canonicalize(&v).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn table() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"b": 1, "a": [true, false]}),
                r#"{"a":[true,false],"b":1}"#,
            ),
            (
                json!({"k": "a\"b\\c\n\u{1}\u{7f}é"}),
                "{\"k\":\"a\\\"b\\\\c\\n\\u0001\u{7f}é\"}",
            ),
            (json!(-9007199254740991i64), "-9007199254740991"),
            (
                json!({"\u{e000}": 1, "\u{1f600}": 2}),
                "{\"\u{1f600}\":2,\"\u{e000}\":1}",
            ),
            (json!({"": {"z": [], "y": {}}}), r#"{"":{"y":{},"z":[]}}"#),
            (json!("\u{2028}/"), "\"\u{2028}/\""),
        ];
        for (v, want) in cases {
            assert_eq!(canon(v), want);
        }
    }

    #[test]
    fn refuses_null_float_and_big_ints() {
        assert_eq!(
            canonicalize(&json!({"a": [1, null]})),
            Err(JcsError::Null("$.a[1]".into()))
        );
        assert_eq!(canonicalize(&json!(1.5)), Err(JcsError::Number("$".into())));
        assert_eq!(
            canonicalize(&json!(9007199254740992u64)),
            Err(JcsError::Number("$".into()))
        );
    }
}
