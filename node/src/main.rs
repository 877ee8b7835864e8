//! `tradelog-node`: init, genesis, run, verify-store, backup, restore, devnet, demo.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tradelog_node::chain::now_ms;
use tradelog_node::config::Config;
use tradelog_node::devnet::{self, DevnetOptions};
use tradelog_protocol::Genesis;

#[derive(Parser)]
#[command(name = "tradelog-node", version, about = "tradelog peer node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node directory: a fresh key (node.key) and a documented config.toml.
    Init {
        /// The node directory (created; an existing key is never overwritten).
        dir: PathBuf,
        /// Node name.
        #[arg(long, default_value = "node")]
        moniker: String,
    },
    /// Validate a genesis description and write the genesis document; prints its hash. With
    /// `--verify FILE`: check a genesis document received in the ceremony instead.
    Genesis {
        /// JSON with `chain`, `organisations` [{id, name, role, keys}] and `validators`
        /// [{org, key, power}]; `time` (ms) defaults to now.
        #[arg(required_unless_present = "verify", conflicts_with = "verify")]
        input: Option<PathBuf>,
        /// Where to write the genesis document.
        #[arg(short, long, default_value = "genesis.json")]
        out: PathBuf,
        /// Parse and validate this genesis document, print its hash and a summary (chain,
        /// organisations and roles, validators and powers, how many validators halt the
        /// chain); writes nothing. Exits non-zero if it is invalid.
        #[arg(long, value_name = "GENESIS_JSON")]
        verify: Option<PathBuf>,
        /// With --verify: the genesis hash agreed in the ceremony; exits non-zero if the
        /// document's hash differs.
        #[arg(long, value_name = "HASH", requires = "verify")]
        expect: Option<String>,
    },
    /// Run a node.
    Run {
        /// Its config file.
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
    },
    /// Start 4 validators and an observer on this machine, load sample consignments, and
    /// print the API addresses. Stops the nodes on Ctrl-C.
    Devnet {
        /// Where the nodes live.
        #[arg(long, default_value = "devnet")]
        dir: PathBuf,
        /// Sample consignments to load (about 15 events each, with AEO records, advance data
        /// and risk outcomes).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        consignments: u32,
        /// First HTTP port (node i uses base + i).
        #[arg(long, default_value_t = 7100)]
        api_port: u16,
        /// First consensus port.
        #[arg(long, default_value_t = 27100)]
        consensus_port: u16,
        /// First gossip port.
        #[arg(long, default_value_t = 28100)]
        gossip_port: u16,
        /// Stop the nodes once the sample load is committed (for scripts and CI).
        #[arg(long)]
        exit_after_load: bool,
    },
    /// Re-verify a stopped node's whole stored history: every certificate, signature and rule
    /// from the genesis, every head recomputed (a start checks only the last block).
    VerifyStore {
        /// The node's config file (its genesis and data dir are used).
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
    },
    /// Back up a running node: fetch its certified blocks over its API and commit them into a
    /// data dir, verifying every certificate, signature and rule from the genesis. Run again on
    /// the same directory to continue from its last block. Keys are not in a backup.
    Backup {
        /// The node's API, e.g. http://10.0.0.5:8080 (any node of the network).
        #[arg(long)]
        node: String,
        /// The network's genesis document (the trust root the blocks are verified from).
        #[arg(long)]
        genesis: PathBuf,
        /// The backup directory (created; its `ledger/` is a node data dir's `ledger/`).
        #[arg(long)]
        out: PathBuf,
        /// Key file of a member organisation to sign the reads with, for a node with
        /// `[api] read_access = "members"` (under "parties" blocks need a customs or auditor key).
        #[arg(long)]
        read_key: Option<PathBuf>,
    },
    /// Restore a backup into a stopped node's data dir (never over an existing ledger); the node
    /// then fetches the blocks committed since from its peers.
    Restore {
        /// The node's config file (its genesis and data dir are used).
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
        /// The backup directory `tradelog-node backup --out` wrote.
        #[arg(long)]
        from: PathBuf,
    },
    /// Build a sample ledger in-process, certify it, and write verifiable proof bundles.
    Demo {
        /// Output directory.
        #[arg(long, default_value = "devnet/demo")]
        out: PathBuf,
        /// Number of sample consignments (14 events each).
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        consignments: u32,
    },
}

/// `println!` that returns the write error instead of panicking: a closed pipe (as with
/// `tradelog-node genesis --verify g.json | head -1`) ends the command quietly (see `main`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)?
    }};
}

