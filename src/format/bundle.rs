//! The bundle stream: age over gzip over a POSIX tar whose first entry is `mbundle.json`.
//!
//! Writing: [`BundleWriter`] streams files into `tar -> gzip -> age -> output`; nothing is
//! buffered beyond the codecs' own windows, and writers are finished innermost first (tar,
//! then gzip, then age) because each one's trailer is data for the next.
//!
//! Reading: [`read_manifest`] stops after the manifest; [`read_bundle`] walks every entry and
//! hands each one, already checked against the manifest, to a [`Visitor`]. Entries are taken
//! one by one, never unpacked wholesale (tar's own `unpack` is best-effort on hostile input):
//! an entry must be a regular file the manifest lists, not seen before, exactly the declared
//! size, and hash to the declared sha256. Whatever follows the archive must be tar padding,
//! and the age stream must end where its last authenticated chunk says it does.

use std::io::{self, BufReader, Read, Write};
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

use crate::format::hashing::{HashThread, HashingReader};
use crate::format::pgzip::ParGzWriter;
use crate::format::pinflate::{ParInflate, SeqInflate};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format::crypto::{open_age, DecryptWith};
use crate::format::manifest::{
    FileEntry, Manifest, ManifestError, FORMAT_VERSION, MANIFEST_PATH, MAX_MANIFEST_BYTES,
};

/// Buffer size for bundle I/O.
pub const IO_BUFFER: usize = 1 << 20;
/// Most bytes of zero padding accepted after the tar end marker.
const MAX_TRAILING_PADDING: u64 = 1 << 20;
/// The most of an archive path a message quotes (a hostile one may be 1 MiB long).
const SHOWN_PATH_CHARS: usize = 200;

/// A source file read failed (as opposed to the bundle output failing).
#[derive(Debug)]
pub struct SourceReadError {
    /// The file being read.
    pub path: std::path::PathBuf,
    /// The OS error.
    pub source: io::Error,
}

impl std::fmt::Display for SourceReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reading {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for SourceReadError {}

/// Streams a bundle into any writer: tar on the calling thread, gzip on every core
/// ([`ParGzWriter`]), age encryption and output on a thread of their own.
pub struct BundleWriter<W: Write + Send + 'static> {
    tar: tar::Builder<ParGzWriter<Pipe>>,
    sink: Option<JoinHandle<io::Result<W>>>,
}

/// Hands compressed bytes to the encrypting thread in 1 MiB blocks.
struct Pipe {
    tx: Option<SyncSender<Vec<u8>>>,
    buf: Vec<u8>,
}

/// The encrypting thread stopped (its own error says why).
#[derive(Debug)]
struct SinkStopped;
impl std::fmt::Display for SinkStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the bundle output stopped")
    }
}
impl std::error::Error for SinkStopped {}

impl Pipe {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let block = std::mem::replace(&mut self.buf, Vec::with_capacity(IO_BUFFER));
        self.tx
            .as_ref()
            .ok_or_else(|| io::Error::other(SinkStopped))?
            .send(block)
            .map_err(|_| io::Error::other(SinkStopped))
    }

    fn close(mut self) -> io::Result<()> {
        let r = self.send();
        self.tx = None;
        r
    }
}

/// [`Pipe`] as a plain writer, for what age writes.
struct BlockWriter(Pipe);

