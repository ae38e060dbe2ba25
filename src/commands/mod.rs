//! Resolves the parsed command line into settings and runs the command.
//!
//! Output conventions: results on stdout, progress/summary/warnings on stderr, so
//! `-o -` and `--json` stay clean for pipes.

mod completions;
mod context;
mod diff;
mod doctor;
mod env;
mod export;
mod import;
mod inspect;
mod ls;
mod man;
mod push;
mod regenerate_certs;
mod render;
mod renew_ca;
mod revoke;
mod rotate_ca;
mod share;
mod verify;

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};

pub use render::for_this_store;

use crate::cli::{Cli, Command, DecryptArgs, EncryptArgs};
use crate::error::{Error, IoContext, Result};
use crate::format::crypto::{
    parse_recipient, read_recipients_file, DecryptWith, EncryptTo, PassphraseSource,
};
use crate::store::{default_store_path, Store};

/// Runs one invocation.
/// How a command that ran to its end ends: done, or an answer a script reads from the exit
/// status (`diff`: not current). Failures are errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// `diff`: the bundle is not current with the store (exit 1, nothing on standard error).
    NotCurrent,
}

impl Outcome {
    /// The process's exit status.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::NotCurrent => 1,
        }
    }
}

/// Runs one command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    run_command(&cli).map(|done| done.unwrap_or(Outcome::Success))
}

/// The command's own outcome when it has one (`diff`), else `None` for done.
fn run_command(cli: &Cli) -> Result<Option<Outcome>> {
    if let Some(p) = &cli.storage_path {
        render::remember_store_flag(store_flag(&absolute(p)?, true));
    }
    let store_path = || -> Result<PathBuf> {
        cli.storage_path
            .clone()
            .or_else(default_store_path)
            .ok_or_else(|| {
                Error::usage(
                    "cannot find the machine store: HOME is not set",
                    "pass -s DIR",
                )
            })
    };
    let open_store = || -> Result<Store> {
        let store = Store::open(&store_path()?)?;
        finish_interrupted(&store.root)?;
        Ok(store)
    };
    // The commands that only look see a store not created yet as an empty one.
    let look_at_store = || -> Result<Store> {
        let store = Store::open_or_empty(&store_path()?)?;
        finish_interrupted(&store.root)?;
        Ok(store)
    };
    let done = match &cli.command {
        Command::Ls(a) => ls::run(&look_at_store()?, a),
        Command::Export(a) => {
            export::check(a)?;
            export::run(&open_store()?, a)
        }
        Command::Share(a) => return share::run(&open_store()?, a).map(Some),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
        Command::Import(a) => {
            import::run(&absolute(&store_path()?)?, cli.storage_path.is_some(), a)
        }
        Command::Context(a) => context::run(&open_store()?, a),
        Command::RegenerateCerts(a) => return regenerate_certs::run(&open_store()?, a).map(Some),
        Command::RenewCa(a) => return renew_ca::run(&open_store()?, a).map(Some),
        Command::Doctor(a)
            if a.names.is_empty() && a.certs_d.is_some() && cli.storage_path.is_none() =>
        {
            // Only the registry directory was asked about; a missing store is no problem.
            doctor::run(Store::open(&store_path()?).ok().as_ref(), a)
        }
        Command::Doctor(a) => doctor::run(Some(&look_at_store()?), a),
        Command::Push(a) => return push::run(&open_store()?, a).map(Some),
        Command::Revoke(a) => return revoke::run(&open_store()?, a).map(Some),
        Command::Shares(a) => revoke::list(&open_store()?, a),
        Command::RotateCa(a) => return rotate_ca::run(&open_store()?, a).map(Some),
        Command::Env(a) if a.unset => env::run(None, false, a),
        Command::Env(a) => env::run(Some(&look_at_store()?), cli.storage_path.is_some(), a),
        Command::Inspect(a) => inspect::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Diff(a) => return diff::run(&look_at_store()?, a).map(Some),
    };
    done.map(|()| None)
}

/// Finishes or removes what an interrupted import left behind, before anything reads the
/// store, and says so.
pub(super) fn finish_interrupted(root: &Path) -> Result<()> {
    let leftover = std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(crate::store::STAGING_PREFIX)
            })
        })
        .unwrap_or(false);
    // A writer holding the lock owns what is there (its staging is live): leave it be, and
    // read the store as it is; its commit renames make each machine appear whole.
    // A store this user cannot write to is read as it is.
    if leftover {
        if let Ok(Some(_lock)) = crate::fs::lock::try_lock_store(root) {
            for msg in crate::ops::import::recover(root)? {
                render::note(&msg);
            }
        }
    }
    Ok(())
}

pub(super) fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir().ctx("read", ".")?.join(p))
    }
}

