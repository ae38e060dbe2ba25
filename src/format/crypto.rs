//! Who can open a bundle: age and SSH recipients for export, identities and passphrases for
//! everything that reads one.
//!
//! Conventions are age's own (`-r`, `-R`, `-i`, `-p`), so a bundle made here opens with the
//! reference `age` CLI and the other way round. Passphrases live in `SecretString` (zeroized
//! on drop) from the moment they are read.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::{Error, IoContext, Result};

/// Largest recipients or identity file read.
const MAX_KEY_FILE: u64 = 1 << 20;

/// A parsed recipient.
pub enum Recipient {
    /// X25519 or SSH: wraps the file key itself.
    Native(Box<dyn age::Recipient + Send>),
    /// `age1<plugin>1...`: wrapped by `age-plugin-<plugin>` (a hardware key).
    Plugin(age::plugin::Recipient),
}

/// Parses one recipient string: `age1...`, `age1<plugin>1...`, `ssh-ed25519 ...` or
/// `ssh-rsa ...`.
pub fn parse_recipient(s: &str, origin: Option<String>) -> Result<Recipient> {
    // Never echo a secret key back, even one given by mistake.
    let shown = if s.contains("AGE-SECRET-KEY-") || s.contains("PRIVATE KEY") {
        "(a secret key, not shown)".to_string()
    } else {
        s.chars().take(80).collect()
    };
    let bad = |reason: String| Error::BadRecipient {
        value: shown.clone(),
        origin: origin.clone(),
        reason,
    };
    let t = s.trim();
    // `-r ~/.ssh/id_ed25519.pub` or `-r bob.pub`: a file where the key itself was meant.
    let key_like = t.starts_with("age1")
        || t.starts_with("ssh-")
        || t.starts_with("ecdsa-")
        || t.starts_with("sk-")
        || t.starts_with("AGE-");
    if origin.is_none()
        && !key_like
        && (Path::new(t).exists() || t.contains('/') || t.ends_with(".pub") || t.ends_with(".txt"))
    {
        return Err(bad(format!(
            "this is a file name; -r takes the key itself, -R reads a recipients file: -R {}",
            crate::store::env::shell_word(t)
        )));
    }
    if let Some(plugin) = super::plugins::plugin_name_of_recipient(t) {
        let r = age::plugin::Recipient::from_str(t).map_err(|e| {
            bad(format!(
                "not a valid recipient of the age plugin {plugin:?} ({e})"
            ))
        })?;
        super::plugins::require(r.plugin())?;
        return Ok(Recipient::Plugin(r));
    }
    if t.starts_with("age1") {
        return age::x25519::Recipient::from_str(t)
            .map(|r| Recipient::Native(Box::new(r)))
            .map_err(|e| bad(format!("not a valid age public key ({e})")));
    }
    if t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-") {
        return match age::ssh::Recipient::from_str(t) {
            Ok(r) => Ok(Recipient::Native(Box::new(r))),
            Err(age::ssh::ParseRecipientKeyError::Unsupported(kind)) => Err(bad(format!(
                "SSH key type {kind} is not supported by age (use ssh-ed25519 or ssh-rsa)"
            ))),
            Err(age::ssh::ParseRecipientKeyError::RsaModulusTooSmall) => {
                Err(bad("RSA key shorter than 2048 bits".into()))
            }
            Err(age::ssh::ParseRecipientKeyError::RsaModulusTooLarge) => {
                Err(bad("RSA key longer than age supports".into()))
            }
            Err(_) => Err(bad("not a valid SSH public key line".into())),
        };
    }
    if t.starts_with("AGE-SECRET-KEY-") {
        return Err(bad(
            "this is a secret key; give the public key (age-keygen -y key.txt prints it)".into(),
        ));
    }
    Err(bad("neither an age public key nor an SSH public key".into()))
}

/// Reads a recipients file as `age -R` does: one recipient a line, `#` comments and blank
/// lines ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<Recipient>> {
    let text = read_small_text(path, "read recipients file")?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_recipient(
            line,
            Some(format!("{} line {}", path.display(), i + 1)),
        )?);
    }
    if out.is_empty() {
        return Err(Error::BadRecipient {
            value: String::new(),
            origin: Some(path.display().to_string()),
            reason: "the file holds no recipient".into(),
        });
    }
    Ok(out)
}

