//! Reading the pool: list the roots, turn videos into frames, read the manifest
//! and annotations, label every file, measure it (through the feature cache)
//! and keep the usable, bucketed images — with a count of everything skipped.
//!
//! [`inventory`] is that list of steps; [`frames`] extracts video frames,
//! [`measure`] runs the parallel, cached measuring pass, and [`summary`] holds
//! what the report says about the pool.

mod frames;
mod measure;
mod summary;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;

pub(crate) use summary::{Issue, IssueKind, MeasureSummary, PoolSummary};

use crate::annotations::{AnnotationError, AnnotationSpec, Annotations};
use crate::bucket::{LabelRules, Labeller};
use crate::decode::Limits;
use crate::feature_index::{FeatureIndex, Row, Shard};
use crate::features::{ImageIssue, Quality};
use crate::label::Labels;
use crate::manifest::{Manifest, ManifestError};
use crate::paths;
use crate::pool::PoolImage;
use crate::progress::{Progress, Stage};
use crate::source::{self, FileEntry, Location, Scan, ScanError, Sources};
use crate::video::VideoError;

/// The pool as read from disk, before de-duplication.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
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

impl Inventory {
    /// Takes the images at `drifted` (indices into `images`, each with what
    /// became of it) out of the pool: they leave its counts and are listed as
    /// skipped files of kind [`IssueKind::Changed`].
    pub(crate) fn withdraw(&mut self, drifted: Vec<(usize, source::Drift)>) {
        let gone: HashSet<usize> = drifted.iter().map(|(i, _)| *i).collect();
        for (i, drift) in drifted {
            let img = &self.images[i];
            if let Some(bucket) = img.labels.bucket {
                self.summary.usable[bucket] -= 1;
            }
            for class in &img.labels.classes {
                if let Some(n) = self.summary.classes.get_mut(class) {
                    *n -= 1;
                    if *n == 0 {
                        self.summary.classes.remove(class);
                    }
                }
            }
            self.summary.issues.push(Issue {
                path: img.file.rel.clone(),
                kind: IssueKind::Changed,
                message: drift.to_string(),
            });
        }
        self.summary.issues.sort_by(|a, b| a.path.cmp(&b.path));
        let mut i = 0;
        self.images.retain(|_| {
            i += 1;
            !gone.contains(&(i - 1))
        });
    }
}

/// Switches for [`inventory`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options<'a> {
    /// Cache folder; `None` disables the cache.
    pub cache_dir: Option<&'a Path>,
    /// Write the cache back.
    pub save_cache: bool,
    /// Keep images nothing buckets (audits look at the whole pool).
    pub keep_unbucketed: bool,
    /// Measurements from a feature index (`--index`), used before decoding.
    pub index: Option<&'a FeatureIndex>,
}

/// What reading the pool takes from the recipe, resolved once by `pipeline`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings<'a> {
    /// `[sources]`: roots, manifest, exclusions, symlinks.
    pub sources: &'a Sources,
    /// The recipe's folder: relative roots and report paths start there.
    pub base_dir: &'a Path,
    /// `[[rules]]`, `camera.from`, `default_bucket` and `[quality]`.
    pub labels: LabelRules<'a>,
    /// `[annotations]`.
    pub annotations: Option<&'a AnnotationSpec>,
    /// `[limits]`: what an image may cost to decode.
    pub limits: &'a Limits,
    /// `ffmpeg`: the binary that extracts video frames (else found on `PATH`).
    pub ffmpeg: Option<&'a Path>,
    /// `sequences.every`: seconds between extracted video frames.
    pub frame_every: f64,
    /// `camera.min`, checked against `total` before anything is decoded.
    pub camera_min: usize,
    /// `total`: the set's size.
    pub total: usize,
}

