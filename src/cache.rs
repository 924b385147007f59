//! The feature cache: per-image measurements kept between runs.
//!
//! One file per scanned root, under the cache directory, named by a hash of the
//! root's path; a video's extracted frames are kept with the video's root. An
//! entry is reused when the file's path, size and mtime match; when only the
//! mtime changed (a fresh `git clone`, a copy), the file's blake3 is compared
//! with the cached one before anything is decoded again. Saving drops the
//! entries of files the run did not see. A file from another calibset version
//! or with other analysis parameters is ignored; a damaged one is reported as a
//! warning and rebuilt. Writes are atomic: a temporary file renamed over the old
//! one.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::features::{ANALYSIS_SHORT_SIDE, FEATURES_VERSION, Features, ImageIssue, THUMB_SIDE};
use crate::source::FileEntry;

const MAGIC: &[u8; 8] = b"CALIBSC\0";
/// Layout of the cache file itself.
const FORMAT_VERSION: u32 = 2;

/// What measuring one file produced: features, or the reason it was skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Measured {
    /// Features, or why the image is unusable.
    pub result: Result<Features, ImageIssue>,
    /// The extension names another format than the content has.
    pub mislabelled: bool,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    features: u32,
    analysis_short_side: u32,
    thumb_side: u32,
}

impl Header {
    fn current() -> Self {
        Header {
            format: FORMAT_VERSION,
            features: FEATURES_VERSION,
            analysis_short_side: ANALYSIS_SHORT_SIDE,
            thumb_side: THUMB_SIDE as u32,
        }
    }

