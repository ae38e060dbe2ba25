//! What every command shares to show its results: tables, byte counts, JSON, and text made
//! safe for a terminal (control characters from bundles and config.json escaped).

use std::io::{self, Write};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::pki::certs::{self, CertInfo};

pub(super) use crate::text::printable;

/// Text built from bundle or config.json values, made safe for a terminal (see
/// [`crate::text::terminal_safe`]).
pub(super) fn terminal_safe(text: String) -> String {
    match crate::text::terminal_safe(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(safe) => safe,
    }
}

pub(super) fn warn(msg: &str) {
    eprintln!("warning: {}", printable(&for_this_store(msg)));
}

/// A note on standard error, escaped like every other line.
pub(super) fn note(msg: &str) {
    eprintln!("note: {}", printable(&for_this_store(msg)));
}

/// `-s STORE ` (the store as an absolute path, quoted for a shell) when the user named the
/// store with `-s`; unset otherwise. One command per process: set once, by [`super::run`].
static STORE_FLAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Remembers the `-s STORE ` every suggested command must carry.
pub(super) fn remember_store_flag(flag: String) {
    let _ = STORE_FLAG.set(flag);
}

/// The commands that act on a store (all but those that read only a bundle or print files).
fn takes_a_store(command: &str) -> bool {
    use clap::CommandFactory;
    !matches!(
        command,
        "completions" | "man" | "inspect" | "verify" | "help"
    ) && crate::cli::Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == command)
}

/// `text` with `-s STORE` inserted after each `mbundle ` that starts a command acting on a
/// store, when the user named the store: a hint pasted as printed acts on the same store,
/// from any directory. Unchanged when the store is the default one.
pub fn for_this_store(text: &str) -> String {
    let Some(flag) = STORE_FLAG.get().filter(|f| !f.is_empty()) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len() + flag.len());
    let mut rest = text;
    while let Some(i) = rest.find("mbundle ") {
        let starts_word = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || "-_/.".contains(c)));
        let (before, after) = rest.split_at(i + "mbundle ".len());
        out.push_str(before);
        let command: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if starts_word && takes_a_store(&command) {
            out.push_str(flag);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Human-readable byte count.
pub fn human_bytes(n: u64) -> String {
    crate::error::human(n)
}

/// A copy of `value` in which every string is escaped for a terminal ([`printable`]): a
/// manifest or report shown as text then holds no newline that could forge a line of its
/// own, whichever of its fields the text uses. `None` if the copy cannot be made (the
/// caller then shows nothing of it rather than the raw values).
pub(super) fn escaped_copy<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: &T,
) -> Option<T> {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(e) = printable(s) {
                    *s = e;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            serde_json::Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(value).ok()?;
    walk(&mut v);
    serde_json::from_value(v).ok()
}

/// Lines of text whose cells come from bundles or stores; every cell is escaped for a
/// terminal, so a value holding a newline stays in its cell.
pub(super) fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c).into_owned()).collect())
        .collect();
    let rows = &rows;
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(super) fn read_cert(path: Option<&Path>) -> Option<CertInfo> {
    let bytes = crate::store::read_pem_file(path?).ok()?;
    certs::parse_pem(&bytes).ok()
}

pub(super) fn short_fp(fp: &str) -> &str {
    let hex = fp.strip_prefix("sha256:").unwrap_or(fp);
    &hex[..hex.len().min(12)]
}

/// Writes what a command prints to standard output: whatever it holds, no control or
/// bidirectional character reaches the terminal raw (newlines and tabs lay it out).
pub(super) fn print(text: &str) -> Result<()> {
    io::stdout()
        .lock()
        .write_all(crate::text::terminal_safe(text).as_bytes())
        .ctx("write", "standard output")
}

/// The version of every `--json` document (docs/json.md). Raised when a field changes
/// meaning or goes away; new fields may appear within a version.
pub(super) const JSON_VERSION: u64 = 1;

/// `--json` output: an object whose first field is `version`, pretty-printed, one trailing
/// newline. `value` must serialize to an object.
/// Past this many, machines and paths are counted by kind with the first few named; `-v`
/// lists them all.
pub(super) const LISTED: usize = crate::error::HINT_NAMES;

/// The first [`LISTED`] of `names`, and how many more.
pub(super) fn first_names<S: AsRef<str>>(names: &[S]) -> String {
    let mut out = names
        .iter()
        .take(LISTED)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        out.push_str(&format!(" ... and {} more", names.len() - LISTED));
    }
    out
}

/// A yes to `question` from a person at a terminal (stdin and stderr both terminals); `false`
/// without one, so scripts must say `--yes`.
pub(super) fn ask_yes(question: &str) -> crate::error::Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    eprint!("{} [y/N] ", printable(question));
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| crate::error::Error::io("read", "standard input", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

pub(super) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), JSON_VERSION.into());
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(fields)) => {
            doc.extend(fields.into_iter().filter(|(k, _)| k != "version"));
        }
        Ok(other) => {
            doc.insert("value".into(), other);
        }
        Err(e) => {
            doc.insert("error".into(), e.to_string().into());
        }
    }
    let mut s = crate::text::json_safe(serde_json::to_string_pretty(&doc).unwrap_or_default());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
