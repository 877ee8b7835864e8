//! Helpers for tradelog's end-to-end tests: build the real binaries once and run them.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cdp;
pub mod net;
pub mod proxy;

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

/// Whether `cargo test` set `var` for the test process itself (not the user for cargo).
fn set_by_cargo_for_tests(var: &str) -> bool {
    var.starts_with("CARGO_PKG_")
        || var.starts_with("CARGO_BIN_EXE_")
        || matches!(
            var,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "OUT_DIR"
        )
}

/// Runs `cargo build -q <args>` in the workspace, without the variables `cargo test` set for
/// this process: build scripts that track them (ring's tracks `CARGO_MANIFEST_DIR`) would
/// otherwise see them change and rebuild half the tree here, and again in the next plain build.
fn cargo_build(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(set_by_cargo_for_tests) {
            cmd.env_remove(var);
        }
    }
    let status = cmd
        .current_dir(workspace_root())
        .arg("build")
        .arg("-q")
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build {} failed: {status}", args.join(" ")));
    }
    Ok(())
}

/// The normal build of the binaries (no test-only features).
const NORMAL_BUILD: &[&str] = &["-p", "tradelog-node", "-p", "tradelog-client", "--bins"];

/// Builds `tradelog-node` and `tradelog` (debug) once per test process; returns the bin dir.
pub fn bin_dir() -> Result<PathBuf, BuildError> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            cargo_build(NORMAL_BUILD)?;
            Ok(target_dir().join("debug"))
        })
        .clone()
        .map_err(BuildError)
}

/// Builds `tradelog-node` with the test-only `byzantine` feature (a validator that can be told
/// to equivocate by `[testing] equivocate`) once per test process, and returns the path of a
/// copy of it in `<target>/debug/byzantine/`. The normal build is then put back in place, so
/// [`bin_dir`] keeps serving binaries without the feature.
pub fn byzantine_node() -> Result<PathBuf, BuildError> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            cargo_build(&[
                "-p",
                "tradelog-node",
                "--features",
                "tradelog-node/byzantine",
                "--bin",
                "tradelog-node",
            ])?;
            let debug = target_dir().join("debug");
            let dir = debug.join("byzantine");
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let copy = dir.join("tradelog-node");
            // Removed first: a copy onto a binary still running elsewhere would fail.
            let _ = std::fs::remove_file(&copy);
            std::fs::copy(debug.join("tradelog-node"), &copy)
                .map_err(|e| format!("cannot copy the byzantine build: {e}"))?;
            // Cargo keeps both builds; this only links the normal one back in place.
            cargo_build(NORMAL_BUILD)?;
            Ok(copy)
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
