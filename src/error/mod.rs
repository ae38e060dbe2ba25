//! One error type for the whole library.
//!
//! Every variant carries the data a user needs to act (the path, the name, what was expected)
//! and [`Error::hint`] says what to do next. The binary prints `error: <message>`, then the
//! `hint:` line, and exits with [`Error::exit_code`]: 2 for a command line that cannot work,
//! 1 for everything else.

use std::io;
use std::path::PathBuf;

mod hints;
use hints::unknown_machine_hint;
pub use hints::{human, names_hint, HINT_NAMES};

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in mbundle.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on a named path failed. The operating system's answer is the
    /// source, which [`Error::full_message`] (and the binary) appends.
    #[error("cannot {op} {}", path.display())]
    Io {
        /// What was being done ("read", "create", "rename"...).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's answer.
        #[source]
        source: io::Error,
    },

    /// Writing an export's output (`-o`) failed.
    #[error("cannot write the bundle to {}", path.display())]
    Output {
        /// The output: a file, or `standard output`.
        path: PathBuf,
        /// The operating system's answer.
        #[source]
        source: io::Error,
    },

    /// A machine's host presented another SSH host key than the one pinned at first contact.
    #[error("the SSH host key of {machine} ({address}) changed: it presented {presented}, but {recorded} was recorded; nothing was done there")]
    HostKeyChanged {
        /// The machine.
        machine: String,
        /// Where it was reached.
        address: String,
        /// The pinned key's fingerprint.
        recorded: String,
        /// The presented key's fingerprint.
        presented: String,
        /// The file of pins.
        pins: PathBuf,
    },

    /// The machine store is missing or unreadable.
    #[error("cannot use machine store {}: {reason}", path.display())]
    StoreUnreadable {
        /// The store root.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// A machine named on the command line is not in the store.
    #[error("no machine named {} in {}", names.join(", "), store.display())]
    UnknownMachine {
        /// The names that were not found.
        names: Vec<String>,
        /// The store that was searched.
        store: PathBuf,
        /// The machines the store does have.
        known: Vec<String>,
    },

    /// A machine's config.json cannot be used.
    #[error("machine {name}: {}: {reason}", path.display())]
    BadConfig {
        /// The machine.
        name: String,
        /// Its config.json.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Export was asked to encrypt to nobody.
    #[error("no recipient and no passphrase: a bundle is never written unencrypted")]
    NoRecipients,

    /// A recipient string is not an age or SSH public key.
    #[error("invalid recipient {value:?}{}: {reason}", origin.as_ref().map(|o| format!(" ({o})")).unwrap_or_default())]
    BadRecipient {
        /// The string as given.
        value: String,
        /// Where it came from (a file and line), if not the command line.
        origin: Option<String>,
        /// Why it was refused.
        reason: String,
    },

    /// An identity file could not be used.
    #[error("cannot use identity {}: {reason}", path.display())]
    BadIdentity {
        /// The identity file.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// A public key (a recipient) was given where the secret key belongs (`-i`).
    #[error("{} is a public key (a recipient); -i takes the secret key file", path.display())]
    PublicKeyAsIdentity {
        /// The file given with -i.
        path: PathBuf,
    },

    /// No identity given opens the bundle: it was encrypted to other keys.
    #[error("none of the identities given can open {what}: it is encrypted to {}", if kinds.is_empty() { "other keys".to_string() } else { format!("recipients of kind {}", kinds.join(", ")) })]
    NotForYou {
        /// The bundle.
        what: String,
        /// The kinds of recipient its header names.
        kinds: Vec<String>,
    },

    /// An age plugin named by a recipient or identity is not installed.
    #[error(
        "{binary} is not installed (or not on PATH): the {plugin} recipient or identity needs it"
    )]
    MissingPlugin {
        /// `age-plugin-NAME`.
        binary: String,
        /// NAME.
        plugin: String,
    },

    /// An age plugin ran and refused, failed or died.
    #[error("age plugin: {0}")]
    Plugin(String),

    /// Reading a passphrase failed or it was refused.
    #[error("passphrase: {0}")]
    Passphrase(String),

    /// The output exists and --force was not given.
    #[error("{} already exists", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },

    /// A binary bundle would be written to a terminal.
    #[error("refusing to write a binary bundle to a terminal")]
    OutputIsTerminal,

    /// A file changed between the hashing pass and the writing pass of an export.
    #[error("{} changed while exporting", path.display())]
    ChangedWhileExporting {
        /// The file.
        path: PathBuf,
    },

    /// The input is not an age file at all.
    #[error("{what} is not an age-encrypted mbundle bundle ({reason})")]
    NotAge {
        /// The input's name.
        what: String,
        /// The age parser's answer.
        reason: String,
    },

    /// An age file that decrypts, but holds no mbundle bundle.
    #[error("{what} decrypts, but is not an mbundle bundle: {reason}")]
    NotBundle {
        /// The input's name.
        what: String,
        /// What it holds instead.
        reason: String,
    },

    /// The bundle ends early or its data fails authentication.
    #[error("{what} is damaged or truncated: {detail}")]
    Truncated {
        /// The input's name.
        what: String,
        /// Where and how it ends, with the figures known.
        detail: String,
    },

    /// An SSH key given with -i needs its passphrase and there is no terminal to ask on.
    #[error("{} is an SSH key protected by a passphrase, and there is no terminal to ask for it", path.display())]
    SshKeyLocked {
        /// The key file.
        path: PathBuf,
    },

    /// The passphrase typed for an SSH key given with -i is wrong.
    #[error("wrong passphrase for the SSH key {}", path.display())]
    SshKeyPassphrase {
        /// The key file.
        path: PathBuf,
    },

    /// The bundle is encrypted with a passphrase but none was given, or the reverse.
    #[error("{0}")]
    WrongKeyKind(String),

    /// No identity opened the bundle, or the passphrase is wrong.
    #[error("{0}")]
    NoMatchingKey(String),

    /// The bundle is damaged or crafted: decryption, decompression or archive structure failed.
    #[error("damaged or tampered bundle: {0}")]
    Corrupt(String),

    /// The manifest is not acceptable.
    #[error("invalid bundle manifest: {0}")]
    BadManifest(ManifestError),

    /// The bundle was written by a newer mbundle.
    #[error("bundle format version {found} is newer than this mbundle understands (version {supported})")]
    FutureFormat {
        /// The version in the bundle.
        found: u64,
        /// The newest version this build reads.
        supported: u32,
    },

    /// A file's bytes do not match the manifest's checksum.
    #[error("checksum mismatch for {path}: the manifest says sha256 {expected}, the bundle holds {actual}")]
    ChecksumMismatch {
        /// The archive path.
        path: String,
        /// What the manifest says.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },

    /// The import would clobber or collide; every conflict is listed.
    #[error("cannot import: {} conflict(s):\n  {}", .0.len(), .0.join("\n  "))]
    Conflicts(Vec<String>),

    /// A config.json holds values that no docker-machine writes in fields that end up in shell
    /// commands or host names.
    #[error("machine {machine}: config.json holds what no docker-machine writes:{}", if problems.len() == 1 { format!(" {}", problems[0]) } else { format!("\n  {}", problems.join("\n  ")) })]
    UnsafeConfig {
        /// The machine, as the bundle names it.
        machine: String,
        /// One line per field: the field, its value (escaped) and why.
        problems: Vec<String>,
    },

    /// The store's lock file is not a plain file of our own: a link, a FIFO, a hard link.
    #[error("{} is {what}, not mbundle's lock file; refusing to open or create it", path.display())]
    UnsafeLock {
        /// The lock file's path.
        path: PathBuf,
        /// What is there instead.
        what: String,
    },

    /// An interrupted import's journal names something mbundle never writes, or lies in
    /// staging that is not this user's: nothing of it is carried out.
    #[error("refusing to finish the interrupted import in {}: {reason}; nothing was moved", staging.display())]
    UnsafeJournal {
        /// The staging directory holding the journal.
        staging: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The store's file system cannot hold what the bundle declares.
    #[error("the bundle needs {} but the file system holding {} has {} free; nothing was written", human(*needed), path.display(), human(*available))]
    NoSpace {
        /// The store.
        path: PathBuf,
        /// Bytes the bundle's files take.
        needed: u64,
        /// Bytes free for this user.
        available: u64,
    },

    /// `doctor` found things that are broken.
    #[error("doctor found {0} problem(s)")]
    Unhealthy(usize),

    /// SIGINT (Ctrl-C), SIGTERM or SIGHUP arrived; what was half-written has been removed.
    #[error("interrupted; {what}")]
    Interrupted {
        /// The signal's number (the exit status is 128 + it).
        signal: i32,
        /// What was left undone: "no bundle written", "nothing was changed".
        what: &'static str,
    },

    /// An internal invariant does not hold: mbundle itself is wrong, not the input.
    #[error("internal error: {0}")]
    Bug(String),

    /// The command line cannot work as given (exit 2): an argument that is wrong whatever the
    /// store holds.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },

    /// A well-formed command that the store, a machine or its files do not allow (exit 1): no
    /// CA key to sign with, a machine shared by someone else, config.json naming what it must
    /// not, another mbundle at work.
    #[error("{message}")]
    Cannot {
        /// What cannot be done, and why.
        message: String,
        /// What would make it possible.
        hint: String,
    },
}

impl Error {
    /// The message with its causes, each after a colon: what the binary prints after
    /// `error: ` ("cannot read x.mbundle: Permission denied (os error 13)").
    pub fn full_message(&self) -> String {
        let mut msg = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            msg.push_str(": ");
            msg.push_str(&c.to_string());
            cause = c.source();
        }
        msg
    }

    /// Wraps an I/O error with the operation and path it concerns.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Writing an export's output failed.
    pub fn output(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Output {
            path: path.into(),
            source,
        }
    }

    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A failure the store or its files cause, with what would fix it (exit 1).
    pub fn cannot(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Cannot {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoRecipients
            | Error::BadRecipient { .. }
            | Error::BadIdentity { .. }
            | Error::PublicKeyAsIdentity { .. }
            | Error::MissingPlugin { .. }
            | Error::Plugin(_)
            | Error::Passphrase(_)
            | Error::NotAge { .. }
            | Error::WrongKeyKind(_)
            | Error::NoMatchingKey(_)
            | Error::NotForYou { .. }
            | Error::SshKeyLocked { .. }
            | Error::SshKeyPassphrase { .. } => self.key_hint(),
            // Only an export's output is chosen with -o.
            Error::Output { source, .. } if is_storage_full(source) => Some(
                "the disk is full: free some space, or write the bundle elsewhere with -o".into(),
            ),
            Error::Output { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                Some("check the file's owner and permissions, or write elsewhere with -o".into())
            }
            Error::Output { .. } => None,
            Error::Io { path, source, .. } if is_storage_full(source) => Some(format!(
                "the disk holding {} is full: free some space and run the command again",
                path.display()
            )),
            Error::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                Some("check the file's owner and permissions".into())
            }
            Error::Io { .. } => None,
            Error::StoreUnreadable { .. } => Some(
                "name the store with -s DIR or MACHINE_STORAGE_PATH (default: ~/.docker/machine)"
                    .into(),
            ),
            Error::UnknownMachine { names, known, .. } => Some(unknown_machine_hint(names, known)),
            Error::BadConfig { .. } => Some(
                "fix the file, or export the other machines by naming them instead of --all".into(),
            ),
            Error::OutputExists { .. } => {
                Some("choose another name with -o, or pass --force to replace it".into())
            }
            Error::OutputIsTerminal => Some("redirect the output, or use -o FILE".into()),
            Error::ChangedWhileExporting { .. } => Some(
                "something is writing to the store (a running docker-machine?); wait for it and export again".into(),
            ),
            Error::NotBundle { .. } => Some(
                "a bundle is an age file holding a gzip-compressed tar that starts with mbundle.json; `age -d` shows what this one holds".into(),
            ),
            Error::Truncated { .. } => Some(
                "get a complete copy: compare its size with the sender's (a download or copy that stopped early is the usual cause)".into(),
            ),
            Error::Corrupt(_) | Error::ChecksumMismatch { .. } => Some(
                "the bundle was damaged in transit or altered; get a fresh copy from its sender".into(),
            ),
            Error::BadManifest(_) => Some("this bundle was not made by mbundle, or was altered".into()),
            Error::FutureFormat { .. } => Some("upgrade mbundle to read this bundle".into()),
            Error::Conflicts(_) => Some(
                "nothing was changed; import only some machines (mbundle import FILE NAME...), rename them with --rename OLD=NEW, or see the plan with --dry-run".into(),
            ),
            Error::Interrupted { .. } => None,
            Error::UnsafeConfig { .. } => Some(
                "nothing was imported: this bundle was crafted or altered; ask its sender for a fresh export".into(),
            ),
            Error::UnsafeLock { path, .. } => Some(format!(
                "mbundle makes {} itself; remove what is there now (rm {}) if you did not put it there on purpose, and run the command again",
                path.display(),
                crate::text::shell_word(&path.to_string_lossy())
            )),
            Error::UnsafeJournal { staging, .. } => Some(format!(
                "look at what is in it, then remove it (rm -r {}); the machines it would have imported are not in the store, import the bundle again",
                crate::text::shell_word(&staging.to_string_lossy())
            )),
            Error::NoSpace { needed, available, .. } => Some(format!(
                "free at least {} there, or import into a store on another disk with -s DIR",
                human(needed.saturating_sub(*available))
            )),
            Error::Unhealthy(_) => Some("each ERROR line above says what to do".into()),
            Error::Usage { hint, .. } => hint.clone(),
            Error::Cannot { hint, .. } => Some(hint.clone()),
            Error::HostKeyChanged { machine, pins, .. } => Some(format!(
                "if the host was rebuilt on purpose, check the new key's fingerprint on its console, then forget the old one: ssh-keygen -R {} -f {}; otherwise someone may be in between",
                crate::text::shell_word(&format!("mbundle-machine-{machine}")),
                crate::text::shell_word(&pins.display().to_string())
            )),
            Error::Bug(_) => Some(
                "this is a bug in mbundle: please report it with the command and its output".into(),
            ),
        }
    }

    /// The hints of the errors about keys: recipients, identities, plugins, passphrases.
    fn key_hint(&self) -> Option<String> {
        match self {
            Error::NotForYou { .. } => Some(
                "ask the sender to export again to the public key of your identity: `age-keygen -y KEY.txt` prints it for an age key; for an SSH key send your .pub file; for a hardware key, the age1...1... recipient its plugin printed".into(),
            ),
            Error::NoRecipients => Some(
                "add -r age1... or -r \"ssh-ed25519 ...\", -R FILE, -p (passphrase prompt) or --passphrase-file FILE"
                    .into(),
            ),
            Error::BadRecipient { .. } => Some(
                "a recipient is an age public key (age1...), a hardware key's plugin recipient (age1yubikey1...) or an SSH public key line (ssh-ed25519 ... / ssh-rsa ...); make one with age-keygen"
                    .into(),
            ),
            Error::PublicKeyAsIdentity { .. } => Some(
                "give -i the file that holds the secret half: AGE-SECRET-KEY-1... (the public age1... line is printed by `age-keygen -y` from it), or the SSH private key beside the .pub".into(),
            ),
            Error::BadIdentity { .. } => Some(
                "-i takes an age identity file (AGE-SECRET-KEY-1... from age-keygen, or AGE-PLUGIN-... from a hardware key's plugin) or an SSH private key (ed25519 or rsa)"
                    .into(),
            ),
            Error::MissingPlugin { binary, plugin } => Some(format!(
                "install {binary} (for a YubiKey: age-plugin-yubikey; a TPM: age-plugin-tpm; the Secure Enclave: age-plugin-se) and make sure this shell finds it (`command -v {binary}`); the {plugin} key itself never leaves its device"
            )),
            Error::Plugin(_) => Some(
                "check that the hardware key is plugged in and unlocked, then try again; the plugin's own message is above".into(),
            ),
            Error::Passphrase(_) => {
                Some("in scripts, use --passphrase-file FILE (first line is the passphrase)".into())
            }
            Error::NotAge { .. } => Some(
                "mbundle bundles are always age-encrypted; a plain tar.gz is not a bundle".into(),
            ),
            Error::WrongKeyKind(_) | Error::NoMatchingKey(_) => None,
            Error::SshKeyLocked { path } => Some(format!(
                "run mbundle on a terminal to type the key's passphrase, or give -i a private copy of the key without one (ssh-keygen -p -N '' -f COPY); {} itself is not changed",
                path.display()
            )),
            Error::SshKeyPassphrase { .. } => Some(
                "this is the passphrase of your SSH key, not of the bundle (ssh-keygen -y -f KEY checks it)".into(),
            ),
            _ => None,
        }
    }

    /// 2 for a command line that cannot work, 1 for every other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            // Usage, and everything that says "you did not give what is needed": no
            // recipient, no identity (a usage error), no passphrase for a passphrase bundle
            // or one for an identity bundle (WrongKeyKind).
            // A machine name that is not there and a public key where the secret one belongs
            // are mistakes in the command line too.
            Error::Usage { .. }
            | Error::NoRecipients
            | Error::BadRecipient { .. }
            | Error::UnknownMachine { .. }
            | Error::PublicKeyAsIdentity { .. }
            | Error::WrongKeyKind(_) => 2,
            Error::Interrupted { signal, .. } => (128 + signal).clamp(0, 255) as u8,
            _ => 1,
        }
    }
}