fn main() {
    if let Err(e) = real_main() {
        let closed = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if closed {
            // The reader of our output went away: nothing left to say.
            std::process::exit(0);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Init { dir, moniker } => init(&dir, &moniker),
        Command::Genesis {
            input,
            out,
            verify,
            expect,
        } => match (verify, input) {
            (Some(file), _) => genesis_verify(&file, expect.as_deref()),
            (None, Some(input)) => genesis(&input, &out),
            (None, None) => bail!("genesis: give a description to build, or --verify FILE"),
        },
        Command::Run { config } => run(&config),
        Command::Devnet {
            dir,
            consignments,
            api_port,
            consensus_port,
            gossip_port,
            exit_after_load,
        } => devnet_cmd(
            DevnetOptions {
                dir,
                api_base: api_port,
                consensus_base: consensus_port,
                gossip_base: gossip_port,
                consignments,
                observer: true,
            },
            exit_after_load,
        ),
        Command::Demo { out, consignments } => demo(&out, consignments),
        Command::VerifyStore { config } => verify_store(&config),
        Command::Backup {
            node,
            genesis,
            out,
            read_key,
        } => backup(&node, &genesis, &out, read_key.as_deref()),
        Command::Restore { config, from } => restore(&config, &from),
    }
}

fn verify_store(config_path: &Path) -> Result<()> {
    let config = Config::load(config_path)?;
    let base = config_path.parent().unwrap_or(Path::new("."));
    let genesis_path = base.join(&config.genesis);
    let bytes = std::fs::read(&genesis_path)
        .with_context(|| format!("genesis: cannot read {}", genesis_path.display()))?;
    let genesis = Genesis::from_json(&bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("genesis {}", genesis_path.display()))?;
    let dir = base.join(&config.data_dir).join("ledger");
    let started = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    let report = tradelog_node::verify::verify_store(&dir, &genesis, |h, tip, events| {
        if last.elapsed() >= Duration::from_millis(500) || h == tip {
            last = std::time::Instant::now();
            let width = 40usize;
            let done = (h as usize * width)
                .checked_div(tip as usize)
                .unwrap_or(width);
            eprint!(
                "\r[{}{}] block {h}/{tip}, {events} events, {:.0} events/s ",
                "#".repeat(done),
                " ".repeat(width - done),
                events as f64 / started.elapsed().as_secs_f64().max(1e-9)
            );
        }
    })
    .with_context(|| format!("verify-store {}", dir.display()))?;
    eprintln!();
    out!(
        "verified {} blocks, {} events in {:.1} s: every certificate, signature, rule and head",
        report.blocks,
        report.events,
        report.seconds
    );
    Ok(())
}

/// `s` for a terminal: the control, bidirectional and other display-control characters of
/// organisation names (PROTOCOL.md 8) written as `\u{..}`, as the CLI prints them.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if tradelog_protocol::roles::is_display_control(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn read_genesis(path: &Path) -> Result<Genesis> {
    let bytes =
        std::fs::read(path).with_context(|| format!("genesis: cannot read {}", path.display()))?;
    Genesis::from_json(&bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("genesis {}", path.display()))
}

fn backup(node: &str, genesis: &Path, out: &Path, read_key: Option<&Path>) -> Result<()> {
    let mut endpoint: tradelog_client::http::Endpoint =
        node.parse().map_err(|e| anyhow::anyhow!("--node: {e}"))?;
    if let Some(key) = read_key {
        endpoint = endpoint.signed_by(tradelog_node::keyfile::read(key).context("--read-key")?);
    }
    let genesis = read_genesis(genesis)?;
    let hash = genesis.hash();
    let mut last = std::time::Instant::now();
    let done = tradelog_node::backup::backup(&endpoint, genesis, out, |h, target| {
        if last.elapsed() >= Duration::from_millis(500) || h == target {
            last = std::time::Instant::now();
            eprint!("\rblock {h}/{target} ");
        }
    })?;
    if done.to > done.from {
        eprintln!();
    }
    out!(
        "backup {}: height {} (was {}), {} events copied and verified from genesis {hash}",
        out.display(),
        done.to,
        done.from,
        done.events
    );
    Ok(())
}

fn restore(config_path: &Path, from: &Path) -> Result<()> {
    let config = Config::load(config_path)?;
    let base = config_path.parent().unwrap_or(Path::new("."));
    let genesis = read_genesis(&base.join(&config.genesis))?;
    let data = base.join(&config.data_dir);
    let height = tradelog_node::backup::restore(from, &data, genesis)?;
    out!(
        "restored height {height} into {}; start the node: it fetches the later blocks from its peers",
        data.join("ledger").display()
    );
    Ok(())
}

