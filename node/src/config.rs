//! The node's configuration file (TOML). Every field is documented with its default; unknown
//! fields are refused. Environment variables `TRADELOG_<SECTION>_<FIELD>` override the file for
//! the addresses and the data dir (see [`Config::apply_env`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Largest config file, in bytes (1 MiB).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Largest `api.max_connections`.
pub const MAX_CONNECTIONS: usize = 1 << 20;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Node name in logs and metrics. Default: "node".
    #[serde(default = "default_moniker")]
    pub moniker: String,
    /// Ledger store and consensus WAL, relative to the config file. Default: "data".
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Genesis document, relative to the config file. Default: "genesis.json".
    #[serde(default = "default_genesis")]
    pub genesis: PathBuf,
    /// This node's key file (`{"public","secret"}`), relative to the config file. A validator's
    /// consensus key if it is in the genesis validator set. Default: "node.key".
    #[serde(default = "default_key")]
    pub key: PathBuf,
    /// HTTP API.
    #[serde(default)]
    pub api: ApiConfig,
    /// Consensus network and block building.
    #[serde(default)]
    pub consensus: ConsensusConfig,
    /// Event gossip network.
    #[serde(default)]
    pub gossip: GossipConfig,
    /// Per-organisation admission quota of the mempool.
    #[serde(default)]
    pub admission: AdmissionConfig,
    /// Ledger storage.
    #[serde(default)]
    pub store: StoreSection,
    /// Test-only misbehaviour. Default: none (the section is absent).
    #[serde(default)]
    pub testing: TestingConfig,
}

/// `[testing]`: Byzantine behaviour for tests of the network's fault tolerance. Only a node built
/// with the `byzantine` cargo feature (off by default) accepts a key here; any other build refuses
/// the file with an error naming the key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestingConfig {
    /// Make this validator equivocate. Default: none (honest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivocate: Option<Equivocate>,
}

/// What an equivocating validator signs twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Equivocate {
    /// Every prevote and precommit for a block is followed by a second one, signed for nil at
    /// the same height and round, sent to every peer (a double sign, PROTOCOL.md 7a).
    Votes,
}

impl Equivocate {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            Equivocate::Votes => "votes",
        }
    }
}

/// Whether this build can misbehave on request (the `byzantine` cargo feature).
pub const BYZANTINE_BUILD: bool = cfg!(feature = "byzantine");

/// `[api]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address. Default: "127.0.0.1:8080".
    #[serde(default = "default_api_listen")]
    pub listen: String,
    /// Requests per second one client (an IPv4 address or an IPv6 /64) may sustain, on every
    /// route; more are answered 429 with `Retry-After`. Must be at least 1. Default: 200 (a
    /// batch carries up to 1000 events, so this is generous for a carrier system; the devnet
    /// raises it for the throughput bench).
    #[serde(default = "default_rate_limit_per_sec")]
    pub rate_limit_per_sec: u32,
    /// Requests one client may make at once before the rate applies. Must be at least 1.
    /// Default: 400.
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
    /// Most clients the rate limiter remembers; beyond it, clients whose bucket has refilled
    /// are forgotten first, then the one seen longest ago. Default: 10000.
    #[serde(default = "default_rate_limit_clients")]
    pub rate_limit_clients: usize,
    /// Time a client has to send a request's headers, ms; also how long an idle keep-alive
    /// connection stays open. A connection that is slower is closed. Default: 10000.
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// Time a client has to send a request's body once its headers arrived, ms; a slower
    /// request is answered 408 and the connection closed. Default: 30000.
    #[serde(default = "default_body_timeout_ms")]
    pub body_timeout_ms: u64,
    /// Time a client has to take response bytes, ms: a connection whose response cannot be
    /// written for this long (the client does not read, its receive window stays shut) is
    /// reset. Each write that makes progress starts the time again. Default: 10000.
    #[serde(default = "default_write_timeout_ms")]
    pub write_timeout_ms: u64,
    /// Most open connections; further clients wait in the listen backlog. Default: 1024.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Most open connections of one client (an IPv4 address or an IPv6 /64, as for the rate
    /// limit); a client over it is answered 503 `too_many_connections` at once and the
    /// connection closed, so one address cannot take the slots of `max_connections` from
    /// others (a value above `max_connections` is `max_connections`). Behind a reverse proxy
    /// every connection comes from the proxy: raise it there. Default: 64.
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// On shutdown, how long connections may finish their requests, ms; those still open then
    /// are closed. Default: 5000.
    #[serde(default = "default_shutdown_timeout_ms")]
    pub shutdown_timeout_ms: u64,
    /// Web origins (`https://explorer.example.org`, scheme, host and port as a browser sends
    /// them in `Origin`) whose pages may call this API from a browser (CORS): their requests
    /// get `Access-Control-Allow-Origin` and their preflight requests (`OPTIONS`) are answered
    /// for GET and POST with `Content-Type`. Other origins get no CORS headers. No wildcard.
    /// Default: none (no CORS headers at all; the built-in explorer is same-origin).
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Who may read (docs/OPERATIONS.md "Read access"): `"open"` (anyone who reaches the node),
    /// `"members"` (reads other than the public ones need a request signed by a member
    /// organisation's key, PROTOCOL.md 12) or `"parties"` (as members, and a member sees only
    /// the consignments it is a party to; customs and auditors see all). Writes are signed
    /// events and unaffected. Default: "open" for a file without the key (`tradelog-node init`
    /// writes "members"; the devnet is open).
    #[serde(default)]
    pub read_access: ReadAccess,
    /// Serve the API over TLS with this certificate chain (PEM), relative to the config file;
    /// needs `tls_key`. Default: none (plain HTTP; put a TLS proxy in front or set both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of `tls_cert`, relative to the config
    /// file. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

