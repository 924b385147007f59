//! The build report: what was scanned, skipped, removed and chosen, and why a
//! quota could not be met. Rendered as text for people and as JSON for scripts.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::dedup::{DedupSettings, Threshold};
use crate::label::{Bucket, PerBucket};
use crate::select::{CameraFill, Shortfall, SlotFill, TopUp};

/// A file that could not be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Path relative to the recipe directory.
    pub path: String,
    /// Short kind: `empty`, `not-an-image`, `corrupt`, `io`, `walk`, `missing`.
    pub kind: &'static str,
    /// Human explanation.
    pub message: String,
}

/// Counts from reading the pool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PoolSummary {
    /// Image files found under the roots.
    pub scanned: usize,
    /// Skipped by `exclude` patterns.
    pub excluded: usize,
    /// Symlinked images and videos not followed (`sources.follow_symlinks`).
    pub symlinks_skipped: usize,
    /// Images no manifest row, rule or default bucketed (not used).
    pub unbucketed: usize,
    /// Video files found.
    pub videos: usize,
    /// Frames extracted from them.
    pub video_frames: usize,
    /// Up to 10 unbucketed paths, to help write rules.
    pub unbucketed_examples: Vec<String>,
    /// Usable images per bucket, before de-duplication.
    pub usable: PerBucket<usize>,
    /// Files skipped, with reasons (of the manifest rows whose file is
    /// missing, only the first few: see `missing`).
    pub issues: Vec<Issue>,
    /// Manifest rows whose file was not found under the roots (all of them;
    /// `issues` lists the first [`crate::manifest::MISSING_EXAMPLES`]).
    pub missing: usize,
    /// Readable images whose extension names another format.
    pub mislabelled: Vec<String>,
}

impl PoolSummary {
    /// Files skipped: every issue, and the missing manifest rows not listed.
    pub fn skipped(&self) -> usize {
        self.issues.len() + self.missing_unlisted()
    }

    /// Manifest rows with a missing file that `issues` does not list.
    pub fn missing_unlisted(&self) -> usize {
        let listed = self.issues.iter().filter(|i| i.kind == "missing").count();
        self.missing.saturating_sub(listed)
    }

    /// Counts an unbucketed image, keeping the first few as examples.
    pub fn note_unbucketed(&mut self, rel: &str) {
        self.unbucketed += 1;
        if self.unbucketed_examples.len() < 10 {
            self.unbucketed_examples.push(rel.to_owned());
        }
    }
}

/// Counts from the measuring pass (absent from files written to disk: they vary
/// between cold and warm runs).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MeasureSummary {
    /// Files whose features came from the cache (including files whose mtime
    /// changed but whose content hash still matched).
    pub from_cache: usize,
    /// Files decoded in this run.
    pub decoded: usize,
}

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
    pub layout: crate::export::Layout,
    /// Image files placed (or that would be, in a dry run).
    pub files: usize,
    /// False for `--dry-run` and when a shortfall stopped the build.
    pub written: bool,
}

/// Chosen images of one bucket and tag set, per camera (`-` for none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompositionRow {
    /// The bucket.
    pub bucket: Bucket,
    /// Tags joined with `;`, or `(untagged)`.
    pub tags: String,
    /// Images per camera.
    pub cameras: BTreeMap<String, usize>,
}

