//! Measuring the pool: every image's features, from the feature cache when it
//! still describes the file, else decoded once, in parallel.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::InventoryError;
use crate::cache::{Cache, CacheWarning, Lookup, Measured};
use crate::decode::Limits;
use crate::feature_index::FeatureIndex;
use crate::features::{self, ImageIssue};
use crate::progress::{Progress, Stage};
use crate::source::{self, FileEntry};

/// Where a measurement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// The cache, by path and version.
    Cache,
    /// The cache, after the file's content hash matched (only the mtime moved).
    Verified,
    /// The feature index (by version, or after the content hash matched).
    Index,
    /// Decoded in this run.
    Decoded,
}

/// The feature caches of a run: one per root; a file belongs to the first root
/// that holds it, a video frame to its video's.
pub(super) struct Caches {
    roots: Vec<std::path::PathBuf>,
    caches: Vec<Cache>,
}

impl Caches {
    /// Opens the caches of `roots` under `dir` (`None`: no cache); damaged files
    /// become warnings.
    pub(super) fn open(
        dir: Option<&Path>,
        roots: &[std::path::PathBuf],
        warnings: &mut Vec<String>,
    ) -> Self {
        let caches = roots
            .iter()
            .map(|root| match dir {
                Some(dir) => {
                    let (cache, warning) = Cache::open(dir, root);
                    warnings.extend(warning.map(|w| w.to_string()));
                    cache
                }
                None => Cache::disabled(),
            })
            .collect();
        Caches {
            roots: roots.to_vec(),
            caches,
        }
    }

    fn of(&self, file: &FileEntry) -> usize {
        let p = file.frame_of.as_ref().map_or(&file.path, |f| &f.video);
        self.roots
            .iter()
            .position(|r| p.starts_with(r))
            .unwrap_or(0)
    }

    /// Records what was measured this run (not what came from the cache as is).
    pub(super) fn record(&mut self, file: &FileEntry, measured: &Measured, origin: Origin) {
        if origin != Origin::Cache {
            let k = self.of(file);
            self.caches[k].insert(file, measured.clone());
        }
    }

    /// Drops entries of files not in `seen` (with `None`, keeps them: a run
    /// that saw part of the pool) and writes every cache that changed.
    pub(super) fn save(
        &mut self,
        seen: Option<&std::collections::HashSet<&Path>>,
        warnings: &mut Vec<String>,
    ) {
        for cache in &mut self.caches {
            if let Some(seen) = seen {
                cache.retain_seen(seen);
            }
            if let Err(w) = cache.save() {
                warnings.push(CacheWarning::to_string(&w));
            }
        }
    }
}

