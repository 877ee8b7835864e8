//! `standards::dcsa::import` (`tradelog import --format dcsa`) on arbitrary bytes; the input's
//! length modulo 4 picks the UCR source (transport document, booking, shipper reference `FF`,
//! or only a fixed UCR), so that the fixtures are seeds as they are (trailing whitespace
//! changes the variant).
//!
//! It must not panic. An accepted document gives valid bodies issued by the importer, each
//! anchoring the exact document bytes (as one event or an event list) and signing into an
//! event that verifies; a refusal names the field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_client::standards::dcsa::{
    self, DcsaOptions, UcrSource, DCSA_EVENT_KIND, DCSA_EVENT_LIST_KIND,
};
use tradelog_protocol::sample::sample_ucr;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let doc = data;
    let opts = DcsaOptions { link: false, 
        ucr_from: match doc.len() % 4 {
            0 => Some(UcrSource::TransportDocument),
            1 => Some(UcrSource::Booking),
            2 => Some(UcrSource::Reference("FF".into())),
            _ => None,
        },
        ucr: (doc.len() % 4 == 3).then(|| sample_ucr(42)),
    };
    let result = dcsa::import(doc, &common::target(), &opts);
    let kind = match serde_json::from_slice::<serde_json::Value>(doc) {
        Ok(v) if v.is_array() => DCSA_EVENT_LIST_KIND,
        _ => DCSA_EVENT_KIND,
    };
    common::check(result, doc, kind);
});