impl Write for BlockWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.buf.extend_from_slice(data);
        if self.0.buf.len() >= IO_BUFFER {
            self.0.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl crate::format::pgzip::MemberSink for Pipe {
    fn put(&mut self, member: Vec<u8>) -> io::Result<()> {
        // Members are about a chunk each: pass them on as they are, no copy.
        if self.buf.is_empty() && member.len() >= IO_BUFFER / 2 {
            self.buf = member;
            return self.send();
        }
        self.buf.extend_from_slice(&member);
        if self.buf.len() >= IO_BUFFER {
            self.send()?;
        }
        Ok(())
    }
}

fn header_for(path: &str, size: u64, mode: u32, mtime: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

/// Bytes of the manifest per gzip member.
const MANIFEST_MEMBER: usize = 256 << 10;

/// The manifest's tar entry, as `tar::Builder::append` writes one (header, data, zeros to the
/// next 512-byte block), in gzip members of its own of [`MANIFEST_MEMBER`] bytes: the
/// importer, which can do nothing before it has the whole manifest, gets it from members
/// inflated side by side, not after a member of file data (500 machines: a 1.1 MB
/// manifest whose last bytes waited for a MiB of keys and certificates to inflate).
fn write_manifest_entry<S: crate::format::pgzip::MemberSink>(
    gz: &mut ParGzWriter<S>,
    header: &tar::Header,
    json: &[u8],
) -> io::Result<()> {
    gz.write_all(header.as_bytes())?;
    gz.write_in_members(json, MANIFEST_MEMBER)?;
    let pad = (512 - json.len() % 512) % 512;
    gz.write_all(&[0u8; 512][..pad])
}

impl<W: Write + Send + 'static> BundleWriter<W> {
    /// Starts a bundle: age header, gzip header, then the manifest as the first tar entry.
    pub fn new(
        out: W,
        encryptor: age::Encryptor,
        manifest: &Manifest,
        level: u32,
    ) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(2);
        // Two threads after compression: one encrypts, one writes, so the kernel's copy into
        // the page cache overlaps with the cipher.
        let sink = std::thread::spawn(move || -> io::Result<W> {
            let (wtx, wrx) = mpsc::sync_channel::<Vec<u8>>(2);
            let writer = std::thread::spawn(move || -> io::Result<W> {
                let mut out = out;
                for block in wrx {
                    out.write_all(&block)?;
                }
                out.flush()?;
                Ok(out)
            });
            let pipe = Pipe {
                tx: Some(wtx),
                buf: Vec::with_capacity(IO_BUFFER),
            };
            let encrypted = (|| -> io::Result<()> {
                let mut age = encryptor.wrap_output(BlockWriter(pipe))?;
                for block in rx {
                    age.write_all(&block)?;
                }
                age.finish()?.0.close()
            })();
            let written = writer
                .join()
                .map_err(|_| io::Error::other("the writing thread panicked"))?;
            // The writer's own error (disk full...) explains a stopped pipe best.
            match (encrypted, written) {
                (_, Err(e)) => Err(e),
                (Err(e), Ok(_)) => Err(e),
                (Ok(()), Ok(out)) => Ok(out),
            }
        });
        let pipe = Pipe {
            tx: Some(tx),
            buf: Vec::with_capacity(IO_BUFFER),
        };
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let gz = ParGzWriter::new(pipe, level, threads);
        let mut tar = tar::Builder::new(gz);
        tar.follow_symlinks(false);
        let mut w = BundleWriter {
            tar,
            sink: Some(sink),
        };
        let json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let h = header_for(MANIFEST_PATH, json.len() as u64, 0o600, now)?;
        let r = write_manifest_entry(w.tar.get_mut(), &h, &json);
        w.explain(r)?;
        Ok(w)
    }

    /// Replaces a "the output stopped" error with the output's own error.
    fn explain<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        explain(&mut self.sink, r)
    }

    /// Appends one file. `data` must yield exactly `entry.size` bytes. Returns how many it
    /// gave and, when `hash` is set, their sha256, so the caller can tell a file that changed
    /// since it was hashed.
    pub fn add_file<R: Read>(
        &mut self,
        entry: &FileEntry,
        mtime: u64,
        mut data: R,
        hash: bool,
    ) -> io::Result<(u64, Option<String>)> {
        let mode = entry.mode_bits().unwrap_or(0o600);
        let h = header_for(&entry.path, entry.size, mode, mtime)?;
        // Header, data and padding written here in large blocks (tar's own append copies
        // through an 8 KiB buffer).
        let r = self.tar.get_mut().write_all(h.as_bytes());
        self.explain(r)?;
        let mut hasher = hash.then(Sha256::new);
        let mut seen = |b: &[u8]| {
            if let Some(hh) = hasher.as_mut() {
                hh.update(b);
            }
        };
        let mut left = entry.size;
        while left > 0 {
            // Read straight into the compressor's chunk: one copy of the stream fewer.
            let want = left.min(1 << 20) as usize;
            let r = self.tar.get_mut().fill_from(&mut data, want, &mut seen);
            let n = match r {
                Err(e) if e.get_ref().is_some_and(|i| i.is::<SinkStopped>()) => {
                    return self.explain(Err(e))
                }
                r => r?,
            };
            if n == 0 {
                break;
            }
            left -= n as u64;
        }
        let count = entry.size - left;
        if left > 0 {
            // The file shrank: keep the archive well-formed; the caller fails the export.
            let zeros = vec![0u8; left.min(1 << 20) as usize];
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                let r = self.tar.get_mut().write_all(&zeros[..n]);
                self.explain(r)?;
                left -= n as u64;
            }
        }
        let pad = (512 - (entry.size % 512) as usize) % 512;
        let r = self.tar.get_mut().write_all(&[0u8; 512][..pad]);
        self.explain(r)?;
        Ok((count, hasher.map(|h| hex::encode(h.finalize()))))
    }

    /// Writes the tar end marker, the gzip trailer and the age final chunk, in that order,
    /// and returns the output once everything reached it.
    pub fn finish(self) -> io::Result<W> {
        let BundleWriter { tar, mut sink } = self;
        let gz = explain(&mut sink, tar.into_inner())?;
        let pipe = explain(&mut sink, gz.finish())?;
        explain(&mut sink, pipe.close())?;
        sink.take()
            .ok_or_else(|| io::Error::other(SinkStopped))?
            .join()
            .map_err(|_| io::Error::other("the encrypting thread panicked"))?
    }
}

