//! Hardware keys through age plugins: recipients `age1<plugin>1...` and identities
//! `AGE-PLUGIN-<PLUGIN>-1...` are handed to the `age-plugin-<plugin>` binary on PATH (a
//! YubiKey, a TPM, the Secure Enclave), as the reference age CLI does, through the age crate's
//! plugin support.
//!
//! A plugin talks to the person at the keyboard while it works ("touch your YubiKey", "enter
//! the PIN"): [`Terminal`] shows its messages on standard error and asks its questions on the
//! controlling terminal (`/dev/tty`), never on standard output, which may be the bundle. Without a
//! terminal a question is answered "not available", which the plugin turns into its own
//! error. Plugin text is escaped like any other untrusted text before it reaches the screen.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Write};

use age::secrecy::SecretString;

use crate::error::Error;

/// Shows a plugin's messages and asks its questions on the terminal.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal;

/// A plugin's text with control characters escaped (a plugin is a program the user
/// installed, but its text still must not rewrite the screen), and without the Unicode
/// isolation marks age puts around names in its messages.
fn shown(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Writes one line on standard error, as the reference age CLI shows plugin messages
/// (standard output may be the bundle).
fn tell(line: &str) {
    let _ = io::stderr().write_all(format!("{}\n", shown(line)).as_bytes());
}

/// Asks a question on the terminal and reads one line of answer; `None` without a terminal.
fn ask(prompt: &str) -> Option<String> {
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let mut out = tty.try_clone().ok()?;
    out.write_all(shown(prompt).as_bytes()).ok()?;
    out.flush().ok()?;
    let mut line = String::new();
    BufReader::new(tty).read_line(&mut line).ok()?;
    if line.is_empty() {
        return None;
    }
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

impl age::Callbacks for Terminal {
    fn display_message(&self, message: &str) {
        tell(message);
    }

    fn confirm(&self, message: &str, yes_string: &str, no_string: Option<&str>) -> Option<bool> {
        let no = no_string.unwrap_or("no");
        loop {
            let answer = ask(&format!("{message} [{yes_string}/{no}]: "))?;
            if answer.eq_ignore_ascii_case(yes_string) || answer.eq_ignore_ascii_case("y") {
                return Some(true);
            }
            if answer.eq_ignore_ascii_case(no) || answer.eq_ignore_ascii_case("n") {
                return Some(false);
            }
        }
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        ask(&format!("{description}: "))
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        // rpassword reads from /dev/tty with echo off, and fails without one.
        rpassword::prompt_password(format!("{}: ", shown(description)))
            .ok()
            .map(SecretString::from)
    }
}

/// The plugin name of a recipient string `age1<name>1<data>`, or `None` for a native
/// X25519 recipient (`age1<data>`: bech32 data never holds a `1`).
pub fn plugin_name_of_recipient(s: &str) -> Option<&str> {
    let (hrp, _) = s.rsplit_once('1')?;
    let name = hrp.strip_prefix("age1")?;
    (!name.is_empty()).then_some(name)
}

/// One age recipient per plugin, each holding every recipient of that plugin, as age
/// requires (a plugin wraps the file key for all its recipients in one session).
pub fn plugin_recipients(
    recipients: &[age::plugin::Recipient],
) -> Result<Vec<age::plugin::RecipientPluginV1<Terminal>>, Error> {
    let mut by_plugin: BTreeMap<&str, Vec<age::plugin::Recipient>> = BTreeMap::new();
    for r in recipients {
        by_plugin.entry(r.plugin()).or_default().push(r.clone());
    }
    by_plugin
        .iter()
        .map(|(name, list)| {
            age::plugin::RecipientPluginV1::new(name, list, &[], Terminal)
                .map_err(|e| encrypt_error(e, name))
        })
        .collect()
}

/// An age encryption error from plugin recipients, named for the user.
pub fn encrypt_error(e: age::EncryptError, plugin: &str) -> Error {
    match e {
        age::EncryptError::MissingPlugin { binary_name } => missing(&binary_name, plugin),
        age::EncryptError::Plugin(errors) => plugin_errors(&errors),
        other => Error::Plugin(shown(&other.to_string())),
    }
}

/// The errors a plugin reported, as one.
pub fn plugin_errors<E: std::fmt::Display>(errors: &[E]) -> Error {
    Error::Plugin(
        errors
            .iter()
            .map(|e| shown(e.to_string().trim_end_matches('.')))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// Refuses a plugin that is not installed before any work is done (age itself would only
/// find out when it encrypts, after the export was planned).
pub fn require(plugin: &str) -> Result<(), Error> {
    let binary = format!("age-plugin-{plugin}");
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(&binary);
            p.is_file() || p.with_extension("exe").is_file()
        })
    });
    if found {
        Ok(())
    } else {
        Err(missing(&binary, plugin))
    }
}

/// The error for a plugin binary that is not on PATH. age reports either the plugin name or
/// the binary name; both become `age-plugin-NAME`.
pub fn missing(binary_or_name: &str, plugin: &str) -> Error {
    let plugin = if plugin.is_empty() {
        binary_or_name
            .strip_prefix("age-plugin-")
            .unwrap_or(binary_or_name)
    } else {
        plugin
    };
    Error::MissingPlugin {
        binary: format!("age-plugin-{}", shown(plugin)),
        plugin: shown(plugin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_recipients_are_told_from_native_ones() {
        assert_eq!(
            plugin_name_of_recipient(
                "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t"
            ),
            Some("yubikey")
        );
        assert_eq!(
            plugin_name_of_recipient(
                "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
            ),
            None
        );
        assert_eq!(plugin_name_of_recipient("age1"), None);
    }

    #[test]
    fn a_missing_plugin_names_its_binary() {
        let e = missing("age-plugin-yubikey", "");
        assert!(e
            .to_string()
            .starts_with("age-plugin-yubikey is not installed"));
        let e = missing("yubikey", "yubikey");
        assert!(e.to_string().starts_with("age-plugin-yubikey "));
    }

    #[test]
    fn plugin_text_cannot_drive_the_terminal() {
        assert_eq!(shown("touch\x1b[2J"), "touch\\u{1b}[2J");
    }
}
