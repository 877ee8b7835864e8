//! What the explorer needs to verify in the browser: the genesis document to pin
//! (`GET /v1/genesis`) and the TypeScript SDK's verifier as static ES modules (`GET /sdk/...`).
//!
//! The modules are the SDK's own files (`sdk/typescript/index.js`, `src/*.js`) and the noble
//! files it imports (`sdk/typescript/third_party/@noble/`, kept byte-identical to the npm
//! packages by `scripts/third-party.mjs --check`), embedded in the binary. One change is made
//! when they are served: the bare specifiers `from '@noble/...'` become `from '/sdk/@noble/...'`.
//! Browsers resolve bare specifiers only through an import map, which is an inline script: the
//! Content-Security-Policy (`script-src 'self'`) allows none, and a hash of one in the policy
//! would have to be kept in step. Every other byte is the file's.
//!
//! Answers carry a strong `ETag` (a BLAKE3 hash of the bytes) and `Cache-Control: no-cache`:
//! a browser keeps the modules and revalidates them (`If-None-Match`, 304), so a node upgrade
//! never runs a page's new script over stale verifier modules.

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{json_bytes, ApiError, ApiState};

/// Where the SDK's modules are served.
pub const SDK_PREFIX: &str = "/sdk/";

/// Embeds one SDK file (path relative to `sdk/typescript/`).
macro_rules! sdk_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../sdk/typescript/", $path)))),*]
    };
}

/// The SDK's modules (its whole `src/`), and the noble files it imports.
const SDK_SOURCES: &[(&str, &str)] = sdk_files!(
    "index.js",
    "src/aeo.js",
    "src/bundle.js",
    "src/bytes.js",
    "src/change.js",
    "src/client.js",
    "src/disclosure.js",
    "src/errors.js",
    "src/event.js",
    "src/follow.js",
    "src/hash.js",
    "src/head.js",
    "src/httpsig.js",
    "src/ids.js",
    "src/jcs.js",
    "src/json.js",
    "src/keys.js",
    "src/membership.js",
    "src/merkle.js",
    "src/recognition.js",
    "src/roles.js",
    "src/retractions.js",
    "src/route.js",
    "src/schema.js",
    "src/sources.js",
    "src/subject.js",
);

/// The noble files, served as `/sdk/@noble/...` (path relative to `sdk/typescript/third_party/`).
const NOBLE_SOURCES: &[(&str, &str)] = sdk_files!(
    "third_party/@noble/curves/abstract/curve.js",
    "third_party/@noble/curves/abstract/edwards.js",
    "third_party/@noble/curves/abstract/fft.js",
    "third_party/@noble/curves/abstract/frost.js",
    "third_party/@noble/curves/abstract/hash-to-curve.js",
    "third_party/@noble/curves/abstract/modular.js",
    "third_party/@noble/curves/abstract/montgomery.js",
    "third_party/@noble/curves/abstract/oprf.js",
    "third_party/@noble/curves/ed25519.js",
    "third_party/@noble/curves/utils.js",
    "third_party/@noble/curves/LICENSE",
    "third_party/@noble/hashes/_blake.js",
    "third_party/@noble/hashes/_md.js",
    "third_party/@noble/hashes/_u64.js",
    "third_party/@noble/hashes/blake2.js",
    "third_party/@noble/hashes/blake3.js",
    "third_party/@noble/hashes/sha2.js",
    "third_party/@noble/hashes/utils.js",
    "third_party/@noble/hashes/LICENSE",
);

/// One served file.
#[derive(Debug)]
pub struct Module {
    /// Its path under `/sdk/` (`src/route.js`, `@noble/curves/ed25519.js`).
    pub path: &'static str,
    /// The file as served (bare noble specifiers rewritten).
    pub body: String,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its `ETag` (quoted).
    pub etag: String,
}

/// The served text of an SDK or noble file: `from '@noble/` becomes `from '/sdk/@noble/'`.
pub fn rewrite(source: &str) -> String {
    source
        .replace(" from '@noble/", " from '/sdk/@noble/")
        .replace(" from \"@noble/", " from \"/sdk/@noble/")
}

/// Every file served under `/sdk/`, built once.
pub static MODULES: LazyLock<Vec<Module>> = LazyLock::new(|| {
    let sdk = SDK_SOURCES.iter().map(|(p, s)| (*p, *s));
    let noble = NOBLE_SOURCES
        .iter()
        .map(|(p, s)| (p.trim_start_matches("third_party/"), *s));
    sdk.chain(noble)
        .map(|(path, source)| {
            let body = rewrite(source);
            let content_type = if path.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else {
                "text/plain; charset=utf-8"
            };
            let etag = format!("\"{}\"", &blake3::hash(body.as_bytes()).to_hex()[..32]);
            Module {
                path,
                body,
                content_type,
                etag,
            }
        })
        .collect()
});

/// The module served at `/sdk/{path}`, if any.
pub fn module(path: &str) -> Option<&'static Module> {
    MODULES.iter().find(|m| m.path == path)
}