/// Why the pool could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A root is missing.
    #[error(transparent)]
    Scan(ScanError),
    /// The annotations could not be read.
    #[error(transparent)]
    Annotations(#[from] AnnotationError),
    /// ffmpeg is missing, or the frame cache cannot be written.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// `camera.min` for every camera the walk found adds up to more than
    /// `total`.
    #[error(
        "camera.min cannot be met: {cameras} cameras × {min} = {} images, more than total = {total}; lower camera.min to {} or raise total to {}",
        cameras * min,
        total / cameras,
        cameras * min
    )]
    CameraMinimums {
        /// Cameras among the pool's bucketed images.
        cameras: usize,
        /// The minimum per camera.
        min: usize,
        /// The recipe's total.
        total: usize,
    },
    /// The object store stopped answering while the pool was read.
    #[error("the object store stopped answering: {0}; nothing was written")]
    Store(std::io::Error),
    /// Ctrl-C or a termination signal.
    #[error("interrupted")]
    Interrupted,
}

impl From<ScanError> for InventoryError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Interrupted => InventoryError::Interrupted,
            other => InventoryError::Scan(other),
        }
    }
}

/// Reads, labels and measures the pool `settings` describe.
pub(crate) fn inventory(
    settings: &Settings<'_>,
    opts: &Options<'_>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Inventory, InventoryError> {
    let mut inv = Inventory::default();
    let scan = list(settings, &mut inv, progress, cancel)?;
    let manifest = read_manifest(settings, &scan, &mut inv)?;
    let mut files = scan.files.clone();
    files.extend(video_frames(settings, &scan, opts, &mut inv, progress)?);
    crate::cancel::check(cancel).map_err(|_| InventoryError::Interrupted)?;
    let annotations = read_annotations(settings, &scan, &mut inv)?;
    let mut labelling = Labelling::new(settings.labels, manifest.as_ref(), annotations.as_ref());
    let todo = labelling.label_paths(&files, opts.keep_unbucketed, &mut inv);
    check_camera_minimums(settings, opts, &todo)?;
    let roots = &settings.sources.roots;
    progress.start(Stage::LoadCache, None);
    let mut caches = measure::Caches::open(opts.cache_dir, roots, &mut inv.warnings);
    progress.finish();
    let targets: Vec<&FileEntry> = todo.iter().map(|(f, _)| *f).collect();
    let measured = measure::measure_all(
        &targets,
        &caches,
        opts.index,
        settings.limits,
        progress,
        cancel,
    )?;
    progress.start(Stage::Pool, None);
    for ((file, labels), (m, origin)) in todo.into_iter().zip(measured) {
        inv.measure.count(origin);
        caches.record(file, &m, origin);
        if m.mislabelled && m.result.is_ok() {
            inv.summary.mislabelled.push(file.rel.clone());
        }
        match m.result {
            Ok(features) => {
                let labels = labelling.measured(file, labels, &features.quality);
                admit(&mut inv, file, labels, features, opts.keep_unbucketed);
            }
            Err(issue) => inv.summary.issues.push(Issue {
                path: file.rel.clone(),
                kind: kind_of(&issue),
                message: issue.to_string(),
            }),
        }
    }
    inv.summary.issues.sort_by(|a, b| a.path.cmp(&b.path));
    warn_unused_rules(settings, &labelling.rule_hits, &mut inv.warnings);
    progress.finish();
    if opts.save_cache {
        progress.start(Stage::SaveCache, None);
        let seen: HashSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
        caches.save(Some(&seen), &mut inv.warnings);
        progress.finish();
    }
    Ok(inv)
}

/// How [`inventory`] labels the pool's files, and how often each rule matched.
struct Labelling<'a> {
    /// The labeller.
    labeller: Labeller<'a>,
    /// Whether rules with a measured `when` (auto:…) need measurements: then
    /// every file is measured first, and labelled once measured.
    measure_all: bool,
    /// Files each rule labelled.
    rule_hits: Vec<usize>,
}

impl<'a> Labelling<'a> {
    /// Labels by `rules`, the manifest and the annotations.
    fn new(
        rules: LabelRules<'a>,
        manifest: Option<&'a Manifest>,
        annotations: Option<&'a Annotations>,
    ) -> Self {
        Labelling {
            labeller: Labeller::new(rules, manifest).with_annotations(annotations),
            measure_all: rules
                .rules
                .iter()
                .any(|r| r.when.iter().any(|t| t.starts_with("auto:"))),
            rule_hits: vec![0usize; rules.rules.len()],
        }
    }