/// What is wrong with a bundle's manifest: each rule of validation (and of reading one) has
/// its variant, so callers and tests can tell them apart; the message says it in one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// `format` is not "mbundle".
    #[error("format is {0:?}, not \"mbundle\"")]
    Format(String),
    /// `format_version` is not this one.
    #[error("format_version {found} is not {supported}")]
    Version {
        /// What the manifest says.
        found: u64,
        /// What this mbundle writes.
        supported: u32,
    },
    /// More files than any store holds.
    #[error("{count} files is more than the {max} allowed")]
    TooManyFiles {
        /// How many the manifest lists.
        count: usize,
        /// The most accepted.
        max: usize,
    },
    /// A machine name, cert set id or file path that is not well-formed.
    #[error("{what} {value:?}: {reason}")]
    Malformed {
        /// "machine name", "cert set id", "file path".
        what: &'static str,
        /// The value (shortened).
        value: String,
        /// Why.
        reason: String,
    },
    /// A machine, cert set or file listed twice.
    #[error("{what} {name:?} is listed twice")]
    ListedTwice {
        /// "machine", "cert set", "file".
        what: &'static str,
        /// Which.
        name: String,
    },
    /// A file outside every listed machine and cert set directory.
    #[error("file {0:?} does not belong to a listed machine or cert set")]
    NotOwned(String),
    /// A sha256 that is not 64 lowercase hex digits.
    #[error("file {0:?} has no valid sha256")]
    BadSha256(String),
    /// A mode that is not an octal permission.
    #[error("file {path:?} has an invalid mode {mode:?}")]
    BadMode {
        /// The file.
        path: String,
        /// The mode (shortened).
        mode: String,
    },
    /// A path that is a file and the directory of another.
    #[error("{0:?} is both a file and a directory")]
    FileAndDirectory(String),
    /// A machine listing a file outside its directory or not in the archive.
    #[error("machine {machine:?} lists {path:?}, which it does not hold")]
    NotHeld {
        /// The machine.
        machine: String,
        /// The file.
        path: String,
    },
    /// A file claimed by two owners.
    #[error("file {0:?} is claimed twice")]
    ClaimedTwice(String),
    /// A machine naming a cert set that is not listed.
    #[error("machine {machine:?} uses unknown cert set {set:?}")]
    UnknownSet {
        /// The machine.
        machine: String,
        /// The set id (shortened).
        set: String,
    },
    /// A cert set member with an unknown name, listed twice.
    #[error("cert set {set:?} has an unexpected member {member:?}")]
    UnexpectedMember {
        /// The set.
        set: String,
        /// The member (shortened).
        member: String,
    },
    /// A cert set member not at `certsets/<id>/<name>` or not in the archive.
    #[error("cert set {set:?} member {member:?} is not at its place")]
    MisplacedMember {
        /// The set.
        set: String,
        /// The member.
        member: String,
    },
    /// A cert set without its CA certificate.
    #[error("cert set {0:?} has no ca.pem")]
    NoCaCert(String),
    /// A file no machine or cert set claims.
    #[error("file {0:?} belongs to no machine or cert set")]
    Orphan(String),
    /// The first entry of the archive (mbundle.json) is not a regular file.
    #[error("mbundle.json is {0}")]
    NotAFile(&'static str),
    /// The manifest entry is larger than any manifest.
    #[error("{size} bytes is larger than the {max} allowed")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The most accepted.
        max: u64,
    },
    /// The manifest is not the JSON of a manifest.
    #[error("not a valid manifest ({0})")]
    NotJson(String),
}

