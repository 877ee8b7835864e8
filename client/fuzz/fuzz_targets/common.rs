//! What every importer target checks of an import's outcome (included by each target).

use sha2::Digest as _;
use tradelog_client::standards::{ImportError, ImportTarget, MAX_IMPORTED_EVENTS};
use tradelog_protocol::event::{DigestAlg, EventBody, Issuer};
use tradelog_protocol::sample::dev_key;
use tradelog_protocol::Event;

pub const KEY_NAME: &str = "org/blue-anchor-lines";

pub fn target() -> ImportTarget {
    ImportTarget {
        chain: "tradelog-devnet".into(),
        issuer: Issuer {
            org: "blue-anchor-lines".parse().expect("org id"),
            key: dev_key(KEY_NAME).public(),
        },
    }
}

/// An accepted document gives 1..=MAX bodies, each valid, issued by the importer, anchoring
/// exactly the document's SHA-256 under `kind`, and signing into an event that verifies and
/// survives its JSON form. A refusal names a field path and prints.
pub fn check(result: Result<Vec<EventBody>, ImportError>, bytes: &[u8], kind: &str) {
    let bodies = match result {
        Ok(b) => b,
        Err(e) => {
            let path = match &e {
                ImportError::Missing { path }
                | ImportError::Type { path, .. }
                | ImportError::Unsupported { path, .. }
                | ImportError::Invalid { path, .. }
                | ImportError::TooMany { path, .. } => Some(path),
                _ => None,
            };
            if let Some(p) = path {
                assert!(!p.is_empty(), "refusal without a path: {e:?}");
            }
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(!bodies.is_empty(), "accepted with no events");
    assert!(bodies.len() <= MAX_IMPORTED_EVENTS);
    let digest: [u8; 32] = sha2::Sha256::digest(bytes).into();
    let key = dev_key(KEY_NAME);
    let t = target();
    for b in bodies {
        b.validate().expect("an imported body breaks a ledger rule");
        assert_eq!(b.issuer, t.issuer);
        assert_eq!(b.chain, t.chain);
        assert_eq!(b.documents.len(), 1);
        let d = &b.documents[0];
        assert_eq!(
            (d.kind.as_str(), d.alg, d.digest.0),
            (kind, DigestAlg::Sha256, digest)
        );
        assert!(b.ucr.is_some() || b.container.is_some(), "names no subject");
        let event = b.sign(&key).expect("a valid body signs");
        event.verify_signature().expect("signature");
        let again = Event::from_json(event.to_json().as_bytes()).expect("event JSON parses");
        assert_eq!(again, event);
    }
}