/// The largest set the pool could give at the recipe's shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaxTotal {
    /// Largest total whose every bucket count fits the distinct images available.
    pub total: usize,
    /// The bucket that runs out first.
    pub limited_by: Bucket,
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
    pub sequences: Option<crate::sequence::SequenceSummary>,
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
    /// Chosen images per bucket and tag set, split by camera, sorted.
    pub composition: Vec<CompositionRow>,
    /// What could not be met.
    pub shortfalls: Vec<Shortfall>,
    /// With a shortfall: the largest total the de-duplicated pool supports at the
    /// recipe's bucket shares (tag quotas and camera minimums aside).
    pub max_total: Option<MaxTotal>,
    /// Quotas topped up under `shortfall = "fill"`.
    pub topped_up: Vec<TopUp>,
    /// The stability self-check of the chosen set (two seeded halves).
    pub stability: Option<crate::stability::Stability>,
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
        if self.shortfalls.iter().any(|s| !s.shrinks_with_total()) {
            notes.push(
                "a smaller total does not fix the tag, class or camera shortfalls: they need more distinct images or a smaller quota".to_owned(),
            );
        }
        notes
    }

    /// The report as pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report serialises");
        s.push('\n');
        s
    }

    /// Writes the human-readable report.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        let p = &self.pool;
        writeln!(w, "recipe    {} (seed {})", self.recipe, self.seed)?;
        writeln!(
            w,
            "pool      {} images found, {} usable, {} unbucketed, {} excluded, {} skipped",
            p.scanned,
            p.usable.iter().map(|(_, n)| n).sum::<usize>(),
            p.unbucketed,
            p.excluded,
            p.skipped()
        )?;
        if p.videos > 0 {
            writeln!(
                w,
                "videos    {} files, {} frames extracted",
                p.videos, p.video_frames
            )?;
        }
        if let Some(m) = &self.measure {
            writeln!(
                w,
                "measured  {} from cache, {} decoded",
                m.from_cache, m.decoded
            )?;
        }
        if let Some(q) = &self.sequences {
            writeln!(
                w,
                "sequences {} with {} frames: {} dropped by time sampling, {} as consecutive duplicates",
                q.sequences, q.frames, q.not_sampled, q.consecutive_duplicates
            )?;
            if !q.untimed.is_empty() {
                writeln!(
                    w,
                    "          {} sequence(s) have no timing and were not sampled: set `fps` under [sequences] or a `time` column",
                    q.untimed.len()
                )?;
            }
        }
        let d = &self.dedup;
        let rule = match d.settings.threshold {
            Threshold::Similarity(s) => format!("similarity ≥ {s}"),
            Threshold::MaxDistance(b) => format!("pHash distance ≤ {b} bits"),
        };
        writeln!(
            w,
            "dedup     {} exact copies and {} near duplicates removed ({rule}, scope {}, {} grouping)",
            d.exact_removed,
            d.near_removed,
            name(&d.settings.scope),
            name(&d.settings.grouping)
        )?;
        writeln!(w)?;
        writeln!(
            w,
            "{:<12} {:>7} {:>7} {:>10} {:>10}",
            "bucket", "wanted", "chosen", "distinct", "usable"
        )?;
        for b in Bucket::ALL {
            writeln!(
                w,
                "{:<12} {:>7} {:>7} {:>10} {:>10}",
                b.as_str(),
                self.wanted[b],
                self.chosen[b],
                d.kept[b],
                p.usable[b]
            )?;
        }
        let chosen: usize = self.chosen.iter().map(|(_, n)| n).sum();
        writeln!(w, "{:<12} {:>7} {:>7}", "total", self.total, chosen)?;

        let tagged: Vec<&SlotFill> = self
            .slots
            .iter()
            .filter(|s| s.wanted > 0 || s.available > 0)
            .collect();
        if tagged
            .iter()
            .any(|s| s.slot != crate::select::SlotKind::Free)
        {
            writeln!(w)?;
            writeln!(
                w,
                "{:<12} {:<20} {:>7} {:>7} {:>10}",
                "bucket", "slot", "wanted", "filled", "distinct"
            )?;
            for s in tagged {
                writeln!(
                    w,
                    "{:<12} {:<20} {:>7} {:>7} {:>10}",
                    s.bucket.as_str(),
                    s.slot.label(),
                    s.wanted,
                    s.filled,
                    s.available
                )?;
            }
        }
        if !self.cameras.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "{:<20} {:>7} {:>7} {:>10}",
                "camera", "min", "chosen", "distinct"
            )?;
            for c in &self.cameras {
                writeln!(
                    w,
                    "{:<20} {:>7} {:>7} {:>10}",
                    c.camera, c.min, c.chosen, c.available
                )?;
            }
        }
        self.write_composition(w)?;
        if !p.issues.is_empty() {
            writeln!(w)?;
            writeln!(w, "skipped files ({}):", p.skipped())?;
            for i in &p.issues {
                writeln!(w, "  {}: {}", i.path, i.message)?;
            }
            if p.missing_unlisted() > 0 {
                writeln!(
                    w,
                    "  … and {} more manifest rows whose files were not found",
                    p.missing_unlisted()
                )?;
            }
        }
        if !p.mislabelled.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "extension does not match content ({}), used anyway:",
                p.mislabelled.len()
            )?;
            for m in &p.mislabelled {
                writeln!(w, "  {m}")?;
            }
        }
        if p.unbucketed > 0 {
            writeln!(w)?;
            writeln!(
                w,
                "unbucketed ({}), add a rule or manifest row to use them, e.g.:",
                p.unbucketed
            )?;
            for u in &p.unbucketed_examples {
                writeln!(w, "  {u}")?;
            }
        }
        if !d.largest_groups.is_empty() {
            writeln!(w)?;
            writeln!(w, "largest duplicate groups:")?;
            for g in d.largest_groups.iter().take(5) {
                writeln!(w, "  {:>5} images, kept {}", g.size, g.kept)?;
            }
        }
        if let Some(st) = &self.stability {
            let worst = st.rows.iter().map(|r| r.halves).fold(0.0, f64::max);
            writeln!(w)?;
            writeln!(
                w,
                "stability halves of {} and {} images: largest difference {:.1}% of the calibrated range (threshold {:.0}%)",
                st.halves.0,
                st.halves.1,
                worst * 100.0,
                st.threshold * 100.0
            )?;
            for f in &st.flagged {
                writeln!(w, "  WARNING {f}: too few images or a skewed mix")?;
            }
        }
        for t in &self.topped_up {
            writeln!(
                w,
                "\ntopped up: bucket {}, {} was {} short; filled from the bucket's free share",
                t.bucket, t.slot, t.moved
            )?;
        }
        if !self.shortfalls.is_empty() {
            writeln!(w)?;
            writeln!(w, "SHORTFALL: the pool cannot fill this recipe")?;
            for s in &self.shortfalls {
                writeln!(w, "  {s}")?;
            }
            for note in self.shortfall_notes() {
                writeln!(w, "  {note}")?;
            }
            writeln!(
                w,
                "  (lower the total, add distinct images, relax the quota,\n   or set shortfall = \"fill\" to top tag quotas up from the bucket's other images)"
            )?;
        }
        if let Some(o) = &self.output {
            writeln!(w)?;
            let verb = if o.written { "wrote" } else { "would write" };
            writeln!(
                w,
                "output    {verb} {} images to {} ({}, {})",
                o.files,
                o.dir,
                name(&o.mode),
                name(&o.layout)
            )?;
        }
        Ok(())
    }

    fn write_composition(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut cameras: Vec<&str> = self
            .composition
            .iter()
            .flat_map(|r| r.cameras.keys().map(String::as_str))
            .collect();
        cameras.sort_unstable();
        cameras.dedup();
        if self.composition.is_empty() {
            return Ok(());
        }
        writeln!(w)?;
        write!(w, "{:<12} {:<22}", "bucket", "tags")?;
        for c in &cameras {
            write!(w, " {:>6}", truncate(c, 6))?;
        }
        writeln!(w, " {:>6}", "total")?;
        for row in &self.composition {
            write!(
                w,
                "{:<12} {:<22}",
                row.bucket.as_str(),
                truncate(&row.tags, 22)
            )?;
            for c in &cameras {
                match row.cameras.get(*c).copied().unwrap_or(0) {
                    0 => write!(w, " {:>6}", ".")?,
                    n => write!(w, " {n:>6}")?,
                }
            }
            writeln!(w, " {:>6}", row.cameras.values().sum::<usize>())?;
        }
        Ok(())
    }
}

/// A unit enum's name as it is written in recipes (its serde name).
fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