/// What is wrong with a certificate or key, or why issuing failed (`pki`): one variant per
/// case, so callers and tests can tell a file that is not PEM from a key that does not match.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    /// Not PEM at all.
    #[error("not a PEM certificate ({0})")]
    NotPemCertificate(String),
    /// A PEM block of another kind where a certificate belongs.
    #[error("PEM block is {0:?}, not CERTIFICATE")]
    NotCertificate(String),
    /// A CERTIFICATE block that X.509 parsing refuses.
    #[error("not a valid X.509 certificate ({0})")]
    BadCertificate(String),
    /// Not PEM where a private key belongs.
    #[error("not a PEM private key ({0})")]
    NotPemKey(String),
    /// An `RSA PRIVATE KEY` block that is not PKCS#1.
    #[error("not an RSA private key")]
    BadRsaKey,
    /// The key needs its passphrase.
    #[error("the key is encrypted with a passphrase")]
    EncryptedKey,
    /// A PEM block mbundle cannot compare with a certificate.
    #[error("a {0:?} PEM block, which mbundle cannot check")]
    UncheckableKey(String),
    /// A PKCS#8 key of an algorithm mbundle cannot compare.
    #[error("a PKCS#8 key of a kind mbundle cannot check")]
    UncheckablePkcs8,
    /// A key kind rcgen cannot sign with.
    #[error("a {0:?} key, which mbundle cannot sign with")]
    CannotSignWith(String),
    /// Verifying a signature failed for another reason than a mismatch.
    #[error("cannot check the signature ({0})")]
    Signature(String),
    /// The CA key is another certificate's.
    #[error("the CA key does not belong to the CA certificate")]
    KeyMismatch,
    /// rcgen refuses the CA key.
    #[error("cannot sign with the CA key ({0})")]
    SigningKey(String),
    /// rcgen refuses the CA certificate.
    #[error("cannot read the CA certificate ({0})")]
    CaCertificate(String),
    /// rcgen refuses the CA as an issuer.
    #[error("cannot use the CA ({0})")]
    Ca(String),
    /// A SAN that is neither a DNS name nor an IP.
    #[error("invalid SAN ({0})")]
    San(String),
    /// Generating a key failed.
    #[error("cannot make a key ({0})")]
    KeyGeneration(String),
    /// Signing failed.
    #[error("cannot sign ({0})")]
    Signing(String),
}