/// `[api] read_access`: who may read the ledger through the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadAccess {
    /// Every read is open to anyone who reaches the node.
    #[default]
    Open,
    /// Reads other than the public routes need a member organisation's request signature.
    Members,
    /// As `Members`, and a member reads only what it is a party to (customs, auditors: all).
    Parties,
}

impl ReadAccess {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadAccess::Open => "open",
            ReadAccess::Members => "members",
            ReadAccess::Parties => "parties",
        }
    }
}

/// `[consensus]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusConfig {
    /// Listen multiaddr. Default: "/ip4/127.0.0.1/tcp/27000".
    #[serde(default = "default_consensus_listen")]
    pub listen: String,
    /// Other nodes' consensus multiaddrs. Default: none.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Propose timeout of round 0, ms (grows by a quarter per round). Default: 1000.
    #[serde(default = "default_propose_ms")]
    pub propose_timeout_ms: u64,
    /// Prevote and precommit timeouts of round 0, ms. Default: 500.
    #[serde(default = "default_vote_ms")]
    pub vote_timeout_ms: u64,
    /// Most events per block. Default: 5000.
    #[serde(default = "default_max_block_events")]
    pub max_block_events: usize,
    /// Start every height at once and propose empty blocks when there is nothing to commit.
    /// Default: false (an idle node starts the next height only when an event is pending, a
    /// peer's proposal for it arrives, or `empty_block_interval_ms` passes).
    #[serde(default)]
    pub empty_blocks: bool,
    /// With `empty_blocks = false`, the longest an idle node waits before it starts the next
    /// height anyway (a liveness safety net; the block may be empty), ms. Default: 30000.
    #[serde(default = "default_empty_block_interval_ms")]
    pub empty_block_interval_ms: u64,
    /// How often peers announce their tip for catch-up, ms. Default: 2000.
    #[serde(default = "default_sync_ms")]
    pub sync_interval_ms: u64,
    /// Also verify every event signature of the blocks a catching-up node fetches from its
    /// peers. Their commit certificates are always verified, and with them the roots the events
    /// must reproduce (docs/adr/004-state-on-disk.md). Default: false.
    #[serde(default)]
    pub sync_verify_signatures: bool,
}

/// `[gossip]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GossipConfig {
    /// Listen multiaddr. Default: "/ip4/127.0.0.1/tcp/28000".
    #[serde(default = "default_gossip_listen")]
    pub listen: String,
    /// Other nodes' gossip multiaddrs. Default: none.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Most pending events in the mempool. Default: 200000.
    #[serde(default = "default_mempool")]
    pub mempool_capacity: usize,
}

