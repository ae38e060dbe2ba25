//! Docker's `certs.d` registry directories, checked against the naming rules of
//! `shared/reference/docker-certs-d.md`: `NAME.crt` is a CA root, `NAME.cert` + `NAME.key` a
//! client pair (a CA saved as `.cert` is the classic mistake).

use std::fs;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::*;

/// Checks a certs.d tree: either one registry directory (holding `.crt`/`.cert`/`.key`
/// files) or a directory of them (`/etc/docker/certs.d`). Returns (registry dir, findings).
pub fn check_certs_d(
    dir: &Path,
    now: OffsetDateTime,
) -> Result<Vec<(PathBuf, Vec<Finding>)>, String> {
    let entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    let holds_certs = entries.iter().any(|p| {
        p.is_file()
            && matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("crt" | "cert" | "key")
            )
    });
    let mut dirs: Vec<PathBuf> = if holds_certs {
        vec![dir.to_path_buf()]
    } else {
        entries.into_iter().filter(|p| p.is_dir()).collect()
    };
    dirs.sort();
    Ok(dirs
        .into_iter()
        .map(|d| {
            let findings = check_registry_dir(&d, now);
            (d, findings)
        })
        .collect())
}

fn check_registry_dir(dir: &Path, now: OffsetDateTime) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = file_name(dir);
    if let Some((host, port)) = name.rsplit_once(':') {
        if host.is_empty() || port.parse::<u16>().map(|p| p == 0).unwrap_or(true) {
            out.push(f(
                Level::Error,
                format!("directory name {name:?} is not host:port"),
                Some("name it after the registry as you address it: registry.example.com:5000, or just the host for port 443".into()),
            ));
        }
    }
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for p in &files {
        match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
            "crt" => check_crt(p, now, &mut out),
            "cert" => check_cert(p, now, &mut out),
            "key" => check_key(p, &mut out),
            "pem" => out.push(f(
                Level::Warn,
                format!(
                    "{} is ignored by docker: it reads only .crt, .cert and .key",
                    file_name(p)
                ),
                Some(format!(
                    "a CA goes in {}.crt; a client pair in NAME.cert + NAME.key",
                    stem(p)
                )),
            )),
            _ => {}
        }
    }
    if !files.iter().any(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("crt" | "cert" | "key")
        )
    }) {
        out.push(f(Level::Warn, "no .crt, .cert or .key files here", None));
    }
    out
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `NAME.crt`: a CA root docker trusts for the registry.
fn check_crt(p: &Path, now: OffsetDateTime, out: &mut Vec<Finding>) {
    match load(p) {
        Err(e) => out.push(f(Level::Error, format!("{}: {e}", file_name(p)), None)),
        Ok(c) if !c.info.is_ca => out.push(f(
            Level::Warn,
            format!(
                "{} is not a CA certificate, yet .crt files are trusted as CA roots",
                file_name(p)
            ),
            Some(format!(
                "if it is a client certificate, name it {}.cert and give it {}.key",
                stem(p),
                stem(p)
            )),
        )),
        Ok(c) => {
            out.push(f(
                Level::Ok,
                format!("{} is a CA root (\"{}\")", file_name(p), c.info.name),
                None,
            ));
            expiry(
                &file_name(p),
                &c,
                now,
                "get a current CA certificate from the registry's operator",
                out,
            );
        }
    }
}

/// `NAME.cert`: a client certificate, paired with `NAME.key`.
fn check_cert(p: &Path, now: OffsetDateTime, out: &mut Vec<Finding>) {
    let key = p.with_extension("key");
    let c = match load(p) {
        Err(e) => return out.push(f(Level::Error, format!("{}: {e}", file_name(p)), None)),
        Ok(c) => c,
    };
    if c.info.is_ca {
        return out.push(f(
            Level::Error,
            format!(
                "{} is a CA certificate saved as .cert: docker reads .cert as a client certificate and fails with \"Missing key {}.key for client certificate {}\"",
                file_name(p),
                stem(p),
                file_name(p)
            ),
            Some(format!("rename it to {}.crt (CA certificates use .crt)", stem(p))),
        ));
    }
    if !key.is_file() {
        out.push(f(
            Level::Error,
            format!(
                "Missing key {}.key for client certificate {}",
                stem(p),
                file_name(p)
            ),
            Some(format!("put the client key beside it as {}.key", stem(p))),
        ));
    } else {
        let what = format!("client certificate {}", file_name(p));
        key_check(&what, &c, &key, &file_name(&key), out);
    }
    if !certs::allows_client_auth(&c.der) {
        out.push(f(
            Level::Warn,
            format!(
                "{} does not allow TLS client authentication (extendedKeyUsage clientAuth)",
                file_name(p)
            ),
            None,
        ));
    }
    expiry(&file_name(p), &c, now, "get a new client certificate", out);
}

/// `NAME.key`: the key of `NAME.cert`, private.
fn check_key(p: &Path, out: &mut Vec<Finding>) {
    if !p.with_extension("cert").is_file() {
        out.push(f(
            Level::Error,
            format!(
                "{} has no {}.cert beside it: docker pairs <name>.key with <name>.cert",
                file_name(p),
                stem(p)
            ),
            Some(format!(
                "add the client certificate as {}.cert, or remove the key",
                stem(p)
            )),
        ));
    }
    if let Some(md) = mode(p).filter(|md| md & 0o077 != 0) {
        out.push(f(
            Level::Warn,
            format!("{} is readable by other users ({md:04o})", file_name(p)),
            Some("chmod 600 it".into()),
        ));
    }
}