fn init(dir: &Path, moniker: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_path = dir.join("node.key");
    if key_path.exists() {
        bail!("{} exists: refusing to overwrite a key", key_path.display());
    }
    let key = tradelog_node::keyfile::generate().context("no operating-system randomness")?;
    tradelog_node::keyfile::write(&key_path, &key)?;
    let mut config = Config {
        moniker: moniker.into(),
        ..Config::default()
    };
    // A new node keeps its ledger to its members (issue 13); the operator opens it explicitly.
    config.api.read_access = tradelog_node::config::ReadAccess::Members;
    let cfg_path = dir.join("config.toml");
    if !cfg_path.exists() {
        std::fs::write(&cfg_path, config.to_toml())?;
    }
    out!("node key   {}", key.public());
    out!("config     {}", cfg_path.display());
    out!("next: list this key in the genesis (as a validator or an organisation key), put genesis.json beside config.toml, then `tradelog-node run --config {}`", cfg_path.display());
    Ok(())
}

fn genesis(input: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let mut v: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{}: not JSON", input.display()))?;
    if let Some(o) = v.as_object_mut() {
        if !o.contains_key("time") {
            o.insert("time".into(), now_ms().into());
        }
        // A new chain gets the newest admission rules (consignment parties, PROTOCOL.md 8c)
        // unless the description names others.
        if !o.contains_key("rules") {
            o.insert("rules".into(), tradelog_protocol::roles::RULES.into());
        }
    }
    let g = Genesis::from_json(v.to_string().as_bytes())
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{}", input.display()))?;
    std::fs::write(out, serde_json::to_string_pretty(&g)? + "\n")
        .with_context(|| format!("cannot write {}", out.display()))?;
    out!("genesis {} written to {}", g.hash(), out.display());
    out!(
        "{} organisations, {} validators, chain {}",
        g.organisations.len(),
        g.validator_set().validators().len(),
        g.chain
    );
    Ok(())
}

/// The fewest validators whose power reaches a third of the total: down together, they halt the
/// chain (a quorum needs more than two thirds of the power). Returns (count, equal powers).
fn halting_validators(powers: &[u64]) -> (usize, bool) {
    let total: u128 = powers.iter().map(|p| u128::from(*p)).sum();
    let mut sorted: Vec<u64> = powers.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut down = 0u128;
    let mut k = 0;
    for p in &sorted {
        // Halted once the rest has at most 2/3 of the power: (total - down) * 3 <= total * 2.
        if (total - down) * 3 <= total * 2 {
            break;
        }
        down += u128::from(*p);
        k += 1;
    }
    (k, sorted.windows(2).all(|w| w[0] == w[1]))
}

fn genesis_verify(file: &Path, expect: Option<&str>) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let g = Genesis::from_json(&bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{}: not a valid genesis document", file.display()))?;
    let hash = g.hash();
    out!("genesis {hash}");
    out!("chain    {}", g.chain);
    out!("time     {} ms since 1970", g.time);
    out!(
        "rules    {}{}",
        g.rules(),
        if g.rules() >= 2 {
            " (consignment parties)"
        } else {
            ""
        }
    );
    out!("organisations ({}):", g.organisations.len());
    for o in &g.organisations {
        out!(
            "  {:<24} {:<9} {} key(s)  {}",
            o.id.to_string(),
            o.role.as_str(),
            o.keys.len(),
            printable(&o.name)
        );
    }
    let set = g.validator_set();
    let total = set.total_power();
    out!(
        "validators ({}, total power {total}):",
        set.validators().len()
    );
    for v in set.validators() {
        out!(
            "  {:<24} power {:<6} key {}",
            v.org.to_string(),
            v.power,
            v.key.to_hex()
        );
    }
    let powers: Vec<u64> = set.validators().iter().map(|v| v.power).collect();
    let n = powers.len();
    let (k, equal) = halting_validators(&powers);
    if equal {
        out!(
            "fault tolerance: a quorum needs more than 2/3 of the power; any {k} of {n} validators down halt the chain ({} may be down)",
            k.saturating_sub(1)
        );
    } else {
        out!(
            "fault tolerance: a quorum needs more than 2/3 of the power; as few as {k} of {n} validators (the most powerful) down halt the chain"
        );
    }
    if let Some(want) = expect {
        let want = want.trim().to_ascii_lowercase();
        if want != hash.to_hex() {
            bail!(
                "genesis hash mismatch: {} has genesis {hash}, the ceremony agreed on {want}; do not run a node with this file",
                file.display()
            );
        }
        out!("matches the expected hash");
    }
    Ok(())
}

