//! The build pipeline: scan → label → measure → de-duplicate → select → export,
//! with the report of every step. [`inventory`] reads the pool, [`files`]
//! writes the lock manifest and per-image list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::annotations::AnnotationError;
use crate::dedup::{self, Dedup};
use crate::export::{self, ExportError, Layout, LinkMode, Placement};
use crate::label::{Bucket, PerBucket};
use crate::manifest::ManifestError;
use crate::paths;
use crate::progress::{Progress, Stage};
use crate::recipe::Recipe;
use crate::report::{
    CompositionRow, DedupSummary, GroupSummary, MaxTotal, OutputSummary, Report, Status,
};
use crate::select::{self, Plan, Selection};
use crate::sequence;
use crate::source::ScanError;
use crate::video::VideoError;

mod files;
mod inventory;

pub use files::{html_images, status};
use files::{lock_manifest, placements, pool_list};
pub use inventory::{Inventory, inventory};

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
    /// Also write the visual report here (even with `dry_run`: it was asked for).
    pub html: Option<PathBuf>,
}

/// Why a build could not run.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A root is missing.
    #[error(transparent)]
    Scan(ScanError),
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
    /// The cache folder lies inside the output folder.
    #[error(
        "cache folder {} is inside the output folder {}; choose a cache outside it",
        cache.display(),
        out.display()
    )]
    CacheInOutput {
        /// The cache folder.
        cache: PathBuf,
        /// The output folder.
        out: PathBuf,
    },
    /// `--html` would overwrite an input or a file calibset did not write.
    #[error("--html {}: {why}; choose another file", path.display())]
    HtmlTarget {
        /// The path given.
        path: PathBuf,
        /// Why it is refused.
        why: String,
    },
    /// `--html` names the output folder itself or a file the build writes there.
    #[error("--html {} would replace the output folder or a file the set writes there; choose another name", path.display())]
    HtmlClash {
        /// The path given.
        path: PathBuf,
    },
    /// ffmpeg is missing, or the frame cache cannot be written.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// A report file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Ctrl-C or a termination signal.
    #[error("interrupted")]
    Interrupted,
}

impl From<ScanError> for BuildError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Interrupted => BuildError::Interrupted,
            other => BuildError::Scan(other),
        }
    }
}

impl From<crate::cancel::Interrupted> for BuildError {
    fn from(_: crate::cancel::Interrupted) -> Self {
        BuildError::Interrupted
    }
}

/// Writes the self-contained visual report of `planned` to `path` (temporary
/// file, then rename).
pub fn write_html(
    path: &Path,
    title: String,
    report: &Report,
    planned: &Planned,
) -> Result<(), BuildError> {
    write_page(path, &render_html(title, report, planned))
}

/// The self-contained visual report of `planned`.
fn render_html(title: String, report: &Report, planned: &Planned) -> String {
    let images = html_images(&planned.inv.images, &planned.dd, &planned.sel);
    crate::html::render(&crate::html::HtmlInput {
        title,
        report,
        images: &images,
        groups: crate::html::DEFAULT_GROUPS,
        limits: planned.limits,
    })
}

/// Start of every page calibset writes (see [`crate::html`]).
const REPORT_MARK: &[u8] = b"<meta name=\"generator\" content=\"calibset ";

/// Refuses an `--html` path that could overwrite input — a path inside a source
/// root or an annotations folder, or naming the recipe, the manifest or a label
/// file — or a file that is not an earlier calibset report. A path inside the
/// output folder `out` is written with the set, under its ownership rules.
pub fn check_html(path: &Path, recipe: &Recipe, out: Option<&Path>) -> Result<(), BuildError> {
    let refuse = |why: String| {
        Err(BuildError::HtmlTarget {
            path: path.to_owned(),
            why,
        })
    };
    let abs = paths::normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
    let real = paths::resolved(&abs);
    let inside = |p: &Path| abs.starts_with(p) || real.starts_with(paths::resolved(p));
    for root in &recipe.sources.roots {
        if inside(root) {
            return refuse(format!("it is inside source root {}", root.display()));
        }
    }
    let a = recipe.annotations.as_ref();
    let inputs = [Some(&recipe.path), recipe.sources.manifest.as_ref()]
        .into_iter()
        .chain([a.map(|a| &a.path), a.and_then(|a| a.images.as_ref())])
        .chain([a.and_then(|a| a.names.as_ref())])
        .flatten();
    for input in inputs {
        if inside(input) {
            return refuse(format!("it is or lies in the input {}", input.display()));
        }
    }
    if out.is_some_and(|o| inside_output(path, o).is_some()) {
        return Ok(());
    }
    replaceable(path).or_else(refuse)
}

