//! The page's image and table sections: contact sheets, duplicate groups,
//! cameras and skipped files, plus the helpers every section uses.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use super::Page;
use super::encode::Esc;
use crate::label::Bucket;
/// Section anchors and titles, in page order.
pub(super) const SECTIONS: [(&str, &str); 7] = [
    ("summary", "Summary"),
    ("chosen", "Chosen images"),
    ("duplicates", "Duplicates"),
    ("distributions", "Distributions"),
    ("labels", "Tags and classes"),
    ("cameras", "Cameras"),
    ("skipped", "Skipped files"),
];

/// A unit enum's name as written in recipes (its serde name).
pub(super) fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `part` as a percentage of `whole`, clamped to 0–100.
pub(super) fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64).min(100.0)
    }
}

/// A `<tr>` with a label and a right-aligned number.
pub(super) fn kv(out: &mut String, label: &str, value: impl fmt::Display) -> fmt::Result {
    writeln!(
        out,
        "<tr><th>{}</th><td class=\"num\">{}</td></tr>",
        Esc(label),
        Esc(&value.to_string())
    )
}

pub(super) fn section_head(out: &mut String, id: &str, count: Option<usize>) -> fmt::Result {
    let title = SECTIONS
        .iter()
        .find(|(a, _)| *a == id)
        .map_or(id, |(_, t)| t);
    write!(out, "<section id=\"{id}\">\n<h2>{title}")?;
    if let Some(n) = count {
        write!(out, " <span class=\"count\">{n}</span>")?;
    }
    out.push_str("</h2>\n");
    Ok(())
}

