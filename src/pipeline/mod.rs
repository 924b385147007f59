//! The build, as a list of stages: read the pool ([`crate::inventory`]),
//! remove duplicates ([`crate::dedup`]), choose ([`crate::select`]), report
//! ([`crate::report`]) and write the set ([`crate::export`]). [`plan`] runs the
//! stages that decide; [`build`] adds the report and the writing; [`target`]
//! decides where the build may write before anything runs.

mod index;
mod probe;
mod target;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::dedup::{self, Dedup, SequenceSummary};
use crate::export::{self, ExportError, LinkMode, Output, OutputLock};
use crate::feature_index::FeatureIndex;
use crate::handoff::{self, HandoffError, Layout};
use crate::html::{self, HtmlError};
use crate::inventory::{self, Inventory, InventoryError};
use crate::label::PerBucket;
use crate::progress::{Progress, Stage};
use crate::recipe::Recipe;
use crate::report::{self, OutputSummary, Report, ResaveSummary};
use crate::select::{self, MaxTotal, Plan, Selection};
use crate::source;
use crate::stability::Stability;

pub(crate) use index::open as open_index;
pub use index::{IndexOptions, IndexReport, index};
pub use probe::{ProbeOptions, probe};
pub(crate) use target::Target;

/// Name of the lock manifest written into the output folder.
pub(crate) const LOCK_FILE: &str = "manifest.csv";
/// Name of the JSON report written into the output folder.
pub(crate) const REPORT_FILE: &str = "report.json";
/// Name of the per-image decision list written into the output folder.
pub(crate) const POOL_FILE: &str = "pool.csv";
/// Name of the recipe copy written into the output folder.
pub(crate) const RECIPE_FILE: &str = "recipe.toml";

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
    /// Plan and report, write no set (the feature cache is still written).
    pub dry_run: bool,
    /// Replace an earlier calibset output in the output folder.
    pub force: bool,
    /// Cache folder; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Also write the visual report here (even with `dry_run`: it was asked for).
    pub html: Option<PathBuf>,
    /// Hand-off formats (overrides `[export] formats`).
    pub exports: Option<Vec<handoff::Format>>,
    /// A feature index (`calibset index`) to take measurements from instead
    /// of decoding: a folder of shards, or one shard file.
    pub index: Option<PathBuf>,
    /// The FP32 model to check the set against (overrides `[model] path`).
    pub model: Option<PathBuf>,
}

/// Why a build could not run.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The pool could not be read: a missing root, a bad manifest or
    /// annotations, no ffmpeg.
    #[error(transparent)]
    Inventory(InventoryError),
    /// The set could not be written.
    #[error(transparent)]
    Export(ExportError),
    /// A file of the set (a re-save, a tensor) could not be made.
    #[error(transparent)]
    Handoff(HandoffError),
    /// The visual report could not be written.
    #[error(transparent)]
    Html(#[from] HtmlError),
    /// The feature index could not be read or written.
    #[error(transparent)]
    Index(#[from] crate::feature_index::IndexError),
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
    /// The output folder is an object-store URL.
    #[error(
        "output folder {}: the set is written to a local folder; give a local --out (the chosen objects are downloaded into it)",
        out.display()
    )]
    RemoteOutput {
        /// The output as given.
        out: PathBuf,
    },
    /// A link mode was asked for with a root in an object store.
    #[error(
        "output mode `{}` links to the pool's files, but source root {} is in an object store: use mode = \"copy\" (the default), which downloads the chosen objects",
        format!("{mode:?}").to_lowercase(),
        root.display()
    )]
    LinkToObjectStore {
        /// The mode asked for.
        mode: LinkMode,
        /// The object-store root.
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
    /// A tensor export was asked for without a `[tensor]` table.
    #[error(
        "--export {format} writes tensors, but the recipe has no [tensor] table with the model's input size and preprocessing"
    )]
    ExportNeedsTensor {
        /// The format.
        format: &'static str,
    },
    /// `--html` names the output folder itself or a file the build writes there.
    #[error("--html {} would replace the output folder or a file the set writes there; choose another name", path.display())]
    HtmlClash {
        /// The path given.
        path: PathBuf,
    },
    /// The object store stopped answering while the chosen objects were
    /// looked at before writing.
    #[error("the object store stopped answering: {0}; nothing was written")]
    Store(crate::source::remote::RemoteError),
    /// `camera.min` asks for images per camera, but no image has a camera.
    #[error(
        "camera.min = {min} cannot apply: no usable image has a camera ({}); fix the pattern or give cameras in the manifest",
        match from {
            Some(p) => format!("camera.from = \"{p}\" matched none"),
            None => "set camera.from, or a camera column in the manifest".to_owned(),
        }
    )]
    NoCameras {
        /// The minimum asked for.
        min: usize,
        /// The `camera.from` pattern, when there is one.
        from: Option<String>,
    },
    /// The model could not be loaded or run.
    #[error(transparent)]
    Model(crate::model::ModelError),
    /// `calibset probe` without a model.
    #[error(
        "no model to probe with: add a [model] table with its path to the recipe, or pass --model"
    )]
    NoModel,
    /// The folder `calibset probe` was given holds no set.
    #[error("{}: not a calibset set's lock manifest ({message})", lock.display())]
    NotASet {
        /// The lock manifest looked for.
        lock: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// `--model` without a `[tensor]` table.
    #[error(
        "--model runs the model on the set's tensors, but the recipe has no [tensor] table with its input size and preprocessing"
    )]
    ModelNeedsTensor,
    /// Ctrl-C or a termination signal.
    #[error("interrupted")]
    Interrupted,
}

