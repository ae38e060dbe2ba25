//! What a file of the store is and how it is read: the bounds on files read whole (each
//! only as a regular file), which files are secret by name or by content and the mode each
//! gets, and a file's sha256 that never waits on a FIFO or reads past its size.

use std::path::Path;

use super::{CA_CERT, CLIENT_CERT};
use crate::error::{IoContext, Result};

/// Largest config.json mbundle will read (real ones are a few KiB).
pub const MAX_CONFIG: u64 = 4 << 20;
/// Largest certificate or key file read whole (a PEM file is a few KiB).
pub const MAX_PEM_FILE: u64 = 1 << 20;

/// A certificate or key file of the store, read whole with a bound and only if it is a
/// regular file: whatever `stat` says, a file in /proc or a FIFO put where a key belongs costs
/// nothing.
pub fn read_pem_file(path: &Path) -> Result<Vec<u8>> {
    crate::fs::beneath::read_bounded(path, MAX_PEM_FILE)
}

/// A config.json read whole with a bound, only if it is a regular file (see [`read_pem_file`]).
pub fn read_config_file(path: &Path) -> Result<Vec<u8>> {
    crate::fs::beneath::read_bounded(path, MAX_CONFIG)
}

/// Files whose content is secret: written 0600 whatever their mode was.
pub fn is_secret_file(name: &str) -> bool {
    name == "config.json"
        || name.ends_with("key.pem")
        || name.ends_with(".key")
        || (name.starts_with("id_") && !name.ends_with(".pub"))
}

/// The files docker-machine writes that anyone may read: certificates (not their keys) and
/// SSH public keys. Everything else an import writes is private.
pub fn is_public_file(name: &str) -> bool {
    matches!(name, CA_CERT | CLIENT_CERT | "server.pem") || name.ends_with(".pub")
}

/// Whether bytes hold key material, whatever the file is called: a PEM private key of any
/// kind (`PRIVATE KEY-----` ends every one: PKCS#1, PKCS#8, encrypted, EC, OpenSSH), a PuTTY
/// key, or a PKCS#12 bundle (DER whose first content is PKCS#7 data, as every .p12/.pfx).
pub fn holds_secret(bytes: &[u8]) -> bool {
    const PEM: &[u8] = b"PRIVATE KEY-----";
    const PUTTY: &[u8] = b"PuTTY-User-Key-File-";
    // A DER SEQUENCE holding INTEGER 3 (the PFX version) and, within its first bytes, the
    // OID 1.2.840.113549.1.7.1 (pkcs7-data).
    const PKCS7_DATA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    ];
    let head = &bytes[..bytes.len().min(64)];
    let within = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let p12 = bytes.first() == Some(&0x30)
        && within(&head[..head.len().min(16)], &[0x02, 0x01, 0x03])
        && within(head, PKCS7_DATA);
    within(bytes, PEM) || bytes.starts_with(PUTTY) || p12
}

/// The mode a file gets in the store, decided by what it is: 0644 only for a public file
/// ([`is_public_file`]) that holds no key material ([`holds_secret`]: a `ca.pem` with the CA
/// key appended is a key); 0600 for everything else, whatever its name (`ca-key.pem.orig`,
/// `server-key.pem.<ts>.old`, a `.p12`, an SSH key under any name). Never what the bundle
/// claims. `bytes`: the file's content, or `None` when it is not at hand (a large file).
pub fn store_mode(name: &str, bytes: Option<&[u8]>) -> u32 {
    match bytes {
        Some(b) if is_public_file(name) && !holds_secret(b) => 0o644,
        _ => 0o600,
    }
}

/// The sha256 of a file, streamed.
///
/// Only a regular file, and only the bytes its size says it has when opened: a FIFO, a device
/// (`/dev/zero`) or a file that keeps growing never holds the caller.
pub fn sha256_file(path: &Path) -> Result<String> {
    let (f, size) = crate::fs::beneath::open_regular(path)?;
    use sha2::Digest;
    use std::io::Read;
    let mut f = f.take(size);
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).ctx("read", path)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
