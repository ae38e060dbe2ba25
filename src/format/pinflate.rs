//! Reading the gzip layer on every core.
//!
//! Every member [`crate::format::pgzip`] writes carries its own length in the gzip header's
//! extra field (RFC 1952 2.3.1.1), as BGZF and mgzip do: subfield `MB`, four bytes, the
//! member's total length, little-endian. The file is still plain gzip (`gzip -d`, `tar -xz`
//! and every older mbundle skip the field), and a reader can cut the stream into whole
//! members without inflating it, then hand them to worker threads.
//!
//! Nothing in the field is trusted: a length out of bounds, or any member without the tag
//! (bundles written before it, the frozen v1 vectors, a hand-made `tar | gzip`), sends the
//! rest of the stream through the ordinary sequential decoder; a tagged member that does not
//! inflate to exactly its declared size and CRC-32 is an error, like any damaged gzip.
//! Memory is bounded: at most `workers + 4` members are in flight (the ordered queue of
//! `workers + 2`, the one being cut, the one being read), each at most [`MAX_MEMBER`]
//! compressed and as much inflated: 24 MiB on 2 cores, even for a hostile bundle.

use std::io::{self, Cursor, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use flate2::read::MultiGzDecoder;

/// Bytes of a tagged member's header: the 10 fixed bytes, XLEN, and the 8-byte subfield.
pub const HEADER_LEN: usize = 20;
/// Bytes of a member's trailer: CRC-32 and size.
pub const TRAILER_LEN: usize = 8;
/// The subfield id.
const TAG: [u8; 2] = *b"MB";
/// Largest member, compressed or inflated, taken by the parallel path (the writer's are at
/// most 1 MiB of input and a few bytes more stored). Anything larger goes through the
/// sequential decoder.
pub const MAX_MEMBER: usize = 2 << 20;
/// Size of the blocks the sequential decoder hands on.
const PLAIN_BLOCK: usize = 1 << 20;

/// The header of a tagged member `total` bytes long (header and trailer included):
/// no name, mtime 0, OS unknown, FEXTRA with the `MB` subfield.
pub fn header(total: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..10].copy_from_slice(&[0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 0xff]);
    h[10..12].copy_from_slice(&8u16.to_le_bytes());
    h[12..14].copy_from_slice(&TAG);
    h[14..16].copy_from_slice(&4u16.to_le_bytes());
    h[16..20].copy_from_slice(&total.to_le_bytes());
    h
}

/// The total length a header declares, if it is exactly a tagged header with a length the
/// parallel path takes.
fn tagged_length(h: &[u8; HEADER_LEN]) -> Option<usize> {
    let mut expect = header(0);
    expect[16..20].copy_from_slice(&h[16..20]);
    // mtime, XFL and OS are free: only the layout and the tag matter.
    expect[4..10].copy_from_slice(&h[4..10]);
    if *h != expect {
        return None;
    }
    let total = u32::from_le_bytes([h[16], h[17], h[18], h[19]]) as usize;
    (HEADER_LEN + TRAILER_LEN + 1..=MAX_MEMBER)
        .contains(&total)
        .then_some(total)
}

/// What the splitter yields: a whole tagged member to inflate, or bytes the sequential
/// decoder already inflated.
pub enum Piece {
    /// A complete gzip member, tag checked, length within bounds.
    Member(Vec<u8>),
    /// Inflated bytes.
    Plain(Vec<u8>),
}

enum State<R> {
    Tagged(R),
    Sequential(Box<MultiGzDecoder<io::Chain<Cursor<Vec<u8>>, R>>>),
    Done,
}

/// Cuts a gzip stream into whole tagged members; from the first member that is not one, it
/// decodes the rest sequentially (the bytes already looked at are replayed to the decoder).
pub struct Splitter<R> {
    state: State<R>,
    /// Whether a member was taken: an empty stream is not an empty gzip file, and the
    /// sequential decoder says what it is.
    started: bool,
}

impl<R: Read> Splitter<R> {
    /// Splits `input`.
    pub fn new(input: R) -> Self {
        Splitter {
            state: State::Tagged(input),
            started: false,
        }
    }