    fn matches(&self, other: &Header) -> bool {
        (
            self.format,
            self.features,
            self.analysis_short_side,
            self.thumb_side,
        ) == (
            other.format,
            other.features,
            other.analysis_short_side,
            other.thumb_side,
        )
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    path: Vec<u8>,
    size: u64,
    mtime_ns: i128,
    /// [`crate::source::Version::tag`]: an object's ETag hash, 0 for a file.
    tag: u64,
    measured: Measured,
}

/// How a file relates to its cache entry.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// Same size, mtime and (for an object) ETag: reuse.
    Hit(&'a Measured),
    /// Same size, other mtime: reuse if the content hash still matches.
    Verify(&'a Measured),
    /// Nothing usable cached.
    Miss,
}

/// The cache for one root folder.
pub(crate) struct Cache {
    file: Option<PathBuf>,
    entries: HashMap<PathBuf, Entry>,
    dirty: bool,
}

/// Something wrong with a cache that did not stop the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cache {}: {message}", path.display())]
pub(crate) struct CacheWarning {
    /// The cache file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl Cache {
    /// A cache that keeps nothing (`--no-cache`).
    pub(crate) fn disabled() -> Self {
        Cache {
            file: None,
            entries: HashMap::new(),
            dirty: false,
        }
    }

    /// Opens the cache of `root` under `dir`; a damaged file yields a warning and
    /// an empty cache.
    pub(crate) fn open(dir: &Path, root: &Path) -> (Self, Option<CacheWarning>) {
        let key = blake3::hash(path_bytes(root).as_slice()).to_hex();
        let file = dir.join(format!("{}.cache", &key[..16]));
        let mut cache = Cache {
            file: Some(file.clone()),
            entries: HashMap::new(),
            dirty: false,
        };
        let bytes = match crate::source::read_bytes(&file, crate::source::CACHE_LIMIT) {
            Ok(b) => b,
            Err(crate::source::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return (cache, None);
            }
            Err(e) => {
                return (
                    cache,
                    Some(warning(&file, format!("cannot read ({e}); rebuilding"))),
                );
            }
        };
        match decode(&bytes) {
            Ok(Some(entries)) => {
                cache.entries = entries
                    .into_iter()
                    .map(|e| (path_from_bytes(&e.path), e))
                    .collect();
                (cache, None)
            }
            Ok(None) => {
                cache.dirty = true;
                (cache, None)
            }
            Err(message) => {
                cache.dirty = true;
                (
                    cache,
                    Some(warning(&file, format!("{message}; rebuilding"))),
                )
            }
        }
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What the cache knows of `file`.
    pub(crate) fn lookup(&self, file: &FileEntry) -> Lookup<'_> {
        match self.entries.get(&file.path) {
            Some(e)
                if e.size == file.version.size
                    && e.mtime_ns == file.version.modified_ns
                    && e.tag == file.version.tag =>
            {
                Lookup::Hit(&e.measured)
            }
            Some(e) if e.size == file.version.size => Lookup::Verify(&e.measured),
            _ => Lookup::Miss,
        }
    }

    /// Records a measurement of `file`, unless it is a verdict that does not
    /// belong to the file's bytes (a read error, a size over this run's limit):
    /// those are found again next run rather than remembered.
    pub(crate) fn insert(&mut self, file: &FileEntry, measured: Measured) {
        let cacheable = measured
            .result
            .as_ref()
            .err()
            .is_none_or(ImageIssue::is_cacheable);
        if self.file.is_none() || !cacheable {
            return;
        }
        self.entries.insert(
            file.path.clone(),
            Entry {
                path: path_bytes(&file.path),
                size: file.version.size,
                mtime_ns: file.version.modified_ns,
                tag: file.version.tag,
                measured,
            },
        );
        self.dirty = true;
    }

    /// Drops entries of files this run did not see: deleted or excluded files, and
    /// frames of an earlier extraction of a video that has changed since.
    pub(crate) fn retain_seen(&mut self, seen: &std::collections::HashSet<&Path>) {
        let before = self.entries.len();
        self.entries.retain(|p, _| seen.contains(p.as_path()));
        self.dirty |= self.entries.len() != before;
    }

    /// Writes the cache if it changed (temporary file, then rename).
    pub(crate) fn save(&mut self) -> Result<(), CacheWarning> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        let fail = |e: &dyn std::fmt::Display| warning(file, format!("cannot write: {e}"));
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let mut entries: Vec<&Entry> = self.entries.values().collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
        // Streamed to the file through the checksum: a whole copy of the cache
        // in memory (50 MB at 100,000 images) would set the build's peak RSS.
        let mut out = Checksummed {
            inner: std::io::BufWriter::new(tmp.as_file_mut()),
            hasher: blake3::Hasher::new(),
            failed: None,
        };
        out.write_all(MAGIC).map_err(|e| fail(&e))?;
        let serialized = postcard::to_io(&Header::current(), &mut out)
            .and_then(|w| postcard::to_io(&entries, w).map(|_| ()));
        if let Err(e) = serialized {
            return Err(match out.failed.take() {
                Some(io) => fail(&io),
                None => fail(&e),
            });
        }
        let checksum = out.hasher.finalize();
        out.inner
            .write_all(&checksum.as_bytes()[..8])
            .and_then(|()| out.inner.flush())
            .map_err(|e| fail(&e))?;
        drop(out);
        tmp.persist(file).map_err(|e| fail(&e.error))?;
        self.dirty = false;
        Ok(())
    }
}

/// A writer that hashes what it passes on.
struct Checksummed<W> {
    inner: W,
    hasher: blake3::Hasher,
    /// The first write error: postcard reports any as "the serialize
    /// buffer is full", which would hide a full disk or a file-size limit.
    failed: Option<std::io::Error>,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf).inspect_err(|e| {
            self.failed
                .get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
        })?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // postcard flushes at the end of each value: its error is kept too.
        self.inner.flush().inspect_err(|e| {
            self.failed
                .get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
        })
    }
}

/// `Ok(None)` for a cache of another version; `Err` for a damaged file.
fn decode(bytes: &[u8]) -> Result<Option<Vec<Entry>>, String> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a calibset cache file")?;
    let (header, rest): (Header, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| format!("damaged header ({e})"))?;
    if !header.matches(&Header::current()) {
        return Ok(None);
    }
    if rest.len() < 8 {
        return Err("truncated".into());
    }
    let (payload, sum) = rest.split_at(rest.len() - 8);
    let checksum = blake3::hash(&bytes[..bytes.len() - 8]);
    if &checksum.as_bytes()[..8] != sum {
        return Err("checksum mismatch (truncated or damaged)".into());
    }
    postcard::from_bytes(payload)
        .map(Some)
        .map_err(|e| format!("damaged entries ({e})"))
}