impl From<crate::model::ModelError> for BuildError {
    fn from(e: crate::model::ModelError) -> Self {
        match e {
            crate::model::ModelError::Interrupted => BuildError::Interrupted,
            other => BuildError::Model(other),
        }
    }
}

impl From<source::VerifyError> for BuildError {
    fn from(e: source::VerifyError) -> Self {
        match e {
            source::VerifyError::Store(e) => BuildError::Store(e),
            source::VerifyError::Interrupted => BuildError::Interrupted,
        }
    }
}

impl From<InventoryError> for BuildError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::Interrupted => BuildError::Interrupted,
            other => BuildError::Inventory(other),
        }
    }
}

impl From<HandoffError> for BuildError {
    fn from(e: HandoffError) -> Self {
        match e {
            HandoffError::Interrupted => BuildError::Interrupted,
            other => BuildError::Handoff(other),
        }
    }
}

impl From<ExportError> for BuildError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Interrupted => BuildError::Interrupted,
            other => BuildError::Export(other),
        }
    }
}

/// Switches for [`plan`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanOptions<'a> {
    /// Cache folder; `None` disables the cache.
    pub cache_dir: Option<&'a Path>,
    /// Write the cache back.
    pub save_cache: bool,
    /// Selection seed.
    pub seed: u64,
    /// Keep images nothing buckets (audits look at the whole pool).
    pub keep_unbucketed: bool,
    /// A feature index to measure from (`--index`).
    pub index: Option<&'a FeatureIndex>,
}

/// Everything decided before anything is written.
#[derive(Debug)]
pub(crate) struct Planned {
    /// The pool.
    pub inv: Inventory,
    /// Duplicates (after sequence sampling).
    pub dd: Dedup,
    /// The chosen images.
    pub sel: Selection,
    /// What sequence sampling did.
    pub sequences: SequenceSummary,
    /// The seed selection used.
    pub seed: u64,
    /// The largest total the pool supports, when the recipe's is short.
    pub max_total: Option<MaxTotal>,
    /// The stability check of the chosen set (two or more images).
    pub stability: Option<Stability>,
    /// The calibration method advice for the chosen set.
    pub advice: Option<report::Advice>,
}

/// What the plan decides on a pool: its duplicates, the selection, and what
/// is computed from the selection. A pool changed by the last look before
/// writing is decided anew, all of it.
struct Decision {
    dd: Dedup,
    sel: Selection,
    sequences: SequenceSummary,
    max_total: Option<MaxTotal>,
    stability: Option<Stability>,
    advice: Option<report::Advice>,
}

impl Planned {
    /// The report of this plan alone, as an audit gives it.
    pub(crate) fn report(&self, recipe: &Recipe) -> Report {
        self.assemble(
            &report_settings(recipe, &recipe.exports),
            report::Outcome::default(),
        )
    }

    /// The report of this plan with what the build added (`outcome`).
    fn assemble(&self, settings: &report::Settings, outcome: report::Outcome) -> Report {
        report::assemble(
            settings,
            report::Decided {
                seed: self.seed,
                inv: &self.inv,
                dd: &self.dd,
                sequences: &self.sequences,
                sel: &self.sel,
                max_total: self.max_total.as_ref(),
                stability: self.stability.as_ref(),
                advice: self.advice.as_ref(),
            },
            outcome,
        )
    }

