//! The store half of [`super`] in a calibset built without the Cargo feature
//! `s3`: every request fails with [`RemoteError::NotBuilt`].

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::{Fetch, Gate, Listed, RemoteError};
use crate::source::{ReadError, Version};

fn not_built(url: &Path) -> RemoteError {
    RemoteError::NotBuilt {
        url: url.display().to_string(),
    }
}

/// See the `s3` build's `list`.
pub(crate) fn list(
    root: &Path,
    _keep: &dyn Fn(&str) -> bool,
    _cancel: &AtomicBool,
) -> Result<Listed, RemoteError> {
    Err(not_built(root))
}

/// See the `s3` build's `probe`.
pub(crate) fn probe(root: &Path) -> Result<bool, RemoteError> {
    Err(not_built(root))
}

/// See the `s3` build's `files_in`.
pub(crate) fn files_in(dir: &Path) -> Result<Vec<PathBuf>, RemoteError> {
    Err(not_built(dir))
}

/// See the `s3` build's `stat`.
pub(crate) fn stat(url: &Path) -> Result<Version, RemoteError> {
    Err(not_built(url))
}

/// See the `s3` build's `stat_all`.
pub(crate) fn stat_all(
    urls: &[PathBuf],
    _cancel: &AtomicBool,
) -> Option<Vec<Result<Version, RemoteError>>> {
    Some(urls.iter().map(|u| Err(not_built(u))).collect())
}

/// See the `s3` build's `read_bytes`.
pub(crate) fn read_bytes(url: &Path, _limit: u64) -> Result<Vec<u8>, ReadError> {
    Err(ReadError::Io(not_built(url).into_io()))
}

/// See the `s3` build's `fetch_all`: each object's read fails.
pub(crate) fn fetch_all(urls: Vec<PathBuf>, _limit: u64, _gate: Option<Arc<Gate>>) -> Fetched {
    let failed: Vec<Fetch> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| (i, Err(ReadError::Io(not_built(u).into_io()))))
        .collect();
    Fetched(Mutex::new(failed.into_iter()))
}

/// The results of [`fetch_all`], taken by any number of threads.
pub(crate) struct Fetched(Mutex<std::vec::IntoIter<Fetch>>);

impl Fetched {
    /// The next object's index and (failed) read; `None` once every object has
    /// been handed over.
    pub(crate) fn next(&self, _cancel: &AtomicBool) -> Option<Fetch> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).next()
    }
}
