//! `time::parse_time`, the RFC 3339 / milliseconds parser every imported `eventTime`,
//! `eventDateTime` and `creationDate` goes through, on arbitrary UTF-8.
//!
//! It must not panic, and its error must print. A parsed time formats (`format_time`) to text
//! that parses back to the same milliseconds; an RFC 3339 input in UTC with three fraction
//! digits is exactly that text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_client::time::{format_time, parse_time};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse_time(s) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(ms) => {
            let text = format_time(ms);
            assert_eq!(parse_time(&text), Ok(ms), "{s:?} -> {ms} -> {text:?}");
            if s.len() == 24
                && s.ends_with('Z')
                && s.as_bytes()[19] == b'.'
                && s.as_bytes()[10] == b'T'
            {
                let canonical = if ms % 1000 == 0 {
                    format!("{}.000Z", text.trim_end_matches('Z'))
                } else {
                    text.clone()
                };
                assert_eq!(canonical, s, "{s:?} parsed to {ms}");
            }
        }
    }
});
