//! Parallel gzip: the stream is cut into chunks, each compressed on its own core into a
//! complete gzip member, and the members are written in order. A multi-member gzip file is
//! still gzip (RFC 1952): `gzip -d`, `tar -xz` and every decoder read it as one stream.
//!
//! Chunks that do not compress (VM disk images are half encrypted or already-compressed data)
//! are stored instead of deflated, so no CPU is burnt on them: a probe of the chunk's start at
//! the fastest level decides. Memory is bounded: at most `2 * workers + 2` chunks are in
//! flight, whatever the stream's size.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[cfg(test)]
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::format::pinflate;

/// Size of one chunk (one gzip member).
pub const CHUNK: usize = 1 << 20;
/// Bytes of each of the three samples of a chunk (its start, middle and end) compressed at
/// level 1 to decide whether it compresses at all. One sample of the start alone stored 13 of
/// the realistic disk's 512 MiB of executables that do compress (7 MB, 1 % of the bundle).
const PROBE: usize = 8 << 10;
/// A probe that shrinks by less than this fraction marks the chunk incompressible.
const MIN_SAVING: f64 = 0.03;

/// A chunk to compress: its sequence number, a CHUNK-long buffer and how much of it is data.
type Job = (u64, Vec<u8>, usize);
/// A finished member, and the input buffer handed back for reuse.
type Done = (u64, io::Result<Vec<u8>>, Vec<u8>);

/// Where finished members go. Any writer takes them as bytes; a sink that can take the
/// buffer itself (a channel to another thread) saves a copy of the whole stream.
pub trait MemberSink {
    /// Takes one finished gzip member.
    fn put(&mut self, member: Vec<u8>) -> io::Result<()>;
}

/// Adapts any writer into a [`MemberSink`] (the tests' sink).
#[cfg(test)]
pub struct WriteSink<W>(pub W);

#[cfg(test)]
impl<W: Write> MemberSink for WriteSink<W> {
    fn put(&mut self, member: Vec<u8>) -> io::Result<()> {
        self.0.write_all(&member)
    }
}

/// Compresses one chunk into a complete gzip member, with libdeflate: a whole-buffer
/// compressor about 1.7x faster than zlib on executables at the same ratio. Each worker
/// thread keeps its compressor (its tables are some hundreds of KiB). The member is tagged
/// with its own length ([`crate::format::pinflate`]), so a reader can cut the stream into
/// members without inflating it and inflate them on every core.
pub fn compress_member(data: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let (best, worst) = if level == 0 {
        (1.0, 1.0)
    } else {
        probe_ratios(data)
    };
    if best >= 1.0 - MIN_SAVING {
        return Ok(stored_member(data));
    }
    if worst < RUNS_RATIO && data.len() >= PROBE {
        let mut out = Vec::with_capacity(data.len() / 8 + 64);
        out.resize(pinflate::HEADER_LEN, 0);
        let mut z = flate2::write::DeflateEncoder::new(out, Compression::new(level));
        z.write_all(data)?;
        let out = z.finish()?;
        return Ok(seal(out, data));
    }
    let level = level_that_pays(data, level)?;
    with_compressor(level, |c| {
        let bound = c.deflate_compress_bound(data.len());
        let mut out = vec![0u8; pinflate::HEADER_LEN + bound + pinflate::TRAILER_LEN];
        let n = c
            .deflate_compress(
                data,
                &mut out[pinflate::HEADER_LEN..pinflate::HEADER_LEN + bound],
            )
            .map_err(|e| io::Error::other(format!("deflate: {e:?}")))?;
        out.truncate(pinflate::HEADER_LEN + n);
        Ok(seal(out, data))
    })
}