/// `Ok` when nothing is at `path` or an earlier calibset report is.
fn replaceable(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot inspect it ({e})")),
        Ok(m) if !m.is_file() => Err("it exists and is not a file".into()),
        Ok(_) => {
            let head = crate::source::read_head(path, 4096).unwrap_or_default();
            if head.windows(REPORT_MARK.len()).any(|w| w == REPORT_MARK) {
                Ok(())
            } else {
                Err("it exists and is not a calibset report".into())
            }
        }
    }
}

/// Writes `page` to `path`: a temporary file beside it, then a rename; what is
/// at `path` is checked again just before it is replaced.
fn write_page(path: &Path, page: &str) -> Result<(), BuildError> {
    let fail = |source| BuildError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    std::io::Write::write_all(&mut tmp, page.as_bytes()).map_err(fail)?;
    #[cfg(unix)]
    {
        // A report is for reading: not the temporary file's private 0600.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        tmp.as_file().set_permissions(mode).map_err(fail)?;
    }
    replaceable(path).map_err(|why| BuildError::HtmlTarget {
        path: path.to_owned(),
        why,
    })?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Switches for [`plan`].
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions<'a> {
    /// Cache folder; `None` disables the cache.
    pub cache_dir: Option<&'a Path>,
    /// Write the cache back.
    pub save_cache: bool,
    /// Selection seed.
    pub seed: u64,
    /// Keep images nothing buckets (audits look at the whole pool).
    pub keep_unbucketed: bool,
}

/// Everything decided before anything is written.
#[derive(Debug)]
pub struct Planned {
    /// The pool.
    pub inv: Inventory,
    /// Duplicates (after sequence sampling).
    pub dd: Dedup,
    /// The chosen images.
    pub sel: Selection,
    /// What sequence sampling did.
    pub sequences: sequence::SequenceSummary,
    /// The decode limits images were read under.
    pub limits: crate::decode::Limits,
}

