//! The build pipeline: scan → label → measure → de-duplicate → select → export,
//! with the report of every step.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::annotations::{AnnotationError, Annotations};
use crate::bucket::{Bucket, Labeller, PerBucket};
use crate::cache::{Cache, CacheWarning, Lookup, Measured};
use crate::dedup::{self, Dedup};
use crate::export::{self, ExportError, Layout, LinkMode, Placement};
use crate::features::{self, ImageIssue};
use crate::manifest::{Manifest, ManifestError};
use crate::paths;
use crate::pool::PoolImage;
use crate::progress::{Progress, Stage};
use crate::recipe::Recipe;
use crate::report::{
    CompositionRow, DedupSummary, GroupSummary, Issue, MaxTotal, MeasureSummary, OutputSummary,
    PoolSummary, Report, Status,
};
use crate::scan::{self, FrameOf, ScanError};
use crate::select::{self, Plan, Selection};
use crate::sequence;
use crate::video::{self, VideoError};

/// Name of the lock manifest written into the output folder.
pub const LOCK_FILE: &str = "manifest.csv";
/// Name of the JSON report written into the output folder.
pub const REPORT_FILE: &str = "report.json";
/// Name of the per-image decision list written into the output folder.
pub const POOL_FILE: &str = "pool.csv";
/// Name of the recipe copy written into the output folder.
pub const RECIPE_FILE: &str = "recipe.toml";

/// Overrides and switches for one build; `None` keeps the recipe's value.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Output folder (overrides `output.dir`).
    pub out: Option<PathBuf>,
    /// Link mode (overrides `output.mode`).
    pub mode: Option<LinkMode>,
    /// Layout (overrides `output.layout`).
    pub layout: Option<Layout>,
    /// Seed (overrides `seed`).
    pub seed: Option<u64>,
    /// Plan and report, write nothing (not even the cache).
    pub dry_run: bool,
    /// Replace an earlier calibset output in the output folder.
    pub force: bool,
    /// Cache folder; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

/// Why a build could not run.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A root is missing.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The annotations could not be read.
    #[error(transparent)]
    Annotations(#[from] AnnotationError),
    /// The set could not be written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Neither `--out` nor `output.dir` names the output folder.
    #[error("no output folder: set `dir` under `[output]` in the recipe or pass --out")]
    NoOutput,
    /// The output folder overlaps a source root.
    #[error(
        "output folder {} overlaps source root {}; choose an output outside the roots",
        out.display(),
        root.display()
    )]
    OutputOverlapsRoot {
        /// The output folder.
        out: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// ffmpeg is missing, or the frame cache cannot be written.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// Ctrl-C or a termination signal.
    #[error("interrupted")]
    Interrupted,
}

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
type Extracted = (Vec<scan::FileEntry>, Vec<(String, VideoError)>);

