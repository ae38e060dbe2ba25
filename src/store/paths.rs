//! Absolute paths as *another* computer spells them.
//!
//! config.json files hold absolute paths written by the computer that created the machine:
//! `/home/alice/...`, `/Users/carol/...`, or `C:\Users\José\...` (in either separator and any
//! case of drive letter). mbundle never hands such strings to the local file system directly:
//! it parses them into a [`ForeignPath`] (a root plus plain components), compares them on
//! component boundaries with the case rule of the OS that wrote them, and only then maps the
//! remainder under a local directory. That one rule serves both export (finding the files of a
//! store that was copied by hand from elsewhere) and import (rewriting config.json).
//!
//! Pure: no I/O here.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The operating system family that wrote a path, as far as its spelling tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOs {
    /// `/home/...` and every other POSIX path: case-sensitive.
    Linux,
    /// `/Users/...`, `/Volumes/...`: POSIX spelling, case-insensitive file system by default.
    Macos,
    /// `C:\...` or `\\server\share\...`: case-insensitive, either separator.
    Windows,
}

impl SourceOs {
    /// Whether two spellings that differ only in case name the same file there.
    pub fn case_insensitive(self) -> bool {
        !matches!(self, SourceOs::Linux)
    }

    /// The separator that OS writes.
    pub fn separator(self) -> char {
        match self {
            SourceOs::Windows => '\\',
            _ => '/',
        }
    }

    /// The OS this program runs on.
    pub fn this_host() -> SourceOs {
        if cfg!(windows) {
            SourceOs::Windows
        } else if cfg!(target_os = "macos") {
            SourceOs::Macos
        } else {
            SourceOs::Linux
        }
    }
}

impl fmt::Display for SourceOs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceOs::Linux => "linux",
            SourceOs::Macos => "macos",
            SourceOs::Windows => "windows",
        })
    }
}

/// An absolute path parsed from a string written on some computer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignPath {
    /// Which OS family's spelling it is.
    pub os: SourceOs,
    /// `/` for POSIX, `C:` for a drive (as written), `\\server\share` for UNC.
    pub root: String,
    /// The plain components after the root: never empty strings, `.` or `..`.
    pub components: Vec<String>,
}

impl ForeignPath {
    /// Parses `s` if it is an absolute path in POSIX or Windows spelling.
    ///
    /// Returns `None` for anything else: relative paths, URLs (`tcp://...`), empty strings,
    /// strings with control characters, and paths with `..` components (never mapped: what
    /// they name depends on links the other computer had).
    pub fn parse(s: &str) -> Option<ForeignPath> {
        if s.is_empty() || s.len() > 4096 || s.chars().any(|c| c.is_control()) {
            return None;
        }
        let bytes = s.as_bytes();
        let (os, root, rest) = if bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && (bytes[2] == b'\\' || bytes[2] == b'/')
        {
            (SourceOs::Windows, s[..2].to_string(), &s[3..])
        } else if let Some(unc) = s.strip_prefix("\\\\") {
            let mut parts = unc.splitn(3, '\\');
            let server = parts.next().filter(|p| !p.is_empty())?;
            let share = parts.next().filter(|p| !p.is_empty())?;
            let rest = parts.next().unwrap_or("");
            (
                SourceOs::Windows,
                format!("\\\\{server}\\{share}"),
                // SAFETY of slicing: `rest` is a suffix of `s`.
                &s[s.len() - rest.len()..],
            )
        } else if bytes[0] == b'/' && !s.starts_with("//") {
            (SourceOs::Linux, "/".to_string(), &s[1..])
        } else {
            return None;
        };
        let windows = os == SourceOs::Windows;
        // Sized for the separators there are: one allocation, not a growing vector.
        let seps = rest
            .bytes()
            .filter(|&b| b == b'/' || (windows && b == b'\\'))
            .count();
        let mut components = Vec::with_capacity(seps + 1);
        for c in rest.split(|c: char| c == '/' || (windows && c == '\\')) {
            match c {
                "" | "." => {}
                ".." => return None,
                c => components.push(c.to_string()),
            }
        }
        let os = if os == SourceOs::Linux
            && matches!(
                components.first().map(String::as_str),
                Some("Users" | "Volumes")
            ) {
            SourceOs::Macos
        } else {
            os
        };
        Some(ForeignPath {
            os,
            root,
            components,
        })
    }

