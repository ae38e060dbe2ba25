//! `mbundle ls`: the store's machines with driver, URL, CA and certificate expiry.

use std::path::PathBuf;

use serde_json::json;

use super::render::*;
use crate::cli::LsArgs;
use crate::error::Result;
use crate::pki::certs::{self, CertInfo};
use crate::store::{Machine, Store, CA_CERT, CLIENT_CERT};

pub(super) fn run(store: &Store, args: &LsArgs) -> Result<()> {
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
    // CAs that expired or expire soon, each reported once.
    let mut ca_alerts: Vec<(PathBuf, CertInfo)> = Vec::new();
    for name in store.machine_names()? {
        let m = match store.machine(&name) {
            Ok(m) => m,
            Err(e) => {
                rows.push(vec![
                    name.clone(),
                    "?".into(),
                    format!("(error: {})", e.full_message()),
                ]);
                out_json.push(json!({"name": name, "error": e.full_message()}));
                continue;
            }
        };
        let facts = MachineFacts::read(store, &m);
        if let (Some(p), Some(c)) = (&facts.ca_path, &facts.ca) {
            if certs::ca_needs_renewal(c.not_after, now)
                && !ca_alerts
                    .iter()
                    .any(|(_, x)| x.fingerprint == c.fingerprint)
            {
                ca_alerts.push((p.clone(), c.clone()));
            }
        }
        rows.push(facts.text_row(&m, now));
        out_json.push(facts.json(&m));
    }
    for (path, ca) in &ca_alerts {
        let date = &certs::day(ca.not_after);
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
    // Scoped shares in force (or revoked but still trusted by a host): whom they open what.
    let (scoped, unreadable) = crate::store::scoped::list_readable(&store.root)?;
    for e in unreadable {
        warn(&format!(
            "{} (its share is not trusted by any host mbundle pushes to)",
            e.full_message()
        ));
    }
    let scoped: Vec<crate::store::scoped::Share> = scoped
        .into_iter()
        .filter(|s| s.active() || !s.record.still_trusted_by.is_empty())
        .collect();
    if args.json {
        let scoped: Vec<serde_json::Value> = scoped
            .iter()
            .map(|s| {
                json!({
                    "user": s.record.user,
                    "machines": s.record.machines,
                    "not_after": s.record.not_after,
                    "revoked": !s.active(),
                })
            })
            .collect();
        print(&json_text(&json!({
            "store": store.root.display().to_string(),
            "machines": out_json,
            "scoped_shares": scoped,
        })))
    } else if rows.len() == 1 {
        eprintln!("no machines in {}", store.root.display());
        Ok(())
    } else {
        let mut text = table(&rows);
        text.push_str(&scoped_lines(&scoped));
        print(&terminal_safe(text))
    }
}

/// The scoped shares under the table: whom each opens what, until when.
fn scoped_lines(scoped: &[crate::store::scoped::Share]) -> String {
    if scoped.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nscoped shares (mbundle shares lists them all):\n");
    for s in scoped {
        let r = &s.record;
        let revoked = if s.active() {
            String::new()
        } else {
            format!(
                " (revoked; still trusted by {})",
                r.still_trusted_by.join(", ")
            )
        };
        text.push_str(&format!(
            "  {} opens {} until {}{revoked}\n",
            r.user,
            r.machines.join(", "),
            crate::pki::certs::date_of(&r.not_after),
        ));
    }
    text
}

/// What `ls` shows of one machine: its CA (where it lives) and the certificates' facts.
struct MachineFacts {
    ca_path: Option<PathBuf>,
    ca: Option<CertInfo>,
    client: Option<CertInfo>,
    server: Option<CertInfo>,
    /// certs/, imported-certs/ (a set an import placed beside certs/), machine copy, custom
    /// (a CA outside the store, `--tls-ca-cert`), or nothing.
    where_ca: &'static str,
    /// The share this machine came from, when it was shared with this store's user.
    share: Option<crate::store::share::ShareRecord>,
}

impl MachineFacts {
    fn read(store: &Store, m: &Machine) -> MachineFacts {
        let members = m.issuing_material(store);
        let path_of = |n: &str| {
            members
                .iter()
                .find(|f| f.name == n)
                .map(|f| f.local.clone())
        };
        let ca_path = path_of(CA_CERT);
        let where_ca = match &ca_path {
            Some(p) if p.starts_with(store.certs_dir()) => "certs/",
            Some(p) if p.starts_with(&m.dir) => "machine copy",
            Some(p) if p.starts_with(store.root.join(crate::store::IMPORTED_CERTS)) => {
                "imported-certs/"
            }
            Some(_) => "custom",
            None => "",
        };
        MachineFacts {
            ca: read_cert(ca_path.as_deref()),
            client: read_cert(path_of(CLIENT_CERT).as_deref()),
            server: read_cert(m.server_cert(store).as_deref()),
            ca_path,
            where_ca,
            share: crate::store::share::read_record(&m.dir).and_then(|r| r.ok()),
        }
    }

    fn text_row(&self, m: &Machine, now: time::OffsetDateTime) -> Vec<String> {
        let ca_text = match (&self.ca, &self.server) {
            (Some(ca), Some(srv)) if srv.issuer != ca.subject => format!(
                "{} [{}] (server cert issued by {:?}, not this CA)",
                ca.name,
                short_fp(&ca.fingerprint),
                srv.issuer
            ),
            (Some(ca), _) => match &self.share {
                Some(share) => format!(
                    "{} [{}] shared with you as {}",
                    ca.name,
                    short_fp(&ca.fingerprint),
                    share.shared_with
                ),
                None => format!(
                    "{} [{}] {}",
                    ca.name,
                    short_fp(&ca.fingerprint),
                    self.where_ca
                ),
            },
            (None, _) if self.ca_path.is_some() => "(unreadable ca.pem)".into(),
            (None, _) => "(none found)".into(),
        };
        let exp = |c: &Option<CertInfo>| {
            c.as_ref()
                .map(|c| certs::expiry_text(c.not_after, now))
                .unwrap_or_else(|| "-".into())
        };
        vec![
            m.name.clone(),
            m.driver().to_string(),
            m.url().unwrap_or_else(|| "-".into()),
            ca_text,
            exp(&self.client),
            exp(&self.server),
        ]
    }

    fn json(&self, m: &Machine) -> serde_json::Value {
        json!({
            "name": m.name,
            "driver": m.driver(),
            "url": m.url(),
            "ca": self.ca.as_ref().map(|c| json!({
                "name": c.name,
                "subject": c.subject,
                "fingerprint": c.fingerprint,
                "not_after": certs::rfc3339(c.not_after),
                "location": self.where_ca,
            })),
            "client_cert_not_after": self.client.as_ref().map(|c| certs::rfc3339(c.not_after)),
            "server_cert_not_after": self.server.as_ref().map(|c| certs::rfc3339(c.not_after)),
            "share": self.share.as_ref().map(|r| json!({
                "shared_with": r.shared_with,
                "issued_at": r.issued_at,
                "cert_not_after": r.cert_not_after,
                "with_ssh_key": r.with_ssh_key,
                "redacted": r.redacted,
            })),
            "server_cert_issued_by_ca": match (&self.ca, &self.server) {
                (Some(ca), Some(s)) => Some(s.issuer == ca.subject),
                _ => None,
            },
        })
    }
}