/// Extracts frames from `videos` (one every `recipe.sequences.every`, default
/// 1 s) into `dir`; returns them as files, plus per-video problems.
fn extract_frames(
    recipe: &Recipe,
    videos: &[scan::FileEntry],
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
                    let meta = std::fs::metadata(&f.path).map_err(|source| {
                        BuildError::Video(VideoError::Io {
                            path: f.path.clone(),
                            source,
                        })
                    })?;
                    frames.push(scan::FileEntry {
                        rel: format!("{}/{:06}.jpg", v.rel, f.index),
                        path: f.path,
                        size: meta.len(),
                        mtime_ns: scan::mtime_ns(&meta),
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
    cache_dir: Option<&Path>,
    save_cache: bool,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Inventory, BuildError> {
    let mut inv = Inventory::default();
    let manifest = recipe
        .sources
        .manifest
        .as_deref()
        .map(|m| Manifest::load(m, recipe.sources.allow_outside))
        .transpose()?;
    progress.start(Stage::Scan, None);
    let scan = scan::scan(
        &recipe.sources.roots,
        &recipe.base_dir,
        &recipe.sources.exclude,
    )?;
    progress.finish();
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
    for w in &scan.issues {
        s.issues.push(Issue {
            path: rel(&w.path),
            kind: "walk",
            message: w.message.clone(),
        });
    }
    if let Some(m) = &manifest {
        let found: HashSet<&Path> = scan
            .files
            .iter()
            .chain(&scan.videos)
            .map(|f| f.path.as_path())
            .collect();
        for missing in m.missing(&found) {
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
    let labeller = Labeller::new(recipe, manifest.as_ref()).with_annotations(annotations.as_ref());
    // Rules with `when` need measurements, so then every file is measured first.
    let measure_all = recipe.rules.iter().any(|r| !r.when.is_empty());
    let mut todo = Vec::new();
    for file in &files {
        let labels = label(&labeller, file, None);
        if labels.bucket.is_some() || measure_all {
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
    let root_of = |p: &Path| {
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
            let out = measure_one(file, &caches[root_of(&file.path)]);
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
            Source::Verified => {
                inv.measure.from_cache += 1;
                caches[root_of(&file.path)].insert(file, m.clone());
            }
            Source::Decoded => {
                inv.measure.decoded += 1;
                caches[root_of(&file.path)].insert(file, m.clone());
            }
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
                let Some(bucket) = labels.bucket else {
                    inv.summary.note_unbucketed(&file.rel);
                    continue;
                };
                inv.summary.usable[bucket] += 1;
                inv.images.push(PoolImage {
                    file: file.clone(),
                    labels,
                    features,
                });
            }
            Err(issue) => inv.summary.issues.push(Issue {
                path: file.rel.clone(),
                kind: issue_kind(&issue),
                message: issue.to_string(),
            }),
        }
    }
    inv.summary.issues.sort_by(|a, b| a.path.cmp(&b.path));

    if save_cache {
        let seen: HashSet<&Path> = scan.files.iter().map(|f| f.path.as_path()).collect();
        for (cache, root) in caches.iter_mut().zip(&recipe.sources.roots) {
            cache.retain_seen(root, &seen);
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
    file: &scan::FileEntry,
    quality: Option<&features::Quality>,
) -> crate::bucket::Labels {
    match &file.frame_of {
        Some(f) => {
            let mut l = labeller.label(&f.video, &file.rel, quality);
            l.time = Some(f.time);
            l
        }
        None => labeller.label(&file.path, &file.rel, quality),
    }
}

fn issue_kind(issue: &ImageIssue) -> &'static str {
    match issue {
        ImageIssue::Empty => "empty",
        ImageIssue::NotAnImage => "not-an-image",
        ImageIssue::Corrupt(_) => "corrupt",
        ImageIssue::Io(_) => "io",
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
fn measure_one(file: &scan::FileEntry, cache: &Cache) -> (Measured, Source) {
    let bytes = match cache.lookup(file) {
        Lookup::Hit(m) => return (m.clone(), Source::Cache),
        Lookup::Verify(m) => match std::fs::read(&file.path) {
            Ok(bytes) => {
                if let Ok(cached) = &m.result {
                    if *blake3::hash(&bytes).as_bytes() == cached.content_hash {
                        return (m.clone(), Source::Verified);
                    }
                }
                Ok(bytes)
            }
            Err(e) => Err(e),
        },
        Lookup::Miss => std::fs::read(&file.path),
    };
    let measured = match bytes {
        Err(e) => Measured {
            result: Err(ImageIssue::Io(e.to_string())),
            mislabelled: false,
        },
        Ok(bytes) => match features::measure(&bytes, &file.path) {
            Ok((f, notes)) => Measured {
                result: Ok(f),
                mislabelled: notes.mislabelled,
            },
            Err(issue) => Measured {
                result: Err(issue),
                mislabelled: false,
            },
        },
    };
    (measured, Source::Decoded)
}

/// Runs a whole build. A shortfall is not an error: the report's status says so
/// and nothing is written unless the recipe's policy filled it.
pub fn build(
    recipe: &Recipe,
    opts: &BuildOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Report, BuildError> {
    let out = match opts.out.as_ref().or(recipe.output.dir.as_ref()) {
        Some(o) => Some(paths::normalize(
            &std::path::absolute(o).unwrap_or_else(|_| o.clone()),
        )),
        None if opts.dry_run => None,
        None => return Err(BuildError::NoOutput),
    };
    if let Some(out) = &out {
        for root in &recipe.sources.roots {
            if out.starts_with(root) || root.starts_with(out) {
                return Err(BuildError::OutputOverlapsRoot {
                    out: out.clone(),
                    root: root.clone(),
                });
            }
        }
        if !opts.dry_run {
            export::check_output(out, opts.force)?;
        }
    }
    let mode = opts.mode.unwrap_or(recipe.output.mode);
    let layout = opts.layout.unwrap_or(recipe.output.layout);
    let seed = opts.seed.unwrap_or(recipe.seed);

    let inv = inventory(
        recipe,
        opts.cache_dir.as_deref(),
        !opts.dry_run,
        progress,
        cancel,
    )?;
    let images = &inv.images;

    progress.start(Stage::Dedup, None);
    let (sampled, sequences) = sequence::sample(images, &recipe.sequences, recipe.dedup.threshold);
    let dd = dedup::dedup_after(images, &recipe.dedup, sampled);
    progress.finish();
    if cancel.load(Ordering::Relaxed) {
        return Err(BuildError::Interrupted);
    }

    progress.start(Stage::Select, None);
    let candidates: Vec<usize> = (0..images.len()).filter(|&i| dd.is_kept(i)).collect();
    let sel = select::select(
        images,
        &candidates,
        &Plan {
            buckets: &recipe.buckets,
            camera_min: recipe.camera.min,
            seed,
            shortfall: recipe.shortfall,
        },
    );
    progress.finish();

    let mut report = assemble(recipe, seed, &inv, &dd, &sel);
    report.sequences = (sequences.sequences > 0).then_some(sequences);
    let placements = placements(images, &sel, layout);
    let ok = sel.shortfalls.is_empty();
    report.output = out.as_ref().map(|o| OutputSummary {
        dir: o.display().to_string(),
        mode,
        layout,
        files: placements.len(),
        written: ok && !opts.dry_run,
    });
    if ok && !opts.dry_run {
        let out = out.expect("output folder checked above");
        let lock = lock_manifest(images, &sel, &placements);
        let mut on_disk = report.clone();
        on_disk.measure = None;
        let recipe_text = std::fs::read(&recipe.path).unwrap_or_default();
        let files = [
            (LOCK_FILE, lock),
            (POOL_FILE, pool_list(images, &dd, &sel)),
            (REPORT_FILE, on_disk.to_json().into_bytes()),
            (RECIPE_FILE, recipe_text),
        ];
        progress.start(Stage::Export, Some(placements.len() as u64));
        let placed: Vec<Placement> = placements.into_iter().map(|(_, p)| p).collect();
        let result = export::export(&out, &placed, &files, mode, opts.force, cancel, || {
            progress.advance(1)
        });
        progress.finish();
        match result {
            Err(ExportError::Interrupted) => return Err(BuildError::Interrupted),
            other => other?,
        }
    }
    Ok(report)
}

/// Output paths for every pick, by layout, collision-free; paired with pick index.
fn placements(images: &[PoolImage], sel: &Selection, layout: Layout) -> Vec<(usize, Placement)> {
    let wanted = sel.picks.iter().map(|p| {
        let img = &images[p.image];
        match layout {
            Layout::ByBucket => {
                PathBuf::from(p.bucket.as_str()).join(export::flat_name(&img.file.rel))
            }
            Layout::Flat => PathBuf::from(export::flat_name(&img.file.rel)),
            Layout::Mirror => img
                .file
                .rel
                .split('/')
                .map(|s| if s == ".." { "_up_" } else { s })
                .collect(),
        }
    });
    export::unique_paths(wanted)
        .into_iter()
        .enumerate()
        .map(|(k, dest)| {
            (
                k,
                Placement {
                    source: images[sel.picks[k].image].file.path.clone(),
                    dest,
                    always_copy: images[sel.picks[k].image].file.frame_of.is_some(),
                },
            )
        })
        .collect()
}

/// The lock manifest: one CSV row per chosen image, sorted by output path.
fn lock_manifest(
    images: &[PoolImage],
    sel: &Selection,
    placements: &[(usize, Placement)],
) -> Vec<u8> {
    let mut rows: Vec<_> = placements.iter().collect();
    rows.sort_by(|a, b| a.1.dest.cmp(&b.1.dest));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "file", "source", "time", "bucket", "slot", "tags", "camera", "width", "height", "phash",
        "blake3",
    ])
    .expect("in-memory CSV");
    for (k, placement) in rows {
        let pick = &sel.picks[*k];
        let img = &images[pick.image];
        let tags = img
            .labels
            .tags
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(";");
        w.write_record([
            paths::slash(&placement.dest),
            img.file
                .frame_of
                .as_ref()
                .map_or_else(|| img.file.rel.clone(), |f| f.video_rel.clone()),
            img.labels.time.map_or(String::new(), |t| format!("{t:.3}")),
            pick.bucket.to_string(),
            pick.slot.label(),
            tags,
            img.labels.camera.clone().unwrap_or_default(),
            img.features.width.to_string(),
            img.features.height.to_string(),
            img.features.phash_hex(),
            img.features.content_hex(),
        ])
        .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

/// Every usable pool image with what became of it (`chosen`, `not-chosen`,
/// `exact-duplicate`, `near-duplicate`, `not-sampled`, `consecutive-duplicate`),
/// the image its duplicate group kept, and its measured quality.
fn pool_list(images: &[PoolImage], dd: &Dedup, sel: &Selection) -> Vec<u8> {
    let chosen: HashSet<usize> = sel.picks.iter().map(|p| p.image).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "bucket",
        "tags",
        "camera",
        "status",
        "kept",
        "phash",
        "width",
        "height",
        "mean",
        "contrast",
        "dark_clip",
        "bright_clip",
        "sharpness",
        "jpeg_quality",
        "colourfulness",
        "entropy",
        "measured",
    ])
    .expect("in-memory CSV");
    for (i, img) in images.iter().enumerate() {
        let status = match dd.removed[i] {
            Some(dedup::Removal::Exact { .. }) => "exact-duplicate",
            Some(dedup::Removal::Near { .. }) => "near-duplicate",
            Some(dedup::Removal::NotSampled) => "not-sampled",
            Some(dedup::Removal::Consecutive { .. }) => "consecutive-duplicate",
            None if chosen.contains(&i) => "chosen",
            None => "not-chosen",
        };
        let q = &img.features.quality;
        w.write_record([
            img.file.rel.as_str(),
            img.labels.bucket.map_or("", |b| b.as_str()),
            &img.labels
                .tags
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(";"),
            img.labels.camera.as_deref().unwrap_or(""),
            status,
            images[dd.cluster[i]].file.rel.as_str(),
            &img.features.phash_hex(),
            &img.features.width.to_string(),
            &img.features.height.to_string(),
            &format!("{:.1}", q.mean),
            &format!("{:.1}", q.contrast),
            &format!("{:.3}", q.dark_clip),
            &format!("{:.3}", q.bright_clip),
            &format!("{:.1}", q.sharpness),
            &q.jpeg_quality.map_or(String::new(), |v| v.to_string()),
            &format!("{:.1}", q.colourfulness),
            &format!("{:.2}", q.entropy),
            &img.labels
                .measured
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(";"),
        ])
        .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

fn assemble(recipe: &Recipe, seed: u64, inv: &Inventory, dd: &Dedup, sel: &Selection) -> Report {
    let images = &inv.images;
    let mut kept = PerBucket::<usize>::default();
    for (i, img) in images.iter().enumerate() {
        if dd.is_kept(i) {
            if let Some(b) = img.labels.bucket {
                kept[b] += 1;
            }
        }
    }
    let largest_groups = dd
        .groups()
        .into_iter()
        .take(10)
        .map(|(rep, members)| GroupSummary {
            kept: images[rep].file.rel.clone(),
            size: members.len(),
        })
        .collect();
    let mut chosen = PerBucket::<usize>::default();
    let mut composition: BTreeMap<(Bucket, String), BTreeMap<String, usize>> = BTreeMap::new();
    for p in &sel.picks {
        chosen[p.bucket] += 1;
        let img = &images[p.image];
        let tags = if img.labels.tags.is_empty() {
            "(untagged)".to_owned()
        } else {
            img.labels
                .tags
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(";")
        };
        *composition
            .entry((p.bucket, tags))
            .or_default()
            .entry(img.labels.camera.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
    }
    Report {
        version: env!("CARGO_PKG_VERSION"),
        recipe: recipe.name.clone(),
        seed,
        status: if sel.shortfalls.is_empty() {
            Status::Ok
        } else {
            Status::Shortfall
        },
        total: recipe.total,
        pool: inv.summary.clone(),
        measure: Some(inv.measure),
        dedup: DedupSummary {
            settings: recipe.dedup,
            exact_removed: dd.exact_removed(),
            near_removed: dd.near_removed(),
            candidate_pairs: dd.candidate_pairs,
            kept: kept.clone(),
            largest_groups,
        },
        wanted: PerBucket {
            normal: recipe.buckets.normal.count,
            hard: recipe.buckets.hard.count,
            background: recipe.buckets.background.count,
        },
        chosen,
        slots: sel.slots.clone(),
        cameras: sel.cameras.clone(),
        composition: composition
            .into_iter()
            .map(|((bucket, tags), cameras)| CompositionRow {
                bucket,
                tags,
                cameras,
            })
            .collect(),
        shortfalls: sel.shortfalls.clone(),
        max_total: if sel.shortfalls.is_empty() {
            None
        } else {
            max_total(recipe, &kept)
        },
        topped_up: sel.topped_up.clone(),
        sequences: None,
        output: None,
        warnings: inv.warnings.clone(),
    }
}

/// The largest total whose bucket counts (at the recipe's shares) all fit the
/// distinct images per bucket; `None` when even one image does not fit.
fn max_total(recipe: &Recipe, kept: &PerBucket<usize>) -> Option<MaxTotal> {
    let fits = |t: usize| {
        let c = recipe.counts_for(t);
        Bucket::ALL.into_iter().all(|b| c[b] <= kept[b])
    };
    // Largest-remainder counts are not monotone in the total (the Alabama
    // paradox), so scan rather than bisect; each step is a few operations.
    let upper: usize = kept.iter().map(|(_, n)| n).sum();
    let lo = (1..=upper).rev().find(|&t| fits(t)).unwrap_or(0);
    let next = recipe.counts_for(lo + 1);
    let limited_by = Bucket::ALL
        .into_iter()
        .find(|&b| next[b] > kept[b])
        .unwrap_or(Bucket::Normal);
    (lo > 0).then_some(MaxTotal {
        total: lo,
        limited_by,
    })
}
