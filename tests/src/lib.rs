//! Helpers for tradelog's end-to-end tests: build the real binaries once and run them.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cdp;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Why a binary could not be provided.
#[derive(Debug)]
pub struct BuildError(pub String);

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds `tradelog-node` and `tradelog` (debug) once per test process; returns the bin dir.
pub fn bin_dir() -> Result<PathBuf, BuildError> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(workspace_root())
                .args([
                    "build",
                    "-q",
                    "-p",
                    "tradelog-node",
                    "-p",
                    "tradelog-client",
                    "--bins",
                ])
                .status()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !status.success() {
                return Err(format!("cargo build failed: {status}"));
            }
            Ok(target_dir().join("debug"))
        })
        .clone()
        .map_err(BuildError)
}

/// Runs a built binary with `args`, returning its output.
pub fn run(bin: &str, args: &[&str]) -> Result<Output, BuildError> {
    let path = bin_dir()?.join(bin);
    Command::new(&path)
        .args(args)
        .output()
        .map_err(|e| BuildError(format!("cannot run {}: {e}", path.display())))
}

/// A fresh empty directory under the target dir, removed and recreated.
pub fn scratch(name: &str) -> PathBuf {
    let dir = target_dir()
        .join("e2e")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}
