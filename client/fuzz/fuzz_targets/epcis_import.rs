//! `standards::epcis::import` (`tradelog import --format epcis`) on arbitrary bytes, with the
//! options the fixtures use (UCR from the `bol` business transaction, one SGLN mapped to
//! CNSHA); an odd-length input is also given a fixed UCR (the length picks the variant so that
//! the fixtures are seeds as they are: trailing whitespace flips it).
//!
//! It must not panic. An accepted document gives valid bodies issued by the importer, each
//! anchoring the exact document bytes and signing into an event that verifies; a refusal names
//! the field.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tradelog_client::standards::epcis::{self, EpcisOptions, EPCIS_DOCUMENT_KIND};
use tradelog_protocol::sample::sample_ucr;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let doc = data;
    let opts = EpcisOptions {
        ucr: (doc.len() % 2 == 1).then(|| sample_ucr(42)),
        ucr_biz_transaction: Some("bol".to_owned()),
        carrier: None,
        locations: BTreeMap::from([(
            "urn:epc:id:sgln:0614141.00888.0".to_owned(),
            "CNSHA".parse().expect("locode"),
        )]),
    };
    let result = epcis::import(doc, &common::target(), &opts);
    common::check(result, doc, EPCIS_DOCUMENT_KIND);
});