    /// The components of `self` below `base`, if `base` is `self` or one of its ancestors,
    /// compared whole component by whole component (so `/home/al` is not an ancestor of
    /// `/home/alice`), ignoring case when either side was written by a case-insensitive OS.
    pub fn strip_prefix(&self, base: &ForeignPath) -> Option<&[String]> {
        let windows = |os| os == SourceOs::Windows;
        if windows(self.os) != windows(base.os) {
            return None;
        }
        let ci = self.os.case_insensitive() || base.os.case_insensitive();
        if !same(&self.root, &base.root, windows(self.os)) {
            return None;
        }
        if base.components.len() > self.components.len() {
            return None;
        }
        for (a, b) in self.components.iter().zip(&base.components) {
            if !same(a, b, ci) {
                return None;
            }
        }
        Some(&self.components[base.components.len()..])
    }

    /// `self` with `more` appended.
    pub fn join<S: AsRef<str>>(&self, more: &[S]) -> ForeignPath {
        let mut p = self.clone();
        p.components
            .extend(more.iter().map(|s| s.as_ref().to_string()));
        p
    }

    /// The parent directory, or `None` at the root.
    pub fn parent(&self) -> Option<ForeignPath> {
        let mut p = self.clone();
        p.components.pop()?;
        Some(p)
    }

    /// The last component.
    pub fn file_name(&self) -> Option<&str> {
        self.components.last().map(String::as_str)
    }

    /// Finds the store root in a path that lies under `<root>/machines/<name>/...`.
    pub fn store_root_for_machine(&self, name: &str) -> Option<ForeignPath> {
        let ci = self.os.case_insensitive();
        let n = self.components.len();
        (0..n.saturating_sub(1)).rev().find_map(|i| {
            (same(&self.components[i], "machines", ci) && same(&self.components[i + 1], name, ci))
                .then(|| ForeignPath {
                    os: self.os,
                    root: self.root.clone(),
                    components: self.components[..i].to_vec(),
                })
        })
    }
}

impl fmt::Display for ForeignPath {
    /// Spelled the way its OS spells it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.os {
            SourceOs::Windows => {
                f.write_str(&self.root)?;
                f.write_str("\\")?;
                "\\"
            }
            _ => {
                f.write_str("/")?;
                "/"
            }
        };
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            f.write_str(c)?;
        }
        Ok(())
    }
}