/// True for "no space left on device" and friends.
pub fn is_storage_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || e.raw_os_error() == Some(28)
}

/// Adds the operation and path to an `io::Result`.
pub trait IoContext<T> {
    /// Names what failed.
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_said_once_after_the_message() {
        let e = Error::io("read", "x.mbundle", io::Error::from_raw_os_error(13));
        assert_eq!(e.to_string(), "cannot read x.mbundle");
        let full = e.full_message();
        assert!(
            full.starts_with("cannot read x.mbundle: Permission denied"),
            "{full}"
        );
        assert_eq!(full.matches("Permission denied").count(), 1);
        assert_eq!(Error::Bug("x".into()).exit_code(), 1);
    }

    #[test]
    fn disk_full_hint_names_o_only_for_a_bundle_being_written() {
        let full = || io::Error::from_raw_os_error(28);
        let import = Error::io(
            "write",
            "/home/a/.docker/machine/.mbundle-staging-x/f",
            full(),
        );
        let h = import.hint().unwrap();
        assert!(!h.contains("-o"), "{h}");
        assert!(
            h.contains("/home/a/.docker/machine/.mbundle-staging-x/f"),
            "{h}"
        );
        let export = Error::output("out.mbundle", full());
        assert!(export.hint().unwrap().contains("-o"));
    }
}