    /// `file`'s labels, counting the rule that gave them.
    fn label(&mut self, file: &FileEntry, quality: Option<&Quality>) -> Labels {
        let labels = label(&self.labeller, file, quality);
        if let Some(r) = labels.rule {
            self.rule_hits[r] += 1;
        }
        labels
    }

    /// The `files` to measure, labelled from their paths: those with a bucket,
    /// or all when rules need measurements or `keep_unbucketed`. The others
    /// are noted as unbucketed in `inv`.
    fn label_paths<'f>(
        &mut self,
        files: &'f [FileEntry],
        keep_unbucketed: bool,
        inv: &mut Inventory,
    ) -> Vec<(&'f FileEntry, Labels)> {
        let mut todo = Vec::new();
        for file in files {
            let labels = self.label(file, None);
            if labels.bucket.is_some() || self.measure_all || keep_unbucketed {
                todo.push((file, labels));
            } else {
                inv.summary.note_unbucketed(&file.rel);
            }
        }
        todo
    }

    /// A measured file's labels: labelled anew when rules need measurements,
    /// else its path `labels` with the measured tags `quality` earns.
    fn measured(&mut self, file: &FileEntry, labels: Labels, quality: &Quality) -> Labels {
        if self.measure_all {
            self.label(file, Some(quality))
        } else {
            with_measured(&self.labeller, labels, quality)
        }
    }
}

/// Cameras come from paths and the manifest, not from pixels: a minimum per
/// camera no total can hold is known before anything is decoded. Fails when
/// the cameras among `todo` need more than `total` images. (An audit looks at
/// the pool whatever the recipe asks.)
fn check_camera_minimums(
    settings: &Settings<'_>,
    opts: &Options<'_>,
    todo: &[(&FileEntry, Labels)],
) -> Result<(), InventoryError> {
    if settings.camera_min > 0 && !opts.keep_unbucketed {
        let cameras: HashSet<&str> = todo
            .iter()
            .filter_map(|(_, l)| l.camera.as_deref())
            .collect();
        if cameras.len() * settings.camera_min > settings.total {
            return Err(InventoryError::CameraMinimums {
                cameras: cameras.len(),
                min: settings.camera_min,
                total: settings.total,
            });
        }
    }
    Ok(())
}

/// One shard of the pool, measured for the feature index: every image file
/// (labelled or not), with the frames of the shard's videos.
#[derive(Debug, Default)]
pub(crate) struct Indexed {
    /// A row per file whose measurement belongs to its bytes (read errors and
    /// size refusals are not indexed: a build finds them again).
    pub rows: Vec<Row>,
    /// Counts and skipped files of the shard.
    pub summary: PoolSummary,
    /// Cache use.
    pub measure: MeasureSummary,
    /// Non-fatal warnings.
    pub warnings: Vec<String>,
}

