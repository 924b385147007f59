//! The report of a planned build: counts per bucket, the largest duplicate
//! groups, the composition of the chosen set, the shortfalls and the largest
//! total the pool supports, the stability check and the method advice (the
//! last three computed by the plan), and what writing the set added: the
//! files, the re-saves, the model check, the output folder.

use std::collections::BTreeMap;

use super::{
    Advice, CameraCount, ChosenFile, CompositionRow, DedupSummary, GroupSummary, MaxTotal,
    OutputSummary, Report, ResaveSummary, Status,
};
use crate::dedup::{Dedup, DedupSettings, SequenceSummary};
use crate::handoff::Format;
use crate::inventory::Inventory;
use crate::label::{Bucket, PerBucket};
use crate::pool::PoolImage;
use crate::select::{Selection, ShortfallPolicy};
use crate::stability::Stability;
use crate::tensor;

/// What the report prints of the recipe, resolved once by `pipeline`.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The recipe's name.
    pub name: String,
    /// `total`.
    pub total: usize,
    /// The images wanted per bucket.
    pub wanted: PerBucket<usize>,
    /// `[dedup]`.
    pub dedup: DedupSettings,
    /// `shortfall`.
    pub shortfall: ShortfallPolicy,
    /// `[tensor]`.
    pub tensor: Option<tensor::Spec>,
    /// The hand-off formats written with the set.
    pub exports: Vec<Format>,
}

/// What a plan decided, complete: the report is built once from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decided<'a> {
    /// The selection seed.
    pub seed: u64,
    /// The pool.
    pub inv: &'a Inventory,
    /// Duplicates (after sequence sampling).
    pub dd: &'a Dedup,
    /// What sequence sampling did.
    pub sequences: &'a SequenceSummary,
    /// The chosen images.
    pub sel: &'a Selection,
    /// The largest total the pool supports, when the recipe's is short.
    pub max_total: Option<&'a MaxTotal>,
    /// The stability check of the chosen set (two or more images).
    pub stability: Option<&'a Stability>,
    /// The calibration method advice for the chosen set.
    pub advice: Option<&'a Advice>,
}

/// What a build adds to its plan's report before the set is written (an
/// audit adds nothing).
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// Every pick, by its path in the set.
    pub files: Vec<ChosenFile>,
    /// The low-bitrate re-saves asked for.
    pub resaves: Option<ResaveSummary>,
    /// The check against the model.
    pub model: Option<crate::model::ModelReport>,
    /// The output folder and what goes (or would go) into it.
    pub output: Option<OutputSummary>,
    /// Warnings of the build's own (after the pool's).
    pub warnings: Vec<String>,
}

/// The report of a planned build, complete: `plan` and `outcome` hold every
/// part of it.
pub(crate) fn assemble(settings: &Settings, plan: Decided<'_>, outcome: Outcome) -> Report {
    let Decided {
        seed,
        inv,
        dd,
        sequences,
        sel,
        max_total,
        stability,
        advice,
    } = plan;
    let Outcome {
        files,
        resaves,
        model,
        output,
        warnings: built,
    } = outcome;
    let images = &inv.images;
    let (chosen, composition) = composition(images, sel);
    Report {
        schema_version: crate::schema::SCHEMA_VERSION,
        version: env!("CARGO_PKG_VERSION"),
        recipe: settings.name.clone(),
        seed,
        status: if sel.shortfalls.is_empty() {
            Status::Ok
        } else {
            Status::Shortfall
        },
        total: settings.total,
        pool: inv.summary.clone(),
        measure: Some(inv.measure),
        dedup: dedup_summary(settings.dedup, dd, images),
        wanted: settings.wanted.clone(),
        chosen,
        slots: sel.slots.clone(),
        cameras: sel.cameras.clone(),
        no_camera: sel.no_camera.clone(),
        spill: sel.spill.clone(),
        shortfall_policy: settings.shortfall,
        composition,
        files,
        shortfalls: sel.shortfalls.clone(),
        max_total: max_total.cloned(),
        topped_up: sel.topped_up.clone(),
        stability: stability.cloned(),
        sequences: (sequences.sequences > 0 || !sequences.stills.is_empty())
            .then(|| sequences.clone()),
        advice: advice.cloned(),
        tensor: settings.tensor.clone(),
        model,
        exports: settings.exports.clone(),
        resaves,
        output,
        warnings: [warnings(inv, sequences), built].concat(),
    }
}

/// What de-duplication did: the removals, the images kept per bucket and the
/// ten largest duplicate groups.
fn dedup_summary(settings: DedupSettings, dd: &Dedup, images: &[PoolImage]) -> DedupSummary {
    let largest_groups = dd
        .groups()
        .into_iter()
        .take(10)
        .map(|(rep, members)| GroupSummary {
            kept: images[rep].file.rel.clone(),
            size: members.len(),
        })
        .collect();
    DedupSummary {
        settings,
        exact_removed: dd.exact_removed(),
        near_removed: dd.near_removed(),
        candidate_pairs: dd.candidate_pairs,
        kept: dd.kept_per_bucket(images),
        largest_groups,
    }
}

/// The chosen images counted per bucket, and per bucket and tags, by camera
/// (rows in bucket and tag order, cameras by name with none last).
fn composition(images: &[PoolImage], sel: &Selection) -> (PerBucket<usize>, Vec<CompositionRow>) {
    let mut chosen = PerBucket::<usize>::default();
    // Cameras sort by name with `None` last: keyed `(false, name)` / `(true, "")`.
    type Cameras = BTreeMap<(bool, String), usize>;
    let mut composition: BTreeMap<(Bucket, Vec<String>), Cameras> = BTreeMap::new();
    for p in &sel.picks {
        chosen[p.bucket] += 1;
        let img = &images[p.image];
        let tags = img.labels.tags.iter().cloned().collect();
        let camera = match &img.labels.camera {
            Some(c) => (false, c.clone()),
            None => (true, String::new()),
        };
        *composition
            .entry((p.bucket, tags))
            .or_default()
            .entry(camera)
            .or_default() += 1;
    }
    let rows = composition
        .into_iter()
        .map(|((bucket, tags), cameras)| CompositionRow {
            bucket,
            tags,
            cameras: cameras
                .into_iter()
                .map(|((none, name), chosen)| CameraCount {
                    camera: (!none).then_some(name),
                    chosen,
                })
                .collect(),
        })
        .collect();
    (chosen, rows)
}

/// The pool's warnings, and one for frame sequences not sampled by time.
fn warnings(inv: &Inventory, q: &SequenceSummary) -> Vec<String> {
    let mut warnings = inv.warnings.clone();
    if q.unsampled_frames > 0 {
        warnings.push(format!(
            "{} frame sequence(s) of {} frames were not sampled by time, so bursts and slow pans keep near-alike frames the 0.98 rule lets through: set `sequences.every` (one frame every 0.5–2 s, as the domain rule says; with `sequences.fps` for numbered frames without a `time`)",
            q.unsampled_sequences, q.unsampled_frames
        ));
    }
    warnings
}
