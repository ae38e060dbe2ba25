//! The command line, as syntax only. Kept alone in this module so the man page (and anything
//! else generated from it) sees exactly what the binary parses; resolving it into settings
//! happens in [`crate::commands`].

use std::path::PathBuf;

mod certs;
pub use certs::*;

use clap::{Args, Parser, Subcommand};

/// Help text after the options: the `Examples:` lines exactly as written (each one pastes
/// whole: clap's own wrapping is off), the paragraphs after them wrapped at 90 columns.
pub fn wrapped(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.split('\n') {
        if line.starts_with("  ") || line.len() <= 90 {
            out.push(line.to_string());
            continue;
        }
        let mut current = String::new();
        for word in line.split(' ') {
            if !current.is_empty() && current.len() + 1 + word.len() > 90 {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(current);
    }
    out.join("\n")
}

/// Move and back up docker-machine machines safely.
#[derive(Debug, Parser)]
#[command(
    name = "mbundle",
    version,
    about = "Move and back up docker-machine machines safely",
    long_about = wrapped("mbundle packs docker-machine machines, with the CA and client certificates that \
issued them, into one age-encrypted bundle (gzip-compressed tar inside), and reads such bundles back.\n\n\
A bundle is never written unencrypted: give recipients (-r/-R) or a passphrase (-p/--passphrase-file). \
It stays recoverable with stock tools: age -d -i key.txt FILE | tar -xz"),
    after_help = wrapped("Examples:\n  \
mbundle ls\n  \
mbundle export web db -r age1... -o machines.mbundle\n  \
mbundle export --all -R ~/.ssh/id_ed25519.pub -o backup.mbundle\n  \
mbundle inspect backup.mbundle -i ~/.ssh/id_ed25519\n  \
mbundle verify backup.mbundle -i key.txt\n\n\
Exit status: 0 success; 2 a mistake in the command line (unknown flag, a machine name not in \
the store or bundle, a public key given to -i, export without names or --all, a missing key or \
passphrase); 1 every other failure; 128+N when interrupted by signal N.")
)]
pub struct Cli {
    /// The docker-machine store [default: ~/.docker/machine]
    #[arg(
        short = 's',
        long = "storage-path",
        env = "MACHINE_STORAGE_PATH",
        global = true,
        value_name = "DIR"
    )]
    pub storage_path: Option<PathBuf>,

    /// When to colour help and usage errors (auto: on a terminal, unless NO_COLOR is set)
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `regenerate-certs --key-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyTypeArg {
    /// RSA 2048, as docker-machine
    Rsa,
    /// ECDSA P-256
    Ecdsa,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// The `--color` given on a command line, found before clap parses it (clap colours its
    /// own usage errors while parsing).
    pub fn from_args(args: &[std::ffi::OsString]) -> clap::ColorChoice {
        let mut choice = clap::ColorChoice::Auto;
        let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(a) = it.next() {
            if a == "--" {
                break;
            }
            let value = match a.strip_prefix("--color") {
                Some("") => it.next().map(|v| v.into_owned()),
                Some(rest) => rest.strip_prefix('=').map(str::to_string),
                None => None,
            };
            match value.as_deref() {
                Some("always") => choice = clap::ColorChoice::Always,
                Some("never") => choice = clap::ColorChoice::Never,
                Some("auto") => choice = clap::ColorChoice::Auto,
                _ => {}
            }
        }
        choice
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the store's machines: driver, URL, issuing CA and certificate expiry
    #[command(
        after_help = wrapped("Examples:\n  mbundle ls\n  mbundle -s /srv/dm ls\n  mbundle ls --json")
    )]
    Ls(LsArgs),

    /// Pack machines and their issuing certificates into an encrypted bundle
    #[command(after_help = wrapped("Examples:\n  \
mbundle export web -r age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p -o web.mbundle\n  \
mbundle export web db -r \"$(cat ~/.ssh/id_ed25519.pub)\" -o - | ssh laptop2 'cat > m.mbundle'\n  \
mbundle export --all -R team-recipients.txt -o store-backup.mbundle\n  \
mbundle export --all -r age1yubikey1q... -r age1ql3z7... -o ca-backup.mbundle   # YubiKey + paper key\n  \
mbundle export --all --include-disks -p -o full-backup.mbundle\n  \
mbundle export web --passphrase-file pass.txt -o web.mbundle --force\n\n\
VM disk images (iso, vmdk, vdi, vhd(x), qcow2, img, raw...) and the VM folder are left out and \
listed unless --include-disks is given. --all also carries the store's certs/ (a CA backup)."))]
    Export(ExportArgs),

    /// Share machines with a teammate: their own client certificate, no CA, server or SSH keys, cloud credentials removed
    #[command(after_help = wrapped("Examples:\n  \
mbundle share web --as bob -r age1bob... -o web-for-bob.mbundle\n  \
mbundle share web db --as bob@example.com -R bob.pub --days 90 -o bob.mbundle\n  \
mbundle share web --as carol -r \"$(cat carol_ed25519.pub)\" --with-ssh-key -o web.mbundle\n  \
mbundle share dev --as bob -R bob.pub -o dev.mbundle --yes   # dev's CA also signed prod's daemon\n\n\
The teammate runs the ordinary `mbundle import FILE -i KEY`. Each machine's CA (whose key must be \
in this store) signs a new client certificate naming the teammate (CN and O = NAME, clientAuth, \
--days, default 1080 as docker-machine, never past the CA's own end). Every daemon that trusts that \
CA accepts the certificate: when machines not named trust it too, share lists them and goes ahead \
only with --yes (or when you say so on a terminal). The bundle carries exactly: the CA certificate, \
each machine's server.pem (each file holding its one certificate), the teammate's new client pair, \
config.json reduced to what reaches and lists the machine (every other field emptied and listed; \
all of it with --keep-secrets), and the SSH key only with --with-ssh-key. Nothing else of the \
machine directory travels. The teammate's docker, env, ssh and scp work; docker-machine \
start/stop/rm, which need the cloud credentials, do not. Nothing is written to the store."))]
    Share(ShareArgs),

    /// List the scoped shares: teammate, machines, until when, revoked or not
    #[command(after_help = wrapped("Examples:\n  \
mbundle shares\n  \
mbundle shares --json\n"))]
    Shares(SharesArgs),

    /// Take a scoped share back: its CA key destroyed, and each host that trusted it made not to
    #[command(after_help = wrapped("Examples:\n  \
mbundle revoke bob --yes\n  \
mbundle shares\n\n\
Every scoped share of the teammate (share --scoped) is marked revoked and its CA key \
destroyed, then each machine it named gets its host's CA file without the share's CA (mbundle \
push: the daemon restarted, verified, rolled back on failure). Your own certificates are not \
touched. A host that cannot be reached keeps trusting the share until the next `mbundle \
revoke` of the same teammate, which finishes it; `mbundle shares` lists such hosts."))]
    Revoke(RevokeArgs),

    /// Import the machines of a bundle (all, or those named): certs beside existing ones, every path rewritten
    #[command(after_help = wrapped("Examples:\n  \
mbundle import web.mbundle -i ~/.ssh/id_ed25519\n  \
mbundle import backup.mbundle web -i ~/.ssh/id_ed25519     # just web, from a full backup\n  \
mbundle -s /srv/dm import backup.mbundle -i key.txt --dry-run\n  \
mbundle import team.mbundle -i key.txt --rename web=web-staging\n  \
ssh laptop1 'mbundle export --all -r age1... -o -' | mbundle import - -i key.txt\n\n\
The import is a transaction: everything is staged inside the store and checked first; on any \
failure (including Ctrl-C) the store is left exactly as it was. Conflicts (an existing machine, \
an existing file with other bytes) are all listed and nothing is written. Cert sets go to \
imported-certs/<id>/ beside certs/ (never replacing a file), or to certs/ when the store has \
none, or stay in certs/ when identical. Past ten machines the report counts them by where \
their certificates are; -v lists each."))]
    Import(ImportArgs),

    /// Print the environment for the docker CLI to reach a machine, as docker-machine env does
    #[command(after_help = wrapped("Examples:\n  \
eval $(mbundle env web)\n  \
mbundle env web --shell fish | source\n  \
mbundle env -u\n  \
& mbundle env web --shell powershell | Invoke-Expression"))]
    Env(EnvArgs),

    /// Write a docker context for a machine (into the docker CLI's store, or a .dockercontext file)
    #[command(after_help = wrapped("Examples:\n  \
mbundle context web && docker --context web version\n  \
mbundle context w --context-name machine-w\n  \
mbundle context web --force   (refresh it after regenerate-certs --ip or a new client certificate)\n  \
mbundle context web --output web.dockercontext && docker context import web web.dockercontext\n\n\
Contexts go to $DOCKER_CONFIG/contexts (default ~/.docker/contexts), laid out as the docker CLI \
lays them out; an existing context is replaced only with --force."))]
    Context(ContextArgs),

    /// Check machines' certificates, keys, paths and permissions, and a certs.d directory
    #[command(after_help = wrapped("Examples:\n  \
mbundle doctor\n  \
mbundle doctor -v web db\n  \
mbundle doctor --hosts\n  \
mbundle doctor --certs-d /etc/docker/certs.d\n  \
mbundle doctor web --certs-d ~/.docker/certs.d/registry.example.com:5000\n\n\
Checks that the CA certificate matches the CA key, that the client and server certificates \
were issued by that CA and match their keys, expiry (warning within 30 days), that the server \
certificate names the machine's address, that every path in config.json exists and that keys \
are private. Prints what is wrong, with the fix, and a one-line summary; -v prints every \
check. --hosts also asks each host, over SSH as docker-machine reaches it (the machine's key, \
BatchMode, sudo -n), which TLS files its running dockerd was started with and compares them \
with the store's; the host key is recorded in the machine's directory on first contact \
(mbundle-known-hosts) and a changed key is refused. Nothing is changed on a host. Exits 1 \
when something is broken."))]
    Doctor(DoctorArgs),

    /// Make each machine's host use the TLS files the store holds for it, over SSH; verified, rolled back on failure
    #[command(after_help = wrapped("Examples:\n  \
mbundle push web --dry-run\n  \
mbundle push web db --yes\n  \
mbundle push --all --yes --parallel 8\n\n\
Per host, over SSH as docker-machine reaches it (its host key pinned in the store on first \
contact): the running dockerd's command line says which TLS files it uses, a TLS handshake \
which certificate it serves. A host that uses and serves the store's files is left alone. \
Otherwise the new files are staged beside the old (sha256 checked; the old kept as \
<file>.mbundle-backup), live-restore is turned on for a moment (daemon.json, then a reload) \
so running containers survive, the files are swapped and docker restarted once, and the \
result verified: the daemon serves exactly the store's server certificate, accepts the \
store's client certificate and runs the same containers; daemon.json is put back byte for \
byte. If that fails, the backups are put back, docker restarted and the old state checked: \
the host is reported rolled back. Refused, with the host untouched: a layout docker-machine \
does not provision, a daemon.json key its command line also sets, swarm mode (unless \
--restart-containers). The CA key never leaves the store. The first host goes alone (a \
canary); after it succeeds, up to --parallel N (default 4) at once; after a failure no new \
host starts unless --keep-going. Restarting docker needs --yes (or a yes on a terminal)."))]
    Push(PushArgs),

    /// Issue a new server certificate with the machine's own CA (for a changed IP, new SANs)
    #[command(
        name = "regenerate-certs",
        after_help = wrapped("Examples:\n  \
mbundle regenerate-certs web --ip 192.168.99.101\n  \
mbundle regenerate-certs web --san web.example.com --san 10.0.0.5\n  \
mbundle regenerate-certs web --json\n  \
mbundle regenerate-certs --expiring 30 --client-certs --push --yes\n  \
mbundle regenerate-certs --client-certs   (only the store's client certificate)\n\n\
The old server.pem and server-key.pem are kept, renamed with a timestamp. The new ones must \
then be copied to the host (/etc/docker/, boot2docker's /var/lib/boot2docker/) and its daemon \
restarted: the command prints how, with the machine's SSH key and user, or with --push does it \
(mbundle push: staged, verified, rolled back on failure). Several machines may be named; --all \
takes every machine, --expiring DAYS only those whose server certificate, CA or (with \
--client-certs) client certificate ends within DAYS. --client-certs also issues a new client \
certificate (cert.pem, key.pem) from the CA of those machines, whose key stays, and puts it \
wherever the old one was: the cert set, every machine directory's copy, every docker context \
mbundle wrote. No host needs it: a daemon accepts any client certificate its CA signed.")
    )]
    RegenerateCerts(RegenerateArgs),

    /// Re-issue a CA certificate with the same key and subject, before (or after) it expires
    #[command(
        name = "renew-ca",
        after_help = wrapped("Examples:\n  \
mbundle renew-ca\n  \
mbundle renew-ca --cert-set 005e615795b1819c --days 3650\n  \
mbundle renew-ca --push --yes\n\n\
Every certificate the CA issued keeps verifying. The old ca.pem is kept, renamed with a \
timestamp; machine directories holding a copy of the old CA get the new one. Each host's \
/etc/docker/ca.pem needs it too (the daemon checks client certificates against it): --push \
does that on every machine the CA issued for (mbundle push), or copy it by hand.")
    )]
    RenewCa(RenewCaArgs),

    /// A new CA key for the store's certs/ and every host it issued for, in phases that cut no one off
    #[command(name = "rotate-ca", after_help = wrapped("Examples:\n  \
mbundle rotate-ca --dry-run\n  \
mbundle rotate-ca --yes\n\n\
For a CA key that leaked, or that should no longer be trusted. Four phases, each pushed to \
every host of the store's certs/ CA (mbundle push: verified, rolled back on failure; a host \
that fails does not spare the others) and recorded only when all took it: 1. every host trusts \
the old and the new CA (and the store's clients do too); 2. every host gets a server \
certificate from the new CA; 3. a new client certificate from the new CA (certs/, every \
machine's copy, mbundle's docker contexts); 4. every host trusts only the new CA, which becomes \
certs/'s. The old CA key is kept aside, 0600, named with the date, and the output says how to \
destroy it. Stopped at any point, rotate-ca again resumes that rotation instead of starting \
another. Machines whose CA is another cert set or outside the store are left alone, each with \
a line. Teammates of scoped shares need a new share afterwards (named at the end)."))]
    RotateCa(RotateCaArgs),

    /// Show what a bundle holds, without writing anything
    #[command(after_help = wrapped("Examples:\n  \
mbundle inspect web.mbundle -i key.txt\n  \
mbundle inspect web.mbundle -i ~/.ssh/id_ed25519 --json | jq '.machines[].name'\n  \
cat web.mbundle | mbundle inspect - --passphrase-file pass.txt\n\n\
Credentials held in config.json (cloud keys, tokens, passwords) are never printed."))]
    Inspect(InspectArgs),

    /// Check every file of a bundle against its manifest checksums, without writing anything
    #[command(after_help = wrapped("Examples:\n  \
mbundle verify backup.mbundle -i key.txt\n  \
mbundle verify backup.mbundle -p"))]
    Verify(VerifyArgs),

    /// Is a bundle current with the store? Lists machines not backed up, changed, or only in the bundle
    #[command(after_help = wrapped("Examples:\n  \
mbundle diff backup.mbundle -i ~/.ssh/id_ed25519\n  \
mbundle diff backup.mbundle -i key.txt --json\n  \
mbundle diff backup.mbundle -i key.txt -q || mail -s 'machines backup is stale' me@example.com\n\n\
Exit status: 0 when the bundle holds everything the store holds, byte for byte; 1 when not; \
2 on usage errors. config.json is compared as an import would write it, so a bundle made on \
another computer compares sensibly. Reads the bundle once and writes nothing."))]
    Diff(DiffArgs),

    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = wrapped("Examples:\n  \
mbundle completions bash > ~/.local/share/bash-completion/completions/mbundle\n  \
mbundle completions zsh > ~/.zfunc/_mbundle        # with fpath+=~/.zfunc before compinit\n  \
mbundle completions fish > ~/.config/fish/completions/mbundle.fish\n  \
mbundle completions powershell >> $PROFILE\n  \
mbundle completions elvish > ~/.config/elvish/lib/mbundle.elv\n\n\
The script is printed on standard output; a new shell picks it up from the places above."))]
    Completions(CompletionsArgs),

    /// Write the manual pages (mbundle.1 and one per command) into a directory
    #[command(after_help = wrapped("Examples:\n  \
mbundle man ~/.local/share/man/man1 && man mbundle-import\n  \
sudo mbundle man /usr/local/share/man/man1\n\n\
The directory is created if needed; pages of the same name are replaced (they are this \
version's). The same pages are in the source tree's man/ directory."))]
    Man(ManArgs),
}

/// `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

