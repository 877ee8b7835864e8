//! Response headers every answer carries: the security headers, and CORS for the origins the
//! operator lists (`[api] cors_origins`).

use std::sync::Arc;

/// The web origins allowed to call the API from a browser (CORS). Empty (the default): no CORS
/// headers at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Arc<[String]>,
}

impl Cors {
    /// The policy for these origins (as checked by the config: `https://host[:port]`).
    pub fn new(origins: Vec<String>) -> Cors {
        Cors {
            origins: origins.into(),
        }
    }

    /// True if a page of `origin` may call the API.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// True if no origin is listed.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }
}
