//! The report as text: a few summary lines, the bucket, slot, camera and
//! composition tables, then what was skipped, the duplicate groups, the
//! stability check, any shortfall with its remedies, and the output.

use std::io::{self, Write};

use serde::Serialize;

use super::{PoolSummary, Report, SlotFill};
use crate::dedup::Threshold;
use crate::label::Bucket;
use crate::select::SlotKind;

impl Report {
    /// Writes the human-readable report.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        self.write_summary(w)?;
        self.write_buckets(w)?;
        self.write_slots(w)?;
        self.write_cameras(w)?;
        self.write_composition(w)?;
        write_skipped(w, &self.pool)?;
        self.write_pool_notes(w)?;
        self.write_checks(w)?;
        self.write_shortfall(w)?;
        self.write_handoff(w)?;
        self.write_model(w)?;
        self.write_output(w)
    }

    /// The check against the model.
    fn write_model(&self, w: &mut dyn Write) -> io::Result<()> {
        match &self.model {
            Some(m) => write_model(m, w),
            None => Ok(()),
        }
    }

    /// The calibration method advice and the hand-off files.
    fn write_handoff(&self, w: &mut dyn Write) -> io::Result<()> {
        if !self.shortfalls.is_empty() {
            return Ok(());
        }
        if let Some(a) = &self.advice {
            writeln!(w)?;
            let method = match a.percentile {
                Some(p) => format!("{} {p}", a.method),
                None => a.method.to_owned(),
            };
            writeln!(w, "calibrate with {method}: {}", a.reasons.join("; "))?;
        }
        if let Some(r) = &self.resaves {
            let buckets: Vec<&str> = r.buckets.iter().map(|b| b.as_str()).collect();
            writeln!(
                w,
                "re-saves  {} images as JPEG quality {} ({:.0}% of {}; extra files, tagged jpeg-q{}, not counted in the total)",
                r.count,
                r.quality,
                r.share * 100.0,
                buckets.join(", "),
                r.quality
            )?;
        }
        if !self.exports.is_empty() {
            let formats: Vec<&str> = self.exports.iter().map(|f| f.as_str()).collect();
            write!(w, "hand-off  {}", formats.join(", "))?;
            if let Some(t) = &self.tensor {
                write!(
                    w,
                    " (tensors {}×{} {} filter {}, {} {} {}{})",
                    t.size[0],
                    t.size[1],
                    name(&t.resize),
                    t.filter.as_str(),
                    name(&t.channels),
                    name(&t.layout),
                    name(&t.dtype),
                    t.input
                        .as_deref()
                        .map(|i| format!(", input {i}"))
                        .unwrap_or_default()
                )?;
            }
            writeln!(w)?;
        }
        Ok(())
    }

    /// Recipe, pool, measuring, sequences and de-duplication, a line each.
    fn write_summary(&self, w: &mut dyn Write) -> io::Result<()> {
        let p = &self.pool;
        writeln!(w, "recipe    {} (seed {})", self.recipe, self.seed)?;
        writeln!(
            w,
            "pool      {}, {} usable, {} unbucketed, {} excluded, {} skipped",
            found(p),
            p.usable.iter().map(|(_, n)| n).sum::<usize>(),
            p.unbucketed,
            p.excluded,
            p.skipped()
        )?;
        if let Some(m) = &self.measure {
            writeln!(w, "measured  {m}")?;
        }
        if let Some(q) = &self.sequences {
            if q.sequences > 0 {
                writeln!(
                    w,
                    "sequences {} with {} frames: {} dropped by time sampling, {} as consecutive duplicates",
                    q.sequences, q.frames, q.not_sampled, q.consecutive_duplicates
                )?;
                writeln!(w, "          {}", sequence_bases(q))?;
            } else {
                writeln!(w, "sequences none")?;
            }
            if !q.stills.is_empty() {
                let shown: Vec<String> = q
                    .stills
                    .iter()
                    .take(3)
                    .map(|s| format!("{} ({})", s.folder, s.reason.describe()))
                    .collect();
                let more = q.stills.len().saturating_sub(shown.len());
                writeln!(
                    w,
                    "          {} of numbered images taken as stills, not frames: {}{} (if they are frames, declare them with `sequences.match`)",
                    count(q.stills.len(), "folder", "folders"),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )?;
            }
            if !q.untimed.is_empty() {
                writeln!(
                    w,
                    "          {} sequence(s) have no timing and were not sampled: set `fps` under [sequences] or a `time` column",
                    q.untimed.len()
                )?;
            }
            if q.unsampled_frames > 0 {
                writeln!(
                    w,
                    "          {} sequence(s), {} frames, not sampled by time: only the consecutive-duplicate rule thinned them",
                    q.unsampled_sequences, q.unsampled_frames
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
            "dedup     {} and {} removed ({rule}, scope {}, {} grouping)",
            count(d.exact_removed, "exact copy", "exact copies"),
            count(d.near_removed, "near duplicate", "near duplicates"),
            name(&d.settings.scope),
            name(&d.settings.grouping)
        )?;
        writeln!(w, "distinct  {}", self.balance())
    }

    /// Where the usable images went: `1142 of 3005 usable; removed 60 exact
    /// copies, 434 near duplicates, 1369 consecutive duplicates, 0 not sampled`.
    pub(crate) fn balance(&self) -> String {
        let usable: usize = self.pool.usable.iter().map(|(_, n)| n).sum();
        let distinct: usize = self.dedup.kept.iter().map(|(_, n)| n).sum();
        let (consecutive, not_sampled) = self
            .sequences
            .as_ref()
            .map_or((0, 0), |q| (q.consecutive_duplicates, q.not_sampled));
        format!(
            "{distinct} of {usable} usable; removed {}, {}, {}, {} not sampled",
            count(self.dedup.exact_removed, "exact copy", "exact copies"),
            count(self.dedup.near_removed, "near duplicate", "near duplicates"),
            count(
                consecutive,
                "consecutive duplicate",
                "consecutive duplicates"
            ),
            not_sampled
        )
    }

    /// Images removed as duplicates of any kind, and by time sampling.
    pub fn removed(&self) -> usize {
        let (consecutive, not_sampled) = self
            .sequences
            .as_ref()
            .map_or((0, 0), |q| (q.consecutive_duplicates, q.not_sampled));
        self.dedup.exact_removed + self.dedup.near_removed + consecutive + not_sampled
    }

    /// Wanted, chosen, distinct and usable images per bucket.
    fn write_buckets(&self, w: &mut dyn Write) -> io::Result<()> {
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
                self.dedup.kept[b],
                self.pool.usable[b]
            )?;
        }
        let chosen: usize = self.chosen.iter().map(|(_, n)| n).sum();
        writeln!(w, "{:<12} {:>7} {:>7}", "total", self.total, chosen)
    }

    /// Every quota, minimum and class slot with its fill (when there are any).
    fn write_slots(&self, w: &mut dyn Write) -> io::Result<()> {
        let tagged: Vec<&SlotFill> = self
            .slots
            .iter()
            .filter(|s| s.wanted > 0 || s.available > 0)
            .collect();
        if !tagged.iter().any(|s| s.slot != SlotKind::Free) {
            return Ok(());
        }
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
        Ok(())
    }

    /// Every camera's minimum, chosen and distinct images, and its share of the
    /// set against its share of the pool.
    fn write_cameras(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.cameras.is_empty() {
            return Ok(());
        }
        writeln!(w)?;
        writeln!(
            w,
            "{:<20} {:>7} {:>7} {:>10} {:>7} {:>7}",
            "camera", "min", "chosen", "distinct", "set %", "pool %"
        )?;
        let pct = |s: f64| format!("{:.1}", s * 100.0);
        for c in &self.cameras {
            writeln!(
                w,
                "{:<20} {:>7} {:>7} {:>10} {:>7} {:>7}",
                c.camera,
                c.min,
                c.chosen,
                c.available,
                pct(c.set_share),
                pct(c.pool_share)
            )?;
        }
        if let Some(n) = &self.no_camera {
            writeln!(
                w,
                "{:<20} {:>7} {:>7} {:>10} {:>7} {:>7}",
                "(no camera)",
                "-",
                n.chosen,
                n.available,
                pct(n.set_share),
                pct(n.pool_share)
            )?;
        }
        Ok(())
    }

    /// Chosen images per bucket and tag set (rows) and camera (columns).
    fn write_composition(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.composition.is_empty() {
            return Ok(());
        }
        // Camera columns by name, `-` (no camera) last.
        let mut cameras: Vec<Option<&str>> = self
            .composition
            .iter()
            .flat_map(|r| r.cameras.iter().map(|c| c.camera.as_deref()))
            .collect();
        cameras.sort_unstable_by_key(|c| (c.is_none(), *c));
        cameras.dedup();
        // Columns as wide as the longest camera name: `site3_front_left` and
        // `site3_front_right` must not print alike.
        let width = cameras
            .iter()
            .map(|c| c.map_or(1, |c| c.chars().count()))
            .max()
            .unwrap_or(0)
            .max(6);
        writeln!(w)?;
        write!(w, "{:<12} {:<22}", "bucket", "tags")?;
        for c in &cameras {
            write!(w, " {:>width$}", c.unwrap_or("-"))?;
        }
        writeln!(w, " {:>6}", "total")?;
        for row in &self.composition {
            write!(
                w,
                "{:<12} {:<22}",
                row.bucket.as_str(),
                truncate(&row.tags_label(), 22)
            )?;
            for c in &cameras {
                match row.count(*c) {
                    0 => write!(w, " {:>width$}", ".")?,
                    n => write!(w, " {n:>width$}")?,
                }
            }
            let total: usize = row.cameras.iter().map(|c| c.chosen).sum();
            writeln!(w, " {total:>6}")?;
        }
        Ok(())
    }

    /// Mislabelled and unbucketed images.
    fn write_pool_notes(&self, w: &mut dyn Write) -> io::Result<()> {
        let p = &self.pool;
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
        Ok(())
    }

    /// The largest duplicate groups, the stability check and any top-ups.
    fn write_checks(&self, w: &mut dyn Write) -> io::Result<()> {
        let d = &self.dedup;
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
        let mut spill: Vec<(crate::label::Bucket, Vec<String>)> = Vec::new();
        for s in &self.spill {
            match spill.last_mut() {
                Some((b, list)) if *b == s.bucket => list.push(format!("{} {}", s.images, s.key)),
                _ => spill.push((s.bucket, vec![format!("{} {}", s.images, s.key)])),
            }
        }
        for (bucket, list) in spill {
            writeln!(
                w,
                "\nfree share of {bucket} also took {} (beyond their quotas, once images without a quota tag ran out;\n  `free = \"untagged\"` under [buckets.{bucket}] keeps them out)",
                list.join(", ")
            )?;
        }
        for t in &self.topped_up {
            writeln!(
                w,
                "\ntopped up: bucket {}, {} was {} short; filled from the bucket's free share",
                t.bucket,
                t.slot.label(),
                t.moved
            )?;
        }
        Ok(())
    }

    /// What the pool cannot fill, and what would help.
    fn write_shortfall(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.shortfalls.is_empty() {
            return Ok(());
        }
        writeln!(w)?;
        writeln!(w, "SHORTFALL: the pool cannot fill this recipe")?;
        for s in &self.shortfalls {
            writeln!(w, "  {s}")?;
        }
        for note in self.shortfall_notes() {
            writeln!(w, "  {note}")?;
        }
        let quota_short = self.shortfalls.iter().any(|s| {
            matches!(
                s,
                crate::select::Shortfall::Slot {
                    slot: SlotKind::Quota(_),
                    ..
                }
            )
        });
        if quota_short && self.shortfall_policy == crate::select::ShortfallPolicy::Fail {
            writeln!(
                w,
                "  (lower the total, add distinct images, relax the quota,\n   or set shortfall = \"fill\" to top tag quotas up from the bucket's other images)"
            )
        } else {
            writeln!(
                w,
                "  (lower the total, add distinct images or relax the quota)"
            )
        }
    }

    /// Where the set went (or would go).
    fn write_output(&self, w: &mut dyn Write) -> io::Result<()> {
        let Some(o) = &self.output else {
            return Ok(());
        };
        writeln!(w)?;
        let (mode, layout) = (name(&o.mode), name(&o.layout));
        if o.written {
            writeln!(
                w,
                "output    wrote {} images to {} ({mode}, {layout})",
                o.files, o.dir
            )
        } else if self.shortfalls.is_empty() {
            writeln!(
                w,
                "output    would write {} images to {} ({mode}, {layout})",
                o.files, o.dir
            )
        } else {
            writeln!(
                w,
                "output    nothing written to {}: the pool cannot fill the recipe",
                o.dir
            )
        }
    }
}

