//! The arguments of the commands that issue certificates and take them to the hosts:
//! `push`, `revoke`, `rotate-ca`, `shares`, `regenerate-certs`, `renew-ca`.

use clap::Args;

use super::KeyTypeArg;

/// `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Machines whose hosts get the store's files
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Every machine of the store
    #[arg(long, conflicts_with = "names")]
    pub all: bool,

    /// Show per host what would change; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Restart docker without asking (scripts)
    #[arg(long)]
    pub yes: bool,

    /// Restart even where running containers cannot survive it (swarm mode)
    #[arg(long)]
    pub restart_containers: bool,

    /// Hosts at once, after the first has succeeded alone (a canary)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,

    /// Go on with the other hosts after one fails
    #[arg(long)]
    pub keep_going: bool,

    /// Print each host's outcome as JSON on standard output (docs/json.md)
    #[arg(long)]
    pub json: bool,
}

/// `revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The teammate (`share --as` NAME)
    #[arg(value_name = "USER")]
    pub user: String,

    /// Restart docker on the hosts without asking (scripts)
    #[arg(long)]
    pub yes: bool,

    /// Hosts at once, after the first has succeeded alone
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

/// `rotate-ca`.
#[derive(Debug, Args)]
pub struct RotateCaArgs {
    /// Show the phases and the hosts each restarts; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Restart docker on the hosts without asking (scripts)
    #[arg(long)]
    pub yes: bool,

    /// Hosts at once, after the first has succeeded alone
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

/// `shares`.
#[derive(Debug, Args)]
pub struct SharesArgs {
    /// Print them as JSON on standard output (docs/json.md)
    #[arg(long)]
    pub json: bool,
}

/// `regenerate-certs`.
#[derive(Debug, Args)]
pub struct RegenerateArgs {
    /// The machines (as docker-machine: "default" when none is given)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Every machine of the store
    #[arg(long, conflicts_with = "names")]
    pub all: bool,

    /// Only the machines whose server certificate or CA (or with --client-certs, client
    /// certificate) ends within DAYS days
    #[arg(long, value_name = "DAYS")]
    pub expiring: Option<u32>,

    /// Also a new client certificate from their CA, put wherever the old one was (the cert
    /// set, machine directories, docker contexts mbundle wrote); alone: the store's certs/
    #[arg(long)]
    pub client_certs: bool,

    /// Then put the new files on each host (mbundle push; needs --yes or a yes on a terminal)
    #[arg(long)]
    pub push: bool,

    /// With --push: restart docker without asking
    #[arg(long, requires = "push")]
    pub yes: bool,

    /// The machine's new IP address: written into config.json and into the certificate
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,

    /// The new keys' type (docker-machine issues RSA 2048)
    #[arg(long, value_enum, value_name = "TYPE", default_value_t = KeyTypeArg::Rsa)]
    pub key_type: KeyTypeArg,

    /// One more name or address for the certificate (repeatable)
    #[arg(long = "san", value_name = "IP_OR_DNS")]
    pub sans: Vec<String>,

    /// Print what was done and what to copy where, as JSON
    #[arg(long)]
    pub json: bool,
}

/// `renew-ca`.
#[derive(Debug, Args)]
pub struct RenewCaArgs {
    /// The cert set to renew (imported-certs/ID) [default: the store's certs/]
    #[arg(long = "cert-set", value_name = "ID")]
    pub cert_set: Option<String>,

    /// Validity of the renewed certificate, in days
    #[arg(long, default_value_t = crate::pki::reissue::DEFAULT_CA_DAYS, value_name = "N")]
    pub days: i64,

    /// Then give every host whose machine this CA issued for the renewed ca.pem (mbundle
    /// push; needs --yes or a yes on a terminal)
    #[arg(long, conflicts_with = "json")]
    pub push: bool,

    /// With --push: restart docker without asking
    #[arg(long, requires = "push")]
    pub yes: bool,

    /// Print what was done as JSON
    #[arg(long)]
    pub json: bool,
}