    /// The next piece; `None` at the end of the stream.
    pub fn next_piece(&mut self) -> io::Result<Option<Piece>> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(None),
                State::Sequential(mut d) => {
                    let mut block = vec![0u8; PLAIN_BLOCK];
                    let n = read_full(&mut *d, &mut block)?;
                    if n == 0 {
                        return Ok(None);
                    }
                    block.truncate(n);
                    self.state = State::Sequential(d);
                    return Ok(Some(Piece::Plain(block)));
                }
                State::Tagged(mut input) => {
                    let mut h = [0u8; HEADER_LEN];
                    let got = read_full(&mut input, &mut h)?;
                    if got == 0 && self.started {
                        return Ok(None);
                    }
                    match (got == HEADER_LEN).then(|| tagged_length(&h)).flatten() {
                        Some(total) => {
                            let mut member = vec![0u8; total];
                            member[..HEADER_LEN].copy_from_slice(&h);
                            input.read_exact(&mut member[HEADER_LEN..])?;
                            self.state = State::Tagged(input);
                            self.started = true;
                            return Ok(Some(Piece::Member(member)));
                        }
                        None => {
                            let replay = Cursor::new(h[..got].to_vec());
                            let d = MultiGzDecoder::new(replay.chain(input));
                            self.state = State::Sequential(Box::new(d));
                        }
                    }
                }
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Inflates one tagged member, checking its CRC-32 and size (libdeflate does both), into a
/// buffer exactly as large as its trailer declares (at most [`MAX_MEMBER`]).
pub fn inflate_member(member: &[u8]) -> io::Result<Vec<u8>> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let Some(size) = member.len().checked_sub(4).map(|at| &member[at..]) else {
        return Err(bad("a gzip member too short for its trailer".into()));
    };
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    if size > MAX_MEMBER {
        return Err(bad(format!(
            "a gzip member declares {size} bytes, more than the {MAX_MEMBER} its tag allows"
        )));
    }
    thread_local! {
        static DECOMPRESSOR: std::cell::RefCell<Option<libdeflater::Decompressor>> =
            const { std::cell::RefCell::new(None) };
    }
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = slot.get_or_insert_with(libdeflater::Decompressor::new);
        let mut out = vec![0u8; size];
        let n = d
            .gzip_decompress(member, &mut out)
            .map_err(|e| bad(format!("corrupt gzip member ({e})")))?;
        if n != size {
            return Err(bad(
                "a gzip member inflates to another size than its trailer says".into(),
            ));
        }
        Ok(out)
    })
}

/// The sequential reader over a [`Splitter`]: tagged members are inflated in place. What the
/// fuzz targets and [`crate::format::bundle::read_manifest`] use.
pub struct SeqInflate<R> {
    split: Splitter<R>,
    cur: Cursor<Vec<u8>>,
}

impl<R: Read> SeqInflate<R> {
    /// Inflates `input`.
    pub fn new(input: R) -> Self {
        SeqInflate {
            split: Splitter::new(input),
            cur: Cursor::new(Vec::new()),
        }
    }
}

impl<R: Read> Read for SeqInflate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.cur.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let next = match self.split.next_piece()? {
                None => return Ok(0),
                Some(Piece::Member(m)) => inflate_member(&m)?,
                Some(Piece::Plain(p)) => p,
            };
            self.cur = Cursor::new(next);
        }
    }
}

type Slot = Receiver<io::Result<Vec<u8>>>;
type Job = (Vec<u8>, SyncSender<io::Result<Vec<u8>>>);

/// The parallel reader: one thread reads the input and cuts it into members, `workers`
/// threads inflate them, and reads return the inflated bytes in order. Threads are scoped:
/// dropping the reader stops them at their next hand-over.
pub struct ParInflate {
    order: Receiver<Slot>,
    cur: Cursor<Vec<u8>>,
    failed: bool,
}

