//! Recipes: the TOML file that says what a calibration set must contain.
//!
//! [`Recipe::load`] reads and parses the file ([`raw`]), then validates it
//! ([`validate`]) into the typed [`Recipe`] the rest of the pipeline uses. Every
//! problem found is reported at once, each with its `file:line:column` and dotted
//! key, so a user fixes a recipe in one pass.

mod raw;
mod span;
mod summary;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub(crate) use crate::bucket::Rule;
use crate::dedup::DedupSettings;
use crate::export::LinkMode;
use crate::handoff::Layout;
use crate::label::{Bucket, PerBucket};
use crate::pattern::PathPattern;
pub(crate) use crate::select::BucketPlan;
use crate::select::MaxTotal;
use crate::select::ShortfallPolicy;
pub(crate) use crate::source::Sources;

/// A validated recipe. Paths are resolved against the recipe's directory.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// The recipe file as given.
    pub path: PathBuf,
    /// The recipe's text as read (copied into the output as `recipe.toml`).
    pub text: String,
    /// The directory patterns and relative paths are resolved against.
    pub base_dir: PathBuf,
    /// `name`: defaults to the file stem.
    pub name: String,
    /// `seed`: all randomness derives from it. Default 0.
    pub seed: u64,
    /// `total`: images in the set (sum of the bucket counts).
    pub total: usize,
    /// Per-bucket counts, tag quotas and tag minimums.
    pub buckets: PerBucket<BucketPlan>,
    /// `split` weights, when the recipe gives them (else the bucket counts are explicit).
    pub split: Option<PerBucket<f64>>,
    /// `shortfall`: what to do when a quota cannot be met. Default `fail`.
    pub shortfall: ShortfallPolicy,
    /// `default_bucket`: bucket for images no manifest row or rule buckets. Default: none
    /// (such images are reported as unbucketed and not used).
    pub default_bucket: Option<Bucket>,
    /// `[sources]`.
    pub sources: Sources,
    /// `[camera]`.
    pub camera: CameraPlan,
    /// `[dedup]`.
    pub dedup: DedupSettings,
    /// `[sequences]`.
    pub sequences: crate::dedup::sequence::SequencePlan,
    /// `[annotations]`: YOLO, COCO or VOC labels, paths resolved.
    pub annotations: Option<crate::annotations::AnnotationSpec>,
    /// `[quality]`: thresholds of the measured tags.
    pub quality: crate::features::Thresholds,
    /// `[limits]`: what one image may cost to decode.
    pub limits: crate::decode::Limits,
    /// `[stability] threshold`: share of the calibrated range above which the two
    /// halves of the set are flagged as differing. Default 0.10.
    pub stability_threshold: f64,
    /// `[video]`: path of the ffmpeg executable, when set.
    pub ffmpeg: Option<PathBuf>,
    /// `[[rules]]`, in file order; the first match wins.
    pub rules: Vec<Rule>,
    /// `[classes]`: classes every set must show.
    pub classes: Option<ClassPlan>,
    /// `[output]`.
    pub output: OutputPlan,
    /// `[tensor]`: the model input's preprocessing, when the recipe declares it.
    pub tensor: Option<crate::tensor::Spec>,
    /// `[model]`: the FP32 model the set is checked against.
    pub model: Option<crate::model::ModelPlan>,
    /// `[export]`: the hand-off files for the quantizer.
    pub exports: crate::handoff::Exports,
    /// `[resave]`: low-bitrate re-saves of a share of the set.
    pub resave: Option<crate::handoff::ResavePlan>,
}

/// `[classes]`: object classes the set must show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassPlan {
    /// `require`: the classes.
    pub require: Vec<String>,
    /// `min`: images per class. Default 1.
    pub min: usize,
    /// `bucket`: where they must appear. Default normal.
    pub bucket: Bucket,
}

/// How cameras are named and how many images each must contribute.
#[derive(Debug, Clone, Default)]
pub struct CameraPlan {
    /// `from`: pattern whose `{camera}` capture names an image's camera.
    pub from: Option<PathPattern>,
    /// `min`: images each camera contributes at least. Default 0.
    pub min: usize,
    /// `balance` / `weights`: how each bucket's picks are shared among
    /// cameras. Default proportional to their distinct images.
    pub balance: crate::select::Balance,
}

/// `[output]`.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    /// `dir`: where the set is written, resolved against the recipe directory.
    pub dir: Option<PathBuf>,
    /// `mode`: copy, hardlink or symlink. Default copy.
    pub mode: LinkMode,
    /// `layout`: by-bucket, flat or mirror. Default by-bucket.
    pub layout: Layout,
}

/// One thing wrong with a recipe, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Dotted key, e.g. `buckets.hard.quota.night` or `rules[2].match`.
    pub key: String,
    /// What is wrong, and how to fix it where that is clear.
    pub message: String,
}

/// A recipe that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The file could not be read.
    #[error("cannot read recipe {}", path.display())]
    Read {
        /// The recipe path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid recipe.
    #[error("{}", Invalid { path, problems })]
    Invalid {
        /// The recipe path.
        path: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

struct Invalid<'a> {
    path: &'a Path,
    problems: &'a [Problem],
}

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid recipe {} ({n} problem{})",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.problems {
            write!(
                f,
                "\n  {}:{}:{}: {}: {}",
                self.path.display(),
                p.line,
                p.column,
                p.key,
                p.message
            )?;
        }
        Ok(())
    }
}