/// `[admission]`: what one issuing organisation may put into this node's mempool, however its
/// events arrive (API or gossip). Over a rate, an event is refused with 429 `quota_exceeded`
/// (the message says when to retry); events of blocks other validators propose are never
/// refused for it. Blocks take pending events round-robin across organisations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Events per second one organisation may add, steady. Default: 1000.
    #[serde(default = "default_org_events_per_sec")]
    pub org_events_per_sec: u32,
    /// Events one organisation may add at once after being idle. Default: 20000.
    #[serde(default = "default_org_burst_events")]
    pub org_burst_events: u32,
    /// Event bytes (wire JSON) per second one organisation may add, steady. Default: 2097152.
    #[serde(default = "default_org_bytes_per_sec")]
    pub org_bytes_per_sec: u64,
    /// Event bytes one organisation may add at once; at least the largest event (262144).
    /// Default: 33554432.
    #[serde(default = "default_org_burst_bytes")]
    pub org_burst_bytes: u64,
    /// Most pending events of one organisation. Default: 50000 (a quarter of the default
    /// mempool).
    #[serde(default = "default_org_max_pending")]
    pub org_max_pending: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            org_events_per_sec: default_org_events_per_sec(),
            org_burst_events: default_org_burst_events(),
            org_bytes_per_sec: default_org_bytes_per_sec(),
            org_burst_bytes: default_org_burst_bytes(),
            org_max_pending: default_org_max_pending(),
        }
    }
}

impl AdmissionConfig {
    /// The mempool's quota.
    pub fn quota(&self) -> crate::mempool::Quota {
        crate::mempool::Quota {
            events_per_sec: self.org_events_per_sec,
            burst_events: self.org_burst_events,
            bytes_per_sec: self.org_bytes_per_sec,
            burst_bytes: self.org_burst_bytes,
            max_pending: self.org_max_pending,
        }
    }
}

fn default_org_events_per_sec() -> u32 {
    1000
}
fn default_org_burst_events() -> u32 {
    20_000
}
fn default_org_bytes_per_sec() -> u64 {
    2 << 20
}
fn default_org_burst_bytes() -> u64 {
    32 << 20
}
fn default_org_max_pending() -> usize {
    50_000
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Memory for the caches of Merkle tiles, subject-index buckets and event-id buckets, MiB
    /// (the node's memory beyond it does not grow with its history). Default: 64.
    #[serde(default = "default_cache_mb")]
    pub cache_mb: usize,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            cache_mb: default_cache_mb(),
        }
    }
}

impl StoreSection {
    /// The store's settings.
    pub fn settings(&self) -> crate::store::StoreConfig {
        crate::store::StoreConfig {
            cache_mb: self.cache_mb,
            ..Default::default()
        }
    }
}

fn default_cache_mb() -> usize {
    crate::store::DEFAULT_CACHE_MB
}

/// Largest `store.cache_mb` (64 GiB).
pub const MAX_CACHE_MB: usize = 64 << 10;