impl Page<'_> {
    /// Section 2: the chosen images, per bucket and tag set.
    pub(super) fn contact_sheets(&self, out: &mut String) -> fmt::Result {
        let images = self.images();
        let chosen: Vec<usize> = (0..images.len())
            .filter(|&i| images[i].is_chosen())
            .collect();
        section_head(out, "chosen", Some(chosen.len()))?;
        if chosen.is_empty() {
            out.push_str("<p class=\"empty\">No image was chosen.</p></section>\n");
            return Ok(());
        }
        out.push_str("<p class=\"hint\">Hover a thumbnail for its path, slot, camera, tags and measurements.</p>\n");
        self.slot_legend(out)?;
        let buckets = Bucket::ALL.map(Some).into_iter().chain([None]);
        for bucket in buckets {
            let mut sets: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for &i in chosen.iter().filter(|&&i| images[i].bucket == bucket) {
                let mut tags = images[i].tags.clone();
                tags.sort();
                tags.dedup();
                let key = if tags.is_empty() {
                    "(untagged)".to_owned()
                } else {
                    tags.join(" · ")
                };
                sets.entry(key).or_default().push(i);
            }
            if sets.is_empty() {
                continue;
            }
            let name = bucket.map_or("unbucketed", Bucket::as_str);
            let n: usize = sets.values().map(Vec::len).sum();
            writeln!(
                out,
                "<details class=\"sheet b-{name}\" open><summary><span class=\"dot\"></span>{name} \
                 <span class=\"count\">{n}</span></summary>"
            )?;
            for (tags, mut members) in sets {
                members.sort_by(|&a, &b| images[a].rel.cmp(&images[b].rel).then(a.cmp(&b)));
                write!(
                    out,
                    "<h4>{} <span class=\"count\">{}</span></h4>\n<div class=\"grid\">\n",
                    Esc(&tags),
                    members.len()
                )?;
                for i in members {
                    self.tile(out, i, None)?;
                }
                out.push_str("</div>\n");
            }
            out.push_str("</details>\n");
        }
        out.push_str("</section>\n");
        Ok(())
    }

    /// Section 3: the largest duplicate groups, kept image outlined.
    pub(super) fn duplicate_groups(&self, out: &mut String) -> fmt::Result {
        let images = self.images();
        section_head(out, "duplicates", None)?;
        let d = &self.report().dedup;
        write!(
            out,
            "<p class=\"hint\">{} exact copies and {} near duplicates removed. ",
            d.exact_removed, d.near_removed
        )?;
        if self.groups.is_empty() {
            out.push_str("No duplicate groups.</p></section>\n");
            return Ok(());
        }
        let open = self.groups.len().min(super::GROUPS_OPEN);
        writeln!(
            out,
            "The {} largest groups; the image each group kept is outlined. {}</p>",
            self.groups.len(),
            if self.groups.len() > open {
                format!("The first {open} are open: click a group's line to open it.")
            } else {
                String::new()
            }
        )?;
        out.push_str("<div class=\"groups\">\n");
        for (n, g) in self.groups.iter().enumerate() {
            let kept = &images[g.kept];
            let why: Vec<String> = g.why.iter().map(|(s, k)| format!("{k} {s}")).collect();
            writeln!(
                out,
                "<details class=\"card group\"{}><summary class=\"gh\"><b>{} images</b> · kept <code>{}</code>\
                 <span class=\"why\">{}</span></summary><div class=\"strip\">",
                if n < super::GROUPS_OPEN { " open" } else { "" },
                g.size,
                Esc(&kept.rel),
                Esc(&why.join(", "))
            )?;
            for &i in &g.shown {
                let badge = if i == g.kept {
                    (
                        "kept",
                        if kept.is_chosen() {
                            "kept · chosen"
                        } else {
                            "kept"
                        },
                    )
                } else {
                    (images[i].status.as_str(), images[i].status.as_str())
                };
                self.tile(out, i, Some(badge))?;
            }
            if g.size > g.shown.len() {
                write!(
                    out,
                    "<div class=\"more\">+{} more</div>",
                    g.size - g.shown.len()
                )?;
            }
            out.push_str("</div></details>\n");
        }
        out.push_str("</div></section>\n");
        Ok(())
    }

    /// Section 6: images per camera, in the pool and in the set.
    pub(super) fn cameras(&self, out: &mut String) -> fmt::Result {
        #[derive(Default)]
        struct Row {
            pool: usize,
            distinct: Option<usize>,
            min: Option<usize>,
            chosen: usize,
        }
        let images = self.images();
        let mut rows: BTreeMap<String, Row> = BTreeMap::new();
        let named = images.iter().any(|i| i.camera.is_some()) || !self.report().cameras.is_empty();
        for img in images {
            if named {
                let row = rows
                    .entry(img.camera.clone().unwrap_or_else(|| "(none)".into()))
                    .or_default();
                row.pool += 1;
                row.chosen += usize::from(img.is_chosen());
            }
        }
        for c in &self.report().cameras {
            let row = rows.entry(c.camera.clone()).or_default();
            (row.distinct, row.min, row.chosen) = (Some(c.available), Some(c.min), c.chosen);
        }
        section_head(out, "cameras", Some(rows.len()))?;
        if rows.is_empty() {
            out.push_str(
                "<p class=\"empty\">No camera names: set <code>camera.from</code> in the recipe or a \
                 <code>camera</code> column in the manifest.</p></section>\n",
            );
            return Ok(());
        }
        let scale = rows
            .values()
            .map(|r| r.distinct.unwrap_or(r.pool))
            .max()
            .unwrap_or(1)
            .max(1);
        out.push_str(
            "<div class=\"card wide\"><table class=\"grid-table cams\"><thead><tr><th>camera</th>\
             <th class=\"num\">pool</th><th class=\"num\">distinct</th><th class=\"num\">min</th>\
             <th class=\"num\">chosen</th><th class=\"barcol\"><span class=\"key avail\"></span>available \
             <span class=\"key got\"></span>chosen</th></tr></thead><tbody>\n",
        );
        let dash = |v: Option<usize>| v.map_or("–".to_owned(), |v| v.to_string());
        for (name, r) in &rows {
            let short = match r.min {
                Some(m) if r.chosen < m => " class=\"short\"",
                _ => "",
            };
            writeln!(
                out,
                "<tr{short}><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"barcol\"><div class=\"hbar\"><i class=\"avail\" \
                 style=\"width:{:.1}%\"></i><i class=\"got\" style=\"width:{:.1}%\"></i></div></td></tr>",
                Esc(name),
                r.pool,
                dash(r.distinct),
                dash(r.min),
                r.chosen,
                percent(r.distinct.unwrap_or(r.pool), scale),
                percent(r.chosen, scale)
            )?;
        }
        out.push_str("</tbody></table></div></section>\n");
        Ok(())
    }

    /// Section 7: files that could not be used, and other path lists.
    pub(super) fn skipped(&self, out: &mut String) -> fmt::Result {
        let p = &self.report().pool;
        section_head(out, "skipped", Some(p.skipped()))?;
        if p.issues.is_empty() {
            out.push_str("<p class=\"empty\">No files were skipped.</p>\n");
        } else {
            out.push_str(
                "<div class=\"card wide\"><table class=\"grid-table\"><thead><tr><th>path</th><th>kind</th>\
                 <th>reason</th></tr></thead><tbody>\n",
            );
            for i in &p.issues {
                writeln!(
                    out,
                    "<tr><td class=\"path\">{}</td><td><span class=\"chip\">{}</span></td><td>{}</td></tr>",
                    Esc(&i.path),
                    Esc(i.kind.as_str()),
                    Esc(&i.message)
                )?;
            }
            out.push_str("</tbody></table></div>\n");
        }
        let lists = [
            (
                "Extension does not match content (used anyway)",
                &p.mislabelled,
                p.mislabelled.len(),
            ),
            (
                "Unbucketed: add a rule or manifest row to use them",
                &p.unbucketed_examples,
                p.unbucketed,
            ),
        ];
        for (title, paths, n) in lists {
            if paths.is_empty() {
                continue;
            }
            write!(
                out,
                "<div class=\"card wide\"><h3>{title} <span class=\"count\">{n}</span></h3><ul class=\"paths\">"
            )?;
            for path in paths {
                write!(out, "<li>{}</li>", Esc(path))?;
            }
            out.push_str("</ul></div>\n");
        }
        out.push_str("</section>\n");
        Ok(())
    }
}
