//! The bundle reader after decryption (gzip -> tar -> manifest -> entries). The first byte
//! chooses the layer: 0 feeds the bytes as gzip; otherwise the harness gzips them (stored,
//! no compression), so the fuzzer reaches the tar and manifest checks without having to
//! forge gzip checksums. Every outcome must be Ok or a clean error, never a panic, and a
//! visitor never sees more bytes than the manifest declares.
#![no_main]

use std::io::{Read, Write};

use libfuzzer_sys::fuzz_target;
use mbundle::{read_plaintext, Visitor};
use mbundle::{FileEntry, Manifest};

struct Count;

impl Visitor for Count {
    fn manifest(&mut self, m: &Manifest) -> mbundle::Result<()> {
        assert!(m.validate().is_ok());
        Ok(())
    }
    fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> mbundle::Result<()> {
        let mut n = 0u64;
        let mut buf = [0u8; 4096];
        loop {
            match data.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => n += k as u64,
                Err(_) => return Ok(()),
            }
        }
        assert!(n <= entry.size);
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let plain = if mode == 0 {
        rest.to_vec()
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
        gz.write_all(rest).unwrap();
        gz.finish().unwrap()
    };
    let _ = read_plaintext(plain.as_slice(), "fuzz", &mut Count);
});
