//! The manual pages: `mbundle man DIR` writes them from the CLI definition, and the copies
//! checked in under man/ must be exactly that (regenerate with
//! `MBUNDLE_UPDATE_MAN=1 cargo test --test tests man::`). No page names a page that does not
//! exist, and every example of `--help` is one line, the same in the help and in the page.

use std::fs;
use std::path::Path;

use crate::util::*;

#[test]
fn man_pages_match_the_cli() {
    let dir = Dir::new();
    dir.run(&["man", "pages"]).ok();
    let fresh = dir.path("pages");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("MBUNDLE_UPDATE_MAN").is_some();
    let mut names: Vec<String> = fs::read_dir(&fresh)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if update {
        for old in fs::read_dir(&repo).unwrap() {
            fs::remove_file(old.unwrap().path()).unwrap();
        }
        for n in &names {
            fs::copy(fresh.join(n), repo.join(n)).unwrap();
        }
    }
    let mut checked_in: Vec<String> = fs::read_dir(&repo)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    checked_in.sort();
    assert_eq!(
        checked_in, names,
        "man/ is out of date: run MBUNDLE_UPDATE_MAN=1 cargo test --test tests man::"
    );
    for n in &names {
        assert!(
            fs::read(repo.join(n)).unwrap() == fs::read(fresh.join(n)).unwrap(),
            "man/{n} is out of date: run MBUNDLE_UPDATE_MAN=1 cargo test --test tests man::"
        );
    }
    // SYNOPSIS names the command as it is typed: `mbundle renew-ca`, not `mbundle renew ca`.
    for n in names.iter().filter(|n| n.as_str() != "mbundle.1") {
        let text = fs::read_to_string(fresh.join(n)).unwrap();
        let command = n.trim_end_matches(".1").trim_start_matches("mbundle-");
        let synopsis = text
            .split(".SH SYNOPSIS\n")
            .nth(1)
            .and_then(|t| t.lines().next())
            .unwrap_or_default()
            .replace("\\-", "-");
        assert!(
            synopsis.starts_with(&format!("\\fBmbundle {command}\\fR")),
            "{n}: SYNOPSIS {synopsis}"
        );
    }
    // SEE ALSO and the subcommand list name only pages that exist.
    for n in &names {
        let text = fs::read_to_string(fresh.join(n)).unwrap();
        for (i, _) in text.match_indices("(1)") {
            let start = text[..i].rfind(char::is_whitespace).map_or(0, |s| s + 1);
            let page = text[start..i]
                .replace("\\-", "-")
                .replace("\\fB", "")
                .replace("\\fR", "");
            if page.starts_with("mbundle") {
                assert!(
                    names.contains(&format!("{page}.1")),
                    "{n} names {page}(1), which does not exist"
                );
            }
        }
    }
    assert!(!names.contains(&"mbundle-help.1".to_string()));
}

#[test]
fn every_example_is_one_line_in_the_help_and_in_the_page() {
    let dir = Dir::new();
    dir.run(&["man", "pages"]).ok();
    let commands = [
        "ls",
        "export",
        "share",
        "import",
        "env",
        "context",
        "doctor",
        "regenerate-certs",
        "renew-ca",
        "inspect",
        "verify",
        "diff",
        "completions",
        "man",
    ];
    for c in commands {
        // As narrow a terminal as anyone uses: nothing is reflowed anyway.
        let help = run_env(&dir, &[c, "--help"], &[("COLUMNS", "40")]);
        let page = fs::read_to_string(dir.path(&format!("pages/mbundle-{c}.1"))).unwrap();
        let examples: Vec<&str> = help
            .stdout
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("mbundle {c} --help has no examples"))
            .lines()
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.trim_start())
            .collect();
        assert!(!examples.is_empty(), "{c}");
        let no_fill = page
            .split(".SH EXAMPLES\n.nf\n")
            .nth(1)
            .and_then(|s| s.split("\n.fi").next())
            .unwrap_or_else(|| panic!("mbundle-{c}.1 has no no-fill EXAMPLES"));
        let page_lines: Vec<String> = no_fill
            .lines()
            .map(|l| {
                l.replace("\\-", "-")
                    .replace("\\*(Aq", "'")
                    .replace("\\(aq", "'")
                    .replace("\\\\", "\\")
                    .replace("\\&", "")
            })
            .collect();
        for ex in examples {
            assert!(
                page_lines.iter().any(|l| l == ex),
                "mbundle-{c}.1 does not have {ex:?} as one line: {page_lines:?}"
            );
        }
    }
}

fn run_env(dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = dir.cmd();
    for (k, v) in env {
        c.env(k, v);
    }
    Run::from(c.args(args).output().unwrap())
}