/// A key, recipients or passphrase file, read with a bound whatever its size says: a pipe
/// (`-i <(pass show key)`) is read as it comes, and `/dev/zero` or a huge file stops at the
/// bound instead of filling memory.
fn read_small_text(path: &Path, op: &'static str) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let file = fs::File::open(path).ctx(op, path)?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::io(op, path, io::Error::other("a directory")));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .ctx(op, path)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(Error::io(
            op,
            path,
            io::Error::new(
                io::ErrorKind::InvalidData,
                "file is too large for a key file",
            ),
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| {
            Error::io(
                op,
                path,
                io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
            )
        })?
        .to_string();
    Ok(Zeroizing::new(text))
}

/// Where a passphrase comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PassphraseSource {
    /// None was asked for.
    #[default]
    None,
    /// `-p`: prompt on the terminal.
    Prompt,
    /// `--passphrase-file F`: the first line of F.
    File(PathBuf),
}

impl PassphraseSource {
    /// Reads the passphrase. `confirm` prompts twice (for encryption).
    pub fn read(&self, confirm: bool) -> Result<Option<SecretString>> {
        match self {
            PassphraseSource::None => Ok(None),
            PassphraseSource::File(path) => {
                let text = read_small_text(path, "read passphrase file")?;
                let first = text.lines().next().unwrap_or("");
                if first.is_empty() {
                    return Err(Error::Passphrase(format!(
                        "the first line of {} is empty",
                        path.display()
                    )));
                }
                Ok(Some(SecretString::from(first.to_string())))
            }
            PassphraseSource::Prompt => {
                if !io::stdin().is_terminal() && !io::stderr().is_terminal() {
                    return Err(Error::Passphrase("-p needs a terminal to prompt on".into()));
                }
                let first = Zeroizing::new(
                    rpassword::prompt_password("Passphrase: ")
                        .map_err(|e| Error::Passphrase(format!("cannot prompt: {e}")))?,
                );
                if first.is_empty() {
                    return Err(Error::Passphrase("empty passphrase".into()));
                }
                if confirm {
                    let again = Zeroizing::new(
                        rpassword::prompt_password("Confirm passphrase: ")
                            .map_err(|e| Error::Passphrase(format!("cannot prompt: {e}")))?,
                    );
                    if *again != *first {
                        return Err(Error::Passphrase("the two passphrases differ".into()));
                    }
                }
                Ok(Some(SecretString::from(first.to_string())))
            }
        }
    }
}

/// How the user asked for a bundle to be encrypted.
pub struct EncryptTo {
    /// `-r` values and `-R` files, parsed.
    pub recipients: Vec<Recipient>,
    /// `-p` / `--passphrase-file`.
    pub passphrase: PassphraseSource,
    /// The passphrase once read: an export that starts again (a machine removed while it
    /// was written) neither prompts twice nor reads a passphrase pipe twice.
    passphrase_read: std::sync::OnceLock<Zeroizing<String>>,
}

impl EncryptTo {
    /// Encryption to `recipients`, or with the passphrase `passphrase` gives.
    pub fn new(recipients: Vec<Recipient>, passphrase: PassphraseSource) -> EncryptTo {
        EncryptTo {
            recipients,
            passphrase,
            passphrase_read: std::sync::OnceLock::new(),
        }
    }

    /// The passphrase, read (or prompted for) the first time only.
    fn passphrase(&self) -> Result<SecretString> {
        if let Some(p) = self.passphrase_read.get() {
            return Ok(SecretString::from(p.to_string()));
        }
        let pass = self.passphrase.read(true)?.ok_or(Error::NoRecipients)?;
        use age::secrecy::ExposeSecret;
        let _ = self
            .passphrase_read
            .set(Zeroizing::new(pass.expose_secret().to_string()));
        Ok(pass)
    }
}

