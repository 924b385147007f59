//! Reading whole files: every byte calibset reads from disk — images, recipes,
//! manifests, labels, its own cache and markers — goes through here.
//!
//! Only regular files are read. A FIFO, socket or device (`/dev/zero`) named as
//! an image, a label file, the recipe or the cache is refused at once instead of
//! blocking forever or being read until memory runs out: files are opened
//! non-blocking and checked with `fstat` before the first read. Every read is
//! capped: text inputs are small by nature, and an image file larger than its
//! cap is refused before its bytes are loaded.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Version, remote};
use crate::paths::is_object_url;

/// Most bytes read from a recipe.
pub(crate) const RECIPE_LIMIT: u64 = 4 << 20;
/// Most bytes read from one label file (YOLO `.txt`, VOC `.xml`, a names file).
pub(crate) const LABEL_LIMIT: u64 = 64 << 20;
/// Most bytes read from a manifest or a COCO JSON file.
pub(crate) const LIST_LIMIT: u64 = 8 << 30;
/// Most bytes read from an output folder's marker.
pub(crate) const MARKER_LIMIT: u64 = 1 << 30;
/// Most bytes read from a feature cache file.
pub(crate) const CACHE_LIMIT: u64 = 16 << 30;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// Not a regular file: a FIFO, socket, device or folder.
    #[error("not a regular file (it is a {kind})")]
    NotRegular {
        /// What it is instead.
        kind: &'static str,
    },
    /// Larger than the cap for its kind of input.
    #[error("too large: {size} bytes, more than the {limit} read from such a file")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// Refused from its first bytes (an image whose header declares more
    /// pixels than allowed), before the rest was read.
    #[error("{0}")]
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    Refused(String),
    /// The operating system refused or failed the read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ReadError {
    /// The error as an [`std::io::Error`], for error types that carry one.
    pub(crate) fn into_io(self) -> std::io::Error {
        match self {
            ReadError::Io(e) => e,
            other => {
                let kind = match other {
                    ReadError::TooLarge { .. } | ReadError::Refused(_) => {
                        std::io::ErrorKind::FileTooLarge
                    }
                    _ => std::io::ErrorKind::InvalidInput,
                };
                std::io::Error::new(kind, other.to_string())
            }
        }
    }
}

/// Opens `path` for reading if it is a regular file (following symlinks),
/// without ever blocking on a FIFO or device.
pub(super) fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO without a writer would block; non-blocking it returns
        // at once, and the fstat below refuses it. Regular files ignore the flag.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind_of(&meta),
        });
    }
    Ok((file, meta))
}

/// Reads a whole regular file of at most `limit` bytes.
pub(crate) fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    if is_object_url(path) {
        return remote::read_bytes(path, limit);
    }
    let (file, meta) = open_regular(path)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow after the fstat: never read past the cap.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// The [`Version`] of the file at `path` (following symlinks).
pub(crate) fn stat(path: &Path) -> std::io::Result<Version> {
    if is_object_url(path) {
        return remote::stat(path).map_err(remote::RemoteError::into_io);
    }
    std::fs::metadata(path).map(|m| Version::of(&m))
}

/// The regular files directly in `dir` (not recursive), sorted by path.
pub(crate) fn files_in(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    if is_object_url(dir) {
        return remote::files_in(dir).map_err(remote::RemoteError::into_io);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Copies the regular local file `from` to a new file `to` (which must not
/// exist: nothing is ever written through an existing name). Returns the
/// blake3 of the bytes copied, hashed on the way, so the caller can tell them
/// from the ones it measured without reading either file again. (The export
/// downloads objects through [`remote::fetch_all`].)
pub(crate) fn copy(from: &Path, to: &Path) -> Result<[u8; 32], ReadError> {
    let (mut input, meta) = open_regular(from)?;
    let output = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let mut tee = Hashing {
        output,
        hasher: blake3::Hasher::new(),
    };
    std::io::copy(&mut input, &mut tee)?;
    tee.output.set_permissions(meta.permissions())?;
    Ok(*tee.hasher.finalize().as_bytes())
}

/// A writer that hashes what it writes.
struct Hashing {
    output: File,
    hasher: blake3::Hasher,
}

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.output.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.output.flush()
    }
}

/// Reads the first `n` bytes (or fewer) of a regular local file (an output of
/// calibset's that is about to be replaced).
pub(crate) fn read_head(path: &Path, n: u64) -> Result<Vec<u8>, ReadError> {
    let (file, _) = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(n).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a whole regular UTF-8 text file of at most `limit` bytes; a leading
/// byte-order mark is dropped.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    text_of(read_bytes(path, limit)?)
}

/// Reads the files `paths` (each of at most `limit` bytes, as [`read_bytes`]),
/// in order: a local file when the iterator reaches it, objects in a store
/// fetched ahead, many at a time.
pub(crate) fn read_all(
    paths: Vec<PathBuf>,
    limit: u64,
) -> impl Iterator<Item = (PathBuf, Result<Vec<u8>, ReadError>)> + Send {
    let objects: Vec<PathBuf> = paths.iter().filter(|p| is_object_url(p)).cloned().collect();
    let fetched = (!objects.is_empty()).then(|| remote::fetch_all(objects, limit, None));
    paths.into_iter().map(move |path| {
        let bytes = if is_object_url(&path) {
            match fetched.as_ref().and_then(|f| f.next(&crate::cancel::NEVER)) {
                Some((_, read)) => read,
                None => Err(ReadError::Io(std::io::Error::other("the read was stopped"))),
            }
        } else {
            read_bytes(&path, limit)
        };
        (path, bytes)
    })
}

/// Reads the UTF-8 text files `paths` (each as [`read_text`]), in order, as
/// [`read_all`] does (label files: one small object per image).
pub(crate) fn read_texts(
    paths: Vec<PathBuf>,
    limit: u64,
) -> impl Iterator<Item = (PathBuf, Result<String, ReadError>)> {
    read_all(paths, limit).map(|(path, bytes)| (path, bytes.and_then(text_of)))
}

/// `bytes` as UTF-8 text, without a leading byte-order mark.
fn text_of(bytes: Vec<u8>) -> Result<String, ReadError> {
    let text = String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    Ok(match text.strip_prefix('\u{FEFF}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// A short name for what a non-regular file is.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    type_name(meta.file_type())
}

/// What a file of type `t` is, in words: `FIFO`, `socket`, `folder`...
pub(super) fn type_name(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        return "folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_socket() {
            return "socket";
        }
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
    }
    "special file"
}

/// Makes a FIFO at `path` (for the tests of readers that must refuse one).
#[cfg(all(test, unix))]
pub(super) fn make_fifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("a UTF-8 test path")).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "\u{FEFF}path\n").unwrap();
        assert_eq!(read_text(&p, 100).unwrap(), "path\n");
        assert!(matches!(
            read_bytes(&p, 3),
            Err(ReadError::TooLarge { size: 8, limit: 3 })
        ));
        assert!(matches!(
            read_text(dir.path(), 100),
            Err(ReadError::NotRegular { kind: "folder" })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_fifos_and_devices_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("labels.txt");
        make_fifo(&fifo);
        assert!(matches!(
            read_text(&fifo, 100),
            Err(ReadError::NotRegular { kind: "FIFO" })
        ));
        assert!(matches!(
            read_bytes(Path::new("/dev/zero"), 100),
            Err(ReadError::NotRegular {
                kind: "character device"
            })
        ));
    }
}
