//! Measuring the pool: every image's features, from the feature cache when it
//! still describes the file, else decoded once, in parallel.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::InventoryError;
use crate::cache::{Cache, CacheWarning, Lookup, Measured};
use crate::decode::Limits;
use crate::feature_index::FeatureIndex;
use crate::features;
use crate::progress::{Progress, Stage};
use crate::source::FileEntry;

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
    pub fn open(
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
    pub fn record(&mut self, file: &FileEntry, measured: &Measured, origin: Origin) {
        if origin != Origin::Cache {
            let k = self.of(file);
            self.caches[k].insert(file, measured.clone());
        }
    }

    /// Drops entries of files not in `seen` (with `None`, keeps them: a run
    /// that saw part of the pool) and writes every cache that changed.
    pub fn save(
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
pub(super) fn measure_all(
    files: &[&FileEntry],
    caches: &Caches,
    index: Option<&FeatureIndex>,
    limits: &Limits,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Vec<(Measured, Origin)>, InventoryError> {
    progress.start(Stage::Measure, Some(files.len() as u64));
    let measured: Option<Vec<_>> = files
        .par_iter()
        .map(|file| {
            crate::cancel::check(cancel).ok()?;
            let out = measure_one(file, &caches.caches[caches.of(file)], index, limits);
            progress.advance(1);
            Some(out)
        })
        .collect();
    progress.finish();
    measured.ok_or(InventoryError::Interrupted)
}

/// Measures one file, from the cache or the index when one still describes
/// the file.
fn measure_one(
    file: &FileEntry,
    cache: &Cache,
    index: Option<&FeatureIndex>,
    limits: &Limits,
) -> (Measured, Origin) {
    let from_index = || index.map_or(Lookup::Miss, |i| i.lookup(file));
    let cached = match (cache.lookup(file), from_index()) {
        (Lookup::Hit(m), _) => return (m.clone(), Origin::Cache),
        (_, Lookup::Hit(m)) => return (m.clone(), Origin::Index),
        (_, Lookup::Verify(m)) => Some((m, Origin::Index)),
        (Lookup::Verify(m), _) => Some((m, Origin::Verified)),
        (Lookup::Miss, Lookup::Miss) => None,
    };
    let failed = |issue| Measured {
        result: Err(issue),
        mislabelled: false,
    };
    let bytes = match features::read(&file.path, limits) {
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
