//! The HTML report: one self-contained page that shows a calibration set and the
//! pool it came from.
//!
//! [`render`] (a build's page) and [`render_audit`] (an audit's) turn a
//! [`Report`](crate::report::Report) plus one [`HtmlImage`] per pool image into a
//! single HTML document with no external assets: thumbnails are embedded as
//! base64 JPEG data URIs, styles are inline, charts are inline SVG and the page
//! needs no JavaScript. Its sections:
//!
//! 1. summary: status, shortfalls, per-bucket counts, de-duplication, skipped
//!    files, cache use, slots;
//! 2. contact sheets of the chosen images, per bucket and tag set, with a legend
//!    of the slot names;
//! 3. the largest duplicate groups, the kept image outlined: the first
//!    [`GROUPS_OPEN`] open, the others folded to one line (`<details>`);
//! 4. histograms of mean luma, relative sharpness and JPEG quality, pool against
//!    chosen set;
//! 5. images per tag, class and measured tag: pool, distinct and chosen;
//! 6. per-camera counts;
//! 7. the skipped files.
//!
//! The output depends only on the input (and the files' pixels): the same build
//! renders the same bytes.

mod charts;
mod encode;
mod labels;
mod sections;
mod style;
mod summary;
mod target;
mod thumb;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use crate::dedup::Dedup;
use crate::dedup::ImageStatus;
use crate::features::Quality;
use crate::label::Bucket;
use crate::pool::PoolImage;
use crate::report::Report;
use crate::select::Selection;
use std::collections::HashSet;

use encode::Esc;
pub(crate) use target::{HtmlError, check, write};
use thumb::Thumb;

/// Duplicate groups shown when the caller has no preference.
pub(crate) const DEFAULT_GROUPS: usize = 12;

/// Members of one duplicate group shown at most (the kept one first).
pub(crate) const GROUP_MEMBERS_SHOWN: usize = 10;

/// Duplicate groups drawn open; the others are folded to one line each (a
/// `<details>` element: a click opens it, no script needed).
pub(crate) const GROUPS_OPEN: usize = 3;

/// One pool image, as the HTML report needs it.
#[derive(Debug, Clone)]
pub(crate) struct HtmlImage {
    /// Where to read pixels for the thumbnail (absolute path; may be unreadable:
    /// the page then draws a grey placeholder).
    pub path: std::path::PathBuf,
    /// Path relative to the recipe folder (shown to the user).
    pub rel: String,
    /// Its bucket, if it has one.
    pub bucket: Option<Bucket>,
    /// Its tags (manifest and rules).
    pub tags: Vec<String>,
    /// Its object classes (manifest or annotations).
    pub classes: Vec<String>,
    /// Its measured tags (`auto:dark`, …).
    pub measured: Vec<String>,
    /// Its camera, if named.
    pub camera: Option<String>,
    /// `chosen`, `not-chosen`, `exact-duplicate`, `near-duplicate`,
    /// `consecutive-duplicate` or `not-sampled`.
    pub status: ImageStatus,
    /// Slot label when chosen (`night`, `min:texture`, `class:car`, `free`).
    pub slot: Option<String>,
    /// Index (into the same slice) of the image its duplicate group kept (itself
    /// when kept). An index out of range counts as itself.
    pub kept: usize,
    /// Its measured quality.
    pub quality: Quality,
}

impl HtmlImage {
    /// Whether the image is in the chosen set.
    pub(crate) fn is_chosen(&self) -> bool {
        self.status == ImageStatus::Chosen
    }
}

/// Everything [`render`] and [`render_audit`] need.
#[derive(Debug, Clone)]
pub(crate) struct HtmlInput<'a> {
    /// Page title (the `<title>` and the heading).
    pub title: String,
    /// The build or audit report.
    pub report: &'a Report,
    /// Every pool image.
    pub images: &'a [HtmlImage],
    /// Largest duplicate groups to show ([`DEFAULT_GROUPS`] by default).
    pub groups: usize,
    /// Decode limits for the thumbnails (the recipe's).
    pub limits: crate::decode::Limits,
}

/// What a page shows: a built (or dry-run) set, or an audited pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `build --html`: the calibration set report.
    Build,
    /// `audit --html`: the pool audit.
    Audit,
}

