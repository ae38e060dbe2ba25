//! The bundle format: the manifest ([`manifest`]), the stream of tar over gzip over age
//! ([`bundle`]), the parallel gzip writer ([`pgzip`]) and reader ([`pinflate`]), and who can
//! open a bundle ([`crypto`], [`plugins`]), the archive's layout spelled once ([`layout`]) and
//! what a bundle holds of a machine against a folder on disk ([`contents`]).

pub mod bundle;
pub mod contents;
pub mod crypto;
pub mod hashing;
pub mod layout;
pub mod manifest;
pub mod pgzip;
pub mod pinflate;
pub mod plugins;