fn explain<W, T>(sink: &mut Option<JoinHandle<io::Result<W>>>, r: io::Result<T>) -> io::Result<T> {
    match r {
        Err(e) if e.get_ref().is_some_and(|i| i.is::<SinkStopped>()) => {
            match sink.take().map(|s| s.join()) {
                Some(Ok(Err(real))) => Err(real),
                _ => Err(e),
            }
        }
        other => other,
    }
}

/// What a full read hands each entry to.
pub trait Visitor {
    /// Called once, with the validated manifest, before any file.
    fn manifest(&mut self, manifest: &Manifest) -> Result<()>;
    /// Called for each file; `data` yields at most `entry.size` bytes. The checksum is checked
    /// after this returns, so nothing read here is trusted until [`read_bundle`] returns Ok.
    fn file(&mut self, entry: &FileEntry, data: &mut dyn Read) -> Result<()>;
}

/// How many decompressed bytes the reader may still take. Before the manifest is read the
/// allowance covers the largest manifest; after, exactly what the manifest declares plus tar
/// overhead. A bundle that expands beyond that (a compression bomb, a giant long-name or PAX
/// header, padding without end) is refused instead of filling memory or disk.
#[derive(Clone, Default)]
struct Budget(std::rc::Rc<std::cell::Cell<(u64, u64)>>);

impl Budget {
    fn used(&self) -> u64 {
        self.0.get().0
    }
    fn set_limit(&self, limit: u64) {
        let (used, _) = self.0.get();
        self.0.set((used, limit));
    }
}

/// The error a [`Budgeted`] reader raises when the budget runs out.
#[derive(Debug)]
struct OverBudget;
impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the bundle expands beyond what its manifest declares (a compression bomb?)")
    }
}
impl std::error::Error for OverBudget {}

struct Budgeted<R> {
    inner: R,
    budget: Budget,
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (used, limit) = self.budget.0.get();
        if used >= limit {
            return Err(io::Error::other(OverBudget));
        }
        let room = (limit - used).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.budget.0.set((used + n as u64, limit));
        Ok(n)
    }
}

/// Tar overhead allowed per file: header, padding, and a long-name or PAX header.
const PER_FILE_OVERHEAD: u64 = 512 + 512 + 4096;

/// Marks read errors of the underlying input so they are reported as I/O, not as damage,
/// and counts the bytes read (for "the file ends after N bytes").
struct TagRead<R>(R, Arc<AtomicU64>);

#[derive(Debug)]
struct InputReadError(io::Error);
impl std::fmt::Display for InputReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for InputReadError {}

impl<R: Read> Read for TagRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::other(InputReadError(e))
            }
        })?;
        self.1.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An error of the age layer (authentication, truncation), with how much input had been read.
