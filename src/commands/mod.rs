//! Resolves the parsed command line into settings and runs the command.
//!
//! Output conventions: results on stdout, progress/summary/warnings on stderr, so
//! `-o -` and `--json` stay clean for pipes.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::{
    Cli, Command, ContextArgs, DecryptArgs, DoctorArgs, EncryptArgs, EnvArgs, ExportArgs,
    ImportArgs, InspectArgs, LsArgs, RegenerateArgs, RenewCaArgs, VerifyArgs,
};
use crate::error::{Error, IoContext, Result};
use crate::format::bundle::{read_bundle, read_manifest, VerifyOnly};
use crate::format::crypto::{
    parse_recipient, read_recipients_file, DecryptWith, EncryptTo, PassphraseSource,
};
use crate::format::manifest::{CertRole, Manifest};
use crate::ops::export::{self, ExportRequest, Output};
use crate::ops::import::{self, ImportRequest, Placement};
use crate::pki::certs::{self, CertInfo};
use crate::store::{default_store_path, Store, CA_CERT, CLIENT_CERT};

/// Runs one invocation.
pub fn run(cli: Cli) -> Result<()> {
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
    match &cli.command {
        Command::Ls(a) => ls(&open_store()?, a),
        Command::Export(a) => export_cmd(&open_store()?, a),
        Command::Import(a) => import_cmd(&absolute(&store_path()?)?, cli.storage_path.is_some(), a),
        Command::Context(a) => context_cmd(&open_store()?, a),
        Command::RegenerateCerts(a) => regenerate_cmd(&open_store()?, a),
        Command::RenewCa(a) => renew_ca_cmd(&open_store()?, a),
        Command::Doctor(a)
            if a.names.is_empty() && a.certs_d.is_some() && cli.storage_path.is_none() =>
        {
            // Only the registry directory was asked about; a missing store is no problem.
            doctor_cmd(Store::open(&store_path()?).ok().as_ref(), a)
        }
        Command::Doctor(a) => doctor_cmd(Some(&open_store()?), a),
        Command::Env(a) if a.unset => env_cmd(None, false, a),
        Command::Env(a) => env_cmd(Some(&open_store()?), cli.storage_path.is_some(), a),
        Command::Inspect(a) => inspect(a),
        Command::Verify(a) => verify(a),
    }
}

/// Finishes or removes what an interrupted import left behind, before anything reads the
/// store, and says so.
fn finish_interrupted(root: &Path) -> Result<()> {
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
            for msg in import::recover(root)? {
                eprintln!("note: {msg}");
            }
        }
    }
    Ok(())
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir().ctx("read", ".")?.join(p))
    }
}