/// How to encrypt.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Encrypt to this recipient: age1... (age-keygen), age1yubikey1... (a hardware key's plugin) or an SSH public key line (repeatable)
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// Encrypt to every recipient listed in FILE, one a line, as `age -R` reads it (repeatable)
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,

    /// Encrypt with a passphrase, prompted twice on the terminal
    #[arg(short = 'p', long = "passphrase", conflicts_with = "passphrase_file")]
    pub passphrase: bool,

    /// Encrypt with the passphrase on the first line of FILE (for scripts)
    #[arg(long = "passphrase-file", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// How to decrypt.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Decrypt with this identity: an age identity file (AGE-SECRET-KEY-..., or AGE-PLUGIN-... for a hardware key) or an SSH private key (repeatable)
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,

    /// The bundle is passphrase-encrypted: prompt for it
    #[arg(short = 'p', long = "passphrase", conflicts_with = "passphrase_file")]
    pub passphrase: bool,

    /// Read the passphrase from the first line of FILE (for scripts)
    #[arg(long = "passphrase-file", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Machines to export
    #[arg(value_name = "NAME", conflicts_with = "all")]
    pub names: Vec<String>,

    /// Export every machine, and the store's certs/ even if no machine uses it
    #[arg(long)]
    pub all: bool,

    /// Where to write the bundle; - for standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Encryption.
    #[command(flatten)]
    pub encrypt: EncryptArgs,

    /// Also carry VM disk images and the VM folder (can be many GiB)
    #[arg(long)]
    pub include_disks: bool,

    /// Replace the output file if it exists
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Print nothing but warnings and errors
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print the result as JSON on standard output (docs/json.md)
    #[arg(long)]
    pub json: bool,
}

