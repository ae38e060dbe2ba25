//! Certificates: facts read from them ([`certs`]: fingerprints, expiry, issuer, key match)
//! and issuing with a machine's own CA ([`reissue`]).

pub mod certs;
pub mod reissue;
