//! Whether the pool's files still hold what was measured: the last look at the
//! chosen images before the set is written. A file deleted, rewritten or made
//! unreadable since its measurement leaves the set like any skipped image
//! (the build then chooses again); only a store that stops answering stops the
//! build.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::{FileEntry, read, remote};
use crate::paths::is_object_url;

/// What became of a file since it was measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Drift {
    /// Deleted or moved away.
    Gone,
    /// Its bytes (a local file) or its size and ETag (an object) differ from
    /// the measured ones.
    Rewritten,
    /// It can no longer be read: the cause.
    Unreadable(String),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Gone => f.write_str("deleted after it was measured"),
            Drift::Rewritten => f.write_str("changed after it was measured"),
            Drift::Unreadable(cause) => write!(f, "no longer readable: {cause}"),
        }
    }
}

/// Why the files could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The object store failed a request for another reason than the object
    /// itself (a refused connection, a timeout, a server error): the store is
    /// down, and every object would look gone.
    #[error(transparent)]
    Store(remote::RemoteError),
    /// Ctrl-C or a termination signal.
    #[error("interrupted")]
    Interrupted,
}

/// For every `(file, measured blake3)`, in order, what became of it (`None`:
/// it still holds the measured bytes). A local file is read and hashed again; an
/// object is asked for its size and ETag (one HEAD request, many at a time).
pub(crate) fn drift(
    files: &[(&FileEntry, [u8; 32])],
    cancel: &AtomicBool,
) -> Result<Vec<Option<Drift>>, VerifyError> {
    let is_object = |f: &FileEntry| is_object_url(&f.path);
    let urls: Vec<PathBuf> = files
        .iter()
        .filter(|(f, _)| is_object(f))
        .map(|(f, _)| f.path.clone())
        .collect();
    let heads = if urls.is_empty() {
        Vec::new()
    } else {
        remote::stat_all(&urls, cancel).ok_or(VerifyError::Interrupted)?
    };
    // The objects first: a store that stopped answering ends it before any
    // local file is read.
    let objects: Vec<Option<Drift>> = files
        .iter()
        .filter(|(f, _)| is_object(f))
        .zip(heads)
        .map(|((file, _), head)| object_drift(file, head))
        .collect::<Result<_, _>>()?;
    let local: Vec<Option<Drift>> = files
        .par_iter()
        .map(|(file, hash)| {
            if is_object(file) || crate::cancel::check(cancel).is_err() {
                None
            } else {
                local_drift(file, hash)
            }
        })
        .collect();
    crate::cancel::check(cancel).map_err(|_| VerifyError::Interrupted)?;
    let mut objects = objects.into_iter();
    Ok(files
        .iter()
        .zip(local)
        .map(|((file, _), local)| match is_object(file) {
            true => objects.next().expect("one answer per object"),
            false => local,
        })
        .collect())
}

/// A local file, read and hashed again.
fn local_drift(file: &FileEntry, measured: &[u8; 32]) -> Option<Drift> {
    let hashed = read::open_regular(&file.path).and_then(|(f, _)| {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(f)?;
        Ok(*hasher.finalize().as_bytes())
    });
    match hashed {
        Ok(h) if &h == measured => None,
        Ok(_) => Some(Drift::Rewritten),
        Err(read::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(Drift::Gone)
        }
        Err(e) => Some(Drift::Unreadable(e.to_string())),
    }
}

/// An object, from its HEAD answer.
fn object_drift(
    file: &FileEntry,
    head: Result<super::Version, remote::RemoteError>,
) -> Result<Option<Drift>, VerifyError> {
    match head {
        Ok(v) if v.size == file.version.size && v.tag == file.version.tag => Ok(None),
        Ok(_) => Ok(Some(Drift::Rewritten)),
        Err(e) => match e.kind() {
            Some(std::io::ErrorKind::NotFound) => Ok(Some(Drift::Gone)),
            Some(kind) if remote::is_outage(kind) => Err(VerifyError::Store(e)),
            _ => Ok(Some(Drift::Unreadable(e.to_string()))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Version;

    fn entry(path: PathBuf) -> FileEntry {
        FileEntry {
            path,
            rel: "x.jpg".into(),
            version: Version::default(),
            frame_of: None,
        }
    }

    #[test]
    fn a_local_file_is_checked_by_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let same = dir.path().join("same.jpg");
        let rewritten = dir.path().join("rewritten.jpg");
        let gone = dir.path().join("gone.jpg");
        for p in [&same, &rewritten] {
            std::fs::write(p, b"measured bytes").unwrap();
        }
        let hash = *blake3::hash(b"measured bytes").as_bytes();
        std::fs::write(&rewritten, b"measured bytez").unwrap();
        let (a, b, c) = (entry(same), entry(rewritten), entry(gone));
        let files = [(&a, hash), (&b, hash), (&c, hash)];
        let drift = drift(&files, &AtomicBool::new(false)).unwrap();
        assert_eq!(drift, [None, Some(Drift::Rewritten), Some(Drift::Gone)]);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_in_place_of_a_file_is_unreadable_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.jpg");
        read::make_fifo(&fifo);
        let e = entry(fifo);
        let drift = drift(&[(&e, [0; 32])], &AtomicBool::new(false)).unwrap();
        assert!(
            matches!(&drift[0], Some(Drift::Unreadable(m)) if m.contains("not a regular file")),
            "{drift:?}"
        );
    }

    #[test]
    fn an_interrupted_check_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jpg");
        std::fs::write(&p, b"x").unwrap();
        let e = entry(p);
        let r = drift(&[(&e, [0; 32])], &AtomicBool::new(true));
        assert!(matches!(r, Err(VerifyError::Interrupted)));
    }
}
