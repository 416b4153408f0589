//! The house's floors: each module of `src/` only looks down. Reads the sources, collects
//! every `crate::module` a module names (in `use` lines, grouped `use crate::{..}` and paths
//! in code; unit tests left out), and checks the floors and that no circle is left.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The floors, lowest first. A module may import its own floor's modules and any below.
const FLOORS: &[&[&str]] = &[
    &["scenario"],
    &["sim"],
    &["faults", "remediation", "slo"],
    &["incident", "scoring"],
    &["session", "report", "history", "authoring", "openmetrics"],
    &["cli", "ui", "net"],
];

fn floor(module: &str) -> usize {
    FLOORS
        .iter()
        .position(|floor| floor.contains(&module))
        .unwrap_or_else(|| panic!("src/{module} is on no floor: add it to FLOORS"))
}

/// The top-level module of each source file, and the modules its code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if matches!(module.as_str(), "lib" | "main") || path.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests may reach anywhere: they are not part of the floor.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let named = imports.entry(module.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find("};").unwrap_or(group.len())];
                for part in group.split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        named.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                named.insert(name);
            }
        }
        named.remove(&module);
    }
    imports
}

#[test]
fn every_module_only_looks_down() {
    let mut upward = Vec::new();
    for (module, named) in imports() {
        for other in named {
            // Items of the crate root (none today) are not modules.
            if !FLOORS.iter().any(|f| f.contains(&other.as_str())) {
                continue;
            }
            if floor(&other) > floor(&module) {
                upward.push(format!("{module} imports {other}, a floor above it"));
            }
        }
    }
    assert!(upward.is_empty(), "{}", upward.join("\n"));
}

#[test]
fn no_two_modules_import_each_other_even_on_one_floor() {
    let imports = imports();
    // Depth-first search for a circle, reporting it.
    fn visit(
        module: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut circle = path[start..].to_vec();
            circle.push(module.to_string());
            return Some(circle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in imports.get(module).into_iter().flatten() {
            if let Some(circle) = visit(next, imports, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in imports.keys() {
        if let Some(circle) = visit(module, &imports, &mut Vec::new(), &mut done) {
            panic!("an import circle: {}", circle.join(" -> "));
        }
    }
}
