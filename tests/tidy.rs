//! Tidy: the conventions of ARCHITECTURE.md, kept true mechanically (rust-analyzer's idea).
//! Reads `src/` as text; no extra crates.
//!
//! - a module imports only its own layer and the layers below it;
//! - an operation never imports another operation (a shared helper moves down);
//! - no two modules import each other, directly or round a circle (what both need moves down);
//! - every file in `src/` opens with its `//!` module doc;
//! - no file in `src/` grows past 800 lines (the few still above it may only shrink);
//! - no function in `src/` runs past 100 lines: a long one becomes named steps;
//! - only `commands/` and `main.rs` print: operations and the layers below return reports.

use std::fs;
use std::path::{Path, PathBuf};

/// Files still over the size limit while the layout issue splits them, with the most lines
/// each may have. Lower a number when a file shrinks; remove the row when it is under 800.
const STILL_LARGE: &[(&str, usize)] = &[];

const MAX_LINES: usize = 800;
const MAX_FUNCTION_LINES: usize = 100;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's path under src/, with `/` separators.
fn rel(p: &Path) -> String {
    p.strip_prefix(src())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The layer of a top-level module name: 0 ground, 1 domain, 2 operations, 3 commands.
fn layer(top: &str) -> Option<u8> {
    match top {
        "fs" | "error" | "progress" | "signals" | "text" | "Error" | "Result" | "failpoint"
        | "test_fixture" => Some(0),
        "format" | "store" | "pki" | "host" => Some(1),
        "ops" => Some(2),
        "cli" | "commands" | "main" | "lib" => Some(3),
        _ => None,
    }
}

/// The top-level module a file belongs to (`ops/import.rs` -> `ops`, `error.rs` -> `error`).
fn owner(rel: &str) -> String {
    rel.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

/// Every `crate::a::b` path in the text, as (a, b).
fn crate_paths(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let seg = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        let first = seg(rest);
        let after = &rest[first.len()..];
        let second = after.strip_prefix("::").map(seg).unwrap_or_default();
        out.push((first, second));
    }
    out
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let r = rel(f);
        let own = owner(&r);
        let Some(own_layer) = layer(&own) else {
            wrong.push(format!(
                "{r}: module {own} is in no layer (add it to tidy.rs and ARCHITECTURE.md)"
            ));
            continue;
        };
        let text = fs::read_to_string(f).unwrap();
        for (top, second) in crate_paths(&text) {
            match layer(&top) {
                None => wrong.push(format!("{r}: crate::{top} is in no layer")),
                Some(l) if l > own_layer => wrong.push(format!(
                    "{r} (layer {own_layer}) imports crate::{top} (layer {l})"
                )),
                _ => {}
            }
            // An operation never borrows another operation's helper.
            if own == "ops" && top == "ops" {
                let me = r
                    .trim_start_matches("ops/")
                    .split(['/', '.'])
                    .next()
                    .unwrap();
                if second != me {
                    wrong.push(format!("{r} imports the operation crate::ops::{second}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "layering broken:\n  {}",
        wrong.join("\n  ")
    );
}

/// A file's module path: `ops/import/plan.rs` -> `ops::import::plan`, `ops/mod.rs` -> `ops`,
/// `lib.rs` and `main.rs` -> `` (the crate root).
fn module_of(rel: &str) -> String {
    let stem = rel.trim_end_matches(".rs");
    let stem = stem.strip_suffix("/mod").unwrap_or(stem);
    if stem == "lib" || stem == "main" {
        return String::new();
    }
    stem.replace('/', "::")
}

/// The text of a file without comments and without its `mod tests` (tests may use anything).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module path a file's code names through `crate::` or `super::`, resolved to the
/// longest prefix that is a module (`crate::ops::import::plan::Found` -> `ops::import::plan`).
fn module_uses(module: &str, code: &str, modules: &[String]) -> Vec<String> {
    let resolve = |segs: &[&str]| -> Option<String> {
        (1..=segs.len())
            .rev()
            .map(|n| segs[..n].join("::"))
            .find(|m| modules.contains(m))
    };
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let path_at = |s: &str| -> Vec<String> {
        let mut segs = Vec::new();
        let mut rest = s;
        loop {
            let seg: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if seg.is_empty() {
                break;
            }
            rest = &rest[seg.len()..];
            segs.push(seg);
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        segs
    };
    let own: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && code[..i].ends_with(is_ident) {
            continue;
        }
        let segs = path_at(&code[i + "crate::".len()..]);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        out.extend(resolve(&segs));
    }
    for (i, _) in code.match_indices("super::") {
        if i > 0 && (code[..i].ends_with(is_ident) || code[..i].ends_with("super::")) {
            continue;
        }
        let mut rest = &code[i..];
        let mut up = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
            up += 1;
        }
        let Some(base) = own.len().checked_sub(up) else {
            continue;
        };
        let tail = path_at(rest);
        let segs: Vec<&str> = own[..base]
            .iter()
            .copied()
            .chain(tail.iter().map(String::as_str))
            .collect();
        out.extend(resolve(&segs));
    }
    out.retain(|m| m != module && !m.is_empty());
    out.sort();
    out.dedup();
    out
}

/// The circles in a graph of modules (each a path of module names back to its start).
fn circles(edges: &std::collections::BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    // Depth-first search; a back edge to a module on the current path closes a circle.
    fn visit(
        m: &str,
        edges: &std::collections::BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut circle = path[at..].to_vec();
            circle.push(m.to_string());
            found.push(circle);
            return;
        }
        if done.contains(m) {
            return;
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            visit(next, edges, path, done, found);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    for m in edges.keys() {
        visit(m, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_modules_import_each_other() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: Vec<String> = files.iter().map(|f| module_of(&rel(f))).collect();
    let mut edges = std::collections::BTreeMap::new();
    for f in &files {
        let module = module_of(&rel(f));
        let code = code_of(&fs::read_to_string(f).unwrap());
        edges.insert(module.clone(), module_uses(&module, &code, &modules));
    }
    let found: Vec<String> = circles(&edges).iter().map(|c| c.join(" -> ")).collect();
    assert!(
        found.is_empty(),
        "modules that import each other (move what they share down):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_circle_finder_sees_circles() {
    let modules: Vec<String> = ["a", "a::x", "a::y", "b"].map(String::from).to_vec();
    let uses = module_uses("a::x", "use super::y::Thing;\nuse crate::b::f;", &modules);
    assert_eq!(uses, ["a::y", "b"]);
    assert_eq!(module_uses("a::x", "super::super::b::g()", &modules), ["b"]);
    assert_eq!(module_of("ops/import/mod.rs"), "ops::import");
    assert_eq!(
        code_of("use a;\n// crate::b\n#[cfg(test)]\nmod tests { crate::c }"),
        "use a;"
    );
    let edges = [
        ("a::x", vec!["a::y"]),
        ("a::y", vec!["b"]),
        ("b", vec!["a::x"]),
    ]
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .into_iter()
    .collect();
    assert_eq!(circles(&edges), [["a::x", "a::y", "b", "a::x"]]);
    let line: std::collections::BTreeMap<String, Vec<String>> =
        [("a".to_string(), vec!["b".to_string()])]
            .into_iter()
            .collect();
    assert!(circles(&line).is_empty());
}

#[test]
fn every_module_says_what_it_is_for() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let undocumented: Vec<String> = files
        .iter()
        .filter(|f| {
            !fs::read_to_string(f)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| rel(f))
        .collect();
    assert!(
        undocumented.is_empty(),
        "modules without a //! doc: {undocumented:?}"
    );
}

#[test]
fn no_file_grows_past_800_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let r = rel(f);
        let lines = fs::read_to_string(f).unwrap().lines().count();
        let limit = STILL_LARGE
            .iter()
            .find(|(name, _)| *name == r)
            .map_or(MAX_LINES, |(_, n)| *n);
        if lines > limit {
            wrong.push(format!(
                "{r}: {lines} lines (limit {limit}): split it by concern"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_tidy_parser_sees_paths() {
    assert_eq!(
        crate_paths("use crate::ops::import::plan; x(crate::fs::lock::LOCK_FILE)"),
        vec![
            ("ops".to_string(), "import".to_string()),
            ("fs".to_string(), "lock".to_string())
        ]
    );
    assert_eq!(layer("ops"), Some(2));
    assert_eq!(owner("ops/import/plan.rs"), "ops");
}

/// Every `fn` in the text with its name and length in lines: from its signature to the
/// closing brace at the signature's indentation (rustfmt's layout).
fn function_lengths(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let sig = ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p));
        let Some(sig) = sig else { continue };
        let name: String = sig
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            out.push((name, end + 2));
        }
    }
    out
}

#[test]
fn no_function_runs_past_100_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        for (name, n) in function_lengths(&fs::read_to_string(f).unwrap()) {
            if n > MAX_FUNCTION_LINES {
                wrong.push(format!(
                    "{}: fn {name} is {n} lines: make it named steps",
                    rel(f)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn function_lengths_are_measured() {
    let text = "fn a() {\n    x();\n}\n\nimpl X {\n    pub fn b(&self) {\n        y();\n        z();\n    }\n}\n";
    assert_eq!(
        function_lengths(text),
        vec![("a".to_string(), 3), ("b".to_string(), 4)]
    );
}

#[test]
fn only_commands_print() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let printing: Vec<String> = files
        .iter()
        .filter(|f| {
            let r = rel(f);
            !r.starts_with("commands/") && r != "main.rs"
        })
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap();
            ["println!", "eprintln!", "print!(", "eprint!("]
                .iter()
                .any(|m| text.contains(m))
        })
        .map(|f| rel(f))
        .collect();
    assert!(
        printing.is_empty(),
        "these print; return what to say in a report instead: {printing:?}"
    );
}