/// Reads the pool, samples sequences, removes duplicates and selects.
pub fn plan(
    recipe: &Recipe,
    opts: &PlanOptions<'_>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Planned, BuildError> {
    let inv = inventory(recipe, opts, progress, cancel)?;
    let images = &inv.images;

    progress.start(Stage::Dedup, None);
    let exact = dedup::exact_copies(images, recipe.dedup.exact);
    let (sampled, sequences) =
        sequence::sample(images, &recipe.sequences, recipe.dedup.threshold, exact);
    let dd = dedup::dedup_after(images, &recipe.dedup, sampled, cancel);
    progress.finish();
    let dd = dd?;

    progress.start(Stage::Select, None);
    let candidates: Vec<usize> = (0..images.len())
        .filter(|&i| dd.is_kept(i) && images[i].labels.bucket.is_some())
        .collect();
    let sel = select::select(
        images,
        &candidates,
        &Plan {
            buckets: &recipe.buckets,
            camera_min: recipe.camera.min,
            seed: opts.seed,
            shortfall: recipe.shortfall,
            cancel,
        },
    );
    progress.finish();
    let sel = sel?;
    Ok(Planned {
        inv,
        dd,
        sel,
        sequences,
        limits: recipe.limits,
    })
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
        let real_out = paths::resolved(out);
        for root in &recipe.sources.roots {
            let real_root = paths::resolved(root);
            if out.starts_with(root)
                || root.starts_with(out)
                || real_out.starts_with(&real_root)
                || real_root.starts_with(&real_out)
            {
                return Err(BuildError::OutputOverlapsRoot {
                    out: out.clone(),
                    root: root.clone(),
                });
            }
        }
    }
    if let (Some(out), Some(cache)) = (&out, &opts.cache_dir) {
        let cache = paths::normalize(&std::path::absolute(cache).unwrap_or_else(|_| cache.clone()));
        if cache.starts_with(out) || paths::resolved(&cache).starts_with(paths::resolved(out)) {
            return Err(BuildError::CacheInOutput {
                cache,
                out: out.clone(),
            });
        }
    }
    if let Some(html) = &opts.html {
        check_html(html, recipe, out.as_deref())?;
    }
    // One build at a time per output, from the first check to the final rename;
    // under the lock, what killed builds left beside the output is cleared.
    let mut cleaned = Vec::new();
    let lock = match &out {
        Some(out) if !opts.dry_run => {
            let lock = export::OutputLock::acquire(out)?;
            cleaned = lock.clean_stale()?;
            export::check_output(out, opts.force)?;
            Some(lock)
        }
        _ => None,
    };
    // An HTML report inside the output folder is part of the set: written with it,
    // or not at all, and never over one of the set's own files.
    let html_in_out = opts
        .html
        .as_deref()
        .zip(out.as_deref())
        .and_then(|(h, o)| inside_output(h, o));
    let html_clash = || BuildError::HtmlClash {
        path: opts.html.clone().unwrap_or_default(),
    };
    let reserved = [
        LOCK_FILE,
        POOL_FILE,
        REPORT_FILE,
        RECIPE_FILE,
        export::MARKER,
    ];
    if html_in_out
        .as_deref()
        .is_some_and(|rel| clashes(rel, reserved.map(str::to_owned)))
    {
        return Err(html_clash());
    }
    let mode = opts.mode.unwrap_or(recipe.output.mode);
    let layout = opts.layout.unwrap_or(recipe.output.layout);
    let seed = opts.seed.unwrap_or(recipe.seed);

    let planned = plan(
        recipe,
        &PlanOptions {
            cache_dir: opts.cache_dir.as_deref(),
            save_cache: !opts.dry_run,
            seed,
            keep_unbucketed: false,
        },
        progress,
        cancel,
    )?;
    let Planned {
        inv,
        dd,
        sel,
        sequences,
        ..
    } = &planned;
    let images = &inv.images;
    let mut report = assemble(recipe, seed, inv, dd, sel);
    report.warnings.extend(cleaned);
    report.sequences = (sequences.sequences > 0).then_some(sequences.clone());
    let placements = placements(images, sel, layout, &recipe.base_dir);
    if html_in_out
        .as_deref()
        .is_some_and(|rel| clashes(rel, placements.iter().map(|(_, p)| paths::slash(&p.dest))))
    {
        return Err(html_clash());
    }
    let ok = sel.shortfalls.is_empty();
    let writing = ok && !opts.dry_run;
    let mut page = None;
    if let Some(path) = &opts.html {
        let title = format!("{} calibration set", recipe.name);
        let html = render_html(title, &report, &planned);
        match &html_in_out {
            None => write_page(path, &html)?,
            Some(_) if writing => page = Some(html),
            Some(_) => report.warnings.push(format!(
                "{} is inside the output folder, which was not written, so neither was it; give --html a path outside it",
                path.display()
            )),
        }
    }
    report.output = out.as_ref().map(|o| OutputSummary {
        dir: o.display().to_string(),
        mode,
        layout,
        files: placements.len(),
        written: writing,
    });
    if let (true, Some(lock)) = (writing, &lock) {
        let lock_file = lock_manifest(images, sel, &placements, &recipe.base_dir);
        let mut on_disk = report.clone();
        on_disk.measure = None;
        let recipe_text = recipe.text.clone().into_bytes();
        let mut files = vec![
            (Path::new(LOCK_FILE), lock_file),
            (
                Path::new(POOL_FILE),
                pool_list(images, dd, sel, &recipe.base_dir),
            ),
            (Path::new(REPORT_FILE), on_disk.to_json().into_bytes()),
            (Path::new(RECIPE_FILE), recipe_text),
        ];
        if let (Some(rel), Some(page)) = (&html_in_out, page) {
            files.push((rel.as_path(), page.into_bytes()));
        }
        progress.start(Stage::Export, Some(placements.len() as u64));
        let placed: Vec<Placement> = placements.into_iter().map(|(_, p)| p).collect();
        let result = export::export(lock, &placed, &files, mode, opts.force, cancel, || {
            progress.advance(1)
        });
        progress.finish();
        match result {
            Err(ExportError::Interrupted) => return Err(BuildError::Interrupted),
            other => report.warnings.extend(other?),
        }
    }
    Ok(report)
}

