//! Section 5, images per label — tag, class and measured tag, in the pool, among
//! its distinct images and in the chosen set — and the legend of slot names the
//! contact sheets and the slot table use.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use super::encode::Esc;
use super::sections::{percent, section_head};
use super::{HtmlImage, Page};
use crate::dedup::ImageStatus;
use crate::select::SlotKind;

/// Images carrying one label.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct LabelCount {
    /// In the pool (duplicates included): the audit's count.
    pub pool: usize,
    /// Not removed as a duplicate or by sequence sampling.
    pub distinct: usize,
    /// In the chosen set.
    pub chosen: usize,
}

/// The label tables, in page order: title and what each image carries.
type Table = (&'static str, fn(&HtmlImage) -> &[String]);

const TABLES: [Table; 3] = [
    ("Tags", |i| &i.tags),
    ("Classes", |i| &i.classes),
    ("Measured tags", |i| &i.measured),
];

/// Images per label of `labels` (one table's), sorted by label.
pub(super) fn label_counts(
    images: &[HtmlImage],
    labels: fn(&HtmlImage) -> &[String],
) -> BTreeMap<&str, LabelCount> {
    let mut counts: BTreeMap<&str, LabelCount> = BTreeMap::new();
    for img in images {
        let distinct = matches!(img.status, ImageStatus::Chosen | ImageStatus::NotChosen);
        let mut seen: Vec<&str> = labels(img).iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for label in seen {
            let c = counts.entry(label).or_default();
            c.pool += 1;
            c.distinct += usize::from(distinct);
            c.chosen += usize::from(img.is_chosen());
        }
    }
    counts
}

impl Page<'_> {
    /// Section 5: one table per kind of label that any image carries.
    pub(super) fn labels(&self, out: &mut String) -> fmt::Result {
        let images = self.images();
        let tables: Vec<(&str, BTreeMap<&str, LabelCount>)> = TABLES
            .iter()
            .map(|&(title, labels)| (title, label_counts(images, labels)))
            .filter(|(_, counts)| !counts.is_empty())
            .collect();
        section_head(out, "labels", None)?;
        if tables.is_empty() {
            out.push_str(
                "<p class=\"empty\">No image carries a tag, class or measured tag.</p></section>\n",
            );
            return Ok(());
        }
        out.push_str(
            "<p class=\"hint\">Images carrying each label: in the pool (duplicates included), \
             distinct (after de-duplication and sequence sampling) and chosen.</p>\n\
             <div class=\"cards labels\">",
        );
        for (title, counts) in tables {
            let scale = counts.values().map(|c| c.pool).max().unwrap_or(1).max(1);
            writeln!(
                out,
                "<div class=\"card\"><h3>{title} <span class=\"count\">{}</span></h3>\
                 <table class=\"grid-table cams\"><thead><tr><th>label</th>\
                 <th class=\"num\">pool</th><th class=\"num\">distinct</th><th class=\"num\">chosen</th>\
                 <th class=\"barcol\"><span class=\"key avail\"></span>distinct \
                 <span class=\"key got\"></span>chosen</th></tr></thead><tbody>",
                counts.len()
            )?;
            for (label, c) in &counts {
                writeln!(
                    out,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"barcol\"><div class=\"hbar\"><i class=\"avail\" \
                     style=\"width:{:.1}%\"></i><i class=\"got\" style=\"width:{:.1}%\"></i></div></td></tr>",
                    Esc(label),
                    c.pool,
                    c.distinct,
                    c.chosen,
                    percent(c.distinct, scale),
                    percent(c.chosen, scale)
                )?;
            }
            out.push_str("</tbody></table></div>");
        }
        out.push_str("</div>\n</section>\n");
        Ok(())
    }

    /// The legend of slot names, for the kinds of slot this page shows (`free`
    /// always), and a word on camera minimums when the recipe has any.
    pub(super) fn slot_legend(&self, out: &mut String) -> fmt::Result {
        let r = self.report();
        let has = |kind: fn(&SlotKind) -> bool| r.slots.iter().any(|s| kind(&s.slot));
        out.push_str(
            "<details class=\"legend\" id=\"slot-legend\" open><summary>Slot names</summary><dl>",
        );
        let entries: [(bool, &str, &str); 4] = [
            (
                true,
                "<code>free</code>",
                "the bucket's free share: the images left after its quotas, minimums and classes. \
                 It takes images carrying none of the bucket's quota keys first; with \
                 <code>buckets.NAME.free = \"untagged\"</code>, only those.",
            ),
            (
                has(|k| matches!(k, SlotKind::Quota(_))),
                "<code>KEY</code> <span class=\"eg\">(<code>night</code>, <code>auto:dark</code>, \
                 <code>camera=cam01</code>, …)</span>",
                "an exact quota, <code>buckets.NAME.quota.KEY</code>: exactly that many images \
                 carrying KEY — a tag, a class, a measured tag or a <code>field=value</code> of \
                 the image's metadata.",
            ),
            (
                has(|k| matches!(k, SlotKind::Min(_))),
                "<code>min:KEY</code>",
                "a minimum, <code>buckets.NAME.min.KEY</code>: at least that many images carrying \
                 KEY fill this slot; more may come through <code>free</code>.",
            ),
            (
                has(|k| matches!(k, SlotKind::Class(_))),
                "<code>class:NAME</code>",
                "a required class, <code>[classes] require</code>: <code>classes.min</code> \
                 images showing object class NAME, from <code>classes.bucket</code>.",
            ),
        ];
        for (shown, name, text) in entries {
            if shown {
                write!(out, "<dt>{name}</dt><dd>{text}</dd>")?;
            }
        }
        if r.cameras.iter().any(|c| c.min > 0) {
            out.push_str(
                "<dt>camera minimums</dt><dd><code>camera.min</code> is not a slot: an image \
                 counts toward its camera's minimum whatever slot it fills (see \
                 <a href=\"#cameras\">Cameras</a>).</dd>",
            );
        }
        out.push_str("</dl></details>\n");
        Ok(())
    }
}