/// Measures shard `shard` of the pool for the feature index. A file
/// belongs to the shard its key hashes to; a video frame to its video's. The
/// cache keeps the entries of other shards.
pub(crate) fn index_shard(
    settings: &Settings<'_>,
    opts: &Options<'_>,
    shard: Shard,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Indexed, InventoryError> {
    let mut inv = Inventory::default();
    let mut scan = list(settings, &mut inv, progress, cancel)?;
    scan.files.retain(|f| shard.holds(&f.rel));
    scan.videos.retain(|v| shard.holds(&v.rel));
    inv.summary.scanned = scan.files.len();
    let mut files = scan.files.clone();
    files.extend(video_frames(settings, &scan, opts, &mut inv, progress)?);
    crate::cancel::check(cancel).map_err(|_| InventoryError::Interrupted)?;
    progress.start(Stage::LoadCache, None);
    let mut caches =
        measure::Caches::open(opts.cache_dir, &settings.sources.roots, &mut inv.warnings);
    progress.finish();
    let targets: Vec<&FileEntry> = files.iter().collect();
    let measured =
        measure::measure_all(&targets, &caches, None, settings.limits, progress, cancel)?;
    let mut rows = Vec::with_capacity(files.len());
    for (file, (m, origin)) in files.iter().zip(measured) {
        inv.measure.count(origin);
        caches.record(file, &m, origin);
        if let Err(issue) = &m.result {
            inv.summary.issues.push(Issue {
                path: file.rel.clone(),
                kind: kind_of(issue),
                message: issue.to_string(),
            });
        }
        if m.mislabelled && m.result.is_ok() {
            inv.summary.mislabelled.push(file.rel.clone());
        }
        if m.result.as_ref().err().is_none_or(ImageIssue::is_cacheable) {
            rows.push(Row::of(file, m));
        }
    }
    inv.summary.issues.sort_by(|a, b| a.path.cmp(&b.path));
    if opts.save_cache {
        caches.save(None, &mut inv.warnings);
    }
    Ok(Indexed {
        rows,
        summary: inv.summary,
        measure: inv.measure,
        warnings: inv.warnings,
    })
}

/// Walks the roots; walk problems become issues, unfollowed symlinks a warning.
fn list(
    settings: &Settings<'_>,
    inv: &mut Inventory,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Scan, InventoryError> {
    progress.start(Stage::Scan, None);
    let scan = source::scan(
        &settings.sources.roots,
        settings.base_dir,
        &settings.sources.exclude,
        settings.sources.walk(),
        cancel,
    );
    progress.finish();
    let scan = scan?;
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
    for root in &settings.sources.roots {
        let empty = !scan
            .files
            .iter()
            .chain(&scan.videos)
            .any(|f| f.path.starts_with(root));
        if empty {
            inv.warnings.push(format!(
                "no images found under {} (image extensions: jpg jpeg png bmp webp tif tiff; videos: mp4 mkv avi mov h264 264 webm m4v)",
                root.display()
            ));
        }
    }
    let s = &mut inv.summary;
    for w in &scan.issues {
        s.issues.push(Issue {
            path: rel(settings, &w.path),
            kind: IssueKind::Walk,
            message: w.message.clone(),
        });
    }
    Ok(scan)
}

/// A warning for each rule that matched no image: a pattern that names no
/// folder of the pool is a typo more often than not.
fn warn_unused_rules(settings: &Settings<'_>, hits: &[usize], warnings: &mut Vec<String>) {
    for (i, (rule, &n)) in settings.labels.rules.iter().zip(hits).enumerate() {
        if n == 0 {
            warnings.push(format!(
                "rules[{i}] (match = \"{}\") matched no image",
                rule.pattern.as_str()
            ));
        }
    }
}

/// The manifest's rows for the files found; its rows naming missing files are
/// counted, the first few listed as issues.
fn read_manifest(
    settings: &Settings<'_>,
    scan: &Scan,
    inv: &mut Inventory,
) -> Result<Option<Manifest>, InventoryError> {
    let Some(path) = settings.sources.manifest.as_deref() else {
        return Ok(None);
    };
    let found: HashSet<&Path> = scan
        .files
        .iter()
        .chain(&scan.videos)
        .map(|f| f.path.as_path())
        .collect();
    let manifest = Manifest::load_for(path, settings.sources.allow_outside, &found)?;
    let (count, examples) = manifest.missing();
    inv.summary.missing = count;
    for missing in examples {
        inv.summary.issues.push(Issue {
            path: rel(settings, missing),
            kind: IssueKind::Missing,
            message: format!(
                "listed in {} but not found under the roots",
                manifest.path().display()
            ),
        });
    }
    Ok(Some(manifest))
}

/// The frames of the pool's videos: kept in the cache folder when it is
/// written, else in a temporary folder that lives as long as the inventory.
fn video_frames(
    settings: &Settings<'_>,
    scan: &Scan,
    opts: &Options<'_>,
    inv: &mut Inventory,
    progress: &dyn Progress,
) -> Result<Vec<FileEntry>, InventoryError> {
    if scan.videos.is_empty() {
        return Ok(Vec::new());
    }
    let dir = match opts.cache_dir {
        Some(d) if opts.save_cache => d.join("frames"),
        _ => {
            let t = tempfile::tempdir().map_err(|source| VideoError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
            let p = t.path().to_owned();
            inv.frame_dir = Some(t);
            p
        }
    };
    let (frames, issues) = frames::extract(settings, &scan.videos, &dir, progress)?;
    inv.summary.videos = scan.videos.len();
    inv.summary.video_frames = frames.len();
    inv.summary.issues.extend(issues);
    Ok(frames)
}

/// The recipe's annotations of the files found; their problems become issues.
fn read_annotations(
    settings: &Settings<'_>,
    scan: &Scan,
    inv: &mut Inventory,
) -> Result<Option<Annotations>, InventoryError> {
    let Some(spec) = settings.annotations else {
        return Ok(None);
    };
    let paths: Vec<&Path> = scan.files.iter().map(|f| f.path.as_path()).collect();
    let (annotations, issues) = Annotations::load(spec, &paths)?;
    for i in issues {
        inv.summary.issues.push(Issue {
            path: rel(settings, &i.path),
            kind: IssueKind::Annotation,
            message: i.message,
        });
    }
    Ok(Some(annotations))
}

/// Counts a measured image and keeps it when it has a bucket (or when the
/// inventory keeps everything).
fn admit(
    inv: &mut Inventory,
    file: &FileEntry,
    labels: Labels,
    features: crate::features::Features,
    keep_unbucketed: bool,
) {
    for class in &labels.classes {
        *inv.summary.classes.entry(class.clone()).or_default() += 1;
    }
    match labels.bucket {
        Some(bucket) => inv.summary.usable[bucket] += 1,
        None => {
            inv.summary.note_unbucketed(&file.rel);
            if !keep_unbucketed {
                return;
            }
        }
    }
    inv.images.push(PoolImage {
        file: file.clone(),
        labels,
        features,
    });
}

/// `labels` with the measured tags `quality` earns.
fn with_measured(labeller: &Labeller<'_>, mut labels: Labels, quality: &Quality) -> Labels {
    labeller.add_measured(&mut labels, quality);
    labels
}

/// Labels a file; a video frame is labelled as its video (manifest row, rules on
/// its `VIDEO/NNNNNN.jpg` path) and gets its timestamp as time.
fn label(labeller: &Labeller<'_>, file: &FileEntry, quality: Option<&Quality>) -> Labels {
    match &file.frame_of {
        Some(f) => {
            let mut l = labeller.label(&f.video, &file.rel, quality);
            l.time = Some(f.time);
            l
        }
        None => labeller.label(&file.path, &file.rel, quality),
    }
}

/// The report's kind for why an image could not be measured.
fn kind_of(issue: &ImageIssue) -> IssueKind {
    match issue {
        ImageIssue::Empty => IssueKind::Empty,
        ImageIssue::NotAnImage => IssueKind::NotAnImage,
        ImageIssue::Truncated(_) => IssueKind::Truncated,
        ImageIssue::Corrupt(_) => IssueKind::Corrupt,
        ImageIssue::TooComplex(_) => IssueKind::TooComplex,
        ImageIssue::TooLarge(_) => IssueKind::TooLarge,
        ImageIssue::Io(_) => IssueKind::Io,
    }
}

/// `path` as reports show it: by the name the pool's files go by (relative to
/// the recipe folder; in a root outside it, the root's name), escaped to one
/// line (a manifest's path may hold any byte, NUL included); an object by its
/// URL.
fn rel(settings: &Settings<'_>, path: &Path) -> String {
    Location::of(path).shown(|path| {
        let names = paths::RootNames::new(&settings.sources.roots, settings.base_dir);
        paths::escaped(&names.rel(&paths::normalize(path)))
    })
}
