//! Files a build writes beside the images: the lock manifest and pool.csv, and
//! where each chosen image goes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::dedup::{self, Dedup};
use crate::export::{self, Layout, Placement};
use crate::html::HtmlImage;
use crate::paths;
use crate::pool::PoolImage;
use crate::select::Selection;

/// The image's path relative to the recipe folder `base`, exactly (its `rel`
/// is the lossy text patterns match): for a video frame, `VIDEO/NNNNNN.jpg`.
fn exact_rel(img: &PoolImage, base: &Path) -> PathBuf {
    match &img.file.frame_of {
        Some(f) => {
            let frame = img.file.rel.rsplit('/').next().unwrap_or_default();
            paths::relative(&f.video, base).join(frame)
        }
        None => paths::relative(&img.file.path, base),
    }
}

/// What the lock's `source` and pool.csv's `path` columns say of an image: its
/// exact path relative to `base` (a frame's video), [`paths::escaped`].
fn source_column(img: &PoolImage, base: &Path) -> String {
    match &img.file.frame_of {
        Some(f) => paths::escaped(&paths::relative(&f.video, base)),
        None => paths::escaped(&paths::relative(&img.file.path, base)),
    }
}

/// Output paths for every pick, by layout, collision-free; paired with pick
/// index. Names keep the source's bytes.
pub(super) fn placements(
    images: &[PoolImage],
    sel: &Selection,
    layout: Layout,
    base: &Path,
) -> Vec<(usize, Placement)> {
    let wanted = sel.picks.iter().map(|p| {
        let rel = exact_rel(&images[p.image], base);
        match layout {
            Layout::ByBucket => PathBuf::from(p.bucket.as_str()).join(export::flat_name(&rel)),
            Layout::Flat => export::flat_name(&rel),
            Layout::Mirror => export::mirror_path(&rel),
        }
    });
    export::unique_paths(wanted)
        .into_iter()
        .enumerate()
        .map(|(k, dest)| {
            (
                k,
                Placement {
                    source: images[sel.picks[k].image].file.path.clone(),
                    dest,
                    always_copy: images[sel.picks[k].image].file.frame_of.is_some(),
                },
            )
        })
        .collect()
}

/// The lock manifest: one CSV row per chosen image, sorted by output path.
pub(super) fn lock_manifest(
    images: &[PoolImage],
    sel: &Selection,
    placements: &[(usize, Placement)],
    base: &Path,
) -> Vec<u8> {
    let mut rows: Vec<_> = placements.iter().collect();
    rows.sort_by(|a, b| a.1.dest.cmp(&b.1.dest));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "file", "source", "time", "bucket", "slot", "tags", "camera", "width", "height", "phash",
        "blake3",
    ])
    .expect("in-memory CSV");
    for (k, placement) in rows {
        let pick = &sel.picks[*k];
        let img = &images[pick.image];
        let tags = img.labels.tags_joined();
        w.write_record([
            paths::escaped(&placement.dest),
            source_column(img, base),
            img.labels.time.map_or(String::new(), |t| format!("{t:.3}")),
            pick.bucket.to_string(),
            pick.slot.label(),
            tags,
            img.labels.camera.clone().unwrap_or_default(),
            img.features.width.to_string(),
            img.features.height.to_string(),
            img.features.phash_hex(),
            img.features.content_hex(),
        ])
        .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

/// What became of image `i`: `chosen`, `not-chosen`, `exact-duplicate`,
/// `near-duplicate`, `not-sampled` or `consecutive-duplicate`.
pub fn status(dd: &Dedup, chosen: &HashSet<usize>, i: usize) -> &'static str {
    match dd.removed[i] {
        Some(dedup::Removal::Exact { .. }) => "exact-duplicate",
        Some(dedup::Removal::Near { .. }) => "near-duplicate",
        Some(dedup::Removal::NotSampled) => "not-sampled",
        Some(dedup::Removal::Consecutive { .. }) => "consecutive-duplicate",
        None if chosen.contains(&i) => "chosen",
        None => "not-chosen",
    }
}

/// The pool as the HTML report shows it.
pub fn html_images(images: &[PoolImage], dd: &Dedup, sel: &Selection) -> Vec<HtmlImage> {
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
            measured: img.labels.measured.iter().cloned().collect(),
            camera: img.labels.camera.clone(),
            status: status(dd, &chosen, i),
            slot: slots.get(&i).cloned(),
            kept: dd.cluster[i],
            quality: img.features.quality,
        })
        .collect()
}

/// Every usable pool image with what became of it (`chosen`, `not-chosen`,
/// `exact-duplicate`, `near-duplicate`, `not-sampled`, `consecutive-duplicate`),
/// the image its duplicate group kept, and its measured quality.
pub(super) fn pool_list(images: &[PoolImage], dd: &Dedup, sel: &Selection, base: &Path) -> Vec<u8> {
    let chosen: HashSet<usize> = sel.picks.iter().map(|p| p.image).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "bucket",
        "tags",
        "camera",
        "status",
        "kept",
        "phash",
        "width",
        "height",
        "mean",
        "contrast",
        "dark_clip",
        "bright_clip",
        "sharpness",
        "jpeg_quality",
        "colourfulness",
        "entropy",
        "measured",
    ])
    .expect("in-memory CSV");
    for (i, img) in images.iter().enumerate() {
        let status = status(dd, &chosen, i);
        let q = &img.features.quality;
        w.write_record([
            paths::escaped(&exact_rel(img, base)).as_str(),
            img.labels.bucket.map_or("", |b| b.as_str()),
            &img.labels.tags_joined(),
            img.labels.camera.as_deref().unwrap_or(""),
            status,
            paths::escaped(&exact_rel(&images[dd.cluster[i]], base)).as_str(),
            &img.features.phash_hex(),
            &img.features.width.to_string(),
            &img.features.height.to_string(),
            &format!("{:.1}", q.mean),
            &format!("{:.1}", q.contrast),
            &format!("{:.3}", q.dark_clip),
            &format!("{:.3}", q.bright_clip),
            &format!("{:.1}", q.sharpness),
            &q.jpeg_quality.map_or(String::new(), |v| v.to_string()),
            &format!("{:.1}", q.colourfulness),
            &format!("{:.2}", q.entropy),
            &img.labels
                .measured
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(";"),
        ])
        .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}
