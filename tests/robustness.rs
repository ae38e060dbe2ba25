//! No panics on any input: damaged plaintext inside valid encryption (what survives age's
//! authentication only if the sender crafted it) must always end in a clean error.

use std::fs;

use proptest::prelude::*;

use crate::util::*;

fn sound_plaintext() -> Vec<u8> {
    static PLAIN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PLAIN.get_or_init(make_plaintext).clone()
}

fn make_plaintext() -> Vec<u8> {
    let dir = Dir::new();
    let store = fixtures().join(QUIRKS);
    dir.export_demo(&store, "q.mbundle", &["--all"]).ok();
    decrypt(&fs::read(dir.path("q.mbundle")).unwrap(), &demo_key())
}

fn read(bytes: &[u8]) -> Result<(), mbundle::Error> {
    let keys = mbundle::DecryptWith {
        identities: vec![demo_key()],
        ..Default::default()
    };
    mbundle::read_bundle(bytes, &keys, "test", &mut mbundle::VerifyOnly).map(|_| ())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn damaged_gzip_is_an_error_not_a_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
        let mut plain = sound_plaintext();
        for (i, x) in &flips {
            let at = i.index(plain.len());
            plain[at] ^= x;
        }
        // A flip in gzip's header padding fields can be harmless; anything else must fail cleanly.
        let _ = read(&encrypt_to_demo(&plain));
    }

    #[test]
    fn truncated_plaintext_is_an_error(cut in any::<prop::sample::Index>()) {
        let plain = sound_plaintext();
        let at = cut.index(plain.len() - 1);
        prop_assert!(read(&encrypt_to_demo(&plain[..at])).is_err());
    }

    #[test]
    fn random_plaintext_is_an_error(junk in proptest::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert!(read(&encrypt_to_demo(&junk)).is_err());
        prop_assert!(read(&encrypt_to_demo(&gzip(&junk))).is_err());
    }

    #[test]
    fn random_ciphertext_is_an_error(junk in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(read(&junk).is_err());
    }
}
