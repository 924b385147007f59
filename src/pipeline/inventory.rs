//! Reading the pool: scan, extract video frames, label, measure (with the cache).

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::{BuildError, PlanOptions};
use crate::annotations::Annotations;
use crate::bucket::Labeller;
use crate::cache::{Cache, CacheWarning, Lookup, Measured};
use crate::features::{self, ImageIssue};
use crate::manifest::Manifest;
use crate::paths;
use crate::pool::PoolImage;
use crate::progress::{Progress, Stage};
use crate::recipe::Recipe;
use crate::report::{Issue, MeasureSummary, PoolSummary};
use crate::source::{self, FileEntry, FrameOf};
use crate::video::{self, VideoError};

/// The pool as read from disk, before de-duplication.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Usable, bucketed images in path order.
    pub images: Vec<PoolImage>,
    /// Counts and skipped files.
    pub summary: PoolSummary,
    /// Cache use.
    pub measure: MeasureSummary,
    /// Non-fatal warnings.
    pub warnings: Vec<String>,
    /// Video frames extracted for this run only (no cache): kept until dropped.
    pub frame_dir: Option<tempfile::TempDir>,
}

/// Frames extracted from videos, and the videos that could not be read.
type Extracted = (Vec<FileEntry>, Vec<(String, VideoError)>);