/// `share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Machines to share
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    /// The teammate the new client certificate names (a user or e-mail name)
    #[arg(long = "as", value_name = "NAME")]
    pub user: String,

    /// Where to write the bundle; - for standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Encryption: the teammate's public key.
    #[command(flatten)]
    pub encrypt: EncryptArgs,

    /// Validity of the teammate's certificate, in days
    #[arg(long, value_name = "DAYS", default_value_t = crate::pki::reissue::DEFAULT_DAYS)]
    pub days: i64,

    /// Also carry each machine's SSH key (root on the host: docker-machine ssh/scp)
    #[arg(long)]
    pub with_ssh_key: bool,

    /// Leave cloud credentials (access keys, tokens, passwords) in config.json
    #[arg(long)]
    pub keep_secrets: bool,

    /// Sign the teammate's certificate with a CA made for this share alone, kept in the store
    /// (scoped-shares/), that only the named machines' daemons will trust: it opens those and
    /// nothing else, and `mbundle revoke USER` takes it back
    #[arg(long)]
    pub scoped: bool,

    /// With --scoped: then give the named machines' hosts the share's CA (mbundle push; needs
    /// --yes or a yes on a terminal); without it, run mbundle push NAME... yourself
    #[arg(long, requires = "scoped")]
    pub push: bool,

    /// Share even though the certificate also opens machines not named (every daemon that
    /// trusts the same CA accepts it); with --push, restart docker without asking. Without
    /// it a terminal asks, anything else refuses
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Replace the output file if it exists
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Print nothing but warnings and errors
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print what was shared as JSON on standard output (with -o FILE)
    #[arg(long)]
    pub json: bool,
}

