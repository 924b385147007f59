//! The page's header and summary section: status, shortfalls, per-bucket
//! counts, de-duplication, pool, sequences, stability, cache and slots.

use std::fmt::{self, Write};

use super::encode::Esc;
use super::sections::{SECTIONS, kv, percent, section_head, serde_name};
use super::{Kind, Page};
use crate::dedup::Threshold;
use crate::label::Bucket;
use crate::report::Status;

impl Page<'_> {
    /// The page header: title, recipe, status and the section links.
    pub(super) fn header(&self, out: &mut String) -> fmt::Result {
        let r = self.report();
        let what = match self.kind {
            Kind::Build => "calibration set report",
            Kind::Audit => "pool audit",
        };
        write!(
            out,
            "<header class=\"top\"><div class=\"wrap head\"><div>\
             <div class=\"eyebrow\">calibset · {what}</div><h1>{}</h1>\
             <div class=\"meta\">recipe <b>{}</b> · seed {} · {} wanted · {} chosen",
            Esc(&self.input.title),
            Esc(&r.recipe),
            r.seed,
            r.total,
            r.chosen.iter().map(|(_, n)| n).sum::<usize>()
        )?;
        if let Some(o) = &r.output {
            write!(
                out,
                " · {} {} images to <code>{}</code> ({}, {})",
                if o.written { "wrote" } else { "would write" },
                o.files,
                Esc(&o.dir),
                serde_name(&o.mode),
                serde_name(&o.layout)
            )?;
        }
        let (class, label) = match r.status {
            Status::Ok => ("ok", "✓ OK"),
            Status::Shortfall => ("short", "✕ Shortfall"),
        };
        writeln!(
            out,
            "</div></div><div class=\"status {class}\">{label}</div></div>"
        )?;
        out.push_str("<nav><div class=\"wrap\">");
        for (id, title) in SECTIONS {
            write!(out, "<a href=\"#{id}\">{title}</a>")?;
        }
        out.push_str("</div></nav></header>\n");
        Ok(())
    }

    /// Section 1: status, shortfalls, per-bucket counts and the run's numbers.
    pub(super) fn summary(&self, out: &mut String) -> fmt::Result {
        let r = self.report();
        let (p, d) = (&r.pool, &r.dedup);
        section_head(out, "summary", None)?;
        if !r.shortfalls.is_empty() || r.status == Status::Shortfall {
            out.push_str("<div class=\"alert\"><h3>The pool cannot fill this recipe</h3><ul>");
            for s in &r.shortfalls {
                write!(out, "<li>{}</li>", Esc(&s.to_string()))?;
            }
            out.push_str("</ul>");
            for note in r.shortfall_notes() {
                let mut chars = note.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase());
                write!(
                    out,
                    "<p>{}{}.</p>",
                    first.unwrap_or_default(),
                    Esc(chars.as_str())
                )?;
            }
            out.push_str(
                "<p class=\"hint\">Lower the total, add distinct images, relax the quota, or set \
                 <code>shortfall = \"fill\"</code> to top tag quotas up from the bucket's other images.</p></div>\n",
            );
        }
        let usable: usize = p.usable.iter().map(|(_, n)| n).sum();
        let distinct: usize = d.kept.iter().map(|(_, n)| n).sum();
        let chosen: usize = r.chosen.iter().map(|(_, n)| n).sum();
        out.push_str("<div class=\"stats\">");
        for (label, n) in [
            ("wanted", r.total),
            ("chosen", chosen),
            ("images found", p.scanned + p.video_frames),
            ("usable", usable),
            ("distinct", distinct),
            ("removed", r.removed()),
            ("skipped", p.skipped()),
        ] {
            write!(
                out,
                "<div class=\"stat\"><div class=\"n\">{n}</div><div class=\"l\">{label}</div></div>"
            )?;
        }
        out.push_str("</div>\n<div class=\"buckets\">");
        for b in Bucket::ALL {
            let (want, got) = (r.wanted[b], r.chosen[b]);
            let short = if got < want { " short" } else { "" };
            write!(
                out,
                "<div class=\"card bucket b-{b}\"><div class=\"bh\"><span class=\"dot\"></span>{b}</div>\
                 <div class=\"big{short}\">{got}<span> / {want}</span></div>\
                 <div class=\"meter\"><i style=\"width:{:.1}%\"></i></div><table class=\"kv\">",
                percent(got, want)
            )?;
            kv(out, "wanted", want)?;
            kv(out, "chosen", got)?;
            kv(out, "distinct", d.kept[b])?;
            kv(out, "usable", p.usable[b])?;
            kv(out, "share of set", format!("{:.0}%", percent(got, chosen)))?;
            out.push_str("</table></div>");
        }
        out.push_str("</div>\n<div class=\"cards\">");
        self.summary_details(out)?;
        out.push_str("</div>\n");
        self.slots(out)?;
        for t in &r.topped_up {
            write!(
                out,
                "<p class=\"note\">Topped up: bucket {}, {} was {} short; filled from the bucket's free share.</p>",
                t.bucket,
                Esc(&t.slot.label()),
                t.moved
            )?;
        }
        for w in &r.warnings {
            write!(out, "<p class=\"note warn\">{}</p>", Esc(w))?;
        }
        out.push_str("</section>\n");
        Ok(())
    }

    /// The summary's cards: de-duplication, pool, and when the run has them,
    /// sequences, stability and the feature cache.
    fn summary_details(&self, out: &mut String) -> fmt::Result {
        self.dedup_card(out)?;
        self.pool_card(out)?;
        self.sequences_card(out)?;
        self.stability_card(out)?;
        self.cache_card(out)
    }

    /// The de-duplication card: what was removed, and the rule.
    fn dedup_card(&self, out: &mut String) -> fmt::Result {
        let r = self.report();
        let (p, d) = (&r.pool, &r.dedup);
        out.push_str("<div class=\"card\"><h3>De-duplication</h3><table class=\"kv\">");
        kv(out, "exact copies removed", d.exact_removed)?;
        kv(out, "near duplicates removed", d.near_removed)?;
        if let Some(q) = &r.sequences {
            kv(
                out,
                "consecutive duplicates removed",
                q.consecutive_duplicates,
            )?;
            kv(out, "not sampled", q.not_sampled)?;
        }
        // The count alone: the removals have rows of their own, and a sentence
        // in a number cell does not wrap.
        let usable: usize = p.usable.iter().map(|(_, n)| n).sum();
        let distinct: usize = d.kept.iter().map(|(_, n)| n).sum();
        kv(out, "distinct", format!("{distinct} of {usable} usable"))?;
        kv(out, "candidate pairs tested", d.candidate_pairs)?;
        let rule = match d.settings.threshold {
            Threshold::Similarity(s) => format!("similarity ≥ {s}"),
            Threshold::MaxDistance(b) => format!("pHash distance ≤ {b}"),
        };
        kv(out, "rule", rule)?;
        kv(
            out,
            "scope · grouping",
            format!(
                "{} · {}",
                serde_name(&d.settings.scope),
                serde_name(&d.settings.grouping)
            ),
        )?;
        out.push_str("</table></div>");
        Ok(())
    }

    /// The pool card: what the scan found and left out.
    fn pool_card(&self, out: &mut String) -> fmt::Result {
        let p = &self.report().pool;
        out.push_str("<div class=\"card\"><h3>Pool</h3><table class=\"kv\">");
        kv(out, "images found", p.scanned)?;
        kv(out, "excluded by pattern", p.excluded)?;
        kv(out, "unbucketed (unused)", p.unbucketed)?;
        kv(out, "skipped (unreadable)", p.skipped())?;
        if !p.mislabelled.is_empty() {
            kv(out, "wrong extension (used)", p.mislabelled.len())?;
        }
        if p.videos > 0 {
            kv(
                out,
                "videos · frames",
                format!("{} · {}", p.videos, p.video_frames),
            )?;
        }
        out.push_str("</table></div>");
        Ok(())
    }

    /// The sequences card, when the run sampled sequences.
    fn sequences_card(&self, out: &mut String) -> fmt::Result {
        if let Some(q) = &self.report().sequences {
            out.push_str("<div class=\"card\"><h3>Sequences</h3><table class=\"kv\">");
            kv(out, "sequences", q.sequences)?;
            kv(out, "frames", q.frames)?;
            kv(out, "dropped by time sampling", q.not_sampled)?;
            kv(out, "consecutive duplicates", q.consecutive_duplicates)?;
            if !q.untimed.is_empty() {
                kv(out, "untimed sequences", q.untimed.len())?;
            }
            if !q.stills.is_empty() {
                kv(out, "numbered folders taken as stills", q.stills.len())?;
            }
            out.push_str("</table></div>");
        }
        Ok(())
    }

    /// The stability card, when the run checked stability: the halves, the
    /// largest difference and what was flagged.
    fn stability_card(&self, out: &mut String) -> fmt::Result {
        if let Some(st) = &self.report().stability {
            let worst = st.rows.iter().map(|r| r.halves).fold(0.0, f64::max);
            out.push_str("<div class=\"card\"><h3>Stability</h3><table class=\"kv\">");
            kv(out, "halves", format!("{} · {}", st.halves.0, st.halves.1))?;
            kv(out, "largest difference", format!("{:.1}%", worst * 100.0))?;
            kv(out, "threshold", format!("{:.0}%", st.threshold * 100.0))?;
            out.push_str("</table>");
            for f in &st.flagged {
                write!(
                    out,
                    "<p class=\"flag\">{}: too few images or a skewed mix</p>",
                    Esc(f)
                )?;
            }
            out.push_str("</div>");
        }
        Ok(())
    }

    /// The feature cache card, when the run measured images: where the
    /// features came from.
    fn cache_card(&self, out: &mut String) -> fmt::Result {
        if let Some(m) = &self.report().measure {
            out.push_str("<div class=\"card\"><h3>Feature cache</h3><table class=\"kv\">");
            if m.from_index > 0 {
                kv(out, "from the feature index", m.from_index)?;
            }
            kv(out, "from cache", m.from_cache)?;
            kv(out, "decoded this run", m.decoded)?;
            let reused = m.from_cache + m.from_index;
            let hit = percent(reused, reused + m.decoded);
            kv(out, "hit rate", format!("{hit:.0}%"))?;
            out.push_str("</table></div>");
        }
        Ok(())
    }

    /// The slot table, when the recipe has tag quotas, minimums or classes.
    fn slots(&self, out: &mut String) -> fmt::Result {
        let slots: Vec<_> = self
            .report()
            .slots
            .iter()
            .filter(|s| s.wanted > 0 || s.available > 0)
            .collect();
        if slots
            .iter()
            .all(|s| s.slot == crate::select::SlotKind::Free)
        {
            return Ok(());
        }
        out.push_str(
            "<div class=\"card wide fit\"><h3>Slots</h3><table class=\"grid-table\"><thead><tr><th>bucket</th>\
             <th>slot</th><th class=\"num\">wanted</th><th class=\"num\">filled</th>\
             <th class=\"num\">distinct</th></tr></thead><tbody>",
        );
        for s in slots {
            let short = if s.filled < s.wanted {
                " class=\"short\""
            } else {
                ""
            };
            write!(
                out,
                "<tr{short}><td><span class=\"chip b-{b}\">{b}</span></td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                Esc(&s.slot.label()),
                s.wanted,
                s.filled,
                s.available,
                b = s.bucket
            )?;
        }
        out.push_str("</tbody></table>");
        // The legend sits with the contact sheets, whose captions name slots
        // too; with nothing chosen there are none, so it goes here.
        if self.images().iter().any(super::HtmlImage::is_chosen) {
            out.push_str(
                "<p class=\"hint below\">Slot names are explained under \
                 <a href=\"#slot-legend\">Chosen images</a>.</p>",
            );
        } else {
            self.slot_legend(out)?;
        }
        out.push_str("</div>\n");
        Ok(())
    }
}
