//! `mbundle doctor`: each machine's findings, and the registry certificate directory's.

use super::render::*;
use crate::cli::DoctorArgs;
use crate::error::{Error, Result};
use crate::store::Store;

pub(super) fn run(store: Option<&Store>, a: &DoctorArgs) -> Result<()> {
    use crate::ops::doctor::{check_certs_d, check_machine, Finding, Level};
    let now = time::OffsetDateTime::now_utc();
    let mut out = String::new();
    let mut subjects: Vec<serde_json::Value> = Vec::new();
    let (mut errors, mut warnings) = (0usize, 0usize);
    let verbose = a.verbose;
    let mut show = |title: String, findings: &[Finding], out: &mut String| {
        subjects.push(serde_json::json!({
            "subject": title,
            "findings": findings.iter().map(|x| serde_json::json!({
                "level": x.level.label().to_ascii_lowercase(),
                "text": x.text,
                "fix": x.fix,
            })).collect::<Vec<_>>(),
        }));
        out.push_str(&lines(&title, findings, verbose));
        for x in findings {
            match x.level {
                Level::Error => errors += 1,
                Level::Warn => warnings += 1,
                _ => {}
            }
        }
    };
    let mut checked = 0;
    if let Some(store) = store {
        let names = if a.names.is_empty() {
            if a.certs_d.is_some() {
                Vec::new()
            } else {
                store.machine_names()?
            }
        } else {
            a.names.clone()
        };
        for name in &names {
            let m = store.machine(name)?;
            let mut findings = check_machine(store, &m, now);
            if a.hosts {
                findings.extend(crate::ops::doctor::check_host(store, &m));
            }
            let title = format!(
                "machine {} ({}, {})",
                m.name,
                m.driver(),
                m.url().unwrap_or_else(|| "no URL".into())
            );
            show(title, &findings, &mut out);
            checked += 1;
        }
    }
    if let Some(dir) = &a.certs_d {
        let dirs = check_certs_d(dir, now).map_err(|e| {
            Error::usage(e, "give the certs.d directory or one registry's directory")
        })?;
        if dirs.is_empty() {
            return Err(Error::usage(
                format!(
                    "{} holds no registry directories and no .crt/.cert/.key files",
                    dir.display()
                ),
                "give /etc/docker/certs.d or one registry's directory in it",
            ));
        }
        for (d, findings) in dirs {
            show(
                format!("registry certificates {}", d.display()),
                &findings,
                &mut out,
            );
            checked += 1;
        }
    }
    if a.json {
        print(&json_text(
            &serde_json::json!({"checked": subjects, "errors": errors, "warnings": warnings}),
        ))?;
    } else if checked == 0 {
        // A fresh laptop or an emptied store: nothing is unhealthy.
        let root = store
            .map(|s| s.root.display().to_string())
            .unwrap_or_default();
        eprintln!("no machines in {root}: nothing to check");
        return Ok(());
    } else {
        out.push_str(&summary(checked, errors, warnings, a.verbose));
        print(&terminal_safe(out))?;
    }
    if errors > 0 {
        return Err(Error::Unhealthy(errors));
    }
    Ok(())
}

/// The closing line: how many subjects, how many errors and warnings, and what `-v` adds.
fn summary(checked: usize, errors: usize, warnings: usize, verbose: bool) -> String {
    let rest = if verbose {
        ""
    } else if errors + warnings == 0 {
        " (-v prints every check)"
    } else {
        " (-v prints every check, not only these)"
    };
    let what = if errors + warnings == 0 {
        ", all OK"
    } else {
        ""
    };
    format!("{checked} checked{what}: {errors} error(s), {warnings} warning(s){rest}\n")
}

/// One subject's findings as text: its title, a line per finding, the fix under each
/// warning or error; without `verbose`, only its warnings and errors (nothing when it has
/// none). Every value escaped: findings quote config.json and file names.
fn lines(title: &str, findings: &[crate::ops::doctor::Finding], verbose: bool) -> String {
    use crate::ops::doctor::Level;
    let shown: Vec<_> = findings
        .iter()
        .filter(|x| verbose || x.level >= Level::Warn)
        .collect();
    if shown.is_empty() && !verbose {
        return String::new();
    }
    let mut out = format!("{}\n", printable(title));
    for x in shown {
        out.push_str(&format!(
            "  {:<5} {}\n",
            x.level.label(),
            printable(&x.text)
        ));
        if let Some(fix) = &x.fix {
            if x.level >= Level::Warn {
                out.push_str(&format!("        -> {}\n", printable(&for_this_store(fix))));
            }
        }
    }
    out
}
