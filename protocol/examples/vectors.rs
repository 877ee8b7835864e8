//! Prints the golden test vectors of docs/PROTOCOL.md (`cargo run -p tradelog-protocol --example vectors`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use tradelog_protocol::vectors;

fn main() {
    let v = vectors::compute();
    println!("{}", serde_json::to_string_pretty(&v).unwrap());
}