/// Measures `files` in parallel (through `caches`, then `index`), looking at
/// `cancel` for every file.
///
/// A local file is read by the worker that measures it. Objects in an object
/// store are fetched ahead, many at a time and in order
/// ([`source::remote::fetch_all`]), and the workers measure them as they
/// arrive; an object the cache or the index describes is not fetched at all.
pub(super) fn measure_all(
    files: &[&FileEntry],
    caches: &Caches,
    index: Option<&FeatureIndex>,
    limits: &Limits,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Vec<(Measured, Origin)>, InventoryError> {
    progress.start(Stage::Measure, Some(files.len() as u64));
    let looked: Vec<Looked<'_>> = files
        .par_iter()
        .map(|file| look_up(file, &caches.caches[caches.of(file)], index))
        .collect();
    let mut out: Vec<Option<(Measured, Origin)>> = Vec::with_capacity(files.len());
    let mut remote = Vec::new();
    for (i, l) in looked.iter().enumerate() {
        match l {
            Looked::Known(m, origin) => {
                out.push(Some(((*m).clone(), *origin)));
                progress.advance(1);
            }
            Looked::Read(_) if files[i].location().read_ahead() => {
                out.push(None);
                remote.push(i);
            }
            Looked::Read(_) => out.push(None),
        }
    }
    let finish = |i: usize, bytes| {
        let Looked::Read(cached) = looked[i] else {
            unreachable!("only unknown files are read")
        };
        let measured = measure_bytes(files[i], bytes, cached, limits);
        progress.advance(1);
        (i, measured)
    };
    let local: Option<Vec<_>> = out
        .par_iter()
        .enumerate()
        .filter(|(i, o)| o.is_none() && !files[*i].location().read_ahead())
        .map(|(i, _)| {
            crate::cancel::check(cancel).ok()?;
            Some(finish(i, features::read(&files[i].path, limits)))
        })
        .collect();
    let fetched = fetch_and_measure(files, &remote, limits, cancel, &finish);
    progress.finish();
    let fetched = match fetched {
        Err(Fetching::Outage(e)) => return Err(InventoryError::Store(e)),
        Err(Fetching::Interrupted) => None,
        Ok(done) => Some(done),
    };
    for (i, m) in local.into_iter().chain(fetched).flatten() {
        out[i] = Some(m);
    }
    crate::cancel::check(cancel).map_err(|_| InventoryError::Interrupted)?;
    Ok(out
        .into_iter()
        .map(|m| m.expect("every file is measured"))
        .collect())
}

/// One file measured: its index, the measurement and where it came from.
type Done = (usize, (Measured, Origin));

/// Why fetching the objects stopped.
enum Fetching {
    /// The store stopped answering: the first such error.
    Outage(std::io::Error),
    /// Ctrl-C or a termination signal.
    Interrupted,
}

/// Fetches the objects `files[i]` for `i` in `which` ahead of the workers,
/// which measure them with `finish` as they arrive. An object the store
/// answers for (not found, access denied) is a skipped file; a store that
/// stops answering stops it all, with its first error.
fn fetch_and_measure<F>(
    files: &[&FileEntry],
    which: &[usize],
    limits: &Limits,
    cancel: &AtomicBool,
    finish: &F,
) -> Result<Vec<Done>, Fetching>
where
    F: Fn(usize, Result<Vec<u8>, ImageIssue>) -> Done + Sync,
{
    if which.is_empty() {
        return Ok(Vec::new());
    }
    let urls = which.iter().map(|&i| files[i].path.clone()).collect();
    // An image whose header declares too many pixels is refused from its
    // first bytes; the rest is not downloaded.
    let header_limits = *limits;
    let gate: Arc<source::remote::Gate> = Arc::new(move |prefix: &[u8]| {
        crate::decode::refused_by_header(prefix, &header_limits).map(|p| p.to_string())
    });
    let fetched = source::remote::fetch_all(urls, limits.max_file_bytes(), Some(gate));
    let workers = rayon::current_num_threads().min(which.len());
    // Set on the first outage, so the other workers stop taking objects.
    let down = AtomicBool::new(false);
    let outage = std::sync::Mutex::new(None);
    let measured: Vec<Vec<_>> = (0..workers)
        .into_par_iter()
        .map(|_| {
            let mut done = Vec::new();
            while !down.load(std::sync::atomic::Ordering::Relaxed)
                && let Some((k, read)) = fetched.next(cancel)
            {
                match read {
                    Err(source::ReadError::Io(e)) if source::remote::is_outage(e.kind()) => {
                        down.store(true, std::sync::atomic::Ordering::Relaxed);
                        let mut first = outage.lock().unwrap_or_else(|e| e.into_inner());
                        // The earliest object in the list, whichever worker saw it.
                        if first.as_ref().is_none_or(|(j, _)| k < *j) {
                            *first = Some((k, e));
                        }
                    }
                    read => done.push(finish(which[k], read.map_err(features::read_issue))),
                }
            }
            done
        })
        .collect();
    if let Some((_, e)) = outage.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(Fetching::Outage(e));
    }
    crate::cancel::check(cancel).map_err(|_| Fetching::Interrupted)?;
    Ok(measured.into_iter().flatten().collect())
}

/// What the cache and the index know of a file before it is read.
enum Looked<'a> {
    /// A measurement that still describes the file: nothing to read.
    Known(&'a Measured, Origin),
    /// The file must be read; a measurement to reuse if its content hash
    /// still matches.
    Read(Option<(&'a Measured, Origin)>),
}

/// Looks `file` up in the cache, then the index.
fn look_up<'a>(file: &FileEntry, cache: &'a Cache, index: Option<&'a FeatureIndex>) -> Looked<'a> {
    let from_index = || index.map_or(Lookup::Miss, |i| i.lookup(file));
    match (cache.lookup(file), from_index()) {
        (Lookup::Hit(m), _) => Looked::Known(m, Origin::Cache),
        (_, Lookup::Hit(m)) => Looked::Known(m, Origin::Index),
        (_, Lookup::Verify(m)) => Looked::Read(Some((m, Origin::Index))),
        (Lookup::Verify(m), _) => Looked::Read(Some((m, Origin::Verified))),
        (Lookup::Miss, Lookup::Miss) => Looked::Read(None),
    }
}

/// Measures one file from its bytes (or the reason they could not be read),
/// reusing `cached` when its content hash matches the bytes.
fn measure_bytes(
    file: &FileEntry,
    bytes: Result<Vec<u8>, ImageIssue>,
    cached: Option<(&Measured, Origin)>,
    limits: &Limits,
) -> (Measured, Origin) {
    let failed = |issue| Measured {
        result: Err(issue),
        mislabelled: false,
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(issue) => return (failed(issue), Origin::Decoded),
    };
    if let Some((m @ Measured { result: Ok(f), .. }, origin)) = cached
        && f.describes(&bytes)
    {
        return (m.clone(), origin);
    }
    let measured = match features::measure(&bytes, &file.path, limits) {
        Ok((f, notes)) => Measured {
            result: Ok(f),
            mislabelled: notes.mislabelled,
        },
        Err(issue) => failed(issue),
    };
    (measured, Origin::Decoded)
}
