//! `mbundle man DIR`: the manual pages, generated from the command line itself (clap_mangen),
//! one for `mbundle` and one per command as git does it. Examples are set in no-fill mode so
//! `man` never reflows a command line; the help command has no page (it is `--help`).

use clap::CommandFactory;
use roff::{roman, Roff};

use crate::cli::{Cli, ManArgs};
use crate::error::{IoContext, Result};

pub(super) fn run(a: &ManArgs) -> Result<()> {
    std::fs::create_dir_all(&a.dir).ctx("create", &a.dir)?;
    for (name, page) in pages() {
        let path = a.dir.join(&name);
        crate::fs::outfile::write_atomic(&path, &page, 0o644)?;
    }
    eprintln!("wrote the manual pages into {}", a.dir.display());
    Ok(())
}

/// Every page: (file name, content).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = Cli::command().disable_help_subcommand(true);
    let mut pages = vec![("mbundle.1".to_string(), page(cmd.clone()))];
    for sub in cmd.get_subcommands() {
        let name = format!("mbundle-{}", sub.get_name());
        // Global options (-s) belong on every page.
        let mut sub = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("mbundle {}", sub.get_name()));
        for arg in cmd.get_arguments().filter(|a| a.is_global_set()) {
            sub = sub.arg(arg.clone());
        }
        pages.push((format!("{name}.1"), page(sub)));
    }
    pages
}

/// One page: clap_mangen's sections, with the after-help text as an EXAMPLES section whose
/// command lines are kept as written and a NOTES paragraph.
fn page(cmd: clap::Command) -> Vec<u8> {
    let after = cmd
        .get_after_help()
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd.after_help(None::<&str>)).render(&mut out);
    if after.is_empty() {
        return out;
    }
    let mut examples = Vec::new();
    let mut notes = Vec::new();
    for line in after.lines() {
        if let Some(ex) = line.strip_prefix("  ") {
            examples.push(ex.to_string());
        } else if line != "Examples:" {
            notes.push(line.to_string());
        }
    }
    let mut roff = Roff::default();
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        roff.control("nf", [] as [&str; 0]);
        for ex in &examples {
            roff.text([roman(ex.as_str())]);
        }
        roff.control("fi", [] as [&str; 0]);
    }
    let notes = notes.join("\n");
    let paragraphs: Vec<String> = notes
        .split("\n\n")
        .map(|p| {
            p.split('\n')
                .collect::<Vec<_>>()
                .join(" ")
                .trim()
                .to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    if !paragraphs.is_empty() {
        roff.control("SH", ["NOTES"]);
        // No hyphenation: an option split as --in-/clude-disks reads as another option.
        roff.control("nh", [] as [&str; 0]);
        for (i, p) in paragraphs.iter().enumerate() {
            if i > 0 {
                roff.control("PP", [] as [&str; 0]);
            }
            roff.text([roman(p.as_str())]);
        }
    }
    let extra = roff.render();
    // Before the VERSION section clap_mangen ends with, as man pages order them.
    let text = String::from_utf8_lossy(&out).into_owned();
    let spliced = match text.find("\n.SH VERSION") {
        Some(at) => format!(
            "{}\n{}{}",
            &text[..at],
            strip_preamble(&extra),
            &text[at + 1..]
        ),
        None => format!("{text}{}", strip_preamble(&extra)),
    };
    spliced.into_bytes()
}

/// A second copy of roff's apostrophe preamble is noise: the page has one already.
fn strip_preamble(text: &str) -> &str {
    let mut rest = text;
    for _ in 0..2 {
        if rest.starts_with(".ie ") || rest.starts_with(".el ") {
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    #[test]
    fn examples_are_never_reflowed() {
        let pages = super::pages();
        let (_, export) = pages.iter().find(|(n, _)| n == "mbundle-export.1").unwrap();
        let text = String::from_utf8_lossy(export);
        let at = text
            .find(".SH EXAMPLES\n.nf\n")
            .expect("an EXAMPLES section in no-fill mode");
        assert!(text[at..].contains(".fi\n"));
        assert!(text.contains(
            "mbundle export \\-\\-all \\-R team\\-recipients.txt \\-o store\\-backup.mbundle\n"
        ));
        assert!(!pages.iter().any(|(n, _)| n == "mbundle-help.1"));
        assert!(!text.contains("mbundle\\-help"));
    }
}