fn default_moniker() -> String {
    "node".into()
}
fn default_data_dir() -> PathBuf {
    "data".into()
}
fn default_genesis() -> PathBuf {
    "genesis.json".into()
}
fn default_key() -> PathBuf {
    "node.key".into()
}
fn default_api_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_rate_limit_per_sec() -> u32 {
    200
}
fn default_rate_limit_burst() -> u32 {
    400
}
fn default_rate_limit_clients() -> usize {
    10_000
}
fn default_header_timeout_ms() -> u64 {
    10_000
}
fn default_body_timeout_ms() -> u64 {
    30_000
}
fn default_max_connections() -> usize {
    1024
}
fn default_write_timeout_ms() -> u64 {
    10_000
}
fn default_max_connections_per_ip() -> usize {
    64
}
fn default_shutdown_timeout_ms() -> u64 {
    5_000
}
fn default_consensus_listen() -> String {
    "/ip4/127.0.0.1/tcp/27000".into()
}
fn default_propose_ms() -> u64 {
    1000
}
fn default_vote_ms() -> u64 {
    500
}
fn default_max_block_events() -> usize {
    5000
}
fn default_sync_ms() -> u64 {
    2000
}
fn default_empty_block_interval_ms() -> u64 {
    30_000
}
fn default_gossip_listen() -> String {
    "/ip4/127.0.0.1/tcp/28000".into()
}
fn default_mempool() -> usize {
    200_000
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: default_api_listen(),
            rate_limit_per_sec: default_rate_limit_per_sec(),
            rate_limit_burst: default_rate_limit_burst(),
            rate_limit_clients: default_rate_limit_clients(),
            header_timeout_ms: default_header_timeout_ms(),
            body_timeout_ms: default_body_timeout_ms(),
            write_timeout_ms: default_write_timeout_ms(),
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_connections_per_ip(),
            shutdown_timeout_ms: default_shutdown_timeout_ms(),
            cors_origins: Vec::new(),
            read_access: ReadAccess::default(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            listen: default_consensus_listen(),
            peers: Vec::new(),
            propose_timeout_ms: default_propose_ms(),
            vote_timeout_ms: default_vote_ms(),
            max_block_events: default_max_block_events(),
            empty_blocks: false,
            sync_interval_ms: default_sync_ms(),
            empty_block_interval_ms: default_empty_block_interval_ms(),
            sync_verify_signatures: false,
        }
    }
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            listen: default_gossip_listen(),
            peers: Vec::new(),
            mempool_capacity: default_mempool(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            moniker: default_moniker(),
            data_dir: default_data_dir(),
            genesis: default_genesis(),
            key: default_key(),
            api: ApiConfig::default(),
            consensus: ConsensusConfig::default(),
            admission: AdmissionConfig::default(),
            gossip: GossipConfig::default(),
            store: StoreSection::default(),
            testing: TestingConfig::default(),
        }
    }
}

/// `s` as a TOML string. (Rust's `{:?}` is not TOML: it writes `\0` or `\u{596}`, which TOML
/// refuses; found by the `config_toml` fuzz target.)
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Checks a `[api] cors_origins` entry: a serialized web origin as browsers send it in `Origin`
/// (RFC 6454): `http://` or `https://`, a lower-case host name or IP address (IPv6 in
/// brackets), an optional port, nothing else.
fn check_origin(origin: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "{} is not an origin as a browser sends it: http:// or https://, a lower-case host, \
             an optional port; no path, no trailing slash, no wildcard",
            quote(origin)
        )
    };
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host_ok, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
            let ok =
                addr.parse::<std::net::Ipv6Addr>().is_ok() && !addr.contains(char::is_uppercase);
            (ok, after)
        }
        None => {
            let end = rest.find(':').unwrap_or(rest.len());
            let host = &rest[..end];
            let ok = !host.is_empty()
                && host.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                });
            (ok, &rest[end..])
        }
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(p) => {
            !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
        }
    };
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Cannot read the file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML or a field is wrong.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: String,
        /// What is wrong (names the field).
        message: String,
    },
}