fn run(config_path: &Path) -> Result<()> {
    tradelog_node::logging::init();
    let mut config = Config::load(config_path)?;
    config.apply_env(|k| std::env::var(k).ok());
    let base = config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async move {
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(t) => t,
                        Err(_) => {
                            let _ = ctrl_c.await;
                            return;
                        }
                    };
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
        };
        tradelog_node::service::run(config, &base, shutdown).await
    });
    // Work still on the blocking pool (a storage read on a failing disk, say) must not hold the
    // process after a fatal error: its line is logged, the exit comes now.
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

fn devnet_cmd(opts: DevnetOptions, exit_after_load: bool) -> Result<()> {
    let nodes = devnet::prepare(&opts)?;
    let exe = std::env::current_exe().context("cannot locate this executable")?;
    let mut children = devnet::spawn(&exe, &nodes)?;
    let result = (|| -> Result<()> {
        devnet::wait_healthy(&nodes, Duration::from_secs(60))?;
        out!(
            "devnet: 4 validators and 1 observer running under {}",
            opts.dir.display()
        );
        // Sample routes start 75 days ago, so every event lies in the past of the nodes' clocks.
        let start = now_ms().saturating_sub(75 * 86_400_000);
        let t = std::time::Instant::now();
        let sample = devnet::customs_sample(opts.consignments, start)?;
        let n = devnet::load_events(&nodes, sample, Duration::from_secs(120))?;
        out!(
            "loaded {} sample consignments ({n} events) and saw them committed on every node in {:.1} s",
            opts.consignments,
            t.elapsed().as_secs_f64()
        );
        for node in &nodes {
            let role = if node.validator {
                "validator"
            } else {
                "observer "
            };
            out!(
                "  {role} {:<20} API http://{}   (log: {})",
                node.moniker,
                node.api,
                node.dir.join("node.log").display()
            );
        }
        if let Some(first) = nodes.first() {
            let ucr = tradelog_protocol::sample::sample_ucr(0);
            out!(
                "try:\n  curl http://{}/v1/head\n  curl http://{}/v1/consignments/{ucr}",
                first.api,
                first.api
            );
            out!(
                "explorer: http://{}/#q={ucr}  (metrics at http://{}/metrics, OpenAPI at http://{}/openapi.json)",
                first.api, first.api, first.api
            );
            out!(
                "verify: cargo run --release -p tradelog-client -- provenance {ucr} --node http://{} --genesis {}",
                first.api,
                first.dir.join("genesis.json").display()
            );
            out!(
                "AEO:    cargo run --release -p tradelog-client -- aeo shopfast --recognised-by nl-customs --node http://{} --genesis {}",
                first.api,
                first.dir.join("genesis.json").display()
            );
        }
        Ok(())
    })();
    if result.is_ok() && !exit_after_load {
        out!("press Ctrl-C to stop the devnet");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    }
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    result
}

fn demo(out: &Path, consignments: u32) -> Result<()> {
    let start = tradelog_protocol::sample::SAMPLE_GENESIS_TIME + 86_400_000;
    let s = tradelog_node::demo::run(out, consignments, start)?;
    out!(
        "ledger {}: {} blocks, {} events, head #{} {}",
        s.head.chain,
        s.blocks,
        s.head.log_size,
        s.head.height,
        s.head.hash()
    );
    out!("log root   {}", s.head.log_root);
    out!("index root {}", s.head.index_root);
    out!("wrote {} files under {}", s.files.len(), out.display());
    let first = tradelog_protocol::sample::sample_ucr(0);
    out!(
        "verify one offline:\n  cargo run -p tradelog-client -- verify --genesis {}/genesis.json {}/bundles/{first}.json",
        out.display(),
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::halting_validators;

    #[test]
    fn the_fewest_validators_that_halt_the_chain() {
        assert_eq!(halting_validators(&[1, 1, 1, 1]), (2, true));
        assert_eq!(halting_validators(&[1, 1, 1, 1, 1]), (2, true));
        assert_eq!(halting_validators(&[1, 1, 1, 1, 1, 1, 1]), (3, true));
        assert_eq!(halting_validators(&[1]), (1, true));
        assert_eq!(halting_validators(&[10, 1, 1, 1]), (1, false));
    }

    #[test]
    fn organisation_names_are_printed_with_control_characters_escaped() {
        assert_eq!(
            super::printable("Evil\u{1b}[2K\r  x\u{202e}"),
            "Evil\\u{1b}[2K\\u{d}  x\\u{202e}"
        );
        assert_eq!(super::printable("Douane Nederland"), "Douane Nederland");
    }
}
