//! Object-store roots: S3 and S3-compatible stores, read through the
//! `object_store` crate.
//!
//! An object goes by its URL, `s3://bucket/key`, kept in a `PathBuf`
//! ([`crate::paths::is_object_url`]); the rest of the source layer hands such
//! paths here, so no stage knows where its bytes come from.
//!
//! Credentials, region and endpoint come from the environment, as every AWS
//! tool reads them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL`, web identity and instance metadata); nothing is read
//! from the recipe. An `http://` endpoint (a local MinIO or moto) is allowed
//! without further flags. Requests are retried with exponential backoff;
//! listings are paginated by the store and streamed.
//!
//! The calls here block: they run on one small tokio runtime owned by this
//! module, so the rayon workers that measure images stay synchronous.
//! [`fetch_all`] reads many objects with bounded concurrency, in order.
//!
//! Without the Cargo feature `s3` (on by default) the store half is left out
//! ([`absent`]): every request fails with [`RemoteError::NotBuilt`], which
//! says how to get a calibset that reads object stores.

use std::path::PathBuf;

use super::{ReadError, Version};

#[cfg(not(feature = "s3"))]
mod absent;
#[cfg(feature = "s3")]
mod store;
#[cfg(not(feature = "s3"))]
use absent as store;

pub(crate) use store::{fetch_all, files_in, list, probe, read_bytes, stat, stat_all};

/// Objects fetched at once by [`fetch_all`] and by an export's copies.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
pub(crate) const CONCURRENCY: usize = 16;

/// Bytes of a large object read before [`fetch_all`]'s gate looks at them.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
pub(crate) const HEADER_BYTES: usize = 64 << 10;

/// A look at an object's first [`HEADER_BYTES`]: `Some(reason)` refuses it,
/// and the rest is not downloaded.
pub(crate) type Gate = dyn Fn(&[u8]) -> Option<String> + Send + Sync;

/// Why a listing or a read of an object store failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL has no bucket, or a key the store cannot name.
    #[error("{url}: not an object URL (write s3://bucket/prefix/)")]
    BadUrl {
        /// The URL as given.
        url: String,
    },
    /// The store could not be set up from the environment.
    #[error("{url}: cannot set up the object store: {message}")]
    Config {
        /// The bucket URL.
        url: String,
        /// The cause.
        message: String,
    },
    /// This calibset was built without the Cargo feature `s3`.
    #[error(
        "{url}: this calibset was built without object-store support (Cargo feature `s3`); \
         install one with it: cargo install --locked --path . (default features)"
    )]
    NotBuilt {
        /// The object or prefix.
        url: String,
    },
    /// The store refused or failed a request (after retries).
    #[error("{url}: {cause}")]
    Request {
        /// The object or prefix.
        url: String,
        /// What the store said, shortened: `access denied (403)`, `not found
        /// (404)`, `timed out`...
        cause: String,
        /// The kind of failure.
        kind: std::io::ErrorKind,
    },
}

/// Whether a failed request of kind `kind` says the store is not answering
/// (refused, timed out, reset, a server error after retries) rather than
/// something about the object itself (not found, access denied, a key the store
/// cannot name). An outage stops a build: skipping each object would build a
/// set from whatever happened to be read before it.
pub(crate) fn is_outage(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind;
    !matches!(
        kind,
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::InvalidInput
    )
}

impl RemoteError {
    /// The kind of a failed request (`Unsupported` when the store half is not
    /// built in, `None` for a bad URL or set-up).
    pub fn kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            RemoteError::Request { kind, .. } => Some(*kind),
            RemoteError::NotBuilt { .. } => Some(std::io::ErrorKind::Unsupported),
            _ => None,
        }
    }

    /// The error as an [`std::io::Error`] of the matching kind.
    pub fn into_io(self) -> std::io::Error {
        let kind = match &self {
            RemoteError::Request { kind, .. } => *kind,
            // Like an outage, it stops a build: no object can be read.
            RemoteError::NotBuilt { .. } => std::io::ErrorKind::Unsupported,
            _ => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, self.to_string())
    }
}

/// The objects under a prefix that [`list`] kept, and how many it saw.
pub(crate) struct Listed {
    /// The kept objects' URLs and versions, in the store's order (by key).
    pub objects: Vec<(PathBuf, Version)>,
    /// Objects under the prefix, kept or not.
    pub seen: usize,
}

/// One object read by [`fetch_all`]: its index in the list, and its bytes.
pub(crate) type Fetch = (usize, Result<Vec<u8>, ReadError>);
