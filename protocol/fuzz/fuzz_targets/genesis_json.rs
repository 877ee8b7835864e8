//! `Genesis::from_json` on arbitrary bytes. Must not panic; a parsed genesis must survive a
//! JSON round trip unchanged (and keep its hash), and deriving its membership must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::Genesis;

fuzz_target!(|data: &[u8]| {
    let Ok(genesis) = Genesis::from_json(data) else {
        return;
    };
    let hash = genesis.hash();
    let _ = genesis.membership();
    let json = match serde_json::to_string(&genesis) {
        Ok(j) => j,
        Err(e) => panic!("parsed genesis does not serialize: {e}"),
    };
    match Genesis::from_json(json.as_bytes()) {
        Ok(again) => {
            assert_eq!(again, genesis, "genesis changed after a JSON round trip");
            assert_eq!(again.hash(), hash, "genesis hash changed after a JSON round trip");
        }
        Err(e) => panic!("re-encoded genesis does not parse: {e}\nre-encoded: {json}"),
    }
});
