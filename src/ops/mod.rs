//! The operations: each takes a typed request and returns a typed report; none prints, and
//! none imports another for a helper (shared helpers live in the layers below).

pub mod diff;
pub mod doctor;
pub mod export;
pub mod import;
pub mod lifecycle;
pub mod push;