/// Renders a build's page, "calibration set report". Thumbnails (120 px on the
/// long side, JPEG quality 75) are decoded in parallel with rayon for the images
/// that are shown: the chosen ones and the members of the shown duplicate
/// groups.
pub(crate) fn render(input: &HtmlInput<'_>) -> String {
    render_kind(input, Kind::Build)
}

/// Renders an audit's page, "pool audit": the same sections as [`render`]'s,
/// its chosen images being the trial selection of the audit.
pub(crate) fn render_audit(input: &HtmlInput<'_>) -> String {
    render_kind(input, Kind::Audit)
}

fn render_kind(input: &HtmlInput<'_>, kind: Kind) -> String {
    let groups = largest_groups(input.images, input.groups);
    let mut shown: Vec<usize> = (0..input.images.len())
        .filter(|&i| input.images[i].is_chosen())
        .chain(groups.iter().flat_map(|g| g.shown.iter().copied()))
        .collect();
    shown.sort_unstable();
    shown.dedup();
    let page = Page {
        input,
        kind,
        thumbs: thumb::thumbnails(input.images, &shown, &input.limits),
        groups,
    };
    let mut out = String::with_capacity(64 * 1024 + page.thumbs.len() * 6 * 1024);
    page.write(&mut out)
        .expect("writing to a String cannot fail");
    out
}

/// One duplicate group: the kept image and the others that were dropped for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    /// The kept image.
    kept: usize,
    /// All members, kept one included.
    size: usize,
    /// Members shown: the kept one first, then the others in pool order.
    shown: Vec<usize>,
    /// Why the others went: members per status (`near-duplicate`, …), by name.
    why: BTreeMap<&'static str, usize>,
}

/// The `n` largest groups of two or more images, largest first (ties by the kept
/// image's path).
fn largest_groups(images: &[HtmlImage], n: usize) -> Vec<Group> {
    let kept_of = |i: usize| {
        let k = images[i].kept;
        if k < images.len() { k } else { i }
    };
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..images.len() {
        let k = kept_of(i);
        if k != i {
            members.entry(k).or_default().push(i);
        }
    }
    let mut groups: Vec<Group> = members
        .into_iter()
        .map(|(kept, others)| {
            let mut why: BTreeMap<&'static str, usize> = BTreeMap::new();
            for &i in &others {
                *why.entry(images[i].status.as_str()).or_default() += 1;
            }
            Group {
                kept,
                size: others.len() + 1,
                shown: std::iter::once(kept)
                    .chain(others.into_iter().take(GROUP_MEMBERS_SHOWN - 1))
                    .collect(),
                why,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.size
            .cmp(&a.size)
            .then_with(|| images[a.kept].rel.cmp(&images[b.kept].rel))
            .then(a.kept.cmp(&b.kept))
    });
    groups.truncate(n);
    groups
}

/// The page being written.
struct Page<'a> {
    input: &'a HtmlInput<'a>,
    kind: Kind,
    thumbs: BTreeMap<usize, Thumb>,
    groups: Vec<Group>,
}

