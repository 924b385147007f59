//! `calibset audit`: what a pool holds, without building a set.
//!
//! An audit reads the whole pool (every image, bucketed or not), measures it
//! (through the cache: after a build nothing is decoded again), removes
//! duplicates as a build would, and tries the recipe's selection, so it shows
//! counts per bucket, tag, camera, class and measured tag, the largest duplicate
//! groups with their paths, skipped files, quality histograms and whether the
//! recipe can be filled. [`Thresholds`] turn findings into a failing exit code
//! for CI gates.

mod text;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::dedup::ImageStatus;
use crate::dedup::Removal;
use crate::html;
use crate::pipeline::{self, BuildError, PlanOptions, Planned};
use crate::pool::PoolImage;
use crate::progress::Progress;
use crate::recipe::Recipe;
use crate::report::Report;

/// Limits above which an audit fails (exit 1). `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Thresholds {
    /// Most skipped (unreadable) files allowed.
    pub max_issues: Option<usize>,
    /// Largest share (0–1) of usable images that may be duplicates of another.
    pub max_duplicate_share: Option<f64>,
    /// Fail when the recipe cannot be filled.
    pub require_fill: bool,
}

/// One duplicate group, for the audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The image the group keeps.
    pub kept: String,
    /// The others, with why each goes.
    pub members: Vec<Member>,
}

/// One image of a duplicate group that is not kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// Its path, relative to the recipe folder.
    pub path: String,
    /// Why it goes: `exact-duplicate`, `near-duplicate`, `consecutive-duplicate`, ….
    pub status: ImageStatus,
}

/// A histogram: `edges.len() == counts.len() + 1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// What is counted.
    pub name: &'static str,
    /// Bin edges.
    pub edges: Vec<f64>,
    /// Images per bin.
    pub counts: Vec<usize>,
}

/// A finding that crossed a threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Which threshold.
    pub check: &'static str,
    /// What was found.
    pub message: String,
}

/// Everything an audit found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The JSON layout's version (as the build report's).
    pub schema_version: u32,
    /// The build report as a dry run would give it (selection included).
    pub report: Report,
    /// Usable images per tag.
    pub tags: BTreeMap<String, usize>,
    /// Usable images per camera.
    pub cameras: BTreeMap<String, usize>,
    /// Usable images without a camera.
    pub no_camera: usize,
    /// Usable images per class.
    pub classes: BTreeMap<String, usize>,
    /// Usable images per measured tag.
    pub measured: BTreeMap<String, usize>,
    /// Usable images that duplicate another (exact, near, consecutive).
    pub duplicates: usize,
    /// The largest duplicate groups, largest first.
    pub groups: Vec<Group>,
    /// Mean luma, relative sharpness and JPEG quality over usable images.
    pub histograms: Vec<Histogram>,
    /// Thresholds crossed.
    pub findings: Vec<Finding>,
}

/// What an audit reads and lists, and when it fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditOptions<'a> {
    /// Cache folder; `None` disables the cache.
    pub cache_dir: Option<&'a Path>,
    /// Duplicate groups to list (in the text, the JSON and the page).
    pub groups: usize,
    /// Limits above which the audit fails.
    pub thresholds: Thresholds,
    /// Also write the visual report here.
    pub html: Option<&'a Path>,
    /// A feature index to measure from (`--index`).
    pub index: Option<&'a Path>,
}

/// Audits `recipe`'s pool (writing the cache, and the visual report when
/// asked for).
pub fn audit(
    recipe: &Recipe,
    opts: &AuditOptions<'_>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<AuditReport, BuildError> {
    if let Some(path) = opts.html {
        html::check(path, &recipe.sources.roots, &recipe.inputs(), None)?;
    }
    let feature_index = pipeline::open_index(opts.index)?;
    let plan_options = PlanOptions {
        cache_dir: opts.cache_dir,
        save_cache: true,
        seed: recipe.seed,
        keep_unbucketed: true,
        index: feature_index.as_ref(),
    };
    let planned = pipeline::plan(recipe, &plan_options, progress, cancel)?;
    let report = planned.report(recipe);
    let images = &planned.inv.images;
    let [tags, cameras, classes, measured] = counts(images);
    let no_camera = images.iter().filter(|i| i.labels.camera.is_none()).count();
    let duplicates = planned
        .dd
        .removed
        .iter()
        .filter(|r| {
            matches!(
                r,
                Some(Removal::Exact { .. } | Removal::Near { .. } | Removal::Consecutive { .. })
            )
        })
        .count();
    let findings = findings(&report, duplicates, images.len(), &opts.thresholds);
    let audit = AuditReport {
        schema_version: crate::schema::SCHEMA_VERSION,
        groups: groups(&planned, opts.groups),
        histograms: histograms(images),
        report,
        tags,
        cameras,
        no_camera,
        classes,
        measured,
        duplicates,
        findings,
    };
    if let Some(path) = opts.html {
        let images = html::images(&planned.inv.images, &planned.dd, &planned.sel);
        let page = html::render_audit(&html::HtmlInput {
            title: title(recipe),
            report: &audit.report,
            images: &images,
            groups: opts.groups,
            limits: recipe.limits,
        });
        html::write(path, &page)?;
    }
    Ok(audit)
}

