//! The manifest parser and validator: any bytes, never a panic; a manifest that validates
//! has only plain relative paths under listed owners.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbundle::{check_archive_path, Manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        if m.validate().is_ok() {
            for f in &m.files {
                assert!(check_archive_path(&f.path).is_ok());
                assert!(!f.path.split('/').any(|c| c == ".." || c == "." || c.is_empty()));
                assert!(f.path.starts_with("machines/") || f.path.starts_with("certsets/"));
            }
            // What validates survives a round trip.
            let again: Manifest = serde_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
            assert_eq!(again, m);
        }
    }
});