/// `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle; - for standard input
    #[arg(value_name = "FILE")]
    pub bundle: PathBuf,

    /// Decryption.
    #[command(flatten)]
    pub decrypt: DecryptArgs,

    /// Print the manifest as JSON for scripts
    #[arg(long)]
    pub json: bool,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write the pages (a man1 directory)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The bundle; - for standard input
    #[arg(value_name = "FILE")]
    pub bundle: PathBuf,

    /// Decryption.
    #[command(flatten)]
    pub decrypt: DecryptArgs,

    /// Print the differences as JSON for scripts
    #[arg(long)]
    pub json: bool,

    /// Print nothing; only the exit status says whether the bundle is current
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle; - for standard input
    #[arg(value_name = "FILE")]
    pub bundle: PathBuf,

    /// Decryption.
    #[command(flatten)]
    pub decrypt: DecryptArgs,

    /// Print nothing on success
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print the result as JSON on standard output (docs/json.md)
    #[arg(long)]
    pub json: bool,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle; - for standard input
    #[arg(value_name = "FILE")]
    pub bundle: PathBuf,

    /// Import only these machines (and the cert sets they use); all when none is named
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Decryption.
    #[command(flatten)]
    pub decrypt: DecryptArgs,

    /// Import machine OLD under the name NEW (repeatable)
    #[arg(long = "rename", value_name = "OLD=NEW")]
    pub renames: Vec<String>,

    /// Also write a docker context (named like the machine) for every machine imported
    #[arg(long)]
    pub docker_context: bool,

    /// Print the plan (names, cert placement, every path rewrite) and write nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Print nothing but warnings and errors
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// List every machine and every path left alone, not counts past ten
    #[arg(short, long)]
    pub verbose: bool,

    /// Print the result as JSON on standard output (docs/json.md)
    #[arg(long)]
    pub json: bool,
}