fn same(a: &str, b: &str, case_insensitive: bool) -> bool {
    if a == b {
        true
    } else if !case_insensitive {
        false
    } else if a.is_ascii() && b.is_ascii() {
        // The common case, compared in place (the general one lowercases two copies).
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Joins foreign components under a local directory, refusing anything that is not a plain
/// name on this OS (a Windows component may hold `:` or be `..`-like after decoding).
pub fn local_join(base: &Path, components: &[String]) -> Option<PathBuf> {
    if !all_plain(components) {
        return None;
    }
    let mut p = base.to_path_buf();
    for c in components {
        p.push(c);
    }
    Some(p)
}

/// Whether [`local_join`] takes these components (each a plain name on this OS).
pub fn all_plain(components: &[String]) -> bool {
    components
        .iter()
        .all(|c| !(c.is_empty() || c == "." || c == ".." || c.contains('/') || c.contains('\0')))
}

/// Recognises a local path of this host inside `base`, for reporting (`certs/ca.pem`).
pub fn display_under(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ForeignPath {
        ForeignPath::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn parses_each_spelling() {
        let w = p("C:\\Users\\José\\.docker\\machine");
        assert_eq!(w.os, SourceOs::Windows);
        assert_eq!(w.root, "C:");
        assert_eq!(w.components, ["Users", "José", ".docker", "machine"]);
        assert_eq!(p("c:/Users/x").components, ["Users", "x"]);
        assert_eq!(p("/Users/carol/.docker").os, SourceOs::Macos);
        assert_eq!(
            p("/home/alice//.docker/./machine").components,
            ["home", "alice", ".docker", "machine"]
        );
        let unc = p("\\\\srv\\share\\dm\\certs");
        assert_eq!(unc.root, "\\\\srv\\share");
        assert_eq!(unc.components, ["dm", "certs"]);
    }

    #[test]
    fn refuses_what_is_not_an_absolute_path() {
        for s in [
            "",
            "tcp://1.2.3.4:2376",
            "relative/path",
            "//network",
            "/a/../b",
            "C:",
            "C:relative",
            "pa\\ss\\word",
            "/with\nnewline",
            "\\\\server",
        ] {
            assert_eq!(ForeignPath::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn prefix_is_on_component_boundaries() {
        assert!(p("/home/alice/x").strip_prefix(&p("/home/al")).is_none());
        assert_eq!(
            p("/home/al/x/y").strip_prefix(&p("/home/al")).unwrap(),
            ["x", "y"]
        );
        assert_eq!(p("/home/al").strip_prefix(&p("/home/al")).unwrap().len(), 0);
    }

    #[test]
    fn case_rules_follow_the_source_os() {
        assert!(p("/home/Alice/x").strip_prefix(&p("/home/alice")).is_none());
        assert!(p("/Users/Carol/x")
            .strip_prefix(&p("/Users/carol"))
            .is_some());
        assert!(p("c:\\USERS\\josé\\x")
            .strip_prefix(&p("C:\\Users\\José"))
            .is_some());
        assert!(p("D:\\Users\\x").strip_prefix(&p("C:\\Users")).is_none());
        assert!(p("/Users/x").strip_prefix(&p("C:\\Users")).is_none());
    }

    #[test]
    fn finds_the_store_root_of_a_machine_path() {
        let root = p("C:\\dm\\machines\\hv\\id_rsa")
            .store_root_for_machine("hv")
            .unwrap();
        assert_eq!(root.to_string(), "C:\\dm");
        assert!(p("/x/machines/other/id_rsa")
            .store_root_for_machine("hv")
            .is_none());
    }

    #[test]
    fn local_join_refuses_traversal() {
        assert!(local_join(Path::new("/s"), &["a".into(), "..".into()]).is_none());
        assert_eq!(
            local_join(Path::new("/s"), &["a".into(), "b".into()]).unwrap(),
            PathBuf::from("/s/a/b")
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn component() -> impl Strategy<Value = String> {
            "[A-Za-z0-9 ._é-]{1,12}".prop_filter("plain", |c| c != "." && c != "..")
        }

        fn foreign() -> impl Strategy<Value = ForeignPath> {
            (0..3usize, proptest::collection::vec(component(), 0..6)).prop_map(
                |(kind, components)| {
                    let (os, root) = match kind {
                        0 => (SourceOs::Linux, "/".to_string()),
                        1 => (SourceOs::Windows, "C:".to_string()),
                        _ => (SourceOs::Windows, "\\\\srv\\share".to_string()),
                    };
                    let mut p = ForeignPath {
                        os,
                        root,
                        components,
                    };
                    if let Some(again) = ForeignPath::parse(&p.to_string()) {
                        p.os = again.os; // /Users/... is macOS
                    }
                    p
                },
            )
        }

        proptest! {
            #[test]
            fn same_is_the_lowercase_rule(a in "[A-Za-zé_É]{0,4}", b in "[A-Za-zé_É]{0,4}", ci: bool) {
                let want = if ci { a.to_lowercase() == b.to_lowercase() } else { a == b };
                prop_assert_eq!(same(&a, &b, ci), want);
                prop_assert_eq!(same(&a, &a.to_uppercase(), true), true);
            }

            #[test]
            fn parse_never_panics(s in "\\PC{0,64}") {
                let _ = ForeignPath::parse(&s);
            }

            #[test]
            fn display_then_parse_is_identity(p in foreign()) {
                prop_assert_eq!(ForeignPath::parse(&p.to_string()), Some(p.clone()));
            }

            #[test]
            fn join_then_strip_gives_back_the_rest(base in foreign(), rest in proptest::collection::vec(component(), 0..4)) {
                let joined = base.join(&rest);
                prop_assert_eq!(joined.strip_prefix(&base), Some(rest.as_slice()));
            }

            #[test]
            fn a_sibling_is_never_under(base in foreign(), extra in "[a-z]{1,4}") {
                prop_assume!(!base.components.is_empty());
                let mut sibling = base.clone();
                let last = sibling.components.pop().unwrap_or_default();
                sibling.components.push(format!("{last}{extra}"));
                prop_assert_eq!(sibling.strip_prefix(&base), None);
            }

            #[test]
            fn case_only_matters_on_linux(base in foreign()) {
                let upper = ForeignPath {
                    components: base.components.iter().map(|c| c.to_uppercase()).collect(),
                    ..base.clone()
                };
                let under = upper.strip_prefix(&base).is_some();
                if base.os == SourceOs::Linux && upper.components != base.components {
                    prop_assert!(!under);
                } else {
                    prop_assert!(under);
                }
            }
        }
    }
}
