//! Small files read once per export. A store of 500 machines sharing two CAs has the same CA
//! files checked for every machine, and every key and certificate is read to check it is
//! what its name says, then to hash it, then to stream it. While an export plans
//! ([`hold`]), each small file is read once and its bytes held (up to [`HOLD_TOTAL`] in all):
//! every later check reads the held bytes, and the bundle carries exactly the bytes that were
//! hashed, with no second read. Files beyond the budget are read as before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::stamp::Stamp;
use zeroize::Zeroizing;

/// Largest file held.
pub(super) const HOLD_FILE: u64 = 1 << 20;
/// Most bytes held in all, whatever the store's size and however many threads scan it.
pub(super) const HOLD_TOTAL: u64 = 16 << 20;

/// Bytes held by the export under way, over all its threads.
static HELD_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Starts an export's budget afresh (one export per run; in tests, a new plan).
pub(super) fn new_budget() {
    HELD_BYTES.store(0, std::sync::atomic::Ordering::Relaxed);
}

/// A file's bytes, their sha256 and the metadata read with them.
#[derive(Clone)]
pub(super) struct HeldFile {
    pub(super) bytes: Arc<Zeroizing<Vec<u8>>>,
    pub(super) sha256: [u8; 32],
    pub(super) meta: fs::Metadata,
}

/// What checking the bytes whose sha256 is the key gave: answers that depend on the content
/// alone, so a CA copied into 500 machine directories is parsed once, not 500 times.
#[derive(Default)]
pub(super) struct Held {
    files: HashMap<PathBuf, HeldFile>,
    /// As a certificate: its DER, or why not.
    certs: HashMap<[u8; 32], Result<Vec<u8>, String>>,
    /// As the key of a certificate (by the DER's sha256).
    keys: HashMap<([u8; 32], [u8; 32]), Result<(), String>>,
    /// Its fingerprint.
    fingerprints: HashMap<[u8; 32], String>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// While the returned guard lives, small files read through [`read`] on this thread are held
/// (the held bytes live on in whatever took them once it is dropped).
pub(super) fn hold() -> crate::fs::ThreadCache<Held> {
    crate::fs::thread_cache(&HELD)
}

/// Why a file could not be read whole.
pub(super) enum ReadError {
    /// Larger than asked for (its size).
    TooLarge(u64),
    /// It changed while it was read.
    Changed,
    /// The OS said no.
    Io(io::Error),
}

/// A file of at most `max` bytes (and at most [`HOLD_FILE`]), read whole: from what is held,
/// or from the disk (and then held, while there is room). A file whose identity or times
/// change while it is read is refused.
pub(super) fn read(p: &Path, max: u64) -> Result<HeldFile, ReadError> {
    let max = max.min(HOLD_FILE);
    if let Some(f) = HELD.with(|h| h.borrow().as_ref().and_then(|h| h.files.get(p).cloned())) {
        return Ok(f);
    }
    let file = File::open(p).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.len() > max {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    // A regular file is read to its size, not to its end: one read instead of two (4,000
    // files in a store of 500 machines); a file that grows or is rewritten meanwhile changes
    // its stamp, checked below.
    let limit = if meta.is_file() { meta.len() } else { max + 1 };
    (&file)
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    let after = file.metadata().map_err(ReadError::Io)?;
    if bytes.len() as u64 != meta.len() || Stamp::of(&after) != Stamp::of(&meta) {
        return Err(ReadError::Changed);
    }
    use sha2::Digest;
    let held = HeldFile {
        sha256: sha2::Sha256::digest(bytes.as_slice()).into(),
        bytes: Arc::new(bytes),
        meta,
    };
    HELD.with(|h| {
        if let Some(h) = h.borrow_mut().as_mut() {
            use std::sync::atomic::Ordering;
            let size = held.bytes.len() as u64;
            let before = HELD_BYTES.fetch_add(size, Ordering::Relaxed);
            if before + size <= HOLD_TOTAL {
                h.files.insert(p.to_path_buf(), held.clone());
            } else {
                HELD_BYTES.fetch_sub(size, Ordering::Relaxed);
            }
        }
    });
    Ok(held)
}

/// Whether `p` is held (it was read whole during this export: a regular file).
pub(super) fn is_held(p: &Path) -> bool {
    HELD.with(|h| h.borrow().as_ref().is_some_and(|h| h.files.contains_key(p)))
}

/// `check` of the held certificate file `f`, done once per content while holding.
pub(super) fn cert_checked(
    f: &HeldFile,
    check: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    remembered(f.sha256, |h| &mut h.certs, || check(&f.bytes))
}

/// `check` of the held key file `f` against the certificate `der`, once per content.
pub(super) fn key_checked(
    f: &HeldFile,
    der: &[u8],
    check: impl FnOnce(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    use sha2::Digest;
    let key = (f.sha256, <[u8; 32]>::from(sha2::Sha256::digest(der)));
    remembered(key, |h| &mut h.keys, || check(&f.bytes))
}

/// `fingerprint` of the held file `f`, once per content.
pub(super) fn fingerprint(f: &HeldFile, fingerprint: impl FnOnce(&[u8]) -> String) -> String {
    remembered(f.sha256, |h| &mut h.fingerprints, || fingerprint(&f.bytes))
}

/// The answer `map` keeps under `key`, else `check`'s, kept while holding.
fn remembered<K: std::hash::Hash + Eq, V: Clone>(
    key: K,
    map: impl Fn(&mut Held) -> &mut HashMap<K, V>,
    check: impl FnOnce() -> V,
) -> V {
    let known = HELD.with(|h| {
        h.borrow_mut()
            .as_mut()
            .and_then(|h| map(h).get(&key).cloned())
    });
    if let Some(v) = known {
        return v;
    }
    let v = check();
    HELD.with(|h| {
        if let Some(h) = h.borrow_mut().as_mut() {
            map(h).insert(key, v.clone());
        }
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_held_up_to_the_budget_then_read_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let n = (HOLD_TOTAL / HOLD_FILE) as usize + 2;
        let paths: Vec<PathBuf> = (0..n)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                fs::write(&p, vec![i as u8; HOLD_FILE as usize]).unwrap();
                p
            })
            .collect();
        new_budget();
        let _held = hold();
        for (i, p) in paths.iter().enumerate() {
            let f = read(p, HOLD_FILE).ok().unwrap();
            assert_eq!(f.bytes.len() as u64, HOLD_FILE);
            assert_eq!(f.bytes[0], i as u8);
        }
        let held = paths.iter().filter(|p| is_held(p)).count();
        assert_eq!(held as u64, HOLD_TOTAL / HOLD_FILE);
        // Larger than asked for: refused, never held.
        let big = dir.path().join("big");
        fs::write(&big, vec![0u8; HOLD_FILE as usize + 1]).unwrap();
        assert!(matches!(read(&big, HOLD_FILE), Err(ReadError::TooLarge(_))));
        assert!(!is_held(&big));
    }
}