pub(super) fn encrypt_to(a: &EncryptArgs) -> Result<EncryptTo> {
    let mut recipients = Vec::new();
    for r in &a.recipients {
        recipients.push(parse_recipient(r, None)?);
    }
    for f in &a.recipients_files {
        recipients.extend(read_recipients_file(f)?);
    }
    Ok(EncryptTo::new(
        recipients,
        passphrase_source(&a.passphrase_file, a.passphrase),
    ))
}

/// `--passphrase-file F` wins over `-p` (clap refuses both together anyway).
pub(super) fn passphrase_source(file: &Option<PathBuf>, prompt: bool) -> PassphraseSource {
    match (file, prompt) {
        (Some(f), _) => PassphraseSource::File(f.clone()),
        (None, true) => PassphraseSource::Prompt,
        (None, false) => PassphraseSource::None,
    }
}

pub(super) fn decrypt_with(a: &DecryptArgs) -> DecryptWith {
    DecryptWith {
        identities: a.identities.clone(),
        passphrase: passphrase_source(&a.passphrase_file, a.passphrase),
    }
}

/// The docker CLI's config directory, or a usage error saying how to name it.
pub(super) fn docker_config() -> Result<PathBuf> {
    crate::store::context::docker_config_dir().ok_or_else(|| {
        Error::usage(
            "cannot find the docker CLI's config: HOME is not set",
            "set DOCKER_CONFIG",
        )
    })
}

/// `-s STORE ` for the commands mbundle suggests, when the user named the store.
pub(super) fn store_flag(root: &Path, explicit: bool) -> String {
    if explicit {
        format!(
            "-s {} ",
            crate::store::env::shell_word(&root.display().to_string())
        )
    } else {
        String::new()
    }
}

pub(super) fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, String)> {
    if path.as_os_str() == "-" {
        if io::stdin().is_terminal() {
            return Err(Error::usage(
                "the bundle is read from standard input, which is a terminal",
                "pipe a bundle in, or give its file name",
            ));
        }
        return Ok((Box::new(io::stdin()), "standard input".into()));
    }
    let f = File::open(path).ctx("open", path)?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::usage(
            format!("{} is a directory", path.display()),
            "give the bundle file",
        ));
    }
    Ok((Box::new(f), path.display().to_string()))
}

/// What export and share check before any work, in this order: the output (`-o -` and
/// `--json` cannot share stdout), the recipients (parsed; none is refused), the output file
/// (an existing one without `--force`); then what an export killed earlier left beside the
/// output is removed, said, and SIGINT/SIGTERM/SIGHUP are caught (the temporary file is
/// removed, the progress line cleared, the exit status 128 + the signal).
pub(super) fn prepare_output(
    path: &std::path::Path,
    encrypt: &crate::cli::EncryptArgs,
    force: bool,
    json: bool,
) -> Result<(crate::ops::export::Output, EncryptTo)> {
    let output = if path.as_os_str() == "-" {
        crate::ops::export::Output::Stdout
    } else {
        crate::ops::export::Output::File(path.to_path_buf())
    };
    if json && matches!(output, crate::ops::export::Output::Stdout) {
        return Err(Error::usage(
            "--json and -o - would both write to standard output",
            "write the bundle to a file with -o FILE",
        ));
    }
    let to = encrypt_to(encrypt)?;
    if to.recipients.is_empty() && to.passphrase == PassphraseSource::None {
        return Err(Error::NoRecipients);
    }
    crate::ops::export::check_output(&output, force)?;
    if let crate::ops::export::Output::File(path) = &output {
        for n in crate::fs::outfile::remove_stale_beside(path) {
            render::note(&n);
        }
    }
    crate::signals::install();
    Ok((output, to))
}

/// How export and share write a planned bundle.
pub(super) struct Writing<'a> {
    pub(super) to: &'a EncryptTo,
    pub(super) output: &'a crate::ops::export::Output,
    pub(super) force: bool,
    /// The progress line's label.
    pub(super) label: &'a str,
    pub(super) quiet: bool,
    /// Warnings said already (an export that starts again says each once).
    pub(super) said: std::collections::BTreeSet<String>,
}

/// What export and share do once planned, alike: the plan's warnings said, the encryptor
/// built (a passphrase is asked only now, after every refusal), the bundle written with a
/// progress line (`label`, unless `quiet`).
pub(super) fn write_planned(
    plan: &crate::ops::export::ExportPlan,
    how: &mut Writing<'_>,
) -> Result<crate::ops::export::Summary> {
    let Writing {
        to,
        output,
        force,
        label,
        quiet,
        said,
    } = how;
    for w in &plan.manifest.warnings {
        if said.insert(w.clone()) {
            render::warn(w);
        }
    }
    let encryptor = to.encryptor()?;
    let progress = crate::progress::Progress::new(!*quiet);
    progress.start(plan.manifest.total_size(), label);
    let result = crate::ops::export::run(plan, encryptor, output, *force, &progress);
    progress.finish();
    result
}
