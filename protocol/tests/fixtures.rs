//! Honest bundles made by an earlier version of this crate keep verifying
//! (`tests/fixtures/honest-7809321/README.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::{Genesis, ProofBundle, RouteBundle, Subject};

fn read(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/honest-7809321/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn genesis() -> Genesis {
    serde_json::from_slice(&read("genesis.json")).unwrap()
}

#[test]
fn earlier_route_bundles_keep_verifying() {
    let g = genesis();
    for (name, height, transitions) in [("route.json", 8, 1), ("route-at-7.json", 7, 0)] {
        let r = RouteBundle::from_json(&read(name)).unwrap();
        assert_eq!(r.consignment.head.height, height, "{name}");
        assert_eq!(
            r.consignment.membership.transitions.len(),
            transitions,
            "{name}"
        );
        let route = r.verify(&g).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!route.timeline.is_empty());
    }
}

#[test]
fn earlier_membership_bundles_keep_verifying() {
    let g = genesis();
    for name in ["membership.json", "membership-at-7.json"] {
        let b = ProofBundle::from_json(&read(name)).unwrap();
        assert_eq!(b.subject, Subject::Membership);
        let p = b.verify(&g).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.events.len(), 3, "{name}");
    }
}