impl EncryptTo {
    /// Builds the age encryptor, refusing plaintext and mixed recipients/passphrase.
    pub fn encryptor(&self) -> Result<age::Encryptor> {
        let has_pass = self.passphrase != PassphraseSource::None;
        match (self.recipients.is_empty(), has_pass) {
            (true, false) => Err(Error::NoRecipients),
            (false, true) => Err(Error::usage(
                "a bundle is encrypted either to recipients or with a passphrase, not both",
                "drop -p/--passphrase-file, or drop -r/-R",
            )),
            (true, true) => Ok(age::Encryptor::with_user_passphrase(self.passphrase()?)),
            (false, false) => {
                let natives = self.recipients.iter().filter_map(|r| match r {
                    Recipient::Native(n) => Some(n.as_ref() as &dyn age::Recipient),
                    Recipient::Plugin(_) => None,
                });
                let plugin_list: Vec<age::plugin::Recipient> = self
                    .recipients
                    .iter()
                    .filter_map(|r| match r {
                        Recipient::Plugin(p) => Some(p.clone()),
                        Recipient::Native(_) => None,
                    })
                    .collect();
                let plugins = super::plugins::plugin_recipients(&plugin_list)?;
                age::Encryptor::with_recipients(
                    natives.chain(plugins.iter().map(|p| p as &dyn age::Recipient)),
                )
                .map_err(|e| match e {
                    age::EncryptError::MissingPlugin { .. } | age::EncryptError::Plugin(_) => {
                        super::plugins::encrypt_error(e, "")
                    }
                    e => Error::usage(
                        format!("cannot encrypt to these recipients: {e}"),
                        "give recipients of one kind",
                    ),
                })
            }
        }
    }
}

/// How the user asked for a bundle to be opened.
#[derive(Clone, Debug, Default)]
pub struct DecryptWith {
    /// `-i` files.
    pub identities: Vec<PathBuf>,
    /// `-p` / `--passphrase-file`.
    pub passphrase: PassphraseSource,
}

/// Loads the identities of one `-i` file: an age identity file or an SSH private key.
pub fn load_identities(path: &Path) -> Result<Vec<Box<dyn age::Identity>>> {
    let text = read_small_text(path, "read identity file")?;
    let bad = |reason: String| Error::BadIdentity {
        path: path.to_path_buf(),
        reason,
    };
    if text.contains("AGE-SECRET-KEY-") || text.contains("AGE-PLUGIN-") {
        let file = age::IdentityFile::from_buffer(io::BufReader::new(text.as_bytes()))
            .map_err(|e| bad(format!("not a valid age identity file ({e})")))?
            .with_callbacks(super::plugins::Terminal);
        return file.into_identities().map_err(|e| match e {
            age::DecryptError::MissingPlugin { binary_name } => {
                super::plugins::missing(&binary_name, "")
            }
            e => bad(format!("cannot use it ({e})")),
        });
    }
    if text.trim_start().starts_with("-----BEGIN") {
        let id = age::ssh::Identity::from_buffer(
            io::BufReader::new(text.as_bytes()),
            Some(path.display().to_string()),
        )
        .map_err(|e| bad(format!("not a usable SSH private key ({e})")))?;
        return match id {
            age::ssh::Identity::Unsupported(k) => Err(bad(format!(
                "unsupported SSH key ({k:?}); age reads ed25519 and rsa keys"
            ))),
            // Unlocked here, once, so a missing terminal and a wrong passphrase are named
            // as what they are (age would try the key per stanza and call either case "not
            // encrypted to you" or a wrong bundle passphrase).
            age::ssh::Identity::Encrypted(key) => {
                if !io::stdin().is_terminal() && !io::stderr().is_terminal() {
                    return Err(Error::SshKeyLocked {
                        path: path.to_path_buf(),
                    });
                }
                let pass = rpassword::prompt_password(format!(
                    "Passphrase for SSH key {}: ",
                    path.display()
                ))
                .map_err(|_| Error::SshKeyLocked {
                    path: path.to_path_buf(),
                })?;
                let unlocked =
                    key.decrypt(SecretString::from(pass))
                        .map_err(|_| Error::SshKeyPassphrase {
                            path: path.to_path_buf(),
                        })?;
                Ok(vec![Box::new(age::ssh::Identity::Unencrypted(unlocked))])
            }
            id => Ok(vec![Box::new(id)]),
        };
    }
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("age1") || l.starts_with("ssh-"))
    {
        return Err(Error::PublicKeyAsIdentity {
            path: path.to_path_buf(),
        });
    }
    Err(bad(
        "neither an age identity file nor an SSH private key".into()
    ))
}