impl Config {
    /// Reads and parses a config file (at most [`MAX_CONFIG_BYTES`]).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        if meta.len() > MAX_CONFIG_BYTES as u64 {
            return Err(ConfigError::Parse {
                path: p,
                message: format!("larger than {MAX_CONFIG_BYTES} bytes"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        Config::parse(&text).map_err(|message| ConfigError::Parse { path: p, message })
    }

    /// Parses the text of a config file (at most [`MAX_CONFIG_BYTES`]); the error names the
    /// field.
    pub fn parse(text: &str) -> Result<Config, String> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(format!("larger than {MAX_CONFIG_BYTES} bytes"));
        }
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Refuses values that parse but cannot work (the message names the field).
    pub fn check(&self) -> Result<(), String> {
        let api = &self.api;
        for (field, value) in [
            ("api.rate_limit_per_sec", u64::from(api.rate_limit_per_sec)),
            ("api.rate_limit_burst", u64::from(api.rate_limit_burst)),
            ("api.rate_limit_clients", api.rate_limit_clients as u64),
            ("api.header_timeout_ms", api.header_timeout_ms),
            ("api.body_timeout_ms", api.body_timeout_ms),
            ("api.write_timeout_ms", api.write_timeout_ms),
            ("api.max_connections", api.max_connections as u64),
            (
                "api.max_connections_per_ip",
                api.max_connections_per_ip as u64,
            ),
            ("api.shutdown_timeout_ms", api.shutdown_timeout_ms),
            (
                "admission.org_events_per_sec",
                u64::from(self.admission.org_events_per_sec),
            ),
            (
                "admission.org_burst_events",
                u64::from(self.admission.org_burst_events),
            ),
            (
                "admission.org_bytes_per_sec",
                self.admission.org_bytes_per_sec,
            ),
            (
                "admission.org_max_pending",
                self.admission.org_max_pending as u64,
            ),
            (
                "consensus.empty_block_interval_ms",
                self.consensus.empty_block_interval_ms,
            ),
        ] {
            if value == 0 {
                return Err(format!("{field}: must be at least 1"));
            }
        }
        if api.max_connections > MAX_CONNECTIONS {
            return Err(format!(
                "api.max_connections: at most {MAX_CONNECTIONS}, got {}",
                api.max_connections
            ));
        }
        for (i, origin) in api.cors_origins.iter().enumerate() {
            check_origin(origin).map_err(|why| format!("api.cors_origins[{i}]: {why}"))?;
        }
        match (&api.tls_cert, &api.tls_key) {
            (Some(_), None) => return Err("api.tls_key: required with api.tls_cert".into()),
            (None, Some(_)) => return Err("api.tls_cert: required with api.tls_key".into()),
            _ => {}
        }
        let largest = tradelog_protocol::event::MAX_EVENT_JSON_BYTES as u64;
        if self.admission.org_burst_bytes < largest {
            return Err(format!(
                "admission.org_burst_bytes: at least {largest} (the largest event), got {}",
                self.admission.org_burst_bytes
            ));
        }
        if self.store.cache_mb > MAX_CACHE_MB {
            return Err(format!(
                "store.cache_mb: at most {MAX_CACHE_MB}, got {}",
                self.store.cache_mb
            ));
        }
        if let Some(e) = self.testing.equivocate {
            if !BYZANTINE_BUILD {
                return Err(format!(
                    "testing.equivocate = \"{}\": this build of tradelog-node cannot misbehave \
                     (the test-only `byzantine` cargo feature is off); remove the key",
                    e.as_str()
                ));
            }
        }
        Ok(())
    }

    /// Applies `TRADELOG_API_LISTEN`, `TRADELOG_CONSENSUS_LISTEN`, `TRADELOG_GOSSIP_LISTEN`,
    /// `TRADELOG_DATA_DIR` and `TRADELOG_MONIKER` from `env`.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        if let Some(v) = env("TRADELOG_API_LISTEN") {
            self.api.listen = v;
        }
        if let Some(v) = env("TRADELOG_CONSENSUS_LISTEN") {
            self.consensus.listen = v;
        }
        if let Some(v) = env("TRADELOG_GOSSIP_LISTEN") {
            self.gossip.listen = v;
        }
        if let Some(v) = env("TRADELOG_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = env("TRADELOG_MONIKER") {
            self.moniker = v;
        }
    }

    /// The file as written by `tradelog-node init`: every field, with its documentation.
    pub fn to_toml(&self) -> String {
        let list = |v: &[String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
        let mut out = format!(
            r#"# tradelog-node configuration. Paths are relative to this file.
# Environment overrides: TRADELOG_API_LISTEN, TRADELOG_CONSENSUS_LISTEN, TRADELOG_GOSSIP_LISTEN,
# TRADELOG_DATA_DIR, TRADELOG_MONIKER.

# Node name in logs and metrics.
moniker = {moniker}
# Ledger store and consensus write-ahead log.
data_dir = {data_dir}
# The genesis document (organisations, roles, keys, validators).
genesis = {genesis}
# This node's key file; a validator's consensus key if listed in the genesis validators.
key = {key}

[api]
# HTTP API listen address.
listen = {api}
# Rate limit per client (IPv4 address or IPv6 /64), on every route: sustained requests per
# second and burst; over it the API answers 429 with Retry-After. No address is exempt.
rate_limit_per_sec = {rl}
rate_limit_burst = {rb}
# Most clients the rate limiter remembers.
rate_limit_clients = {rc}
# A client has this long to send a request's headers (also the keep-alive idle time), ms,
# and this long to send its body, ms; slower connections are closed.
header_timeout_ms = {ht}
body_timeout_ms = {bt}
# A response that the client does not take for this long (no byte written), ms: the connection
# is reset.
write_timeout_ms = {wt}
# Most open connections, and most of one client (IPv4 address or IPv6 /64; over it: 503 at once).
# Behind a reverse proxy all connections come from the proxy's address: raise the second.
max_connections = {mx}
max_connections_per_ip = {mi}
# On shutdown, connections still open after this long are closed, ms.
shutdown_timeout_ms = {st}
# Web origins allowed to call the API from a browser (CORS), e.g. ["https://explorer.example.org"].
# Empty: no CORS headers (the built-in explorer at / is same-origin and needs none).
cors_origins = [{co}]
# Who may read: "open" (anyone), "members" (reads other than head, genesis, membership,
# consistency, evidence, health, metrics, OpenAPI and the explorer need a request signed by a
# member organisation's key) or "parties" (as members; a member sees only the consignments it
# is a party to, customs and auditors see all). Every authenticated read is logged.
read_access = {ra}
{tls}
[consensus]
# Consensus (Malachite) listen address and the other nodes' consensus addresses.
listen = {cl}
peers = [{cp}]
# Round-0 timeouts in ms (they grow with each round).
propose_timeout_ms = {pt}
vote_timeout_ms = {vt}
# Most events per block.
max_block_events = {mb}
# Start every height at once, proposing empty blocks when idle (false: wait for events, a peer's
# proposal, or empty_block_interval_ms).
empty_blocks = {eb}
empty_block_interval_ms = {ei}
# How often peers announce their tip for catch-up, ms.
sync_interval_ms = {si}
# Also verify the event signatures of blocks fetched while catching up (their certificates and
# roots are always checked).
sync_verify_signatures = {sv}

[gossip]
# Event gossip listen address and the other nodes' gossip addresses.
listen = {gl}
peers = [{gp}]
# Most pending events.
mempool_capacity = {mc}

[admission]
# What one issuing organisation may put into this node's mempool, however its events arrive
# (API or gossip): events and wire bytes per second, steady and at once (token buckets), and
# most pending events. Over them: 429 quota_exceeded. Blocks take pending events round-robin
# across organisations.
org_events_per_sec = {ae}
org_burst_events = {ab}
org_bytes_per_sec = {ay}
org_burst_bytes = {az}
org_max_pending = {ap}

[store]
# Memory for the caches of Merkle tiles and index buckets, MiB. The rest of the node's memory
# does not grow with the ledger's history.
cache_mb = {cache}
"#,
            moniker = quote(&self.moniker),
            data_dir = quote(&self.data_dir.display().to_string()),
            genesis = quote(&self.genesis.display().to_string()),
            key = quote(&self.key.display().to_string()),
            api = quote(&self.api.listen),
            rl = self.api.rate_limit_per_sec,
            rb = self.api.rate_limit_burst,
            rc = self.api.rate_limit_clients,
            ht = self.api.header_timeout_ms,
            bt = self.api.body_timeout_ms,
            wt = self.api.write_timeout_ms,
            mx = self.api.max_connections,
            mi = self.api.max_connections_per_ip,
            st = self.api.shutdown_timeout_ms,
            co = list(&self.api.cors_origins),
            ra = quote(self.api.read_access.as_str()),
            tls = match (&self.api.tls_cert, &self.api.tls_key) {
                (Some(c), Some(k)) => format!(
                    "# Native TLS: certificate chain and private key (PEM).\ntls_cert = {}\ntls_key = {}\n",
                    quote(&c.display().to_string()),
                    quote(&k.display().to_string())
                ),
                _ => "# Native TLS: set both to serve HTTPS (PEM certificate chain and private key).\n\
                      # tls_cert = \"api.crt\"\n# tls_key = \"api.key\"\n"
                    .to_owned(),
            },
            cl = quote(&self.consensus.listen),
            cp = list(&self.consensus.peers),
            pt = self.consensus.propose_timeout_ms,
            vt = self.consensus.vote_timeout_ms,
            mb = self.consensus.max_block_events,
            eb = self.consensus.empty_blocks,
            ei = self.consensus.empty_block_interval_ms,
            si = self.consensus.sync_interval_ms,
            sv = self.consensus.sync_verify_signatures,
            gl = quote(&self.gossip.listen),
            gp = list(&self.gossip.peers),
            mc = self.gossip.mempool_capacity,
            cache = self.store.cache_mb,
            ae = self.admission.org_events_per_sec,
            ab = self.admission.org_burst_events,
            ay = self.admission.org_bytes_per_sec,
            az = self.admission.org_burst_bytes,
            ap = self.admission.org_max_pending,
        );
        // Written only when set: a node built without the `byzantine` feature refuses it.
        if let Some(e) = self.testing.equivocate {
            out.push_str(&format!(
                "\n[testing]\n# TEST ONLY (needs a `byzantine` build): this validator equivocates.\n\
                 equivocate = {}\n",
                quote(e.as_str())
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_access_and_tls_are_parsed_and_checked() {
        assert_eq!(Config::default().api.read_access, ReadAccess::Open);
        for (text, want) in [
            ("open", ReadAccess::Open),
            ("members", ReadAccess::Members),
            ("parties", ReadAccess::Parties),
        ] {
            let c = Config::parse(&format!("[api]\nread_access = \"{text}\"\n")).unwrap();
            assert_eq!(c.api.read_access, want);
            let back = Config::parse(&c.to_toml()).unwrap();
            assert_eq!(back.api.read_access, want);
        }
        let err = Config::parse("[api]\nread_access = \"everyone\"\n").unwrap_err();
        assert!(err.contains("read_access"), "{err}");
        assert!(err.contains("open"), "{err}");
        let err = Config::parse("[api]\ntls_cert = \"a.pem\"\n").unwrap_err();
        assert_eq!(err, "api.tls_key: required with api.tls_cert");
        let err = Config::parse("[api]\ntls_key = \"a.pem\"\n").unwrap_err();
        assert_eq!(err, "api.tls_cert: required with api.tls_key");
        let mut c = Config::default();
        c.api.tls_cert = Some("api.crt".into());
        c.api.tls_key = Some("api.key".into());
        assert_eq!(Config::parse(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn written_file_parses_back_and_unknown_fields_are_refused() {
        let mut c = Config::default();
        c.consensus.peers = vec!["/ip4/127.0.0.1/tcp/27001".into()];
        c.moniker = "nl-customs".into();
        let back: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
        let err = toml::from_str::<Config>("moniker = \"x\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
        let err = toml::from_str::<Config>("[consensus]\npropose_timeout_ms = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("propose_timeout_ms"), "{err}");
        let empty: Config = toml::from_str("").unwrap();
        assert_eq!(empty, Config::default());
    }

    /// Regression (fuzz target `config_toml`): strings that Rust's `Debug` escapes in a way
    /// TOML does not read were written unparsable.
    #[test]
    fn every_string_is_written_back_readable() {
        let mut c = Config {
            moniker: "a\0b\u{7f}c\u{596}d\"e\\f'g\th\ni\u{1b}".into(),
            data_dir: "dir with \u{200b} space".into(),
            ..Config::default()
        };
        c.consensus.peers = vec!["\u{596}p4/127.0.0\t\t.\t\t radel. Path1/tcp/27002".into()];
        c.gossip.listen = "'''\"\"\"".into();
        let written = c.to_toml();
        assert_eq!(Config::parse(&written), Ok(c), "{written}");
    }

    #[test]
    fn zero_limits_are_refused_with_the_field_named() {
        for field in [
            "rate_limit_per_sec",
            "rate_limit_burst",
            "rate_limit_clients",
            "header_timeout_ms",
            "body_timeout_ms",
            "max_connections",
        ] {
            let err = Config::parse(&format!("[api]\n{field} = 0\n")).unwrap_err();
            assert_eq!(err, format!("api.{field}: must be at least 1"));
        }
        let err = Config::parse("[api]\nmax_connections = 99999999\n").unwrap_err();
        assert!(err.starts_with("api.max_connections: at most"), "{err}");
        let err = Config::parse("[api]\nrate_limit = 5\n").unwrap_err();
        assert!(err.contains("rate_limit"), "{err}");
        for field in [
            "write_timeout_ms",
            "max_connections_per_ip",
            "shutdown_timeout_ms",
        ] {
            let err = Config::parse(&format!("[api]\n{field} = 0\n")).unwrap_err();
            assert_eq!(err, format!("api.{field}: must be at least 1"));
        }
        for field in [
            "org_events_per_sec",
            "org_burst_events",
            "org_bytes_per_sec",
            "org_max_pending",
        ] {
            let err = Config::parse(&format!("[admission]\n{field} = 0\n")).unwrap_err();
            assert_eq!(err, format!("admission.{field}: must be at least 1"));
        }
        let err = Config::parse("[admission]\norg_burst_bytes = 1000\n").unwrap_err();
        assert!(
            err.starts_with("admission.org_burst_bytes: at least 262144"),
            "{err}"
        );
        let c = Config::parse("[admission]\norg_events_per_sec = 50\n").unwrap();
        assert_eq!(c.admission.quota().events_per_sec, 50);
        assert_eq!(c.admission.quota().max_pending, 50_000);
        let c = Config::parse("[api]\nrate_limit_per_sec = 5\nrate_limit_burst = 7\n").unwrap();
        assert_eq!((c.api.rate_limit_per_sec, c.api.rate_limit_burst), (5, 7));
        assert_eq!(c.api.header_timeout_ms, 10_000);
        assert_eq!(
            (
                c.api.write_timeout_ms,
                c.api.max_connections_per_ip,
                c.api.shutdown_timeout_ms
            ),
            (10_000, 64, 5_000)
        );
        assert!(c.api.cors_origins.is_empty());
    }

    /// The Byzantine switch works only in a `byzantine` build; any other build refuses the file
    /// with the key named, so a production node cannot be told to misbehave.
    #[test]
    fn the_equivocate_switch_needs_a_byzantine_build() {
        let text = "[testing]\nequivocate = \"votes\"\n";
        let parsed = Config::parse(text);
        assert_eq!(parsed.is_ok(), BYZANTINE_BUILD, "{parsed:?}");
        match parsed {
            Ok(c) => {
                assert_eq!(c.testing.equivocate, Some(Equivocate::Votes));
                assert_eq!(Config::parse(&c.to_toml()), Ok(c));
            }
            Err(e) => {
                assert!(e.starts_with("testing.equivocate = \"votes\""), "{e}");
                assert!(e.contains("`byzantine` cargo feature"), "{e}");
            }
        }
        let err = Config::parse("[testing]\nequivocate = \"proposals\"\n").unwrap_err();
        assert!(err.contains("unknown variant"), "{err}");
        let err = Config::parse("[testing]\nlie = true\n").unwrap_err();
        assert!(err.contains("lie"), "{err}");
        // Absent or empty, the section changes nothing and is not written back.
        let c = Config::parse("[testing]\n").unwrap();
        assert_eq!(c, Config::default());
        assert!(!c.to_toml().contains("[testing]"));
    }

    #[test]
    fn cors_origins_must_be_origins() {
        for good in [
            "https://explorer.example.org",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "https://[2001:db8::1]:8443",
            "https://[::1]",
        ] {
            let c = Config::parse(&format!("[api]\ncors_origins = [\"{good}\"]\n"));
            assert_eq!(
                c.map(|c| c.api.cors_origins),
                Ok(vec![good.to_owned()]),
                "{good}"
            );
        }
        for (i, bad) in [
            "*",
            "explorer.example.org",
            "https://explorer.example.org/",
            "https://explorer.example.org/path",
            "https://Explorer.example.org",
            "ftp://example.org",
            "https://",
            "https://example.org:",
            "https://example.org:080",
            "https://example.org:99999",
            "https://[zz::1]",
            "https://example.org https://other.org",
        ]
        .iter()
        .enumerate()
        {
            let text = format!("[api]\ncors_origins = [\"https://ok.example\", \"{bad}\"]\n");
            let err = Config::parse(&text).unwrap_err();
            assert!(err.starts_with("api.cors_origins[1]: "), "{i} {bad}: {err}");
        }
        let mut c = Config::default();
        c.api.cors_origins = vec!["https://a.example".into(), "http://b.example:81".into()];
        assert_eq!(Config::parse(&c.to_toml()), Ok(c));
    }

    #[test]
    fn env_overrides() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "TRADELOG_API_LISTEN").then(|| "127.0.0.1:9999".to_string()));
        assert_eq!(c.api.listen, "127.0.0.1:9999");
        assert_eq!(c.consensus.listen, ConsensusConfig::default().listen);
    }
}