#[derive(Debug)]
struct AgeStreamError {
    message: String,
    input_read: u64,
}
impl std::fmt::Display for AgeStreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for AgeStreamError {}

/// Marks errors of the age stream, so damage and truncation are told apart from a
/// well-encrypted file that holds something other than a bundle.
struct AgeRead<R> {
    inner: R,
    input_read: Arc<AtomicU64>,
}

impl<R: Read> Read for AgeRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let marked = e.get_ref().is_some_and(|i| i.is::<InputReadError>());
            if e.kind() == io::ErrorKind::Interrupted || marked {
                e
            } else {
                io::Error::new(
                    e.kind(),
                    AgeStreamError {
                        message: e.to_string(),
                        input_read: self.input_read.load(Ordering::Relaxed),
                    },
                )
            }
        })
    }
}

fn stream_error(what: &str, e: io::Error) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<OverBudget>()) {
        return Error::Corrupt(format!("{what}: {OverBudget}"));
    }
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<InputReadError>()) {
        return Error::io(
            "read",
            what,
            io::Error::new(inner.0.kind(), inner.0.to_string()),
        );
    }
    if let Some(age) = e.get_ref().and_then(|i| i.downcast_ref::<AgeStreamError>()) {
        return Error::Truncated {
            what: what.to_string(),
            detail: format!(
                "its encrypted data stops authenticating after {} bytes of input (age: {})",
                age.input_read, age.message
            ),
        };
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Error::Truncated {
            what: what.to_string(),
            detail: "the compressed archive inside ends early".into(),
        },
        _ => Error::Corrupt(format!("{what}: {e}")),
    }
}

/// Before the manifest: a failure of the layers inside an age stream that authenticated is
/// not damage (age would have said so) but a file that is not a bundle.
fn not_a_bundle(what: &str, e: io::Error) -> Error {
    let ours = e.get_ref().is_some_and(|i| {
        i.is::<AgeStreamError>() || i.is::<InputReadError>() || i.is::<OverBudget>()
    });
    if ours {
        return stream_error(what, e);
    }
    Error::NotBundle {
        what: what.to_string(),
        reason: format!("what it holds is not a gzip-compressed tar ({e})"),
    }
}

type Decrypted<R> =
    AgeRead<age::stream::StreamReader<crate::format::crypto::Bounded<BufReader<TagRead<R>>>>>;

fn decrypt<R: Read>(input: R, keys: &DecryptWith, what: &str) -> Result<Decrypted<R>> {
    let input_read = Arc::new(AtomicU64::new(0));
    let buffered = BufReader::with_capacity(IO_BUFFER, TagRead(input, input_read.clone()));
    Ok(AgeRead {
        inner: open_age(buffered, keys, what)?,
        input_read,
    })
}

/// The tar archive over `decoded` (the inflated stream), with its budget.
fn open_tar<D: Read>(decoded: D) -> (tar::Archive<Budgeted<D>>, Budget) {
    let budget = Budget::default();
    budget.set_limit(MAX_MANIFEST_BYTES + 3 * PER_FILE_OVERHEAD);
    let gz = Budgeted {
        inner: decoded,
        budget: budget.clone(),
    };
    (tar::Archive::new(gz), budget)
}

fn entry_path(entry: &tar::Entry<'_, impl Read>) -> String {
    String::from_utf8_lossy(&entry.path_bytes()).into_owned()
}

fn kind_name(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Char => "a character device",
        tar::EntryType::Block => "a block device",
        tar::EntryType::Fifo => "a FIFO",
        tar::EntryType::Directory => "a directory",
        tar::EntryType::GNUSparse => "a sparse file",
        _ => "not a regular file",
    }
}

