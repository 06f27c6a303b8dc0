//! The modules of the domain form no cycle, and the ports depend only on the model (issue 17):
//! a flow module may use `service` (the `Registry` and what every flow shares) and other flows,
//! but `service`, the ports, the configuration and the instance caches use no flow, so a change
//! to one flow cannot ripple back through the others. The same holds inside `trustreg-model`.
//!
//! Read from the sources: an edge `a -> b` is a `crate::b` path in a non-comment line of module
//! `a` (its file and its directory, tests left out). `pub use trustreg_model::...` re-exports
//! are not edges of this crate: the model cannot name the domain back.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_test_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "tests.rs")
        || path.components().any(|c| c.as_os_str() == "tests")
}

/// The identifiers after `crate::` in `line`, including each member of a `crate::{a, b::c}` group.
fn crate_paths(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                let name: String = member
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.push(name);
            }
        } else {
            names.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    names
}

fn graph(src: &Path) -> Graph {
    let mut modules: Graph = BTreeMap::new();
    for entry in fs::read_dir(src).expect("src").flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if path.is_dir() || (path.extension().is_some_and(|e| e == "rs") && name != "lib") {
            modules.entry(name).or_default();
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    for (module, edges) in modules.iter_mut() {
        let mut files = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.exists() {
            files.push(file);
        }
        rust_files(&src.join(module), &mut files);
        for file in files.iter().filter(|f| !is_test_file(f)) {
            let text = fs::read_to_string(file).expect("source");
            // A unit-test module at the end of a file is not a dependency of the module.
            let text = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for target in crate_paths(line) {
                    if names.contains(&target) && &target != module {
                        edges.insert(target);
                    }
                }
            }
        }
    }
    modules
}

/// A cycle through `start`, if any: the path back to it.
fn cycle_from(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in &graph[&node] {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

fn cycles(graph: &Graph) -> Vec<String> {
    graph
        .keys()
        .filter_map(|m| cycle_from(graph, m))
        .map(|c| c.join(" -> "))
        .collect()
}

fn crate_src(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn the_domain_has_no_module_cycle() {
    let core = graph(&crate_src("src"));
    assert!(core.len() > 20, "read the modules of core: {core:?}");
    assert_eq!(cycles(&core), Vec::<String>::new());
}

#[test]
fn the_model_has_no_module_cycle() {
    let model = graph(&crate_src("../model/src"));
    assert!(model.len() > 10, "read the modules of the model: {model:?}");
    assert_eq!(cycles(&model), Vec::<String>::new());
}

#[test]
fn ports_configuration_and_the_registry_use_no_flow() {
    let core = graph(&crate_src("src"));
    for module in ["ports", "config", "instance"] {
        assert_eq!(
            core[module],
            BTreeSet::new(),
            "{module} uses only the model"
        );
    }
    let allowed: BTreeSet<String> = ["config", "instance", "ports"].map(String::from).into();
    assert!(
        core["service"].is_subset(&allowed),
        "service uses {:?}",
        core["service"]
    );
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let mut graph = Graph::new();
    graph.insert("a".into(), ["b".to_string()].into());
    graph.insert("b".into(), ["c".to_string()].into());
    graph.insert("c".into(), ["a".to_string()].into());
    graph.insert("d".into(), ["a".to_string()].into());
    assert_eq!(cycles(&graph).len(), 3);
    assert_eq!(
        crate_paths("use crate::{error::X, ports};"),
        vec!["error", "ports"]
    );
}
