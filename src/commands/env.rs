//! `mbundle env`: the variables `docker-machine env` prints, quoted for the chosen shell.

use super::render::*;
use crate::cli::EnvArgs;
use crate::error::{Error, Result};
use crate::store::{Store, CA_CERT, CLIENT_CERT};

pub(super) fn run(store: Option<&Store>, explicit_store: bool, a: &EnvArgs) -> Result<()> {
    let shell = a.shell.unwrap_or_else(crate::store::env::Shell::detect);
    let word = |w: &str| {
        shell.word(w).map_err(|why| {
            Error::cannot(
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
        let name = a.name.as_str();
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
        Error::cannot(
            why,
            "use another --shell, or move the store to a plainer path",
        )
    })?;
    print(&text)
}