/// `env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The machine (as docker-machine: "default" when none is given)
    #[arg(value_name = "NAME", default_value = "default")]
    pub name: String,

    /// The shell to write for [default: from $SHELL]
    #[arg(long, value_enum)]
    pub shell: Option<crate::store::env::Shell>,

    /// Print the commands that unset the variables instead
    #[arg(short = 'u', long)]
    pub unset: bool,
}

/// `context`.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// The machine (as docker-machine: "default" when none is given)
    #[arg(value_name = "NAME", default_value = "default")]
    pub name: String,

    /// The context's name [default: the machine's]
    #[arg(long, value_name = "CTX")]
    pub context_name: Option<String>,

    /// Write a .dockercontext file (for `docker context import`) instead of adding the context
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace the context (or with --output the file) if it exists: a context refreshed
    /// with the machine's current address and certificates
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Print the result as JSON on standard output (docs/json.md)
    #[arg(long)]
    pub json: bool,
}

/// `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Machines to check [default: all]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Also check a Docker registry certificate directory (certs.d or one registry's)
    #[arg(long = "certs-d", value_name = "DIR")]
    pub certs_d: Option<PathBuf>,

    /// Print every check, not only what is wrong
    #[arg(short, long)]
    pub verbose: bool,

    /// Also ask each machine's host over SSH (its host key pinned in the store on first
    /// contact) which TLS files its running daemon uses, and whether they are the store's
    #[arg(long)]
    pub hosts: bool,

    /// Print the result as JSON on standard output (docs/json.md)
    #[arg(long)]
    pub json: bool,
}