impl ParInflate {
    /// Starts reading `input` on threads of `scope`.
    pub fn spawn<'scope, R: Read + Send + 'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        input: R,
        workers: usize,
    ) -> ParInflate {
        let workers = workers.max(1);
        let (order_tx, order) = mpsc::sync_channel::<Slot>(workers + 2);
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers);
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..workers {
            let rx = Arc::clone(&job_rx);
            scope.spawn(move || loop {
                let job = match rx.lock() {
                    Ok(guard) => guard.recv(),
                    Err(_) => return,
                };
                let Ok((member, done)) = job else { return };
                // The reader may be gone (an error downstream): nothing to tell then.
                let _ = done.send(inflate_member(&member));
            });
        }
        scope.spawn(move || {
            let mut split = Splitter::new(input);
            loop {
                let (tx, slot) = mpsc::sync_channel(1);
                let last = match split.next_piece() {
                    Ok(Some(Piece::Member(m))) => job_tx.send((m, tx)).is_err(),
                    Ok(Some(Piece::Plain(p))) => tx.send(Ok(p)).is_err(),
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        true
                    }
                };
                if order_tx.send(slot).is_err() || last {
                    return;
                }
            }
        });
        ParInflate {
            order,
            cur: Cursor::new(Vec::new()),
            failed: false,
        }
    }
}

