//! The store half of [`super`]: requests through `object_store` on one small
//! tokio runtime.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig,
};

use super::{CONCURRENCY, Fetch, Gate, HEADER_BYTES, Listed, RemoteError};
use crate::paths::OBJECT_SCHEME;
use crate::source::{ReadError, Version};

/// An object's place: its bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    bucket: String,
    key: String,
}

impl Location {
    /// The bucket and key of `url` (`s3://bucket/key`, as a path).
    fn of(url: &Path) -> Result<Self, RemoteError> {
        let bad = || RemoteError::BadUrl {
            url: url.display().to_string(),
        };
        let mut parts = url.components();
        match parts.next() {
            Some(Component::Normal(s)) if s == OBJECT_SCHEME => {}
            _ => return Err(bad()),
        }
        let bucket = match parts.next() {
            Some(Component::Normal(b)) => b.to_str().ok_or_else(bad)?.to_owned(),
            _ => return Err(bad()),
        };
        let mut segments = Vec::new();
        for c in parts {
            match c {
                Component::Normal(s) => segments.push(s.to_str().ok_or_else(bad)?),
                _ => return Err(bad()),
            }
        }
        Ok(Location {
            bucket,
            key: segments.join("/"),
        })
    }

    fn key(&self) -> Result<Key, RemoteError> {
        Key::parse(&self.key).map_err(|e| RemoteError::BadUrl {
            url: format!("{}: {e}", self.url().display()),
        })
    }

    fn url(&self) -> PathBuf {
        object_url(&self.bucket, &self.key)
    }
}

/// The URL path of `key` in `bucket`.
fn object_url(bucket: &str, key: &str) -> PathBuf {
    if key.is_empty() {
        PathBuf::from(format!("{OBJECT_SCHEME}//{bucket}"))
    } else {
        PathBuf::from(format!("{OBJECT_SCHEME}//{bucket}/{key}"))
    }
}

/// An object or prefix resolved for a request: where it is, its bucket's
/// store, and its key.
struct Target {
    at: Location,
    store: Arc<dyn ObjectStore>,
    key: Key,
}

impl Target {
    /// Resolves `url`, setting up its bucket's store on first use.
    fn open(url: &Path) -> Result<Self, RemoteError> {
        let at = Location::of(url)?;
        let store = store(&at.bucket)?;
        let key = at.key()?;
        Ok(Target { at, store, key })
    }

    /// The key as a listing prefix: `None` for a whole bucket.
    fn prefix(&self) -> Option<&Key> {
        (!self.at.key.is_empty()).then_some(&self.key)
    }
}

/// The runtime the blocking calls run on, and one client per bucket.
struct Client {
    runtime: tokio::runtime::Runtime,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

static CLIENT: LazyLock<Client> = LazyLock::new(|| Client {
    runtime: tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("calibset-io")
        .enable_all()
        .build()
        .expect("the I/O runtime starts"),
    stores: Mutex::new(HashMap::new()),
});

/// The store of `bucket`, set up from the environment on first use.
fn store(bucket: &str) -> Result<Arc<dyn ObjectStore>, RemoteError> {
    let mut stores = CLIENT.stores.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = stores.get(bucket) {
        return Ok(Arc::clone(s));
    }
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: 4,
            retry_timeout: Duration::from_secs(60),
        });
    if builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|e| e.starts_with("http://"))
    {
        builder = builder.with_allow_http(true);
    }
    let built: Arc<dyn ObjectStore> =
        Arc::new(builder.build().map_err(|e| RemoteError::Config {
            url: object_url(bucket, "").display().to_string(),
            message: e.to_string(),
        })?);
    stores.insert(bucket.to_owned(), Arc::clone(&built));
    Ok(built)
}

