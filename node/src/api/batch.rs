//! Splitting a batch body (a JSON array of signed events) into the exact bytes of each item.
//!
//! Each item is then parsed by [`tradelog_protocol::Event::from_json`] exactly as a single
//! submission is, so the rules cannot drift apart. Re-serializing a parsed `serde_json::Value`
//! instead would silently merge a member given twice (which the protocol refuses) and reformat
//! numbers; serde_json's `raw_value` feature is not enabled, so the array is walked here with
//! serde_json's stream parser validating each item's syntax and reporting where it ends.

use serde::de::IgnoredAny;

use super::errors::ApiError;

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes
        .get(pos)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        pos += 1;
    }
    pos
}

/// The items of the JSON array `bytes`, as sub-slices, at most `max` of them (more is 413
/// `too_large`; not an array, or a syntax error anywhere, is 400 `malformed`).
pub fn split_array(bytes: &[u8], max: usize) -> Result<Vec<&[u8]>, ApiError> {
    let mut pos = skip_ws(bytes, 0);
    if bytes.get(pos) != Some(&b'[') {
        return Err(ApiError::malformed(
            "body: expected a JSON array of signed events",
        ));
    }
    pos = skip_ws(bytes, pos + 1);
    let mut items = Vec::new();
    if bytes.get(pos) == Some(&b']') {
        pos += 1;
    } else {
        loop {
            if items.len() == max {
                return Err(ApiError::too_large(format!(
                    "body: a batch holds at most {max} events"
                )));
            }
            let n = items.len();
            let rest = bytes.get(pos..).unwrap_or_default();
            let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
            match stream.next() {
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(ApiError::malformed(format!(
                        "[{n}]: {e} (position within the item)"
                    )))
                }
                None => {
                    return Err(ApiError::malformed(format!(
                        "[{n}]: unexpected end of the array"
                    )))
                }
            }
            let end = pos + stream.byte_offset();
            items.push(bytes.get(pos..end).unwrap_or_default());
            pos = skip_ws(bytes, end);
            match bytes.get(pos) {
                Some(b',') => pos = skip_ws(bytes, pos + 1),
                Some(b']') => {
                    pos += 1;
                    break;
                }
                _ => {
                    return Err(ApiError::malformed(format!(
                        "[{n}]: expected ',' or ']' after the item"
                    )))
                }
            }
        }
    }
    if skip_ws(bytes, pos) != bytes.len() {
        return Err(ApiError::malformed(
            "body: trailing characters after the array",
        ));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str, max: usize) -> Result<Vec<String>, (u16, String)> {
        split_array(s.as_bytes(), max)
            .map(|v| {
                v.into_iter()
                    .map(|b| String::from_utf8(b.to_vec()).unwrap())
                    .collect()
            })
            .map_err(|e| (e.status.as_u16(), e.message))
    }

    #[test]
    fn items_are_the_exact_bytes() {
        assert_eq!(split(" [ ] ", 3), Ok(vec![]));
        assert_eq!(
            split("[{\"a\":1,\"a\":2} , 17,\"x]\" ,[1,[2]],null,true]", 10),
            Ok(vec![
                "{\"a\":1,\"a\":2}".into(),
                "17".into(),
                "\"x]\"".into(),
                "[1,[2]]".into(),
                "null".into(),
                "true".into()
            ])
        );
        assert_eq!(split("[1,2,3]", 3).map(|v| v.len()), Ok(3));
    }

    #[test]
    fn deep_nesting_is_split_without_recursion() {
        // serde_json skips an item iteratively; the item itself is refused later by the event
        // parser's recursion limit.
        let deep = format!("[{}1{}, 2]", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(split(&deep, 3).map(|v| v.len()), Ok(2));
    }

    #[test]
    fn refusals() {
        for (input, status) in [
            ("", 400),
            ("{}", 400),
            ("[", 400),
            ("[1,", 400),
            ("[1 2]", 400),
            ("[1,]", 400),
            ("[{\"a\":}]", 400),
            ("[1] x", 400),
            ("[1,2,3,4]", 413),
        ] {
            assert_eq!(split(input, 3).map_err(|e| e.0), Err(status), "{input}");
        }
    }
}