/// Extracts frames from `videos` (one every `recipe.sequences.every`, default
/// 1 s) into `dir`; returns them as files, plus per-video problems.
fn extract_frames(
    recipe: &Recipe,
    videos: &[FileEntry],
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Extracted, BuildError> {
    let ffmpeg = video::find_ffmpeg(recipe.ffmpeg.as_deref())?;
    let every = recipe.sequences.every.unwrap_or(1.0);
    progress.start(Stage::Extract, Some(videos.len() as u64));
    let results: Vec<_> = videos
        .par_iter()
        .map(|v| {
            let r = video::extract(&ffmpeg, &v.path, every, dir);
            progress.advance(1);
            (v, r)
        })
        .collect();
    progress.finish();
    let mut frames = Vec::new();
    let mut problems = Vec::new();
    for (v, result) in results {
        match result {
            Ok(list) => {
                for f in list {
                    let version = source::stat(&f.path).map_err(|source| {
                        BuildError::Video(VideoError::Io {
                            path: f.path.clone(),
                            source,
                        })
                    })?;
                    frames.push(FileEntry {
                        rel: format!("{}/{:06}.jpg", v.rel, f.index),
                        path: f.path,
                        version,
                        frame_of: Some(FrameOf {
                            video: v.path.clone(),
                            video_rel: v.rel.clone(),
                            time: f.time,
                        }),
                    });
                }
            }
            Err(e) if e.is_video_fault() => problems.push((v.rel.clone(), e)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok((frames, problems))
}

/// Scans, labels and measures the recipe's pool.
pub fn inventory(
    recipe: &Recipe,
    opts: &PlanOptions<'_>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Inventory, BuildError> {
    let (cache_dir, save_cache) = (opts.cache_dir, opts.save_cache);
    let mut inv = Inventory::default();
    progress.start(Stage::Scan, None);
    let scan = source::scan(
        &recipe.sources.roots,
        &recipe.base_dir,
        &recipe.sources.exclude,
        source::Walk {
            follow_symlinks: recipe.sources.follow_symlinks,
            allow_outside: recipe.sources.allow_outside,
        },
        cancel,
    );
    progress.finish();
    let scan = scan?;
    // Only the rows of files that exist are kept; the others are counted.
    let manifest = match recipe.sources.manifest.as_deref() {
        Some(m) => {
            let found: HashSet<&Path> = scan
                .files
                .iter()
                .chain(&scan.videos)
                .map(|f| f.path.as_path())
                .collect();
            Some(Manifest::load_for(m, recipe.sources.allow_outside, &found)?)
        }
        None => None,
    };
    let rel = |p: &Path| paths::slash(&paths::relative(p, &recipe.base_dir));
    let mut files = scan.files.clone();
    if !scan.videos.is_empty() {
        let dir = match cache_dir {
            Some(d) if save_cache => d.join("frames"),
            _ => {
                let t = tempfile::tempdir().map_err(|source| {
                    BuildError::Video(VideoError::Io {
                        path: std::env::temp_dir(),
                        source,
                    })
                })?;
                let p = t.path().to_owned();
                inv.frame_dir = Some(t);
                p
            }
        };
        let (frames, problems) = extract_frames(recipe, &scan.videos, &dir, progress)?;
        if cancel.load(Ordering::Relaxed) {
            return Err(BuildError::Interrupted);
        }
        inv.summary.videos = scan.videos.len();
        inv.summary.video_frames = frames.len();
        for (video, e) in problems {
            inv.summary.issues.push(Issue {
                path: video,
                kind: "video",
                message: format!("{e:#}"),
            });
        }
        files.extend(frames);
    }
    let s = &mut inv.summary;
    s.scanned = scan.files.len();
    s.excluded = scan.excluded;
    s.symlinks_skipped = scan.symlinks_skipped;
    if scan.symlinks_skipped > 0 {
        inv.warnings.push(format!(
            "{} symlinked image(s) or video(s) were not read; set `follow_symlinks = true` under [sources] to read them",
            scan.symlinks_skipped
        ));
    }
    for w in &scan.issues {
        s.issues.push(Issue {
            path: rel(&w.path),
            kind: "walk",
            message: w.message.clone(),
        });
    }
    if let Some(m) = &manifest {
        let (count, examples) = m.missing();
        s.missing = count;
        for missing in examples {
            s.issues.push(Issue {
                path: rel(missing),
                kind: "missing",
                message: format!(
                    "listed in {} but not found under the roots",
                    m.path().display()
                ),
            });
        }
    }

    let annotations = match &recipe.annotations {
        Some(spec) => {
            let paths: Vec<&Path> = scan.files.iter().map(|f| f.path.as_path()).collect();
            let (a, issues) = Annotations::load(spec, &paths)?;
            for i in issues {
                s.issues.push(Issue {
                    path: rel(&i.path),
                    kind: "annotation",
                    message: i.message,
                });
            }
            Some(a)
        }
        None => None,
    };
    let labeller = Labeller::new(recipe.label_rules(), manifest.as_ref())
        .with_annotations(annotations.as_ref());
    // Rules with `when` need measurements, so then every file is measured first.
    let measure_all = recipe.rules.iter().any(|r| !r.when.is_empty());
    let mut todo = Vec::new();
    for file in &files {
        let labels = label(&labeller, file, None);
        if labels.bucket.is_some() || measure_all || opts.keep_unbucketed {
            todo.push((file, labels));
        } else {
            s.note_unbucketed(&file.rel);
        }
    }

    // One cache per root; every file belongs to the first root that holds it.
    let mut caches: Vec<Cache> = recipe
        .sources
        .roots
        .iter()
        .map(|root| match cache_dir {
            Some(dir) => {
                let (cache, warning) = Cache::open(dir, root);
                inv.warnings.extend(warning.map(|w| w.to_string()));
                cache
            }
            None => Cache::disabled(),
        })
        .collect();
    // A video frame belongs with its video.
    let root_of = |file: &FileEntry| {
        let p = file.frame_of.as_ref().map_or(&file.path, |f| &f.video);
        recipe
            .sources
            .roots
            .iter()
            .position(|r| p.starts_with(r))
            .unwrap_or(0)
    };

    progress.start(Stage::Measure, Some(todo.len() as u64));
    let measured: Vec<(Measured, Source)> = todo
        .par_iter()
        .map(|(file, _)| {
            if cancel.load(Ordering::Relaxed) {
                return (
                    Measured {
                        result: Err(ImageIssue::Io("interrupted".into())),
                        mislabelled: false,
                    },
                    Source::Decoded,
                );
            }
            let out = measure_one(file, &caches[root_of(file)], &recipe.limits);
            progress.advance(1);
            out
        })
        .collect();
    progress.finish();
    if cancel.load(Ordering::Relaxed) {
        return Err(BuildError::Interrupted);
    }

    for ((file, mut labels), (m, source)) in todo.into_iter().zip(measured) {
        match source {
            Source::Cache => inv.measure.from_cache += 1,
            Source::Verified => inv.measure.from_cache += 1,
            Source::Decoded => inv.measure.decoded += 1,
        }
        if source != Source::Cache {
            caches[root_of(file)].insert(file, m.clone());
        }
        if m.mislabelled && m.result.is_ok() {
            inv.summary.mislabelled.push(file.rel.clone());
        }
        match m.result {
            Ok(features) => {
                if measure_all {
                    labels = label(&labeller, file, Some(&features.quality));
                } else {
                    labeller.add_measured(&mut labels, &features.quality);
                }
                match labels.bucket {
                    Some(bucket) => inv.summary.usable[bucket] += 1,
                    None if opts.keep_unbucketed => inv.summary.note_unbucketed(&file.rel),
                    None => {
                        inv.summary.note_unbucketed(&file.rel);
                        continue;
                    }
                }
                inv.images.push(PoolImage {
                    file: file.clone(),
                    labels,
                    features,
                });
            }
            Err(issue) => inv.summary.issues.push(Issue {
                path: file.rel.clone(),
                kind: issue.kind(),
                message: issue.to_string(),
            }),
        }
    }
    inv.summary.issues.sort_by(|a, b| a.path.cmp(&b.path));

    if save_cache {
        let seen: HashSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
        for cache in &mut caches {
            cache.retain_seen(&seen);
            if let Err(w) = cache.save() {
                inv.warnings.push(CacheWarning::to_string(&w));
            }
        }
    }
    Ok(inv)
}

/// Labels a file; a video frame is labelled as its video (manifest row, rules on
/// its `VIDEO/NNNNNN.jpg` path) and gets its timestamp as time.
fn label(
    labeller: &Labeller<'_>,
    file: &FileEntry,
    quality: Option<&features::Quality>,
) -> crate::label::Labels {
    match &file.frame_of {
        Some(f) => {
            let mut l = labeller.label(&f.video, &file.rel, quality);
            l.time = Some(f.time);
            l
        }
        None => labeller.label(&file.path, &file.rel, quality),
    }
}

/// Where a measurement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The cache, by path, size and mtime.
    Cache,
    /// The cache, after the file's blake3 matched (only the mtime had changed).
    Verified,
    /// Decoded in this run.
    Decoded,
}

/// Measures one file, from the cache when it still describes the file.
fn measure_one(file: &FileEntry, cache: &Cache, limits: &features::Limits) -> (Measured, Source) {
    let cached = match cache.lookup(file) {
        Lookup::Hit(m) => return (m.clone(), Source::Cache),
        Lookup::Verify(m) => Some(m),
        Lookup::Miss => None,
    };
    let failed = |issue| Measured {
        result: Err(issue),
        mislabelled: false,
    };
    let bytes = match features::read(&file.path, limits) {
        Ok(bytes) => bytes,
        Err(issue) => return (failed(issue), Source::Decoded),
    };
    if let Some(m @ Measured { result: Ok(f), .. }) = cached
        && *blake3::hash(&bytes).as_bytes() == f.content_hash
    {
        return (m.clone(), Source::Verified);
    }
    let measured = match features::measure(&bytes, &file.path, limits) {
        Ok((f, notes)) => Measured {
            result: Ok(f),
            mislabelled: notes.mislabelled,
        },
        Err(issue) => failed(issue),
    };
    (measured, Source::Decoded)
}