fn warning(path: &Path, message: String) -> CacheWarning {
    CacheWarning {
        path: path.to_owned(),
        message,
    }
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(unix)]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

#[cfg(not(unix))]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &Path, size: u64, modified_ns: i128) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            rel: String::new(),
            version: crate::source::Version {
                size,
                modified_ns,
                tag: 0,
            },
            frame_of: None,
        }
    }

    fn measured() -> Measured {
        Measured {
            result: Err(ImageIssue::Empty),
            mislabelled: true,
        }
    }

    #[test]
    fn round_trips_and_detects_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new("/pool");
        let f = entry(Path::new("/pool/a.jpg"), 10, 5);
        let (mut c, w) = Cache::open(dir.path(), root);
        assert!(w.is_none() && c.is_empty());
        c.insert(&f, measured());
        c.save().unwrap();
        let (c, w) = Cache::open(dir.path(), root);
        assert!(w.is_none());
        assert!(matches!(c.lookup(&f), Lookup::Hit(m) if *m == measured()));
        assert!(matches!(
            c.lookup(&entry(&f.path, 10, 6)),
            Lookup::Verify(_)
        ));
        assert!(matches!(c.lookup(&entry(&f.path, 11, 5)), Lookup::Miss));
    }

    #[test]
    fn read_errors_and_size_verdicts_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new("/pool");
        let f = entry(Path::new("/pool/a.jpg"), 10, 5);
        let (mut c, _) = Cache::open(dir.path(), root);
        for issue in [
            ImageIssue::Io("Permission denied (os error 13)".into()),
            ImageIssue::TooLarge("400 megapixels".into()),
        ] {
            c.insert(
                &f,
                Measured {
                    result: Err(issue),
                    mislabelled: false,
                },
            );
            assert!(matches!(c.lookup(&f), Lookup::Miss));
        }
        c.insert(&f, measured());
        assert!(matches!(c.lookup(&f), Lookup::Hit(_)));
    }

    #[test]
    fn damaged_cache_is_a_warning_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new("/pool");
        let f = entry(Path::new("/pool/a.jpg"), 10, 5);
        let (mut c, _) = Cache::open(dir.path(), root);
        c.insert(&f, measured());
        c.save().unwrap();
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&file).unwrap();
        let n = bytes.len();
        bytes[n - 12] ^= 0xFF;
        std::fs::write(&file, &bytes).unwrap();
        let (mut c, w) = Cache::open(dir.path(), root);
        assert!(w.unwrap().message.contains("checksum"));
        assert!(matches!(c.lookup(&f), Lookup::Miss));
        c.insert(&f, measured());
        c.save().unwrap();
        assert!(Cache::open(dir.path(), root).1.is_none());
    }

    #[test]
    fn unseen_entries_are_dropped_on_save() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new("/pool");
        let kept = entry(Path::new("/pool/a.jpg"), 10, 5);
        let gone = entry(Path::new("/pool/b.jpg"), 10, 5);
        let old_frame = entry(Path::new("/cache/frames/clip-00/000001.jpg"), 10, 5);
        let (mut c, _) = Cache::open(dir.path(), root);
        for f in [&kept, &gone, &old_frame] {
            c.insert(f, measured());
        }
        c.save().unwrap();
        let (mut c, _) = Cache::open(dir.path(), root);
        c.retain_seen(&std::collections::HashSet::from([kept.path.as_path()]));
        c.save().unwrap();
        let (c, _) = Cache::open(dir.path(), root);
        assert_eq!(c.len(), 1);
        assert!(matches!(c.lookup(&kept), Lookup::Hit(_)));
        assert!(matches!(c.lookup(&old_frame), Lookup::Miss));
    }
}