impl Page<'_> {
    fn report(&self) -> &Report {
        self.input.report
    }

    fn images(&self) -> &[HtmlImage] {
        self.input.images
    }

    fn write(&self, out: &mut String) -> fmt::Result {
        let title = &self.input.title;
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"calibset {}\">\n\
             <title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n",
            Esc(self.report().version),
            Esc(title),
            style::CSS
        )?;
        self.header(out)?;
        out.push_str("<main>\n");
        self.summary(out)?;
        self.contact_sheets(out)?;
        self.duplicate_groups(out)?;
        self.histograms(out)?;
        self.labels(out)?;
        self.cameras(out)?;
        self.skipped(out)?;
        out.push_str("</main>\n");
        write!(
            out,
            "<footer>Generated by calibset {} · recipe {} · seed {}</footer>\n</body>\n</html>\n",
            Esc(self.report().version),
            Esc(&self.report().recipe),
            self.report().seed
        )
    }

    /// One image tile: thumbnail (or placeholder), caption and a tooltip with
    /// everything known about it. `badge` is an extra label (`kept`, a status).
    fn tile(&self, out: &mut String, i: usize, badge: Option<(&str, &str)>) -> fmt::Result {
        let img = &self.images()[i];
        let q = &img.quality;
        let mut tip = img.rel.clone();
        let mut line = |k: &str, v: &str| {
            if !v.is_empty() {
                tip.push_str(&format!("\n{k}: {v}"));
            }
        };
        line("bucket", img.bucket.map_or("", Bucket::as_str));
        line("slot", img.slot.as_deref().unwrap_or(""));
        line("camera", img.camera.as_deref().unwrap_or(""));
        line("tags", &img.tags.join(", "));
        line("measured", &img.measured.join(", "));
        line("status", img.status.as_str());
        tip.push_str(&format!(
            "\nmean luma {:.0} · contrast {:.0} · rel. sharpness {}{}",
            q.mean,
            q.contrast,
            charts::short_number(f64::from(q.relative_sharpness())),
            q.jpeg_quality
                .map_or(String::new(), |j| format!(" · JPEG q{j}"))
        ));
        let bucket = img.bucket.map_or("none", Bucket::as_str);
        let class = match badge {
            Some(("kept", _)) => " kept",
            _ => "",
        };
        write!(
            out,
            "<figure class=\"tile b-{bucket}{class}\" title=\"{}\"><div class=\"thumb\">",
            Esc(&tip)
        )?;
        match self.thumbs.get(&i) {
            Some(t) => write!(
                out,
                "<img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\">",
                t.uri,
                t.width,
                t.height,
                Esc(&img.rel)
            )?,
            None => out.push_str("<div class=\"ph\">no preview</div>"),
        }
        if let Some((class, label)) = badge {
            write!(
                out,
                "<span class=\"badge {}\">{}</span>",
                Esc(class),
                Esc(label)
            )?;
        }
        write!(
            out,
            "</div><figcaption><span class=\"name\">{}</span>",
            Esc(&caption(&img.rel))
        )?;
        let sub = match (&img.slot, &img.camera) {
            (Some(s), Some(c)) => format!("{s} · {c}"),
            (Some(s), None) => s.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => String::new(),
        };
        if !sub.is_empty() {
            write!(out, "<span class=\"sub\">{}</span>", Esc(&sub))?;
        }
        out.push_str("</figcaption></figure>\n");
        Ok(())
    }
}

/// Longest caption, in characters, that fits under a thumbnail.
const CAPTION_CHARS: usize = 24;

/// A tile's caption: the file name — a video frame's with its clip
/// (`clip.mp4/000004.jpg`), as `000004.jpg` alone says nothing — and, when
/// too long, cut in the middle, where names of one camera or clip are alike,
/// so their distinguishing ends stay in view.
fn caption(rel: &str) -> String {
    let mut parts = rel.rsplit('/');
    let file = parts.next().unwrap_or(rel);
    let name = match parts.next() {
        Some(parent) if crate::source::is_video_path(std::path::Path::new(parent)) => {
            format!("{parent}/{file}")
        }
        _ => file.to_owned(),
    };
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= CAPTION_CHARS {
        return name;
    }
    let tail = CAPTION_CHARS / 2;
    let head = CAPTION_CHARS - tail - 1;
    let mut cut: String = chars[..head].iter().collect();
    cut.push('…');
    cut.extend(&chars[chars.len() - tail..]);
    cut
}

/// The pool as the HTML report shows it.
pub(crate) fn images(images: &[PoolImage], dd: &Dedup, sel: &Selection) -> Vec<HtmlImage> {
    let chosen: HashSet<usize> = sel.picks.iter().map(|p| p.image).collect();
    let slots: std::collections::HashMap<usize, String> = sel
        .picks
        .iter()
        .map(|p| (p.image, p.slot.label()))
        .collect();
    images
        .iter()
        .enumerate()
        .map(|(i, img)| HtmlImage {
            path: img.file.path.clone(),
            rel: img.file.rel.clone(),
            bucket: img.labels.bucket,
            tags: img.labels.tags.iter().cloned().collect(),
            classes: img.labels.classes.iter().cloned().collect(),
            measured: img.labels.measured.iter().cloned().collect(),
            camera: img.labels.camera.clone(),
            status: ImageStatus::of(dd, &chosen, i),
            slot: slots.get(&i).cloned(),
            kept: dd.cluster[i],
            quality: img.features.quality,
        })
        .collect()
}
