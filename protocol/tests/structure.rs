//! The protocol crate's module graph stays acyclic (docs/ARCHITECTURE.md "Protocol modules"):
//! each module's `crate::<module>` references, outside comments, are its edges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            modules(&path, &format!("{prefix}{name}::"), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_str().unwrap();
            if stem == "lib" {
                continue;
            }
            let code: String = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(format!("{prefix}{stem}"), code);
        }
    }
}

#[test]
fn the_protocol_modules_have_no_cycle() {
    let mut code = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut code,
    );
    // Only top-level modules count (a submodule belongs to its parent).
    let top: BTreeSet<String> = code
        .keys()
        .map(|m| m.split("::").next().unwrap().to_owned())
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, text) in &code {
        let from = m.split("::").next().unwrap().to_owned();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + 7..];
            let to: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `wire` holds a macro every wire struct uses: not a dependency on data or rules.
            if top.contains(&to) && to != from && to != "wire" {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(pos) = stack.iter().position(|s| s == m) {
            panic!("module cycle: {} -> {m}", stack[pos..].join(" -> "));
        }
        stack.push(m.to_owned());
        for to in edges.get(m).into_iter().flatten() {
            visit(to, edges, stack, done);
        }
        stack.pop();
        done.insert(m.to_owned());
    }
    let mut done = BTreeSet::new();
    for m in &top {
        visit(m, &edges, &mut Vec::new(), &mut done);
    }
    assert!(done.contains("event") && done.contains("members"));
}
