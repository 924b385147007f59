//! The build report: what was scanned, skipped, removed and chosen, and why a
//! quota could not be met. [`assemble`] makes it from a planned build, [`text`]
//! renders it for people, [`Report::to_json`] for scripts.

mod advice;
mod assemble;
mod text;

pub(crate) use advice::{Advice, advise};
pub(crate) use assemble::{Decided, Outcome, Settings, assemble};
pub use text::write_model;
pub(crate) use text::{found, write_skipped};

use serde::Serialize;

use crate::dedup::DedupSettings;
pub(crate) use crate::inventory::{MeasureSummary, PoolSummary};
use crate::label::{Bucket, PerBucket};
pub(crate) use crate::select::MaxTotal;
use crate::select::{CameraFill, Shortfall, SlotFill, TopUp};

/// One near-duplicate cluster, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    /// The kept image.
    pub kept: String,
    /// Images in the cluster, kept one included.
    pub size: usize,
}

/// De-duplication results.
#[derive(Debug, Clone, Serialize)]
pub struct DedupSummary {
    /// The settings used.
    pub settings: DedupSettings,
    /// Byte-identical copies dropped.
    pub exact_removed: usize,
    /// Near duplicates dropped.
    pub near_removed: usize,
    /// Candidate pairs tested.
    pub candidate_pairs: usize,
    /// Distinct images left per bucket.
    pub kept: PerBucket<usize>,
    /// The largest clusters (up to 10).
    pub largest_groups: Vec<GroupSummary>,
}

/// Where the set went.
#[derive(Debug, Clone, Serialize)]
pub struct OutputSummary {
    /// The output folder.
    pub dir: String,
    /// `copy`, `hardlink` or `symlink`.
    pub mode: crate::export::LinkMode,
    /// `by-bucket`, `flat` or `mirror`.
    pub layout: crate::handoff::Layout,
    /// Image files placed (or that would be, in a dry run).
    pub files: usize,
    /// False for `--dry-run` and when a shortfall stopped the build.
    pub written: bool,
}

/// Chosen images of one bucket and tag set, per camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompositionRow {
    /// The bucket.
    pub bucket: Bucket,
    /// The tag set, sorted; empty for untagged images.
    pub tags: Vec<String>,
    /// Images per camera, by camera name; images without one last.
    pub cameras: Vec<CameraCount>,
}

impl CompositionRow {
    /// Tags as reports print them: `night;rain`, or `(untagged)`.
    pub fn tags_label(&self) -> String {
        if self.tags.is_empty() {
            "(untagged)".to_owned()
        } else {
            self.tags.join(";")
        }
    }

    /// Images of camera `camera` (`None`: without a camera) in this row.
    pub fn count(&self, camera: Option<&str>) -> usize {
        self.cameras
            .iter()
            .find(|c| c.camera.as_deref() == camera)
            .map_or(0, |c| c.chosen)
    }
}

/// Chosen images of one camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CameraCount {
    /// The camera; `null` for images without one.
    pub camera: Option<String>,
    /// Images chosen.
    pub chosen: usize,
}

/// One chosen image, as scripts read it (`--dry-run --json` previews the set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChosenFile {
    /// Its path in the set folder, `/`-separated (`normal/frames__cam01__1.jpg`).
    pub file: String,
    /// Its source, relative to the recipe folder (the lock's `source`).
    pub source: String,
    /// The bucket it fills.
    pub bucket: Bucket,
    /// The slot it fills.
    pub slot: crate::select::SlotKind,
    /// Its tags, sorted.
    pub tags: Vec<String>,
    /// Its object classes, sorted.
    pub classes: Vec<String>,
    /// Its camera; `null` when it has none.
    pub camera: Option<String>,
}

/// Low-bitrate re-saves: extra files, not counted in the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResaveSummary {
    /// JPEG quality.
    pub quality: u8,
    /// Share of the chosen images of `buckets` re-saved.
    pub share: f64,
    /// Buckets they come from.
    pub buckets: Vec<Bucket>,
    /// Images re-saved (or to be, in a dry run).
    pub count: usize,
}

/// Build status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every quota met.
    Ok,
    /// At least one quota or camera minimum could not be met.
    Shortfall,
}

