//! `tradelog-node`: today the in-process demo ledger (see the crate docs).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tradelog-node", version, about = "tradelog peer node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { out, consignments } => {
            let start = tradelog_protocol::sample::SAMPLE_GENESIS_TIME + 86_400_000;
            let s = tradelog_node::demo::run(&out, consignments, start)?;
            println!(
                "ledger {}: {} blocks, {} events, head #{} {}",
                s.head.chain,
                s.blocks,
                s.head.log_size,
                s.head.height,
                s.head.hash()
            );
            println!("log root   {}", s.head.log_root);
            println!("index root {}", s.head.index_root);
            println!("wrote {} files under {}", s.files.len(), out.display());
            let first = tradelog_protocol::sample::sample_ucr(0);
            println!(
                "verify one offline:\n  cargo run -p tradelog-client -- verify --genesis {}/genesis.json {}/bundles/{first}.json",
                out.display(),
                out.display()
            );
        }
    }
    Ok(())
}