/// Why the sequences are sequences: `taken as sequences: 3 videos, 14 folders
/// of numbered frames of one size, alike their neighbours`.
fn sequence_bases(q: &crate::dedup::SequenceSummary) -> String {
    use crate::dedup::sequence::Basis;
    let n = |f: fn(&Basis) -> bool| q.found.iter().filter(|s| f(&s.basis)).count();
    let parts = [
        (n(|b| matches!(b, Basis::Video)), "video", "videos"),
        (
            n(|b| matches!(b, Basis::Declared)),
            "declared by sequences.match",
            "declared by sequences.match",
        ),
        (
            n(|b| matches!(b, Basis::Numbered { .. })),
            "folder of numbered frames of one size, alike their neighbours",
            "folders of numbered frames of one size, alike their neighbours",
        ),
    ];
    let said: Vec<String> = parts
        .iter()
        .filter(|(k, ..)| *k > 0)
        .map(|&(k, one, many)| count(k, one, many))
        .collect();
    format!("taken as sequences: {}", said.join(", "))
}

/// What the walk found: `120 images found`, or with videos `120 images and
/// 42 video frames (from 2 videos) found`. Build and audit say it alike.
pub(crate) fn found(p: &PoolSummary) -> String {
    if p.videos == 0 {
        return format!("{} images found", p.scanned);
    }
    format!(
        "{} images and {} video frames (from {}) found",
        p.scanned,
        p.video_frames,
        count(p.videos, "video", "videos")
    )
}

