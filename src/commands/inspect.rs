//! `mbundle inspect`: what a bundle holds, from its manifest alone; writes nothing.

use super::render::*;
use super::*;
use crate::cli::InspectArgs;
use crate::error::Result;
use crate::format::bundle::read_manifest;
use crate::format::manifest::{CertRole, Manifest};
use crate::pki::certs::{self};

pub(super) fn run(a: &InspectArgs) -> Result<()> {
    let (input, what) = open_input(&a.bundle)?;
    let manifest = read_manifest(input, &decrypt_with(&a.decrypt), &what)?;
    if a.json {
        print(&json_text(&manifest))
    } else {
        // Every value of the manifest escaped before it is laid out in lines.
        let shown = escaped_copy(&manifest)
            .ok_or_else(|| crate::error::Error::Bug("the manifest cannot be shown".into()))?;
        print(&terminal_safe(describe(&shown, &printable(&what))))
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
        m.cert_sets.len(),
        m.files.len(),
        human_bytes(m.total_size())
    ));
    if let Some(share) = &m.share {
        s.push_str(&format!(
            "share:    for {}, made {}; their own client certificate, valid until {}\n",
            share.shared_with,
            crate::pki::certs::date_of(&share.issued_at),
            crate::pki::certs::date_of(&share.cert_not_after)
        ));
        s.push_str(&format!(
            "          no CA key, no server key, no client key of the owner; SSH key {}; cloud credentials {}\n",
            if share.with_ssh_key { "included" } else { "not included" },
            if share.secrets_kept { "kept (--keep-secrets)" } else { "removed" }
        ));
        for mm in m.machines.iter().filter(|x| !x.redacted.is_empty()) {
            s.push_str(&format!(
                "          {}: removed {}\n",
                mm.name,
                mm.redacted.join(", ")
            ));
        }
    }
    describe_machines(m, &mut s);
    describe_cert_sets(m, now, &mut s);
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

/// The machines section of [`describe`].
fn describe_machines(m: &Manifest, s: &mut String) {
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
                mach.cert_set.clone().unwrap_or_else(|| "(none)".into()),
                mach.files.len().to_string(),
            ]);
        }
        s.push_str(&table(&rows));
        if m.machines.len() > 1 {
            s.push_str("  (mbundle import FILE NAME... imports only the machines named)\n");
        }
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
}

/// The cert sets section of [`describe`].
fn describe_cert_sets(m: &Manifest, now: time::OffsetDateTime, s: &mut String) {
    if !m.cert_sets.is_empty() {
        s.push_str("\ncert sets:\n");
        for c in &m.cert_sets {
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
}
