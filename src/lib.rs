//! mbundle: move and back up docker-machine machines safely.
//!
//! Data flows one way: store -> plan -> bundle -> plan -> store. The layers, each importing
//! only those below it (`tests/tidy.rs` keeps it so; ARCHITECTURE.md is the map):
//!
//! - [`cli`] (clap syntax only) and [`commands`] (one command each: arguments in, one
//!   operation called, text and `--json` out);
//! - [`ops`]: export, import, doctor, lifecycle: typed request in, typed report out;
//! - the domain: [`format`] (manifest, bundle streams, parallel gzip, age), [`store`] (layout,
//!   config.json, foreign paths, rewrite, docker contexts, shell env, field checks), [`pki`]
//!   (certificate facts, issuing), [`host`] (reaching a machine's host over SSH, what its
//!   daemon uses);
//! - the ground: [`fs`] (private dirs, modes, no-replace rename, the store lock, outputs),
//!   [`error`], [`progress`], [`signals`], [`text`] (escaping and quoting what others wrote),
//!   [`failpoint`] (failure injection, compiled only with the `failpoints` feature).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
mod commands;
mod error;
#[doc(hidden)]
pub mod failpoint;
mod format;
mod fs;
mod host;
mod ops;
mod pki;
mod progress;
mod signals;
mod store;
pub mod text;

pub use commands::{for_this_store, run, Outcome};
pub use error::{Error, Result};
pub use failpoint::failpoint;

// What the integration tests and fuzz targets drive directly; nothing else is public, so
// the compiler reports dead code and `missing_docs` asks only for what others can see.
pub use format::bundle::{read_bundle, read_plaintext, VerifyOnly, Visitor};
pub use format::crypto::DecryptWith;
pub use format::manifest::{check_archive_path, FileEntry, Manifest};
pub use ops::export::{
    plan as plan_export, run as write_export, ExportPlan, ExportRequest, Output,
};
pub use pki::certs::parse_pem;
pub use progress::Progress;
pub use store::context::context_id;
pub use store::env::Shell;
pub use store::paths::ForeignPath;
pub use store::rewrite::{rewrite_config, to_docker_machine_json, PathMap};
pub use store::{is_secret_file, Store};

/// Fixture access for the unit tests.
#[cfg(test)]
pub(crate) mod test_fixture {
    /// A file of the Linux fixture store (fixtures/linux/home/alice/.docker/machine).
    pub fn read_linux_store(rel: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/linux/home/alice/.docker/machine")
            .join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}