impl Read for ParInflate {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.cur.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if self.failed {
                return Err(io::Error::other("the compressed stream failed before"));
            }
            let Ok(slot) = self.order.recv() else {
                return Ok(0);
            };
            match slot.recv() {
                Ok(Ok(data)) => self.cur = Cursor::new(data),
                Ok(Err(e)) => {
                    self.failed = true;
                    return Err(e);
                }
                Err(_) => {
                    self.failed = true;
                    return Err(io::Error::other("a decompression thread stopped"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::pgzip::{compress_member, ParGzWriter, WriteSink, CHUNK};
    use std::io::Write;

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        crate::format::pgzip::tests::noise(n)
            .iter()
            .map(|b| b ^ seed as u8)
            .collect()
    }

    /// Half noise, half four-bit symbols (compresses about 2:1), half runs.
    fn sample(n: usize) -> Vec<u8> {
        let mut d = noise(n / 3, 7);
        d.extend(noise(n / 3, 9).iter().map(|b| (b >> 2) & 0x0f));
        d.resize(n, 0);
        d
    }

    fn pgzip(data: &[u8]) -> Vec<u8> {
        let mut w = ParGzWriter::new(WriteSink(Vec::new()), 5, 2);
        w.write_all(data).unwrap();
        w.finish().unwrap().0
    }

    fn zlib_gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn seq(gz: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        SeqInflate::new(gz).read_to_end(&mut out)?;
        Ok(out)
    }

    fn par(gz: &[u8]) -> io::Result<Vec<u8>> {
        std::thread::scope(|s| {
            let mut out = Vec::new();
            ParInflate::spawn(s, gz, 3).read_to_end(&mut out)?;
            Ok(out)
        })
    }

    fn members(gz: &[u8]) -> Vec<Vec<u8>> {
        let mut split = Splitter::new(gz);
        let mut out = Vec::new();
        while let Some(p) = split.next_piece().unwrap() {
            match p {
                Piece::Member(m) => out.push(m),
                Piece::Plain(_) => panic!("an untagged piece"),
            }
        }
        out
    }

    #[test]
    fn every_member_the_writer_makes_is_tagged_and_both_readers_give_the_data_back() {
        for len in [0, 1, 5000, CHUNK, 3 * CHUNK + 17] {
            let data = sample(len);
            let gz = pgzip(&data);
            let ms = members(&gz);
            assert_eq!(ms.len(), len.div_ceil(CHUNK).max(1), "len {len}");
            assert_eq!(ms.iter().map(Vec::len).sum::<usize>(), gz.len());
            assert_eq!(seq(&gz).unwrap(), data, "len {len}");
            assert_eq!(par(&gz).unwrap(), data, "len {len}");
            // Still gzip for every other reader.
            let mut plain = Vec::new();
            flate2::read::MultiGzDecoder::new(gz.as_slice())
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(plain, data);
        }
    }

    #[test]
    fn untagged_members_anywhere_go_through_the_sequential_decoder() {
        let (a, b, c) = (sample(CHUNK + 9), sample(70_000), sample(2 * CHUNK));
        // Old bundles: untagged from the start.
        assert_eq!(seq(&zlib_gzip(&a)).unwrap(), a);
        assert_eq!(par(&zlib_gzip(&a)).unwrap(), a);
        // Tagged, then untagged, then tagged again (read sequentially from the switch on).
        let mut gz = pgzip(&a);
        gz.extend(zlib_gzip(&b));
        gz.extend(pgzip(&c));
        let mut all = a.clone();
        all.extend(&b);
        all.extend(&c);
        assert_eq!(seq(&gz).unwrap(), all);
        assert_eq!(par(&gz).unwrap(), all);
    }

    #[test]
    fn a_tag_that_lies_is_an_error_never_a_panic_or_a_wrong_answer() {
        let data = sample(2 * CHUNK);
        let gz = pgzip(&data);
        let first = members(&gz)[0].len();
        // A length that cuts the member short, or runs into the next one.
        for delta in [-9i64, -1, 1, 5000] {
            let mut bad = gz.clone();
            let total = (first as i64 + delta) as u32;
            bad[16..20].copy_from_slice(&total.to_le_bytes());
            assert!(seq(&bad).is_err(), "delta {delta}");
            assert!(par(&bad).is_err(), "delta {delta}");
        }
        // A trailer declaring more than a tagged member may hold.
        let one = compress_member(&sample(1000), 5).unwrap();
        let mut big = one.clone();
        let at = big.len() - 4;
        big[at..].copy_from_slice(&(MAX_MEMBER as u32 + 1).to_le_bytes());
        let e = seq(&big).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        // A flipped bit inside the deflate data, and in the CRC.
        for at in [HEADER_LEN + 3, one.len() - 6] {
            let mut bad = one.clone();
            bad[at] ^= 0x10;
            assert!(seq(&bad).is_err(), "at {at}");
            assert!(par(&bad).is_err(), "at {at}");
        }
        // Truncated anywhere.
        for cut in [1, 10, HEADER_LEN, HEADER_LEN + 1, first - 1, first + 3] {
            assert!(seq(&gz[..cut]).is_err(), "cut {cut}");
            assert!(par(&gz[..cut]).is_err(), "cut {cut}");
        }
        // A declared length beyond MAX_MEMBER is not taken as a tag: the sequential decoder
        // reads the member, and it is sound.
        let mut huge = one.clone();
        huge[16..20].copy_from_slice(&(MAX_MEMBER as u32 + 1).to_le_bytes());
        assert_eq!(seq(&huge).unwrap(), sample(1000));
    }

    #[test]
    fn an_empty_stream_reads_as_the_sequential_decoder_reads_it() {
        let mut expected = Vec::new();
        let want = flate2::read::MultiGzDecoder::new(&b""[..]).read_to_end(&mut expected);
        assert_eq!(seq(b"").is_ok(), want.is_ok());
        assert_eq!(par(b"").is_ok(), want.is_ok());
    }

    #[test]
    fn dropping_the_parallel_reader_early_stops_its_threads() {
        let data = sample(8 * CHUNK);
        let gz = pgzip(&data);
        std::thread::scope(|s| {
            let mut r = ParInflate::spawn(s, gz.as_slice(), 2);
            let mut first = vec![0u8; 1000];
            r.read_exact(&mut first).unwrap();
            assert_eq!(first, data[..1000]);
            drop(r);
        });
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// Any bytes after a sound tagged member: an error or data, never a panic, and
            /// both readers agree.
            #[test]
            fn garbage_after_a_member_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
                let mut gz = compress_member(b"hello hello hello hello", 5).unwrap();
                gz.extend(&tail);
                let (a, b) = (seq(&gz), par(&gz));
                prop_assert_eq!(a.is_ok(), b.is_ok());
                if let (Ok(a), Ok(b)) = (a, b) {
                    prop_assert_eq!(a, b);
                }
            }
        }
    }
}
