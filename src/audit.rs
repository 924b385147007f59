//! `calibset audit`: what a pool holds, without building a set.
//!
//! An audit reads the whole pool (every image, bucketed or not), measures it
//! (through the cache: after a build nothing is decoded again), removes
//! duplicates as a build would, and tries the recipe's selection, so it shows
//! counts per bucket, tag, camera, class and measured tag, the largest duplicate
//! groups with their paths, skipped files, quality histograms and whether the
//! recipe can be filled. [`Thresholds`] turn findings into a failing exit code
//! for CI gates.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::dedup::Removal;
use crate::pipeline::{self, BuildError, PlanOptions, Planned};
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
    /// The others, with why each goes (`exact-duplicate`, `near-duplicate`, …).
    pub members: Vec<(String, &'static str)>,
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
    /// The build report as a dry run would give it (selection included).
    pub report: Report,
    /// Usable images per tag.
    pub tags: BTreeMap<String, usize>,
    /// Usable images per camera.
    pub cameras: BTreeMap<String, usize>,
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

/// Audits `recipe`'s pool. `groups` is how many duplicate groups to list.
pub fn audit(
    recipe: &Recipe,
    opts: &PlanOptions<'_>,
    groups: usize,
    thresholds: &Thresholds,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<(AuditReport, Planned), BuildError> {
    let planned = pipeline::plan(recipe, opts, progress, cancel)?;
    let Planned { inv, dd, sel, .. } = &planned;
    let mut report = pipeline::assemble(recipe, opts.seed, inv, dd, sel);
    report.sequences = (planned.sequences.sequences > 0).then(|| planned.sequences.clone());
    let images = &inv.images;
    let count = |map: &mut BTreeMap<String, usize>, key: &str| {
        *map.entry(key.to_owned()).or_default() += 1;
    };
    let (mut tags, mut cameras, mut classes, mut measured) = Default::default();
    for img in images {
        for t in &img.labels.tags {
            count(&mut tags, t);
        }
        count(&mut cameras, img.labels.camera.as_deref().unwrap_or("-"));
        for c in &img.labels.classes {
            count(&mut classes, c);
        }
        for m in &img.labels.measured {
            count(&mut measured, m);
        }
    }
    let duplicates = dd
        .removed
        .iter()
        .filter(|r| {
            matches!(
                r,
                Some(Removal::Exact { .. } | Removal::Near { .. } | Removal::Consecutive { .. })
            )
        })
        .count();
    let rel = |i: usize| images[i].file.rel.clone();
    let chosen = sel.picks.iter().map(|p| p.image).collect();
    let status = |i: usize| pipeline::status(dd, &chosen, i);
    let groups = dd
        .groups()
        .into_iter()
        .take(groups)
        .map(|(kept, members)| Group {
            kept: rel(kept),
            members: members
                .into_iter()
                .filter(|&m| m != kept)
                .map(|m| (rel(m), status(m)))
                .collect(),
        })
        .collect();
    let histograms = vec![
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
    ];
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
        let share = duplicates as f64 / images.len().max(1) as f64;
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
    Ok((
        AuditReport {
            report,
            tags,
            cameras,
            classes,
            measured,
            duplicates,
            groups,
            histograms,
            findings,
        },
        planned,
    ))
}

/// Counts `values` into `bins` equal bins over `[lo, hi)`; values outside go to
/// the first or last bin.
pub fn histogram(
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

    /// Writes the human-readable audit.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        let r = &self.report;
        let usable: usize = r.pool.usable.iter().map(|(_, n)| n).sum::<usize>() + r.pool.unbucketed;
        writeln!(
            w,
            "pool      {} images found, {usable} readable, {} skipped",
            r.pool.scanned + r.pool.video_frames,
            r.pool.skipped()
        )?;
        if let Some(m) = &r.measure {
            writeln!(
                w,
                "measured  {} from cache, {} decoded",
                m.from_cache, m.decoded
            )?;
        }
        writeln!(
            w,
            "buckets   normal {}, hard {}, background {}, unbucketed {}",
            r.pool.usable.normal, r.pool.usable.hard, r.pool.usable.background, r.pool.unbucketed
        )?;
        writeln!(
            w,
            "duplicates {} of {usable} ({} exact, {} near, {} consecutive); distinct per bucket: normal {}, hard {}, background {}",
            self.duplicates,
            r.dedup.exact_removed,
            r.dedup.near_removed,
            r.sequences.as_ref().map_or(0, |s| s.consecutive_duplicates),
            r.dedup.kept.normal,
            r.dedup.kept.hard,
            r.dedup.kept.background
        )?;
        for (title, map) in [
            ("tags", &self.tags),
            ("cameras", &self.cameras),
            ("classes", &self.classes),
            ("measured", &self.measured),
        ] {
            if map.is_empty() {
                continue;
            }
            writeln!(w)?;
            writeln!(w, "{title}:")?;
            for (k, n) in map {
                writeln!(w, "  {k:<28} {n:>7}")?;
            }
        }
        for h in &self.histograms {
            writeln!(w)?;
            writeln!(w, "{}:", h.name)?;
            let max = h.counts.iter().copied().max().unwrap_or(0).max(1);
            for (k, &n) in h.counts.iter().enumerate() {
                let bar = "█".repeat((n * 40).div_ceil(max).min(40) * usize::from(n > 0));
                writeln!(
                    w,
                    "  {:>7.1} – {:<7.1} {n:>6} {bar}",
                    h.edges[k],
                    h.edges[k + 1]
                )?;
            }
        }
        if !self.groups.is_empty() {
            writeln!(w)?;
            writeln!(w, "largest duplicate groups:")?;
            for g in &self.groups {
                writeln!(w, "  {} images, kept {}", g.members.len() + 1, g.kept)?;
                for (m, why) in g.members.iter().take(8) {
                    writeln!(w, "    {why:<22} {m}")?;
                }
                if g.members.len() > 8 {
                    writeln!(w, "    … and {} more", g.members.len() - 8)?;
                }
            }
        }
        if !r.pool.issues.is_empty() {
            writeln!(w)?;
            writeln!(w, "skipped files ({}):", r.pool.skipped())?;
            for i in &r.pool.issues {
                writeln!(w, "  {}: {}", i.path, i.message)?;
            }
            if r.pool.missing_unlisted() > 0 {
                writeln!(
                    w,
                    "  … and {} more manifest rows whose files were not found",
                    r.pool.missing_unlisted()
                )?;
            }
        }
        writeln!(w)?;
        if r.total == 0 {
            writeln!(w, "recipe    none (audit of folders)")?;
        } else if r.shortfalls.is_empty() {
            writeln!(
                w,
                "recipe    {} can be filled: {} images",
                r.recipe, r.total
            )?;
        } else {
            writeln!(w, "recipe    {} cannot be filled:", r.recipe)?;
            for s in &r.shortfalls {
                writeln!(w, "  {s}")?;
            }
            for note in r.shortfall_notes() {
                writeln!(w, "  {note}")?;
            }
        }
        for f in &self.findings {
            writeln!(w, "FINDING   {}: {}", f.check, f.message)?;
        }
        Ok(())
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
