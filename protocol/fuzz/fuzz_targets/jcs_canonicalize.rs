//! `jcs::canonicalize` on any JSON value parsed from the input. Must not panic; when it
//! succeeds the output must be valid JSON equal to the input value, and canonicalization must
//! be idempotent: canonicalize(parse(canonicalize(v))) == canonicalize(v), byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tradelog_protocol::jcs::canonicalize;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(canon) = canonicalize(&value) else {
        return;
    };
    let reparsed: Value = match serde_json::from_slice(&canon) {
        Ok(v) => v,
        Err(e) => panic!(
            "canonical form is not valid JSON: {e}\ncanonical: {}",
            String::from_utf8_lossy(&canon)
        ),
    };
    assert_eq!(reparsed, value, "canonical form decodes to a different value");
    match canonicalize(&reparsed) {
        Ok(again) => assert!(
            again == canon,
            "not idempotent:\nfirst:  {}\nsecond: {}",
            String::from_utf8_lossy(&canon),
            String::from_utf8_lossy(&again)
        ),
        Err(e) => panic!(
            "canonical form has no canonical form: {e}\ncanonical: {}",
            String::from_utf8_lossy(&canon)
        ),
    }
});