/// The largest age header read: 1024 X25519 or SSH recipients take under 100 KiB; a team of
/// RSA-4096 SSH keys about 800 bytes each.
pub const MAX_HEADER_BYTES: usize = 256 << 10;
/// The most recipient stanzas read. Each costs a key agreement per identity tried.
pub const MAX_STANZAS: usize = 1024;
/// The largest scrypt work factor (log2 N) accepted, as the reference age CLI: 2^22 needs
/// 4 GiB and about 15 s; 2^24 would need 16 GiB.
pub const MAX_WORK_FACTOR: u8 = 22;

/// The age header, read line by line up to and including its `---` MAC line and bounded by
/// [`MAX_HEADER_BYTES`] and [`MAX_STANZAS`] before the age library sees it: the library
/// re-parses the header after each line it reads, so a header of 100,000 fake stanzas would
/// cost minutes. Input that does not start like an age header is returned as it is, for age
/// to name.
fn read_bounded_header<R: BufRead>(input: &mut R, what: &str) -> Result<Vec<u8>> {
    const MAGIC: &[u8] = b"age-encryption.org/";
    let mut header = Vec::new();
    let mut stanzas = 0usize;
    let mut line_start = 0usize;
    loop {
        let buf = input.fill_buf().map_err(|e| Error::io("read", what, e))?;
        if buf.is_empty() {
            return Ok(header);
        }
        let room = MAX_HEADER_BYTES + 1 - header.len();
        let (take, end_of_line) = match buf.iter().take(room).position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len().min(room), false),
        };
        header.extend_from_slice(&buf[..take]);
        input.consume(take);
        if header.len() > MAX_HEADER_BYTES {
            return Err(Error::Corrupt(format!(
                "{what}: its age header is over {} KiB, more than any real bundle's; refused before decrypting (a header built to waste time)",
                MAX_HEADER_BYTES >> 10
            )));
        }
        if !end_of_line {
            continue;
        }
        let line = &header[line_start..];
        if line_start == 0 && !line.starts_with(MAGIC) {
            return Ok(header);
        }
        if line.starts_with(b"-> ") {
            stanzas += 1;
            if stanzas > MAX_STANZAS {
                return Err(Error::Corrupt(format!(
                    "{what}: its age header names over {MAX_STANZAS} recipients, more than any real bundle; refused before decrypting (a header built to waste time)"
                )));
            }
        }
        if line.starts_with(b"---") {
            return Ok(header);
        }
        line_start = header.len();
    }
}

