//! The audit as text: the pool in a few lines, counts per tag, camera, class
//! and measured tag, the quality histograms, the largest duplicate groups, the
//! skipped files, whether the recipe can be filled and the findings.

use std::io::{self, Write};

use super::AuditReport;

impl AuditReport {
    /// Writes the human-readable audit.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        self.write_pool(w)?;
        self.write_counts(w)?;
        self.write_histograms(w)?;
        self.write_groups(w)?;
        crate::report::write_skipped(w, &self.report.pool)?;
        writeln!(w)?;
        self.write_recipe(w)?;
        for f in &self.findings {
            writeln!(w, "FINDING   {}: {}", f.check, f.message)?;
        }
        Ok(())
    }

    /// The pool in a few lines: what was found and read, measured, bucketed
    /// and removed as duplicates.
    fn write_pool(&self, w: &mut dyn Write) -> io::Result<()> {
        let r = &self.report;
        let usable: usize = r.pool.usable.iter().map(|(_, n)| n).sum::<usize>() + r.pool.unbucketed;
        writeln!(
            w,
            "pool      {}, {usable} readable, {} skipped",
            crate::report::found(&r.pool),
            r.pool.skipped()
        )?;
        if let Some(m) = &r.measure {
            writeln!(w, "measured  {m}")?;
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
        )
    }

    /// Counts per tag, camera, class and measured tag (each only when there
    /// are any).
    fn write_counts(&self, w: &mut dyn Write) -> io::Result<()> {
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
            if title == "cameras" && self.no_camera > 0 {
                writeln!(w, "  {:<28} {:>7}", "(no camera)", self.no_camera)?;
            }
        }
        Ok(())
    }

    /// The quality histograms, as bars of up to 40 blocks.
    fn write_histograms(&self, w: &mut dyn Write) -> io::Result<()> {
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
        Ok(())
    }

    /// The largest duplicate groups, each with up to eight of its members.
    fn write_groups(&self, w: &mut dyn Write) -> io::Result<()> {
        if !self.groups.is_empty() {
            writeln!(w)?;
            writeln!(w, "largest duplicate groups:")?;
            for g in &self.groups {
                writeln!(w, "  {} images, kept {}", g.members.len() + 1, g.kept)?;
                for m in g.members.iter().take(8) {
                    writeln!(w, "    {:<22} {}", m.status.as_str(), m.path)?;
                }
                if g.members.len() > 8 {
                    writeln!(w, "    … and {} more", g.members.len() - 8)?;
                }
            }
        }
        Ok(())
    }

    /// Whether the recipe can be filled, and if not, its shortfalls.
    fn write_recipe(&self, w: &mut dyn Write) -> io::Result<()> {
        let r = &self.report;
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
        Ok(())
    }
}