/// Runs `f` with this thread's libdeflate compressor for `level` (kept: its tables are
/// some hundreds of KiB, longer to set up than a sample takes to compress).
fn with_compressor<T>(
    level: u32,
    f: impl FnOnce(&mut libdeflater::Compressor) -> io::Result<T>,
) -> io::Result<T> {
    thread_local! {
        static COMPRESSORS: std::cell::RefCell<Vec<(u32, libdeflater::Compressor)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    COMPRESSORS.with(|cell| {
        let mut all = cell.borrow_mut();
        let i = match all.iter().position(|(l, _)| *l == level) {
            Some(i) => i,
            None => {
                let lvl = libdeflater::CompressionLvl::new(level.min(12) as i32)
                    .map_err(|_| io::Error::other(format!("compression level {level}")))?;
                all.push((level, libdeflater::Compressor::new(lvl)));
                all.len() - 1
            }
        };
        f(&mut all[i].1)
    })
}

/// Level 1 deflates about 1.4x faster than level 2 and finds most of what level 2 finds in
/// executables; in text, level 2 finds more. A chunk's samples (start, middle, end) are
/// compressed at both: `level` when its output is at least [`LEVEL_GAIN`] smaller, else 1.
/// On the realistic disk's executables that keeps level 2 for a third of the chunks and
/// saves 0.7 s of CPU for 0.6 % more output (bench/run.sh, section r).
fn level_that_pays(data: &[u8], level: u32) -> io::Result<u32> {
    if level <= 1 || data.len() < 3 * PROBE {
        return Ok(level);
    }
    let mut sizes = [0usize; 2];
    for (size, l) in sizes.iter_mut().zip([1, level]) {
        *size = with_compressor(l, |c| {
            let mut out = vec![0u8; c.deflate_compress_bound(PROBE)];
            let mut total = 0;
            for sample in samples(data) {
                total += c
                    .deflate_compress(sample, &mut out)
                    .map_err(|e| io::Error::other(format!("deflate: {e:?}")))?;
            }
            Ok(total)
        })?;
    }
    let pays = (sizes[1] as f64) < sizes[0] as f64 * (1.0 - LEVEL_GAIN);
    Ok(if pays { level } else { 1 })
}

/// How much smaller than level 1's the chosen level's samples must be for it to be used.
/// 5 % rather than 3 %: the realistic disk exports 2.7 % faster (2.76 s against 2.83 s,
/// medians of 5) for 0.24 % more output (1.0178 of `pigz -6`'s size against 1.0154); 8 % was
/// slower again (the larger level-1 output costs more to encrypt and write than it saves).
const LEVEL_GAIN: f64 = 0.05;

/// Completes a member whose first [`pinflate::HEADER_LEN`] bytes are room for the header and
/// the rest is the deflate stream of `data`: writes the tagged header, the CRC-32 and the size.
fn seal(mut out: Vec<u8>, data: &[u8]) -> Vec<u8> {
    out.extend_from_slice(&libdeflater::crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let header = pinflate::header(out.len() as u32);
    out[..pinflate::HEADER_LEN].copy_from_slice(&header);
    out
}

/// Largest stored deflate block (RFC 1951 3.2.4: LEN is 16 bits).
const STORED_BLOCK: usize = 0xffff;

/// A gzip member holding `data` in stored (uncompressed) deflate blocks, written directly:
/// one copy of the data and its CRC-32, where zlib's level 0 copies it through its window
/// too. Tagged with its length like every member this writer makes.
pub fn stored_member(data: &[u8]) -> Vec<u8> {
    let blocks = data.len().div_ceil(STORED_BLOCK).max(1);
    let total = pinflate::HEADER_LEN + data.len() + 5 * blocks + pinflate::TRAILER_LEN;
    let mut out = Vec::with_capacity(total);
    out.resize(pinflate::HEADER_LEN, 0);
    let mut pieces = data.chunks(STORED_BLOCK).peekable();
    if pieces.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        let len = piece.len() as u16;
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(piece);
    }
    seal(out, data)
}

/// Whether deflate is worth running on a chunk, judged from samples of it.
#[cfg(test)]
fn compressible(data: &[u8]) -> bool {
    probe_ratios(data).0 < 1.0 - MIN_SAVING
}

/// The chunk's start, middle and end ([`PROBE`] bytes each); a chunk shorter than three
/// samples is one sample.
fn samples(data: &[u8]) -> Vec<&[u8]> {
    if data.len() < 3 * PROBE {
        vec![&data[..data.len().min(2 * PROBE)]]
    } else {
        let mid = data.len() / 2 - PROBE / 2;
        vec![
            &data[..PROBE],
            &data[mid..mid + PROBE],
            &data[data.len() - PROBE..],
        ]
    }
}

/// Compressed size over size, at the fastest level, of the chunk's start, middle and end
/// (0.5 for a sample that halves): the smallest and the largest. A chunk shorter than three
/// samples is one sample; (0, 0) for a chunk too small to tell, which is then compressed.
fn probe_ratios(data: &[u8]) -> (f64, f64) {
    let samples = samples(data);
    if samples[0].len() < 512 {
        return (0.0, 0.0);
    }
    thread_local! {
        // One compressor and output buffer per thread, the compressor reset between samples:
        // setting one up costs more than compressing a sample. The buffer has room for any
        // sample to finish: level 1 can grow incompressible data by an eighth. (zlib-rs 0.6.8
        // panics in deflate_quick when a compressor whose last stream did not finish is reset
        // and used again; the room, and a new compressor after any stream that did not
        // finish, keep that from happening.)
        static PROBER: std::cell::RefCell<(flate2::Compress, Vec<u8>)> = std::cell::RefCell::new((
            flate2::Compress::new(Compression::fast(), false),
            Vec::with_capacity(4 * PROBE + 1024),
        ));
    }
    PROBER.with(|cell| {
        let (c, out) = &mut *cell.borrow_mut();
        let (mut best, mut worst) = (f64::MAX, 0.0f64);
        for sample in samples {
            c.reset();
            out.clear();
            let status = c.compress_vec(sample, out, flate2::FlushCompress::Finish);
            let r = if matches!(status, Ok(flate2::Status::StreamEnd)) {
                out.len() as f64 / sample.len() as f64
            } else {
                *c = flate2::Compress::new(Compression::fast(), false);
                1.0
            };
            best = best.min(r);
            worst = worst.max(r);
        }
        (best, worst)
    })
}

/// Below this probe ratio (in every sample) a chunk is mostly runs (empty disk space, zero
/// pages): zlib-rs deflates those faster than libdeflate (1.76 s against 2.16 s for the
/// benchmark's synthetic disk), while libdeflate is the faster on everything else
/// (executables: 4.76 s against 6.71 s for the realistic disk).
const RUNS_RATIO: f64 = 0.10;

/// A writer that gzips what it is given on several threads.
pub struct ParGzWriter<W: MemberSink> {
    inner: Option<W>,
    level: u32,
    /// The chunk being filled: always CHUNK long (zeroed once, when first allocated), data
    /// in `buf[..fill]`, so reading into it never clears memory again.
    buf: Vec<u8>,
    fill: usize,
    next_seq: u64,
    next_out: u64,
    ready: BTreeMap<u64, Vec<u8>>,
    jobs: Option<SyncSender<Job>>,
    results: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    max_in_flight: u64,
    wrote_any: bool,
    pool: Vec<Vec<u8>>,
}

impl<W: MemberSink> ParGzWriter<W> {
    /// Compresses at `level` (0-9) on `threads` threads (at least 1).
    pub fn new(inner: W, level: u32, threads: usize) -> ParGzWriter<W> {
        let threads = threads.max(1);
        let (jobs, job_rx) = mpsc::sync_channel::<Job>(threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, results) = mpsc::channel::<Done>();
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                let tx = done_tx.clone();
                std::thread::spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, data, len)) = job else { return };
                    let member = compress_member(&data[..len], level);
                    if tx.send((seq, member, data)).is_err() {
                        return;
                    }
                })
            })
            .collect();
        ParGzWriter {
            inner: Some(inner),
            level,
            buf: vec![0; CHUNK],
            fill: 0,
            next_seq: 0,
            next_out: 0,
            ready: BTreeMap::new(),
            jobs: Some(jobs),
            results,
            workers,
            max_in_flight: threads as u64 + 2,
            wrote_any: false,
            pool: Vec::new(),
        }
    }

    fn inner(&mut self) -> io::Result<&mut W> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::other("gzip writer already finished"))
    }

    /// Writes every finished member that is next in order.
    fn drain_ready(&mut self) -> io::Result<()> {
        while let Some(member) = self.ready.remove(&self.next_out) {
            self.inner()?.put(member)?;
            self.next_out += 1;
        }
        Ok(())
    }

    fn receive(&mut self, block: bool) -> io::Result<bool> {
        let got = if block {
            self.results.recv().ok()
        } else {
            self.results.try_recv().ok()
        };
        match got {
            Some((seq, member, buf)) => {
                self.pool.push(buf);
                self.ready.insert(seq, member?);
                self.drain_ready()?;
                Ok(true)
            }
            None if block => Err(io::Error::other("a compression thread died")),
            None => Ok(false),
        }
    }

    fn submit(&mut self) -> io::Result<()> {
        if self.fill == 0 {
            return Ok(());
        }
        let next = self.pool.pop().unwrap_or_else(|| vec![0; CHUNK]);
        let data = std::mem::replace(&mut self.buf, next);
        let len = std::mem::take(&mut self.fill);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.wrote_any = true;
        self.jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("gzip writer already finished"))?
            .send((seq, data, len))
            .map_err(|_| io::Error::other("the compression threads stopped"))?;
        while self.receive(false)? {}
        while self.next_seq - self.next_out > self.max_in_flight {
            self.receive(true)?;
        }
        Ok(())
    }

    /// Writes `data` ending a member after every `piece` bytes of it and after its last byte:
    /// what follows starts a new member. (The manifest ends its own members, so an importer
    /// has it whole without waiting for a member of file data to inflate.)
    pub fn write_in_members(&mut self, data: &[u8], piece: usize) -> io::Result<()> {
        for part in data.chunks(piece.max(1)) {
            self.write_all(part)?;
            self.submit()?;
        }
        Ok(())
    }

    /// Compresses what is left, writes every member in order, and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.wrote_any && self.fill == 0 {
            // An empty stream is still one (empty) gzip member.
            let member = compress_member(&[], self.level)?;
            self.inner()?.put(member)?;
        }
        self.submit()?;
        self.jobs = None;
        while self.next_out < self.next_seq {
            self.receive(true)?;
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.inner
            .take()
            .ok_or_else(|| io::Error::other("gzip writer already finished"))
    }
}

