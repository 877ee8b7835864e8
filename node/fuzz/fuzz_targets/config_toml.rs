//! `Config::parse`, the node's TOML config parser, on arbitrary UTF-8.
//!
//! It must not panic. A parsed config must be written back by `to_toml` (what `tradelog-node
//! init` writes) as a file that parses to the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_node::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse(text) else {
        return;
    };
    let written = config.to_toml();
    match Config::parse(&written) {
        Ok(again) => assert_eq!(again, config, "config changed after to_toml:\n{written}"),
        Err(e) => panic!("to_toml wrote a file that does not parse: {e}\n{written}"),
    }
});