/// Where `html` lies inside the output folder `out`, compared as written and
/// with symlinks resolved (like the roots); `None` when it is outside.
fn inside_output(html: &Path, out: &Path) -> Option<PathBuf> {
    let html = paths::normalize(&std::path::absolute(html).unwrap_or_else(|_| html.to_owned()));
    html.strip_prefix(out)
        .map(Path::to_owned)
        .or_else(|_| {
            paths::resolved(&html)
                .strip_prefix(paths::resolved(out))
                .map(Path::to_owned)
        })
        .ok()
}

/// Whether the output path `rel` is the folder itself, or is, sits inside or
/// holds one of the `taken` paths (`/`-separated), ignoring case for
/// case-insensitive file systems.
fn clashes(rel: &Path, taken: impl IntoIterator<Item = String>) -> bool {
    let rel = paths::slash(rel).to_lowercase();
    let inside = |a: &str, b: &str| a.strip_prefix(b).is_some_and(|r| r.starts_with('/'));
    rel.is_empty()
        || taken.into_iter().any(|t| {
            let t = t.to_lowercase();
            t == rel || inside(&t, &rel) || inside(&rel, &t)
        })
}

/// The report of a planned build (without output details).
pub(crate) fn assemble(
    recipe: &Recipe,
    seed: u64,
    inv: &Inventory,
    dd: &Dedup,
    sel: &Selection,
) -> Report {
    let images = &inv.images;
    let mut kept = PerBucket::<usize>::default();
    for (i, img) in images.iter().enumerate() {
        if dd.is_kept(i)
            && let Some(b) = img.labels.bucket
        {
            kept[b] += 1;
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
            img.labels.tags_joined()
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
        stability: (sel.picks.len() >= 2).then(|| {
            let chosen: Vec<usize> = sel.picks.iter().map(|p| p.image).collect();
            let pool: Vec<usize> = (0..images.len())
                .filter(|&i| dd.is_kept(i) && images[i].labels.bucket.is_some())
                .collect();
            crate::stability::check(images, &chosen, &pool, seed, recipe.stability_threshold)
        }),
        sequences: None,
        output: None,
        warnings: inv.warnings.clone(),
    }
}

/// The largest total whose bucket counts (at the recipe's shares) all fit the
/// distinct images per bucket; `None` when the recipe's own total fits (its
/// shortfall is elsewhere) or when even one image does not.
fn max_total(recipe: &Recipe, kept: &PerBucket<usize>) -> Option<MaxTotal> {
    let fits = |t: usize| {
        let c = recipe.counts_for(t);
        Bucket::ALL.into_iter().all(|b| c[b] <= kept[b])
    };
    if fits(recipe.total) {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_clashes_with_files_folders_and_their_contents() {
        let taken = || ["manifest.csv", "normal/a.jpg"].map(str::to_owned);
        for bad in [
            "",
            "Manifest.CSV",
            "normal",
            "normal/a.jpg",
            "manifest.csv/x.html",
            "normal/a.jpg/x",
        ] {
            assert!(clashes(Path::new(bad), taken()), "{bad}");
        }
        for good in [
            "report.html",
            "normal/b.html",
            "normalx/a.jpg",
            "reports/manifest.csv",
        ] {
            assert!(!clashes(Path::new(good), taken()), "{good}");
        }
    }
}