    /// Takes `decision` as this plan's.
    fn take(&mut self, decision: Decision) {
        self.dd = decision.dd;
        self.sel = decision.sel;
        self.sequences = decision.sequences;
        self.max_total = decision.max_total;
        self.stability = decision.stability;
        self.advice = decision.advice;
    }

    /// The self-contained visual report of this plan.
    pub(crate) fn page(&self, recipe: &Recipe, title: String, report: &Report) -> String {
        let images = html::images(&self.inv.images, &self.dd, &self.sel);
        html::render(&html::HtmlInput {
            title,
            report,
            images: &images,
            groups: html::DEFAULT_GROUPS,
            limits: recipe.limits,
        })
    }
}

/// What reading the pool takes from `recipe`.
fn inventory_settings(recipe: &Recipe) -> inventory::Settings<'_> {
    inventory::Settings {
        sources: &recipe.sources,
        base_dir: &recipe.base_dir,
        labels: recipe.label_rules(),
        annotations: recipe.annotations.as_ref(),
        limits: &recipe.limits,
        ffmpeg: recipe.ffmpeg.as_deref(),
        frame_every: recipe.sequences.every.unwrap_or(1.0),
        camera_min: recipe.camera.min,
        total: recipe.total,
    }
}

/// What the report prints of `recipe`, with the hand-off formats `exports`
/// resolved from it and the command line.
fn report_settings(recipe: &Recipe, exports: &handoff::Exports) -> report::Settings {
    report::Settings {
        name: recipe.name.clone(),
        total: recipe.total,
        wanted: PerBucket {
            normal: recipe.buckets.normal.count,
            hard: recipe.buckets.hard.count,
            background: recipe.buckets.background.count,
        },
        dedup: recipe.dedup,
        shortfall: recipe.shortfall,
        tensor: recipe.tensor.clone(),
        exports: exports.formats.iter().copied().collect(),
    }
}

/// The pixel-statistics stability check of the chosen set against the
/// distinct bucketed pool: `None` below two chosen images.
fn stability(
    inv: &Inventory,
    dd: &Dedup,
    sel: &Selection,
    seed: u64,
    threshold: f64,
) -> Option<Stability> {
    let images = &inv.images;
    (sel.picks.len() >= 2).then(|| {
        let chosen: Vec<usize> = sel.picks.iter().map(|p| p.image).collect();
        let pool: Vec<usize> = (0..images.len())
            .filter(|&i| dd.is_kept(i) && images[i].labels.bucket.is_some())
            .collect();
        crate::stability::check(images, &chosen, &pool, seed, threshold)
    })
}

/// Reads the pool, removes duplicates and selects.
pub(crate) fn plan(
    recipe: &Recipe,
    opts: &PlanOptions<'_>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Planned, BuildError> {
    let inventory_options = inventory::Options {
        cache_dir: opts.cache_dir,
        save_cache: opts.save_cache,
        keep_unbucketed: opts.keep_unbucketed,
        index: opts.index,
    };
    let mut inv = inventory::inventory(
        &inventory_settings(recipe),
        &inventory_options,
        progress,
        cancel,
    )?;
    if let Some(index) = opts.index
        && inv.measure.decoded > 0
    {
        inv.warnings.push(format!(
            "{} file(s) are not in the feature index {} (new or changed since it was written) and were decoded",
            inv.measure.decoded,
            index.path().display()
        ));
    }
    if let Some(from) = &recipe.camera.from
        && !inv.images.is_empty()
        && inv.images.iter().all(|i| i.labels.camera.is_none())
    {
        inv.warnings.push(format!(
            "camera.from = \"{}\" matched none of the {} usable images: no image has a camera",
            from.as_str(),
            inv.images.len()
        ));
    }
    let d = decide(recipe, &inv, opts.seed, progress, cancel)?;
    Ok(Planned {
        inv,
        dd: d.dd,
        sel: d.sel,
        sequences: d.sequences,
        seed: opts.seed,
        max_total: d.max_total,
        stability: d.stability,
        advice: d.advice,
    })
}

