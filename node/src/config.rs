//! The node's configuration file (TOML). Every field is documented with its default; unknown
//! fields are refused. Environment variables `TRADELOG_<SECTION>_<FIELD>` override the file for
//! the addresses and the data dir (see [`Config::apply_env`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
}

/// `[api]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address. Default: "127.0.0.1:8080".
    #[serde(default = "default_api_listen")]
    pub listen: String,
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
    /// Propose empty blocks at once when there is nothing to commit. Default: false (the
    /// proposer waits for events until its propose timeout is nearly over).
    #[serde(default)]
    pub empty_blocks: bool,
    /// How often peers announce their tip for catch-up, ms. Default: 2000.
    #[serde(default = "default_sync_ms")]
    pub sync_interval_ms: u64,
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
            gossip: GossipConfig::default(),
        }
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
    /// Reads and parses a config file (at most 1 MiB).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        if meta.len() > 1 << 20 {
            return Err(ConfigError::Parse {
                path: p,
                message: "larger than 1 MiB".into(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: p,
            message: e.to_string(),
        })
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
        let list = |v: &[String]| {
            v.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            r#"# tradelog-node configuration. Paths are relative to this file.
# Environment overrides: TRADELOG_API_LISTEN, TRADELOG_CONSENSUS_LISTEN, TRADELOG_GOSSIP_LISTEN,
# TRADELOG_DATA_DIR, TRADELOG_MONIKER.

# Node name in logs and metrics.
moniker = {moniker:?}
# Ledger store and consensus write-ahead log.
data_dir = {data_dir:?}
# The genesis document (organisations, roles, keys, validators).
genesis = {genesis:?}
# This node's key file; a validator's consensus key if listed in the genesis validators.
key = {key:?}

[api]
# HTTP API listen address.
listen = {api:?}

[consensus]
# Consensus (Malachite) listen address and the other nodes' consensus addresses.
listen = {cl:?}
peers = [{cp}]
# Round-0 timeouts in ms (they grow with each round).
propose_timeout_ms = {pt}
vote_timeout_ms = {vt}
# Most events per block.
max_block_events = {mb}
# Propose empty blocks at once when idle (false: wait for events, heartbeat when the propose timeout nearly ends).
empty_blocks = {eb}
# How often peers announce their tip for catch-up, ms.
sync_interval_ms = {si}

[gossip]
# Event gossip listen address and the other nodes' gossip addresses.
listen = {gl:?}
peers = [{gp}]
# Most pending events.
mempool_capacity = {mc}
"#,
            moniker = self.moniker,
            data_dir = self.data_dir.display().to_string(),
            genesis = self.genesis.display().to_string(),
            key = self.key.display().to_string(),
            api = self.api.listen,
            cl = self.consensus.listen,
            cp = list(&self.consensus.peers),
            pt = self.consensus.propose_timeout_ms,
            vt = self.consensus.vote_timeout_ms,
            mb = self.consensus.max_block_events,
            eb = self.consensus.empty_blocks,
            si = self.consensus.sync_interval_ms,
            gl = self.gossip.listen,
            gp = list(&self.gossip.peers),
            mc = self.gossip.mempool_capacity,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn env_overrides() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "TRADELOG_API_LISTEN").then(|| "127.0.0.1:9999".to_string()));
        assert_eq!(c.api.listen, "127.0.0.1:9999");
        assert_eq!(c.consensus.listen, ConsensusConfig::default().listen);
    }
}
