//! `api::batch::split_array`, the splitter of `POST /v1/events/batch` bodies and gossip
//! messages, on arbitrary bytes, checked against serde_json as an oracle.
//!
//! It must not panic. Items are non-overlapping sub-slices of the input, in order, each one
//! JSON text on its own. serde_json accepting the input as an array of N values means the
//! splitter returns exactly N items (or refuses it as too many); the splitter accepting it means
//! serde_json accepts it too (except when serde_json's nesting limit is hit, which the splitter
//! does not have: items are refused later by the event parser).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use tradelog_node::api::batch::split_array;

const MAX: usize = 64;

fn nesting_limit(e: &serde_json::Error) -> bool {
    e.to_string().contains("recursion limit exceeded")
}

fuzz_target!(|data: &[u8]| {
    let split = split_array(data, MAX);
    let oracle = serde_json::from_slice::<Vec<IgnoredAny>>(data);
    match (&split, &oracle) {
        (Ok(items), Ok(values)) => assert_eq!(items.len(), values.len()),
        (Ok(_), Err(e)) => assert!(
            nesting_limit(e),
            "splitter accepted what serde_json refuses: {e}"
        ),
        (Err(e), Ok(values)) => assert!(
            e.status.as_u16() == 413 && values.len() > MAX,
            "splitter refused a valid array of {}: {e}",
            values.len()
        ),
        (Err(e), Err(_)) => assert!(matches!(e.status.as_u16(), 400 | 413), "{e}"),
    }
    let Ok(items) = split else {
        return;
    };
    assert!(items.len() <= MAX);
    let base = data.as_ptr() as usize;
    let mut after = 0;
    for item in items {
        let start = item.as_ptr() as usize - base;
        assert!(
            start >= after && start + item.len() <= data.len(),
            "item outside the input"
        );
        after = start + item.len();
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(item) {
            assert!(nesting_limit(&e), "item is not JSON: {e}");
        }
    }
});