/// `GET /sdk/{*path}`: one of the SDK's modules or noble's; 304 when `If-None-Match` names
/// its `ETag`; 404 `no_route` for any other path.
pub(super) async fn sdk_module(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(m) = module(&path) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no_route",
            format!(
                "path: {SDK_PREFIX}{} is not a module of the SDK; see /openapi.json",
                super::truncate(&path)
            ),
        )
        .into_response();
    };
    let etag = HeaderValue::from_str(&m.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == m.etag || t.trim() == "*"));
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(m.content_type),
            ),
            (header::ETAG, etag),
            cache,
        ],
        m.body.as_str(),
    )
        .into_response()
}

/// `GET /v1/genesis`: the genesis document this node runs, in its canonical form (RFC 8785),
/// so that `BLAKE3("tradelog/genesis/v1" || 0x00 || body)` is the genesis hash, also given in
/// the `ETag`.
pub(super) async fn genesis(State(state): State<ApiState>) -> Response {
    let g = state.chain.genesis();
    let canonical = serde_json::to_value(g)
        .map_err(|e| e.to_string())
        .and_then(|v| tradelog_protocol::jcs::canonicalize(&v).map_err(|e| e.to_string()));
    match canonical {
        Ok(body) => {
            let mut res = json_bytes(StatusCode::OK, body);
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", g.hash())) {
                res.headers_mut().insert(header::ETAG, etag);
            }
            res
        }
        Err(e) => ApiError::internal(format!("genesis: no canonical form: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The import specifiers of a module: its static `import` statements and `export ... from`
    /// re-exports, at the start of a line, over as many lines as they take.
    fn imports(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let starts = ["import ", "import{", "export {", "export *"];
            if !starts.iter().any(|s| line.starts_with(s)) {
                continue;
            }
            let mut statement = line.to_owned();
            while !statement.contains(';') {
                match lines.next() {
                    Some(l) => statement.push_str(l),
                    None => break,
                }
            }
            for q in ['\'', '"'] {
                for key in [format!("from {q}"), format!("import {q}")] {
                    if let Some(at) = statement.find(&key) {
                        let rest = &statement[at + key.len()..];
                        if let Some(end) = rest.find(q) {
                            out.push(rest[..end].to_owned());
                        }
                    }
                }
            }
        }
        out
    }

    /// Resolves `spec` against the URL path `base` (a module's path under `/`).
    fn resolve(base: &str, spec: &str) -> String {
        if spec.starts_with('/') {
            return spec.to_owned();
        }
        let mut parts: Vec<&str> = base.split('/').collect();
        parts.pop();
        for seg in spec.split('/') {
            match seg {
                "." => {}
                ".." => {
                    parts.pop();
                }
                s => parts.push(s),
            }
        }
        parts.join("/")
    }

    #[test]
    fn every_module_the_explorer_imports_is_served() {
        let mut todo = vec![("/explorer.js".to_owned(), super::super::EXPLORER_JS)];
        let mut seen = std::collections::BTreeSet::new();
        while let Some((path, text)) = todo.pop() {
            for spec in imports(text) {
                assert!(
                    spec.starts_with('/') || spec.starts_with('.'),
                    "{path} imports the bare specifier {spec}: a browser cannot resolve it"
                );
                let target = resolve(&path, &spec);
                let under = target
                    .strip_prefix(SDK_PREFIX)
                    .unwrap_or_else(|| panic!("{path} imports {target}, not under /sdk/"));
                let m =
                    module(under).unwrap_or_else(|| panic!("{path} imports {target}: not served"));
                if seen.insert(target.clone()) {
                    todo.push((target, m.body.as_str()));
                }
            }
        }
        assert!(seen.contains("/sdk/index.js"), "{seen:?}");
        assert!(seen.contains("/sdk/@noble/curves/ed25519.js"), "{seen:?}");
        assert!(seen.contains("/sdk/@noble/hashes/blake3.js"), "{seen:?}");
        // Nothing is served that nothing imports (but the licences).
        for m in MODULES.iter().filter(|m| m.path.ends_with(".js")) {
            assert!(
                seen.contains(&format!("{SDK_PREFIX}{}", m.path)),
                "{} is served but not imported",
                m.path
            );
        }
    }

    #[test]
    fn the_served_modules_are_the_sdk_files_with_only_the_noble_specifiers_rewritten() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/typescript");
        // Every file of the SDK's src/ is embedded (a new one must be added to SDK_SOURCES).
        for entry in std::fs::read_dir(root.join("src")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".js") {
                assert!(
                    module(&format!("src/{name}")).is_some(),
                    "src/{name} is not served"
                );
            }
        }
        for m in MODULES.iter() {
            let file = if m.path.starts_with("@noble/") {
                root.join("third_party").join(m.path)
            } else {
                root.join(m.path)
            };
            let on_disk = std::fs::read_to_string(&file).unwrap();
            assert_eq!(m.body, rewrite(&on_disk), "{}", m.path);
            let back = m
                .body
                .replace("'/sdk/@noble/", "'@noble/")
                .replace("\"/sdk/@noble/", "\"@noble/");
            assert_eq!(
                back, on_disk,
                "{}: more than the specifiers changed",
                m.path
            );
        }
        let hash = module("src/hash.js").map(|m| imports(&m.body)).unwrap();
        assert!(
            hash.contains(&"/sdk/@noble/hashes/blake3.js".to_owned()),
            "{hash:?}"
        );
    }
}