/// Everything a build did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The JSON layout's version ([`crate::schema::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// calibset version.
    pub version: &'static str,
    /// Recipe name.
    pub recipe: String,
    /// The seed used.
    pub seed: u64,
    /// Overall result.
    pub status: Status,
    /// Images wanted.
    pub total: usize,
    /// Reading the pool.
    pub pool: PoolSummary,
    /// Measuring (omitted from files written to disk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<MeasureSummary>,
    /// Frame sequences: time sampling and consecutive duplicates.
    pub sequences: Option<crate::dedup::sequence::SequenceSummary>,
    /// Duplicates.
    pub dedup: DedupSummary,
    /// Per-bucket counts wanted.
    pub wanted: PerBucket<usize>,
    /// Per-bucket counts chosen.
    pub chosen: PerBucket<usize>,
    /// Every slot's fill.
    pub slots: Vec<SlotFill>,
    /// Every camera's contribution.
    pub cameras: Vec<CameraFill>,
    /// The images without a camera: chosen and available.
    pub no_camera: Option<crate::select::NoCamera>,
    /// Images a free share took beyond a quota (they carry its tag).
    pub spill: Vec<crate::select::Spill>,
    /// What a short quota does: `fail` or `fill`.
    pub shortfall_policy: crate::select::ShortfallPolicy,
    /// Chosen images per bucket and tag set, split by camera, sorted.
    pub composition: Vec<CompositionRow>,
    /// Every chosen image (re-saves aside), by `file`.
    pub files: Vec<ChosenFile>,
    /// What could not be met.
    pub shortfalls: Vec<Shortfall>,
    /// With a shortfall: the largest total the de-duplicated pool supports at the
    /// recipe's bucket shares (tag quotas and camera minimums aside).
    pub max_total: Option<MaxTotal>,
    /// Quotas topped up under `shortfall = "fill"`.
    pub topped_up: Vec<TopUp>,
    /// The stability self-check of the chosen set (two seeded halves).
    pub stability: Option<crate::stability::Stability>,
    /// The calibration method that suits the chosen set, and why.
    pub advice: Option<Advice>,
    /// The model input's preprocessing (`[tensor]`), when declared.
    pub tensor: Option<crate::tensor::Spec>,
    /// The check against the model (`[model]`): per-tensor stability, the
    /// images that set the ranges, the tensors kept float.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<crate::model::ModelReport>,
    /// The hand-off files written for the quantizer.
    pub exports: Vec<crate::handoff::Format>,
    /// Low-bitrate re-saves added to the set (`[resave]`).
    pub resaves: Option<ResaveSummary>,
    /// The output.
    pub output: Option<OutputSummary>,
    /// Non-fatal warnings (damaged cache, …).
    pub warnings: Vec<String>,
}

impl Report {
    /// What the shortfall section adds under the shortfalls, as sentences: the
    /// largest total the buckets can fill, and whether shrinking the total is
    /// no cure for some of them.
    pub fn shortfall_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(m) = &self.max_total {
            notes.push(format!(
                "at these bucket shares the pool, near duplicates counted once, supports at most {} images (bucket {} runs out first)",
                m.total, m.limited_by
            ));
        }
        let missing_class = self.shortfalls.iter().find_map(|s| match s {
            crate::select::Shortfall::Slot {
                slot: crate::select::SlotKind::Class(c),
                available: 0,
                ..
            } => Some(c),
            _ => None,
        });
        if let Some(class) = missing_class {
            let known: Vec<&str> = self.pool.classes.keys().map(String::as_str).collect();
            let ids =
                !known.is_empty() && known.iter().all(|k| k.bytes().all(|b| b.is_ascii_digit()));
            notes.push(match (known.is_empty(), ids) {
                (true, _) => format!("no image has class `{class}`: the pool has no class labels (a manifest `classes` column or [annotations])"),
                (false, true) => format!(
                    "no image has class `{class}`: the pool's classes are ids {} (YOLO labels without names: set annotations.names, or annotations.path to the dataset's data.yaml)",
                    known.join(", ")
                ),
                (false, false) => format!("no image has class `{class}`; the pool's classes are {}", known.join(", ")),
            });
        }
        if self.shortfalls.iter().any(|s| !s.shrinks_with_total()) {
            notes.push(
                "a smaller total does not fix the tag, class or camera shortfalls: they need more distinct images or a smaller quota".to_owned(),
            );
        }
        notes
    }

    /// The diagnostics the front end prints on stderr: warnings, flagged
    /// stability statistics, and how many files were skipped.
    pub fn diagnostics(&self) -> Vec<String> {
        let mut lines = self.warnings.clone();
        if let Some(st) = &self.stability {
            lines.extend(st.flagged.iter().map(|f| format!("stability: {f}")));
        }
        if let Some(m) = &self.model {
            let st = &m.stability;
            if st.over_15 > 0 {
                lines.push(format!(
                    "model: {} of {} tensors' ranges differ by more than 15% between the set's halves (worst {}, {:.0}%): too few images or a skewed mix",
                    st.over_15,
                    m.tensors - m.float.len(),
                    st.worst.first().map_or("", |w| w.tensor.as_str()),
                    st.worst.first().map_or(0.0, |w| w.drift * 100.0)
                ));
            }
            if m.non_finite > 0 {
                lines.push(format!(
                    "model: {} NaN or infinite activations",
                    m.non_finite
                ));
            }
        }
        if self.pool.skipped() > 0 {
            lines.push(format!(
                "{} file(s) skipped (see the report)",
                self.pool.skipped()
            ));
        }
        lines
    }

    /// The report as pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report serialises");
        s.push('\n');
        s
    }
}