impl<W: MemberSink> ParGzWriter<W> {
    /// Reads up to `limit` bytes from `r` straight into the chunk being filled (one read
    /// call; no intermediate buffer, so the stream is copied once less) and hands what was
    /// read to `seen` before it is compressed. Returns the count; 0 at end of input.
    pub fn fill_from<R: io::Read + ?Sized>(
        &mut self,
        r: &mut R,
        limit: usize,
        seen: &mut dyn FnMut(&[u8]),
    ) -> io::Result<usize> {
        let start = self.fill;
        let want = (CHUNK - start).min(limit);
        if want == 0 {
            return Ok(0);
        }
        let n = r.read(&mut self.buf[start..start + want])?;
        let n = n.min(want);
        seen(&self.buf[start..start + n]);
        self.fill += n;
        if self.fill == CHUNK {
            self.submit()?;
        }
        Ok(n)
    }
}

impl<W: MemberSink> Write for ParGzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.fill;
        let n = room.min(data.len());
        self.buf[self.fill..self.fill + n].copy_from_slice(&data[..n]);
        self.fill += n;
        if self.fill == CHUNK {
            self.submit()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: MemberSink> Drop for ParGzWriter<W> {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Deterministic incompressible bytes (xorshift).
    pub(crate) fn noise(n: usize) -> Vec<u8> {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn write_in_members_ends_a_member_after_each_piece() {
        use crate::format::pinflate::{inflate_member, Piece, Splitter};
        let head = noise(512);
        let data: Vec<u8> = (0..600_000u32).map(|i| b"{}[]ab"[i as usize % 6]).collect();
        let mut gz = ParGzWriter::new(WriteSink(Vec::new()), 2, 2);
        gz.write_all(&head).unwrap();
        gz.write_in_members(&data, 256 << 10).unwrap();
        gz.write_all(&head).unwrap();
        let bytes = gz.finish().unwrap().0;
        let mut split = Splitter::new(bytes.as_slice());
        let (mut at, mut ends, mut all) = (0, Vec::new(), Vec::new());
        while let Some(piece) = split.next_piece().unwrap() {
            let Piece::Member(m) = piece else {
                panic!("an untagged member")
            };
            let plain = inflate_member(&m).unwrap();
            at += plain.len();
            all.extend(plain);
            ends.push(at);
        }
        // What came before the first piece shares its member.
        let kib = 1 << 10;
        assert_eq!(
            ends,
            [
                512 + 256 * kib,
                512 + 512 * kib,
                512 + 600_000,
                1024 + 600_000
            ]
        );
        assert_eq!(all, [head.clone(), data, head].concat());
    }

    #[test]
    fn round_trips_across_chunk_boundaries() {
        for (len, threads) in [
            (0, 1),
            (1, 2),
            (CHUNK - 1, 2),
            (CHUNK, 3),
            (3 * CHUNK + 17, 2),
        ] {
            let mut data = noise(len / 2);
            data.extend(std::iter::repeat_n(7u8, len - len / 2));
            let mut w = ParGzWriter::new(WriteSink(Vec::new()), 6, threads);
            for piece in data.chunks(777) {
                w.write_all(piece).unwrap();
            }
            let gz = w.finish().unwrap().0;
            assert_eq!(gunzip(&gz), data, "len {len}");
        }
    }

    #[test]
    fn fill_from_reads_into_the_chunk_and_shows_every_byte() {
        let mut data = noise(2 * CHUNK + 300);
        data.extend(vec![3u8; CHUNK]);
        let mut w = ParGzWriter::new(WriteSink(Vec::new()), 6, 2);
        w.write_all(b"header").unwrap();
        let mut input: &[u8] = &data;
        let mut seen = Vec::new();
        loop {
            let n = w
                .fill_from(&mut input, 100_000, &mut |b| seen.extend_from_slice(b))
                .unwrap();
            if n == 0 {
                break;
            }
        }
        w.write_all(b"trailer").unwrap();
        let out = gunzip(&w.finish().unwrap().0);
        assert_eq!(seen, data);
        assert_eq!(&out[..6], b"header");
        assert_eq!(&out[6..6 + data.len()], &data[..]);
        assert_eq!(&out[6 + data.len()..], b"trailer");
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// Any bytes, any level, any mix of runs and noise: one member gives them back.
            #[test]
            fn every_member_round_trips(
                pieces in proptest::collection::vec((any::<bool>(), 0usize..40_000, any::<u8>()), 0..6),
                level in 0u32..=9,
            ) {
                let mut data = Vec::new();
                for (random, len, byte) in pieces {
                    if random {
                        data.extend(noise(len).iter().map(|b| b ^ byte));
                    } else {
                        data.extend(std::iter::repeat_n(byte, len));
                    }
                }
                let member = compress_member(&data, level).unwrap();
                prop_assert_eq!(gunzip(&member), data);
            }
        }
    }

    #[test]
    fn stored_members_decode_at_every_block_boundary() {
        for len in [
            0,
            1,
            STORED_BLOCK - 1,
            STORED_BLOCK,
            STORED_BLOCK + 1,
            3 * STORED_BLOCK,
            CHUNK,
        ] {
            let data = noise(len);
            let member = stored_member(&data);
            assert_eq!(gunzip(&member), data, "len {len}");
            // No larger than what zlib writes at level 0, but for the 10-byte length tag.
            let mut zlib = Vec::new();
            let mut gz = GzEncoder::new(&mut zlib, Compression::new(0));
            gz.write_all(&data).unwrap();
            gz.finish().unwrap();
            assert!(member.len() <= zlib.len() + 10, "len {len}");
        }
    }

    #[test]
    fn incompressible_chunks_are_stored_not_burnt() {
        let data = noise(CHUNK);
        assert!(!compressible(&data));
        assert!(compressible(&vec![0u8; CHUNK]));
        let member = compress_member(&data, 6).unwrap();
        assert!(
            member.len() <= data.len() + data.len() / 1000 + 64,
            "{}",
            member.len()
        );
        assert_eq!(gunzip(&member), data);
    }

    #[test]
    fn probing_random_data_again_and_again_on_one_thread_never_panics() {
        // zlib-rs 0.6.8 panics when a compressor whose last stream did not finish (no room
        // left) is reset and used again: random samples are the ones that grow.
        for len in [3 * PROBE - 1, 2 * PROBE, CHUNK, 700] {
            for i in 0..20usize {
                let data: Vec<u8> = noise(len + i).split_off(i);
                assert!(!compressible(&data), "len {len}");
            }
        }
    }

    #[test]
    fn a_chunk_that_starts_incompressible_but_compresses_is_compressed() {
        // An executable's compressed section first, then code: the start alone says "store".
        let mut data = noise(64 << 10);
        data.extend(noise(CHUNK - data.len()).iter().map(|b| b & 0x0f));
        assert!(compressible(&data));
        let member = compress_member(&data, 3).unwrap();
        assert!(member.len() < data.len() * 3 / 4, "{}", member.len());
        assert_eq!(gunzip(&member), data);
    }

    /// Random bytes of eight values: short matches everywhere, where level 2's search finds
    /// longer ones than level 1's (its output about 9 % smaller).
    fn eight_values(n: usize) -> Vec<u8> {
        noise(n).into_iter().map(|b| b % 8).collect()
    }

    #[test]
    fn level_2_is_used_where_it_pays_and_level_1_where_it_does_not() {
        // Noise: level 2 finds nothing more than level 1.
        assert_eq!(level_that_pays(&noise(CHUNK), 2).unwrap(), 1);
        // Level 2 finds enough more.
        let text = eight_values(CHUNK);
        assert_eq!(level_that_pays(&text, 2).unwrap(), 2);
        // Asked for 1 (or stored), or too short to sample: as asked.
        assert_eq!(level_that_pays(&text, 1).unwrap(), 1);
        assert_eq!(level_that_pays(&text[..1000], 2).unwrap(), 2);
        // Either way the member is plain gzip holding the chunk.
        for data in [text.clone(), noise(CHUNK)] {
            assert_eq!(gunzip(&compress_member(&data, 2).unwrap()), data);
        }
    }

    #[test]
    fn run_heavy_chunks_go_to_zlib_and_the_rest_to_libdeflate_both_plain_gzip() {
        // Empty disk space with a line of text every 16 KiB, and executable-like data.
        let mut runs = Vec::new();
        while runs.len() < CHUNK {
            runs.extend_from_slice(b"2026-11-24 INFO job done\n");
            runs.resize(runs.len() + 16 * 1024, 0);
        }
        runs.truncate(CHUNK);
        assert!(probe_ratios(&runs).1 < RUNS_RATIO);
        // Four bits of entropy a byte: compresses about 2:1, like executables.
        let code: Vec<u8> = noise(CHUNK).iter().map(|b| b & 0x0f).collect();
        assert!(probe_ratios(&code).1 >= RUNS_RATIO);
        for data in [&runs, &code] {
            let member = compress_member(data, 5).unwrap();
            assert!(member.len() < data.len());
            assert_eq!(&gunzip(&member), data);
        }
    }

    #[test]
    fn stock_gzip_reads_the_members_as_one_stream() {
        let Ok(out) = std::process::Command::new("gzip").arg("--version").output() else {
            return;
        };
        if !out.status.success() {
            return;
        }
        let mut data = noise(CHUNK + 5);
        data.extend(vec![1u8; 2 * CHUNK]);
        let mut w = ParGzWriter::new(WriteSink(Vec::new()), 6, 2);
        w.write_all(&data).unwrap();
        let gz = w.finish().unwrap().0;
        let mut child = std::process::Command::new("gzip")
            .arg("-dc")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&gz));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, data);
    }
}
