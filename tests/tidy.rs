//! Tidy: the conventions of ARCHITECTURE.md, kept true mechanically (rust-analyzer's idea).
//! Reads `src/` as text; no extra crates.
//!
//! - a module imports only its own layer and the layers below it;
//! - an operation never imports another operation (a shared helper moves down);
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
        "format" | "store" | "pki" => Some(1),
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
