//! The bundle format: the manifest ([`manifest`]), the stream of tar over gzip over age
//! ([`bundle`]), the parallel gzip writer ([`pgzip`]) and reader ([`pinflate`]), and who can
//! open a bundle ([`crypto`], [`plugins`]).

pub mod bundle;
pub mod crypto;
pub mod hashing;
pub mod manifest;
pub mod pgzip;
pub mod pinflate;
pub mod plugins;