/// Removes the duplicates of the pool `inv`, chooses from what is left, and
/// computes from the choice the largest total the pool supports (when short),
/// the stability check and the method advice.
fn decide(
    recipe: &Recipe,
    inv: &Inventory,
    seed: u64,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Decision, BuildError> {
    let images = &inv.images;
    progress.start(Stage::Dedup, None);
    let deduplicated = dedup::run(images, &recipe.dedup, &recipe.sequences, cancel);
    progress.finish();
    let (dd, sequences) = deduplicated.map_err(|_| BuildError::Interrupted)?;

    progress.start(Stage::Select, None);
    let candidates: Vec<usize> = (0..images.len())
        .filter(|&i| dd.is_kept(i) && images[i].labels.bucket.is_some())
        .collect();
    let plan = Plan {
        buckets: &recipe.buckets,
        camera_min: recipe.camera.min,
        balance: &recipe.camera.balance,
        seed,
        shortfall: recipe.shortfall,
        cancel,
    };
    let sel = select::select(images, &candidates, &plan);
    progress.finish();
    let sel = sel.map_err(|_| BuildError::Interrupted)?;
    let max_total = if sel.shortfalls.is_empty() {
        None
    } else {
        recipe.max_total(&dd.kept_per_bucket(images))
    };
    let stability = stability(inv, &dd, &sel, seed, recipe.stability_threshold);
    let chosen: Vec<_> = sel.picks.iter().map(|p| (p.image, p.bucket)).collect();
    let advice = report::advise(images, &chosen);
    Ok(Decision {
        dd,
        sel,
        sequences,
        max_total,
        stability,
        advice,
    })
}

/// The last look before writing: every chosen file must still hold the bytes
/// it was measured on. One deleted, rewritten or made unreadable since leaves
/// the pool like any skipped file (kind `changed`, with the reason), and the
/// set is chosen again without it, until every pick is unchanged or the pool
/// falls short. Each file is looked at once.
fn recheck(
    recipe: &Recipe,
    planned: &mut Planned,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<(), BuildError> {
    #[cfg(debug_assertions)]
    pause_for_test("recheck");
    let mut checked: HashSet<PathBuf> = HashSet::new();
    while planned.sel.shortfalls.is_empty() {
        let images = &planned.inv.images;
        let todo: Vec<usize> = planned
            .sel
            .picks
            .iter()
            .map(|p| p.image)
            .filter(|&i| !checked.contains(&images[i].file.path))
            .collect();
        let files: Vec<_> = todo
            .iter()
            .map(|&i| (&images[i].file, images[i].features.content_hash))
            .collect();
        progress.start(Stage::Verify, None);
        let drift = source::drift(&files, cancel);
        progress.finish();
        let drifted: Vec<(usize, source::Drift)> = todo
            .iter()
            .zip(drift?)
            .filter_map(|(&i, d)| Some((i, d?)))
            .collect();
        checked.extend(todo.iter().map(|&i| images[i].file.path.clone()));
        if drifted.is_empty() {
            break;
        }
        planned.inv.withdraw(drifted);
        let decision = decide(recipe, &planned.inv, planned.seed, progress, cancel)?;
        planned.take(decision);
    }
    Ok(())
}

/// For the tests, in debug builds only: with `CALIBSET_TEST_PAUSE=STAGE:FILE`
/// in the environment, a build that reaches `STAGE` creates `FILE` and waits
/// (up to a minute) until it is removed. That is how a test changes the pool
/// at an exact point of a running build.
#[cfg(debug_assertions)]
fn pause_for_test(stage: &str) {
    let Some(spec) = std::env::var_os("CALIBSET_TEST_PAUSE") else {
        return;
    };
    let spec = spec.to_string_lossy();
    let Some(file) = spec.strip_prefix(stage).and_then(|s| s.strip_prefix(':')) else {
        return;
    };
    let file = Path::new(file);
    if std::fs::write(file, stage).is_err() {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while file.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The checks on the recipe's output folder that a build makes before it
/// reads anything (not an object-store URL, outside every root, links only to
/// local roots), for `calibset check`: a recipe it accepts is not refused by
/// `build` for its output.
pub fn check_output(recipe: &Recipe) -> Result<(), BuildError> {
    let opts = BuildOptions {
        dry_run: true,
        ..BuildOptions::default()
    };
    Target::resolve(recipe, &opts).map(drop)
}

/// Runs a whole build. A shortfall is not an error: the report's status says so
/// and nothing is written unless the recipe's policy filled it.
pub fn build(
    recipe: &Recipe,
    opts: &BuildOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Report, BuildError> {
    let exports = exports(recipe, opts)?;
    let model = load_model(recipe, opts)?;
    let feature_index = index::open(opts.index.as_deref())?;
    let target = Target::resolve(recipe, opts)?;
    let target::Locked {
        lock,
        cleaned,
        earlier,
    } = target.lock(opts)?;
    let seed = opts.seed.unwrap_or(recipe.seed);
    let mut warnings = cleaned;
    warnings.extend(earlier_kept(&target, earlier.as_ref()));
    let plan_options = PlanOptions {
        cache_dir: opts.cache_dir.as_deref(),
        // The feature cache is not the set: a dry run fills it too, so the next
        // edit-and-retry of a recipe decodes nothing.
        save_cache: true,
        seed,
        keep_unbucketed: false,
        index: feature_index.as_ref(),
    };
    let locked = lock.is_some();
    let planned = plan_build(recipe, &plan_options, earlier, locked, progress, cancel)?;
    progress.start(Stage::Report, None);
    let layout = opts.layout.unwrap_or(recipe.output.layout);
    let names = crate::paths::RootNames::new(&recipe.sources.roots, &recipe.base_dir);
    let placements = handoff::placements(&planned.inv.images, &planned.sel, layout, &names);
    target.check_clashes(&placements)?;
    let files = chosen_files(&planned, &placements, &recipe.base_dir);
    let writing = locked && planned.sel.shortfalls.is_empty();
    progress.finish();
    let resaves = match &recipe.resave {
        Some(plan) if writing || model.is_some() => {
            handoff::resaves(plan, &planned.sel, &placements, seed, &recipe.limits)?
        }
        _ => Vec::new(),
    };
    let analysis = ModelCheck::of_build(model.as_ref(), recipe, seed, &planned)
        .map(|check| check.run(&placements, &resaves, &planned, progress, cancel))
        .transpose()?;
    warnings.extend(html_not_written(opts, &target, writing));
    let mode = opts.mode.unwrap_or(recipe.output.mode);
    let outcome = report::Outcome {
        files,
        resaves: resave_summary(recipe, &planned.sel, seed),
        model: analysis.as_ref().map(|a| a.report.clone()),
        output: target.out().map(|o| OutputSummary {
            dir: o.display().to_string(),
            mode,
            layout,
            files: placements.len(),
            written: writing,
        }),
        warnings,
    };
    progress.start(Stage::Report, None);
    let mut report = planned.assemble(&report_settings(recipe, &exports), outcome);
    let page = html_page(recipe, opts, &target, &planned, &report, writing)?;
    progress.finish();
    if let (true, Some(lock)) = (writing, &lock) {
        let set = SetPlan {
            recipe,
            planned: &planned,
            exports: &exports,
            out: target.out().expect("a locked build has an output folder"),
        };
        let outputs = set.outputs(&report, placements, resaves, analysis.as_ref(), mode, page);
        report
            .warnings
            .extend(write(lock, &outputs, opts.force, progress, cancel)?);
    }
    Ok(report)
}

/// The plan of a build: the pool read, deduplicated and chosen from, then
/// (when the set is to be written) every chosen file looked at once more.
/// Fails when `camera.min` cannot apply, and with `earlier` (an earlier set
/// without `--force`) once the plan shows the recipe can be filled.
fn plan_build(
    recipe: &Recipe,
    plan_options: &PlanOptions<'_>,
    earlier: Option<ExportError>,
    writing: bool,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Planned, BuildError> {
    let mut planned = plan(recipe, plan_options, progress, cancel)?;
    let images = &planned.inv.images;
    if recipe.camera.min > 0
        && !images.is_empty()
        && images.iter().all(|i| i.labels.camera.is_none())
    {
        return Err(BuildError::NoCameras {
            min: recipe.camera.min,
            from: recipe.camera.from.as_ref().map(|p| p.as_str().to_owned()),
        });
    }
    // Without --force an earlier set stops the build, but only once the plan
    // shows the recipe can be filled: a shortfall is said first.
    if let Some(refusal) = earlier.filter(|_| planned.sel.shortfalls.is_empty()) {
        return Err(refusal.into());
    }
    if writing {
        recheck(recipe, &mut planned, progress, cancel)?;
    }
    Ok(planned)
}

/// The warning for an earlier set kept in the output folder (no `--force`).
fn earlier_kept(target: &Target, earlier: Option<&ExportError>) -> Option<String> {
    let out = target.out().filter(|_| earlier.is_some())?;
    Some(format!(
        "output folder {} holds an earlier calibset build, which was kept; once the pool can fill the recipe, pass --force to replace it",
        out.display()
    ))
}

/// The re-saves `[resave]` asks for, as the report lists them.
fn resave_summary(recipe: &Recipe, sel: &Selection, seed: u64) -> Option<ResaveSummary> {
    recipe.resave.as_ref().map(|plan| ResaveSummary {
        quality: plan.quality,
        share: plan.share,
        buckets: plan.buckets.iter().copied().collect(),
        count: handoff::resave_picks(plan, sel, seed).len(),
    })
}

/// The warning for an `--html` page inside an output folder that is not
/// written (a dry run, a shortfall): neither is the page.
fn html_not_written(opts: &BuildOptions, target: &Target, writing: bool) -> Option<String> {
    let path = opts.html.as_ref()?;
    (target.html_in_output().is_some() && !writing).then(|| {
        format!(
            "{} is inside the output folder, which was not written, so neither was it; give --html a path outside it",
            path.display()
        )
    })
}

/// Writes `outputs` into the folder `lock` holds, counting progress per
/// image; returns the writer's warnings.
fn write(
    lock: &OutputLock,
    outputs: &[Output],
    force: bool,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Vec<String>, BuildError> {
    let steps = outputs.iter().map(Output::steps).sum();
    progress.start(Stage::Export, Some(steps));
    let written = export::export(lock, outputs, force, cancel, &mut || progress.advance(1));
    progress.finish();
    Ok(written?)
}

/// The calibration method the report advises for the chosen set (the
/// default method when there is no advice).
fn advised(planned: &Planned) -> handoff::Calibration {
    planned
        .advice
        .as_ref()
        .and_then(|a| handoff::Calibration::from_advice(a.method, a.percentile))
        .unwrap_or_default()
}

/// The check of the chosen set against the model, and the coverage of the
/// pool when asked for.
struct ModelCheck<'a> {
    model: &'a crate::model::Model,
    spec: &'a crate::tensor::Spec,
    limits: &'a crate::decode::Limits,
    seed: u64,
    method: handoff::Calibration,
    /// Whether the recipe chose `method` (else the advice did).
    method_chosen: bool,
    /// Pool images to probe for coverage (0: none).
    coverage: usize,
}

impl<'a> ModelCheck<'a> {
    /// The check a build with `model` makes: none without a model, and none
    /// for a set that falls short (it is not the set the recipe asks for).
    fn of_build(
        model: Option<&'a LoadedModel>,
        recipe: &'a Recipe,
        seed: u64,
        planned: &Planned,
    ) -> Option<Self> {
        let (model, method, coverage) = model?;
        if !planned.sel.shortfalls.is_empty() || planned.sel.picks.is_empty() {
            return None;
        }
        Some(ModelCheck {
            model,
            spec: recipe.tensor.as_ref().expect("load_model checked [tensor]"),
            limits: &recipe.limits,
            seed,
            method: method.unwrap_or_else(|| advised(planned)),
            method_chosen: method.is_some(),
            coverage: *coverage,
        })
    }

    /// Probes the set (its images at `placements`, and the `resaves`), then
    /// the pool's coverage sample.
    fn run(
        &self,
        placements: &[export::Placement],
        resaves: &[handoff::Resave],
        planned: &Planned,
        progress: &dyn Progress,
        cancel: &AtomicBool,
    ) -> Result<crate::model::Analysis, BuildError> {
        let images = probe_images(placements, resaves, planned);
        progress.start(Stage::Probe, Some(images.len() as u64));
        let analysis = crate::model::check(
            self.model,
            self.spec,
            &images,
            self.limits,
            self.seed,
            self.method,
            self.method_chosen,
            cancel,
            &|| progress.advance(1),
        );
        progress.finish();
        let mut analysis = analysis?;
        if self.coverage > 0 {
            let sample =
                crate::model::coverage_sample(pool_images(planned), self.coverage, self.seed);
            progress.start(Stage::Probe, Some(sample.len() as u64));
            let covered = crate::model::cover(
                self.model,
                self.spec,
                &mut analysis,
                &sample,
                self.limits,
                self.seed,
                cancel,
                &|| progress.advance(1),
            );
            progress.finish();
            covered?;
        }
        Ok(analysis)
    }
}

/// Every pick as the report lists it, sorted by its path in the set.
fn chosen_files(
    planned: &Planned,
    placements: &[export::Placement],
    base: &Path,
) -> Vec<crate::report::ChosenFile> {
    let (images, sel) = (&planned.inv.images, &planned.sel);
    let mut files: Vec<crate::report::ChosenFile> = sel
        .picks
        .iter()
        .zip(placements)
        .map(|(pick, placed)| {
            let img = &images[pick.image];
            crate::report::ChosenFile {
                file: crate::paths::escaped(&placed.dest),
                source: handoff::source_column(img, base),
                bucket: pick.bucket,
                slot: pick.slot.clone(),
                tags: img.labels.tags.iter().cloned().collect(),
                classes: img.labels.classes.iter().cloned().collect(),
                camera: img.labels.camera.clone(),
            }
        })
        .collect();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    files
}

/// Renders the `--html` page: written now when it lies outside the output
/// folder; returned, to be written with the set, when it lies inside.
fn html_page(
    recipe: &Recipe,
    opts: &BuildOptions,
    target: &Target,
    planned: &Planned,
    report: &Report,
    writing: bool,
) -> Result<Option<(PathBuf, Vec<u8>)>, BuildError> {
    let Some(path) = &opts.html else {
        return Ok(None);
    };
    let title = format!("{} calibration set", recipe.name);
    let page = planned.page(recipe, title, report);
    match target.html_in_output() {
        None => html::write(path, &page)?,
        Some(rel) if writing => return Ok(Some((rel.to_owned(), page.into_bytes()))),
        // Not written with the set: the report's warnings say so.
        Some(_) => {}
    }
    Ok(None)
}

/// What a build writes into its set folder, before it is written.
struct SetPlan<'a> {
    recipe: &'a Recipe,
    planned: &'a Planned,
    exports: &'a handoff::Exports,
    out: &'a Path,
}

impl SetPlan<'_> {
    /// Every output of the set: the images (copied or linked), their
    /// low-bitrate re-saves, the lock manifest, pool.csv, the report (without
    /// cache statistics), the recipe copy, the visual report when asked for
    /// inside the folder, and the hand-off files.
    fn outputs(
        &self,
        report: &Report,
        placements: Vec<export::Placement>,
        resaves: Vec<handoff::Resave>,
        analysis: Option<&crate::model::Analysis>,
        mode: LinkMode,
        page: Option<(PathBuf, Vec<u8>)>,
    ) -> Vec<Output> {
        let (recipe, planned) = (self.recipe, self.planned);
        let (images, base) = (&planned.inv.images, &recipe.base_dir);
        let tag = recipe.resave.as_ref().map(|r| r.tag()).unwrap_or_default();
        let mut on_disk = report.clone();
        on_disk.measure = None;
        let file = |path: &Path, bytes: Vec<u8>| Output::File {
            path: path.to_owned(),
            bytes,
        };
        let lock = handoff::lock_manifest(images, &planned.sel, &placements, &resaves, &tag, base);
        let mut outputs = vec![
            file(Path::new(LOCK_FILE), lock),
            file(
                Path::new(POOL_FILE),
                handoff::pool_list(images, &planned.dd, &planned.sel, base),
            ),
            file(Path::new(REPORT_FILE), on_disk.to_json().into_bytes()),
            file(Path::new(RECIPE_FILE), recipe.text.clone().into_bytes()),
        ];
        if let Some((path, bytes)) = page {
            outputs.push(Output::File { path, bytes });
        }
        let calibration = report
            .advice
            .as_ref()
            .and_then(|a| handoff::Calibration::from_advice(a.method, a.percentile))
            .unwrap_or_default();
        outputs.extend(self.handoff(&placements, &resaves, calibration));
        if let Some(analysis) = analysis {
            outputs.extend(
                crate::model::files(analysis)
                    .into_iter()
                    .map(|(path, bytes)| Output::File { path, bytes }),
            );
        }
        outputs.extend(resaves.into_iter().map(|r| file(&r.dest, r.bytes)));
        outputs.insert(0, Output::Images { placements, mode });
        outputs
    }

    /// The hand-off files: the set's images (re-saves included) in
    /// lock-manifest order, their classes, and the recipe's preprocessing.
    fn handoff(
        &self,
        placements: &[export::Placement],
        resaves: &[handoff::Resave],
        calibration: handoff::Calibration,
    ) -> Vec<Output> {
        if self.exports.formats.is_empty() {
            return Vec::new();
        }
        let mut images: Vec<(crate::tensor::Source, &Path)> = placements
            .iter()
            .map(|p| {
                (
                    crate::tensor::Source::File(p.source.clone()),
                    p.dest.as_path(),
                )
            })
            .chain(resaves.iter().map(|r| {
                let bytes = std::sync::Arc::new(r.bytes.clone());
                (crate::tensor::Source::Bytes(bytes), r.dest.as_path())
            }))
            .collect();
        images.sort_by(|a, b| a.1.cmp(b.1));
        let planned = self.planned;
        let classes: std::collections::BTreeSet<String> = planned
            .sel
            .picks
            .iter()
            .flat_map(|p| planned.inv.images[p.image].labels.classes.iter().cloned())
            .collect();
        let chosen = handoff::Chosen {
            out: self.out,
            images,
            classes: classes.into_iter().collect(),
        };
        let recipe = self.recipe;
        handoff::outputs(
            self.exports,
            &chosen,
            recipe.tensor.as_ref(),
            recipe.limits,
            calibration,
        )
    }
}

/// A loaded model, the method the recipe names (if any) and how many pool
/// images the coverage check probes.
type LoadedModel = (crate::model::Model, Option<handoff::Calibration>, usize);

/// The model of this build (`--model`, else `[model]`), loaded before anything
/// else runs so that a model calibset cannot use costs nothing, with the
/// method the recipe names for its range tables.
fn load_model(recipe: &Recipe, opts: &BuildOptions) -> Result<Option<LoadedModel>, BuildError> {
    let plan = match (&opts.model, &recipe.model) {
        (Some(path), plan) => crate::model::ModelPlan {
            path: path.clone(),
            method: plan.as_ref().and_then(|p| p.method),
            coverage: plan
                .as_ref()
                .map_or(crate::model::DEFAULT_COVERAGE, |p| p.coverage),
        },
        (None, Some(plan)) => plan.clone(),
        (None, None) => return Ok(None),
    };
    let spec = recipe.tensor.as_ref().ok_or(BuildError::ModelNeedsTensor)?;
    let model = crate::model::load(&plan, spec)?;
    Ok(Some((model, plan.method, plan.coverage)))
}

/// The distinct pool (what selection chooses from) as the coverage check
/// samples it.
fn pool_images(planned: &Planned) -> Vec<crate::model::ProbeImage> {
    let images = &planned.inv.images;
    (0..images.len())
        .filter(|&i| planned.dd.is_kept(i) && images[i].labels.bucket.is_some())
        .map(|i| {
            let img = &images[i];
            let source = crate::tensor::Source::File(img.file.path.clone());
            let name = img.file.path.clone();
            crate::model::ProbeImage::new(source, name, img.labels.bucket, Some(img))
        })
        .collect()
}

/// The set's images as the probe runs them: in lock-manifest order (by path
/// in the set), re-saves included, as the tensor files hold them.
fn probe_images(
    placements: &[export::Placement],
    resaves: &[handoff::Resave],
    planned: &Planned,
) -> Vec<crate::model::ProbeImage> {
    // Placements are in pick order; a re-save names its pick.
    let chosen = |pick: usize| match planned.sel.picks.get(pick) {
        Some(p) => (Some(p.bucket), Some(&planned.inv.images[p.image])),
        None => (None, None),
    };
    let mut images: Vec<crate::model::ProbeImage> = placements
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let source = crate::tensor::Source::File(p.source.clone());
            let (bucket, image) = chosen(k);
            crate::model::ProbeImage::new(source, p.dest.clone(), bucket, image)
        })
        .chain(resaves.iter().map(|r| {
            let source = crate::tensor::Source::Bytes(std::sync::Arc::new(r.bytes.clone()));
            let (bucket, image) = chosen(r.pick);
            crate::model::ProbeImage::new(source, r.dest.clone(), bucket, image)
        }))
        .collect();
    images.sort_by(|a, b| a.name.cmp(&b.name));
    images
}

/// The hand-off formats of this build: `--export`, else the recipe's; a tensor
/// format needs the recipe's `[tensor]`.
fn exports(recipe: &Recipe, opts: &BuildOptions) -> Result<handoff::Exports, BuildError> {
    let mut exports = recipe.exports.clone();
    if let Some(formats) = &opts.exports {
        exports.formats = formats.iter().copied().collect();
    }
    if recipe.tensor.is_none()
        && let Some(f) = exports.formats.iter().find(|f| f.needs_tensor())
    {
        return Err(BuildError::ExportNeedsTensor { format: f.as_str() });
    }
    Ok(exports)
}
