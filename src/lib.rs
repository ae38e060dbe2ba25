//! mbundle: move and back up docker-machine machines safely.
//!
//! Data flows one way: store -> plan -> bundle -> plan -> store. The pure cores
//! ([`paths`], [`manifest`], the grouping and exclusion rules in [`export`]) hold no I/O;
//! [`store`], [`bundle`], [`crypto`] and [`export`] are the edges; [`cli`] is syntax only and
//! [`app`] turns it into work.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod bundle;
pub mod certs;
pub mod cli;
pub mod crypto;
pub mod error;
pub mod export;
pub mod manifest;
pub mod paths;
pub mod rewrite;
pub mod store;

pub use error::{Error, Result};