/// The audit page's title: `calibset audit — NAME`, NAME being the recipe's
/// name, or for an audit of folders (a recipe of no images, as the text
/// audit tells them apart) the folders, relative to the current one.
fn title(recipe: &Recipe) -> String {
    let name = if recipe.total == 0 {
        recipe
            .sources
            .roots
            .iter()
            .map(|r| match r.strip_prefix(&recipe.base_dir) {
                Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
                Ok(rel) => rel.display().to_string(),
                Err(_) => r.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        recipe.name.clone()
    };
    format!("calibset audit — {name}")
}

/// Usable images per tag, camera (those with one), class and measured tag.
fn counts(images: &[PoolImage]) -> [BTreeMap<String, usize>; 4] {
    let mut maps: [BTreeMap<String, usize>; 4] = Default::default();
    let mut count = |k: usize, key: &str| *maps[k].entry(key.to_owned()).or_default() += 1;
    for img in images {
        for t in &img.labels.tags {
            count(0, t);
        }
        if let Some(camera) = &img.labels.camera {
            count(1, camera);
        }
        for c in &img.labels.classes {
            count(2, c);
        }
        for m in &img.labels.measured {
            count(3, m);
        }
    }
    maps
}

/// The `n` largest duplicate groups, each member with what became of it.
fn groups(planned: &Planned, n: usize) -> Vec<Group> {
    let images = &planned.inv.images;
    let rel = |i: usize| images[i].file.rel.clone();
    let chosen: HashSet<usize> = planned.sel.picks.iter().map(|p| p.image).collect();
    planned
        .dd
        .groups()
        .into_iter()
        .take(n)
        .map(|(kept, members)| Group {
            kept: rel(kept),
            members: members
                .into_iter()
                .filter(|&m| m != kept)
                .map(|m| Member {
                    path: rel(m),
                    status: ImageStatus::of(&planned.dd, &chosen, m),
                })
                .collect(),
        })
        .collect()
}

/// Mean luma, relative sharpness and JPEG quality over the usable images.
fn histograms(images: &[PoolImage]) -> Vec<Histogram> {
    vec![
        histogram(
            "mean luma",
            images.iter().map(|i| f64::from(i.features.quality.mean)),
            0.0,
            256.0,
            16,
        ),
        histogram(
            "relative sharpness (log10)",
            images.iter().map(|i| {
                f64::from(i.features.quality.relative_sharpness())
                    .max(1e-3)
                    .log10()
            }),
            -3.0,
            2.0,
            10,
        ),
        histogram(
            "JPEG quality",
            images
                .iter()
                .filter_map(|i| i.features.quality.jpeg_quality.map(f64::from)),
            0.0,
            101.0,
            10,
        ),
    ]
}

/// The thresholds `report` crosses (`duplicates` of `usable` images).
fn findings(
    report: &Report,
    duplicates: usize,
    usable: usize,
    thresholds: &Thresholds,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let issues = report.pool.skipped();
    if let Some(max) = thresholds.max_issues
        && issues > max
    {
        findings.push(Finding {
            check: "max-issues",
            message: format!("{issues} files skipped, more than {max}"),
        });
    }
    if let Some(max) = thresholds.max_duplicate_share {
        let share = duplicates as f64 / usable.max(1) as f64;
        if share > max {
            findings.push(Finding {
                check: "max-duplicate-share",
                message: format!(
                    "{:.1}% of usable images duplicate another, more than {:.1}%",
                    share * 100.0,
                    max * 100.0
                ),
            });
        }
    }
    if thresholds.require_fill && !report.shortfalls.is_empty() {
        findings.push(Finding {
            check: "require-fill",
            message: format!(
                "the recipe cannot be filled ({} shortfall(s))",
                report.shortfalls.len()
            ),
        });
    }
    findings
}

/// Counts `values` into `bins` equal bins over `[lo, hi)`; values outside go to
/// the first or last bin.
pub(crate) fn histogram(
    name: &'static str,
    values: impl Iterator<Item = f64>,
    lo: f64,
    hi: f64,
    bins: usize,
) -> Histogram {
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in values.filter(|v| v.is_finite()) {
        let b = ((v - lo) / width).floor().clamp(0.0, (bins - 1) as f64) as usize;
        counts[b] += 1;
    }
    Histogram {
        name,
        edges: (0..=bins).map(|k| lo + width * k as f64).collect(),
        counts,
    }
}

impl AuditReport {
    /// The audit as pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("audit serialises");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_and_clamps() {
        let h = histogram(
            "x",
            [0.0, 9.9, 10.0, 55.0, 99.0, 150.0, -5.0, f64::NAN].into_iter(),
            0.0,
            100.0,
            10,
        );
        assert_eq!(h.counts, [3, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(h.edges.len(), 11);
        assert_eq!(h.edges[1], 10.0);
    }
}
