//! What is at a path, remembered while a reader holds [`remember`]: an export of 500
//! machines sharing one CA asks whether the same few certificate files exist thousands of
//! times (every machine's config.json names them). Within one export the answer is taken to
//! hold; whatever is then opened is still checked as it is read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a path led to (symbolic links followed).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Nothing there (or it cannot be looked at).
    Absent,
    /// A regular file.
    File,
    /// Anything else: a directory, a device...
    Other,
}

thread_local! {
    static SEEN: RefCell<Option<HashMap<PathBuf, Kind>>> = const { RefCell::new(None) };
}

/// While the returned guard lives, [`is_file`] and [`exists`] on this thread remember what
/// they found.
pub fn remember() -> super::ThreadCache<HashMap<PathBuf, Kind>> {
    super::thread_cache(&SEEN)
}

fn kind(p: &Path) -> Kind {
    let look = || match std::fs::metadata(p) {
        Ok(m) if m.is_file() => Kind::File,
        Ok(_) => Kind::Other,
        Err(_) => Kind::Absent,
    };
    let known = SEEN.with(|s| s.borrow().as_ref().and_then(|s| s.get(p).copied()));
    if let Some(k) = known {
        return k;
    }
    let k = look();
    SEEN.with(|s| {
        if let Some(s) = s.borrow_mut().as_mut() {
            s.insert(p.to_path_buf(), k);
        }
    });
    k
}

/// [`Path::is_file`], remembered while [`remember`]ing.
pub fn is_file(p: &Path) -> bool {
    kind(p) == Kind::File
}

/// [`Path::exists`], remembered while [`remember`]ing.
pub fn exists(p: &Path) -> bool {
    kind(p) != Kind::Absent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_remembered_only_while_remembering() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, b"x").unwrap();
        assert!(is_file(&f) && exists(&f));
        assert!(exists(dir.path()) && !is_file(dir.path()));
        {
            let _r = remember();
            assert!(is_file(&f));
            std::fs::remove_file(&f).unwrap();
            // Remembered: the same answer within one export.
            assert!(is_file(&f));
            let absent = dir.path().join("absent");
            assert!(!exists(&absent));
            std::fs::write(&absent, b"y").unwrap();
            assert!(!exists(&absent));
        }
        // Forgotten once the guard is gone.
        assert!(!is_file(&f));
        assert!(exists(&dir.path().join("absent")));
    }
}
