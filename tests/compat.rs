//! Frozen format-v1 bundles in fixtures/vectors/, written once by mbundle 0.1.0 on
//! 2026-11-24 and never to be regenerated: every later version must still verify them and
//! import them into the very same store. What that store holds is in `<bundle>.expected`,
//! recorded once by the version that wrote them (with MBUNDLE_WRITE_VECTOR_EXPECTATIONS=1,
//! which never overwrites an existing file). A failure here is a compatibility break, not a
//! stale file to refresh.

use std::fs;
use std::path::Path;

use crate::util::*;

/// (bundle, how it opens: an age identity file or a passphrase file, beside it). The
/// identity is a copy of the demo key of that day, kept here so that regenerating
/// fixtures/demo cannot lock the vector out.
const VECTORS: [(&str, &str); 2] = [
    ("v1-linux-all.mbundle", "key.txt"),
    ("v1-windows-passphrase.mbundle", "passphrase.txt"),
];

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn opener(vectors: &Path, how: &str) -> Vec<String> {
    if how.starts_with("key") {
        vec!["-i".into(), vectors.join(how).to_str().unwrap().into()]
    } else {
        vec![
            "--passphrase-file".into(),
            vectors.join(how).to_str().unwrap().into(),
        ]
    }
}

#[test]
fn frozen_v1_bundles_verify_and_import_to_the_same_store() {
    let vectors = fixtures().join("vectors");
    for (name, how) in VECTORS {
        let bundle = vectors.join(name);
        let bytes = fs::read(&bundle).unwrap_or_else(|e| panic!("{}: {e}", bundle.display()));
        let open = opener(&vectors, how);
        let dir = Dir::new();
        let b = bundle.to_str().unwrap();

        let mut args = vec!["verify", b];
        args.extend(open.iter().map(String::as_str));
        dir.run(&args).ok();

        let target = dir.path("store");
        let t = target.to_str().unwrap();
        let mut args = vec!["-s", t, "import", b];
        args.extend(open.iter().map(String::as_str));
        dir.run(&args).ok();
        dir.run(&["-s", t, "ls"]).ok();

        let mut got = format!("# {name} sha256 {}\n", sha256_hex(&bytes));
        for (path, what) in tree_relative(&target) {
            got.push_str(&format!("{path} {what}\n"));
        }
        let expected_path = vectors.join(name.replace(".mbundle", ".expected"));
        if !expected_path.exists()
            && std::env::var_os("MBUNDLE_WRITE_VECTOR_EXPECTATIONS").is_some()
        {
            fs::write(&expected_path, &got).unwrap();
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        assert_eq!(
            got, expected,
            "{name}: a frozen v1 bundle no longer imports to the same store"
        );
    }
}
