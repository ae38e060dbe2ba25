//! Golden transcripts: what whole runs print, compared with `tests/golden/*.txt`, with the
//! temp directory, clock times and durations filtered out. A change of wording shows up here
//! as a diff to review; `MBUNDLE_UPDATE_GOLDEN=1 cargo test --test tests golden::` writes
//! the new transcripts (commit them with the change that made them).

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Replaces what differs from run to run: the temp directory, RFC 3339 times, durations
/// like `in 0.05s`, and the compressed size of a bundle.
fn stable(d: &Dir, text: &str) -> String {
    let text = text.replace(d.root().to_str().unwrap(), "<TMP>");
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        // 2026-11-24T15:30:12Z
        let is_time = b.len() - i >= 20
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 19] == b'Z';
        if is_time {
            out.push_str("<TIME>");
            i += 20;
            continue;
        }
        // "28.4 KiB bundle": compressed size moves with the files' mtimes.
        if text[i..].starts_with(", ") {
            let rest = &text[i + 2..];
            let num: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let after = &rest[num.len()..];
            if !num.is_empty()
                && [" B bundle", " KiB bundle", " MiB bundle"]
                    .iter()
                    .any(|u| after.starts_with(u))
            {
                let unit_len = after.find(" bundle").unwrap();
                out.push_str(", <SIZE> bundle");
                i += 2 + num.len() + unit_len + " bundle".len();
                continue;
            }
        }
        // " in 0.05s"
        if text[i..].starts_with(" in ") {
            let rest = &text[i + 4..];
            let num: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if !num.is_empty() && rest[num.len()..].starts_with('s') {
                out.push_str(" in <T>s");
                i += 4 + num.len() + 1;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// [`stable`], and also every date (`2029-11-08`) and file stamp (`20261124T153000Z`):
/// for the outputs of commands that issue certificates today.
fn stable_dates(d: &Dir, text: &str) -> String {
    let text = stable(d, text);
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|k| k < b.len() && b[k].is_ascii_digit());
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if digits(i..i + 8)
            && b.get(i + 8) == Some(&b'T')
            && digits(i + 9..i + 15)
            && b.get(i + 15) == Some(&b'Z')
        {
            out.push_str("<STAMP>");
            i += 16;
            continue;
        }
        if digits(i..i + 4)
            && b.get(i + 4) == Some(&b'-')
            && digits(i + 5..i + 7)
            && b.get(i + 7) == Some(&b'-')
            && digits(i + 8..i + 10)
        {
            out.push_str("<DATE>");
            i += 10;
            continue;
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Compares `text` with the golden file `name`, or writes it with MBUNDLE_UPDATE_GOLDEN.
#[track_caller]
fn golden(d: &Dir, name: &str, text: &str) {
    check(name, &stable(d, text));
}

/// [`golden`] with dates filtered too.
#[track_caller]
fn golden_dated(d: &Dir, name: &str, text: &str) {
    check(name, &stable_dates(d, text));
}

#[track_caller]
fn check(name: &str, text: &str) {
    let path = golden_dir().join(format!("{name}.txt"));
    if std::env::var_os("MBUNDLE_UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(golden_dir()).unwrap();
        fs::write(&path, text).unwrap();
        return;
    }
    let want = fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run MBUNDLE_UPDATE_GOLDEN=1 cargo test --test tests golden::",
            path.display()
        )
    });
    if want != text {
        let first = want
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(text.lines().count()));
        panic!(
            "{name}: the output changed (first at line {}); if that is meant, update with MBUNDLE_UPDATE_GOLDEN=1\n--- want\n{want}\n--- got\n{text}",
            first + 1
        );
    }
}

#[test]
fn whole_runs_print_what_they_printed() {
    let d = Dir::new();
    let src = d.copy_fixture(LINUX, "src");
    let s = src.to_str().unwrap();
    golden(&d, "ls", &d.run(&["-s", s, "ls"]).ok().stdout);
    let r = d.export_demo(&src, "all.mbundle", &["--all"]).ok();
    golden(&d, "export.stderr", &r.stderr);
    let key = demo_key();
    let k = key.to_str().unwrap();
    golden(
        &d,
        "inspect",
        &d.run(&["inspect", "all.mbundle", "-i", k]).ok().stdout,
    );
    let target = d.path("store");
    let t = target.to_str().unwrap();
    let dry = d.import_demo(&target, "all.mbundle", &["--dry-run"]).ok();
    golden(&d, "import-dry-run", &dry.stdout);
    let imported = d.import_demo(&target, "all.mbundle", &[]).ok();
    golden(&d, "import", &imported.stdout);
    golden(&d, "import.stderr", &imported.stderr);
    golden(
        &d,
        "doctor-web",
        &d.run(&["-s", t, "doctor", "web"]).ok().stdout,
    );
    for shell in ["bash", "fish", "tcsh", "powershell", "cmd"] {
        let r = d.run(&["-s", t, "env", "web", "--shell", shell]).ok();
        golden(&d, &format!("env-{shell}"), &r.stdout);
    }
    golden(
        &d,
        "verify",
        &d.run(&["verify", "all.mbundle", "-i", k]).ok().stdout,
    );
    let r = d
        .run(&["-s", t, "context", "web", "--output", "web.dockercontext"])
        .ok();
    golden(&d, "context.stderr", &r.stderr);
    let r = d.run(&["-s", t, "regenerate-certs", "web"]).ok();
    golden_dated(&d, "regenerate-certs", &r.stdout);
    let r = d.run(&["-s", t, "renew-ca"]).ok();
    golden_dated(&d, "renew-ca", &r.stdout);
}

#[test]
fn errors_say_what_to_do() {
    let d = Dir::new();
    let src = d.copy_fixture(LINUX, "src");
    let s = src.to_str().unwrap();
    let r = d.run(&["-s", s, "export", "web", "-o", "x.mbundle"]);
    golden(&d, "error-no-recipient", &r.fails(2, &[]).stderr);
    let r = d.export_demo(&src, "x.mbundle", &["nosuch"]);
    golden(&d, "error-unknown-machine", &r.fails(2, &[]).stderr);
    fs::write(d.path("plain.txt"), "hello\n").unwrap();
    let key = demo_key();
    let r = d.run(&["inspect", "plain.txt", "-i", key.to_str().unwrap()]);
    golden(&d, "error-not-age", &r.fails(1, &[]).stderr);
    d.export_demo(&src, "web.mbundle", &["web"]).ok();
    let target = d.path("store");
    d.import_demo(&target, "web.mbundle", &[]).ok();
    // web has a new server certificate since: the bundle's is another machine now.
    fs::copy(
        src.join("machines/db/server.pem"),
        target.join("machines/web/server.pem"),
    )
    .unwrap();
    let r = d.import_demo(&target, "web.mbundle", &[]);
    golden(&d, "error-conflict", &r.fails(1, &[]).stderr);
}
