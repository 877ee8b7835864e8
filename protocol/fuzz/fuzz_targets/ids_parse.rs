//! `str::parse` of every identifier type on arbitrary UTF-8: `Ucr`, `ContainerId`, `UnLocode`,
//! `OrgId`, `Hash`, `PublicKey`, `Signature`. Must not panic, and building the error message
//! must not panic. Whatever parses must print back to exactly the input (parsing never
//! normalises) and must decode identically from its JSON string form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::{ContainerId, Hash, OrgId, PublicKey, Signature, Ucr, UnLocode};

macro_rules! check {
    ($s:expr, $t:ty, $print:expr) => {{
        let s: &str = $s;
        match s.parse::<$t>() {
            Err(e) => {
                let _ = e.to_string();
            }
            Ok(v) => {
                let printed: String = $print(&v);
                assert_eq!(printed, s, "{} does not print back to its input", stringify!($t));
                let json = serde_json::Value::String(s.to_owned()).to_string();
                match serde_json::from_str::<$t>(&json) {
                    Ok(w) => assert!(w == v, "{}: JSON and FromStr disagree", stringify!($t)),
                    Err(e) => panic!(
                        "{} parses with FromStr but not from JSON {json}: {e}",
                        stringify!($t)
                    ),
                }
            }
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    check!(s, Ucr, |v: &Ucr| v.to_string());
    check!(s, ContainerId, |v: &ContainerId| v.to_string());
    check!(s, UnLocode, |v: &UnLocode| v.to_string());
    check!(s, OrgId, |v: &OrgId| v.to_string());
    check!(s, Hash, |v: &Hash| v.to_hex());
    check!(s, PublicKey, |v: &PublicKey| v.to_hex());
    check!(s, Signature, |v: &Signature| v.to_hex());
});