impl Recipe {
    /// Reads, parses and validates the recipe at `path`.
    pub fn load(path: &Path) -> Result<Self, RecipeError> {
        let text = crate::source::read_text(path, crate::source::RECIPE_LIMIT).map_err(|e| {
            RecipeError::Read {
                path: path.to_owned(),
                source: e.into_io(),
            }
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates recipe text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, RecipeError> {
        let invalid = |problems| RecipeError::Invalid {
            path: path.to_owned(),
            problems,
        };
        let source = span::SourceMap::new(text);
        let raw = raw::read_all(text, &source).map_err(invalid)?;
        let base_dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let base_dir = crate::paths::normalize(&std::path::absolute(&base_dir).unwrap_or(base_dir));
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "calibset".into());
        validate::validate(raw, &source, path, base_dir, stem).map_err(invalid)
    }
}

impl Recipe {
    /// A recipe that only names folders to read (for audits): no buckets, no
    /// quotas, default dedup and quality settings, paths relative to `base_dir`.
    pub fn for_roots(base_dir: &Path, roots: &[PathBuf]) -> Self {
        let base_dir = crate::paths::normalize(
            &std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_owned()),
        );
        Recipe {
            path: base_dir.join("(roots)"),
            text: String::new(),
            name: "(folders)".into(),
            seed: 0,
            total: 0,
            buckets: PerBucket::default(),
            split: None,
            shortfall: ShortfallPolicy::Fail,
            default_bucket: None,
            sources: Sources {
                roots: roots
                    .iter()
                    .map(|r| crate::paths::resolve(&base_dir, r))
                    .collect(),
                manifest: None,
                exclude: Vec::new(),
                allow_outside: false,
                follow_symlinks: false,
            },
            camera: CameraPlan::default(),
            dedup: DedupSettings::default(),
            sequences: crate::dedup::sequence::SequencePlan {
                consecutive: true,
                ..Default::default()
            },
            ffmpeg: None,
            quality: crate::features::Thresholds::default(),
            limits: crate::decode::Limits::default(),
            stability_threshold: crate::stability::DEFAULT_THRESHOLD,
            annotations: None,
            rules: Vec::new(),
            classes: None,
            output: OutputPlan {
                dir: None,
                mode: LinkMode::Copy,
                layout: Layout::ByBucket,
            },
            tensor: None,
            model: None,
            exports: crate::handoff::Exports::default(),
            resave: None,
            base_dir,
        }
    }

    /// The input files and folders besides the roots: the recipe itself, the
    /// manifest, and the annotation file or folder, images folder and names.
    pub fn inputs(&self) -> Vec<&Path> {
        let a = self.annotations.as_ref();
        [Some(&self.path), self.sources.manifest.as_ref()]
            .into_iter()
            .chain([a.map(|a| &a.path), a.and_then(|a| a.images.as_ref())])
            .chain([a.and_then(|a| a.names.as_ref())])
            .flatten()
            .map(PathBuf::as_path)
            .collect()
    }

    /// What the labeller needs of this recipe.
    pub fn label_rules(&self) -> crate::bucket::LabelRules<'_> {
        crate::bucket::LabelRules {
            rules: &self.rules,
            camera_from: self.camera.from.as_ref(),
            default_bucket: self.default_bucket,
            thresholds: &self.quality,
        }
    }

    /// Bucket counts for `total` images at this recipe's split (or its explicit
    /// counts scaled by largest remainder).
    pub fn counts_for(&self, total: usize) -> PerBucket<usize> {
        let weights = self.split.clone().unwrap_or(PerBucket {
            normal: self.buckets.normal.count as f64,
            hard: self.buckets.hard.count as f64,
            background: self.buckets.background.count as f64,
        });
        validate::largest_remainder(total, &weights)
    }

    /// The largest total whose bucket counts (at the recipe's shares) all fit the
    /// distinct images per bucket and still hold each bucket's quotas and
    /// minimums (so the advice is a valid recipe); `None` when the recipe's own
    /// total fits (its shortfall is elsewhere) or when no total does.
    pub(crate) fn max_total(&self, kept: &PerBucket<usize>) -> Option<MaxTotal> {
        // A total is only advice if the recipe stays valid at it: each bucket's
        // count must still hold its quotas and minimums.
        let reserved = |b: Bucket| {
            let plan = &self.buckets[b];
            plan.quota.values().chain(plan.min.values()).sum::<usize>()
        };
        let fits = |t: usize| {
            let c = self.counts_for(t);
            Bucket::ALL
                .into_iter()
                .all(|b| c[b] <= kept[b] && c[b] >= reserved(b))
        };
        if fits(self.total) {
            return None;
        }
        // Largest-remainder counts are not monotone in the total (the Alabama
        // paradox), so scan rather than bisect; each step is a few operations.
        let upper: usize = kept.iter().map(|(_, n)| n).sum();
        let lo = (1..=upper).rev().find(|&t| fits(t)).unwrap_or(0);
        let next = self.counts_for(lo + 1);
        let limited_by = Bucket::ALL
            .into_iter()
            .find(|&b| next[b] > kept[b])
            .unwrap_or(Bucket::Normal);
        (lo > 0).then_some(MaxTotal {
            total: lo,
            limited_by,
        })
    }
}

#[cfg(test)]
mod tests;