/// The kinds of recipient an age header names, each once, in order: `X25519`, `SSH
/// (ssh-ed25519)`, `passphrase`, `plugin (piv-p256)`. Read from the stanza tags, which say
/// the kind and nothing about who.
fn recipient_kinds(header: &[u8]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for line in header.split(|b| *b == b'\n') {
        let Some(rest) = line.strip_prefix(b"-> ") else {
            continue;
        };
        let tag = String::from_utf8_lossy(rest.split(|b| *b == b' ').next().unwrap_or(b""))
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(40)
            .collect::<String>();
        let kind = match tag.as_str() {
            "X25519" => "X25519 (an age key)".to_string(),
            "ssh-ed25519" | "ssh-rsa" => format!("SSH ({tag})"),
            "scrypt" => "passphrase".to_string(),
            t if t.ends_with("-grease") || t.contains("grease") => continue,
            t => format!("plugin ({t})"),
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// What [`open_age`] decrypts from: the header it read, then the rest of the input.
pub type Bounded<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Opens an age stream with whatever the user gave, prompting for a passphrase on a terminal
/// when the bundle needs one and nothing else was given. `what` names the input in errors.
pub fn open_age<R: BufRead>(
    mut input: R,
    keys: &DecryptWith,
    what: &str,
) -> Result<age::stream::StreamReader<Bounded<R>>> {
    let header = read_bounded_header(&mut input, what)?;
    let kinds = recipient_kinds(&header);
    let decryptor = age::Decryptor::new_buffered(io::Cursor::new(header).chain(input)).map_err(
        |e| match e {
            age::DecryptError::Io(io)
                if io.kind() != io::ErrorKind::InvalidData
                    && io.kind() != io::ErrorKind::UnexpectedEof =>
            {
                Error::io("read", what, io)
            }
            other => Error::NotAge {
                what: what.to_string(),
                reason: other
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('.')
                    .to_string(),
            },
        },
    )?;
    let result = if decryptor.is_scrypt() {
        if !keys.identities.is_empty() && keys.passphrase == PassphraseSource::None {
            return Err(Error::WrongKeyKind(format!(
                "{what} is encrypted with a passphrase, not to an identity; use -p or --passphrase-file"
            )));
        }
        let source = match &keys.passphrase {
            PassphraseSource::None if io::stdin().is_terminal() => PassphraseSource::Prompt,
            PassphraseSource::None => {
                return Err(Error::WrongKeyKind(format!(
                    "{what} is encrypted with a passphrase; give it with -p or --passphrase-file"
                )))
            }
            other => other.clone(),
        };
        let pass = source
            .read(false)?
            .ok_or_else(|| Error::WrongKeyKind(format!("{what} needs a passphrase")))?;
        let mut id = age::scrypt::Identity::new(pass);
        id.set_max_work_factor(MAX_WORK_FACTOR);
        decryptor.decrypt(std::iter::once(&id as &dyn age::Identity))
    } else {
        if keys.passphrase != PassphraseSource::None {
            return Err(Error::WrongKeyKind(format!(
                "{what} is encrypted to recipients, not with a passphrase; use -i IDENTITY"
            )));
        }
        if keys.identities.is_empty() {
            return Err(Error::usage(
                format!("{what} is encrypted to recipients and no identity was given"),
                "add -i IDENTITY (an age identity file or your SSH private key)",
            ));
        }
        let mut ids = Vec::new();
        for p in &keys.identities {
            ids.extend(load_identities(p)?);
        }
        decryptor.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
    };
    result.map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => Error::NotForYou {
            what: what.to_string(),
            kinds: kinds.clone(),
        },
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
            Error::NoMatchingKey(format!("wrong passphrase for {what}"))
        }
        // Not damage: a sender's choice this reader refuses (as the reference age CLI does).
        age::DecryptError::ExcessiveWork { required, .. } => Error::cannot(
            format!(
                "{what}: its passphrase work factor 2^{required} is above 2^{MAX_WORK_FACTOR}, the most the reference age CLI accepts ({} GiB of memory); refused before any work",
                ((1u64 << required.min(40)) * 1024) >> 30
            ),
            "ask its sender to encrypt it again with the usual work factor (age -p and mbundle -p use 2^18)",
        ),
        age::DecryptError::MissingPlugin { binary_name } => {
            super::plugins::missing(&binary_name, "")
        }
        age::DecryptError::Plugin(errors) => super::plugins::plugin_errors(&errors),
        age::DecryptError::InvalidMac | age::DecryptError::InvalidHeader => {
            Error::Corrupt(format!("{what}: the age header is damaged"))
        }
        other => Error::Corrupt(format!("{what}: {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_of_each_kind_parse() {
        let demo = include_str!("../../fixtures/demo/recipient.txt").trim();
        parse_recipient(demo, None).unwrap();
        parse_recipient(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust",
            None,
        )
        .unwrap();
    }

    #[test]
    fn bad_recipients_say_why() {
        let err = |s| match parse_recipient(s, None) {
            Ok(_) => panic!("{s} parsed"),
            Err(e) => e.to_string(),
        };
        let e = err("age1nope");
        assert!(e.contains("not a valid age public key"), "{e}");
        let e = err("AGE-SECRET-KEY-1ABC");
        assert!(e.contains("secret key"), "{e}");
        let e = err("hello");
        assert!(e.contains("neither"), "{e}");
    }

    #[test]
    fn no_recipient_means_no_bundle() {
        let to = EncryptTo::new(vec![], PassphraseSource::None);
        assert!(matches!(to.encryptor(), Err(Error::NoRecipients)));
    }
}