fn parse_manifest_entry<R: Read>(
    entries: &mut tar::Entries<'_, R>,
    what: &str,
) -> Result<Manifest> {
    let mut first = match entries.next() {
        None => {
            return Err(Error::NotBundle {
                what: what.to_string(),
                reason: "it holds an empty archive".into(),
            })
        }
        Some(e) => e.map_err(|e| not_a_bundle(what, e))?,
    };
    let path = entry_path(&first);
    if path != MANIFEST_PATH {
        let shown: String = path.chars().take(SHOWN_PATH_CHARS).collect();
        return Err(Error::NotBundle {
            what: what.to_string(),
            reason: format!(
                "it holds a tar archive whose first entry is {shown:?}, not {MANIFEST_PATH}"
            ),
        });
    }
    let t = first.header().entry_type();
    if !t.is_file() {
        return Err(Error::BadManifest(ManifestError::NotAFile(kind_name(t))));
    }
    let size = first.header().size().map_err(|e| stream_error(what, e))?;
    if size > MAX_MANIFEST_BYTES {
        return Err(Error::BadManifest(ManifestError::TooLarge {
            size,
            max: MAX_MANIFEST_BYTES,
        }));
    }
    let mut json = Vec::with_capacity(size as usize);
    (&mut first)
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| stream_error(what, e))?;
    // A newer bundle says so clearly, whether or not its manifest reads as this version's.
    let future = |found: u64| {
        (found > u64::from(FORMAT_VERSION)).then_some(Error::FutureFormat {
            found,
            supported: FORMAT_VERSION,
        })
    };
    let manifest: Manifest = match serde_json::from_slice(&json) {
        Ok(m) => m,
        Err(e) => {
            // Only the version is read here: the rest is skipped, not built.
            #[derive(serde::Deserialize)]
            struct Peek {
                #[serde(default)]
                format_version: serde_json::Value,
            }
            let found = serde_json::from_slice::<Peek>(&json)
                .ok()
                .and_then(|p| p.format_version.as_u64());
            return Err(found
                .and_then(future)
                .unwrap_or_else(|| Error::BadManifest(ManifestError::NotJson(e.to_string()))));
        }
    };
    if let Some(e) = future(manifest.format_version) {
        return Err(e);
    }
    manifest.validate().map_err(Error::BadManifest)?;
    Ok(manifest)
}

/// Reads and validates the manifest only. Nothing after it is read or checked.
pub fn read_manifest<R: Read>(input: R, keys: &DecryptWith, what: &str) -> Result<Manifest> {
    let (mut archive, _) = open_tar(SeqInflate::new(decrypt(input, keys, what)?));
    let mut entries = archive.entries().map_err(|e| not_a_bundle(what, e))?;
    parse_manifest_entry(&mut entries, what)
}

/// Reads the whole bundle, checking every entry against the manifest, and returns the
/// manifest once every file has been seen and verified. Decryption and the cutting of the
/// gzip stream run on one thread, inflating on every core ([`ParInflate`]), hashing of large
/// files on one more ([`HashThread`]), the tar walk and the visitor on the caller's.
pub fn read_bundle<R: Read + Send>(
    input: R,
    keys: &DecryptWith,
    what: &str,
    visitor: &mut dyn Visitor,
) -> Result<Manifest> {
    let decrypted = decrypt(input, keys, what)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let decoded = ParInflate::spawn(scope, decrypted, workers);
        let hasher = HashThread::spawn(scope);
        read_decoded(decoded, what, visitor, Some(&hasher))
    })
}

/// [`read_bundle`] after decryption: reads the gzip-compressed tar `plain`, on the calling
/// thread alone. Public for the fuzz targets, which attack this layer directly.
pub fn read_plaintext<P: Read>(
    plain: P,
    what: &str,
    visitor: &mut dyn Visitor,
) -> Result<Manifest> {
    read_decoded(SeqInflate::new(plain), what, visitor, None)
}

