//! `http::Endpoint::read_response`, the light client's HTTP/1.1 response parser, on arbitrary
//! bytes as a node (or anything posing as one) could send them.
//!
//! It must not panic, and its error must print. An accepted response's body is no larger than
//! the input (a declared length larger than what was sent is an error, never zero-filled) and
//! within `MAX_RESPONSE_BYTES`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_client::http::{Endpoint, MAX_RESPONSE_BYTES};

fuzz_target!(|data: &[u8]| {
    let endpoint: Endpoint = "http://node.example:7100".parse().expect("endpoint");
    match endpoint.read_response(std::io::Cursor::new(data)) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(r) => {
            assert!(
                r.body.len() <= data.len(),
                "a body of {} bytes from {} bytes of input",
                r.body.len(),
                data.len()
            );
            assert!(r.body.len() <= MAX_RESPONSE_BYTES);
        }
    }
});