/// `n` with the singular or plural noun: `1 exact copy`, `3 exact copies`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The skipped files, each with its reason (shared with the audit's text).
pub(crate) fn write_skipped(w: &mut dyn Write, p: &PoolSummary) -> io::Result<()> {
    if p.issues.is_empty() {
        return Ok(());
    }
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
    Ok(())
}

/// A unit enum's name as it is written in recipes (its serde name).
pub(crate) fn name<T: Serialize>(value: &T) -> String {
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

/// The model section of a report (`build` with `[model]`, and `probe`).
pub fn write_model(m: &crate::model::ModelReport, w: &mut dyn Write) -> io::Result<()> {
    write_model_stability(m, w)?;
    write_model_dominant(m, w)?;
    write_model_coverage(m, w)?;
    for a in &m.advice {
        writeln!(w, "  {a}")?;
    }
    if m.non_finite > 0 {
        writeln!(
            w,
            "  WARNING {} NaN or infinite activations (left out of every range)",
            m.non_finite
        )?;
    }
    Ok(())
}

/// The model section's head: the model and how its ranges were taken, and
/// how stable they are across halves of the set, with the five tensors that
/// drift most.
fn write_model_stability(m: &crate::model::ModelReport, w: &mut dyn Write) -> io::Result<()> {
    let st = &m.stability;
    let method = match m.percentile {
        Some(p) => format!("{} {p}", m.method),
        None => m.method.to_owned(),
    };
    writeln!(w)?;
    writeln!(
        w,
        "model     {}: {} tensors over {} images, ranges by {method}{}",
        m.path.display(),
        m.tensors,
        m.images,
        if m.method_from_recipe {
            ""
        } else {
            " (the advice)"
        }
    )?;
    writeln!(
        w,
        "  stability halves of {} and {} images: {} ({} tensors over 10%, {} over 15% apart; min/max alone: {} and {})",
        st.halves[0],
        st.halves[1],
        st.verdict,
        st.over_10,
        st.over_15,
        st.minmax_over_10,
        st.minmax_over_15
    )?;
    for d in st.worst.iter().take(5) {
        writeln!(
            w,
            "    {:>5.1}%  {} ({}; min/max {:.1}%)",
            d.drift * 100.0,
            d.tensor,
            d.op,
            d.drift_minmax * 100.0
        )?;
    }
    Ok(())
}

/// The images that set ranges alone, and the tensors kept in float.
fn write_model_dominant(m: &crate::model::ModelReport, w: &mut dyn Write) -> io::Result<()> {
    if !m.dominant.is_empty() {
        writeln!(w, "  images that set ranges alone (MinMax risk):")?;
        for d in m.dominant.iter().take(5) {
            writeln!(
                w,
                "    {:>4} tensors  {}{}",
                d.tensors,
                crate::paths::escaped(&d.image),
                d.bucket.map(|b| format!(" ({b})")).unwrap_or_default()
            )?;
        }
    }
    if !m.float.is_empty() {
        let nodes: Vec<&str> = m.float.iter().map(|f| f.node.as_str()).collect();
        writeln!(
            w,
            "  keep float {} tensor(s), left out of the range tables: {} ({})",
            m.float.len(),
            truncate(&nodes.join(", "), 120),
            m.float[0].reason
        )?;
    }
    Ok(())
}

/// How well the set's ranges cover the pool's, with the five tensors it
/// would clip most, when coverage was measured.
fn write_model_coverage(m: &crate::model::ModelReport, w: &mut dyn Write) -> io::Result<()> {
    if let Some(c) = &m.coverage {
        let sample: Vec<String> = c.sample.iter().map(|(b, n)| format!("{n} {b}")).collect();
        writeln!(
            w,
            "  coverage of {} distinct pool images ({}): {} of {} tensors' pool 99.99th percentile lies beyond the set's range (the set would clip it)",
            c.sample.values().sum::<usize>(),
            sample.join(", "),
            c.clipped,
            c.tensors
        )?;
        for k in c.worst.iter().take(5) {
            let from: Vec<String> = k
                .from
                .iter()
                .take(4)
                .map(|(g, n)| format!("{g} {n}"))
                .collect();
            writeln!(
                w,
                "    {:>5.1}%  {} ({}): set [{:.3}, {:.3}], pool [{:.3}, {:.3}]; beyond it: {}",
                k.excess * 100.0,
                k.tensor,
                k.op,
                k.set_range[0],
                k.set_range[1],
                k.pool_range[0],
                k.pool_range[1],
                from.join(", ")
            )?;
        }
    }
    Ok(())
}