/// Walks the inflated tar stream `decoded`: the manifest, then every entry checked.
fn read_decoded<D: Read>(
    decoded: D,
    what: &str,
    visitor: &mut dyn Visitor,
    hasher: Option<&HashThread>,
) -> Result<Manifest> {
    let (mut archive, budget) = open_tar(decoded);
    let manifest = {
        let mut entries = archive.entries().map_err(|e| not_a_bundle(what, e))?;
        let manifest = parse_manifest_entry(&mut entries, what)?;
        // From here on, the archive may hold what the manifest declares and no more.
        let declared = manifest
            .files
            .iter()
            .map(|f| f.size.saturating_add(PER_FILE_OVERHEAD))
            .fold(0u64, u64::saturating_add);
        budget.set_limit(
            budget
                .used()
                .saturating_add(declared)
                .saturating_add(MAX_TRAILING_PADDING + 64 * 1024),
        );
        visitor.manifest(&manifest)?;
        // Each path's index in the manifest; what was seen, by index.
        let index: std::collections::HashMap<&str, usize> = manifest
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_str(), i))
            .collect();
        let mut seen = vec![false; manifest.files.len()];
        for entry in entries {
            let mut entry = entry.map_err(|e| stream_error(what, e))?;
            let path = entry_path(&entry);
            let shown = || path.chars().take(SHOWN_PATH_CHARS).collect::<String>();
            let Some(&i) = index.get(path.as_str()) else {
                return Err(Error::Corrupt(format!(
                    "entry {:?} is not listed in the manifest",
                    shown()
                )));
            };
            let declared = &manifest.files[i];
            let t = entry.header().entry_type();
            if !t.is_file() {
                return Err(Error::Corrupt(format!(
                    "entry {:?} is {}",
                    shown(),
                    kind_name(t)
                )));
            }
            if std::mem::replace(&mut seen[i], true) {
                return Err(Error::Corrupt(format!("entry {:?} appears twice", shown())));
            }
            let size = entry.header().size().map_err(|e| stream_error(what, e))?;
            if size != declared.size {
                return Err(Error::Corrupt(format!(
                    "entry {:?} is {size} bytes but the manifest says {}",
                    shown(),
                    declared.size
                )));
            }
            let mut hashing =
                HashingReader::new((&mut entry).take(declared.size), declared.size, hasher);
            visitor.file(declared, &mut hashing)?;
            io::copy(&mut hashing, &mut io::sink()).map_err(|e| stream_error(what, e))?;
            let (count, sha) = hashing.finish().map_err(|e| stream_error(what, e))?;
            if count != declared.size {
                return Err(Error::Truncated {
                    what: what.to_string(),
                    detail: format!(
                        "entry {:?} ends after {count} of its {} bytes",
                        shown(),
                        declared.size
                    ),
                });
            }
            if sha != declared.sha256 {
                return Err(Error::ChecksumMismatch {
                    path: declared.path.clone(),
                    expected: declared.sha256.clone(),
                    actual: sha,
                });
            }
        }
        if let Some((missing, _)) = manifest.files.iter().zip(&seen).find(|(_, s)| !**s) {
            return Err(Error::Corrupt(format!(
                "{:?} is listed in the manifest but missing from the archive",
                missing.path
            )));
        }
        manifest
    };
    // After the end marker only zero padding may follow, and the streams must end cleanly
    // (this is also what authenticates age's last chunk and checks gzip's CRC).
    check_trailing(archive.into_inner(), what)?;
    Ok(manifest)
}

/// Reads what follows the tar end marker to the end of the streams: zero padding only.
fn check_trailing(mut rest: impl Read, what: &str) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut trailing = 0u64;
    loop {
        let n = rest.read(&mut buf).map_err(|e| stream_error(what, e))?;
        if n == 0 {
            break;
        }
        trailing += n as u64;
        if trailing > MAX_TRAILING_PADDING || buf[..n].iter().any(|b| *b != 0) {
            return Err(Error::Corrupt(format!(
                "{what} has data after the end of the archive"
            )));
        }
    }
    Ok(())
}

/// Keeps a machine's `config.json` (at most `max` bytes) from the entries a reader hands a
/// visitor: what `import --dry-run` and `diff` need of a bundle besides its manifest.
pub fn keep_config(
    entry: &FileEntry,
    data: &mut dyn Read,
    max: u64,
    into: &mut std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<()> {
    let is_config = crate::format::layout::config_of(&entry.path).is_some();
    if is_config && entry.size <= max {
        let mut buf = Vec::with_capacity(entry.size as usize);
        data.take(max)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", entry.path)))?;
        into.insert(entry.path.clone(), buf);
    }
    Ok(())
}

/// A visitor that only lets the reader verify.
pub struct VerifyOnly;

impl Visitor for VerifyOnly {
    fn manifest(&mut self, _: &Manifest) -> Result<()> {
        Ok(())
    }
    fn file(&mut self, _: &FileEntry, _: &mut dyn Read) -> Result<()> {
        Ok(())
    }
}