/// A string from a bundle or a config.json as shown on a terminal: control characters (a
/// newline, an escape sequence that would rewrite the screen) escaped.
fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// Text built from bundle or config.json values, made safe for a terminal: every control
/// character but the newlines that separate its lines is escaped.
fn terminal_safe(text: String) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text;
    }
    text.split('\n')
        .map(|line| printable(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn warn(msg: &str) {
    eprintln!("warning: {}", printable(msg));
}

/// Human-readable byte count.
pub fn human_bytes(n: u64) -> String {
    crate::error::human(n)
}

fn table(rows: &[Vec<String>]) -> String {
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

fn read_cert(path: Option<&Path>) -> Option<CertInfo> {
    let bytes = std::fs::read(path?).ok()?;
    certs::parse_pem(&bytes).ok()
}

fn short_fp(fp: &str) -> &str {
    let hex = fp.strip_prefix("sha256:").unwrap_or(fp);
    &hex[..hex.len().min(12)]
}

fn ls(store: &Store, args: &LsArgs) -> Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let mut rows = vec![vec![
        "NAME".to_string(),
        "DRIVER".into(),
        "URL".into(),
        "CA".into(),
        "CLIENT CERT EXPIRES".into(),
        "SERVER CERT EXPIRES".into(),
    ]];
    let mut out_json = Vec::new();
    // CAs that expired or expire within 90 days, each reported once.
    let mut ca_alerts: Vec<(PathBuf, CertInfo)> = Vec::new();
    for name in store.machine_names()? {
        let m = match store.machine(&name) {
            Ok(m) => m,
            Err(e) => {
                rows.push(vec![name.clone(), "?".into(), format!("(error: {e})")]);
                out_json.push(json!({"name": name, "error": e.to_string()}));
                continue;
            }
        };
        let members = m.issuing_material(store);
        let path_of = |n: &str| {
            members
                .iter()
                .find(|f| f.name == n)
                .map(|f| f.local.as_path())
        };
        let ca_path = path_of(CA_CERT);
        let ca = read_cert(ca_path);
        let client = read_cert(path_of(CLIENT_CERT));
        let server = read_cert(m.server_cert(store).as_deref());
        if let (Some(p), Some(c)) = (ca_path, &ca) {
            if (c.not_after - now).whole_days() < 90
                && !ca_alerts
                    .iter()
                    .any(|(_, x)| x.fingerprint == c.fingerprint)
            {
                ca_alerts.push((p.to_path_buf(), c.clone()));
            }
        }
        let where_ca = match ca_path {
            Some(p) if p.starts_with(store.certs_dir()) => "certs/",
            Some(p) if p.starts_with(&m.dir) => "machine copy",
            Some(_) => "custom",
            None => "",
        };
        let ca_text = match (&ca, &server) {
            (Some(ca), Some(srv)) if srv.issuer != ca.subject => format!(
                "{} [{}] (server cert issued by {:?}, not this CA)",
                ca.name,
                short_fp(&ca.fingerprint),
                srv.issuer
            ),
            (Some(ca), _) => format!("{} [{}] {}", ca.name, short_fp(&ca.fingerprint), where_ca),
            (None, _) if ca_path.is_some() => "(unreadable ca.pem)".into(),
            (None, _) => "(none found)".into(),
        };
        let exp = |c: &Option<CertInfo>| {
            c.as_ref()
                .map(|c| certs::expiry_text(c.not_after, now))
                .unwrap_or_else(|| "-".into())
        };
        rows.push(vec![
            m.name.clone(),
            m.driver().to_string(),
            m.url().unwrap_or_else(|| "-".into()),
            ca_text,
            exp(&client),
            exp(&server),
        ]);
        out_json.push(json!({
            "name": m.name,
            "driver": m.driver(),
            "url": m.url(),
            "ca": ca.as_ref().map(|c| json!({
                "name": c.name,
                "subject": c.subject,
                "fingerprint": c.fingerprint,
                "not_after": certs::rfc3339(c.not_after),
                "location": where_ca,
            })),
            "client_cert_not_after": client.as_ref().map(|c| certs::rfc3339(c.not_after)),
            "server_cert_not_after": server.as_ref().map(|c| certs::rfc3339(c.not_after)),
            "server_cert_issued_by_ca": match (&ca, &server) {
                (Some(ca), Some(s)) => Some(s.issuer == ca.subject),
                _ => None,
            },
        }));
    }
    for (path, ca) in &ca_alerts {
        let date = &certs::rfc3339(ca.not_after)[..10];
        let when = if ca.not_after <= now {
            format!("expired on {date}")
        } else {
            format!("expires on {date}")
        };
        warn(&format!(
            "the CA \"{}\" ({}) {when}; {}",
            ca.name,
            crate::store::paths::display_under(path, &store.root),
            crate::ops::doctor::renew_ca_hint(store, path)
        ));
    }
    if args.json {
        print(&json_text(&out_json))
    } else if rows.len() == 1 {
        eprintln!("no machines in {}", store.root.display());
        Ok(())
    } else {
        print(&table(&rows))
    }
}

fn encrypt_to(a: &EncryptArgs) -> Result<EncryptTo> {
    let mut recipients = Vec::new();
    for r in &a.recipients {
        recipients.push(parse_recipient(r, None)?);
    }
    for f in &a.recipients_files {
        recipients.extend(read_recipients_file(f)?);
    }
    Ok(EncryptTo {
        recipients,
        passphrase: passphrase_source(&a.passphrase_file, a.passphrase),
    })
}

/// `--passphrase-file F` wins over `-p` (clap refuses both together anyway).
fn passphrase_source(file: &Option<PathBuf>, prompt: bool) -> PassphraseSource {
    match (file, prompt) {
        (Some(f), _) => PassphraseSource::File(f.clone()),
        (None, true) => PassphraseSource::Prompt,
        (None, false) => PassphraseSource::None,
    }
}

fn decrypt_with(a: &DecryptArgs) -> DecryptWith {
    DecryptWith {
        identities: a.identities.clone(),
        passphrase: passphrase_source(&a.passphrase_file, a.passphrase),
    }
}

/// The docker CLI's config directory, or a usage error saying how to name it.
fn docker_config() -> Result<PathBuf> {
    crate::store::context::docker_config_dir().ok_or_else(|| {
        Error::usage(
            "cannot find the docker CLI's config: HOME is not set",
            "set DOCKER_CONFIG",
        )
    })
}

/// `-s STORE ` for the commands mbundle suggests, when the user named the store.
fn store_flag(root: &Path, explicit: bool) -> String {
    if explicit {
        format!(
            "-s {} ",
            crate::store::env::shell_word(&root.display().to_string())
        )
    } else {
        String::new()
    }
}

fn export_cmd(store: &Store, a: &ExportArgs) -> Result<()> {
    let output = if a.output.as_os_str() == "-" {
        Output::Stdout
    } else {
        Output::File(a.output.clone())
    };
    // Cheap refusals first: bad recipients, existing output, no encryption.
    let to = encrypt_to(&a.encrypt)?;
    if to.recipients.is_empty() && to.passphrase == PassphraseSource::None {
        return Err(Error::NoRecipients);
    }
    export::check_output(&output, a.force)?;
    // SIGINT/SIGTERM/SIGHUP stop the export at the next block: the temporary file is
    // removed, the progress line cleared, and the exit status is 128 + the signal.
    crate::signals::install();
    let plan = export::plan(
        store,
        &ExportRequest {
            names: a.names.clone(),
            all: a.all,
            include_disks: a.include_disks,
        },
    )?;
    for w in &plan.manifest.warnings {
        warn(w);
    }
    let encryptor = to.encryptor()?;
    let progress =
        crate::progress::Progress::bytes(plan.manifest.total_size(), "exporting", !a.quiet);
    let result = export::run(&plan, encryptor, &output, a.force, &progress);
    progress.finish();
    let summary = result?;
    if !a.quiet {
        let m = &plan.manifest;
        if !m.excluded.is_empty() {
            eprintln!(
                "left out {} file(s), {}:",
                summary.excluded,
                human_bytes(summary.excluded_bytes)
            );
            for e in &m.excluded {
                eprintln!("  {}  {}  {}", e.path, human_bytes(e.size), e.why);
            }
        }
        let dest = match &output {
            Output::Stdout => "standard output".to_string(),
            Output::File(p) => p.display().to_string(),
        };
        eprintln!(
            "exported {} machine(s), {} cert set(s), {} files ({} in, {} bundle) to {} in {:.2}s",
            summary.machines,
            summary.certsets,
            summary.files,
            human_bytes(summary.bytes_in),
            human_bytes(summary.bytes_out),
            dest,
            summary.seconds
        );
    }
    Ok(())
}

fn open_input(path: &Path) -> Result<(Box<dyn Read>, String)> {
    if path.as_os_str() == "-" {
        if io::stdin().is_terminal() {
            return Err(Error::usage(
                "the bundle is read from standard input, which is a terminal",
                "pipe a bundle in, or give its file name",
            ));
        }
        return Ok((Box::new(io::stdin().lock()), "standard input".into()));
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

fn inspect(a: &InspectArgs) -> Result<()> {
    let (input, what) = open_input(&a.bundle)?;
    let manifest = read_manifest(input, &decrypt_with(&a.decrypt), &what)?;
    if a.json {
        print(&json_text(&manifest))
    } else {
        print(&terminal_safe(describe(&manifest, &what)))
    }
}

/// The human description of a bundle `inspect` prints. Holds nothing secret: the manifest
/// has names, drivers, URLs, fingerprints and sizes, never config.json's content.
pub fn describe(m: &Manifest, what: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let mut s = String::new();
    s.push_str(&format!("bundle:   {what}\n"));
    s.push_str(&format!(
        "format:   mbundle v{}, written by {} at {}\n",
        m.format_version, m.tool, m.created_at
    ));
    s.push_str(&format!(
        "source:   {} store {}{}\n",
        m.source.os,
        m.source.store,
        m.source
            .home
            .as_ref()
            .map(|h| format!(" (home {h})"))
            .unwrap_or_default()
    ));
    s.push_str(&format!(
        "contents: {} machine(s), {} cert set(s), {} files, {}\n",
        m.machines.len(),
        m.certsets.len(),
        m.files.len(),
        human_bytes(m.total_size())
    ));
    if !m.machines.is_empty() {
        s.push_str("\nmachines:\n");
        let mut rows = vec![vec![
            "  NAME".to_string(),
            "DRIVER".into(),
            "URL".into(),
            "CERT SET".into(),
            "FILES".into(),
        ]];
        for mach in &m.machines {
            rows.push(vec![
                format!("  {}", mach.name),
                mach.driver.clone(),
                mach.url.clone().unwrap_or_else(|| "-".into()),
                mach.certset.clone().unwrap_or_else(|| "(none)".into()),
                mach.files.len().to_string(),
            ]);
        }
        s.push_str(&table(&rows));
        for mach in &m.machines {
            for a in &mach.absent {
                s.push_str(&format!(
                    "  {}: {} names {} (absent at export)\n",
                    mach.name, a.field, a.path
                ));
            }
            for e in &mach.external {
                s.push_str(&format!(
                    "  {}: {} names {} (outside the store, not carried)\n",
                    mach.name, e.field, e.path
                ));
            }
        }
    }
    if !m.certsets.is_empty() {
        s.push_str("\ncert sets:\n");
        for c in &m.certsets {
            let role = match c.role {
                CertRole::Default => "the store's certs/",
                CertRole::Custom => "custom CA outside the store",
                CertRole::Machine => "rebuilt from machine copies",
            };
            s.push_str(&format!(
                "  {}  CA {:?}  {}  ({role})\n",
                c.id,
                c.ca_name.as_deref().unwrap_or("?"),
                c.ca_fingerprint
            ));
            let exp = c
                .not_after
                .as_deref()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|t| certs::expiry_text(t, now))
                .unwrap_or_else(|| "unknown".into());
            s.push_str(&format!("      CA expires {exp}\n"));
            let names: Vec<&str> = c.members.iter().map(|x| x.name.as_str()).collect();
            s.push_str(&format!("      carries {}", names.join(" ")));
            if !c.missing.is_empty() {
                s.push_str(&format!("; absent: {}", c.missing.join(" ")));
            }
            s.push('\n');
            if !c.machines.is_empty() {
                s.push_str(&format!("      used by {}\n", c.machines.join(", ")));
            }
        }
    }
    if !m.excluded.is_empty() {
        let total: u64 = m.excluded.iter().map(|e| e.size).sum();
        s.push_str(&format!(
            "\nleft out ({} files, {}):\n",
            m.excluded.len(),
            human_bytes(total)
        ));
        for e in &m.excluded {
            s.push_str(&format!(
                "  {}  {}  {}\n",
                e.path,
                human_bytes(e.size),
                e.why
            ));
        }
    }
    if !m.warnings.is_empty() {
        s.push_str("\nwarnings at export:\n");
        for w in &m.warnings {
            s.push_str(&format!("  {w}\n"));
        }
    }
    s
}

fn import_cmd(root: &Path, explicit_store: bool, a: &ImportArgs) -> Result<()> {
    let mut renames = Vec::new();
    for r in &a.renames {
        renames.push(import::parse_rename(r)?);
    }
    let docker_context = if a.docker_context {
        Some(docker_config()?)
    } else {
        None
    };
    let req = ImportRequest {
        renames,
        docker_context: docker_context.clone(),
        progress: !a.quiet,
    };
    let keys = decrypt_with(&a.decrypt);
    let (input, what) = open_input(&a.bundle)?;
    let store_flag = store_flag(root, explicit_store);
    if a.dry_run {
        let report = import::dry_run(root, input, &keys, &what, &req)?;
        for w in &report.warnings {
            warn(w);
        }
        print!(
            "{}",
            terminal_safe(describe_import(&report, root, true, &store_flag))
        );
        return Ok(());
    }
    // Ctrl-C and SIGTERM stop the import between files; staging is then removed. The
    // commit itself is never interrupted half-way.
    crate::signals::install();
    let report = import::run(root, input, &keys, &what, &req)?;
    for msg in &report.recovered {
        eprintln!("note: {msg}");
    }
    for w in &report.warnings {
        warn(w);
    }
    if !a.quiet {
        print!(
            "{}",
            terminal_safe(describe_import(&report, root, false, &store_flag))
        );
    }
    if let Some(cfg) = &docker_context {
        let store = Store::open(root)?;
        for (_, name, _) in &report.machines {
            let m = store.machine(name)?;
            let spec = crate::store::context::ContextSpec::for_machine(&store, &m, name)?;
            crate::store::context::write_into_store(cfg, &spec)?;
            if !a.quiet {
                println!("docker context {name} created: docker --context {name} version");
            }
        }
    }
    Ok(())
}

fn doctor_cmd(store: Option<&Store>, a: &DoctorArgs) -> Result<()> {
    use crate::ops::doctor::{check_certs_d, check_machine, Finding, Level};
    let now = time::OffsetDateTime::now_utc();
    let mut out = String::new();
    let (mut errors, mut warnings) = (0usize, 0usize);
    let mut show = |title: String, findings: &[Finding], out: &mut String| {
        out.push_str(&title);
        out.push('\n');
        for x in findings {
            out.push_str(&format!("  {:<5} {}\n", x.level.label(), x.text));
            if let Some(fix) = &x.fix {
                if x.level >= Level::Warn {
                    out.push_str(&format!("        -> {fix}\n"));
                }
            }
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
            let findings = check_machine(store, &m, now);
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
    if checked == 0 {
        return Err(Error::usage(
            "nothing to check: the store has no machines",
            "name machines, or give --certs-d DIR",
        ));
    }
    out.push_str(&format!(
        "{checked} checked: {errors} error(s), {warnings} warning(s)\n"
    ));
    print(&out)?;
    if errors > 0 {
        return Err(Error::Unhealthy(errors));
    }
    Ok(())
}

/// Writes what a command prints to standard output.
fn print(text: &str) -> Result<()> {
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .ctx("write", "standard output")
}

/// `--json` output: pretty-printed, one trailing newline.
fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

fn regenerate_cmd(store: &Store, a: &RegenerateArgs) -> Result<()> {
    let _lock = crate::fs::lock::lock_store(&store.root)?;
    let m = store.machine(&a.name)?;
    let r = crate::ops::lifecycle::regenerate(store, &m, a.ip.as_deref(), &a.sans)?;
    if a.json {
        return print(&json_text(&r));
    }
    let mut out = String::new();
    out.push_str(&format!(
        "new server certificate for {}: {}\n  names {}, valid until {}\n",
        r.machine,
        r.server_cert.display(),
        r.sans.join(", "),
        &r.not_after[..10]
    ));
    if let Some(ip) = &r.new_address {
        out.push_str(&format!(
            "  config.json now gives the machine's address as {ip}\n"
        ));
    }
    for k in &r.kept {
        out.push_str(&format!("  kept the old file as {}\n", k.display()));
    }
    out.push_str("\nFinish on the host: copy these files and restart its docker daemon\n");
    for c in &r.copy {
        out.push_str(&format!("  {}  ->  {}\n", c.local.display(), c.remote));
    }
    if let Some(why) = &r.commands_withheld {
        out.push_str(&format!("({why}: copy them by your own means)\n"));
    } else if r.commands.is_empty() {
        out.push_str(
            "(the machine has no SSH key or user in config.json: copy them by your own means)\n",
        );
    } else {
        out.push_str("with the machine's SSH key:\n");
        for c in &r.commands {
            out.push_str(&format!("  {c}\n"));
        }
    }
    print(&out)
}

fn renew_ca_cmd(store: &Store, a: &RenewCaArgs) -> Result<()> {
    if a.days < 1 || a.days > 36500 {
        return Err(Error::usage(
            "--days must be between 1 and 36500",
            "e.g. --days 3650",
        ));
    }
    let dir = match &a.cert_set {
        Some(id) => {
            crate::format::manifest::check_certset_id(id).map_err(|e| {
                Error::usage(
                    format!("--cert-set {id:?}: {e}"),
                    "the id is the directory name under imported-certs/",
                )
            })?;
            store.root.join(crate::store::IMPORTED_CERTS).join(id)
        }
        None => store.certs_dir(),
    };
    let _lock = crate::fs::lock::lock_store(&store.root)?;
    let r = crate::ops::lifecycle::renew_ca(store, &dir, a.days)?;
    if a.json {
        return print(&json_text(&r));
    }
    let mut out = String::new();
    out.push_str(&format!(
        "renewed {} with the same key and subject, valid until {}\n",
        r.ca_cert.display(),
        &r.not_after[..10]
    ));
    for k in &r.kept {
        out.push_str(&format!("  kept the old file as {}\n", k.display()));
    }
    if !r.machines.is_empty() {
        out.push_str(&format!(
            "  updated the copy in machines: {}\n",
            r.machines.join(", ")
        ));
    }
    out.push_str("Every certificate this CA issued still verifies. Copy the new ca.pem to each host's /etc/docker/ca.pem and restart docker there (`mbundle regenerate-certs NAME` prints the commands).\n");
    print(&out)
}

fn context_cmd(store: &Store, a: &ContextArgs) -> Result<()> {
    let m = store.machine(&a.name)?;
    let name = a.context_name.clone().unwrap_or_else(|| m.name.clone());
    let spec = crate::store::context::ContextSpec::for_machine(store, &m, &name)?;
    match &a.output {
        Some(out) => {
            crate::store::context::write_export_file(out, &spec, a.force)?;
            eprintln!(
                "wrote {}: import it with docker context import {name} {}",
                out.display(),
                crate::store::env::shell_word(&out.display().to_string())
            );
        }
        None => {
            let cfg = docker_config()?;
            crate::store::context::write_into_store(&cfg, &spec)?;
            eprintln!("docker context {name} created: docker --context {name} version");
        }
    }
    Ok(())
}

/// The import report (or, for a dry run, the plan).
pub fn describe_import(r: &import::Report, root: &Path, dry: bool, store_flag: &str) -> String {
    let mut s = String::new();
    if dry {
        s.push_str(&format!(
            "import plan for {} (dry run: nothing written)\n",
            root.display()
        ));
    } else {
        s.push_str(&format!(
            "imported {} machine(s) into {}\n",
            r.machines.len(),
            root.display()
        ));
    }
    for (src, dst, dir) in &r.machines {
        let renamed = if src != dst {
            format!(" (renamed from {src})")
        } else {
            String::new()
        };
        s.push_str(&format!("  machine {dst}: {}{renamed}\n", dir.display()));
    }
    for (id, ca, placement, dir, writes) in &r.sets {
        let ca = ca
            .as_deref()
            .map(|c| format!(" (CA {c:?})"))
            .unwrap_or_default();
        let what = match placement {
            Placement::ReuseDefault => format!("identical to {}, reused", dir.display()),
            Placement::NewDefault => {
                format!("becomes the store's {} (there was none)", dir.display())
            }
            Placement::Imported if *writes == 0 => format!("already in {}, reused", dir.display()),
            Placement::Imported => format!("{} (beside certs/, never replacing it)", dir.display()),
        };
        s.push_str(&format!("  cert set {id}{ca}: {what}\n"));
    }
    let total: usize = r.changes.iter().map(|(_, c)| c.len()).sum();
    if dry {
        s.push_str(&format!("config.json rewrites ({total}):\n"));
        for (m, changes) in &r.changes {
            for c in changes {
                s.push_str(&format!(
                    "  {m}: {}: {} -> {}\n",
                    c.field,
                    printable(&c.from),
                    printable(&c.to)
                ));
            }
        }
    } else {
        s.push_str(&format!(
            "rewrote {total} path(s) in config.json (--dry-run lists them)\n"
        ));
    }
    if !r.untouched.is_empty() {
        s.push_str("left as they are (outside anything the bundle carries):\n");
        for (m, list) in &r.untouched {
            for u in list {
                s.push_str(&format!("  {m}: {} = {}\n", u.field, printable(&u.path)));
            }
        }
    }
    if !r.missing.is_empty() {
        s.push_str("named in config.json but absent (they were absent when exported):\n");
        for (m, field, path) in &r.missing {
            s.push_str(&format!("  {m}: {field} = {}\n", printable(path)));
        }
    }
    if !dry {
        s.push_str(&format!(
            "{} machine(s), {} cert set(s), {} files, {} written in {:.2}s\n",
            r.machines.len(),
            r.sets.len(),
            r.files_written,
            human_bytes(r.bytes_written),
            r.seconds
        ));
        if let Some((_, name, _)) = r.machines.first() {
            s.push_str(&format!("use it: eval $(mbundle {store_flag}env {name})\n"));
        }
    }
    s
}

fn env_cmd(store: Option<&Store>, explicit_store: bool, a: &EnvArgs) -> Result<()> {
    let shell = a.shell.unwrap_or_else(crate::store::env::Shell::detect);
    let word = |w: &str| {
        shell.word(w).map_err(|why| {
            Error::usage(
                format!(
                    "cannot print {} for {shell:?}: {why}",
                    crate::store::fields::shown(w)
                ),
                "use another --shell, or a store path without it",
            )
        })
    };
    let store_flag = match store {
        Some(s) if explicit_store => format!("-s {} ", word(&s.root.display().to_string())?),
        _ => String::new(),
    };
    let shell_flag = a
        .shell
        .map(|s| format!(" --shell {}", format!("{s:?}").to_lowercase()))
        .unwrap_or_default();
    let text = if a.unset {
        let values: Vec<(&str, String)> = crate::store::env::VARS
            .iter()
            .map(|v| (*v, String::new()))
            .collect();
        crate::store::env::render(shell, &values, true, &format!("mbundle env -u{shell_flag}"))
    } else {
        let Some(store) = store else {
            return Err(Error::usage("env needs a machine name", "mbundle env NAME"));
        };
        let name = a.name.as_deref().unwrap_or_default();
        let m = store.machine(name)?;
        let bad = |reason: String| Error::BadConfig {
            name: name.to_string(),
            path: m.dir.join("config.json"),
            reason,
        };
        let url = m
            .url()
            .ok_or_else(|| bad("it holds no URL or IP address for the machine's daemon".into()))?;
        // DOCKER_HOST goes into text the user evaluates: only what docker-machine writes.
        crate::store::fields::check_url(&url).map_err(|why| {
            bad(format!(
                "the daemon URL {} {why}; no docker-machine writes that, so it is not printed for a shell (see mbundle doctor)",
                crate::store::fields::shown(&url)
            ))
        })?;
        for f in [CA_CERT, CLIENT_CERT, "key.pem"] {
            if !m.dir.join(f).is_file() {
                warn(&format!(
                    "{} is missing: the docker CLI needs it in DOCKER_CERT_PATH",
                    m.dir.join(f).display()
                ));
            }
        }
        let values = vec![
            ("DOCKER_TLS_VERIFY", "1".to_string()),
            ("DOCKER_HOST", url),
            ("DOCKER_CERT_PATH", m.dir.display().to_string()),
            ("DOCKER_MACHINE_NAME", m.name.clone()),
        ];
        crate::store::env::render(
            shell,
            &values,
            false,
            &format!("mbundle {store_flag}env {}{shell_flag}", word(&m.name)?),
        )
    };
    let text = text.map_err(|why| {
        Error::usage(
            why,
            "use another --shell, or move the store to a plainer path",
        )
    })?;
    print(&text)
}

fn verify(a: &VerifyArgs) -> Result<()> {
    let (input, what) = open_input(&a.bundle)?;
    let m = read_bundle(input, &decrypt_with(&a.decrypt), &what, &mut VerifyOnly)?;
    if !a.quiet {
        println!(
            "OK: {what}: all {} files ({}) match their sha256; {} machine(s), {} cert set(s)",
            m.files.len(),
            human_bytes(m.total_size()),
            m.machines.len(),
            m.certsets.len()
        );
    }
    Ok(())
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