/// A store error as a [`RemoteError`] naming `url` and the cause: the HTTP
/// status and the store's error code and message when it answered, else what
/// failed (a timeout, a refused connection).
fn request_error(url: &Path, e: object_store::Error) -> RemoteError {
    use std::io::ErrorKind;
    let text = short(&e);
    // With no credentials in the environment, the client asks the instance
    // metadata service for some; its refusal is not the store's.
    if text.contains("169.254.169.254") || text.contains("169.254.170.2") {
        return RemoteError::Request {
            url: url.display().to_string(),
            cause: format!(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (none are in the environment, and the instance metadata service gave none: {text})"
            ),
            kind: ErrorKind::PermissionDenied,
        };
    }
    let status = status_of(&text);
    let kind = match (&e, status) {
        (object_store::Error::NotFound { .. }, _) | (_, Some(404)) => ErrorKind::NotFound,
        (object_store::Error::PermissionDenied { .. }, _)
        | (object_store::Error::Unauthenticated { .. }, _)
        | (_, Some(401 | 403)) => ErrorKind::PermissionDenied,
        // Checked before timeouts: a refused connection's message names the
        // retry policy's `retry_timeout`.
        _ if text.contains("Connection refused") => ErrorKind::ConnectionRefused,
        _ if text.contains("timed out") || text.contains("deadline has elapsed") => {
            ErrorKind::TimedOut
        }
        _ => ErrorKind::Other,
    };
    let code = between(&text, "<Code>", "</Code>");
    let message = between(&text, "<Message>", "</Message>");
    let mut cause = match (kind, status) {
        (ErrorKind::NotFound, _) => "not found (404)".to_owned(),
        (ErrorKind::PermissionDenied, Some(s)) => format!("access denied ({s})"),
        (ErrorKind::PermissionDenied, None) => "access denied".to_owned(),
        (ErrorKind::TimedOut, _) => "timed out".to_owned(),
        (ErrorKind::ConnectionRefused, _) => "connection refused".to_owned(),
        (_, Some(s)) => format!("the store answered {s}"),
        (_, None) => text.clone(),
    };
    if kind != ErrorKind::NotFound {
        match (code, message) {
            (Some(c), Some(m)) => cause = format!("{cause}: {c}: {m}"),
            (Some(c), None) => cause = format!("{cause}: {c}"),
            _ if status.is_some()
                || matches!(kind, ErrorKind::TimedOut | ErrorKind::ConnectionRefused) =>
            {
                cause = format!("{cause} ({text})");
            }
            _ => {}
        }
    }
    if kind == ErrorKind::PermissionDenied
        && code.is_some_and(|c| c.contains("AccessKey") || c.contains("Signature"))
    {
        cause.push_str(" (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
    RemoteError::Request {
        url: url.display().to_string(),
        cause,
        kind,
    }
}

/// A store error and its causes, on one line.
fn short(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let t = s.to_string();
        if !t.is_empty() && !text.contains(&t) {
            text = format!("{text}: {t}");
        }
        source = s.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The HTTP status in an error text (`... status code: 403 Forbidden ...`).
fn status_of(text: &str) -> Option<u16> {
    let rest = &text[text.find("status code: ")? + "status code: ".len()..];
    rest.get(..3)?.parse().ok()
}

/// The text between the first `open` and the `close` after it.
fn between<'t>(text: &'t str, open: &str, close: &str) -> Option<&'t str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(text[start..start + len].trim()).filter(|s| !s.is_empty())
}

/// The [`Version`] of an object: size, last-modified time, ETag and version.
fn version_of(meta: &ObjectMeta) -> Version {
    let mut tag = blake3::Hasher::new();
    tag.update(meta.e_tag.as_deref().unwrap_or_default().as_bytes());
    tag.update(b"\0");
    tag.update(meta.version.as_deref().unwrap_or_default().as_bytes());
    let tag = u64::from_le_bytes(tag.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    Version {
        size: meta.size,
        modified_ns: meta
            .last_modified
            .timestamp_nanos_opt()
            .map_or(0, i128::from),
        tag,
    }
}

/// Every object under the prefix `root` (a folder-like URL), with its
/// [`Version`]. `keep` sees each key relative to the prefix and says whether
/// to list it; `cancel` is looked at for every object.
pub(crate) fn list(
    root: &Path,
    keep: &dyn Fn(&str) -> bool,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Listed, RemoteError> {
    let target = Target::open(root)?;
    let at = &target.at;
    let url = at.url();
    CLIENT.runtime.block_on(async {
        let mut listed = Listed {
            objects: Vec::new(),
            seen: 0,
        };
        let mut stream = target.store.list(target.prefix());
        while let Some(meta) = stream.next().await {
            if crate::cancel::check(cancel).is_err() {
                break;
            }
            let meta = meta.map_err(|e| request_error(&url, e))?;
            listed.seen += 1;
            let key = meta.location.as_ref();
            let inner = if at.key.is_empty() {
                key
            } else {
                key.strip_prefix(at.key.as_str())
                    .and_then(|k| k.strip_prefix('/'))
                    .unwrap_or(key)
            };
            if keep(inner) {
                listed
                    .objects
                    .push((object_url(&at.bucket, key), version_of(&meta)));
            }
        }
        Ok(listed)
    })
}

/// Whether the prefix `root` can be listed and holds at least one object (one
/// LIST request): what `calibset check` asks of an object-store root.
pub(crate) fn probe(root: &Path) -> Result<bool, RemoteError> {
    let target = Target::open(root)?;
    CLIENT.runtime.block_on(async {
        match target.store.list(target.prefix()).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(request_error(&target.at.url(), e)),
        }
    })
}

/// The objects directly under the prefix `dir` (not recursive), sorted.
pub(crate) fn files_in(dir: &Path) -> Result<Vec<PathBuf>, RemoteError> {
    let target = Target::open(dir)?;
    let listed = CLIENT
        .runtime
        .block_on(target.store.list_with_delimiter(target.prefix()))
        .map_err(|e| request_error(&target.at.url(), e))?;
    let mut files: Vec<PathBuf> = listed
        .objects
        .iter()
        .map(|m| object_url(&target.at.bucket, m.location.as_ref()))
        .collect();
    files.sort();
    Ok(files)
}

/// The [`Version`] of the object at `url` (one HEAD request).
pub(crate) fn stat(url: &Path) -> Result<Version, RemoteError> {
    let target = Target::open(url)?;
    CLIENT
        .runtime
        .block_on(target.store.head(&target.key))
        .map(|m| version_of(&m))
        .map_err(|e| request_error(url, e))
}

/// The [`Version`] of every object of `urls`, in order, as a listing gives it
/// (HEAD requests, [`CONCURRENCY`] at a time; the version id a versioned
/// bucket adds to a HEAD answer is left out, as listings leave it out).
/// `None` when `cancel` is set, looked at every 100 ms while waiting.
pub(crate) fn stat_all(
    urls: &[PathBuf],
    cancel: &std::sync::atomic::AtomicBool,
) -> Option<Vec<Result<Version, RemoteError>>> {
    let heads = futures::stream::iter(urls)
        .map(|url| async move {
            let target = Target::open(url)?;
            let mut meta = target
                .store
                .head(&target.key)
                .await
                .map_err(|e| request_error(url, e))?;
            meta.version = None;
            Ok(version_of(&meta))
        })
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>();
    CLIENT.runtime.block_on(async {
        let mut heads = std::pin::pin!(heads);
        loop {
            crate::cancel::check(cancel).ok()?;
            if let Ok(done) = tokio::time::timeout(Duration::from_millis(100), heads.as_mut()).await
            {
                return Some(done);
            }
        }
    })
}

/// Reads the object at `url` if it holds at most `limit` bytes. The size comes
/// with the response's headers: a larger object is refused before its body is
/// read.
pub(crate) fn read_bytes(url: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    CLIENT.runtime.block_on(get(url, limit, None))
}

/// One GET of the whole object, refused over `limit`, or by `gate` from its
/// first bytes.
async fn get(url: &Path, limit: u64, gate: Option<&Gate>) -> Result<Vec<u8>, ReadError> {
    let failed = |e: RemoteError| ReadError::Io(e.into_io());
    let target = Target::open(url).map_err(failed)?;
    let result = target
        .store
        .get_opts(&target.key, GetOptions::default())
        .await
        .map_err(|e| failed(request_error(url, e)))?;
    if result.meta.size > limit {
        return Err(ReadError::TooLarge {
            size: result.meta.size,
            limit,
        });
    }
    let size = result.meta.size;
    let mut body = result.into_stream();
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut gate = gate.filter(|_| size > HEADER_BYTES as u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| failed(request_error(url, e)))?;
        bytes.extend_from_slice(&chunk);
        if let Some(look) = gate
            && bytes.len() >= HEADER_BYTES
        {
            if let Some(reason) = look(&bytes) {
                // Dropping the body closes the connection: the rest is not read.
                return Err(ReadError::Refused(reason));
            }
            gate = None;
        }
    }
    Ok(bytes)
}

/// Reads every object of `urls` (each of at most `limit` bytes, and passed by
/// `gate` when given), at most [`CONCURRENCY`] at a time, and hands each
/// result over in the order of `urls` with its index. At most [`CONCURRENCY`]
/// results wait to be taken: reading waits for the caller. Dropping the
/// [`Fetched`] stops the reads.
pub(crate) fn fetch_all(urls: Vec<PathBuf>, limit: u64, gate: Option<Arc<Gate>>) -> Fetched {
    let (tx, rx) = tokio::sync::mpsc::channel(CONCURRENCY);
    CLIENT.runtime.spawn(async move {
        let gate = gate.as_deref();
        let mut reads = futures::stream::iter(urls.into_iter().enumerate())
            .map(|(i, url)| async move { (i, get(&url, limit, gate).await) })
            .buffered(CONCURRENCY);
        while let Some(read) = reads.next().await {
            if tx.send(read).await.is_err() {
                break;
            }
        }
    });
    Fetched(Mutex::new(rx))
}

/// The results of [`fetch_all`], taken by any number of threads.
pub(crate) struct Fetched(Mutex<tokio::sync::mpsc::Receiver<Fetch>>);

impl Fetched {
    /// The next object's index in `urls` and bytes, waiting for it; `None`
    /// once every object has been handed over, or when `cancel` is set (looked
    /// at every 100 ms while waiting, so a slow store does not hold up Ctrl-C).
    pub(crate) fn next(&self, cancel: &std::sync::atomic::AtomicBool) -> Option<Fetch> {
        let mut rx = self.0.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            crate::cancel::check(cancel).ok()?;
            // The timer is made inside the runtime, which drives it.
            let wait = async { tokio::time::timeout(Duration::from_millis(100), rx.recv()).await };
            if let Ok(next) = CLIENT.runtime.block_on(wait) {
                return next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_key() {
        let at = Location::of(Path::new("s3://pool/frames/cam 1/0001.jpg")).unwrap();
        assert_eq!(at.bucket, "pool");
        assert_eq!(at.key, "frames/cam 1/0001.jpg");
        assert_eq!(at.url(), Path::new("s3://pool/frames/cam 1/0001.jpg"));
        let root = Location::of(Path::new("s3://pool")).unwrap();
        assert_eq!(root.key, "");
        assert!(Location::of(Path::new("/data/pool")).is_err());
        assert!(Location::of(Path::new("s3:")).is_err());
    }

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(std::io::Error::other(text.to_owned())),
        }
    }

    #[test]
    fn errors_name_the_object_the_status_and_the_store_code() {
        let url = Path::new("s3://pool/frames");
        let e = request_error(
            url,
            generic(
                "Error performing list request: Server returned non-2xx status code: 403 Forbidden: \
                 <?xml version=\"1.0\"?><Error><Code>InvalidAccessKeyId</Code>\
                 <Message>No such key id.</Message></Error>",
            ),
        );
        assert_eq!(
            e.to_string(),
            "s3://pool/frames: access denied (403): InvalidAccessKeyId: No such key id. \
             (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        );
        assert_eq!(e.into_io().kind(), std::io::ErrorKind::PermissionDenied);
        let e = request_error(
            url,
            generic("Server returned non-2xx status code: 404 Not Found"),
        );
        assert_eq!(e.to_string(), "s3://pool/frames: not found (404)");
        let e = request_error(url, generic("error sending request: operation timed out"));
        assert_eq!(e.into_io().kind(), std::io::ErrorKind::TimedOut);
        let e = request_error(
            url,
            generic("Server returned non-2xx status code: 503 Slow Down"),
        );
        assert!(
            e.to_string()
                .starts_with("s3://pool/frames: the store answered 503 ("),
            "{e}"
        );
    }

    #[test]
    fn versions_change_with_the_etag() {
        let meta = |etag: &str| ObjectMeta {
            location: Key::from("a.jpg"),
            last_modified: chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap(),
            size: 10,
            e_tag: Some(etag.to_owned()),
            version: None,
        };
        let (a, b) = (version_of(&meta("\"1\"")), version_of(&meta("\"2\"")));
        assert_eq!((a.size, a.modified_ns), (10, 1_700_000_000_000_000_005));
        assert_ne!(a.tag, b.tag);
        assert_eq!(a, version_of(&meta("\"1\"")));
    }
}
