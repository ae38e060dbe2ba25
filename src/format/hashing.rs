//! SHA-256 of what a reader yields, on a thread of its own for large files: on import the
//! caller's thread walks the tar and writes each file while another hashes it, so the two
//! overlap instead of adding up. Small files are hashed in place (a thread hand-over costs
//! more than their hash).

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};

use sha2::{Digest, Sha256};

/// Files at least this large are hashed on the hashing thread.
pub const THREADED_MIN: u64 = 1 << 20;

enum Msg {
    /// A new file: whatever came before is forgotten (a reader dropped on an error).
    Start,
    Data(Vec<u8>),
    Finish(SyncSender<String>),
}

/// The hashing thread: takes blocks of one file after another, hands back each digest.
pub struct HashThread {
    tx: SyncSender<Msg>,
    spare: Receiver<Vec<u8>>,
}

impl HashThread {
    /// Starts the thread in `scope`; it ends when the returned handle is dropped.
    pub fn spawn<'scope>(scope: &'scope std::thread::Scope<'scope, '_>) -> HashThread {
        let (tx, rx) = mpsc::sync_channel::<Msg>(4);
        let (spare_tx, spare) = mpsc::sync_channel::<Vec<u8>>(4);
        scope.spawn(move || {
            let mut h = Sha256::new();
            for msg in rx {
                match msg {
                    Msg::Start => h = Sha256::new(),
                    Msg::Data(block) => {
                        h.update(&block);
                        let _ = spare_tx.try_send(block);
                    }
                    Msg::Finish(reply) => {
                        let _ = reply.send(hex::encode(std::mem::take(&mut h).finalize()));
                    }
                }
            }
        });
        HashThread { tx, spare }
    }
}

/// A reader that hashes and counts what passes through it.
pub struct HashingReader<'h, R> {
    inner: R,
    hasher: Hasher<'h>,
    count: u64,
}

/// Where a file is hashed.
enum Hasher<'h> {
    Here(Sha256),
    There(&'h HashThread),
}

impl<'h, R: Read> HashingReader<'h, R> {
    /// Wraps `inner`, which yields `size` bytes: hashed on `thread` when it is given and the
    /// file is large, else here.
    pub fn new(inner: R, size: u64, thread: Option<&'h HashThread>) -> Self {
        let hasher = match thread.filter(|_| size >= THREADED_MIN) {
            Some(t) => {
                // A failed send shows at finish().
                let _ = t.tx.send(Msg::Start);
                Hasher::There(t)
            }
            None => Hasher::Here(Sha256::new()),
        };
        HashingReader {
            inner,
            hasher,
            count: 0,
        }
    }

    /// Bytes read so far and the lowercase hex sha256 of them.
    pub fn finish(self) -> io::Result<(u64, String)> {
        let sum = match self.hasher {
            Hasher::Here(h) => hex::encode(h.finalize()),
            Hasher::There(t) => {
                let (reply, answer) = mpsc::sync_channel(1);
                t.tx.send(Msg::Finish(reply)).map_err(|_| stopped())?;
                answer.recv().map_err(|_| stopped())?
            }
        };
        Ok((self.count, sum))
    }
}

fn stopped() -> io::Error {
    io::Error::other("the hashing thread stopped")
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        match &mut self.hasher {
            Hasher::Here(h) => h.update(&buf[..n]),
            Hasher::There(t) if n > 0 => {
                let mut block = t.spare.try_recv().unwrap_or_default();
                block.clear();
                block.extend_from_slice(&buf[..n]);
                t.tx.send(Msg::Data(block)).map_err(|_| stopped())?;
            }
            Hasher::There(_) => {}
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways_give_the_sha256_of_every_byte_in_order() {
        let data: Vec<u8> = (0..3 * THREADED_MIN as usize + 5)
            .map(|i| (i * 7 + i / 1000) as u8)
            .collect();
        let want = hex::encode(Sha256::digest(&data));
        std::thread::scope(|s| {
            let t = HashThread::spawn(s);
            for _ in 0..2 {
                for size in [data.len() as u64, 10] {
                    let part = &data[..size as usize];
                    let mut r = HashingReader::new(part, size, Some(&t));
                    let mut sink = Vec::new();
                    // Odd read sizes: blocks of every length reach the thread.
                    let mut buf = vec![0u8; 777_777];
                    loop {
                        let n = r.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        sink.extend_from_slice(&buf[..n]);
                    }
                    let (count, sum) = r.finish().unwrap();
                    assert_eq!(count, size);
                    assert_eq!(sum, hex::encode(Sha256::digest(part)));
                    assert_eq!(sink, part);
                }
            }
        });
        let mut r = HashingReader::new(data.as_slice(), data.len() as u64, None);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(r.finish().unwrap().1, want);
    }

    #[test]
    fn a_reader_dropped_half_way_leaves_nothing_in_the_next_files_hash() {
        let data = vec![9u8; 2 * THREADED_MIN as usize];
        std::thread::scope(|s| {
            let t = HashThread::spawn(s);
            {
                let mut r = HashingReader::new(data.as_slice(), data.len() as u64, Some(&t));
                let mut buf = vec![0u8; 1000];
                r.read_exact(&mut buf).unwrap();
            }
            let mut r = HashingReader::new(data.as_slice(), data.len() as u64, Some(&t));
            io::copy(&mut r, &mut io::sink()).unwrap();
            assert_eq!(r.finish().unwrap().1, hex::encode(Sha256::digest(&data)));
        });
    }
}
